"""minigrad.data.Pipeline and the estimator contract every data-preparation class keeps
(scikit-learn's ``check_estimator`` habit: each one tested the same way)."""

import numpy as np
import pytest

import minigrad
from minigrad import data


def _table(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((40, 4)) * [1, 10, 0.1, 3]
    y = (x[:, 0] + 0.1 * x[:, 1] > 0).astype(np.int64)
    return x, y


# every fitted transformer on numeric (n, 4) data: (factory, needs y)
ESTIMATORS = [
    (lambda: data.StandardScaler(), False),
    (lambda: data.RobustScaler(quantile_range=(10.0, 90.0)), False),
    (lambda: data.OutlierDetector("iqr", action="clip"), False),
    (lambda: data.OneHotEncoder(handle_unknown="ignore"), False),
    (lambda: data.OrdinalEncoder(), False),
    (lambda: data.PCA(2, whiten=True), False),
    (lambda: data.LinearDiscriminantAnalysis(), True),
]


def _fit(est, needs_y, x, y):
    xi = np.round(x).astype(np.int64) if "Encoder" in type(est).__name__ else x
    (est.fit(xi, y) if needs_y else est.fit(xi))
    return xi


@pytest.mark.parametrize("factory,needs_y", ESTIMATORS)
def test_estimator_contract(factory, needs_y, tmp_path):
    x, y = _table()
    est = factory()
    name = type(est).__name__
    with pytest.raises(RuntimeError, match=f"{name}.transform: not fitted"):
        est.transform(x)
    with pytest.raises(RuntimeError, match=f"{name}.state_dict: not fitted"):
        est.state_dict()
    xi = _fit(est, needs_y, x, y)
    out = est.transform(xi)
    assert "fitted" in repr(est)
    minigrad.save({"prep": est.state_dict()}, tmp_path / "state.npz")
    fresh = factory()
    fresh.load_state_dict(minigrad.load(tmp_path / "state.npz")["prep"])
    np.testing.assert_array_equal(fresh.transform(xi), out)
    other = data.StandardScaler() if name != "StandardScaler" else data.PCA()
    with pytest.raises(ValueError, match="load_state_dict: the state is for"):
        other.load_state_dict(est.state_dict())


def test_pipeline_fits_each_step_on_the_previous_output():
    x, y = _table()
    x[3, 1] = 500.0                                      # an outlier
    pipe = data.Pipeline([("clip", data.OutlierDetector("zscore", 2.0, action="clip")),
                          ("scale", data.StandardScaler()), ("pca", data.PCA(2))])
    z = pipe.fit_transform(x, y)
    # the same steps by hand
    clip = data.OutlierDetector("zscore", 2.0, action="clip").fit(x)
    scale = data.StandardScaler().fit(clip.transform(x))
    pca = data.PCA(2).fit(scale.transform(clip.transform(x)))
    np.testing.assert_allclose(z, pca.transform(scale.transform(clip.transform(x))))
    assert pipe["pca"].n_components_ == 2 and pipe[1] is pipe.named_steps["scale"]
    assert len(pipe) == 3 and len(pipe[:2]) == 2


def test_pipeline_passes_y_to_steps_that_take_it_and_skips_passthrough():
    x, y = _table()
    pipe = data.Pipeline([("scale", data.StandardScaler()), ("skip", "passthrough"),
                          ("lda", data.LinearDiscriminantAnalysis())])
    z = pipe.fit(x, y).transform(x)
    assert z.shape == (40, 1)
    without = data.Pipeline([("scale", None), ("pca", data.PCA(1))]).fit(x)
    np.testing.assert_allclose(without.transform(x), data.PCA(1).fit(x).transform(x))


def test_pipeline_state_saved_with_the_model_reproduces_exactly(tmp_path, device):
    x, _ = _table()
    pipe = data.Pipeline([("impute", data.SimpleImputer()), ("robust", data.RobustScaler()),
                          ("pca", data.PCA(3))])
    x_missing = x.copy()
    x_missing[::7, 2] = np.nan
    pipe.fit(x_missing)
    model = minigrad.nn.Linear(3, 2)
    minigrad.save({"model": model.state_dict(), "preprocessing": pipe.state_dict()},
                  tmp_path / "ckpt.npz")
    checkpoint = minigrad.load(tmp_path / "ckpt.npz")
    fresh = data.Pipeline([("impute", data.SimpleImputer()), ("robust", data.RobustScaler()),
                           ("pca", data.PCA(3))])
    fresh.load_state_dict(checkpoint["preprocessing"])
    test = minigrad.tensor(x_missing[:10].astype(np.float32), device=device)
    got = fresh.transform(test)
    assert got.device == minigrad.device(device) and got.dtype == np.float32
    np.testing.assert_array_equal(got.cpu().numpy(), pipe.transform(x_missing[:10]
                                                                     .astype(np.float32)))
    with pytest.raises(TypeError, match="step 'impute' .SimpleImputer. has no inverse"):
        fresh.inverse_transform(fresh.transform(x))
    full = data.Pipeline([("robust", data.RobustScaler()), ("pca", data.PCA())]).fit(x)
    np.testing.assert_allclose(full.inverse_transform(full.transform(x)), x, atol=1e-12)


def test_pipeline_errors_name_the_step_and_shape():
    x, _ = _table()
    with pytest.raises(RuntimeError, match="Pipeline.transform: not fitted"):
        data.Pipeline([("s", data.StandardScaler())]).transform(x)
    pipe = data.Pipeline([("scale", data.StandardScaler()), ("pca", data.PCA(9))])
    with pytest.raises(ValueError, match=r"Pipeline step 'pca' \(PCA\).fit on data of shape "
                                         r"\(40, 4\): PCA.fit: n_components=9"):
        pipe.fit(x)
    with pytest.raises(ValueError, match="step names must be unique"):
        data.Pipeline([("a", data.PCA()), ("a", data.PCA())])
    with pytest.raises(TypeError, match=r"step 'm' \(int\) has no fit/transform"):
        data.Pipeline([("m", 3)])
    fitted = data.Pipeline([("scale", data.StandardScaler())]).fit(x)
    with pytest.raises(ValueError, match="saved steps .* differ"):
        data.Pipeline([("other", data.StandardScaler())]).load_state_dict(fitted.state_dict())
    with pytest.raises(ValueError, match=r"step 'scale' \(StandardScaler\).transform on data of "
                                         r"shape \(40, 2\): StandardScaler.transform"):
        fitted.transform(x[:, :2])
