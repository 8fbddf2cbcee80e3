"""minigrad.data.resampling: RandomOverSampler, SMOTE, RandomUnderSampler and the
WeightedRandomSampler with the DataLoader (drawn counts, resumability)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data


def _imbalanced(seed=0, counts=(40, 10, 4), f=3):
    rng = np.random.default_rng(seed)
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    x = rng.standard_normal((len(y), f)) + 4.0 * y[:, None]
    return x, y


def test_random_over_sampler(device):
    x, y = _imbalanced()
    ros = data.RandomOverSampler(seed=0)
    xr, yr = ros.fit_resample(minigrad.tensor(x, device=device), minigrad.tensor(y, device=device))
    assert xr.device == minigrad.device(device)
    yr, xr = yr.cpu().numpy(), xr.cpu().numpy()
    assert np.bincount(yr).tolist() == [40, 40, 40]
    np.testing.assert_array_equal(xr[:54], x)                       # originals first
    np.testing.assert_array_equal(xr, x[ros.sample_indices_])       # every row is a copy
    np.testing.assert_array_equal(yr, y[ros.sample_indices_])
    assert data.RandomOverSampler("minority", seed=0).fit_resample(x, y)[1].tolist().count(2) == 40
    half = data.RandomOverSampler({1: 25}, seed=0).fit_resample(x, y)[1]
    assert np.bincount(half).tolist() == [40, 25, 4]


def test_random_under_sampler():
    x, y = _imbalanced()
    rus = data.RandomUnderSampler(seed=1)
    xr, yr = rus.fit_resample(x, y)
    assert np.bincount(yr).tolist() == [4, 4, 4]
    idx = rus.sample_indices_
    assert len(set(idx.tolist())) == 12                           # without replacement
    np.testing.assert_array_equal(xr, x[idx])
    assert (np.diff(yr) >= 0).all()                                # grouped by class
    labels = np.array(["spam"] * 30 + ["ham"] * 6, dtype=object)
    _, yl = data.RandomUnderSampler(0.5, seed=0).fit_resample(np.zeros((36, 1)), labels)
    assert sorted(yl.tolist()).count("spam") == 12                   # 6 / 0.5


def test_smote_points_lie_between_a_sample_and_one_of_its_neighbours(device):
    x, y = _imbalanced(counts=(30, 8))
    k = 3
    sm = data.SMOTE(k_neighbors=k, seed=0)
    xr, yr = sm.fit_resample(minigrad.tensor(x, device=device), minigrad.tensor(y, device=device))
    xr, yr = xr.cpu().numpy(), yr.cpu().numpy()
    assert np.bincount(yr).tolist() == [30, 30]
    np.testing.assert_array_equal(xr[:38], x)
    minority = x[y == 1]
    d = ((minority[:, None] - minority[None]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    nn = np.argsort(d, axis=1)[:, :k]                               # the k nearest, by brute force
    for point in xr[38:]:
        # some base i and neighbour j with point = x_i + u (x_j - x_i), 0 <= u < 1
        found = False
        for i in range(len(minority)):
            for j in nn[i]:
                step = minority[j] - minority[i]
                u = step @ (point - minority[i]) / (step @ step)
                if 0 <= u < 1 and np.allclose(minority[i] + u * step, point, atol=1e-9):
                    found = True
        assert found


@given(st.integers(2, 30), st.integers(1, 4), st.integers(1, 5), st.integers(0, 10_000))
@settings(max_examples=25)
def test_nearest_neighbors_against_brute_force(n, f, k, seed):
    k = min(k, n - 1)
    x = np.random.default_rng(seed).standard_normal((n, f))
    d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
    np.fill_diagonal(d, np.inf)
    got = data.nearest_neighbors(x, k, block=7)
    np.testing.assert_allclose(np.take_along_axis(d, got, 1), np.sort(d, axis=1)[:, :k],
                               rtol=1e-9)


def test_resampling_errors():
    x, y = _imbalanced()
    with pytest.raises(ValueError, match="SMOTE.fit_resample: class 2 has 4 samples; SMOTE needs "
                                         "more than k_neighbors=5"):
        data.SMOTE(seed=0).fit_resample(x, y)
    with pytest.raises(ValueError, match=r"y must be 1-D with one label per sample \(54\)"):
        data.RandomOverSampler(seed=0).fit_resample(x, y[:5])
    with pytest.raises(ValueError, match="unknown sampling_strategy 'majority'"):
        data.RandomOverSampler("majority", seed=0).fit_resample(x, y)
    with pytest.raises(ValueError, match="names class 7, which is not in y"):
        data.RandomUnderSampler({7: 1}, seed=0).fit_resample(x, y)
    with pytest.raises(TypeError, match="SMOTE interpolates"):
        data.SMOTE(k_neighbors=1, seed=0).fit_resample(x.astype(np.int64), y)


def test_weighted_random_sampler_frequencies_and_loader_resume():
    weights = np.array([1.0, 0.0, 3.0, 6.0])
    sampler = data.WeightedRandomSampler(weights, 20_000, generator=0)
    freq = np.bincount(list(sampler), minlength=4) / 20_000
    np.testing.assert_allclose(freq, weights / weights.sum(), atol=0.015)
    once = data.WeightedRandomSampler(weights, 3, replacement=False, generator=1)
    assert sorted(once) == [0, 2, 3]
    with pytest.raises(ValueError, match="cannot draw 4 samples without replacement from 3"):
        data.WeightedRandomSampler(weights, 4, replacement=False)
    with pytest.raises(ValueError, match="weights must be .* non-negative"):
        data.WeightedRandomSampler([1.0, -1.0], 2)

    ds = data.TensorDataset(np.arange(4) * 10)
    loader = data.DataLoader(ds, batch_size=5, seed=3,
                             sampler=data.WeightedRandomSampler(weights, 15))
    assert len(loader) == 3
    it = iter(loader)
    first = next(it)[0].numpy().copy()
    assert set(first.tolist()) <= {0, 20, 30}
    state = loader.state_dict()
    rest = [b[0].numpy().copy() for b in it]
    resumed = data.DataLoader(ds, batch_size=5, seed=99,
                              sampler=data.WeightedRandomSampler(weights, 15))
    resumed.load_state_dict(state)
    again = [b[0].numpy().copy() for b in resumed]
    assert len(again) == 2 and all((a == b).all() for a, b in zip(again, rest))
    with pytest.raises(ValueError, match="mutually exclusive with shuffle"):
        data.DataLoader(ds, shuffle=True, sampler=[0, 1])
    plain = data.DataLoader(ds, batch_size=2, sampler=[3, 1, 2])
    assert [b[0].numpy().tolist() for b in plain] == [[30, 10], [20]]
