r"""L1 against L2 regularization: the same model trained with no penalty, an L1 penalty and an
L2 penalty added to the loss, compared by accuracy, sparsity and size of the weights.

With θ the weights (the biases are left alone, as usual) and λ the strength:

    L1:  loss = CE + λ₁ · l1_penalty(θ)          l1_penalty(θ) = Σ |θ_i|,  gradient λ₁ sign(θ)
    L2:  loss = CE + (λ₂/2) · l2_penalty(θ)      l2_penalty(θ) = Σ θ_i²,   gradient λ₂ θ

L2's pull λ₂θ shrinks as a weight gets small, so weights become small but rarely zero; L1's
pull λ₁ sign(θ) keeps its full size all the way to zero, so weights the data does not need are
driven to (and then oscillate within about lr·λ₁ of) zero: L1 gives sparse weights.

Because the gradient of (λ/2)·l2_penalty(θ) is λθ, adding it to the loss is exactly what
``SGD(..., weight_decay=λ)`` does (θ ← θ − lr·(∇CE + λθ)): the last row trains with
``weight_decay=λ₂`` and no penalty, and the script prints how far its weights end up from the
L2 row's (float32 rounding only). With Adam the two differ: see ``minigrad.nn.utils.penalties``.

Data: three interleaved spirals (``make_spirals``); model ``mlp(2, [64, 64], 3)``, SGD with
momentum 0.9. Sparsity is the fraction of weights with |θ_i| < 1e-3.

Run:

    python examples/l1_vs_l2.py                      # 1,500 points, 40 epochs
    python examples/l1_vs_l2.py --l1 1e-3 --l2 3e-3
    python examples/l1_vs_l2.py --quick              # 600 points, 15 epochs (for the tests)
"""

from __future__ import annotations

import argparse

import numpy as np

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_spirals
from minigrad.models import mlp
from minigrad.nn.utils import l1_penalty, l2_penalty
from minigrad.training import evaluate, fit

THRESHOLD = 1e-3  # |θ_i| below this counts as zero


def weights_of(model):
    """The weight matrices of the model (not the biases): what the penalties act on."""
    return [p for name, p in model.named_parameters() if name.endswith("weight")]


def train(args, x_train, y_train, penalty: str, weight_decay: float = 0.0):
    """Train a fresh model (same seed, same batches) with the given penalty in the loss."""
    minigrad.manual_seed(args.seed)
    model = mlp(2, [64, 64], 3)
    weights = weights_of(model)
    cross_entropy = nn.CrossEntropyLoss()

    def loss_fn(outputs, targets):
        loss = cross_entropy(outputs, targets)
        if penalty == "l1":
            loss = loss + args.l1 * l1_penalty(weights)            # + λ₁ Σ|θ|
        elif penalty == "l2":
            loss = loss + (args.l2 / 2) * l2_penalty(weights)      # + (λ₂/2) Σθ²
        return loss

    # weight_decay in SGD applies to every parameter it is given: give it only the weights
    biases = [p for name, p in model.named_parameters() if not name.endswith("weight")]
    optimizer = optim.SGD([{"params": weights, "weight_decay": weight_decay},
                           {"params": biases}], lr=args.lr, momentum=0.9)
    loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                        shuffle=True, seed=args.seed)
    fit(model, loader, loss_fn, optimizer, args.epochs, progress=False)
    return model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1500, help="training points (default 1500)")
    parser.add_argument("--noise", type=float, default=0.1)
    parser.add_argument("--epochs", type=int, default=40, help="default 40")
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--l1", type=float, default=3e-4, help="λ₁ (default 3e-4)")
    parser.add_argument("--l2", type=float, default=1e-3, help="λ₂ (default 1e-3)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="600 points, 15 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.epochs = 600, 15

    x_train, y_train = make_spirals(args.n, classes=3, noise=args.noise, seed=args.seed)
    x_test, y_test = make_spirals(args.n, classes=3, noise=args.noise, seed=args.seed + 1)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    print(f"3 spirals, {args.n} training / {args.n} test points; MLP 2-64-64-3, SGD momentum "
          f"0.9, lr {args.lr}, {args.epochs} epochs; λ₁ = {args.l1:g}, λ₂ = {args.l2:g}\n")

    runs = {
        "no penalty": dict(penalty="none"),
        f"L1: + {args.l1:g}·l1_penalty": dict(penalty="l1"),
        f"L2: + ({args.l2:g}/2)·l2_penalty": dict(penalty="l2"),
        f"SGD weight_decay={args.l2:g}": dict(penalty="none", weight_decay=args.l2),
    }
    rows, final_weights = [], {}
    for name, options in runs.items():
        model = train(args, x_train, y_train, **options)
        w = np.concatenate([p.detach().numpy().ravel() for p in weights_of(model)])
        final_weights[name] = w
        test = evaluate(model, test_loader, metrics=["accuracy"])
        rows.append([name, test["accuracy"], float(np.mean(np.abs(w) < THRESHOLD)),
                     float(np.sqrt(np.sum(w.astype(np.float64) ** 2))),
                     float(np.sum(np.abs(w), dtype=np.float64))])

    print_table(["run", "test acc", "sparsity (|w|<1e-3)", "‖w‖₂", "‖w‖₁"], rows,
                ["", ".4f", ".1%", ".3f", ".1f"])
    l2_name, decay_name = list(runs)[2], list(runs)[3]
    gap = float(np.max(np.abs(final_weights[l2_name] - final_weights[decay_name])))
    print(f"\nmax |w_L2 − w_weight_decay| = {gap:.2e} over {w.size:,} weights "
          f"((λ/2)·l2_penalty and weight_decay=λ are the same update)")


if __name__ == "__main__":
    main()
