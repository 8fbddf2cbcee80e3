"""Devices, array modules and random number generators: the one place that knows about CuPy.

A tensor's data is a ``numpy.ndarray`` (device ``cpu``) or a ``cupy.ndarray`` (device
``cuda:N``). Op code asks :func:`array_module` for the module of its arrays and never branches
on the device. CuPy is imported lazily, the first time a ``cuda`` device is asked for, so
``import minigrad`` costs no more than ``import numpy``.
"""

from __future__ import annotations

import math
import re
import sys
import threading

import numpy as np

__all__ = [
    "Device", "device", "cpu", "array_module", "device_of", "is_device_array", "to_device", "cupy",
    "cuda_is_available", "cuda_device_count", "nccl", "manual_seed", "generator", "default_float",
    "set_num_threads", "get_num_threads", "blas_threads", "pooled_empty", "clear_pool",
]

default_float = np.dtype(np.float32)

_cupy = None  # the cupy module once imported


class Device:
    """A device: ``Device('cpu')``, ``Device('cuda')`` (= ``cuda:0``) or ``Device('cuda:1')``.

    Compares equal to its string form, so ``t.device == 'cpu'`` works.
    """

    __slots__ = ("type", "index")

    def __init__(self, type: str, index: int | None = None):
        self.type = type
        self.index = index

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"

    def __eq__(self, other) -> bool:
        if isinstance(other, str):
            try:
                other = device(other)
            except ValueError:
                return False
        return isinstance(other, Device) and other.type == self.type and other.index == self.index

    def __hash__(self) -> int:
        return hash(str(self))  # equal to its string form, so it hashes like it


cpu = Device("cpu")
_DEVICE_PATTERN = re.compile(r"(cpu|cuda)(?::([0-9]+))?")
_cuda_devices: dict[int, Device] = {}


def device(spec) -> Device:
    """Parse ``'cpu'``, ``'cuda'``, ``'cuda:N'``, a :class:`Device` or ``None`` (= cpu)."""
    if spec is None:
        return cpu
    if isinstance(spec, Device):
        return spec
    if isinstance(spec, str):
        match = _DEVICE_PATTERN.fullmatch(spec)
        if match and match[1] == "cpu" and match[2] in (None, "0"):
            return cpu
        if match and match[1] == "cuda":
            n = int(match[2] or 0)
            return _cuda_devices.setdefault(n, Device("cuda", n))
    raise ValueError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")


def cupy():
    """Import and return CuPy, with a clear error if it or a GPU is missing."""
    global _cupy
    if _cupy is None:
        try:
            import cupy as cp
        except ImportError as exc:
            raise RuntimeError(
                "a 'cuda' device needs CuPy, which is not installed: "
                "pip install 'minigrad[cuda12]' or 'minigrad[cuda13]' to match your CUDA"
            ) from exc
        try:
            count = cp.cuda.runtime.getDeviceCount()
        except Exception as exc:  # CUDA driver missing or broken
            raise RuntimeError(f"CuPy is installed but no CUDA GPU can be used: {exc}") from exc
        if count == 0:
            raise RuntimeError("CuPy is installed but no CUDA GPU was found")
        _cupy = cp
    return _cupy


def nccl():
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), for collectives on GPU arrays, with a clear
    error if CuPy, a GPU or NCCL is missing."""
    cupy()
    try:
        from cupy.cuda import nccl as bindings
    except ImportError as exc:
        raise RuntimeError("NCCL collectives need CuPy with NCCL (cupy.cuda.nccl does not "
                           "import); use backend='mpi' and host arrays instead") from exc
    return bindings


def cuda_is_available() -> bool:
    """True when CuPy imports and at least one CUDA GPU answers."""
    try:
        cupy()
    except RuntimeError:
        return False
    return True


def cuda_device_count() -> int:
    return cupy().cuda.runtime.getDeviceCount() if cuda_is_available() else 0


def array_module(x):
    """``numpy`` for NumPy arrays (and anything that is not a CuPy array), else ``cupy``."""
    if type(x) is np.ndarray or _cupy is None:
        return np
    return _cupy.get_array_module(x)


def is_device_array(obj) -> bool:
    """True for a CuPy array (an array on a cuda device)."""
    return _cupy is not None and isinstance(obj, _cupy.ndarray)


def device_of(array) -> Device:
    """The device an array lives on."""
    if type(array) is np.ndarray or _cupy is None or not isinstance(array, _cupy.ndarray):
        return cpu
    return device(f"cuda:{array.device.id}")


def _check_cuda_index(dev: Device):
    cp = cupy()
    count = cp.cuda.runtime.getDeviceCount()
    if dev.index >= count:
        raise RuntimeError(f"device {dev} does not exist: this machine has {count} CUDA GPU(s)")
    return cp


def to_device(array, dev):
    """``array`` on device ``dev`` (the same object when it is already there)."""
    dev = device(dev)
    if dev.type == "cpu":
        if device_of(array).type == "cpu":
            return np.asarray(array)
        return array.get()
    cp = _check_cuda_index(dev)
    if isinstance(array, cp.ndarray) and array.device.id == dev.index:
        return array
    with cp.cuda.Device(dev.index):
        return cp.asarray(array)


def on_device(dev):
    """A context manager making ``dev`` current for array creation (a no-op on cpu)."""
    dev = device(dev)
    if dev.type == "cpu":
        return _NullContext()
    return _check_cuda_index(dev).cuda.Device(dev.index)


def module_for(dev):
    """The array module that creates arrays on ``dev``."""
    dev = device(dev)
    return np if dev.type == "cpu" else _check_cuda_index(dev)


class _NullContext:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


# ---------------------------------------------------------------------------------------------
# Random numbers: one generator per device, all seeded by manual_seed.

_seed: int | None = None
_generators: dict[Device, "Generator"] = {}


class Generator:
    """One device's random stream, with the same three draws on NumPy and CuPy."""

    def __init__(self, dev: Device, seed: int | None):
        self.device = dev
        if dev.type == "cpu":
            self._rng = np.random.Generator(np.random.PCG64(seed))
        else:
            cp = _check_cuda_index(dev)
            with cp.cuda.Device(dev.index):
                self._rng = cp.random.RandomState(seed)

    def random(self, shape, dtype):
        """Uniform on [0, 1)."""
        if self.device.type == "cpu":
            return self._rng.random(shape, dtype=dtype)
        with on_device(self.device):
            return self._rng.random_sample(shape, dtype=dtype)

    def normal(self, shape, dtype):
        """Standard normal."""
        if self.device.type == "cpu":
            return self._rng.standard_normal(shape, dtype=dtype)
        with on_device(self.device):
            return self._rng.standard_normal(shape, dtype=dtype)

    def integers(self, low, high, shape, dtype):
        """Uniform integers on [low, high)."""
        if self.device.type == "cpu":
            return self._rng.integers(low, high, shape, dtype=dtype)
        with on_device(self.device):
            return self._rng.randint(low, high, shape, dtype=dtype)

    def permutation(self, n: int):
        if self.device.type == "cpu":
            return self._rng.permutation(n)
        with on_device(self.device):
            return self._rng.permutation(n)

    def get_state(self) -> dict:
        """A JSON-able snapshot (cpu only: CuPy offers no portable state)."""
        if self.device.type != "cpu":
            raise RuntimeError(f"saving the random state of {self.device} is not supported")
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        if self.device.type != "cpu":
            raise RuntimeError(f"restoring the random state of {self.device} is not supported")
        self._rng.bit_generator.state = state


def manual_seed(seed: int) -> None:
    """Seed the random stream of every device (cpu now, each cuda device when first used)."""
    global _seed
    _seed = int(seed)
    for dev in list(_generators):
        _generators[dev] = Generator(dev, _seed)


def generator(dev=None) -> Generator:
    """The random stream of ``dev`` (created on first use, from the last ``manual_seed``)."""
    dev = device(dev)
    gen = _generators.get(dev)
    if gen is None:
        gen = _generators[dev] = Generator(dev, _seed)
    return gen


# --- BLAS threads ------------------------------------------------------------------------------

_OPENBLAS_SETTERS = ("openblas_set_num_threads", "scipy_openblas_set_num_threads64_",
                     "scipy_openblas_set_num_threads", "openblas_set_num_threads64_")
_OPENBLAS_GETTERS = ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                     "scipy_openblas_get_num_threads", "openblas_get_num_threads64_")
_openblas_found: list = []   # (file name, setter, getter or None) once found; they never unload


def _openblas_libraries() -> list:
    """(file name, set_num_threads, get_num_threads or None) of each OpenBLAS this process has
    mapped (Linux: read from /proc/self/maps; the lookup is kept once something is found)."""
    import ctypes
    import os

    if _openblas_found:
        return _openblas_found
    paths = []
    try:
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as maps:
            for line in maps:
                fields = line.split()
                path = fields[-1] if len(fields) >= 6 else ""
                if "openblas" in os.path.basename(path).lower() and path not in paths:
                    paths.append(path)
    except OSError:
        pass
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        setter = next((getattr(lib, s) for s in _OPENBLAS_SETTERS if hasattr(lib, s)), None)
        if setter is None:
            continue
        setter.argtypes, setter.restype = [ctypes.c_int], None
        getter = next((getattr(lib, s) for s in _OPENBLAS_GETTERS if hasattr(lib, s)), None)
        if getter is not None:
            getter.argtypes, getter.restype = [], ctypes.c_int
        _openblas_found.append((os.path.basename(path), setter, getter))
    return _openblas_found


def set_num_threads(n: int) -> list:
    """Limit the OpenBLAS library NumPy has loaded to ``n`` threads, in this process (the cpu
    matmuls; like ``torch.set_num_threads``). Small models often run faster on one thread, and
    much faster on a busy machine, where BLAS threads wait for each other's cores.

    NumPy reads ``OPENBLAS_NUM_THREADS`` only when it is first imported, so this calls
    OpenBLAS's own ``openblas_set_num_threads`` (under whichever exported name the build uses)
    through ctypes, finding the library among the files this process has mapped (Linux).
    Returns the names of the libraries changed; raises RuntimeError when none was found
    (another BLAS, or another system), saying which environment variable to set instead.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive int, got {n!r}")
    libraries = _openblas_libraries()
    if not libraries:
        raise RuntimeError(f"set_num_threads: cannot find NumPy's OpenBLAS in this process to "
                           f"limit it; set OPENBLAS_NUM_THREADS={n} (OpenBLAS), "
                           f"MKL_NUM_THREADS={n} (MKL) or OMP_NUM_THREADS={n} in the "
                           f"environment before starting Python instead")
    for _, setter, _ in libraries:
        setter(int(n))
    return [name for name, _, _ in libraries]


def get_num_threads():
    """The thread count of NumPy's OpenBLAS now (``openblas_get_num_threads``), or None where
    no OpenBLAS (or no getter) is found."""
    counts = [getter() for _, _, getter in _openblas_libraries() if getter is not None]
    return counts[0] if counts else None


class blas_threads:
    """``with blas_threads(n):`` runs its block with NumPy's OpenBLAS on ``n`` threads, then
    restores the count it found. For small linear algebra (matrices of a few hundred rows),
    where threads cost more to start and synchronize than they save, most of all on a busy
    machine. The count is the process's: not for blocks running at once in several Python
    threads. Where no OpenBLAS with a getter is found, the block runs unchanged."""

    def __init__(self, n: int):
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"blas_threads: n must be a positive int, got {n!r}")
        self.n, self.previous = int(n), None

    def __enter__(self):
        self.previous = get_num_threads()
        if self.previous is not None and self.previous != self.n:
            set_num_threads(self.n)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None and self.previous != self.n:
            set_num_threads(self.previous)


# --- reused result arrays ----------------------------------------------------------------------

class _ResultPool(threading.local):
    """Per thread: (shape, dtype) -> large arrays handed out before, kept for reuse."""

    def __init__(self):
        self.arrays = {}


_result_pool = _ResultPool()
_POOL_MIN_BYTES = 1 << 18   # smaller blocks come from malloc's heap without page faults
_POOL_PER_KEY = 4
_POOL_KEYS = 64


def _references(arrays: list, i: int) -> int:
    return sys.getrefcount(arrays[i])


# The count _references sees for an array only the pool's list holds, measured on this
# interpreter (so an optimization that stops counting some stack references cannot fool it).
_UNREFERENCED = _references([np.empty(0)], 0)
# A free-threaded interpreter may defer reference counting: do not trust the counts there.
_POOLING = getattr(sys, "_is_gil_enabled", lambda: True)()


def pooled_empty(shape, dtype, xp=np):
    """An uninitialized array for an op's result or a temporary: a large NumPy array made
    earlier and no longer referenced anywhere (no Tensor, view or variable holds it), else a
    new one, which the pool remembers.

    Why: a fresh multi-megabyte array comes from the operating system page by page (a page
    fault every 4 KiB) and goes back when freed, so a training step that allocates its
    large activations anew pays for that every step; a hand-written loop reuses its buffers.
    Reference counts tell when nobody can see an array any more, so reuse is safe. Small
    arrays, CuPy arrays (CuPy has its own pool) and shapes beyond the pool's size are plain
    ``xp.empty``. Like a caching allocator, the pool keeps its arrays (at most 4 of each of
    the 64 most recent shapes, per thread) after their last user is gone; :func:`clear_pool`
    hands that memory back.
    """
    dtype = np.dtype(dtype)
    if xp is not np or not _POOLING:
        return xp.empty(shape, dtype=dtype)
    shape = tuple(shape)
    if dtype.itemsize * math.prod(shape) < _POOL_MIN_BYTES:
        return np.empty(shape, dtype=dtype)
    pool = _result_pool.arrays
    key = (shape, dtype)
    arrays = pool.get(key)
    if arrays is None:
        if len(pool) >= _POOL_KEYS:  # shapes keep changing: forget the oldest
            del pool[next(iter(pool))]
        arrays = pool[key] = []
    for i in range(len(arrays)):
        if _references(arrays, i) == _UNREFERENCED:
            return arrays[i]
    array = np.empty(shape, dtype=dtype)
    if len(arrays) < _POOL_PER_KEY:
        arrays.append(array)
    return array


def clear_pool() -> None:
    """Forget this thread's pooled arrays (see :func:`pooled_empty`), so the memory of those
    nobody holds goes back to the system."""
    _result_pool.arrays.clear()
