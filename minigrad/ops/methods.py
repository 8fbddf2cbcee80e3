"""Tensor methods that are not math: in-place updates (``+=``, ``add_``, ``fill_``,
``uniform_``, ``clamp_``, ...), constructors from a tensor (``new_zeros``, ``new_tensor``,
``type_as``), ``detach_``, and the function forms ``minigrad.numel``, ``is_tensor``, ``clone``
and ``detach``.

In-place updates happen outside the graph; on a tensor that requires grad they are refused
unless grad mode is off (``with minigrad.no_grad():``), as the operators ``+=`` are.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _as_array, _raw
from ..dtypes import check_dtype
from ._registry import op, register

__all__: list = []


def _iadd(data, value):
    data += value


def _isub(data, value):
    data -= value


def _imul(data, value):
    data *= value


def _idiv(data, value):
    data /= value


def _fill(data, value):
    data[...] = value


@op("__iadd__", module=False)
def _add_in_place(self, other):
    return self._inplace("+=", _iadd, other)


@op("__isub__", module=False)
def _sub_in_place(self, other):
    return self._inplace("-=", _isub, other)


@op("__imul__", module=False)
def _mul_in_place(self, other):
    return self._inplace("*=", _imul, other)


@op("__itruediv__", module=False)
def _div_in_place(self, other):
    return self._inplace("/=", _idiv, other)


@op(module=False)
def add_(self, other, alpha=1):
    """self += alpha * other, in place (outside the graph)."""
    if alpha != 1:
        other = _raw(other) * alpha
    return self._inplace("add_", _iadd, other)


@op(module=False)
def sub_(self, other, alpha=1):
    return add_(self, other, alpha=-alpha)


@op(module=False)
def mul_(self, other):
    return self._inplace("mul_", _imul, other)


@op(module=False)
def div_(self, other):
    return self._inplace("div_", _idiv, other)


@op(module=False)
def zero_(self):
    return self._inplace("zero_", _fill, 0)


@op(module=False)
def fill_(self, value):
    return self._inplace("fill_", _fill, value)


@op(module=False)
def copy_(self, src):
    src = backend.to_device(_raw(src), self.device)
    return self._inplace("copy_", _fill, src)


@op("clamp_", "clip_", module=False)
def clamp_(self, min=None, max=None):
    """Limit to [min, max] in place (either may be None)."""
    if min is None and max is None:
        raise ValueError("clamp_: give at least one of min and max")
    low, high = _raw(min), _raw(max)

    def clip(data, _):
        backend.array_module(data).clip(data, low, high, out=data)
    return self._inplace("clamp_", clip)


def _draw_dtype(t, op):
    """The dtype random draws are made in: the tensor's own (float32 or float64)."""
    if t.data.dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got {t.dtype}")
    return t.data.dtype if t.data.dtype in (np.float32, np.float64) else np.dtype(np.float64)


@op(module=False)
def uniform_(self, a=0.0, b=1.0):
    """Fill in place with draws from U(a, b): a + (b - a) · u, u ~ U(0, 1), from the device's
    generator (see ``minigrad.manual_seed``)."""
    u = backend.generator(self.device).random(self.data.shape, _draw_dtype(self, "uniform_"))
    u *= float(b) - float(a)  # Python floats: a NumPy float64 scalar would upcast float32
    u += float(a)
    return self._inplace("uniform_", _fill, u)


@op(module=False)
def normal_(self, mean=0.0, std=1.0):
    """Fill in place with draws from N(mean, std²): mean + std · z, z ~ N(0, 1)."""
    z = backend.generator(self.device).normal(self.data.shape, _draw_dtype(self, "normal_"))
    z *= float(std)
    z += float(mean)
    return self._inplace("normal_", _fill, z)


@op(module=False)
def detach_(self):
    """Cut this tensor from the graph in place: it becomes a leaf that does not require grad."""
    self.grad_fn = None
    self._requires_grad = False
    return self


# --- constructors from a tensor: its dtype and device unless told otherwise ---------------------


def _new(self, array, requires_grad):
    return Tensor._make(array).requires_grad_(requires_grad)


def _size(size):
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        return tuple(size[0])
    return tuple(size)


def _on(self, device):
    return self.device if device is None else backend.device(device)


@op(module=False)
def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
    """Zeros of ``size`` with this tensor's dtype and device (unless given)."""
    return _new_filled(self, _size(size), 0, dtype, device, requires_grad)


@op(module=False)
def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
    return _new_filled(self, _size(size), 1, dtype, device, requires_grad)


@op(module=False)
def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
    """Like :meth:`new_zeros` (minigrad fills new memory with zeros)."""
    return _new_filled(self, _size(size), 0, dtype, device, requires_grad)


@op(module=False)
def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False):
    return _new_filled(self, tuple(size), fill_value, dtype, device, requires_grad)


def _new_filled(self, shape, value, dtype, device, requires_grad):
    dev = _on(self, device)
    dtype = self.data.dtype if dtype is None else check_dtype(dtype, "new_full")
    with backend.on_device(dev):
        array = backend.module_for(dev).full(shape, value, dtype=dtype)
    return _new(self, array, requires_grad)


@op(module=False)
def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False):
    """A copy of ``data`` with this tensor's dtype and device (unless given)."""
    array = _as_array(data, self.data.dtype if dtype is None else dtype, _on(self, device))
    return _new(self, array, requires_grad)


@op(module=False)
def type_as(self, other):
    """This tensor converted to ``other``'s dtype and device."""
    return self.to(other.dtype, other.device)


@op(method=False)
def is_tensor(obj) -> bool:
    """Whether ``obj`` is a minigrad Tensor."""
    return isinstance(obj, Tensor)


register(Tensor.numel, "numel", method=False)
register(Tensor.clone, "clone", method=False)
register(Tensor.detach, "detach", method=False)
