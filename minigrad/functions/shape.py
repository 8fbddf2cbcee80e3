"""Ops that move elements around without arithmetic: reshape, permute, expand, indexing,
concatenation, flip, roll. Each backward moves the gradient back the same way."""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ..backend import array_module
from ._helpers import unbroadcast


class Reshape(Function):
    """out = a with a new shape (same elements, row-major order);  da = g reshaped back"""

    returns_view = True

    def forward(self, a, shape):
        return a.reshape(shape)

    def backward(self, g):
        return g.reshape(self.inputs[0].data.shape)


class Permute(Function):
    """out = a with its axes reordered by ``dims``;  da = g with the inverse permutation"""

    returns_view = True

    def forward(self, a, dims):
        self.dims = dims
        return a.transpose(dims)

    def backward(self, g):
        dims = self.dims
        inverse = tuple(sorted(range(len(dims)), key=dims.__getitem__))
        return Permute.apply(g, dims=inverse)


class Expand(Function):
    """out = a broadcast to ``shape`` (a view);  da = g summed over the broadcast axes"""

    returns_view = True

    def forward(self, a, shape):
        return array_module(a).broadcast_to(a, shape)

    def backward(self, g):
        return unbroadcast(g, self.inputs[0].data.shape)


def is_basic_index(index) -> bool:
    """True for an index of ints, slices, None and Ellipsis only (NumPy's basic indexing:
    every element of the result comes from a distinct element of the input)."""
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, slice):
            continue
        if isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            continue
        return False
    return True


class GetItem(Function):
    """out = a[index];  da = g scattered back into zeros at ``index`` (repeats accumulate)"""

    def forward(self, a, index):
        self.index = index
        self.returns_view = is_basic_index(index)  # advanced indexing copies
        return a[index]

    def backward(self, g):
        return IndexAdd.apply(g, shape=self.inputs[0].data.shape, index=self.index)


class IndexAdd(Function):
    """out = zeros(shape) with g added at ``index`` (repeated positions add up);
    dg = d_out[index]. The backward of GetItem, and its own inverse."""

    def forward(self, g, shape, index):
        xp = array_module(g)
        self.index = index
        out = xp.zeros(shape, dtype=g.dtype)
        if is_basic_index(index):
            out[index] = g
            return out
        # Advanced indexing may repeat positions: sum with bincount over the flat positions.
        positions = xp.arange(out.size).reshape(shape)[index]
        sums = xp.bincount(positions.ravel(), weights=xp.broadcast_to(g, positions.shape).ravel(),
                           minlength=out.size)
        return sums.astype(g.dtype, copy=False).reshape(shape)

    def backward(self, d_out):
        return GetItem.apply(d_out, index=self.index)


class Cat(Function):
    """out = the inputs joined along ``dim``;  each input's gradient is its slice of g"""

    def forward(self, *arrays, dim):
        self.dim = dim
        return array_module(arrays[0]).concatenate(arrays, axis=dim)

    def backward(self, g):
        lead = (slice(None),) * self.dim
        grads, start = [], 0
        for t, need in zip(self.inputs, self.needs_input_grad):
            stop = start + t.data.shape[self.dim]
            grads.append(g[lead + (slice(start, stop),)] if need else None)
            start = stop
        return tuple(grads)


class Stack(Function):
    """out = the inputs stacked along a new axis ``dim``;  input i's gradient is g[..., i, ...]"""

    def forward(self, *arrays, dim):
        self.dim = dim
        return array_module(arrays[0]).stack(arrays, axis=dim)

    def backward(self, g):
        lead = (slice(None),) * self.dim
        return tuple(g[lead + (i,)] if need else None
                     for i, need in enumerate(self.needs_input_grad))


class Flip(Function):
    """out = a with the order of elements along each of ``dims`` reversed (a copy, as in
    PyTorch);  da = g flipped back the same way"""

    def forward(self, a, dims):
        self.dims = dims
        return array_module(a).flip(a, axis=dims).copy()

    def backward(self, g):
        return Flip.apply(g, dims=self.dims)


class Roll(Function):
    """out = a with elements shifted by ``shifts`` along ``dims`` (circularly; dims None: over
    the flattened tensor, shape kept);  da = g rolled back by -shifts"""

    def forward(self, a, shifts, dims):
        self.shifts = shifts
        self.dims = dims
        return array_module(a).roll(a, shifts, axis=dims)

    def backward(self, g):
        back = -self.shifts if isinstance(self.shifts, int) else tuple(-s for s in self.shifts)
        return Roll.apply(g, shifts=back, dims=self.dims)
