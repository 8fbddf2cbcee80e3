"""Cosine schedules: CosineAnnealingLR and CosineAnnealingWarmRestarts (SGDR)."""

from __future__ import annotations

import math

from ._base import LRScheduler, _check_int, _check_real

__all__ = ["CosineAnnealingLR", "CosineAnnealingWarmRestarts"]


class CosineAnnealingLR(LRScheduler):
    r"""Cosine annealing from η₀ down to ``eta_min`` over ``T_max`` epochs (SGDR, without
    restarts)::

        η_t = η_min + (η₀ − η_min) · (1 + cos(π t / T_max)) / 2

    Past T_max the cosine carries on, so the rate climbs back up over the next T_max epochs.

    Rule (PyTorch's, recursive, so that outside changes to the rate carry on)::

        η_t = η_min + (η_{t-1} − η_min) · (1 + cos(π t / T_max)) / (1 + cos(π (t−1) / T_max))

    except where the denominator is zero (t − 1 = T_max, 3 T_max, ...: η_{t-1} = η_min there),
    where η_t = η_{t-1} + (η₀ − η_min)(1 − cos(π / T_max)) / 2. A scheduler resumed with
    ``last_epoch > 0`` takes its first rate from the closed form. Untouched, the recursion
    equals the closed form.
    """

    def __init__(self, optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1):
        _check_int("CosineAnnealingLR", "T_max", T_max, 1)
        _check_real("CosineAnnealingLR", "eta_min", eta_min, 0.0, text="a number >= 0")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        groups = self.optimizer.param_groups
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if t == 0:
            return [group["lr"] for group in groups]
        if self._step_count == 1 and t > 0:
            return self._closed_form(t)
        if (t - 1 - T) % (2 * T) == 0:
            rise = (1 - math.cos(math.pi / T)) / 2
            return [group["lr"] + (base_lr - eta_min) * rise
                    for group, base_lr in zip(groups, self.base_lrs)]
        ratio = (1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
        return [eta_min + (group["lr"] - eta_min) * ratio for group in groups]

    def _closed_form(self, t):
        cosine = (1 + math.cos(math.pi * t / self.T_max)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov and Hutter, 2017)::

        η_t = η_min + (η₀ − η_min) · (1 + cos(π T_cur / T_i)) / 2

    where T_cur counts the epochs since the last restart and T_i is the length of the current
    cycle: T_0 first, then each cycle ``T_mult`` times longer. At a restart (T_cur reaching
    T_i) the rate jumps back to η₀.

    ``step()`` advances one epoch (T_cur ← T_cur + 1; at T_cur ≥ T_i: T_cur ← T_cur − T_i,
    T_i ← T_mult T_i). ``step(epoch)`` jumps to any epoch, fractional ones included (call
    ``step(epoch + i / iters_per_epoch)`` within an epoch): for epoch ≥ T_0, with T_mult = 1,
    T_cur = epoch mod T_0; otherwise the cycle n = ⌊log_{T_mult}(epoch/T_0 · (T_mult − 1) + 1)⌋,
    T_cur = epoch − T_0 (T_mult^n − 1)/(T_mult − 1) and T_i = T_0 T_mult^n. ``last_epoch``
    is ⌊epoch⌋. As in PyTorch the rate is always the closed form (not chainable).
    """

    def __init__(self, optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1):
        name = "CosineAnnealingWarmRestarts"
        _check_int(name, "T_0", T_0, 1)
        _check_int(name, "T_mult", T_mult, 1)
        _check_real(name, "eta_min", eta_min, 0.0, text="a number >= 0")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return self._rates(self.T_cur, self.T_i)

    def _rates(self, t_cur, t_i):
        cosine = (1 + math.cos(math.pi * t_cur / t_i)) / 2
        return [self.eta_min + (base_lr - self.eta_min) * cosine for base_lr in self.base_lrs]

    def _cycle_position(self, epoch):
        """(T_cur, T_i) at ``epoch`` (≥ 0), from the closed form."""
        if epoch < self.T_0:
            return epoch, self.T_0
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
        return (epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1),
                self.T_0 * self.T_mult ** n)

    def step(self, epoch=None) -> None:
        """Advance one epoch, or jump to ``epoch`` (a number ≥ 0, fractional allowed)."""
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:          # a restart
                self.T_cur = self.T_cur - self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if not isinstance(epoch, (int, float)) or isinstance(epoch, bool) or epoch < 0:
                raise ValueError(f"CosineAnnealingWarmRestarts.step: expected an epoch >= 0, "
                                 f"got {epoch!r}")
            self.T_cur, self.T_i = self._cycle_position(epoch)
        self.last_epoch = math.floor(epoch)
        self._set_lrs(self.get_lr())

    def _restart(self) -> None:
        self.step(0)  # what SequentialLR's step(0) does in PyTorch

    def _closed_form(self, t):
        return self._rates(*self._cycle_position(t))
