r"""Learning-rate schedules: the same model, data and optimizer, five ways to vary the rate.

Data: three interleaved spirals (``minigrad.data.make_spirals``), a separate test set drawn
with another seed. Model: ``mlp(2, [64, 64], 3)``; SGD with momentum 0.9 and η₀ = 0.1;
the scheduler steps once per epoch (``fit(..., scheduler=...)``). With t the epoch and T the
number of epochs:

    constant      η_t = η₀
    StepLR        η_t = η₀ · γ^⌊t / s⌋                    (γ = 0.1 every s = T/3 epochs)
    ExponentialLR η_t = η₀ · γ^t                           (γ = 0.01^(1/T): 1% of η₀ at the end)
    Cosine        η_t = η_min + (η₀ − η_min)(1 + cos(π t / T)) / 2        (η_min = 0)
    warm-up+cos   LinearLR from 0.1 η₀ up to η₀ over the first w = T/10 epochs, then cosine
                  over the remaining T − w (SequentialLR switches at epoch w)

A large constant rate keeps the weights bouncing around a minimum; the decaying schedules
let them settle, which shows as a lower loss of the final weights on the training set
("train loss", computed after training; "last epoch loss" is fit's running mean over the
last epoch, while the weights were still moving). Warm-up avoids large, badly aimed first
steps while the momentum buffer and the weights are still far off.

Run:

    python examples/lr_schedules.py                 # 1,500 points, 60 epochs
    python examples/lr_schedules.py --epochs 100 --lr 0.2
    python examples/lr_schedules.py --quick         # 600 points, 12 epochs (for the tests)
"""

from __future__ import annotations

import argparse

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table
import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_spirals
from minigrad.models import mlp
from minigrad.optim import lr_scheduler
from minigrad.training import evaluate, fit


def make_schedules(epochs: int):
    """name -> a function building that schedule on an optimizer (None: constant rate)."""
    warmup = max(1, epochs // 10)
    return {
        "constant": lambda opt: None,
        "StepLR": lambda opt: lr_scheduler.StepLR(opt, step_size=max(1, epochs // 3),
                                                  gamma=0.1),
        "ExponentialLR": lambda opt: lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / epochs)),
        "CosineAnnealingLR": lambda opt: lr_scheduler.CosineAnnealingLR(opt, T_max=epochs),
        "warm-up + cosine": lambda opt: lr_scheduler.SequentialLR(
            opt,
            [lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=warmup),
             lr_scheduler.CosineAnnealingLR(opt, T_max=epochs - warmup)],
            milestones=[warmup]),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1500, help="training points (default 1500)")
    parser.add_argument("--noise", type=float, default=0.1, help="spiral noise (default 0.1)")
    parser.add_argument("--epochs", type=int, default=60, help="default 60")
    parser.add_argument("--lr", type=float, default=0.1, help="η₀ (default 0.1)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="600 points, 12 epochs")
    args = parser.parse_args(argv)
    if args.quick:
        args.n, args.epochs = 600, 12
    if args.epochs < 2:
        parser.error("--epochs must be at least 2")

    x_train, y_train = make_spirals(args.n, classes=3, noise=args.noise, seed=args.seed)
    x_test, y_test = make_spirals(args.n, classes=3, noise=args.noise, seed=args.seed + 1)
    test_loader = DataLoader(TensorDataset(x_test, y_test), batch_size=1000)
    train_eval_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=1000)
    loss_fn = nn.CrossEntropyLoss()
    print(f"3 spirals, {args.n} training / {args.n} test points (noise {args.noise}); "
          f"MLP 2-64-64-3, SGD momentum 0.9, lr {args.lr}, {args.epochs} epochs\n")

    quarters = [0, args.epochs // 4, args.epochs // 2, 3 * args.epochs // 4, args.epochs - 1]
    results, lr_rows = [], []
    for name, make_scheduler in make_schedules(args.epochs).items():
        minigrad.manual_seed(args.seed)    # same initial weights and batch order for every run
        model = mlp(2, [64, 64], 3)
        optimizer = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)
        scheduler = make_scheduler(optimizer)
        train_loader = DataLoader(TensorDataset(x_train, y_train), batch_size=args.batch_size,
                                  shuffle=True, seed=args.seed)
        history = fit(model, train_loader, loss_fn, optimizer, args.epochs,
                      scheduler=scheduler, metrics=["accuracy"], progress=False).history
        test = evaluate(model, test_loader, loss_fn, metrics=["accuracy"])
        # fit's epoch loss averages over batches while the weights were still moving; the
        # loss of the final weights on the whole training set shows where they settled
        train = evaluate(model, train_eval_loader, loss_fn, metrics=["accuracy"])
        results.append([name, history["loss"][-1], train["loss"], train["accuracy"],
                        test["loss"], test["accuracy"]])
        lr_rows.append([name] + [history["lr"][e] for e in quarters])

    print_table(["schedule", "last epoch loss", "train loss", "train acc", "test loss",
                 "test acc"], results,
                ["", ".4f", ".4f", ".4f", ".4f", ".4f"])
    print("\nlearning rate at the start of epoch:")
    print_table(["schedule"] + [f"epoch {e + 1}" for e in quarters], lr_rows,
                [""] + [".2e"] * len(quarters))


if __name__ == "__main__":
    main()
