"""Reductions and normalizations over dims: sum, mean, var, amax/amin, logsumexp, softmax,
prod, the running sum and product, and the Euclidean norm.

``axes`` is always a normalized tuple (see ``normalize_dims``); backward reshapes the output
gradient to the keepdim shape and lets broadcasting spread it over the reduced axes.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor
from ._helpers import kept_shape
from .elementwise import MaskedFill
from .shape import Cat, Flip


def _spread(g, shape, axes):
    """The output gradient of a reduction, broadcast back to the input's ``shape``."""
    return g.reshape(kept_shape(shape, axes)).expand(shape)


class Sum(Function):
    """out = Σ_axes a;  da = g broadcast over the summed axes"""

    def forward(self, a, axes, keepdim):
        self.axes = axes
        return a.sum(axis=axes, keepdims=keepdim)

    def backward(self, g):
        return _spread(g, self.inputs[0].data.shape, self.axes)


class Mean(Function):
    """out = (1/n) Σ_axes a  (n = number of elements reduced);  da = g / n broadcast"""

    def forward(self, a, axes, keepdim):
        self.axes = axes
        self.count = _count(a.shape, axes)
        return a.mean(axis=axes, keepdims=keepdim)

    def backward(self, g):
        return _spread(g, self.inputs[0].data.shape, self.axes) * (1.0 / self.count)


class Var(Function):
    """out = Σ_axes (a - mean)² / (n - correction);  da = g * 2 (a - mean) / (n - correction)

    ``correction=1`` (the default, as in PyTorch) is the unbiased sample variance.
    """

    def forward(self, a, axes, keepdim, correction):
        self.axes = axes
        self.divisor = max(_count(a.shape, axes) - correction, 0)
        centered = a - a.mean(axis=axes, keepdims=True)
        squares = (centered * centered).sum(axis=axes, keepdims=keepdim)
        # Too few elements for the correction: nan, as in PyTorch.
        return squares / self.divisor if self.divisor else squares * float("nan")

    def backward(self, g):
        (a,) = self.inputs
        centered = a - a.mean(dim=self.axes, keepdim=True)
        scale = 2.0 / self.divisor if self.divisor else float("nan")
        return _spread(g, a.data.shape, self.axes) * centered * scale


class Amax(Function):
    """out = max over axes;  da = g split evenly among the elements equal to the max"""

    def forward(self, a, axes, keepdim):
        self.axes = axes
        self.out = a.max(axis=axes, keepdims=True)
        return self.out if keepdim else self.out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        return _extremum_backward(self, g)


class Amin(Function):
    """out = min over axes;  da = g split evenly among the elements equal to the min"""

    def forward(self, a, axes, keepdim):
        self.axes = axes
        self.out = a.min(axis=axes, keepdims=True)
        return self.out if keepdim else self.out.reshape(_reduced_shape(a.shape, axes))

    def backward(self, g):
        return _extremum_backward(self, g)


def _extremum_backward(fn, g):
    a = fn.inputs[0].data
    hits = a == fn.out
    share = hits / hits.sum(axis=fn.axes, keepdims=True)
    return _spread(g, a.shape, fn.axes) * share.astype(a.dtype, copy=False)


class LogSumExp(Function):
    """out = log Σ_axes exp(a), computed as m + log Σ exp(a - m) with m the max (no overflow);
    da = g * exp(a - out)"""

    def forward(self, a, axes, keepdim):
        xp = array_module(a)
        self.axes = axes
        m = a.max(axis=axes, keepdims=True)
        m = xp.where(xp.isfinite(m), m, 0)  # all -inf (or inf) slices: no shift
        out = m + xp.log(xp.exp(a - m).sum(axis=axes, keepdims=True))
        self.out = out if keepdim else out.reshape(_reduced_shape(a.shape, axes))
        return self.out

    def backward(self, g):
        (a,) = self.inputs
        keep = kept_shape(a.data.shape, self.axes)
        return g.reshape(keep) * (a - self.output().reshape(keep)).exp()


class Softmax(Function):
    """out_i = exp(a_i) / Σ_j exp(a_j) along dim (shifted by the max: no overflow);
    da = out * (g - Σ_j g_j out_j)"""

    def forward(self, a, dim):
        xp = array_module(a)
        self.dim = dim
        e = xp.exp(a - a.max(axis=dim, keepdims=True))
        self.out = e / e.sum(axis=dim, keepdims=True)
        return self.out

    def backward(self, g):
        out = self.output()
        return out * (g - (g * out).sum(dim=self.dim, keepdim=True))


class LogSoftmax(Function):
    """out_i = a_i - log Σ_j exp(a_j) along dim (through the max-shifted log-sum-exp);
    da = g - exp(out) * Σ_j g_j"""

    def forward(self, a, dim):
        xp = array_module(a)
        self.dim = dim
        shifted = a - a.max(axis=dim, keepdims=True)
        self.out = shifted - xp.log(xp.exp(shifted).sum(axis=dim, keepdims=True))
        return self.out

    def backward(self, g):
        return g - self.output().exp() * g.sum(dim=self.dim, keepdim=True)


def _count(shape, axes) -> int:
    n = 1
    for i in axes:
        n *= shape[i]
    return n


def _reduced_shape(shape, axes):
    return tuple(n for i, n in enumerate(shape) if i not in axes)


# ---------------------------------------------------------------------------------------------
# Products, running sums and products, the Euclidean norm


class Prod(Function):
    """out = Π_i a_i along ``dim``;  da_i = g · Π_{j≠i} a_j

    Without zeros along the axis Π_{j≠i} a_j = out / a_i; with zeros it is the product of the
    exclusive running products from the left and from the right (no division).
    """

    def forward(self, a, dim, keepdim):
        self.dim = dim
        self.out = a.prod(axis=dim, keepdims=keepdim)
        return self.out

    def backward(self, g):
        (a,) = self.inputs
        d = self.dim
        g = g.reshape(kept_shape(a.data.shape, (d,)))
        if a.data.all():
            return g * self.output().reshape(g.data.shape) / a
        n = a.data.shape[d]
        lead = (slice(None),) * d
        ones = _constant_ones(a, d)
        if n == 1:
            return g * ones
        before = Cumprod.apply(a[lead + (slice(0, n - 1),)], dim=d)  # Π_{j<i}, from i = 1
        after = _reverse_cumprod(a[lead + (slice(1, n),)], d)  # Π_{j>i}, up to i = n - 2
        left = Cat.apply(ones, before, dim=d)
        right = Cat.apply(after, ones, dim=d)
        return g * left * right


class Cumsum(Function):
    """out_i = Σ_{j≤i} a_j along ``dim``;  da_j = Σ_{i≥j} g_i (a reversed running sum)"""

    def forward(self, a, dim):
        self.dim = dim
        return array_module(a).cumsum(a, axis=dim, dtype=a.dtype)

    def backward(self, g):
        return _reverse_cumsum(g, self.dim)


class Cumprod(Function):
    """out_i = Π_{j≤i} a_j along ``dim``;  da_j = Σ_{i≥j} g_i · Π_{k≤i, k≠j} a_k

    Without zeros along the axis that is (Σ_{i≥j} g_i out_i) / a_j; with zeros the products
    Π_{k≤i, k≠j} a_k are formed directly (an n × n table per slice along ``dim``).
    """

    def forward(self, a, dim):
        self.dim = dim
        self.out = array_module(a).cumprod(a, axis=dim, dtype=a.dtype)
        return self.out

    def backward(self, g):
        (a,) = self.inputs
        d = self.dim
        if a.data.all():
            return _reverse_cumsum(g * self.output(), d) / a
        xp = array_module(a.data)
        n = a.data.shape[d]
        last = a.transpose(d, -1)  # (..., n)
        # table[..., j, i] = Π_{k≤i} (1 if k = j else a_k) = Π_{k≤i, k≠j} a_k
        rows = last.unsqueeze(-2).expand(last.shape[:-1] + (n, n))
        ones_at_j = MaskedFill.apply(rows, mask=xp.eye(n, dtype=bool), value=1)
        table = Cumprod.apply(ones_at_j, dim=rows.ndim - 1)
        below = xp.tril(xp.ones((n, n), dtype=bool), -1)  # i < j: not part of da_j
        terms = MaskedFill.apply(table, mask=below, value=0) * g.transpose(d, -1).unsqueeze(-2)
        return terms.sum(dim=-1).transpose(d, -1)


class Norm2(Function):
    """out = √(Σ_axes a²);  da = g · a / out  (0 where out = 0, as PyTorch's subgradient)"""

    def forward(self, a, axes, keepdim):
        xp = array_module(a)
        self.axes = axes
        self.out = xp.sqrt((a * a).sum(axis=axes, keepdims=keepdim))
        return self.out

    def backward(self, g):
        (a,) = self.inputs
        keep = kept_shape(a.data.shape, self.axes)
        out = self.output().reshape(keep)
        safe = MaskedFill.apply(out, mask=out.data == 0, value=1)  # a = 0 there: 0 / 1 = 0
        return a * (g.reshape(keep) / safe)


def _reverse_cumsum(g, dim):
    """Σ_{i≥j} g_i along ``dim``: a running sum from the end."""
    return Flip.apply(Cumsum.apply(Flip.apply(g, dims=(dim,)), dim=dim), dims=(dim,))


def _reverse_cumprod(a, dim):
    """Π_{i≥j} a_i along ``dim``: a running product from the end."""
    return Flip.apply(Cumprod.apply(Flip.apply(a, dims=(dim,)), dim=dim), dims=(dim,))


def _constant_ones(a, dim):
    """Ones shaped like ``a`` with size 1 along ``dim``: the empty product."""
    shape = kept_shape(a.data.shape, (dim,))
    return Tensor._make(array_module(a.data).ones(shape, dtype=a.data.dtype))
