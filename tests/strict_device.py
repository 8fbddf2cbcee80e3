"""A strict stand-in for CuPy, so the suite can run minigrad's GPU code path on a machine
without a GPU (``MINIGRAD_TEST_DEVICES=cpu,strict``).

:func:`install` puts :data:`module` where minigrad's backend keeps the imported CuPy, so a
``'cuda'`` device exists and every array on it is a :class:`StrictArray`: NumPy underneath, but
it behaves like a ``cupy.ndarray`` in the ways that break NumPy-only code, and more strictly:

- implicit conversion to NumPy raises CuPy's ``TypeError``: ``np.asarray(a)``, ``np.array(a)``
  (``__array__``), any ``np.*`` function given one (``__array_function__``) and any NumPy
  ufunc called on one (``np.exp(a)``; ``__array_ufunc__``). Only the operator form with a NumPy
  *scalar* (``np.float32(2) * a``) is let through, as CuPy does;
- mixing with a host ``numpy.ndarray`` in an operator or an ``xp.*`` function raises the
  ``TypeError`` CuPy raises ("Unsupported type"); NumPy scalars and Python numbers are fine;
- ``xp.*`` functions and array methods return StrictArrays, reductions 0-d StrictArrays (not
  NumPy scalars), as CuPy does;
- the explicit ways to the host (``a.get()``, ``xp.asnumpy(a)``) and the implicit syncs that
  copy a value to the host (``float(a)``, ``int(a)``, ``bool(a)``, ``a.item()``,
  ``a.tolist()``) work and are counted in :data:`transfers`, as are copies from the host
  (``xp.asarray(host_data)``, a host index or a host value in ``a[...]``).

:data:`refused` records where each refused conversion came from (module and line), so a test
can assert that none happened even where a caller caught the error.
"""

from __future__ import annotations

import sys
import types

import numpy as np

# CuPy's own messages, so code that matches on them is tested against the real text.
IMPLICIT_CONVERSION = ("Implicit conversion to a NumPy array is not allowed. Please use "
                       "`.get()` to construct a NumPy array explicitly.")

#: host <-> device copies, by direction
transfers = {"to_host": 0, "to_device": 0}
#: (direction, module, line) of every transfer counted, for the messages of failed tests
transfer_log: list = []
#: (module, line, what) of every refused conversion to NumPy
refused: list = []


def reset_counters() -> None:
    transfers["to_host"] = transfers["to_device"] = 0
    transfer_log.clear()
    refused.clear()


def _count(direction: str) -> None:
    transfers[direction] += 1
    transfer_log.append((direction, *_caller()))


def _caller() -> tuple:
    """The first frame outside this file and outside NumPy: who tried the conversion."""
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name != __name__ and not name.startswith("numpy"):
            return name, frame.f_lineno
        frame = frame.f_back
    return "?", 0


def _refuse(what: str, message: str = IMPLICIT_CONVERSION):
    module_name, line = _caller()
    refused.append((module_name, line, what))
    raise TypeError(message)


def _unsupported(value):
    _refuse(f"host array {type(value).__name__} mixed with device arrays",
            f"Unsupported type {type(value)}")


def _unwrap(value):
    """NumPy views of StrictArrays, recursively through lists and tuples; a host ndarray is
    refused (CuPy does not mix host and device arrays)."""
    cls = type(value)
    if cls is StrictArray:
        return value._a
    if cls is np.ndarray:
        _unsupported(value)
    if cls is list or cls is tuple:
        return cls(_unwrap(v) for v in value)
    return value


def _unwrap_host_ok(value):
    """As :func:`_unwrap`, but a host array is copied to the device (counted)."""
    cls = type(value)
    if cls is StrictArray:
        return value._a
    if cls is np.ndarray:
        _count("to_device")
        return value
    if cls is list or cls is tuple:
        return cls(_unwrap_host_ok(v) for v in value)
    return value


def _wrap(value):
    """StrictArrays for NumPy results: arrays, NumPy scalars (as 0-d arrays, like CuPy's
    reductions), and tuples or lists of them."""
    if isinstance(value, np.ndarray):
        return StrictArray(value)
    if isinstance(value, np.generic):
        return StrictArray(np.asarray(value))
    if isinstance(value, tuple):     # namedtuples too (linalg's results): as CuPy, plain
        return tuple(_wrap(v) for v in value)
    if type(value) is list:
        return [_wrap(v) for v in value]
    return value


class _Device:
    """What ``cupy.ndarray.device`` gives: an object with the GPU's ``id``."""

    id = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class StrictArray:
    """A device array: a NumPy array inside, reachable only through the array API."""

    __slots__ = ("_a",)
    __hash__ = None

    def __init__(self, array: np.ndarray):
        self._a = array

    # --- what NumPy would use to convert it: refused --------------------------------------

    def __array__(self, dtype=None, copy=None):
        _refuse("__array__ (np.asarray, np.array)")

    def __array_function__(self, func, types, args, kwargs):
        _refuse(f"np.{func.__name__} on a device array")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        # The operator form with a NumPy scalar (np.float32(2) * a) reaches here; CuPy
        # computes it. Any other NumPy ufunc on a device array is refused.
        if method == "__call__" and len(inputs) == 2 and not kwargs and any(
                isinstance(x, np.generic) for x in inputs):
            return _wrap(ufunc(*(_unwrap(x) for x in inputs)))
        _refuse(f"np.{ufunc.__name__}{'' if method == '__call__' else '.' + method} on a "
                f"device array")

    # --- explicit and implicit transfers to the host ----------------------------------------

    def get(self, stream=None, order="C", out=None):
        """A NumPy copy (the explicit transfer)."""
        _count("to_host")
        return self._a.copy(order=order)

    def _to_host_scalar(self):
        _count("to_host")
        return self._a

    def __float__(self):
        return float(self._to_host_scalar())

    def __int__(self):
        return int(self._to_host_scalar())

    def __index__(self):
        if self._a.dtype.kind not in "iub" or self._a.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return int(self._to_host_scalar())

    def __bool__(self):
        return bool(self._to_host_scalar())

    def item(self, *args):
        return self._to_host_scalar().item(*args)

    def tolist(self):
        return self._to_host_scalar().tolist()

    def __repr__(self):
        return f"strict_array({self._a!r})"

    __str__ = __repr__

    # --- attributes ------------------------------------------------------------------------

    @property
    def device(self):
        return _Device()

    @property
    def shape(self):
        return self._a.shape

    @property
    def dtype(self):
        return self._a.dtype

    @property
    def ndim(self):
        return self._a.ndim

    @property
    def size(self):
        return self._a.size

    @property
    def itemsize(self):
        return self._a.itemsize

    @property
    def nbytes(self):
        return self._a.nbytes

    @property
    def strides(self):
        return self._a.strides

    @property
    def flags(self):
        return self._a.flags

    @property
    def T(self):
        return StrictArray(self._a.T)

    @property
    def mT(self):
        return StrictArray(self._a.mT)

    @property
    def real(self):
        return StrictArray(self._a.real)

    @property
    def imag(self):
        return StrictArray(self._a.imag)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        return (StrictArray(row) if isinstance(row, np.ndarray) else _wrap(row)
                for row in self._a)

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap_host_ok(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap_host_ok(index)] = _unwrap_host_ok(value)

    def __getattr__(self, name):
        # every other ndarray method (reshape, sum, astype, ...), on device results; no
        # protocol attribute (__array_interface__ would hand NumPy the memory silently)
        if name.startswith("__"):
            raise AttributeError(f"'StrictArray' object has no attribute {name!r}")
        attr = getattr(self._a, name)
        if not callable(attr):
            return _wrap(attr)

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
        method.__name__ = name
        return method


def _binary(name):
    def op(self, other):
        result = getattr(self._a, name)(_unwrap(other))
        return result if result is NotImplemented else _wrap(result)
    op.__name__ = name
    return op


def _inplace(name):
    def op(self, other):
        getattr(self._a, name)(_unwrap(other))
        return self
    op.__name__ = name
    return op


def _unary(name):
    def op(self):
        return _wrap(getattr(self._a, name)())
    op.__name__ = name
    return op


for _name in ("add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "matmul", "and", "or",
              "xor", "lshift", "rshift"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))
    setattr(StrictArray, f"__r{_name}__", _binary(f"__r{_name}__"))
    setattr(StrictArray, f"__i{_name}__", _inplace(f"__i{_name}__"))
for _name in ("lt", "le", "eq", "ne", "gt", "ge"):
    setattr(StrictArray, f"__{_name}__", _binary(f"__{_name}__"))
for _name in ("neg", "pos", "abs", "invert"):
    setattr(StrictArray, f"__{_name}__", _unary(f"__{_name}__"))


# --- the array module: numpy's functions on device arrays ----------------------------------------

class _Ufunc:
    """A NumPy ufunc on device arrays, with its methods (``reduce``, ``at``, ...)."""

    def __init__(self, ufunc):
        self._ufunc = ufunc
        self.__name__ = ufunc.__name__

    def __call__(self, *args, **kwargs):
        return _wrap(self._ufunc(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    def __getattr__(self, name):
        attr = getattr(self._ufunc, name)
        if not callable(attr):
            return attr

        def method(*args, **kwargs):
            return _wrap(attr(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
        return method


def _device_function(fn):
    def call(*args, **kwargs):
        return _wrap(fn(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))
    call.__name__ = getattr(fn, "__name__", "function")
    return call


def _from_host(fn):
    """``asarray``-like: host data (lists, numbers, NumPy arrays) is copied to the device."""
    def call(obj, *args, **kwargs):
        if type(obj) is StrictArray:
            return _wrap(fn(obj._a, *args, **kwargs))
        _count("to_device")
        host = _unwrap_host_ok(obj)
        result = fn(host, *args, **kwargs)
        if isinstance(host, np.ndarray) and np.shares_memory(result, host):
            result = result.copy()          # device memory is never the host's
        return _wrap(result)
    call.__name__ = fn.__name__
    return call


def asnumpy(a, stream=None, order="C", out=None):
    """``cupy.asnumpy``: a NumPy copy of a device array (host data passes through)."""
    if type(a) is StrictArray:
        return a.get(order=order)
    return np.asarray(a, order=order)


class _Namespace(types.ModuleType):
    """A NumPy namespace (the top level, ``linalg``, ``fft``, ``lib.stride_tricks``) whose
    functions take and give device arrays; dtypes, constants and classes pass through."""

    def __init__(self, name, source):
        super().__init__(name)
        self._source = source

    def __getattr__(self, name):
        attr = getattr(self._source, name)
        if isinstance(attr, np.ufunc):
            wrapped = _Ufunc(attr)
        elif isinstance(attr, types.ModuleType):
            wrapped = _Namespace(f"{self.__name__}.{name}", attr)
        elif isinstance(attr, type) or not callable(attr):
            wrapped = attr                  # dtypes, finfo, constants: the same as NumPy's
        else:
            wrapped = _device_function(attr)
        setattr(self, name, wrapped)        # looked up once
        return wrapped


class _RandomState:
    """``cupy.random.RandomState``: the draws minigrad's backend uses, on device arrays."""

    def __init__(self, seed=None):
        self._rng = np.random.Generator(np.random.PCG64(seed))

    def random_sample(self, size=None, dtype=float):
        return _wrap(self._rng.random(size, dtype=dtype))

    def standard_normal(self, size=None, dtype=float):
        return _wrap(self._rng.standard_normal(size, dtype=dtype))

    def randint(self, low, high=None, size=None, dtype=int):
        return _wrap(self._rng.integers(low, high, size, dtype=dtype))

    def permutation(self, n):
        return _wrap(self._rng.permutation(n))


def _get_array_module(*arrays):
    return module if any(type(a) is StrictArray for a in arrays) else np


module = _Namespace("strict_cupy", np)
module.ndarray = StrictArray
module.get_array_module = _get_array_module
module.asnumpy = asnumpy
for _name in ("asarray", "array", "asanyarray", "ascontiguousarray"):
    setattr(module, _name, _from_host(getattr(np, _name)))
module.random = types.SimpleNamespace(RandomState=_RandomState)
module.cuda = types.SimpleNamespace(
    runtime=types.SimpleNamespace(getDeviceCount=lambda: 1),
    Device=lambda index=0: _Device())
module.errstate = np.errstate     # a host setting; CuPy's kernels do not warn


def install() -> None:
    """Make the strict module minigrad's CuPy: the ``'cuda'`` device is now the stand-in."""
    from minigrad import backend

    if backend._cupy is not None and backend._cupy is not module:
        raise RuntimeError("the strict device replaces CuPy; a real CuPy is already in use")
    backend._cupy = module
