"""The array protocols, so other libraries can read a Tensor and minigrad can read theirs:
``Tensor.__array__`` (NumPy), ``Tensor.__dlpack__`` / ``Tensor.__dlpack_device__`` and
:func:`from_dlpack` (DLPack: NumPy, CuPy, PyTorch, JAX, ...), and
``Tensor.__cuda_array_interface__`` (CuPy, Numba, ... on a GPU). They are attached to Tensor
here, as :mod:`minigrad.ops` attaches the ops.

Every choice follows PyTorch's (checked against torch 2.13):

- ``np.asarray(t)`` shares ``t.data`` on the cpu. A cuda tensor is refused with a
  ``TypeError`` saying to call ``t.cpu()``: a GPU tensor is never copied to the host silently,
  as PyTorch refuses too (its ``__array__`` calls ``numpy()``, which refuses non-cpu tensors).
  (minigrad's own ``t.numpy()`` does copy a cuda tensor to the host: asking for it by name is
  explicit.) A tensor that requires grad is refused with a ``RuntimeError`` while grad mode is
  on (as PyTorch's ``numpy()``; under ``no_grad`` it converts): use ``np.asarray(t.detach())``.
- NumPy 2's ``copy=`` keyword: ``copy=True`` always gives a new array, ``copy=None`` shares
  when it can, ``copy=False`` shares or raises ``ValueError`` (when a dtype change needs a
  copy). Here minigrad goes beyond PyTorch 2.13, whose ``__array__`` takes no ``copy=``, so
  NumPy refuses every ``copy=False`` on a torch tensor (with a ``DeprecationWarning``).
- ``__dlpack__`` refuses a tensor that requires grad with a ``BufferError`` whatever the grad
  mode (PyTorch's rule: the capsule cannot carry the graph); export ``t.detach()``. Otherwise it
  is the ``__dlpack__`` of the NumPy or CuPy array, so memory is shared and CuPy handles the
  CUDA stream. ``__dlpack_device__`` is ``(1, 0)`` (kDLCPU) on the cpu and CuPy's answer
  (``(2, N)``, kDLCUDA, for cuda:N) on a GPU.
- :func:`from_dlpack` shares memory: host memory through ``numpy.from_dlpack``, GPU memory
  through CuPy's ``from_dlpack`` (the backend's CuPy: :func:`minigrad.backend.cupy`).
- ``__cuda_array_interface__`` exists on CuPy-backed tensors only: on a cpu tensor it raises
  ``AttributeError``, so ``hasattr`` is False there, as in PyTorch.
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import is_grad_enabled
from .dtypes import check_dtype
from .tensor import Tensor

__all__ = ["from_dlpack"]

# DLPack's device types (dlpack.h, DLDeviceType)
KDL_CPU, KDL_CUDA, KDL_CUDA_HOST, KDL_ROCM, KDL_ROCM_HOST, KDL_CUDA_MANAGED = 1, 2, 3, 10, 11, 13
_HOST_MEMORY = (KDL_CPU, KDL_CUDA_HOST, KDL_ROCM_HOST)  # NumPy can read these
_GPU_MEMORY = (KDL_CUDA, KDL_ROCM, KDL_CUDA_MANAGED)    # CuPy can


def _array(self, dtype=None, copy=None):
    """``np.asarray(tensor)``, ``np.array(tensor, dtype, copy=...)``: the data on the cpu."""
    if self.device.type != "cpu":
        raise TypeError(f"__array__: can't convert a {self.device} tensor to a NumPy array "
                        f"implicitly (a GPU tensor is never copied to the host silently, as in "
                        f"PyTorch); use tensor.cpu() to copy it to host memory first")
    if self._requires_grad and is_grad_enabled():
        raise RuntimeError("__array__: can't convert a tensor that requires grad to a NumPy "
                           "array (as PyTorch's numpy()); use np.asarray(tensor.detach()) or "
                           "tensor.detach().numpy() instead, or convert under minigrad.no_grad()")
    array = self.data
    if dtype is not None and np.dtype(dtype) != array.dtype:
        if copy is False:
            raise ValueError(f"__array__: copy=False, but converting the {array.dtype} tensor "
                             f"to {np.dtype(dtype)} needs a copy")
        return array.astype(dtype)
    if copy:
        return np.array(array, copy=True)
    if not isinstance(array, np.ndarray):  # a NumPy scalar (a constant): nothing to share
        if copy is False:
            raise ValueError("__array__: copy=False, but this 0-d tensor holds a NumPy scalar, "
                             "which no array can share")
        return np.asarray(array)
    return array


def _refuse_grad(tensor: Tensor, where: str) -> None:
    if tensor._requires_grad:
        raise BufferError(f"{where}: can't export a tensor that requires grad (DLPack cannot "
                          f"carry the graph; PyTorch refuses too); use tensor.detach()")


def _dlpack(self, *, stream=None, max_version=None, dl_device=None, copy=None):
    """A DLPack capsule of the data (shared, not copied), for ``np.from_dlpack(tensor)``,
    ``torch.from_dlpack(tensor)``, ``cupy.from_dlpack(tensor)``; the arguments are the DLPack
    protocol's, handed to the NumPy or CuPy array (those left None are not passed, so a
    producer that predates a keyword still answers)."""
    _refuse_grad(self, "__dlpack__")
    array = self.data
    if isinstance(array, np.generic):
        array = np.asarray(array)  # the capsule keeps this 0-d array alive
    export = getattr(array, "__dlpack__", None)
    if export is None:
        raise BufferError(f"__dlpack__: the array of this {self.device} tensor "
                          f"({type(array).__name__}) does not export DLPack")
    if self.device.type == "cpu" and stream == -1:
        stream = None  # -1 ("no synchronization") means nothing on the cpu, as in PyTorch
    options = {"stream": stream, "max_version": max_version, "dl_device": dl_device,
               "copy": copy}
    return export(**{name: value for name, value in options.items() if value is not None})


def _dlpack_device(self) -> tuple:
    """``(device type, device index)`` in DLPack's numbering: ``(1, 0)`` on the cpu."""
    if self.device.type == "cpu":
        return (KDL_CPU, 0)
    ask = getattr(self.data, "__dlpack_device__", None)
    if ask is None:  # an array that does not say (the test suite's stand-in GPU): CUDA
        return (KDL_CUDA, self.device.index)
    device_type, index = ask()  # CuPy knows CUDA from ROCm and managed memory
    return (int(device_type), int(index))


def _cuda_array_interface(self) -> dict:
    """The CuPy array's ``__cuda_array_interface__`` (pointer, shape, strides, typestr)."""
    if self.device.type == "cpu":
        raise AttributeError("__cuda_array_interface__: a cpu tensor has none (as in PyTorch); "
                             "use tensor.cuda() to copy it to device memory first")
    if self._requires_grad:
        raise RuntimeError("__cuda_array_interface__: the tensor requires grad (as in "
                           "PyTorch, refused); use tensor.detach()")
    try:
        return self.data.__cuda_array_interface__
    except AttributeError:
        raise AttributeError(f"__cuda_array_interface__: the array of this {self.device} "
                             f"tensor ({type(self.data).__name__}) has none") from None


Tensor.__array__ = _array
Tensor.__dlpack__ = _dlpack
Tensor.__dlpack_device__ = _dlpack_device
Tensor.__cuda_array_interface__ = property(_cuda_array_interface)


def from_dlpack(obj) -> Tensor:
    """A tensor sharing memory with ``obj``: anything with ``__dlpack__`` and
    ``__dlpack_device__`` (a NumPy or CuPy array, a PyTorch or JAX tensor, a minigrad tensor).

    Host memory comes through ``numpy.from_dlpack`` (a cpu tensor), GPU memory through CuPy's
    ``from_dlpack`` (a cuda tensor on the same GPU). As in PyTorch, a tensor that requires grad
    is refused (``BufferError``); so are dtypes a tensor cannot hold (``TypeError``: complex,
    for one) and memory neither NumPy nor CuPy can read (``BufferError``).
    """
    if isinstance(obj, Tensor):
        _refuse_grad(obj, "from_dlpack")
        obj = np.asarray(obj.data) if isinstance(obj.data, np.generic) else obj.data
    if backend.is_device_array(obj):  # a CuPy array: CuPy's own import, no device to ask
        array = backend.cupy().from_dlpack(obj)
    else:
        try:
            device_type, device_index = obj.__dlpack_device__()
        except AttributeError:
            raise TypeError(f"from_dlpack: expected an array with __dlpack__ and "
                            f"__dlpack_device__ (a NumPy or CuPy array, a PyTorch or JAX "
                            f"tensor), got {type(obj).__name__}") from None
        if device_type in _HOST_MEMORY:
            array = np.from_dlpack(obj)
        elif device_type in _GPU_MEMORY:
            array = backend.cupy().from_dlpack(obj)
        else:
            raise BufferError(f"from_dlpack: the {type(obj).__name__} is on DLPack device type "
                              f"{int(device_type)} (index {device_index}); minigrad reads host "
                              f"memory (through NumPy) and CUDA or ROCm memory (through CuPy)")
    check_dtype(array.dtype, "from_dlpack", obj)
    return Tensor._make(array)
