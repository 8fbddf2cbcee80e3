"""Picking and placing elements: gather, scatter, scatter_add, index_select, masked_fill,
nonzero, and the matrix-structure ops tril, triu, diag, diagonal, diag_embed, trace. Each is a
Tensor method and a ``minigrad.<name>`` function with PyTorch's signature.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..functions import elementwise as E
from ..functions._helpers import normalize_dims
from ..tensor import Tensor, _raw, where
from ._registry import lazy_module, op

IX = lazy_module("minigrad.functions.indexing")

__all__: list = []


def _dim(t, dim, op):
    (axis,) = normalize_dims(dim, t.data.ndim, op) or (0,)
    return axis


def _index_array(t: Tensor, index, dim: int, op: str, *, same_ndim=True):
    """``index`` (an int64 tensor or array on t's device) checked against t along ``dim``."""
    array = backend.to_device(_raw(index) if isinstance(index, Tensor) else np.asarray(index),
                              t.device)
    if array.dtype.kind not in "iu":
        raise TypeError(f"{op}: index must be an integer tensor, got {array.dtype}")
    if same_ndim:
        if array.ndim != max(t.data.ndim, 1):
            raise ValueError(f"{op}: index of shape {tuple(array.shape)} must have as many dims "
                             f"as the input of shape {tuple(t.shape)}")
        for d, (m, n) in enumerate(zip(array.shape, t.data.shape)):
            if d != dim and m > n:
                raise ValueError(f"{op}: index of shape {tuple(array.shape)} is larger than the "
                                 f"input of shape {tuple(t.shape)} along dim {d}")
    n = t.data.shape[dim] if t.data.ndim else 1
    if array.size and (int(array.min()) < 0 or int(array.max()) >= n):
        raise IndexError(f"{op}: index values must lie in [0, {n}) for dim {dim} of shape "
                         f"{tuple(t.shape)}, got [{int(array.min())}, {int(array.max())}]")
    return array.astype(np.int64, copy=False)


@op()
def gather(input, dim, index):
    """out[i][j][k] = input[index[i][j][k]][j][k] for dim 0 (likewise for the others); the
    gradient is added back where each element was read (repeats add up)."""
    axis = _dim(input, dim, "gather")
    return IX.Gather.apply(input, dim=axis, index=_index_array(input, index, axis, "gather"))


def _source(src, index, op):
    """``src`` cut to ``index``'s shape (PyTorch reads only that corner of it)."""
    if tuple(src.shape) == tuple(index.shape):
        return src
    if src.ndim != index.ndim or any(s < i for s, i in zip(src.shape, index.shape)):
        raise ValueError(f"{op}: src of shape {tuple(src.shape)} must be at least as large as "
                         f"index of shape {tuple(index.shape)} in every dim")
    return src[tuple(slice(0, n) for n in index.shape)]


@op()
def scatter(input, dim, index, src=None, *, value=None):
    """A copy of input with out[index[i][j][k]][j][k] = src[i][j][k] (dim 0; ``src`` a tensor,
    or a number given as ``src`` or ``value``). Gradients: input's at the written positions
    is 0; src's is g gathered at index (as PyTorch; with repeated positions one write wins)."""
    axis = _dim(input, dim, "scatter")
    index = _index_array(input, index, axis, "scatter")
    if src is None and value is None:
        raise TypeError("scatter: give src (a tensor or a number) or value")
    if isinstance(src, Tensor):
        src = _source(src, index, "scatter")
        if src.dtype != input.dtype:
            src = src.to(input.dtype)
        return IX.Scatter.apply(input, src, dim=axis, index=index)
    return IX.Scatter.apply(input, dim=axis, index=index, value=src if value is None else value)


@op()
def scatter_add(input, dim, index, src):
    """input + (src added at out[index[i][j][k]][j][k] for dim 0; repeats add up).
    Gradients: g to input, g gathered at index to src."""
    axis = _dim(input, dim, "scatter_add")
    index = _index_array(input, index, axis, "scatter_add")
    src = _source(src, index, "scatter_add")
    return input + IX.ScatterAdd.apply(src, dim=axis, index=index, shape=input.data.shape)


@op()
def index_select(input, dim, index):
    """The entries at ``index`` (1-d, repeats allowed) along ``dim``."""
    axis = _dim(input, dim, "index_select")
    index = _index_array(input, index, axis, "index_select", same_ndim=False)
    if index.ndim != 1:
        raise ValueError(f"index_select: index must be 1-d, got shape {tuple(index.shape)}")
    return input[(slice(None),) * axis + (index,)]


def _mask_array(t: Tensor, mask, op: str):
    """A bool mask that broadcasts to t's shape, on t's device."""
    array = backend.to_device(_raw(mask) if isinstance(mask, Tensor) else np.asarray(mask),
                              t.device)
    if array.dtype.kind != "b":
        raise TypeError(f"{op}: mask must be a bool tensor, got {array.dtype}")
    try:
        shape = np.broadcast_shapes(array.shape, t.data.shape)
    except ValueError:
        shape = None
    if shape != t.data.shape:
        raise ValueError(f"{op}: mask of shape {tuple(array.shape)} does not broadcast to the "
                         f"input's shape {tuple(t.shape)}")
    return array


@op()
def masked_fill(input, mask, value):
    """``value`` where ``mask`` is true, else input (mask broadcasts to input's shape). The
    gradient to input is 0 at the filled positions; a 0-d tensor ``value`` that requires
    grad gets the sum of g over them."""
    array = _mask_array(input, mask, "masked_fill")
    if isinstance(value, Tensor):
        if value.requires_grad:
            return where(array, value.to(input.dtype), input)
        value = value.item()
    return E.MaskedFill.apply(input, mask=array, value=value)


@op(module=False)
def masked_fill_(self, mask, value):
    """In place: ``value`` where ``mask`` is true (outside the graph)."""
    array = _mask_array(self, mask, "masked_fill_")
    fill = self.data.dtype.type(_raw(value).item() if isinstance(value, Tensor) else value)

    def update(data, _):
        data[...] = backend.array_module(data).where(array, fill, data)
    return self._inplace("masked_fill_", update)


@op()
def masked_select(input, mask):
    """The elements where ``mask`` (broadcast to input's shape) is true, as a 1-d tensor."""
    array = _mask_array(input, mask, "masked_select")
    xp = backend.array_module(input.data)
    return input[xp.broadcast_to(array, input.data.shape)]


@op("nonzero", "argwhere")
def nonzero(input, *, as_tuple=False):
    """The indices of the non-zero elements: an (n, ndim) int64 tensor, or (as_tuple=True) one
    1-d tensor per dim. Not differentiable."""
    xp = backend.array_module(input.data)
    data = input.data if input.data.ndim else input.data.reshape(1)
    found = [xp.asarray(i, dtype=np.int64) for i in xp.nonzero(data)]
    if as_tuple:
        return tuple(Tensor._make(i) for i in found)
    if input.data.ndim == 0:
        return Tensor._make(xp.zeros((found[0].size, 0), dtype=np.int64))
    return Tensor._make(xp.stack(found, axis=1))


def _matrix_dims(t, op):
    if t.data.ndim < 2:
        raise ValueError(f"{op}: expects a tensor of at least 2 dims, got shape {tuple(t.shape)}")


@op()
def tril(input, diagonal=0):
    """The lower triangle of the last two dims (from diagonal ``diagonal`` down), the rest 0."""
    _matrix_dims(input, "tril")
    return IX.Triangle.apply(input, k=int(diagonal), upper=False)


@op()
def triu(input, diagonal=0):
    """The upper triangle of the last two dims (from diagonal ``diagonal`` up), the rest 0."""
    _matrix_dims(input, "triu")
    return IX.Triangle.apply(input, k=int(diagonal), upper=True)


@op()
def diagonal(input, offset=0, dim1=0, dim2=1):
    """The diagonal ``offset`` of dims (dim1, dim2), as the last dim (a copy)."""
    _matrix_dims(input, "diagonal")
    a, b = (_dim(input, d, "diagonal") for d in (dim1, dim2))
    if a == b:
        raise ValueError(f"diagonal: dim1 and dim2 are the same dim ({dim1}, {dim2})")
    return IX.Diagonal.apply(input, offset=int(offset), dim1=a, dim2=b)


@op()
def diag_embed(input, offset=0, dim1=-2, dim2=-1):
    """Tensors whose diagonal ``offset`` over dims (dim1, dim2) holds input's last dim."""
    n = input.data.shape[-1] + abs(int(offset))
    ndim = input.data.ndim + 1
    a, b = (normalize_dims(d, ndim, "diag_embed")[0] for d in (dim1, dim2))
    if a == b:
        raise ValueError(f"diag_embed: dim1 and dim2 are the same dim ({dim1}, {dim2})")
    rest = iter(input.data.shape[:-1])
    shape = tuple(n if d in (a, b) else next(rest) for d in range(ndim))
    return IX.DiagEmbed.apply(input, shape=shape, offset=int(offset), dim1=a, dim2=b)


@op()
def diag(input, diagonal=0):
    """A 1-d input becomes the matrix with it on diagonal ``diagonal``; a 2-d input gives its
    diagonal ``diagonal`` as a 1-d tensor."""
    k = int(diagonal)
    if input.data.ndim == 1:
        n = input.data.shape[0] + abs(k)
        return IX.DiagEmbed.apply(input, shape=(n, n), offset=k, dim1=0, dim2=1)
    if input.data.ndim == 2:
        return IX.Diagonal.apply(input, offset=k, dim1=0, dim2=1)
    raise ValueError(f"diag: expects a 1-d or 2-d tensor, got shape {tuple(input.shape)}")


@op()
def trace(input):
    """The sum of the main diagonal of a matrix."""
    if input.data.ndim != 2:
        raise ValueError(f"trace: expects a 2-d tensor, got shape {tuple(input.shape)}")
    return IX.Diagonal.apply(input, offset=0, dim1=0, dim2=1).sum()
