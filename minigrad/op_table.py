"""Every differentiable op listed once: how to draw sample inputs, the minigrad call and a plain
NumPy reference. The tests (with hypothesis drawing the samples) and ``python -m minigrad
gradcheck`` (with a seeded NumPy generator) both read this table, so an op added here is
checked everywhere.

A sample is drawn through a :class:`Drawer`, which has two implementations: ``RandomDrawer``
here (NumPy RNG, for the command line) and a hypothesis-backed one in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import minigrad as mg

__all__ = ["OpSpec", "OPS", "Drawer", "RandomDrawer", "make_values"]


# ---------------------------------------------------------------------------------------------
# Drawing samples


class Drawer:
    """What a sample function may ask for. Subclasses supply the randomness."""

    def integer(self, low: int, high: int) -> int:  # inclusive bounds
        raise NotImplementedError

    def boolean(self) -> bool:
        return bool(self.integer(0, 1))

    def choice(self, options):
        return options[self.integer(0, len(options) - 1)]

    def seed(self) -> int:
        return self.integer(0, 2**31 - 1)

    def shape(self, min_dims=0, max_dims=3, min_side=1, max_side=4) -> tuple:
        ndim = self.integer(min_dims, max_dims)
        return tuple(self.integer(min_side, max_side) for _ in range(ndim))

    def broadcastable(self, count: int, min_dims=0, max_dims=3) -> list:
        """``count`` shapes that broadcast together: each drops some leading axes of a common
        shape and sets some of the rest to 1."""
        base = self.shape(min_dims, max_dims)
        shapes = []
        for _ in range(count):
            drop = self.integer(0, len(base))
            shapes.append(tuple(1 if self.integer(0, 3) == 0 else n for n in base[drop:]))
        return shapes

    def dims(self, ndim: int, allow_none=True):
        """None, one axis (maybe negative) or a tuple of distinct axes of an ``ndim`` tensor."""
        kinds = (["none"] if allow_none else []) + (["one", "tuple"] if ndim else [])
        kind = self.choice(kinds) if kinds else "none"
        if kind == "none":
            return None
        if kind == "one":
            return self.integer(-ndim, ndim - 1)
        chosen = [d for d in range(ndim) if self.boolean()]
        return tuple(d - ndim if self.boolean() else d for d in chosen)

    def values(self, shape, kind="normal", avoid=()) -> np.ndarray:
        return make_values(np.random.default_rng(self.seed()), shape, kind, avoid)


class RandomDrawer(Drawer):
    """Draws from a NumPy generator (used by ``python -m minigrad gradcheck``)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def integer(self, low, high):
        return int(self.rng.integers(low, high + 1))


def make_values(rng, shape, kind="normal", avoid=()) -> np.ndarray:
    """float64 sample values. ``kind``: normal, positive (in [0.5, 2]), nonzero (|x| in
    [0.5, 2]), distinct (no two within 0.1: for max/min), grid/offgrid (a grid value and an
    offgrid value are never close: for maximum(a, b)). Values closer than 0.05 to a point
    in ``avoid`` (a kink such as 0 for relu) are pushed away, so central differences never
    straddle it."""
    if kind == "normal":
        x = rng.standard_normal(shape)
    elif kind == "positive":
        x = rng.uniform(0.5, 2.0, shape)
    elif kind == "nonzero":
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind in ("grid", "offgrid"):  # grid and offgrid values are never within 0.08
        x = rng.integers(-10, 10, shape) * 0.2 + rng.uniform(0, 0.02, shape)
        x = x + 0.1 if kind == "offgrid" else x
    elif kind == "distinct":
        n = int(np.prod(shape))
        x = (rng.permutation(n) * 0.2 - 0.1 * n + rng.uniform(0, 0.05, n)).reshape(shape)
    else:
        raise ValueError(f"unknown value kind {kind!r}")
    x = np.asarray(x, dtype=np.float64)
    for point in avoid:
        side = np.where(x >= point, 1.0, -1.0)
        x = np.where(np.abs(x - point) < 0.05, x + 0.1 * side, x)
    return x


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class OpSpec:
    """One op: ``sample(drawer) -> (arrays, kwargs)``; ``op(*tensors, **kwargs)`` in minigrad;
    ``ref(*arrays, **kwargs)`` in NumPy. ``grad_inputs`` lists which arrays are differentiable
    inputs (default: every float array); the others (masks, conditions) stay constant."""

    name: str
    sample: Callable
    op: Callable
    ref: Callable
    gradgrad: bool = True
    grad_inputs: tuple | None = None
    tags: tuple = field(default=())


OPS: list[OpSpec] = []


def _add(name, sample, op, ref, **kw):
    OPS.append(OpSpec(name, sample, op, ref, **kw))


def _unary(kind="normal", avoid=()):
    def sample(d):
        return [d.values(d.shape(), kind, avoid)], {}
    return sample


def _binary(kind_a="normal", kind_b="normal"):
    def sample(d):
        sa, sb = d.broadcastable(2)
        return [d.values(sa, kind_a), d.values(sb, kind_b)], {}
    return sample


# Elementwise, unary
_add("neg", _unary(), lambda a: -a, lambda a: -a)
_add("exp", _unary(), lambda a: a.exp(), np.exp)
_add("log", _unary("positive"), lambda a: a.log(), np.log)
_add("sqrt", _unary("positive"), lambda a: a.sqrt(), np.sqrt)
_add("abs", _unary(avoid=(0.0,)), lambda a: a.abs(), np.abs)
_add("sin", _unary(), lambda a: a.sin(), np.sin)
_add("cos", _unary(), lambda a: a.cos(), np.cos)
_add("tanh", _unary(), lambda a: a.tanh(), np.tanh)
_add("sigmoid", _unary(), lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)))
_add("relu", _unary(avoid=(0.0,)), lambda a: a.relu(), lambda a: np.maximum(a, 0))
_add("clone", _unary(), lambda a: a.clone(), np.copy)


def _clamp_sample(d):
    lo, hi = d.choice([(-0.5, 0.5), (-0.5, None), (None, 0.5)])
    return [d.values(d.shape(), avoid=(-0.5, 0.5))], {"min": lo, "max": hi}


_add("clamp", _clamp_sample, lambda a, min, max: a.clamp(min, max),
     lambda a, min, max: np.clip(a, min, max))


def _power_sample(d):
    exponent = d.choice([2, 3, 0.5, -1.0, 1.5])
    kind = "positive" if exponent in (0.5, 1.5) else "nonzero" if exponent < 0 else "normal"
    return [d.values(d.shape(), kind)], {"p": exponent}


_add("pow_scalar", _power_sample, lambda a, p: a ** p, lambda a, p: a ** p)
_add("rpow_scalar", _unary(), lambda a: 2.0 ** a, lambda a: 2.0 ** a)
_add("add_scalar", _unary(), lambda a: a + 2.5, lambda a: a + 2.5)
_add("rsub_scalar", _unary(), lambda a: 3 - a, lambda a: 3 - a)
_add("mul_scalar", _unary(), lambda a: a * -1.5, lambda a: a * -1.5)
_add("rdiv_scalar", _unary("nonzero"), lambda a: 2.0 / a, lambda a: 2.0 / a)

# Elementwise, binary (broadcasting)
_add("add", _binary(), lambda a, b: a + b, np.add)
_add("sub", _binary(), lambda a, b: a - b, np.subtract)
_add("mul", _binary(), lambda a, b: a * b, np.multiply)
_add("div", _binary("normal", "nonzero"), lambda a, b: a / b, np.divide)
_add("pow", _binary("positive", "normal"), lambda a, b: a ** b, np.power)
_add("maximum", _binary("grid", "offgrid"), mg.maximum, np.maximum)
_add("minimum", _binary("grid", "offgrid"), mg.minimum, np.minimum)


def _where_sample(d):
    sc, sa, sb = d.broadcastable(3)
    return [d.values(sc) > 0, d.values(sa), d.values(sb)], {}


_add("where", _where_sample, mg.where, np.where, grad_inputs=(1, 2))


# Reductions
def _reduce_sample(kind="normal", keepdim=True):
    def sample(d):
        shape = d.shape()
        kw = {"dim": d.dims(len(shape))}
        if keepdim:
            kw["keepdim"] = d.boolean()
        return [d.values(shape, kind)], kw
    return sample


def _np_axes(dim, ndim):
    if dim is None or ndim == 0:
        return None if ndim else ()
    return tuple(d % ndim for d in ((dim,) if isinstance(dim, int) else dim))


def _np_reduce(func):
    def ref(a, dim=None, keepdim=False):
        return func(a, axis=_np_axes(dim, a.ndim), keepdims=keepdim)
    return ref


_add("sum", _reduce_sample(), lambda a, **kw: a.sum(**kw), _np_reduce(np.sum))
_add("mean", _reduce_sample(), lambda a, **kw: a.mean(**kw), _np_reduce(np.mean))
_add("amax", _reduce_sample("distinct"), lambda a, **kw: a.amax(**kw), _np_reduce(np.max))
_add("amin", _reduce_sample("distinct"), lambda a, **kw: a.amin(**kw), _np_reduce(np.min))
_add("max", _reduce_sample("distinct"), lambda a, **kw: a.max(**kw), _np_reduce(np.max))
_add("min", _reduce_sample("distinct"), lambda a, **kw: a.min(**kw), _np_reduce(np.min))


def _np_logsumexp(a, dim=None, keepdim=False):
    axes = _np_axes(dim, a.ndim)
    m = np.max(a, axis=axes, keepdims=True)
    out = m + np.log(np.sum(np.exp(a - m), axis=axes, keepdims=True))
    return out if keepdim else np.squeeze(out, axis=axes)


_add("logsumexp", _reduce_sample(), lambda a, **kw: a.logsumexp(**kw), _np_logsumexp)


def _var_sample(d):
    shape = d.shape(min_dims=1)
    dim = d.dims(len(shape))
    axes = _np_axes(dim, len(shape))
    count = int(np.prod([shape[i] for i in (axes if axes is not None else range(len(shape)))]))
    correction = d.choice([0, 1]) if count > 1 else 0
    if count < 2:  # std of a single element has an infinite gradient
        shape, dim = shape + (2,), None
    return [d.values(shape)], {"dim": dim, "keepdim": d.boolean(), "correction": correction}


def _np_var(a, dim=None, keepdim=False, correction=1):
    return np.var(a, axis=_np_axes(dim, a.ndim), keepdims=keepdim, ddof=correction)


_add("var", _var_sample, lambda a, **kw: a.var(**kw), _np_var)
_add("std", _var_sample, lambda a, **kw: a.std(**kw), lambda a, **kw: np.sqrt(_np_var(a, **kw)))


def _softmax_sample(d):
    shape = d.shape()
    return [d.values(shape)], {"dim": d.integer(-len(shape), len(shape) - 1) if shape else 0}


def _np_softmax(a, dim):
    if a.ndim == 0:
        return np.ones_like(a)
    e = np.exp(a - a.max(axis=dim, keepdims=True))
    return e / e.sum(axis=dim, keepdims=True)


_add("softmax", _softmax_sample, lambda a, dim: a.softmax(dim), _np_softmax)
_add("log_softmax", _softmax_sample, lambda a, dim: a.log_softmax(dim),
     lambda a, dim: np.log(_np_softmax(a, dim)))


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


# Linear algebra
def _matmul_sample(d):
    k = d.integer(1, 4)
    batch_a, batch_b = d.broadcastable(2, max_dims=2)
    a_shape = (batch_a + (d.integer(1, 4), k)) if d.integer(0, 3) else (k,)
    b_shape = (batch_b + (k, d.integer(1, 4))) if d.integer(0, 3) else (k,)
    return [d.values(a_shape), d.values(b_shape)], {}


_add("matmul", _matmul_sample, lambda a, b: a @ b, np.matmul)


# ---------------------------------------------------------------------------------------------
# Layers (minigrad.nn.functional): parameters are explicit inputs, so each is checked too.

import math  # noqa: E402

from minigrad.nn import functional as F  # noqa: E402


def _linear_sample(d):
    n_in, n_out = d.integer(1, 4), d.integer(1, 4)
    lead = d.shape(max_dims=2)
    arrays = [d.values(lead + (n_in,)), d.values((n_out, n_in))]
    if d.boolean():
        arrays.append(d.values((n_out,)))
    return arrays, {}


_add("linear", _linear_sample, F.linear,
     lambda x, w, b=None: x @ w.T + (0 if b is None else b))


def _leaky_sample(d):
    return [d.values(d.shape(), avoid=(0.0,))], {"negative_slope": d.choice([0.01, 0.2])}


_add("leaky_relu", _leaky_sample, lambda x, negative_slope: F.leaky_relu(x, negative_slope),
     lambda x, negative_slope: np.where(x > 0, x, negative_slope * x))

_erf = np.vectorize(math.erf, otypes=[np.float64])
_add("gelu", _unary(), F.gelu, lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))))
_add("gelu_tanh", _unary(), lambda x: F.gelu(x, approximate="tanh"),
     lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))))


def _dropout_sample(d):
    return [d.values(d.shape())], {"p": d.choice([0.0, 0.3, 0.5])}


def _seeded_dropout(x, p):
    mg.manual_seed(0)  # the same mask on every call, so central differences see one function
    return F.dropout(x, p)


def _np_dropout(x, p):
    """The mask minigrad draws after manual_seed(0): uniform u, kept where u ≥ p."""
    u = np.random.Generator(np.random.PCG64(0)).random(x.shape, dtype=x.dtype)
    return x * (u >= p) / (1 - p) if p > 0 else x


_add("dropout", _dropout_sample, _seeded_dropout, _np_dropout)


def _batch_norm_sample(d):
    shape = (d.integer(2, 4), d.integer(1, 3)) + d.shape(max_dims=2, max_side=3)
    c = shape[1]
    return [d.values(shape), d.values((c,)), d.values((c,))], {}


def _np_normalize(x, axes, eps=1e-5):
    mean = x.mean(axis=axes, keepdims=True)
    return (x - mean) / np.sqrt(x.var(axis=axes, keepdims=True) + eps)


def _np_batch_norm(x, w, b):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    axes = (0,) + tuple(range(2, x.ndim))
    return _np_normalize(x, axes) * w.reshape(shape) + b.reshape(shape)


_add("batch_norm_train", _batch_norm_sample,
     lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), _np_batch_norm)


def _layer_norm_sample(d):
    shape = d.shape(min_dims=1, max_dims=3, max_side=3)
    k = d.integer(1, len(shape))
    normalized = shape[len(shape) - k:]
    if int(np.prod(normalized)) < 2:
        shape, normalized = shape + (3,), normalized + (3,)
    return [d.values(shape), d.values(normalized), d.values(normalized)], {"k": len(normalized)}


_add("layer_norm", _layer_norm_sample,
     lambda x, w, b, k: F.layer_norm(x, x.shape[x.ndim - k:], w, b),
     lambda x, w, b, k: _np_normalize(x, tuple(range(x.ndim - k, x.ndim))) * w + b)


def _embedding_sample(d):
    rows, dim = d.integer(1, 5), d.integer(1, 3)
    idx = np.array([d.integer(0, rows - 1) for _ in range(d.integer(1, 6))])  # repeats add up
    return [idx, d.values((rows, dim))], {}


_add("embedding", _embedding_sample, lambda idx, w: F.embedding(idx, w), lambda idx, w: w[idx])


def _pad_sample(d):
    shape = d.shape(min_dims=1, max_dims=3)
    widths = tuple(d.integer(0, 2) for _ in range(2 * d.integer(1, len(shape))))
    return [d.values(shape)], {"pad": widths}


def _np_pad(x, pad):
    widths = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return np.pad(x, widths)


_add("pad", _pad_sample, lambda x, pad: F.pad(x, pad), _np_pad)


# Convolution and pooling: small shapes, references by direct loops over output pixels.


def _np_windows(x, kernel, stride, padding, dilation, fill):
    """Each output pixel's window: (N, C, OH, OW, kh, kw) from x (N, C, H, W)."""
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel, stride, padding, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=fill)
    oh = (xp.shape[2] - dh * (kh - 1) - 1) // sh + 1
    ow = (xp.shape[3] - dw * (kw - 1) - 1) // sw + 1
    out = np.empty(x.shape[:2] + (oh, ow, kh, kw))
    for i in range(oh):
        for j in range(ow):
            out[:, :, i, j] = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh,
                                 j * sw:j * sw + dw * (kw - 1) + 1:dw]
    return out


def _conv_sample(d):
    n, c, o = d.integer(1, 2), d.integer(1, 2), d.integer(1, 3)
    kernel = (d.integer(1, 3), d.integer(1, 3))
    stride, padding, dilation = d.integer(1, 2), d.integer(0, 1), d.integer(1, 2)
    size = [d.integer(max(1, dilation * (k - 1) + 1 - 2 * padding), 5) for k in kernel]
    arrays = [d.values((n, c, *size)), d.values((o, c, *kernel))]
    if d.boolean():
        arrays.append(d.values((o,)))
    return arrays, {"stride": stride, "padding": padding, "dilation": dilation}


def _np_conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    win = _np_windows(x, w.shape[2:], (stride,) * 2, (padding,) * 2, (dilation,) * 2, 0.0)
    out = np.einsum("ncyxij,ocij->noyx", win, w)
    return out if b is None else out + b[:, None, None]


_add("conv2d", _conv_sample,
     lambda x, w, b=None, **kw: F.conv2d(x, w, b, **kw), _np_conv2d)


def _pool_sample(kind):
    def sample(d):
        k = d.integer(1, 3)
        stride, padding = d.integer(1, 2), d.integer(0, k // 2)
        shape = (d.integer(1, 2), d.integer(1, 2), d.integer(k, 5), d.integer(k, 5))
        return [d.values(shape, kind)], {"k": k, "stride": stride, "padding": padding}
    return sample


_add("max_pool2d", _pool_sample("distinct"),  # distinct values: no ties inside a window
     lambda x, k, stride, padding: F.max_pool2d(x, k, stride, padding),
     lambda x, k, stride, padding: _np_windows(x, (k, k), (stride,) * 2, (padding,) * 2,
                                               (1, 1), -np.inf).max(axis=(4, 5)))
_add("avg_pool2d", _pool_sample("normal"),
     lambda x, k, stride, padding: F.avg_pool2d(x, k, stride, padding),
     lambda x, k, stride, padding: _np_windows(x, (k, k), (stride,) * 2, (padding,) * 2,
                                               (1, 1), 0.0).mean(axis=(4, 5)))


# ---------------------------------------------------------------------------------------------
# Losses (minigrad.nn.functional), each with a drawn reduction.

_REDUCTIONS = ["mean", "sum", "none"]


def _np_reduce_loss(loss, reduction):
    return loss.mean() if reduction == "mean" else loss.sum() if reduction == "sum" else loss


def _pair_sample(offset_kind="normal", avoid=()):
    """input x and a target y = x - d, with d drawn away from the loss's kinks."""
    def sample(d):
        shape = d.shape()
        x = d.values(shape)
        return [x, x - d.values(shape, offset_kind, avoid)], {"reduction": d.choice(_REDUCTIONS)}
    return sample


_add("mse_loss", _pair_sample(), lambda x, y, reduction: F.mse_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss((x - y) ** 2, reduction))
_add("l1_loss", _pair_sample("nonzero"),
     lambda x, y, reduction: F.l1_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(np.abs(x - y), reduction))
_add("huber_loss", _pair_sample("normal", avoid=(-1.0, 1.0)),
     lambda x, y, reduction: F.huber_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(
         np.where(np.abs(x - y) < 1, 0.5 * (x - y) ** 2, np.abs(x - y) - 0.5), reduction))


def _class_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    target = np.array([d.integer(0, c - 1) for _ in range(n)])
    return [d.values((n, c)), target], {"reduction": d.choice(_REDUCTIONS),
                                        "label_smoothing": d.choice([0.0, 0.2])}


def _np_log_softmax(x, axis=-1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _np_cross_entropy(x, y, reduction, label_smoothing):
    logp = _np_log_softmax(x)
    c = x.shape[1]
    q = (1 - label_smoothing) * np.eye(c)[y] + label_smoothing / c  # smoothed one-hot target
    return _np_reduce_loss(-(q * logp).sum(axis=1), reduction)


_add("cross_entropy", _class_sample,
     lambda x, y, reduction, label_smoothing: F.cross_entropy(
         x, y, reduction=reduction, label_smoothing=label_smoothing), _np_cross_entropy)


def _probability_target_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    return [d.values((n, c)), _np_softmax(d.values((n, c)), 1)], {
        "reduction": d.choice(_REDUCTIONS)}


_add("cross_entropy_probs", _probability_target_sample,
     lambda x, q, reduction: F.cross_entropy(x, q, reduction=reduction),
     lambda x, q, reduction: _np_reduce_loss(-(q * _np_log_softmax(x)).sum(axis=1), reduction))


def _nll_sample(d):
    arrays, kw = _class_sample(d)
    return arrays, {"reduction": kw["reduction"]}


_add("nll_loss", _nll_sample, lambda x, y, reduction: F.nll_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(-x[np.arange(len(y)), y], reduction))


def _bce_sample(d):
    shape = d.shape()
    p = 0.05 + 0.9 / (1 + np.exp(-d.values(shape)))  # probabilities in (0.05, 0.95)
    return [p, 1 / (1 + np.exp(-d.values(shape)))], {"reduction": d.choice(_REDUCTIONS)}


_add("binary_cross_entropy", _bce_sample,
     lambda p, y, reduction: F.binary_cross_entropy(p, y, reduction=reduction),
     lambda p, y, reduction: _np_reduce_loss(-(y * np.log(p) + (1 - y) * np.log(1 - p)),
                                             reduction))


def _bce_logits_sample(d):
    shape = d.shape(min_dims=1)
    return [d.values(shape), 1 / (1 + np.exp(-d.values(shape))),
            d.values(shape[-1:], "positive")], {"reduction": d.choice(_REDUCTIONS)}


def _np_bce_logits(x, y, pos_weight, reduction):
    log_p, log_not_p = -np.logaddexp(0, -x), -np.logaddexp(0, x)  # log σ(x), log(1 - σ(x))
    return _np_reduce_loss(-(pos_weight * y * log_p + (1 - y) * log_not_p), reduction)


_add("binary_cross_entropy_with_logits", _bce_logits_sample,
     lambda x, y, w, reduction: F.binary_cross_entropy_with_logits(
         x, y, reduction=reduction, pos_weight=w), _np_bce_logits)


def _hinge_sample(d):
    shape = d.shape()
    y = np.where(d.values(shape) > 0, 1.0, -1.0)
    return [d.values(shape, avoid=(-1.0, 1.0)), y], {"reduction": d.choice(_REDUCTIONS)}


_add("hinge_loss", _hinge_sample, lambda x, y, reduction: F.hinge_loss(x, y, reduction=reduction),
     lambda x, y, reduction: _np_reduce_loss(np.maximum(0, 1 - y * x), reduction),
     grad_inputs=(0,))


def _margin_sample(d):
    n, c = d.integer(1, 4), d.integer(1, 4)
    target = np.array([d.integer(0, c - 1) for _ in range(n)])
    # grid scores: margin 1.1 minus a difference of grid values is never near the kink at 0
    return [d.values((n, c), "grid"), target], {"reduction": d.choice(_REDUCTIONS),
                                                "p": d.choice([1, 2])}


def _np_multi_margin(x, y, reduction, p):
    n, c = x.shape
    picked = x[np.arange(n), y][:, None]
    terms = np.maximum(0, 1.1 - picked + x) ** p
    terms[np.arange(n), y] = 0  # the target class itself is not a margin violation
    return _np_reduce_loss(terms.sum(axis=1) / c, reduction)


_add("multi_margin_loss", _margin_sample,
     lambda x, y, reduction, p: F.multi_margin_loss(x, y, p=p, margin=1.1, reduction=reduction),
     _np_multi_margin)


def _kl_sample(d):
    shape = d.shape(min_dims=1)
    log_target = d.boolean()
    target = d.values(shape) if log_target else d.values(shape, "positive")
    return [d.values(shape), target], {"reduction": d.choice(_REDUCTIONS + ["batchmean"]),
                                       "log_target": log_target}


def _np_kl(log_q, target, reduction, log_target):
    if log_target:
        pointwise = np.exp(target) * (target - log_q)
    else:
        pointwise = target * (np.log(target) - log_q)
    if reduction == "batchmean":
        return pointwise.sum() / log_q.shape[0]
    return _np_reduce_loss(pointwise, reduction)


_add("kl_div", _kl_sample,
     lambda x, t, reduction, log_target: F.kl_div(x, t, reduction=reduction,
                                                  log_target=log_target), _np_kl)


def by_name(name: str) -> OpSpec:
    for spec in OPS:
        if spec.name == name:
            return spec
    raise KeyError(name)
