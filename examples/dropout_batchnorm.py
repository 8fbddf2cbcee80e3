r"""Dropout and batch norm against overfitting: a plain MLP, with dropout, with batch norm, and
with both, trained on a small noisy training set and tested on a large one.

Data: 150 points of three interleaved spirals with heavy noise (std 0.2), so a wide MLP can
memorize the training points (high train accuracy) without learning the spirals (lower test
accuracy); the test set has 3,000 points of the same distribution. The gap train − test
accuracy measures the overfitting.

- **Dropout(p)** zeroes each hidden activation with probability p during training and scales
  the survivors by 1/(1 − p), so the expected activation is unchanged; in eval mode it is the
  identity. No unit can rely on any particular other unit being there.
- **BatchNorm1d** normalizes each feature over the batch, ŷ = γ (x − μ_B) / √(σ²_B + ε) + β,
  using the running averages of μ and σ² in eval mode. The batch statistics add noise to each
  sample's activations (they depend on the other samples drawn with it), which also
  regularizes.

Both behave differently in training and evaluation, so the accuracies here are measured with
``evaluate`` (eval mode) after training, on the training set and on the test set.

Model: ``mlp(2, [256, 256], 3, dropout=p, batch_norm=...)``, Adam (lr 0.01), batches of 32.

Run:

    python examples/dropout_batchnorm.py                    # 150 points, 200 epochs
    python examples/dropout_batchnorm.py --dropout 0.5 --epochs 400
    python examples/dropout_batchnorm.py --quick            # smaller and shorter (for the tests)
"""

from __future__ import annotations

import argparse

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_spirals
from minigrad.models import mlp
from minigrad.training import evaluate, fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=150, help="training points (default 150)")
    parser.add_argument("--n-test", type=int, default=3000, help="test points (default 3000)")
    parser.add_argument("--noise", type=float, default=0.2, help="default 0.2")
    parser.add_argument("--hidden", type=int, default=256, help="width of the 2 hidden layers")
    parser.add_argument("--dropout", type=float, default=0.3, help="p (default 0.3)")
    parser.add_argument("--epochs", type=int, default=200, help="default 200")
    parser.add_argument("--lr", type=float, default=0.01, help="Adam's learning rate")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true",
                        help="hidden width 64, 30 epochs, 1,000 test points")
    args = parser.parse_args(argv)
    if args.quick:
        args.hidden, args.epochs, args.n_test = 64, 30, 1000

    x_train, y_train = make_spirals(args.n, classes=3, noise=args.noise, seed=args.seed)
    x_test, y_test = make_spirals(args.n_test, classes=3, noise=args.noise, seed=args.seed + 1)
    train_eval_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=1000)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    loss_fn = nn.CrossEntropyLoss()
    h = args.hidden
    print(f"3 spirals, noise {args.noise}: {args.n} training / {args.n_test} test points; "
          f"MLP 2-{h}-{h}-3, Adam lr {args.lr}, {args.epochs} epochs\n")

    variants = {
        "plain": dict(),
        f"dropout {args.dropout:g}": dict(dropout=args.dropout),
        "batch norm": dict(batch_norm=True),
        f"batch norm + dropout {args.dropout:g}": dict(batch_norm=True, dropout=args.dropout),
    }
    rows = []
    for name, options in variants.items():
        minigrad.manual_seed(args.seed)   # same initial weights and batch order for each
        model = mlp(2, [h, h], 3, **options)
        optimizer = optim.Adam(model.parameters(), lr=args.lr)
        # drop_last: a final batch of 150 % 32 = 22 is fine for batch norm, but a batch of 1
        # would have no variance; dropping the remainder keeps every batch the same size
        loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                            shuffle=True, drop_last=True, seed=args.seed)
        fit(model, loader, loss_fn, optimizer, args.epochs, progress=False)
        train = evaluate(model, train_eval_loader, loss_fn, metrics=["accuracy"])
        test = evaluate(model, test_loader, loss_fn, metrics=["accuracy"])
        rows.append([name, train["accuracy"], test["accuracy"],
                     train["accuracy"] - test["accuracy"], train["loss"], test["loss"]])

    print_table(["model", "train acc", "test acc", "gap", "train loss", "test loss"], rows,
                ["", ".4f", ".4f", "+.4f", ".4f", ".4f"])


if __name__ == "__main__":
    main()
