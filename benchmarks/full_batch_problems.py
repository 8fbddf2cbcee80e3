"""Deterministic full-batch objectives shared by ``torch_check.py`` (L-BFGS against PyTorch)
and ``optimizers_full_batch.py`` (CG vs L-BFGS vs Adam): the same function, written once, for
minigrad or for torch.

- ``rosenbrock-2`` and ``rosenbrock-100``: f(x) = Σᵢ 100 (x_{i+1} − x_i²)² + (1 − x_i)², from
  the classic start (−1.2, 1, −1.2, 1, ...); minimum f* = 0 at x = (1, ..., 1).
- ``logistic-regression``: mean binary cross-entropy of σ(X w + b) on 200 samples with 10
  features (drawn from a fixed seed, labels from a logistic model) plus (λ/2)‖w‖², λ = 0.01,
  from w = 0, b = 0. Strongly convex, so the minimum is unique; f* is computed once by a long
  L-BFGS run (:func:`reference_minimum`).
"""

from __future__ import annotations

import numpy as np

PROBLEMS = ("rosenbrock-2", "rosenbrock-100", "logistic-regression")
L2 = 0.01


def _logistic_data():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 10))
    w_true = rng.normal(size=10)
    y = (rng.random(200) < 1.0 / (1.0 + np.exp(-x @ w_true))).astype(np.float64)
    return x, y


def start(name: str) -> list:
    """The starting point: one float64 array per parameter."""
    if name.startswith("rosenbrock-"):
        x0 = np.full(int(name.split("-")[1]), -1.2)
        x0[1::2] = 1.0
        return [x0]
    if name == "logistic-regression":
        return [np.zeros(10), np.zeros(())]
    raise KeyError(name)


def objective(name: str, lib):
    """``loss(params)`` for ``lib`` = the ``minigrad`` or the ``torch`` module."""
    if name.startswith("rosenbrock-"):
        def rosenbrock(params):
            x = params[0]
            return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()
        return rosenbrock
    if name == "logistic-regression":
        x, y = _logistic_data()
        if lib.__name__ == "torch":
            functional, x_t, y_t = lib.nn.functional, lib.tensor(x), lib.tensor(y)
        else:
            from minigrad.nn import functional
            x_t, y_t = lib.tensor(x, dtype=lib.float64), lib.tensor(y, dtype=lib.float64)

        def logistic(params):
            w, b = params
            return (functional.binary_cross_entropy_with_logits(x_t @ w + b, y_t)
                    + 0.5 * L2 * (w * w).sum())
        return logistic
    raise KeyError(name)


def minimum(name: str) -> float:
    """f* (0 for Rosenbrock; for the logistic regression, :func:`reference_minimum`)."""
    return 0.0 if name.startswith("rosenbrock-") else reference_minimum(name)


_REFERENCE = {}


def reference_minimum(name: str) -> float:
    """f* by minigrad's L-BFGS (strong Wolfe) run to a gradient of 1e-12: the problem is
    strongly convex, so this is the minimum to about machine precision."""
    if name not in _REFERENCE:
        import minigrad as mg
        from minigrad.nn import Parameter
        params = [Parameter(mg.tensor(v, dtype=mg.float64)) for v in start(name)]
        loss_fn = objective(name, mg)
        opt = mg.optim.LBFGS(params, tolerance_grad=1e-12, tolerance_change=0.0,
                             line_search_fn="strong_wolfe", max_iter=500)

        def closure():
            opt.zero_grad()
            loss = loss_fn(params)
            loss.backward()
            return loss
        for _ in range(5):
            opt.step(closure)
        _REFERENCE[name] = float(loss_fn(params).item())
    return _REFERENCE[name]
