"""Ops that pick or place elements by index along one dim, and the matrix-structure ops:
gather and its adjoint scatter-add, scatter, the triangles (tril/triu) and the diagonal with
its adjoint (diagonal embedding). Each backward is the adjoint op, itself a Function, so
gradients of gradients work:

    Gather ⇄ ScatterAdd      Diagonal ⇄ DiagEmbed      Triangle → Triangle
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from .elementwise import MaskedFill

__all__ = ["scatter_positions", "Gather", "ScatterAdd", "Scatter", "Triangle", "Diagonal",
           "DiagEmbed"]


def scatter_positions(index, dim: int, shape):
    """The flat position, in a row-major array of ``shape``, that each element of ``index``
    addresses along ``dim``: element (i₀, …, i_dim, …) of ``index`` points at
    (i₀, …, index[i₀, …], …). ``index`` has as many dims as ``shape`` and is no larger
    along the other dims."""
    xp = array_module(index)
    ndim = len(shape)
    strides = [1] * ndim
    for d in range(ndim - 2, -1, -1):
        strides[d] = strides[d + 1] * shape[d + 1]
    positions = index * strides[dim]
    for d in range(ndim):
        if d != dim:
            along = xp.arange(index.shape[d]).reshape([-1 if i == d else 1 for i in range(ndim)])
            positions = positions + along * strides[d]
    return positions


class Gather(Function):
    """out[i][j][k] = a[index[i][j][k]][j][k]  (for dim 0; likewise for the others);
    da = ScatterAdd(g): each element of g is added back where it was read from."""

    def forward(self, a, dim, index):
        xp = array_module(a)
        self.dim = dim
        self.index = index
        # index may be smaller than a along the other dims: read from a's leading corner
        corner = tuple(slice(None) if d == dim else slice(0, n) for d, n in enumerate(index.shape))
        return xp.take_along_axis(a[corner], index, axis=dim)

    def backward(self, g):
        return ScatterAdd.apply(g, dim=self.dim, index=self.index,
                                shape=self.inputs[0].data.shape)


class ScatterAdd(Function):
    """out = zeros(shape) with out[index[i][j][k]][j][k] += src[i][j][k]  (dim 0; repeated
    positions add up);  dsrc = Gather(d_out): the adjoint of gather."""

    def forward(self, src, dim, index, shape):
        xp = array_module(src)
        self.dim = dim
        self.index = index
        size = 1
        for n in shape:
            size *= n
        positions = scatter_positions(index, dim, shape).reshape(-1)
        # One bincount over flat positions (faster than add.at, and repeats add up).
        sums = xp.bincount(positions, weights=src.reshape(-1), minlength=size)
        return sums.astype(src.dtype, copy=False).reshape(shape)

    def backward(self, d_out):
        return Gather.apply(d_out, dim=self.dim, index=self.index)


class Scatter(Function):
    """out = a with out[index[i][j][k]][j][k] = src[i][j][k]  (dim 0; src a tensor of
    index's shape, or the number ``value``). With repeated positions one write wins.
    da = g with the written positions zeroed,  dsrc = Gather(g) (as PyTorch)."""

    def forward(self, a, *src, dim, index, value=None):
        xp = array_module(a)
        self.dim = dim
        self.index = index
        out = a.copy()
        positions = scatter_positions(index, dim, a.shape).reshape(-1)
        flat = out.reshape(-1)  # a view: the copy is contiguous
        flat[positions] = src[0].reshape(-1) if src else value
        self.written = xp.zeros(a.shape, dtype=bool)
        self.written.reshape(-1)[positions] = True
        return out

    def backward(self, g):
        need = self.needs_input_grad
        da = MaskedFill.apply(g, mask=self.written, value=0) if need[0] else None
        if len(need) == 1:
            return da
        return da, (Gather.apply(g, dim=self.dim, index=self.index) if need[1] else None)


class Triangle(Function):
    """out = the lower (tril) or upper (triu) triangle of the last two dims, from diagonal
    ``k`` on, the rest 0;  da = the same triangle of g."""

    def forward(self, a, k, upper):
        xp = array_module(a)
        self.k = k
        self.upper = upper
        return xp.triu(a, k) if upper else xp.tril(a, k)

    def backward(self, g):
        return Triangle.apply(g, k=self.k, upper=self.upper)


def _diagonal_index(length: int, offset: int, xp):
    """Rows and columns of the diagonal ``offset`` (> 0 above the main one)."""
    i = xp.arange(length)
    return i + max(-offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """out[..., i] = a[..., i + max(-offset, 0), i + max(offset, 0)] over dims (dim1, dim2)
    (which are removed; the diagonal becomes the last dim);  da = DiagEmbed(g)."""

    def forward(self, a, offset, dim1, dim2):
        self.params = (offset, dim1, dim2)
        return array_module(a).diagonal(a, offset, dim1, dim2).copy()

    def backward(self, g):
        offset, dim1, dim2 = self.params
        return DiagEmbed.apply(g, shape=self.inputs[0].data.shape, offset=offset, dim1=dim1,
                               dim2=dim2)


class DiagEmbed(Function):
    """out = zeros(shape) with g written on the diagonal ``offset`` of dims (dim1, dim2) (g's
    last dim runs along it);  dg = Diagonal(d_out): the adjoint of taking the diagonal."""

    def forward(self, g, shape, offset, dim1, dim2):
        xp = array_module(g)
        self.params = (offset, dim1, dim2)
        out = xp.zeros(shape, dtype=g.dtype)
        planes = xp.moveaxis(out, (dim1, dim2), (-2, -1))  # a view of out
        rows, cols = _diagonal_index(g.shape[-1], offset, xp)
        planes[..., rows, cols] = g
        return out

    def backward(self, d_out):
        offset, dim1, dim2 = self.params
        return Diagonal.apply(d_out, offset=offset, dim1=dim1, dim2=dim2)
