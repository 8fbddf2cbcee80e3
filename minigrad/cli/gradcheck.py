"""``python -m minigrad gradcheck [--device cpu|cuda] [--cases N] [--seed S] [--second-order]
[--ops NAME ...]``: checks every op of :mod:`minigrad.op_table` against central differences in
float64 and prints one row per op (cases, worst absolute and relative error, pass/fail) and a
final count; the exit status is 1 if any op fails."""

from __future__ import annotations

import sys
import time


def add_parser(commands) -> None:
    """Register ``gradcheck`` and its flags."""
    check = commands.add_parser("gradcheck", help="check every op's gradient numerically")
    check.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    check.add_argument("--cases", type=int, default=20, help="random cases per op (default 20)")
    check.add_argument("--seed", type=int, default=0, help="seed of the case generator")
    check.add_argument("--second-order", action="store_true",
                       help="also check second derivatives (gradgradcheck)")
    check.add_argument("--ops", nargs="*", help="only these ops (names as in the table)")
    check.set_defaults(run=run, validate=validate)


def validate(args):
    """The message of a flag argparse cannot check alone, or None."""
    return "--cases must be at least 1" if args.cases < 1 else None


def run(args) -> int:
    """Check every op (or ``--ops``); exit status 1 if any fails, 2 for bad input."""
    import numpy as np

    import minigrad as mg
    from minigrad.gradcheck import check_gradients, second_order
    from minigrad.op_table import OPS, RandomDrawer

    device = mg.device(args.device)
    if device.type == "cuda" and not mg.cuda.is_available():
        print(f"gradcheck: device {device} asked for, but CuPy or a GPU is missing",
              file=sys.stderr)
        return 2
    specs = [s for s in OPS if not args.ops or s.name in args.ops]
    unknown = set(args.ops or ()) - {s.name for s in OPS}
    if unknown:
        print(f"gradcheck: unknown op(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    header = f"{'op':<20} {'order':>5} {'cases':>5} {'max abs err':>12} {'max rel err':>12}  result"
    print(f"minigrad {mg.__version__} gradcheck on {device} (float64, eps=1e-6, atol=1e-5, "
          f"rtol=1e-3)")
    print(header)
    print("-" * len(header))
    passed = failed = 0
    start = time.perf_counter()
    for spec in specs:
        orders = (1, 2) if args.second_order and spec.gradgrad else (1,)
        for order in orders:
            drawer = RandomDrawer(args.seed)
            worst_abs = worst_rel = 0.0
            failure = None
            for case in range(args.cases):
                arrays, kwargs = spec.sample(drawer)
                inputs = []
                for i, a in enumerate(arrays):
                    grad = a.dtype.kind == "f" and (spec.grad_inputs is None
                                                    or i in spec.grad_inputs)
                    inputs.append(mg.tensor(a, device=device, requires_grad=grad))
                fn = lambda *ts, kw=kwargs: spec.op(*ts, **kw)  # noqa: E731
                if order == 2:
                    fn, inputs = second_order(fn, inputs, seed=case)
                result = check_gradients(fn, inputs, seed=case)
                worst_abs = max(worst_abs, result.max_abs_error)
                worst_rel = max(worst_rel, result.max_rel_error)
                if not result.passed and failure is None:
                    failure = f"case {case} ({[np.shape(a) for a in arrays]}, {kwargs}): " \
                              f"{result.message}"
            ok = failure is None
            passed += ok
            failed += not ok
            print(f"{spec.name:<20} {order:>5} {args.cases:>5} {worst_abs:>12.2e} "
                  f"{worst_rel:>12.2e}  {'pass' if ok else 'FAIL'}")
            if failure:
                print(f"    {failure}")
    elapsed = time.perf_counter() - start
    print("-" * len(header))
    print(f"{passed} passed, {failed} failed ({passed + failed} checks, {elapsed:.1f} s)")
    return 1 if failed else 0
