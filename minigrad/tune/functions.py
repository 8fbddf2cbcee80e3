r"""Standard test functions of global optimization, as objectives (the benchmarks and the
tuning example use them; each is cheap, so a sampler's own quality and cost show).

Branin (Branin–Hoo), x ∈ [−5, 10], y ∈ [0, 15]; global minimum 0.397887 at (−π, 12.275),
(π, 2.275) and (9.42478, 2.475)::

    f(x, y) = (y − b x² + c x − r)² + s (1 − t) cos x + s,
    b = 5.1 / (4π²), c = 5 / π, r = 6, s = 10, t = 1 / (8π)

Hartmann-6, x ∈ [0, 1]⁶; global minimum −3.32237 at
(0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573)::

    f(x) = −Σ_{i=1..4} α_i exp(−Σ_{j=1..6} A_ij (x_j − P_ij)²)
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["branin", "hartmann6", "branin_objective", "hartmann6_objective", "BRANIN_MIN",
           "HARTMANN6_MIN"]

BRANIN_MIN = 0.397887
HARTMANN6_MIN = -3.32237

_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
_A = np.array([[10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
               [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
               [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
               [17.0, 8.0, 0.05, 10.0, 0.1, 14.0]])
_P = 1e-4 * np.array([[1312, 1696, 5569, 124, 8283, 5886],
                      [2329, 4135, 8307, 3736, 1004, 9991],
                      [2348, 1451, 3522, 2883, 3047, 6650],
                      [4047, 8828, 8732, 5743, 1091, 381]])


def branin(x: float, y: float) -> float:
    b, c, r, s, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 6.0, 10.0, 1 / (8 * math.pi)
    return (y - b * x * x + c * x - r) ** 2 + s * (1 - t) * math.cos(x) + s


def hartmann6(x) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float(-(_ALPHA * np.exp(-(_A * (x - _P) ** 2).sum(1))).sum())


def branin_objective(trial) -> float:
    return branin(trial.suggest_float("x", -5.0, 10.0), trial.suggest_float("y", 0.0, 15.0))


def hartmann6_objective(trial) -> float:
    return hartmann6([trial.suggest_float(f"x{j}", 0.0, 1.0) for j in range(6)])
