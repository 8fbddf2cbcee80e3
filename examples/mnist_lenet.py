"""MNIST with the LeNet-5 convolutional network, trained by ``minigrad.training.fit``.

Model (``minigrad.models.lenet5``): two 5x5 convolutions (6 and 16 channels) each followed by
ReLU and 2x2 max pooling, then fully connected layers 400 -> 120 -> 84 -> 10 logits;
cross-entropy loss and Adam. A convolution is one matrix product over image patches (im2col),
so an epoch costs far more than the MLP's (examples/mnist_mlp.py); the default two epochs
reach about 98% test accuracy.

Run (the folder holds train-images-idx3-ubyte.gz and the other three files):

    python examples/mnist_lenet.py --data-dir /path/to/mnist     # or set MINIGRAD_DATA
    python examples/mnist_lenet.py --epochs 3 --batch-norm
    python examples/mnist_lenet.py --quick     # 1,500 training images, 1 epoch (for the tests)
    python examples/mnist_lenet.py --device cuda   # with CuPy and a GPU
"""

from __future__ import annotations

import argparse
import time

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.models import lenet5
from minigrad.training import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=2, help="default 2")
    parser.add_argument("--dropout", type=float, default=0.0,
                        help="dropout after the hidden fully connected layers")
    parser.add_argument("--batch-norm", action="store_true", help="batch norm after each "
                        "convolution and hidden fully connected layer")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on the first N training images only (default: all 60,000)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no per-epoch progress")
    parser.add_argument("--quick", action="store_true",
                        help="1,500 training and 500 test images, 1 epoch of batches of 32 "
                             "at lr 3e-3")
    args = parser.parse_args(argv)
    if args.quick:
        # few images: smaller batches and a larger step give enough progress in 47 steps
        args.epochs, args.train_size, args.batch_size, args.lr = 1, 1500, 32, 3e-3

    minigrad.manual_seed(args.seed)
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)   # (60000, 28, 28) float32
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    # convolutions take (N, channels, height, width): add the single gray channel
    x_train, x_test = x_train[:, None], x_test[:, None]
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:500], y_test[:500]

    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, seed=args.seed)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=500)

    model = lenet5(10, dropout=args.dropout, batch_norm=args.batch_norm).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"LeNet-5{' with batch norm' if args.batch_norm else ''} ({n_params:,} parameters), "
          f"{len(x_train):,} training / {len(x_test):,} test images, {args.epochs} epoch(s), "
          f"device {args.device}\n")

    start = time.perf_counter()
    history = fit(model, train_loader, loss_fn, optimizer, args.epochs,
                  metrics=["accuracy"], progress=not args.no_progress)
    train_seconds = time.perf_counter() - start
    test = evaluate(model, test_loader, loss_fn, metrics=["accuracy"])

    print_table(["epoch", "train loss", "train accuracy", "seconds"],
                [[i + 1, loss, acc, sec] for i, (loss, acc, sec) in enumerate(zip(
                    history.history["loss"], history.history["accuracy"],
                    history.history["time"]))],
                ["", ".4f", ".4f", ".1f"])
    print()
    print_table(["result", "value"],
                [["test loss", f"{test['loss']:.4f}"],
                 ["test accuracy", f"{test['accuracy']:.4f}"],
                 ["training time", f"{train_seconds:.1f} s"]])


if __name__ == "__main__":
    main()
