"""minigrad.data: datasets, the DataLoader (coverage, shuffling, resuming), splits,
preprocessing fitted on training data only, batch-wise augmentation, the IDX/MNIST reader and the
synthetic sets."""

import collections
import gzip
import hashlib
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import data
from minigrad.serialization import load, save
from minigrad.tensor import Tensor


def _epoch(loader, field=0):
    """The batches of one epoch, as NumPy arrays of the given field."""
    return [b[field].numpy().copy() for b in loader]


# --- TensorDataset / Subset -------------------------------------------------------------------

def test_tensor_dataset_indexing(device):
    x = minigrad.arange(12, dtype=minigrad.float32).reshape(6, 2).to(device)
    y = np.arange(6)
    ds = data.TensorDataset(x, y)
    assert len(ds) == 6
    row_x, row_y = ds[4]
    assert isinstance(row_x, Tensor) and row_x.shape == (2,) and row_y.shape == ()
    np.testing.assert_array_equal(row_x.cpu().numpy(), [8.0, 9.0])
    assert row_y.item() == 4
    bx, by = ds[np.array([5, 0, 5])]
    assert bx.shape == (3, 2) and bx.device == x.device and bx.dtype == np.float32
    np.testing.assert_array_equal(by.numpy(), [5, 0, 5])
    with pytest.raises(IndexError, match="out of range"):
        ds.get_batch(np.array([6]))
    with pytest.raises(IndexError, match="out of range"):
        ds[6]


def test_tensor_dataset_rejects_bad_input():
    with pytest.raises(ValueError, match=r"same first dimension.*\(3, 2\), \(4,\)"):
        data.TensorDataset(np.zeros((3, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="0-d"):
        data.TensorDataset(np.float32(1.0))
    with pytest.raises(ValueError, match="at least one"):
        data.TensorDataset()
    ds = data.TensorDataset(np.zeros((3, 2)))
    with pytest.raises(TypeError, match="integers"):
        ds.get_batch(np.array([0.5]))


def test_subset_gathers_through_parent():
    x = np.arange(10) * 10
    sub = data.Subset(data.TensorDataset(x), [9, 2, 4])
    assert len(sub) == 3
    assert sub[0][0].item() == 90
    np.testing.assert_array_equal(sub.get_batch(np.array([2, 1]))[0].numpy(), [40, 20])


# --- DataLoader ------------------------------------------------------------------------------

class CountingDataset(data.TensorDataset):
    """Counts per-sample reads, to prove the loader gathers whole batches."""

    def __init__(self, *arrays):
        super().__init__(*arrays)
        self.item_reads = 0
        self.batch_reads = 0

    def __getitem__(self, index):
        self.item_reads += 1
        return super().__getitem__(index)

    def get_batch(self, indices):
        self.batch_reads += 1
        return super().get_batch(indices)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("n,batch_size,drop_last", [(10, 3, False), (10, 3, True), (9, 3, False),
                                                    (9, 3, True), (2, 5, False), (2, 5, True)])
def test_loader_covers_dataset_once_per_epoch(n, batch_size, drop_last, shuffle):
    ds = CountingDataset(np.arange(n), np.arange(n) * 2.0)
    loader = data.DataLoader(ds, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
                             seed=3)
    expected_batches = n // batch_size if drop_last else -(-n // batch_size)
    assert len(loader) == expected_batches
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == expected_batches
        assert all(isinstance(t, Tensor) for b in batches for t in b)
        sizes = [len(b[0]) for b in batches]
        assert all(s == batch_size for s in sizes[:-1])
        if drop_last:
            assert all(s == batch_size for s in sizes)
        seen = np.concatenate([b[0].numpy() for b in batches]) if batches else np.array([])
        assert len(seen) == len(set(seen.tolist()))  # nothing twice
        if not drop_last:
            assert sorted(seen.tolist()) == list(range(n))  # everything once
        if not shuffle:
            np.testing.assert_array_equal(seen, np.arange(len(seen)))
        for bx, by in batches:  # rows stay paired across fields
            np.testing.assert_array_equal(by.numpy(), bx.numpy() * 2.0)
    assert ds.item_reads == 0  # batched by index arrays, never sample by sample
    assert ds.batch_reads == 2 * expected_batches


def test_loader_shuffle_is_seeded():
    ds = data.TensorDataset(np.arange(50))
    a = data.DataLoader(ds, batch_size=8, shuffle=True, seed=7)
    b = data.DataLoader(ds, batch_size=8, shuffle=True, seed=7)
    c = data.DataLoader(ds, batch_size=8, shuffle=True, seed=8)
    a1, a2 = _epoch(a), _epoch(a)
    b1, b2 = _epoch(b), _epoch(b)
    for x, y in zip(a1 + a2, b1 + b2):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(np.concatenate(a1), np.concatenate(a2))  # new order per epoch
    assert not np.array_equal(np.concatenate(a1), np.concatenate(_epoch(c)))
    # seed=None draws from minigrad's generator: manual_seed makes it reproducible
    minigrad.manual_seed(123)
    d1 = _epoch(data.DataLoader(ds, batch_size=8, shuffle=True))
    minigrad.manual_seed(123)
    d2 = _epoch(data.DataLoader(ds, batch_size=8, shuffle=True))
    np.testing.assert_array_equal(np.concatenate(d1), np.concatenate(d2))


@pytest.mark.parametrize("stop_after", [0, 1, 4, 5])  # 5 batches per epoch: 5 = at the end
def test_loader_resumes_mid_epoch(tmp_path, stop_after):
    ds = data.TensorDataset(np.arange(37, dtype=np.float32).reshape(37, 1), np.arange(37))

    def make(seed):
        return data.DataLoader(ds, batch_size=8, shuffle=True, seed=seed,
                               transform=data.GaussianNoise(0.1, seed=seed))

    # the uninterrupted run: three epochs
    full = make(11)
    reference = [[(x.numpy().copy(), y.numpy().copy()) for x, y in full] for _ in range(3)]
    # the interrupted run: epoch 1 whole, then `stop_after` batches of epoch 2, then checkpoint
    run = make(11)
    list(run)
    it = iter(run)
    done = [next(it) for _ in range(stop_after)]
    save({"loader": run.state_dict()}, tmp_path / "ckpt.npz")  # JSON-able, through a file
    del it, done
    resumed = make(999)  # a different seed: everything must come from the checkpoint
    resumed.load_state_dict(load(tmp_path / "ckpt.npz")["loader"])
    rest = [(x.numpy(), y.numpy()) for x, y in resumed]
    assert len(rest) == len(reference[1]) - stop_after
    for (x, y), (rx, ry) in zip(rest, reference[1][stop_after:]):
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(x, rx)  # the noise transform resumed too
    for (x, y), (rx, ry) in zip(resumed, reference[2]):
        np.testing.assert_array_equal(y, ry)
        np.testing.assert_array_equal(x, rx)


def test_loader_state_between_epochs_and_after_break():
    ds = data.TensorDataset(np.arange(20))
    a = data.DataLoader(ds, batch_size=6, shuffle=True, seed=5)
    b = data.DataLoader(ds, batch_size=6, shuffle=True, seed=5)
    list(a)
    list(b)
    state = a.state_dict()
    assert state["batches_done"] == 0 and state["epoch"] == 1
    for batch in b:  # an abandoned epoch: the next iter starts a new one, as in PyTorch
        break
    c = data.DataLoader(ds, batch_size=6, shuffle=True, seed=0)
    c.load_state_dict(b.state_dict())
    np.testing.assert_array_equal(np.concatenate(_epoch(c)), np.concatenate(_epoch(b)))
    assert c.epoch == b.epoch == 3
    old = iter(b)
    next(old)
    new = iter(b)  # a new epoch; closing the abandoned iterator must not disturb its state
    next(new)
    next(new)
    del old
    assert b.state_dict()["batches_done"] == 2 and b.epoch == 5


def test_loader_rejects_bad_arguments_and_foreign_state():
    ds = data.TensorDataset(np.arange(10))
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            data.DataLoader(ds, batch_size=bad)
    with pytest.raises(TypeError, match="map-style"):
        data.DataLoader(object())
    state = data.DataLoader(ds, batch_size=3).state_dict()
    with pytest.raises(ValueError, match="batch_size: saved 3, this loader 4"):
        data.DataLoader(ds, batch_size=4).load_state_dict(state)
    with pytest.raises(KeyError, match="rng"):
        data.DataLoader(ds, batch_size=3).load_state_dict({"epoch": 0})


class SquareDataset(data.Dataset):
    """A generic map-style dataset with no get_batch: (features, label) per sample."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full(3, i, dtype=np.float32), i * i


def test_loader_falls_back_to_stacking_samples():
    batches = list(data.DataLoader(SquareDataset(), batch_size=3))
    assert [len(b[0]) for b in batches] == [3, 3, 1]
    x, y = batches[1]
    assert x.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_array_equal(x.numpy(), np.repeat([[3.0], [4.0], [5.0]], 3, axis=1))
    np.testing.assert_array_equal(y.numpy(), [9, 16, 25])
    with pytest.raises(ValueError, match="different shapes"):
        data.collate([np.zeros(2), np.zeros(3)])


def test_loader_on_device_data(device):
    x = minigrad.randn(10, 3).to(device)
    batches = list(data.DataLoader(data.TensorDataset(x), batch_size=4, shuffle=True, seed=0))
    assert all(b[0].device == x.device for b in batches)
    got = np.sort(np.concatenate([b[0].cpu().numpy() for b in batches]), axis=0)
    np.testing.assert_array_equal(got, np.sort(x.cpu().numpy(), axis=0))


# --- splits ----------------------------------------------------------------------------------

def test_random_split_lengths_and_fractions():
    ds = data.TensorDataset(np.arange(10))
    parts = data.random_split(ds, [0.33, 0.33, 0.34], seed=0)
    assert [len(p) for p in parts] == [4, 3, 3]  # floors 3, 3, 3; the one left goes first
    members = np.concatenate([p.indices for p in parts])
    assert sorted(members.tolist()) == list(range(10))
    again = data.random_split(ds, [4, 3, 3], seed=0)
    for p, q in zip(parts, again):
        np.testing.assert_array_equal(p.indices, q.indices)
    other = data.random_split(ds, [4, 3, 3], seed=1)
    assert any(not np.array_equal(p.indices, q.indices) for p, q in zip(parts, other))
    with pytest.raises(ValueError, match="sum to"):
        data.random_split(ds, [4, 4])
    with pytest.raises(ValueError, match="sum to 1"):
        data.random_split(ds, [0.5, 0.6])


@pytest.mark.parametrize("n,k", [(10, 3), (9, 3), (5, 5), (11, 2)])
def test_kfold_matches_the_scikit_learn_definition(n, k):
    folds = data.kfold_indices(n, k)
    sizes = [len(val) for _, val in folds]
    assert sizes == [n // k + 1] * (n % k) + [n // k] * (k - n % k)
    np.testing.assert_array_equal(np.concatenate([v for _, v in folds]), np.arange(n))
    for train, val in folds:
        assert sorted(np.concatenate([train, val]).tolist()) == list(range(n))
        assert not set(train.tolist()) & set(val.tolist())
    shuffled = data.kfold_indices(n, k, shuffle=True, seed=2)
    again = list(data.KFold(k, shuffle=True, seed=2).split(np.zeros(n)))
    for (t1, v1), (t2, v2) in zip(shuffled, again):
        np.testing.assert_array_equal(v1, v2)
        np.testing.assert_array_equal(t1, t2)
    assert sorted(np.concatenate([v for _, v in shuffled]).tolist()) == list(range(n))


def test_kfold_rejects_bad_arguments():
    with pytest.raises(ValueError, match="n_splits"):
        data.KFold(1)
    with pytest.raises(ValueError, match="cannot make 4 folds of 3"):
        data.kfold_indices(3, 4)


# --- preprocessing ---------------------------------------------------------------------------

def _train_test(seed=0, shape=(40, 5)):
    rng = np.random.default_rng(seed)
    train = (rng.normal(size=shape) * [1, 2, 3, 4, 5] + [10, -5, 0, 3, 1]).astype(np.float32)
    test = (rng.normal(size=(7,) + shape[1:]) * 4).astype(np.float32)
    return train, test


def test_standard_scaler_uses_training_statistics():
    train, test = _train_test()
    scaler = data.StandardScaler().fit(train)
    mean = train.astype(np.float64).mean(axis=0)
    std = np.sqrt(((train.astype(np.float64) - mean) ** 2).mean(axis=0))
    out = scaler.transform(test)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, (test - mean) / std, rtol=1e-5, atol=1e-5)
    z = scaler.fit_transform(train)
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    np.testing.assert_allclose(scaler.inverse_transform(out), test, rtol=1e-5, atol=1e-4)
    t = scaler.transform(minigrad.tensor(test))  # Tensors in, Tensors out
    assert isinstance(t, Tensor)
    np.testing.assert_allclose(t.numpy(), out)


def test_standard_scaler_constant_feature_axis_none_and_errors():
    X = np.array([[1.0, 2.0], [1.0, 4.0]])
    scaler = data.StandardScaler().fit(X)
    np.testing.assert_allclose(scaler.transform(X), [[0.0, -1.0], [0.0, 1.0]])  # std 0 -> 1
    images = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    g = data.StandardScaler(axis=None).fit(images)
    out = g.transform(images)
    assert out.dtype == np.float32  # integer input becomes float32
    np.testing.assert_allclose(out, (images - images.mean()) / images.std(), rtol=1e-5)
    with pytest.raises(RuntimeError, match="not fitted"):
        data.StandardScaler().transform(X)
    with pytest.raises(ValueError, match=r"shape \(2, 3\) does not match"):
        scaler.transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        data.StandardScaler().fit(np.array([[np.nan, 1.0]]))


def test_minmax_scaler_uses_training_range():
    train, test = _train_test(1)
    scaler = data.MinMaxScaler(feature_range=(-1, 1)).fit(train)
    lo, hi = train.min(axis=0), train.max(axis=0)
    expected = (test - lo) / (hi - lo) * 2 - 1
    out = scaler.transform(test)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)
    assert out.min() < -1 or out.max() > 1  # the test data is not rescaled to its own range
    fitted = scaler.fit_transform(train)
    np.testing.assert_allclose(fitted.min(axis=0), -1, atol=1e-6)
    np.testing.assert_allclose(fitted.max(axis=0), 1, atol=1e-6)
    np.testing.assert_allclose(scaler.inverse_transform(out), test, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="min < max"):
        data.MinMaxScaler(feature_range=(1, 0))


@given(st.integers(1, 30), st.integers(1, 4), st.integers(0, 2**31 - 1))
def test_scalers_match_numpy_on_random_shapes(n, features, seed):
    rng = np.random.default_rng(seed)
    train = rng.normal(size=(n, features)) * rng.uniform(0.1, 10, features)
    test = rng.normal(size=(3, features))
    z = data.StandardScaler().fit(train).transform(test)
    std = train.std(axis=0)
    std[std == 0] = 1.0
    np.testing.assert_allclose(z, (test - train.mean(axis=0)) / std, rtol=1e-9, atol=1e-9)
    m = data.MinMaxScaler().fit(train).transform(test)
    span = train.max(axis=0) - train.min(axis=0)
    span[span == 0] = 1.0
    np.testing.assert_allclose(m, (test - train.min(axis=0)) / span, rtol=1e-9, atol=1e-9)


def _slow_mode(column):
    counts = collections.Counter(v for v in column.tolist() if not np.isnan(v))
    top = max(counts.values())
    return min(v for v, c in counts.items() if c == top)


def test_imputer_strategies_against_numpy():
    nan = np.nan
    train = np.array([[1.0, nan, 3.0],
                      [2.0, 5.0, 3.0],
                      [nan, 5.0, 1.0],
                      [2.0, 7.0, 1.0],
                      [9.0, 1.0, nan]], dtype=np.float32)
    test = np.array([[nan, nan, nan], [4.0, nan, 0.0]], dtype=np.float32)
    expected = {
        "mean": np.nanmean(train.astype(np.float64), axis=0),
        "median": np.nanmedian(train.astype(np.float64), axis=0),
        "most_frequent": np.array([_slow_mode(c) for c in train.T]),
    }
    np.testing.assert_array_equal(expected["most_frequent"], [2.0, 5.0, 1.0])  # 3 vs 1: tie
    for strategy, fill in expected.items():
        imputer = data.SimpleImputer(strategy).fit(train)
        out = imputer.transform(test)
        assert out.dtype == np.float32
        want = np.where(np.isnan(test), fill, test).astype(np.float32)
        np.testing.assert_allclose(out, want, rtol=1e-6)
        assert not np.isnan(imputer.fit_transform(train)).any()
    const = data.SimpleImputer("constant", fill_value=-1).fit(train).transform(test)
    np.testing.assert_array_equal(const, [[-1, -1, -1], [4, -1, 0]])


@given(st.integers(1, 25), st.integers(0, 2**31 - 1))
def test_imputer_most_frequent_matches_slow_count(n, seed):
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 4, size=(n, 3)).astype(np.float64)
    X[rng.random((n, 3)) < 0.3] = np.nan
    X[0] = [0.0, 1.0, 2.0]  # every column has an observed value
    stats = data.SimpleImputer("most_frequent").fit(X).statistics_.ravel()
    np.testing.assert_array_equal(stats, [_slow_mode(c) for c in X.T])


def test_imputer_errors():
    with pytest.raises(ValueError, match="unknown strategy 'mode'"):
        data.SimpleImputer("mode")
    with pytest.raises(ValueError, match=r"feature\(s\) \[1\] have no observed value"):
        data.SimpleImputer("median").fit(np.array([[1.0, np.nan], [2.0, np.nan]]))
    with pytest.raises(ValueError, match="fill_value"):
        data.SimpleImputer("constant")


def test_preprocessing_state_dicts_round_trip_through_a_checkpoint(tmp_path):
    train, test = _train_test(2)
    train[3, 1] = np.nan
    fitted = [data.StandardScaler(axis=None), data.MinMaxScaler((2, 5)),
              data.SimpleImputer("median")]
    fitted[0].fit(np.nan_to_num(train))
    fitted[1].fit(np.nan_to_num(train))
    fitted[2].fit(train)
    save([f.state_dict() for f in fitted], tmp_path / "prep.npz")
    states = load(tmp_path / "prep.npz")
    for original, state in zip(fitted, states):
        fresh = type(original)()
        fresh.load_state_dict(state)
        np.testing.assert_array_equal(fresh.transform(test), original.transform(test))
    with pytest.raises(ValueError, match="is for 'MinMaxScaler'"):
        data.StandardScaler().load_state_dict(states[1])


# --- augmentation ----------------------------------------------------------------------------

def _images(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


@pytest.mark.parametrize("shape", [(5, 3, 6, 7), (5, 6, 7)])
def test_random_crop_matches_a_slow_loop(shape):
    x = _images(shape)
    size, padding, seed = (4, 5), 2, 17
    out = data.RandomCrop(size, padding=padding, seed=seed)(x)
    assert out.shape == shape[:-2] + size and out.dtype == np.float32
    # replay the documented draws: oy ~ U{0..Hp-h}, then ox ~ U{0..Wp-w}, one per image
    rng = np.random.Generator(np.random.PCG64(seed))
    hp, wp = shape[-2] + 2 * padding, shape[-1] + 2 * padding
    oy = rng.integers(0, hp - size[0] + 1, shape[0])
    ox = rng.integers(0, wp - size[1] + 1, shape[0])
    for n in range(shape[0]):
        padded = np.zeros(shape[1:-2] + (hp, wp), dtype=np.float32)
        padded[..., padding:padding + shape[-2], padding:padding + shape[-1]] = x[n]
        window = padded[..., oy[n]:oy[n] + size[0], ox[n]:ox[n] + size[1]]
        np.testing.assert_array_equal(out[n], window)


def test_random_crop_without_padding_and_errors():
    x = _images((3, 1, 4, 4))
    np.testing.assert_array_equal(data.RandomCrop(4, seed=0)(x), x)  # the only window
    with pytest.raises(ValueError, match="larger than the padded image"):
        data.RandomCrop(5)(x)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\) or \(N, H, W\)"):
        data.RandomCrop(2)(x[0, 0])


def test_horizontal_flip():
    x = _images((64, 2, 3, 4))
    np.testing.assert_array_equal(data.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(data.RandomHorizontalFlip(p=0.0)(x), x)
    out = data.RandomHorizontalFlip(p=0.5, seed=3)(x)
    flipped = np.array([np.array_equal(o, xi[..., ::-1]) for o, xi in zip(out, x)])
    kept = np.array([np.array_equal(o, xi) for o, xi in zip(out, x)])
    assert np.all(flipped ^ kept)  # each image is exactly one of the two
    assert 10 < flipped.sum() < 54
    expected = np.random.Generator(np.random.PCG64(3)).random(64) < 0.5
    np.testing.assert_array_equal(flipped, expected)


def test_gaussian_noise():
    x = np.zeros((200, 10, 10), dtype=np.float32)
    out = data.GaussianNoise(std=0.5, seed=0)(minigrad.tensor(x))
    assert isinstance(out, Tensor) and out.dtype == np.float32 and out.shape == x.shape
    assert abs(float(out.numpy().mean())) < 0.01
    assert abs(float(out.numpy().std()) - 0.5) < 0.01
    with pytest.raises(TypeError, match="floating"):
        data.GaussianNoise(0.1)(np.zeros((2, 3, 3), dtype=np.uint8))


@pytest.mark.parametrize("make", [lambda s: data.RandomCrop(3, padding=1, seed=s),
                                  lambda s: data.RandomHorizontalFlip(seed=s),
                                  lambda s: data.GaussianNoise(0.3, seed=s)])
def test_augmentation_is_seeded_and_resumable(make, device):
    x = minigrad.tensor(_images((16, 1, 5, 5))).to(device)
    a, b = make(4), make(4)
    first = a(x)
    assert first.device == x.device
    np.testing.assert_array_equal(first.cpu().numpy(), b(x).cpu().numpy())
    state = a.state_dict()
    nxt = a(x).cpu().numpy()
    assert not np.array_equal(nxt, first.cpu().numpy())  # fresh draws each call
    c = make(99)
    c.load_state_dict(state)
    np.testing.assert_array_equal(c(x).cpu().numpy(), nxt)
    pipeline = data.Compose([make(1), data.GaussianNoise(0.1, seed=2)])
    saved = pipeline.state_dict()
    y1 = pipeline(x).cpu().numpy()
    pipeline.load_state_dict(saved)
    np.testing.assert_array_equal(pipeline(x).cpu().numpy(), y1)


# --- IDX reader ------------------------------------------------------------------------------

_CODES = {np.dtype("u1"): 0x08, np.dtype("i1"): 0x09, np.dtype(">i2"): 0x0B,
          np.dtype(">i4"): 0x0C, np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def _idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file written by hand: 0, 0, type code, ndim, big-endian sizes, big-endian data."""
    dtype = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    header = bytes([0, 0, _CODES[dtype], array.ndim])
    header += b"".join(struct.pack(">I", s) for s in array.shape)
    return header + array.astype(dtype).tobytes()


def _write(path: Path, payload: bytes, compress: bool) -> Path:
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize("array", [
    np.arange(7, dtype=np.uint8),
    np.arange(12, dtype=np.uint8).reshape(3, 4) * 20,
    np.arange(24, dtype=np.uint8).reshape(2, 3, 4),
    np.array([-3, 0, 100], dtype=np.int8),
    np.arange(-6, 6, dtype=np.int16).reshape(3, 4) * 1000,
    np.array([[1, -70000], [2**30, 5]], dtype=np.int32),
    np.linspace(-1, 1, 6, dtype=np.float32).reshape(1, 2, 3),
    np.array([np.pi, -1e300], dtype=np.float64),
])
def test_read_idx_round_trips(tmp_path, array, compress):
    path = _write(tmp_path / ("f.idx" + (".gz" if compress else "")), _idx_bytes(array), compress)
    got = data.read_idx(path)
    assert got.dtype == array.dtype and got.dtype.isnative and got.shape == array.shape
    np.testing.assert_array_equal(got, array)
    got[...] = 0  # writable, owns its memory


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_refuses_bad_files(tmp_path, compress):
    good = _idx_bytes(np.arange(60, dtype=np.uint8).reshape(3, 4, 5))
    cases = {
        "magic.idx": (b"\x01" + good[1:], "bad magic number 0x01000803"),
        "code.idx": (good[:2] + b"\x07" + good[3:], "unknown data type code 0x07"),
        "ndim0.idx": (good[:3] + b"\x00", "declares 0 dimensions"),
        "header.idx": (good[:9], "truncated in its header"),
        "short.idx": (good[:-1], "needs exactly 76|is truncated"),
        "long.idx": (good + b"\x00\x00", "has 78 bytes|2 byte\\(s\\) after the 76"),
        "empty.idx": (b"", "too short for an IDX header"),
    }
    for name, (payload, message) in cases.items():
        path = _write(tmp_path / name, payload, compress)
        with pytest.raises(data.IDXError, match=message) as info:
            data.read_idx(path)
        assert name in str(info.value)
    with pytest.raises(FileNotFoundError, match="nothere.idx"):
        data.read_idx(tmp_path / "nothere.idx")


def test_read_idx_refuses_truncated_and_corrupt_gzip(tmp_path):
    payload = gzip.compress(_idx_bytes(np.arange(5000, dtype=np.int32)))
    cut = tmp_path / "cut.gz"
    cut.write_bytes(payload[:len(payload) // 2])
    with pytest.raises(data.IDXError, match="cut.gz.*not a valid gzip file"):
        data.read_idx(cut)
    broken = bytearray(payload)
    broken[len(broken) // 2] ^= 0xFF
    bad = tmp_path / "bad.gz"
    bad.write_bytes(bytes(broken))
    with pytest.raises(data.IDXError, match="bad.gz"):
        data.read_idx(bad)
    huge = tmp_path / "huge.gz"  # a header promising far more than the file can hold
    huge.write_bytes(gzip.compress(bytes([0, 0, 8, 2]) + struct.pack(">II", 2**20, 2**20)))
    with pytest.raises(data.IDXError, match="huge.gz.*too short"):
        data.read_idx(huge)


# --- MNIST -----------------------------------------------------------------------------------

def _mnist_folder():
    candidates = [os.environ.get("MINIGRAD_DATA"),
                  Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"]
    for c in candidates:
        if c and (Path(c) / "train-labels-idx1-ubyte.gz").is_file():
            return Path(c)
        if c and (Path(c) / "mnist" / "train-labels-idx1-ubyte.gz").is_file():
            return Path(c) / "mnist"
    return None


MNIST = _mnist_folder()
needs_mnist = pytest.mark.skipif(
    MNIST is None, reason="the MNIST IDX files are absent (set MINIGRAD_DATA or provide "
                          "../shared/data/mnist); this test reads the real files")


@needs_mnist
def test_mnist_files_match_their_md5sums():
    for line in (MNIST / "MD5SUMS").read_text().splitlines():
        digest, name = line.split()
        assert hashlib.md5((MNIST / name).read_bytes()).hexdigest() == digest, name


@needs_mnist
def test_load_mnist_real_files(monkeypatch):
    images, labels = data.load_mnist(MNIST, train=True)
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert labels.shape == (60000,) and labels.dtype == np.int64
    assert labels.min() == 0 and labels.max() == 9
    assert np.all(np.bincount(labels) > 5000)  # every digit well represented
    assert images.max() == 255 and images.min() == 0
    monkeypatch.setenv("MINIGRAD_DATA", str(MNIST.parent))  # a folder with an mnist/ inside
    test_x, test_y = data.load_mnist(train=False, normalize=True)
    assert test_x.shape == (10000, 28, 28) and test_x.dtype == np.float32
    assert test_y.shape == (10000,) and 0.0 <= test_x.min() and test_x.max() == 1.0


def test_load_mnist_missing_files_are_a_clear_error(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError) as info:
        data.load_mnist(tmp_path, train=False)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message and "t10k-labels-idx1-ubyte" in message
    assert str(tmp_path) in message and "never downloads" in message
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    with pytest.raises(FileNotFoundError, match="MINIGRAD_DATA"):
        data.load_mnist()


def test_load_mnist_checks_what_the_files_hold(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 2, 3], dtype=np.uint8)
    _write(tmp_path / "t10k-images-idx3-ubyte.gz", _idx_bytes(images), True)
    _write(tmp_path / "t10k-labels-idx1-ubyte", _idx_bytes(labels), False)  # raw works too
    with pytest.raises(data.IDXError, match="expected 10000 test samples, found 3 images"):
        data.load_mnist(tmp_path, train=False)
    _write(tmp_path / "t10k-images-idx3-ubyte.gz", _idx_bytes(images[:, :, :27]), True)
    with pytest.raises(data.IDXError, match=r"t10k-images-idx3-ubyte.gz.*expected uint8 images"):
        data.load_mnist(tmp_path, train=False)


# --- synthetic sets --------------------------------------------------------------------------

def test_make_regression_slope_recovered_by_least_squares():
    x, y, slope, intercept = data.make_regression(1000, noise=0.1, seed=0)
    assert x.shape == y.shape == (1000, 1) and x.dtype == y.dtype == np.float32
    assert (slope, intercept) == (3.0, 0.0)
    assert 0.0 <= x.min() and x.max() < 1.0
    A = np.hstack([x, np.ones_like(x)]).astype(np.float64)
    (fit_slope, fit_intercept), *_ = np.linalg.lstsq(A, y[:, 0].astype(np.float64), rcond=None)
    assert abs(fit_slope - 3.0) < 0.06 and abs(fit_intercept) < 0.04  # about 5 standard errors
    exact = data.make_regression(50, noise=0.0, seed=1, slope=2.0, intercept=5.0)
    np.testing.assert_allclose(exact.y, 2.0 * exact.x + 5.0, rtol=1e-6)


def test_synthetic_sets_are_seeded():
    for make in (lambda s: data.make_moons(60, 0.1, seed=s),
                 lambda s: data.make_spirals(60, 3, 0.1, seed=s),
                 lambda s: data.make_blobs(60, 4, 1.0, seed=s),
                 lambda s: data.make_regression(60, 0.1, seed=s)[:2]):
        a, b, c = make(0), make(0), make(1)
        for u, v in zip(a, b):
            np.testing.assert_array_equal(u, v)
        assert not np.array_equal(a[0], c[0])


def test_make_moons_lies_on_its_half_circles():
    X, y = data.make_moons(101, noise=0.0, seed=0)
    assert X.shape == (101, 2) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.bincount(y).tolist() == [50, 51]
    outer, inner = X[y == 0].astype(np.float64), X[y == 1].astype(np.float64)
    np.testing.assert_allclose(np.hypot(outer[:, 0], outer[:, 1]), 1.0, atol=1e-6)
    assert np.all(outer[:, 1] >= -1e-7)
    np.testing.assert_allclose(np.hypot(1 - inner[:, 0], 0.5 - inner[:, 1]), 1.0, atol=1e-6)
    noisy, noisy_y = data.make_moons(101, noise=0.2, seed=0)  # same seed: same order
    np.testing.assert_array_equal(noisy_y, y)
    assert abs(float((noisy - X).std()) - 0.2) < 0.05


def test_make_spirals_shapes_and_geometry():
    X, y = data.make_spirals(100, classes=4, noise=0.0, seed=0)
    assert X.shape == (100, 2) and np.bincount(y).tolist() == [25, 25, 25, 25]
    r = np.hypot(X[:, 0], X[:, 1]).astype(np.float64)
    assert r.max() <= 1.0 + 1e-6 and r.min() == 0.0
    theta = np.arctan2(X[:, 1], X[:, 0]).astype(np.float64)
    expected = 2 * np.pi * y / 4 + 4 * r  # the documented arm angle
    diff = np.angle(np.exp(1j * (theta - expected)))
    assert np.all(np.abs(diff[r > 1e-3]) < 1e-4)
    with pytest.raises(ValueError, match="classes"):
        data.make_spirals(10, classes=1)


def test_make_blobs_centres():
    centers = np.array([[0.0, 0.0], [10.0, 10.0], [-10.0, 5.0]])
    X, y = data.make_blobs(3000, centers=centers, std=0.5, seed=0)
    assert X.shape == (3000, 2) and np.bincount(y).tolist() == [1000] * 3
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(axis=0), centers[k], atol=0.1)
        np.testing.assert_allclose(X[y == k].std(axis=0), 0.5, atol=0.05)
    X, y = data.make_blobs(10, centers=2, n_features=3, seed=0)
    assert X.shape == (10, 3) and set(y.tolist()) == {0, 1}
