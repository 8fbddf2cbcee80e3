r"""Magnitude pruning: zero out the least important weights of a model, with the mechanics of
``torch.nn.utils.prune``.

How a parameter is pruned
-------------------------
The first time ``module.<name>`` (say ``weight``) is pruned::

    module.weight_orig   the Parameter that was ``module.weight`` (the same object, so an
                         optimizer built earlier keeps updating it), holding the original values
    module.weight_mask   a buffer of the parameter's shape and dtype: 1 = kept, 0 = pruned
    module.weight        a plain attribute (no longer a parameter), recomputed as
                             weight = weight_orig ⊙ weight_mask
                         by a forward pre-hook before every forward

Because the effective weight is a product, backward gives ∂L/∂weight_orig = ∂L/∂weight ⊙ mask:
pruned entries get a zero gradient, and whatever an optimizer does to ``weight_orig`` they stay
zero in the weight the forward uses. ``state_dict`` holds ``weight_orig`` and ``weight_mask``
(not ``weight``). :func:`remove` makes the pruning permanent: ``weight`` becomes a Parameter
again (the ``weight_orig`` object, multiplied by the mask in place) and ``weight_orig``,
``weight_mask`` and the hook are gone.

Amounts and repeated pruning
----------------------------
``amount`` is a float fraction in [0, 1] or an int count. Pruning acts on the entries (or, for
structured pruning, the channels) that are still unpruned: with r of them left, a float amount
prunes k = round(amount · r) of them (Python's ``round``, half to even, as PyTorch does:
0.5 · 5 = 2.5 rounds to 2), and an int amount prunes exactly that many (more than r is an
error). So the masks compose: 50% then 50% of the rest leaves 25% of the weights, 75% zeros.
Beware ``amount=1`` (one entry) against ``amount=1.0`` (all of them).

Criteria
--------
- :func:`l1_unstructured`: the k unpruned entries with the smallest |w_i|.
- :func:`random_unstructured`: k unpruned entries drawn uniformly at random (the device's
  generator, seeded by ``minigrad.manual_seed``).
- :func:`ln_structured`: whole slices along ``dim`` (channels): the k unpruned channels with
  the smallest L_n norm ‖W_c‖_n = (Σ_{i in channel c} |w_i|^n)^(1/n) over all other dims.
- :func:`global_unstructured`: one criterion over the entries of several parameters at once,
  so the globally smallest entries are pruned, whichever layer they are in.

The importance of an entry is its original value (``weight_orig``), or ``importance_scores``
when given. Also here: :func:`sparsity` and :func:`sparsity_report` (fraction of zero weights,
per layer and global), :func:`polynomial_sparsity` (Zhu and Gupta's gradual schedule) and
:class:`GradualPruner` (prune while training by that schedule).
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from ... import backend
from ...autograd import no_grad
from ...tensor import Tensor
from ..module import Module

__all__ = [
    "BasePruningMethod", "PruningContainer", "Identity", "L1Unstructured",
    "RandomUnstructured", "LnStructured", "CustomFromMask",
    "identity", "l1_unstructured", "random_unstructured", "ln_structured",
    "global_unstructured", "custom_from_mask", "remove", "is_pruned",
    "sparsity", "sparsity_report", "SparsityReport",
    "polynomial_sparsity", "GradualPruner",
]


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


def identity(module, name):
    """Reparametrize ``module.<name>`` with a mask of ones (prunes nothing); returns module."""
    _prune(module, name, Identity(), None, "identity")
    return module


def l1_unstructured(module, name, amount, importance_scores=None):
    """Prune the ``amount`` unpruned entries of ``module.<name>`` with the smallest |w_i|.

    ``amount``: an int count, or a float fraction in [0, 1] of the entries still unpruned
    (k = round(amount · r)). ``importance_scores``: an array or tensor of the parameter's
    shape ranked instead of the weights. Returns ``module``.
    """
    _prune(module, name, L1Unstructured(amount), importance_scores, "l1_unstructured")
    return module


def random_unstructured(module, name, amount):
    """Prune ``amount`` of the unpruned entries of ``module.<name>``, chosen at random.
    Returns ``module``."""
    _prune(module, name, RandomUnstructured(amount), None, "random_unstructured")
    return module


def ln_structured(module, name, amount, n, dim, importance_scores=None):
    """Prune whole channels of ``module.<name>`` along ``dim``: the ``amount`` unpruned
    channels with the smallest L_n norm, computed over all the other dims::

        ‖W_c‖_n = (Σ_{i in c} |w_i|^n)^(1/n)      (max |w_i| for n = inf, min for n = -inf)

    For a Linear weight (out, in), ``dim=0`` removes output neurons (rows) and ``dim=1``
    inputs (columns); for a Conv2d weight (out, in, kh, kw), ``dim=0`` removes filters.
    ``amount``: an int count or a float fraction of the channels not yet fully pruned.
    ``n``: a number > 0, ``inf``, ``-inf`` or ``'fro'`` (= 2). Returns ``module``.
    """
    _prune(module, name, LnStructured(amount, n, dim), importance_scores, "ln_structured")
    return module


def custom_from_mask(module, name, mask):
    """Prune ``module.<name>`` where ``mask`` (0/1 or bool, of its shape) is 0, on top of any
    earlier pruning. Returns ``module``."""
    _prune(module, name, CustomFromMask(mask), None, "custom_from_mask")
    return module


def _pairs(parameters, who):
    pairs = list(parameters)
    if not pairs:
        raise ValueError(f"{who}: parameters is empty")
    seen = set()
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, tuple) and len(pair) == 2):
            raise TypeError(f"{who}: parameters[{i}] must be a (module, name) pair, "
                            f"got {pair!r}")
        _check_target(pair[0], pair[1], who)
        key = (id(pair[0]), pair[1])
        if key in seen:
            raise ValueError(f"{who}: ({type(pair[0]).__name__}, {pair[1]!r}) is listed twice")
        seen.add(key)
    return pairs


def global_unstructured(parameters, pruning_method, importance_scores=None, **kwargs):
    """Prune several parameters together, as if they were one vector: with
    ``pruning_method=L1Unstructured, amount=0.2`` the 20% smallest |w_i| among all the
    unpruned entries of all the listed parameters are pruned, whichever layer they are in.

    Args:
        parameters: an iterable of (module, name) pairs.
        pruning_method: a :class:`BasePruningMethod` subclass whose PRUNING_TYPE is
            'unstructured' (:class:`L1Unstructured`, :class:`RandomUnstructured`).
        importance_scores: optional dict {(module, name): scores of that parameter's shape}.
        **kwargs: the method's arguments, e.g. ``amount`` (an int count, or a float fraction
            of all the unpruned entries together).
    """
    who = "global_unstructured"
    if not (isinstance(pruning_method, type) and issubclass(pruning_method, BasePruningMethod)):
        raise TypeError(f"{who}: pruning_method must be a pruning-method class such as "
                        f"L1Unstructured, got {pruning_method!r}")
    if pruning_method.PRUNING_TYPE != "unstructured":
        raise TypeError(f"{who}: only unstructured methods can prune globally; "
                        f"{pruning_method.__name__} is {pruning_method.PRUNING_TYPE!r}")
    pairs = _pairs(parameters, who)
    scores = importance_scores or {}
    origs, masks, importances = [], [], []
    for module, name in pairs:
        orig, mask = _original(module, name, who)
        if origs and orig.device != origs[0].device:
            raise RuntimeError(f"{who}: {name!r} of {type(module).__name__} is on "
                               f"{orig.device}, the first parameter on {origs[0].device}")
        xp = backend.array_module(orig.data)
        origs.append(orig)
        masks.append((xp.ones_like(orig.data) if mask is None else mask).reshape(-1))
        importances.append(_importance(scores.get((module, name)), orig, who).reshape(-1))
    xp = backend.array_module(origs[0].data)
    method = pruning_method(**kwargs)
    # one vector of all the entries: the mask is chosen across all of them at once
    mask = method.compute_mask(xp.concatenate(importances), xp.concatenate(masks))
    offset = 0
    for (module, name), orig in zip(pairs, origs):
        size = orig.numel()
        piece = mask[offset:offset + size].reshape(orig.shape)
        _prune(module, name, CustomFromMask(piece), None, who)
        offset += size


def remove(module, name):
    """Make the pruning of ``module.<name>`` permanent: ``<name>`` becomes a Parameter again,
    holding orig ⊙ mask (it is the ``<name>_orig`` Parameter object, multiplied in place),
    and ``<name>_orig``, ``<name>_mask`` and the hook are removed. Returns ``module``.

    Later training can make the pruned entries nonzero again: nothing masks them any more.
    """
    _check_target(module, name, "remove")
    hook = _pruning_hook(module, name)
    if hook is None:
        raise ValueError(f"remove: parameter {name!r} of {type(module).__name__} is not "
                         f"pruned (never pruned, or its pruning was already removed)")
    hook.remove(module)
    return module


def is_pruned(module) -> bool:
    """True when ``module`` or any module inside it has a pruned tensor."""
    if not isinstance(module, Module):
        raise TypeError(f"is_pruned: expected a Module, got {type(module).__name__}")
    return any(isinstance(hook, BasePruningMethod)
               for m in module.modules() for hook in m._forward_pre_hooks.values())


# ---------------------------------------------------------------------------------------------
# Sparsity


def sparsity(t) -> float:
    """The fraction of entries equal to zero, zeros / numel, of a tensor or array (0.0 for
    an empty one); for a Module, the global figure of :func:`sparsity_report` (all its
    parameters, pruned ones as orig ⊙ mask)."""
    if isinstance(t, Module):
        return sparsity_report(t).sparsity
    array = _raw(t)
    if array.size == 0:
        return 0.0
    xp = backend.array_module(array)
    return int(array.size - xp.count_nonzero(array)) / array.size


def _effective(module, name):
    """The array the forward uses for ``module.<name>``: orig ⊙ mask when pruned."""
    if _pruning_hook(module, name) is not None:
        return module._parameters[name + "_orig"].data * module._buffers[name + "_mask"].data
    param = module._parameters.get(name)
    if param is None:
        raise AttributeError(f"sparsity_report: {type(module).__name__} has no parameter "
                             f"{name!r}")
    return param.data


class SparsityReport:
    """Zeros per tensor and overall. ``layers`` maps a dotted name ('0.weight') to a dict
    {'zeros', 'total', 'sparsity'}; ``zeros``, ``total`` and ``sparsity`` are the global
    figures (sparsity = Σ zeros / Σ total). ``as_dict()`` gives plain dicts, ``str()`` a
    table."""

    def __init__(self, rows):
        self.layers = {name: {"zeros": zeros, "total": total,
                              "sparsity": zeros / total if total else 0.0}
                       for name, zeros, total in rows}
        self.zeros = sum(row["zeros"] for row in self.layers.values())
        self.total = sum(row["total"] for row in self.layers.values())
        self.sparsity = self.zeros / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {"layers": {name: dict(row) for name, row in self.layers.items()},
                "global": {"zeros": self.zeros, "total": self.total,
                           "sparsity": self.sparsity}}

    def __str__(self):
        rows = [(name, row["zeros"], row["total"], row["sparsity"])
                for name, row in self.layers.items()]
        rows.append(("global", self.zeros, self.total, self.sparsity))
        width = max(len("tensor"), *(len(r[0]) for r in rows))
        lines = [f"{'tensor':<{width}}  {'zeros':>10}  {'total':>10}  {'sparsity':>8}"]
        for i, (name, zeros, total, frac) in enumerate(rows):
            if i == len(rows) - 1:
                lines.append("-" * len(lines[0]))
            lines.append(f"{name:<{width}}  {zeros:>10d}  {total:>10d}  {frac:>8.2%}")
        return "\n".join(lines)

    __repr__ = __str__


def sparsity_report(model, parameters=None) -> SparsityReport:
    """The fraction of zero entries of each tensor the forward uses, and overall.

    Args:
        model: a Module.
        parameters: optional (module, name) pairs inside ``model`` to report; by default
            every parameter of every module, a pruned tensor counted under its own name
            (``weight``, as orig ⊙ mask) rather than as ``weight_orig``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"sparsity_report: expected a Module, got {type(model).__name__}")
    prefixes = {id(m): prefix for prefix, m in model.named_modules()}
    if parameters is None:
        pairs = []
        for _, m in model.named_modules():
            for pname, param in m._parameters.items():
                base = pname[:-len("_orig")] if pname.endswith("_orig") else None
                if base is not None and _pruning_hook(m, base) is not None:
                    pairs.append((m, base))
                elif param is not None:
                    pairs.append((m, pname))
    else:
        pairs = _pairs(parameters, "sparsity_report")
        for m, _ in pairs:
            if id(m) not in prefixes:
                raise ValueError(f"sparsity_report: a {type(m).__name__} in parameters is "
                                 f"not inside the model")
    rows = []
    for m, name in pairs:
        array = _effective(m, name)
        prefix = prefixes[id(m)]
        xp = backend.array_module(array)
        zeros = int(array.size - xp.count_nonzero(array))
        rows.append((f"{prefix}.{name}" if prefix else name, zeros, int(array.size)))
    return SparsityReport(rows)


# ---------------------------------------------------------------------------------------------
# Gradual pruning (Zhu and Gupta, 2017)


def _check_schedule(s_initial, s_final, begin_step, end_step, frequency, who):
    for key, value in (("s_initial", s_initial), ("s_final", s_final)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{who}: {key} must be a number in [0, 1], "
                            f"got {type(value).__name__}")
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"{who}: {key} must be in [0, 1], got {value}")
    if s_initial > s_final:
        raise ValueError(f"{who}: s_initial ({s_initial}) must not exceed s_final "
                         f"({s_final}): pruning only ever adds zeros")
    for key, value in (("begin_step", begin_step), ("end_step", end_step),
                       ("frequency", frequency)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise TypeError(f"{who}: {key} must be an int, got {type(value).__name__}")
    if begin_step < 0:
        raise ValueError(f"{who}: begin_step must be >= 0, got {begin_step}")
    if frequency < 1:
        raise ValueError(f"{who}: frequency must be >= 1, got {frequency}")
    if end_step <= begin_step:
        raise ValueError(f"{who}: end_step ({end_step}) must be after begin_step "
                         f"({begin_step})")
    if (end_step - begin_step) % frequency:
        raise ValueError(f"{who}: end_step - begin_step ({end_step - begin_step}) must be a "
                         f"multiple of frequency ({frequency}) so that the last pruning step "
                         f"lands on end_step")


def _check_step(step, who):
    if isinstance(step, bool) or not isinstance(step, numbers.Integral):
        raise TypeError(f"{who}: step must be an int, got {type(step).__name__}")
    if step < 0:
        raise ValueError(f"{who}: step must be >= 0, got {step}")


def polynomial_sparsity(step, s_initial, s_final, begin_step, end_step, frequency=1) -> float:
    r"""Zhu and Gupta's gradual pruning schedule (2017), "To prune, or not to prune"::

        s_t = s_f + (s_i − s_f) · (1 − (t − t₀) / (n Δt))³

    with s_i = ``s_initial``, s_f = ``s_final``, t₀ = ``begin_step``, Δt = ``frequency`` and
    n Δt = ``end_step − begin_step`` (n pruning steps). Sparsity rises fast at first and
    levels off towards s_f. Pruning happens at t ∈ {t₀, t₀ + Δt, ..., t₀ + n Δt}; at any
    other step the value is that of the last pruning step t ≤ ``step``; after ``end_step`` it
    stays s_f, and before ``begin_step`` it is 0.0 (nothing pruned yet).
    """
    who = "polynomial_sparsity"
    _check_schedule(s_initial, s_final, begin_step, end_step, frequency, who)
    _check_step(step, who)
    if step < begin_step:
        return 0.0
    s_i, s_f = float(s_initial), float(s_final)
    t = begin_step + (min(step, end_step) - begin_step) // frequency * frequency
    span = end_step - begin_step                                   # n Δt
    return s_f + (s_i - s_f) * (1.0 - (t - begin_step) / span) ** 3


class GradualPruner:
    """Prune while training, to the sparsity of :func:`polynomial_sparsity`.

    Like a learning-rate scheduler: build it after the model, call ``step()`` after each
    ``optimizer.step()``. Building it is step 0; the k-th ``step()`` is step k. At each
    pruning step t (t₀, t₀ + Δt, ..., t₀ + nΔt) every listed tensor is pruned by L1
    magnitude until its total sparsity is s_t: with N entries of which z are already zero in
    its mask, it prunes k = round(s_t · N) − z more of the N − z unpruned entries (the
    fraction (s_t − z/N) / (1 − z/N) of the remaining ones: the target is the total
    sparsity, not an amount on top of it). With ``global_pruning=True`` the same is done over
    all the listed tensors together (:func:`global_unstructured`), so layers end up with
    different sparsities and only the overall one follows the schedule.

    Every listed tensor is reparametrized (``<name>_orig``, ``<name>_mask``) when the pruner
    is built, even before t₀, so the model's state_dict keys do not change during training
    and the Parameter objects (renamed ``<name>_orig``) stay those the optimizer holds.

    Args:
        parameters: an iterable of (module, name) pairs.
        s_final, s_initial, begin_step, end_step, frequency: see :func:`polynomial_sparsity`.
        global_pruning: rank all the tensors' entries together instead of each tensor's own.
    """

    def __init__(self, parameters, s_final, *, end_step, s_initial=0.0, begin_step=0,
                 frequency=1, global_pruning=False):
        _check_schedule(s_initial, s_final, begin_step, end_step, frequency, "GradualPruner")
        self.parameters = _pairs(parameters, "GradualPruner")
        self.s_initial = float(s_initial)
        self.s_final = float(s_final)
        self.begin_step = int(begin_step)
        self.end_step = int(end_step)
        self.frequency = int(frequency)
        self.global_pruning = bool(global_pruning)
        for module, name in self.parameters:
            if _pruning_hook(module, name) is None:
                identity(module, name)
        self.last_step = 0
        self.last_sparsity = 0.0
        self._apply(0)

    def target(self, step: int) -> float:
        """The scheduled total sparsity s_t at ``step``."""
        return polynomial_sparsity(step, self.s_initial, self.s_final, self.begin_step,
                                   self.end_step, self.frequency)

    def is_pruning_step(self, step: int) -> bool:
        """t ∈ {t₀, t₀ + Δt, ..., t₀ + nΔt}."""
        return (self.begin_step <= step <= self.end_step
                and (step - self.begin_step) % self.frequency == 0)

    def step(self, step=None) -> float:
        """Advance one training step (or jump to ``step``) and prune if it is a pruning step;
        returns the scheduled sparsity s_t."""
        if step is None:
            step = self.last_step + 1
        _check_step(step, "GradualPruner.step")
        self.last_step = int(step)
        self._apply(self.last_step)
        return self.last_sparsity

    def _apply(self, step: int) -> None:
        self.last_sparsity = self.target(step)
        if not self.is_pruning_step(step):
            return
        s_t = self.last_sparsity
        masks = [module._buffers[name + "_mask"].data for module, name in self.parameters]
        if self.global_pruning:
            total = sum(int(m.size) for m in masks)
            zeros = sum(int(m.size - backend.array_module(m).count_nonzero(m)) for m in masks)
            k = round(s_t * total) - zeros              # k = round(s_t · N) − z
            if k > 0:
                global_unstructured(self.parameters, L1Unstructured, amount=k)
            return
        for (module, name), m in zip(self.parameters, masks):
            zeros = int(m.size - backend.array_module(m).count_nonzero(m))
            k = round(s_t * int(m.size)) - zeros        # k = round(s_t · N) − z
            if k > 0:
                l1_unstructured(module, name, amount=k)

    def state_dict(self) -> dict:
        """The schedule and the current step (the masks live in the model's state_dict)."""
        return {"s_initial": self.s_initial, "s_final": self.s_final,
                "begin_step": self.begin_step, "end_step": self.end_step,
                "frequency": self.frequency, "global_pruning": self.global_pruning,
                "last_step": self.last_step, "last_sparsity": self.last_sparsity}

    def load_state_dict(self, state: dict) -> None:
        """Restore ``state_dict()``'s values (no pruning is done: the masks come with the
        model's own state_dict)."""
        unknown = set(state) - set(self.state_dict())
        if unknown:
            raise KeyError(f"GradualPruner.load_state_dict: unexpected key(s) "
                           f"{sorted(unknown)}")
        for key, value in state.items():
            setattr(self, key, value)
