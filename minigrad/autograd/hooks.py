"""Tensor hooks (``Tensor.register_hook``) and the handle every hook registration returns.

PyTorch's semantics, which the backward pass in :mod:`minigrad.autograd` follows:

- ``hook(grad)`` is called with the tensor's gradient once it is complete (the sum over all
  the tensor's uses in this backward pass); a non-None return value replaces the gradient.
- Hooks of one tensor run in registration order, each seeing what the previous one returned.
- On a non-leaf tensor the hooks run before the gradient flows on to its ``grad_fn`` (and
  before ``retain_grad()`` stores it: ``.grad`` holds the hooked value).
- On a leaf they run before the gradient is accumulated into ``.grad`` (or captured by
  ``autograd.grad``), as soon as every use of the leaf has delivered its part.

Where the hooks live: a non-leaf tensor's on its ``grad_fn`` (one node per output tensor), a
leaf's in a table by ``id`` (an entry goes when its leaf does). A backward pass looks at
neither until a hook was registered: then it pays one check per node and per leaf edge, and
while leaf hooks exist, one walk of the graph to count each hooked leaf's incoming edges.
"""

from __future__ import annotations

import itertools
import weakref
from collections import OrderedDict

from .. import autograd as _engine

__all__ = ["RemovableHandle", "register_tensor_hook"]


class RemovableHandle:
    """Returned by every hook registration; ``remove()`` unregisters the hook (also as a
    context manager: the hook is removed on leaving the ``with`` block)."""

    _ids = itertools.count()

    def __init__(self, hooks: dict, extra=None):
        self._hooks = hooks
        self._extra = extra  # a set of ids with a flag (e.g. with_kwargs), cleaned up too
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self._hooks.pop(self.id, None)
        if self._extra is not None:
            self._extra.discard(self.id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()
        return False


def register_tensor_hook(tensor, hook) -> RemovableHandle:
    """``tensor.register_hook(hook)``: see the module docstring."""
    if not callable(hook):
        raise TypeError(f"register_hook: the hook must be callable, got {type(hook).__name__}")
    if not tensor._requires_grad:
        raise RuntimeError(f"register_hook: cannot register a hook on a tensor that doesn't "
                           f"require gradient (shape {tuple(tensor.shape)}, {tensor.dtype})")
    if tensor.grad_fn is not None:
        hooks = tensor.grad_fn._tensor_hooks
        if hooks is None:
            hooks = tensor.grad_fn._tensor_hooks = OrderedDict()
        _engine._node_hooks_registered = True
    else:
        entry = _engine._leaf_hooks.get(id(tensor))
        if entry is None:
            entry = _engine._leaf_hooks[id(tensor)] = _LeafHooks(tensor)
        hooks = entry.hooks
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    return handle


class _LeafHooks:
    """A leaf's hooks, in ``_engine._leaf_hooks`` under ``id(leaf)`` until the leaf dies.
    (Keyed by id, not by a weak reference: weak references compare their tensors with ==.)"""

    __slots__ = ("hooks", "ref")

    def __init__(self, leaf):
        key = id(leaf)
        self.hooks = OrderedDict()
        self.ref = weakref.ref(leaf, lambda _: _engine._leaf_hooks.pop(key, None))


def call_tensor_hooks(hooks, grad):
    """Run ``hooks`` (id -> hook) in order on ``grad``; each non-None result replaces it."""
    for hook in list(hooks.values()):
        result = hook(grad)
        if result is None:
            continue
        if not isinstance(result, _engine.Tensor):
            raise TypeError(f"hook {_name(hook)!r} returned a {type(result).__name__}; a hook "
                            f"returns a Tensor (the new gradient) or None")
        if result.shape != grad.shape:
            raise RuntimeError(f"hook {_name(hook)!r} has changed the size of value: "
                               f"{tuple(grad.shape)} -> {tuple(result.shape)}")
        if result.dtype != grad.dtype or result.device != grad.device:
            raise RuntimeError(f"hook {_name(hook)!r} has changed the type of value: "
                               f"{grad.dtype} on {grad.device} -> {result.dtype} on "
                               f"{result.device}")
        grad = result
    return grad


def _name(hook) -> str:
    return getattr(hook, "__name__", type(hook).__name__)


class PendingLeaves:
    """The hooked leaves of one backward pass: each leaf's gradient is summed here until all
    the edges that reach it have delivered, then its hooks run once and the sink gets it."""

    def __init__(self, roots, table):
        self.table = table
        self.remaining = {}  # leaf -> edges still to deliver
        self.sums = {}  # leaf -> gradient summed so far
        seen = set()
        stack = [t.grad_fn for t in roots if t.grad_fn is not None]
        while stack:  # count the edges into each hooked leaf (each node visited once)
            fn = stack.pop()
            if id(fn) in seen:
                continue
            seen.add(id(fn))
            for t in getattr(fn, "inputs", ()):
                if not t._requires_grad:
                    continue
                if t.grad_fn is not None:
                    stack.append(t.grad_fn)
                elif id(t) in table:
                    self.remaining[t] = self.remaining.get(t, 0) + 1

    def __contains__(self, leaf) -> bool:
        return leaf in self.remaining

    def deliver(self, leaf, grad, sink) -> None:
        previous = self.sums.get(leaf)
        self.sums[leaf] = grad if previous is None else previous + grad
        self.remaining[leaf] -= 1
        if not self.remaining[leaf]:
            self._finish(leaf, sink)

    def _finish(self, leaf, sink) -> None:
        del self.remaining[leaf]
        grad = self.sums.pop(leaf)
        entry = self.table.get(id(leaf))
        if entry is not None:  # (a hook may remove the leaf's hooks while they run)
            grad = call_tensor_hooks(entry.hooks, grad)
        sink.put(leaf, id(leaf), grad, False)

    def flush(self, sink) -> None:
        """Leaves some of whose edges carried no gradient: their hooks run at the end."""
        for leaf in [t for t in self.remaining if t in self.sums]:
            self._finish(leaf, sink)


_engine._call_tensor_hooks = call_tensor_hooks
_engine._PendingLeaves = PendingLeaves
