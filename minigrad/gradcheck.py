"""Numerical gradient checks: compare backward with central differences, in float64.

The check contracts the outputs with a *random* upstream gradient v and compares, for every
input element x_i,

    analytic  = (∂/∂x_i) Σ_k <out_k, v_k>            (one backward pass)
    numeric   = (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),   f(x) = Σ_k <out_k(x), v_k>

and passes when |analytic - numeric| ≤ atol + rtol |numeric| everywhere. A random v matters:
with v = 1 the gradient of sum(softmax(x)) is zero whatever softmax's backward says, so a
broken backward would pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import autograd, backend
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "GradcheckError", "GradcheckResult", "check_gradients"]


class GradcheckError(AssertionError):
    """Backward disagrees with central differences (the message names the element)."""


@dataclass
class GradcheckResult:
    passed: bool
    max_abs_error: float   # largest |analytic - numeric| over all checked elements
    max_rel_error: float   # largest |analytic - numeric| / max(|numeric|, atol)
    message: str           # where the worst disagreement is


def _as_tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _random_like(t: Tensor, rng: np.random.Generator) -> Tensor:
    v = rng.standard_normal(t.shape).astype(np.float64)
    return Tensor._make(backend.to_device(v, t.device))


def check_gradients(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0) -> GradcheckResult:
    """Run the check and return its result instead of raising (see :func:`gradcheck`)."""
    inputs = _as_tuple(inputs)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    for i in wrt:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; central differences "
                             f"need float64 inputs")
    rng = np.random.default_rng(seed)

    outputs = _as_tuple(fn(*inputs))
    upstream = [_random_like(o, rng) for o in outputs]
    live = [(o, v) for o, v in zip(outputs, upstream) if o.requires_grad]
    if live:
        analytic = autograd.grad([o for o, _ in live], [inputs[i] for i in wrt],
                                 grad_outputs=[v for _, v in live], allow_unused=True)
    else:
        analytic = [None] * len(wrt)

    def contracted() -> float:
        with autograd.no_grad():
            outs = _as_tuple(fn(*inputs))
        return sum(float((o.data.astype(np.float64) * v.data).sum()) for o, v in zip(outs, upstream))

    worst = GradcheckResult(True, 0.0, 0.0, "all elements agree")
    worst_excess = -np.inf
    for k, i in enumerate(wrt):
        x = inputs[i]
        got = analytic[k]
        got = np.zeros(x.shape) if got is None else backend.to_device(got.data, "cpu")
        if got.shape != tuple(x.shape):
            return GradcheckResult(False, np.inf, np.inf,
                                   f"input {i}: analytic gradient has shape {got.shape}, "
                                   f"input has {tuple(x.shape)}")
        numeric = np.zeros(x.shape)
        for idx in np.ndindex(*x.shape):
            original = x.data[idx].item()
            x.data[idx] = original + eps
            plus = contracted()
            x.data[idx] = original - eps
            minus = contracted()
            x.data[idx] = original
            numeric[idx] = (plus - minus) / (2 * eps)
        error = np.abs(got - numeric)
        if error.size == 0:
            continue
        error = np.where(np.isnan(error), np.inf, error)  # a nan anywhere is a failure
        excess = error - (atol + rtol * np.abs(numeric))
        at = np.unravel_index(int(np.argmax(excess)), error.shape)
        worst.max_abs_error = max(worst.max_abs_error, float(error.max()))
        worst.max_rel_error = max(worst.max_rel_error,
                                  float((error / np.maximum(np.abs(numeric), atol)).max()))
        if excess[at] > 0 and excess[at] > worst_excess:
            worst_excess = excess[at]
            worst.passed = False
            worst.message = (
                f"input {i} (shape {tuple(x.shape)}), element {tuple(int(j) for j in at)}: "
                f"analytic {got[at]:.8g}, numeric {numeric[at]:.8g}, |difference| "
                f"{error[at]:.3g} > allowed {atol + rtol * abs(numeric[at]):.3g}")
    return worst


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0,
              raise_exception=True) -> bool:
    """Check ``fn``'s backward against central differences at ``inputs`` (float64 tensors;
    those with ``requires_grad`` are checked). ``fn`` returns a tensor or a tuple of tensors.

    Raises :class:`GradcheckError` naming the input, element, analytic and numeric values of
    the worst disagreement (or returns False with ``raise_exception=False``); returns True.
    """
    result = check_gradients(fn, inputs, eps, atol, rtol, seed)
    if not result.passed and raise_exception:
        raise GradcheckError(f"gradcheck failed: {result.message}")
    return result.passed


def second_order(fn, inputs, seed=0):
    """The function whose gradient :func:`gradgradcheck` checks, and its inputs.

    ``grad_fn(*inputs, *v)`` returns d<fn(inputs), v>/d(inputs) with ``create_graph=True``,
    so checking it checks the backward of the backward, with respect to both the inputs and
    the upstream gradients ``v`` (random, float64).
    """
    inputs = _as_tuple(inputs)
    rng = np.random.default_rng(seed + 1)
    with autograd.no_grad():
        outputs = _as_tuple(fn(*inputs))
    upstream = [_random_like(o, rng).requires_grad_() for o in outputs]
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    n = len(inputs)

    def grad_fn(*args):
        xs, vs = args[:n], args[n:]
        with autograd.enable_grad():  # the numeric pass calls this under no_grad
            outs = _as_tuple(fn(*xs))
            live = [(o, v) for o, v in zip(outs, vs) if o.requires_grad]
            grads = autograd.grad([o for o, _ in live], [xs[i] for i in wrt],
                                  grad_outputs=[v for _, v in live], create_graph=True,
                                  allow_unused=True) if live else [None] * len(wrt)
        xp = backend.array_module(xs[wrt[0]].data)
        return tuple(Tensor._make(xp.zeros(xs[i].shape)) if g is None else g
                     for i, g in zip(wrt, grads))

    return grad_fn, inputs + tuple(upstream)


def gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0,
                  raise_exception=True) -> bool:
    """Check second derivatives: :func:`gradcheck` applied to the gradient of ``fn``."""
    grad_fn, all_inputs = second_order(fn, inputs, seed)
    return gradcheck(grad_fn, all_inputs, eps, atol, rtol, seed, raise_exception)
