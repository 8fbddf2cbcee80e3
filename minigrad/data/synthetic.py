"""Synthetic data sets that need no files, each reproducible from its ``seed``.

Features are float32 NumPy arrays, class labels int64. ``seed=None`` draws the seed from
minigrad's cpu generator (so ``minigrad.manual_seed`` fixes it). Classification sets split the
``n`` samples as evenly as possible over the classes (the first ``n % classes`` classes get one
more) and are returned in a random order.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._common import make_rng

__all__ = ["make_regression", "make_moons", "make_spirals", "make_blobs", "RegressionData"]


class RegressionData(NamedTuple):
    """``x`` (n, 1) and ``y`` (n, 1) float32, and the true line's ``slope`` and ``intercept``."""
    x: np.ndarray
    y: np.ndarray
    slope: float
    intercept: float


def _check_n(n, owner: str, minimum: int = 1) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < minimum:
        raise ValueError(f"{owner}: n must be an int >= {minimum}, got {n!r}")
    return int(n)


def _check_noise(noise, owner: str, name: str = "noise") -> float:
    if noise < 0:
        raise ValueError(f"{owner}: {name} must be >= 0, got {noise}")
    return float(noise)


def _class_counts(n: int, k: int) -> np.ndarray:
    counts = np.full(k, n // k, dtype=np.int64)
    counts[:n % k] += 1
    return counts


def _shuffled(rng, X, y):
    order = rng.permutation(len(y))
    return X[order].astype(np.float32), y[order].astype(np.int64)


def make_regression(n: int = 100, noise: float = 0.1, seed=None, slope: float = 3.0,
                    intercept: float = 0.0) -> RegressionData:
    """The training documents' line with noise: ``y = slope * x + intercept + noise * eps``.

    ``x ~ U[0, 1)``, ``eps ~ N(0, 1)``; by default ``y = 3x + noise``. Returns
    :class:`RegressionData` ``(x, y, slope, intercept)`` (x and y of shape (n, 1), float32), so
    a fit can be checked against the true ``slope`` and ``intercept``.
    """
    n = _check_n(n, "make_regression")
    noise = _check_noise(noise, "make_regression")
    rng = make_rng(seed)
    x = rng.random((n, 1))
    eps = rng.standard_normal((n, 1))
    y = slope * x + intercept + noise * eps
    return RegressionData(x.astype(np.float32), y.astype(np.float32), float(slope),
                          float(intercept))


def make_moons(n: int = 100, noise: float = 0.0, seed=None):
    """Two interleaving half circles (scikit-learn's construction), ``X`` (n, 2), ``y`` (n,).

    Class 0: ``(cos t, sin t)`` for ``t`` evenly spaced on [0, pi] (``n // 2`` points);
    class 1: ``(1 - cos t, 1 - sin t - 0.5)`` (the other ``n - n // 2``); then Gaussian noise of
    std ``noise`` on each coordinate.
    """
    n = _check_n(n, "make_moons", 2)
    noise = _check_noise(noise, "make_moons")
    rng = make_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0.0, np.pi, n_out)
    t_in = np.linspace(0.0, np.pi, n_in)
    outer = np.stack([np.cos(t_out), np.sin(t_out)], axis=1)
    inner = np.stack([1.0 - np.cos(t_in), 1.0 - np.sin(t_in) - 0.5], axis=1)
    X = np.concatenate([outer, inner]) + noise * rng.standard_normal((n, 2))
    y = np.concatenate([np.zeros(n_out), np.ones(n_in)])
    return _shuffled(rng, X, y)


def make_spirals(n: int = 300, classes: int = 3, noise: float = 0.05, seed=None):
    """``classes`` interleaved spiral arms, ``X`` (n, 2), ``y`` (n,).

    Arm ``k`` has points at radii ``r`` evenly spaced on [0, 1] and angles
    ``theta = 2 pi k / classes + 4 r`` (each arm turns 4 radians), at
    ``r * (cos theta, sin theta)``, plus Gaussian noise of std ``noise`` on each coordinate.
    """
    n = _check_n(n, "make_spirals")
    if isinstance(classes, bool) or not isinstance(classes, (int, np.integer)) or classes < 2 \
            or classes > n:
        raise ValueError(f"make_spirals: classes must be an int in 2..n, got {classes!r}")
    noise = _check_noise(noise, "make_spirals")
    rng = make_rng(seed)
    counts = _class_counts(n, classes)
    y = np.repeat(np.arange(classes), counts)
    # the radius of each point: evenly spaced on [0, 1] within its arm
    position = np.arange(n) - np.repeat(np.cumsum(counts) - counts, counts)  # index in arm
    r = position / np.maximum(counts[y] - 1, 1)
    theta = 2.0 * np.pi * y / classes + 4.0 * r
    X = r[:, None] * np.stack([np.cos(theta), np.sin(theta)], axis=1)
    X = X + noise * rng.standard_normal((n, 2))
    return _shuffled(rng, X, y)


def make_blobs(n: int = 100, centers=3, std: float = 1.0, seed=None, n_features: int = 2,
               center_box=(-10.0, 10.0)):
    """Isotropic Gaussian blobs, ``X`` (n, n_features), ``y`` (n,).

    ``centers`` is a count (centers drawn uniformly in ``center_box`` per coordinate) or an
    array of shape (classes, n_features). Each point is ``center[y] + std * eps``,
    ``eps ~ N(0, I)``.
    """
    n = _check_n(n, "make_blobs")
    std = _check_noise(std, "make_blobs", "std")
    rng = make_rng(seed)
    if isinstance(centers, (int, np.integer)) and not isinstance(centers, bool):
        if not 1 <= centers <= n:
            raise ValueError(f"make_blobs: centers must be in 1..n, got {centers}")
        lo, hi = (float(v) for v in center_box)
        centers = lo + (hi - lo) * rng.random((int(centers), n_features))
    else:
        centers = np.asarray(centers, dtype=np.float64)
        if centers.ndim != 2 or len(centers) < 1:
            raise ValueError(f"make_blobs: centers must be a count or an array of shape "
                             f"(classes, n_features), got shape {centers.shape}")
    k, d = centers.shape
    y = np.repeat(np.arange(k), _class_counts(n, k))
    X = centers[y] + std * rng.standard_normal((n, d))
    return _shuffled(rng, X, y)
