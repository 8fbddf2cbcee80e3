"""Schedules that decay the rate by a factor: LambdaLR, StepLR, MultiStepLR, ExponentialLR,
LinearLR, PolynomialLR and InverseTimeDecay (a minigrad extension)."""

from __future__ import annotations

import types
from bisect import bisect_left, bisect_right

from ._base import LRScheduler, _check_int, _check_real

__all__ = [
    "ExponentialLR",
    "InverseTimeDecay",
    "LambdaLR",
    "LinearLR",
    "MultiStepLR",
    "PolynomialLR",
    "StepLR",
]


class LambdaLR(LRScheduler):
    r"""The initial rate times a factor given by a function of the epoch::

        η_t = η₀ · λ(t)

    ``lr_lambda`` is one function for every group or a list of functions, one per group.
    ``state_dict`` keeps the attributes of callable objects but not plain functions or
    lambdas (as in PyTorch): pass the same functions again when restoring.
    """

    def __init__(self, optimizer, lr_lambda, last_epoch: int = -1):
        n_groups = len(optimizer.param_groups)
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != n_groups:
                raise ValueError(f"LambdaLR: expected {n_groups} lr_lambdas (one per parameter "
                                 f"group), got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * n_groups
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"LambdaLR: lr_lambda must be callable, got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self._closed_form(self.last_epoch)

    def _closed_form(self, t):
        return [base_lr * fn(t) for base_lr, fn in zip(self.base_lrs, self.lr_lambdas)]

    def state_dict(self):
        state = {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}
        state["lr_lambdas"] = [None if isinstance(fn, types.FunctionType) else dict(fn.__dict__)
                               for fn in self.lr_lambdas]
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved_lambdas = state.pop("lr_lambdas", [])
        super().load_state_dict(state)
        for fn, saved in zip(self.lr_lambdas, saved_lambdas):
            if saved is not None:
                fn.__dict__.update(saved)


class StepLR(LRScheduler):
    r"""Multiply the rate by γ every ``step_size`` epochs::

        η_t = η₀ · γ^⌊t / step_size⌋

    Rule (PyTorch's): η_t = γ η_{t-1} when t > 0 and t is a multiple of ``step_size``, else
    η_t = η_{t-1}.
    """

    def __init__(self, optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1):
        _check_int("StepLR", "step_size", step_size, 1)
        _check_real("StepLR", "gamma", gamma, 0.0, text="a number >= 0")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _closed_form(self, t):
        return [base_lr * self.gamma ** (t // self.step_size) for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Multiply the rate by γ at each milestone epoch::

        η_t = η₀ · γ^(number of milestones ≤ t)

    Rule (PyTorch's): η_t = γ^k η_{t-1} where k is how many times t appears in ``milestones``
    (a repeated milestone decays twice), else η_t = η_{t-1}.
    """

    def __init__(self, optimizer, milestones, gamma: float = 0.1, last_epoch: int = -1):
        milestones = list(milestones)
        for m in milestones:
            _check_int("MultiStepLR", "milestone", m, 0)
        if milestones != sorted(milestones):
            raise ValueError(f"MultiStepLR: milestones must be increasing, got {milestones}")
        _check_real("MultiStepLR", "gamma", gamma, 0.0, text="a number >= 0")
        self.milestones = milestones
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        hits = (bisect_right(self.milestones, self.last_epoch)
                - bisect_left(self.milestones, self.last_epoch))
        if hits == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma ** hits for group in groups]

    def _closed_form(self, t):
        return [base_lr * self.gamma ** bisect_right(self.milestones, t)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Multiply the rate by γ every epoch: the initial rate times a decay factor per step::

        η_t = η₀ · γ^t

    Rule (PyTorch's): η_t = γ η_{t-1} for t > 0.
    """

    def __init__(self, optimizer, gamma: float, last_epoch: int = -1):
        _check_real("ExponentialLR", "gamma", gamma, 0.0, text="a number >= 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        if self.last_epoch == 0:
            return [group["lr"] for group in groups]
        return [group["lr"] * self.gamma for group in groups]

    def _closed_form(self, t):
        return [base_lr * self.gamma ** t for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Scale the rate by a factor that moves linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then stays (a warm-up with the defaults)::

        η_t = η₀ · (s + (e − s) · min(t, T) / T)        s = start_factor, e = end_factor,
                                                         T = total_iters
    Rule (PyTorch's): η_0 = s η₀; for 0 < t ≤ T,
    η_t = η_{t-1} · (1 + (e − s) / (T s + (t − 1)(e − s))) (the ratio of consecutive factors);
    for t > T, η_t = η_{t-1}.
    """

    def __init__(self, optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1):
        _check_real("LinearLR", "start_factor", start_factor, 0.0, 1.0, low_open=True,
                    text="a number in (0, 1]")
        _check_real("LinearLR", "end_factor", end_factor, 0.0, 1.0, text="a number in [0, 1]")
        _check_int("LinearLR", "total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        t, s, e, T = self.last_epoch, self.start_factor, self.end_factor, self.total_iters
        if t == 0:
            return [group["lr"] * s for group in groups]
        if t > T:
            return [group["lr"] for group in groups]
        ratio = 1 + (e - s) / (T * s + (t - 1) * (e - s))
        return [group["lr"] * ratio for group in groups]

    def _closed_form(self, t):
        s, e, T = self.start_factor, self.end_factor, self.total_iters
        factor = s + (e - s) * min(t, T) / T
        return [base_lr * factor for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay the rate to 0 over ``total_iters`` epochs as a polynomial of the remaining
    fraction, then keep it there::

        η_t = η₀ · (1 − min(t, T) / T)^p              T = total_iters, p = power

    Rule (PyTorch's): η_0 = η₀; for 0 < t ≤ T, η_t = η_{t-1} · ((1 − t/T) / (1 − (t−1)/T))^p
    (the ratio of consecutive factors); for t > T, η_t = η_{t-1}.
    """

    def __init__(self, optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1):
        _check_int("PolynomialLR", "total_iters", total_iters, 1)
        _check_real("PolynomialLR", "power", power, 0.0, text="a number >= 0")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        t, T = self.last_epoch, self.total_iters
        if t == 0 or t > T:
            return [group["lr"] for group in groups]
        ratio = ((1.0 - t / T) / (1.0 - (t - 1) / T)) ** self.power
        return [group["lr"] * ratio for group in groups]

    def _closed_form(self, t):
        factor = (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power
        return [base_lr * factor for base_lr in self.base_lrs]


class InverseTimeDecay(LRScheduler):
    r"""Inverse-time decay, the training documents' "dynamic learning rate" (a minigrad
    extension: PyTorch has no such class; ``LambdaLR(opt, lambda t: 1 / (1 + k * t))`` gives
    the same rates there)::

        η_t = η₀ / (1 + k t)

    Rule (chainable, like ExponentialLR): η_0 = η₀ and η_t = η_{t-1} · (1 + k (t−1)) / (1 + k t)
    for t > 0, so an outside change of the rate carries on.
    """

    def __init__(self, optimizer, k: float, last_epoch: int = -1):
        _check_real("InverseTimeDecay", "k", k, 0.0, text="a number >= 0")
        self.k = k
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        t, k = self.last_epoch, self.k
        if t == 0:
            return [group["lr"] for group in groups]
        ratio = (1.0 + k * (t - 1)) / (1.0 + k * t)
        return [group["lr"] * ratio for group in groups]

    def _closed_form(self, t):
        return [base_lr / (1.0 + self.k * t) for base_lr in self.base_lrs]
