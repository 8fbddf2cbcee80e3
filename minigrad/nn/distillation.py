"""Knowledge distillation (Hinton, Vinyals & Dean 2015): a small student learns from a large
teacher's softened predictions as well as from the labels.

With student logits z_s, teacher logits z_t, labels y, temperature T and weight α::

    p_t = softmax(z_t / T),   p_s = softmax(z_s / T)
    L   = α · T² · KL(p_t ‖ p_s)  +  (1 − α) · CE(z_s, y)
    KL(p_t ‖ p_s) = (1/N) Σ_n Σ_c p_t[n, c] · (log p_t[n, c] − log p_s[n, c])

both terms averaged over the batch. The T² keeps the soft term's gradient the same size as
T changes (its gradient with respect to z_s is (p_s − p_t)·T/N·α, which without T² would
shrink as 1/T).

- :func:`distillation_loss` / :class:`DistillationLoss`: the formula above.
- :class:`Distillation`: a :func:`~minigrad.training.fit` callback that turns fit's loss
  (the cross-entropy on labels) into L, running the frozen teacher (eval mode, no graph) on
  each training batch through the ``on_loss`` step hook.
"""

from __future__ import annotations

import numbers

from ..autograd import no_grad
from ..tensor import Tensor
from .losses import cross_entropy, kl_div
from .module import Module

# Distillation is made on first use (see the end of this module)
__all__ = ["distillation_loss", "soft_target_loss", "DistillationLoss",
           "Distillation"]  # noqa: F822


def _check_settings(owner, temperature, alpha):
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or \
            not temperature > 0:
        raise ValueError(f"{owner}: temperature must be a positive number, got {temperature!r}")
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise ValueError(f"{owner}: alpha must be in [0, 1], got {alpha!r}")
    return float(temperature), float(alpha)


def soft_target_loss(student_logits, teacher_logits, temperature: float) -> Tensor:
    """T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)), batch mean: the distillation term."""
    owner = "soft_target_loss"
    for name, t in (("student_logits", student_logits), ("teacher_logits", teacher_logits)):
        if not isinstance(t, Tensor) or t.ndim != 2:
            raise ValueError(f"{owner}: {name} must be a (N, C) Tensor, got "
                             f"{getattr(t, 'shape', type(t).__name__)}")
    if student_logits.shape != teacher_logits.shape:
        raise ValueError(f"{owner}: student_logits {tuple(student_logits.shape)} and "
                         f"teacher_logits {tuple(teacher_logits.shape)} must have one shape")
    t = float(temperature)
    log_p_s = (student_logits / t).log_softmax(dim=1)
    log_p_t = (teacher_logits / t).log_softmax(dim=1)
    return kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * (t * t)


def distillation_loss(student_logits, teacher_logits, target, temperature: float = 4.0,
                      alpha: float = 0.9) -> Tensor:
    """α · T² · KL(softmax(z_t/T) ‖ softmax(z_s/T)) + (1 − α) · CE(z_s, y), batch means (see the
    module docstring); ``target`` holds class indices (N,)."""
    temperature, alpha = _check_settings("distillation_loss", temperature, alpha)
    soft = soft_target_loss(student_logits, teacher_logits, temperature)
    hard = cross_entropy(student_logits, target)
    return soft * alpha + hard * (1.0 - alpha)


class DistillationLoss(Module):
    """``loss(student_logits, teacher_logits, target)`` = :func:`distillation_loss`."""

    def __init__(self, temperature: float = 4.0, alpha: float = 0.9):
        super().__init__()
        self.temperature, self.alpha = _check_settings("DistillationLoss", temperature, alpha)

    def forward(self, student_logits, teacher_logits, target):
        return distillation_loss(student_logits, teacher_logits, target, self.temperature,
                                 self.alpha)

    def extra_repr(self):
        return f"temperature={self.temperature}, alpha={self.alpha}"


def _make_callback_class():
    """The Distillation callback class, made on first use: it subclasses training's Callback,
    and importing minigrad.training with minigrad.nn would slow every ``import minigrad.nn``."""
    from ..training.callbacks import Callback

    class Distillation(Callback):
        """fit callback: L = (1 − α) · loss + α · T² · KL(p_t ‖ p_s), with ``loss`` fit's loss
        on the labels (use ``nn.CrossEntropyLoss()``, so L is :func:`distillation_loss`) and
        the teacher's logits computed on the same batch in eval mode under ``no_grad``. The
        logged training loss is L; validation reports the plain loss."""

        def __init__(self, teacher: Module, temperature: float = 4.0, alpha: float = 0.9):
            if not isinstance(teacher, Module):
                raise TypeError(f"Distillation: teacher must be an nn.Module, got "
                                f"{type(teacher).__name__}")
            self.teacher = teacher
            self.temperature, self.alpha = _check_settings("Distillation", temperature, alpha)

        def on_train_begin(self, state) -> None:
            self.teacher.eval()
            self.teacher.requires_grad_(False)

        def on_loss(self, inputs, outputs, targets, loss):
            with no_grad():
                teacher_logits = self.teacher(inputs)
            soft = soft_target_loss(outputs, teacher_logits, self.temperature)
            return loss * (1.0 - self.alpha) + soft * self.alpha

    Distillation.__module__, Distillation.__qualname__ = __name__, "Distillation"
    return Distillation


def __getattr__(name):
    if name == "Distillation":
        globals()["Distillation"] = cls = _make_callback_class()
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
