"""``python -m minigrad``: the command line, one module per command.

    python -m minigrad gradcheck ...   (gradcheck.py) every op's gradient against central differences
    python -m minigrad train ...       (train.py) train a classifier; --help lists every flag
    python -m minigrad summary ...     (summary.py) a model's layer table

A command module has ``add_parser(subparsers)``, which registers its flags and sets ``run``
(``run(args) -> exit status``) and optionally ``validate`` (``validate(args) -> message or
None``, for what argparse cannot check alone) as the parser's defaults; :data:`COMMANDS` lists
the modules in the order ``--help`` shows them. Shared argparse types are in ``arguments.py``.
Bad flags or files give a one-line message and exit status 2. The settings, data and pieces
of a training run live in :mod:`minigrad.recipes`, where a program (or a tuner) calls them
without argparse; the names below are kept here too, as before.
"""

from __future__ import annotations

import argparse

from ..recipes import (ConfigError, RegularizedLoss, build_model, build_optimizer,  # noqa: F401
                       build_scheduler, build_training, load_data, resolve_config)
from . import gradcheck, summary, train
from .train import run_training  # noqa: F401

#: The command modules, in the order the help lists them.
from . import audit, explain, formulas, graph  # noqa: E402  (the learning aids, issue 17)
from . import tune  # noqa: E402  (hyper-parameter search, issue 13)
from . import quantize  # noqa: E402  (int8 quantization, issue 12)
COMMANDS = (gradcheck, train, summary, explain, formulas, audit, graph, tune, quantize)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m minigrad",
                                     description="minigrad: autograd engine and trainer")
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(commands)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    validate = getattr(args, "validate", None)
    message = validate(args) if validate is not None else None
    if message:
        parser.error(message)
    try:
        return args.run(args)
    except BrokenPipeError:   # the output went to a pipe closed early (`... | head`): stop quietly
        import os
        import sys
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141             # 128 + SIGPIPE, as a program killed by it
