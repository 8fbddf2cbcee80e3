"""2-D convolution and pooling over NCHW tensors, by im2col through stride tricks.

Every op here slides a window over the last two axes. With kernel (kh, kw), stride (sh, sw),
zero padding (ph, pw) and dilation (dh, dw), kernel tap (i, j) of output pixel (oh, ow) reads
element

    (oh·sh + i·dh,  ow·sw + j·dw)

of the padded input (H + 2ph) × (W + 2pw), and the output has

    OH = ⌊(H + 2ph − dh·(kh − 1) − 1) / sh⌋ + 1,   OW = ⌊(W + 2pw − dw·(kw − 1) − 1) / sw⌋ + 1.

:meth:`Window.view` is that whole sliding window as one strided view of the padded input,
shape (N, C, kh, kw, OH, OW), no copy. Forward passes copy it once into a contiguous column
matrix (im2col) and do one matmul (convolution) or one reduction (pooling). Backward passes
go the other way (col2im): ``kh·kw`` strided adds, tap (i, j) adding its whole (N, C, OH, OW)
slab into the same view of a zero gradient; no Python loop over batch items or pixels, no
``add.at``.

The big temporaries (column matrices, window stacks) come from a small cache of reused
arrays (:func:`minigrad.backend.pooled_empty`): a fresh multi-megabyte array costs page
faults on every step.

Each backward is itself a linear op written as a Function whose own backward is the original
op again, so gradients of gradients work:

    Conv2d ─ dx → Conv2dInputGrad (a transposed convolution) ─ its d(g) → Conv2d
           └ dW → Conv2dWeightGrad (a correlation of x with g) ─ its d(g) → Conv2d
    MaxPool2d → MaxPool2dScatter ⇄ MaxPool2dGather       AvgPool2d ⇄ AvgPool2dBackward

The functions users call (``conv2d``, ``max_pool2d``, ``avg_pool2d``) are at the bottom; they
take PyTorch's arguments (an int or a pair for each size) and check them.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, _autocast_mode  # under amp.autocast Conv2d casts its inputs
from ..backend import array_module, pooled_empty
from ..tensor import Tensor

__all__ = ["Window", "Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad", "MaxPool2d",
           "MaxPool2dScatter", "MaxPool2dGather", "AvgPool2d", "AvgPool2dBackward", "conv2d",
           "max_pool2d", "avg_pool2d"]


class Window:
    """The sliding window of one op: kernel, stride, padding and dilation, each a pair (h, w),
    and where its windows lie in memory."""

    __slots__ = ("kernel", "stride", "padding", "dilation")

    def __init__(self, kernel, stride, padding, dilation=(1, 1)):
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.dilation = dilation

    def output_size(self, height: int, width: int) -> tuple:
        """(OH, OW) = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1 along each axis."""
        return tuple((n + 2 * p - d * (k - 1) - 1) // s + 1 for n, k, s, p, d in zip(
            (height, width), self.kernel, self.stride, self.padding, self.dilation))

    def pad(self, x, value: float = 0.0):
        """x (N, C, H, W) in a scratch buffer (N, C, H + 2ph, W + 2pw) with ``value`` around
        it (x itself when there is no padding)."""
        ph, pw = self.padding
        if ph == pw == 0:
            return x
        n, c, h, w = x.shape
        padded = pooled_empty((n, c, h + 2 * ph, w + 2 * pw), x.dtype, array_module(x))
        padded.fill(value)
        padded[:, :, ph:ph + h, pw:pw + w] = x
        return padded

    def crop(self, padded):
        """The inverse of :meth:`pad`: the unpadded interior, as a view."""
        ph, pw = self.padding
        if ph == pw == 0:
            return padded
        return padded[:, :, ph:padded.shape[2] - ph, pw:padded.shape[3] - pw]

    def view(self, padded, out_size):
        """view[n, c, i, j, oh, ow] = padded[n, c, oh·sh + i·dh, ow·sw + j·dw], shape
        (N, C, kh, kw, OH, OW): every window, sharing the padded input's memory (no copy).

        Windows overlap, so elements repeat: read it, or write it one tap (i, j) at a time
        (the elements of one tap's slab are distinct).
        """
        xp = array_module(padded)
        sn, sc, sy, sx = padded.strides  # bytes per step along N, C, H, W
        (kh, kw), (sh, sw), (dh, dw) = self.kernel, self.stride, self.dilation
        shape = padded.shape[:2] + (kh, kw) + tuple(out_size)
        strides = (sn, sc, dh * sy, dw * sx, sh * sy, sw * sx)
        return xp.lib.stride_tricks.as_strided(padded, shape, strides)

    def taps(self):
        """Every kernel tap (i, j), row by row."""
        kh, kw = self.kernel
        return [(i, j) for i in range(kh) for j in range(kw)]

    def __repr__(self):
        return (f"Window(kernel={self.kernel}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation})")


def im2col(x, window: Window, out_size):
    """cols[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]: the windowed
    view copied once into a scratch array (N, C·kh·kw, OH·OW), contiguous: the layout the
    batched matmul W (O, C·kh·kw) @ cols wants, giving (N, O, OH·OW) with no transpose."""
    xp = array_module(x)
    (n, c), (kh, kw), (out_h, out_w) = x.shape[:2], window.kernel, out_size
    padded = window.pad(x, 0.0)
    cols = pooled_empty((n, c * kh * kw, out_h * out_w), x.dtype, xp)
    xp.copyto(cols.reshape((n, c, kh, kw, out_h, out_w)), window.view(padded, out_size))
    return cols


def col2im(cols, window: Window, in_size, batch_last: bool = False):
    """The adjoint of im2col: dx_pad[n, c, oh·sh + i·dh, ow·sw + j·dw] += cols[n, c, i, j,
    oh, ow] for every tap (i, j), then the padding cut off. ``cols`` is (N, C, kh, kw, OH, OW)
    (any strides); one strided add of a whole (N, C, OH, OW) slab per tap.

    ``batch_last``: keep dx_pad in memory as (C, H, W, N), for ``cols`` stored batch-last
    too. A tap's slab is then C·OH runs of OW·N contiguous elements instead of N·C·OH runs of
    OW, and NumPy's cost per run is what dominates when OW is small. The result is copied
    back to a contiguous (N, C, H, W) array.
    """
    xp = array_module(cols)
    (n, c), (ph, pw), (h, w) = cols.shape[:2], window.padding, in_size
    if batch_last:  # a temporary: the result is copied out of it
        buffer = pooled_empty((c, h + 2 * ph, w + 2 * pw, n), cols.dtype, xp)
        buffer.fill(0)
        padded = buffer.transpose(3, 0, 1, 2)
    else:
        padded = pooled_empty((n, c, h + 2 * ph, w + 2 * pw), cols.dtype, xp)
        padded.fill(0)
    windows = window.view(padded, cols.shape[4:])
    # Windows that do not overlap (stride ≥ dilated kernel size, as in 2×2/2 pooling) reach
    # each element at most once: writing the slab then equals adding it, at half the cost.
    disjoint = all(s >= d * (k - 1) + 1 for k, s, d in zip(window.kernel, window.stride,
                                                           window.dilation))
    for i, j in window.taps():
        slab = windows[:, :, i, j]
        if disjoint:
            slab[...] = cols[:, :, i, j]
        else:
            xp.add(slab, cols[:, :, i, j], out=slab)
    if batch_last:
        dx = xp.empty((n, c, h, w), dtype=cols.dtype)  # always a copy: the buffer is reused
        xp.copyto(dx, window.crop(padded))
        return dx
    return window.crop(padded)


def stacked_windows(x, window: Window, out_size, value: float):
    """The windowed view of x padded with ``value``, copied tap-major into a scratch array
    (kh·kw, N, C, OH, OW). Entry k = i·kw + j holds tap (i, j) of every window, so a
    reduction over each window is an elementwise op between kh·kw contiguous slabs."""
    xp = array_module(x)
    (n, c), (kh, kw) = x.shape[:2], window.kernel
    padded = window.pad(x, value)
    stacked = pooled_empty((kh * kw, n, c) + tuple(out_size), x.dtype, xp)
    xp.copyto(stacked.reshape((kh, kw, n, c) + tuple(out_size)),
              window.view(padded, out_size).transpose(2, 3, 0, 1, 4, 5))
    return stacked


def _tap_major_as_cols(stacked, window: Window):
    """A (kh·kw, N, C, OH, OW) array seen as (N, C, kh, kw, OH, OW), as col2im takes it."""
    return stacked.reshape(window.kernel + stacked.shape[1:]).transpose(2, 3, 0, 1, 4, 5)


# ---------------------------------------------------------------------------------------------
# Convolution


class Conv2d(Function):
    """out[n, o, oh, ow] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

    x (N, C, H, W), W (O, C, kh, kw), b (O,), out (N, O, OH, OW) with
    OH = ⌊(H + 2ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW). As matrices, per batch item:
    out_n = W₂ cols_n + b, with W₂ = W reshaped (O, C·kh·kw) and cols = im2col(x).

    dx = Conv2dInputGrad(g, W) (col2im of W₂ᵀ g_n),  dW = Conv2dWeightGrad(x, g)
    (Σ_n g_n cols_nᵀ),  db[o] = Σ_{n, oh, ow} g[n, o, oh, ow]
    """

    def forward(self, x, weight, bias=None, *, window):
        out_size = window.output_size(*x.shape[2:])
        cols = im2col(x, window, out_size)  # (N, C·kh·kw, OH·OW)
        self.window = window
        self.cols = cols  # the weight gradient is g · colsᵀ: keep them
        n, o = x.shape[0], weight.shape[0]
        xp = array_module(x)
        out = pooled_empty((n, o, cols.shape[2]), cols.dtype, xp)
        xp.matmul(weight.reshape(o, -1), cols, out=out)  # (O, CK) @ (N, CK, L), one matmul
        if bias is not None:
            out += bias[:, None]  # a fresh array: add in place
        return out.reshape((n, o) + out_size)

    def backward(self, g):
        x, weight = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        window = self.window
        dx = Conv2dInputGrad.apply(g, weight, in_size=x.data.shape[2:], window=window) \
            if need[0] else None
        dw = Conv2dWeightGrad.apply(x, g, window=window, cols=self.cols) if need[1] else None
        if len(need) == 2:
            return dx, dw
        return dx, dw, (g.sum(dim=(0, 2, 3)) if need[2] else None)


class Conv2dInputGrad(Function):
    """The gradient of a convolution with respect to its input (a transposed convolution):

    dx[n, c, y, x] = Σ_{o, i, j, oh, ow : oh·sh + i·dh = y + ph, ow·sw + j·dw = x + pw}
                     W[o, c, i, j] · g[n, o, oh, ow]

    computed as dcols = W₂ᵀ g (one matmul over all N·OH·OW output pixels, W₂ = W as
    (O, C·kh·kw)), then col2im. Both work batch-last (g as (O, OH, OW, N)), which makes
    col2im's strided adds walk long runs (see :func:`col2im`).
    Bilinear in (g, W):  d(g) = Conv2d(dd, W),  d(W) = Conv2dWeightGrad(dd, g).
    """

    def forward(self, g, weight, *, in_size, window):
        xp = array_module(g)
        self.window = window
        (n, o, out_h, out_w), (c, kh, kw) = g.shape, weight.shape[1:]
        g_t = pooled_empty((o, out_h, out_w, n), g.dtype, xp)  # batch last
        xp.copyto(g_t, g.transpose(1, 2, 3, 0))
        dcols = xp.matmul(weight.reshape(o, -1).T, g_t.reshape(o, -1),  # (CK, O) @ (O, L·N)
                          out=pooled_empty((c * kh * kw, out_h * out_w * n), g.dtype, xp))
        cols = dcols.reshape(c, kh, kw, out_h, out_w, n).transpose(5, 0, 1, 2, 3, 4)
        dx = col2im(cols, window, in_size, batch_last=True)
        return dx

    def backward(self, dd):
        g, weight = self.inputs
        need = self.needs_input_grad
        dg = Conv2d.apply(dd, weight, window=self.window) if need[0] else None
        dw = Conv2dWeightGrad.apply(dd, g, window=self.window) if need[1] else None
        return dg, dw


class Conv2dWeightGrad(Function):
    """The gradient of a convolution with respect to its weight (a correlation of x with g):

    dW[o, c, i, j] = Σ_{n, oh, ow} g[n, o, oh, ow] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

    computed as dWᵀ = Σ_n cols_n g_nᵀ (one batched matmul of (C·kh·kw, L) by (L, O), summed
    over n). ``cols``, Conv2d's saved im2col(x), is passed in by Conv2d's backward.
    Bilinear in (x, g):  d(x) = Conv2dInputGrad(g, dd),  d(g) = Conv2d(x, dd).
    """

    def forward(self, x, g, *, window, cols=None):
        xp = array_module(x)
        self.window = window
        (n, o), (c, kh, kw) = g.shape[:2], (x.shape[1],) + window.kernel
        columns = im2col(x, window, g.shape[2:]) if cols is None else cols
        g_rows = g.reshape(n, o, -1)  # (N, O, L)
        each = xp.matmul(columns, g_rows.transpose(0, 2, 1),  # (CK, L) @ (L, O) per item
                         out=pooled_empty((n, c * kh * kw, o), g.dtype, xp))
        dw = each.sum(axis=0).T.reshape(o, c, kh, kw)  # Σ over the batch, then (O, CK)
        return dw

    def backward(self, dd):
        x, g = self.inputs
        need = self.needs_input_grad
        dx = Conv2dInputGrad.apply(g, dd, in_size=x.data.shape[2:], window=self.window) \
            if need[0] else None
        dg = Conv2d.apply(x, dd, window=self.window) if need[1] else None
        return dx, dg


# ---------------------------------------------------------------------------------------------
# Pooling


class MaxPool2d(Function):
    """out[n, c, oh, ow] = max_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j]   (padding is −∞)

    OH = ⌊(H + 2ph − kh) / sh⌋ + 1 (likewise OW).
    dx = MaxPool2dScatter(g): each window's gradient goes to the element that attained its
    maximum; on ties to the first one in row-major window order, as PyTorch does (a window
    holding NaN has NaN for its maximum, and routes its gradient to its first NaN).
    """

    def forward(self, x, *, window):
        xp = array_module(x)
        stacked = stacked_windows(x, window, window.output_size(*x.shape[2:]), -np.inf)
        out = stacked.max(axis=0)  # (N, C, OH, OW); NaN propagates, as in PyTorch
        # mask[k] marks windows whose tap k holds the maximum (or a NaN); keep the first only.
        mask = xp.equal(stacked, out, out=pooled_empty(stacked.shape, np.dtype(bool), xp))
        if xp.isnan(out).any():  # a NaN never equals the maximum (NaN): mark the NaNs too
            mask |= stacked != stacked
        taken = mask[0].copy()
        for k in range(1, mask.shape[0]):
            mask[k] &= ~taken
            taken |= mask[k]
        self.mask = mask
        self.window = window
        return out

    def backward(self, g):
        return MaxPool2dScatter.apply(g, mask=self.mask, window=self.window,
                                      in_size=self.inputs[0].data.shape[2:])


class MaxPool2dScatter(Function):
    """dx = g routed back through max pooling: dx_pad[n, c, oh·sh + i, ow·sw + j] +=
    mask[i·kw + j, n, c, oh, ow] · g[n, c, oh, ow], where ``mask`` (an array
    (kh·kw, N, C, OH, OW)) marks each window's chosen element.
    Linear in g;  d(g) = MaxPool2dGather(dd)."""

    def forward(self, g, *, mask, window, in_size):
        xp = array_module(g)
        self.mask = mask
        self.window = window
        # (K, N, C, OH, OW): g at each window's maximum, 0 at its other taps
        routed = xp.multiply(mask, g, out=pooled_empty(mask.shape, g.dtype, xp))
        dx = col2im(_tap_major_as_cols(routed, window), window, in_size)
        return dx

    def backward(self, dd):
        return MaxPool2dGather.apply(dd, mask=self.mask, window=self.window)


class MaxPool2dGather(Function):
    """out[n, c, oh, ow] = Σ_k mask[k, n, c, oh, ow] · windows(x_pad)[k, n, c, oh, ow]: each
    window's marked element (the adjoint of MaxPool2dScatter; on the pooled input itself it
    gives the max pool). Linear in x;  dx = MaxPool2dScatter(g)."""

    def forward(self, x, *, mask, window):
        self.mask = mask
        self.window = window
        stacked = stacked_windows(x, window, mask.shape[3:], 0.0)
        stacked *= mask
        out = stacked.sum(axis=0)
        return out

    def backward(self, g):
        return MaxPool2dScatter.apply(g, mask=self.mask, window=self.window,
                                      in_size=self.inputs[0].data.shape[2:])


class AvgPool2d(Function):
    """out[n, c, oh, ow] = Σ_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j] / divisor   (padding is 0)

    divisor = kh·kw, or with ``count_include_pad=False`` the number of elements of the window
    that lie inside the unpadded input. OH = ⌊(H + 2ph − kh) / sh⌋ + 1 (likewise OW).
    Linear in x;  dx = AvgPool2dBackward(g).
    """

    def forward(self, x, *, window, count_include_pad=True):
        self.window = window
        self.count_include_pad = count_include_pad
        in_size = x.shape[2:]
        stacked = stacked_windows(x, window, window.output_size(*in_size), 0.0)
        out = stacked.sum(axis=0)  # (N, C, OH, OW)
        out /= _divisor(x.dtype, window, in_size, count_include_pad, array_module(x))
        return out

    def backward(self, g):
        return AvgPool2dBackward.apply(g, in_size=self.inputs[0].data.shape[2:],
                                       window=self.window,
                                       count_include_pad=self.count_include_pad)


class AvgPool2dBackward(Function):
    """dx_pad[n, c, oh·sh + i, ow·sw + j] += g[n, c, oh, ow] / divisor for every tap (i, j):
    each window spreads its gradient evenly. Linear in g, the adjoint of average pooling;
    d(g) = AvgPool2d(dd)."""

    def forward(self, g, *, in_size, window, count_include_pad=True):
        xp = array_module(g)
        self.window = window
        self.count_include_pad = count_include_pad
        share = g / _divisor(g.dtype, window, in_size, count_include_pad, xp)
        # The same slab for every tap: a broadcast view, no copy.
        cols = xp.broadcast_to(share[:, :, None, None], share.shape[:2] + window.kernel
                               + share.shape[2:])
        return col2im(cols, window, in_size)

    def backward(self, dd):
        return AvgPool2d.apply(dd, window=self.window, count_include_pad=self.count_include_pad)


def _divisor(dtype, window: Window, in_size, count_include_pad: bool, xp):
    """kh·kw, or (count_include_pad=False) the (OH, OW) count of each window's elements that
    lie inside the unpadded input, found by sum-pooling a plane of ones padded with zeros."""
    kh, kw = window.kernel
    if count_include_pad or window.padding == (0, 0):
        return dtype.type(kh * kw)  # a NumPy scalar of the data's dtype: float32 stays float32
    ones = xp.ones((1, 1) + tuple(in_size), dtype=dtype)
    stacked = stacked_windows(ones, window, window.output_size(*in_size), 0.0)
    counts = stacked.sum(axis=0)  # (1, 1, OH, OW)
    return counts


# ---------------------------------------------------------------------------------------------
# The functions users call: argument conventions and checks


def _pair(value, name: str, op: str, minimum: int) -> tuple:
    """An int or a pair of ints as a pair, each at least ``minimum``."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        pair = (int(value), int(value))
    elif (isinstance(value, (tuple, list)) and len(value) == 2
          and all(isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))
                  for v in value)):
        pair = (int(value[0]), int(value[1]))
    else:
        raise TypeError(f"{op}: {name} must be an int or a pair of ints, got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return pair


def _check_input(input, op: str):
    """A float tensor of shape (N, C, H, W) or (C, H, W); returns (4-d input, was 3-d)."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: expected a Tensor input, got {type(input).__name__}")
    if input.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point input, got {input.dtype} "
                        f"(shape {tuple(input.shape)})")
    if input.ndim not in (3, 4):
        raise ValueError(f"{op}: expected an input of shape (N, C, H, W) or (C, H, W), got "
                         f"shape {tuple(input.shape)} ({input.ndim} dims)")
    if input.ndim == 3:
        return input.unsqueeze(0), True
    return input, False


def _check_fits(input, window: Window, op: str):
    """The padded input must hold at least one (dilated) window."""
    h, w = input.shape[2:]
    (ph, pw), (kh, kw), (dh, dw) = window.padding, window.kernel, window.dilation
    span = (dh * (kh - 1) + 1, dw * (kw - 1) + 1)
    if h + 2 * ph < span[0] or w + 2 * pw < span[1]:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} padded to "
                         f"({h + 2 * ph}, {w + 2 * pw}) is smaller than the "
                         f"{'dilated ' if window.dilation != (1, 1) else ''}kernel {span}")


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1) -> Tensor:
    """2-D convolution (cross-correlation, as in PyTorch) of ``input`` (N, C, H, W) or (C, H, W)
    with ``weight`` (O, C, kh, kw), plus ``bias`` (O,):

        out[n, o, oh, ow] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

    ``stride``, ``padding`` (zeros) and ``dilation`` are an int or a pair (h, w). The output is
    (N, O, OH, OW) with OH = ⌊(H + 2ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW).
    """
    op = "conv2d"
    x, unbatched = _check_input(input, op)
    if not isinstance(weight, Tensor) or weight.ndim != 4:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ValueError(f"{op}: weight must be a Tensor of shape (out_channels, in_channels, "
                         f"kh, kw), got {shape}")
    if weight.shape[1] != x.shape[1]:
        raise ValueError(f"{op}: input of shape {tuple(input.shape)} has {x.shape[1]} channels "
                         f"but weight of shape {tuple(weight.shape)} expects {weight.shape[1]}")
    if bias is not None and (not isinstance(bias, Tensor)
                             or tuple(bias.shape) != (weight.shape[0],)):
        shape = tuple(bias.shape) if isinstance(bias, Tensor) else type(bias).__name__
        raise ValueError(f"{op}: bias must be a Tensor of shape ({weight.shape[0]},) for weight "
                         f"of shape {tuple(weight.shape)}, got {shape}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype != input.dtype and _autocast_mode.get() is None:
            raise TypeError(f"{op}: input is {input.dtype} but {name} is {t.dtype}; convert "
                            f"one of them (e.g. model.double() or x.float())")
    window = Window(tuple(weight.shape[2:]), _pair(stride, "stride", op, 1),
                    _pair(padding, "padding", op, 0), _pair(dilation, "dilation", op, 1))
    if min(window.kernel) < 1:
        raise ValueError(f"{op}: weight of shape {tuple(weight.shape)} has an empty kernel")
    _check_fits(x, window, op)
    if bias is None:
        out = Conv2d.apply(x, weight, window=window)
    else:
        out = Conv2d.apply(x, weight, bias, window=window)
    return out.squeeze(0) if unbatched else out


def _pool_window(input, kernel_size, stride, padding, op: str):
    """Check a pooling call's arguments; returns (4-d input, was 3-d, Window)."""
    x, unbatched = _check_input(input, op)
    kernel = _pair(kernel_size, "kernel_size", op, 1)
    stride = kernel if stride is None else _pair(stride, "stride", op, 1)
    padding = _pair(padding, "padding", op, 0)
    if padding[0] > kernel[0] // 2 or padding[1] > kernel[1] // 2:
        raise ValueError(f"{op}: padding {padding} must be at most half of kernel_size "
                         f"{kernel} (so every window holds an input element)")
    window = Window(kernel, stride, padding)
    _check_fits(x, window, op)
    return x, unbatched, window


def max_pool2d(input, kernel_size, stride=None, padding=0) -> Tensor:
    """Max pooling of ``input`` (N, C, H, W) or (C, H, W) over kh × kw windows:

        out[n, c, oh, ow] = max_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j]   (padding is −∞)

    ``stride`` defaults to ``kernel_size``; each is an int or a pair, ``padding`` at most half
    the kernel. OH = ⌊(H + 2ph − kh) / sh⌋ + 1 (likewise OW). The gradient of each window goes
    to its maximum (the first one, on ties).
    """
    x, unbatched, window = _pool_window(input, kernel_size, stride, padding, "max_pool2d")
    out = MaxPool2d.apply(x, window=window)
    return out.squeeze(0) if unbatched else out


def avg_pool2d(input, kernel_size, stride=None, padding=0, count_include_pad=True) -> Tensor:
    """Average pooling of ``input`` (N, C, H, W) or (C, H, W) over kh × kw windows:

        out[n, c, oh, ow] = Σ_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j] / divisor   (padding is 0)

    divisor = kh·kw, or with ``count_include_pad=False`` the number of the window's elements
    inside the unpadded input. ``stride`` defaults to ``kernel_size``; ``padding`` at most half
    the kernel. OH = ⌊(H + 2ph − kh) / sh⌋ + 1 (likewise OW).
    """
    x, unbatched, window = _pool_window(input, kernel_size, stride, padding, "avg_pool2d")
    out = AvgPool2d.apply(x, window=window, count_include_pad=bool(count_include_pad))
    return out.squeeze(0) if unbatched else out
