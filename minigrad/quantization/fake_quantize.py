"""Fake quantization: quantize and dequantize in one differentiable step, so training sees
the rounding error of int8 inference (quantization-aware training).

    q   = round(x / s) + z                  (round half to even; x / s as x · (1/s))
    out = s · (clamp(q, q_min, q_max) − z)

    ∂out/∂x = 1 where q_min ≤ q ≤ q_max, 0 where q was clamped      (straight-through)

The true derivative of the rounding is 0 almost everywhere; the straight-through estimator
(Bengio et al. 2013) passes the gradient through the rounding as if it were the identity and
stops it where the value was clamped, as ``torch.fake_quantize_per_tensor_affine`` and
``torch.fake_quantize_per_channel_affine`` do. ``scale`` and ``zero_point`` get no gradient
(they come from an observer). The straight-through gradient is the exact derivative of the
surrogate ``clamp(x, s·(q_min − z − ½), s·(q_max − z + ½))`` (its kinks are where the
rounded code leaves the range): the op table checks the gradient against that derivative.
"""

from __future__ import annotations

import numbers

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor
from .qparams import check_qparams

__all__ = ["FakeQuantizePerTensorAffine", "FakeQuantizePerChannelAffine",
           "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine"]


def _fake_quantize(x, scale, zero_point, quant_min, quant_max):
    """(out, inside mask) for arrays; scale/zero_point numbers or broadcastable arrays."""
    xp = array_module(x)
    dtype = x.dtype.type
    inv_scale = dtype(1) / xp.asarray(scale, dtype=dtype)
    zero = xp.asarray(zero_point).astype(dtype)
    q = xp.rint(x * inv_scale) + zero
    inside = (q >= quant_min) & (q <= quant_max)
    out = (xp.clip(q, quant_min, quant_max) - zero) * xp.asarray(scale, dtype=dtype)
    return out, inside


class FakeQuantizePerTensorAffine(Function):
    """out = s · (clamp(round(x / s) + z, q_min, q_max) − z);  dx = g · [q_min ≤ q ≤ q_max]"""

    def forward(self, x, scale, zero_point, quant_min, quant_max):
        out, inside = _fake_quantize(x, scale, zero_point, quant_min, quant_max)
        self.inside = inside.astype(x.dtype)
        return out

    def backward(self, g):
        return g * Tensor(self.inside)


class FakeQuantizePerChannelAffine(Function):
    """The per-tensor formula with (s_c, z_c) along ``axis``; dx = g · [q_min ≤ q ≤ q_max]."""

    def forward(self, x, scale, zero_point, axis, quant_min, quant_max):
        shape = [1] * x.ndim
        shape[axis] = -1
        out, inside = _fake_quantize(x, scale.reshape(shape), zero_point.reshape(shape),
                                     quant_min, quant_max)
        self.inside = inside.astype(x.dtype)
        return out

    def backward(self, g):
        return g * Tensor(self.inside)


def _check_range(quant_min, quant_max, owner):
    for name, value in (("quant_min", quant_min), ("quant_max", quant_max)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{owner}: {name} must be an int, got {value!r}")
    if not quant_min < quant_max:
        raise ValueError(f"{owner}: quant_min ({quant_min}) must be less than quant_max "
                         f"({quant_max})")


def _check_input(input, owner):
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"{owner}: input must be a float Tensor, got {type(input).__name__} "
                        f"of dtype {getattr(input, 'dtype', None)}")


def fake_quantize_per_tensor_affine(input, scale, zero_point, quant_min: int,
                                    quant_max: int) -> Tensor:
    """Fake-quantize ``input`` with one (scale, zero_point) (numbers, or 0-d/1-element
    Tensors), as ``torch.fake_quantize_per_tensor_affine``: see the module docstring."""
    owner = "fake_quantize_per_tensor_affine"
    _check_input(input, owner)
    _check_range(quant_min, quant_max, owner)
    scale = float(scale.item() if isinstance(scale, Tensor) else scale)
    zero_point = int(zero_point.item() if isinstance(zero_point, Tensor) else zero_point)
    check_qparams(scale, zero_point, quant_min, quant_max, owner)
    return FakeQuantizePerTensorAffine.apply(input, scale=scale, zero_point=zero_point,
                                             quant_min=int(quant_min), quant_max=int(quant_max))


def fake_quantize_per_channel_affine(input, scale, zero_point, axis: int, quant_min: int,
                                     quant_max: int) -> Tensor:
    """Fake-quantize ``input`` with (scale[c], zero_point[c]) along ``axis`` (Tensors or
    arrays of length ``input.shape[axis]``), as ``torch.fake_quantize_per_channel_affine``."""
    owner = "fake_quantize_per_channel_affine"
    _check_input(input, owner)
    _check_range(quant_min, quant_max, owner)
    if isinstance(axis, bool) or not isinstance(axis, numbers.Integral) or \
            not -input.ndim <= axis < max(input.ndim, 1):
        raise ValueError(f"{owner}: axis {axis!r} is out of range for an input of shape "
                         f"{tuple(input.shape)}")
    axis = int(axis) % input.ndim
    xp = array_module(input.data)
    s = scale.data if isinstance(scale, Tensor) else xp.asarray(scale)
    z = zero_point.data if isinstance(zero_point, Tensor) else xp.asarray(zero_point)
    channels = input.shape[axis]
    if tuple(s.shape) != (channels,) or tuple(z.shape) != (channels,):
        raise ValueError(f"{owner}: scale {tuple(s.shape)} and zero_point {tuple(z.shape)} must "
                         f"both have shape ({channels},) for axis {axis} of an input of shape "
                         f"{tuple(input.shape)}")
    check_qparams(s, z, quant_min, quant_max, owner)
    return FakeQuantizePerChannelAffine.apply(
        input, scale=s.astype(input.dtype), zero_point=z.astype(xp.int64), axis=axis,
        quant_min=int(quant_min), quant_max=int(quant_max))


# ---------------------------------------------------------------------------------------------
# The module: an observer and the fake-quantize function, for quantization-aware training

from ..nn.module import Module  # noqa: E402  (after the functions: they need nothing of nn)


class FakeQuantize(Module):
    """out = fake_quantize(x) with (scale, zero_point) from ``observer`` (a class, built with
    ``**observer_kwargs``), as ``torch.ao.quantization.FakeQuantize``. The observer sees the
    input in training mode only (minigrad differs here: PyTorch observes until
    ``disable_observer()``; here ``eval()`` freezes the range). ``fake_quant_enabled`` and
    ``observer_enabled`` switch either part off."""

    def __init__(self, observer, **observer_kwargs):
        super().__init__()
        self.activation_post_process = observer(**observer_kwargs)
        self.fake_quant_enabled = True
        self.observer_enabled = True

    def calculate_qparams(self):
        return self.activation_post_process.calculate_qparams()

    def forward(self, x):
        observer = self.activation_post_process
        if self.observer_enabled and self.training:
            observer(x.detach())
        if not self.fake_quant_enabled:
            return x
        scale, zero_point = observer.calculate_qparams()
        lo, hi = observer.quant_min, observer.quant_max
        if observer.per_channel:
            return fake_quantize_per_channel_affine(x, scale, zero_point, observer.ch_axis,
                                                    lo, hi)
        return fake_quantize_per_tensor_affine(x, float(scale), int(zero_point), lo, hi)

    def extra_repr(self):
        return f"fake_quant_enabled={self.fake_quant_enabled}, " \
               f"observer_enabled={self.observer_enabled}"
