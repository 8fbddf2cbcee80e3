"""Factory functions: tensors of zeros, ones, ranges and random values on any device."""

from __future__ import annotations

import numpy as np

from . import backend
from .dtypes import check_dtype
from .tensor import Tensor

__all__ = ["zeros", "ones", "full", "arange", "linspace", "eye", "rand", "randn", "randint",
           "zeros_like", "ones_like", "full_like", "from_numpy", "empty", "empty_like",
           "set_default_dtype", "get_default_dtype"]


def set_default_dtype(dtype) -> None:
    """The dtype of new floating tensors: what ``tensor([1.0])``, ``zeros``, ``rand`` and the
    other creation functions give when no dtype is named (float32 at start, as in PyTorch).
    A floating dtype only."""
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise TypeError(f"set_default_dtype: only floating dtypes can be the default, got {dtype}")
    backend.default_float = dtype


def get_default_dtype():
    """The dtype of new floating tensors (see :func:`set_default_dtype`)."""
    return backend.default_float


def _shape(size):
    if len(size) == 1 and not isinstance(size[0], (int, np.integer)):
        return tuple(size[0])
    return tuple(size)


def _dtype(dtype, where, default=None):
    """The dtype asked for (or the default), refused if a tensor cannot hold it."""
    return check_dtype(dtype if dtype is not None else default or backend.default_float, where)


def _made(array, requires_grad):
    return Tensor._make(array).requires_grad_(requires_grad)


def zeros(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    with backend.on_device(device):
        array = backend.module_for(device).zeros(_shape(size), dtype=_dtype(dtype, "zeros"))
    return _made(array, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    with backend.on_device(device):
        array = backend.module_for(device).ones(_shape(size), dtype=_dtype(dtype, "ones"))
    return _made(array, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A tensor of ``fill_value``; the dtype follows the value (float32, int64 or bool)."""
    if dtype is None:
        dtype = (np.bool_ if isinstance(fill_value, bool)
                 else np.int64 if isinstance(fill_value, int) else backend.default_float)
    dtype = _dtype(dtype, "full")
    with backend.on_device(device):
        array = backend.module_for(device).full(_shape((size,)), fill_value, dtype=dtype)
    return _made(array, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """A new tensor of ``size`` (minigrad fills it with zeros: there is no uninitialized
    memory to hand out)."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros_like(t, dtype=dtype, device=device, requires_grad=requires_grad)


def zeros_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return zeros(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                 requires_grad=requires_grad)


def ones_like(t, dtype=None, device=None, requires_grad=False) -> Tensor:
    return ones(t.shape, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def full_like(t, fill_value, dtype=None, device=None, requires_grad=False) -> Tensor:
    return full(t.shape, fill_value, dtype=dtype or t.dtype, device=device or t.device,
                requires_grad=requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False) -> Tensor:
    """start, start + step, ... below end; int64 for integer arguments, else float32."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        integral = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if integral else backend.default_float
    dtype = _dtype(dtype, "arange")
    with backend.on_device(device):
        array = backend.module_for(device).arange(start, end, step, dtype=dtype)
    return _made(array, requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False) -> Tensor:
    """``steps`` evenly spaced values from start to end, both included."""
    dtype = _dtype(dtype, "linspace")
    with backend.on_device(device):
        array = backend.module_for(device).linspace(start, end, steps, dtype=dtype)
    return _made(array, requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False) -> Tensor:
    with backend.on_device(device):
        array = backend.module_for(device).eye(n, m, dtype=_dtype(dtype, "eye"))
    return _made(array, requires_grad)


def rand(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Uniform on [0, 1), from ``device``'s generator (see ``manual_seed``)."""
    array = backend.generator(device).random(_shape(size), _dtype(dtype, "rand"))
    return _made(array, requires_grad)


def randn(*size, dtype=None, device=None, requires_grad=False) -> Tensor:
    """Standard normal, from ``device``'s generator."""
    array = backend.generator(device).normal(_shape(size), _dtype(dtype, "randn"))
    return _made(array, requires_grad)


def randint(low, high=None, size=(), dtype=None, device=None) -> Tensor:
    """Uniform integers on [low, high) (``randint(high, size=...)`` starts at 0)."""
    if high is None:
        low, high = 0, low
    dtype = _dtype(dtype, "randint", np.int64)
    array = backend.generator(device).integers(low, high, tuple(size), dtype)
    return Tensor._make(array)


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with a NumPy array (changes show in both)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(array).__name__}")
    check_dtype(array.dtype, "from_numpy", array)
    return Tensor._make(array)
