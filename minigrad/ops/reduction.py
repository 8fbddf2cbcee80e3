"""Reductions over dims (sum, mean, var, std, extrema, prod, norm, logsumexp), the running
sum and product, and softmax, each a Tensor method and a ``minigrad.<name>`` function.

``dim``/``keepdim`` as in PyTorch, NumPy's ``axis``/``keepdims`` accepted too. Where minigrad
differs: ``max(dim)``/``min(dim)`` return the values only (use ``argmax``/``argmin`` for the
indices); ``median(dim)``, ``sort`` and ``topk`` return (values, indices) as PyTorch does.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..functions import reduction as R
from ..functions._helpers import normalize_dims, resolve_dim_args
from ..tensor import Tensor, maximum, minimum
from ._registry import op

__all__: list = []


def _axes(t, dim, axis, keepdim, keepdims, op):
    dim, keepdim = resolve_dim_args(dim, axis, keepdim, keepdims, op)
    return normalize_dims(dim, t.data.ndim, op), keepdim


def _one_dim(t, dim, op):
    """A single dim (an int, negatives allowed) as a non-negative axis (0 for a 0-d tensor)."""
    if not isinstance(dim, (int, np.integer)) or isinstance(dim, bool):
        raise TypeError(f"{op}: dim must be an int, got {dim!r}")
    (axis,) = normalize_dims(int(dim), t.data.ndim, op) or (0,)
    return axis


@op()
def sum(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    axes, keepdim = _axes(input, dim, axis, keepdim, keepdims, "sum")
    return R.Sum.apply(input, axes=axes, keepdim=keepdim)


@op()
def mean(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    axes, keepdim = _axes(input, dim, axis, keepdim, keepdims, "mean")
    return R.Mean.apply(input, axes=axes, keepdim=keepdim)


def _var(t, dim, keepdim, correction, unbiased, axis, keepdims, op):
    axes, keepdim = _axes(t, dim, axis, keepdim, keepdims, op)
    if correction is None:
        correction = 0 if unbiased is False else 1
    return R.Var.apply(t, axes=axes, keepdim=keepdim, correction=correction)


@op()
def var(input, dim=None, keepdim=False, *, correction=None, unbiased=None, axis=None,
        keepdims=None):
    """Variance Σ(x - mean)² / (n - correction); correction=1 (unbiased) by default, as in
    PyTorch (``unbiased=False`` means correction=0)."""
    return _var(input, dim, keepdim, correction, unbiased, axis, keepdims, "var")


@op()
def std(input, dim=None, keepdim=False, *, correction=None, unbiased=None, axis=None,
        keepdims=None):
    """√var (same arguments as :func:`var`)."""
    return _var(input, dim, keepdim, correction, unbiased, axis, keepdims, "std").sqrt()


@op()
def amax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Largest value over ``dim``; ties share the gradient evenly."""
    axes, keepdim = _axes(input, dim, axis, keepdim, keepdims, "amax")
    return R.Amax.apply(input, axes=axes, keepdim=keepdim)


@op()
def amin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Smallest value over ``dim``; ties share the gradient evenly."""
    axes, keepdim = _axes(input, dim, axis, keepdim, keepdims, "amin")
    return R.Amin.apply(input, axes=axes, keepdim=keepdim)


@op()
def max(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Like :func:`amax`: unlike PyTorch, ``max(dim)`` returns the values only (use
    :func:`argmax` for indices). ``max(other_tensor)`` is :func:`maximum`."""
    if isinstance(dim, Tensor):
        return maximum(input, dim)
    return amax(input, dim, keepdim, axis=axis, keepdims=keepdims)


@op()
def min(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Like :func:`amin` (values only); ``min(other_tensor)`` is :func:`minimum`."""
    if isinstance(dim, Tensor):
        return minimum(input, dim)
    return amin(input, dim, keepdim, axis=axis, keepdims=keepdims)


def _arg(t, name, dim, keepdim, axis, keepdims):
    dim, keepdim = resolve_dim_args(dim, axis, keepdim, keepdims, name)
    if dim is not None:
        (dim,) = normalize_dims(dim, t.data.ndim, name) or (None,)
    xp = backend.array_module(t.data)
    index = getattr(xp, name)(t.data, axis=dim, keepdims=keepdim and dim is not None)
    return Tensor._make(xp.asarray(index, dtype=np.int64))


@op()
def argmax(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """Index of the largest value (over the flattened tensor when dim is None)."""
    return _arg(input, "argmax", dim, keepdim, axis, keepdims)


@op()
def argmin(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    return _arg(input, "argmin", dim, keepdim, axis, keepdims)


@op()
def logsumexp(input, dim=None, keepdim=False, *, axis=None, keepdims=None):
    """log Σ exp(x) over ``dim``, without overflow."""
    axes, keepdim = _axes(input, dim, axis, keepdim, keepdims, "logsumexp")
    return R.LogSumExp.apply(input, axes=axes, keepdim=keepdim)


@op()
def softmax(input, dim, dtype=None):
    """exp(x) / Σ exp(x) along ``dim``, without overflow (``dtype``: convert first)."""
    if dtype is not None:
        input = input.to(dtype)
    return R.Softmax.apply(input, dim=normalize_dims(dim, input.data.ndim, "softmax"))


@op()
def log_softmax(input, dim, dtype=None):
    """x - logsumexp(x) along ``dim``: the log of softmax, computed stably."""
    if dtype is not None:
        input = input.to(dtype)
    return R.LogSoftmax.apply(input, dim=normalize_dims(dim, input.data.ndim, "log_softmax"))


@op()
def prod(input, dim=None, keepdim=False, *, dtype=None):
    """Π x over one ``dim`` (or every element); the gradient of x_i is Π_{j≠i} x_j (exact
    with zeros)."""
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        out = R.Prod.apply(input.reshape(-1), dim=0, keepdim=False)
        return out.reshape((1,) * input.data.ndim) if keepdim else out
    return R.Prod.apply(input, dim=_one_dim(input, dim, "prod"), keepdim=bool(keepdim))


@op()
def cumsum(input, dim, *, dtype=None):
    """Running sum along ``dim``: out_i = Σ_{j≤i} x_j."""
    if dtype is not None:
        input = input.to(dtype)
    return R.Cumsum.apply(input, dim=_one_dim(input, dim, "cumsum"))


@op()
def cumprod(input, dim, *, dtype=None):
    """Running product along ``dim``: out_i = Π_{j≤i} x_j (gradient exact with zeros)."""
    if dtype is not None:
        input = input.to(dtype)
    return R.Cumprod.apply(input, dim=_one_dim(input, dim, "cumprod"))


@op()
def norm(input, p="fro", dim=None, keepdim=False, dtype=None):
    """The vector p-norm over ``dim`` (all elements when None), as ``torch.norm``:

        p = 2 or 'fro': √(Σ x²)   p = 1: Σ|x|   p = inf: max|x|   p = -inf: min|x|
        p = 0: the number of non-zeros     other p: (Σ |x|^p)^(1/p)

    The gradient at x = 0 is 0 for p = 2 (PyTorch's subgradient); for ±inf it is shared by
    the tied extremes. The nuclear norm ('nuc') is not supported.
    """
    if dtype is not None:
        input = input.to(dtype)
    if p == "nuc":
        raise NotImplementedError("norm: the nuclear norm ('nuc') is not supported")
    if p == "fro":
        p = 2
    if isinstance(p, str) or not isinstance(p, (int, float)):
        raise ValueError(f"norm: p must be a number, 'fro' or inf, got {p!r}")
    axes = normalize_dims(dim, input.data.ndim, "norm")
    keepdim = bool(keepdim)
    if p == 2:
        return R.Norm2.apply(input, axes=axes, keepdim=keepdim)
    magnitude = input.abs()
    if p == math.inf:
        return R.Amax.apply(magnitude, axes=axes, keepdim=keepdim)
    if p == -math.inf:
        return R.Amin.apply(magnitude, axes=axes, keepdim=keepdim)
    if p == 0:
        return R.Sum.apply((input != 0).to(input.dtype), axes=axes, keepdim=keepdim)
    if p == 1:
        return R.Sum.apply(magnitude, axes=axes, keepdim=keepdim)
    return R.Sum.apply(magnitude ** p, axes=axes, keepdim=keepdim) ** (1.0 / p)


@op()
def any(input, dim=None, keepdim=False):
    """Whether any element (along ``dim``) is non-zero: a bool tensor."""
    axes, keepdim = _axes(input, dim, None, keepdim, None, "any")
    xp = backend.array_module(input.data)
    return Tensor._make(xp.asarray(input.data.any(axis=axes, keepdims=keepdim)))


@op()
def all(input, dim=None, keepdim=False):
    """Whether every element (along ``dim``) is non-zero: a bool tensor."""
    axes, keepdim = _axes(input, dim, None, keepdim, None, "all")
    xp = backend.array_module(input.data)
    return Tensor._make(xp.asarray(input.data.all(axis=axes, keepdims=keepdim)))


@op()
def count_nonzero(input, dim=None):
    """The number of non-zero elements (along ``dim``): an int64 tensor."""
    axes = normalize_dims(dim, input.data.ndim, "count_nonzero")
    xp = backend.array_module(input.data)
    counts = xp.count_nonzero(input.data, axis=axes)
    return Tensor._make(xp.asarray(counts, dtype=np.int64))
