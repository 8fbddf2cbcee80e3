"""Cyclical schedules, stepped once per batch: CyclicLR (Smith, 2017) and OneCycleLR (Smith and
Topin, 2018). Both can cycle the momentum (SGD's ``momentum``, Adam's β₁) opposite to the rate:
a high rate with a low momentum and the other way round."""

from __future__ import annotations

import math
import types

from ._base import LRScheduler, _check_int, _check_real

__all__ = ["CyclicLR", "OneCycleLR"]


def _per_group(owner, name, optimizer, value) -> list:
    """``value`` for each parameter group: one number for all, or a list with one per group."""
    n_groups = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n_groups:
            raise ValueError(f"{owner}: expected {n_groups} values of {name} (one per parameter "
                             f"group), got {len(value)}")
        return list(value)
    return [value] * n_groups


def _momentum_key(owner, optimizer) -> str:
    """'betas' (Adam-like: β₁ is cycled) or 'momentum' (SGD, RMSprop)."""
    if "betas" in optimizer.defaults:
        return "betas"
    if "momentum" in optimizer.defaults:
        return "momentum"
    raise ValueError(f"{owner}: {type(optimizer).__name__} has neither momentum nor betas; "
                     f"pass cycle_momentum=False")


def _set_momentum(optimizer, key, momentums) -> None:
    for group, momentum in zip(optimizer.param_groups, momentums):
        if key == "betas":
            group["betas"] = (momentum, *group["betas"][1:])
        else:
            group["momentum"] = momentum


def _start_momentum(owner, optimizer, base_momentum, max_momentum, last_epoch):
    """Check the momentum options and, for a new schedule, start every group at the maximum."""
    key = _momentum_key(owner, optimizer)
    base = _per_group(owner, "base_momentum", optimizer, base_momentum)
    top = _per_group(owner, "max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        _set_momentum(optimizer, key, top)
        for group, b, m in zip(optimizer.param_groups, base, top):
            group["max_momentum"] = m
            group["base_momentum"] = b
    return key, base, top


class CyclicLR(LRScheduler):
    r"""Cyclical learning rate (Smith, 2017): the rate goes from ``base_lr`` up to ``max_lr`` in
    ``step_size_up`` steps and back down in ``step_size_down`` (default: the same), over and
    over; call ``step()`` after every batch. With L = step_size_up + step_size_down and
    r = step_size_up / L, at step t::

        c = ⌊1 + t / L⌋                                (the cycle, from 1)
        x = 1 + t / L − c                              (the position in it, in [0, 1))
        h = x / r            if x ≤ r                  (rising)
            (x − 1)/(r − 1)  otherwise                 (falling)
        η_t = base_lr + (max_lr − base_lr) · h · s(c or t)

    with the amplitude scale s: ``'triangular'`` s = 1; ``'triangular2'`` s(c) = 1/2^(c−1)
    (halved each cycle); ``'exp_range'`` s(t) = γ^t. A custom ``scale_fn`` replaces s, taking
    the cycle (``scale_mode='cycle'``) or the step (``'iterations'``).

    With ``cycle_momentum`` (default) the momentum moves the other way::

        μ_t = max_momentum − (max_momentum − base_momentum) · h · s

    Building it sets every group's rate to ``base_lr`` (PyTorch's rule: the optimizer's own
    ``lr`` is overwritten). ``base_lr``, ``max_lr`` and the momenta may be lists, one per group.
    ``state_dict`` keeps a custom ``scale_fn``'s attributes when it is a callable object, not a
    plain function (as in PyTorch: pass it again when restoring).
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up: int = 2000,
                 step_size_down=None, mode: str = "triangular", gamma: float = 1.0,
                 scale_fn=None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                 base_momentum=0.8, max_momentum=0.9, last_epoch: int = -1):
        name = "CyclicLR"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got {type(optimizer).__name__}")
        base_lrs = _per_group(name, "base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for rate, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = rate
        self.max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        _check_real(name, "step_size_up", step_size_up, 0.0, low_open=True, text="a number > 0")
        if step_size_down is not None:
            _check_real(name, "step_size_down", step_size_down, 0.0, low_open=True,
                        text="a number > 0")
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if scale_fn is None and mode not in ("triangular", "triangular2", "exp_range"):
            raise ValueError(f"{name}: mode must be 'triangular', 'triangular2' or "
                             f"'exp_range' (or give scale_fn), got {mode!r}")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"{name}: scale_mode must be 'cycle' or 'iterations', "
                             f"got {scale_mode!r}")
        if scale_fn is not None and not callable(scale_fn):
            raise TypeError(f"{name}: scale_fn must be callable, got {type(scale_fn).__name__}")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        # the built-in modes fix their scale mode (PyTorch's rule)
        self.scale_mode = scale_mode if scale_fn is not None else (
            "iterations" if mode == "exp_range" else "cycle")
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._momentum_key, self.base_momentums, self.max_momentums = _start_momentum(
                name, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def scale_fn(self, x) -> float:
        """s(x): the amplitude's scale for cycle (or step) x."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x  # exp_range

    def get_lr(self):
        return self._closed_form(self.last_epoch)

    def _closed_form(self, t):
        """The rates at step t; with cycle_momentum this also sets the groups' momentum."""
        cycle = math.floor(1 + t / self.total_size)
        x = 1.0 + t / self.total_size - cycle
        if x <= self.step_ratio:
            height = x / self.step_ratio
        else:
            height = (x - 1) / (self.step_ratio - 1)
        scale = self.scale_fn(cycle if self.scale_mode == "cycle" else t)
        lrs = [base_lr + (max_lr - base_lr) * height * scale
               for base_lr, max_lr in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            momentums = [top - (top - base) * height * scale
                         for base, top in zip(self.base_momentums, self.max_momentums)]
            _set_momentum(self.optimizer, self._momentum_key, momentums)
        return lrs

    def state_dict(self):
        state = {k: v for k, v in super().state_dict().items() if k != "_scale_fn_custom"}
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (None if fn is None or isinstance(fn, types.FunctionType)
                                     else dict(fn.__dict__))
        return state

    def load_state_dict(self, state_dict):
        state = dict(state_dict)
        saved_fn = state.pop("_scale_fn_custom", None)
        super().load_state_dict(state)
        if saved_fn is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(saved_fn)


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith and Topin, 2018): one warm-up from ``max_lr / div_factor`` to
    ``max_lr`` over the first ``pct_start`` of ``total_steps``, then an annealing down to
    ``initial_lr / final_div_factor``; call ``step()`` after every batch.

    With η_init = max_lr / div_factor, η_min = η_init / final_div_factor, T = total_steps
    (or epochs · steps_per_epoch), the phases end at steps (two phases, the default)::

        phase 1: η_init → max_lr,  ends at  pct_start · T − 1
        phase 2: max_lr → η_min,   ends at  T − 1

    or, with ``three_phase``: η_init → max_lr (ending at pct_start·T − 1), max_lr → η_init
    (ending at 2·pct_start·T − 2), η_init → η_min (ending at T − 1). Within a phase from step
    a to step b, going from η_s to η_e, with p = (t − a) / (b − a)::

        'cos':     η_t = η_e + (η_s − η_e) · (1 + cos(π p)) / 2
        'linear':  η_t = η_s + (η_e − η_s) · p

    With ``cycle_momentum`` the momentum (or Adam's β₁) goes the opposite way, between
    ``max_momentum`` and ``base_momentum`` with the same curve (two phases: max → base →
    max; three: max → base → max → max). Stepping more than T times is an error (as in
    PyTorch). Building it sets ``initial_lr``, ``max_lr`` and ``min_lr`` in every group.
    """

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None,
                 pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum=0.85, max_momentum=0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4,
                 three_phase: bool = False, last_epoch: int = -1):
        name = "OneCycleLR"
        if not hasattr(optimizer, "param_groups"):
            raise TypeError(f"{name}: expected an optimizer, got {type(optimizer).__name__}")
        if total_steps is not None:
            _check_int(name, "total_steps", total_steps, 1)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _check_int(name, "epochs", epochs, 1)
            _check_int(name, "steps_per_epoch", steps_per_epoch, 1)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{name}: give total_steps, or both epochs and steps_per_epoch")
        _check_real(name, "pct_start", pct_start, 0.0, 1.0, text="a number in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{name}: anneal_strategy must be 'cos' or 'linear', "
                             f"got {anneal_strategy!r}")
        _check_real(name, "div_factor", div_factor, 0.0, low_open=True, text="a number > 0")
        _check_real(name, "final_div_factor", final_div_factor, 0.0, low_open=True,
                    text="a number > 0")
        T = self.total_steps
        if three_phase:
            self._phases = [
                (float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (float(2 * pct_start * T) - 2, "max_lr", "initial_lr", "base_momentum",
                 "max_momentum"),
                (T - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum"),
            ]
        else:
            self._phases = [
                (float(pct_start * T) - 1, "initial_lr", "max_lr", "max_momentum",
                 "base_momentum"),
                (T - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"),
            ]
        self.anneal_strategy = anneal_strategy
        max_lrs = _per_group(name, "max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for group, top in zip(optimizer.param_groups, max_lrs):
                group["initial_lr"] = top / div_factor
                group["max_lr"] = top
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = bool(cycle_momentum)
        if self.cycle_momentum:
            self._momentum_key = _start_momentum(name, optimizer, base_momentum, max_momentum,
                                                 last_epoch)[0]
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        if self.last_epoch > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {self.last_epoch} times; the schedule "
                             f"has total_steps = {self.total_steps}")
        return self._closed_form(self.last_epoch)

    def _closed_form(self, t):
        """The rates at step t; with cycle_momentum this also sets the groups' momentum."""
        lrs, momentums = [], []
        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, (end_step, lr_from, lr_to, m_from, m_to) in enumerate(self._phases):
                if t <= end_step or i == len(self._phases) - 1:
                    pct = (t - start_step) / (end_step - start_step)
                    lrs.append(self._anneal(group[lr_from], group[lr_to], pct))
                    if self.cycle_momentum:
                        momentums.append(self._anneal(group[m_from], group[m_to], pct))
                    break
                start_step = end_step
        if self.cycle_momentum:
            _set_momentum(self.optimizer, self._momentum_key, momentums)
        return lrs
