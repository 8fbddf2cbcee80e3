"""Hyper-parameter search and model selection (``minigrad.tune``), on NumPy alone.

Optuna's define-by-run API: an objective ``objective(trial)`` asks ``trial.suggest_float/
suggest_int/suggest_categorical`` for its hyper-parameters; a :class:`Study` with a sampler
(grid, random, Bayesian GP, TPE), a pruner (median, successive halving, Hyperband) and an
optional JSON-lines storage runs it on any ``concurrent.futures.Executor``. Model selection:
``cross_validate``, ``Study.importance`` and ``sweep``.

    spaces.py         Uniform, LogUniform, IntUniform, Choice (a list is a grid)
    trial.py          Trial, FixedTrial, FrozenTrial, TrialState, TrialPruned
    study.py          Study: optimize in fixed batches, best_trial, to_csv / to_json
    storage.py        the durable JSON-lines file of a study
    samplers/         GridSampler, RandomSampler, BayesianSampler (+ gaussian_process), TPESampler
    pruners.py        MedianPruner, SuccessiveHalvingPruner, Hyperband
    sensitivity.py    importance (variance-based, on a GP surrogate) and sweep
    functions.py      Branin and Hartmann-6 (benchmark objectives)
    training_objective.py  one train-command run per trial (python -m minigrad tune)
    selection.py      cross_validate

``SparkExecutor`` (trials as Spark tasks) is minigrad.spark's, exported here lazily: importing
minigrad.tune imports no pyspark.
"""

from .pruners import Hyperband, MedianPruner, NopPruner, SuccessiveHalvingPruner
from .samplers import BaseSampler, BayesianSampler, GridSampler, RandomSampler, TPESampler
from .selection import cross_validate
from .sensitivity import importance, sweep
from .spaces import Choice, Distribution, IntUniform, LogUniform, Uniform
from .study import Study
from .trial import FixedTrial, FrozenTrial, Trial, TrialPruned, TrialState

__all__ = ["Uniform", "LogUniform", "IntUniform", "Choice", "Distribution", "Trial",
           "FixedTrial", "FrozenTrial", "TrialState", "TrialPruned", "Study", "BaseSampler",
           "GridSampler", "RandomSampler", "BayesianSampler", "TPESampler", "MedianPruner",
           "SuccessiveHalvingPruner", "Hyperband", "NopPruner", "importance", "sweep",
           "cross_validate"]


def __getattr__(name):
    if name == "SparkExecutor":      # lazily: pyspark is an optional extra
        from ..spark.executor import SparkExecutor
        return SparkExecutor
    raise AttributeError(f"module 'minigrad.tune' has no attribute {name!r}")
