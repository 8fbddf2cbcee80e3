"""Shape ops, indexing, cat and stack."""

from __future__ import annotations

import numpy as np

import minigrad as mg

from ._core import _add, _np_axes, _unary


# Shape
def _reshape_sample(d):
    shape = d.shape()
    n = int(np.prod(shape))
    target = d.choice([(n,), (-1,), shape[::-1], (1, n), (n, 1, 1)])
    return [d.values(shape)], {"shape": target}


_add("reshape", _reshape_sample, lambda a, shape: a.reshape(shape),
     lambda a, shape: a.reshape(shape))


def _permute_sample(d):
    shape = d.shape()
    order = list(range(len(shape)))
    for i in range(len(order) - 1, 0, -1):  # a Fisher-Yates shuffle through the drawer
        j = d.integer(0, i)
        order[i], order[j] = order[j], order[i]
    return [d.values(shape)], {"dims": tuple(order)}


_add("permute", _permute_sample, lambda a, dims: a.permute(*dims),
     lambda a, dims: np.transpose(a, dims))


def _transpose_sample(d):
    shape = d.shape(min_dims=1)
    n = len(shape)
    return [d.values(shape)], {"dim0": d.integer(-n, n - 1), "dim1": d.integer(-n, n - 1)}


_add("transpose", _transpose_sample, lambda a, dim0, dim1: a.transpose(dim0, dim1),
     lambda a, dim0, dim1: np.swapaxes(a, dim0, dim1))
_add("T", _unary(), lambda a: a.T, lambda a: a.T)


def _flatten_sample(d):
    shape = d.shape(min_dims=1)
    n = len(shape)
    start = d.integer(0, n - 1)
    return [d.values(shape)], {"start_dim": start, "end_dim": d.integer(start, n - 1)}


def _np_flatten(a, start_dim, end_dim):
    return a.reshape(a.shape[:start_dim] + (-1,) + a.shape[end_dim + 1:])


_add("flatten", _flatten_sample, lambda a, **kw: a.flatten(**kw), _np_flatten)


def _squeeze_sample(d):
    shape = tuple(d.choice([1, 1, 2, 3]) for _ in range(d.integer(0, 4)))
    return [d.values(shape)], {"dim": d.dims(len(shape))}


def _np_squeeze(a, dim):
    axes = range(a.ndim) if dim is None else _np_axes(dim, a.ndim)
    return np.squeeze(a, axis=tuple(i for i in axes if a.shape[i] == 1))


_add("squeeze", _squeeze_sample, lambda a, dim: a.squeeze(dim), _np_squeeze)


def _unsqueeze_sample(d):
    shape = d.shape()
    return [d.values(shape)], {"dim": d.integer(-len(shape) - 1, len(shape))}


_add("unsqueeze", _unsqueeze_sample, lambda a, dim: a.unsqueeze(dim),
     lambda a, dim: np.expand_dims(a, dim))


def _expand_sample(d):
    target = d.shape(max_dims=4)
    drop = d.integer(0, len(target))
    shape = tuple(1 if d.boolean() else n for n in target[drop:])
    return [d.values(shape)], {"shape": target}


_add("expand", _expand_sample, lambda a, shape: a.expand(shape),
     lambda a, shape: np.broadcast_to(a, shape))


def _basic_index_sample(d):
    shape = d.shape(min_dims=1)
    index = []
    for n in shape:
        kind = d.choice(["int", "slice", "step", "all"])
        if kind == "int":
            index.append(d.integer(-n, n - 1))
        elif kind == "slice":
            start = d.integer(0, n - 1)
            index.append(slice(start, d.integer(start + 1, n)))
        elif kind == "step":
            index.append(slice(None, None, d.choice([2, -1])))
        else:
            index.append(slice(None))
    if d.boolean():
        index.insert(d.integer(0, len(index)), None)
    return [d.values(shape)], {"index": tuple(index)}


_add("getitem_basic", _basic_index_sample, lambda a, index: a[index],
     lambda a, index: a[index])


def _advanced_index_sample(d):
    shape = d.shape(min_dims=1)
    n = shape[0]
    picks = [d.integer(-n, n - 1) for _ in range(d.integer(1, 6))]  # repeats accumulate
    return [d.values(shape)], {"index": np.array(picks)}


_add("getitem_int_array", _advanced_index_sample, lambda a, index: a[index],
     lambda a, index: a[index])


def _mask_index_sample(d):
    shape = d.shape(min_dims=1)
    return [d.values(shape), d.values(shape) > 0], {}


_add("getitem_mask", _mask_index_sample, lambda a, mask: a[mask],
     lambda a, mask: a[mask], grad_inputs=(0,))


def _cat_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.integer(-len(shape), len(shape) - 1)
    arrays = []
    for _ in range(d.integer(1, 3)):
        own = list(shape)
        own[dim] = d.integer(1, 3)
        arrays.append(d.values(tuple(own)))
    return arrays, {"dim": dim}


_add("cat", _cat_sample, lambda *ts, dim: mg.cat(ts, dim),
     lambda *arrays, dim: np.concatenate(arrays, axis=dim))


def _stack_sample(d):
    shape = d.shape()
    return ([d.values(shape) for _ in range(d.integer(1, 3))],
            {"dim": d.integer(-len(shape) - 1, len(shape))})


_add("stack", _stack_sample, lambda *ts, dim: mg.stack(ts, dim),
     lambda *arrays, dim: np.stack(arrays, axis=dim))


# More shape ops (minigrad.ops.shape)
def _t_sample(d):
    return [d.values(d.shape(max_dims=2))], {}


_add("t", _t_sample, mg.t, lambda a: a.T)


def _flip_sample(d):
    shape = d.shape(min_dims=1)
    dims = d.dims(len(shape), allow_none=False)
    return [d.values(shape)], {"dims": dims}


_add("flip", _flip_sample, lambda a, dims: a.flip(dims),
     lambda a, dims: np.flip(a, axis=dims))


def _roll_sample(d):
    shape = d.shape(min_dims=1)
    if d.boolean():
        return [d.values(shape)], {"shifts": d.integer(-5, 5), "dims": None}
    n = len(shape)
    dims = tuple(d.integer(-n, n - 1) for _ in range(d.integer(1, 2)))
    return [d.values(shape)], {"shifts": tuple(d.integer(-5, 5) for _ in dims), "dims": dims}


_add("roll", _roll_sample, lambda a, shifts, dims: mg.roll(a, shifts, dims),
     lambda a, shifts, dims: np.roll(a, shifts, axis=dims))


def _repeat_sample(d):
    shape = d.shape()
    sizes = tuple(d.integer(1, 3) for _ in range(len(shape) + d.integer(0, 2)))
    return [d.values(shape)], {"sizes": sizes}


_add("repeat", _repeat_sample, lambda a, sizes: a.repeat(*sizes),
     lambda a, sizes: np.tile(a, sizes))


def _tile_sample(d):
    shape = d.shape()
    return [d.values(shape)], {"dims": tuple(d.integer(1, 3) for _ in range(d.integer(0, 3)))}


_add("tile", _tile_sample, lambda a, dims: mg.tile(a, dims), lambda a, dims: np.tile(a, dims))


def _pieces_sample(d):
    shape = d.shape(min_dims=1, max_side=6)
    return [d.values(shape)], {"dim": d.integer(-len(shape), len(shape) - 1)}


def _weighted_cat(pieces, dim, xp_cat):
    """Piece i times (i + 1), joined again: every piece's gradient is told apart."""
    return xp_cat([p * (i + 1) for i, p in enumerate(pieces)], dim)


def _np_chunks(a, chunks, dim):
    n = a.shape[dim]
    size = -(-n // chunks)
    return [np.take(a, np.arange(s, min(s + size, n)), axis=dim) for s in range(0, n, size)]


def _chunk_sample(d):
    arrays, kw = _pieces_sample(d)
    kw["chunks"] = d.integer(1, 4)
    return arrays, kw


_add("chunk", _chunk_sample,
     lambda a, chunks, dim: _weighted_cat(a.chunk(chunks, dim), dim, mg.cat),
     lambda a, chunks, dim: _weighted_cat(_np_chunks(a, chunks, dim), dim, np.concatenate))


def _split_sample(d):
    arrays, kw = _pieces_sample(d)
    n = arrays[0].shape[kw["dim"]]
    if d.boolean():
        kw["sizes"] = d.integer(1, n + 1)
    else:
        cuts = sorted({d.integer(0, n) for _ in range(d.integer(0, 3))})
        bounds = [0, *cuts, n]
        kw["sizes"] = [b - a for a, b in zip(bounds, bounds[1:])]
    return arrays, kw


def _np_split(a, sizes, dim):
    n = a.shape[dim]
    if isinstance(sizes, int):
        sizes = [sizes] * (n // sizes) + ([n % sizes] if n % sizes else [])
    return np.split(a, np.cumsum(sizes)[:-1], axis=dim)


_add("split", _split_sample,
     lambda a, sizes, dim: _weighted_cat(mg.split(a, sizes, dim), dim, mg.cat),
     lambda a, sizes, dim: _weighted_cat(_np_split(a, sizes, dim), dim, np.concatenate))
_add("unbind", _pieces_sample,
     lambda a, dim: _weighted_cat(a.unbind(dim), dim, mg.stack),
     lambda a, dim: _weighted_cat(list(np.moveaxis(a, dim, 0)), dim, np.stack))


def _narrow_sample(d):
    arrays, kw = _pieces_sample(d)
    n = arrays[0].shape[kw["dim"]]
    start = d.integer(0, n - 1)
    return arrays, {**kw, "start": start, "length": d.integer(0, n - start)}


_add("narrow", _narrow_sample, lambda a, dim, start, length: a.narrow(dim, start, length),
     lambda a, dim, start, length: np.take(a, np.arange(start, start + length), axis=dim))


def _movedim_sample(d):
    shape = d.shape(min_dims=1, max_dims=4)
    n = len(shape)
    k = d.integer(1, n)
    source = [d.integer(0, n - 1) for _ in range(k)]
    source = list(dict.fromkeys(source))
    destination = list(dict.fromkeys(d.integer(0, n - 1) for _ in range(4 * n)))[:len(source)]
    source = source[:len(destination)]
    return [d.values(shape)], {"source": tuple(source), "destination": tuple(destination)}


_add("movedim", _movedim_sample, lambda a, source, destination: mg.movedim(a, source, destination),
     lambda a, source, destination: np.moveaxis(a, source, destination))
