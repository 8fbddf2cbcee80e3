"""Fake quantization (minigrad.quantization). Its straight-through gradient is not the
derivative of its own (piecewise constant) output, so each entry checks it against the
function it is the exact derivative of: the surrogate

    c(x) = clamp(x, s·(q_min − z − ½), s·(q_max − z + ½))

whose slope is 1 exactly where round(x/s) + z stays inside [q_min, q_max]. The entry computes
``fq(x) + (c(x) − fq(x)).detach()``: its value is c(x) (the reference) and its gradient is
fake-quantize's own backward, so gradcheck compares the straight-through gradient with c'(x).
The fake-quantized values themselves are checked against a NumPy transcription (ties,
clamping, per-channel axes) in tests/test_quantization.py.
"""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import quantization as Q

from ._core import _add

_RANGES = [(-8, 7), (0, 15), (-128, 127)]


def _edges(scale, zero_point, quant_min, quant_max):
    return scale * (quant_min - zero_point - 0.5), scale * (quant_max - zero_point + 0.5)


def _per_tensor_sample(d):
    scale = d.choice([0.1, 0.25, 0.4])
    quant_min, quant_max = d.choice(_RANGES)
    zero_point = d.integer(quant_min, min(quant_max, quant_min + 12))
    x = d.values(d.shape(min_dims=1), avoid=_edges(scale, zero_point, quant_min, quant_max))
    return [x], {"scale": scale, "zero_point": zero_point, "quant_min": quant_min,
                 "quant_max": quant_max}


def _surrogate_tensor(fq, x, low, high):
    return fq + (x.clamp(low, high) - fq).detach()


def _fq_per_tensor(x, scale, zero_point, quant_min, quant_max):
    fq = Q.fake_quantize_per_tensor_affine(x, scale, zero_point, quant_min, quant_max)
    return _surrogate_tensor(fq, x, *_edges(scale, zero_point, quant_min, quant_max))


_add("fake_quantize_per_tensor_affine", _per_tensor_sample, _fq_per_tensor,
     lambda x, scale, zero_point, quant_min, quant_max: np.clip(
         x, *_edges(scale, zero_point, quant_min, quant_max)))


def _per_channel_sample(d):
    shape = d.shape(min_dims=1, max_dims=3)
    axis = d.integer(0, len(shape) - 1)
    quant_min, quant_max = d.choice(_RANGES)
    channels = shape[axis]
    scale = np.array([d.choice([0.1, 0.25, 0.4]) for _ in range(channels)])
    zero_point = np.array([d.integer(quant_min, min(quant_max, quant_min + 12))
                           for _ in range(channels)])
    low, high = _edges(scale, zero_point, quant_min, quant_max)
    x = d.values(shape)
    moved = np.moveaxis(x, axis, -1)   # push values away from each channel's kinks
    for edge in (low, high):
        side = np.where(moved >= edge, 1.0, -1.0)
        moved = np.where(np.abs(moved - edge) < 0.05, moved + 0.1 * side, moved)
    return [np.moveaxis(moved, -1, axis)], {"scale": scale, "zero_point": zero_point,
                                            "axis": axis, "quant_min": quant_min,
                                            "quant_max": quant_max}


def _along(values, axis, ndim):
    shape = [1] * ndim
    shape[axis] = -1
    return values.reshape(shape)


def _fq_per_channel(x, scale, zero_point, axis, quant_min, quant_max):
    fq = Q.fake_quantize_per_channel_affine(x, scale.astype(np.float32), zero_point, axis,
                                            quant_min, quant_max)
    low, high = _edges(scale, zero_point, quant_min, quant_max)
    low, high = _along(low, axis, x.ndim), _along(high, axis, x.ndim)
    bounded = mg.minimum(mg.maximum(x, mg.tensor(low, dtype=x.dtype, device=x.device)),
                         mg.tensor(high, dtype=x.dtype, device=x.device))
    return fq + (bounded - fq).detach()


_add("fake_quantize_per_channel_affine", _per_channel_sample, _fq_per_channel,
     lambda x, scale, zero_point, axis, quant_min, quant_max: np.clip(
         x, _along(_edges(scale, zero_point, quant_min, quant_max)[0], axis, x.ndim),
         _along(_edges(scale, zero_point, quant_min, quant_max)[1], axis, x.ndim)))
