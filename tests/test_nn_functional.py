"""nn.functional: each operation against a NumPy formula, float64 gradcheck (and gradgradcheck
for the new Functions) over hypothesis-drawn shapes, values and hyper-parameters, float32
kept, dropout statistics, and the error cases."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad.functions.activation import erfc
from minigrad.nn import functional as F

_erf = np.vectorize(math.erf)


def _cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def _draw_array(data, min_dims=0, max_dims=3, max_side=4, away_from=None):
    """A float64 array of a drawn shape; values N(0, 1.5²), or at least 0.05 away from the
    points in ``away_from`` (for kinks, where finite differences are meaningless)."""
    shape = tuple(data.draw(st.lists(st.integers(1, max_side), min_size=min_dims,
                                     max_size=max_dims)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x = rng.normal(0, 1.5, shape)
    for point in away_from or ():
        close = np.abs(x - point) < 0.05
        x = np.where(close, point + 0.05 * np.sign(x - point + 1e-300), x)
    return x


def _t(array, device, requires_grad=True, dtype=None):
    return mg.tensor(array, dtype=dtype, device=device, requires_grad=requires_grad)


# --- activations ---------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": (F.relu, lambda x: np.maximum(x, 0), [0.0]),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.2), lambda x: np.where(x > 0, x, 0.2 * x), [0.0]),
    "leaky_relu_default": (F.leaky_relu, lambda x: np.where(x > 0, x, 0.01 * x), [0.0]),
    "gelu": (F.gelu, lambda x: x * 0.5 * (1 + _erf(x / math.sqrt(2))), None),
    "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"),
                  lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi)
                                                   * (x + 0.044715 * x ** 3))), None),
    "sigmoid": (F.sigmoid, lambda x: 1 / (1 + np.exp(-x)), None),
    "tanh": (F.tanh, np.tanh, None),
    "softmax": (lambda x: F.softmax(x, -1),
                lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True), None),
    "log_softmax": (lambda x: F.log_softmax(x, 0),
                    lambda x: x - np.log(np.exp(x).sum(0, keepdims=True)), None),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
@given(data=st.data())
def test_activation_forward_gradcheck_and_float32(name, data, device):
    fn, ref, kinks = ACTIVATIONS[name]
    x = _draw_array(data, min_dims=1, away_from=kinks)
    out = fn(_t(x, device, requires_grad=False))
    np.testing.assert_allclose(_cpu(out), ref(x), rtol=1e-12, atol=1e-14)
    assert mg.gradcheck(fn, [_t(x, device)])
    x32 = _t(x, device, dtype=mg.float32)
    out32 = fn(x32)
    out32.backward(mg.ones_like(out32))
    assert out32.dtype == np.float32 and x32.grad.dtype == np.float32
    np.testing.assert_allclose(_cpu(out32), ref(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["leaky_relu", "gelu", "gelu_tanh"])
@given(data=st.data())
@settings(max_examples=8)
def test_activation_gradgradcheck(name, data, device):
    fn, _, kinks = ACTIVATIONS[name]
    x = _draw_array(data, min_dims=1, max_dims=2, away_from=kinks)
    assert mg.gradgradcheck(fn, [_t(x, device)])


def test_erfc_matches_the_standard_library_in_both_tails(device):
    z = np.concatenate([np.linspace(0, 6, 3001), np.linspace(6, 10, 201), [1e-300, 0.5]])
    expected = np.array([math.erfc(v) for v in z])
    got = _cpu(erfc(backend.to_device(z, device)))
    np.testing.assert_allclose(got, expected, rtol=5e-14, atol=2e-16)
    got32 = _cpu(erfc(backend.to_device(z.astype(np.float32), device)))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, expected, rtol=1e-5, atol=4e-7)
    # Far tails: 0 < erfc(z) < 2e-45, and GELU is exactly 0 and x there.
    far = _cpu(erfc(backend.to_device(np.array([12.0, 30.0, 1e5]), device)))
    assert np.all(far >= 0) and np.all(far < 2e-45)
    x = _t(np.array([-40.0, -1e4, 40.0, 1e4]), device, requires_grad=False)
    np.testing.assert_array_equal(_cpu(F.gelu(x)), [0.0, 0.0, 40.0, 1e4])


def test_gelu_exact_and_tanh_differ_little():
    x = mg.tensor(np.linspace(-6, 6, 1001))
    gap = np.abs(_cpu(F.gelu(x)) - _cpu(F.gelu(x, approximate="tanh"))).max()
    assert 0 < gap < 1e-3
    with pytest.raises(ValueError, match="approximate"):
        F.gelu(x, approximate="fast")


# --- linear --------------------------------------------------------------------------------


@given(data=st.data(), bias=st.booleans())
def test_linear_forward_and_gradcheck(data, bias, device):
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=3)))
    n_in, n_out = data.draw(st.integers(1, 4)), data.draw(st.integers(1, 4))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, w, b = rng.normal(size=lead + (n_in,)), rng.normal(size=(n_out, n_in)), rng.normal(
        size=n_out)
    tensors = [_t(x, device), _t(w, device)] + ([_t(b, device)] if bias else [])
    out = F.linear(*tensors)
    np.testing.assert_allclose(_cpu(out), x @ w.T + (b if bias else 0), rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(F.linear, tensors)


@given(data=st.data())
@settings(max_examples=8)
def test_linear_gradgradcheck(data, device):
    lead = tuple(data.draw(st.lists(st.integers(1, 3), max_size=2)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    x, w, b = rng.normal(size=lead + (3,)), rng.normal(size=(2, 3)), rng.normal(size=2)
    assert mg.gradgradcheck(F.linear, [_t(x, device), _t(w, device), _t(b, device)])


def test_linear_gradients_match_numpy_and_only_needed_ones_are_computed():
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 5, 3)), rng.normal(size=(4, 3)), rng.normal(size=4)
    g = rng.normal(size=(2, 5, 4))
    xt, wt, bt = mg.tensor(x, requires_grad=True), mg.tensor(w, requires_grad=True), \
        mg.tensor(b, requires_grad=True)
    F.linear(xt, wt, bt).backward(g)
    np.testing.assert_allclose(xt.grad.data, g @ w, rtol=1e-12)
    np.testing.assert_allclose(wt.grad.data, np.einsum("nlo,nli->oi", g, x), rtol=1e-12)
    np.testing.assert_allclose(bt.grad.data, g.sum((0, 1)), rtol=1e-12)
    x_only = mg.tensor(x, requires_grad=True)
    F.linear(x_only, mg.tensor(w), mg.tensor(b)).backward(g)
    np.testing.assert_allclose(x_only.grad.data, g @ w, rtol=1e-12)


def test_linear_errors_name_the_shapes_and_dtypes():
    x = mg.zeros(5, 3)
    with pytest.raises(ValueError, match=r"linear: input of shape \(5, 3\).*\(4, 2\)"):
        F.linear(x, mg.zeros(4, 2))
    with pytest.raises(ValueError, match=r"bias of shape \(3,\)"):
        F.linear(x, mg.zeros(4, 3), mg.zeros(3))
    with pytest.raises(TypeError, match="float64 but weight is float32"):
        F.linear(x.double(), mg.zeros(4, 3))
    with pytest.raises(TypeError, match="floating-point"):
        F.linear(mg.zeros(5, 3, dtype=mg.int64), mg.zeros(4, 3))


# --- dropout -------------------------------------------------------------------------------


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_statistics_scaling_and_masked_gradient(p, device):
    mg.manual_seed(7)
    x = mg.full((400, 500), 3.0, device=device, requires_grad=True)
    out = F.dropout(x, p, training=True)
    values = _cpu(out)
    zeroed = values == 0
    n = values.size
    assert abs(zeroed.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    np.testing.assert_allclose(values[~zeroed], 3.0 / (1 - p), rtol=1e-6)
    assert out.dtype == np.float32
    g = np.random.default_rng(0).normal(size=values.shape).astype(np.float32)
    out.backward(backend.to_device(g, device))
    grad = _cpu(x.grad)
    assert grad.dtype == np.float32
    np.testing.assert_array_equal(grad == 0, zeroed)  # the same mask
    np.testing.assert_allclose(grad[~zeroed], g[~zeroed] / (1 - p), rtol=1e-6)
    # The expectation is unchanged.
    assert abs(values.mean() - 3.0) < 5 * 3.0 * math.sqrt(p / (1 - p) / n)


def test_dropout_eval_identity_edge_probabilities_and_seeding(device):
    x = mg.randn(50, 40, device=device, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    np.testing.assert_array_equal(_cpu(F.dropout(x, 1.0)), 0)
    mg.manual_seed(3)
    first = _cpu(F.dropout(x, 0.5))
    mg.manual_seed(3)
    np.testing.assert_array_equal(_cpu(F.dropout(x, 0.5)), first)
    assert not np.array_equal(_cpu(F.dropout(x, 0.5)), first)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match="dropout"):
            F.dropout(x, bad)


@given(data=st.data(), p=st.floats(0.0, 0.9))
def test_dropout_gradcheck_with_a_fixed_mask(data, p, device):
    x = _draw_array(data, min_dims=1)

    def fixed_mask_dropout(t):
        mg.manual_seed(11)  # the same mask on every call
        return F.dropout(t, p)

    assert mg.gradcheck(fixed_mask_dropout, [_t(x, device)])


# --- embedding and one_hot -----------------------------------------------------------------


@given(data=st.data(), use_padding=st.booleans())
def test_embedding_forward_gradient_and_padding(data, use_padding, device):
    rows, dim = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3))
    idx_shape = tuple(data.draw(st.lists(st.integers(1, 4), max_size=2)))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    indices = rng.integers(0, rows, idx_shape)
    padding_idx = data.draw(st.integers(-rows, rows - 1)) if use_padding else None
    w = rng.normal(size=(rows, dim))
    weight = _t(w, device)
    out = F.embedding(mg.tensor(indices, device=device), weight, padding_idx)
    np.testing.assert_array_equal(_cpu(out), w[indices])
    g = rng.normal(size=idx_shape + (dim,))
    out.backward(backend.to_device(g, device))
    expected = np.zeros_like(w)
    np.add.at(expected, indices, g)  # repeated indices accumulate
    if padding_idx is not None:
        expected[padding_idx] = 0
    np.testing.assert_allclose(_cpu(weight.grad), expected, rtol=1e-12, atol=1e-12)
    # The padding row's value reaches the output but by design gets no gradient, so central
    # differences only agree where it is not looked up.
    if padding_idx is not None and np.any(indices == padding_idx % rows):
        padding_idx = None
    fn = lambda t: F.embedding(indices, t, padding_idx)  # noqa: E731 (plain NumPy indices)
    assert mg.gradcheck(fn, [_t(w, device)])


def test_embedding_gradgradcheck_and_errors(device):
    indices = np.array([[0, 2, 2], [1, 0, 3]])
    w = _t(np.random.default_rng(1).normal(size=(4, 2)), device)
    # Squared, so the second derivative is not zero; the padding row 2 is masked throughout.
    assert mg.gradgradcheck(lambda t: F.embedding(indices, t, 2) ** 2, [w])
    with pytest.raises(IndexError, match=r"\[0, 4\).*from 0 to 4"):
        F.embedding(np.array([0, 4]), w)
    with pytest.raises(IndexError, match="from -1"):
        F.embedding(np.array([-1, 2]), w)
    with pytest.raises(TypeError, match="integers"):
        F.embedding(np.array([0.0]), w)
    with pytest.raises(ValueError, match="padding_idx"):
        F.embedding(np.array([0]), w, padding_idx=4)


def test_one_hot(device):
    labels = mg.tensor([[0, 3], [2, 1]], device=device)
    out = F.one_hot(labels)
    assert out.dtype == np.int64 and out.shape == (2, 2, 4)
    np.testing.assert_array_equal(_cpu(out), np.eye(4, dtype=np.int64)[[[0, 3], [2, 1]]])
    assert F.one_hot(labels, num_classes=6).shape == (2, 2, 6)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        F.one_hot(labels, num_classes=3)
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(mg.tensor([1.0]))


# --- pad -----------------------------------------------------------------------------------


def _pad_reference(x, widths, value):
    """Copy x into a block of ``value``, axis by axis: input position i lands at i + before."""
    out_shape = tuple(n + lo + hi for n, (lo, hi) in zip(x.shape, widths))
    out = np.full(out_shape, value, dtype=x.dtype)
    src, dst = [], []
    for n, (lo, hi) in zip(x.shape, widths):
        start, stop = max(0, -lo), min(n, n + hi)  # input range that survives cropping
        src.append(slice(start, stop))
        dst.append(slice(start + lo, stop + lo))
    out[tuple(dst)] = x[tuple(src)]
    return out


@given(data=st.data(), value=st.floats(-3, 3))
def test_pad_forward_gradcheck_and_gradgradcheck(data, value, device):
    x = _draw_array(data, min_dims=1, max_dims=3)
    n_pairs = data.draw(st.integers(1, x.ndim))
    pad = []
    for i in range(n_pairs):  # pair i pads axis -(i + 1); crop at most to length 0
        n = x.shape[x.ndim - 1 - i]
        lo = data.draw(st.integers(-n, 2))
        hi = data.draw(st.integers(max(-n - lo, -n), 2))
        pad += [lo, hi]
    widths = [(0, 0)] * x.ndim
    for i in range(n_pairs):
        widths[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    fn = lambda t: F.pad(t, pad, value=value)  # noqa: E731
    out = fn(_t(x, device, requires_grad=False))
    np.testing.assert_array_equal(_cpu(out), _pad_reference(x, widths, value))
    assert mg.gradcheck(fn, [_t(x, device)])
    if out.data.size:
        assert mg.gradgradcheck(fn, [_t(x, device)])


def test_pad_uses_pytorchs_last_dim_first_order_and_checks_its_arguments():
    x = mg.ones(2, 3, dtype=mg.float32)
    assert F.pad(x, (1, 2)).shape == (2, 6)
    out = F.pad(x, (1, 2, 3, 4), value=-1.0)
    assert out.shape == (9, 6) and out.dtype == np.float32
    assert out[3, 1].item() == 1 and out[0, 0].item() == -1 and out[3, 0].item() == -1
    with pytest.raises(ValueError, match="even number"):
        F.pad(x, (1, 2, 3))
    with pytest.raises(ValueError, match="even number"):
        F.pad(x, (1, 1, 1, 1, 1, 1))
    with pytest.raises(ValueError, match="below zero"):
        F.pad(x, (-2, -2))
    with pytest.raises(NotImplementedError, match="constant"):
        F.pad(x, (1, 1), mode="reflect")
