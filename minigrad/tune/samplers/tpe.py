r"""The tree-structured Parzen estimator (Bergstra, Bardenet, Bengio and Kégl, "Algorithms for
Hyper-Parameter Optimization", NIPS 2011), with Optuna's default split size and weights, and
optionally multivariate (one kernel per trial over all parameters, as in Falkner et al. 2018
and Optuna's default since 5.0).

The observations are the complete and the pruned trials (as Optuna's: a pruned trial still
says where not to look). After ``n_startup_trials`` of them (before: random draws) they are
ranked best first, complete trials by sign · value, then pruned trials by the step they
reached (furthest first) and sign · their last intermediate value (NaN last), and split into
the ``n_below`` best ("below", the good ones) and the rest ("above")::

    n_below = min(⌈γ n⌉, 25),   γ = 0.1                        (``gamma``)

Each group becomes a mixture of kernels, one per trial j of the group plus a prior kernel,
with weights w_j (1 for the newest 25 trials and a linear ramp from 1/m up to 1 for older ones,
hyperopt's "linear forgetting"; w_prior = 1), normalized to sum to 1. On one parameter:

    continuous (t = x, or ln x for a log scale; an integer spans [lo − ½, hi + ½], rounded):
        k_j(t) = N_[a,b](t; μ_j, σ_j), a normal truncated to [a, b] (divided by its mass there);
        μ_j the trial's value, the prior μ = (a + b)/2 with σ = b − a; σ_j = the larger distance
        from μ_j to its two neighbours among the sorted means (prior included; the smallest and
        largest mean use their one neighbour), clipped to [(b − a) / min(100, m + 2), b − a]
    categorical (K values):
        k_j(c) = (1[c = c_j] + ε) / (1 + K ε),  ε = 1 / (m + 1);   the prior k(c) = 1 / K

The density of a group is p(x) = Σ_j w_j k_j(x). **Univariate** (default, the paper's TPE):
every parameter has its own mixture, drawn when the objective asks for it. **Multivariate**:
a trial's kernel is the product of its kernels on every parameter of the joint space,
p(x) = Σ_j w_j Π_d k_jd(x_d), so correlations between parameters survive; proposed before the
trial starts. l(x) is the density of "below", g(x) that of "above"; ``n_ei_candidates`` draws
from l are scored by l(x) / g(x) (the expected improvement is monotone in it, §4.1 of the
paper) and the best one is taken.
"""

from __future__ import annotations

import math

import numpy as np

from ..spaces import Choice
from ..trial import TrialState, trial_seed
from .base import BaseSampler, joint_space

__all__ = ["TPESampler", "split_below_above", "ParzenEstimator", "CategoricalKernels",
           "forgetting_weights"]


def split_below_above(values, sign: float, gamma: float = 0.1, max_below: int = 25,
                      steps=None):
    """Indices of the ``n_below = min(⌈γ n⌉, max_below)`` best observations and of the others,
    each in the order of ``values``. Best means: the furthest step reached first (``steps``;
    None: every observation complete, step +inf), then the largest sign · value (NaN worst),
    then the earliest."""
    values = np.asarray(values, dtype=np.float64)
    n_below = min(math.ceil(gamma * len(values)), max_below)
    score = np.where(np.isnan(values), -np.inf, sign * values)
    depth = np.full(len(values), np.inf) if steps is None else np.asarray(steps, np.float64)
    order = np.lexsort((np.arange(len(values)), -score, -depth))   # the last key sorts first
    return np.sort(order[:n_below]), np.sort(order[n_below:])


def forgetting_weights(n: int, flat: int = 25) -> np.ndarray:
    """Linear forgetting: the newest ``flat`` of ``n`` points weigh 1, the older ones a ramp
    from 1/n up to 1, in trial order."""
    if n <= flat:
        return np.ones(n)
    return np.concatenate([np.linspace(1.0 / n, 1.0, n - flat), np.ones(flat)])


def mixture_weights(m: int) -> np.ndarray:
    """The normalized weights of m trial kernels and the prior (last)."""
    weights = np.concatenate([forgetting_weights(m), [1.0]])
    return weights / weights.sum()


def _logsumexp(a, axis):
    top = a.max(axis, keepdims=True)
    return (top + np.log(np.exp(a - top).sum(axis, keepdims=True))).squeeze(axis)


class ParzenEstimator:
    """The truncated-normal kernels of one group on one continuous parameter (module
    docstring): ``means``, ``sigmas`` and ``mass`` per kernel (the prior last), ``weights``."""

    def __init__(self, points, low: float, high: float):
        points = np.asarray(points, dtype=np.float64)
        self.low, self.high = float(low), float(high)
        span = self.high - self.low
        means = np.concatenate([points, [0.5 * (self.low + self.high)]])
        order = np.argsort(means, kind="stable")
        padded = np.concatenate([[self.low], means[order], [self.high]])
        gaps = np.maximum(padded[1:-1] - padded[:-2], padded[2:] - padded[1:-1])
        if len(means) >= 2:     # the outermost means look at their one neighbour only
            gaps[0] = padded[2] - padded[1]
            gaps[-1] = padded[-2] - padded[-3]
        sigmas = np.empty_like(means)
        sigmas[order] = gaps
        sigmas = np.clip(sigmas, span / min(100.0, 1.0 + len(means)), span)
        sigmas[-1] = span                                   # the prior kernel
        self.means, self.sigmas = means, sigmas
        self.weights = mixture_weights(len(points))
        from .bayesian import normal_cdf
        self.mass = (normal_cdf((self.high - means) / sigmas)
                     - normal_cdf((self.low - means) / sigmas))

    def sample_kernels(self, rng, kernels) -> np.ndarray:
        """One draw from each of the given kernels (redrawn until inside [a, b])."""
        draws = rng.normal(self.means[kernels], self.sigmas[kernels])
        for _ in range(100):
            outside = (draws < self.low) | (draws > self.high)
            if not outside.any():
                break
            draws[outside] = rng.normal(self.means[kernels[outside]],
                                        self.sigmas[kernels[outside]])
        return np.clip(draws, self.low, self.high)

    def kernel_log_pdf(self, t) -> np.ndarray:
        """log k_j(t) for every point (rows) and kernel (columns)."""
        t = np.asarray(t, dtype=np.float64)[:, None]
        z = (t - self.means) / self.sigmas
        return -0.5 * z * z - np.log(self.sigmas * math.sqrt(2 * math.pi)) - np.log(self.mass)

    def sample(self, rng, n: int) -> np.ndarray:
        return self.sample_kernels(rng, rng.choice(len(self.means), size=n, p=self.weights))

    def log_pdf(self, t) -> np.ndarray:
        return _logsumexp(self.kernel_log_pdf(t) + np.log(self.weights), axis=1)


class CategoricalKernels:
    """The kernels of one group on a Choice of K values, given the observed indices."""

    def __init__(self, indices, k: int):
        m = len(indices)
        epsilon = 1.0 / (m + 1)
        table = np.full((m + 1, k), epsilon)
        table[np.arange(m), np.asarray(indices, dtype=np.int64)] += 1.0
        table[m] = 1.0                                       # the prior: uniform
        self.table = table / table.sum(1, keepdims=True)
        self.weights = mixture_weights(m)

    def sample_kernels(self, rng, kernels) -> np.ndarray:
        cumulative = self.table[kernels].cumsum(1)
        u = rng.random((len(kernels), 1))
        return np.minimum((u > cumulative).sum(1), self.table.shape[1] - 1)

    def kernel_log_pdf(self, c) -> np.ndarray:
        return np.log(self.table[:, np.asarray(c, dtype=np.int64)]).T

    def sample(self, rng, n: int) -> np.ndarray:
        return self.sample_kernels(rng, rng.choice(len(self.weights), size=n, p=self.weights))

    def log_pdf(self, c) -> np.ndarray:
        return _logsumexp(self.kernel_log_pdf(c) + np.log(self.weights), axis=1)


def _coordinate(dist, value):
    """The modelled coordinate of a value: its Choice index, or t (x or ln x)."""
    if isinstance(dist, Choice):
        return dist.index(value)
    return math.log(value) if dist.log else float(value)


def _from_coordinate(dist, t):
    if isinstance(dist, Choice):
        return dist.values[int(t)]
    low, high = dist.ends()
    return dist.from_unit([(float(t) - low) / (high - low)])


def _kernels(dist, coordinates):
    if isinstance(dist, Choice):
        return CategoricalKernels(coordinates, dist.width)
    return ParzenEstimator(coordinates, *dist.ends())


def _observations(view, names_dists=None) -> tuple:
    """The complete and pruned trials of ``view`` (those having every parameter of
    ``names_dists`` with that distribution), their values and steps reached for the split: a
    complete trial's value at step +inf, a pruned one's last intermediate value at its last
    step (NaN at −inf without any)."""
    trials, values, steps = [], [], []
    for t in view.trials:
        if t.state not in (TrialState.COMPLETE, TrialState.PRUNED):
            continue
        if names_dists is not None and any(t.distributions.get(n) != d
                                           for n, d in names_dists.items()):
            continue
        trials.append(t)
        if t.state == TrialState.COMPLETE:
            values.append(t.value)
            steps.append(math.inf)
        elif t.intermediate_values:
            values.append(t.intermediate_values[t.last_step])
            steps.append(t.last_step)
        else:
            values.append(math.nan)
            steps.append(-math.inf)
    return trials, values, steps


class TPESampler(BaseSampler):
    """Bergstra et al.'s TPE (module docstring); ``multivariate=True`` models the joint
    space's parameters together (the others stay univariate)."""

    def __init__(self, seed=None, n_startup_trials: int = 10, n_ei_candidates: int = 24,
                 gamma: float = 0.1, multivariate: bool = False):
        super().__init__(seed)
        if n_startup_trials < 1 or n_ei_candidates < 1 or not 0 < gamma <= 1:
            raise ValueError(f"TPESampler: needs n_startup_trials >= 1, n_ei_candidates >= 1, "
                             f"0 < gamma <= 1; got {n_startup_trials}, {n_ei_candidates}, "
                             f"{gamma}")
        self.n_startup_trials = n_startup_trials
        self.n_ei_candidates = n_ei_candidates
        self.gamma = gamma
        self.multivariate = bool(multivariate)

    def _groups(self, view, observations, names_dists):
        """(below, above) kernels per parameter from ``observations`` (of _observations)."""
        observed, values, steps = observations
        below, above = split_below_above(values, view.sign(), self.gamma, steps=steps)
        return [{name: _kernels(dist, [_coordinate(dist, observed[i].params[name])
                                       for i in group])
                 for name, dist in names_dists.items()} for group in (below, above)]

    def propose(self, view, number, pending) -> dict:
        if not self.multivariate:
            return {}
        observations = _observations(view)
        space = joint_space(observations[0])
        if len(observations[0]) < self.n_startup_trials or not space:
            return {}
        l_kernels, g_kernels = self._groups(view, observations, space)
        rng = trial_seed(self.seed, number, 1)
        n = self.n_ei_candidates
        first = next(iter(l_kernels.values()))
        chosen = rng.choice(len(first.weights), size=n, p=first.weights)  # one kernel per draw
        candidates = {name: k.sample_kernels(rng, chosen) for name, k in l_kernels.items()}

        def log_density(kernels):    # log Σ_j w_j Π_d k_jd(x_d); a group's kernels share w
            weights = next(iter(kernels.values())).weights
            total = sum(kernels[name].kernel_log_pdf(candidates[name]) for name in space)
            return _logsumexp(total + np.log(weights), axis=1)

        score = log_density(l_kernels) - log_density(g_kernels)
        best = int(np.argmax(score))
        return {name: _from_coordinate(dist, candidates[name][best])
                for name, dist in space.items()}

    def sample_independent(self, view, trial, name, dist):
        observations = _observations(view, {name: dist})
        if len(observations[0]) < self.n_startup_trials:
            return dist.sample(trial.rng)
        l_kernels, g_kernels = (g[name] for g in self._groups(view, observations, {name: dist}))
        candidates = l_kernels.sample(trial.rng, self.n_ei_candidates)
        score = l_kernels.log_pdf(candidates) - g_kernels.log_pdf(candidates)
        return _from_coordinate(dist, candidates[int(np.argmax(score))])
