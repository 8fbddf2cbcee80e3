"""Structured pruning that really shrinks the model: prune 50% of the hidden units of an MNIST
MLP (784-512-256-10) by their L2 norm, fine-tune with the masks on, then ``shrink`` the model
to a 784-256-128-10 network that computes exactly what the masked one does.

    prune.ln_structured(layer, "weight", amount=0.5, n=2, dim=0)   # every hidden Linear
    fit(...)                                                        # masks keep them at 0
    small = prune.shrink(model)                                     # rebuild smaller layers

The script prints test accuracy, parameters, bytes on disk and inference time per 10,000
images of the dense, the masked and the shrunk model, and the largest difference between the
masked and the shrunk model's outputs on the test set.

    python examples/shrink.py --data-dir /path/to/mnist         # or MINIGRAD_DATA
    python examples/shrink.py --amount 0.75 --finetune-epochs 2
    python examples/shrink.py --quick      # 3,000 training images, 1 epoch (tests)
"""

from __future__ import annotations

import argparse
import copy
import json

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table

import minigrad
from minigrad import models, nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn.utils import prune
from minigrad.quantization import measure
from minigrad.training import fit


def train(model, train_set, epochs, lr, batch_size, seed):
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=seed)
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=lr), epochs,
        progress=False)
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--finetune-epochs", type=int, default=2)
    parser.add_argument("--amount", type=float, default=0.5,
                        help="fraction of each hidden layer's units removed (0.5)")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", help="also write the results to this JSON file")
    parser.add_argument("--quick", action="store_true",
                        help="3,000 training and 1,000 test images, 1 epoch, 1 fine-tuning")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.finetune_epochs, args.train_size = 1, 1, 3000
    x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
    x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        x_train, y_train = x_train[:args.train_size], y_train[:args.train_size]
    if args.quick:
        x_test, y_test = x_test[:1000], y_test[:1000]
    train_set = TensorDataset(x_train, y_train)
    x_test_t, y_test_t = minigrad.tensor(x_test), minigrad.tensor(y_test)

    minigrad.manual_seed(args.seed)
    model = train(models.mlp(784, (512, 256), 10, dropout=0.2), train_set, args.epochs,
                  args.lr, args.batch_size, args.seed)
    results = {"dense": measure(model, x_test_t, y_test_t)}
    results["dense"]["parameters"] = sum(p.numel() for p in model.parameters())
    hidden = [m for m in model if isinstance(m, nn.Linear)][:-1]
    for layer in hidden:
        prune.ln_structured(layer, "weight", args.amount, n=2, dim=0)
    train(model, train_set, args.finetune_epochs, args.lr, args.batch_size, args.seed + 1)
    results["masked"] = measure(model, x_test_t, y_test_t)
    results["masked"]["parameters"] = results["dense"]["parameters"]
    small = prune.shrink(model)
    results["shrunk"] = measure(small, x_test_t, y_test_t)
    results["shrunk"]["parameters"] = sum(p.numel() for p in small.parameters())
    with minigrad.no_grad():
        difference = float((small(x_test_t) - model(x_test_t)).abs().max())
        # the same comparison in float64 shows what is float32 rounding (BLAS sums fewer terms)
        masked64 = copy.deepcopy(model).double()
        x64 = x_test_t.double()
        difference64 = float((prune.shrink(masked64)(x64) - masked64(x64)).abs().max())
        largest = float(model(x_test_t).abs().max())
    widths = "-".join(str(m.out_features) for m in small if isinstance(m, nn.Linear))
    print(f"MLP 784-512-256-10, {args.amount:.0%} of the hidden units pruned (L2, dim 0), "
          f"{args.finetune_epochs} fine-tuning epoch(s); shrunk to 784-{widths}\n")
    base = results["dense"]
    rows = [[name, 100 * r["accuracy"], r["parameters"], r["bytes_on_disk"], r["ms_per_10k"],
             base["ms_per_10k"] / r["ms_per_10k"]] for name, r in results.items()]
    print_table(["model", "accuracy %", "parameters", "bytes on disk", "ms / 10k images",
                 "speed"], rows, ["", ".2f", ",", ",", ".0f", ".2f"])
    print(f"\nmax |shrunk − masked| over the test outputs (logits up to {largest:.1f}): "
          f"{difference:.2e} in float32, {difference64:.2e} in float64")
    if args.json:
        from minigrad.files import atomic_write_text
        report = {"results": results, "max_abs_difference": difference,
                  "max_abs_difference_float64": difference64, "largest_logit": largest,
                  "shrunk_widths": widths, "amount": args.amount}
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n", "shrink")


if __name__ == "__main__":
    main()
