"""minigrad.data.cleaning: drop_duplicates, OutlierDetector (zscore/iqr; mask/clip/remove),
RobustScaler, each against a plain NumPy transcription of its rule."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data
from minigrad.tensor import Tensor


def _on(device, array):
    return minigrad.tensor(array, device=device)


def _np(t):
    return t.cpu().numpy() if isinstance(t, Tensor) else np.asarray(t)


# --- drop_duplicates ---------------------------------------------------------------------------

def test_drop_duplicates_hand_checked(device):
    x = np.array([[1, 2], [3, 4], [1, 2], [np.nan, 1], [np.nan, 1], [3, 5]], dtype=np.float32)
    y = np.array([0, 1, 1, 1, 1, 0])
    got = data.drop_duplicates(_on(device, x))
    np.testing.assert_array_equal(_np(got), x[[0, 1, 3, 5]])   # NaN equals NaN, first kept
    gx, gy = data.drop_duplicates(_on(device, x), _on(device, y))
    np.testing.assert_array_equal(_np(gx), x[[0, 1, 2, 3, 5]])  # row 2 has another label
    np.testing.assert_array_equal(_np(gy), y[[0, 1, 2, 3, 5]])
    assert got.dtype == np.float32 and got.device == minigrad.device(device)


@given(st.integers(1, 40), st.integers(1, 3), st.integers(0, 10_000))
@settings(max_examples=30)
def test_drop_duplicates_matches_first_occurrence_loop(n, f, seed):
    x = np.random.default_rng(seed).integers(0, 3, (n, f)).astype(np.float64)
    seen, keep = set(), []
    for i, row in enumerate(map(tuple, x)):   # the plain definition: first occurrence, in order
        if row not in seen:
            seen.add(row)
            keep.append(i)
    np.testing.assert_array_equal(data.drop_duplicates(x), x[keep])


def test_drop_duplicates_bad_input():
    with pytest.raises(ValueError, match=r"drop_duplicates: y must .* \(3\).*\(2,\)"):
        data.drop_duplicates(np.zeros((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match="drop_duplicates: expected a numeric"):
        data.drop_duplicates(np.array(["a", "b"]))


# --- OutlierDetector ---------------------------------------------------------------------------

def _bounds(x, method, t):
    if method == "zscore":
        m, s = x.mean(0), x.std(0)
        return m - t * s, m + t * s
    q1, q3 = np.percentile(x, 25, axis=0), np.percentile(x, 75, axis=0)
    return q1 - t * (q3 - q1), q3 + t * (q3 - q1)


@pytest.mark.parametrize("method,t", [("zscore", 3.0), ("zscore", 1.0), ("iqr", 1.5)])
def test_outlier_detector_against_formula(device, method, t):
    rng = np.random.default_rng(0)
    train = rng.standard_normal((60, 3))
    train[5, 1] = 25.0
    test = rng.standard_normal((20, 3)) * 3
    det = data.OutlierDetector(method, threshold=t).fit(_on(device, train))
    lo, hi = _bounds(train, method, t)
    np.testing.assert_allclose(det.lower_.ravel(), lo, rtol=1e-12)
    np.testing.assert_allclose(det.upper_.ravel(), hi, rtol=1e-12)
    expected_mask = (test < lo) | (test > hi)
    np.testing.assert_array_equal(_np(det.mask(_on(device, test))), expected_mask)
    np.testing.assert_allclose(_np(det.clip(_on(device, test))), np.clip(test, lo, hi))
    kept_x, kept_y = det.remove(_on(device, test), _on(device, np.arange(20)))
    rows = ~expected_mask.any(1)
    np.testing.assert_allclose(_np(kept_x), test[rows])
    np.testing.assert_array_equal(_np(kept_y), np.arange(20)[rows])


def test_outlier_detector_hand_checked_iqr_and_actions():
    x = np.array([[1.0], [2.0], [3.0], [4.0], [100.0]])
    # Q1 = 2, Q3 = 4, IQR = 2: bounds -1 and 7
    det = data.OutlierDetector("iqr").fit(x)
    assert det.lower_.item() == -1.0 and det.upper_.item() == 7.0
    assert data.OutlierDetector("iqr").fit(x).transform(x).ravel().tolist() == [0, 0, 0, 0, 1]
    clip = data.OutlierDetector("iqr", action="clip").fit(x)
    assert clip.transform(x).ravel().tolist() == [1, 2, 3, 4, 7]
    rem = data.OutlierDetector("iqr", action="remove").fit(x)
    assert rem.transform(x).ravel().tolist() == [1, 2, 3, 4]


def test_outlier_detector_errors():
    with pytest.raises(RuntimeError, match="OutlierDetector.mask: not fitted"):
        data.OutlierDetector().mask(np.zeros((3, 2)))
    with pytest.raises(ValueError, match="OutlierDetector: unknown method 'mad'"):
        data.OutlierDetector("mad")
    with pytest.raises(ValueError, match="OutlierDetector.fit: the data holds NaN"):
        data.OutlierDetector().fit(np.array([[1.0], [np.nan]]))
    det = data.OutlierDetector().fit(np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"OutlierDetector.clip: data of shape \(3, 4\)"):
        det.clip(np.zeros((3, 4)))


# --- RobustScaler --------------------------------------------------------------------------------

@given(st.integers(2, 30), st.integers(1, 4), st.integers(0, 10_000))
@settings(max_examples=25)
def test_robust_scaler_against_formula(n, f, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, f)) * rng.uniform(0.1, 10, f)
    x[0] *= 50                                              # an outlier
    sc = data.RobustScaler().fit(x)
    median = np.median(x, axis=0)
    iqr = np.percentile(x, 75, axis=0) - np.percentile(x, 25, axis=0)
    iqr = np.where(iqr == 0, 1.0, iqr)
    np.testing.assert_allclose(sc.transform(x), (x - median) / iqr, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(sc.inverse_transform(sc.transform(x)), x, rtol=1e-12, atol=1e-12)


def test_robust_scaler_options_dtype_device(device):
    x = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0], [10.0, 5.0]], dtype=np.float32)
    sc = data.RobustScaler(quantile_range=(10.0, 90.0)).fit(_on(device, x))
    lo, hi = np.percentile(x.astype(np.float64), [10, 90], axis=0)
    scale = np.where(hi - lo == 0, 1, hi - lo)
    out = sc.transform(_on(device, x))
    assert out.dtype == np.float32 and out.device == minigrad.device(device)
    np.testing.assert_allclose(_np(out), (x - np.median(x, 0)) / scale, rtol=1e-6)
    only_scale = data.RobustScaler(with_centering=False).fit(x)
    np.testing.assert_allclose(only_scale.transform(x)[:, 0], x[:, 0] / 3.0, rtol=1e-6)  # Q1 1.75, Q3 4.75
    with pytest.raises(RuntimeError, match="RobustScaler.transform: not fitted"):
        data.RobustScaler().transform(x)
    with pytest.raises(ValueError, match="RobustScaler: invalid quantile_range"):
        data.RobustScaler(quantile_range=(80, 20))


def test_agrees_with_sklearn():
    preprocessing = pytest.importorskip("sklearn.preprocessing")
    x = np.random.default_rng(3).standard_normal((80, 4))
    x[::9] *= 30
    np.testing.assert_allclose(data.RobustScaler().fit_transform(x),
                               preprocessing.RobustScaler().fit_transform(x), atol=1e-12)
