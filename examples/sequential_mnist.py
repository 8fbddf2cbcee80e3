"""Sequential MNIST: an LSTM reads each 28x28 digit row by row (28 steps of 28 pixels) and
classifies it from its last state.

Model (``minigrad.models.lstm_classifier(28, 128, 10)``): LSTM(28 -> 128), Linear(128 -> 10)
on the last hidden state, cross-entropy, Adam with gradient clipping at norm 1, trained by
``minigrad.training.fit``. MNIST comes from local IDX files (nothing is downloaded).

    python examples/sequential_mnist.py --data-dir /path/to/mnist     # or set MINIGRAD_DATA
    python examples/sequential_mnist.py --epochs 8 --hidden 128
    python examples/sequential_mnist.py --quick        # 2,000 training images, 3 epochs
"""

from __future__ import annotations

import argparse
import time

from _common import add_data_dir_argument, load_mnist_or_exit, print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.models import lstm_classifier
from minigrad.training import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=6, help="default 6")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=2e-3, help="Adam's learning rate")
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--quick", action="store_true",
                        help="2,000 training and 1,000 test images, 3 epochs, hidden 32")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.train_size, args.hidden, args.lr = 3, 2000, 32, 1e-2

    minigrad.manual_seed(args.seed)
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)   # (60000, 28, 28)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    x_train, x_test = x_train.reshape(-1, 28, 28), x_test.reshape(-1, 28, 28)  # rows = steps

    train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                              shuffle=True, seed=args.seed)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    model = lstm_classifier(28, args.hidden, 10)
    optimizer = optim.Adam(model.parameters(), lr=args.lr)
    schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(args.epochs, 1))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"LSTM 28 -> {args.hidden} -> 10 ({n_params:,} parameters), 28 steps of 28 pixels, "
          f"{len(x_train):,} training / {len(x_test):,} test images, {args.epochs} epoch(s)\n")

    start = time.perf_counter()
    history = fit(model, train_loader, nn.CrossEntropyLoss(), optimizer, args.epochs,
                  metrics=["accuracy"], scheduler=schedule, clip_grad_norm=1.0,
                  progress=not args.no_progress)
    minutes = (time.perf_counter() - start) / 60
    test = evaluate(model, test_loader, nn.CrossEntropyLoss(), metrics=["accuracy"])
    print_table(["epoch", "train loss", "train accuracy", "seconds"],
                [[i + 1, loss, acc, sec] for i, (loss, acc, sec) in enumerate(zip(
                    history.history["loss"], history.history["accuracy"],
                    history.history["time"]))],
                ["", ".4f", ".4f", ".1f"])
    print()
    print_table(["result", "value"], [["test loss", f"{test['loss']:.4f}"],
                                      ["test accuracy", f"{test['accuracy']:.4f}"],
                                      ["training time", f"{minutes:.1f} min"]])


if __name__ == "__main__":
    main()
