"""Schedules made of schedules: SequentialLR (one after another) and ChainedScheduler (all
at once, their factors multiplied)."""

from __future__ import annotations

from bisect import bisect_right

from ._base import LRScheduler, _check_int
from .plateau import ReduceLROnPlateau

__all__ = ["ChainedScheduler", "SequentialLR"]


def _check_children(owner, schedulers, optimizer, verb) -> None:
    """At least one scheduler, each an LRScheduler (not ReduceLROnPlateau) of ``optimizer``."""
    if not schedulers:
        raise ValueError(f"{owner}: expected at least one scheduler")
    for i, scheduler in enumerate(schedulers):
        if isinstance(scheduler, ReduceLROnPlateau):
            raise ValueError(f"{owner}: schedulers[{i}] is a ReduceLROnPlateau, which steps on "
                             f"a metric and cannot be {verb}")
        if not isinstance(scheduler, LRScheduler):
            raise TypeError(f"{owner}: schedulers[{i}] is a {type(scheduler).__name__}, not a "
                            f"scheduler")
        if scheduler.optimizer is not optimizer:
            raise ValueError(f"{owner}: schedulers[{i}] drives a different optimizer than the "
                             f"one given")


class _OfSchedulers(LRScheduler):
    """What SequentialLR and ChainedScheduler share: ``state_dict`` holds each child's."""

    def state_dict(self) -> dict:
        state = {k: v for k, v in super().state_dict().items() if k != "_schedulers"}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        if len(saved) != len(self._schedulers):
            raise ValueError(f"{type(self).__name__}.load_state_dict: the state dict has "
                             f"{len(saved)} schedulers, this one has {len(self._schedulers)}")
        super().load_state_dict(state)
        for scheduler, sub_state in zip(self._schedulers, saved):
            scheduler.load_state_dict(sub_state)


class SequentialLR(_OfSchedulers):
    r"""Run schedules one after another, switching at the milestone epochs: warm-up then
    decay, for instance::

        warmup = LinearLR(opt, start_factor=0.1, total_iters=5)
        decay = CosineAnnealingLR(opt, T_max=95)
        sched = SequentialLR(opt, [warmup, decay], milestones=[5])

    With milestones m₁ < m₂ < ..., epochs t < m₁ follow the first schedule; at t = m_i the
    (i+1)-th schedule restarts from its epoch 0 (its closed form there, from η₀) and then
    steps on its own, so for m_i ≤ t < m_{i+1} the rate is that schedule's η_{t − m_i}.

    Building it undoes the initial steps the schedules took when they were built: the rates go
    back to η₀ and only the first schedule takes its initial step.
    """

    def __init__(self, optimizer, schedulers, milestones, last_epoch: int = -1):
        schedulers = list(schedulers)
        milestones = list(milestones)
        _check_children("SequentialLR", schedulers, optimizer, "sequenced")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR: expected {len(schedulers) - 1} milestone(s) for "
                             f"{len(schedulers)} schedulers, got {len(milestones)}")
        for m in milestones:
            _check_int("SequentialLR", "milestone", m, 1)
        if any(a >= b for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"SequentialLR: milestones must be strictly increasing, "
                             f"got {milestones}")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._milestones = milestones
        self.last_epoch = last_epoch + 1
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        # undo the initial steps the schedulers took when they were built
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        for scheduler in schedulers:
            scheduler.last_epoch -= 1
        # and take the first scheduler's initial step only
        schedulers[0]._initial_step()
        self._last_lr = schedulers[0].get_last_lr()

    def step(self) -> None:
        """Advance one epoch, stepping (or, at a milestone, restarting) the current schedule."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        scheduler = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            scheduler._restart()
        else:
            scheduler.step()
        self._last_lr = scheduler.get_last_lr()



class ChainedScheduler(_OfSchedulers):
    r"""Step several schedules of one optimizer together, each ``step()`` stepping them all
    in order, so their (chainable) factors multiply: ExponentialLR(γ) chained with a LinearLR
    warm-up gives η_t = η₀ γ^t · (s + (e − s) min(t, T)/T), for instance.

    It takes no initial step of its own (each schedule took its own when built) and keeps no
    epoch count; ``get_last_lr()`` is the rates after the last schedule stepped.
    ``optimizer`` defaults to the first schedule's; all must drive the same one.
    """

    def __init__(self, schedulers, optimizer=None):
        schedulers = list(schedulers)
        if schedulers and optimizer is None:
            optimizer = getattr(schedulers[0], "optimizer", None)
        _check_children("ChainedScheduler", schedulers, optimizer, "chained")
        self.optimizer = optimizer
        self._schedulers = schedulers
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def step(self) -> None:
        """Step every schedule, in order."""
        for scheduler in self._schedulers:
            scheduler.step()
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]


    def __repr__(self):
        return f"ChainedScheduler({len(self._schedulers)} schedulers, lr={self.get_last_lr()})"
