"""Small helpers shared by the examples: running from a checkout, printing a table, finding
MNIST. Import it before ``minigrad`` (``import _common``): the examples' own folder is on
``sys.path`` when a script runs, so this file is always found."""

from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    # run from a checkout without `pip install -e .`: use the minigrad next to this folder
    sys.path.insert(0, ROOT)

MNIST_NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def print_table(headers, rows, formats=None) -> None:
    """Print ``rows`` (lists of values) under ``headers`` as aligned columns. ``formats`` is one
    format spec per column (e.g. ``".4f"``; ``""`` for str()); text columns are left-aligned,
    the others right-aligned."""
    formats = formats or [""] * len(headers)
    cells = [[format(v, f) if f else str(v) for v, f in zip(row, formats)] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    left = [all(isinstance(row[i], str) for row in rows) for i in range(len(headers))]

    def line(values):
        return "  ".join(v.ljust(w) if lft else v.rjust(w)
                         for v, w, lft in zip(values, widths, left)).rstrip()

    print(line(headers))
    print("  ".join("-" * w for w in widths))
    for row in cells:
        print(line(row))


def add_data_dir_argument(parser) -> None:
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"),
                        help="folder holding the MNIST IDX files (*-ubyte.gz); default: the "
                             "MINIGRAD_DATA environment variable")


def mnist_available(data_dir) -> bool:
    """Whether ``data_dir`` (or its ``mnist`` subfolder) holds the four MNIST files, each
    gzip-compressed or raw (where :func:`minigrad.data.load_mnist` looks)."""
    if not data_dir:
        return False
    for folder in (data_dir, os.path.join(data_dir, "mnist")):
        if all(os.path.isfile(os.path.join(folder, n + ".gz"))
               or os.path.isfile(os.path.join(folder, n)) for n in MNIST_NAMES):
            return True
    return False


def load_mnist_or_exit(data_dir, train: bool):
    """``minigrad.data.load_mnist(data_dir, train, normalize=True)``, or exit (status 1) with a
    message saying where the files were looked for and how to point the script at them."""
    from minigrad.data import load_mnist
    if not data_dir:
        sys.exit("error: no MNIST folder given. Pass --data-dir DIR or set MINIGRAD_DATA=DIR, "
                 "where DIR holds " + ", ".join(n + ".gz" for n in MNIST_NAMES)
                 + " (minigrad never downloads data).")
    try:
        return load_mnist(data_dir, train=train, normalize=True)
    except FileNotFoundError as exc:
        sys.exit(f"error: MNIST not found in {data_dir!r}.\n{exc}")
