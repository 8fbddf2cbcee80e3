r"""Gradient clipping: rescale or clamp the ``.grad`` of parameters in place, as
``torch.nn.utils.clip_grad_norm_`` and ``clip_grad_value_`` do.

Call between ``loss.backward()`` and ``optimizer.step()``::

    loss.backward()
    total = clip_grad_norm_(model.parameters(), max_norm=1.0)
    optimizer.step()
"""

from __future__ import annotations

import math
import numbers

from ... import backend
from ...autograd import no_grad
from ...tensor import Tensor
from ._tensors import tensor_list

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters, fn_name: str) -> list:
    """The gradients (Tensors) of ``parameters``, skipping parameters whose grad is None."""
    grads = [p.grad for p in tensor_list(parameters, fn_name, allow_empty=True)
             if p.grad is not None]
    devices = {str(g.device) for g in grads}
    if len(devices) > 1:
        raise RuntimeError(f"{fn_name}: the gradients are on different devices "
                           f"({', '.join(sorted(devices))}); clip each device's parameters "
                           f"separately")
    return grads


def _norm_type(norm_type, fn_name: str) -> float:
    """p as a float: a number > 0, or inf (also spelled 'inf')."""
    if isinstance(norm_type, str):
        if norm_type.lower() not in ("inf", "+inf"):
            raise ValueError(f"{fn_name}: norm_type must be a number > 0 or 'inf', "
                             f"got {norm_type!r}")
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, numbers.Real):
        raise TypeError(f"{fn_name}: norm_type must be a number > 0 or 'inf', "
                        f"got {type(norm_type).__name__}")
    p = float(norm_type)
    if not p > 0:  # also rejects nan
        raise ValueError(f"{fn_name}: norm_type must be > 0 (or inf), got {norm_type}")
    return p


def _vector_norm(array, p: float):
    """‖x‖_p of a flattened array: max_i |x_i| for p = inf, else (Σ_i |x_i|^p)^(1/p)."""
    xp = backend.array_module(array)
    if p == math.inf:
        return xp.abs(array).max() if array.size else xp.zeros((), dtype=array.dtype)
    return (xp.abs(array) ** p).sum() ** (1.0 / p)


def get_total_norm(tensors, norm_type=2.0):
    """The p-norm of all ``tensors`` viewed as one concatenated vector, computed as the
    p-norm of their individual p-norms (the same number)::

        ‖(g_1, ..., g_k)‖_p = ‖(‖g_1‖_p, ..., ‖g_k‖_p)‖_p

    Returns a 0-d array (NumPy or CuPy), or None when ``tensors`` is empty.
    """
    p = _norm_type(norm_type, "get_total_norm")
    if not tensors:
        return None
    xp = backend.array_module(tensors[0].data)
    norms = xp.stack([_vector_norm(t.data, p) for t in tensors])  # ‖g_j‖_p for each tensor
    return xp.asarray(_vector_norm(norms, p))                      # ‖(‖g_1‖, ..., ‖g_k‖)‖_p


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite: bool = False):
    r"""Rescale the gradients of ``parameters`` in place so that their total p-norm is at
    most ``max_norm``, and return that total norm (before clipping).

    With g the gradients of all parameters seen as one vector (parameters whose ``grad`` is
    None are skipped)::

        total = ‖g‖_p = (Σ_i |g_i|^p)^(1/p)          (max_i |g_i| for p = inf)
        c     = max_norm / (total + 1e-6)
        g     ← g · min(c, 1)                         (so nothing changes when total ≤ max_norm)

    This is PyTorch's formula, 1e-6 included (it keeps c finite when total = 0): a clipped
    gradient has norm just under ``max_norm``.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        max_norm: the largest allowed total norm, ≥ 0.
        norm_type: p > 0, or ``inf`` / ``'inf'`` (default 2).
        error_if_nonfinite: raise a RuntimeError when the total norm is nan or ±inf. When
            False (the default, as in PyTorch) a non-finite norm is used as is: with total =
            inf every finite gradient becomes 0 and with nan every gradient becomes nan.
    Returns:
        the total norm, a 0-d Tensor of the gradients' dtype (``tensor(0.)`` when no
        parameter has a gradient).
    """
    if isinstance(max_norm, bool) or not isinstance(max_norm, numbers.Real):
        raise TypeError(f"clip_grad_norm_: max_norm must be a number, "
                        f"got {type(max_norm).__name__}")
    max_norm = float(max_norm)
    if not max_norm >= 0:
        raise ValueError(f"clip_grad_norm_: max_norm must be >= 0, got {max_norm}")
    p = _norm_type(norm_type, "clip_grad_norm_")
    grads = _grads(parameters, "clip_grad_norm_")
    if not grads:
        return Tensor(0.0)
    total = get_total_norm(grads, p)
    total_value = float(total)
    if error_if_nonfinite and not math.isfinite(total_value):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients is "
            f"{total_value}, so they cannot be clipped; set error_if_nonfinite=False to clip "
            f"anyway")
    clip_coef = max_norm / (total_value + 1e-6)      # c = max_norm / (total + 1e-6)
    clip_coef_clamped = min(clip_coef, 1.0) if not math.isnan(clip_coef) else clip_coef
    if clip_coef_clamped != 1.0:                     # g ← g · min(c, 1)
        with no_grad():
            for g in grads:
                g.mul_(clip_coef_clamped)
    return Tensor._make(total)


def clip_grad_value_(parameters, clip_value) -> None:
    """Clamp every gradient entry into [−clip_value, clip_value], in place::

        g_i ← min(max(g_i, −clip_value), clip_value)

    Parameters whose ``grad`` is None are skipped.

    Args:
        parameters: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        clip_value: c ≥ 0.
    """
    if isinstance(clip_value, bool) or not isinstance(clip_value, numbers.Real):
        raise TypeError(f"clip_grad_value_: clip_value must be a number, "
                        f"got {type(clip_value).__name__}")
    c = float(clip_value)  # a Python float keeps float32 gradients float32
    if not c >= 0:
        raise ValueError(f"clip_grad_value_: clip_value must be >= 0, got {clip_value}")
    for g in _grads(parameters, "clip_grad_value_"):
        xp = backend.array_module(g.data)
        xp.clip(g.data, -c, c, out=g.data)         # g_i ← min(max(g_i, −c), c)
        g._bump_version()
