"""Model selection: StratifiedKFold, train_val_test_split, cross_validate, importance, sweep."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import tune
from minigrad.data import KFold, StratifiedKFold, TensorDataset, train_val_test_split


@settings(max_examples=30)
@given(counts=st.lists(st.integers(1, 30), min_size=2, max_size=4), k=st.integers(2, 5),
       seed=st.integers(0, 1000))
def test_stratified_kfold_keeps_class_shares(counts, k, seed):
    y = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(seed).shuffle(y)
    if len(y) < k:
        with pytest.raises(ValueError, match="cannot make"):
            list(StratifiedKFold(k).split(y))
        return
    folds = list(StratifiedKFold(k, shuffle=True, seed=seed).split(y))
    assert len(folds) == k
    vals = np.concatenate([v for _, v in folds])
    assert sorted(vals.tolist()) == list(range(len(y)))          # a partition
    sizes = [len(v) for _, v in folds]
    assert max(sizes) - min(sizes) <= 1
    for train, val in folds:
        assert np.intersect1d(train, val).size == 0 and len(train) + len(val) == len(y)
        for c, n_c in enumerate(counts):                          # ⌊n_c/k⌋ or ⌈n_c/k⌉ each
            assert n_c // k <= (y[val] == c).sum() <= -(-n_c // k)


def test_stratified_kfold_seed_and_repr():
    y = np.array([0] * 10 + [1] * 5)
    a = [v.tolist() for _, v in StratifiedKFold(5, shuffle=True, seed=1).split(y)]
    assert a == [v.tolist() for _, v in StratifiedKFold(5, shuffle=True, seed=1).split(y)]
    assert a != [v.tolist() for _, v in StratifiedKFold(5, shuffle=True, seed=2).split(y)]
    assert isinstance(StratifiedKFold(3), KFold) and "StratifiedKFold(n_splits=3" in \
        repr(StratifiedKFold(3))
    with pytest.raises(ValueError, match="labels must be 1-d"):
        list(StratifiedKFold(2).split(np.zeros((4, 2))))


def test_train_val_test_split():
    train, val, test = train_val_test_split(100, 0.1, 0.2, seed=0)
    assert (len(train), len(val), len(test)) == (70, 10, 20)
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(100))
    again = train_val_test_split(100, 0.1, 0.2, seed=0)
    assert all((a == b).all() for a, b in zip((train, val, test), again))
    y = np.array([0] * 80 + [1] * 20)
    train, val, test = train_val_test_split(y, 0.25, 0.25, seed=3, stratify=y)
    assert [(y[p] == 1).sum() for p in (train, val, test)] == [10, 5, 5]
    with pytest.raises(ValueError, match="val_fraction \\+ test_fraction must be < 1"):
        train_val_test_split(10, 0.5, 0.5)
    with pytest.raises(ValueError, match="test_fraction must lie in"):
        train_val_test_split(10, 0.1, -0.1)


def nearest_centroid_accuracy(train, val):
    """A tiny classifier: nearest class mean."""
    (x_tr, y_tr), (x_va, y_va) = train, val
    classes = np.unique(y_tr)
    centroids = np.stack([x_tr[y_tr == c].mean(0) for c in classes])
    pred = classes[np.argmin(((x_va[:, None] - centroids) ** 2).sum(-1), axis=1)]
    return {"accuracy": float((pred == y_va).mean()), "n": float(len(y_va))}


def test_cross_validate_on_arrays_and_datasets():
    rng = np.random.default_rng(0)
    y = np.repeat([0, 1, 2], [30, 20, 10])
    x = rng.normal(size=(60, 2)) + 3.0 * y[:, None]
    result = tune.cross_validate(nearest_centroid_accuracy, (x, y), k=5, seed=0)
    accs = [s["accuracy"] for s in result["fold_scores"]]
    assert result["mean"]["accuracy"] == pytest.approx(np.mean(accs))
    assert result["std"]["accuracy"] == pytest.approx(np.std(accs))
    assert [s["n"] for s in result["fold_scores"]] == [12.0] * 5

    def fold_size(train, val):
        labels = np.array([val[i][1] for i in range(len(val))])
        assert (labels == 2).sum() == 2        # stratified: 10 of class 2 over 5 folds
        return float(len(val))

    plain = tune.cross_validate(fold_size, TensorDataset(x, y), k=5, seed=1)
    assert plain["fold_scores"] == [12.0] * 5 and plain["std"] == 0.0
    unstratified = tune.cross_validate(lambda tr, va: float(len(va[1])), (x, y), k=4,
                                       stratified=False)
    assert unstratified["mean"] == 15.0
    with pytest.raises(ValueError, match="fold 0 returned score=nan"):
        tune.cross_validate(lambda tr, va: math.nan, (x, y), k=2)


def test_importance_finds_the_parameter_that_matters():
    def objective(trial):
        a = trial.suggest_float("a", 0, 1)
        b = trial.suggest_float("b", 0, 1)
        c = trial.suggest_categorical("c", ["x", "y"])
        return 10 * (a - 0.3) ** 2 + 0.1 * b + (0.02 if c == "y" else 0.0)

    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    study.optimize(objective, 25)
    imp = study.importance()
    assert next(iter(imp)) == "a"
    assert imp["a"] > 0.8 and sum(imp.values()) == pytest.approx(1.0)
    raw = tune.importance(study, normalize=False)
    assert 0.8 < raw["a"] <= 1.05
    with pytest.raises(ValueError, match="at least 3 complete trials"):
        tune.Study().importance()


def test_sweep_one_at_a_time():
    def objective(trial):
        return trial.suggest_float("lr", 1e-4, 1, log=True) * 10 + trial.suggest_int("n", 1, 5)

    curve = tune.sweep(objective, {"lr": 0.01, "n": 2}, "n", [1, 3, 9])
    assert [p["score"] for p in curve[:2]] == [pytest.approx(1.1), pytest.approx(3.1)]
    assert curve[2]["state"] == "failed" and "n=9 is outside IntUniform" in curve[2]["error"]
