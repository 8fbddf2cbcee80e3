"""Picking and placing by index (gather, scatter, index_select, masked_fill) and the matrix
structure ops (tril, triu, diag, diagonal, diag_embed, trace)."""

from __future__ import annotations

import numpy as np

import minigrad as mg

from ._core import _add


def _gather_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.integer(-len(shape), len(shape) - 1)
    index_shape = tuple(d.integer(1, 4) if i == dim % len(shape) else d.integer(1, n)
                        for i, n in enumerate(shape))
    index = np.array([d.integer(0, shape[dim] - 1) for _ in range(int(np.prod(index_shape)))])
    return [d.values(shape)], {"dim": dim, "index": index.reshape(index_shape)}


def _np_gather(a, dim, index):
    corner = tuple(slice(None) if i == dim % a.ndim else slice(0, n)
                   for i, n in enumerate(index.shape))
    return np.take_along_axis(a[corner], index, axis=dim)


_add("gather", _gather_sample, lambda a, dim, index: a.gather(dim, mg.tensor(index)),
     _np_gather)


def _scatter_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.integer(-len(shape), len(shape) - 1)
    axis = dim % len(shape)
    index_shape = tuple(d.integer(1, n) for n in shape)
    # distinct positions along dim within each slice: which write wins is then defined
    rows = [np.array([d.integer(0, 1000) for _ in range(shape[axis])]).argsort()[:index_shape[axis]]
            for _ in range(int(np.prod(index_shape)) // index_shape[axis])]
    index = np.moveaxis(np.array(rows).reshape(index_shape[:axis] + index_shape[axis + 1:]
                                               + (index_shape[axis],)), -1, axis)
    return [d.values(shape), d.values(index_shape)], {"dim": dim, "index": index}


def _np_scatter(a, src, dim, index, add=False):
    out = a.copy()
    axis = dim % a.ndim
    for pos in np.ndindex(*index.shape):
        target = list(pos)
        target[axis] = index[pos]
        if add:
            out[tuple(target)] += src[pos]
        else:
            out[tuple(target)] = src[pos]
    return out


_add("scatter", _scatter_sample, lambda a, src, dim, index: mg.scatter(a, dim, index, src),
     _np_scatter)
_add("scatter_value", _scatter_sample,
     lambda a, src, dim, index: a.scatter(dim, mg.tensor(index), 0.5) + src.sum(),
     lambda a, src, dim, index: _np_scatter(a, np.full(index.shape, 0.5), dim, index) + src.sum())


def _scatter_add_sample(d):
    arrays, kw = _gather_sample(d)
    index = kw["index"]
    return [arrays[0], d.values(index.shape)], kw  # repeated positions: they add up


_add("scatter_add", _scatter_add_sample,
     lambda a, src, dim, index: a.scatter_add(dim, mg.tensor(index), src),
     lambda a, src, dim, index: _np_scatter(a, src, dim, index, add=True))


def _index_select_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.integer(-len(shape), len(shape) - 1)
    index = np.array([d.integer(0, shape[dim] - 1) for _ in range(d.integer(1, 5))])
    return [d.values(shape)], {"dim": dim, "index": index}


_add("index_select", _index_select_sample,
     lambda a, dim, index: mg.index_select(a, dim, mg.tensor(index)),
     lambda a, dim, index: np.take(a, index, axis=dim))


def _masked_fill_sample(d):
    shape, mask_shape = d.broadcastable(2)
    shape = np.broadcast_shapes(shape, mask_shape)  # the mask broadcasts to the input
    return [d.values(shape), d.values(mask_shape) > 0], {"value": d.choice([0.0, -3.0, 2.5])}


_add("masked_fill", _masked_fill_sample, lambda a, mask, value: a.masked_fill(mask, value),
     lambda a, mask, value: np.where(mask, value, a), grad_inputs=(0,))


def _matrix_sample(d):
    shape = d.shape(min_dims=2, max_dims=4)
    return [d.values(shape)], {"diagonal": d.integer(-2, 2)}


_add("tril", _matrix_sample, lambda a, diagonal: a.tril(diagonal),
     lambda a, diagonal: np.tril(a, diagonal))
_add("triu", _matrix_sample, lambda a, diagonal: mg.triu(a, diagonal),
     lambda a, diagonal: np.triu(a, diagonal))


def _diag_sample(d):
    shape = d.shape(min_dims=1, max_dims=2)
    return [d.values(shape)], {"diagonal": d.integer(-2, 2) if len(shape) == 1 else
                               d.integer(-shape[0] + 1, shape[1] - 1)}


_add("diag", _diag_sample, lambda a, diagonal: mg.diag(a, diagonal),
     lambda a, diagonal: np.diag(a, diagonal))


def _diagonal_sample(d):
    shape = d.shape(min_dims=2, max_dims=4)
    n = len(shape)
    dim1 = d.integer(0, n - 1)
    dim2 = d.choice([i for i in range(n) if i != dim1])
    return [d.values(shape)], {"offset": d.integer(-shape[dim1] + 1, shape[dim2] - 1),
                               "dim1": dim1 - n if d.boolean() else dim1, "dim2": dim2}


_add("diagonal", _diagonal_sample, lambda a, **kw: a.diagonal(**kw),
     lambda a, offset, dim1, dim2: np.diagonal(a, offset, dim1, dim2))


def _diag_embed_sample(d):
    return [d.values(d.shape(min_dims=1, max_dims=3))], {"offset": d.integer(-1, 1)}


def _np_diag_embed(a, offset):
    n = a.shape[-1] + abs(offset)
    out = np.zeros(a.shape[:-1] + (n, n))
    for i in range(a.shape[-1]):
        out[..., i + max(-offset, 0), i + max(offset, 0)] = a[..., i]
    return out


_add("diag_embed", _diag_embed_sample, lambda a, offset: mg.diag_embed(a, offset),
     _np_diag_embed)


def _square_sample(d):
    n = d.integer(1, 4)
    return [d.values((n, d.choice([n, n + 1])))], {}


_add("trace", _square_sample, mg.trace, np.trace)
