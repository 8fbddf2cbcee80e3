"""HistogramObserver: a running histogram of everything seen, and a range chosen to minimize
the L2 quantization error, as ``torch.ao.quantization.HistogramObserver`` does.

The histogram has ``bins`` (2048) equal bins over [min, max] seen so far; when a batch widens
the range, the old histogram is spread onto the new bins (each old bin split into 16
sub-bins placed by their centres). ``calculate_qparams`` then searches [start, end] bins:

    repeatedly move the side that cuts less probability mass inward (by 1e-5 of the total),
    and keep the move while the quantization error does not grow;

the error of quantizing bins [a, b] onto 2^bits levels of width δ = w·(b − a + 1) / 2^bits
(w the bin width), with the mass of each bin uniform over it (density ρ = h / w), is

    E = Σ_bins ρ · ∫ (x − centre(x))² dx = Σ ρ · (Δ_end³ − Δ_begin³) / 3   per piece,

the pieces being where a source bin meets the quantization levels (Δ measured from each
level's centre). The winning [min, max] goes to the shared qparams function.
"""

from __future__ import annotations

import math

import numpy as np

from ..backend import array_module, is_device_array, to_device
from ..tensor import Tensor
from .observers import ObserverBase
from .qparams import qparams_from_range, storage_dtype

__all__ = ["HistogramObserver", "histc"]


def histc(x, bins: int, low: float, high: float):
    """torch.histc: ``bins`` equal bins over [low, high] (float32), values outside ignored,
    ``high`` itself in the last bin; an empty range [v, v] becomes [v − 1, v + 1]."""
    xp = array_module(x)
    if low == high:
        low, high = low - 1.0, high + 1.0
    x = x.reshape(-1).astype(xp.float32)
    kept = x[(x >= low) & (x <= high)]
    position = ((kept - xp.float32(low)) * xp.float32(bins) / xp.float32(high - low))
    index = xp.minimum(position.astype(xp.int64), bins - 1)
    return xp.bincount(index, minlength=bins).astype(xp.float32)


class HistogramObserver(ObserverBase):
    """Per-tensor observer with ``bins`` (2048) and the L2 range search above."""

    upsample_rate = 16

    def __init__(self, bins: int = 2048, **kwargs):
        super().__init__(**kwargs)
        if isinstance(bins, bool) or not isinstance(bins, int) or bins < 1:
            raise ValueError(f"HistogramObserver: bins must be a positive int, got {bins!r}")
        self.bins = bins
        self.dst_nbins = 2 ** (8 * storage_dtype(self.dtype).itemsize)
        self.register_buffer("histogram", Tensor(np.zeros(bins, dtype=np.float32)))

    # --- observing ----------------------------------------------------------------------

    def forward(self, x):
        data = self._data(x)
        xp = array_module(data)
        data = data[xp.isfinite(data)] if not bool(xp.isfinite(data).all()) else data
        if data.size == 0:
            return x
        low, high = float(data.min()), float(data.max())  # host numbers: one sync
        if float(self.min_val.data) == math.inf:
            self.histogram = Tensor(histc(data, self.bins, low, high))
            self._set_range(xp.asarray(low), xp.asarray(high))
            return x
        old_low, old_high = float(self.min_val.data), float(self.max_val.data)
        new_low, new_high = min(old_low, low), max(old_high, high)
        update = histc(data, self.bins, new_low, new_high)
        if (new_low, new_high) == (old_low, old_high):
            self.histogram = Tensor(self.histogram.data + update)
            return x
        if old_low == old_high:       # everything so far was one value
            moved = histc(xp.asarray([old_low], dtype=xp.float32), self.bins, new_low,
                          new_high) * self.histogram.data.sum()
        else:
            moved = self._upscale(self.histogram.data, old_low, old_high, new_low, new_high)
        self.histogram = Tensor(update + moved)
        self._set_range(xp.asarray(new_low), xp.asarray(new_high))
        return x

    def _upscale(self, histogram, old_low, old_high, new_low, new_high):
        """The old histogram on the new bins: each old bin split into ``upsample_rate`` equal
        parts, each part placed in the new bin holding its centre."""
        xp = array_module(histogram)
        rate, bins = self.upsample_rate, self.bins
        parts = xp.repeat(histogram, rate) / xp.float32(rate)
        part_width = xp.float32(old_high - old_low) / xp.float32(bins * rate)
        centres = xp.linspace(old_low, old_high, bins * rate + 1,
                              dtype=xp.float32)[:-1] + xp.float32(0.5) * part_width
        edges = xp.linspace(new_low, new_high, bins + 1, dtype=xp.float32)
        where = xp.clip(xp.searchsorted(edges, centres, side="right") - 1, 0, bins - 1)
        return xp.bincount(where, weights=parts, minlength=bins).astype(xp.float32)

    # --- the range search ---------------------------------------------------------------

    def _quantization_error(self, histogram, bin_width: float, start: int, end: int) -> float:
        """E of quantizing bins [start, end] (the sum in the module docstring), float32."""
        level_width = bin_width * (end - start + 1) / self.dst_nbins
        if level_width == 0.0:
            return 0.0
        last = self.dst_nbins - 1
        src_begin = (np.arange(self.bins) - start).astype(np.float32) * np.float32(bin_width)
        src_end = src_begin + np.float32(bin_width)
        level_of_begin = np.clip(np.floor(src_begin / np.float32(level_width)), 0, last)
        level_of_end = np.clip(np.floor(src_end / np.float32(level_width)), 0, last)
        density = histogram / np.float32(bin_width)
        half = np.float32(level_width / 2)

        def piece(delta_begin, delta_end):   # ρ · (Δ_end³ − Δ_begin³) / 3
            return density * ((delta_end ** 3 - delta_begin ** 3) / np.float32(3))

        begin_centre = (level_of_begin + np.float32(0.5)) * np.float32(level_width)
        error = piece(src_begin - begin_centre, half)                      # first level
        error = error + (level_of_end - level_of_begin - 1) * piece(-half, half)  # whole ones
        end_centre = level_of_end * np.float32(level_width) + half
        error = error + piece(-half, src_end - end_centre)                 # last level
        return float(error.astype(np.float32).sum(dtype=np.float32))

    def _search_range(self):
        """[min, max] after the L2 search (see the module docstring)."""
        # The histogram is a few thousand numbers: the search runs on the host.
        histogram = self.histogram.data
        histogram = to_device(histogram, "cpu") if is_device_array(histogram) else histogram
        low = np.float32(to_device(self.min_val.data, "cpu"))
        high = np.float32(to_device(self.max_val.data, "cpu"))
        bin_width = (high - low) / np.float32(self.bins)
        total = float(histogram.sum(dtype=np.float32))
        cumulative = np.cumsum(histogram, dtype=np.float32)
        step, alpha, beta = 1e-5, 0.0, 1.0
        start, end = 0, self.bins - 1
        best = math.inf
        while alpha < beta:
            next_alpha, next_beta = alpha + step, beta - step
            # l: the first bin ≥ start whose cumulative mass reaches next_alpha (≤ end);
            # r: the last bin ≤ end whose cumulative mass stays within next_beta (≥ start)
            left = int(np.searchsorted(cumulative, np.float32(next_alpha * total), "left"))
            left = min(max(left, start), end)
            right = int(np.searchsorted(cumulative, np.float32(next_beta * total), "right")) - 1
            right = max(min(right, end), start)
            next_start, next_end = start, end
            if left - start > end - right:
                next_start, alpha = left, next_alpha
            else:
                next_end, beta = right, next_beta
            if (next_start, next_end) == (start, end):
                continue
            error = self._quantization_error(histogram, float(bin_width), next_start, next_end)
            if error > best:
                break
            best, start, end = error, next_start, next_end
        return low + bin_width * np.float32(start), low + bin_width * np.float32(end + 1)

    def calculate_qparams(self):
        """(scale, zero_point), 0-d arrays, of the searched range."""
        if float(self.min_val.data) == math.inf:
            return qparams_from_range(self.min_val.data, self.max_val.data, self.dtype,
                                      self.qscheme, self.reduce_range, *self._custom_range)
        low, high = self._search_range()
        xp = array_module(self.min_val.data)
        return qparams_from_range(xp.asarray(low), xp.asarray(high), self.dtype, self.qscheme,
                                  self.reduce_range, *self._custom_range)
