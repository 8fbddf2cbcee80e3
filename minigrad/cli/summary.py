"""``python -m minigrad summary [--model lenet|mlp] [--input-size 1,1,28,28] [--depth 3] ...``:
the layer table of one of the train command's models (:func:`minigrad.summary`: output
shapes, parameters, multiply-adds, memory), or its JSON with ``--json``."""

from __future__ import annotations

import argparse
import json
import sys

from . import arguments

_DEFAULT_INPUT = {"lenet": (1, 1, 28, 28), "mlp": (1, 784)}


def _shape(text: str) -> tuple:
    """'1,1,28,28' -> (1, 1, 28, 28): positive integers, the batch first."""
    try:
        shape = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated sizes such as 1,1,28,28, "
                                         f"got {text!r}") from None
    if len(shape) < 2 or any(size < 1 for size in shape):
        raise argparse.ArgumentTypeError(f"expected a batch size and at least one more "
                                         f"positive size, got {text!r}")
    return shape


def add_parser(commands) -> None:
    """Register ``summary`` and its flags."""
    summary = commands.add_parser(
        "summary", help="the layer table of a model (shapes, parameters, mult-adds)",
        description="Trace one forward pass of a model the train command builds and print its "
                    "layers: output shape, parameters, trainable, multiply-adds; totals and "
                    "memory estimates.")
    summary.add_argument("--model", choices=("lenet", "mlp"), default="lenet",
                         help="lenet (LeNet-5) or mlp (default lenet)")
    summary.add_argument("--hidden", type=arguments.hidden_sizes, default=(512, 256),
                         metavar="SIZES", help="hidden widths of the MLP (default 512,256)")
    summary.add_argument("--num-classes", type=arguments.positive_int, default=10, metavar="N",
                         help="outputs of the last layer (default 10)")
    summary.add_argument("--batch-norm", action="store_true",
                         help="batch normalization after each hidden layer / convolution")
    summary.add_argument("--input-size", type=_shape, metavar="SIZES",
                         help="the input's shape, batch first (default 1,1,28,28 for lenet, "
                              "1,784 for mlp; the mlp takes its width from it)")
    summary.add_argument("--depth", type=arguments.nonnegative_int, default=3,
                         help="the deepest module level shown (default 3)")
    summary.add_argument("--json", action="store_true", help="print the summary as JSON")
    summary.set_defaults(run=run)


def run(args) -> int:
    """Build the model, trace it and print the table (or JSON); 2 for a model that cannot
    take the input."""
    import minigrad as mg
    from minigrad.recipes import build_model

    input_size = args.input_size or _DEFAULT_INPUT[args.model]
    if args.model == "lenet" and len(input_size) != 4:
        print(f"python -m minigrad summary: error: --input-size {','.join(map(str, input_size))}"
              f": lenet takes images (N, C, H, W)", file=sys.stderr)
        return 2
    config = {"model": args.model, "hidden": list(args.hidden), "dropout": 0.0,
              "batch_norm": args.batch_norm}
    model = build_model(config, tuple(input_size[1:]), args.num_classes)
    try:
        result = mg.summary(model, input_size=input_size, depth=args.depth)
    except RuntimeError as exc:
        print(f"python -m minigrad summary: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result.to_dict(), indent=1) if args.json else result)
    return 0
