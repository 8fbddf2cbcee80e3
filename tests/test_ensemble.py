"""Ensembles and weight averaging: averaging, soft and hard voting against NumPy formulas;
bagging's bootstrap resamples, out-of-bag sets and score against a direct NumPy computation;
AveragedModel (running mean, EMA, buffers), SWALR against its formula, update_bn against batch
statistics computed in NumPy; errors."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import TensorDataset
from minigrad.ensemble import Bagging, Ensemble
from minigrad.optim.swa_utils import SWALR, AveragedModel, get_ema_avg_fn, update_bn


class Fixed(nn.Module):
    """A 'model' returning fixed outputs (so the combination is checked alone)."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, x):
        return mg.tensor(self.out, dtype=mg.float64)


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), members=st.integers(1, 5), n=st.integers(1, 6),
       classes=st.integers(2, 4), weighted=st.booleans())
def test_combinations_match_the_formulas(seed, members, n, classes, weighted):
    rng = np.random.default_rng(seed)
    outs = [rng.normal(size=(n, classes)) for _ in range(members)]
    w = rng.uniform(0.1, 2.0, members) if weighted else np.ones(members)
    models = [Fixed(o) for o in outs]
    weights = list(w) if weighted else None
    mean = Ensemble(models, "mean", weights)(None).numpy()  # Fixed outputs need no grad
    np.testing.assert_allclose(mean, sum(wi * o for wi, o in zip(w, outs)) / w.sum(), rtol=1e-12)
    soft = Ensemble(models, "soft", weights)(None).numpy()
    np.testing.assert_allclose(soft, sum(wi * _softmax(o) for wi, o in zip(w, outs)) / w.sum(),
                               rtol=1e-12)
    vote = Ensemble(models, "vote", weights)(None).numpy()
    tally = np.zeros((n, classes))
    for wi, o in zip(w, outs):
        tally[np.arange(n), o.argmax(axis=1)] += wi
    np.testing.assert_array_equal(vote, tally.argmax(axis=1))
    assert vote.dtype == np.int64


def test_hard_vote_ties_go_to_the_lowest_class():
    outs = [np.array([[0.0, 1.0, 0.0]]), np.array([[0.0, 0.0, 1.0]])]
    assert Ensemble([Fixed(o) for o in outs], "vote")(None).tolist() == [1]


def test_mean_and_soft_are_differentiable():
    members = [nn.Linear(3, 2) for _ in range(3)]
    x = mg.randn(4, 3)
    Ensemble(members, "soft")(x).sum().backward()  # the sum of probabilities: zero gradient
    Ensemble(members, "mean")(x).sum().backward()
    assert all(m.weight.grad is not None for m in members)


# ---------------------------------------------------------------------------------------------
# Bagging


def test_bagging_resamples_and_out_of_bag_score():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 2)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int64)
    dataset = TensorDataset(x, y)
    seen_batches = []

    def train(model, loader):
        opt = optim.SGD(model.parameters(), lr=0.5)
        for _ in range(15):
            for xb, yb in loader:
                seen_batches.append(len(xb))
                opt.zero_grad()
                nn.functional.cross_entropy(model(xb), yb).backward()
                opt.step()
    mg.manual_seed(0)
    bag = Bagging(lambda: nn.Linear(2, 2), n_estimators=4, combine="soft", seed=3)
    bag.fit(dataset, train, batch_size=32)
    assert len(bag.members) == 4
    for in_bag, oob in zip(bag.in_bag_indices_, bag.oob_indices_):
        assert len(in_bag) == 120 and len(np.unique(in_bag)) < 120       # with replacement
        np.testing.assert_array_equal(oob, np.setdiff1d(np.arange(120), in_bag))
        assert 0.2 < len(oob) / 120 < 0.55                                # about e⁻¹
    assert sum(seen_batches) == 4 * 15 * 120  # every member trained on its full resample
    # the out-of-bag score recomputed here from the members directly
    probs, counts = np.zeros((120, 2)), np.zeros(120)
    for member, oob in zip(bag.members, bag.oob_indices_):
        probs[oob] += _softmax(member(mg.tensor(x[oob])).detach().numpy().astype(np.float64))
        counts[oob] += 1
    seen = counts > 0
    expected = (probs[seen].argmax(axis=1) == y[seen]).mean()
    assert bag.oob_score_ == pytest.approx(expected)
    assert bag.oob_score_ > 0.85
    np.testing.assert_array_equal(np.isnan(bag.oob_prediction_), ~seen)
    # the fitted ensemble predicts like Ensemble over the same members
    with mg.no_grad():
        np.testing.assert_allclose(bag(mg.tensor(x)).numpy(),
                                   Ensemble(list(bag.members), "soft")(mg.tensor(x)).numpy())


def test_bagging_regression_oob_r2():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(80, 1)).astype(np.float32)
    y = (3 * x + 0.05 * rng.normal(size=(80, 1))).astype(np.float32)

    def train(model, loader):
        opt = optim.SGD(model.parameters(), lr=0.1)
        for _ in range(30):
            for xb, yb in loader:
                opt.zero_grad()
                nn.functional.mse_loss(model(xb), yb).backward()
                opt.step()
    bag = Bagging(lambda: nn.Linear(1, 1), n_estimators=3, combine="mean", seed=0)
    bag.fit(TensorDataset(x, y), train, batch_size=16)
    assert 0.98 < bag.oob_score_ <= 1.0


@pytest.mark.parametrize("make, message", [
    (lambda: Ensemble([], combine="median"), "combine must be one of"),
    (lambda: Ensemble([nn.Linear(1, 1)], weights=[1, 2]), "weights must be 1"),
    (lambda: Bagging(lambda: nn.Linear(1, 1), n_estimators=0), "n_estimators = 0"),
    (lambda: Bagging(lambda: nn.Linear(1, 1), max_samples=1.5), "max_samples = 1.5"),
])
def test_invalid_arguments(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# ---------------------------------------------------------------------------------------------
# AveragedModel, SWALR, update_bn


def _net():
    """float64, so the averages can be compared tightly."""
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2)).double()


def _snapshots(model, k, rng):
    """k successive 'training' states of model's parameters (random), as a list of lists."""
    states = []
    for _ in range(k):
        with mg.no_grad():
            for p in model.parameters():
                p.data[...] = rng.normal(size=p.shape)
            for b in model.buffers():
                if b is not None and b.dtype.kind == "f":
                    b.data[...] = rng.uniform(0.5, 2.0, size=b.shape)
        states.append([p.detach().numpy().copy() for p in model.parameters()])
    return states


def test_averaged_model_is_the_running_mean():
    rng = np.random.default_rng(0)
    model = _net()
    swa = AveragedModel(model)
    seen = []
    for _ in range(5):
        seen.append(_snapshots(model, 1, rng)[0])
        swa.update_parameters(model)
    for avg, *values in zip(swa.module.parameters(), *seen):
        np.testing.assert_allclose(avg.detach().numpy(), np.mean(values, axis=0), rtol=1e-12)
    assert int(swa.n_averaged.item()) == 5
    # buffers follow the model (use_buffers=False)
    np.testing.assert_array_equal(swa.module[1].running_var.numpy(), model[1].running_var.numpy())
    assert "n_averaged" in swa.state_dict()


def test_ema_and_averaged_buffers():
    rng = np.random.default_rng(1)
    model = _net()
    ema = AveragedModel(model, avg_fn=get_ema_avg_fn(0.9), use_buffers=True)
    expected = None
    buffers = None
    for _ in range(4):
        values = _snapshots(model, 1, rng)[0]
        running_var = model[1].running_var.numpy().copy()
        ema.update_parameters(model)
        expected = values if expected is None else [0.9 * e + 0.1 * v
                                                    for e, v in zip(expected, values)]
        buffers = running_var if buffers is None else 0.9 * buffers + 0.1 * running_var
    for avg, want in zip(ema.module.parameters(), expected):
        np.testing.assert_allclose(avg.detach().numpy(), want, rtol=1e-12)
    np.testing.assert_allclose(ema.module[1].running_var.numpy(), buffers, rtol=1e-12)


@pytest.mark.parametrize("strategy, epochs", [("cos", 4), ("linear", 3), ("cos", 0)])
def test_swalr_follows_its_formula(strategy, epochs):
    params = [nn.Parameter(mg.zeros(2))]
    opt = optim.SGD([{"params": params, "lr": 0.5}], lr=0.5)
    scheduler = SWALR(opt, swa_lr=0.05, anneal_epochs=epochs, anneal_strategy=strategy)

    def alpha(p):
        return (1 - math.cos(math.pi * p)) / 2 if strategy == "cos" else p
    for s in range(8):
        # closed form of the chainable rule when nothing else touches the rate
        p = 1.0 if epochs == 0 else min(1.0, s / epochs)
        want = 0.05 * alpha(p) + 0.5 * (1 - alpha(p))
        assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-12), s
        opt.step()
        scheduler.step()


def test_update_bn_recomputes_the_statistics():
    rng = np.random.default_rng(2)
    model = _net()
    x = rng.normal(size=(60, 3))
    with mg.no_grad():
        model[1].running_mean.data[...] = 5.0
    model.eval()
    loader = mg.data.DataLoader(TensorDataset(x, np.zeros(60, dtype=np.int64)), batch_size=20)
    update_bn(loader, model)
    assert not model.training and model[1].momentum == 0.1
    hidden = (x @ model[0].weight.detach().numpy().T + model[0].bias.detach().numpy()).astype(np.float64)
    batches = np.split(hidden, 3)
    np.testing.assert_allclose(model[1].running_mean.numpy(),
                               np.mean([b.mean(axis=0) for b in batches], axis=0), rtol=1e-10)
    np.testing.assert_allclose(model[1].running_var.numpy(),
                               np.mean([b.var(axis=0, ddof=1) for b in batches], axis=0),
                               rtol=1e-10)


def test_averaged_model_checks_architecture():
    swa = AveragedModel(_net())
    with pytest.raises(ValueError, match="not the same architecture"):
        swa.update_parameters(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="anneal_strategy"):
        SWALR(optim.SGD([nn.Parameter(mg.zeros(1))], lr=0.1), swa_lr=0.1, anneal_strategy="x")
