"""Conjugate gradient vs L-BFGS vs Adam on full-batch problems: how many function evaluations
(closure calls: one loss and one gradient each) each needs before its iterate is within 1e-6 of
the minimum, f(θ) − f* ≤ 1e-6.

    python benchmarks/optimizers_full_batch.py                 # writes the JSON below
    python benchmarks/optimizers_full_batch.py --out -         # print only

The problems are ``benchmarks/full_batch_problems.py``'s (Rosenbrock 2-d and 100-d from
(−1.2, 1, ...), an L2-regularised logistic regression). Each closure-driven optimizer runs one
iteration per ``step`` (``max_iter=1``, ``max_eval=25`` so the line search keeps its usual
budget) and f(θ) is checked after each step, outside the count. Adam gets one evaluation per
step; its learning rate is the best of a grid (the table shows which), since no single rate
suits every problem. A run that has not reached the target after ``--budget`` evaluations is
reported as not converged, with the gap it reached.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import argparse
import json
import platform

import numpy as np

import minigrad as mg
from benchmarks import full_batch_problems as problems
from minigrad import optim
from minigrad.nn import Parameter

TARGET = 1e-6
ADAM_LRS = (1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0)
OPTIMIZERS = {
    "CG Fletcher-Reeves": lambda p: optim.ConjugateGradient(p, beta="fletcher_reeves",
                                                             max_iter=1, max_eval=25),
    "CG Polak-Ribiere+": lambda p: optim.ConjugateGradient(p, beta="polak_ribiere",
                                                            max_iter=1, max_eval=25),
    "CG Hestenes-Stiefel+": lambda p: optim.ConjugateGradient(p, beta="hestenes_stiefel",
                                                               max_iter=1, max_eval=25),
    "L-BFGS strong Wolfe": lambda p: optim.LBFGS(p, max_iter=1, max_eval=25,
                                                  line_search_fn="strong_wolfe"),
    "L-BFGS no line search": lambda p: optim.LBFGS(p, max_iter=1, max_eval=25),
}


def evaluations_to_target(name, make_optimizer, budget):
    """(closure calls until f − f* ≤ TARGET or None, the best gap seen, steps)."""
    params = [Parameter(mg.tensor(v, dtype=mg.float64)) for v in problems.start(name)]
    loss_fn = problems.objective(name, mg)
    f_star = problems.minimum(name)
    opt = make_optimizer(params)
    calls = [0]

    def closure():
        calls[0] += 1
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss
    best, steps = np.inf, 0
    while calls[0] < budget:
        opt.step(closure)
        steps += 1
        with mg.no_grad():
            gap = float(loss_fn(params).item()) - f_star
        if not np.isfinite(gap):
            break
        best = min(best, gap)
        if gap <= TARGET:
            return calls[0], gap, steps
    return None, best, steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=int, default=20_000,
                        help="evaluations before giving up (default 20,000)")
    parser.add_argument("--out", default=os.path.join("benchmarks", "results",
                                                      "optimizers_full_batch.json"),
                        help="JSON file to write ('-' for none)")
    args = parser.parse_args(argv)
    rows = []
    for name in problems.PROBLEMS:
        for label, make in OPTIMIZERS.items():
            evals, gap, steps = evaluations_to_target(name, make, args.budget)
            rows.append({"problem": name, "optimizer": label, "evaluations": evals,
                         "gap": gap, "steps": steps})
        adam = []
        for lr in ADAM_LRS:
            evals, gap, steps = evaluations_to_target(
                name, lambda p, lr=lr: optim.Adam(p, lr=lr), args.budget)
            adam.append({"problem": name, "optimizer": f"Adam (lr={lr:g})", "evaluations": evals,
                         "gap": gap, "steps": steps, "lr": lr})
        reached = [r for r in adam if r["evaluations"] is not None]
        best = (min(reached, key=lambda r: r["evaluations"]) if reached
                else min(adam, key=lambda r: r["gap"]))
        best = dict(best, optimizer=f"Adam (best lr of {len(ADAM_LRS)}: {best['lr']:g})",
                    adam_grid=[{k: r[k] for k in ("lr", "evaluations", "gap")} for r in adam])
        rows.append(best)
    labels = list(OPTIMIZERS) + ["Adam"]
    print(f"function evaluations to f - f* <= {TARGET:g} (budget {args.budget:,}; "
          f"'> budget (gap)' = not reached)\n")
    print("| optimizer | " + " | ".join(problems.PROBLEMS) + " |")
    print("|---|" + "---:|" * len(problems.PROBLEMS))
    for label in labels:
        cells = []
        for name in problems.PROBLEMS:
            row = next(r for r in rows if r["problem"] == name and r["optimizer"].startswith(label))
            cell = (f"{row['evaluations']:,}" if row["evaluations"] is not None
                    else f"> {args.budget:,} ({row['gap']:.1e})")
            if label == "Adam":
                cell += f" (lr {row['lr']:g})"
            cells.append(cell)
        print(f"| {label} | " + " | ".join(cells) + " |")
    if args.out != "-":
        from minigrad.serialization import atomic_write_text
        report = {"target": TARGET, "budget": args.budget, "numpy": np.__version__,
                  "python": platform.python_version(), "rows": rows}
        atomic_write_text(args.out, json.dumps(report, indent=1) + "\n",
                          "optimizers_full_batch")
        print(f"\nwrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
