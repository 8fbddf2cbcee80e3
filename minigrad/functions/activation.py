"""The Functions behind the neural-network layers that the core ops do not already cover:
LeakyReLU, the standard normal CDF Φ (for the exact GELU), constant padding, the fused linear
layer, the normalization shared by BatchNorm (training) and LayerNorm, and the embedding
lookup with its adjoint. Each is one Function, forward beside backward; the layers in
:mod:`minigrad.nn.functional` call them.
"""

from __future__ import annotations

import math

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["LeakyReLU", "NormalCdf", "Pad", "Linear", "Normalize", "moments", "Embedding",
           "RowScatter", "erfc"]


class LeakyReLU(Function):
    """out = x if x > 0 else slope · x;  dx = g · (1 if x > 0 else slope)"""

    def forward(self, x, negative_slope):
        xp = array_module(x)
        # The local slope, kept in x's dtype (a Python float does not upcast float32).
        self.slope = xp.where(x > 0, x.dtype.type(1), x.dtype.type(negative_slope))
        return x * self.slope

    def backward(self, g):
        return g * self.slope


# ---------------------------------------------------------------------------------------------
# erfc, for Φ. NumPy has no erf, so erfc is evaluated from a Chebyshev series:
#
#   erfc(z) = t · exp(-z² + G(s)),   t = K / (K + z),   z ≥ 0,
#
# where G(s) = log(erfc(z) · e^{z²} / t) is smooth on the whole half line, s maps t from
# [K / (K + Z_MAX), 1] onto [-1, 1], and G(s) = Σ_k c_k T_k(s). The coefficients c_k are
# computed once, at first use, by Chebyshev interpolation of the standard library's
# ``math.erfc`` (correctly rounded to about 1 ulp); degree 24 reproduces erfc to ~1e-15
# absolute on [0, Z_MAX]. Beyond Z_MAX, s is clamped at -1: erfc(z) < 2e-45 there and is
# returned within ~10 % relative (and < 1e-45 absolute) error.

_K = 2.0
_Z_MAX = 10.0
_DEGREE = 24
_T0 = _K / (_K + _Z_MAX)
_erfc_coefficients: dict = {}  # dtype -> tuple of Python floats (c_0, ..., c_n)


def _chebyshev_coefficients(dtype) -> tuple:
    """c_0..c_n of G, truncated after the last one that still matters in ``dtype``."""
    cached = _erfc_coefficients.get(dtype)
    if cached is not None:
        return cached
    from numpy.polynomial import chebyshev

    def g(s):
        t = _T0 + (s + 1.0) * 0.5 * (1.0 - _T0)
        z = _K / t - _K
        return np.array([math.log(math.erfc(zi)) + zi * zi - math.log(ti)
                         for zi, ti in zip(z.tolist(), t.tolist())])

    c = chebyshev.chebinterpolate(g, _DEGREE)
    # A term below eps/100 of the leading one changes nothing in this dtype: drop it.
    threshold = float(np.finfo(dtype).eps) * 0.01
    last = max(i for i, ck in enumerate(c) if abs(ck) >= threshold)
    cached = _erfc_coefficients[dtype] = tuple(float(ck) for ck in c[:last + 1])
    return cached


def erfc(z):
    """The complementary error function 1 - erf(z) = (2/√π) ∫_z^∞ e^{-u²} du of an array
    ``z ≥ 0`` (NumPy or CuPy, float32 or float64), by the Chebyshev series above."""
    xp = array_module(z)
    dtype = z.dtype if z.dtype.kind == "f" else np.dtype(np.float64)
    c = _chebyshev_coefficients(np.dtype(dtype))
    t = _K / (_K + z)
    s = xp.clip((2.0 * t - (1.0 + _T0)) * (1.0 / (1.0 - _T0)), -1.0, 1.0)
    # Clenshaw's recurrence: b_k = c_k + 2 s b_{k+1} - b_{k+2};  G = c_0 + s b_1 - b_2.
    two_s = 2.0 * s
    b1 = xp.zeros_like(s)
    b2 = xp.zeros_like(s)
    for ck in c[:0:-1]:
        b1, b2 = two_s * b1 - b2 + ck, b1
    return t * xp.exp(s * b1 - b2 + c[0] - z * z)


_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


class NormalCdf(Function):
    """out = Φ(x) = P(N(0, 1) ≤ x) = erfc(-x/√2) / 2;  dx = g · φ(x),  φ(x) = e^{-x²/2} / √(2π)

    Forward evaluates the tail mass erfc(|x|/√2)/2 and takes 1 minus it for x ≥ 0, so both
    tails are accurate. Backward is written with Tensor ops (differentiable again).
    """

    def forward(self, x):
        xp = array_module(x)
        tail = 0.5 * erfc(abs(x) * _INV_SQRT2)  # P(N(0, 1) > |x|)
        return xp.where(x >= 0, 1.0 - tail, tail)

    def backward(self, g):
        (x,) = self.inputs
        return g * (x * x * -0.5).exp() * _INV_SQRT_2PI


class Pad(Function):
    """out = x with ``widths[d] = (before, after)`` elements of ``value`` added on each side of
    axis d (a negative width crops instead);  dx = g with the same widths negated (the added
    elements are cut off again, cropped ones come back as zeros)."""

    def forward(self, x, widths, value=0.0):
        xp = array_module(x)
        self.widths = widths
        crop = tuple(slice(max(-lo, 0), x.shape[d] - max(-hi, 0))
                     for d, (lo, hi) in enumerate(widths))
        grow = tuple((max(lo, 0), max(hi, 0)) for lo, hi in widths)
        return xp.pad(x[crop], grow, mode="constant", constant_values=value)

    def backward(self, g):
        return Pad.apply(g, widths=tuple((-lo, -hi) for lo, hi in self.widths), value=0.0)


class Linear(Function):
    """out = x Wᵀ + b  (x: (*, in), W: (out, in), b: (out,));
    dx = g W,  dW = Σ_rows gᵀ x,  db = Σ_rows g   (rows: every leading index of x)

    One matmul and one in-place bias add forward; backward reshapes leading axes into rows so
    dW and db are a single matmul and a single sum.
    """

    def forward(self, x, weight, bias=None):
        out = x @ weight.T
        if bias is not None:
            out += bias  # the matmul result is fresh: add in place, no second array
        return out

    def backward(self, g):
        x, weight = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        dx = g @ weight if need[0] else None
        if need[1] or (len(need) > 2 and need[2]):
            if g.data.ndim != 2:  # (*, out) -> (rows, out), and x likewise
                g = g.reshape(-1, weight.data.shape[0])
                x = x.reshape(-1, weight.data.shape[1])
        dw = g.mT @ x if need[1] else None
        if len(need) == 2:
            return dx, dw
        return dx, dw, (g.sum(0) if need[2] else None)


def moments(x, axes):
    """The mean μ and biased variance σ² = mean((x - μ)²) of array ``x`` over ``axes``
    (kept as size-1 axes)."""
    mean = x.mean(axis=axes, keepdims=True)
    centered = x - mean
    centered *= centered
    return mean, centered.mean(axis=axes, keepdims=True)


class Normalize(Function):
    """out = x̂ = (x - μ) / √(σ² + eps), with μ, σ² = moments(x, axes) (BatchNorm in training,
    LayerNorm);  dx = (g - mean(g) - x̂ · mean(g · x̂)) / √(σ² + eps)  (means over ``axes``).

    The caller passes μ and σ² (it needs them too, for BatchNorm's running statistics); they
    must be the moments of x over ``axes``, which the gradient formula accounts for.
    """

    def forward(self, x, mean, var, axes, eps):
        xp = array_module(x)
        self.axes = axes
        self.eps = eps
        self.invstd = 1.0 / xp.sqrt(var + eps)
        self.out = (x - mean) * self.invstd
        return self.out

    def backward(self, g):
        axes = self.axes
        if is_grad_enabled():
            # create_graph: x̂ and 1/√(σ² + eps) must themselves depend on x in the graph.
            x = self.inputs[0]
            var = x.var(dim=axes, keepdim=True, correction=0)
            invstd = (var + self.eps) ** -0.5
            x_hat = (x - x.mean(dim=axes, keepdim=True)) * invstd
        else:
            invstd = Tensor._make(self.invstd)
            x_hat = Tensor._make(self.out)
        return (g - g.mean(dim=axes, keepdim=True)
                - x_hat * (g * x_hat).mean(dim=axes, keepdim=True)) * invstd


class Embedding(Function):
    """out[p] = W[indices[p]]  (a row of W per index);
    dW[k] = Σ_{p: indices[p] = k} g[p], and 0 for k = padding_idx."""

    def forward(self, weight, indices, padding_idx=None):
        self.indices = indices
        self.padding_idx = padding_idx
        return weight[indices]

    def backward(self, g):
        if self.padding_idx is not None:
            keep = (self.indices != self.padding_idx)[..., None].astype(g.data.dtype)
            g = g * keep
        return RowScatter.apply(g, rows=self.inputs[0].data.shape[0], indices=self.indices)


class RowScatter(Function):
    """out = zeros(rows, D) with out[indices[p]] += g[p] (repeats add up);
    dg[p] = d_out[indices[p]]: the adjoint of the lookup (its backward is the lookup)."""

    def forward(self, g, rows, indices):
        xp = array_module(g)
        self.indices = indices
        width = g.shape[-1]
        flat = indices.reshape(-1)
        # Scatter-add by bincount on flat positions (row · D + column).
        positions = (flat[:, None] * width + xp.arange(width)).reshape(-1)
        sums = xp.bincount(positions, weights=g.reshape(-1), minlength=rows * width)
        return sums.astype(g.dtype, copy=False).reshape(rows, width)

    def backward(self, d_out):
        return Embedding.apply(d_out, indices=self.indices)
