"""minigrad.data.decomposition (PCA, LinearDiscriminantAnalysis) and minigrad.data.hashing
(murmurhash3_32, FeatureHasher): against NumPy transcriptions, published hash values and,
when installed, scikit-learn."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data


def _data(n=120, f=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, f)) @ rng.standard_normal((f, f)) + rng.standard_normal(f)


# --- PCA -------------------------------------------------------------------------------------

@given(st.integers(3, 40), st.integers(1, 6), st.booleans(), st.integers(0, 10_000))
@settings(max_examples=30)
def test_pca_against_eigendecomposition(n, f, whiten, seed):
    x = _data(n, f, seed)
    k = min(n, f)
    if whiten:      # centred data has rank <= n - 1: whitening a zero variance gives inf
        k = min(n - 1, f)
    pca = data.PCA(k, whiten=whiten, svd_solver="full").fit(x)
    # transcription: eigenvectors of the sample covariance, largest first, largest |entry| > 0
    centred = x - x.mean(0)
    values, vectors = np.linalg.eigh(centred.T @ centred / (n - 1))
    values, vectors = values[::-1][:k], vectors[:, ::-1][:, :k].T
    vectors *= np.sign(vectors[np.arange(k), np.abs(vectors).argmax(1)])[:, None]
    np.testing.assert_allclose(pca.explained_variance_, values, rtol=1e-7, atol=1e-9)
    if k == min(n, f):
        np.testing.assert_allclose(pca.explained_variance_ratio_.sum(), 1.0)
    big = values > 1e-6 * values[0]          # directions of tiny variance are ill-determined
    np.testing.assert_allclose(pca.components_[big], vectors[big], atol=1e-6)
    z = centred @ pca.components_.T
    if whiten:
        z = z / np.sqrt(pca.explained_variance_)
    np.testing.assert_allclose(pca.transform(x), z, atol=1e-9)
    # all directions of non-zero variance kept: the inverse reconstructs X
    np.testing.assert_allclose(pca.inverse_transform(pca.transform(x)), x, atol=1e-8)


def test_pca_n_components_forms_and_solvers(device):
    x = _data()
    full = data.PCA(svd_solver="full").fit(x)
    ratio = np.cumsum(full.explained_variance_ratio_)
    frac = data.PCA(0.9).fit(x)
    assert frac.n_components_ == int(np.searchsorted(ratio, 0.9, side="right")) + 1
    two = data.PCA(2, svd_solver="covariance_eigh").fit(x)
    np.testing.assert_allclose(two.components_, full.components_[:2], atol=1e-10)
    assert two.noise_variance_ == pytest.approx(full.explained_variance_[2:].mean())
    xt = minigrad.tensor(x.astype(np.float32), device=device)
    z = two.transform(xt)
    assert z.dtype == np.float32 and z.device == minigrad.device(device) and z.shape == (120, 2)
    np.testing.assert_allclose(z.cpu().numpy(), two.transform(x), rtol=1e-4, atol=1e-4)


def test_pca_errors():
    with pytest.raises(RuntimeError, match="PCA.transform: not fitted"):
        data.PCA().transform(np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"n_components=9 must be at most .* = 6 for data of "
                                         r"shape \(120, 6\)"):
        data.PCA(9).fit(_data())
    with pytest.raises(ValueError, match="PCA.fit: the data holds NaN"):
        data.PCA().fit(np.array([[1.0, np.nan], [0.0, 1.0]]))
    pca = data.PCA(2).fit(_data())
    with pytest.raises(ValueError, match=r"PCA.transform: X has 3 features \(shape \(4, 3\)\)"):
        pca.transform(np.zeros((4, 3)))


# --- LinearDiscriminantAnalysis --------------------------------------------------------------

def _classes(seed=0, k=3, n=150, f=5):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    x = rng.standard_normal((n, f)) + rng.standard_normal((k, f))[y] * 3
    return x, y


def test_lda_maximizes_the_fisher_criterion(device):
    x, y = _classes()
    lda = data.LinearDiscriminantAnalysis().fit(minigrad.tensor(x, device=device),
                                                minigrad.tensor(y, device=device))
    # scatter matrices, by their definitions
    means = np.stack([x[y == c].mean(0) for c in range(3)])
    priors = np.bincount(y) / len(y)
    xbar = priors @ means
    Sw = sum((x[y == c] - means[c]).T @ (x[y == c] - means[c]) for c in range(3)) / len(y)
    Sb = sum(priors[c] * np.outer(means[c] - xbar, means[c] - xbar) for c in range(3))
    W = lda.scalings_[:, :2]
    # the discriminant directions solve Sb w = lambda Sw w: W' Sw W and W' Sb W are diagonal
    within, between = W.T @ Sw @ W, W.T @ Sb @ W
    np.testing.assert_allclose(within - np.diag(np.diag(within)), 0, atol=1e-8)
    np.testing.assert_allclose(between - np.diag(np.diag(between)), 0, atol=1e-8)
    lam = np.linalg.eigvals(np.linalg.solve(Sw, Sb)).real
    fisher = np.diag(between) / np.diag(within)
    np.testing.assert_allclose(np.sort(fisher), np.sort(lam)[-2:], rtol=1e-6)
    z = lda.transform(minigrad.tensor(x, device=device)).cpu().numpy()
    np.testing.assert_allclose(z, (x - xbar) @ W, atol=1e-10)
    accuracy = (lda.predict(x) == y).mean()
    assert accuracy > 0.8


def test_lda_errors():
    x, y = _classes()
    with pytest.raises(ValueError, match=r"n_components=3 must lie in 1..min\(n_classes - 1, "
                                         r"n_features\) = 2"):
        data.LinearDiscriminantAnalysis(3).fit(x, y)
    with pytest.raises(ValueError, match=r"y must be 1-D with one label per sample \(150\), "
                                         r"got shape \(3,\)"):
        data.LinearDiscriminantAnalysis().fit(x, y[:3])
    with pytest.raises(RuntimeError, match="LinearDiscriminantAnalysis.transform: not fitted"):
        data.LinearDiscriminantAnalysis().transform(x)


def test_decomposition_agrees_with_sklearn():
    decomposition = pytest.importorskip("sklearn.decomposition")
    discriminant = pytest.importorskip("sklearn.discriminant_analysis")
    x = _data(200, 8)
    for k, whiten in ((3, False), (None, True), (0.8, False)):
        ours, ref = data.PCA(k, whiten=whiten).fit(x), decomposition.PCA(k, whiten=whiten).fit(x)
        np.testing.assert_allclose(ours.transform(x), ref.transform(x), atol=1e-9)
        np.testing.assert_allclose(ours.components_, ref.components_, atol=1e-9)
    x, y = _classes(k=4, f=6)
    ours = data.LinearDiscriminantAnalysis().fit(x, y)
    ref = discriminant.LinearDiscriminantAnalysis().fit(x, y)
    np.testing.assert_allclose(ours.transform(x), ref.transform(x), atol=1e-9)
    np.testing.assert_array_equal(ours.predict(x), ref.predict(x))


# --- murmurhash3_32 and FeatureHasher ----------------------------------------------------------

# published MurmurHash3_x86_32 values (SMHasher's verification set, as listed with the algorithm)
PUBLISHED = [("", 0, 0x00000000), ("", 1, 0x514E28B7), ("", 0xFFFFFFFF, 0x81F16F39),
             ("\0\0\0\0", 0, 0x2362F9DE), ("aaaa", 0x9747B28C, 0x5A97808A),
             ("aaa", 0x9747B28C, 0x283E0130), ("aa", 0x9747B28C, 0x5D211726),
             ("a", 0x9747B28C, 0x7FA09EA6), ("Hello, world!", 0x9747B28C, 0x24884CBA),
             ("The quick brown fox jumps over the lazy dog", 0x9747B28C, 0x2FA826CD)]


@pytest.mark.parametrize("key,seed,expected", PUBLISHED)
def test_murmurhash3_published_values(key, seed, expected):
    assert data.murmurhash3_32(key, seed=seed, positive=True) == expected
    signed = expected - 2 ** 32 if expected >= 2 ** 31 else expected
    assert data.murmurhash3_32(key.encode(), seed=seed) == signed


def test_murmurhash3_vectorized_equals_one_by_one():
    keys = ["", "a", "ab", "abc", "abcd", "abcde", "héllo wörld", "x" * 37]
    many = data.murmurhash3_32(keys, seed=5)
    assert many.dtype == np.int32
    assert many.tolist() == [data.murmurhash3_32(k, seed=5) for k in keys]


def test_feature_hasher_against_definition():
    docs = [{"dog": 1, "cat": 2.5, "color": "red"}, {"dog": -1, "run": 4}]
    out = data.FeatureHasher(n_features=32).transform(docs)
    expected = np.zeros((2, 32))
    for i, doc in enumerate(docs):
        for name, value in doc.items():
            if isinstance(value, str):
                name, value = f"{name}={value}", 1
            h = data.murmurhash3_32(name)
            expected[i, abs(h) % 32] += value if h >= 0 else -value
    np.testing.assert_array_equal(out, expected)
    tokens = [["a", "b", "a"], ["c"]]
    unsigned = data.FeatureHasher(8, input_type="string", alternate_sign=False).transform(tokens)
    assert unsigned.sum(1).tolist() == [3, 1]
    with pytest.raises(ValueError, match="sample 0 is a single string"):
        data.FeatureHasher(8, input_type="string").transform(["abc"])
    with pytest.raises(ValueError, match="FeatureHasher: input_type must be"):
        data.FeatureHasher(input_type="list")
    with pytest.raises(ValueError, match=r"a dense \(1000, 1048576\) output is too large"):
        data.FeatureHasher().transform([{"a": 1}] * 1000)


def test_hashing_agrees_with_sklearn():
    extraction = pytest.importorskip("sklearn.feature_extraction")
    utils = pytest.importorskip("sklearn.utils")
    rng = np.random.default_rng(0)
    words = ["".join(rng.choice(list("abcdefgh"), rng.integers(0, 12))) for _ in range(300)]
    assert data.murmurhash3_32(words, seed=9).tolist() == \
        [utils.murmurhash3_32(w, seed=9) for w in words]
    samples = [words[i:i + 6] for i in range(0, 300, 6)]
    ref = extraction.FeatureHasher(64, input_type="string").transform(samples).toarray()
    np.testing.assert_array_equal(data.FeatureHasher(64, input_type="string")
                                  .transform(samples), ref)
