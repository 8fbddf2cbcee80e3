"""Attributions of an MNIST MLP's predictions, shown as images: Saliency, SmoothGrad,
Integrated Gradients (Gauss-Legendre and Riemann, with their completeness gaps) and Occlusion
(``minigrad.interpret``, Captum's names and definitions).

The script trains ``minigrad.models.mlp`` (784 -> 128 -> 10) with Adam, then explains its
predicted class on a few test digits. It prints, for each IG rule, the completeness gap
|Σ attributions − (f(x) − f(0))| relative to |f(x) − f(0)| (the issue's target: below 1% with
64 Gauss-Legendre steps), and draws each attribution map in the terminal (darker characters =
larger |attribution|); with matplotlib installed, ``--png PATH`` also saves a grid of images.

    python examples/interpret_mnist.py --data-dir /path/to/mnist      # or set MINIGRAD_DATA
    python examples/interpret_mnist.py --quick      # 6,000 training images, 1 epoch
"""

from __future__ import annotations

import argparse
import time

# _common first: it puts the minigrad of this checkout on sys.path
from _common import add_data_dir_argument, load_mnist_or_exit, print_table
import numpy as np

import minigrad
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset
from minigrad.interpret import IntegratedGradients, NoiseTunnel, Occlusion, Saliency
from minigrad.models import mlp
from minigrad.training import fit

SHADES = " .:-=+*#%@"


def ascii_map(values, width=28):
    """A 28x28 map as 14 text rows (each character: the mean |value| of a 2x2 block)."""
    block = np.abs(values.reshape(14, 2, 14, 2)).mean(axis=(1, 3))
    top = block.max() or 1.0
    return ["".join(SHADES[min(9, int(v / top * 9.999))] for v in row) for row in block]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_data_dir_argument(parser)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--train-size", type=int, default=None)
    parser.add_argument("--digits", type=int, default=32, help="test digits explained")
    parser.add_argument("--steps", type=int, default=64, help="IG steps (default 64)")
    parser.add_argument("--png", help="save the attribution images here (needs matplotlib)")
    parser.add_argument("--quick", action="store_true",
                        help="6,000 training images, 1 epoch, 8 digits (for the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.train_size, args.epochs, args.digits = 6000, 1, 8

    minigrad.manual_seed(0)
    images, labels = load_mnist_or_exit(args.data_dir, train=True)
    test_images, test_labels = load_mnist_or_exit(args.data_dir, train=False)
    if args.train_size:
        images, labels = images[:args.train_size], labels[:args.train_size]
    loader = DataLoader(TensorDataset(minigrad.tensor(images.reshape(-1, 784)),
                                      minigrad.tensor(labels)), 128, shuffle=True, seed=0)
    model = mlp(784, (128,), 10)
    start = time.perf_counter()
    fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-3),
        args.epochs, progress=False)
    model.eval()
    x = minigrad.tensor(test_images[:args.digits].reshape(-1, 784))
    with minigrad.no_grad():
        logits = model(x)
    predicted = logits.argmax(1).tolist()
    accuracy = float(np.mean(np.array(predicted) == test_labels[:args.digits]))
    print(f"trained in {time.perf_counter() - start:.1f} s; {accuracy:.0%} of the "
          f"{args.digits} explained test digits are classified correctly")

    # Integrated gradients: the completeness gap of each quadrature rule
    ig = IntegratedGradients(model)
    with minigrad.no_grad():
        zero = model(x * 0.0)
    rows = list(range(args.digits))
    change = np.abs(logits.numpy()[rows, predicted] - zero.numpy()[rows, predicted])
    table, maps = [], {}
    for method in ("gausslegendre", "riemann_middle", "riemann_trapezoid", "riemann_right"):
        attributions, delta = ig.attribute(x, target=predicted, n_steps=args.steps,
                                           method=method, return_convergence_delta=True)
        relative = np.abs(delta.numpy()) / change
        table.append([method, args.steps, float(relative.max()), float(relative.mean())])
        if method == "gausslegendre":
            maps["integrated gradients"] = attributions.numpy()
    print("\nIntegrated gradients: completeness gap |Σ attr − (f(x) − f(0))| / |f(x) − f(0)|")
    print_table(["method", "steps", "max gap", "mean gap"], table, ["", "d", ".2e", ".2e"])

    maps["saliency"] = Saliency(model).attribute(x, target=predicted).numpy()
    minigrad.manual_seed(1)
    maps["smoothgrad"] = NoiseTunnel(Saliency(model)).attribute(
        x, nt_samples=16, stdevs=0.2, target=predicted, abs=False).numpy()
    images_2d = minigrad.tensor(test_images[:args.digits][:, None])   # (N, 1, 28, 28)

    def on_images(t):
        return model(t.reshape(t.shape[0], 784))
    maps["occlusion"] = Occlusion(on_images).attribute(
        images_2d, sliding_window_shapes=(1, 4, 4), strides=(1, 2, 2),
        target=predicted).numpy().reshape(-1, 784)

    for k in range(min(2, args.digits)):
        print(f"\ndigit {k}: label {test_labels[k]}, predicted {predicted[k]}")
        names = ["image"] + list(maps)
        columns = [ascii_map(test_images[k])] + [ascii_map(maps[n][k]) for n in maps]
        print("   ".join(n[:14].ljust(14) for n in names))
        for line in zip(*columns):
            print("   ".join(line))

    if args.png:
        from minigrad.viz import pyplot
        try:
            plt = pyplot("--png")
        except ImportError as exc:
            print(exc)
            return 1
        shown = min(4, args.digits)
        figure, axes = plt.subplots(shown, 1 + len(maps), figsize=(2 * (1 + len(maps)),
                                                                   2 * shown))
        for k in range(shown):
            axes[k, 0].imshow(test_images[k], cmap="gray")
            for j, name in enumerate(maps, start=1):
                axes[k, j].imshow(np.abs(maps[name][k]).reshape(28, 28), cmap="hot")
                axes[0, j].set_title(name, fontsize=8)
        for axis in axes.ravel():
            axis.axis("off")
        figure.savefig(args.png)
        print(f"wrote {args.png}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
