"""Reductions and normalizations over dims: sum, mean, var, amax/amin, logsumexp, softmax.

``axes`` is always a normalized tuple (see ``normalize_dims``); backward reshapes the output
gradient to the keepdim shape and lets broadcasting spread it over the reduced axes.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module
from ._helpers import kept_shape


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
