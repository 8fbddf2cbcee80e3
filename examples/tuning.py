r"""Hyper-parameter search: random search, grid search, TPE and Bayesian optimization (a
Gaussian process with expected improvement) side by side, with minigrad.tune.

Part 1, Branin: the samplers minimize the Branin function (global minimum 0.397887) with
``--evals`` evaluations each, over ``--seeds`` seeds; the table gives the median best value,
its gap to the minimum and the time per study. The GP models f with a Matérn-5/2 kernel and
proposes the point of largest expected improvement

    EI(x) = (μ(x) − f* − ξ) Φ(Z) + σ(x) φ(Z),   Z = (μ(x) − f* − ξ) / σ(x)

(for the maximized s = −f), so it spends its evaluations where the model expects a better
value, while random search spends them evenly and a grid of k² points on a fixed lattice.

Part 2, a real training run: each sampler tunes the learning rate (log scale), the dropout
and the batch size of an MLP on the spirals set for ``--trials`` trials (the objective is the
validation accuracy of a ``minigrad.recipes`` run, the one ``python -m minigrad tune``
trains), and the table gives the best validation accuracy, the mean accuracy of the trials
after the shared random start-up (a model-based sampler keeps proposing good settings), the
best parameters and the variance-based importance of each parameter (``Study.importance``).

Run:

    python examples/tuning.py              # Branin: 40 evaluations, 5 seeds; spirals: 16 trials
    python examples/tuning.py --quick      # a few seconds (for the tests)
"""

from __future__ import annotations

import argparse
import statistics
import time

# _common first: it puts the minigrad of this checkout on sys.path
from _common import print_table

from minigrad import tune
from minigrad.tune.functions import BRANIN_MIN, branin_objective
from minigrad.tune.training_objective import TrainingObjective


def samplers(seed: int, grid_side: int):
    """name -> a fresh sampler for one study."""
    side = [-5 + 15 * i / (grid_side - 1) for i in range(grid_side)], \
        [15 * i / (grid_side - 1) for i in range(grid_side)]
    return {
        "random": tune.RandomSampler(seed=seed),
        f"grid {grid_side}x{grid_side}": tune.GridSampler({"x": side[0], "y": side[1]}),
        "TPE": tune.TPESampler(seed=seed),
        "TPE multivariate": tune.TPESampler(seed=seed, multivariate=True),
        "Bayesian (GP-EI)": tune.BayesianSampler(seed=seed),
    }


def part_branin(evals: int, seeds: int) -> None:
    grid_side = int(evals ** 0.5)
    results = {}
    for seed in range(seeds):
        for name, sampler in samplers(seed, grid_side).items():
            if name.startswith("grid") and seed > 0:
                continue                         # a grid does not depend on the seed
            start = time.perf_counter()
            study = tune.Study(sampler=sampler)
            study.optimize(branin_objective, evals)
            results.setdefault(name, []).append((study.best_value, time.perf_counter() - start))
    rows = []
    for name, runs in results.items():
        best = statistics.median(v for v, _ in runs)
        rows.append([name, len(runs), best, 100 * (best - BRANIN_MIN) / BRANIN_MIN,
                     statistics.median(t for _, t in runs)])
    print(f"Branin, {evals} evaluations (grid: {grid_side ** 2}), median over seeds "
          f"(minimum {BRANIN_MIN})")
    print_table(["sampler", "seeds", "median best", "gap %", "time s"], rows,
                ["", "d", ".5f", ".2f", ".2f"])


def part_training(trials: int, samples: int, epochs: int) -> None:
    space = {"lr": tune.LogUniform(1e-4, 1e-1), "dropout": tune.Uniform(0.0, 0.5),
             "batch_size": tune.Choice([16, 32, 64])}
    objective = TrainingObjective({"data": "spirals", "samples": samples, "epochs": epochs,
                                   "hidden": [32, 32], "val_fraction": 0.2}, space)
    rows = []
    startup = min(8, trials // 2)
    for name, sampler in {"random": tune.RandomSampler(seed=0),
                          "TPE": tune.TPESampler(seed=0, n_startup_trials=startup),
                          "Bayesian (GP-EI)": tune.BayesianSampler(
                              seed=0, n_startup_trials=startup)}.items():
        start = time.perf_counter()
        study = tune.Study("maximize", sampler=sampler)
        study.optimize(objective, trials)
        best = study.best_trial
        importance = study.importance()
        later = [t.value for t in study.trials[startup:] if t.value is not None]
        rows.append([name, best.value, sum(later) / max(1, len(later)), f"{best.params['lr']:.2g}",
                     f"{best.params['dropout']:.2f}", str(best.params["batch_size"]),
                     " ".join(f"{k} {v:.2f}" for k, v in importance.items()),
                     time.perf_counter() - start])
    print(f"\nspirals MLP 2-32-32-3, {samples} points, {epochs} epochs per trial, {trials} "
          f"trials: best validation accuracy")
    print(f"(the first {startup} trials are the same random draws for every sampler; 'mean after' "
          f"is the mean validation accuracy of the trials after them)")
    print_table(["sampler", "best val acc", "mean after", "lr", "dropout", "batch", "importance",
                 "time s"], rows, ["", ".4f", ".4f", "", "", "", "", ".1f"])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--evals", type=int, default=40, help="Branin evaluations (40)")
    parser.add_argument("--seeds", type=int, default=5, help="Branin seeds (5)")
    parser.add_argument("--trials", type=int, default=16, help="training trials (16)")
    parser.add_argument("--quick", action="store_true", help="a few seconds (for the tests)")
    args = parser.parse_args(argv)
    if args.quick:
        args.evals, args.seeds, args.trials = 16, 1, 6
    part_branin(args.evals, args.seeds)
    part_training(args.trials, 300 if args.quick else 1500, 3 if args.quick else 15)


if __name__ == "__main__":
    main()
