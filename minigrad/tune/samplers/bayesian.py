r"""Bayesian optimization with a Gaussian process and expected improvement.

Each proposal, once ``n_startup_trials`` trials are complete (before that: random draws):

1. The joint space is the parameters every complete trial has (same distribution); each trial
   is a point x of the unit cube (``spaces`` encodings: log-scaled where asked, one-hot for a
   Choice) and s = sign · value is to be maximized (sign = +1 to maximize, −1 to minimize).
2. A :class:`GaussianProcess` (Matérn 5/2) is fitted to (x, s), its hyper-parameters by
   maximum marginal likelihood. The proposals already made in the same batch are added as
   points whose s is the best one observed ("constant liar": the model then sees no
   improvement left there, so a batch spreads out).
3. The next point maximizes the expected improvement over f* = max s::

       Z  = (μ(x) − f* − ξ) / σ(x)
       EI = (μ(x) − f* − ξ) Φ(Z) + σ(x) φ(Z)

   (Φ, φ the standard normal CDF and density; ξ = ``xi`` times the std of s, default 0: a
   margin such as 0.01 kept the search from refining a found optimum on Hartmann-6) over
   ``n_candidates`` uniform random points plus as many Gaussian perturbations (σ = 0.1) of the
   10 best observed points, then a local refinement of the ``n_refine`` best candidates:
   3 rounds at each σ of (0.05, 0.02, 0.005), each round trying 32 Gaussian perturbations of
   the continuous coordinates of every point and keeping the best if it raises EI.
   Categorical blocks stay one-hot.
"""

from __future__ import annotations

import math

import numpy as np

from ..trial import trial_seed
from .base import BaseSampler, continuous_mask, decode, encode, joint_space, random_points
from .gaussian_process import GaussianProcess

__all__ = ["BayesianSampler", "expected_improvement", "normal_cdf", "normal_pdf"]

#: The local search: σ of the perturbations around the best observed points, the σ of each
#: refinement stage, the rounds per stage and the perturbations per point and round.
NEAR_SCALE = 0.1
REFINE_SCALES = (0.05, 0.02, 0.005)
REFINE_ROUNDS = 3
REFINE_TRIES = 32
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def normal_cdf(z):
    """Φ(z) = ½ erfc(−z/√2), computed from the side where erfc is accurate."""
    from minigrad.functions.activation import erfc

    z = np.asarray(z, dtype=np.float64)
    tail = 0.5 * erfc(np.abs(z) * _INV_SQRT2)        # Φ(−|z|)
    return np.where(z < 0, tail, 1.0 - tail)


def normal_pdf(z):
    """φ(z) = exp(−z²/2) / √(2π)."""
    z = np.asarray(z, dtype=np.float64)
    return _INV_SQRT_2PI * np.exp(-0.5 * z * z)


def expected_improvement(mean, std, best, xi=0.0):
    """EI = (μ − f* − ξ) Φ(Z) + σ φ(Z), Z = (μ − f* − ξ) / σ (for maximization)."""
    improvement = np.asarray(mean) - best - xi
    z = improvement / std
    return improvement * normal_cdf(z) + std * normal_pdf(z)


class BayesianSampler(BaseSampler):
    """GP + expected improvement (see the module docstring). Parameters outside the joint
    space, and every parameter of the first ``n_startup_trials`` trials, are drawn at random."""

    def __init__(self, seed=None, n_startup_trials: int = 10, n_candidates: int = 1000,
                 n_refine: int = 5, xi: float = 0.0):
        super().__init__(seed)
        if n_startup_trials < 1 or n_candidates < 1 or n_refine < 0 or xi < 0:
            raise ValueError(f"BayesianSampler: needs n_startup_trials >= 1, n_candidates >= "
                             f"1, n_refine >= 0, xi >= 0; got {n_startup_trials}, "
                             f"{n_candidates}, {n_refine}, {xi}")
        self.n_startup_trials = n_startup_trials
        self.n_candidates = n_candidates
        self.n_refine = n_refine
        self.xi = xi

    def propose(self, view, number, pending) -> dict:
        complete = view.complete()
        if len(complete) < self.n_startup_trials:
            return {}
        space = joint_space(complete)
        if not space:
            return {}
        x = np.stack([encode(t.params, space) for t in complete])
        s = view.sign() * np.array([t.value for t in complete], dtype=np.float64)
        best = float(s.max())
        lies = [encode(p, space) for p in pending if all(k in p for k in space)]
        if lies:
            x = np.concatenate([x, np.stack(lies)])
            s = np.concatenate([s, np.full(len(lies), best)])
        gp = GaussianProcess().fit(x, s)
        rng = trial_seed(self.seed, number, 1)
        xi = self.xi * gp.y_std

        def acquisition(points):
            mean, var = gp.predict(points)
            return expected_improvement(mean, np.sqrt(var), best, xi)

        moving = continuous_mask(space)
        n_moving = int(moving.sum())
        top = x[np.argsort(-s, kind="stable")[:10]]
        near = top[rng.integers(len(top), size=self.n_candidates)]
        near[:, moving] = np.clip(near[:, moving] + NEAR_SCALE * rng.standard_normal(
            (self.n_candidates, n_moving)), 0.0, 1.0)
        candidates = np.concatenate([random_points(space, self.n_candidates, rng), near])
        scores = acquisition(candidates)
        order = np.argsort(-scores, kind="stable")[:max(1, self.n_refine)]
        points, values = candidates[order], scores[order]
        if n_moving:
            # all the refined points move at once: one GP prediction per round
            for scale in REFINE_SCALES:
                for _ in range(REFINE_ROUNDS):
                    tries = np.repeat(points, REFINE_TRIES, axis=0)
                    tries[:, moving] = np.clip(tries[:, moving] + scale * rng.standard_normal(
                        (len(tries), n_moving)), 0.0, 1.0)
                    tried = acquisition(tries).reshape(len(points), REFINE_TRIES)
                    j = np.argmax(tried, axis=1)
                    better = tried[np.arange(len(points)), j] > values
                    chosen = tries.reshape(len(points), REFINE_TRIES, -1)[np.arange(len(points)), j]
                    points[better] = chosen[better]
                    values[better] = tried[np.arange(len(points)), j][better]
        return decode(points[int(np.argmax(values))], space)
