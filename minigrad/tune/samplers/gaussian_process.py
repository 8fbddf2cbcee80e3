r"""A Gaussian-process regression model on the unit cube (NumPy, float64, host-side: trial
data are a few hundred points).

Kernel (Matérn 5/2 with one length-scale per coordinate, ARD)::

    r(x, x')  = sqrt( Σ_d ((x_d − x'_d) / ℓ_d)² )
    k(x, x')  = σ_f² (1 + √5 r + 5 r² / 3) exp(−√5 r)

Targets are standardized (ỹ = (y − mean y) / std y); with K = k(X, X) + σ_n² I = L Lᵀ and
α = K⁻¹ ỹ, the posterior at test points X* (k* = k(X, X*)) is::

    μ(x*)  = k*ᵀ α
    σ²(x*) = k(x*, x*) − vᵀ v,   v = L⁻¹ k*          (then un-standardized)

The hyper-parameters θ = (ln ℓ_1..ln ℓ_D, ln σ_f², ln σ_n²) maximize the log marginal
likelihood::

    log p(ỹ | X, θ) = −½ ỹᵀ α − Σ_i ln L_ii − (n/2) ln 2π

whose gradient is ∂/∂θ_j = ½ tr((α αᵀ − K⁻¹) ∂K/∂θ_j), with::

    ∂K/∂ln ℓ_d   = σ_f² (5/3) (1 + √5 r) exp(−√5 r) ((x_d − x'_d) / ℓ_d)²
    ∂K/∂ln σ_f²  = k(X, X)
    ∂K/∂ln σ_n²  = σ_n² I

minimized as −log p by :class:`minigrad.optim.LBFGS` (strong-Wolfe line search) from two fixed
starting points, with a quadratic penalty 50·(distance outside the box)² keeping θ in
:data:`BOUNDS` (clipped there at the end; the likelihood is read at θ clamped to the box
widened by 2 in each log coordinate). Fixed starts keep the fit a function of the data only.

The linear algebra (Cholesky factors and inverses of n × n matrices, n a few hundred) runs on
one BLAS thread (:class:`minigrad.backend.blas_threads`): at that size threads cost more to
wake and synchronize than they save, and on a busy machine far more (a 200 × 200 Cholesky took
7 ms on two threads of a loaded 2-core machine against 0.2 ms on one).
"""

from __future__ import annotations

import math

import numpy as np

from ...backend import blas_threads

__all__ = ["matern52", "GaussianProcess", "log_marginal_likelihood"]

SQRT5 = math.sqrt(5.0)
#: The box of each hyper-parameter (natural scale): length-scales on the unit cube, the
#: signal variance and the noise variance of standardized targets.
BOUNDS = {"lengthscale": (0.01, 20.0), "variance": (0.05, 20.0), "noise": (1e-6, 0.5)}
_PENALTY = 50.0


def _scaled_sq_diffs(x1, x2, lengthscales):
    """((x1_id − x2_jd) / ℓ_d)² for every pair: shape (n1, n2, D)."""
    diff = (x1[:, None, :] - x2[None, :, :]) / lengthscales
    return diff * diff


def matern52(x1, x2, lengthscales, variance):
    """k(x1_i, x2_j) for every pair (the kernel of the module docstring)."""
    r = np.sqrt(_scaled_sq_diffs(x1, x2, np.asarray(lengthscales)).sum(-1))
    return variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r)


def _unpack(theta, dims):
    return np.exp(theta[:dims]), math.exp(theta[dims]), math.exp(theta[dims + 1])


def log_marginal_likelihood(theta, x, y, sq=None):
    """(log p(y | X, θ), its gradient in θ) for standardized ``y`` (formulas above).
    ``sq``: the (n, n, D) squared differences (unscaled), to reuse across calls."""
    n, dims = x.shape
    lengthscales, variance, noise = _unpack(theta, dims)
    if sq is None:
        sq = _scaled_sq_diffs(x, x, np.ones(dims))
    scaled = sq / (lengthscales * lengthscales)             # ((x_d − x'_d) / ℓ_d)²
    r = np.sqrt(scaled.sum(-1))
    decay = np.exp(-SQRT5 * r)
    k_f = variance * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * decay
    K = k_f + noise * np.eye(n)
    try:
        L = np.linalg.cholesky(K)
    except np.linalg.LinAlgError:
        return -np.inf, np.zeros_like(theta)
    L_inv = np.linalg.inv(L)
    K_inv = L_inv.T @ L_inv
    alpha = K_inv @ y
    lml = -0.5 * y @ alpha - np.log(np.diag(L)).sum() - 0.5 * n * math.log(2.0 * math.pi)
    W = np.outer(alpha, alpha) - K_inv
    grad = np.empty_like(theta)
    dk_common = variance * (5.0 / 3.0) * (1.0 + SQRT5 * r) * decay   # times scaled_d
    grad[:dims] = 0.5 * np.einsum("ij,ijd->d", W * dk_common, scaled)
    grad[dims] = 0.5 * (W * k_f).sum()
    grad[dims + 1] = 0.5 * noise * np.trace(W)
    return float(lml), grad


def _box(dims):
    lo = [math.log(BOUNDS["lengthscale"][0])] * dims + [math.log(BOUNDS["variance"][0]),
                                                        math.log(BOUNDS["noise"][0])]
    hi = [math.log(BOUNDS["lengthscale"][1])] * dims + [math.log(BOUNDS["variance"][1]),
                                                        math.log(BOUNDS["noise"][1])]
    return np.array(lo), np.array(hi)


class GaussianProcess:
    """GP regression with the Matérn-5/2 kernel: ``fit(x, y)`` (hyper-parameters by maximum
    marginal likelihood unless ``theta`` is given), ``predict(x) -> (mean, variance)``."""

    def fit(self, x, y, theta=None, max_iter: int = 40):
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        if x.ndim != 2 or y.shape != (x.shape[0],) or x.shape[0] < 1:
            raise ValueError(f"GaussianProcess.fit: expected x of shape (n, D) and y of shape "
                             f"(n,), got {x.shape} and {y.shape}")
        self.x = x
        self.y_mean = float(y.mean())
        self.y_std = float(y.std()) or 1.0
        self.y = (y - self.y_mean) / self.y_std
        dims = x.shape[1]
        with blas_threads(1):
            if theta is None:
                theta = self._maximize_likelihood(max_iter)
            self.theta = np.asarray(theta, dtype=np.float64)
            self.lengthscales, self.variance, self.noise = _unpack(self.theta, dims)
            K = matern52(x, x, self.lengthscales, self.variance) + self.noise * np.eye(len(x))
            self.L = np.linalg.cholesky(K)
            self.L_inv = np.linalg.inv(self.L)
            self.alpha = self.L_inv.T @ (self.L_inv @ self.y)
        return self

    def _maximize_likelihood(self, max_iter):
        import minigrad as mg
        from minigrad.optim import LBFGS

        dims = self.x.shape[1]
        sq = _scaled_sq_diffs(self.x, self.x, np.ones(dims))
        lo, hi = _box(dims)
        best, best_value = None, -np.inf
        for start in (0.5, 0.15):   # ℓ_d of the two fixed starting points
            theta = mg.tensor(np.array([math.log(start)] * dims + [0.0, math.log(1e-2)]),
                              dtype=mg.float64, requires_grad=True)

            def closure(theta=theta):
                t = theta.data
                # the likelihood is read at θ clamped near the box: a line search trying a
                # far point gets the penalty's slope back, not an overflow
                lml, grad = log_marginal_likelihood(np.clip(t, lo - 2.0, hi + 2.0), self.x,
                                                    self.y, sq)
                below, above = np.minimum(t - lo, 0.0), np.maximum(t - hi, 0.0)
                outside = below + above
                loss = -lml + _PENALTY * float((outside * outside).sum())
                theta.grad = mg.tensor(-grad + 2.0 * _PENALTY * outside, dtype=mg.float64)
                return mg.tensor(loss if math.isfinite(loss) else 1e300, dtype=mg.float64)

            LBFGS([theta], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe").step(
                closure)
            candidate = np.clip(theta.data, lo, hi)
            value = log_marginal_likelihood(candidate, self.x, self.y, sq)[0]
            if value > best_value:
                best, best_value = candidate, value
        if best is None:   # no start gave a positive-definite K: the largest noise
            best = np.array([math.log(0.5)] * dims + [0.0, math.log(BOUNDS["noise"][1])])
        return best

    def predict(self, x):
        """Posterior mean and variance at the rows of ``x`` (in the units of y)."""
        x = np.asarray(x, dtype=np.float64)
        k_star = matern52(self.x, x, self.lengthscales, self.variance)
        mean = k_star.T @ self.alpha
        with blas_threads(1):
            v = self.L_inv @ k_star
        var = np.maximum(self.variance - (v * v).sum(0), 1e-12)
        return self.y_mean + self.y_std * mean, var * self.y_std ** 2
