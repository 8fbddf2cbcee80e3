"""Convolution and pooling layers: Conv2d, MaxPool2d, AvgPool2d (NCHW, PyTorch's arguments).

Each module holds its hyper-parameters (and Conv2d its parameters) and calls the functions in
:mod:`minigrad.functions.conv` for the math, which is documented there.
"""

from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..functions.conv import _pair, avg_pool2d, conv2d, max_pool2d
from . import init
from .module import Module, Parameter

__all__ = ["Conv2d", "MaxPool2d", "AvgPool2d"]


def _positive_int(value, name: str, op: str) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)) \
            or value < 1:
        raise ValueError(f"{op}: {name} must be a positive int, got {value!r}")
    return int(value)


class Conv2d(Module):
    """out = conv2d(x, weight, bias, stride, padding, dilation) over x of shape (N, C, H, W):

        out[n, o, oh, ow] = b[o] + Σ_{c,i,j} W[o, c, i, j] · x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]

    with OH = ⌊(H + 2ph − dh·(kh − 1) − 1) / sh⌋ + 1 (likewise OW). ``kernel_size``,
    ``stride``, ``padding`` (zeros) and ``dilation`` are an int or a pair (h, w).

    weight (out_channels, in_channels, kh, kw) and bias (out_channels,) both start as
    U(−1/√fan_in, 1/√fan_in) with fan_in = in_channels·kh·kw (kaiming_uniform_ with a = √5
    for the weight), as in PyTorch.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, bias: bool = True, device=None, dtype=None):
        super().__init__()
        op = type(self).__name__
        self.in_channels = _positive_int(in_channels, "in_channels", op)
        self.out_channels = _positive_int(out_channels, "out_channels", op)
        self.kernel_size = _pair(kernel_size, "kernel_size", op, 1)
        self.stride = _pair(stride, "stride", op, 1)
        self.padding = _pair(padding, "padding", op, 0)
        self.dilation = _pair(dilation, "dilation", op, 1)
        shape = (self.out_channels, self.in_channels) + self.kernel_size
        self.weight = Parameter(creation.zeros(shape, dtype=dtype, device=device))
        if bias:
            self.bias = Parameter(creation.zeros(self.out_channels, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # bound 1/√fan_in
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1.0 / math.sqrt(fan_in)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return conv2d(input, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}")
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        if self.bias is None:
            text += ", bias=False"
        return text


class _Pool2d(Module):
    """kernel_size, stride (default: kernel_size) and padding, each an int or a pair, kept as
    given (as PyTorch does) and checked here so a bad layer fails when it is built."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        op = type(self).__name__
        kernel = _pair(kernel_size, "kernel_size", op, 1)
        if stride is not None:
            _pair(stride, "stride", op, 1)
        pad = _pair(padding, "padding", op, 0)
        if pad[0] > kernel[0] // 2 or pad[1] > kernel[1] // 2:
            raise ValueError(f"{op}: padding {padding!r} must be at most half of kernel_size "
                             f"{kernel_size!r}")
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """out[n, c, oh, ow] = max_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j] (padding is −∞), with
    OH = ⌊(H + 2ph − kh) / sh⌋ + 1; see :func:`minigrad.functions.conv.max_pool2d`."""

    def forward(self, input):
        return max_pool2d(input, self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """out[n, c, oh, ow] = Σ_{i, j} x_pad[n, c, oh·sh + i, ow·sw + j] / divisor (padding is 0),
    divisor = kh·kw, or the count of real elements with ``count_include_pad=False``;
    see :func:`minigrad.functions.conv.avg_pool2d`."""

    def __init__(self, kernel_size, stride=None, padding=0, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding)
        self.count_include_pad = bool(count_include_pad)

    def forward(self, input):
        return avg_pool2d(input, self.kernel_size, self.stride, self.padding,
                          self.count_include_pad)

    def extra_repr(self) -> str:
        text = super().extra_repr()
        return text if self.count_include_pad else text + ", count_include_pad=False"
