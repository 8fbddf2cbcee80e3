"""Time series: smoothing, trend and seasonal adjustment, and windows for forecasting.

Series run along axis 0 (``(T,)`` or ``(T, n_series)``); every function works on NumPy and
CuPy arrays (and Tensors, returned as Tensors) and keeps floating dtypes (integers become
float32). Sums are taken in float64 and cast back.

The exponential-smoothing recursions ``s_t = A s_{t-1} + c_t`` are evaluated without a Python
loop over time: a doubling scan (Hillis-Steele) adds ``A^d s_{t-d}``-terms for
``d = 1, 2, 4, ...``, so ``log2(T)`` whole-array steps give every ``s_t`` exactly.
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._common import float_array, like
from .dataset import Dataset, _check_indices, _index_for

__all__ = ["moving_average", "exponential_smoothing", "holt_linear", "difference", "detrend",
           "seasonal_decompose", "DecomposeResult", "SlidingWindowDataset"]


def _series(x, owner: str, min_length: int = 1):
    s = float_array(x, owner)
    if s.ndim not in (1, 2):
        raise ValueError(f"{owner}: expected a series (T,) or (T, n_series), got shape "
                         f"{tuple(s.shape)}")
    if s.shape[0] < min_length:
        raise ValueError(f"{owner}: the series has {s.shape[0]} steps (shape {tuple(s.shape)}), "
                         f"needs at least {min_length}")
    return s


def _positive_int(value, name: str, owner: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{owner}: {name} must be a positive int, got {value!r}")
    return int(value)


def _window_means(s64, window: int):
    """Means of every ``window`` consecutive steps (length ``T - window + 1``), by cumsum."""
    xp = backend.array_module(s64)
    c = xp.cumsum(s64, axis=0)
    zero = xp.zeros((1,) + s64.shape[1:], dtype=np.float64)
    c = xp.concatenate([zero, c], axis=0)
    return (c[window:] - c[:-window]) / window


def moving_average(x, window: int):
    """Trailing simple moving average, the 'valid' part: ``m_t = (1/w) sum_{k=0}^{w-1}
    x_{t+k}`` for ``t = 0 .. T-w`` (length ``T - w + 1``; ``m_t`` sits at step ``t + w - 1``)."""
    owner = "moving_average"
    window = _positive_int(window, "window", owner)
    s = _series(x, owner)
    if window > s.shape[0]:
        raise ValueError(f"{owner}: window {window} is longer than the series (shape "
                         f"{tuple(s.shape)})")
    return like(_window_means(s.astype(np.float64), window).astype(s.dtype), x)


def _linear_scan(A, c):
    """``s_t = A s_{t-1} + c_t`` for all t with ``s_{-1} = 0``, for a constant ``(m, m)``
    matrix ``A`` and ``c`` of shape ``(T, ..., m)``: the doubling scan
    ``s[d:] += A^d s[:-d]`` for ``d = 1, 2, 4, ...`` (each pass doubles the terms summed)."""
    s = c.copy()
    power = A                                    # A^d
    d = 1
    while d < s.shape[0]:
        s[d:] = s[d:] + s[:-d] @ power.T         # the right side is evaluated before the write
        power = power @ power
        d *= 2
    return s


def _alpha(value, name: str, owner: str) -> float:
    value = float(value)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{owner}: {name} must lie in (0, 1], got {value}")
    return value


def exponential_smoothing(x, alpha: float):
    """Simple exponential smoothing: ``s_0 = x_0``, ``s_t = alpha x_t + (1 - alpha) s_{t-1}``
    (the same length as ``x``)."""
    owner = "exponential_smoothing"
    alpha = _alpha(alpha, "alpha", owner)
    s = _series(x, owner)
    xp = backend.array_module(s)
    x64 = s.astype(np.float64)
    c = alpha * x64
    c[0] = x64[0]                                   # s_0 = x_0
    A = xp.asarray([[1.0 - alpha]])
    out = _linear_scan(A, c[..., None])[..., 0]
    return like(out.astype(s.dtype), x)


def holt_linear(x, alpha: float, beta: float):
    """Holt's linear-trend method: a level and a trend, ``(level, trend)`` of ``x``'s shape::

        level_0 = x_0,  trend_0 = x_1 - x_0
        level_t = alpha x_t + (1 - alpha) (level_{t-1} + trend_{t-1})
        trend_t = beta (level_t - level_{t-1}) + (1 - beta) trend_{t-1}

    The h-step forecast from the end is ``level_{T-1} + h trend_{T-1}``. As one linear
    recursion in ``(level, trend)``: substituting ``level_t`` into ``trend_t`` gives
    ``A = [[1-a, 1-a], [-a b, 1 - a b]]`` and input ``(a x_t, a b x_t)``.
    """
    owner = "holt_linear"
    alpha, beta = _alpha(alpha, "alpha", owner), _alpha(beta, "beta", owner)
    s = _series(x, owner, min_length=2)
    xp = backend.array_module(s)
    x64 = s.astype(np.float64)
    c = xp.stack([alpha * x64, alpha * beta * x64], axis=-1)       # (T, ..., 2)
    c[0, ..., 0] = x64[0]
    c[0, ..., 1] = x64[1] - x64[0]
    A = xp.asarray([[1.0 - alpha, 1.0 - alpha], [-alpha * beta, 1.0 - alpha * beta]])
    out = _linear_scan(A, c)
    return like(out[..., 0].astype(s.dtype), x), like(out[..., 1].astype(s.dtype), x)


def difference(x, lag: int = 1, order: int = 1):
    """``d_t = x_{t+lag} - x_t`` (length ``T - lag``), applied ``order`` times (``lag`` = the
    period removes a seasonal pattern; ``order=2`` a quadratic trend)."""
    owner = "difference"
    lag, order = _positive_int(lag, "lag", owner), _positive_int(order, "order", owner)
    s = _series(x, owner)
    if lag * order >= s.shape[0]:
        raise ValueError(f"{owner}: lag {lag} x order {order} leaves nothing of a series of "
                         f"shape {tuple(s.shape)}")
    for _ in range(order):
        s = s[lag:] - s[:-lag]
    return like(s, x)


def detrend(x):
    """Remove the least-squares line: ``x_t - (a + b t)`` with
    ``b = sum (t - tbar)(x_t - xbar) / sum (t - tbar)^2`` and ``a = xbar - b tbar``
    (per series)."""
    s = _series(x, "detrend", min_length=2)
    xp = backend.array_module(s)
    x64 = s.astype(np.float64)
    t = xp.arange(s.shape[0], dtype=np.float64).reshape((-1,) + (1,) * (s.ndim - 1))
    tc = t - t.mean()
    xbar = x64.mean(axis=0)
    slope = (tc * (x64 - xbar)).sum(axis=0) / (tc ** 2).sum()
    return like((x64 - xbar - slope * tc).astype(s.dtype), x)


class DecomposeResult(NamedTuple):
    """``observed = trend + seasonal + resid`` (trend and resid NaN at the ends)."""
    observed: object
    trend: object
    seasonal: object
    resid: object


def seasonal_decompose(x, period: int) -> DecomposeResult:
    """Additive decomposition by moving averages (the classical method, as statsmodels'
    ``seasonal_decompose(model='additive')``)::

        trend_t    centred moving average over one period: for odd p, the mean of
                   x_{t-(p-1)/2} .. x_{t+(p-1)/2}; for even p, the "2 x p" average with
                   weights (1/2, 1, ..., 1, 1/2) / p over x_{t-p/2} .. x_{t+p/2};
                   NaN for the first and last floor(p/2) steps
        seasonal   per phase k = t mod p, the mean of (x_t - trend_t) over that phase
                   (NaNs left out), minus the mean of those p values, repeated
        resid_t    = x_t - trend_t - seasonal_t

    Needs at least two full periods.
    """
    owner = "seasonal_decompose"
    period = _positive_int(period, "period", owner)
    if period < 2:
        raise ValueError(f"{owner}: period must be at least 2, got {period}")
    s = _series(x, owner)
    if s.shape[0] < 2 * period:
        raise ValueError(f"{owner}: needs two full periods ({2 * period} steps) but the series "
                         f"has shape {tuple(s.shape)}")
    xp = backend.array_module(s)
    x64 = s.astype(np.float64)
    T, half = s.shape[0], period // 2
    means = _window_means(x64, period)
    if period % 2 == 0:
        means = (means[:-1] + means[1:]) / 2           # the 2 x p average
    trend = xp.full(x64.shape, np.nan)
    trend[half:T - half] = means
    detrended = x64 - trend
    phase = xp.arange(T) % period
    onehot = (phase[:, None] == xp.arange(period)[None, :]).astype(np.float64)    # (T, p)
    finite = ~xp.isnan(detrended)
    sums = onehot.T @ xp.where(finite, detrended, 0.0).reshape(T, -1)
    counts = onehot.T @ finite.reshape(T, -1).astype(np.float64)
    figure = sums / counts
    figure = figure - figure.mean(axis=0)
    seasonal = figure[phase].reshape(x64.shape)
    resid = x64 - trend - seasonal
    dt = s.dtype
    return DecomposeResult(like(s, x), like(trend.astype(dt), x), like(seasonal.astype(dt), x),
                           like(resid.astype(dt), x))


class SlidingWindowDataset(Dataset):
    """Forecasting samples cut from one series: sample ``i`` is
    ``(series[i*stride : i*stride + window], series[i*stride + window :
    i*stride + window + horizon])`` (inputs, targets), for every position where both fit:
    ``len = (T - window - horizon) // stride + 1``.

    Nothing is copied up front; ``get_batch`` gathers a whole batch of windows with one fancy
    index, on the series' device, so a :class:`~minigrad.data.DataLoader` over it is fast. Fit any scaling on the training part of the series before cutting windows.
    """

    def __init__(self, series, window: int, horizon: int = 1, stride: int = 1):
        owner = "SlidingWindowDataset"
        self.window = _positive_int(window, "window", owner)
        self.horizon = _positive_int(horizon, "horizon", owner)
        self.stride = _positive_int(stride, "stride", owner)
        s = series.data if isinstance(series, Tensor) else float_array(series, owner)
        if s.ndim not in (1, 2):
            raise ValueError(f"{owner}: expected a series (T,) or (T, n_series), got shape "
                             f"{tuple(s.shape)}")
        if self.window + self.horizon > s.shape[0]:
            raise ValueError(f"{owner}: window {self.window} + horizon {self.horizon} is longer "
                             f"than the series (shape {tuple(s.shape)})")
        self.series = s

    def __len__(self) -> int:
        return (self.series.shape[0] - self.window - self.horizon) // self.stride + 1

    def _starts(self, indices):
        idx = _check_indices(indices, len(self), "SlidingWindowDataset")
        idx = np.where(idx < 0, idx + len(self), idx) * self.stride
        return _index_for(idx, self.series)

    def get_batch(self, indices) -> tuple:
        """``(inputs (B, window, ...), targets (B, horizon, ...))`` as Tensors."""
        xp = backend.array_module(self.series)
        starts = self._starts(indices)
        steps = xp.arange(self.window + self.horizon)
        block = self.series[starts[:, None] + steps[None, :]]
        return (Tensor._make(block[:, :self.window]), Tensor._make(block[:, self.window:]))

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            inputs, targets = self.get_batch(np.asarray([index]))
            return Tensor._make(inputs.data[0]), Tensor._make(targets.data[0])
        return self.get_batch(index)

    def __repr__(self) -> str:
        return (f"SlidingWindowDataset({tuple(self.series.shape)}, window={self.window}, "
                f"horizon={self.horizon}, stride={self.stride})")
