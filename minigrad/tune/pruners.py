r"""Pruners: stop unpromising trials early from their intermediate values.

A pruner answers ``prune(view, trial) -> bool`` at the trial's last reported step, comparing it
with the finished trials of the study's snapshot ``view`` (the same in every process, so a
pooled study prunes as a serial one). Steps count a resource such as epochs.

MedianPruner (Optuna's rule; Golovin et al. 2017, "median stopping"): at step t, prune when
the trial's best intermediate value so far is worse than the median of the complete trials'
values at step t; never before ``n_startup_trials`` complete trials, before step
``n_warmup_steps``, off the ``interval_steps`` grid, or with fewer than ``n_min_trials``
values at t. A trial whose values are all NaN is pruned.

SuccessiveHalvingPruner (asynchronous successive halving, Li et al. 2020 "ASHA", as Optuna's):
rung k sits at the resource r_k = r_min · η^(s + k) (r_min = ``min_resource``, η =
``reduction_factor``, s = ``min_early_stopping_rate``). A trial's value at rung k is its
intermediate value at its first step ≥ r_k. On reaching a rung, the trial competes with every
trial of the snapshot that reached it (any state): with the m values there (its own included)
sorted best first, it continues only if its value is at least as good as the
max(⌊m / η⌋, 1)-th; otherwise it is pruned. About one in η trials goes on to each next rung.
With ``max_resource`` R, rungs at r_k ≥ R are not checked: a trial that reached R is done.

Hyperband (Li et al. 2017, "Hyperband: A Novel Bandit-Based Approach to Hyperparameter
Optimization", in the asynchronous form of Optuna's HyperbandPruner): brackets
b = 0 .. s_max, s_max = ⌊log_η(R / r_min)⌋ (R = ``max_resource``); bracket b is successive
halving with early-stopping rate b, against the trials of its own bracket only (rungs below
R), so bracket 0 prunes most aggressively and bracket s_max trains every trial to R. Hedging
over b is Hyperband's answer to not knowing how early the curves can be trusted. Trials are
dealt to the brackets in Li et al.'s proportions, n_b = ⌈(s_max + 1) η^s / (s + 1)⌉ with
s = s_max − b (the aggressive brackets start more trials, so each bracket spends about the
same budget): trial n goes to entry n mod Σ n_b of a fixed cycle in which bracket b appears
n_b times, spread evenly. (The sampler sees all trials, not only its bracket's.)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["MedianPruner", "SuccessiveHalvingPruner", "Hyperband", "NopPruner"]


def _check_int(owner, name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{owner}: {name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def _is_better_or_equal(a: float, b: float, direction: str) -> bool:
    return a >= b if direction == "maximize" else a <= b


class NopPruner:
    """Never prunes."""

    def prune(self, view, trial) -> bool:
        return False


class MedianPruner:
    """The median stopping rule (module docstring), Optuna's defaults."""

    def __init__(self, n_startup_trials: int = 5, n_warmup_steps: int = 0,
                 interval_steps: int = 1, n_min_trials: int = 1):
        self.n_startup_trials = _check_int("MedianPruner", "n_startup_trials",
                                           n_startup_trials, 0)
        self.n_warmup_steps = _check_int("MedianPruner", "n_warmup_steps", n_warmup_steps, 0)
        self.interval_steps = _check_int("MedianPruner", "interval_steps", interval_steps, 1)
        self.n_min_trials = _check_int("MedianPruner", "n_min_trials", n_min_trials, 1)

    def prune(self, view, trial) -> bool:
        step = trial.last_step
        complete = view.complete()
        if step is None or len(complete) < self.n_startup_trials:
            return False
        if step < self.n_warmup_steps or (step - self.n_warmup_steps) % self.interval_steps:
            return False
        others = [t.intermediate_values[step] for t in complete
                  if step in t.intermediate_values and not math.isnan(t.intermediate_values[step])]
        if len(others) < self.n_min_trials:
            return False
        own = [v for v in trial.intermediate_values.values() if not math.isnan(v)]
        if not own:
            return True
        best = max(own) if view.direction == "maximize" else min(own)
        return not _is_better_or_equal(best, float(np.median(others)), view.direction)


def value_at_resource(intermediate_values: dict, resource: float):
    """The value at the first reported step ≥ ``resource`` (None if none reached it)."""
    steps = [s for s in intermediate_values if s >= resource]
    return intermediate_values[min(steps)] if steps else None


class SuccessiveHalvingPruner:
    """Asynchronous successive halving (module docstring); Optuna's defaults except
    ``min_resource`` (an int here, default 1, instead of 'auto')."""

    def __init__(self, min_resource: int = 1, reduction_factor: int = 4,
                 min_early_stopping_rate: int = 0, max_resource=None):
        self.min_resource = _check_int("SuccessiveHalvingPruner", "min_resource",
                                       min_resource, 1)
        self.reduction_factor = _check_int("SuccessiveHalvingPruner", "reduction_factor",
                                           reduction_factor, 2)
        self.min_early_stopping_rate = _check_int("SuccessiveHalvingPruner",
                                                  "min_early_stopping_rate",
                                                  min_early_stopping_rate, 0)
        self.max_resource = None if max_resource is None else _check_int(
            "SuccessiveHalvingPruner", "max_resource", max_resource, 1)

    def rung_resource(self, k: int) -> int:
        """r_k = r_min · η^(s + k)."""
        return self.min_resource * self.reduction_factor ** (self.min_early_stopping_rate + k)

    def prune(self, view, trial, competitors=None) -> bool:
        step = trial.last_step
        if step is None:
            return False
        competitors = view.trials if competitors is None else competitors
        k = 0
        while self.rung_resource(k) <= step and (self.max_resource is None or
                                                 self.rung_resource(k) < self.max_resource):
            resource = self.rung_resource(k)
            own = value_at_resource(trial.intermediate_values, resource)
            if own is None or math.isnan(own):
                return True
            values = [v for t in competitors
                      if (v := value_at_resource(t.intermediate_values, resource)) is not None
                      and not math.isnan(v)] + [own]
            values.sort(reverse=view.direction == "maximize")
            threshold = values[max(len(values) // self.reduction_factor, 1) - 1]
            if not _is_better_or_equal(own, threshold, view.direction):
                return True
            k += 1
        return False


class Hyperband:
    """Hyperband over successive-halving brackets (module docstring)."""

    def __init__(self, min_resource: int = 1, max_resource: int = 81,
                 reduction_factor: int = 3):
        self.min_resource = _check_int("Hyperband", "min_resource", min_resource, 1)
        self.max_resource = _check_int("Hyperband", "max_resource", max_resource, 1)
        self.reduction_factor = _check_int("Hyperband", "reduction_factor", reduction_factor, 2)
        if self.max_resource < self.min_resource:
            raise ValueError(f"Hyperband: max_resource ({max_resource}) must be >= "
                             f"min_resource ({min_resource})")
        ratio, s_max = self.max_resource / self.min_resource, 0
        while self.reduction_factor ** (s_max + 1) <= ratio:   # ⌊log_η ratio⌋ in integers
            s_max += 1
        self.n_brackets = s_max + 1
        s_max = self.n_brackets - 1
        shares = [math.ceil((s_max + 1) * self.reduction_factor ** (s_max - b) / (s_max - b + 1))
                  for b in range(self.n_brackets)]
        # the cycle: bracket b's i-th entry at position (i + ½) / n_b, sorted (ties: lower b)
        self.cycle = [b for _, b in sorted(((i + 0.5) / n, b) for b, n in enumerate(shares)
                                           for i in range(n))]
        self.brackets = [SuccessiveHalvingPruner(self.min_resource, self.reduction_factor, b,
                                                 max_resource=self.max_resource)
                         for b in range(self.n_brackets)]

    def bracket_of(self, number: int) -> int:
        return self.cycle[number % len(self.cycle)]

    def prune(self, view, trial) -> bool:
        b = self.bracket_of(trial.number)
        same = [t for t in view.trials if self.bracket_of(t.number) == b]
        return self.brackets[b].prune(view, trial, competitors=same)


