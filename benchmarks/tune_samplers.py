"""minigrad.tune's samplers on Branin (40 evaluations) and Hartmann-6 (100 evaluations):
the median over seeds of the best value found, against random search and, when Optuna
happens to be installed, Optuna's TPESampler (Optuna is never a dependency of minigrad).

    python benchmarks/tune_samplers.py                       # 20 seeds, 2 worker processes
    python benchmarks/tune_samplers.py --seeds 5 --jobs 1
    python benchmarks/tune_samplers.py --json benchmarks/results/tune_samplers.json

Each (problem, sampler, seed) is one study in a worker process (OPENBLAS_NUM_THREADS=1).
The targets (issue 13): Branin, GP median within 1% of 0.397887 and better than random;
Hartmann-6, GP median <= -3.20 and better than random and TPE; minigrad's TPE median within
5% of Optuna's TPE (5% of |Optuna's median|), compared like with like: univariate ("tpe" and
Optuna's TPESampler(multivariate=False), the paper's method) and multivariate ("tpe-mv" and
Optuna's default, multivariate since Optuna 5).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

PROBLEMS = {"branin": 40, "hartmann6": 100}
SAMPLERS = ("bayes", "tpe", "tpe-mv", "random", "optuna-tpe", "optuna-tpe-mv")


def optuna_available() -> bool:
    try:
        import optuna  # noqa: F401
    except ImportError:
        return False
    return True


def run_one(problem: str, sampler: str, seed: int) -> dict:
    from minigrad import tune
    from minigrad.tune.functions import branin_objective, hartmann6_objective

    objective = {"branin": branin_objective, "hartmann6": hartmann6_objective}[problem]
    evals = PROBLEMS[problem]
    start = time.perf_counter()
    if sampler.startswith("optuna-tpe"):
        import optuna
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        # Optuna 5's default TPE is multivariate; "optuna-tpe" is its univariate form
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(
            seed=seed, multivariate=sampler == "optuna-tpe-mv"))
        study.optimize(objective, n_trials=evals)   # the same objective: the APIs agree
        best = study.best_value
    else:
        make = {"bayes": tune.BayesianSampler, "tpe": tune.TPESampler,
                "tpe-mv": lambda seed: tune.TPESampler(seed=seed, multivariate=True),
                "random": tune.RandomSampler}[sampler]
        study = tune.Study(sampler=make(seed=seed))
        study.optimize(objective, evals)
        best = study.best_value
    return {"problem": problem, "sampler": sampler, "seed": seed, "best": best,
            "time_s": time.perf_counter() - start}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--samplers", default=",".join(SAMPLERS))
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    samplers = [s for s in args.samplers.split(",")
                if not s.startswith("optuna") or optuna_available()]
    tasks = [(p, s, seed) for p in PROBLEMS for s in samplers for seed in range(args.seeds)]
    start = time.perf_counter()
    with ProcessPoolExecutor(args.jobs) as pool:
        runs = list(pool.map(run_one, *zip(*tasks)))
    wall = time.perf_counter() - start
    summary = {}
    for p in PROBLEMS:
        for s in samplers:
            bests = [r["best"] for r in runs if r["problem"] == p and r["sampler"] == s]
            times = [r["time_s"] for r in runs if r["problem"] == p and r["sampler"] == s]
            summary.setdefault(p, {})[s] = {"median_best": statistics.median(bests),
                                            "median_time_s": statistics.median(times)}
    from minigrad.tune.functions import BRANIN_MIN

    def best(problem, sampler):
        return summary[problem][sampler]["median_best"]

    checks = {
        "branin_gp_within_1pct": (("bayes",), lambda: best("branin", "bayes") <= BRANIN_MIN * 1.01),
        "branin_gp_better_than_random": (("bayes", "random"), lambda: best(
            "branin", "bayes") < best("branin", "random")),
        "hartmann6_gp_le_-3.20": (("bayes",), lambda: best("hartmann6", "bayes") <= -3.20),
        "hartmann6_gp_better_than_random_and_tpe": (("bayes", "random", "tpe"), lambda: best(
            "hartmann6", "bayes") < min(best("hartmann6", "random"), best("hartmann6", "tpe"))),
    }
    for p in PROBLEMS:   # within 5% of |Optuna's median| (lower is better), like with like
        for ours, theirs in (("tpe", "optuna-tpe"), ("tpe-mv", "optuna-tpe-mv")):
            checks[f"{p}_{ours}_within_5pct_of_{theirs}"] = ((ours, theirs), lambda p=p, a=ours,
                b=theirs: best(p, a) - best(p, b) <= 0.05 * abs(best(p, b)))
    goals = {name: bool(check()) for name, (needs, check) in checks.items()
             if all(n in samplers for n in needs)}
    for p in PROBLEMS:
        print(f"{p} ({PROBLEMS[p]} evaluations), median over {args.seeds} seeds")
        for s in samplers:
            r = summary[p][s]
            print(f"  {s:<13} best {r['median_best']:10.5f}   {r['median_time_s']:7.2f} s/study")
    for goal, ok in goals.items():
        print(f"{'PASS' if ok else 'FAIL'}  {goal}")
    print(f"wall {wall:.0f} s, {args.jobs} processes")
    if args.json:
        doc = {"command": "python benchmarks/tune_samplers.py " + " ".join(argv or sys.argv[1:]),
               "seeds": args.seeds, "summary": summary, "goals": goals, "runs": runs,
               "wall_s": wall}
        with open(args.json + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
