"""minigrad.nn.utils: penalties (values against NumPy, float64 gradcheck, the L2 / weight-decay
equivalence for SGD and why it fails for Adam), clip_grad_norm_ and clip_grad_value_ against a
NumPy transcription of PyTorch's formula (hypothesis-drawn shapes, values, norm orders), the
parameters <-> vector round trip, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn import utils

SHAPES = [(), (3,), (2, 3), (2, 1, 4)]


def _cpu(array_or_tensor):
    data = array_or_tensor.data if isinstance(array_or_tensor, mg.Tensor) else array_or_tensor
    return backend.to_device(data, "cpu")


def _params(rng, shapes, device, dtype=np.float32, scale=1.0):
    return [nn.Parameter(mg.tensor((scale * rng.standard_normal(s)).astype(dtype),
                                   device=device)) for s in shapes]


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


# ---------------------------------------------------------------------------------------------
# Penalties


@given(data=st.data())
def test_penalty_values_against_numpy(data, device):
    rng = _rng(data)
    shapes = data.draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=4))
    params = _params(rng, shapes, device)
    arrays = [_cpu(p).astype(np.float64) for p in params]
    l1 = sum(np.abs(a).sum() for a in arrays)
    l2 = sum((a * a).sum() for a in arrays)
    rho = data.draw(st.floats(0.0, 1.0))

    got_l1 = utils.l1_penalty(iter(params))  # a generator, as model.parameters() gives
    got_l2 = utils.l2_penalty(params)
    got_en = utils.elastic_net_penalty(params, rho)
    for got, want in ((got_l1, l1), (got_l2, l2), (got_en, rho * l1 + (1 - rho) * l2)):
        assert got.shape == () and got.dtype == np.float32
        np.testing.assert_allclose(float(got.item()), want, rtol=1e-5, atol=1e-6)


def test_penalty_accepts_a_single_tensor_and_a_module_s_parameters():
    model = nn.Linear(3, 2)
    w, b = _cpu(model.weight), _cpu(model.bias)
    assert utils.l2_penalty(model.weight).item() == pytest.approx(float((w * w).sum()),
                                                                   rel=1e-6)
    np.testing.assert_allclose(utils.l1_penalty(model.parameters()).item(),
                               np.abs(w).sum() + np.abs(b).sum(), rtol=1e-6)


@pytest.mark.parametrize("which", ["l1", "l2", "elastic"])
def test_penalty_gradcheck_float64(which, device):
    rng = np.random.default_rng(3)
    # keep entries away from 0, where |w| has a kink that central differences straddle
    arrays = [rng.uniform(0.2, 1.0, s) * rng.choice([-1.0, 1.0], s) for s in [(2, 3), (4,)]]
    inputs = [mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)
              for a in arrays]
    fn = {"l1": lambda *ps: utils.l1_penalty(ps),
          "l2": lambda *ps: utils.l2_penalty(ps),
          "elastic": lambda *ps: utils.elastic_net_penalty(ps, 0.3)}[which]
    assert mg.gradcheck(fn, inputs)


def test_penalty_gradients_are_sign_and_two_theta(device):
    rng = np.random.default_rng(4)
    (p,) = _params(rng, [(3, 4)], device)
    utils.l1_penalty([p]).backward()
    np.testing.assert_array_equal(_cpu(p.grad), np.sign(_cpu(p)))
    p.grad = None
    utils.l2_penalty([p]).backward()
    np.testing.assert_allclose(_cpu(p.grad), 2 * _cpu(p), rtol=1e-6)
    p.grad = None
    utils.elastic_net_penalty([p], 0.25).backward()
    np.testing.assert_allclose(_cpu(p.grad), 0.25 * np.sign(_cpu(p)) + 0.75 * 2 * _cpu(p),
                               rtol=1e-6)
    assert p.grad.dtype == np.float32


def test_penalty_bad_input():
    p = nn.Parameter(mg.ones(3))
    with pytest.raises(ValueError, match="empty"):
        utils.l2_penalty([])
    gen = (q for q in [p])
    utils.l1_penalty(gen)
    with pytest.raises(ValueError, match="only be iterated once"):
        utils.l1_penalty(gen)  # the exhausted generator
    with pytest.raises(TypeError, match=r"params\[1\]"):
        utils.l1_penalty([p, np.ones(3)])
    with pytest.raises(TypeError, match="iterable"):
        utils.l2_penalty(3.0)
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="l1_ratio"):
            utils.elastic_net_penalty([p], bad)
    with pytest.raises(TypeError, match="l1_ratio"):
        utils.elastic_net_penalty([p], True)


# ---------------------------------------------------------------------------------------------
# L2 penalty and weight decay


def _regression(rng, device, dtype=np.float64):
    x = mg.tensor(rng.standard_normal((16, 3)).astype(dtype), device=device)
    y = mg.tensor(rng.standard_normal((16, 2)).astype(dtype), device=device)
    return x, y


def _model(seed, device, dtype=np.float64):
    mg.manual_seed(seed)
    return nn.Linear(3, 2, device=device, dtype=dtype)


def _data_loss(model, x, y):
    return ((model(x) - y) ** 2).mean()


def _run(model, x, y, steps, update, penalty_wd=0.0):
    """``steps`` of loss.backward() then ``update()``; the loss has (wd/2)·l2_penalty added
    when ``penalty_wd`` is nonzero. Returns the trajectory of every parameter."""
    trajectory = []
    for _ in range(steps):
        model.zero_grad()
        loss = _data_loss(model, x, y)
        if penalty_wd:
            loss = loss + (penalty_wd / 2) * utils.l2_penalty(model.parameters())
        loss.backward()
        update()
        trajectory.append([_cpu(p).copy() for p in model.parameters()])
    return trajectory


def _hand_sgd(model, lr, weight_decay=0.0):
    """θ ← θ − lr (g + weight_decay · θ), written here."""
    def update():
        with mg.no_grad():
            for p in model.parameters():
                p.data -= lr * (p.grad.data + weight_decay * p.data)
    return update


def test_half_wd_l2_penalty_equals_sgd_weight_decay_hand_written(device):
    rng = np.random.default_rng(5)
    x, y = _regression(rng, device)
    lr, wd = 0.1, 0.3
    with_penalty = _model(0, device)
    with_decay = _model(0, device)
    a = _run(with_penalty, x, y, 25, _hand_sgd(with_penalty, lr), penalty_wd=wd)
    b = _run(with_decay, x, y, 25, _hand_sgd(with_decay, lr, weight_decay=wd))
    for step_a, step_b in zip(a, b):
        for pa, pb in zip(step_a, step_b):
            np.testing.assert_allclose(pa, pb, rtol=1e-12, atol=1e-14)
    # and the decay did something: without it the trajectory is different
    plain = _model(0, device)
    c = _run(plain, x, y, 25, _hand_sgd(plain, lr))
    assert not np.allclose(a[-1][0], c[-1][0], rtol=1e-6)


def test_half_wd_l2_penalty_equals_optim_sgd_weight_decay(device):
    from minigrad import optim
    rng = np.random.default_rng(6)
    x, y = _regression(rng, device)
    lr, wd = 0.05, 0.2
    with_penalty = _model(1, device)
    with_decay = _model(1, device)
    opt_a = optim.SGD(with_penalty.parameters(), lr=lr, momentum=0.9)
    opt_b = optim.SGD(with_decay.parameters(), lr=lr, momentum=0.9, weight_decay=wd)
    a = _run(with_penalty, x, y, 25, opt_a.step, penalty_wd=wd)
    b = _run(with_decay, x, y, 25, opt_b.step)
    for step_a, step_b in zip(a, b):
        for pa, pb in zip(step_a, step_b):
            np.testing.assert_allclose(pa, pb, rtol=1e-12, atol=1e-14)


def test_l2_penalty_under_adam_is_not_decoupled_weight_decay(device):
    """With Adam the penalty's gradient λθ is rescaled by 1/√v̂: the same trajectory as
    Adam's own (coupled) weight_decay, but not AdamW's decoupled decay."""
    from minigrad import optim
    rng = np.random.default_rng(7)
    x, y = _regression(rng, device)
    lr, wd = 0.01, 0.5
    models = [_model(2, device) for _ in range(3)]
    penalty = _run(models[0], x, y, 25, optim.Adam(models[0].parameters(), lr=lr).step,
                   penalty_wd=wd)
    coupled = _run(models[1], x, y, 25,
                   optim.Adam(models[1].parameters(), lr=lr, weight_decay=wd).step)
    decoupled = _run(models[2], x, y, 25,
                     optim.AdamW(models[2].parameters(), lr=lr, weight_decay=wd).step)
    for pa, pb in zip(penalty[-1], coupled[-1]):
        np.testing.assert_allclose(pa, pb, rtol=1e-10, atol=1e-12)
    assert max(np.abs(pa - pc).max() for pa, pc in zip(penalty[-1], decoupled[-1])) > 1e-4


def test_adam_step_on_the_penalty_alone_is_not_a_uniform_shrink(device):
    """Loss = (λ/2)·Σθ² only. SGD shrinks every weight by the factor (1 − γλ); Adam's first
    step moves each weight by ≈ γ·sign(θ) whatever its size (m̂/√v̂ = g/|g|); AdamW, with
    no data gradient, shrinks by exactly (1 − γλ) like SGD."""
    from minigrad import optim
    theta0 = np.array([-2.0, -0.5, 0.1, 3.0])
    lr, wd = 0.01, 0.1

    def first_step(make_opt, use_penalty):
        p = nn.Parameter(mg.tensor(theta0, device=device))
        opt = make_opt([p])
        opt.zero_grad()
        loss = (wd / 2) * utils.l2_penalty([p]) if use_penalty else (p * 0.0).sum()
        loss.backward()
        opt.step()
        return _cpu(p)

    sgd = first_step(lambda ps: optim.SGD(ps, lr=lr), True)
    np.testing.assert_allclose(sgd, (1 - lr * wd) * theta0, rtol=1e-12)
    adam = first_step(lambda ps: optim.Adam(ps, lr=lr), True)
    np.testing.assert_allclose(adam, theta0 - lr * np.sign(theta0), rtol=1e-6)
    adamw = first_step(lambda ps: optim.AdamW(ps, lr=lr, weight_decay=wd), False)
    np.testing.assert_allclose(adamw, (1 - lr * wd) * theta0, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# clip_grad_norm_ / clip_grad_value_


def ref_clip_grad_norm(grads, max_norm, p):
    """PyTorch's documented formula, transcribed in float64 NumPy."""
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])
    total = np.abs(flat).max() if p == math.inf else (np.abs(flat) ** p).sum() ** (1 / p)
    coef = min(max_norm / (total + 1e-6), 1.0)
    return total, [g.astype(np.float64) * coef for g in grads]


def _with_grads(rng, shapes, device, scale):
    params = _params(rng, shapes, device)
    for p in params:
        p.grad = mg.tensor((scale * rng.standard_normal(p.shape)).astype(np.float32),
                           device=device)
    return params


@given(data=st.data())
def test_clip_grad_norm_against_numpy(data, device):
    rng = _rng(data)
    shapes = data.draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=4))
    p = data.draw(st.sampled_from([1.0, 2.0, 3.5, math.inf, "inf"]))
    p_num = math.inf if p == "inf" else p
    max_norm = data.draw(st.floats(0.0, 5.0))
    params = _with_grads(rng, shapes, device, scale=data.draw(st.sampled_from([0.1, 1, 10])))
    params.append(nn.Parameter(mg.ones(2, device=device)))   # no grad: skipped
    grads = [_cpu(q.grad).copy() for q in params[:-1]]
    want_total, want_grads = ref_clip_grad_norm(grads, max_norm, p_num)

    total = utils.clip_grad_norm_(params, max_norm, norm_type=p)
    assert isinstance(total, mg.Tensor) and total.shape == () and total.dtype == np.float32
    np.testing.assert_allclose(float(total.item()), want_total, rtol=1e-5)
    for q, want in zip(params, want_grads):
        assert q.grad.dtype == np.float32
        np.testing.assert_allclose(_cpu(q.grad), want, rtol=1e-5, atol=1e-7)
    assert params[-1].grad is None
    # afterwards the total norm is at most max_norm (up to float32 rounding)
    after = ref_clip_grad_norm([_cpu(q.grad) for q in params[:-1]], max_norm, p_num)[0]
    assert after <= max_norm * (1 + 1e-5) + 1e-30 or after == pytest.approx(want_total)


def test_clip_grad_norm_is_a_no_op_below_max_norm(device):
    rng = np.random.default_rng(8)
    params = _with_grads(rng, [(3, 4), (5,)], device, scale=0.01)
    before = [_cpu(p.grad).copy() for p in params]
    total = utils.clip_grad_norm_(params, max_norm=100.0)
    assert total.item() < 100.0
    for p, b in zip(params, before):
        np.testing.assert_array_equal(_cpu(p.grad), b)


def test_clip_grad_norm_clips_to_max_norm_and_returns_the_norm_before(device):
    p = nn.Parameter(mg.zeros(2, device=device))
    p.grad = mg.tensor([3.0, 4.0], device=device)
    total = utils.clip_grad_norm_(p, max_norm=1.0)              # a single tensor is accepted
    assert total.item() == pytest.approx(5.0)
    np.testing.assert_allclose(_cpu(p.grad), np.array([3.0, 4.0]) / (5.0 + 1e-6), rtol=1e-6)
    p.grad = mg.tensor([3.0, -4.0], device=device)
    assert utils.clip_grad_norm_([p], 1.0, norm_type=1).item() == pytest.approx(7.0)
    p.grad = mg.tensor([3.0, -4.0], device=device)
    assert utils.clip_grad_norm_([p], 1.0, norm_type=float("inf")).item() == pytest.approx(4.0)
    np.testing.assert_allclose(_cpu(p.grad), np.array([3.0, -4.0]) / (4.0 + 1e-6), rtol=1e-6)


def test_clip_grad_norm_uses_pytorch_s_epsilon_and_keeps_float64(device):
    p = nn.Parameter(mg.zeros(2, dtype=mg.float64, device=device))
    p.grad = mg.tensor(np.array([3.0, 4.0]), device=device)
    total = utils.clip_grad_norm_([p], 2.0)
    assert total.dtype == np.float64 and total.item() == 5.0
    np.testing.assert_allclose(_cpu(p.grad), np.array([3.0, 4.0]) * (2.0 / (5.0 + 1e-6)),
                               rtol=1e-14)
    # max_norm = 0 zeroes the gradients; a zero gradient stays zero (1e-6 avoids 0/0)
    assert utils.clip_grad_norm_([p], 0.0).item() == pytest.approx(2.0 * 5.0 / (5.0 + 1e-6))
    np.testing.assert_array_equal(_cpu(p.grad), [0.0, 0.0])
    assert utils.clip_grad_norm_([p], 1.0).item() == 0.0
    np.testing.assert_array_equal(_cpu(p.grad), [0.0, 0.0])


def test_clip_grad_norm_without_any_grad_returns_zero():
    params = [nn.Parameter(mg.ones(3))]
    total = utils.clip_grad_norm_(params, 1.0)
    assert total.item() == 0.0 and params[0].grad is None


def test_clip_grad_norm_nonfinite(device):
    for bad in (math.inf, math.nan):
        p = nn.Parameter(mg.zeros(3, device=device))
        p.grad = mg.tensor([1.0, bad, 2.0], device=device)
        with pytest.raises(RuntimeError, match="total norm"):
            utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)
        np.testing.assert_array_equal(_cpu(p.grad), np.array([1.0, bad, 2.0], np.float32))
    # without the flag, PyTorch's formula: c = max_norm / (inf + 1e-6) = 0
    p.grad = mg.tensor([1.0, math.inf, 2.0], device=device)
    with np.errstate(invalid="ignore"):  # inf · 0 = nan in the inf entry
        total = utils.clip_grad_norm_([p], 1.0)
    assert total.item() == math.inf
    np.testing.assert_array_equal(_cpu(p.grad)[[0, 2]], [0.0, 0.0])


def test_clip_grad_norm_bad_input():
    p = nn.Parameter(mg.ones(2))
    p.grad = mg.ones(2)
    with pytest.raises(ValueError, match="max_norm"):
        utils.clip_grad_norm_([p], -1.0)
    with pytest.raises(TypeError, match="max_norm"):
        utils.clip_grad_norm_([p], "1")
    for bad in (0, -2.0, float("nan"), "fro"):
        with pytest.raises(ValueError, match="norm_type"):
            utils.clip_grad_norm_([p], 1.0, norm_type=bad)
    with pytest.raises(TypeError, match=r"parameters\[0\]"):
        utils.clip_grad_norm_([np.ones(2)], 1.0)


@given(data=st.data())
def test_clip_grad_value_against_numpy(data, device):
    rng = _rng(data)
    shapes = data.draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    clip = data.draw(st.floats(0.0, 3.0))
    params = _with_grads(rng, shapes, device, scale=2.0)
    params.append(nn.Parameter(mg.ones(2, device=device)))   # no grad: skipped
    before = [_cpu(q.grad).copy() for q in params[:-1]]
    assert utils.clip_grad_value_(params, clip) is None
    for q, b in zip(params, before):
        assert q.grad.dtype == np.float32
        np.testing.assert_array_equal(_cpu(q.grad), np.clip(b, np.float32(-clip),
                                                            np.float32(clip)))
    assert params[-1].grad is None


def test_clip_grad_value_bad_input():
    p = nn.Parameter(mg.ones(2))
    p.grad = mg.ones(2)
    with pytest.raises(ValueError, match="clip_value"):
        utils.clip_grad_value_([p], -0.5)
    with pytest.raises(TypeError, match="clip_value"):
        utils.clip_grad_value_([p], None)


# ---------------------------------------------------------------------------------------------
# parameters <-> vector


def test_vector_round_trip(device):
    rng = np.random.default_rng(9)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).to(device)
    params = list(model.parameters())
    vec = utils.parameters_to_vector(model.parameters())
    assert vec.shape == (sum(p.numel() for p in params),) and vec.dtype == np.float32
    np.testing.assert_array_equal(_cpu(vec), np.concatenate([_cpu(p).ravel() for p in params]))

    new = rng.standard_normal(vec.shape[0]).astype(np.float32)
    ids = [id(p) for p in params]
    utils.vector_to_parameters(mg.tensor(new, device=device), model.parameters())
    assert [id(p) for p in model.parameters()] == ids     # the same Parameter objects
    np.testing.assert_array_equal(_cpu(utils.parameters_to_vector(params)), new)
    new[0] = 123.0                                          # copied, not a view
    assert float(_cpu(params[0]).ravel()[0]) != 123.0
    assert all(p.dtype == np.float32 for p in params)


def test_parameters_to_vector_is_differentiable():
    a = nn.Parameter(mg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    b = nn.Parameter(mg.tensor([5.0]))
    weights = mg.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
    (utils.parameters_to_vector([a, b]) * weights).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[1.0, 2.0], [3.0, 4.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [5.0])


def test_vector_bad_input():
    params = [nn.Parameter(mg.ones(2, 3)), nn.Parameter(mg.ones(4))]
    with pytest.raises(ValueError, match="10"):
        utils.vector_to_parameters(mg.ones(9), params)
    with pytest.raises(ValueError, match="1-D"):
        utils.vector_to_parameters(mg.ones(2, 5), params)
    with pytest.raises(TypeError, match="Tensor"):
        utils.vector_to_parameters(np.ones(10), params)
    with pytest.raises(ValueError, match="empty"):
        utils.parameters_to_vector([])
    with pytest.raises(TypeError, match=r"parameters\[1\]"):
        utils.parameters_to_vector([params[0], "w"])
