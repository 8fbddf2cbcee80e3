"""MNIST with a multilayer perceptron, trained by ``minigrad.training.fit``.

Model (``minigrad.models.mlp``): Flatten, 784 -> 128 -> ReLU -> 64 -> ReLU -> 10 logits, with
cross-entropy loss on the logits (log-softmax inside the loss, for stability) and Adam. The
script reads MNIST from local IDX files (nothing is downloaded), scales pixels to [0, 1],
trains, and prints the test accuracy and the time taken.

Run (the folder holds train-images-idx3-ubyte.gz and the other three files):

    python examples/mnist_mlp.py --data-dir /path/to/mnist      # or set MINIGRAD_DATA
    python examples/mnist_mlp.py --epochs 10 --hidden 256 128 --dropout 0.2
    python examples/mnist_mlp.py --quick      # 3,000 training images, 2 epochs (for the tests)
    python examples/mnist_mlp.py --device cuda    # with CuPy and a GPU
"""

from __future__ import annotations

import argparse
import time

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.models import mlp
from minigrad.training import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=5, help="default 5")
    parser.add_argument("--hidden", type=int, nargs="+", default=[128, 64],
                        help="hidden layer widths (default 128 64)")
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate")
    parser.add_argument("--train-size", type=int, default=None,
                        help="train on the first N training images only (default: all 60,000)")
    parser.add_argument("--device", default="cpu", help="cpu (default), cuda, cuda:N")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no per-epoch progress")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training and 1,000 test images, 2 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size = 2, 3000

    minigrad.manual_seed(args.seed)
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)   # (60000, 28, 28) float32
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]

    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, seed=args.seed)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)

    model = mlp(28 * 28, args.hidden, 10, dropout=args.dropout).to(args.device)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    loss_fn = nn.CrossEntropyLoss()
    n_params = sum(p.numel() for p in model.parameters())
    print(f"MLP 784-{'-'.join(map(str, args.hidden))}-10 ({n_params:,} parameters), "
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
