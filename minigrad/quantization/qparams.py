"""Quantized dtypes, quantization schemes, and the one function that turns an observed range
into ``(scale, zero_point)`` for every observer and every flow (DESIGN.md decision 13).

With ``[q_min, q_max]`` the integer range (``quint8`` [0, 255], ``qint8`` [−128, 127], or half
of it with ``reduce_range``) and ``[min, max]`` the observed range widened to contain 0
(``min⁻ = min(min, 0)``, ``max⁺ = max(max, 0)``, so that 0.0 is exactly representable)::

    affine:     s = (max⁺ − min⁻) / (q_max − q_min)
                z = clamp(q_min − round(min⁻ / s), q_min, q_max)
    symmetric:  s = max(−min⁻, max⁺) / ((q_max − q_min) / 2)
                z = 0 for qint8, 128 for quint8 ((q_min + q_max) // 2 for a custom range)

and ``s = max(s, ε)`` with ε the float32 machine epsilon. Computed in float32, as PyTorch's
observers do, so the scales agree to the last bit.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module

__all__ = ["qint8", "quint8", "qint32", "per_tensor_affine", "per_tensor_symmetric",
           "per_channel_affine", "per_channel_symmetric", "QSCHEMES", "storage_dtype",
           "qrange", "check_qparams", "qparams_from_range"]

# The quantized dtypes are names (they travel through state dicts and JSON as they are);
# storage_dtype gives the NumPy dtype of their integer values.
qint8 = "qint8"
quint8 = "quint8"
qint32 = "qint32"
_STORAGE = {qint8: np.int8, quint8: np.uint8, qint32: np.int32}
_FULL_RANGE = {qint8: (-128, 127), quint8: (0, 255), qint32: (-2**31, 2**31 - 1)}

per_tensor_affine = "per_tensor_affine"
per_tensor_symmetric = "per_tensor_symmetric"
per_channel_affine = "per_channel_affine"
per_channel_symmetric = "per_channel_symmetric"
QSCHEMES = (per_tensor_affine, per_tensor_symmetric, per_channel_affine, per_channel_symmetric)

_EPS = float(np.finfo(np.float32).eps)


def _check_dtype(dtype, owner: str) -> str:
    if dtype not in _STORAGE:
        raise ValueError(f"{owner}: dtype must be one of {', '.join(_STORAGE)}, got {dtype!r}")
    return dtype


def storage_dtype(dtype) -> np.dtype:
    """The integer NumPy dtype holding a quantized dtype's values (qint8 -> int8, ...)."""
    return np.dtype(_STORAGE[_check_dtype(dtype, "storage_dtype")])


def qrange(dtype, reduce_range: bool = False, quant_min=None, quant_max=None) -> tuple:
    """(q_min, q_max): the dtype's full range, one bit less with ``reduce_range`` (qint8
    [−64, 63], quint8 [0, 127], as PyTorch's fbgemm settings), or a custom range inside it
    (halved by ``reduce_range`` as well)."""
    lo, hi = _FULL_RANGE[_check_dtype(dtype, "qrange")]
    if (quant_min is None) != (quant_max is None):
        raise ValueError(f"qrange: give both quant_min and quant_max or neither, got "
                         f"{quant_min!r}, {quant_max!r}")
    if quant_min is not None:
        if not lo <= quant_min < quant_max <= hi:
            raise ValueError(f"qrange: [quant_min, quant_max] = [{quant_min}, {quant_max}] "
                             f"must be a non-empty range inside {dtype}'s [{lo}, {hi}]")
        lo, hi = int(quant_min), int(quant_max)
    if reduce_range:
        lo, hi = lo // 2, hi // 2
    return lo, hi


def check_qparams(scale, zero_point, quant_min: int, quant_max: int, owner: str) -> None:
    """scale > 0 (finite) and q_min ≤ zero_point ≤ q_max, elementwise, or a clear error.
    (Host check: the qparams are a few numbers, read back once.)"""
    s = np.asarray(_host(scale), dtype=np.float64)
    z = np.asarray(_host(zero_point))
    if s.size == 0 or not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"{owner}: scale must be positive and finite, got {s.tolist()}")
    if np.any(z != np.round(z)) or np.any(z < quant_min) or np.any(z > quant_max):
        raise ValueError(f"{owner}: zero_point must be integers in [quant_min, quant_max] = "
                         f"[{quant_min}, {quant_max}], got {z.tolist()}")


def _host(value):
    """A number or a small qparam array as a host value (CuPy arrays copied back)."""
    from ..backend import is_device_array, to_device
    from ..tensor import Tensor
    if isinstance(value, Tensor):
        value = value.data
    return to_device(value, "cpu") if is_device_array(value) else value


def qparams_from_range(min_val, max_val, dtype=quint8, qscheme=per_tensor_affine,
                       reduce_range: bool = False, quant_min=None, quant_max=None):
    """(scale, zero_point) for the range [min_val, max_val] (arrays: one range per channel,
    or 0-d), by the formulas of the module docstring. scale is float32, zero_point int64,
    both shaped like ``min_val``, on its device. A range never observed (min > max, e.g. the
    initial +inf/−inf) gives scale 1 and zero_point 0."""
    if qscheme not in QSCHEMES:
        raise ValueError(f"qparams_from_range: qscheme must be one of {', '.join(QSCHEMES)}, "
                         f"got {qscheme!r}")
    custom = quant_min is not None
    qmin, qmax = qrange(dtype, reduce_range, quant_min, quant_max)
    xp = array_module(min_val)
    min_val = xp.asarray(min_val, dtype=xp.float32)
    max_val = xp.asarray(max_val, dtype=xp.float32)
    observed = min_val <= max_val
    min_neg = xp.minimum(min_val, xp.float32(0))
    max_pos = xp.maximum(max_val, xp.float32(0))
    eps = xp.float32(_EPS)
    if qscheme in (per_tensor_symmetric, per_channel_symmetric):
        max_pos = xp.maximum(-min_neg, max_pos)
        scale = xp.maximum(max_pos / xp.float32((qmax - qmin) / 2), eps)
        middle = (qmin + qmax) // 2 if custom else {qint8: 0, quint8: 128, qint32: 0}[dtype]
        zero_point = xp.full(min_val.shape, middle, dtype=xp.int64)
    else:
        scale = xp.maximum((max_pos - min_neg) / xp.float32(qmax - qmin), eps)
        zero_point = qmin - xp.rint(min_neg / scale).astype(xp.int64)
        zero_point = xp.clip(zero_point, qmin, qmax)
    scale = xp.where(observed, scale, xp.float32(1)).astype(xp.float32)
    zero_point = xp.where(observed, zero_point, 0).astype(xp.int64)
    return scale, zero_point
