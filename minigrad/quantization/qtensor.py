"""The quantized tensor: integer values plus the affine map back to real numbers.

    quantize:    q = clamp(round(x / s + z), q_min, q_max)     (round half to even)
    dequantize:  x̂ = s · (q − z)

Per tensor, ``s`` and ``z`` are numbers; per channel, vectors along ``axis`` (one pair per
output channel of a weight). ``x / s`` is computed as ``x · (1/s)`` in float32 and ``z`` is
added before rounding, exactly as ``torch.quantize_per_tensor`` does (so ties with an odd
``z`` round as PyTorch's do; the fake-quantize functions round before adding ``z``, also as
PyTorch's do).
"""

from __future__ import annotations

import numbers

import numpy as np

from ..backend import array_module
from ..tensor import Tensor
from .qparams import check_qparams, qrange, storage_dtype

__all__ = ["QuantizedTensor", "quantize_per_tensor", "quantize_per_channel", "dequantize"]


class QuantizedTensor:
    """``int_repr`` (an int8/uint8/int32 NumPy or CuPy array), ``scale``/``zero_point`` (a
    float and an int per tensor; float32/int64 arrays of length ``shape[axis]`` per channel),
    ``axis`` (None per tensor) and ``dtype`` (``'qint8'``, ``'quint8'``, ``'qint32'``).
    No autograd: quantized values are for inference."""

    __slots__ = ("int_repr", "scale", "zero_point", "axis", "dtype")

    def __init__(self, int_repr, scale, zero_point, dtype, axis=None):
        self.int_repr = int_repr
        self.scale = scale
        self.zero_point = zero_point
        self.dtype = dtype
        self.axis = axis

    @property
    def shape(self):
        return tuple(self.int_repr.shape)

    @property
    def qscheme(self) -> str:
        return "per_tensor_affine" if self.axis is None else "per_channel_affine"

    def _broadcast(self, values):
        return _along(values, self.axis, self.int_repr.ndim)

    def dequantize(self) -> Tensor:
        """x̂ = s · (q − z), float32."""
        xp = array_module(self.int_repr)
        q = self.int_repr.astype(xp.float32)
        if self.axis is None:
            return Tensor((q - np.float32(self.zero_point)) * np.float32(self.scale))
        s = self._broadcast(xp.asarray(self.scale, dtype=xp.float32))
        z = self._broadcast(xp.asarray(self.zero_point).astype(xp.float32))
        return Tensor((q - z) * s)

    def nbytes(self) -> int:
        return int(self.int_repr.nbytes)

    def __repr__(self):
        where = "per tensor" if self.axis is None else f"per channel, axis={self.axis}"
        return (f"QuantizedTensor(shape={self.shape}, dtype={self.dtype}, {where}, "
                f"scale={self.scale}, zero_point={self.zero_point})")


def _along(values, axis: int, ndim: int):
    """Per-channel qparams shaped to broadcast along ``axis`` of an ``ndim``-d array."""
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def _array(x, owner):
    data = x.data if isinstance(x, Tensor) else x
    if not hasattr(data, "dtype") or data.dtype.kind != "f":
        raise TypeError(f"{owner}: expected a float Tensor or array, got "
                        f"{type(x).__name__} of dtype {getattr(data, 'dtype', None)}")
    return data


def quantize_array(x, scale, zero_point, quant_min, quant_max, out_dtype):
    """clamp(round(x · (1/s) + z), q_min, q_max) as ``out_dtype``; ``scale``/``zero_point``
    numbers or arrays that broadcast against ``x``. The kernel of every quantizing step."""
    xp = array_module(x)
    dtype = x.dtype.type if x.dtype != np.float16 else np.float32
    inv_scale = dtype(1) / xp.asarray(scale, dtype=dtype)
    q = xp.rint(x * inv_scale + xp.asarray(zero_point).astype(dtype))
    return xp.clip(q, quant_min, quant_max).astype(out_dtype)


def quantize_per_tensor(x, scale, zero_point, dtype) -> QuantizedTensor:
    """q = clamp(round(x / s + z), q_min, q_max) with one (scale, zero_point), as
    ``torch.quantize_per_tensor``; ``dtype`` 'quint8', 'qint8' or 'qint32'."""
    owner = "quantize_per_tensor"
    data = _array(x, owner)
    qmin, qmax = qrange(dtype)
    if not isinstance(scale, numbers.Real) or not isinstance(zero_point, numbers.Integral):
        raise TypeError(f"{owner}: scale must be a number and zero_point an int, got "
                        f"{type(scale).__name__} and {type(zero_point).__name__}")
    check_qparams(scale, zero_point, qmin, qmax, owner)
    q = quantize_array(data, float(np.float32(scale)), int(zero_point), qmin, qmax,
                       storage_dtype(dtype))
    return QuantizedTensor(q, float(np.float32(scale)), int(zero_point), dtype)


def quantize_per_channel(x, scales, zero_points, axis: int, dtype) -> QuantizedTensor:
    """q[..., c, ...] = clamp(round(x[..., c, ...] / s_c + z_c), q_min, q_max) along ``axis``,
    as ``torch.quantize_per_channel``; ``scales``/``zero_points`` of length ``x.shape[axis]``."""
    owner = "quantize_per_channel"
    data = _array(x, owner)
    xp = array_module(data)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or \
            not -data.ndim <= axis < data.ndim:
        raise ValueError(f"{owner}: axis {axis!r} is out of range for a tensor of shape "
                         f"{tuple(data.shape)}")
    axis = int(axis) % data.ndim
    s = xp.asarray(scales.data if isinstance(scales, Tensor) else scales, dtype=xp.float32)
    z = xp.asarray(zero_points.data if isinstance(zero_points, Tensor) else zero_points)
    if s.shape != (data.shape[axis],) or z.shape != (data.shape[axis],):
        raise ValueError(f"{owner}: scales {tuple(s.shape)} and zero_points {tuple(z.shape)} "
                         f"must both have shape ({data.shape[axis]},) for axis {axis} of a "
                         f"tensor of shape {tuple(data.shape)}")
    qmin, qmax = qrange(dtype)
    check_qparams(s, z, qmin, qmax, owner)
    z = z.astype(xp.int64)
    q = quantize_array(data, _along(s, axis, data.ndim), _along(z, axis, data.ndim), qmin, qmax,
                       storage_dtype(dtype))
    return QuantizedTensor(q, s, z, dtype, axis)


def dequantize(q: QuantizedTensor) -> Tensor:
    """x̂ = s · (q − z): the float32 Tensor a quantized tensor stands for."""
    if not isinstance(q, QuantizedTensor):
        raise TypeError(f"dequantize: expected a QuantizedTensor, got {type(q).__name__}")
    return q.dequantize()
