"""Observers: small modules that watch the tensors passing through them (``forward`` returns
its input unchanged) and turn what they saw into ``(scale, zero_point)`` with
``calculate_qparams()``, as ``torch.ao.quantization``'s observers do. Every observer reduces
its observations to a range [min, max] and hands it to the one function
:func:`~minigrad.quantization.qparams.qparams_from_range`.

- :class:`MinMaxObserver`: min = min over everything seen, max likewise.
- :class:`MovingAverageMinMaxObserver`: min_t = min_{t−1} + c · (min(x_t) − min_{t−1}) (the
  first batch sets it), likewise max; c = ``averaging_constant`` (0.01).
- :class:`PerChannelMinMaxObserver`: MinMaxObserver per slice along ``ch_axis``.
- :class:`~minigrad.quantization.histogram.HistogramObserver`: a histogram and an L2-error
  search for the range (its own module).
"""

from __future__ import annotations

import numbers

from ..backend import array_module
from ..nn.module import Module
from ..tensor import Tensor
from .qparams import (QSCHEMES, per_channel_affine, per_tensor_affine, qparams_from_range,
                      qrange, quint8, storage_dtype)

__all__ = ["ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver",
           "PerChannelMinMaxObserver", "MovingAveragePerChannelMinMaxObserver"]


class ObserverBase(Module):
    """What every observer has: ``dtype`` ('quint8' or 'qint8'), ``qscheme``,
    ``reduce_range``, an optional custom ``quant_min``/``quant_max``, and the buffers
    ``min_val``/``max_val`` (+inf/−inf until something is observed)."""

    per_channel = False

    def __init__(self, dtype=quint8, qscheme=per_tensor_affine, reduce_range: bool = False,
                 quant_min=None, quant_max=None):
        super().__init__()
        owner = type(self).__name__
        storage_dtype(dtype)  # validates the name
        if qscheme not in QSCHEMES:
            raise ValueError(f"{owner}: qscheme must be one of {', '.join(QSCHEMES)}, "
                             f"got {qscheme!r}")
        if qscheme.startswith("per_channel") != self.per_channel:
            kind = "a per-channel" if self.per_channel else "a per-tensor"
            raise ValueError(f"{owner}: qscheme {qscheme!r} does not fit {kind} observer")
        self.dtype = dtype
        self.qscheme = qscheme
        self.reduce_range = bool(reduce_range)
        self.quant_min, self.quant_max = qrange(dtype, reduce_range, quant_min, quant_max)
        self._custom_range = (quant_min, quant_max)
        self.register_buffer("min_val", Tensor(float("inf")))
        self.register_buffer("max_val", Tensor(float("-inf")))

    def _data(self, x):
        if not isinstance(x, Tensor) or x.dtype.kind != "f":
            raise TypeError(f"{type(self).__name__}: expected a float Tensor, got "
                            f"{type(x).__name__} of dtype {getattr(x, 'dtype', None)}")
        return x.data

    def _set_range(self, min_val, max_val):
        self.min_val = Tensor(min_val.astype(array_module(min_val).float32))
        self.max_val = Tensor(max_val.astype(array_module(max_val).float32))

    def _extrema(self, data):
        """The batch's (min, max): numbers, or one per channel."""
        return data.min(), data.max()

    def _combine(self, old_min, old_max, low, high):
        """The new range from the old one and the batch's (running extremes by default)."""
        xp = array_module(low)
        return xp.minimum(old_min, low), xp.maximum(old_max, high)

    def forward(self, x):
        data = self._data(x)
        if data.size:
            low, high = self._extrema(data)
            if _is_unset(self.min_val.data):   # the first batch also fixes the device
                self._set_range(low, high)
            else:
                self._set_range(*self._combine(self.min_val.data, self.max_val.data, low, high))
        return x

    def calculate_qparams(self):
        """(scale, zero_point) of the range observed: 0-d arrays per tensor, one per channel
        for per-channel observers (float32 and int64)."""
        quant_min, quant_max = self._custom_range
        return qparams_from_range(self.min_val.data, self.max_val.data, self.dtype,
                                  self.qscheme, self.reduce_range, quant_min, quant_max)

    def extra_repr(self) -> str:
        return (f"dtype={self.dtype}, qscheme={self.qscheme}, "
                f"quant_range=[{self.quant_min}, {self.quant_max}]")


class MinMaxObserver(ObserverBase):
    """min = min(min, min(x)), max = max(max, max(x)) over every batch seen."""


def _check_constant(value, owner):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1:
        raise ValueError(f"{owner}: averaging_constant must be in (0, 1], got {value!r}")
    return float(value)


def _moving_average(c, old_min, old_max, low, high):
    """min_t = min_{t−1} + c · (min(x_t) − min_{t−1}), likewise max."""
    return old_min + c * (low - old_min), old_max + c * (high - old_max)


def _is_unset(min_val) -> bool:
    """No batch seen yet (host check of one element; min is +inf before the first)."""
    return min_val.size == 0 or bool((min_val == float("inf")).all())


class MovingAverageMinMaxObserver(ObserverBase):
    """min_t = min_{t−1} + c · (min(x_t) − min_{t−1}), max likewise; the first batch sets them.
    PyTorch's default activation observer for quantization-aware training."""

    def __init__(self, averaging_constant: float = 0.01, **kwargs):
        super().__init__(**kwargs)
        self.averaging_constant = _check_constant(averaging_constant, type(self).__name__)

    def _combine(self, old_min, old_max, low, high):
        return _moving_average(self.averaging_constant, old_min, old_max, low, high)


def _per_channel_extrema(data, ch_axis):
    xp = array_module(data)
    moved = xp.moveaxis(data, ch_axis, 0).reshape(data.shape[ch_axis], -1)
    return moved.min(axis=1), moved.max(axis=1)


class PerChannelMinMaxObserver(ObserverBase):
    """min_c = min over every slice x[..., c, ...] (c along ``ch_axis``) seen, max likewise:
    one range, so one (scale, zero_point), per channel (PyTorch's per-channel weight
    observer, with qint8 and ``per_channel_symmetric``)."""

    per_channel = True

    def __init__(self, ch_axis: int = 0, dtype=quint8, qscheme=per_channel_affine, **kwargs):
        super().__init__(dtype=dtype, qscheme=qscheme, **kwargs)
        self.ch_axis = ch_axis

    def _extrema(self, data):
        if not -data.ndim <= self.ch_axis < data.ndim:
            raise ValueError(f"{type(self).__name__}: ch_axis {self.ch_axis} is out of range "
                             f"for an input of shape {tuple(data.shape)}")
        low, high = _per_channel_extrema(data, self.ch_axis % data.ndim)
        old = self.min_val.data
        if not _is_unset(old) and old.shape != low.shape:
            raise ValueError(f"{type(self).__name__}: saw {low.shape[0]} channels after "
                             f"{old.shape[0]}")
        return low, high

    def extra_repr(self) -> str:
        return f"ch_axis={self.ch_axis}, " + super().extra_repr()


class MovingAveragePerChannelMinMaxObserver(PerChannelMinMaxObserver):
    """The moving-average update of :class:`MovingAverageMinMaxObserver`, per channel."""

    def __init__(self, averaging_constant: float = 0.01, ch_axis: int = 0, dtype=quint8,
                 qscheme=per_channel_affine, **kwargs):
        super().__init__(ch_axis=ch_axis, dtype=dtype, qscheme=qscheme, **kwargs)
        self.averaging_constant = _check_constant(averaging_constant, type(self).__name__)

    def _combine(self, old_min, old_max, low, high):
        return _moving_average(self.averaging_constant, old_min, old_max, low, high)
