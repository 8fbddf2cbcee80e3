"""ReduceLROnPlateau: lower the rate when a validation metric stops improving."""

from __future__ import annotations

import math

from ._base import LRScheduler, _check_int, _check_real

__all__ = ["ReduceLROnPlateau"]


class ReduceLROnPlateau(LRScheduler):
    r"""Reduce the rate when a metric has stopped improving: ``step(metric)`` after each
    validation.

    With ``mode='min'`` a metric a improves on the best so far when (``threshold_mode``)::

        'rel':  a < best · (1 − threshold)          'abs':  a < best − threshold

    (``mode='max'``: a > best · (1 + threshold), a > best + threshold). Each step::

        if a improves:  best ← a, bad ← 0   else  bad ← bad + 1
        if cooldown_counter > 0:  cooldown_counter ← cooldown_counter − 1, bad ← 0
        if bad > patience:
            η ← max(η · factor, min_lr)  for each group, unless that changes η by ≤ eps
            cooldown_counter ← cooldown, bad ← 0

    So with patience p the rate drops after p + 1 epochs in a row without improvement, and
    after a drop the next ``cooldown`` epochs are not counted. Unlike the other schedules it
    takes no initial step and does not set ``initial_lr``.
    """

    def __init__(self, optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr=0.0, eps: float = 1e-8):
        name = "ReduceLROnPlateau"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got {type(optimizer).__name__}")
        if mode not in ("min", "max"):
            raise ValueError(f"{name}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{name}: threshold_mode must be 'rel' or 'abs', "
                             f"got {threshold_mode!r}")
        _check_real(name, "factor", factor, 0.0, 1.0, high_open=True, text="a number in [0, 1)")
        _check_int(name, "patience", patience, 0)
        _check_int(name, "cooldown", cooldown, 0)
        _check_real(name, "threshold", threshold, 0.0, text="a number >= 0")
        _check_real(name, "eps", eps, 0.0, text="a number >= 0")
        n_groups = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n_groups:
                raise ValueError(f"{name}: expected {n_groups} min_lr values (one per "
                                 f"parameter group), got {len(min_lr)}")
            min_lrs = list(min_lr)
        else:
            min_lrs = [min_lr] * n_groups
        for value in min_lrs:
            _check_real(name, "min_lr", value, 0.0, text="a number >= 0")
        self.optimizer = optimizer
        self.mode = mode
        self.factor = factor
        self.patience = patience
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.cooldown = cooldown
        self.min_lrs = min_lrs
        self.eps = eps
        self.last_epoch = 0
        self.best = math.inf if mode == "min" else -math.inf  # anything beats it
        self.num_bad_epochs = 0
        self.cooldown_counter = 0
        self._last_lr = [group["lr"] for group in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        """Whether metric ``a`` improves significantly on ``best``."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (1.0 + self.threshold)
        return a > best + self.threshold

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def step(self, metrics) -> None:
        """Record one epoch's metric (a number or one-element Tensor) and reduce if due."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown are not counted
        if self.num_bad_epochs > self.patience:
            self._reduce_lr()
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _reduce_lr(self) -> None:
        for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
            old_lr = float(group["lr"])
            new_lr = max(old_lr * self.factor, min_lr)   # η ← max(η · factor, min_lr)
            if old_lr - new_lr > self.eps:                # ignore changes smaller than eps
                group["lr"] = new_lr
