"""Parameter initialization, with PyTorch's formulas and defaults (``torch.nn.init``).

Every function fills its tensor in place, outside the graph (as under ``no_grad``), draws from
the random stream of the tensor's own device (so ``minigrad.manual_seed`` makes it
reproducible), and returns the tensor.

Fans, for a weight of shape (out, in, *kernel) with receptive field r = Π kernel (1 for Linear):
fan_in = in · r and fan_out = out · r.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..autograd import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "constant_", "zeros_", "ones_",
           "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_"]

_LINEAR_GAIN_NAMES = ("linear", "identity", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                      "conv_transpose2d", "conv_transpose3d", "sigmoid")


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain recommended for a nonlinearity (scales the init's standard deviation):

    linear, identity, conv*, sigmoid: 1;  tanh: 5/3;  relu: √2;
    leaky_relu: √(2 / (1 + negative_slope²)) with negative_slope = param (default 0.01);
    selu: 3/4.
    """
    if nonlinearity in _LINEAR_GAIN_NAMES:
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = float(param)
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if nonlinearity == "selu":
        return 3.0 / 4.0
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _calculate_fan_in_and_fan_out(tensor):
    """(fan_in, fan_out) of a weight shaped (out, in, *kernel): (in · r, out · r), r = Π kernel.

    Needs at least 2 dims (a bias has no fan-in/fan-out of its own).
    """
    shape = tuple(tensor.shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out can not be computed for a tensor with fewer than "
                         f"2 dimensions (shape {shape})")
    receptive_field = 1
    for n in shape[2:]:
        receptive_field *= n
    return shape[1] * receptive_field, shape[0] * receptive_field


def _calculate_correct_fan(tensor, mode: str) -> int:
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', got {mode!r}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _draw_dtype(tensor, op):
    """The dtype random draws are made in: the tensor's own if it is a float."""
    dtype = tensor.dtype
    if dtype.kind != "f":
        raise TypeError(f"{op}: expects a floating-point tensor, got {dtype}")
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


def _fill(tensor, array):
    """Copy ``array`` into ``tensor`` in place, outside the graph."""
    with no_grad():
        tensor.copy_(array)
    return tensor


def uniform_(tensor, a: float = 0.0, b: float = 1.0):
    """Fill with values drawn from U(a, b): a + (b - a) · u, u ~ U(0, 1)."""
    u = backend.generator(tensor.device).random(tuple(tensor.shape), _draw_dtype(tensor, "uniform_"))
    u *= float(b) - float(a)  # Python floats: a NumPy float64 scalar would upcast float32
    u += float(a)
    return _fill(tensor, u)


def normal_(tensor, mean: float = 0.0, std: float = 1.0):
    """Fill with values drawn from N(mean, std²): mean + std · z, z ~ N(0, 1)."""
    z = backend.generator(tensor.device).normal(tuple(tensor.shape), _draw_dtype(tensor, "normal_"))
    z *= float(std)
    z += float(mean)
    return _fill(tensor, z)


def constant_(tensor, val: float):
    """Fill with the value ``val``."""
    with no_grad():
        tensor.fill_(val)
    return tensor


def zeros_(tensor):
    """Fill with 0."""
    return constant_(tensor, 0)


def ones_(tensor):
    """Fill with 1."""
    return constant_(tensor, 1)


def xavier_uniform_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): U(-a, a) with a = gain · √(6 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -a, a)


def xavier_normal_(tensor, gain: float = 1.0):
    """Glorot & Bengio (2010): N(0, std²) with std = gain · √(2 / (fan_in + fan_out))."""
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return normal_(tensor, 0.0, std)


def kaiming_uniform_(tensor, a: float = 0.0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu"):
    """He et al. (2015): U(-bound, bound) with bound = gain · √(3 / fan),
    gain = calculate_gain(nonlinearity, a), fan = fan_in or fan_out (``mode``).

    ``a`` is the negative slope of the leaky ReLU that follows. Linear and Conv2d use
    a = √5, which gives bound = √(2 / (1 + 5)) · √(3 / fan_in) = 1 / √fan_in.
    A tensor with no elements is left as it is.
    """
    if tensor.data.size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    bound = calculate_gain(nonlinearity, a) * math.sqrt(3.0 / fan)
    return uniform_(tensor, -bound, bound)


def kaiming_normal_(tensor, a: float = 0.0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu"):
    """He et al. (2015): N(0, std²) with std = gain / √fan,
    gain = calculate_gain(nonlinearity, a), fan = fan_in or fan_out (``mode``).
    A tensor with no elements is left as it is."""
    if tensor.data.size == 0:
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return normal_(tensor, 0.0, std)
