"""Convolution and pooling: forward against direct loop implementations written here, float64
gradcheck with respect to input, weight and bias over hypothesis-drawn shapes and
hyper-parameters (kernel, stride, padding, dilation, bias or not, batch 1, channel 1),
gradgradcheck, max pooling's tie routing, the modules (shapes, initial values, repr, errors),
float32 kept, the scratch arrays never overwritten while a graph still needs them, and one
LeNet-5 training step against the hand-written NumPy floor in benchmarks/."""

import os
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad.functions.conv import avg_pool2d, conv2d, max_pool2d
from minigrad.nn.conv import AvgPool2d, Conv2d, MaxPool2d

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu(t):
    return backend.to_device(t.data, "cpu")


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))


def _t(array, device, grad=False):
    return mg.tensor(array, device=device, requires_grad=grad)


# --- direct loop references: one output pixel at a time, straight from the definitions ------


def _out_size(size, k, s, p, d):
    return (size + 2 * p - d * (k - 1) - 1) // s + 1


def ref_conv2d(x, w, b, stride, padding, dilation):
    """out[n, o, oh, ow] = b[o] + Σ_{c,i,j} w[o, c, i, j] x_pad[n, c, oh·sh + i·dh, ow·sw + j·dw]"""
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    n, _, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    oh_n, ow_n = _out_size(h, kh, sh, ph, dh), _out_size(wd, kw, sw, pw, dw)
    out = np.zeros((n, o, oh_n, ow_n))
    for oh in range(oh_n):
        for ow in range(ow_n):
            for i in range(kh):
                for j in range(kw):
                    patch = xp[:, :, oh * sh + i * dh, ow * sw + j * dw]  # (N, C)
                    out[:, :, oh, ow] += patch @ w[:, :, i, j].T
    if b is not None:
        out += b[None, :, None, None]
    return out


def _windows_ref(x, k, s, p, value):
    """Yield (oh, ow, window (N, C, kh, kw)) of x padded with ``value``."""
    (kh, kw), (sh, sw), (ph, pw) = k, s, p
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)), constant_values=value)
    oh_n, ow_n = _out_size(x.shape[2], kh, sh, ph, 1), _out_size(x.shape[3], kw, sw, pw, 1)
    for oh in range(oh_n):
        for ow in range(ow_n):
            yield oh, ow, xp[:, :, oh * sh:oh * sh + kh, ow * sw:ow * sw + kw]


def ref_max_pool2d(x, k, s, p, g):
    """The max of each window, and the gradient g routed to each window's first maximum."""
    (kh, kw), (ph, pw) = k, p
    n, c, h, w = x.shape
    oh_n, ow_n = _out_size(h, kh, s[0], ph, 1), _out_size(w, kw, s[1], pw, 1)
    out = np.zeros((n, c, oh_n, ow_n))
    dx_pad = np.zeros((n, c, h + 2 * ph, w + 2 * pw))
    for oh, ow, win in _windows_ref(x, k, s, p, -np.inf):
        out[:, :, oh, ow] = win.max(axis=(2, 3))
        first = win.reshape(n, c, -1).argmax(axis=2)  # row-major: the first maximum
        for nn_ in range(n):
            for cc in range(c):
                i, j = divmod(int(first[nn_, cc]), kw)
                dx_pad[nn_, cc, oh * s[0] + i, ow * s[1] + j] += g[nn_, cc, oh, ow]
    return out, dx_pad[:, :, ph:ph + h, pw:pw + w]


def ref_avg_pool2d(x, k, s, p, count_include_pad):
    (kh, kw), (ph, pw) = k, p
    n, c, h, w = x.shape
    ones = np.ones((1, 1, h, w))
    out = np.zeros((n, c, _out_size(h, kh, s[0], ph, 1), _out_size(w, kw, s[1], pw, 1)))
    for (oh, ow, win), (_, _, count) in zip(_windows_ref(x, k, s, p, 0.0),
                                            _windows_ref(ones, k, s, p, 0.0)):
        divisor = kh * kw if count_include_pad else count.sum()
        out[:, :, oh, ow] = win.sum(axis=(2, 3)) / divisor
    return out


# --- hypothesis draws ------------------------------------------------------------------------


# Vertical stride 1 is where output rows are computed wider than OW (see Layout): drawn often.
_STRIDES = st.sampled_from([1, 1, 2, 3])


def _draw_conv(data, max_side=6):
    """Shapes and hyper-parameters of a small convolution (batch or channels may be 1)."""
    draw = data.draw
    n, c, o = draw(st.integers(1, 3)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(_STRIDES), draw(_STRIDES))
    padding = (draw(st.integers(0, 2)), draw(st.integers(0, 2)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    size = []
    for k, p, d in zip(kernel, padding, dilation):
        smallest = max(1, d * (k - 1) + 1 - 2 * p)  # the padded input holds one window
        size.append(draw(st.integers(smallest, smallest + max_side)))
    return (n, c) + tuple(size), (o, c) + kernel, stride, padding, dilation


def _draw_pool(data, max_side=6):
    draw = data.draw
    n, c = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    stride = (draw(_STRIDES), draw(_STRIDES))
    padding = tuple(draw(st.integers(0, k // 2)) for k in kernel)
    size = tuple(draw(st.integers(max(1, k - 2 * p), max(1, k - 2 * p) + max_side))
                 for k, p in zip(kernel, padding))
    return (n, c) + size, kernel, stride, padding


# --- conv2d -------------------------------------------------------------------------------


@given(data=st.data(), bias=st.booleans())
def test_conv2d_forward_matches_direct_loops(data, bias, device):
    x_shape, w_shape, stride, padding, dilation = _draw_conv(data)
    rng = _rng(data)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=w_shape), rng.normal(size=w_shape[0])
    out = conv2d(_t(x, device), _t(w, device), _t(b, device) if bias else None,
                 stride, padding, dilation)
    expected = ref_conv2d(x, w, b if bias else None, stride, padding, dilation)
    assert out.shape == expected.shape
    np.testing.assert_allclose(_cpu(out), expected, rtol=1e-10, atol=1e-10)


@given(data=st.data(), bias=st.booleans())
def test_conv2d_gradcheck(data, bias, device):
    x_shape, w_shape, stride, padding, dilation = _draw_conv(data, max_side=4)
    rng = _rng(data)
    inputs = [_t(rng.normal(size=x_shape), device, True),
              _t(rng.normal(size=w_shape), device, True)]
    if bias:
        inputs.append(_t(rng.normal(size=w_shape[0]), device, True))
    assert mg.gradcheck(lambda *a: conv2d(*a, stride=stride, padding=padding,
                                          dilation=dilation), inputs)


@settings(max_examples=6)
@given(data=st.data(), bias=st.booleans())
def test_conv2d_gradgradcheck(data, bias, device):
    """Second derivatives: the input-gradient and weight-gradient ops have backward passes of
    their own (each a convolution), checked against central differences."""
    draw = data.draw
    n, c, o = draw(st.integers(1, 2)), draw(st.integers(1, 2)), draw(st.integers(1, 2))
    k = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    stride, padding = draw(st.integers(1, 2)), draw(st.integers(0, 1))
    dilation = draw(st.integers(1, 2))
    side = draw(st.integers(max(1, dilation * (max(k) - 1) + 1 - 2 * padding), 4))
    rng = _rng(data)
    inputs = [_t(rng.normal(size=(n, c, side, side)), device, True),
              _t(rng.normal(size=(o, c) + k), device, True)]
    if bias:
        inputs.append(_t(rng.normal(size=o), device, True))
    assert mg.gradgradcheck(lambda *a: conv2d(*a, stride=stride, padding=padding,
                                              dilation=dilation), inputs)


def test_conv2d_unbatched_input_and_the_lenet_shapes(device):
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(1, 8, 8)), rng.normal(size=(4, 1, 5, 5)), rng.normal(size=4)
    out = conv2d(_t(x, device), _t(w, device), _t(b, device), padding=2)
    assert out.shape == (4, 8, 8)
    np.testing.assert_allclose(_cpu(out), ref_conv2d(x[None], w, b, (1, 1), (2, 2), (1, 1))[0],
                               rtol=1e-10, atol=1e-10)


def test_conv2d_non_contiguous_input(device):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2, 6, 5, 3))
    w = rng.normal(size=(2, 3, 2, 2))
    xt = _t(x, device).permute(0, 3, 2, 1)  # (2, 3, 5, 6), a transposed view
    out = conv2d(xt, _t(w, device), stride=(1, 2))
    np.testing.assert_allclose(_cpu(out), ref_conv2d(x.transpose(0, 3, 2, 1), w, None, (1, 2),
                                                     (0, 0), (1, 1)), rtol=1e-10, atol=1e-10)


# --- pooling ------------------------------------------------------------------------------


@given(data=st.data())
def test_max_pool2d_forward_and_gradient_match_direct_loops(data, device):
    """Values from a small integer range, so windows often tie: the gradient must go to the
    first maximum of each window only, as in PyTorch."""
    shape, kernel, stride, padding = _draw_pool(data)
    rng = _rng(data)
    x = rng.integers(-2, 3, size=shape).astype(np.float64)
    xt = _t(x, device, True)
    out = max_pool2d(xt, kernel, stride, padding)
    g = rng.normal(size=out.shape)
    out.backward(_t(g, device))
    expected, expected_dx = ref_max_pool2d(x, kernel, stride, padding, g)
    np.testing.assert_array_equal(_cpu(out), expected)
    np.testing.assert_allclose(_cpu(xt.grad), expected_dx, rtol=1e-12, atol=1e-12)


@given(data=st.data())
def test_max_pool2d_gradcheck_and_gradgradcheck(data, device):
    shape, kernel, stride, padding = _draw_pool(data, max_side=4)
    x = _rng(data).permutation(int(np.prod(shape))).reshape(shape) * 0.1  # distinct: no ties
    inputs = [_t(x, device, True)]
    fn = lambda a: max_pool2d(a, kernel, stride, padding)  # noqa: E731
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


def test_max_pool2d_default_stride_and_nan():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x[0, 0, 1, 1] = np.nan
    xt = mg.tensor(x, requires_grad=True)
    out = max_pool2d(xt, 2)  # stride defaults to the kernel size
    assert np.isnan(out.data[0, 0, 0, 0]) and out.data[0, 0, 0, 1] == 7
    out.sum().backward()
    assert xt.grad.data[0, 0, 1, 1] == 1  # a window's NaN is its maximum and gets its gradient
    assert xt.grad.data.sum() == 4


@given(data=st.data(), count_include_pad=st.booleans())
def test_avg_pool2d_forward_gradcheck_and_gradgradcheck(data, count_include_pad, device):
    shape, kernel, stride, padding = _draw_pool(data, max_side=4)
    x = _rng(data).normal(size=shape)
    out = avg_pool2d(_t(x, device), kernel, stride, padding, count_include_pad)
    np.testing.assert_allclose(_cpu(out), ref_avg_pool2d(x, kernel, stride, padding,
                                                         count_include_pad), rtol=1e-12, atol=1e-12)
    fn = lambda a: avg_pool2d(a, kernel, stride, padding, count_include_pad)  # noqa: E731
    inputs = [_t(x, device, True)]
    assert mg.gradcheck(fn, inputs)
    assert mg.gradgradcheck(fn, inputs)


# Hand-picked corners: wide rows with padding (count_include_pad=False divides by counts
# there), horizontal stride 2 with vertical stride 1, a 1-wide kernel, windows that do not
# reach the last rows or columns.
_POOL_CASES = [((1, 2, 5, 5), (3, 3), (1, 1), (1, 1)), ((2, 1, 6, 7), (2, 3), (1, 2), (1, 1)),
               ((1, 1, 4, 6), (1, 2), (1, 1), (0, 1)), ((2, 2, 7, 8), (3, 2), (2, 3), (1, 0)),
               ((1, 3, 3, 3), (3, 3), (3, 3), (1, 1))]


@pytest.mark.parametrize("shape, kernel, stride, padding", _POOL_CASES)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_pool_corner_cases(shape, kernel, stride, padding, count_include_pad, device):
    rng = np.random.default_rng(7)
    x = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.1
    expected = ref_avg_pool2d(x, kernel, stride, padding, count_include_pad)
    avg = lambda a: avg_pool2d(a, kernel, stride, padding, count_include_pad)  # noqa: E731
    np.testing.assert_allclose(_cpu(avg(_t(x, device))), expected, rtol=1e-12, atol=1e-12)
    assert mg.gradcheck(avg, [_t(x, device, True)])
    xt = _t(x, device, True)
    out = max_pool2d(xt, kernel, stride, padding)
    g = rng.normal(size=out.shape)
    out.backward(_t(g, device))
    expected, expected_dx = ref_max_pool2d(x, kernel, stride, padding, g)
    np.testing.assert_array_equal(_cpu(out), expected)
    np.testing.assert_allclose(_cpu(xt.grad), expected_dx, rtol=1e-12, atol=1e-12)


def test_composite_second_derivative(device):
    """conv → ReLU → max pool → conv → avg pool: a gradient penalty needs them all twice."""
    rng = np.random.default_rng(2)
    inputs = [_t(rng.normal(size=(2, 2, 7, 7)), device, True),
              _t(rng.normal(size=(3, 2, 3, 3)), device, True),
              _t(rng.normal(size=(2, 3, 2, 2)), device, True)]

    def net(x, w1, w2):
        h = max_pool2d(conv2d(x, w1, padding=1).tanh(), 2, stride=1)
        return avg_pool2d(conv2d(h, w2, stride=(1, 2), dilation=2), 2, padding=1)

    assert mg.gradgradcheck(net, inputs)


# --- dtypes, memory reuse -----------------------------------------------------------------


@pytest.mark.parametrize("op", ["conv", "max", "avg"])
def test_float32_in_float32_out_forward_and_backward(op, device):
    rng = np.random.default_rng(4)
    x = _t(rng.normal(size=(2, 3, 9, 9)).astype(np.float32), device, True)
    w = _t(rng.normal(size=(4, 3, 3, 3)).astype(np.float32), device, True)
    b = _t(rng.normal(size=4).astype(np.float32), device, True)
    out = {"conv": lambda: conv2d(x, w, b, padding=1),
           "max": lambda: max_pool2d(x, 3, 2, 1),
           "avg": lambda: avg_pool2d(x, 3, 2, 1, count_include_pad=False)}[op]()
    assert out.dtype == np.float32
    out.sum().backward()
    for t in (x, w, b) if op == "conv" else (x,):
        assert t.grad.dtype == np.float32


@pytest.mark.parametrize("shape, padding", [((2, 2, 8, 8), 1), ((1, 1, 6, 6), 0)])
def test_saved_columns_survive_other_calls_and_retained_graphs(shape, padding, device):
    """Column matrices and masks live in reused scratch arrays: another forward of the same
    shape (which takes a free scratch array) must never overwrite one a pending backward
    still needs, a retained graph must keep them for its second backward, and no result
    (an input gradient of batch 1, channel 1 is one scratch-sized copy) may share memory
    with a scratch array."""
    rng = np.random.default_rng(5)
    w = _t(rng.normal(size=(3, shape[1], 3, 3)), device, True)
    xs = [_t(rng.normal(size=shape), device, True) for _ in range(2)]

    def loss(x):
        return (max_pool2d(conv2d(x, w, padding=padding), 2) ** 2).sum()

    expected = []
    for x in xs:  # one graph at a time
        loss(x).backward()
        expected.append((_cpu(x.grad).copy(), _cpu(w.grad).copy()))
        x.grad = w.grad = None
    pending = [loss(x) for x in xs]  # two graphs alive at once, then more same-shape calls
    with mg.no_grad():
        for _ in range(3):
            loss(_t(rng.normal(size=shape), device))
    pending[1].backward(retain_graph=True)
    pending[0].backward()
    np.testing.assert_allclose(_cpu(xs[0].grad), expected[0][0], rtol=1e-12)
    np.testing.assert_allclose(_cpu(xs[1].grad), expected[1][0], rtol=1e-12)
    np.testing.assert_allclose(_cpu(w.grad), expected[0][1] + expected[1][1], rtol=1e-12)
    first = _cpu(xs[0].grad).copy()
    xs[1].grad = None
    pending[1].backward()  # the retained graph, a second time
    np.testing.assert_allclose(_cpu(xs[1].grad), expected[1][0], rtol=1e-12)
    np.testing.assert_array_equal(_cpu(xs[0].grad), first)  # untouched by the later calls


# --- errors -------------------------------------------------------------------------------


def _message(excinfo):
    return str(excinfo.value)


def test_conv2d_errors_name_the_op_and_shapes():
    x, w = mg.zeros(2, 3, 8, 8), mg.zeros(4, 3, 3, 3)
    with pytest.raises(ValueError) as e:
        conv2d(x, mg.zeros(4, 2, 3, 3))
    message = _message(e)
    assert "conv2d" in message and "(2, 3, 8, 8)" in message and "(4, 2, 3, 3)" in message
    with pytest.raises(ValueError, match=r"conv2d.*\(2, 3, 2, 2\).*smaller than the kernel"):
        conv2d(mg.zeros(2, 3, 2, 2), w)
    with pytest.raises(ValueError, match=r"conv2d.*dilated kernel \(5, 5\)"):
        conv2d(mg.zeros(2, 3, 4, 4), w, dilation=2)
    with pytest.raises(ValueError, match=r"conv2d.*\(N, C, H, W\).*\(8, 8\)"):
        conv2d(mg.zeros(8, 8), w)
    with pytest.raises(ValueError, match="conv2d: stride must be at least 1"):
        conv2d(x, w, stride=0)
    with pytest.raises(ValueError, match="conv2d: padding must be at least 0"):
        conv2d(x, w, padding=(1, -1))
    with pytest.raises(ValueError, match="conv2d: dilation must be at least 1"):
        conv2d(x, w, dilation=0)
    with pytest.raises(TypeError, match="conv2d: stride must be an int or a pair"):
        conv2d(x, w, stride=(1, 2, 3))
    with pytest.raises(ValueError, match=r"conv2d: bias must be a Tensor of shape \(4,\)"):
        conv2d(x, w, mg.zeros(3))
    with pytest.raises(ValueError, match="conv2d: weight must be a Tensor of shape"):
        conv2d(x, mg.zeros(4, 3, 3))
    with pytest.raises(TypeError, match="conv2d: input is float32 but weight is float64"):
        conv2d(x, w.double())
    with pytest.raises(TypeError, match="conv2d: expected a floating-point input"):
        conv2d(mg.tensor(np.zeros((1, 3, 4, 4), dtype=np.int64)), w)


def test_pool_errors_name_the_op_and_shapes():
    x = mg.zeros(2, 3, 8, 8)
    with pytest.raises(ValueError, match=r"max_pool2d: padding \(2, 2\) must be at most half"):
        max_pool2d(x, 3, padding=2)
    with pytest.raises(ValueError, match=r"avg_pool2d.*\(2, 3, 2, 2\).*smaller than the kernel"):
        avg_pool2d(mg.zeros(2, 3, 2, 2), 3)
    with pytest.raises(ValueError, match="max_pool2d: kernel_size must be at least 1"):
        max_pool2d(x, 0)
    with pytest.raises(ValueError, match="avg_pool2d: stride must be at least 1"):
        avg_pool2d(x, 2, stride=-1)
    with pytest.raises(TypeError, match="max_pool2d: kernel_size must be an int or a pair"):
        max_pool2d(x, 2.0)
    with pytest.raises(ValueError, match=r"max_pool2d.*\(N, C, H, W\).*\(3, 8, 8, 1, 1\)"):
        max_pool2d(mg.zeros(3, 8, 8, 1, 1), 2)
    with pytest.raises(TypeError, match="avg_pool2d: expected a Tensor"):
        avg_pool2d(np.zeros((1, 1, 4, 4)), 2)


# --- modules ------------------------------------------------------------------------------


def test_conv2d_module_parameters_init_and_forward(device):
    mg.manual_seed(0)
    layer = Conv2d(3, 16, (3, 5), stride=2, padding=1, dilation=(1, 2), device=device)
    assert layer.weight.shape == (16, 3, 3, 5) and layer.bias.shape == (16,)
    assert layer.weight.dtype == np.float32 and layer.weight.requires_grad
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    bound = 1 / np.sqrt(3 * 3 * 5)  # U(-1/√fan_in, 1/√fan_in), fan_in = C·kh·kw
    w, b = _cpu(layer.weight), _cpu(layer.bias)
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    assert np.abs(w).max() > 0.8 * bound and abs(w.std() - bound / np.sqrt(3)) < 0.15 * bound
    x = mg.randn(2, 3, 9, 11, device=device)
    out = layer(x)
    expected = ref_conv2d(_cpu(x).astype(np.float64), w.astype(np.float64), b.astype(np.float64),
                          (2, 2), (1, 1), (1, 2))
    np.testing.assert_allclose(_cpu(out), expected, rtol=1e-5, atol=1e-5)
    mg.manual_seed(0)
    again = Conv2d(3, 16, (3, 5), stride=2, padding=1, dilation=(1, 2), device=device)
    np.testing.assert_array_equal(_cpu(again.weight), w)  # the seed decides the init


def test_conv2d_module_gradcheck_without_bias(device):
    layer = Conv2d(2, 3, 2, padding=1, bias=False, device=device).double()
    assert layer.bias is None and len(list(layer.parameters())) == 1
    x = _t(np.random.default_rng(6).normal(size=(1, 2, 4, 3)), device, True)
    assert mg.gradcheck(lambda x, w: layer(x), [x, layer.weight])


def test_module_reprs():
    assert repr(Conv2d(1, 6, 5, padding=2)) == \
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(Conv2d(6, 16, (3, 2), stride=2, dilation=3, bias=False)) == \
        "Conv2d(6, 16, kernel_size=(3, 2), stride=(2, 2), dilation=(3, 3), bias=False)"
    assert repr(MaxPool2d(2)) == "MaxPool2d(kernel_size=2, stride=2, padding=0)"
    assert repr(MaxPool2d((3, 2), stride=1, padding=1)) == \
        "MaxPool2d(kernel_size=(3, 2), stride=1, padding=1)"
    assert repr(AvgPool2d(2, count_include_pad=False)) == \
        "AvgPool2d(kernel_size=2, stride=2, padding=0, count_include_pad=False)"


def test_pool_modules_forward(device):
    x = mg.randn(2, 3, 7, 6, device=device)
    np.testing.assert_array_equal(_cpu(MaxPool2d(3, 2, 1)(x)), _cpu(max_pool2d(x, 3, 2, 1)))
    np.testing.assert_array_equal(_cpu(AvgPool2d(2, 1, 1, False)(x)),
                                  _cpu(avg_pool2d(x, 2, 1, 1, False)))
    assert list(MaxPool2d(2).parameters()) == []


def test_module_errors():
    with pytest.raises(ValueError, match="Conv2d: in_channels must be a positive int"):
        Conv2d(0, 4, 3)
    with pytest.raises(ValueError, match="Conv2d: kernel_size must be at least 1"):
        Conv2d(1, 4, (3, 0))
    with pytest.raises(ValueError, match="Conv2d: stride must be at least 1"):
        Conv2d(1, 4, 3, stride=0)
    with pytest.raises(ValueError, match="MaxPool2d: padding 2 must be at most half"):
        MaxPool2d(3, padding=2)
    with pytest.raises(TypeError, match="AvgPool2d: kernel_size must be an int or a pair"):
        AvgPool2d("2")
    layer = Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"conv2d: input of shape \(1, 2, 5, 5\) has 2 channels"):
        layer(mg.zeros(1, 2, 5, 5))


# --- LeNet-5: one step against the hand-written NumPy floor ---------------------------------


def test_lenet_step_matches_the_numpy_floor():
    """One minigrad step and one step of the hand-written floor (benchmarks/lenet_floor.py),
    from the same weights and batch: same loss, same updated weights (float32)."""
    sys.path.insert(0, ROOT)
    try:
        from benchmarks import lenet_floor
    finally:
        sys.path.remove(ROOT)
    floor, model = lenet_floor.numpy_setup(0), lenet_floor.minigrad_setup(0)
    before = {k: v.copy() for k, v in floor["params"].items()}
    for _ in range(2):
        loss_floor, loss_model = lenet_floor.numpy_step(floor), lenet_floor.minigrad_step(model)
        assert abs(loss_floor - loss_model) <= 1e-5 * abs(loss_floor)
    for name in lenet_floor.NAMES:
        got, ref = model["params"][name], floor["params"][name]
        assert got.dtype == np.float32
        change = ref - before[name]  # lr·grad: what the step did; compare it sharply
        assert np.abs(change).max() > 0
        np.testing.assert_allclose(got - before[name], change, rtol=1e-3,
                                   atol=1e-4 * np.abs(change).max())
