"""Hyperband against full-length random search on MNIST: an MLP's learning rate (log scale),
batch size and dropout, 24 trials each, scored by validation accuracy (a 10% split of the
training set), through minigrad.tune.TrainingObjective (the runs of ``python -m minigrad
tune``).

    python benchmarks/tune_mnist_hyperband.py --data-dir DIR --json benchmarks/results/tune_mnist_hyperband.json

Study A: RandomSampler, no pruner, every trial trains all --epochs. Study B: TPESampler with
Hyperband(min_resource=1, max_resource=epochs, reduction_factor=3). Target (issue 13): B's best
validation accuracy >= A's, with <= 40% of A's epochs. Trials run --jobs at a time
(ProcessPoolExecutor, batch size --jobs), OPENBLAS_NUM_THREADS=1 in each worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_study(name, sampler, pruner, objective, trials, jobs):
    from minigrad import tune

    study = tune.Study("maximize", sampler=sampler, pruner=pruner)
    start = time.perf_counter()

    def report(study, t):
        value = "" if t.value is None else f" {t.value:.4f}"
        print(f"  {name} trial {t.number:2d} {t.state}{value} after "
              f"{len(t.intermediate_values)} epochs {t.params}", flush=True)

    with ProcessPoolExecutor(jobs) as pool:
        study.optimize(objective, trials, executor=pool, batch_size=jobs, callbacks=[report])
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    return {"best_val_accuracy": study.best_value, "best_params": study.best_params,
            "epochs": epochs, "wall_s": time.perf_counter() - start,
            "states": [t.state for t in study.trials]}


def main(argv=None):
    from minigrad import tune
    from minigrad.tune.training_objective import TrainingObjective

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"))
    parser.add_argument("--trials", type=int, default=24)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--hidden", default="256,128")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)
    space = {"lr": tune.LogUniform(1e-4, 1e-1), "batch_size": tune.Choice([32, 64, 128]),
             "dropout": tune.Uniform(0.0, 0.5)}
    settings = {"data": "mnist", "data_dir": args.data_dir, "model": "mlp",
                "hidden": [int(h) for h in args.hidden.split(",")], "epochs": args.epochs,
                "val_fraction": 0.1, "limit": args.limit}
    objective = TrainingObjective(settings, space)
    results = {
        "random_full": run_study("random", tune.RandomSampler(seed=0), None, objective,
                                 args.trials, args.jobs),
        "tpe_hyperband": run_study("hyperband", tune.TPESampler(seed=0),
                                   tune.Hyperband(1, args.epochs, 3), objective, args.trials,
                                   args.jobs),
    }
    a, b = results["random_full"], results["tpe_hyperband"]
    goals = {"hyperband_best_ge_random_best": b["best_val_accuracy"] >= a["best_val_accuracy"],
             "hyperband_epochs_le_40pct": b["epochs"] <= 0.4 * a["epochs"]}
    for name, r in results.items():
        print(f"{name}: best val accuracy {r['best_val_accuracy']:.4f} {r['best_params']}, "
              f"{r['epochs']} epochs, {r['wall_s']:.0f} s")
    print(f"epochs ratio {b['epochs'] / a['epochs']:.2f}")
    for goal, ok in goals.items():
        print(f"{'PASS' if ok else 'FAIL'}  {goal}")
    if args.json:
        doc = {"command": "python benchmarks/tune_mnist_hyperband.py " +
                          " ".join(argv or sys.argv[1:]), "settings": settings,
               "results": results, "goals": goals}
        with open(args.json + ".tmp", "w") as f:
            json.dump(doc, f, indent=1)
        os.replace(args.json + ".tmp", args.json)


if __name__ == "__main__":
    main()
