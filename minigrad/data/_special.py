"""The few special functions feature selection needs (no SciPy): the F distribution's upper
tail through the regularized incomplete beta function, and the digamma function at positive
integers. Host-side (NumPy) helpers for per-feature statistics."""

from __future__ import annotations

import math

import numpy as np

_TINY = 1e-300
_EULER_GAMMA = 0.5772156649015329


def _beta_continued_fraction(a: float, b: float, x: np.ndarray, iterations: int = 500):
    """The continued fraction of ``I_x(a, b)`` (for ``x < (a + 1) / (a + b + 2)``, where it
    converges fast), evaluated by the modified Lentz method::

        I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * 1 / (1 + d_1 / (1 + d_2 / (1 + ...)))
        d_{2m+1} = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1))
        d_{2m}   =  m (b - m) x / ((a + 2m - 1)(a + 2m))
    """
    def clamp(v):
        return np.where(np.abs(v) < _TINY, _TINY, v)

    c = np.ones_like(x)
    d = 1.0 / clamp(1.0 - (a + b) * x / (a + 1.0))
    h = d.copy()
    for m in range(1, iterations + 1):
        even = m * (b - m) * x / ((a + 2 * m - 1.0) * (a + 2 * m))
        d = 1.0 / clamp(1.0 + even * d)
        c = clamp(1.0 + even / c)
        h *= d * c
        odd = -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1.0))
        d = 1.0 / clamp(1.0 + odd * d)
        c = clamp(1.0 + odd / c)
        delta = d * c
        h *= delta
        if np.all(np.abs(delta - 1.0) < 1e-15):
            break
    return h


def betainc(a: float, b: float, x) -> np.ndarray:
    """The regularized incomplete beta function ``I_x(a, b)`` for scalar ``a, b > 0`` and an
    array ``x`` in [0, 1], using ``I_x(a, b) = 1 - I_{1-x}(b, a)`` where the fraction is slow."""
    x = np.asarray(x, dtype=np.float64)
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    inner = np.clip(x, _TINY, 1.0 - 1e-16)
    front = np.exp(a * np.log(inner) + b * np.log1p(-inner) - log_beta)
    direct = x < (a + 1.0) / (a + b + 2.0)
    low = front * _beta_continued_fraction(a, b, np.where(direct, inner, 0.0)) / a
    high = 1.0 - front * _beta_continued_fraction(b, a, np.where(direct, 0.0, 1.0 - inner)) / b
    out = np.where(direct, low, high)
    return np.where(x <= 0.0, 0.0, np.where(x >= 1.0, 1.0, out))


def f_sf(F, d1: float, d2: float) -> np.ndarray:
    """``P(F' > F)`` for ``F' ~ F(d1, d2)``: ``I_{d2 / (d2 + d1 F)}(d2 / 2, d1 / 2)``
    (NaN stays NaN; an infinite F gives 0)."""
    F = np.asarray(F, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        x = d2 / (d2 + d1 * np.where(np.isnan(F), 0.0, F))
    out = betainc(d2 / 2.0, d1 / 2.0, np.where(np.isinf(F), 0.0, x))
    return np.where(np.isnan(F), np.nan, out)


def digamma_int(n) -> np.ndarray:
    """``psi(n)`` at positive integers: ``psi(n) = -gamma + sum_{k=1}^{n-1} 1/k``."""
    n = np.asarray(n, dtype=np.int64)
    harmonic = np.concatenate([[0.0], np.cumsum(1.0 / np.arange(1, max(int(n.max()), 1)))])
    return harmonic[n - 1] - _EULER_GAMMA
