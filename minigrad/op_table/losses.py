"""Losses (minigrad.nn.functional), each with a drawn reduction."""

from __future__ import annotations

import numpy as np

from minigrad.nn import functional as F

from ._core import _add
from .reduction import _np_softmax

# Losses (minigrad.nn.functional), each with a drawn reduction.

_REDUCTIONS = ["mean", "sum", "none"]


def _np_reduce_loss(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _pair_sample(offset_kind="normal", avoid=()):
    """input x and a target y = x - d, with d drawn away from the loss's kinks."""
    def sample(d):
        shape = d.shape()
        x = d.values(shape)
        return [x, x - d.values(shape, offset_kind, avoid)], {"reduction": d.choice(_REDUCTIONS)}
    return sample


_add("mse_loss", _pair_sample(), lambda x, y, reduction: F.mse_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss((x - y) ** 2, reduction))
_add("l1_loss", _pair_sample("nonzero"),
     lambda x, y, reduction: F.l1_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(np.abs(x - y), reduction))
_add("huber_loss", _pair_sample("normal", avoid=(-1.0, 1.0)),
     lambda x, y, reduction: F.huber_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(
         np.where(np.abs(x - y) < 1, 0.5 * (x - y) ** 2, np.abs(x - y) - 0.5), reduction))


def _class_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    target = np.array([d.integer(0, c - 1) for _ in range(n)])
    return [d.values((n, c)), target], {"reduction": d.choice(_REDUCTIONS),
                                        "label_smoothing": d.choice([0.0, 0.2])}


def _np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _np_cross_entropy(x, y, reduction, label_smoothing):
    logp = _np_log_softmax(x)
    c = x.shape[1]
    q = (1 - label_smoothing) * np.eye(c)[y] + label_smoothing / c  # smoothed one-hot target
    return _np_reduce_loss(-(q * logp).sum(axis=1), reduction)


_add("cross_entropy", _class_sample,
     lambda x, y, reduction, label_smoothing: F.cross_entropy(
         x, y, reduction=reduction, label_smoothing=label_smoothing), _np_cross_entropy)


def _probability_target_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    return [d.values((n, c)), _np_softmax(d.values((n, c)), 1)], {
        "reduction": d.choice(_REDUCTIONS)}


_add("cross_entropy_probs", _probability_target_sample,
     lambda x, q, reduction: F.cross_entropy(x, q, reduction=reduction),
     lambda x, q, reduction: _np_reduce_loss(-(q * _np_log_softmax(x)).sum(axis=1), reduction))


def _nll_sample(d):
    arrays, kw = _class_sample(d)
    return arrays, {"reduction": kw["reduction"]}


_add("nll_loss", _nll_sample, lambda x, y, reduction: F.nll_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(-x[np.arange(len(y)), y], reduction))


def _bce_sample(d):
    shape = d.shape()
    p = 0.05 + 0.9 / (1 + np.exp(-d.values(shape)))  # probabilities in (0.05, 0.95)
    return [p, 1 / (1 + np.exp(-d.values(shape)))], {"reduction": d.choice(_REDUCTIONS)}


_add("binary_cross_entropy", _bce_sample,
     lambda p, y, reduction: F.binary_cross_entropy(p, y, reduction=reduction),
     lambda p, y, reduction: _np_reduce_loss(-(y * np.log(p) + (1 - y) * np.log(1 - p)),
                                             reduction))


def _bce_logits_sample(d):
    shape = d.shape(min_dims=1)
    return [d.values(shape), 1 / (1 + np.exp(-d.values(shape))),
            d.values(shape[-1:], "positive")], {"reduction": d.choice(_REDUCTIONS)}


def _np_bce_logits(x, y, pos_weight, reduction):
    log_p, log_not_p = -np.logaddexp(0, -x), -np.logaddexp(0, x)  # log σ(x), log(1 - σ(x))
    return _np_reduce_loss(-(pos_weight * y * log_p + (1 - y) * log_not_p), reduction)


_add("binary_cross_entropy_with_logits", _bce_logits_sample,
     lambda x, y, w, reduction: F.binary_cross_entropy_with_logits(
         x, y, reduction=reduction, pos_weight=w), _np_bce_logits)


def _hinge_sample(d):
    shape = d.shape()
    y = np.where(d.values(shape) > 0, 1.0, -1.0)
    return [d.values(shape, avoid=(-1.0, 1.0)), y], {"reduction": d.choice(_REDUCTIONS)}


_add("hinge_loss", _hinge_sample, lambda x, y, reduction: F.hinge_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(np.maximum(0, 1 - y * x), reduction),
     grad_inputs=(0,))


def _margin_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    target = np.array([d.integer(0, c - 1) for _ in range(n)])
    # grid scores: margin 1.1 minus a difference of grid values is never near the kink at 0
    return [d.values((n, c), "grid"), target], {"reduction": d.choice(_REDUCTIONS),
                                                "p": d.choice([1, 2])}


def _np_multi_margin(x, y, reduction, p):
    n, c = x.shape
    picked = x[np.arange(n), y][:, None]
    terms = np.maximum(0, 1.1 - picked + x) ** p
    terms[np.arange(n), y] = 0  # the target class itself is not a margin violation
    return _np_reduce_loss(terms.sum(axis=1) / c, reduction)


_add("multi_margin_loss", _margin_sample,
     lambda x, y, reduction, p: F.multi_margin_loss(x, y, p=p, margin=1.1, reduction=reduction),
     _np_multi_margin)


def _kl_sample(d):
    shape = d.shape(min_dims=1)
    log_target = d.boolean()
    target = d.values(shape) if log_target else d.values(shape, "positive")
    return [d.values(shape), target], {"reduction": d.choice(_REDUCTIONS + ["batchmean"]),
                                       "log_target": log_target}


def _np_kl(log_q, target, reduction, log_target):
    if log_target:
        pointwise = np.exp(target) * (target - log_q)
    else:
        pointwise = target * (np.log(target) - log_q)
    if reduction == "batchmean":
        return pointwise.sum() / log_q.shape[0]
    return _np_reduce_loss(pointwise, reduction)


_add("kl_div", _kl_sample,
     lambda x, t, reduction, log_target: F.kl_div(x, t, reduction=reduction,
                                                  log_target=log_target), _np_kl)
