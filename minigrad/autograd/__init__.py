"""Reverse-mode automatic differentiation: Function, grad mode and the backward pass.

Every differentiable op is a :class:`Function` subclass with ``forward`` (arrays in, one array
out) beside ``backward`` (the output gradient as a Tensor in, one gradient Tensor per input
out, written with Tensor ops). Calling ``MyFunction.apply(*tensors, **params)`` runs forward and,
when grad mode is on and an input requires grad, records the call as the output's ``grad_fn``.

A subclass whose ``forward`` is a ``@staticmethod forward(ctx, ...)`` follows PyTorch's protocol
instead (Tensors in and out, ``ctx.save_for_backward``, several outputs): see
:mod:`minigrad.autograd.function`. The class statement decides which, once. Jacobians, Hessians
and their vector products are in :mod:`minigrad.autograd.functional`.

Because ``backward`` is written with Tensor ops, ``backward(create_graph=True)`` records the
backward pass itself, which gives higher-order gradients with no second implementation.

A custom op, the public extension point::

    class Cube(Function):
        def forward(self, x):                # x: a NumPy (or CuPy) array
            return x ** 3
        def backward(self, grad):            # grad: a Tensor shaped like the output
            (x,) = self.inputs               # the input Tensors
            return grad * 3 * x ** 2         # one Tensor per input (None: no gradient)

    y = Cube.apply(t)

``self.inputs`` holds the input Tensors, ``self.needs_input_grad`` which of them want a
gradient, and ``self.output()`` the output as a Tensor tied to this Function (for gradients
written in terms of the output, such as ``exp``). Anything else backward needs, forward stores
on ``self``. After a backward pass without ``retain_graph`` all of it is released.
"""

from __future__ import annotations

import contextvars
import functools
import itertools
from heapq import heappop, heappush

import numpy as np

from .. import backend

__all__ = ["Function", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "grad",
           "backward"]


# Grad mode, per thread (a new thread starts with it on) and per asyncio task. A context
# variable rather than a threading.local: every op reads it, and its get() is ~3x cheaper.
# (On an interpreter where new threads inherit the starting thread's context, as free-threaded
# Python 3.14 does by default, a thread started inside no_grad starts with it off.)
_grad_mode = contextvars.ContextVar("minigrad_grad_enabled", default=True)
_grad_enabled = _grad_mode.get
_set_grad_mode = _grad_mode.set


def is_grad_enabled() -> bool:
    """Whether ops are being recorded for backward in this thread."""
    return _grad_enabled()


class _GradModeContext:
    """Sets grad mode on entering a ``with`` block and restores it on exit; as a decorator,
    around every call of the function."""

    mode = True

    def __enter__(self):
        self._saved = getattr(self, "_saved", [])
        self._saved.append(_grad_enabled())
        _set_grad_mode(self.mode)
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._saved.pop())
        return False

    def __call__(self, func):
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            previous = _grad_enabled()
            _set_grad_mode(mode)
            try:
                return func(*args, **kwargs)
            finally:
                _set_grad_mode(previous)
        return wrapper


class no_grad(_GradModeContext):
    """No op inside records a graph: for inference and for parameter updates.
    ``with no_grad():``, ``@no_grad()`` or ``@no_grad``."""

    mode = False

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)  # bare @no_grad


class enable_grad(_GradModeContext):
    """Turn recording back on inside a ``no_grad`` block (also a decorator)."""

    mode = True

    def __new__(cls, func=None):
        self = super().__new__(cls)
        return self if func is None else self(func)


class set_grad_enabled(_GradModeContext):
    """Set grad mode now (``set_grad_enabled(False)`` as a plain call, as in PyTorch); as a
    context manager, restore the previous mode on exit; as a decorator, only around calls."""

    def __init__(self, mode: bool):
        self.mode = bool(mode)
        self._previous = _grad_enabled()
        _set_grad_mode(self.mode)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _set_grad_mode(self._previous)
        return False

    def __call__(self, func):
        _set_grad_mode(self._previous)  # a decorator changes nothing until the call
        return super().__call__(func)


_FLOAT_KINDS = ("f", "c")
# needs_input_grad of one and two inputs, indexed by the inputs' requires_grad (bools): shared
# constant tuples instead of a new tuple per recorded op.
_NEEDS_OF_ONE = ((False,), (True,))
_NEEDS_OF_TWO = (((False, False), (False, True)), ((True, False), (True, True)))
_np_generic = np.generic
_ndarray = np.ndarray


def _op_error(cls, inputs, exc):
    """Re-raise an array-library error with the op's name, shapes, dtypes and devices."""
    tensors = [t for t in inputs if isinstance(t, Tensor)]
    devices = {str(t.device) for t in tensors}
    if len(devices) > 1:
        return RuntimeError(
            f"{cls.__name__}: expected all tensors on one device, got "
            + " and ".join(str(t.device) for t in tensors))
    described = ", ".join(f"{tuple(t.shape)} {t.dtype}" for t in tensors)
    return type(exc)(f"{cls.__name__}: invalid inputs ({described}): {exc}")


class Function:
    """Base class of every differentiable op; see the module docstring for how to write one."""

    _retained = None  # weakref to an output that called retain_grad()
    _tensor_hooks = None  # the output's Tensor.register_hook hooks (autograd/hooks.py)
    returns_view = False  # True where forward may return a view of its first input
    # Backward refuses to run if an input changed in place since the op. (A PyTorch-style
    # Function checks only the tensors it saved, as PyTorch does: see autograd/function.py.)
    checks_input_versions = True

    def __init_subclass__(cls, **kwargs):
        """Tell the two styles apart once per class: a ``@staticmethod forward(ctx, ...)`` is
        PyTorch's protocol (its own ``apply``, in autograd/function.py); anything else is
        minigrad's array style, whose ``apply`` below is untouched."""
        super().__init_subclass__(**kwargs)
        if isinstance(_class_attribute(cls, "forward"), staticmethod):
            if _make_ctx_function is None:
                raise ImportError(f"{cls.__name__}: a PyTorch-style Function (static forward "
                                  f"taking ctx) can only be defined once minigrad is imported")
            _make_ctx_function(cls)

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays; record the call if a gradient may be needed."""
        # The hot path of every op. The common calls, one or two inputs and no keyword
        # parameters, are spelled out: a call with *args/**kwargs costs far more.
        fn = _new_object(cls)
        arity = len(inputs)
        try:
            if params:
                data = fn.forward(*[t.data for t in inputs], **params)
            elif arity == 2:
                data = fn.forward(inputs[0].data, inputs[1].data)
            elif arity == 1:
                data = fn.forward(inputs[0].data)
            else:
                data = fn.forward(*[t.data for t in inputs])
        except (ValueError, TypeError, IndexError) as exc:
            raise _op_error(cls, inputs, exc) from exc
        if data.__class__ is not _ndarray and isinstance(data, _np_generic) and not all(
                isinstance(t.data, _np_generic) for t in inputs):
            # NumPy turns 0-d results into scalars: arrays again. But numbers made from numbers
            # (the constants of backward formulas, as b - 1 in Pow's) stay scalars, which mix
            # with arrays of every device; a 0-d host array would not mix with CuPy's.
            data = np.asarray(data)
        out = _new_object(Tensor)
        out.data = data
        out.grad = None
        out.grad_fn = None
        # A view shares its input's version counter: changing one in place changes both.
        out._version_counter = (inputs[0]._version_counter if fn.returns_view
                                and data.base is not None else [0])
        out._requires_grad = False
        if _grad_enabled():
            if arity == 2:
                needs = _NEEDS_OF_TWO[inputs[0]._requires_grad][inputs[1]._requires_grad]
            elif arity == 1:
                needs = _NEEDS_OF_ONE[inputs[0]._requires_grad]
            else:
                needs = tuple([t._requires_grad for t in inputs])
            if True in needs and data.dtype.kind in _FLOAT_KINDS:
                fn.inputs = inputs
                fn.needs_input_grad = needs
                fn.versions = _version_sum(inputs)
                fn.output_counter = out._version_counter
                fn.sequence = _next_sequence()  # creation order, for the backward pass
                out.grad_fn = fn
                out._requires_grad = True
        return out

    def output(self):
        """The output as a Tensor tied to this Function, for backward formulas that use it.

        Forward must have stored the output array as ``self.out``.
        """
        if self.output_counter[0]:
            raise RuntimeError(
                f"{type(self).__name__}: its output of shape {self.out.shape} was modified in "
                f"place after the op, and the gradient needs the original values")
        t = Tensor._make(self.out, requires_grad=True)
        t.grad_fn = self
        return t

    def __repr__(self):
        return f"<{type(self).__name__}>"


# ---------------------------------------------------------------------------------------------
# The backward pass


_SECOND_BACKWARD = (
    "{}: trying to backward through the graph a second time (its saved values were freed "
    "after the first backward). Pass retain_graph=True to the first backward to keep them.")


def _heap_key(fn) -> int:
    """Where ``fn`` goes in the backward pass's heap (newest first), or a clear error if a
    backward pass already freed it."""
    try:
        return -fn.sequence
    except AttributeError:
        raise RuntimeError(_SECOND_BACKWARD.format(type(fn).__name__)) from None


def _memory_id(array) -> int:
    """The id of the array that owns ``array``'s memory (views point to their base)."""
    base = array.base
    while base is not None:
        array, base = base, base.base
    return id(array)


class _Sink:
    """Where the gradients reaching leaves (and retained non-leaves) go.

    Plain backward accumulates into ``.grad``; :func:`grad` captures into a dict instead.

    To avoid copying, a leaf adopts the gradient array it is handed as its ``.grad`` when no
    one else can see that memory: not the caller's upstream gradient, not a block another leaf
    adopted (``owned``), not a block still waiting in the work list (``frontier``: the
    gradients not yet passed to their Function), and not a block the same backward call
    returned twice. Anything else is copied, so no two ``.grad`` share memory with each other
    or with the upstream gradient, and later accumulation can happen in place.
    """

    def __init__(self, create_graph, capture=None):
        self.create_graph = create_graph
        self.capture = capture
        self.owned = set()  # memory ids adopted by a leaf, or the caller's upstream gradients
        self.frontier = {}  # the work list's gradients (set by _run_backward)

    def _own(self, grad, shareable):
        arr = grad.data
        flags = arr.flags
        if (shareable and (flags.c_contiguous or flags.f_contiguous)
                and getattr(flags, "writeable", True)):  # a broadcast view is read-only
            key = _memory_id(arr)
            if key not in self.owned and all(_memory_id(g.data) != key
                                              for g in self.frontier.values()):
                self.owned.add(key)
                return grad
        if self.create_graph:
            return grad.clone()
        copy = Tensor._make(arr.copy())
        self.owned.add(id(copy.data))
        return copy

    def put(self, tensor, key, grad, shareable):
        if self.capture is not None:
            if key not in self.capture:
                return
            prev = self.capture[key]
            self.capture[key] = self._own(grad, shareable) if prev is None else prev + grad
            return
        if tensor.grad is None:
            tensor.grad = self._own(grad, shareable)
        elif self.create_graph or tensor.grad._requires_grad:
            tensor.grad = tensor.grad + grad
        else:
            tensor.grad.data += grad.data


def _as_grad_tensor(value, like, what):
    if value is None:
        if like.data.size != 1:
            raise RuntimeError(
                f"backward: a gradient can be created implicitly only for a one-element "
                f"output, but the output has shape {tuple(like.shape)}; pass gradient=")
        xp = backend.array_module(like.data)
        return Tensor._make(xp.ones(like.data.shape, like.data.dtype))
    if not isinstance(value, Tensor):
        value = Tensor._make(backend.to_device(value, like.device))
    if value.dtype != like.dtype:  # as in PyTorch, the gradient takes the output's dtype
        value = Tensor._make(value.data.astype(like.dtype))
    if value.shape != like.shape:
        raise RuntimeError(f"{what}: gradient of shape {tuple(value.shape)} given for an output "
                           f"of shape {tuple(like.shape)}")
    if value.device != like.device:
        raise RuntimeError(f"{what}: gradient on {value.device} given for an output on "
                           f"{like.device}")
    return value


def _raise_modified(fn):
    shapes = ", ".join(str(tuple(t.shape)) for t in fn.inputs)
    raise RuntimeError(
        f"{type(fn).__name__}: an input (inputs of shapes {shapes}) was modified in place "
        f"after the op used it, so its gradient would be wrong")


def _run_backward(roots, root_grads, retain_graph, create_graph, sink):
    if _autocast_depth and _autocast_mode.get() is not None:
        token = _autocast_mode.set(None)  # backward ops run in the dtypes forward chose
        try:
            return _run_backward(roots, root_grads, retain_graph, create_graph, sink)
        finally:
            _autocast_mode.reset(token)
    grads = sink.frontier  # Function -> its output's gradient, summed over consumers so far
    leaf_roots = []
    for t, g in zip(roots, root_grads):
        sink.owned.add(_memory_id(g.data))  # the caller's array: never adopted
        if t.grad_fn is None:
            leaf_roots.append((t, g))
        elif t.grad_fn in grads:
            grads[t.grad_fn] = grads[t.grad_fn] + g
        else:
            grads[t.grad_fn] = g
    # Leaves with Tensor hooks (rare): their gradients wait in `hooked` until complete.
    hooked = _PendingLeaves(roots, _leaf_hooks) if _leaf_hooks else None
    node_hooks = _node_hooks_registered  # False until a non-leaf tensor gets a hook
    with set_grad_enabled(create_graph):
        for t, g in leaf_roots:
            if hooked is not None and id(t) in _leaf_hooks:
                g = _call_tensor_hooks(_leaf_hooks[id(t)].hooks, g)
            sink.put(t, id(t), g, False)
        if not grads:
            if hooked is not None:
                hooked.flush(sink)
            return
        # Functions run newest first: every consumer of a Function was created after it, so by
        # the time the newest waiting Function runs, all its consumers have added their parts
        # of its gradient. A heap of negated creation numbers keeps that order.
        waiting = {_heap_key(fn): fn for fn in grads}
        heap = sorted(waiting)
        capture = sink.capture
        while heap:
            fn = waiting.pop(heappop(heap))
            grad = grads.pop(fn)
            if node_hooks and fn._tensor_hooks is not None:
                grad = _call_tensor_hooks(fn._tensor_hooks, grad)
            inputs = fn.inputs
            if capture is not None:
                if fn in capture:
                    sink.put(None, fn, grad, False)
            elif fn._retained is not None:
                retained = fn._retained()
                if retained is not None:
                    sink.put(retained, fn, grad, False)
            if fn.versions != _version_sum(inputs) and fn.checks_input_versions:
                _raise_modified(fn)
            input_grads = fn.backward(grad)
            if input_grads.__class__ is not tuple:
                input_grads = (input_grads,)
            if len(input_grads) != len(inputs):
                raise RuntimeError(f"{type(fn).__name__}.backward returned {len(input_grads)} "
                                   f"gradients for {len(inputs)} inputs")
            if not retain_graph:
                fn.__dict__.clear()  # frees saved arrays; a second backward finds no inputs
            blocks = None  # memory ids of this call's gradients, computed if a leaf needs them
            for i, t in enumerate(inputs):
                g = input_grads[i]
                if g is None or not t._requires_grad:
                    continue
                if g.__class__ is not Tensor:
                    g = _checked_grad(fn, i, g, t)
                else:
                    g_data, t_data = g.data, t.data
                    if g_data.shape != t_data.shape or (g_data.dtype is not t_data.dtype
                                                        and g_data.dtype != t_data.dtype):
                        _checked_grad(fn, i, g, t)
                producer = t.grad_fn
                if producer is not None:
                    prev = grads.get(producer)
                    if prev is None:
                        grads[producer] = g
                        key = _heap_key(producer)
                        waiting[key] = producer
                        heappush(heap, key)
                    else:
                        grads[producer] = prev + g
                    continue
                if hooked is not None and t in hooked:
                    hooked.deliver(t, g, sink)
                    continue
                if capture is None:
                    leaf_grad = t.grad
                    if leaf_grad is not None and not (create_graph or leaf_grad._requires_grad):
                        leaf_grad.data += g.data  # the common case (_Sink.put's last branch)
                        continue
                shareable = False
                if t.grad is None or capture is not None:  # the leaf may adopt g
                    if blocks is None:
                        blocks = [None if h is None else _memory_id(getattr(h, "data", h))
                                  for h in input_grads]
                    # A block returned twice (a + a, slices of one array): not adoptable.
                    shareable = blocks.count(blocks[i]) == 1
                sink.put(t, id(t), g, shareable)
        if hooked is not None:
            hooked.flush(sink)


def _checked_grad(fn, i, g, t):
    """``g`` as a Tensor, or a clear error if a backward returned the wrong shape or dtype."""
    if not isinstance(g, Tensor):
        g = Tensor._make(g)
    if g.data.shape != t.data.shape or g.data.dtype != t.data.dtype:
        raise RuntimeError(
            f"{type(fn).__name__}.backward returned a gradient of shape {tuple(g.shape)} and "
            f"dtype {g.dtype} for input {i} of shape {tuple(t.shape)} and dtype {t.dtype}")
    return g


def backward(tensor, gradient=None, retain_graph=None, create_graph=False):
    """Accumulate d(tensor)/d(leaf) into every leaf's ``.grad`` (see ``Tensor.backward``)."""
    if not tensor.requires_grad:
        raise RuntimeError("backward: the tensor does not require grad and has no grad_fn "
                           "(did the computation run under no_grad, or on inputs that do not "
                           "require grad?)")
    gradient = _as_grad_tensor(gradient, tensor, "backward")
    if retain_graph is None:
        retain_graph = create_graph
    try:
        _run_backward([tensor], [gradient], retain_graph, create_graph, _Sink(create_graph))
    except BaseException:
        _after_backward.clear()
        raise
    while _after_backward:                       # queue_callback's, in order
        _after_backward.pop(0)()


# Callables to run once the backward pass now running has finished (queue_callback).
_after_backward: list = []


def queue_callback(callback) -> None:
    """Run ``callback()`` once the ``backward()`` now running has finished (as PyTorch's
    ``Variable._execution_engine.queue_callback``): a Function's backward may queue one, e.g.
    DistributedDataParallel's averaging of the gradients. ``autograd.grad`` runs none."""
    _after_backward.append(callback)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    ``grad_outputs`` holds one upstream gradient per output (``None`` for one-element outputs).
    With ``create_graph=True`` the returned gradients are themselves differentiable.
    """
    outputs = [outputs] if isinstance(outputs, Tensor) else list(outputs)
    single = isinstance(inputs, Tensor)
    inputs = [inputs] if single else list(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = [grad_outputs] * len(outputs)
    grad_outputs = list(grad_outputs)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad: {len(grad_outputs)} grad_outputs for {len(outputs)} outputs")
    for t in inputs:
        if not t.requires_grad:
            raise RuntimeError(f"grad: an input of shape {tuple(t.shape)} does not require grad")
    roots, root_grads = [], []
    for out, g in zip(outputs, grad_outputs):
        if out.requires_grad:
            roots.append(out)
            root_grads.append(_as_grad_tensor(g, out, "grad"))
    if not roots:
        raise RuntimeError("grad: none of the outputs requires grad (were they computed under "
                           "no_grad, or from inputs that do not require grad?)")
    if retain_graph is None:
        retain_graph = create_graph
    keys = [id(t) if t.grad_fn is None else t.grad_fn for t in inputs]
    capture = dict.fromkeys(keys)
    try:
        _run_backward(roots, root_grads, retain_graph, create_graph, _Sink(create_graph, capture))
    finally:
        _after_backward.clear()   # grad() accumulates nothing: no backward callbacks
    result = [capture[k] for k in keys]
    for t, g in zip(inputs, result):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: an input of shape {tuple(t.shape)} was not used to "
                               f"compute the outputs (pass allow_unused=True)")
    return result[0] if single else tuple(result)


def _class_attribute(cls, name):
    """``name`` as the nearest class body in ``cls``'s MRO wrote it (a staticmethod stays one)."""
    for klass in cls.__mro__:
        if name in klass.__dict__:
            return klass.__dict__[name]
    return None


# PyTorch's ctx protocol (autograd/function.py) registers its class maker here when minigrad
# is imported; the engine never imports it, so the two do not import each other.
_make_ctx_function = None

# Imported on first use, so `import minigrad` does not pay for it.
_LAZY_SUBMODULES = ("functional", "function")
_LAZY_ATTRIBUTES = {"FunctionCtx": "function", "once_differentiable": "function"}


def __getattr__(name):
    import importlib
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        return getattr(importlib.import_module(f".{_LAZY_ATTRIBUTES[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


Tensor = None  # set by tensor.py, which imports this module first
# Tensor hooks (autograd/hooks.py, imported by the first register_hook): the leaves' hooks by
# id(leaf) (an entry leaves with its tensor), the two helpers the backward pass calls only
# when a hook exists, and whether a non-leaf tensor ever got one (until then backward does not
# look for hooks on its nodes).
_leaf_hooks = {}
_call_tensor_hooks = _PendingLeaves = None
_node_hooks_registered = False
# amp.autocast (minigrad/amp.py): this thread's dtype (None: off) and how many autocast blocks
# are open in all threads (0: backward need not look).
_autocast_mode = contextvars.ContextVar("minigrad_autocast", default=None)
_autocast_depth = 0
_new_object = object.__new__
_next_sequence = itertools.count().__next__


def _version_sum(inputs) -> int:
    """The sum of the inputs' version counters: they only grow, so it changes iff one does."""
    if len(inputs) == 2:
        a, b = inputs
        return a._version_counter[0] + b._version_counter[0]
    return sum([t._version_counter[0] for t in inputs])
