"""minigrad.data.selection and LinearModel: scores against their textbook formulas (and SciPy /
scikit-learn when installed), selectors' support and round trips, model-driven selection."""

import numpy as np
import pytest

import minigrad
from minigrad import data
from minigrad.data._special import betainc, digamma_int, f_sf


def _problem(seed=0, n=200):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 6))
    y = (x[:, 1] - 2 * x[:, 4] + 0.3 * rng.standard_normal(n) > 0).astype(np.int64)
    return x, y


def test_f_classif_against_anova_by_hand(device):
    x, y = _problem()
    F, p = data.f_classif(minigrad.tensor(x, device=device), minigrad.tensor(y, device=device))
    for j in range(x.shape[1]):
        groups = [x[y == c, j] for c in (0, 1)]
        grand = x[:, j].mean()
        ssb = sum(len(g) * (g.mean() - grand) ** 2 for g in groups)
        ssw = sum(((g - g.mean()) ** 2).sum() for g in groups)
        assert F[j] == pytest.approx(ssb / 1 / (ssw / (len(y) - 2)), rel=1e-10)
    assert p[1] < 1e-4 and p[4] < 1e-10 and np.argsort(p)[:2].tolist() == [4, 1]


def test_f_regression_against_correlation():
    x, _ = _problem()
    target = 3 * x[:, 2] + np.random.default_rng(5).standard_normal(len(x))
    F, _ = data.f_regression(x, target)
    r = np.array([np.corrcoef(x[:, j], target)[0, 1] for j in range(6)])
    np.testing.assert_allclose(F, r ** 2 / (1 - r ** 2) * (len(x) - 2), rtol=1e-10)


def test_special_functions_against_closed_forms():
    xs = np.linspace(0, 1, 11)
    np.testing.assert_allclose(betainc(1.0, 1.0, xs), xs, atol=1e-14)          # uniform
    np.testing.assert_allclose(betainc(2.0, 1.0, xs), xs ** 2, atol=1e-14)
    np.testing.assert_allclose(betainc(0.5, 0.5, xs), 2 / np.pi * np.arcsin(np.sqrt(xs)),
                               atol=1e-12)
    assert digamma_int(1) == pytest.approx(-0.5772156649015329)
    assert digamma_int(np.array([10]))[0] == pytest.approx(sum(1 / k for k in range(1, 10))
                                                           - 0.5772156649015329)
    stats = pytest.importorskip("scipy.stats")
    F = np.array([0.01, 0.5, 1.0, 3.0, 20.0])
    np.testing.assert_allclose(f_sf(F, 3, 40), stats.f.sf(F, 3, 40), rtol=1e-10)


def test_mutual_info_ranks_informative_features():
    x, y = _problem(n=400)
    mi = data.mutual_info_classif(x, y, seed=0)
    assert set(np.argsort(mi)[-2:]) == {1, 4}
    discrete = np.stack([y, np.zeros_like(y)], axis=1)
    exact = data.mutual_info_classif(discrete, y, discrete_features=True)
    p = np.bincount(y) / len(y)
    assert exact[0] == pytest.approx(-(p * np.log(p)).sum())            # I(y; y) = H(y)
    assert exact[1] == 0.0


def test_variance_threshold_and_select_k_best():
    x, y = _problem()
    x[:, 3] = 7.0
    x[:, 0] *= 0.01
    vt = data.VarianceThreshold().fit(x)
    assert vt.get_support(indices=True).tolist() == [0, 1, 2, 4, 5]
    np.testing.assert_allclose(vt.variances_[[1, 2]], x[:, [1, 2]].var(0))
    assert data.VarianceThreshold(0.01).fit(x).get_support(indices=True).tolist() == [1, 2, 4, 5]
    kb = data.SelectKBest(data.f_classif, k=2).fit(x, y)
    assert kb.get_support(indices=True).tolist() == [1, 4]
    z = kb.transform(x)
    np.testing.assert_array_equal(z, x[:, [1, 4]])
    back = kb.inverse_transform(z)
    np.testing.assert_array_equal(back[:, [1, 4]], z)
    assert (back[:, [0, 2, 3, 5]] == 0).all()
    with pytest.raises(ValueError, match=r"SelectKBest.fit: k=9 is larger than the number of "
                                         r"features 6 \(X of shape \(200, 6\)\)"):
        data.SelectKBest(k=9).fit(x, y)
    with pytest.raises(ValueError, match="VarianceThreshold.fit: no feature"):
        data.VarianceThreshold(100.0).fit(x)
    with pytest.raises(RuntimeError, match="SelectKBest.transform: not fitted"):
        data.SelectKBest(k=1).transform(x)


def test_linear_model_l1_zeros_and_gradient_descent(device):
    x, y = _problem()
    xt = minigrad.tensor(x, device=device)
    dense = data.LinearModel(epochs=200, lr=0.5).fit(xt, y)
    sparse = data.LinearModel(alpha=0.05, epochs=300, lr=0.5).fit(xt, y)
    assert (dense.coef_ != 0).all()
    assert set(np.flatnonzero(np.abs(sparse.coef_).sum(0))) == {1, 4}       # exact zeros
    assert (sparse.predict(xt) == y).mean() > 0.9
    # one epoch equals one plain gradient step of the mean cross-entropy from zero weights
    one = data.LinearModel(epochs=1, lr=0.3).fit(x, y)
    onehot = np.eye(2)[y]
    grad_w = (np.full((len(y), 2), 0.5) - onehot).T @ x / len(y)
    np.testing.assert_allclose(one.coef_, -0.3 * grad_w, rtol=1e-5, atol=1e-7)


def test_rfe_and_select_from_model():
    x, y = _problem()
    rfe = data.RFE(data.LinearModel(epochs=150, lr=0.5), n_features_to_select=2, step=1).fit(x, y)
    assert rfe.get_support(indices=True).tolist() == [1, 4]
    assert sorted(rfe.ranking_.tolist()) == [1, 1, 2, 3, 4, 5]
    assert rfe.estimator_.coef_.shape == (2, 2)
    sfm = data.SelectFromModel(data.LinearModel(alpha=0.05, epochs=300, lr=0.5)).fit(x, y)
    assert sfm.threshold_ == 1e-5 and sfm.get_support(indices=True).tolist() == [1, 4]
    mean_rule = data.SelectFromModel(data.LinearModel(epochs=100), threshold="0.5*mean").fit(x, y)
    assert mean_rule.threshold_ == pytest.approx(0.5 * mean_rule.importances_.mean())
    with pytest.raises(ValueError, match=r"RFE.fit: n_features_to_select=7 must be an int in "
                                         r"1..6"):
        data.RFE(data.LinearModel(), n_features_to_select=7).fit(x, y)


@pytest.mark.filterwarnings("ignore:Features .* are constant", "ignore:invalid value")
def test_selection_agrees_with_sklearn():
    fs = pytest.importorskip("sklearn.feature_selection")
    x, y = _problem(3)
    x[:, 2] = 1.0
    ours, ref = data.f_classif(x, y), fs.f_classif(x, y)
    np.testing.assert_allclose(ours[0], ref[0], rtol=1e-10)
    np.testing.assert_allclose(ours[1], ref[1], rtol=1e-8, atol=1e-300)
    # the constant feature's estimate is pure jitter noise (random), so compare the others
    informative = [0, 1, 3, 4, 5]
    np.testing.assert_allclose(data.mutual_info_classif(x, y, seed=0)[informative],
                               fs.mutual_info_classif(x, y, random_state=0)[informative],
                               atol=1e-6)
    np.testing.assert_array_equal(data.VarianceThreshold().fit(x).get_support(),
                                  fs.VarianceThreshold().fit(x).get_support())
