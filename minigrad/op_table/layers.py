"""Layers (minigrad.nn.functional): parameters are explicit inputs, so each is checked too."""

from __future__ import annotations

import math

import numpy as np

import minigrad as mg
from minigrad.nn import functional as F

from ._core import _add, _unary


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
