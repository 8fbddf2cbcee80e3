"""Ordering: sort, argsort, topk, median, unique. The values that sort, topk and median return
are gathered from the input (:class:`~minigrad.functions.indexing.Gather`), so the gradient
goes back to the elements picked; indices and unique's results are outside the graph.

As in PyTorch, sort, topk and median(dim) return (values, indices) named tuples, and NaN
counts as the largest value. Sorting is stable (ties keep their order) on every device.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..functions._helpers import normalize_dims
from ..tensor import Tensor
from ._registry import lazy_module, op

__all__ = ["ValuesIndices"]

IX = lazy_module("minigrad.functions.indexing")


class ValuesIndices(tuple):
    """(values, indices), as PyTorch's ``torch.return_types`` of sort, topk, median, ...:
    unpack it or read ``.values`` and ``.indices``."""

    __slots__ = ()

    def __new__(cls, values, indices):
        return tuple.__new__(cls, (values, indices))

    @property
    def values(self):
        return self[0]

    @property
    def indices(self):
        return self[1]

    def __repr__(self):
        return f"ValuesIndices(values={self[0]!r}, indices={self[1]!r})"


def _dim(t, dim, op):
    (axis,) = normalize_dims(dim, t.data.ndim, op) or (0,)
    return axis


def _order(data, axis: int, descending: bool):
    """The stable sorting permutation of ``data`` along ``axis`` (NaN last ascending, first
    descending). Descending: sort the reversed array ascending and reverse the result, so
    ties still keep their original order."""
    xp = backend.array_module(data)
    if not descending:
        return xp.argsort(data, axis=axis, kind="stable")
    reversed_order = xp.argsort(xp.flip(data, axis=axis), axis=axis, kind="stable")
    return (data.shape[axis] - 1) - xp.flip(reversed_order, axis=axis)


def _as_nd(t):
    """A 0-d tensor as 1-d (sorting a number), and whether it was 0-d."""
    return (t.reshape(1), True) if t.data.ndim == 0 else (t, False)


@op()
def sort(input, dim=-1, descending=False, stable=False):
    """(values, indices) along ``dim``, ascending unless ``descending``; stable always
    (``stable`` is accepted for PyTorch's signature)."""
    t, scalar = _as_nd(input)
    axis = _dim(t, dim, "sort")
    order = _order(t.data, axis, bool(descending)).astype(np.int64, copy=False)
    values = IX.Gather.apply(t, dim=axis, index=order)
    if scalar:
        return ValuesIndices(values.reshape(()), Tensor._make(order.reshape(())))
    return ValuesIndices(values, Tensor._make(order))


@op()
def argsort(input, dim=-1, descending=False, stable=False):
    """The indices that sort ``input`` along ``dim`` (an int64 tensor, no gradient)."""
    return sort(input, dim, descending, stable).indices


@op()
def topk(input, k, dim=-1, largest=True, sorted=True):
    """(values, indices) of the ``k`` largest (or smallest) elements along ``dim``, in
    order; the gradient goes to the elements picked."""
    t, _ = _as_nd(input)  # a 0-d input gives 1-d results
    axis = _dim(t, dim, "topk")
    n = t.data.shape[axis]
    if not 0 <= k <= n:
        raise ValueError(f"topk: k = {k} is out of range for dim {dim} of size {n} "
                         f"(shape {tuple(input.shape)})")
    order = _order(t.data, axis, bool(largest)).astype(np.int64, copy=False)
    picked = order[(slice(None),) * axis + (slice(0, k),)]
    return ValuesIndices(IX.Gather.apply(t, dim=axis, index=picked), Tensor._make(picked))


@op()
def kthvalue(input, k, dim=-1, keepdim=False):
    """(values, indices) of the k-th smallest element (k from 1) along ``dim``."""
    t, _ = _as_nd(input)
    axis = _dim(t, dim, "kthvalue")
    n = t.data.shape[axis]
    if not 1 <= k <= n:
        raise ValueError(f"kthvalue: k = {k} is out of range for dim {dim} of size {n}")
    return _pick_ranked(input, t, axis, k - 1, keepdim)


def _pick_ranked(input, t, axis, rank, keepdim):
    """The element of rank ``rank`` (0 = smallest) along ``axis``, with its index."""
    order = _order(t.data, axis, False).astype(np.int64, copy=False)
    index = order[(slice(None),) * axis + (slice(rank, rank + 1),)]
    values = IX.Gather.apply(t, dim=axis, index=index)
    if keepdim and input.data.ndim:
        return ValuesIndices(values, Tensor._make(index))
    shape = tuple(n for i, n in enumerate(t.data.shape) if i != axis)
    return ValuesIndices(values.reshape(shape), Tensor._make(index.reshape(shape)))


@op()
def median(input, dim=None, keepdim=False):
    """The lower median (for an even count the smaller of the two middle values, as in
    PyTorch): of every element when ``dim`` is None (a 0-d tensor), else (values, indices)
    along ``dim``. The gradient goes to the median element."""
    if dim is None:
        flat = input.reshape(-1)
        if flat.data.size == 0:
            raise ValueError("median: the tensor is empty")
        return _pick_ranked(flat, flat, 0, (flat.data.size - 1) // 2, False).values
    t, _ = _as_nd(input)
    axis = _dim(t, dim, "median")
    return _pick_ranked(input, t, axis, (t.data.shape[axis] - 1) // 2, keepdim)


@op()
def unique(input, sorted=True, return_inverse=False, return_counts=False, dim=None):
    """The distinct elements (sorted), over the flattened tensor or (``dim``) the distinct
    slices along dim; optionally the inverse indices (input = unique[inverse]) and the
    counts. Not differentiable."""
    xp = backend.array_module(input.data)
    axis = None if dim is None else _dim(input, dim, "unique")
    found = xp.unique(input.data, return_inverse=True, return_counts=True, axis=axis)
    values, inverse, counts = found
    if axis is None:
        inverse = inverse.reshape(input.data.shape)
    out = [Tensor._make(values)]
    if return_inverse:
        out.append(Tensor._make(xp.asarray(inverse.reshape(-1) if axis is not None else inverse,
                                           dtype=np.int64)))
    if return_counts:
        out.append(Tensor._make(xp.asarray(counts, dtype=np.int64)))
    return out[0] if len(out) == 1 else tuple(out)
