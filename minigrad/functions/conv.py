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

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["Window", "Conv2d", "Conv2dInputGrad", "Conv2dWeightGrad", "MaxPool2d",
           "MaxPool2dScatter", "MaxPool2dGather", "AvgPool2d", "AvgPool2dBackward", "conv2d",
           "max_pool2d", "avg_pool2d"]


class Window:
    """The sliding window of one op: kernel, stride, padding and dilation, each a pair (h, w)."""

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

    def layout(self, height: int, width: int) -> "Layout":
        """Where the windows of an (H, W) input lie in memory: see :class:`Layout`."""
        return Layout(self, height, width)

    def __repr__(self):
        return (f"Window(kernel={self.kernel}, stride={self.stride}, padding={self.padding}, "
                f"dilation={self.dilation})")


class Layout:
    """The memory layout of one input's windows (``Window.layout(H, W)``).

    The padded input lives in a buffer of ``rows`` × ``pitch`` elements per (n, c) plane, the
    (H + 2ph) × (W + 2pw) padded image in its top-left corner, and each output row is computed
    ``width`` ≥ OW columns wide. Tap (i, j) of output (oh, ow) reads buffer element
    (oh·sh + i·dh, ow·sw + j·dw), as in the formula above.

    Row merging, for speed: NumPy pays a fixed cost for every contiguous run of memory an op
    walks, and a tap's slab is OH runs of OW elements (OW = 10 in LeNet's second layer). When
    the vertical stride is 1, output row oh + 1 of a tap starts one buffer row after row oh;
    computing every output row ``width = pitch / sw`` columns wide makes the last column of
    one row sit right before the first column of the next, so NumPy walks the whole slab as ONE
    run of OH·width elements. The extra columns read wrapped-around elements: their outputs are
    dropped (:meth:`narrow`) and their gradients are zero (:meth:`widen`), so they change
    nothing. (With a vertical stride > 1 rows cannot merge: width = OW, pitch = padded W.)
    """

    __slots__ = ("window", "in_size", "out_size", "pitch", "width", "rows")

    def __init__(self, window: Window, height: int, width: int):
        (ph, pw), (sh, sw) = window.padding, window.stride
        (kh, kw), (dh, dw) = window.kernel, window.dilation
        padded_h, padded_w = height + 2 * ph, width + 2 * pw
        out_h, out_w = window.output_size(height, width)
        if sh == 1:  # rows merge: width · sw = pitch ≥ padded W
            cols = -(-padded_w // sw)
            pitch = cols * sw
        else:
            cols, pitch = out_w, padded_w
        # The last element any tap reads (the buffer must hold it: as_strided does not check).
        last = (kh - 1) * dh * pitch + (kw - 1) * dw + (out_h - 1) * sh * pitch + (cols - 1) * sw
        self.window = window
        self.in_size = (height, width)
        self.out_size = (out_h, out_w)
        self.pitch = pitch
        self.width = cols
        self.rows = max(padded_h, last // pitch + 1)

    def pad(self, x, value: float = 0.0):
        """x (N, C, H, W) in a buffer (N, C, rows, pitch) filled with ``value`` around it
        (x itself when the layout adds nothing to it)."""
        (ph, pw), (h, w) = self.window.padding, self.in_size
        if (self.rows, self.pitch) == (h, w) and ph == pw == 0:
            return x
        xp = array_module(x)
        buffer = xp.full(x.shape[:2] + (self.rows, self.pitch), value, dtype=x.dtype)
        buffer[:, :, ph:ph + h, pw:pw + w] = x
        return buffer

    def zeros(self, batch: int, channels: int, dtype, xp):
        """A zero buffer (N, C, rows, pitch), for gradients to be added into."""
        return xp.zeros((batch, channels, self.rows, self.pitch), dtype=dtype)

    def crop(self, buffer):
        """The inverse of :meth:`pad`: the (H, W) input inside a buffer, as a view."""
        (ph, pw), (h, w) = self.window.padding, self.in_size
        if buffer.shape[2:] == (h, w):
            return buffer
        return buffer[:, :, ph:ph + h, pw:pw + w]

    def view(self, buffer):
        """view[n, c, i, j, oh, ow] = buffer[n, c, oh·sh + i·dh, ow·sw + j·dw], shape
        (N, C, kh, kw, OH, width): every window, sharing the buffer's memory (no copy).

        Windows overlap, so elements repeat: read it, or write it one tap (i, j) at a time
        (the elements of one tap's slab are distinct).
        """
        xp = array_module(buffer)
        sn, sc, sy, sx = buffer.strides  # bytes per step along N, C, rows, columns
        (kh, kw), (sh, sw), (dh, dw) = self.window.kernel, self.window.stride, self.window.dilation
        shape = buffer.shape[:2] + (kh, kw, self.out_size[0], self.width)
        strides = (sn, sc, dh * sy, dw * sx, sh * sy, sw * sx)
        return xp.lib.stride_tricks.as_strided(buffer, shape, strides)

    def widen(self, g):
        """An output-shaped g (N, C, OH, OW) as (N, C, OH, width), zero in the extra columns."""
        out_w = self.out_size[1]
        if self.width == out_w:
            return g
        xp = array_module(g)
        wide = xp.zeros(g.shape[:3] + (self.width,), dtype=g.dtype)
        wide[..., :out_w] = g
        return wide

    def narrow(self, out, bias=None):
        """(N, C, OH, width) -> (N, C, OH, OW), contiguous, with ``bias`` (C,) added if given
        (one pass does both)."""
        if self.width == self.out_size[1]:
            if bias is not None:
                out += bias[:, None, None]  # a fresh matmul result: in place
            return out
        if bias is not None:
            return out[..., :self.out_size[1]] + bias[:, None, None]
        return array_module(out).ascontiguousarray(out[..., :self.out_size[1]])

    def taps(self):
        """Every kernel tap (i, j), row by row."""
        kh, kw = self.window.kernel
        return [(i, j) for i in range(kh) for j in range(kw)]


def im2col(x, layout: Layout):
    """cols[n, (c, i, j), (oh, ow)] = x_padded[n, c, oh·sh + i·dh, ow·sw + j·dw]: the windowed
    view copied once, shape (N, C·kh·kw, OH·width), contiguous: the layout the batched matmul
    W (O, C·kh·kw) @ cols wants, giving (N, O, OH·width) with no transpose."""
    xp = array_module(x)
    n, c = x.shape[:2]
    kh, kw = layout.window.kernel
    cols = xp.ascontiguousarray(layout.view(layout.pad(x, 0.0)))
    return cols.reshape(n, c * kh * kw, layout.out_size[0] * layout.width)


def col2im(cols, layout: Layout):
    """The adjoint of im2col: dx_padded[n, c, oh·sh + i·dh, ow·sw + j·dw] += cols[n, c, i, j,
    oh, ow] for every tap (i, j), then the padding cut off. ``cols`` is (N, C, kh, kw, OH,
    width), any strides, zero in the extra columns; one strided add of a whole (N, C, OH,
    width) slab per tap."""
    xp = array_module(cols)
    padded = layout.zeros(cols.shape[0], cols.shape[1], cols.dtype, xp)
    windows = layout.view(padded)
    for i, j in layout.taps():
        slab = windows[:, :, i, j]
        xp.add(slab, cols[:, :, i, j], out=slab)
    return layout.crop(padded)


def stacked_windows(x, layout: Layout, value: float):
    """The windowed view of x padded with ``value``, copied tap-major: shape (kh·kw, N, C, OH,
    width), contiguous. Entry k = i·kw + j holds tap (i, j) of every window, so a reduction
    over each window is an elementwise op between kh·kw contiguous slabs."""
    xp = array_module(x)
    kh, kw = layout.window.kernel
    taps = layout.view(layout.pad(x, value)).transpose(2, 3, 0, 1, 4, 5)
    return xp.ascontiguousarray(taps).reshape(
        (kh * kw,) + x.shape[:2] + (layout.out_size[0], layout.width))


def _tap_major_as_cols(stacked, layout: Layout):
    """A (kh·kw, N, C, OH, width) array seen as (N, C, kh, kw, OH, width), as col2im takes it."""
    kh, kw = layout.window.kernel
    return stacked.reshape((kh, kw) + stacked.shape[1:]).transpose(2, 3, 0, 1, 4, 5)


# ---------------------------------------------------------------------------------------------
# Convolution


class Conv2d(Function):
    """out[n, o, oh, ow] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

    x (N, C, H, W), W (O, C, kh, kw), b (O,), out (N, O, OH, OW) with
    OH = ⌊(H + 2ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW). As matrices, per batch item:
    out_n = W₂ cols_n + b, with W₂ = W reshaped (O, C·kh·kw) and cols = im2col(x).

    dx = Conv2dInputGrad(g, W) (col2im of W₂ᵀ g_n),  dW = Conv2dWeightGrad(x, g)
    (Σ_n g_n cols_nᵀ),  db[o] = Σ_{n, oh, ow} g[n, o, oh, ow]
    """

    def forward(self, x, weight, bias=None, *, window):
        layout = window.layout(*x.shape[2:])
        cols = im2col(x, layout)  # (N, C·kh·kw, OH·width)
        self.layout = layout
        self.cols = cols  # the weight gradient is g · colsᵀ: keep them, don't recompute
        out = weight.reshape(weight.shape[0], -1) @ cols  # (O, CK) @ (N, CK, L) -> (N, O, L)
        return layout.narrow(out.reshape(out.shape[:2] + (layout.out_size[0], layout.width)),
                             bias)

    def backward(self, g):
        x, weight = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        window = self.layout.window
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

    computed as dcols_n = W₂ᵀ g_n (one batched matmul, W₂ = W as (O, C·kh·kw)), then col2im.
    Bilinear in (g, W):  d(g) = Conv2d(dd, W),  d(W) = Conv2dWeightGrad(dd, g).
    """

    def forward(self, g, weight, *, in_size, window):
        layout = window.layout(*in_size)
        self.window = window
        n, out_channels = g.shape[:2]
        c, kh, kw = weight.shape[1:]
        g_rows = layout.widen(g).reshape(n, out_channels, -1)  # (N, O, OH·width)
        dcols = weight.reshape(out_channels, -1).T @ g_rows  # (CK, O) @ (N, O, L) -> (N, CK, L)
        return col2im(dcols.reshape((n, c, kh, kw, layout.out_size[0], layout.width)), layout)

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
    over n). ``cols`` may be passed in when the forward pass already built im2col(x).
    Bilinear in (x, g):  d(x) = Conv2dInputGrad(g, dd),  d(g) = Conv2d(x, dd).
    """

    def forward(self, x, g, *, window, cols=None):
        layout = window.layout(*x.shape[2:])
        self.window = window
        n, out_channels = g.shape[:2]
        c = x.shape[1]
        kh, kw = window.kernel
        if cols is None:
            cols = im2col(x, layout)
        g_rows = layout.widen(g).reshape(n, out_channels, -1)  # (N, O, L)
        dw_t = (cols @ g_rows.transpose(0, 2, 1)).sum(axis=0)  # Σ_n (CK, L) @ (L, O)
        return dw_t.T.reshape(out_channels, c, kh, kw)

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
        layout = window.layout(*x.shape[2:])
        stacked = stacked_windows(x, layout, -np.inf)  # (K, N, C, OH, width)
        out = stacked.max(axis=0)  # NaN propagates, as in PyTorch
        # mask[k] marks windows whose tap k holds the maximum (or a NaN); keep the first only.
        mask = stacked == out
        mask |= stacked != stacked
        taken = mask[0].copy()
        for k in range(1, mask.shape[0]):
            mask[k] &= ~taken
            taken |= mask[k]
        self.mask = mask
        self.layout = layout
        return layout.narrow(out)

    def backward(self, g):
        return MaxPool2dScatter.apply(g, mask=self.mask, layout=self.layout)


class MaxPool2dScatter(Function):
    """dx = g routed back through max pooling: dx_pad[n, c, oh·sh + i, ow·sw + j] +=
    mask[i·kw + j, n, c, oh, ow] · g[n, c, oh, ow], where ``mask`` (kh·kw, N, C, OH, width)
    marks each window's chosen element. Linear in g;  d(g) = MaxPool2dGather(dd)."""

    def forward(self, g, *, mask, layout):
        self.mask = mask
        self.layout = layout
        routed = mask * layout.widen(g)  # (K, N, C, OH, width): g at each window's maximum
        return col2im(_tap_major_as_cols(routed, layout), layout)

    def backward(self, dd):
        return MaxPool2dGather.apply(dd, mask=self.mask, layout=self.layout)


class MaxPool2dGather(Function):
    """out[n, c, oh, ow] = Σ_k mask[k, n, c, oh, ow] · windows(x_pad)[k, n, c, oh, ow]: each
    window's marked element (the adjoint of MaxPool2dScatter; on the pooled input itself it
    gives the max pool). Linear in x;  dx = MaxPool2dScatter(g)."""

    def forward(self, x, *, mask, layout):
        self.mask = mask
        self.layout = layout
        stacked = stacked_windows(x, layout, 0.0)
        return layout.narrow((stacked * mask).sum(axis=0))  # not in place: may be a view of x

    def backward(self, g):
        return MaxPool2dScatter.apply(g, mask=self.mask, layout=self.layout)


class AvgPool2d(Function):
    """out[n, c, oh, ow] = Σ_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j] / divisor   (padding is 0)

    divisor = kh·kw, or with ``count_include_pad=False`` the number of elements of the window
    that lie inside the unpadded input. OH = ⌊(H + 2ph − kh) / sh⌋ + 1 (likewise OW).
    Linear in x;  dx = AvgPool2dBackward(g).
    """

    def forward(self, x, *, window, count_include_pad=True):
        layout = window.layout(*x.shape[2:])
        self.window = window
        self.count_include_pad = count_include_pad
        out = stacked_windows(x, layout, 0.0).sum(axis=0)  # (N, C, OH, width)
        out /= _divisor(x.dtype, layout, count_include_pad, array_module(x))
        return layout.narrow(out)

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
        layout = window.layout(*in_size)
        self.window = window
        self.count_include_pad = count_include_pad
        share = layout.widen(g) / _divisor(g.dtype, layout, count_include_pad, xp)
        n, c = share.shape[:2]
        # The same slab for every tap: a broadcast view, no copy.
        cols = xp.broadcast_to(share[:, :, None, None], (n, c) + window.kernel + share.shape[2:])
        return col2im(cols, layout)

    def backward(self, dd):
        return AvgPool2d.apply(dd, window=self.window, count_include_pad=self.count_include_pad)


def _divisor(dtype, layout: Layout, count_include_pad: bool, xp):
    """kh·kw, or (count_include_pad=False) the (OH, OW) count of each window's elements that
    lie inside the unpadded input, found by sum-pooling a plane of ones padded with zeros."""
    kh, kw = layout.window.kernel
    if count_include_pad or layout.window.padding == (0, 0):
        return dtype.type(kh * kw)  # a NumPy scalar of the data's dtype: float32 stays float32
    ones = xp.ones((1, 1) + layout.in_size, dtype=dtype)
    counts = stacked_windows(ones, layout, 0.0).sum(axis=0)  # (1, 1, OH, width)
    counts[..., layout.out_size[1]:] = 1  # the extra columns: anything but 0
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

        out[n, o, oh, ow] = b[o] + Σ_{c, i, j} W[o, c, i, j] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

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
        if t is not None and t.dtype != input.dtype:
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
