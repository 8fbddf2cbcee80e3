"""The Tensor: an array (NumPy on cpu, CuPy on cuda) plus what autograd needs.

This module holds the Tensor's core: its attributes, conversions, autograd hooks, the
in-place machinery, indexing, and the operators ``+ - * / ** @`` and comparisons (the hot
path, spelled out here). Every named op (``exp``, ``sum``, ``reshape``, ``gather``, ...) is
written once in :mod:`minigrad.ops` and bound from there both as a Tensor method and as a
``minigrad.<name>`` function.

Names and semantics follow PyTorch; where minigrad differs the op's docstring says so. The
main differences: ``.data`` is the raw NumPy/CuPy array, ``max(dim)``/``min(dim)`` return
values only (use ``argmax``/``argmin`` for indices), and ``view`` is ``reshape`` (it may copy).
"""

from __future__ import annotations

import operator
import weakref

import numpy as np

from . import autograd, backend, deferred
from .autograd import is_grad_enabled
from .dtypes import check_dtype
from .functions import elementwise as E
from .functions import linalg as L
from .functions import shape as S
from .functions._helpers import normalize_dims

__all__ = ["Tensor", "tensor", "as_operands", "cat", "stack", "where", "maximum", "minimum"]

_FLOAT_KINDS = ("f", "c")
_int64 = np.dtype(np.int64)
_new = object.__new__


def _as_array(data, dtype=None, device=None, copy=True):
    """Turn tensors, arrays, numbers and nested lists into an array of ``dtype`` on ``device``.

    Python floats become float32 (the default float), ints int64 and bools bool, as in
    PyTorch; NumPy and CuPy arrays keep their dtype unless ``dtype`` is given.
    """
    if isinstance(data, Tensor):
        data = data.data
    if isinstance(data, (np.ndarray, np.generic)) or backend.device_of(data).type != "cpu":
        array = data
    else:
        array = np.asarray(data)
        if dtype is None and array.dtype == np.float64:
            array = array.astype(backend.default_float)
        elif dtype is None and array.dtype.kind in "iu":
            array = array.astype(np.int64, copy=False)
        copy = False
    check_dtype(array.dtype, "tensor", data)  # no object, text or complex data
    if device is not None:
        moved = backend.to_device(array, device)
        copy = copy and moved is array
        array = moved
    if dtype is not None:
        dtype = check_dtype(dtype, "tensor")
        if array.dtype != dtype:
            array, copy = array.astype(dtype), False
    xp = backend.array_module(array)
    if copy or not isinstance(array, xp.ndarray):
        array = xp.array(array, copy=True)
    return array


def _binary_method(function, name):
    """``Tensor.<name>(self, other)``: ``function`` applied to self and other (a tensor or a
    number, converted and promoted by :func:`_operands`)."""

    def method(self, other):
        if other.__class__ is Tensor and self.data.dtype is other.data.dtype:
            return function.apply(self, other)  # the common case: no conversion to do
        return function.apply(*_operands(self, other))

    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    return method


class Tensor:
    """An n-dimensional array that records the ops applied to it for reverse-mode autodiff.

    Build one with :func:`minigrad.tensor` (copies its input) or :func:`minigrad.from_numpy`
    (shares memory). ``requires_grad=True`` asks for ``.grad`` to be filled by ``backward()``.
    """

    __slots__ = ("data", "grad", "grad_fn", "_requires_grad", "_version_counter", "__weakref__")
    __array_ufunc__ = None  # NumPy operands defer to our reflected operators
    __array_priority__ = 1000
    __hash__ = object.__hash__  # tensors are dict keys by identity (== is elementwise)

    def __init__(self, data, requires_grad: bool = False, dtype=None, device=None):
        self.data = _as_array(data, dtype, device)
        self.grad = None
        self.grad_fn = None
        self._version_counter = [0]  # shared with views; bumped by in-place changes
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad=False):
        """Wrap an array without copying or checking (internal fast path)."""
        t = _new(cls)
        t.data = data
        t.grad = None
        t.grad_fn = None
        t._version_counter = [0]
        t._requires_grad = requires_grad
        return t

    # --- attributes -----------------------------------------------------------------------

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        """Set whether a leaf tensor gathers ``.grad``; only floating tensors can."""
        requires_grad = bool(requires_grad)
        if self.grad_fn is not None:
            if requires_grad:
                return self
            raise RuntimeError("requires_grad_: only a leaf tensor's flag can be changed; use "
                               "detach() to get a tensor that does not require grad")
        if requires_grad and self.data.dtype.kind not in _FLOAT_KINDS:
            raise RuntimeError(f"requires_grad_: only floating-point tensors can require grad, "
                               f"this one is {self.data.dtype}")
        self._requires_grad = requires_grad
        return self

    @property
    def shape(self) -> tuple:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> backend.Device:
        return backend.device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def size(self, dim=None):
        """The shape, or the length of axis ``dim``."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self) -> int:
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    # --- conversion -----------------------------------------------------------------------

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python number, "
                             f"this one has shape {tuple(self.shape)} ({self.data.size} elements)")
        value = self.data.item()
        if value != value and deferred._pending:  # NaN: a check deferred on a GPU may say why
            deferred.run_pending()
        return value

    def tolist(self):
        return backend.to_device(self.data, "cpu").tolist()

    def numpy(self) -> np.ndarray:
        """The data as a NumPy array (shared on cpu). As in PyTorch, refused while the tensor
        requires grad and grad mode is on: call ``detach().numpy()``."""
        if self._requires_grad and is_grad_enabled():
            raise RuntimeError("numpy: the tensor requires grad; use tensor.detach().numpy()")
        return backend.to_device(self.data, "cpu")

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {tuple(self.shape)} is "
                             f"ambiguous; use .any() or .all()")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu" or self.data.size != 1:
            raise TypeError("only one-element integer tensors can be used as an index")
        return int(self.data)

    def __repr__(self):
        body = np.array2string(backend.to_device(self.data, "cpu"), separator=", ",
                               prefix="tensor(", precision=4)
        extras = []
        if self.data.dtype not in (backend.default_float, _int64, np.dtype(bool)):
            extras.append(f"dtype={self.data.dtype}")
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}>")
        elif self._requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body] + extras) + ")"

    def detach(self) -> "Tensor":
        """The same data (shared, not copied, with one version counter), cut from the graph."""
        t = Tensor._make(self.data)
        t._version_counter = self._version_counter
        return t

    def clone(self) -> "Tensor":
        """A copy of the data; gradients flow back to this tensor."""
        return E.Clone.apply(self)

    def to(self, *args, dtype=None, device=None) -> "Tensor":
        """Move to a device and/or convert the dtype: ``to('cuda')``, ``to(minigrad.float64)``,
        ``to('cpu', minigrad.float32)``. Differentiable; returns ``self`` if nothing changes."""
        for arg in args:
            if isinstance(arg, (str, backend.Device)):
                device = arg
            else:
                dtype = arg
        if device is not None:
            device = backend.device(device)
            if device == self.device:
                device = None
        if dtype is not None:
            dtype = check_dtype(dtype, "to")
            if dtype == self.data.dtype:
                dtype = None
        if device is None and dtype is None:
            return self
        return E.Cast.apply(self, dtype=dtype, device=device)

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def float(self):
        return self.to(np.float32)

    def double(self):
        return self.to(np.float64)

    def long(self):
        return self.to(np.int64)

    def int(self):
        return self.to(np.int32)

    def bool(self):
        return self.to(np.bool_)

    # --- autograd ---------------------------------------------------------------------------

    def backward(self, gradient=None, retain_graph=None, create_graph=False) -> None:
        """Accumulate the gradient of this tensor into the ``.grad`` of every leaf it came from.

        ``gradient`` is the upstream gradient (needed unless the tensor has one element).
        The graph is freed afterwards unless ``retain_graph=True``; ``create_graph=True``
        records the backward pass too (for higher-order gradients) and retains the graph.
        Only leaves (and tensors that called ``retain_grad()``) keep ``.grad``; repeated
        calls add up, so zero the gradients between steps.
        """
        autograd.backward(self, gradient, retain_graph, create_graph)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor at the next backward."""
        if self.grad_fn is not None:
            self.grad_fn._retained = weakref.ref(self)
        elif not self._requires_grad:
            raise RuntimeError("retain_grad: the tensor does not require grad")

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a non-None return value
        replaces the gradient (on a leaf, before it is accumulated into ``.grad``). Returns a
        handle whose ``remove()`` unregisters it. Rules: :mod:`minigrad.autograd.hooks`."""
        from .autograd.hooks import register_tensor_hook
        return register_tensor_hook(self, hook)

    @property
    def retains_grad(self) -> bool:
        return self.grad_fn is not None and self.grad_fn._retained is not None

    # --- in-place updates (outside the graph) ------------------------------------------------

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's data (shared with its views) has seen."""
        return self._version_counter[0]

    def _bump_version(self) -> None:
        self._version_counter[0] += 1

    def _inplace(self, op: str, update, other=None):
        """Run ``update(data, other_array)`` in place, outside the graph, then count it."""
        if is_grad_enabled():
            if self._requires_grad:
                raise RuntimeError(
                    f"{op}: an in-place change to a tensor that requires grad would corrupt its "
                    f"gradient; do parameter updates inside `with minigrad.no_grad():`")
            if isinstance(other, Tensor) and other._requires_grad:
                raise RuntimeError(
                    f"{op}: in-place ops are not recorded, so the gradient to the operand "
                    f"would be lost; write `a = a {op.strip('=_')} b` instead")
        value = _raw(other)
        try:
            update(self.data, value)
        except (ValueError, TypeError) as exc:
            described = (f"{tuple(np.shape(value))} {getattr(value, 'dtype', type(value).__name__)}")
            raise type(exc)(f"{op}: cannot update a tensor of shape {tuple(self.shape)} "
                            f"{self.dtype} in place with {described}: {exc}") from exc
        self._version_counter[0] += 1
        return self

    def __setitem__(self, index, value):
        index = self._index(index)

        def assign(data, v):
            data[index] = v
        self._inplace("__setitem__", assign, value)

    # --- arithmetic ----------------------------------------------------------------------------

    __add__ = _binary_method(E.Add, "__add__")

    def __radd__(self, other):
        a, b = _operands(self, other)
        return E.Add.apply(b, a)

    __sub__ = _binary_method(E.Sub, "__sub__")

    def __rsub__(self, other):
        a, b = _operands(self, other)
        return E.Sub.apply(b, a)

    __mul__ = _binary_method(E.Mul, "__mul__")

    def __rmul__(self, other):
        a, b = _operands(self, other)
        return E.Mul.apply(b, a)

    def __truediv__(self, other):
        a, b = _operands(self, other)
        if a.data.dtype.kind not in _FLOAT_KINDS and b.data.dtype.kind not in _FLOAT_KINDS:
            a, b = a.float(), b.float()  # true division of integers gives floats
        return E.Div.apply(a, b)

    def __rtruediv__(self, other):
        a, b = _operands(self, other)
        if a.data.dtype.kind not in _FLOAT_KINDS and b.data.dtype.kind not in _FLOAT_KINDS:
            a, b = a.float(), b.float()
        return E.Div.apply(b, a)

    def __pow__(self, exponent):
        return E.Pow.apply(*_operands(self, exponent))

    def __rpow__(self, base):
        a, b = _operands(self, base)
        return E.Pow.apply(b, a)

    __matmul__ = _binary_method(L.MatMul, "__matmul__")

    def __rmatmul__(self, other):
        a, b = _operands(self, other)
        return L.MatMul.apply(b, a)

    def __neg__(self):
        return E.Neg.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        return E.Abs.apply(self)

    # --- comparisons (results are bool tensors outside the graph) -------------------------------

    def _compare(self, other, op):
        # op is the operator (operator.lt, ...): the array's own comparison, NumPy's or CuPy's
        if other is None:
            return NotImplemented
        xp = backend.array_module(self.data)
        return Tensor._make(xp.asarray(op(self.data, _raw(other))))

    def __eq__(self, other):
        return self._compare(other, operator.eq)

    def __ne__(self, other):
        return self._compare(other, operator.ne)

    def __lt__(self, other):
        return self._compare(other, operator.lt)

    def __le__(self, other):
        return self._compare(other, operator.le)

    def __gt__(self, other):
        return self._compare(other, operator.gt)

    def __ge__(self, other):
        return self._compare(other, operator.ge)

    # --- shape ---------------------------------------------------------------------------------
    @property
    def T(self):
        """All axes reversed (the matrix transpose for 2-d tensors)."""
        n = self.data.ndim
        return self if n < 2 else S.Permute.apply(self, dims=tuple(range(n - 1, -1, -1)))

    @property
    def mT(self):
        """The last two axes swapped (batched matrix transpose)."""
        n = self.data.ndim
        if n < 2:
            raise ValueError(f"mT: needs at least 2 dims, the tensor has {n}")
        return S.Permute.apply(self, dims=(*range(n - 2), n - 1, n - 2))

    def _index(self, index):
        """An index with tensors and lists turned into arrays on this tensor's device."""
        items = index if isinstance(index, tuple) else (index,)
        if all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items):
            return index
        xp = backend.array_module(self.data)
        converted = []
        for i in items:
            if isinstance(i, Tensor):
                i = i.data
            elif isinstance(i, (list, np.ndarray)):
                i = np.asarray(i)
            if hasattr(i, "dtype") and hasattr(i, "ndim"):
                i = backend.to_device(i, self.device) if xp is not np else i
            converted.append(i)
        return tuple(converted) if isinstance(index, tuple) else converted[0]

    def __getitem__(self, index):
        """Ints, slices, None, Ellipsis, integer arrays and boolean masks, as in NumPy;
        repeated integer indices accumulate gradient."""
        return S.GetItem.apply(self, index=self._index(index))


autograd.Tensor = Tensor


def _raw(value):
    """The array (or number) inside a Tensor; other values unchanged."""
    return value.data if isinstance(value, Tensor) else value


_constants: dict = {}  # (dtype, type, value) -> constant Tensor; numbers recur (lr, 1.0, 2.0)


def _constant(value, like: Tensor):
    """A Python/NumPy number or array as a Tensor that keeps ``like``'s dtype where PyTorch
    would: numbers never upcast a tensor (float32 * 2.5 stays float32)."""
    if isinstance(value, np.generic):
        value = value.item()
    dtype = like.data.dtype
    key = (dtype, value.__class__, value)
    try:
        return _constants[key]
    except (KeyError, TypeError):  # TypeError: unhashable (an array or a list)
        pass
    if isinstance(value, (bool, int, float)):  # a NumPy scalar: works with CuPy arrays too
        if value == 0 and isinstance(value, float):  # -0.0 and 0.0 hash alike: no caching
            return _number(value, dtype)
        if len(_constants) > 4096:
            _constants.clear()
        _constants[key] = constant = _number(value, dtype)
        return constant
    return Tensor(value, device=like.device)


def _number(value, dtype):
    """A Python number as a 0-d constant of ``dtype`` (or the dtype PyTorch would pick)."""
    if isinstance(value, bool):
        return Tensor._make(dtype.type(value))
    if isinstance(value, int):
        return Tensor._make((dtype if dtype.kind != "b" else _int64).type(value))
    if dtype.kind not in _FLOAT_KINDS:
        dtype = backend.default_float
    return Tensor._make(dtype.type(value))


def _promote(a: Tensor, b: Tensor):
    """Give two tensors one dtype, by PyTorch's rules: a higher category (bool < int < float)
    wins at its own width; within a category a 0-d tensor does not widen a dimensioned one;
    otherwise NumPy's promotion."""
    da, db = a.data.dtype, b.data.dtype
    ka, kb = _category(da), _category(db)
    if ka != kb:  # the higher category wins, at its own width
        target = da if ka > kb else db
    elif (a.data.ndim == 0) != (b.data.ndim == 0):  # same category: a 0-d tensor acts as a number
        target = db if a.data.ndim == 0 else da
    else:
        target = np.result_type(da, db)
    return a.to(target), b.to(target)


def _category(dtype) -> int:
    """PyTorch's promotion categories: bool < integer < floating < complex."""
    return {"b": 0, "i": 1, "u": 1, "f": 2, "c": 3}[dtype.kind]


def _operands(t: Tensor, other):
    """``t`` and ``other`` as two tensors ready for a binary op."""
    if isinstance(other, Tensor):
        if t.data.dtype is other.data.dtype or t.data.dtype == other.data.dtype:
            return t, other
        return _promote(t, other)
    other = _constant(other, t)
    if t.data.dtype.kind not in _FLOAT_KINDS and other.data.dtype.kind in _FLOAT_KINDS:
        return _promote(t, other)
    return t, other


def as_operands(a, b):
    """Two operands (tensors or numbers; at least one a tensor) as two tensors."""
    if isinstance(a, Tensor):
        return _operands(a, b)
    b, a = _operands(b, a)
    return a, b


def tensor(data, dtype=None, device=None, requires_grad: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data`` (a number, nested list, array or tensor).

    Python floats give float32, ints int64, bools bool; arrays keep their dtype.
    """
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def cat(tensors, dim: int = 0) -> Tensor:
    """Join tensors along an existing dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    (dim,) = normalize_dims(dim, tensors[0].ndim, "cat") or (0,)
    return S.Cat.apply(*tensors, dim=dim)


def stack(tensors, dim: int = 0) -> Tensor:
    """Join tensors along a new dim."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    n = tensors[0].ndim + 1
    if not -n <= dim < n:
        raise IndexError(f"stack: dim {dim} is out of range for {n} output dims")
    return S.Stack.apply(*tensors, dim=dim % n)


def where(condition, a=None, b=None):
    """``a`` where ``condition`` is true, else ``b`` (broadcast); ``condition`` is a bool Tensor
    or array, ``a``/``b`` Tensors or numbers. Gradients flow to ``a`` and ``b``, never to
    ``condition``. ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    condition = condition.data if isinstance(condition, Tensor) else condition
    if a is None and b is None:
        xp = backend.array_module(condition)
        return tuple(Tensor._make(xp.asarray(i, dtype=np.int64)) for i in xp.nonzero(condition))
    return E.Where.apply(*as_operands(a, b), cond=condition)


def maximum(a, b) -> Tensor:
    """Elementwise max; on ties each input gets half the gradient."""
    return E.Maximum.apply(*as_operands(a, b))


def minimum(a, b) -> Tensor:
    """Elementwise min; on ties each input gets half the gradient."""
    return E.Minimum.apply(*as_operands(a, b))

