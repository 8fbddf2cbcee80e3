"""PyTorch's custom Function protocol: ``forward(ctx, ...)`` and ``backward(ctx, ...)`` on Tensors.

The way PyTorch teaches how backward works, and so what a learner will write::

    class Exp(minigrad.autograd.Function):
        @staticmethod
        def forward(ctx, x):                  # x: a Tensor; runs under no_grad
            y = x.exp()
            ctx.save_for_backward(y)          # inputs, outputs (or intermediates)
            return y                          # a Tensor, or a tuple for several outputs
        @staticmethod
        def backward(ctx, grad_y):            # one gradient per output
            (y,) = ctx.saved_tensors
            return grad_y * y                 # one gradient (or None) per forward argument

    z = Exp.apply(x)

``ctx`` is a :class:`FunctionCtx`: ``save_for_backward``/``saved_tensors``,
``needs_input_grad`` (one bool per forward argument), ``mark_non_differentiable``,
``set_materialize_grads`` and any attribute you set. Arguments that are not Tensors (numbers,
strings, lists) get ``None`` as their gradient. Backward is written with Tensor ops, so
``backward(create_graph=True)`` differentiates it again, as with minigrad's own ops. A
``setup_context(ctx, inputs, output)`` staticmethod (PyTorch 2's split form) is also accepted:
then ``forward`` takes no ``ctx``.

How it maps onto minigrad's engine (minigrad/autograd/__init__.py), which records one node per
output Tensor:

- ``apply`` runs ``forward`` under ``no_grad`` and gives each output Tensor a fresh Tensor
  object sharing its data and version counter; the graph node, an instance of ``<Name>Backward``,
  holds the Tensor arguments as its ``inputs`` and the ``ctx``.
- With two or more differentiable outputs, each output gets a small node of its own
  (:class:`OutputSlot`) that hands its gradient to the Function's node, which calls the user's
  ``backward`` once with all of them (zeros, or ``None`` after ``set_materialize_grads(False)``,
  for outputs that got none).
- In-place changes are checked as PyTorch checks them: a saved tensor changed after it was
  saved raises when ``backward`` reads ``ctx.saved_tensors``; other inputs may change freely.
- A saved output is not stored with its graph link (that would be a reference cycle): reading
  it rebuilds a Tensor tied to this node, so double backward flows through it.

Differences from PyTorch: ``mark_dirty`` (in-place custom Functions), ``jvp`` and ``vmap`` are
not supported; a forward that returns no Tensor, a NumPy array or a list is an error (PyTorch
passes such values through untracked, usually a bug); keyword arguments of ``apply`` reach
``forward`` but have no gradient slot.
"""

from __future__ import annotations

import functools
import weakref

import numpy as np

# This module is imported when the first PyTorch-style Function is defined, after `import
# minigrad` made the Tensor (so no minigrad module may define one while the package imports).
from .. import autograd as _engine
from .. import backend
from ..functions._helpers import unbroadcast
from ..tensor import Tensor
from . import (_FLOAT_KINDS, Function, _class_attribute, _grad_enabled, _new_object,
               _next_sequence, _set_grad_mode, _version_sum, no_grad)

__all__ = ["FunctionCtx", "OutputSlot", "make_ctx_function", "once_differentiable"]


class FunctionCtx:
    """What ``forward`` and ``backward`` share: saved tensors, flags, and any attribute."""

    def __init__(self, function_name: str, needs_input_grad: tuple):
        self._name = function_name
        self.needs_input_grad = needs_input_grad  # one bool per forward argument
        self.materialize_grads = True
        self._saved = ()  # (tensor or None, its version when saved, output index or None)
        self._non_differentiable = ()
        self._node = None  # weakref to the graph node, once apply recorded one

    def save_for_backward(self, *tensors) -> None:
        """Keep ``tensors`` (inputs, outputs or intermediates; ``None`` allowed) for backward.

        Their version is noted now: changing one in place before backward reads it is an error.
        """
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, Tensor):
                raise TypeError(f"{self._name}: save_for_backward can only save Tensors (or "
                                f"None), but argument {i} is a {type(t).__name__}; store other "
                                f"values as attributes of ctx")
        self._saved = tuple((t, None if t is None else t._version_counter[0], None)
                            for t in tensors)

    @property
    def saved_tensors(self) -> tuple:
        """The tensors given to ``save_for_backward``, checked against in-place changes."""
        result = []
        for i, (t, version, output_index) in enumerate(self._saved):
            if t is None:
                result.append(None)
                continue
            now = t._version_counter[0]
            if now != version:
                raise RuntimeError(
                    f"{self._name}: one of the tensors needed for gradient computation has been "
                    f"modified by an in-place operation: saved tensor {i} of shape "
                    f"{tuple(t.shape)} {t.dtype} is at version {now}; expected version "
                    f"{version}")
            node = None if self._node is None else self._node()
            if output_index is not None and node is not None and _grad_enabled():
                t = node.tied_output(output_index, t)  # double backward flows through it
            result.append(t)
        return tuple(result)

    def mark_non_differentiable(self, *outputs) -> None:
        """These outputs (returned by forward) get no gradient and do not require grad; their
        slot in ``backward`` receives zeros (or ``None`` without materialized grads)."""
        self._non_differentiable = self._non_differentiable + outputs

    def set_materialize_grads(self, value: bool) -> None:
        """``False``: outputs that got no gradient pass ``None`` to backward instead of zeros."""
        self.materialize_grads = bool(value)

    def mark_dirty(self, *tensors) -> None:
        raise NotImplementedError(
            f"{self._name}: mark_dirty (a custom Function that changes its inputs in place) is "
            f"not supported by minigrad; return a new Tensor instead")


class _Node:
    """The graph node of one call of a PyTorch-style Function (what the engine runs).

    Engine attributes, as on minigrad's array Functions: ``inputs`` (the Tensor arguments),
    ``versions``, ``output_counter``, ``sequence``. ``backward(grad)`` calls the user's
    ``backward(ctx, *grad_outputs)`` and returns one gradient per Tensor argument.
    """

    _retained = None
    _tensor_hooks = None  # Tensor.register_hook on this node's output (autograd/hooks.py)
    checks_input_versions = False  # ctx.saved_tensors checks what was saved, as in PyTorch
    function = None  # the user's Function class (set on each subclass)

    def backward(self, grad):
        if not self.has_backward:
            raise NotImplementedError(
                f"{self.function.__name__}: backward(ctx, *grad_outputs) is not defined, so "
                f"its gradient cannot be computed")
        ctx = self.ctx
        received = {self.direct_output: grad} if self.direct_output is not None else grad.parts
        grad_outputs = []
        for k, meta in enumerate(self.output_meta):
            g = received.get(k)
            if g is None and meta is not None and ctx.materialize_grads:
                shape, dtype, xp = meta
                g = Tensor._make(xp.zeros(shape, dtype))
            grad_outputs.append(g)
        grads = self.function.backward(ctx, *grad_outputs)
        return self._checked(grads)

    def _checked(self, grads) -> tuple:
        """The user's gradients, one per forward argument, as one per Tensor argument:
        shapes summed back over broadcasting and dtypes cast, as PyTorch does; else an error."""
        name = f"{self.function.__name__}.backward"
        if not isinstance(grads, (tuple, list)):
            grads = (grads,)
        n = len(self.argument_types)
        if len(grads) < n or any(g is not None for g in grads[n:]):
            raise RuntimeError(f"{name} returned an incorrect number of gradients (expected "
                               f"{n}, one per forward argument, got {len(grads)})")
        result = []
        inputs = iter(self.inputs)
        for i, (kind, g) in enumerate(zip(self.argument_types, grads)):
            if kind is not None:  # not a Tensor argument
                if g is not None:
                    raise RuntimeError(
                        f"{name} returned a gradient (not None) at position {i}, but forward's "
                        f"argument {i} is a {kind}, not a Tensor")
                continue
            t = next(inputs)
            if g is None or not t._requires_grad:
                result.append(None)
                continue
            if not isinstance(g, Tensor):
                raise TypeError(f"{name} returned a {type(g).__name__} at position {i}; "
                                f"expected a Tensor or None")
            if g.device != t.device:
                raise RuntimeError(f"{name} returned a gradient on {g.device} at position "
                                   f"{i} for an input on {t.device}")
            if g.shape != t.shape:
                if not _broadcasts_to(t.shape, g.shape):
                    raise RuntimeError(
                        f"{name} returned a gradient of shape {tuple(g.shape)} at position "
                        f"{i}, but the input has shape {tuple(t.shape)}")
                g = unbroadcast(g, t.shape)
            if g.dtype != t.dtype:
                g = g.to(t.dtype)
            result.append(g)
        return tuple(result)

    def tied_output(self, index: int, saved):
        """Output ``index`` (whose forward Tensor is ``saved``) as a Tensor whose gradient
        reaches this node: through the node itself, or a fresh OutputSlot when there are
        several differentiable outputs."""
        if index not in self.differentiable:
            return saved
        t = Tensor._make(saved.data, requires_grad=True)
        t._version_counter = saved._version_counter
        if self.direct_output is not None:
            t.grad_fn = self
        else:
            t.grad_fn = OutputSlot.make(self, index, t)
        return t

    def __repr__(self):
        return f"<{type(self).__name__}>"


# The hub of a several-output node carries no value (one shared 0-d array); what flows into
# it is a GradParts.
_HUB_DATA = np.zeros(())


class GradParts(Tensor):
    """The gradients of several outputs, ``{output index: Tensor}``, on their way from the
    OutputSlots to their Function's node. The engine sums what reaches a node with ``+``,
    which here merges the dicts (adding the gradients of an output reached twice)."""

    __slots__ = ("parts",)

    @classmethod
    def of(cls, parts):
        g = cls._make(_HUB_DATA)
        g.parts = parts
        return g

    def __add__(self, other):
        parts = dict(self.parts)
        for k, g in other.parts.items():
            parts[k] = parts[k] + g if k in parts else g
        return GradParts.of(parts)


class OutputSlot:
    """The node of one output of a Function with several differentiable outputs: its input
    is the Function node's hub (a 0-d Tensor standing for all outputs), its gradient goes to
    that node as ``{index: gradient}``."""

    _retained = None
    _tensor_hooks = None
    checks_input_versions = True

    @classmethod
    def make(cls, node, index, output):
        hub = Tensor._make(_HUB_DATA, requires_grad=True)
        hub.grad_fn = node
        slot = _new_object(cls)
        slot.inputs = (hub,)
        slot.index = index
        slot.versions = 0
        slot.output_counter = output._version_counter
        slot.sequence = _next_sequence()  # after the node: the engine runs it first
        slot.function_name = node.function.__name__
        return slot

    def backward(self, grad):
        return (GradParts.of({self.index: grad}),)

    def __repr__(self):
        return f"<{getattr(self, 'function_name', '?')}Backward output {self.index}>"


def _broadcasts_to(shape, target) -> bool:
    if len(shape) > len(target):
        return False
    return all(n == m or n == 1 for n, m in zip(shape[::-1], target[::-1]))


def _bad_output(name, value, where) -> TypeError:
    if hasattr(value, "__array__") or hasattr(value, "__cuda_array_interface__"):
        hint = ("forward(ctx, ...) computes on Tensors and returns Tensors; wrap an array with "
                "minigrad.tensor(), or write an array-level minigrad Function")
    elif isinstance(value, list):
        hint = "return several outputs as a tuple"
    else:
        hint = "return a Tensor or a tuple with at least one Tensor"
    return TypeError(f"{name}.forward returned {where}a {type(value).__name__}; {hint}")


def _apply(cls, *args, **kwargs):
    """``Function.apply`` of a PyTorch-style Function: run forward on Tensors under no_grad,
    then record one node (and one OutputSlot per output if several are differentiable)."""
    name = cls.__name__
    for key, value in kwargs.items():
        if isinstance(value, Tensor) and value._requires_grad:
            raise TypeError(f"{name}.apply: keyword argument {key!r} is a Tensor that requires "
                            f"grad; pass it positionally, so that it gets a gradient")
    tensor_args = tuple(a for a in args if isinstance(a, Tensor))
    ctx = FunctionCtx(name, tuple(isinstance(a, Tensor) and a._requires_grad for a in args))
    previous = _grad_enabled()
    _set_grad_mode(False)
    try:
        if cls._uses_setup_context:
            result = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, _bound_args(cls, args, kwargs), result)
        else:
            result = cls.forward(ctx, *args, **kwargs)
    finally:
        _set_grad_mode(previous)

    several = isinstance(result, tuple)
    returned = result if several else (result,)
    if not several and not isinstance(result, Tensor):
        raise _bad_output(name, result, "")
    for k, value in enumerate(returned):
        if not isinstance(value, Tensor) and (hasattr(value, "__array__")
                                             or isinstance(value, list)):
            raise _bad_output(name, value, f"at position {k} of its tuple ")
    if not any(isinstance(value, Tensor) for value in returned):
        raise TypeError(f"{name}.forward returned a tuple without a Tensor; return a Tensor or "
                        f"a tuple with at least one Tensor")

    # Fresh output objects (never the user's own: an input or a global may be returned), each
    # sharing its forward Tensor's data and version counter.
    outputs = []
    for value in returned:
        if isinstance(value, Tensor):
            out = Tensor._make(value.data)
            out._version_counter = value._version_counter
            value = out
        outputs.append(value)
    marked = ctx._non_differentiable
    differentiable = tuple(
        k for k, value in enumerate(returned)
        if isinstance(value, Tensor) and value.data.dtype.kind in _FLOAT_KINDS
        and not any(value is m for m in marked))

    if previous and differentiable and any(t._requires_grad for t in tensor_args):
        node = _new_object(cls._node_class)
        node.inputs = tensor_args
        node.ctx = ctx
        node.versions = _version_sum(tensor_args)
        node.sequence = _next_sequence()
        node.argument_types = tuple(None if isinstance(a, Tensor) else type(a).__name__
                                    for a in args)
        node.output_meta = tuple(
            (v.data.shape, v.data.dtype, backend.array_module(v.data))
            if isinstance(v, Tensor) else None for v in returned)
        node.differentiable = differentiable
        if len(differentiable) == 1:
            node.direct_output = differentiable[0]
            out = outputs[node.direct_output]
            out.grad_fn = node
            out._requires_grad = True
            node.output_counter = out._version_counter
        else:
            node.direct_output = None
            node.output_counter = [0]  # the hub's; each output's is on its OutputSlot
            for k in differentiable:
                outputs[k].grad_fn = OutputSlot.make(node, k, outputs[k])
                outputs[k]._requires_grad = True
        ctx._node = weakref.ref(node)
        # Saved outputs are kept as forward's own Tensors (no graph link, so no cycle) and
        # tied to the node when backward reads them.
        ctx._saved = tuple(
            (t, version, _position(returned, t)) for t, version, _ in ctx._saved)
    return tuple(outputs) if several else outputs[0]


def _position(returned, t):
    for k, value in enumerate(returned):
        if value is t and t is not None:
            return k
    return None


def _bound_args(cls, args, kwargs) -> tuple:
    """forward's arguments, defaults filled in, as one tuple (``setup_context``'s ``inputs``,
    as PyTorch binds them)."""
    signature = cls.__dict__.get("_forward_signature")
    if signature is None:
        import inspect
        signature = cls._forward_signature = inspect.signature(cls.forward)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return bound.args


def make_ctx_function(cls) -> None:
    """Turn the class ``cls`` (a Function subclass with ``@staticmethod forward``) into a
    PyTorch-style Function: its own ``apply`` and a ``<Name>Backward`` node class."""
    cls._uses_setup_context = _class_attribute(cls, "setup_context") is not None
    has_backward = _class_attribute(cls, "backward") is not Function.__dict__["backward"]
    cls._node_class = type(f"{cls.__name__}Backward", (_Node,), {
        "function": cls, "has_backward": has_backward, "__module__": cls.__module__,
        "__qualname__": f"{cls.__qualname__}Backward"})
    cls.apply = classmethod(_apply)


def once_differentiable(backward):
    """Decorate a ``backward`` whose body is not differentiable (NumPy code, say): it runs
    under no_grad, and differentiating its result (``create_graph=True``) raises instead of
    silently giving zero."""

    @functools.wraps(backward)
    def wrapper(ctx, *grad_outputs):
        with no_grad():
            grads = backward(ctx, *grad_outputs)
        if not _grad_enabled():
            return grads
        node = None if ctx._node is None else ctx._node()
        sources = [g for g in grad_outputs if isinstance(g, Tensor) and g._requires_grad]
        if node is not None:
            sources += [t for t in node.inputs if t._requires_grad]
        if not sources:
            return grads
        single = not isinstance(grads, (tuple, list))
        marked = tuple(_OnceDifferentiated.apply(g, *sources, name=ctx._name)
                       if isinstance(g, Tensor) and g.data.dtype.kind in _FLOAT_KINDS else g
                       for g in ((grads,) if single else grads))
        return marked[0] if single else marked

    return wrapper


class _OnceDifferentiated(Function):
    """Identity on the gradient; its backward refuses (see :func:`once_differentiable`)."""

    def forward(self, g, *sources, name):
        self.name = name
        return g

    def backward(self, grad):
        raise RuntimeError(
            f"{self.name}: its backward is decorated with @once_differentiable, so it cannot be "
            f"differentiated again (create_graph=True through it)")


_engine._make_ctx_function = make_ctx_function   # the engine hands ctx-style classes here
