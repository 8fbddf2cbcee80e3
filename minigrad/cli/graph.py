"""``python -m minigrad graph [--model mlp|lenet] [--out graph.dot]``: the autograd graph of one
training step (forward, cross-entropy loss, backward) of one of the train command's models, as
Graphviz DOT text (:func:`minigrad.viz.to_dot`), or rendered to an image (.svg, .png, ...) when
the optional graphviz package is installed."""

from __future__ import annotations

import sys

from . import arguments


def add_parser(commands) -> None:
    """Register ``graph`` and its flags."""
    parser = commands.add_parser(
        "graph", help="the autograd graph of one training step, as Graphviz DOT",
        description="Run one training step (forward, loss, backward) of a model the train "
                    "command builds on a small random batch and write its autograd graph: "
                    "ops, shapes, dtypes, which tensors require grad, the gradients held.")
    parser.add_argument("--model", choices=("mlp", "lenet"), default="mlp",
                        help="mlp or lenet (default mlp)")
    parser.add_argument("--hidden", type=arguments.hidden_sizes, default=(32,),
                        metavar="SIZES", help="hidden widths of the MLP (default 32)")
    parser.add_argument("--inputs", type=arguments.positive_int, default=784, metavar="N",
                        help="the MLP's input width (default 784)")
    parser.add_argument("--batch-size", type=arguments.positive_int, default=2, metavar="N")
    parser.add_argument("--batch-norm", action="store_true")
    parser.add_argument("--out", metavar="PATH",
                        help="write to PATH (.dot/.gv as text; .svg/.png/.pdf need graphviz); "
                             "default: print the DOT text")
    parser.set_defaults(run=run)


def step_graph(args):
    """(loss, named parameters) after one forward and backward(retain_graph=True)."""
    import minigrad as mg
    from minigrad.nn import functional as F
    from minigrad.recipes import build_model

    mg.manual_seed(0)
    input_shape = (1, 28, 28) if args.model == "lenet" else (args.inputs,)
    config = {"model": args.model, "hidden": list(args.hidden), "dropout": 0.0,
              "batch_norm": args.batch_norm}
    model = build_model(config, input_shape, 10)
    x = mg.randn(args.batch_size, *input_shape)
    y = mg.randint(0, 10, (args.batch_size,))
    loss = F.cross_entropy(model(x), y)
    loss.backward(retain_graph=True)
    params = dict(model.named_parameters())
    params["input"], params["target"] = x, y
    return loss, params


def run(args) -> int:
    from minigrad import viz

    loss, params = step_graph(args)
    if args.out is None:
        print(viz.to_dot(loss, params), end="")
        return 0
    try:
        path = viz.render(loss, args.out, params)
    except (ImportError, OSError, RuntimeError) as exc:
        message = " ".join(str(exc).split())
        print(f"python -m minigrad graph: error: {message}", file=sys.stderr)
        return 2
    print(f"wrote {path}")
    return 0
