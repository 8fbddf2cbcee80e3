"""How a parameter is pruned: how many entries an amount means, which entries each criterion
picks (the mask its method class computes, as ``torch.nn.utils.prune``'s), and the mechanics
that install a mask (``<name>_orig``, ``<name>_mask`` and the forward pre-hook that recomputes
``<name>``; see the package docstring)."""

from __future__ import annotations

import math
import numbers

import numpy as np

from .... import backend
from ....autograd import no_grad
from ....tensor import Tensor
from ...module import Module


# ---------------------------------------------------------------------------------------------
# Amounts


def _validate_amount(amount, who: str):
    """``amount`` is an int ≥ 0 (a count) or a float in [0, 1] (a fraction)."""
    if isinstance(amount, bool) or not isinstance(amount, numbers.Real):
        raise TypeError(f"{who}: amount must be an int (a count) or a float in [0, 1] "
                        f"(a fraction), got {type(amount).__name__}")
    if isinstance(amount, numbers.Integral):
        if amount < 0:
            raise ValueError(f"{who}: amount must be a non-negative int or a float in "
                             f"[0, 1], got {amount}")
        return int(amount)
    amount = float(amount)
    if not 0.0 <= amount <= 1.0:  # also rejects nan
        raise ValueError(f"{who}: a float amount is a fraction and must be in [0, 1], "
                         f"got {amount}")
    return amount


def _count_to_prune(amount, remaining: int, unit: str, who: str) -> int:
    """k, the number of the ``remaining`` unpruned units to prune: ``amount`` itself for an
    int, round(amount · remaining) for a float (Python's round: half to even)."""
    if isinstance(amount, int):
        if amount > remaining:
            raise ValueError(f"{who}: amount={amount} is larger than the number of "
                             f"{unit} that can still be pruned ({remaining})")
        return amount
    return round(amount * remaining)


def _smallest(scores, k: int):
    """Positions of the k smallest entries of the 1-D array ``scores`` (ties broken
    arbitrarily), by a partial sort."""
    xp = backend.array_module(scores)
    return xp.argpartition(scores, k - 1)[:k]


# ---------------------------------------------------------------------------------------------
# Pruning methods


class BasePruningMethod:
    """A pruning criterion, also the forward pre-hook that recomputes the pruned tensor.

    Subclasses set ``PRUNING_TYPE`` ('unstructured', 'structured' or 'global') and define
    ``compute_mask(importance, default_mask)``: from the importance array (the original
    values, or user scores) and the current mask (1 = kept), return a new mask that keeps
    every zero of ``default_mask`` and adds the zeros this criterion chooses among the entries
    still at 1. Arrays in, arrays out (NumPy or CuPy), in the mask's dtype.
    """

    PRUNING_TYPE: str = ""
    _tensor_name: str = ""
    _handle = None  # the RemovableHandle of the forward pre-hook, once installed

    def compute_mask(self, importance, default_mask):
        raise NotImplementedError(f"{type(self).__name__} does not define compute_mask")

    def __call__(self, module, inputs):
        """The forward pre-hook: ``module.<name> = <name>_orig ⊙ <name>_mask``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    def apply_mask(self, module) -> Tensor:
        """The pruned tensor, orig ⊙ mask, as a differentiable product (gradients reach
        ``<name>_orig`` only where the mask is 1)."""
        name = self._tensor_name
        return module._parameters[name + "_orig"] * module._buffers[name + "_mask"]

    def prune(self, t: Tensor, default_mask=None, importance_scores=None) -> Tensor:
        """``t`` ⊙ mask for a tensor outside any module (no reparametrization): the mask is
        ``compute_mask(importance, default_mask)``, importance = ``t`` by default and
        default_mask = ones."""
        importance = t.data if importance_scores is None else _raw(importance_scores)
        if default_mask is None:
            xp = backend.array_module(t.data)
            default_mask = xp.ones_like(t.data)
        mask = self.compute_mask(importance, _raw(default_mask))
        return t * Tensor._make(mask.astype(t.dtype, copy=False))

    @classmethod
    def apply(cls, module, name, *args, importance_scores=None, **kwargs):
        """Prune ``module.<name>`` with a new ``cls(*args, **kwargs)``; returns the method
        (the hook installed on the module, or the container it joined)."""
        return _prune(module, name, cls(*args, **kwargs), importance_scores,
                      who=f"{cls.__name__}.apply")

    def remove(self, module) -> None:
        """Make the pruning permanent: ``<name>`` becomes a Parameter again, holding
        orig ⊙ mask (the ``<name>_orig`` object, updated in place), and ``<name>_orig``,
        ``<name>_mask`` and this hook are removed."""
        name = self._tensor_name
        orig = module._parameters[name + "_orig"]
        mask = module._buffers[name + "_mask"]
        with no_grad():
            orig.mul_(mask)                         # θ ← θ_orig ⊙ m
        module.__dict__.pop(name, None)             # the plain attribute set by the hook
        delattr(module, name + "_orig")
        delattr(module, name + "_mask")
        module.register_parameter(name, orig)
        self._handle.remove()
        self._handle = None


class PruningContainer(BasePruningMethod):
    """The hook of a tensor pruned more than once: keeps, in order, every method applied to
    it (``container.methods``). Its mask is the product of theirs, stored in the module's
    ``<name>_mask``; pruning with a container applies its newest method."""

    def __init__(self, *methods):
        self.methods: tuple = ()
        for method in methods:
            self.add_pruning_method(method)

    def add_pruning_method(self, method) -> None:
        if not isinstance(method, BasePruningMethod):
            raise TypeError(f"PruningContainer: {type(method).__name__} is not a pruning "
                            f"method")
        if not self.methods:
            self._tensor_name = method._tensor_name
        elif method._tensor_name != self._tensor_name:
            raise ValueError(f"PruningContainer: a method for {method._tensor_name!r} cannot "
                             f"join the container of {self._tensor_name!r}")
        if isinstance(method, PruningContainer):
            self.methods += method.methods
        else:
            self.methods += (method,)
        self.PRUNING_TYPE = self.methods[-1].PRUNING_TYPE

    def __len__(self):
        return len(self.methods)

    def __iter__(self):
        return iter(self.methods)

    def __getitem__(self, index):
        return self.methods[index]

    def compute_mask(self, importance, default_mask):
        if not self.methods:
            raise RuntimeError("PruningContainer: no pruning method was added")
        return self.methods[-1].compute_mask(importance, default_mask)


class Identity(BasePruningMethod):
    """Prunes nothing: installs the reparametrization (``<name>_orig``, a mask of ones and the
    hook) so that later pruning, or loading a pruned checkpoint, finds it in place."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, importance, default_mask):
        return default_mask.copy()


class L1Unstructured(BasePruningMethod):
    """Prune the ``amount`` unpruned entries with the smallest magnitude |w_i| (the L1 norm of
    a single entry). ``amount``: int count or float fraction of the unpruned entries."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        self.amount = _validate_amount(amount, type(self).__name__)

    def compute_mask(self, importance, default_mask):
        xp = backend.array_module(default_mask)
        mask = default_mask.copy()                      # C-contiguous: reshape(-1) is a view
        flat_mask = mask.reshape(-1)
        alive = xp.flatnonzero(flat_mask)               # the entries still unpruned
        k = _count_to_prune(self.amount, int(alive.size), "entries", type(self).__name__)
        if k > 0:
            scores = xp.abs(importance.reshape(-1)[alive])    # |w_i| for unpruned i
            flat_mask[alive[_smallest(scores, k)]] = 0        # the k smallest |w_i| → 0
        return mask


class RandomUnstructured(BasePruningMethod):
    """Prune ``amount`` of the unpruned entries chosen uniformly at random (each subset of k
    entries equally likely), from the device's generator (``minigrad.manual_seed``)."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount):
        self.amount = _validate_amount(amount, type(self).__name__)

    def compute_mask(self, importance, default_mask):
        xp = backend.array_module(default_mask)
        mask = default_mask.copy()
        flat_mask = mask.reshape(-1)
        alive = xp.flatnonzero(flat_mask)
        k = _count_to_prune(self.amount, int(alive.size), "entries", type(self).__name__)
        if k > 0:
            rng = backend.generator(backend.device_of(default_mask))
            flat_mask[alive[rng.permutation(int(alive.size))[:k]]] = 0   # k random entries → 0
        return mask


def _norm_order(n, who: str) -> float:
    """The order of an L_n norm: a number > 0, ±inf, or 'fro' (= 2)."""
    if isinstance(n, str):
        if n == "fro":
            return 2.0
        raise ValueError(f"{who}: n must be a number > 0, inf, -inf or 'fro', got {n!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Real):
        raise TypeError(f"{who}: n must be a number > 0, inf, -inf or 'fro', "
                        f"got {type(n).__name__}")
    n = float(n)
    if not (n > 0 or n == -math.inf):  # also rejects nan
        raise ValueError(f"{who}: n must be > 0, inf, -inf or 'fro', got {n}")
    return n


def _channel_norms(importance, n: float, dim: int):
    """‖W_c‖_n for every slice c along ``dim``, over all the other dims::

        n = inf:   max_i |w_i|        n = -inf:   min_i |w_i|
        else:      (Σ_i |w_i|^n)^(1/n)
    """
    xp = backend.array_module(importance)
    others = tuple(d for d in range(importance.ndim) if d != dim)
    magnitude = xp.abs(importance)
    if n == math.inf:
        return magnitude.max(axis=others)
    if n == -math.inf:
        return magnitude.min(axis=others)
    return (magnitude ** n).sum(axis=others) ** (1.0 / n)


class LnStructured(BasePruningMethod):
    """Prune whole channels (slices along ``dim``): the ``amount`` unpruned channels with the
    smallest L_n norm ‖W_c‖_n (see :func:`ln_structured`)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount, n, dim=-1):
        self.amount = _validate_amount(amount, type(self).__name__)
        self.n = _norm_order(n, type(self).__name__)
        if isinstance(dim, bool) or not isinstance(dim, numbers.Integral):
            raise TypeError(f"LnStructured: dim must be an int, got {type(dim).__name__}")
        self.dim = int(dim)

    def compute_mask(self, importance, default_mask):
        who = type(self).__name__
        xp = backend.array_module(default_mask)
        ndim = default_mask.ndim
        if ndim < 2:
            raise ValueError(f"{who}: structured pruning needs a tensor with at least 2 dims "
                             f"(channels along one dim), got shape {tuple(default_mask.shape)}")
        if not -ndim <= self.dim < ndim:
            raise IndexError(f"{who}: dim {self.dim} is out of range for a tensor of shape "
                             f"{tuple(default_mask.shape)}")
        dim = self.dim % ndim
        others = tuple(d for d in range(ndim) if d != dim)
        alive = xp.flatnonzero((default_mask != 0).any(axis=others))  # channels not all pruned
        k = _count_to_prune(self.amount, int(alive.size), f"channels along dim {dim}", who)
        mask = default_mask.copy()
        if k > 0:
            norms = _channel_norms(importance, self.n, dim)              # ‖W_c‖_n per channel
            pruned = alive[_smallest(norms[alive], k)]                   # the k smallest
            xp.moveaxis(mask, dim, 0)[pruned] = 0                        # whole channels → 0
        return mask


class CustomFromMask(BasePruningMethod):
    """Prune where a given mask is 0: new mask = current mask ⊙ ``mask``."""

    PRUNING_TYPE = "global"

    def __init__(self, mask):
        self.mask = _raw(mask)

    def compute_mask(self, importance, default_mask):
        given = self.mask
        if tuple(given.shape) != tuple(default_mask.shape):
            raise ValueError(f"CustomFromMask: the mask has shape {tuple(given.shape)} but "
                             f"the tensor has shape {tuple(default_mask.shape)}")
        xp = backend.array_module(default_mask)
        given = backend.to_device(given, backend.device_of(default_mask))
        if given.dtype.kind == "b":
            return default_mask * given.astype(default_mask.dtype)
        if not bool(xp.all((given == 0) | (given == 1))):
            raise ValueError("CustomFromMask: the mask must hold only 0s and 1s")
        return default_mask * given.astype(default_mask.dtype, copy=False)


# ---------------------------------------------------------------------------------------------
# Installing, composing and removing


def _raw(value):
    """The array inside a Tensor; arrays as they are; lists and numbers as NumPy arrays."""
    if isinstance(value, Tensor):
        return value.data
    return value if hasattr(value, "shape") else np.asarray(value)


def _pruning_hook(module, name):
    """The pruning hook of ``module.<name>``, or None when it is not pruned."""
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            return hook
    return None


def _check_target(module, name, who):
    if not isinstance(module, Module):
        raise TypeError(f"{who}: expected a Module, got {type(module).__name__}")
    if not isinstance(name, str):
        raise TypeError(f"{who}: the parameter name must be a string, "
                        f"got {type(name).__name__}")


def _original(module, name, who):
    """(the original Parameter, the current mask array or None) of ``module.<name>``."""
    _check_target(module, name, who)
    if _pruning_hook(module, name) is not None:
        return module._parameters[name + "_orig"], module._buffers[name + "_mask"].data
    param = module._parameters.get(name)
    if param is None:
        kind = type(module).__name__
        if name in module._parameters:
            raise ValueError(f"{who}: parameter {name!r} of {kind} is None (nothing to prune)")
        names = ", ".join(module._parameters) or "none"
        raise AttributeError(f"{who}: {kind} has no parameter {name!r} (its parameters: "
                             f"{names})")
    for suffix in ("_orig", "_mask"):
        if name + suffix in module.__dict__:
            raise KeyError(f"{who}: {type(module).__name__} already has an attribute "
                           f"{name + suffix!r}, which pruning {name!r} would overwrite")
    return param, None


def _importance(scores, orig, who):
    if scores is None:
        return orig.data
    scores = _raw(scores)
    if tuple(scores.shape) != tuple(orig.shape):
        raise ValueError(f"{who}: importance_scores has shape {tuple(scores.shape)} but the "
                         f"parameter has shape {tuple(orig.shape)}")
    return backend.to_device(scores, orig.device)


def _prune(module, name, method, importance_scores, who):
    """Compute the new mask of ``module.<name>`` with ``method`` and install or update the
    reparametrization (see the module docstring)."""
    orig, old_mask = _original(module, name, who)
    xp = backend.array_module(orig.data)
    default_mask = xp.ones_like(orig.data) if old_mask is None else old_mask
    mask = method.compute_mask(_importance(importance_scores, orig, who), default_mask)
    mask = mask.astype(orig.dtype, copy=False)
    method._tensor_name = name
    if old_mask is None:                                  # first pruning: reparametrize
        delattr(module, name)                             # no longer a parameter ...
        module.register_parameter(name + "_orig", orig)   # ... the same object, renamed
        module.register_buffer(name + "_mask", Tensor._make(mask))
        method._handle = module.register_forward_pre_hook(method)
        hook = method
    else:                                                 # pruned before: compose
        module._buffers[name + "_mask"].copy_(mask)      # new mask = old mask ⊙ new zeros
        old = _pruning_hook(module, name)
        if isinstance(old, PruningContainer):
            old.add_pruning_method(method)
            hook = old
        else:
            hook = PruningContainer(old, method)
            old._handle.remove()
            old._handle = None
            hook._handle = module.register_forward_pre_hook(hook)
    setattr(module, name, hook.apply_mask(module))       # the pruned tensor, right away
    return hook
