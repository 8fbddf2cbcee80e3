"""Trials: the define-by-run ``Trial`` an objective asks for its hyper-parameters, the
``FrozenTrial`` record of a finished one, and the states a trial ends in.

An objective ``objective(trial) -> float`` calls ``trial.suggest_float/suggest_int/
suggest_categorical`` (Optuna's names and semantics: asking the same name again returns the
same value), may ``trial.report(value, step)`` intermediate values and ask
``trial.should_prune()``, and raises :class:`TrialPruned` to stop early. Whatever the objective
does, the trial ends in one of three states, and the study goes on:

    complete   it returned a finite number (the trial's value)
    pruned     it raised TrialPruned (its value is None; its intermediate values are kept)
    failed     it raised any other exception, or returned NaN, ±inf or a non-number: the
               error ("TypeName: message") is recorded with the trial
"""

from __future__ import annotations

import math
import time
import traceback
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from .spaces import IntUniform, LogUniform, Uniform, as_distribution, distribution_from_dict

__all__ = ["TrialState", "TrialPruned", "FrozenTrial", "Trial", "FixedTrial", "StudyView",
           "run_trial"]


class TrialState:
    """The states of a finished trial (strings, as written to the storage file)."""
    COMPLETE = "complete"
    PRUNED = "pruned"
    FAILED = "failed"
    ALL = (COMPLETE, PRUNED, FAILED)


class TrialPruned(Exception):
    """Raised by an objective (after ``trial.should_prune()`` said so) to stop its trial."""


class StudyView(NamedTuple):
    """What samplers and pruners see of a study: its direction and the finished trials that
    precede the current batch (a fixed snapshot, the same in every process)."""
    direction: str
    trials: tuple

    def complete(self) -> list:
        return [t for t in self.trials if t.state == TrialState.COMPLETE]

    def sign(self) -> float:
        """+1 to maximize, −1 to minimize: ``sign · value`` is always to be maximized."""
        return 1.0 if self.direction == "maximize" else -1.0


@dataclass
class FrozenTrial:
    """A finished trial: number, state, value (None unless complete), params and their
    distributions, intermediate values by step, the error of a failed trial, its duration."""
    number: int
    state: str
    value: object = None
    params: dict = field(default_factory=dict)
    distributions: dict = field(default_factory=dict)
    intermediate_values: dict = field(default_factory=dict)
    error: object = None
    duration_s: float = 0.0

    @property
    def last_step(self):
        return max(self.intermediate_values) if self.intermediate_values else None

    def to_dict(self) -> dict:
        return {"number": self.number, "state": self.state, "value": self.value,
                "params": dict(self.params),
                "distributions": {k: d.to_dict() for k, d in self.distributions.items()},
                "intermediate_values": {str(k): v for k, v in
                                        sorted(self.intermediate_values.items())},
                "error": self.error, "duration_s": self.duration_s}

    @classmethod
    def from_dict(cls, d: dict) -> FrozenTrial:
        if d.get("state") not in TrialState.ALL:
            raise ValueError(f"FrozenTrial: unknown state {d.get('state')!r} in {d!r}")
        return cls(number=int(d["number"]), state=d["state"], value=d.get("value"),
                   params=dict(d.get("params", {})),
                   distributions={k: distribution_from_dict(v)
                                  for k, v in d.get("distributions", {}).items()},
                   intermediate_values={int(k): v for k, v in
                                        d.get("intermediate_values", {}).items()},
                   error=d.get("error"), duration_s=float(d.get("duration_s", 0.0)))


def trial_seed(seed: int, number: int, stream: int) -> np.random.Generator:
    """The generator of one trial's draws: a function of (sampler seed, trial number, stream)
    only, so a trial draws the same values in any process and after a resume."""
    return np.random.default_rng([seed, number, stream])


class Trial:
    """The trial an objective receives (define-by-run): ``number``, ``params`` so far, and
    the ``suggest_*``, ``report`` and ``should_prune`` methods.

    Values come from ``relative`` (the sampler's joint proposal for the parameters it knew
    before the trial started) when the asked distribution contains them, otherwise from
    ``sampler.sample_independent``. Intermediate values go to the pruner, which compares them
    with the study's snapshot ``view``.
    """

    def __init__(self, number: int, view: StudyView, sampler, pruner=None, relative=None):
        self.number = number
        self.view = view
        self.sampler = sampler
        self.pruner = pruner
        self.relative = dict(relative or {})
        self.params: dict = {}
        self.distributions: dict = {}
        self.intermediate_values: dict = {}
        self.rng = trial_seed(sampler.seed, number, 0)

    # -- suggestions --------------------------------------------------------------------------
    def suggest(self, name: str, space):
        """The value of ``name`` drawn from ``space`` (a Distribution or a list of values)."""
        if not isinstance(name, str) or not name:
            raise ValueError(f"Trial.suggest: a parameter name must be a non-empty string, "
                             f"got {name!r}")
        dist = as_distribution(space, name)
        if name in self.params:
            if self.distributions[name] != dist:
                raise ValueError(f"Trial.suggest: {name!r} was suggested from "
                                 f"{self.distributions[name]!r}, now from {dist!r}")
            return self.params[name]
        if name in self.relative and dist.contains(self.relative[name]):
            value = self.relative[name]
        else:
            value = self.sampler.sample_independent(self.view, self, name, dist)
        self.params[name] = value
        self.distributions[name] = dist
        return value

    def suggest_float(self, name: str, low, high, log: bool = False) -> float:
        """A float in [low, high], uniform or (``log=True``) log-uniform."""
        return self.suggest(name, LogUniform(low, high) if log else Uniform(low, high))

    def suggest_int(self, name: str, low, high, log: bool = False) -> int:
        """An integer in low..high (both included), uniform or log-uniform."""
        return self.suggest(name, IntUniform(low, high, log=log))

    def suggest_categorical(self, name: str, choices):
        """One of ``choices``."""
        return self.suggest(name, list(choices))

    # -- intermediate values and pruning -------------------------------------------------------
    def report(self, value, step: int) -> None:
        """Record the intermediate ``value`` at ``step`` (an int >= 0; a step reported twice
        keeps its first value, as Optuna does)."""
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"Trial.report: step must be an int >= 0, got {step!r}")
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"Trial.report: value must be a number, got {value!r}") from None
        self.intermediate_values.setdefault(int(step), value)

    def should_prune(self) -> bool:
        """Whether the pruner stops this trial at its last reported step (False without a
        pruner or a report)."""
        if self.pruner is None or not self.intermediate_values:
            return False
        return bool(self.pruner.prune(self.view, self))

    @property
    def last_step(self):
        return max(self.intermediate_values) if self.intermediate_values else None


class _FixedSampler:
    """The 'sampler' of a FixedTrial: every parameter must be given."""
    seed = 0

    def __init__(self, params):
        self.params = params

    def sample_independent(self, view, trial, name, dist):
        raise ValueError(f"FixedTrial: no value given for {name!r} (given: "
                         f"{sorted(self.params)})")


class FixedTrial(Trial):
    """A trial whose parameters are given (``tune.sweep`` and re-running a best trial): each
    ``suggest_*`` returns ``params[name]``, checked against the asked distribution."""

    def __init__(self, params: dict, number: int = 0):
        super().__init__(number, StudyView("minimize", ()), _FixedSampler(params),
                         relative=params)
        self.fixed = dict(params)

    def suggest(self, name, space):
        dist = as_distribution(space, name)
        if name in self.fixed and not dist.contains(self.fixed[name]):
            raise ValueError(f"FixedTrial: {name}={self.fixed[name]!r} is outside {dist!r}")
        return super().suggest(name, dist)


def _as_value(result):
    """The objective's result as a finite float, or the reason it is not one."""
    if isinstance(result, bool) or not isinstance(result, (int, float, np.number)) or \
            (isinstance(result, np.ndarray) and result.size != 1):
        return None, (f"ValueError: the objective returned {result!r} of type "
                      f"{type(result).__name__}, not a number")
    value = float(result)
    if not math.isfinite(value):
        return None, f"ValueError: the objective returned {value!r}, not a finite number"
    return value, None


def run_trial(objective, trial: Trial) -> FrozenTrial:
    """Run ``objective(trial)`` and record how it ended; never raises for the objective's
    errors (KeyboardInterrupt and SystemExit still stop the study)."""
    start = time.perf_counter()
    value, state, error = None, TrialState.COMPLETE, None
    try:
        value, error = _as_value(objective(trial))
        if error is not None:
            state = TrialState.FAILED
    except TrialPruned:
        state = TrialState.PRUNED
    except Exception as exc:  # a failed trial is recorded; the study goes on
        state = TrialState.FAILED
        where = traceback.extract_tb(exc.__traceback__)[-1]
        error = f"{type(exc).__name__}: {exc} (at {where.filename}:{where.lineno})"
    return FrozenTrial(number=trial.number, state=state, value=value,
                       params=dict(trial.params), distributions=dict(trial.distributions),
                       intermediate_values=dict(trial.intermediate_values), error=error,
                       duration_s=time.perf_counter() - start)
