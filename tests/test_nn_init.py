"""nn.init: gains, fans, and each initializer's distribution (bounds, mean and std within
statistical tolerance), in place, outside the graph, reproducible, dtype kept; and the default
initial values of the layers."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn import init


def _cpu(t):
    return backend.to_device(t.data, "cpu").astype(np.float64)


def test_calculate_gain_values():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert init.calculate_gain("leaky_relu", math.sqrt(5)) == pytest.approx(math.sqrt(1 / 3))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="not a number"):
        init.calculate_gain("leaky_relu", "0.1")


def test_fans_of_linear_and_conv_shaped_weights():
    assert init._calculate_fan_in_and_fan_out(nn.Linear(7, 3).weight) == (7, 3)
    conv_weight = mg.zeros(16, 6, 5, 3)  # (out, in, kh, kw)
    assert init._calculate_fan_in_and_fan_out(conv_weight) == (6 * 15, 16 * 15)
    assert init._calculate_fan_in_and_fan_out(mg.zeros(4, 2, 3)) == (6, 12)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        init._calculate_fan_in_and_fan_out(mg.zeros(5))
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_uniform_(mg.zeros(3, 3), mode="fan_avg")


def _assert_uniform(values, low, high):
    """Within [low, high], mean and std those of U(low, high) to ~5 standard errors."""
    n = values.size
    rounding = 2 * float(np.finfo(np.float32).eps) * max(abs(low), abs(high))  # float32 values
    assert values.min() >= low - rounding and values.max() <= high + rounding
    width = high - low
    std = width / math.sqrt(12)
    assert abs(values.mean() - (low + high) / 2) < 5 * std / math.sqrt(n)
    assert abs(values.std() - std) < 5 * std / math.sqrt(n) * 1.2
    # Both ends are reached: P(no sample within 20 · width / n of an end) = e^-20, so the
    # bounds are pinned to 20 / n relative (a bound that is too wide fails here too).
    assert values.min() < low + 20 * width / n and values.max() > high - 20 * width / n


def _assert_normal(values, mean, std):
    n = values.size
    assert abs(values.mean() - mean) < 5 * std / math.sqrt(n)
    assert abs(values.std() - std) < 5 * std / math.sqrt(2 * n)
    # Gaussian tails, not a uniform of the same std: about 4.55 % beyond 2 std.
    beyond = np.mean(np.abs(values - mean) > 2 * std)
    assert 0.035 < beyond < 0.056


shapes = st.sampled_from([(200, 300), (64, 32, 3, 3), (500, 100), (30, 40, 5, 5)])


@given(shape=shapes, gain=st.floats(0.1, 3.0))
def test_xavier_uniform_and_normal(shape, gain, device):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(mg.zeros(*shape))
    w = mg.zeros(*shape, device=device)
    assert init.xavier_uniform_(w, gain=gain) is w
    a = gain * math.sqrt(6 / (fan_in + fan_out))
    _assert_uniform(_cpu(w), -a, a)
    init.xavier_normal_(w, gain=gain)
    _assert_normal(_cpu(w), 0.0, gain * math.sqrt(2 / (fan_in + fan_out)))


@given(shape=shapes, a=st.floats(0.0, 3.0), mode=st.sampled_from(["fan_in", "fan_out"]),
       nonlinearity=st.sampled_from(["leaky_relu", "relu", "tanh", "linear"]))
def test_kaiming_uniform_and_normal(shape, a, mode, nonlinearity, device):
    fan_in, fan_out = init._calculate_fan_in_and_fan_out(mg.zeros(*shape))
    fan = fan_in if mode == "fan_in" else fan_out
    gain = init.calculate_gain(nonlinearity, a)
    w = mg.zeros(*shape, device=device)
    init.kaiming_uniform_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    bound = gain * math.sqrt(3 / fan)
    _assert_uniform(_cpu(w), -bound, bound)
    init.kaiming_normal_(w, a=a, mode=mode, nonlinearity=nonlinearity)
    _assert_normal(_cpu(w), 0.0, gain / math.sqrt(fan))


@given(low=st.floats(-5, 5), width=st.floats(0.01, 10), mean=st.floats(-5, 5),
       std=st.floats(0.01, 10))
def test_uniform_normal_constant(low, width, mean, std, device):
    w = mg.zeros(100, 500, device=device)
    init.uniform_(w, low, low + width)
    _assert_uniform(_cpu(w), low, low + width)
    init.normal_(w, mean, std)
    _assert_normal(_cpu(w), mean, std)
    init.constant_(w, mean)
    np.testing.assert_array_equal(_cpu(w), np.float32(mean))
    init.ones_(w)
    np.testing.assert_array_equal(_cpu(w), 1)
    init.zeros_(w)
    np.testing.assert_array_equal(_cpu(w), 0)


def test_defaults_of_uniform_and_normal():
    w = mg.zeros(200, 200)
    _assert_uniform(_cpu(init.uniform_(w)), 0.0, 1.0)
    _assert_normal(_cpu(init.normal_(w)), 0.0, 1.0)
    # kaiming_uniform_ default: leaky_relu with a=0 (gain √2), fan_in.
    init.kaiming_uniform_(w)
    _assert_uniform(_cpu(w), -math.sqrt(6 / 200), math.sqrt(6 / 200))


def test_init_is_in_place_outside_the_graph_keeps_dtype_and_is_reproducible(device):
    p = nn.Parameter(mg.zeros(30, 20, dtype=mg.float64, device=device))
    data = p.data
    for fn in (init.uniform_, init.normal_, init.xavier_uniform_, init.xavier_normal_,
               init.kaiming_uniform_, init.kaiming_normal_, init.zeros_, init.ones_):
        assert fn(p) is p
        assert p.data is data and p.dtype == np.float64 and p.device == device
        assert p.is_leaf and p.requires_grad and p.grad_fn is None
    q = nn.Parameter(mg.zeros(30, 20, device=device))
    init.normal_(q)
    assert q.dtype == np.float32
    mg.manual_seed(123)
    first = _cpu(init.kaiming_uniform_(q)).copy()
    mg.manual_seed(123)
    np.testing.assert_array_equal(_cpu(init.kaiming_uniform_(q)), first)
    with pytest.raises(TypeError, match="floating-point"):
        init.uniform_(mg.zeros(3, dtype=mg.int64))


def test_zero_element_tensor_is_left_alone():
    w = mg.zeros(0, 3)
    assert init.kaiming_uniform_(w) is w and init.kaiming_normal_(w) is w


def test_linear_default_init_is_uniform_over_one_over_sqrt_fan_in(device):
    mg.manual_seed(0)
    in_features = 400
    lin = nn.Linear(in_features, 300, device=device)
    bound = 1 / math.sqrt(in_features)
    _assert_uniform(_cpu(lin.weight), -bound, bound)
    biases = np.concatenate([_cpu(nn.Linear(in_features, 300).bias) for _ in range(100)])
    _assert_uniform(biases, -bound, bound)
    assert lin.weight.dtype == np.float32 and lin.weight.device == device
    assert nn.Linear(3, 2, bias=False).bias is None
    assert nn.Linear(3, 2, dtype=mg.float64).weight.dtype == np.float64


def test_other_layer_defaults():
    mg.manual_seed(0)
    emb = nn.Embedding(400, 300, padding_idx=7)
    values = _cpu(emb.weight)
    np.testing.assert_array_equal(values[7], 0)
    _assert_normal(np.delete(values, 7, axis=0), 0.0, 1.0)
    bn = nn.BatchNorm2d(5)
    np.testing.assert_array_equal(_cpu(bn.weight), 1)
    np.testing.assert_array_equal(_cpu(bn.bias), 0)
    np.testing.assert_array_equal(_cpu(bn.running_mean), 0)
    np.testing.assert_array_equal(_cpu(bn.running_var), 1)
    assert bn.num_batches_tracked.item() == 0 and bn.num_batches_tracked.dtype == np.int64
    ln = nn.LayerNorm((2, 3))
    np.testing.assert_array_equal(_cpu(ln.weight), np.ones((2, 3)))
    np.testing.assert_array_equal(_cpu(ln.bias), np.zeros((2, 3)))
