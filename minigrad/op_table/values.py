"""Ops without a gradient: comparisons, logical and bitwise ops, value tests, orderings and
counts. Each output is compared exactly with its NumPy reference, and must come out of the
graph (no ``requires_grad``) even from inputs that require grad."""

from __future__ import annotations

import numpy as np

import minigrad as mg

from ._core import _add_value


def _grid_pair(d):
    """Two broadcastable arrays on a coarse grid, so equal values (ties) occur."""
    sa, sb = d.broadcastable(2)
    return [np.round(d.values(sa) * 2) / 2, np.round(d.values(sb) * 2) / 2], {}


for _name, _ref in [("eq", np.equal), ("ne", np.not_equal), ("lt", np.less),
                    ("le", np.less_equal), ("gt", np.greater), ("ge", np.greater_equal)]:
    _add_value(_name, _grid_pair, getattr(mg, _name), _ref)
_add_value("eq_method", _grid_pair, lambda a, b: a.eq(b), np.equal)
_add_value("ge_scalar", _grid_pair, lambda a, b: a.ge(0.5), lambda a, b: a >= 0.5)


def _bool_pair(d):
    sa, sb = d.broadcastable(2)
    return [d.values(sa) > 0, d.values(sb) > 0], {}


for _name in ("logical_and", "logical_or", "logical_xor"):
    _add_value(_name, _grid_pair, getattr(mg, _name), getattr(np, _name))
_add_value("logical_not", _grid_pair, lambda a, b: mg.logical_not(a), lambda a, b: a == 0)
_add_value("and_operator", _bool_pair, lambda a, b: a & b, np.logical_and)
_add_value("or_operator", _bool_pair, lambda a, b: a | b, np.logical_or)
_add_value("xor_operator", _bool_pair, lambda a, b: a ^ b, np.logical_xor)
_add_value("invert_operator", _bool_pair, lambda a, b: ~a, lambda a, b: ~a)


def _special_values(d):
    x = d.values(d.shape())
    specials = np.array([np.nan, np.inf, -np.inf, 0.0])
    picks = d.values(x.shape) > 0.5
    return [np.where(picks, specials[np.arange(x.size).reshape(x.shape) % 4], x)], {}


for _name in ("isnan", "isinf", "isfinite"):
    _add_value(_name, _special_values, getattr(mg, _name), getattr(np, _name))
_add_value("isclose", _grid_pair, lambda a, b: mg.isclose(a, b + 1e-9),
           lambda a, b: np.isclose(a, b + 1e-9))
_add_value("allclose", _grid_pair, lambda a, b: mg.allclose(a, b), np.allclose)
_add_value("equal", _grid_pair, mg.equal, np.array_equal)


def _order_sample(d):
    shape = d.shape(min_dims=1)
    grid = np.round(d.values(shape) * 2) / 2  # ties: the stable order is checked too
    return [grid], {"dim": d.integer(-len(shape), len(shape) - 1), "descending": d.boolean()}


def _np_argsort(a, dim, descending):
    if not descending:
        return np.argsort(a, axis=dim, kind="stable")
    reversed_order = np.argsort(np.flip(a, axis=dim), axis=dim, kind="stable")
    return a.shape[dim] - 1 - np.flip(reversed_order, axis=dim)


_add_value("argsort", _order_sample, lambda a, **kw: a.argsort(**kw), _np_argsort)
_add_value("sort_indices", _order_sample, lambda a, **kw: mg.sort(a, **kw).indices, _np_argsort)


def _reduce_bool_sample(d):
    shape = d.shape()
    return [np.round(d.values(shape))], {"dim": d.dims(len(shape)), "keepdim": d.boolean()}


def _np_axes_of(a, dim):
    if dim is None or a.ndim == 0:
        return None
    return tuple(x % a.ndim for x in ((dim,) if isinstance(dim, int) else dim))


_add_value("any", _reduce_bool_sample, lambda a, dim, keepdim: a.any(dim, keepdim),
           lambda a, dim, keepdim: np.any(a, axis=_np_axes_of(a, dim), keepdims=keepdim))
_add_value("all", _reduce_bool_sample, lambda a, dim, keepdim: mg.all(a, dim, keepdim),
           lambda a, dim, keepdim: np.all(a, axis=_np_axes_of(a, dim), keepdims=keepdim))
_add_value("count_nonzero", _reduce_bool_sample,
           lambda a, dim, keepdim: mg.count_nonzero(a, dim),
           lambda a, dim, keepdim: np.asarray(np.count_nonzero(a, axis=_np_axes_of(a, dim))))


def _rounded_sample(d):
    return [np.round(d.values(d.shape()))], {}


_add_value("nonzero", _rounded_sample, mg.nonzero, np.argwhere)
_add_value("nonzero_tuple", _rounded_sample,
           lambda a: mg.stack(a.nonzero(as_tuple=True)) if a.ndim else mg.tensor(0),
           lambda a: np.stack(np.nonzero(a)) if a.ndim else np.asarray(0))
_add_value("unique", _rounded_sample, lambda a: mg.unique(a), np.unique)
_add_value("unique_inverse", _rounded_sample,
           lambda a: mg.unique(a, return_inverse=True)[1],
           lambda a: np.unique(a.reshape(-1), return_inverse=True)[1].reshape(a.shape))
_add_value("unique_counts", _rounded_sample,
           lambda a: mg.unique(a, return_counts=True)[1],
           lambda a: np.unique(a, return_counts=True)[1])
_add_value("argmax", _order_sample, lambda a, dim, descending: a.argmax(dim),
           lambda a, dim, descending: np.argmax(a, axis=dim))
