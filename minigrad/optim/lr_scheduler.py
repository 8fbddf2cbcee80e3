"""Learning-rate schedules, with ``torch.optim.lr_scheduler``'s names and semantics.

A scheduler rewrites ``group['lr']`` in its optimizer's parameter groups. Building one records
each group's starting rate as ``group['initial_lr']`` (η₀ below, kept in ``base_lrs``) and
performs the initial step, which sets the rate for epoch t = 0; after that, call
``scheduler.step()`` once per epoch (or per iteration), **after** ``optimizer.step()``::

    opt = SGD(params, lr=0.1)
    sched = StepLR(opt, step_size=30, gamma=0.1)      # lr = 0.1 now (t = 0)
    for epoch in range(100):
        train_one_epoch(opt)                          # uses the current lr
        sched.step()                                  # t ← t + 1, lr for the next epoch

``last_epoch`` is t, ``get_last_lr()`` the rates it last set.

Each schedule's docstring gives its closed form η_t in terms of η₀ and t, and the rule the
code follows. Where PyTorch computes the rate recursively from the current ``group['lr']``
(StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR: its "chainable" form), so
does minigrad: the sequence equals the closed form as long as nothing else changes the rate,
and a change made from outside (by hand, or by another scheduler stepping the same optimizer)
carries on into later steps, as in PyTorch. LambdaLR always uses its closed form.
"""

from __future__ import annotations

import math
import numbers
import types
from bisect import bisect_left, bisect_right

__all__ = ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
           "CosineAnnealingLR", "LinearLR", "SequentialLR", "ReduceLROnPlateau"]


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


class SequentialLR(LRScheduler):
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
        if not schedulers:
            raise ValueError("SequentialLR: expected at least one scheduler")
        for i, scheduler in enumerate(schedulers):
            if isinstance(scheduler, ReduceLROnPlateau):
                raise ValueError(f"SequentialLR: schedulers[{i}] is a ReduceLROnPlateau, which "
                                 f"steps on a metric and cannot be sequenced")
            if not isinstance(scheduler, LRScheduler):
                raise TypeError(f"SequentialLR: schedulers[{i}] is a "
                                f"{type(scheduler).__name__}, not a scheduler")
            if scheduler.optimizer is not optimizer:
                raise ValueError(f"SequentialLR: schedulers[{i}] drives a different optimizer "
                                 f"than the one given")
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

    def state_dict(self) -> dict:
        state = {k: v for k, v in super().state_dict().items() if k != "_schedulers"}
        state["_schedulers"] = [scheduler.state_dict() for scheduler in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state = dict(state_dict)
        saved = state.pop("_schedulers")
        if len(saved) != len(self._schedulers):
            raise ValueError(f"SequentialLR.load_state_dict: the state dict has {len(saved)} "
                             f"schedulers, this one has {len(self._schedulers)}")
        super().load_state_dict(state)
        for scheduler, sub_state in zip(self._schedulers, saved):
            scheduler.load_state_dict(sub_state)


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
