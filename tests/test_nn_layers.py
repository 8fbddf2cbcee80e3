"""Layers: forward against a NumPy formula, float64 gradcheck with respect to the input and
every parameter in train and eval mode over hypothesis-drawn shapes and hyper-parameters,
BatchNorm running statistics over several steps against a NumPy transcription, Dropout in
train and eval mode, float32 kept through every layer forward and backward, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn

_erf = np.vectorize(math.erf)


def _cpu(t):
    return backend.to_device(t.data, "cpu")


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def _randomize(module, rng):
    """Give every parameter random values (ones and zeros would hide mistakes)."""
    with mg.no_grad():
        for p in module.parameters():
            p.copy_(rng.normal(size=p.shape))


def _gradcheck_module(module, x, training):
    """gradcheck of module(x) w.r.t. x (if floating) and every parameter, in float64."""
    module.double().train(training)
    params = list(module.parameters())
    inputs = ([x] if x.dtype.kind == "f" else []) + params
    if x.dtype.kind == "f":
        assert mg.gradcheck(lambda x, *ps: module(x), inputs)
    else:
        assert mg.gradcheck(lambda *ps: module(x), inputs)


# --- Linear ----------------------------------------------------------------------------------


@given(data=st.data(), bias=st.booleans(), training=st.booleans())
def test_linear(data, bias, training, device):
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = _rng(data)
    layer = nn.Linear(n_in, n_out, bias=bias, device=device, dtype=mg.float64)
    assert layer.weight.shape == (n_out, n_in)
    x = rng.normal(size=lead + (n_in,))
    out = layer(mg.tensor(x, device=device))
    expected = x @ _cpu(layer.weight).T + (_cpu(layer.bias) if bias else 0)
    np.testing.assert_allclose(_cpu(out), expected, rtol=1e-12, atol=1e-12)
    _gradcheck_module(layer, mg.tensor(x, device=device, requires_grad=True), training)


# --- BatchNorm -------------------------------------------------------------------------------


def _bn_reference(x, mean, var, weight, bias, eps):
    shape = (1, -1) + (1,) * (x.ndim - 2)
    y = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)
    if weight is not None:
        y = y * weight.reshape(shape) + bias.reshape(shape)
    return y


def _bn_input_shape(data, kind):
    n, c = data.draw(st.integers(2, 4)), data.draw(st.integers(1, 3))
    if kind == "1d":
        return (n, c)
    if kind == "1d_seq":
        return (n, c, data.draw(st.integers(1, 3)))
    return (n, c, data.draw(st.integers(1, 2)), data.draw(st.integers(1, 2)))


@pytest.mark.parametrize("kind", ["1d", "1d_seq", "2d"])
@given(data=st.data(), affine=st.booleans(), track=st.booleans(), training=st.booleans(),
       eps=st.sampled_from([1e-5, 1e-3, 0.1]))
def test_batchnorm_forward_and_gradcheck(kind, data, affine, track, training, eps, device):
    shape = _bn_input_shape(data, kind)
    rng = _rng(data)
    cls = nn.BatchNorm2d if kind == "2d" else nn.BatchNorm1d
    bn = cls(shape[1], eps=eps, affine=affine, track_running_stats=track, device=device,
             dtype=mg.float64)
    _randomize(bn, rng)
    if track:
        with mg.no_grad():
            bn.running_mean.copy_(rng.normal(size=shape[1]))
            bn.running_var.copy_(rng.uniform(0.5, 2.0, size=shape[1]))
    x = rng.normal(size=shape) * rng.uniform(0.5, 3) + rng.normal()
    axes = (0,) + tuple(range(2, len(shape)))
    running = (_cpu(bn.running_mean).copy(), _cpu(bn.running_var).copy()) if track else None
    bn.train(training)
    out = bn(mg.tensor(x, device=device))
    weight = _cpu(bn.weight) if affine else None
    bias = _cpu(bn.bias) if affine else None
    if training or not track:  # batch statistics, biased variance
        expected = _bn_reference(x, x.mean(axes), x.var(axes), weight, bias, eps)
    else:
        expected = _bn_reference(x, running[0], running[1], weight, bias, eps)
    np.testing.assert_allclose(_cpu(out), expected, rtol=1e-10, atol=1e-10)
    _gradcheck_module(bn, mg.tensor(x, device=device, requires_grad=True), training)


@pytest.mark.parametrize("momentum", [0.1, 0.3, None])
def test_batchnorm_running_statistics_over_several_steps(momentum, device):
    """A direct NumPy transcription of PyTorch's documented update, step by step."""
    rng = np.random.default_rng(5)
    bn = nn.BatchNorm2d(3, momentum=momentum, device=device, dtype=mg.float64)
    running_mean, running_var = np.zeros(3), np.ones(3)
    for step in range(1, 6):
        x = rng.normal(size=(4, 3, 2, 5)) * rng.uniform(0.5, 3, size=(1, 3, 1, 1)) + step
        bn(mg.tensor(x, device=device))
        m = 1.0 / step if momentum is None else momentum  # None: cumulative average
        n = x.size / 3
        running_mean = (1 - m) * running_mean + m * x.mean((0, 2, 3))
        running_var = (1 - m) * running_var + m * x.var((0, 2, 3)) * n / (n - 1)  # unbiased
        np.testing.assert_allclose(_cpu(bn.running_mean), running_mean, rtol=1e-12)
        np.testing.assert_allclose(_cpu(bn.running_var), running_var, rtol=1e-12)
        assert bn.num_batches_tracked.item() == step
    bn.eval()
    x = rng.normal(size=(2, 3, 2, 2))
    out = bn(mg.tensor(x, device=device))
    np.testing.assert_allclose(_cpu(out), _bn_reference(x, running_mean, running_var,
                                                        np.ones(3), np.zeros(3), 1e-5),
                               rtol=1e-10)
    # Eval leaves the statistics alone.
    np.testing.assert_allclose(_cpu(bn.running_mean), running_mean, rtol=1e-12)
    assert bn.num_batches_tracked.item() == 5


def test_batchnorm1d_statistics_cover_batch_and_length_axes():
    rng = np.random.default_rng(0)
    bn = nn.BatchNorm1d(2, momentum=1.0, dtype=mg.float64)
    x = rng.normal(size=(3, 2, 4))
    bn(mg.tensor(x))
    np.testing.assert_allclose(bn.running_mean.data, x.mean((0, 2)), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.data, x.var((0, 2), ddof=1), rtol=1e-12)


def test_batchnorm_errors():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match=r"BatchNorm1d\(3\).*3 channels.*\(4, 2\)"):
        bn(mg.zeros(4, 2))
    with pytest.raises(ValueError, match="2-D or 3-D"):
        bn(mg.zeros(4, 3, 2, 2))
    with pytest.raises(ValueError, match="4-D"):
        nn.BatchNorm2d(3)(mg.zeros(4, 3))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(mg.zeros(1, 3))
    bn.eval()
    assert bn(mg.zeros(1, 3)).shape == (1, 3)  # running statistics: one sample is fine


# --- LayerNorm -------------------------------------------------------------------------------


@given(data=st.data(), affine=st.booleans(), bias=st.booleans(), training=st.booleans(),
       eps=st.sampled_from([1e-5, 1e-2]))
def test_layernorm_forward_and_gradcheck(data, affine, bias, training, eps, device):
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    k = data.draw(st.integers(1, len(shape)))
    normalized = shape[len(shape) - k:]
    rng = _rng(data)
    ln = nn.LayerNorm(normalized if k > 1 or data.draw(st.booleans()) else normalized[0],
                      eps=eps, elementwise_affine=affine, bias=bias, device=device,
                      dtype=mg.float64)
    _randomize(ln, rng)
    x = rng.normal(size=shape) * 2 + 1
    axes = tuple(range(len(shape) - k, len(shape)))
    expected = (x - x.mean(axes, keepdims=True)) / np.sqrt(x.var(axes, keepdims=True) + eps)
    if affine:
        expected = expected * _cpu(ln.weight) + (_cpu(ln.bias) if bias else 0)
    np.testing.assert_allclose(_cpu(ln(mg.tensor(x, device=device))), expected, rtol=1e-10,
                               atol=1e-10)
    _gradcheck_module(ln, mg.tensor(x, device=device, requires_grad=True), training)


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.BatchNorm1d(2, eps=0.3, dtype=mg.float64), (3, 2)),
    (lambda: nn.BatchNorm2d(2, dtype=mg.float64), (2, 2, 2, 1)),
    (lambda: nn.LayerNorm(3, eps=0.3, dtype=mg.float64), (2, 3)),
    (lambda: nn.LayerNorm((2, 2), dtype=mg.float64), (1, 2, 2)),
], ids=["bn1d", "bn2d", "ln", "ln2"])
@pytest.mark.parametrize("training", [True, False])
def test_normalization_gradgradcheck(make, shape, training, device):
    """Second derivatives (gradient penalties through a normalization layer); a large eps in
    some cases so that a mistake in how eps enters would show."""
    rng = np.random.default_rng(2)
    layer = make().to(device).train(training)
    _randomize(layer, rng)
    x = mg.tensor(rng.normal(size=shape) * 2, device=device, requires_grad=True)
    inputs = [x] + list(layer.parameters())
    assert mg.gradgradcheck(lambda x, *ps: layer(x), inputs)
    # With create_graph the gradient is computed differently (differentiably): same values.
    v = mg.tensor(rng.normal(size=shape), device=device)
    plain = mg.autograd.grad(layer(x), inputs, grad_outputs=v)
    graphed = mg.autograd.grad(layer(x), inputs, grad_outputs=v, create_graph=True)
    for a, b in zip(plain, graphed):
        np.testing.assert_allclose(_cpu(b), _cpu(a), rtol=1e-10, atol=1e-12)


def test_layernorm_errors():
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\).*\(4,\)"):
        nn.LayerNorm(4)(mg.zeros(2, 3))
    with pytest.raises(ValueError, match="does not end with"):
        nn.LayerNorm((2, 3))(mg.zeros(3))


# --- Embedding ------------------------------------------------------------------------------


@given(data=st.data(), training=st.booleans())
def test_embedding_layer(data, training, device):
    rows, dim = data.draw(st.integers(2, 5)), data.draw(st.integers(1, 3))
    rng = _rng(data)
    idx = rng.integers(0, rows, size=tuple(data.draw(st.lists(st.integers(1, 3), max_size=2))))
    emb = nn.Embedding(rows, dim, device=device, dtype=mg.float64)
    out = emb(mg.tensor(idx, device=device))
    assert out.shape == idx.shape + (dim,)
    np.testing.assert_array_equal(_cpu(out), _cpu(emb.weight)[idx])
    _gradcheck_module(emb, mg.tensor(idx, device=device), training)


def test_embedding_padding_row_is_zero_and_gets_no_gradient():
    emb = nn.Embedding(5, 2, padding_idx=-1)
    assert emb.padding_idx == 4
    np.testing.assert_array_equal(emb.weight.data[4], 0)
    emb(mg.tensor([[4, 1], [1, 4]])).sum().backward()
    np.testing.assert_array_equal(emb.weight.grad.data[4], 0)
    np.testing.assert_array_equal(emb.weight.grad.data[1], 2)
    np.testing.assert_array_equal(emb.weight.grad.data[[0, 2, 3]], 0)
    assert repr(emb) == "Embedding(5, 2, padding_idx=4)"


# --- Dropout, Flatten, Identity, activations --------------------------------------------------


def test_dropout_layer_train_and_eval(device):
    drop = nn.Dropout(0.3)
    x = mg.randn(300, 400, device=device, requires_grad=True)
    mg.manual_seed(0)
    out = drop(x)
    kept = _cpu(out) != 0
    assert abs(1 - kept.mean() - 0.3) < 0.01
    np.testing.assert_allclose(_cpu(out)[kept], _cpu(x)[kept] / 0.7, rtol=1e-6)
    drop.eval()
    assert drop(x) is x
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(1.2)


@given(data=st.data(), p=st.floats(0.0, 0.9))
def test_dropout_layer_gradcheck_with_a_fixed_mask(data, p, device):
    drop = nn.Dropout(p)
    x = _rng(data).normal(size=tuple(data.draw(st.lists(st.integers(1, 4), min_size=1,
                                                        max_size=3))))

    def fixed(t):
        mg.manual_seed(1)
        return drop(t)

    assert mg.gradcheck(fixed, [mg.tensor(x, device=device, requires_grad=True)])


@given(data=st.data())
def test_flatten(data, device):
    shape = tuple(data.draw(st.lists(st.integers(1, 3), min_size=1, max_size=4)))
    start = data.draw(st.integers(-len(shape), len(shape) - 1))
    end = data.draw(st.integers(start % len(shape), len(shape) - 1))
    x = _rng(data).normal(size=shape)
    layer = nn.Flatten(start, end)
    s, e = start % len(shape), end % len(shape)
    expected = x.reshape(shape[:s] + (-1,) + shape[e + 1:])
    out = layer(mg.tensor(x, device=device))
    np.testing.assert_array_equal(_cpu(out), expected)
    assert mg.gradcheck(layer, [mg.tensor(x, device=device, requires_grad=True)])
    assert nn.Flatten()(mg.zeros(2, 3, 4, 5)).shape == (2, 60)


ACTIVATION_MODULES = [
    (nn.ReLU(), lambda x: np.maximum(x, 0)),
    (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    (nn.LeakyReLU(0.3), lambda x: np.where(x > 0, x, 0.3 * x)),
    (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    (nn.Tanh(), np.tanh),
    (nn.GELU(), lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2)))),
    (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                       * (x + 0.044715 * x ** 3)))),
    (nn.Softmax(dim=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (nn.LogSoftmax(dim=-1), lambda x: x - np.log(np.exp(x).sum(-1, keepdims=True))),
    (nn.Identity(54, unused=True), lambda x: x),
]


@pytest.mark.parametrize("module, ref", ACTIVATION_MODULES,
                         ids=[repr(m) for m, _ in ACTIVATION_MODULES])
@given(data=st.data())
def test_activation_modules(module, ref, data, device):
    shape = tuple(data.draw(st.lists(st.integers(1, 4), min_size=2, max_size=3)))
    x = _rng(data).normal(size=shape)
    x = np.where(np.abs(x) < 0.05, 0.1, x)  # away from the ReLU kink
    np.testing.assert_allclose(_cpu(module(mg.tensor(x, device=device))), ref(x), rtol=1e-12,
                               atol=1e-14)
    assert mg.gradcheck(module, [mg.tensor(x, device=device, requires_grad=True)])


def test_softmax_modules_need_a_dim():
    for cls in (nn.Softmax, nn.LogSoftmax):
        with pytest.raises(ValueError, match="dim"):
            cls()(mg.zeros(2, 3))


# --- float32 through every layer --------------------------------------------------------------

FLOAT32_CASES = {
    "Linear": (lambda: nn.Linear(3, 4), (5, 3)),
    "Linear_3d": (lambda: nn.Linear(3, 2, bias=False), (2, 5, 3)),
    "BatchNorm1d": (lambda: nn.BatchNorm1d(3), (4, 3)),
    "BatchNorm1d_seq": (lambda: nn.BatchNorm1d(3), (4, 3, 5)),
    "BatchNorm2d": (lambda: nn.BatchNorm2d(3), (2, 3, 4, 4)),
    "LayerNorm": (lambda: nn.LayerNorm((3, 4)), (2, 3, 4)),
    "Embedding": (lambda: nn.Embedding(6, 3, padding_idx=0), None),
    "Dropout": (lambda: nn.Dropout(0.4), (6, 5)),
    "Flatten": (lambda: nn.Flatten(), (2, 3, 4)),
    "ReLU": (nn.ReLU, (4, 5)),
    "LeakyReLU": (nn.LeakyReLU, (4, 5)),
    "Sigmoid": (nn.Sigmoid, (4, 5)),
    "Tanh": (nn.Tanh, (4, 5)),
    "GELU": (nn.GELU, (4, 5)),
    "GELU_tanh": (lambda: nn.GELU("tanh"), (4, 5)),
    "Softmax": (lambda: nn.Softmax(1), (4, 5)),
    "LogSoftmax": (lambda: nn.LogSoftmax(1), (4, 5)),
    "Identity": (nn.Identity, (4, 5)),
    "Sequential": (lambda: nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.GELU(),
                                         nn.Dropout(0.2), nn.LayerNorm(8), nn.Linear(8, 2),
                                         nn.LogSoftmax(1)), (6, 5)),
}


@pytest.mark.parametrize("name", list(FLOAT32_CASES))
@pytest.mark.parametrize("training", [True, False])
def test_float32_in_float32_out_forward_and_backward(name, training, device):
    factory, shape = FLOAT32_CASES[name]
    module = factory().to(device).train(training)
    if shape is None:
        x = mg.tensor([[0, 2, 5], [1, 0, 3]], device=device)
    else:
        x = mg.randn(*shape, device=device, requires_grad=True)
    out = module(x)
    assert out.dtype == np.float32, name
    out.backward(mg.randn(*out.shape, device=device))
    if shape is not None:
        assert x.grad.dtype == np.float32
    for pname, p in module.named_parameters():
        assert p.grad is not None and p.grad.dtype == np.float32, pname
    for bname, b in module.named_buffers():
        assert b.dtype in (np.float32, np.int64), bname
