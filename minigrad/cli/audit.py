"""``python -m minigrad audit --fn path.py:name --formula ID``: run your NumPy function and every
variant of a catalogue formula on the same random inputs (and compare gradients where the
formula has one), then say which variant it matches, or where and how it differs
(:func:`minigrad.formula_audit.audit`). Exit status 0 on a match, 1 on none, 2 on bad flags."""

from __future__ import annotations

import importlib.util
import os
import sys

from . import arguments


def add_parser(commands) -> None:
    """Register ``audit`` and its flags."""
    parser = commands.add_parser(
        "audit", help="check your NumPy function against a catalogue formula's variants",
        description="Load FUNCTION from FILE, call it with the formula's arguments (see "
                    "`python -m minigrad formulas --show ID`) on random inputs and report the "
                    "variant it matches, or the first input where it differs and by how much.")
    parser.add_argument("--fn", required=True, metavar="FILE.py:NAME",
                        help="the function to audit, as path/to/file.py:function_name")
    parser.add_argument("--formula", required=True, metavar="ID", help="a catalogue id")
    parser.add_argument("--trials", type=arguments.positive_int, default=6, metavar="N",
                        help="random input sets (default 6)")
    parser.add_argument("--seed", type=arguments.nonnegative_int, default=0)
    parser.set_defaults(run=run, validate=validate)


def validate(args):
    from ..formulas import FORMULAS

    if args.formula not in FORMULAS:
        return f"--formula {args.formula!r}: unknown; expected one of {', '.join(FORMULAS)}"
    path, sep, name = args.fn.rpartition(":")
    if not sep or not path or not name:
        return f"--fn {args.fn!r}: expected FILE.py:NAME"
    if not os.path.isfile(path):
        return f"--fn {args.fn!r}: no such file {path!r}"
    return None


def load_function(spec: str):
    """The function NAME defined in FILE.py (``spec`` = 'FILE.py:NAME')."""
    path, _, name = spec.rpartition(":")
    module_spec = importlib.util.spec_from_file_location("_minigrad_audit_target", path)
    if module_spec is None or module_spec.loader is None:
        raise ValueError(f"cannot load {path!r} as a Python file")
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    function = getattr(module, name, None)
    if not callable(function):
        raise TypeError(f"{path} defines no function {name!r}")
    return function


def run(args) -> int:
    from ..formula_audit import audit

    try:
        function = load_function(args.fn)
        report = audit(function, args.formula, trials=args.trials, seed=args.seed)
    except Exception as exc:  # noqa: BLE001  (the user's file: any failure is one line)
        message = " ".join(str(exc).split())
        if not isinstance(exc, (ValueError, TypeError)):
            message = f"{type(exc).__name__}: {message}"
        print(f"python -m minigrad audit: error: {message}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.ok else 1
