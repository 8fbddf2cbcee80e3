"""minigrad.amp: autocast's dtype policy per op, GradScaler against a NumPy transcription of
its update rule (and PyTorch's when installed), and AmpCallback inside fit."""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import amp, nn
from minigrad.nn import functional as F

F16, F32, F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)


def _x(shape, device, dtype=np.float32, requires_grad=False, seed=0):
    data = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return mg.tensor(data, device=device, requires_grad=requires_grad)


# Each op under autocast with float32 inputs: the dtype its output must have.
POLICY_CASES = [
    ("matmul", lambda x, w: x @ w.T, F16),
    ("mm", lambda x, w: mg.mm(x, w.T), F16),
    ("linear", lambda x, w: F.linear(x, w), F16),
    ("conv2d", lambda x, w: F.conv2d(x.reshape(1, 1, 4, 4), w.reshape(1, 1, 4, 4)[:, :, :3, :3]),
     F16),
    ("relu", lambda x, w: F.linear(x, w).relu(), F16),  # follows its (float16) input
    ("add", lambda x, w: x + w, F32),  # not listed: float32 in, float32 out
    ("sum", lambda x, w: F.linear(x, w).sum(), F32),
    ("mean", lambda x, w: F.linear(x, w).mean(), F32),
    ("var", lambda x, w: F.linear(x, w).var(), F32),
    ("softmax", lambda x, w: F.linear(x, w).softmax(-1), F32),
    ("log_softmax", lambda x, w: F.linear(x, w).log_softmax(-1), F32),
    ("logsumexp", lambda x, w: F.linear(x, w).logsumexp(-1), F32),
    ("exp", lambda x, w: F.linear(x, w).exp(), F32),
    ("log", lambda x, w: F.linear(x, w).abs().log(), F32),
    ("pow", lambda x, w: F.linear(x, w) ** 2, F32),
    ("cross_entropy", lambda x, w: F.cross_entropy(
        F.linear(x, w), mg.tensor([0, 1, 2, 3], device=x.device)), F32),
    ("mse_loss", lambda x, w: F.mse_loss(F.linear(x, w), mg.zeros(4, 4, device=x.device)), F32),
    ("bce_with_logits", lambda x, w: F.binary_cross_entropy_with_logits(
        F.linear(x, w), mg.zeros(4, 4, device=x.device)), F32),
    ("layer_norm", lambda x, w: F.layer_norm(F.linear(x, w), 4), F32),
    ("batch_norm", lambda x, w: nn.BatchNorm1d(4).to(x.device)(F.linear(x, w)), F32),
]


@pytest.mark.parametrize("name,op,expected", POLICY_CASES, ids=[c[0] for c in POLICY_CASES])
def test_autocast_policy_per_op(name, op, expected, device):
    x = _x((4, 4), device, requires_grad=True)
    w = _x((4, 4), device, requires_grad=True, seed=1)
    with amp.autocast():
        out = op(x, w)
    assert out.dtype == expected, name
    out.sum().backward()
    # the cast is recorded: float32 leaves get float32 gradients
    assert x.grad.dtype == F32 and w.grad.dtype == F32
    with amp.autocast(enabled=False):
        assert op(x, w).dtype == F32  # disabled: nothing is cast


def test_autocast_values_are_the_float16_computation(device):
    x, w = _x((3, 5), device), _x((2, 5), device, seed=1)
    with amp.autocast():
        out = F.linear(x, w)
    x16, w16 = x.numpy().astype(np.float16), w.numpy().astype(np.float16)
    # float16 inputs, products summed in float32, the result rounded to float16
    expected = (x16.astype(np.float32) @ w16.astype(np.float32).T).astype(np.float16)
    if device == "cpu":  # NumPy: exactly that (the float32 kernel on the rounded inputs)
        np.testing.assert_array_equal(out.numpy(), expected)
    else:  # the device's own float16 kernel: within an ulp of float16
        np.testing.assert_allclose(out.numpy().astype(np.float32), expected, rtol=2e-3,
                                   atol=2e-3)
    np.testing.assert_allclose(out.numpy(), x.numpy() @ w.numpy().T, rtol=1e-2, atol=1e-2)


def test_float64_and_integer_tensors_are_never_cast(device):
    x = _x((2, 2), device, dtype=np.float64)
    with amp.autocast():
        assert (x @ x).dtype == F64 and x.sum().dtype == F64
        ints = mg.tensor([[1, 2], [3, 4]], device=device)
        assert (ints @ ints).dtype == np.int64


def test_backward_inside_autocast_runs_in_forward_dtypes(device):
    lin = nn.Linear(3, 2).to(device)
    with amp.autocast():
        loss = (lin(_x((4, 3), device)) ** 2).mean()
        loss.backward()  # no dtype clash: backward ops are not re-cast
    assert lin.weight.grad.dtype == F32 and loss.dtype == F32


def test_autocast_nests_restores_and_is_per_thread():
    seen = {}

    def other_thread():
        seen["other"] = (amp.is_autocast_enabled(), (mg.ones(2, 2) @ mg.ones(2, 2)).dtype)

    with amp.autocast():
        assert amp.get_autocast_dtype() == F16
        with amp.autocast(enabled=False):
            assert not amp.is_autocast_enabled()
            assert (mg.ones(2, 2) @ mg.ones(2, 2)).dtype == F32
        assert amp.is_autocast_enabled()
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    assert seen["other"] == (False, F32)
    assert not amp.is_autocast_enabled() and mg.autograd._autocast_depth == 0
    from minigrad.functions.linalg import MatMul
    assert "apply" not in vars(MatMul)  # outside autocast the op is exactly as without amp


def test_autocast_as_decorator():
    @amp.autocast()
    def forward(a):
        return a @ a

    assert forward(mg.ones(2, 2)).dtype == F16
    assert (mg.ones(2, 2) @ mg.ones(2, 2)).dtype == F32


def test_autocast_errors():
    with pytest.raises(TypeError, match="floating-point dtype.*int32"):
        amp.autocast(np.int32)
    with pytest.raises(TypeError, match="floating-point dtype"):
        amp.autocast("not a dtype")
    with pytest.raises(ValueError, match="float64 is not a lower precision"):
        amp.autocast(np.float64)
    with pytest.raises(TypeError, match="enabled must be a bool"):
        amp.autocast(enabled="yes")


# --- GradScaler ---------------------------------------------------------------------------------

def _reference_scaler(found_infs, init_scale, growth, backoff, interval):
    """A NumPy transcription of the update rule: the scale before each step, and skips."""
    scale, tracker, scales, skipped = np.float32(init_scale), 0, [], []
    for inf in found_infs:
        scales.append(float(scale))
        skipped.append(inf)
        if inf:
            scale, tracker = np.float32(scale * np.float32(backoff)), 0
        elif tracker + 1 == interval:
            grown = np.float32(scale * np.float32(growth))
            scale = grown if np.isfinite(grown) else scale
            tracker = 0
        else:
            tracker += 1
    return scales, skipped, float(scale), tracker


def _run_scaler(found_infs, device, **kwargs):
    """A parameter trained by SGD with scaled gradients; ``inf`` steps get a NaN/inf grad."""
    w = nn.Parameter(mg.tensor([1.0, -2.0], device=device))
    opt = mg.optim.SGD([w], lr=0.1)
    scaler = amp.GradScaler(**kwargs)
    scales, values = [], []
    for i, inf in enumerate(found_infs):
        opt.zero_grad()
        scales.append(scaler.get_scale())
        loss = (w * w).sum() * (float("inf") if inf and i % 2 else 1.0)
        if inf and not i % 2:
            loss = loss * float("nan")
        scaler.scale(loss).backward()
        before = w.detach().numpy().copy()
        scaler.step(opt)
        scaler.update()
        values.append((before, w.detach().numpy().copy()))
    return scaler, scales, values


@settings(max_examples=30)
@given(st.lists(st.booleans(), min_size=1, max_size=25), st.integers(1, 4),
       st.sampled_from([2.0, 3.0]), st.sampled_from([0.5, 0.25]))
def test_grad_scaler_matches_the_numpy_transcription(found_infs, interval, growth, backoff):
    scaler, scales, values = _run_scaler(found_infs, "cpu", init_scale=8.0,
                                         growth_factor=growth, backoff_factor=backoff,
                                         growth_interval=interval)
    ref_scales, skipped, final, tracker = _reference_scaler(found_infs, 8.0, growth, backoff,
                                                            interval)
    assert scales == ref_scales
    assert scaler.get_scale() == final and scaler.state_dict()["_growth_tracker"] == tracker
    for skip, (before, after) in zip(skipped, values):
        if skip:  # exactly the steps with non-finite gradients are skipped
            np.testing.assert_array_equal(before, after)
        else:  # others take the SGD step on the true (unscaled) gradient 2w
            np.testing.assert_allclose(after, before - 0.1 * 2 * before, rtol=1e-6)


def test_grad_scaler_on_device(device):
    scaler, scales, _ = _run_scaler([False, True, False, False], device, init_scale=4.0,
                                    growth_interval=2)
    assert scales == [4.0, 4.0, 2.0, 2.0] and scaler.get_scale() == 4.0


def test_grad_scaler_growth_stops_at_float32_overflow():
    w = nn.Parameter(mg.tensor([1.0]))
    opt = mg.optim.SGD([w], lr=0.1)
    scaler = amp.GradScaler(init_scale=2.0 ** 127, growth_interval=1)
    for _ in range(3):
        scaler.scale((w * 0.0).sum()).backward()  # zero gradients: always finite
        scaler.step(opt)
        scaler.update()
    assert scaler.get_scale() == 2.0 ** 127  # 2^128 is inf in float32: kept


def test_grad_scaler_unscale_before_clipping_and_stage_errors():
    w = nn.Parameter(mg.tensor([3.0, 4.0]))
    opt = mg.optim.SGD([w], lr=1.0)
    scaler = amp.GradScaler(init_scale=1024.0)
    scaler.scale((w * w).sum()).backward()
    np.testing.assert_allclose(w.grad.numpy(), [6144.0, 8192.0])
    scaler.unscale_(opt)
    np.testing.assert_allclose(w.grad.numpy(), [6.0, 8.0])
    with pytest.raises(RuntimeError, match="already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)  # does not unscale twice
    np.testing.assert_allclose(w.detach().numpy(), [-3.0, -4.0])
    with pytest.raises(RuntimeError, match="step\\(\\) has already been called"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match="after step"):
        scaler.unscale_(opt)
    scaler.update()
    with pytest.raises(RuntimeError, match="no inf checks were recorded"):
        scaler.update()
    with pytest.raises(RuntimeError, match="closure"):
        scaler.step(opt, closure=lambda: 0.0)


def test_grad_scaler_refuses_float16_grads_and_bad_settings():
    w = nn.Parameter(mg.tensor([1.0], dtype=np.float16))
    opt = mg.optim.SGD([w], lr=1.0)
    (w * 2).sum().backward()
    with pytest.raises(ValueError, match="float16 gradients"):
        amp.GradScaler().unscale_(opt)
    with pytest.raises(ValueError, match="growth_factor"):
        amp.GradScaler(growth_factor=1.0)
    with pytest.raises(ValueError, match="backoff_factor"):
        amp.GradScaler(backoff_factor=1.5)
    with pytest.raises(ValueError, match="growth_interval"):
        amp.GradScaler(growth_interval=0)
    with pytest.raises(ValueError, match="init_scale"):
        amp.GradScaler(init_scale=-1.0)


def test_grad_scaler_state_dict_round_trip_and_disabled_pass_through():
    scaler, _, _ = _run_scaler([False, False, True, False], "cpu", init_scale=16.0,
                               growth_interval=3)
    state = scaler.state_dict()
    assert set(state) == {"scale", "growth_factor", "backoff_factor", "growth_interval",
                          "_growth_tracker"}
    other = amp.GradScaler()
    other.load_state_dict(state)
    assert other.state_dict() == state
    off = amp.GradScaler(enabled=False)
    loss = mg.tensor(2.0)
    assert off.scale(loss) is loss and off.state_dict() == {} and off.get_scale() == 1.0
    scaler.update(new_scale=mg.tensor(5.0))
    assert scaler.get_scale() == 5.0


# --- fit -------------------------------------------------------------------------------------

def test_amp_callback_in_fit_skips_exactly_the_poisoned_steps():
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.training import fit

    mg.manual_seed(0)
    x = mg.randn(64, 4)
    y = mg.tensor(np.arange(64) % 3)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    poisoned = {2, 5}
    step = {"n": 0}

    def poison(grad):  # an overflow at chosen steps, as float16 would produce
        step["n"] += 1
        return grad * float("inf") if step["n"] - 1 in poisoned else None

    model[0].bias.register_hook(poison)
    callback = amp.AmpCallback(scaler=amp.GradScaler(init_scale=256.0, growth_interval=3))
    dtypes = []
    model[2].register_forward_hook(lambda m, a, out: dtypes.append(out.dtype))
    history = fit(model, DataLoader(TensorDataset(x, y), 8), nn.CrossEntropyLoss(),
                  mg.optim.SGD(model.parameters(), lr=0.1), epochs=1, callbacks=[callback],
                  progress=False)
    scales, skipped, _, _ = _reference_scaler([i in poisoned for i in range(8)], 256.0, 2.0,
                                              0.5, 3)
    assert callback.scale_history == scales and callback.skipped_steps == sum(skipped) == 2
    assert set(dtypes) == {F16}
    assert np.isfinite(history.history["loss"][-1])
    for p in model.parameters():
        assert p.dtype == F32 and np.isfinite(p.detach().numpy()).all()
    state = callback.state_dict()
    restored = amp.AmpCallback()
    restored.load_state_dict(state)
    assert restored.state_dict() == state


def test_train_command_with_amp(tmp_path, capsys):
    from minigrad import cli

    out = tmp_path / "run"
    status = cli.main(["train", "--amp", "--samples", "300", "--epochs", "2", "--quiet",
                       "--out", str(out)])
    assert status == 0
    import json
    results = json.loads((out / "results.json").read_text())
    amp_results = results["amp"]
    assert len(amp_results["scale_history"]) == results["optimizer_steps"]
    assert amp_results["skipped_steps"] == 0 and amp_results["final_scale"] == 2.0 ** 16
    assert json.loads((out / "config.json").read_text())["amp"] is True
