"""minigrad.data.timeseries: each function against a plain loop or convolution transcription of
its formula; SlidingWindowDataset through the DataLoader; errors name the function and shape."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data

series = st.integers(0, 10_000).map(lambda s: np.random.default_rng(s))


@given(series, st.integers(1, 60), st.integers(1, 3), st.integers(1, 8))
@settings(max_examples=30)
def test_moving_average_and_difference_against_loops(rng, T, width, window):
    x = rng.standard_normal((T, width)).cumsum(0)
    if window <= T:
        expected = np.array([x[t:t + window].mean(0) for t in range(T - window + 1)])
        np.testing.assert_allclose(data.moving_average(x, window), expected, atol=1e-10)
    if T > 2:
        np.testing.assert_allclose(data.difference(x, lag=1, order=2), np.diff(x, n=2, axis=0))


@given(series, st.integers(2, 80), st.floats(0.05, 1.0), st.floats(0.05, 1.0))
@settings(max_examples=30)
def test_exponential_smoothing_and_holt_against_recursions(rng, T, alpha, beta):
    x = rng.standard_normal(T).cumsum()
    smooth = [x[0]]
    for v in x[1:]:
        smooth.append(alpha * v + (1 - alpha) * smooth[-1])
    np.testing.assert_allclose(data.exponential_smoothing(x, alpha), smooth, rtol=1e-9,
                               atol=1e-9)
    level, trend = [x[0]], [x[1] - x[0]]
    for v in x[1:]:
        new = alpha * v + (1 - alpha) * (level[-1] + trend[-1])
        trend.append(beta * (new - level[-1]) + (1 - beta) * trend[-1])
        level.append(new)
    got_level, got_trend = data.holt_linear(x, alpha, beta)
    np.testing.assert_allclose(got_level, level, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(got_trend, trend, rtol=1e-8, atol=1e-8)


def test_smoothing_keeps_device_and_float32(device):
    x = minigrad.tensor(np.linspace(0, 1, 50, dtype=np.float32), device=device)
    for out in (data.exponential_smoothing(x, 0.5), data.moving_average(x, 5), data.detrend(x),
                data.holt_linear(x, 0.5, 0.5)[1]):
        assert out.dtype == np.float32 and out.device == minigrad.device(device)
    np.testing.assert_allclose(data.detrend(x).cpu().numpy(), 0, atol=1e-6)   # a line


def test_detrend_against_polyfit():
    rng = np.random.default_rng(1)
    x = 3.0 + 0.5 * np.arange(40)[:, None] + rng.standard_normal((40, 2))
    expected = np.stack([x[:, j] - np.polyval(np.polyfit(np.arange(40), x[:, j], 1),
                                              np.arange(40)) for j in range(2)], axis=1)
    np.testing.assert_allclose(data.detrend(x), expected, atol=1e-10)


@pytest.mark.parametrize("period", [4, 7])
def test_seasonal_decompose_against_convolution(period):
    rng = np.random.default_rng(2)
    T = 5 * period + 3
    t = np.arange(T)
    x = 0.2 * t + np.sin(2 * np.pi * t / period) * 3 + 0.1 * rng.standard_normal(T)
    weights = np.ones(period) / period if period % 2 else \
        np.r_[0.5, np.ones(period - 1), 0.5] / period
    half = len(weights) // 2
    trend = np.full(T, np.nan)
    trend[half:T - half] = np.convolve(x, weights, mode="valid")
    detrended = x - trend
    figure = np.array([np.nanmean(detrended[k::period]) for k in range(period)])
    figure -= figure.mean()
    seasonal = figure[t % period]
    got = data.seasonal_decompose(x, period)
    np.testing.assert_allclose(got.trend, trend, atol=1e-12)
    np.testing.assert_allclose(got.seasonal, seasonal, atol=1e-12)
    np.testing.assert_allclose(got.resid, x - trend - seasonal, atol=1e-12)
    np.testing.assert_allclose(got.seasonal[:period].sum(), 0, atol=1e-12)


def test_sliding_window_dataset(device):
    s = minigrad.tensor(np.arange(10, dtype=np.float32), device=device)
    ds = data.SlidingWindowDataset(s, window=3, horizon=2, stride=2)
    assert len(ds) == 3                                  # starts 0, 2, 4
    inputs, targets = ds[1]
    assert inputs.tolist() == [2, 3, 4] and targets.tolist() == [5, 6]
    loader = data.DataLoader(ds, batch_size=2)
    xb, yb = next(iter(loader))
    assert xb.shape == (2, 3) and yb.shape == (2, 2) and xb.device == minigrad.device(device)
    np.testing.assert_array_equal(yb.cpu().numpy(), [[3, 4], [5, 6]])
    multi = data.SlidingWindowDataset(np.zeros((20, 3)), window=5)
    assert multi[0][0].shape == (5, 3) and len(multi) == 15


def test_errors_name_the_function_and_shape():
    with pytest.raises(ValueError, match=r"moving_average: window 9 is longer than the series "
                                         r"\(shape \(5,\)\)"):
        data.moving_average(np.zeros(5), 9)
    with pytest.raises(ValueError, match=r"SlidingWindowDataset: window 8 \+ horizon 3 is longer "
                                         r"than the series \(shape \(10,\)\)"):
        data.SlidingWindowDataset(np.zeros(10), 8, 3)
    with pytest.raises(ValueError, match=r"seasonal_decompose: needs two full periods \(24 "
                                         r"steps\) but the series has shape \(20,\)"):
        data.seasonal_decompose(np.zeros(20), 12)
    with pytest.raises(ValueError, match=r"exponential_smoothing: alpha must lie in \(0, 1\]"):
        data.exponential_smoothing(np.zeros(5), 1.5)
    with pytest.raises(ValueError, match=r"difference: lag 3 x order 2 leaves nothing"):
        data.difference(np.zeros(6), 3, 2)
    with pytest.raises(ValueError, match=r"expected a series \(T,\) or \(T, n_series\), got "
                                         r"shape \(2, 2, 2\)"):
        data.detrend(np.zeros((2, 2, 2)))
