"""The Optimizer base class: parameter groups, per-parameter state, ``step``, ``zero_grad`` and
saving/restoring with ``state_dict``, as in ``torch.optim.Optimizer``.

An optimizer holds ``param_groups``, a list of dicts: each has ``'params'`` (a list of
Parameters) and that group's hyper-parameters (``'lr'``, ``'momentum'``, ...), filled from
``defaults`` where the group does not set them. Per-parameter state (momentum buffers, moment
estimates, step counts) lives in ``state[p]``, a dict of Tensors and numbers.

How the subclasses update parameters (the rules every one of them follows):

- in place, on the raw arrays (``p.data``), with NumPy/CuPy ufuncs and ``out=``: no Python
  loop over elements, the same code on both devices (``xp = backend.array_module(p.data)``);
- the user's gradient ``p.grad`` is only read, never modified;
- intermediate values go into **one shared scratch buffer** per (device, dtype), the size of
  the largest parameter, kept between steps: a step allocates no new memory (fresh memory
  costs page faults) and needs no temporary the size of all parameters;
- hyper-parameters and bias corrections are Python floats, so float32 parameters get float32
  state and float32 arithmetic (a NumPy float64 scalar would promote float32 arrays to
  float64 under NumPy 2's rules);
- after an update the parameter's version counter is bumped, so a graph recorded before the
  step refuses to backpropagate through the changed values.
"""

from __future__ import annotations

import math
import numbers
from collections import defaultdict

import numpy as np

from .. import backend
from ..autograd import enable_grad
from ..tensor import Tensor

__all__ = ["Optimizer", "required"]


class _Required:
    """Marks a hyper-parameter without a default (``SGD``'s ``lr``)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


# ---------------------------------------------------------------------------------------------
# Hyper-parameter checks: a clear error naming the optimizer, the parameter and its value.


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_range(owner: str, name: str, value, low=0.0, high=math.inf, *, low_open=False,
                high_open=False):
    """Raise ``ValueError`` unless ``value`` is a real number in the given interval."""
    ok = _is_real(value) and not math.isnan(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high)
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open or high == math.inf else "]"
        high_text = "inf" if high == math.inf else f"{high:g}"
        raise ValueError(f"{owner}: invalid {name} = {value!r}: expected a number in "
                         f"{left}{low:g}, {high_text}{right}")


# ---------------------------------------------------------------------------------------------


class Optimizer:
    """Base class of every optimizer.

    ``params`` is an iterable of Parameters (one group) or of dicts, each a group with its own
    hyper-parameters: ``SGD([{'params': body}, {'params': head, 'lr': 0.1}], lr=0.01)``.
    Subclasses implement :meth:`step` and :meth:`_check_group`.
    """

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of Tensors or "
                            f"of dicts, got a single Tensor; wrap it in a list")
        self.defaults = dict(defaults)
        self._check_group({k: v for k, v in self.defaults.items() if v is not required})
        self.state: dict = defaultdict(dict)  # Parameter -> {name: Tensor or number}
        self.param_groups: list[dict] = []
        self._scratch_buffers: dict = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(k for k in group if k != "params"):
                lines.append(f"    {key}: {group[key]}")
        return "\n".join(lines) + "\n)"

    # --- groups ---------------------------------------------------------------------------

    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters (a dict with ``'params'`` and optional hyper-parameters,
        the missing ones taken from ``defaults``). A parameter may be in only one group."""
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(f"{name}.add_param_group: expected a dict, "
                            f"got {type(param_group).__name__}")
        group = dict(param_group)
        params = group.get("params")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(f"{name}: parameters must be given in a fixed order (a list), not a "
                            f"set, so that state_dict can refer to them by position")
        elif params is None:
            raise ValueError(f"{name}.add_param_group: the group has no 'params' entry")
        params = list(params)
        for p in params:
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize Tensors, got {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (one computed by "
                                 f"an op); optimize the leaves it came from")
            if p.dtype.kind != "f":
                raise TypeError(f"{name}: can only optimize floating-point tensors, got {p.dtype}")
        if len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: a parameter group lists the same parameter twice")
        taken = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in taken for p in params):
            raise ValueError(f"{name}: some parameters appear in more than one parameter group")
        for key, default in self.defaults.items():
            if default is required and key not in group:
                raise ValueError(f"{name}: parameter group didn't specify a value of required "
                                 f"optimization parameter {key}")
            group.setdefault(key, default)
        self._check_group(group)
        group["params"] = params
        self.param_groups.append(group)

    def _check_group(self, group: dict) -> None:
        """Validate a group's hyper-parameters (subclasses: raise ValueError naming the bad one)."""

    # --- gradients --------------------------------------------------------------------------

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``grad = None`` (default), or zero it in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    grad = p.grad if p.grad.grad_fn is None else p.grad.detach()
                    grad.data[...] = 0  # the gradient is our own array: zero it in place
                    p.grad = grad

    def step(self, closure=None):
        """Update every parameter that has a gradient; return ``closure()``'s loss, if given."""
        raise NotImplementedError

    @staticmethod
    def _evaluate(closure):
        """Run ``closure`` (which zeroes grads, recomputes the loss, calls backward and returns
        the loss) with gradients enabled, as ``step(closure)`` promises."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    # --- helpers for the update rules --------------------------------------------------------

    @staticmethod
    def _grad(p):
        """The gradient array of ``p`` (checked to match its shape), or None to skip ``p``."""
        grad = p.grad
        if grad is None:
            return None
        g = grad.data
        if g.shape != p.data.shape:
            raise RuntimeError(f"optimizer step: the gradient of a parameter of shape "
                               f"{tuple(p.data.shape)} has shape {tuple(g.shape)}")
        return g

    def _parameters_to_update(self, group):
        """For each parameter of ``group`` that has a gradient: ``(p, ∇f array, θ array, its
        array module, a scratch buffer shaped like θ)``."""
        for p in group["params"]:
            grad = self._grad(p)
            if grad is not None:
                theta = p.data
                yield p, grad, theta, backend.array_module(theta), self._scratch(theta)

    def _scratch(self, like, slot: int = 0):
        """A work array shaped like ``like``: a view into one buffer per (device, dtype),
        grown to the largest parameter and reused by every parameter and every step.

        ``slot=1`` is a second such buffer, for the few rules that must keep g_t while they
        compute something else (RMSprop and Adagrad with weight decay or ``maximize``).
        """
        key = (backend.device_of(like), like.dtype, slot)
        flat = self._scratch_buffers.get(key)
        if flat is None or flat.size < like.size:
            xp = backend.array_module(like)
            with backend.on_device(key[0]):
                flat = xp.empty(like.size, dtype=like.dtype)
            self._scratch_buffers[key] = flat
        return flat[:like.size].reshape(like.shape)

    @staticmethod
    def _state_like(param, fill=0.0) -> Tensor:
        """A state array (as a Tensor) with the parameter's shape, dtype and device."""
        xp = backend.array_module(param)
        with backend.on_device(backend.device_of(param)):
            return Tensor._make(xp.full(param.shape, fill, dtype=param.dtype))

    @staticmethod
    def _state_copy(array) -> Tensor:
        """A state array (as a Tensor) holding a copy of ``array``, on its device."""
        with backend.on_device(backend.device_of(array)):
            return Tensor._make(array.copy())

    @staticmethod
    def _signed_decayed_grad(g, theta, weight_decay, maximize, buf):
        """g_t = ±∇f(θ_{t-1}) + λ θ_{t-1} (minus when maximizing), leaving ``g`` untouched.

        Returns ``g`` itself when there is nothing to add (no copy), else ``buf`` holding g_t.
        """
        xp = backend.array_module(theta)
        if weight_decay != 0:
            xp.multiply(theta, weight_decay, out=buf)  # λ θ_{t-1}
            if maximize:
                buf -= g                                # −∇f + λ θ
            else:
                buf += g                                # ∇f + λ θ
            return buf
        if maximize:
            return xp.negative(g, out=buf)              # −∇f
        return g

    # --- saving and restoring -----------------------------------------------------------------

    def state_dict(self) -> dict:
        """The optimizer's state in PyTorch's layout::

            {'state': {0: {'step': 3, 'exp_avg': Tensor, ...}, 1: {...}},
             'param_groups': [{'lr': 0.001, ..., 'params': [0, 1]}, ...]}

        Parameters are referred to by integer ids, numbered in order through the groups; only
        parameters that have state appear in ``'state'``. Values are Tensors (sharing memory
        with the optimizer, as in PyTorch: copy or save them to keep a snapshot), numbers,
        booleans and tuples, so the dict can be stored as ``.npz`` plus JSON.
        """
        ids = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = [ids.setdefault(id(p), len(ids)) for p in group["params"]]
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[ids[id(p)]] = {k: (v.detach() if isinstance(v, Tensor) else v)
                                         for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore hyper-parameters and per-parameter state saved by :meth:`state_dict`.

        The groups must match this optimizer's in number and sizes. Arrays are copied onto
        each parameter's device and dtype (so a checkpoint saved on cuda loads on cpu); their
        shapes must match the parameters'.
        """
        name = type(self).__name__
        try:
            saved_groups = state_dict["param_groups"]
            saved_state = state_dict["state"]
        except (KeyError, TypeError):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and "
                             f"'param_groups'") from None
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(f"{name}.load_state_dict: the state dict has {len(saved_groups)} "
                             f"parameter group(s), this optimizer has {len(self.param_groups)}")
        id_to_param = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"{name}.load_state_dict: parameter group {i} has "
                                 f"{len(saved['params'])} parameter(s) in the state dict and "
                                 f"{len(group['params'])} in this optimizer")
            for key, p in zip(saved["params"], group["params"]):
                id_to_param[int(key)] = p
        new_state = defaultdict(dict)
        for key, values in saved_state.items():
            if int(key) not in id_to_param:
                raise ValueError(f"{name}.load_state_dict: state for parameter id {key}, "
                                 f"which no parameter group lists")
            p = id_to_param[int(key)]
            new_state[p] = {k: self._restore_value(k, v, p) for k, v in values.items()}
        new_groups = []
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            missing = sorted(set(self.defaults) - set(saved))
            if missing:
                raise ValueError(f"{name}.load_state_dict: parameter group {i} lacks "
                                 f"{', '.join(missing)} (a state dict of another optimizer?)")
            restored = {k: v for k, v in saved.items() if k != "params"}
            if isinstance(restored.get("betas"), list):
                restored["betas"] = tuple(restored["betas"])  # JSON turns tuples into lists
            restored["params"] = group["params"]
            self._check_group(restored)
            new_groups.append(restored)
        self.param_groups = new_groups
        self.state = new_state

    def _restore_value(self, key, value, p):
        """A saved state entry as this optimizer keeps it: the step count as an int; arrays
        as Tensors copied onto the parameter's device and dtype (never aliasing the dict)."""
        if isinstance(value, Tensor):
            value = value.data
        if key == "step":
            return int(value)
        if isinstance(value, (list, tuple)):  # an array written out as nested lists
            value = np.asarray(value)
        if not hasattr(value, "shape"):
            return value
        if tuple(value.shape) != tuple(p.data.shape):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state {key!r} has shape "
                             f"{tuple(value.shape)}, its parameter has shape "
                             f"{tuple(p.data.shape)}")
        array = backend.to_device(value, p.device)
        return Tensor._make(array.astype(p.data.dtype, copy=True))
