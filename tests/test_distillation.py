"""Knowledge distillation: the loss against its formula in NumPy, gradchecked in float64 on
hypothesis-drawn shapes, and the fit callback (teacher frozen, in eval mode, no graph)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad.data import DataLoader, TensorDataset
from minigrad.nn import functional as F
from minigrad.nn.distillation import Distillation
from minigrad.training import fit


def _np_log_softmax(z):
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def _np_distillation(z_s, z_t, y, t, alpha):
    log_p_s, log_p_t = _np_log_softmax(z_s / t), _np_log_softmax(z_t / t)
    kl = (np.exp(log_p_t) * (log_p_t - log_p_s)).sum(axis=1).mean()
    ce = -_np_log_softmax(z_s)[np.arange(len(y)), y].mean()
    return alpha * t * t * kl + (1 - alpha) * ce


cases = st.tuples(st.integers(1, 5), st.integers(2, 5), st.sampled_from([1.0, 2.0, 4.0]),
                  st.sampled_from([0.0, 0.3, 0.9, 1.0]), st.integers(0, 10_000))


def _draw(n, c, seed):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c)) * 2, rng.standard_normal((n, c)) * 2,
            rng.integers(0, c, n))


@settings(max_examples=30)
@given(case=cases)
def test_matches_formula(case, device):
    n, c, t, alpha, seed = case
    z_s, z_t, y = _draw(n, c, seed)
    got = F.distillation_loss(mg.tensor(z_s, dtype=mg.float64, device=device),
                              mg.tensor(z_t, dtype=mg.float64, device=device),
                              mg.tensor(y, device=device), t, alpha)
    assert float(got) == pytest.approx(_np_distillation(z_s, z_t, y, t, alpha), rel=1e-10)
    module = nn.DistillationLoss(t, alpha)
    f32 = module(mg.tensor(z_s.astype(np.float32), device=device),
                 mg.tensor(z_t.astype(np.float32), device=device),
                 mg.tensor(y, device=device))
    assert f32.dtype == np.float32
    assert float(f32) == pytest.approx(_np_distillation(z_s, z_t, y, t, alpha), rel=1e-4)


@settings(max_examples=25)
@given(case=cases)
def test_gradcheck(case, device):
    n, c, t, alpha, seed = case
    z_s, z_t, y = _draw(n, c, seed)
    target = mg.tensor(y, device=device)
    inputs = [mg.tensor(a, dtype=mg.float64, requires_grad=True, device=device) for a in (z_s, z_t)]
    assert mg.gradcheck(lambda s, te: F.distillation_loss(s, te, target, t, alpha), inputs)


def test_soft_gradient_is_p_s_minus_p_t_times_t():
    """With α = 1: dL/dz_s = T · (p_s − p_t) / N (the T² makes up for the 1/T)."""
    z_s, z_t, y = _draw(3, 4, 0)
    s = mg.tensor(z_s, dtype=mg.float64, requires_grad=True)
    F.distillation_loss(s, mg.tensor(z_t, dtype=mg.float64), mg.tensor(y), 3.0, 1.0).backward()
    p = lambda z: np.exp(_np_log_softmax(z / 3.0))  # noqa: E731
    np.testing.assert_allclose(s.grad.data, 3.0 * (p(z_s) - p(z_t)) / 3, rtol=1e-10)


@pytest.mark.parametrize("kwargs, message", [
    (dict(temperature=0.0), "temperature must be a positive"),
    (dict(alpha=1.5), r"alpha must be in \[0, 1\]"),
])
def test_bad_settings(kwargs, message):
    z = mg.zeros(2, 3)
    with pytest.raises(ValueError, match=message):
        F.distillation_loss(z, z, mg.tensor([0, 1]), **kwargs)


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"student_logits \(2, 3\) and teacher_logits \(2, 4\)"):
        F.distillation_loss(mg.zeros(2, 3), mg.zeros(2, 4), mg.tensor([0, 1]))


class _Recorder(nn.Module):
    """A teacher that records whether it ran in eval mode and under no_grad."""

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 3)
        self.calls = []

    def forward(self, x):
        self.calls.append((self.training, mg.is_grad_enabled()))
        return self.linear(x)


def test_callback_adds_the_teacher_term_with_a_frozen_teacher(device):
    mg.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = rng.integers(0, 3, 32)
    loader = DataLoader(TensorDataset(mg.tensor(x, device=device), mg.tensor(y, device=device)),
                        batch_size=32)
    teacher, student = _Recorder().to(device), nn.Linear(4, 3).to(device)
    teacher.train()
    before = [backend.to_device(p.data, "cpu").copy() for p in teacher.parameters()]
    start = student(mg.tensor(x, device=device))
    expected = F.distillation_loss(start, teacher.linear(mg.tensor(x, device=device)),
                                   mg.tensor(y, device=device), 2.0, 0.7)
    optimizer = mg.optim.SGD(student.parameters(), lr=0.1)
    history = fit(student, loader, nn.CrossEntropyLoss(), optimizer, epochs=2,
                  callbacks=[Distillation(teacher, temperature=2.0, alpha=0.7)], progress=False)
    assert history.history["loss"][0] == pytest.approx(float(expected), rel=1e-5)
    assert teacher.calls and all(mode == (False, False) for mode in teacher.calls)
    for p, b in zip(teacher.parameters(), before):
        np.testing.assert_array_equal(backend.to_device(p.data, "cpu"), b)
        assert p.grad is None


def test_train_command_with_a_teacher(tmp_path, capsys):
    import json

    from minigrad import cli
    common = ["--data", "moons", "--samples", "300", "--epochs", "1", "--quiet", "--no-progress"]
    assert cli.main(["train", *common, "--out", str(tmp_path / "teacher")]) == 0
    teacher = str(tmp_path / "teacher" / "model.npz")
    assert cli.main(["train", *common, "--hidden", "8", "--teacher", teacher,
                     "--temperature", "2", "--alpha", "0.5",
                     "--out", str(tmp_path / "student")]) == 0
    config = json.loads((tmp_path / "student" / "config.json").read_text())
    assert (config["teacher"], config["temperature"], config["alpha"]) == (teacher, 2.0, 0.5)
    assert cli.main(["train", *common, "--teacher", str(tmp_path / "missing.npz")]) != 0
    assert "--teacher" in capsys.readouterr().err


def test_alpha_zero_trains_the_labels_only_student_bit_for_bit():
    """The protocol of examples/distillation.py: with the same seed, loader seed and init, a
    student distilled with α = 0 is the labels-only student exactly, so the teacher's run
    (here with dropout, in eval mode) draws no random numbers and changes neither the
    student's initialization nor the order of the batches."""
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((48, 6)).astype(np.float32))
    y = mg.tensor(rng.integers(0, 3, 48))
    mg.manual_seed(0)
    teacher = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 3))

    def student(callbacks):
        mg.manual_seed(7)
        model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
        loader = DataLoader(TensorDataset(x, y), batch_size=8, shuffle=True, seed=7)
        fit(model, loader, nn.CrossEntropyLoss(), mg.optim.Adam(model.parameters(), lr=1e-2),
            epochs=2, callbacks=callbacks, progress=False)
        return [p.data.copy() for p in model.parameters()]

    plain = student([])
    for got, want in zip(student([Distillation(teacher, temperature=4.0, alpha=0.0)]), plain):
        np.testing.assert_array_equal(got, want)
    moved = student([Distillation(teacher, temperature=4.0, alpha=0.5)])
    assert any(not np.array_equal(a, b) for a, b in zip(moved, plain))   # the test can fail
