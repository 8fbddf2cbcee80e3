"""minigrad.tune samplers: the GP against a NumPy transcription, EI against its formula, the
TPE split and Parzen densities by hand, determinism per seed."""

import math

import numpy as np
import pytest

from minigrad import tune
from minigrad.tune.samplers.base import decode, encode, joint_space
from minigrad.tune.samplers.bayesian import expected_improvement
from minigrad.tune.samplers.gaussian_process import (
    GaussianProcess,
    log_marginal_likelihood,
)
from minigrad.tune.samplers.tpe import (
    CategoricalKernels,
    ParzenEstimator,
    forgetting_weights,
    split_below_above,
)


def matern_by_hand(a, b, lengthscales, variance):
    """k(a, b) for two points, written out."""
    r = math.sqrt(sum(((ai - bi) / l) ** 2 for ai, bi, l in zip(a, b, lengthscales)))
    return variance * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)


def gram(xa, xb, lengthscales, variance):
    return np.array([[matern_by_hand(a, b, lengthscales, variance) for b in xb] for a in xa])


@pytest.mark.parametrize("n, dims", [(1, 1), (5, 2), (9, 3)])
def test_gp_posterior_matches_numpy_transcription(n, dims):
    rng = np.random.default_rng(n)
    x, y, x_star = rng.random((n, dims)), rng.normal(size=n), rng.random((4, dims))
    lengthscales, variance, noise = rng.uniform(0.2, 1.0, dims), 1.7, 0.05
    theta = np.concatenate([np.log(lengthscales), [math.log(variance), math.log(noise)]])
    gp = GaussianProcess().fit(x, y, theta=theta)
    mean, var = gp.predict(x_star)
    # the transcription: standardize, K⁻¹ explicitly, un-standardize
    mu, sd = y.mean(), (y.std() or 1.0)
    ys = (y - mu) / sd
    K = gram(x, x, lengthscales, variance) + noise * np.eye(n)
    k_star = gram(x, x_star, lengthscales, variance)
    K_inv = np.linalg.inv(K)
    expected_mean = mu + sd * (k_star.T @ K_inv @ ys)
    expected_var = sd ** 2 * (variance - np.einsum("ij,ik,kj->j", k_star, K_inv, k_star))
    np.testing.assert_allclose(mean, expected_mean, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(var, expected_var, rtol=1e-7, atol=1e-10)
    # the log marginal likelihood and its gradient
    lml, grad = log_marginal_likelihood(theta, x, ys)
    expected = (-0.5 * ys @ K_inv @ ys - 0.5 * np.linalg.slogdet(K)[1]
                - 0.5 * n * math.log(2 * math.pi))
    assert lml == pytest.approx(expected, rel=1e-10)
    h = 1e-6
    numeric = [(log_marginal_likelihood(theta + h * e, x, ys)[0]
                - log_marginal_likelihood(theta - h * e, x, ys)[0]) / (2 * h)
               for e in np.eye(len(theta))]
    np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6)


def test_gp_fit_raises_the_marginal_likelihood():
    rng = np.random.default_rng(0)
    x = rng.random((15, 2))
    y = np.sin(5 * x[:, 0]) + 0.1 * x[:, 1]
    gp = GaussianProcess().fit(x, y)
    ys = (y - y.mean()) / y.std()
    start = np.array([math.log(0.5), math.log(0.5), 0.0, math.log(1e-2)])
    assert log_marginal_likelihood(gp.theta, x, ys)[0] > log_marginal_likelihood(start, x, ys)[0]
    # ARD: the coordinate that matters gets the shorter length-scale
    assert gp.lengthscales[0] < gp.lengthscales[1]
    mean, _ = gp.predict(x)
    np.testing.assert_allclose(mean, y, atol=0.05)
    with pytest.raises(ValueError, match=r"expected x of shape \(n, D\)"):
        GaussianProcess().fit(x, y[:3])


def test_expected_improvement_formula():
    mean = np.array([0.0, 1.0, -2.0, 3.0])
    std = np.array([1.0, 0.5, 2.0, 1e-3])
    best, xi = 0.5, 0.1
    got = expected_improvement(mean, std, best, xi)
    for m, s, g in zip(mean, std, got):
        z = (m - best - xi) / s
        cdf = 0.5 * (1 + math.erf(z / math.sqrt(2)))
        pdf = math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
        assert g == pytest.approx((m - best - xi) * cdf + s * pdf, rel=1e-9, abs=1e-300)
    # EI is E[max(f − f* − ξ, 0)] for f ~ N(μ, σ²)
    f = np.random.default_rng(0).normal(1.0, 0.5, 400_000)
    assert got[1] == pytest.approx(np.maximum(f - best - xi, 0).mean(), rel=0.01)


def test_encoding_log_scale_and_one_hot():
    space = {"b": tune.Choice(["x", "y", "z"]), "lr": tune.LogUniform(1e-4, 1e-2),
             "n": tune.IntUniform(1, 3)}
    point = encode({"lr": 1e-3, "b": "y", "n": 2}, space)
    np.testing.assert_allclose(point, [0, 1, 0, 0.5, 0.5])
    assert decode(point, space) == {"b": "y", "lr": pytest.approx(1e-3), "n": 2}


def test_tpe_split_by_hand():
    values = [5.0, 1.0, 4.0, 2.0, 3.0, 9.0, 0.5, 7.0, 8.0, 6.0]
    below, above = split_below_above(values, sign=-1.0)          # minimize, γ = 0.1: 1 best
    assert below.tolist() == [6] and above.tolist() == [0, 1, 2, 3, 4, 5, 7, 8, 9]
    below, _ = split_below_above(values, sign=-1.0, gamma=0.25)   # ⌈2.5⌉ = 3
    assert below.tolist() == [1, 3, 6]
    below, _ = split_below_above(values, sign=1.0, gamma=0.25)    # maximize
    assert below.tolist() == [5, 7, 8]
    assert len(split_below_above(list(range(1000)), 1.0)[0]) == 25   # capped at 25


def test_parzen_estimator_by_hand():
    est = ParzenEstimator([0.2, 0.5], 0.0, 1.0)
    # means 0.2, 0.5 and the prior 0.5 (σ = 1); the outermost mean 0.2 looks at its one
    # neighbour (0.3 away), the middle one at both (0.3, 0); all clipped to ≥ 1/min(100, 4)
    np.testing.assert_allclose(est.means, [0.2, 0.5, 0.5])
    np.testing.assert_allclose(est.sigmas, [0.3, 0.3, 1.0])
    np.testing.assert_allclose(est.weights, [1 / 3] * 3)
    crowded = ParzenEstimator([0.5, 0.5, 0.5], 0.0, 1.0)   # zero gaps: the clip, 1/min(100, 5)
    np.testing.assert_allclose(crowded.sigmas, [0.2, 0.2, 0.2, 1.0])

    def truncated(t, m, s):
        def cdf(z):
            return 0.5 * (1 + math.erf(z / math.sqrt(2)))
        mass = cdf((1 - m) / s) - cdf((0 - m) / s)
        return math.exp(-0.5 * ((t - m) / s) ** 2) / (s * math.sqrt(2 * math.pi)) / mass

    for t in (0.0, 0.3, 0.9):
        expected = sum(truncated(t, m, s) for m, s in zip(est.means, est.sigmas)) / 3
        assert math.exp(est.log_pdf([t])[0]) == pytest.approx(expected, rel=1e-9)
    draws = est.sample(np.random.default_rng(0), 500)
    assert draws.min() >= 0 and draws.max() <= 1


def test_forgetting_weights_and_categorical_kernels_by_hand():
    np.testing.assert_allclose(forgetting_weights(3), [1, 1, 1])
    w = forgetting_weights(30)
    np.testing.assert_allclose(w[:5], np.linspace(1 / 30, 1, 5))
    np.testing.assert_allclose(w[5:], 1.0)
    kernels = CategoricalKernels([0, 2], k=3)         # ε = 1/3: (1 + 1/3) / (1 + 3/3)
    np.testing.assert_allclose(kernels.table, [[2 / 3, 1 / 6, 1 / 6], [1 / 6, 1 / 6, 2 / 3],
                                               [1 / 3, 1 / 3, 1 / 3]])
    expected = np.array([2 / 3 + 1 / 6 + 1 / 3, 1 / 6 + 1 / 6 + 1 / 3, 1 / 6 + 2 / 3 + 1 / 3]) / 3
    np.testing.assert_allclose(np.exp(kernels.log_pdf([0, 1, 2])), expected)
    draws = kernels.sample(np.random.default_rng(0), 6000)
    np.testing.assert_allclose(np.bincount(draws, minlength=3) / 6000, expected, atol=0.02)


def objective(trial):
    x = trial.suggest_float("x", -2, 2)
    lr = trial.suggest_float("lr", 1e-4, 1, log=True)
    n = trial.suggest_int("n", 1, 8)
    act = trial.suggest_categorical("act", ["relu", "tanh", "gelu"])
    return (x - 0.5) ** 2 + (math.log10(lr) + 2) ** 2 + 0.1 * abs(n - 3) + \
        (0.0 if act == "tanh" else 0.5)


SAMPLERS = {
    "random": lambda seed: tune.RandomSampler(seed=seed),
    "tpe": lambda seed: tune.TPESampler(seed=seed, n_startup_trials=5),
    "tpe-multivariate": lambda seed: tune.TPESampler(seed=seed, n_startup_trials=5,
                                                     multivariate=True),
    "bayes": lambda seed: tune.BayesianSampler(seed=seed, n_startup_trials=5, n_candidates=200),
}


@pytest.mark.parametrize("name", list(SAMPLERS))
def test_deterministic_per_seed_and_valid_values(name):
    def run(seed):
        study = tune.Study(sampler=SAMPLERS[name](seed))
        study.optimize(objective, 12)
        return [t.params for t in study.trials], study

    first, study = run(11)
    assert run(11)[0] == first
    assert run(12)[0] != first
    for t in study.trials:
        assert t.state == "complete"
        for key, value in t.params.items():
            assert t.distributions[key].contains(value), (key, value)


def test_model_based_samplers_beat_random_on_a_smooth_function():
    def bowl(trial):
        x = trial.suggest_float("x", -5, 5)
        y = trial.suggest_float("y", -5, 5)
        return (x - 1.3) ** 2 + (y + 0.7) ** 2

    best = {}
    for name in ("random", "bayes", "tpe-multivariate"):
        study = tune.Study(sampler=SAMPLERS[name](0))
        study.optimize(bowl, 20)
        best[name] = study.best_value
    assert best["bayes"] < 0.05 and best["bayes"] < best["random"]
    assert best["tpe-multivariate"] < best["random"]


def test_joint_space_keeps_shared_parameters_only():
    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("a", 0, 1) +
                   (t.suggest_float("b", 0, 1) if t.number % 2 else 0.0), 4)
    assert list(joint_space(study.trials)) == ["a"]


def test_benchmark_functions_at_their_minima():
    from minigrad.tune.functions import BRANIN_MIN, HARTMANN6_MIN, branin, hartmann6

    for x, y in ((-math.pi, 12.275), (math.pi, 2.275), (9.42478, 2.475)):
        assert branin(x, y) == pytest.approx(BRANIN_MIN, abs=1e-5)
    best = [0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]
    assert hartmann6(best) == pytest.approx(HARTMANN6_MIN, abs=1e-4)
    assert hartmann6(np.full(6, 0.5)) > HARTMANN6_MIN + 0.5


def test_tpe_ranks_pruned_trials_after_complete_ones_by_step_then_value():
    """Optuna's order: complete trials by value, then pruned ones by the step they reached
    (furthest first), then by their last value (NaN worst)."""
    values = [0.9, 0.5, 0.99, 0.7, float("nan"), 0.8]
    steps = [math.inf, math.inf, 1, 3, 3, 3]       # trials 0, 1 complete; 2..5 pruned

    def order(gamma):
        return split_below_above(values, 1.0, gamma, steps=steps)[0].tolist()

    assert order(1 / 6) == [0]
    assert order(2 / 6) == [0, 1]                  # 0.5 complete beats every pruned value
    assert order(3 / 6) == [0, 1, 5]               # step 3: 0.8 before 0.7, NaN last
    assert order(5 / 6) == [0, 1, 3, 4, 5]         # 0.99 at step 1 comes after step 3's NaN
    assert split_below_above(values[:2], -1.0, 0.5)[0].tolist() == [1]   # no steps: complete


def test_tpe_learns_from_pruned_trials():
    """Pruned trials count as observations (startup and split), as in Optuna: a study whose
    trials are all pruned still leaves random search after n_startup_trials."""
    from minigrad.tune.trial import FrozenTrial, StudyView

    dist = tune.Uniform(0.0, 1.0)
    pruned = tuple(FrozenTrial(i, "pruned", params={"x": x}, distributions={"x": dist},
                               intermediate_values={1: -abs(x - 0.3)})
                   for i, x in enumerate(np.linspace(0.05, 0.95, 10)))
    sampler = tune.TPESampler(seed=0, n_startup_trials=10)
    draws = [tune.Trial(100 + k, StudyView("maximize", pruned), sampler).suggest("x", dist)
             for k in range(20)]
    assert np.median(np.abs(np.array(draws) - 0.3)) < 0.15      # drawn near the best one
    random_draws = [tune.Trial(100 + k, StudyView("maximize", pruned[:9]), sampler)
                    .suggest("x", dist) for k in range(20)]
    assert np.median(np.abs(np.array(random_draws) - 0.3)) > 0.15  # 9 < 10: still random


def test_gp_linear_algebra_runs_on_one_blas_thread(monkeypatch):
    """The GP's small Cholesky factors run on one OpenBLAS thread, the count restored after."""
    from minigrad import backend

    before = backend.get_num_threads()
    if before is None:
        pytest.skip("NumPy here is not linked to an OpenBLAS this process can see")
    seen, cholesky = [], np.linalg.cholesky

    def recording(a):
        seen.append(backend.get_num_threads())
        return cholesky(a)

    monkeypatch.setattr(np.linalg, "cholesky", recording)
    rng = np.random.default_rng(0)
    GaussianProcess().fit(rng.random((12, 2)), rng.normal(size=12))
    assert seen and set(seen) == {1}
    assert backend.get_num_threads() == before
