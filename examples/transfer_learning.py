"""Transfer learning on MNIST: features learned on digits 0-4 help to learn digits 5-9 from 1% of
their labels.

1. Pretrain LeNet-5 (``minigrad.models.lenet5``, 5 outputs) on the digits 0-4.
2. Take 1% of the training images of the digits 5-9 (labels 5..9 become 0..4), and train
   four models on them, each tested on every test image of the digits 5-9. The first three
   start from the pretrained weights, loaded with ``load_state_dict(features, strict=False)``,
   which reports the head's keys as missing (they were dropped on purpose: the last
   Linear(84, 5) starts afresh):

   - **frozen conv features**: ``requires_grad_(False)`` on the two convolution blocks (the
     feature extractor); the fully connected layers learn;
   - **frozen up to the new head**: ``model.requires_grad_(False)``, then
     ``head.requires_grad_(True)``: only the last layer learns, on the 84 features the
     network learnt for 0-4 (too specific to those digits, as the table shows);
   - **fine-tuned (convs at lr/10)**: nothing frozen, two parameter groups with their own
     learning rates: the convolutions at lr/10, the fully connected layers at lr;
   - **from scratch**: a fresh LeNet-5 on the same 1% of the labels.

The script prints a table: trainable parameters, test accuracy on the digits 5-9 and time.

    python examples/transfer_learning.py --data-dir /path/to/mnist     # or set MINIGRAD_DATA
    python examples/transfer_learning.py --label-fraction 0.05
    python examples/transfer_learning.py --quick    # 3,000 pretraining images (tests)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table

import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.models import lenet5
from minigrad.training import evaluate, fit

HEAD = "11"  # the last Linear(84, 5) of lenet5's Sequential
FEATURES = 7  # lenet5's modules 0..6: the two convolution blocks and Flatten


def digits(x, y, low: int, count=None):
    """The images of the digits low..low+4 as (N, 1, 28, 28), labels shifted to 0..4; the
    first ``count`` of them when given."""
    keep = (y >= low) & (y < low + 5)
    x, y = x[keep][:, None], y[keep] - low
    return (x, y) if count is None else (x[:count], y[:count])


def train(model, x, y, params, lr, epochs, batch_size, seed):
    """Adam at ``lr`` over ``params`` (Parameters, or parameter groups with their own lr)."""
    minigrad.manual_seed(seed)
    loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True, seed=seed)
    start = time.perf_counter()
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(params, lr=lr), epochs,
        progress=False)
    return time.perf_counter() - start


def test_accuracy(model, x, y) -> float:
    loader = DataLoader(TensorDataset(x, y), batch_size=1000)
    return evaluate(model, loader, metrics=["accuracy"])["accuracy"]


def trainable(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--pretrain-size", type=int, default=None,
                        help="pretrain on the first N images of the digits 0-4 (default: all)")
    parser.add_argument("--pretrain-epochs", type=int, default=2)
    parser.add_argument("--label-fraction", type=float, default=0.01,
                        help="fraction of the digits 5-9 training images whose labels are "
                             "used (default 0.01, about 290 images)")
    parser.add_argument("--epochs", type=int, default=30,
                        help="epochs on the labelled 5-9 images (default 30)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="3,000 pretraining images, 1 epoch; 10 epochs on the labels; "
                             "2,000 test images")
    args = parser.parse_args(argv)
    if args.quick:
        args.pretrain_size, args.pretrain_epochs, args.epochs = 3000, 1, 10

    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    x_pre, y_pre = digits(x_train, y_train, 0, args.pretrain_size)
    x_new, y_new = digits(x_train, y_train, 5)
    n_labels = max(1, round(args.label_fraction * len(y_new)))
    order = np.random.default_rng(args.seed).permutation(len(y_new))[:n_labels]
    x_few, y_few = x_new[order], y_new[order]
    x_eval, y_eval = digits(x_test, y_test, 5, 2000 if args.quick else None)

    print(f"pretraining LeNet-5 on {len(y_pre):,} images of the digits 0-4, "
          f"{args.pretrain_epochs} epoch(s)")
    minigrad.manual_seed(args.seed)
    pretrained_model = lenet5(5)
    seconds = train(pretrained_model, x_pre, y_pre, pretrained_model.parameters(), args.lr,
                    args.pretrain_epochs, args.batch_size, args.seed)
    x_pre_test, y_pre_test = digits(x_test, y_test, 0, 2000 if args.quick else None)
    print(f"  test accuracy on the digits 0-4: "
          f"{test_accuracy(pretrained_model, x_pre_test, y_pre_test):.4f} ({seconds:.1f} s)")
    # the features only: the head's weights are dropped, to be learnt again for 5-9
    features = {k: v for k, v in pretrained_model.state_dict().items()
                if not k.startswith(HEAD + ".")}

    print(f"\ntraining on {n_labels} labelled images of the digits 5-9 "
          f"({args.label_fraction:.0%} of {len(y_new):,}), {args.epochs} epochs; testing on "
          f"{len(y_eval):,} test images of 5-9\n")
    rows = []

    def from_pretrained():
        minigrad.manual_seed(args.seed + 1)
        model = lenet5(5)
        missing, unexpected = model.load_state_dict(features, strict=False)
        assert not unexpected
        return model, missing

    model, missing = from_pretrained()
    print(f"load_state_dict(features, strict=False): missing_keys={missing}, "
          f"unexpected_keys=[]")
    for layer in list(model)[:FEATURES]:
        layer.requires_grad_(False)  # freeze the convolutional feature extractor
    seconds = train(model, x_few, y_few, [p for p in model.parameters() if p.requires_grad],
                    args.lr, args.epochs, args.batch_size, args.seed)
    rows.append(["frozen conv features", trainable(model),
                 test_accuracy(model, x_eval, y_eval), seconds])

    model, _ = from_pretrained()
    model.requires_grad_(False)          # freeze everything ...
    model[int(HEAD)].requires_grad_(True)  # ... but the new head: a linear model on 84 features
    seconds = train(model, x_few, y_few, model[int(HEAD)].parameters(), args.lr, args.epochs,
                    args.batch_size, args.seed)
    rows.append(["frozen up to the new head", trainable(model),
                 test_accuracy(model, x_eval, y_eval), seconds])

    model, _ = from_pretrained()
    convs = [p for layer in list(model)[:FEATURES] for p in layer.parameters()]
    dense = [p for layer in list(model)[FEATURES:] for p in layer.parameters()]
    groups = [{"params": convs, "lr": args.lr / 10}, {"params": dense, "lr": args.lr}]
    seconds = train(model, x_few, y_few, groups, args.lr, args.epochs, args.batch_size,
                    args.seed)
    rows.append(["fine-tuned (convs at lr/10)", trainable(model),
                 test_accuracy(model, x_eval, y_eval), seconds])

    minigrad.manual_seed(args.seed + 1)
    model = lenet5(5)
    seconds = train(model, x_few, y_few, model.parameters(), args.lr, args.epochs,
                    args.batch_size, args.seed)
    rows.append(["from scratch", trainable(model), test_accuracy(model, x_eval, y_eval),
                 seconds])

    print()
    print_table(["model", "trainable parameters", "test accuracy (5-9)", "train time (s)"],
                rows, ["", ",", ".4f", ".1f"])


if __name__ == "__main__":
    main()
