"""Gradual pruning while training: Zhu and Gupta's polynomial sparsity schedule and
:class:`GradualPruner`."""

from __future__ import annotations

import numbers


from .... import backend
from .functional import _pairs, global_unstructured, identity, l1_unstructured
from .methods import L1Unstructured, _pruning_hook


# ---------------------------------------------------------------------------------------------
# Gradual pruning (Zhu and Gupta, 2017)


def _check_schedule(s_initial, s_final, begin_step, end_step, frequency, who):
    for key, value in (("s_initial", s_initial), ("s_final", s_final)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{who}: {key} must be a number in [0, 1], "
                            f"got {type(value).__name__}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{who}: {key} must be in [0, 1], got {value}")
    if s_initial > s_final:
        raise ValueError(f"{who}: s_initial ({s_initial}) must not exceed s_final "
                         f"({s_final}): pruning only ever adds zeros")
    for key, value in (("begin_step", begin_step), ("end_step", end_step),
                       ("frequency", frequency)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{who}: {key} must be an int, got {type(value).__name__}")
    if begin_step < 0:
        raise ValueError(f"{who}: begin_step must be >= 0, got {begin_step}")
    if frequency < 1:
        raise ValueError(f"{who}: frequency must be >= 1, got {frequency}")
    if end_step <= begin_step:
        raise ValueError(f"{who}: end_step ({end_step}) must be after begin_step "
                         f"({begin_step})")
    if (end_step - begin_step) % frequency:
        raise ValueError(f"{who}: end_step - begin_step ({end_step - begin_step}) must be a "
                         f"multiple of frequency ({frequency}) so that the last pruning step "
                         f"lands on end_step")


def _check_step(step, who):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"{who}: step must be an int, got {type(step).__name__}")
    if step < 0:
        raise ValueError(f"{who}: step must be >= 0, got {step}")


def polynomial_sparsity(step, s_initial, s_final, begin_step, end_step, frequency=1) -> float:
    r"""Zhu and Gupta's gradual pruning schedule (2017), "To prune, or not to prune"::

        s_t = s_f + (s_i − s_f) · (1 − (t − t₀) / (n Δt))³

    with s_i = ``s_initial``, s_f = ``s_final``, t₀ = ``begin_step``, Δt = ``frequency`` and
    n Δt = ``end_step − begin_step`` (n pruning steps). Sparsity rises fast at first and
    levels off towards s_f. Pruning happens at t ∈ {t₀, t₀ + Δt, ..., t₀ + n Δt}; at any
    other step the value is that of the last pruning step t ≤ ``step``; after ``end_step`` it
    stays s_f, and before ``begin_step`` it is 0.0 (nothing pruned yet).
    """
    who = "polynomial_sparsity"
    _check_schedule(s_initial, s_final, begin_step, end_step, frequency, who)
    _check_step(step, who)
    if step < begin_step:
        return 0.0
    s_i, s_f = float(s_initial), float(s_final)
    t = begin_step + (min(step, end_step) - begin_step) // frequency * frequency
    span = end_step - begin_step                                   # n Δt
    return s_f + (s_i - s_f) * (1.0 - (t - begin_step) / span) ** 3


class GradualPruner:
    """Prune while training, to the sparsity of :func:`polynomial_sparsity`.

    Like a learning-rate scheduler: build it after the model, call ``step()`` after each
    ``optimizer.step()``. Building it is step 0; the k-th ``step()`` is step k. At each
    pruning step t (t₀, t₀ + Δt, ..., t₀ + nΔt) every listed tensor is pruned by L1
    magnitude until its total sparsity is s_t: with N entries of which z are already zero in
    its mask, it prunes k = round(s_t · N) − z more of the N − z unpruned entries (the
    fraction (s_t − z/N) / (1 − z/N) of the remaining ones: the target is the total
    sparsity, not an amount on top of it). With ``global_pruning=True`` the same is done over
    all the listed tensors together (:func:`global_unstructured`), so layers end up with
    different sparsities and only the overall one follows the schedule.

    Every listed tensor is reparametrized (``<name>_orig``, ``<name>_mask``) when the pruner
    is built, even before t₀, so the model's state_dict keys do not change during training
    and the Parameter objects (renamed ``<name>_orig``) stay those the optimizer holds.

    Args:
        parameters: an iterable of (module, name) pairs.
        s_final, s_initial, begin_step, end_step, frequency: see :func:`polynomial_sparsity`.
        global_pruning: rank all the tensors' entries together instead of each tensor's own.
    """

    def __init__(self, parameters, s_final, *, end_step, s_initial=0.0, begin_step=0,
                 frequency=1, global_pruning=False):
        _check_schedule(s_initial, s_final, begin_step, end_step, frequency, "GradualPruner")
        self.parameters = _pairs(parameters, "GradualPruner")
        self.s_initial = float(s_initial)
        self.s_final = float(s_final)
        self.begin_step = int(begin_step)
        self.end_step = int(end_step)
        self.frequency = int(frequency)
        self.global_pruning = bool(global_pruning)
        for module, name in self.parameters:
            if _pruning_hook(module, name) is None:
                identity(module, name)
        self.last_step = 0
        self.last_sparsity = 0.0
        self._apply(0)

    def target(self, step: int) -> float:
        """The scheduled total sparsity s_t at ``step``."""
        return polynomial_sparsity(step, self.s_initial, self.s_final, self.begin_step,
                                   self.end_step, self.frequency)

    def is_pruning_step(self, step: int) -> bool:
        """t ∈ {t₀, t₀ + Δt, ..., t₀ + nΔt}."""
        return (self.begin_step <= step <= self.end_step
                and (step - self.begin_step) % self.frequency == 0)

    def step(self, step=None) -> float:
        """Advance one training step (or jump to ``step``) and prune if it is a pruning step;
        returns the scheduled sparsity s_t."""
        if step is None:
            step = self.last_step + 1
        _check_step(step, "GradualPruner.step")
        self.last_step = int(step)
        self._apply(self.last_step)
        return self.last_sparsity

    def _apply(self, step: int) -> None:
        self.last_sparsity = self.target(step)
        if not self.is_pruning_step(step):
            return
        s_t = self.last_sparsity
        masks = [module._buffers[name + "_mask"].data for module, name in self.parameters]
        if self.global_pruning:
            total = sum(int(m.size) for m in masks)
            zeros = sum(int(m.size - backend.array_module(m).count_nonzero(m)) for m in masks)
            k = round(s_t * total) - zeros              # k = round(s_t · N) − z
            if k > 0:
                global_unstructured(self.parameters, L1Unstructured, amount=k)
            return
        for (module, name), m in zip(self.parameters, masks):
            zeros = int(m.size - backend.array_module(m).count_nonzero(m))
            k = round(s_t * int(m.size)) - zeros        # k = round(s_t · N) − z
            if k > 0:
                l1_unstructured(module, name, amount=k)

    def state_dict(self) -> dict:
        """The schedule and the current step (the masks live in the model's state_dict)."""
        return {"s_initial": self.s_initial, "s_final": self.s_final,
                "begin_step": self.begin_step, "end_step": self.end_step,
                "frequency": self.frequency, "global_pruning": self.global_pruning,
                "last_step": self.last_step, "last_sparsity": self.last_sparsity}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``'s values (no pruning is done: the masks come with the
        model's own state_dict)."""
        unknown = set(state) - set(self.state_dict())
        if unknown:
            raise KeyError(f"GradualPruner.load_state_dict: unexpected key(s) "
                           f"{sorted(unknown)}")
        for key, value in state.items():
            setattr(self, key, value)
