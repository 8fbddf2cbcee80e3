"""Reductions over dims, softmax, running sums and products, norms, order statistics."""

from __future__ import annotations

import math

import numpy as np

import minigrad as mg

from ._core import _add, _np_axes, _unary


# Reductions
def _reduce_sample(kind="normal", keepdim=True):
    def sample(d):
        shape = d.shape()
        kw = {"dim": d.dims(len(shape))}
        if keepdim:
            kw["keepdim"] = d.boolean()
        return [d.values(shape, kind)], kw
    return sample


def _np_reduce(func):
    def ref(a, dim=None, keepdim=False):
        return func(a, axis=_np_axes(dim, a.ndim), keepdims=keepdim)
    return ref


_add("sum", _reduce_sample(), lambda a, **kw: a.sum(**kw), _np_reduce(np.sum))
_add("mean", _reduce_sample(), lambda a, **kw: a.mean(**kw), _np_reduce(np.mean))
_add("amax", _reduce_sample("distinct"), lambda a, **kw: a.amax(**kw), _np_reduce(np.max))
_add("amin", _reduce_sample("distinct"), lambda a, **kw: a.amin(**kw), _np_reduce(np.min))
_add("max", _reduce_sample("distinct"), lambda a, **kw: a.max(**kw), _np_reduce(np.max))
_add("min", _reduce_sample("distinct"), lambda a, **kw: a.min(**kw), _np_reduce(np.min))


def _np_logsumexp(a, dim=None, keepdim=False):
    axes = _np_axes(dim, a.ndim)
    m = np.max(a, axis=axes, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=axes)


_add("logsumexp", _reduce_sample(), lambda a, **kw: a.logsumexp(**kw), _np_logsumexp)


def _var_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.dims(len(shape))
    axes = _np_axes(dim, len(shape))
    count = int(np.prod([shape[i] for i in (axes if axes is not None else range(len(shape)))]))
    correction = d.choice([0, 1]) if count > 1 else 0
    if count < 2:  # std of a single element has an infinite gradient
        shape, dim = shape + (2,), None
    return [d.values(shape)], {"dim": dim, "keepdim": d.boolean(), "correction": correction}


def _np_var(a, dim=None, keepdim=False, correction=1):
    return np.var(a, axis=_np_axes(dim, a.ndim), keepdims=keepdim, ddof=correction)


_add("var", _var_sample, lambda a, **kw: a.var(**kw), _np_var)
_add("std", _var_sample, lambda a, **kw: a.std(**kw), lambda a, **kw: np.sqrt(_np_var(a, **kw)))


def _softmax_sample(d):
    shape = d.shape()
    return [d.values(shape)], {"dim": d.integer(-len(shape), len(shape) - 1) if shape else 0}


def _np_softmax(a, dim):
    if a.ndim == 0:
        return np.ones_like(a)
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


_add("softmax", _softmax_sample, lambda a, dim: a.softmax(dim), _np_softmax)
_add("log_softmax", _softmax_sample, lambda a, dim: a.log_softmax(dim),
     lambda a, dim: np.log(_np_softmax(a, dim)))


# Products, running sums and products, norms, order statistics
def _with_zeros(d, x):
    """Sometimes set one or two elements to exactly 0 (the division-free gradient paths)."""
    x = x.copy()
    if x.size and d.boolean():
        flat = x.reshape(-1)
        for _ in range(d.integer(1, 2)):
            flat[d.integer(0, flat.size - 1)] = 0.0
    return x


def _one_dim_sample(allow_none, keepdim=True, zeros=False):
    def sample(d):
        shape = d.shape(min_dims=0 if allow_none else 1)
        kw = {}
        if shape and (not allow_none or d.boolean()):
            kw["dim"] = d.integer(-len(shape), len(shape) - 1)
        elif not allow_none:
            kw["dim"] = 0
        if keepdim and "dim" in kw:
            kw["keepdim"] = d.boolean()
        x = d.values(shape)
        return [_with_zeros(d, x) if zeros else x], kw
    return sample


def _np_prod(a, dim=None, keepdim=False):
    return np.prod(a, axis=dim, keepdims=keepdim if dim is not None else False)


_add("prod", _one_dim_sample(True, zeros=True), lambda a, **kw: a.prod(**kw), _np_prod)
_add("cumsum", _one_dim_sample(False, keepdim=False), lambda a, dim: mg.cumsum(a, dim),
     lambda a, dim: np.cumsum(a, axis=dim))
_add("cumprod", _one_dim_sample(False, keepdim=False, zeros=True),
     lambda a, dim: a.cumprod(dim), lambda a, dim: np.cumprod(a, axis=dim))


def _norm_sample(d):
    p = d.choice([2, "fro", 1, math.inf, -math.inf, 3, 1.5])
    shape = d.shape()
    kind = "distinct" if p in (math.inf, -math.inf) else "normal"
    x = d.values(shape, kind, avoid=(0.0,) if p in (1, 1.5, math.inf, -math.inf) else ())
    if kind == "distinct":  # distinct magnitudes: no ties for the extreme |x|
        x = np.abs(x) + 0.05
        x = x * np.where(d.values(shape) > 0, 1.0, -1.0)
    return [x], {"p": p, "dim": d.dims(len(shape)), "keepdim": d.boolean()}


def _np_norm(a, p, dim, keepdim):
    axes = _np_axes(dim, a.ndim)
    m = np.abs(a)
    if p == math.inf:
        return np.max(m, axis=axes, keepdims=keepdim)
    if p == -math.inf:
        return np.min(m, axis=axes, keepdims=keepdim)
    p = 2 if p == "fro" else p
    return np.sum(m ** p, axis=axes, keepdims=keepdim) ** (1 / p)


_add("norm", _norm_sample, lambda a, **kw: mg.norm(a, **kw), _np_norm)


def _order_sample(d):
    shape = d.shape(min_dims=1)
    return [d.values(shape, "distinct")], {"dim": d.integer(-len(shape), len(shape) - 1),
                                           "keepdim": d.boolean()}


def _np_lower_median(a, dim, keepdim):
    n = a.shape[dim]
    out = np.take(np.sort(a, axis=dim), [(n - 1) // 2], axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


_add("median_dim", _order_sample, lambda a, dim, keepdim: a.median(dim, keepdim).values,
     _np_lower_median)
_add("median", _unary("distinct"), mg.median,
     lambda a: np.sort(a.reshape(-1))[(a.size - 1) // 2])


def _kth_sample(d):
    arrays, kw = _order_sample(d)
    kw["k"] = d.integer(1, arrays[0].shape[kw["dim"]])
    return arrays, kw


def _np_kthvalue(a, k, dim, keepdim):
    out = np.take(np.sort(a, axis=dim), [k - 1], axis=dim)
    return out if keepdim else np.squeeze(out, axis=dim)


_add("kthvalue", _kth_sample, lambda a, k, dim, keepdim: mg.kthvalue(a, k, dim, keepdim)[0],
     _np_kthvalue)


def _sort_sample(d):
    shape = d.shape(min_dims=1)
    return [d.values(shape, "distinct")], {"dim": d.integer(-len(shape), len(shape) - 1),
                                           "descending": d.boolean()}


def _np_sort(a, dim, descending):
    out = np.sort(a, axis=dim)
    return np.flip(out, axis=dim) if descending else out


_add("sort", _sort_sample, lambda a, **kw: mg.sort(a, **kw).values, _np_sort)


def _topk_sample(d):
    arrays, kw = _sort_sample(d)
    kw = {"dim": kw["dim"], "largest": kw["descending"],
          "k": d.integer(0, arrays[0].shape[kw["dim"]])}
    return arrays, kw


def _np_topk(a, k, dim, largest):
    return np.take(_np_sort(a, dim, largest), np.arange(k), axis=dim)


_add("topk", _topk_sample, lambda a, **kw: a.topk(**kw)[0], _np_topk)
