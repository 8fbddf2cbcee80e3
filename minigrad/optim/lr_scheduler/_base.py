"""The scheduler base class and the argument checks every schedule shares."""

from __future__ import annotations

import math
import numbers

__all__ = ["LRScheduler"]


def _check_int(owner, name, value, low):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < low:
        raise ValueError(f"{owner}: invalid {name} = {value!r}: expected an integer >= {low}")


def _check_real(owner, name, value, low=-math.inf, high=math.inf, *, low_open=False,
                high_open=False, text=None):
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and not math.isnan(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        raise ValueError(f"{owner}: invalid {name} = {value!r}: expected {text}")


class LRScheduler:
    """Base class of the schedules: ``step``, ``get_last_lr``, ``state_dict``,
    ``load_state_dict``, ``last_epoch`` and ``base_lrs``.

    A subclass implements ``get_lr()`` (the rates for epoch ``last_epoch``, PyTorch's rule) and
    ``_closed_form(t)`` (the rates at epoch t from ``base_lrs`` alone; SequentialLR uses it to
    restart a schedule at a milestone).

    ``last_epoch=-1`` starts a new schedule. Another value resumes one: the groups must then
    have ``'initial_lr'`` (restore the optimizer's state dict first).
    """

    def __init__(self, optimizer, last_epoch: int = -1):
        name = type(self).__name__
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"{name}: resuming at last_epoch={last_epoch} needs "
                                   f"'initial_lr' in param_groups[{i}]; load the optimizer's "
                                   f"state dict first, or start with last_epoch=-1")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        """The step every schedule takes when built: it sets the rates for t = 0."""
        self._step_count = 0
        self.step()

    def get_lr(self) -> list:
        """The rates for epoch ``last_epoch`` (PyTorch's rule)."""
        raise NotImplementedError

    def _closed_form(self, t: int) -> list:
        """The rates at epoch t computed from ``base_lrs`` alone."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch: t ← t + 1, then set every group's rate for epoch t."""
        self._step_count += 1
        self.last_epoch += 1
        self._set_lrs(self.get_lr())

    def _restart(self) -> None:
        """Jump back to epoch 0 with the closed-form rates there (what PyTorch's deprecated
        ``step(0)`` does; SequentialLR calls it at a milestone)."""
        self._step_count += 1
        self.last_epoch = 0
        self._set_lrs(self._closed_form(0))

    def _set_lrs(self, lrs) -> None:
        for group, lr in zip(self.optimizer.param_groups, lrs):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def get_last_lr(self) -> list:
        """The rates this scheduler last set, one per parameter group."""
        return list(self._last_lr)

    def state_dict(self) -> dict:
        """Everything but the optimizer: numbers and lists (JSON-friendly)."""
        return {key: (list(value) if isinstance(value, list) else value)
                for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore what :meth:`state_dict` returned (load the optimizer's state dict too: the
        current rates live in its groups)."""
        self.__dict__.update({key: (list(value) if isinstance(value, list) else value)
                              for key, value in state_dict.items()})

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={self.get_last_lr()})"
