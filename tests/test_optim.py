"""Optimizers: every option against a NumPy transcription of PyTorch's documented algorithm,
written here, step by step for 22 steps (float64, tight tolerance, fresh random gradients each
step, several shapes including 0-d, two parameter groups with different hyper-parameters and a
parameter whose gradient is sometimes None); float32 in, float32 state out; state_dict saved
mid-run resumes the exact trajectory; convergence on the documents' linear regression; invalid
hyper-parameters; the Optimizer API; no per-step allocations.
"""

import itertools
import json
import math
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, optim
from minigrad.nn import Parameter
from minigrad.optim import lr_scheduler

# ---------------------------------------------------------------------------------------------
# The reference: each documented algorithm transcribed in plain float64 NumPy, out of place.
# ``state`` uses minigrad's state names so the two can be compared entry by entry.


def ref_sgd(theta, grad, state, hp):
    g = -grad if hp["maximize"] else grad
    if hp["weight_decay"] != 0:
        g = g + hp["weight_decay"] * theta
    mu, tau = hp["momentum"], hp["dampening"]
    if mu != 0:
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = g.copy()
        else:
            state["momentum_buffer"] = mu * state["momentum_buffer"] + (1 - tau) * g
        b = state["momentum_buffer"]
        g = g + mu * b if hp["nesterov"] else b
    return theta - hp["lr"] * g


def ref_rmsprop(theta, grad, state, hp):
    alpha, eps, mu = hp["alpha"], hp["eps"], hp["momentum"]
    state["step"] = state.get("step", 0) + 1
    g = -grad if hp["maximize"] else grad
    if hp["weight_decay"] != 0:
        g = g + hp["weight_decay"] * theta
    state["square_avg"] = alpha * state.get("square_avg", 0.0) + (1 - alpha) * g ** 2
    v_tilde = state["square_avg"]
    if hp["centered"]:
        state["grad_avg"] = alpha * state.get("grad_avg", 0.0) + (1 - alpha) * g
        v_tilde = v_tilde - state["grad_avg"] ** 2
    if mu > 0:
        state["momentum_buffer"] = (mu * state.get("momentum_buffer", 0.0)
                                    + g / (np.sqrt(v_tilde) + eps))
        return theta - hp["lr"] * state["momentum_buffer"]
    return theta - hp["lr"] * g / (np.sqrt(v_tilde) + eps)


def ref_adam(theta, grad, state, hp, decoupled=False):
    (beta1, beta2), lr, wd = hp["betas"], hp["lr"], hp["weight_decay"]
    t = state["step"] = state.get("step", 0) + 1
    g = -grad if hp["maximize"] else grad
    if decoupled:
        theta = theta - lr * wd * theta
    elif wd != 0:
        g = g + wd * theta
    m = state["exp_avg"] = beta1 * state.get("exp_avg", 0.0) + (1 - beta1) * g
    v = state["exp_avg_sq"] = beta2 * state.get("exp_avg_sq", 0.0) + (1 - beta2) * g ** 2
    m_hat = m / (1 - beta1 ** t)
    if hp["amsgrad"]:
        v_max = state["max_exp_avg_sq"] = np.maximum(state.get("max_exp_avg_sq", 0.0), v)
        v_hat = v_max / (1 - beta2 ** t)
    else:
        v_hat = v / (1 - beta2 ** t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + hp["eps"])


def ref_adamw(theta, grad, state, hp):
    return ref_adam(theta, grad, state, hp, decoupled=True)


def ref_adagrad(theta, grad, state, hp):
    t = state["step"] = state.get("step", 0) + 1
    g = -grad if hp["maximize"] else grad
    clr = hp["lr"] / (1 + (t - 1) * hp["lr_decay"])
    if hp["weight_decay"] != 0:
        g = g + hp["weight_decay"] * theta
    state["sum"] = state.get("sum", hp["initial_accumulator_value"]) + g ** 2
    return theta - clr * g / (np.sqrt(state["sum"]) + hp["eps"])


REFERENCES = {"SGD": ref_sgd, "RMSprop": ref_rmsprop, "Adam": ref_adam, "AdamW": ref_adamw,
              "Adagrad": ref_adagrad}


# Hypothesis draws each optimizer's options: every flag and a zero/non-zero value of every
# coefficient, so each combination is reachable.

def _sgd_options(d):
    if d["nesterov"] and (d["momentum"] == 0 or d["dampening"] != 0):
        d["dampening"] = 0.0
        d["momentum"] = d["momentum"] or 0.8
    return d


OPTIONS = {
    "SGD": st.fixed_dictionaries({
        "lr": st.sampled_from([0.01, 0.1]), "momentum": st.sampled_from([0.0, 0.5, 0.9]),
        "dampening": st.sampled_from([0.0, 0.3]), "weight_decay": st.sampled_from([0.0, 0.05]),
        "nesterov": st.booleans(), "maximize": st.booleans()}).map(_sgd_options),
    "RMSprop": st.fixed_dictionaries({
        "lr": st.sampled_from([0.001, 0.01]), "alpha": st.sampled_from([0.9, 0.99, 0.5]),
        "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 0.05]),
        "momentum": st.sampled_from([0.0, 0.7]), "centered": st.booleans(),
        "maximize": st.booleans()}),
    "Adam": st.fixed_dictionaries({
        "lr": st.sampled_from([1e-3, 0.05]),
        "betas": st.sampled_from([(0.9, 0.999), (0.5, 0.9), (0.0, 0.3)]),
        "eps": st.sampled_from([1e-8, 1e-3]), "weight_decay": st.sampled_from([0.0, 0.05]),
        "amsgrad": st.booleans(), "maximize": st.booleans()}),
    "Adagrad": st.fixed_dictionaries({
        "lr": st.sampled_from([0.01, 0.1]), "lr_decay": st.sampled_from([0.0, 0.05]),
        "weight_decay": st.sampled_from([0.0, 0.05]),
        "initial_accumulator_value": st.sampled_from([0.0, 0.5]),
        "eps": st.sampled_from([1e-10, 1e-3]), "maximize": st.booleans()}),
}
OPTIONS["AdamW"] = OPTIONS["Adam"]

SHAPES_GROUP0 = [(), (4,), (3, 5)]
SHAPES_GROUP1 = [(2, 1, 3)]
N_STEPS = 22


def _cpu(array):
    return backend.to_device(array, "cpu")


def _params(arrays, device, dtype=np.float64):
    return [Parameter(mg.tensor(a, dtype=dtype, device=device)) for a in arrays]


def _feed(params, grads, device):
    for p, g in zip(params, grads):
        p.grad = None if g is None else mg.tensor(g, dtype=p.dtype, device=device)


def _draw_grads(rng, shapes, step):
    """Random gradients; the second parameter gets none on every fifth step (it is skipped)."""
    return [None if (i == 1 and step % 5 == 3) else rng.standard_normal(s)
            for i, s in enumerate(shapes)]


@pytest.mark.parametrize("name", list(REFERENCES))
@given(data=st.data())
def test_matches_numpy_transcription_step_by_step(name, device, data):
    opts0 = data.draw(OPTIONS[name], label="group 0")
    opts1 = data.draw(OPTIONS[name], label="group 1")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    _check_against_reference(name, opts0, opts1, seed, device)


# Every combination of the flags and of zero/non-zero coefficients, deterministically (the
# hypothesis test above draws richer values but need not reach each combination every run).
SWEEPS = {
    "SGD": dict(lr=[0.1], momentum=[0.0, 0.9], dampening=[0.0, 0.3], weight_decay=[0.0, 0.05],
                nesterov=[False, True], maximize=[False, True]),
    "RMSprop": dict(lr=[0.01], alpha=[0.9], eps=[1e-8], weight_decay=[0.0, 0.05],
                    momentum=[0.0, 0.7], centered=[False, True], maximize=[False, True]),
    "Adam": dict(lr=[0.05], betas=[(0.8, 0.9)], eps=[1e-8], weight_decay=[0.0, 0.05],
                 amsgrad=[False, True], maximize=[False, True]),
    "Adagrad": dict(lr=[0.1], lr_decay=[0.0, 0.05], weight_decay=[0.0, 0.05],
                    initial_accumulator_value=[0.0, 0.5], eps=[1e-10], maximize=[False, True]),
}
SWEEPS["AdamW"] = SWEEPS["Adam"]


def _combinations(grid):
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        yield dict(zip(keys, values))


@pytest.mark.parametrize("name", list(REFERENCES))
def test_every_option_combination_matches_the_transcription(name, device):
    combos = [c for c in _combinations(SWEEPS[name])
              if not (c.get("nesterov") and (c["momentum"] == 0 or c["dampening"] != 0))]
    assert len(combos) >= 8
    defaults = {"lr": 0.02} if name == "SGD" else {}
    for i, options in enumerate(combos):
        other = {**getattr(optim, name)([Parameter(mg.zeros(1))], **defaults).defaults,
                 "lr": 0.02}  # group 1: the defaults (with a different learning rate)
        _check_against_reference(name, options, other, seed=i, device=device)


def _check_against_reference(name, opts0, opts1, seed, device):
    rng = np.random.default_rng(seed)
    shapes = SHAPES_GROUP0 + SHAPES_GROUP1
    init = [rng.standard_normal(s) for s in shapes]
    params = _params(init, device)
    groups = [{"params": params[:3], **opts0}, {"params": params[3:], **opts1}]
    opt = getattr(optim, name)(groups)
    ref_theta = [a.copy() for a in init]
    ref_state = [{} for _ in shapes]
    hps = [opts0] * 3 + [opts1]
    reference = REFERENCES[name]
    for step in range(N_STEPS):
        grads = _draw_grads(rng, shapes, step)
        _feed(params, grads, device)
        opt.step()
        for i, g in enumerate(grads):
            if g is not None:
                ref_theta[i] = reference(ref_theta[i], g, ref_state[i], hps[i])
        for i, p in enumerate(params):
            assert p.dtype == np.float64 and p.shape == shapes[i]
            np.testing.assert_allclose(_cpu(p.data), ref_theta[i], rtol=1e-10, atol=1e-12,
                                       err_msg=f"{name} step {step + 1}, parameter {i}")
    for i, p in enumerate(params):  # the state, entry by entry
        state = opt.state[p]
        if name == "Adagrad" or ref_state[i]:
            assert set(state) == set(ref_state[i]) | ({"step", "sum"} if name == "Adagrad"
                                                      else set())
        for key, expected in ref_state[i].items():
            got = state[key] if key == "step" else _cpu(state[key].data)
            np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12, err_msg=key)


def test_first_steps_by_hand():
    """A few values worked out by hand, independent of the transcriptions above."""
    # SGD, momentum 0.9, dampening 0.5: b_1 = g_1 (undamped), b_2 = 0.9 b_1 + 0.5 g_2
    p = Parameter(mg.tensor([1.0], dtype=mg.float64))
    opt = optim.SGD([p], lr=0.1, momentum=0.9, dampening=0.5)
    p.grad = mg.tensor([2.0], dtype=mg.float64)
    opt.step()
    assert p.item() == pytest.approx(1.0 - 0.1 * 2.0)
    opt.step()
    assert p.item() == pytest.approx(0.8 - 0.1 * (0.9 * 2.0 + 0.5 * 2.0))
    # Adam's first step moves each coordinate by lr * sign(g) (bias correction; eps ≈ 0)
    p = Parameter(mg.tensor([1.0, -1.0, 0.5], dtype=mg.float64))
    opt = optim.Adam([p], lr=0.01, eps=0.0)
    p.grad = mg.tensor([3.0, -0.001, 40.0], dtype=mg.float64)
    opt.step()
    np.testing.assert_allclose(p.data, [0.99, -0.99, 0.49], rtol=1e-12)
    # Adagrad with initial accumulator 1: θ − lr g / (√(1 + g²) + eps)
    p = Parameter(mg.tensor([0.0], dtype=mg.float64))
    opt = optim.Adagrad([p], lr=0.5, initial_accumulator_value=1.0, eps=0.0)
    p.grad = mg.tensor([math.sqrt(3.0)], dtype=mg.float64)
    opt.step()
    assert p.item() == pytest.approx(-0.5 * math.sqrt(3.0) / 2.0)


# ---------------------------------------------------------------------------------------------
# float32


ALL_ON = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True),
    "RMSprop": dict(lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.5, centered=True,
                    maximize=True),
    "Adam": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "AdamW": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "Adagrad": dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                    maximize=True),
}


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("options", ["defaults", "all on"])
def test_float32_params_keep_float32_state_and_updates(name, options, device):
    hp = {} if options == "defaults" else dict(ALL_ON[name])
    if name == "SGD":
        hp.setdefault("lr", 0.05)
    # NumPy float64 scalars as hyper-parameters must not upcast float32 arrays (NumPy 2)
    hp = {k: np.float64(v) if isinstance(v, float) else v for k, v in hp.items()}
    rng = np.random.default_rng(1)
    shapes = [(), (3, 4)]
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    params = _params(init, device, dtype=np.float32)
    opt = getattr(optim, name)(params, **hp)
    full = {**opt.defaults}  # the hyper-parameters in effect, for the float64 reference
    ref_theta = [a.astype(np.float64) for a in init]
    ref_state = [{} for _ in shapes]
    for _ in range(10):
        grads = [rng.standard_normal(s).astype(np.float32) for s in shapes]
        _feed(params, grads, device)
        opt.step()
        for i, g in enumerate(grads):
            ref_theta[i] = REFERENCES[name](ref_theta[i], g.astype(np.float64), ref_state[i],
                                            {k: (float(v) if isinstance(v, np.floating) else v)
                                             for k, v in full.items()})
    for i, p in enumerate(params):
        assert p.dtype == np.float32 and p.grad.dtype == np.float32
        np.testing.assert_allclose(_cpu(p.data), ref_theta[i], rtol=2e-4, atol=2e-5)
        for key, value in opt.state[p].items():
            if key != "step":
                assert value.dtype == np.float32, key
                assert value.shape == p.shape and value.device == p.device, key


# ---------------------------------------------------------------------------------------------
# state_dict


def _saved(state_dict):
    """What a checkpoint would hold: arrays copied to NumPy, everything else through JSON."""
    state = {str(k): {name: (_cpu(v.data).copy() if isinstance(v, mg.Tensor) else v)
                      for name, v in entry.items()}
             for k, entry in state_dict["state"].items()}
    groups = json.loads(json.dumps(state_dict["param_groups"]))
    return {"state": state, "param_groups": groups}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_state_dict_mid_run_resumes_the_same_trajectory(name, device):
    rng = np.random.default_rng(2)
    shapes = [(3,), (2, 2), ()]
    init = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(16)]
    hp = dict(ALL_ON[name], maximize=False)
    params = _params(init, "cpu")
    groups = [{"params": params[:2], **hp}, {"params": params[2:], "lr": 0.003}]
    opt = getattr(optim, name)(groups, **({"lr": 0.02} if name == "SGD" else {}))
    for k in range(7):
        _feed(params, grads[k], "cpu")
        opt.step()
    checkpoint = _saved(opt.state_dict())
    values_at_save = [p.data.copy() for p in params]
    for k in range(7, 16):  # the original run continues
        _feed(params, grads[k], "cpu")
        opt.step()
    # a fresh optimizer (different hyper-parameters) on fresh parameters, on `device`
    fresh = _params(values_at_save, device)
    fresh_groups = [{"params": fresh[:2]}, {"params": fresh[2:]}]
    resumed = getattr(optim, name)(fresh_groups, lr=0.5)
    resumed.load_state_dict(checkpoint)
    assert [g["lr"] for g in resumed.param_groups] == [hp["lr"], 0.003]
    assert all(g["params"] == fg["params"] for g, fg in zip(resumed.param_groups, fresh_groups))
    for key in resumed.state[fresh[0]]:
        value = resumed.state[fresh[0]][key]
        if key != "step":
            assert value.device == fresh[0].device and value.dtype == np.float64
    for k in range(7, 16):
        _feed(fresh, grads[k], device)
        resumed.step()
    for p, q in zip(params, fresh):
        np.testing.assert_array_equal(_cpu(q.data), p.data)


def test_state_dict_layout_and_loading_copies():
    a, b, c = (Parameter(mg.ones(2)) for _ in range(3))
    opt = optim.Adam([{"params": [a, b]}, {"params": [c], "lr": 0.1}], amsgrad=True)
    a.grad = mg.ones(2)
    c.grad = mg.ones(2)
    opt.step()
    sd = opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert sd["param_groups"][1]["lr"] == 0.1 and sd["param_groups"][0]["betas"] == (0.9, 0.999)
    assert set(sd["state"]) == {0, 2}  # b had no gradient, so no state
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq", "max_exp_avg_sq"}
    assert sd["state"][0]["step"] == 1 and isinstance(sd["state"][0]["exp_avg"], mg.Tensor)
    # loading copies: changing the dict afterwards leaves the optimizer alone
    other = optim.Adam([{"params": [a, b]}, {"params": [c]}])
    saved = _saved(sd)
    saved["state"]["0"]["exp_avg"] = saved["state"]["0"]["exp_avg"].astype(np.float64)
    other.load_state_dict(saved)
    for key in ("exp_avg", "exp_avg_sq"):  # a cast copy, and a same-dtype one
        saved["state"]["0"][key][...] = 123.0
        assert not np.any(other.state[a][key].data == 123.0), key
    # a float64 checkpoint loads into float32 parameters as float32 state
    assert other.state[a]["exp_avg"].dtype == np.float32
    assert other.param_groups[0]["betas"] == (0.9, 0.999)  # JSON's list back to a tuple


def test_load_state_dict_errors():
    a, b = Parameter(mg.ones(2)), Parameter(mg.ones(3))
    opt = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = mg.ones(2), mg.ones(3)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="1 parameter group.*2"):
        optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="group 0 has 2 parameter.*1"):
        optim.SGD([a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([b, a], lr=0.1).load_state_dict(sd)
    with pytest.raises(ValueError, match="betas"):
        optim.Adam([a, b]).load_state_dict(sd)  # an SGD state dict
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"param_groups": []})


# ---------------------------------------------------------------------------------------------
# Convergence on the training documents' linear regression: y = 3x + noise, x in [0, 1)


def _regression_data():
    rng = np.random.default_rng(0)
    x = rng.random(100)
    y = 3 * x + 0.1 * rng.standard_normal(100)
    design = np.stack([x, np.ones_like(x)], axis=1)
    (slope, intercept), *_ = np.linalg.lstsq(design, y, rcond=None)
    return x, y, slope, intercept


CONVERGENCE = {
    "SGD": (lambda p: optim.SGD(p, lr=0.7), None, 300),
    "SGD momentum": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9), None, 300),
    "SGD nesterov": (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True), None, 300),
    "RMSprop": (lambda p: optim.RMSprop(p, lr=0.01),
                lambda o: lr_scheduler.MultiStepLR(o, [800, 1200, 1600]), 2000),
    "RMSprop centered momentum": (
        lambda p: optim.RMSprop(p, lr=0.01, centered=True, momentum=0.5),
        lambda o: lr_scheduler.MultiStepLR(o, [800, 1200, 1600]), 2000),
    "Adam": (lambda p: optim.Adam(p, lr=0.02), None, 2000),
    "Adam amsgrad": (lambda p: optim.Adam(p, lr=0.05, amsgrad=True),
                     lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2000), 2000),
    "AdamW": (lambda p: optim.AdamW(p, lr=0.05, weight_decay=1e-4),
              lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=2000), 2000),
    "Adagrad": (lambda p: optim.Adagrad(p, lr=0.5), None, 1000),
}


@pytest.mark.parametrize("case", list(CONVERGENCE))
def test_recovers_least_squares_line(case):
    x_np, y_np, slope, intercept = _regression_data()
    make, schedule, steps = CONVERGENCE[case]
    x, y = mg.tensor(x_np, dtype=mg.float64), mg.tensor(y_np, dtype=mg.float64)
    w = Parameter(mg.tensor(0.0, dtype=mg.float64))
    b = Parameter(mg.tensor(0.0, dtype=mg.float64))
    opt = make([w, b])
    sched = schedule(opt) if schedule else None
    for _ in range(steps):
        opt.zero_grad()
        loss = ((w * x + b - y) ** 2).mean()
        loss.backward()
        opt.step()
        if sched:
            sched.step()
    assert abs(slope - 3) < 0.1  # the data really are y ≈ 3x
    assert w.item() == pytest.approx(slope, abs=1e-3)
    assert b.item() == pytest.approx(intercept, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# Invalid hyper-parameters: a ValueError naming the parameter and its value


def _p():
    return [Parameter(mg.ones(2))]


INVALID = [
    (lambda: optim.SGD(_p(), lr=-0.1), r"lr = -0\.1"),
    (lambda: optim.SGD(_p(), lr=0.1, momentum=-0.5), r"momentum = -0\.5"),
    (lambda: optim.SGD(_p(), lr=0.1, weight_decay=-1), r"weight_decay = -1"),
    (lambda: optim.SGD(_p(), lr=0.1, dampening=1.5), r"dampening = 1\.5"),
    (lambda: optim.SGD(_p(), lr=0.1, nesterov=True), r"nesterov.*momentum = 0"),
    (lambda: optim.SGD(_p(), lr=0.1, momentum=0.9, dampening=0.1, nesterov=True),
     r"nesterov.*dampening = 0\.1"),
    (lambda: optim.SGD(_p(), lr=float("nan")), r"lr = nan"),
    (lambda: optim.SGD(_p(), lr="0.1"), r"lr = '0\.1'"),
    (lambda: optim.SGD(_p()), r"required optimization parameter lr"),
    (lambda: optim.RMSprop(_p(), alpha=1.5), r"alpha = 1\.5"),
    (lambda: optim.RMSprop(_p(), alpha=-0.1), r"alpha = -0\.1"),
    (lambda: optim.RMSprop(_p(), eps=-1e-8), r"eps = -1e-08"),
    (lambda: optim.RMSprop(_p(), momentum=-1), r"momentum = -1"),
    (lambda: optim.Adam(_p(), lr=-1e-3), r"lr = -0\.001"),
    (lambda: optim.Adam(_p(), betas=(1.0, 0.999)), r"betas\[0\] = 1\.0"),
    (lambda: optim.Adam(_p(), betas=(0.9, -0.1)), r"betas\[1\] = -0\.1"),
    (lambda: optim.Adam(_p(), betas=(0.9,)), r"betas must be a pair"),
    (lambda: optim.Adam(_p(), weight_decay=-0.1), r"weight_decay = -0\.1"),
    (lambda: optim.AdamW(_p(), eps=-1.0), r"AdamW: invalid eps = -1\.0"),
    (lambda: optim.Adagrad(_p(), lr_decay=-0.1), r"lr_decay = -0\.1"),
    (lambda: optim.Adagrad(_p(), initial_accumulator_value=-1.0),
     r"initial_accumulator_value = -1\.0"),
    (lambda: optim.Adagrad(_p(), eps=-1.0), r"eps = -1\.0"),
    # a group's own value is checked too
    (lambda: optim.Adam([{"params": _p(), "lr": -1.0}]), r"lr = -1\.0"),
    (lambda: optim.SGD([{"params": _p(), "lr": 0.1, "nesterov": True}], lr=0.1),
     r"nesterov"),
]


@pytest.mark.parametrize("make, message", INVALID)
def test_invalid_hyper_parameters_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_invalid_params_argument():
    p = Parameter(mg.ones(2))
    with pytest.raises(TypeError, match="single Tensor"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.Adam([])
    with pytest.raises(TypeError, match="not a set"):
        optim.Adam([{"params": {p}}])
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.Adam([{"params": [p]}, {"params": [p]}])
    with pytest.raises(ValueError, match="same parameter twice"):
        optim.Adam([p, p])
    with pytest.raises(ValueError, match="non-leaf"):
        optim.Adam([p * 2])
    with pytest.raises(TypeError, match="floating-point"):
        optim.Adam([mg.arange(3)])
    opt = optim.Adam([p])
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": p})


# ---------------------------------------------------------------------------------------------
# The Optimizer API


def test_param_groups_defaults_and_add_param_group():
    a, b, c = (Parameter(mg.zeros(2)) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": b, "lr": 0.5}], lr=0.1, momentum=0.9)
    assert opt.defaults["lr"] == 0.1 and opt.defaults["momentum"] == 0.9
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]
    assert opt.param_groups[1]["params"] == [b] and opt.param_groups[1]["momentum"] == 0.9
    opt.add_param_group({"params": [c], "momentum": 0.0})
    assert opt.param_groups[2]["lr"] == 0.1 and opt.param_groups[2]["momentum"] == 0.0
    for p, g in ((a, 1.0), (b, 1.0), (c, 1.0)):
        p.grad = mg.full((2,), g)
    opt.step()
    np.testing.assert_allclose(a.data, -0.1)
    np.testing.assert_allclose(b.data, -0.5)
    np.testing.assert_allclose(c.data, -0.1)
    assert "momentum_buffer" in opt.state[a] and "momentum_buffer" not in opt.state[c]
    assert "Parameter Group 2" in repr(opt)


def test_zero_grad_and_skipping_parameters_without_grad():
    a, b = Parameter(mg.ones(2)), Parameter(mg.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = mg.ones(2)
    opt.step()
    np.testing.assert_array_equal(b.data, 1.0)  # no gradient: untouched, no state
    assert b not in opt.state or not opt.state[b]
    assert opt.state[a]["step"] == 1
    grad = a.grad
    opt.zero_grad(set_to_none=False)
    assert a.grad is grad and np.all(a.grad.data == 0) and b.grad is None
    opt.zero_grad()
    assert a.grad is None


def test_step_with_closure_reevaluates_under_enable_grad():
    w = Parameter(mg.tensor([2.0]))
    opt = optim.SGD([w], lr=0.25)
    calls = []

    def closure():
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        calls.append(loss.item())
        return loss

    with mg.no_grad():  # step turns gradients back on for the closure
        loss = opt.step(closure)
    assert calls == [4.0] and loss.item() == 4.0
    np.testing.assert_allclose(w.data, [2.0 - 0.25 * 4.0])
    assert opt.step() is None


def test_step_updates_in_place_and_bumps_the_version():
    w = Parameter(mg.tensor([1.0, 2.0]))
    array = w.data
    opt = optim.SGD([w], lr=0.1)
    y = (w * w).sum()  # records w for its backward
    w.grad = mg.ones(2)
    opt.step()
    assert w.data is array  # the same array, changed in place
    with pytest.raises(RuntimeError, match="modified|in place|in-place"):
        y.backward()  # the graph saw the old w


def test_gradient_of_the_wrong_shape_is_an_error():
    w = Parameter(mg.ones(3))
    w.grad = mg.ones(2)
    with pytest.raises(RuntimeError, match=r"shape \(3,\).*\(2,\)"):
        optim.SGD([w], lr=0.1).step()


def test_user_gradient_is_never_modified():
    rng = np.random.default_rng(3)
    for name, hp in ALL_ON.items():
        w = Parameter(mg.tensor(rng.standard_normal(5)))
        g = rng.standard_normal(5).astype(np.float32)
        w.grad = mg.tensor(g)
        opt = getattr(optim, name)([w], **hp)
        opt.step()
        opt.step()
        np.testing.assert_array_equal(w.grad.data, g, err_msg=name)


def test_adam_state_is_two_arrays_per_parameter_plus_one_for_amsgrad():
    for amsgrad, expected in ((False, 2), (True, 3)):
        p = Parameter(mg.zeros(10))
        p.grad = mg.ones(10)
        opt = optim.Adam([p], amsgrad=amsgrad)
        opt.step()
        arrays = [v for v in opt.state[p].values() if isinstance(v, mg.Tensor)]
        assert len(arrays) == expected


@pytest.mark.parametrize("name", list(REFERENCES))
@pytest.mark.parametrize("options", ["defaults", "all on"])
def test_steps_allocate_no_parameter_sized_memory(name, options):
    """After the first step (state and scratch created), a step allocates nothing large; the
    scratch kept between steps is at most the largest parameter (two for RMSprop/Adagrad
    with weight decay or maximize)."""
    hp = {} if options == "defaults" else dict(ALL_ON[name])
    if name == "SGD":
        hp.setdefault("lr", 0.05)
        hp.setdefault("momentum", 0.9)
    sizes = [100_000, 50_000, 7]
    params = [Parameter(mg.zeros(n)) for n in sizes]
    for p in params:
        p.grad = mg.ones(p.shape)
    opt = getattr(optim, name)(params, **hp)
    opt.step()
    tracemalloc.start()
    try:
        opt.step()
        opt.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    largest = 4 * max(sizes)
    assert peak < largest / 10, f"{name} allocated {peak} bytes in a step"
    scratch = sum(buf.nbytes for buf in opt._scratch_buffers.values())
    slots = 2 if (name in ("RMSprop", "Adagrad") and options == "all on") else 1
    assert scratch <= slots * largest


def test_optim_is_not_imported_by_import_minigrad():
    import subprocess
    import sys
    code = "import sys, minigrad; print('minigrad.optim' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
