"""The Study: a direction, a sampler, a pruner, a storage file, and ``optimize``.

``study.optimize(objective, n_trials, executor=None, batch_size=None)`` runs ``n_trials`` new
trials in batches. Trial numbers are cut into fixed batches ``[b·B, (b+1)·B)`` (B =
``batch_size``); every trial of batch b is proposed, in number order, from the same snapshot
(the trials numbered below b·B), so what a trial gets depends on the seed, its number and B,
never on which process ran it or when the others finished. The trials of a batch run on the
``executor`` (any ``concurrent.futures.Executor``: a ``ProcessPoolExecutor`` on one machine,
``mpi4py.futures.MPIPoolExecutor`` or ``dask.distributed.Client.get_executor()`` across
machines; the objective must then be picklable, e.g. a module-level function) or one after the
other in this process when it is None. With the same B, a serial study and a pooled one give
the same trials.

A study with ``storage=PATH`` appends each finished trial to PATH (see :mod:`.storage`);
created again with the same PATH it continues: ``optimize`` runs the missing numbers of the
interrupted batch first, from that batch's own snapshot, so a killed and restarted study ends
with the trials of an uninterrupted one.
"""

from __future__ import annotations

import csv
import io
import json

from ..files import atomic_write_text
from .samplers import RandomSampler
from .storage import JSONLStorage
from .trial import StudyView, Trial, TrialState, run_trial

__all__ = ["Study"]


class Study:
    """A hyper-parameter search (Optuna's ``create_study`` as a class).

    Args:
        direction: 'minimize' or 'maximize' the objective's value.
        sampler: a sampler (default ``RandomSampler()``).
        pruner: a pruner or None (no pruning).
        storage: a path: the study's JSON-lines file, read back if it exists.
    """

    def __init__(self, direction: str = "minimize", sampler=None, pruner=None, storage=None):
        if direction not in ("minimize", "maximize"):
            raise ValueError(f"Study: direction must be 'minimize' or 'maximize', got "
                             f"{direction!r}")
        self.direction = direction
        self.sampler = RandomSampler() if sampler is None else sampler
        self.pruner = pruner
        self.storage = None if storage is None else JSONLStorage(storage, direction)
        self._trials = {} if self.storage is None else {t.number: t for t in
                                                         self.storage.load()}

    # -- results --------------------------------------------------------------------------------
    @property
    def trials(self) -> list:
        """The finished trials (FrozenTrial), by number."""
        return [self._trials[n] for n in sorted(self._trials)]

    @property
    def best_trial(self):
        """The complete trial with the best value (the lowest number among equals)."""
        complete = [t for t in self.trials if t.state == TrialState.COMPLETE]
        if not complete:
            raise ValueError(f"Study.best_trial: no complete trial among {len(self._trials)} "
                             f"(states: {self._state_counts()})")
        sign = 1.0 if self.direction == "maximize" else -1.0
        return max(complete, key=lambda t: (sign * t.value, -t.number))

    @property
    def best_value(self) -> float:
        return self.best_trial.value

    @property
    def best_params(self) -> dict:
        return self.best_trial.params

    def _state_counts(self) -> dict:
        counts = {s: 0 for s in TrialState.ALL}
        for t in self._trials.values():
            counts[t.state] += 1
        return counts

    # -- running -------------------------------------------------------------------------------
    def optimize(self, objective, n_trials: int, executor=None, batch_size=None,
                 callbacks=()) -> None:
        """Run ``n_trials`` more trials of ``objective(trial) -> float``.

        ``batch_size`` (B): trials proposed from one snapshot (default 1 without an executor,
        else the executor's worker count). ``callbacks``: ``f(study, frozen_trial)`` after
        each finished trial (in the order they finish). A grid sampler stops the study when
        its grid is used up.
        """
        if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
            raise ValueError(f"Study.optimize: n_trials must be an int >= 0, got {n_trials!r}")
        size = _batch_size(batch_size, executor)
        limit = getattr(self.sampler, "max_trials", None)
        todo = []          # the trial numbers to run: the lowest ones not yet finished
        number = 0
        while len(todo) < n_trials and (limit is None or number < limit):
            if number not in self._trials:
                todo.append(number)
            number += 1
        for start in sorted({n - n % size for n in todo}):
            wanted = [n for n in todo if start <= n < start + size]
            self._run_batch(objective, start, size, wanted, executor, callbacks)

    def _run_batch(self, objective, start, size, wanted, executor, callbacks) -> None:
        view = StudyView(self.direction, tuple(t for t in self.trials if t.number < start))
        trials, pending = {}, []
        for number in range(start, start + size):   # the whole batch, for the same proposals
            relative = self.sampler.propose(view, number, pending)
            pending.append(relative)
            if number in wanted:
                trials[number] = Trial(number, view, self.sampler, self.pruner, relative)
        if executor is None:
            for number in wanted:
                self._finish(run_trial(objective, trials[number]), callbacks)
            return
        import concurrent.futures as cf

        futures = [executor.submit(run_trial, objective, trials[n]) for n in wanted]
        for future in cf.as_completed(futures):
            self._finish(future.result(), callbacks)

    def _finish(self, frozen, callbacks) -> None:
        self._trials[frozen.number] = frozen
        if self.storage is not None:
            self.storage.append(frozen)
        for callback in callbacks:
            callback(self, frozen)

    # -- analysis and files ------------------------------------------------------------------
    def importance(self, seed: int = 0) -> dict:
        """Variance-based importance of each parameter (see :func:`.sensitivity.importance`)."""
        from .sensitivity import importance
        return importance(self, seed=seed)

    def _rows(self) -> tuple:
        names = sorted({k for t in self._trials.values() for k in t.params})
        header = ["number", "state", "value"] + [f"params_{k}" for k in names] + \
            ["duration_s", "last_step", "error"]
        rows = [[t.number, t.state, "" if t.value is None else t.value] +
                [t.params.get(k, "") for k in names] +
                [round(t.duration_s, 6), "" if t.last_step is None else t.last_step,
                 t.error or ""] for t in self.trials]
        return header, rows

    def to_csv(self, path) -> None:
        """One row per trial: number, state, value, params_<name>..., duration, last step,
        error; written atomically."""
        header, rows = self._rows()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
        atomic_write_text(path, buffer.getvalue(), "Study.to_csv")

    def to_json(self, path) -> None:
        """The study (direction, best trial, every trial as a dict), written atomically."""
        try:
            best = self.best_trial.to_dict()
        except ValueError:
            best = None
        doc = {"direction": self.direction, "best_trial": best,
               "trials": [t.to_dict() for t in self.trials]}
        atomic_write_text(path, json.dumps(doc, indent=1, allow_nan=False) + "\n",
                          "Study.to_json")

    def __repr__(self) -> str:
        return (f"Study(direction={self.direction!r}, sampler={type(self.sampler).__name__}, "
                f"trials={len(self._trials)} {self._state_counts()})")


def _batch_size(batch_size, executor) -> int:
    if batch_size is None:
        if executor is None:
            return 1
        workers = getattr(executor, "_max_workers", None)   # ProcessPool/ThreadPoolExecutor
        return int(workers) if isinstance(workers, int) and workers > 0 else 4
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"Study.optimize: batch_size must be an int >= 1, got "
                         f"{batch_size!r}")
    return batch_size
