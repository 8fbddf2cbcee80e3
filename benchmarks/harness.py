"""The pieces every workload shares: the registry, the timing helper, peak memory, the check.

A workload is registered once with one builder per engine. A builder takes the workload's
``config`` as keyword arguments, does all set-up (data, weights, buffers) and returns a
:class:`Case`: ``step()`` is the thing timed, ``snapshot()`` what the agreement check compares.
Builders import their engine's library themselves, so a worker process holds only the library
it measures (this matters for the peak-memory figure).
"""

from __future__ import annotations

import importlib.util
import os
import resource
import sys
import time
from dataclasses import dataclass, field, replace
from typing import Callable

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Engine name -> the module that must be importable for it to run.
ENGINES = {"numpy": "numpy", "minigrad": "minigrad", "torch": "torch"}


def engine_available(engine: str) -> bool:
    """Whether the engine's library can be imported (checked without importing it)."""
    return importlib.util.find_spec(ENGINES[engine]) is not None


@dataclass(frozen=True)
class Timing:
    """How a worker times one workload: ``warmup`` untimed calls, then timed calls until at
    least ``min_reps`` calls and ``seconds`` of timed work (at most ``max_reps`` calls)."""

    warmup: int
    min_reps: int
    seconds: float
    max_reps: int = 100_000

    def quick(self) -> "Timing":
        """A much shorter budget, for smoke runs (``--quick``)."""
        return replace(self, warmup=min(self.warmup, 2), min_reps=max(2, self.min_reps // 4),
                       seconds=min(self.seconds, 0.25))


@dataclass(frozen=True)
class Goal:
    """A target: minigrad ≤ ``ratio`` × the ``ref`` engine's median, or, with ``plus``,
    minigrad ≤ the ``ref`` median + ``plus`` (seconds, or MB for memory)."""

    ref: str
    ratio: float | None = None
    plus: float | None = None

    def met(self, minigrad: float, ref: float) -> bool:
        if self.plus is not None:
            return minigrad <= ref + self.plus
        return minigrad <= self.ratio * ref

    def describe(self, scale: float = 1.0, unit: str = "") -> str:
        if self.plus is not None:
            return f"<= {self.ref} + {self.plus * scale:g} {unit}".rstrip()
        return f"<= {self.ratio:g} x {self.ref}"


@dataclass
class Case:
    """One engine's set-up workload: ``step()`` runs one timed call; ``snapshot()`` returns
    the arrays the agreement check compares (loss, updated weights, gradients)."""

    step: Callable[[], object]
    snapshot: Callable[[], dict] | None = None


@dataclass
class Workload:
    """A benchmark: what one timed call does, per engine.

    ``calls_per_unit`` converts a call's time into the reported unit (1000 for "time per op"
    when one call runs 1000 ops). ``display`` is the unit the table prints ("ms", "us").
    ``memory_goal`` marks the workload whose peak RSS is reported with a goal.
    """

    name: str
    description: str
    per: str
    engines: dict[str, Callable[..., Case]]
    timing: Timing
    config: dict = field(default_factory=dict)
    calls_per_unit: int = 1
    display: str = "ms"
    goal: Goal | None = None
    memory_goal: Goal | None = None
    check_rtol: float = 1e-4

    def build(self, engine: str, **overrides) -> Case:
        """Set up ``engine``'s version of this workload (config entries may be overridden)."""
        return self.engines[engine](**{**self.config, **overrides})


WORKLOADS: dict[str, Workload] = {}


def register(workload: Workload) -> Workload:
    """Add a workload to the registry (the order of registration is the order of the table)."""
    if workload.name in WORKLOADS:
        raise ValueError(f"workload {workload.name!r} registered twice")
    unknown = set(workload.engines) - set(ENGINES)
    if unknown:
        raise ValueError(f"workload {workload.name!r}: unknown engines {sorted(unknown)}")
    WORKLOADS[workload.name] = workload
    return workload


def time_calls(fn: Callable[[], object], timing: Timing) -> list[float]:
    """Seconds taken by each timed call of ``fn``, after ``timing.warmup`` untimed calls."""
    for _ in range(timing.warmup):
        fn()
    clock = time.perf_counter
    times = []
    start = clock()
    while len(times) < timing.min_reps or (
            clock() - start < timing.seconds and len(times) < timing.max_reps):
        t0 = clock()
        fn()
        times.append(clock() - t0)
    return times


def peak_rss_mb() -> float:
    """The largest resident set size this process has had, in MB (2^20 bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes vs KiB


# ---------------------------------------------------------------------------------------------
# The agreement check: do the engines compute the same thing?


def _worst_error(ref: np.ndarray, other: np.ndarray) -> float:
    """max |other - ref| relative to max |ref| (absolute when ref is all zeros)."""
    ref = np.asarray(ref, dtype=np.float64)
    other = np.asarray(other, dtype=np.float64)
    if ref.shape != other.shape:
        return float("inf")
    scale = float(np.abs(ref).max()) if ref.size else 0.0
    diff = float(np.abs(other - ref).max()) if ref.size else 0.0
    return diff / scale if scale > 0 else diff


def check_workload(name: str, engines=("numpy", "minigrad"), **overrides) -> list[tuple]:
    """Run one step of each engine from the same start and compare with the first engine.

    Compares every array the snapshot returns after the step (loss, updated weights,
    gradients), and for arrays present before the step too (weights), the change the step
    made: with a small learning rate the updated weights barely differ from the initial ones,
    so comparing the change is what really tests the gradients.
    Returns rows ``(engine, key, worst relative error, ok)``.
    """
    workload = WORKLOADS[name]
    results = {}
    for engine in engines:
        case = workload.build(engine, **overrides)
        if case.snapshot is None:  # nothing to compare (the import workload)
            return []
        before = {k: np.array(v, copy=True) for k, v in case.snapshot().items()}
        case.step()
        after = case.snapshot()
        results[engine] = before, after
    ref_before, ref_after = results[engines[0]]
    rows = []
    for engine in engines[1:]:
        before, after = results[engine]
        for key, ref in ref_after.items():
            err = _worst_error(ref, after[key]) if key in after else float("inf")
            rows.append((engine, key, err, err <= workload.check_rtol))
            if key in ref_before and key in before:
                err = _worst_error(ref - ref_before[key], after[key] - before[key])
                rows.append((engine, f"{key} step", err, err <= 1e-3))
    return rows
