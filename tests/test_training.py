"""minigrad.training: fit, evaluate, predict, History, callbacks and resumable checkpoints.

Tiny models on synthetic data, so the file runs in seconds. The central test is the resume
test: a run interrupted mid-epoch and resumed from its checkpoint ends with the very same bits
as the run that was never interrupted.
"""

import io
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import metrics as M
from minigrad import nn, optim
from minigrad.data import DataLoader, GaussianNoise, TensorDataset, make_moons
from minigrad.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from minigrad.serialization import CheckpointError
from minigrad.training import (Callback, EarlyStopping, History, ModelCheckpoint, evaluate, fit,
                               load_checkpoint, predict, save_checkpoint)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def moons(n=200, seed=0):
    X, y = make_moons(n=n, noise=0.15, seed=seed)
    return X, y


def loader(X, y, batch_size=32, shuffle=False, seed=0, transform=None):
    return DataLoader(TensorDataset(X, y), batch_size=batch_size, shuffle=shuffle, seed=seed,
                      transform=transform)


def mlp(hidden=16, dropout=0.0, classes=2):
    layers = [nn.Linear(2, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, classes))
    return nn.Sequential(*layers)


def params(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


class Recorder(Callback):
    """Records every hook call, and the lr after each batch."""

    def __init__(self):
        self.calls, self.lrs, self.steps = [], [], []

    def on_train_begin(self, state):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch):
        self.calls.append(("epoch_begin", epoch))

    def on_batch_end(self, batch, logs):
        self.lrs.append(self.state.optimizer.param_groups[0]["lr"])
        self.steps.append(logs["step"])

    def on_epoch_end(self, epoch, logs):
        self.calls.append(("epoch_end", epoch))

    def on_train_end(self, state):
        self.calls.append("train_end")


# --- the loop ---------------------------------------------------------------------------------

def test_fit_learns_moons():
    mg.manual_seed(0)
    X, y = moons(300)
    model = mlp(32)
    history = fit(model, loader(X[:200], y[:200], shuffle=True), nn.CrossEntropyLoss(),
                  optim.Adam(model.parameters(), lr=0.03), epochs=25,
                  val_loader=loader(X[200:], y[200:], 50), metrics=["accuracy"], progress=False)
    assert history.history["val_accuracy"][-1] >= 0.95
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]


def test_history_keys_lengths_and_hooks():
    mg.manual_seed(1)
    X, y = moons(100)
    model = mlp()
    rec = Recorder()
    history = fit(model, loader(X[:64], y[:64], 16), nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=0.1), epochs=3,
                  val_loader=loader(X[64:], y[64:]), metrics=["accuracy", "f1_score"],
                  callbacks=[rec], progress=False)
    assert list(history.history) == ["loss", "accuracy", "f1_score", "val_loss", "val_accuracy",
                                     "val_f1_score", "lr", "time"]
    assert all(len(v) == 3 for v in history.history.values())
    assert history.epoch == [0, 1, 2] and len(history) == 3
    assert rec.calls == ["train_begin", ("epoch_begin", 0), ("epoch_end", 0),
                         ("epoch_begin", 1), ("epoch_end", 1), ("epoch_begin", 2),
                         ("epoch_end", 2), "train_end"]
    assert rec.steps == list(range(1, 13))
    assert all(t > 0 for t in history.history["time"])


def test_model_modes_restored():
    model = mlp(dropout=0.5)
    model[2].eval()            # a submodule deliberately left in eval mode
    X, y = moons(40)
    fit(model, loader(X, y, 20), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=1, val_loader=loader(X, y), progress=False)
    assert model.training and model[0].training and not model[2].training
    model.eval()
    evaluate(model, loader(X, y), nn.CrossEntropyLoss())
    predict(model, X)
    assert not any(m.training for m in model.modules())


def test_metrics_match_minigrad_metrics_over_all_samples():
    """With lr = 0 the model never changes, so each epoch metric must equal minigrad.metrics
    over all samples at once (the last batch is short, so a mean of per-batch values would
    differ)."""
    mg.manual_seed(2)
    X, y = moons(50)
    model = mlp()

    def pos_rate(outputs, targets):            # a callable metric: outputs first
        assert outputs.shape == (50, 2) and targets.shape == (50,)
        return float(np.mean(outputs.argmax(1) == 1))

    history = fit(model, loader(X, y, 16, shuffle=True), nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=0.0), epochs=2, val_loader=loader(X, y, 16),
                  metrics=["accuracy", "precision", "recall", "f1_score", "roc_auc_score",
                           pos_rate],
                  progress=False)
    out = predict(model, X).numpy()
    labels = out.argmax(1)
    expected = {"accuracy": M.accuracy(y, labels), "precision": M.precision(y, labels),
                "recall": M.recall(y, labels), "f1_score": M.f1_score(y, labels),
                "roc_auc_score": M.roc_auc_score(y, out[:, 1] - out[:, 0]),
                "pos_rate": float(np.mean(labels == 1))}
    h = history.history
    for name, value in expected.items():
        assert h[name] == [pytest.approx(value, abs=1e-12)] * 2, name
        assert h["val_" + name] == [pytest.approx(value, abs=1e-12)] * 2, name
    loss = float(nn.CrossEntropyLoss()(mg.tensor(out), mg.tensor(y)))
    assert h["loss"][0] == pytest.approx(loss, rel=1e-5)
    assert h["val_loss"][0] == pytest.approx(loss, rel=1e-5)


def test_multiclass_and_logit_and_regression_metrics():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2)).astype(np.float32)
    y3 = rng.integers(0, 3, 60)
    model = nn.Linear(2, 3)
    logs = evaluate(model, loader(X, y3, 25), metrics=["accuracy", "f1_score", "precision"])
    labels = predict(model, X).numpy().argmax(1)
    assert logs["f1_score"] == pytest.approx(M.f1_score(y3, labels, average="macro"))
    assert logs["precision"] == pytest.approx(M.precision(y3, labels, average="macro"))
    assert "loss" not in logs
    # one logit column with (N, 1) float targets (as BCEWithLogitsLoss takes them)
    yb = (rng.random((60, 1)) < 0.5).astype(np.float32)
    model1 = nn.Linear(2, 1)
    logs = evaluate(model1, loader(X, yb, 25), nn.BCEWithLogitsLoss(),
                    metrics=["accuracy", "roc_auc_score"])
    logit = predict(model1, X).numpy()[:, 0]
    assert logs["accuracy"] == pytest.approx(M.accuracy(yb[:, 0], logit > 0))
    assert logs["roc_auc_score"] == pytest.approx(M.roc_auc_score(yb[:, 0], logit))
    # regression metrics compare the raw outputs with the targets
    yr = rng.normal(size=(60, 1)).astype(np.float32)
    logs = evaluate(model1, loader(X, yr, 25), nn.MSELoss(),
                    metrics={"mse": "mean_squared_error", "r2": "r2_score"})
    out = predict(model1, X).numpy()
    assert logs["mse"] == pytest.approx(M.mean_squared_error(yr, out), rel=1e-6)
    assert logs["loss"] == pytest.approx(M.mean_squared_error(yr, out), rel=1e-5)
    assert logs["r2"] == pytest.approx(M.r2_score(yr, out), rel=1e-6)


@pytest.mark.parametrize("n", [32, 40])   # 40: a final short group of one batch
def test_accumulate_steps_equals_one_big_batch(n):
    """k = 2 accumulated batches of 8 make the step of one batch of 16 (SGD, float64)."""
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(n, 3)), rng.normal(size=(n, 1))

    def run(batch_size, k):
        mg.manual_seed(4)
        model = nn.Linear(3, 1).double()
        rec = Recorder()
        fit(model, loader(X, y, batch_size), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.1,
            momentum=0.9), epochs=2, accumulate_steps=k, callbacks=[rec], progress=False)
        return params(model), rec.steps[-1]

    small, steps_small = run(8, 2)
    big, steps_big = run(16, 1)
    assert steps_small == steps_big == 2 * (-(-n // 16))
    for key in big:
        np.testing.assert_allclose(small[key], big[key], rtol=1e-12, atol=1e-14)
    unaccumulated, _ = run(8, 1)
    assert not np.allclose(unaccumulated["weight"], big["weight"])


@given(b=st.integers(1, 4), m=st.integers(1, 7), k=st.integers(1, 4))
def test_accumulate_steps_property(b, m, k):
    """For any batch size b, m full batches and k: accumulating k batches of b steps like
    batches of k*b (the final group may hold fewer batches)."""
    rng = np.random.default_rng(b * 100 + m * 10 + k)
    X, y = rng.normal(size=(b * m, 2)), rng.normal(size=(b * m, 1))

    def run(batch_size, accumulate):
        mg.manual_seed(0)
        model = nn.Linear(2, 1).double()
        fit(model, loader(X, y, batch_size), nn.MSELoss(), optim.SGD(model.parameters(), lr=0.2),
            epochs=1, accumulate_steps=accumulate, progress=False)
        return params(model)

    small, big = run(b, k), run(k * b, 1)
    for key in big:
        np.testing.assert_allclose(small[key], big[key], rtol=1e-12, atol=1e-14)


def test_clip_grad_norm_applied():
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(16, 3)), 10 * rng.normal(size=(16, 1))

    def step(clip):
        mg.manual_seed(6)
        model = nn.Linear(3, 1).double()
        before = params(model)
        fit(model, loader(X, y, 16), nn.MSELoss(), optim.SGD(model.parameters(), lr=1.0),
            epochs=1, clip_grad_norm=clip, progress=False)
        after = params(model)
        return np.sqrt(sum(np.sum((after[k] - before[k]) ** 2) for k in before))

    assert step(None) > 1.0                      # the raw gradient is long...
    assert step(0.5) == pytest.approx(0.5, rel=1e-5)   # ...and clipping shortens it to 0.5


def test_scheduler_per_epoch_and_per_step():
    X, y = moons(48)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    history = fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), opt, epochs=3,
                  scheduler=StepLR(opt, step_size=1, gamma=0.5), progress=False)
    assert history.history["lr"] == [1.0, 0.5, 0.25]
    assert opt.param_groups[0]["lr"] == 0.125

    model = mlp()
    opt = optim.SGD(model.parameters(), lr=1.0)
    rec = Recorder()
    history = fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), opt, epochs=2,
                  scheduler=StepLR(opt, step_size=1, gamma=0.5), scheduler_interval="step",
                  callbacks=[rec], progress=False)
    assert rec.lrs == [0.5 ** i for i in range(1, 7)]     # read after each step
    assert history.history["lr"] == [1.0, 0.125]          # the rate each epoch started with


class SpyPlateau(ReduceLROnPlateau):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics):
        self.seen.append(metrics)
        super().step(metrics)


@pytest.mark.parametrize("with_val", [True, False])
def test_reduce_lr_on_plateau_gets_the_monitored_value(with_val):
    X, y = moons(64)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = SpyPlateau(opt, patience=0, factor=0.5)
    history = fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), opt, epochs=3,
                  val_loader=loader(X[:32], y[:32]) if with_val else None, scheduler=sched,
                  progress=False)
    assert sched.seen == history.history["val_loss" if with_val else "loss"]
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), opt, epochs=1, scheduler=sched,
            scheduler_interval="step", progress=False)


# --- callbacks --------------------------------------------------------------------------------

def scripted(values):
    """A callable metric returning the given values one epoch after another."""
    it = iter(values)

    def score(outputs, targets):
        return next(it)
    return score


def test_early_stopping_stops_at_the_right_epoch_and_restores_best_weights():
    X, y = moons(32)
    model = mlp()
    snapshots = []

    class Snapshot(Callback):
        def on_epoch_end(self, epoch, logs):
            snapshots.append(params(self.state.model))

    # best at epoch 1; 0.71 is not better by more than min_delta = 0.05
    stopper = EarlyStopping(monitor="score", mode="max", patience=2, min_delta=0.05,
                            restore_best_weights=True)
    history = fit(model, loader(X, y, 16), nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=0.5), epochs=10,
                  metrics={"score": scripted([0.5, 0.7, 0.71, 0.6, 0.9, 0.95])},
                  callbacks=[Snapshot(), stopper], progress=False)
    assert len(history) == 4 and stopper.stopped_epoch == 3
    assert stopper.best_epoch == 1 and stopper.best == 0.7 and stopper.mode == "max"
    final = params(model)
    assert all(np.array_equal(final[k], snapshots[1][k]) for k in final)
    assert not np.array_equal(final["0.weight"], snapshots[3]["0.weight"])


def test_early_stopping_patience_zero_and_min_mode():
    stopper = EarlyStopping(monitor="val_loss", patience=0)
    X, y = moons(32)
    model = mlp()
    # lr = 0: val_loss never changes, so epoch 1 is not an improvement and stops training
    history = fit(model, loader(X, y, 16), nn.CrossEntropyLoss(),
                  optim.SGD(model.parameters(), lr=0.0), epochs=5, val_loader=loader(X, y),
                  callbacks=[stopper], progress=False)
    assert len(history) == 2 and stopper.stopped_epoch == 1 and stopper.mode == "min"
    assert EarlyStopping("val_accuracy").mode == EarlyStopping("r2_score").mode == "max"


def test_model_checkpoint_save_best_only(tmp_path):
    X, y = moons(32)
    model = mlp()
    values = [0.9, 0.8, 0.85, 0.7, 0.7]
    ckpt = ModelCheckpoint(tmp_path / "best-{epoch}.ckpt", monitor="loss_like", mode="min",
                           save_best_only=True)
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=5, metrics={"loss_like": scripted(values)}, callbacks=[ckpt], progress=False)
    assert sorted(os.listdir(tmp_path)) == ["best-1.ckpt", "best-2.ckpt", "best-4.ckpt"]
    info = load_checkpoint(tmp_path / "best-4.ckpt", mlp())
    assert info["epoch"] == 4 and info["history"].history["loss_like"] == values[:4]
    assert ckpt.last_path == str(tmp_path / "best-4.ckpt") and ckpt.best == 0.7


def test_model_checkpoint_every_epoch_holds_the_final_model(tmp_path):
    X, y = moons(32)
    model = mlp()
    path = tmp_path / "last.ckpt"
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=2, callbacks=[ModelCheckpoint(path)], progress=False)
    fresh = mlp()
    info = load_checkpoint(path, fresh)
    assert info["epoch"] == 2 and info["step"] == 4
    assert all(np.array_equal(a, b) for a, b in zip(params(model).values(),
                                                     params(fresh).values()))


# --- evaluate and predict ---------------------------------------------------------------------

def test_evaluate_and_predict_match_a_manual_loop():
    mg.manual_seed(7)
    X, y = moons(70)
    model = mlp(dropout=0.5)           # dropout must be off in eval mode
    model.eval()
    with mg.no_grad():
        out = model(mg.tensor(X))
    model.train()
    manual_loss = sum(float(nn.CrossEntropyLoss()(model.eval()(mg.tensor(X[i:i + 32])),
                                                  mg.tensor(y[i:i + 32]))) * len(y[i:i + 32])
                      for i in range(0, 70, 32)) / 70
    model.train()
    logs = evaluate(model, loader(X, y, 32), nn.CrossEntropyLoss(), metrics=["accuracy"])
    assert logs["loss"] == pytest.approx(manual_loss, rel=1e-6)
    assert logs["accuracy"] == M.accuracy(y, out.numpy())
    for data in (X, mg.tensor(X), loader(X, y, 32)):
        pred = predict(model, data, batch_size=16)
        assert isinstance(pred, mg.Tensor) and not pred.requires_grad
        np.testing.assert_allclose(pred.numpy(), out.numpy(), rtol=1e-6, atol=1e-6)
    assert model.training


# --- progress ---------------------------------------------------------------------------------

def test_progress_one_line_per_epoch_when_not_a_tty(capsys):
    X, y = moons(32)
    model = mlp()
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=2, val_loader=loader(X, y), metrics=["accuracy"])
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 2 and "\r" not in captured.err
    assert lines[1].startswith("epoch 2/2") and "val_accuracy" in lines[1] and "lr" in lines[1]


def test_progress_false_is_silent(capsys):
    X, y = moons(32)
    model = mlp()
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=2, progress=False)
    assert capsys.readouterr() == ("", "")


def test_progress_redraws_one_line_on_a_tty():
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    X, y = moons(64)
    model = mlp()
    term = Terminal()
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=2, stream=term)
    text = term.getvalue()
    assert text.count("\n") == 2 and "\r" in text
    assert "batch 4/4" in text and "samples/s" in text
    term = Terminal()                     # stopped mid-epoch: the open line is still ended
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
        epochs=2, stream=term, max_steps=3)
    assert term.getvalue().endswith("\n") and term.getvalue().count("\n") == 1


# --- history ----------------------------------------------------------------------------------

def test_history_files_and_state(tmp_path):
    h = History()
    h.append(0, {"loss": 1.5, "lr": 0.1})
    h.append(1, {"loss": float("nan"), "lr": 0.05})
    h.to_json(tmp_path / "h.json")
    data = json.loads((tmp_path / "h.json").read_text())
    assert data == {"epoch": [0, 1], "loss": [1.5, None], "lr": [0.1, 0.05]}
    h.to_csv(tmp_path / "h.csv")
    assert (tmp_path / "h.csv").read_text().splitlines() == ["epoch,loss,lr", "0,1.5,0.1",
                                                              "1,nan,0.05"]
    assert [p for p in os.listdir(tmp_path) if p.endswith(".tmp")] == []
    h2 = History()
    h2.load_state_dict(h.state_dict())
    assert h2.epoch == [0, 1] and h2.history["lr"] == [0.1, 0.05]
    with pytest.raises(ValueError, match="keys"):
        h.append(2, {"loss": 1.0})


# --- resuming ---------------------------------------------------------------------------------

def resumable_run(seed, tmp_path=None, **fit_kwargs):
    """Dropout + shuffling + augmentation + Adam + StepLR, 3 epochs of 6 batches (one short)."""
    mg.manual_seed(seed)
    X, y = make_moons(n=92, noise=0.2, seed=0)
    model = mlp(16, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=0.02)
    sched = StepLR(opt, step_size=1, gamma=0.7)
    train = loader(X, y, 16, shuffle=True, seed=None, transform=GaussianNoise(0.05, seed=None))
    options = dict(metrics=["accuracy"], progress=False)
    options.update(fit_kwargs)
    history = fit(model, train, nn.CrossEntropyLoss(), opt, epochs=3, scheduler=sched,
                  val_loader=loader(X[:40], y[:40], 16), **options)
    return params(model), history


@pytest.mark.parametrize("k, stop, interval", [(1, 8, "epoch"), (1, 6, "epoch"), (2, 5, "epoch"),
                                               (1, 9, "step")])
def test_resume_mid_epoch_is_bit_for_bit(tmp_path, k, stop, interval):
    """Interrupted after `stop` optimizer steps (8: mid-epoch; 6: after the last batch of
    epoch 0, before its validation), with k batches per step, then resumed."""
    path = tmp_path / "run.ckpt"
    options = dict(accumulate_steps=k, scheduler_interval=interval)
    reference, ref_history = resumable_run(0, **options)
    _, partial = resumable_run(0, **options, max_steps=stop,
                               callbacks=[ModelCheckpoint(path, every_n_steps=stop)])
    assert len(partial) == (stop * k) // 6 < 3
    assert load_checkpoint(path, mlp(16, dropout=0.3))["step"] == stop
    # a different seed: everything that matters must come from the checkpoint
    resumed, history = resumable_run(123, **options, resume=path,
                                     callbacks=[ModelCheckpoint(path, every_n_steps=stop)])
    for key in reference:
        assert np.array_equal(resumed[key], reference[key]), key
    assert history.epoch == ref_history.epoch == [0, 1, 2]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert history.history[key] == ref_history.history[key], key
    # and the same seed without the checkpoint is a different run
    assert not np.array_equal(resumable_run(123)[0]["0.weight"], reference["0.weight"])


def test_resume_from_an_epoch_end_checkpoint_and_early_stopping_state(tmp_path):
    path = tmp_path / "epoch.ckpt"
    reference, ref_history = resumable_run(0, callbacks=[EarlyStopping("val_loss", patience=5)])
    stopper = EarlyStopping("val_loss", patience=5)
    resumable_run(0, max_steps=6, callbacks=[stopper, ModelCheckpoint(path)])
    info = load_checkpoint(path, mlp(16, dropout=0.3),
                           callbacks=[EarlyStopping(), ModelCheckpoint(path)])
    assert info["epoch"] == 1 and info["fit"]["epoch_totals"] is None
    stopper2 = EarlyStopping("val_loss", patience=5)
    resumed, history = resumable_run(9, resume=path, callbacks=[stopper2, ModelCheckpoint(path)])
    assert all(np.array_equal(resumed[k], reference[k]) for k in reference)
    assert history.history["val_loss"] == ref_history.history["val_loss"]
    assert stopper2.best == min(history.history["val_loss"])


def test_resume_checks_the_callbacks(tmp_path):
    path = tmp_path / "c.ckpt"
    resumable_run(0, max_steps=2, callbacks=[ModelCheckpoint(path, every_n_steps=2)])
    with pytest.raises(ValueError, match="same callbacks"):
        resumable_run(0, resume=path, callbacks=[EarlyStopping(), ModelCheckpoint(path)])


def test_resume_refuses_other_metrics(tmp_path):
    mid, end = tmp_path / "mid.ckpt", tmp_path / "end.ckpt"
    resumable_run(0, max_steps=3, callbacks=[ModelCheckpoint(mid, every_n_steps=3)])
    resumable_run(0, max_steps=6, callbacks=[ModelCheckpoint(end)])
    with pytest.raises(ValueError, match="saved mid-epoch with metrics"):
        resumable_run(0, resume=mid, metrics=["f1_score"], callbacks=[ModelCheckpoint(mid)])
    with pytest.raises(ValueError, match="history keys"):
        resumable_run(0, resume=end, metrics=["f1_score"], callbacks=[ModelCheckpoint(end)])


def test_a_refused_resume_loads_nothing(tmp_path):
    path = tmp_path / "end.ckpt"
    resumable_run(0, max_steps=6, callbacks=[ModelCheckpoint(path)])
    mg.manual_seed(5)
    X, y = make_moons(n=92, noise=0.2, seed=0)
    model = mlp(16, dropout=0.3)
    opt = optim.Adam(model.parameters(), lr=0.02)
    train = loader(X, y, 16, shuffle=True, seed=None, transform=GaussianNoise(0.05, seed=None))
    before = params(model)
    with pytest.raises(ValueError, match="history keys"):
        fit(model, train, nn.CrossEntropyLoss(), opt, 3, metrics=["f1_score"], progress=False,
            val_loader=loader(X[:40], y[:40], 16), resume=path)
    assert all(np.array_equal(params(model)[k], before[k]) for k in before)
    assert opt.state_dict()["state"] == {}


def test_resume_from_a_hand_written_mid_epoch_checkpoint(tmp_path):
    """A checkpoint saved by hand mid-epoch (no fit state): fit trains the rest of the epoch."""
    X, y = moons(64)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    train = loader(X, y, 16, shuffle=True)
    batches = iter(train)
    for _ in range(3):                                  # 3 of the 4 batches, by hand
        xb, yb = next(batches)
        nn.CrossEntropyLoss()(model(xb), yb).backward()
        opt.step()
        opt.zero_grad()
    save_checkpoint(tmp_path / "c", model, opt, train_loader=train, epoch=0, step=3)
    del batches
    rec = Recorder()
    history = fit(model, train, nn.CrossEntropyLoss(), opt, 2, resume=tmp_path / "c",
                  callbacks=[rec], progress=False)
    assert rec.steps == [4, 5, 6, 7, 8] and len(history) == 2


def test_save_and_load_checkpoint_roundtrip(tmp_path):
    mg.manual_seed(0)
    model = mlp()
    opt = optim.Adam(model.parameters(), lr=0.01)
    sched = StepLR(opt, step_size=2)
    X, y = moons(32)
    fit(model, loader(X, y, 16), nn.CrossEntropyLoss(), opt, epochs=1, scheduler=sched,
        progress=False)
    save_checkpoint(tmp_path / "c", model, opt, sched, epoch=1, step=2,
                    extra={"note": "hello", "array": np.arange(3)})
    draw = mg.rand(3).numpy()
    model2, = [mlp()]
    opt2 = optim.Adam(model2.parameters(), lr=0.5)
    sched2 = StepLR(opt2, step_size=5)
    info = load_checkpoint(tmp_path / "c", model2, opt2, sched2)
    assert np.array_equal(mg.rand(3).numpy(), draw)           # the random state came back
    assert info["epoch"] == 1 and info["step"] == 2 and info["history"] is None
    assert info["extra"]["note"] == "hello" and np.array_equal(info["extra"]["array"],
                                                                np.arange(3))
    assert opt2.param_groups[0]["lr"] == 0.01 and sched2.step_size == 2
    assert opt2.state_dict()["state"][0]["step"] == 2
    with pytest.raises(CheckpointError, match="no scheduler"):
        save_checkpoint(tmp_path / "d", model, opt)
        load_checkpoint(tmp_path / "d", model2, opt2, sched2)
    mg.save({"weights": np.zeros(2)}, tmp_path / "plain")
    with pytest.raises(CheckpointError, match="not a training checkpoint"):
        load_checkpoint(tmp_path / "plain", model2)


_KILLED_WRITER = """
import os, sys
import numpy as np
import minigrad as mg
from minigrad import nn, optim, serialization
from minigrad.training import save_checkpoint

path = sys.argv[1]
mg.manual_seed(0)
model = nn.Linear(2, 3)
opt = optim.SGD(model.parameters(), lr=0.1)
save_checkpoint(path, model, opt, epoch=1, step=5)
real_write = serialization._write_npz

def dying_write(file, members):
    import io
    buffer = io.BytesIO()
    real_write(buffer, members)
    data = buffer.getvalue()
    file.write(data[: len(data) // 2])       # half of the new checkpoint is on disk...
    file.flush()
    os._exit(17)                             # ...when the process dies (no cleanup runs)

serialization._write_npz = dying_write
with mg.no_grad():
    model.weight.fill_(7.0)
save_checkpoint(path, model, opt, epoch=2, step=10)
"""


def test_a_process_killed_while_writing_leaves_the_previous_checkpoint(tmp_path):
    path = tmp_path / "ckpt"
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(_KILLED_WRITER), str(path)],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 17, proc.stderr
    leftovers = [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    assert len(leftovers) == 1                      # the half-written temporary file
    model = nn.Linear(2, 3)
    info = load_checkpoint(path, model)             # the first checkpoint, intact
    assert info["epoch"] == 1 and info["step"] == 5
    assert not np.any(model.weight.detach().numpy() == 7.0)
    # a truncated checkpoint is refused, not half-loaded
    with pytest.raises(CheckpointError):
        load_checkpoint(tmp_path / leftovers[0], model)
    data = path.read_bytes()
    truncated = tmp_path / "truncated"
    truncated.write_bytes(data[: len(data) - 100])
    with pytest.raises(CheckpointError):
        load_checkpoint(truncated, model)


# --- bad arguments ----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "fit: epochs must be an int >= 1, got 0"),
    ({"epochs": 1.5}, ValueError, "epochs"),
    ({"accumulate_steps": 0}, ValueError, "fit: accumulate_steps must be an int >= 1, got 0"),
    ({"max_steps": 0}, ValueError, "max_steps"),
    ({"metrics": ["accuracy", "acuracy"]}, ValueError, "unknown metric 'acuracy'"),
    ({"metrics": [lambda o, t: 0.0]}, ValueError, "no usable name"),
    ({"metrics": {"loss": "accuracy"}}, ValueError, "reserved"),
    ({"scheduler_interval": "batch"}, ValueError, "scheduler_interval"),
    ({"clip_grad_norm": -1.0}, ValueError, "clip_grad_norm"),
    ({"callbacks": [object()]}, TypeError, "Callback instances"),
    ({"callbacks": [EarlyStopping("val_loss")]}, KeyError, "'val_loss' is not in the epoch logs"),
    ({"callbacks": [ModelCheckpoint("x", monitor="val_accuracy", save_best_only=True)]},
     KeyError, "val_accuracy"),
])
def test_bad_arguments(kwargs, error, match):
    X, y = moons(16)
    model = mlp()
    args = dict(epochs=1, progress=False)
    args.update(kwargs)
    epochs = args.pop("epochs")
    with pytest.raises(error, match=match):
        fit(model, loader(X, y, 8), nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1),
            epochs, **args)


def test_bad_batches_and_callback_arguments():
    X, y = moons(16)
    model = mlp()
    opt = optim.SGD(model.parameters(), lr=0.1)
    only_inputs = DataLoader(TensorDataset(X), batch_size=8)
    with pytest.raises(TypeError, match="train_loader must yield \\(inputs, targets\\) pairs"):
        fit(model, only_inputs, nn.CrossEntropyLoss(), opt, 1, progress=False)
    with pytest.raises(TypeError, match="val_loader must yield"):
        fit(model, loader(X, y), nn.CrossEntropyLoss(), opt, 1, val_loader=only_inputs,
            progress=False)
    with pytest.raises(ValueError, match="scalar Tensor"):
        fit(model, loader(X, y), nn.CrossEntropyLoss(reduction="none"), opt, 1, progress=False)
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="lowest")
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=-1)
    with pytest.raises(ValueError, match="every_n_steps"):
        ModelCheckpoint("x", save_best_only=True, every_n_steps=3)
    with pytest.raises(ValueError, match="batch_size"):
        predict(model, X, batch_size=0)
    with pytest.raises(FileNotFoundError):
        fit(model, loader(X, y), nn.CrossEntropyLoss(), opt, 1, resume="/nonexistent/ckpt",
            progress=False)
