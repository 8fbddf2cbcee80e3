"""The layers of a converted (static int8) model. Between them flows a
:class:`~minigrad.quantization.qtensor.QuantizedTensor` (quint8 activations); ``Quantize``
enters the integer world and ``DeQuantize`` leaves it. Every number a layer needs is a buffer,
so ``minigrad.save(model.state_dict(), path)`` writes the int8 weights as int8 arrays.

- :class:`QuantizedLinear`, :class:`QuantizedConv2d`: the integer kernels of
  :mod:`~minigrad.quantization.kernels` (int8 weights per output channel, int32 accumulation,
  one requantization to the output's (s_y, z_y); an optional fused ReLU).
- :class:`QuantizedReLU`: q ↦ max(q, z) (the code of 0.0), same qparams.
- :class:`QuantizedMaxPool2d`, :class:`QuantizedFlatten`: on the codes, same qparams.
"""

from __future__ import annotations

import numpy as np

from ..backend import array_module
from ..nn.module import Module
from ..tensor import Tensor
from . import kernels
from .qparams import qint8, qrange, quint8, storage_dtype
from .qtensor import QuantizedTensor, quantize_array

__all__ = ["Quantize", "DeQuantize", "QuantizedLinear", "QuantizedConv2d", "QuantizedReLU",
           "QuantizedMaxPool2d", "QuantizedFlatten", "quantize_weight"]


def _scalar_buffer(value, dtype):
    return Tensor(np.asarray(value, dtype=dtype))


def _check_quantized(x, owner):
    if not isinstance(x, QuantizedTensor):
        raise TypeError(f"{owner}: expected a QuantizedTensor (put a Quantize layer before "
                        f"it), got {type(x).__name__}")


def quantize_weight(weight, scale, zero_point):
    """int8 codes of a float weight (O, ...) with one (scale, zero_point) per output channel."""
    xp = array_module(weight)
    shape = (-1,) + (1,) * (weight.ndim - 1)
    lo, hi = qrange(qint8)
    return quantize_array(weight, xp.asarray(scale).reshape(shape),
                          xp.asarray(zero_point).reshape(shape), lo, hi, np.int8)


class Quantize(Module):
    """float Tensor -> QuantizedTensor: q = clamp(round(x / s + z), q_min, q_max)."""

    def __init__(self, scale, zero_point, dtype=quint8):
        super().__init__()
        self.dtype = dtype
        self.register_buffer("scale", _scalar_buffer(scale, np.float32))
        self.register_buffer("zero_point", _scalar_buffer(zero_point, np.int64))

    def forward(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"Quantize: expected a float Tensor, got {type(x).__name__}")
        s, z = float(self.scale.data), int(self.zero_point.data)
        lo, hi = qrange(self.dtype)
        q = quantize_array(x.data, s, z, lo, hi, storage_dtype(self.dtype))
        return QuantizedTensor(q, s, z, self.dtype)

    def extra_repr(self):
        return f"scale={float(self.scale.data):.6g}, zero_point={int(self.zero_point.data)}"


class DeQuantize(Module):
    """QuantizedTensor -> float32 Tensor: x̂ = s · (q − z)."""

    def forward(self, x):
        _check_quantized(x, "DeQuantize")
        return x.dequantize()


class _QuantizedWeighted(Module):
    """What QuantizedLinear and QuantizedConv2d share: int8 ``weight`` (buffer), its per-channel
    ``weight_scale``, a float ``bias`` (quantized per call with the input's scale), the
    output's ``scale``/``zero_point`` and an optional fused ReLU."""

    def __init__(self, weight, weight_scale, bias, scale, zero_point, relu: bool):
        super().__init__()
        self.register_buffer("weight", Tensor(weight))
        self.register_buffer("weight_scale", Tensor(weight_scale))   # float32, (O,)
        self.register_buffer("bias", None if bias is None else Tensor(bias))
        self.register_buffer("scale", _scalar_buffer(scale, np.float32))
        self.register_buffer("zero_point", _scalar_buffer(zero_point, np.int64))
        self.relu = bool(relu)
        self.method = "auto"   # integer_matmul's method (benchmarks set 'int32')

    def _accumulate(self, x):
        raise NotImplementedError

    def forward(self, x):
        _check_quantized(x, type(self).__name__)
        xp = array_module(x.int_repr)
        w_scale = self.weight_scale.data
        q_b = kernels.quantize_bias(None if self.bias is None else self.bias.data, x.scale,
                                    w_scale)
        acc = self._accumulate(x, q_b)
        s_y, z_y = float(self.scale.data), int(self.zero_point.data)
        lo, hi = qrange(quint8)
        lo = max(lo, z_y) if self.relu else lo        # ReLU: nothing below the code of 0.0
        shape = (1, -1) + (1,) * (acc.ndim - 2)
        multiplier = (xp.float32(x.scale) * w_scale / xp.float32(s_y)).reshape(shape)
        q = kernels.requantize(acc, multiplier, z_y, lo, hi, np.uint8)
        return QuantizedTensor(q, s_y, z_y, quint8)

    def extra_repr(self):
        return (f"weight={tuple(self.weight.shape)} int8, scale={float(self.scale.data):.6g}, "
                f"zero_point={int(self.zero_point.data)}, relu={self.relu}")


class QuantizedLinear(_QuantizedWeighted):
    """y = x Wᵀ + b in integers (see :mod:`~minigrad.quantization.kernels`), x (N, in)."""

    def _accumulate(self, x, q_b):
        if x.int_repr.ndim != 2 or x.int_repr.shape[1] != self.weight.shape[1]:
            raise ValueError(f"QuantizedLinear: input of shape {x.shape} does not fit weight "
                             f"of shape {tuple(self.weight.shape)} (expected (N, "
                             f"{self.weight.shape[1]}))")
        return kernels.quantized_linear(x.int_repr, x.zero_point, self.weight.data, q_b,
                                        self.method)


class QuantizedConv2d(_QuantizedWeighted):
    """Conv2d in integers (im2col and one integer matmul), x (N, C, H, W)."""

    def __init__(self, weight, weight_scale, bias, scale, zero_point, relu, stride, padding,
                 dilation):
        super().__init__(weight, weight_scale, bias, scale, zero_point, relu)
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def _accumulate(self, x, q_b):
        if x.int_repr.ndim != 4 or x.int_repr.shape[1] != self.weight.shape[1]:
            raise ValueError(f"QuantizedConv2d: input of shape {x.shape} does not fit weight "
                             f"of shape {tuple(self.weight.shape)}")
        return kernels.quantized_conv2d(x.int_repr, x.zero_point, self.weight.data, q_b,
                                        self.stride, self.padding, self.dilation, self.method)


class QuantizedReLU(Module):
    """q ↦ max(q, z): ReLU on the codes (z is the code of 0.0)."""

    def forward(self, x):
        _check_quantized(x, "QuantizedReLU")
        xp = array_module(x.int_repr)
        q = xp.maximum(x.int_repr, x.int_repr.dtype.type(x.zero_point))
        return QuantizedTensor(q, x.scale, x.zero_point, x.dtype)


class QuantizedMaxPool2d(Module):
    """Max pooling on the codes (padding takes q_min)."""

    def __init__(self, kernel_size, stride, padding):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding

    def forward(self, x):
        _check_quantized(x, "QuantizedMaxPool2d")
        q = kernels.quantized_max_pool2d(x.int_repr, self.kernel_size, self.stride,
                                         self.padding, qrange(x.dtype)[0])
        return QuantizedTensor(q, x.scale, x.zero_point, x.dtype)


class QuantizedFlatten(Module):
    """Flatten dims start_dim..end_dim of the codes."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        _check_quantized(x, "QuantizedFlatten")
        shape = x.int_repr.shape
        start, end = self.start_dim % len(shape), self.end_dim % len(shape)
        merged = int(np.prod(shape[start:end + 1]))
        q = x.int_repr.reshape(shape[:start] + (merged,) + shape[end + 1:])
        return QuantizedTensor(q, x.scale, x.zero_point, x.dtype)
