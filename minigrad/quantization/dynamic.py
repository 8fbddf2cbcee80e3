"""Dynamic quantization: int8 weights stored once, activations quantized on the fly.

``quantize_dynamic(model)`` replaces every ``nn.Linear`` by a :class:`DynamicQuantizedLinear`:
weights int8, symmetric, one scale per output row (s_w[o] = max|W[o]| / 127.5); each call
observes its input's range, quantizes it to quint8 with that batch's (s_x, z_x), accumulates
in int32 and rescales the sum straight to float:

    y[n, o] = s_x · s_w[o] · Σ_k (q_x[n, k] − z_x) · q_w[o, k] + b[o]

Inputs and outputs stay float Tensors, so the rest of the model is untouched.
"""

from __future__ import annotations

import copy

from ..backend import array_module
from ..nn.layers import Linear
from ..nn.module import Module
from ..tensor import Tensor
from . import kernels
from .observers import PerChannelMinMaxObserver
from .qparams import per_channel_symmetric, per_tensor_affine, qint8, qparams_from_range, qrange
from .qparams import quint8, storage_dtype
from .qtensor import quantize_array
from .quantized_modules import quantize_weight

__all__ = ["DynamicQuantizedLinear", "quantize_dynamic"]


class DynamicQuantizedLinear(Module):
    """y = x Wᵀ + b with int8 W (per output channel) and x quantized per call (see the module
    docstring). Buffers: ``weight`` (int8), ``weight_scale`` (float32), ``bias`` (float32)."""

    def __init__(self, weight, weight_scale, bias):
        super().__init__()
        self.register_buffer("weight", Tensor(weight))
        self.register_buffer("weight_scale", Tensor(weight_scale))
        self.register_buffer("bias", None if bias is None else Tensor(bias))
        self.method = "auto"

    @classmethod
    def from_float(cls, linear: Linear):
        observer = PerChannelMinMaxObserver(ch_axis=0, dtype=qint8,
                                            qscheme=per_channel_symmetric)
        observer(linear.weight.detach())
        scale, zero_point = observer.calculate_qparams()
        weight = quantize_weight(linear.weight.data, scale, zero_point)
        bias = None if linear.bias is None else linear.bias.data.copy()
        return cls(weight, scale, bias)

    def forward(self, x):
        if not isinstance(x, Tensor) or x.ndim < 1 or x.shape[-1] != self.weight.shape[1]:
            raise ValueError(f"DynamicQuantizedLinear: expected a float Tensor (..., "
                             f"{self.weight.shape[1]}), got {getattr(x, 'shape', type(x))}")
        data = x.data
        xp = array_module(data)
        flat = data.reshape(-1, data.shape[-1])
        s_x, z_x = qparams_from_range(flat.min(), flat.max(), quint8, per_tensor_affine)
        s_x, z_x = float(s_x), int(z_x)
        lo, hi = qrange(quint8)
        q_x = quantize_array(flat, s_x, z_x, lo, hi, storage_dtype(quint8))
        acc = kernels.quantized_linear(q_x, z_x, self.weight.data, None, self.method)
        y = acc.astype(xp.float32) * (xp.float32(s_x) * self.weight_scale.data)
        if self.bias is not None:
            y += self.bias.data
        return Tensor(y.astype(data.dtype).reshape(data.shape[:-1] + (y.shape[-1],)))

    def extra_repr(self):
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}, int8"


def quantize_dynamic(model: Module, dtype=qint8, inplace: bool = False) -> Module:
    """A copy of ``model`` (or ``model`` itself with ``inplace=True``) with every ``nn.Linear``
    replaced by a :class:`DynamicQuantizedLinear` (``dtype`` 'qint8', the only one)."""
    if dtype != qint8:
        raise ValueError(f"quantize_dynamic: dtype must be 'qint8', got {dtype!r}")
    if not isinstance(model, Module):
        raise TypeError(f"quantize_dynamic: expected an nn.Module, got {type(model).__name__}")
    if isinstance(model, Linear):
        return DynamicQuantizedLinear.from_float(model)
    model = model if inplace else copy.deepcopy(model)
    _swap_linears(model)
    return model.eval()


def _swap_linears(module: Module) -> None:
    for name, child in list(module.named_children()):
        if isinstance(child, Linear):
            setattr(module, name, DynamicQuantizedLinear.from_float(child))
        elif child is not None:
            _swap_linears(child)
