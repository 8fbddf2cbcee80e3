"""Module, Parameter and the containers Sequential and ModuleList, with PyTorch's semantics.

A :class:`Module` owns :class:`Parameter` s (tensors the optimizer trains), buffers (state that
is saved but not trained, such as BatchNorm's running mean) and child modules. All three are
registered by attribute assignment::

    class TwoLayer(Module):
        def __init__(self):
            super().__init__()
            self.hidden = Linear(4, 8)                          # a child module
            self.scale = Parameter(minigrad.ones(8))            # a parameter
            self.register_buffer("steps", minigrad.zeros(()))   # a buffer

        def forward(self, x):
            return self.hidden(x).relu() * self.scale

Names are dotted paths as in PyTorch (``hidden.weight``), which is how ``state_dict`` keys and
``named_parameters`` read. Registered values also live in the instance ``__dict__``, so reading
``self.weight`` in a hot ``forward`` is a plain attribute lookup.
"""

from __future__ import annotations

from collections import OrderedDict, namedtuple

import numpy as np

from .. import backend
from ..autograd import is_grad_enabled, no_grad
from ..autograd.hooks import RemovableHandle
from ..tensor import Tensor
from .parameter import Parameter

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "RemovableHandle"]


# False until some module gets a forward hook or a backward hook: until then a module call
# checks only its forward pre-hooks (pruning uses them).
_other_hooks_registered = False
_IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _check_name(module, name, kind):
    module._registries(name)  # a clear error if Module.__init__ has not run
    if not isinstance(name, str):
        raise TypeError(f"{kind} name should be a string, got {type(name).__name__}")
    if not name or "." in name:
        raise KeyError(f"{kind} name must be non-empty and contain no '.', got {name!r}")
    if name in module.__dict__ and not (name in module._parameters or name in module._buffers
                                        or name in module._modules):
        raise KeyError(f"attribute {name!r} already exists on {type(module).__name__}")


class Module:
    """Base class of every layer and model. Subclasses call ``super().__init__()`` first,
    assign parameters, buffers and child modules as attributes, and define ``forward``.

    ``module(x)`` runs, as PyTorch does: the forward pre-hooks (which may replace the
    inputs), ``forward``, the forward hooks (which may replace the output); backward hooks,
    if any, see the gradients of the call's inputs and outputs (nn/_backward_hooks.py).
    """

    training: bool

    def __init__(self):
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()   # name -> Parameter or None
        d["_buffers"] = OrderedDict()      # name -> Tensor or None
        d["_non_persistent"] = set()       # buffer names left out of state_dict
        d["_modules"] = OrderedDict()      # name -> Module or None
        d["_forward_pre_hooks"] = OrderedDict()   # handle id -> hook(module, args)
        d["_forward_hooks"] = OrderedDict()       # handle id -> hook(module, args, output)
        d["_backward_hooks"] = OrderedDict()      # hook(module, grad_input, grad_output)
        d["_backward_pre_hooks"] = OrderedDict()  # hook(module, grad_output)
        d["_hooks_with_kwargs"] = set()           # ids of forward (pre-)hooks taking kwargs

    # --- registration ---------------------------------------------------------------------

    def _registries(self, name):
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {name!r} before Module.__init__() call: "
                                 f"call super().__init__() first in {type(self).__name__}")
        return self._parameters, self._buffers, self._modules

    def __setattr__(self, name, value):
        d = self.__dict__
        if isinstance(value, Parameter):
            params, buffers, modules = self._registries(name)
            buffers.pop(name, None)
            modules.pop(name, None)
            params[name] = value
        elif isinstance(value, Module):
            params, buffers, modules = self._registries(name)
            params.pop(name, None)
            buffers.pop(name, None)
            modules[name] = value
        elif name in d.get("_parameters", ()):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as parameter {name!r} "
                                f"of {type(self).__name__} (a Parameter or None is expected)")
            self._parameters[name] = None
        elif name in d.get("_modules", ()):
            if value is not None:
                raise TypeError(f"cannot assign {type(value).__name__} as child module {name!r} "
                                f"of {type(self).__name__} (a Module or None is expected)")
            self._modules[name] = None
        elif name in d.get("_buffers", ()):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign {type(value).__name__} as buffer {name!r} "
                                f"of {type(self).__name__} (a Tensor or None is expected)")
            self._buffers[name] = value
        d[name] = value

    def __delattr__(self, name):
        for registry in (self._parameters, self._buffers, self._modules):
            registry.pop(name, None)
        self._non_persistent.discard(name)
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param) -> None:
        """Add a parameter (or None, a placeholder that state_dict skips) under ``name``."""
        _check_name(self, name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, "
                            f"got {type(param).__name__}")
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._parameters[name] = param
        self.__dict__[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """Add a buffer: a tensor that is state but not a parameter (moved by ``to()``,
        saved by ``state_dict`` when ``persistent``)."""
        _check_name(self, name, "buffer")
        if name in self._parameters or name in self._modules:
            raise KeyError(f"register_buffer: {name!r} is already a parameter or module")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"register_buffer: {name!r} must be a Tensor or None, "
                            f"got {type(tensor).__name__}")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def add_module(self, name: str, module) -> None:
        """Add a child module (or None) under ``name``."""
        _check_name(self, name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"add_module: {name!r} must be a Module or None, "
                            f"got {type(module).__name__}")
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules[name] = module
        self.__dict__[name] = module

    register_module = add_module

    # --- running --------------------------------------------------------------------------

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args, **kwargs):
        if self._forward_pre_hooks or (_other_hooks_registered and (
                self._forward_hooks or self._backward_hooks or self._backward_pre_hooks)):
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args, kwargs):
        with_kwargs = self._hooks_with_kwargs
        for hook_id, hook in list(self._forward_pre_hooks.items()):
            if hook_id in with_kwargs:
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError(
                            f"{type(self).__name__}: a forward pre-hook with kwargs must return "
                            f"None or a tuple (new_args, new_kwargs), got {result!r}")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:  # a hook may replace the inputs
                    args = result if isinstance(result, tuple) else (result,)
        backward_hook = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            from ._backward_hooks import BackwardHook
            backward_hook = BackwardHook(self)
            args = backward_hook.setup_input_hook(args)
        output = self.forward(*args, **kwargs)
        for hook_id, hook in list(self._forward_hooks.items()):
            if hook_id in with_kwargs:
                result = hook(self, args, kwargs, output)
            else:
                result = hook(self, args, output)
            if result is not None:  # a hook may replace the output
                output = result
        if backward_hook is not None:
            output = backward_hook.setup_output_hook(output)
        return output

    def _add_hook(self, table: str, hook, prepend: bool, with_kwargs: bool = False):
        if not callable(hook):
            raise TypeError(f"{type(self).__name__}: a hook must be callable, got "
                            f"{type(hook).__name__}")
        global _other_hooks_registered
        self._registries(table)  # a clear error if Module.__init__ has not run
        if table != "_forward_pre_hooks":
            _other_hooks_registered = True
        hooks = self.__dict__[table]
        handle = RemovableHandle(hooks, self._hooks_with_kwargs)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        if with_kwargs:
            self._hooks_with_kwargs.add(handle.id)
        return handle

    def register_forward_pre_hook(self, hook, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args)`` before each forward; a non-None return value replaces
        ``args`` (a tuple, or a single value meaning a one-element tuple). With
        ``with_kwargs=True``: ``hook(module, args, kwargs)`` returning None or
        ``(args, kwargs)``. ``prepend=True`` runs it before the hooks already registered."""
        return self._add_hook("_forward_pre_hooks", hook, prepend, with_kwargs)

    def register_forward_hook(self, hook, *, prepend: bool = False,
                              with_kwargs: bool = False) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after each forward (``args`` as forward got
        them); a non-None return value replaces the output. With ``with_kwargs=True``:
        ``hook(module, args, kwargs, output)``."""
        return self._add_hook("_forward_hooks", hook, prepend, with_kwargs)

    def register_full_backward_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` when the gradients with respect to
        this module's inputs are computed: tuples with one entry per positional input and per
        output Tensor (``None`` where there is none). A non-None return value (a tuple like
        ``grad_input``) replaces ``grad_input``. Details: :mod:`minigrad.nn._backward_hooks`."""
        return self._add_hook("_backward_hooks", hook, prepend)

    def register_full_backward_pre_hook(self, hook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients with respect to this module's
        outputs are computed; a non-None return value replaces ``grad_output``."""
        return self._add_hook("_backward_pre_hooks", hook, prepend)

    # --- traversal ----------------------------------------------------------------------

    def named_modules(self, memo=None, prefix: str = "", remove_duplicate: bool = True):
        """(dotted name, module) for this module and every descendant, depth first; the
        module itself comes first with name ``prefix``."""
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is None:
                continue
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self):
        for _, module in self.named_modules():
            yield module

    def named_children(self):
        """(name, module) for the direct children."""
        seen = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self):
        for _, child in self.named_children():
            yield child

    def _named_members(self, get_members, prefix, recurse, remove_duplicate=True):
        seen = set()
        modules = (self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate)
                   if recurse else [(prefix, self)])
        for module_prefix, module in modules:
            for name, value in get_members(module):
                if value is None or (remove_duplicate and id(value) in seen):
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True,
                         remove_duplicate: bool = True):
        """(dotted name, Parameter) pairs, e.g. ``('0.weight', ...)``; a parameter shared by
        two modules is listed once."""
        return self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                   remove_duplicate)

    def parameters(self, recurse: bool = True):
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True,
                      remove_duplicate: bool = True):
        return self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                   remove_duplicate)

    def buffers(self, recurse: bool = True):
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def apply(self, fn):
        """Call ``fn(module)`` on every child (recursively), then on this module; returns self.
        Typical use: custom initialization."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- modes and gradients ------------------------------------------------------------------

    def train(self, mode: bool = True):
        """Set training mode (``mode=True``) or evaluation mode on this module and all
        descendants; layers such as Dropout and BatchNorm behave differently. Returns self."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: mode must be a bool, got {type(mode).__name__}")
        for module in self.modules():
            module.__dict__["training"] = mode
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        """Set ``requires_grad`` on every parameter (freeze with False). Returns self."""
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: set it to None (default), or fill it with zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = param.grad.detach()
                param.grad.data[...] = 0

    # --- devices and dtypes -------------------------------------------------------------------

    def to(self, *args, device=None, dtype=None):
        """Move parameters, their gradients and buffers to ``device`` and/or cast the
        floating-point ones to ``dtype``: ``to('cuda')``, ``to(minigrad.float64)``.

        Done in place: every Parameter keeps its identity, so an optimizer built before the
        move still holds the model's parameters. Returns self.
        """
        for arg in args:
            if isinstance(arg, (str, backend.Device)):
                device = arg
            else:
                dtype = arg
        if device is not None:
            device = backend.device(device)
        if dtype is not None:
            dtype = np.dtype(dtype)
            if dtype.kind not in "fc":
                raise TypeError(f"Module.to: only floating-point dtypes are allowed, got {dtype}")

        def convert(array):
            if device is not None:
                array = backend.to_device(array, device)
            if dtype is not None and array.dtype.kind in "fc":
                array = array.astype(dtype, copy=False)
            return array

        tensors = list(self.parameters()) + list(self.buffers())
        for t in tensors:
            new = convert(t.data)
            if new is not t.data:
                t.data = new
                t._bump_version()
            if t.grad is not None:
                t.grad = Tensor._make(convert(t.grad.data))
        return self

    def cpu(self):
        return self.to("cpu")

    def cuda(self, index: int = 0):
        return self.to(f"cuda:{index}")

    def float(self):
        """Cast floating-point parameters and buffers to float32."""
        return self.to(np.float32)

    def double(self):
        """Cast floating-point parameters and buffers to float64 (e.g. for gradcheck)."""
        return self.to(np.float64)

    # --- saving and loading -------------------------------------------------------------------

    def _state_items(self):
        """(dotted name, tensor) for every parameter and persistent buffer, in PyTorch's
        order: each module's parameters, then its buffers, then its children."""
        for prefix, module in self.named_modules():
            dot = prefix + "." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    yield dot + name, param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    yield dot + name, buffer

    def state_dict(self, keep_vars: bool = False) -> "OrderedDict[str, Tensor]":
        """An ordered dict of dotted name -> tensor for every parameter and persistent buffer.

        The values are detached Tensors sharing memory with the module (as in PyTorch: copy
        them, or save them, to keep a snapshot); ``keep_vars=True`` gives the Parameters
        themselves.
        """
        return OrderedDict((name, t if keep_vars else t.detach())
                           for name, t in self._state_items())

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values (Tensors or NumPy/CuPy arrays) into the parameters and buffers, in place.

        ``state_dict`` may also be a path: a ``.safetensors`` file or a checkpoint of
        ``minigrad.save(model.state_dict(), path)``, read with :func:`minigrad.load`.
        With ``strict=True`` a missing or unexpected key is an error; a value whose shape does
        not match its tensor is always an error. Errors list every offending key and nothing
        is copied. Returns ``(missing_keys, unexpected_keys)``.
        """
        import os
        if isinstance(state_dict, (str, os.PathLike)):
            from ..serialization import load
            state_dict = load(state_dict)
        own = OrderedDict(self._state_items())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        mismatched = []
        for key, target in own.items():
            if key in state_dict:
                value = state_dict[key]
                shape = tuple(value.shape) if hasattr(value, "shape") else np.shape(value)
                if shape != tuple(target.shape):
                    mismatched.append(f"{key}: checkpoint shape {shape}, "
                                      f"model shape {tuple(target.shape)}")
        problems = []
        if strict and missing:
            problems.append("missing key(s): " + ", ".join(missing))
        if strict and unexpected:
            problems.append("unexpected key(s): " + ", ".join(unexpected))
        if mismatched:
            problems.append("size mismatch: " + "; ".join(mismatched))
        if problems:
            raise RuntimeError(f"load_state_dict for {type(self).__name__}: "
                               + "\n  ".join(problems))
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    value = state_dict[key]
                    target.copy_(value.data if isinstance(value, Tensor) else value)
        return _IncompatibleKeys(missing, unexpected)

    # --- printing -------------------------------------------------------------------------

    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (override in layers)."""
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines.extend(extra.split("\n"))
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        name = type(self).__name__
        if not self._modules:
            return f"{name}({extra})"
        return name + "(\n  " + "\n  ".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied in order: ``Sequential(Linear(4, 8), ReLU(), Linear(8, 2))``, or from an
    OrderedDict of names to modules. Supports indexing (a slice gives a Sequential), ``len``
    and iteration; children are named ``'0'``, ``'1'``, ... ."""

    def __init__(self, *modules):
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            for name, module in modules[0].items():
                self.add_module(name, module)
        else:
            for i, module in enumerate(modules):
                if not isinstance(module, Module):
                    raise TypeError(f"Sequential: argument {i} is a {type(module).__name__}, "
                                    f"not a Module")
                self.add_module(str(i), module)

    def forward(self, x):
        for module in self._modules.values():
            x = module(x)
        return x

    def _index(self, index: int) -> int:
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for "
                             f"{n} modules")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return list(self._modules.values())[self._index(index)]

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        """Add ``module`` at the end; returns self."""
        self.add_module(str(len(self._modules)), module)
        return self


class ModuleList(Module):
    """A list of modules whose parameters are registered (a plain list would hide them from
    ``parameters()``). Children are named ``'0'``, ``'1'``, ...; there is no forward."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _index(self, index: int) -> int:
        n = len(self._modules)
        if not -n <= index < n:
            raise IndexError(f"ModuleList: index {index} is out of range for {n} modules")
        return index % n

    def __getitem__(self, index):
        if isinstance(index, slice):
            return ModuleList(list(self._modules.values())[index])
        return self._modules[str(self._index(index))]

    def __setitem__(self, index, module):
        self.add_module(str(self._index(index)), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self._modules)), module)
        return self

    def extend(self, modules):
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module) -> None:
        items = list(self._modules.values())
        items.insert(index, module)
        for name in list(self._modules):
            del self.__dict__[name]
        self._modules.clear()
        self.extend(items)
