r"""Magnitude pruning: how many weights can a trained MLP lose, before and after fine-tuning?

1. Train an MLP (784-300-100-10 on MNIST, or 2-128-128-3 on spirals when MNIST is not there).
2. For each target sparsity s (0, 50, 75, 90, 95, 98%), on a fresh copy of the trained model:
   prune globally by magnitude: ``nn.utils.prune.global_unstructured`` with ``L1Unstructured``
   zeroes the fraction s of all the Linear weights with the smallest |w_i|, ranked across all
   layers together (so each layer ends up with its own sparsity; biases are not pruned).
3. Measure the test accuracy right after pruning, then fine-tune briefly (200 Adam steps at
   half the training rate) and measure again.

Pruning keeps ``weight_orig`` (the Parameter the optimizer updates) and a 0/1 ``weight_mask``
buffer, and the forward uses ``weight = weight_orig ⊙ weight_mask``. The gradient reaching
``weight_orig`` is ∂L/∂weight ⊙ mask, so the fine-tune cannot revive a pruned weight: after
``prune.remove`` makes the pruning permanent, the script counts the pruned positions that are
nonzero (the "revived" column, which must be 0) and the actual sparsity of the weights.

Global ranking prunes the large layers hardest, and at high sparsity it can empty a small
layer entirely (watch the "per layer" column reach 100% for the output layer): then no
fine-tune can help, which is why layer-wise limits or structured pruning are used in practice.

Run:

    python examples/pruning_sweep.py --data-dir /path/to/mnist   # or set MINIGRAD_DATA
    python examples/pruning_sweep.py --dataset spirals           # no files needed
    python examples/pruning_sweep.py --sparsities 0 0.8 0.99
    python examples/pruning_sweep.py --quick                     # small and short (tests)

With ``--dataset auto`` (the default) MNIST is used when ``--data-dir``/``MINIGRAD_DATA``
holds it, spirals otherwise; the first line says which.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, mnist_available, print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_spirals
from minigrad.models import mlp
from minigrad.nn.utils import prune
from minigrad.training import evaluate, fit


def load_data(args):
    """(name, x_train, y_train, x_test, y_test, in_features, hidden, classes)."""
    if args.dataset == "mnist":
        x_train, y_train = load_mnist_or_exit(args.data_dir, train=True)
        x_test, y_test = load_mnist_or_exit(args.data_dir, train=False)
        if args.quick:   # a slice keeps the test run short
            x_train, y_train, x_test, y_test = (x_train[:2000], y_train[:2000],
                                                x_test[:1000], y_test[:1000])
        return "MNIST", x_train, y_train, x_test, y_test, 28 * 28, [300, 100], 10
    n = 600 if args.quick else 3000
    x_train, y_train = make_spirals(n, classes=3, noise=0.05, seed=args.seed)
    x_test, y_test = make_spirals(n, classes=3, noise=0.05, seed=args.seed + 1)
    return "spirals", x_train, y_train, x_test, y_test, 2, [128, 128], 3


def linear_weights(model):
    """(module, 'weight') for every Linear layer: what global pruning ranks together."""
    return [(m, "weight") for m in model.modules() if isinstance(m, nn.Linear)]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--dataset", choices=["auto", "mnist", "spirals"], default="auto")
    parser.add_argument("--sparsities", type=float, nargs="+",
                        default=[0.0, 0.5, 0.75, 0.9, 0.95, 0.98],
                        help="fractions of the weights to prune (default 0 .5 .75 .9 .95 .98)")
    parser.add_argument("--epochs", type=int, default=None,
                        help="training epochs (default 3 on MNIST, 30 on spirals)")
    parser.add_argument("--finetune-steps", type=int, default=None,
                        help="optimizer steps of fine-tuning per sparsity (default 200; 20 "
                             "with --quick)")
    parser.add_argument("--lr", type=float, default=None,
                        help="Adam's learning rate (default 1e-3 on MNIST, 1e-2 on spirals)")
    parser.add_argument("--finetune-lr", type=float, default=None,
                        help="the fine-tune's Adam learning rate (default: lr / 2, smaller "
                             "steps that repair the trained weights rather than retrain them)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="a small data set, 1 training epoch (MNIST) or 10 (spirals)")
    args = parser.parse_args(argv)
    if any(not 0.0 <= s < 1.0 for s in args.sparsities):
        parser.error("--sparsities must be fractions in [0, 1)")
    if args.dataset == "auto":
        args.dataset = "mnist" if mnist_available(args.data_dir) else "spirals"
    if args.epochs is None:
        args.epochs = {"mnist": 3, "spirals": 30}[args.dataset]
        if args.quick:
            args.epochs = {"mnist": 1, "spirals": 10}[args.dataset]
    if args.lr is None:
        args.lr = {"mnist": 1e-3, "spirals": 1e-2}[args.dataset]
    finetune_lr = args.lr / 2 if args.finetune_lr is None else args.finetune_lr
    if args.finetune_steps is None:
        args.finetune_steps = 20 if args.quick else 200

    name, x_train, y_train, x_test, y_test, in_features, hidden, classes = load_data(args)
    architecture = "-".join(map(str, [in_features, *hidden, classes]))
    print(f"data: {name} ({len(x_train):,} training / {len(x_test):,} test samples); "
          f"MLP {architecture}; Adam lr {args.lr:g}, {args.epochs} training epoch(s); "
          f"per sparsity {args.finetune_steps} fine-tune steps at lr {finetune_lr:g}")

    def new_model():
        return mlp(in_features, hidden, classes)

    def train_loader():
        return DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                          shuffle=True, seed=args.seed)

    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    loss_fn = nn.CrossEntropyLoss()

    minigrad.manual_seed(args.seed)
    trained = new_model()
    start = time.perf_counter()
    fit(trained, train_loader(), loss_fn, optim.Adam(trained.parameters(), lr=args.lr),
        args.epochs, progress=False)
    base = evaluate(trained, test_loader, metrics=["accuracy"])["accuracy"]
    n_weights = sum(m.weight.numel() for m, _ in linear_weights(trained))
    print(f"trained in {time.perf_counter() - start:.1f} s: test accuracy {base:.4f}, "
          f"{n_weights:,} weights in {len(hidden) + 1} Linear layers\n")

    rows = []
    for target in args.sparsities:
        model = new_model()
        model.load_state_dict(trained.state_dict())     # a copy: the trained model stays intact
        pairs = linear_weights(model)
        # the globally smallest |w_i| across every layer's weights are masked out
        prune.global_unstructured(pairs, prune.L1Unstructured, amount=float(target))
        masks = [m.weight_mask.numpy().copy() for m, _ in pairs]
        pruned_acc = evaluate(model, test_loader, metrics=["accuracy"])["accuracy"]

        # fine-tune: the optimizer trains weight_orig, the masks keep pruned weights at zero
        minigrad.manual_seed(args.seed)
        loader = train_loader()
        epochs = -(-args.finetune_steps // len(loader))  # enough epochs; max_steps stops it
        fit(model, loader, loss_fn, optim.Adam(model.parameters(), lr=finetune_lr), epochs,
            max_steps=args.finetune_steps, progress=False)
        tuned_acc = evaluate(model, test_loader, metrics=["accuracy"])["accuracy"]

        for module, param_name in pairs:                # make it permanent: weight = orig ⊙ mask
            prune.remove(module, param_name)
        weights = [m.weight.detach().numpy() for m, _ in pairs]
        revived = sum(int(np.count_nonzero(w[mask == 0])) for w, mask in zip(weights, masks))
        report = prune.sparsity_report(model, pairs)
        per_layer = " ".join(f"{row['sparsity']:.1%}" for row in report.layers.values())
        rows.append([f"{target:.0%}", report.sparsity, report.total - report.zeros, per_layer,
                     pruned_acc, tuned_acc, revived])

    print_table(["target", "sparsity", "weights left", "per layer", "acc pruned",
                 "acc fine-tuned", "revived"], rows,
                ["", ".2%", ",", "", ".4f", ".4f", ""])


if __name__ == "__main__":
    main()
