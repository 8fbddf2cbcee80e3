"""Loss landscapes (Li et al., 2018) of nets trained with small and large batches, and with and
without batch norm, along random filter-normalized directions (``minigrad.landscape``).

Four MLPs (2-64-64-3) are trained on the spirals set with Adam for the same number of epochs:
batch 16 and batch 512, each with and without BatchNorm1d. For each, the training loss is
evaluated at θ + α d for α in [−1, 1], d a random direction whose every filter has the norm of
the same filter of θ, so the curves of different nets share one scale. The table prints the
loss along α and its "sharpness" (the mean rise L(α) − L(0) over the grid); the terminal plots
show the curves (α from −1 at the left to +1 at the right). Keskar et al. (2017) report sharper
minima for large batches; what this small run shows is printed, not assumed. The nets are
evaluated in eval mode (batch norm uses its running statistics).

    python examples/loss_landscape.py
    python examples/loss_landscape.py --quick        # fewer epochs and points (for the tests)
    python examples/loss_landscape.py --png curves.png   # with matplotlib
"""

from __future__ import annotations

import argparse

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table

import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_spirals
from minigrad.explain_format import ascii_plot
from minigrad.landscape import landscape_1d
from minigrad.models import mlp
from minigrad.training import fit


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=60)
    parser.add_argument("--samples", type=int, default=1500)
    parser.add_argument("--steps", type=int, default=21, help="points along α (default 21)")
    parser.add_argument("--png", help="save the curves (needs matplotlib)")
    parser.add_argument("--quick", action="store_true", help="15 epochs, 600 points, 11 α")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.samples, args.steps = 15, 600, 11

    x, y = (minigrad.tensor(a) for a in make_spirals(args.samples, noise=0.1, seed=0))
    loss_fn = nn.CrossEntropyLoss()
    curves = {}
    for batch_norm in (False, True):
        for batch in (16, 512):
            minigrad.manual_seed(0)
            model = mlp(2, (64, 64), 3, batch_norm=batch_norm)
            loader = DataLoader(TensorDataset(x, y), batch, shuffle=True, seed=0)
            fit(model, loader, loss_fn, optim.Adam(model.parameters(), lr=1e-2), args.epochs,
                progress=False)
            name = f"batch {batch}" + (" + BN" if batch_norm else "")
            curves[name] = landscape_1d(model, loss_fn, (x, y), steps=args.steps, seed=1)

    alphas = next(iter(curves.values()))["alphas"]
    centre = len(alphas) // 2
    rows = []
    for name, result in curves.items():
        losses = result["losses"]
        rise = sum(v - losses[centre] for v in losses) / (len(losses) - 1)
        rows.append([name, losses[centre], losses[0], losses[-1], rise])
    print(f"training loss along a filter-normalized direction, α in [{alphas[0]:g}, "
          f"{alphas[-1]:g}]")
    print_table(["net", "L(0)", "L(-1)", "L(+1)", "sharpness"], rows,
                ["", ".4f", ".4f", ".4f", ".4f"])
    for name, result in curves.items():
        print(f"\n{name}")
        print("\n".join(ascii_plot(result["losses"], height=6, axis="α index")))

    if args.png:
        from minigrad.viz import pyplot
        try:
            plt = pyplot("--png")
        except ImportError as exc:
            print(exc)
            return 1
        figure, axis = plt.subplots(figsize=(5, 4))
        for name, result in curves.items():
            axis.plot(result["alphas"], result["losses"], label=name)
        axis.set(xlabel="α", ylabel="training loss", yscale="log")
        axis.legend()
        figure.savefig(args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
