"""``python -m minigrad explain WHAT [options]``: a step-by-step account, formula and numbers, of an
optimizer (adam, sgd, ...), a loss (mse, cross_entropy, ...), a schedule (cosine, warmup, ...,
or ``--schedule NAME``) or a layer (linear, conv2d, batchnorm, dropout), read from the real
objects (:mod:`minigrad.explain`). ``--format table|markdown|json``."""

from __future__ import annotations

import argparse
import sys

from . import arguments


def numbers(text: str) -> list:
    """'1,-2' -> [1.0, -2.0]; '1,2;3,4' -> [[1.0, 2.0], [3.0, 4.0]] (rows split by ';')."""
    try:
        rows = [[float(part) for part in row.split(",")] for row in text.split(";")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers (rows split by "
                                         f"';') such as 1.0,-2.0, got {text!r}") from None
    return rows[0] if len(rows) == 1 else rows


def add_parser(commands) -> None:
    """Register ``explain`` and its flags."""
    from .. import explain as ex

    parser = commands.add_parser(
        "explain", help="an optimizer, loss, schedule or layer step by step, with the numbers",
        description="Show the formula and the numbers of one optimizer, loss, schedule or "
                    "layer, read from the real object after it ran. Names: optimizers "
                    f"{', '.join(ex.OPTIMIZERS)}; losses {', '.join(ex.LOSSES)}; schedules "
                    f"{', '.join(ex.SCHEDULES)}; layers {', '.join(ex.LAYERS)}. A value that "
                    "starts with '-' is written --params=-1,2.")
    parser.add_argument("what", nargs="?", metavar="WHAT", help="the name to explain")
    parser.add_argument("--schedule", metavar="NAME", help="explain this schedule")
    parser.add_argument("--format", choices=("table", "markdown", "json"), default="table",
                        help="output format (default table)")
    parser.add_argument("--steps", type=arguments.positive_int, metavar="N",
                        help="optimizer steps (default 3) or schedule steps (default 20)")
    parser.add_argument("--params", type=numbers, metavar="VALUES",
                        help="optimizer: the starting parameters θ_0 (default 1,-2)")
    parser.add_argument("--grads", type=numbers, metavar="VALUES",
                        help="optimizer: a fixed gradient, or one per step split by ';' "
                             "(default: the gradient of the built-in quadratic)")
    parser.add_argument("--lr", type=arguments.nonnegative_float, help="the learning rate")
    parser.add_argument("--momentum", type=arguments.nonnegative_float)
    parser.add_argument("--betas", type=arguments.betas, help="Adam's (β₁, β₂)")
    parser.add_argument("--eps", type=arguments.nonnegative_float)
    parser.add_argument("--weight-decay", type=arguments.nonnegative_float)
    parser.add_argument("--input", type=numbers, metavar="VALUES",
                        help="loss: the input (rows split by ';')")
    parser.add_argument("--target", type=numbers, metavar="VALUES",
                        help="loss: the target (class indices for cross_entropy)")
    parser.add_argument("--reduction", choices=("mean", "sum", "batchmean"),
                        help="loss: the reduction (default the loss's own)")
    parser.add_argument("--seed", type=arguments.nonnegative_int, default=0,
                        help="layer: the seed of its initial weights (default 0)")
    parser.set_defaults(run=run, validate=validate)


def validate(args):
    from .. import explain as ex

    if args.schedule is not None:
        if args.what not in (None, "schedule"):
            return f"give either WHAT or --schedule, not both ({args.what!r} and " \
                   f"{args.schedule!r})"
        if args.schedule not in ex.SCHEDULES:
            return f"--schedule {args.schedule!r}: expected one of {', '.join(ex.SCHEDULES)}"
        return None
    if args.what is None:
        return "explain what? give a name (adam, mse, cosine, linear, ...) or --schedule NAME"
    known = set(ex.OPTIMIZERS) | set(ex.LOSSES) | set(ex.SCHEDULES) | set(ex.LAYERS)
    if args.what not in known:
        return f"unknown name {args.what!r}: expected one of {', '.join(sorted(known))}"
    return None


def _options(args) -> tuple:
    """(kind, keyword arguments) for :func:`minigrad.explain.explain` from the flags."""
    from .. import explain as ex

    if args.schedule is not None or args.what in ex.SCHEDULES:
        options = {"lr": args.lr} if args.lr is not None else {}
        if args.steps is not None:
            options["steps"] = max(args.steps, 2)
        return "schedule", args.schedule or args.what, options
    if args.what in ex.OPTIMIZERS:
        options = {"params": args.params, "grads": args.grads, "steps": args.steps or 3}
        for flag, key in (("lr", "lr"), ("momentum", "momentum"), ("betas", "betas"),
                          ("eps", "eps"), ("weight_decay", "weight_decay")):
            if getattr(args, flag) is not None:
                options[key] = getattr(args, flag)
        return "optimizer", args.what, options
    if args.what in ex.LOSSES:
        target = args.target
        if args.what == "cross_entropy" and target is not None:
            target = [int(v) for v in target]
        return "loss", args.what, {"input": args.input, "target": target,
                                   "reduction": args.reduction}
    return "layer", args.what, {"seed": args.seed}


def run(args) -> int:
    """Print the explanation; 2 (and one line) when the object refuses the options."""
    from ..explain import explain

    kind, what, options = _options(args)
    try:
        explanation = explain(what, kind=kind, **options)
    except (ValueError, TypeError, RuntimeError) as exc:
        print(f"python -m minigrad explain: error: {exc}", file=sys.stderr)
        return 2
    print(explanation.render(args.format))
    return 0
