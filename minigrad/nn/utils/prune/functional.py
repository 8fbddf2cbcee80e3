"""The functional forms, ``torch.nn.utils.prune``'s names: prune one parameter by a criterion
(or many at once, globally), make a pruning permanent (:func:`remove`), ask :func:`is_pruned`."""

from __future__ import annotations



from .... import backend
from ...module import Module
from .methods import (BasePruningMethod, CustomFromMask, Identity, L1Unstructured, LnStructured,
                      RandomUnstructured, _check_target, _importance, _original, _prune,
                      _pruning_hook)


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
