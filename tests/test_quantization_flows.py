"""minigrad.quantization flows: the integer kernels (exact), converted Linear/Conv2d against
the float reference on the dequantized operands (within one quantization step), dynamic,
static and quantization-aware flows, saving/loading int8 state, size reports, errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad import quantization as Q
from minigrad.nn import functional as F
from minigrad.quantization import kernels


def _cpu(a):
    return backend.to_device(a, "cpu")


@settings(max_examples=25)
@given(m=st.integers(1, 5), k=st.integers(1, 2100), n=st.integers(1, 4), seed=st.integers(0, 99),
       extreme=st.booleans())
def test_integer_matmul_methods_agree_exactly(m, k, n, seed, extreme, device):
    """Exact over one float32 product and several chunks, also with all-extreme codes
    (255 · −128 every term, 514 terms per chunk), the worst case for float32."""
    rng = np.random.default_rng(seed)
    a = rng.integers(-255, 256, (m, k)).astype(np.int16)      # (q_x − z_x)
    b = rng.integers(-128, 128, (k, n)).astype(np.int8)
    if extreme:
        a[:], b[:] = 255, -128
    xp = backend.array_module(mg.zeros(1, device=device).data)
    a_d, b_d = xp.asarray(a), xp.asarray(b)
    exact = a.astype(np.int64) @ b.astype(np.int64)
    for method in ("int32", "float"):
        out = kernels.integer_matmul(a_d, b_d, method)
        assert out.dtype == np.int32
        np.testing.assert_array_equal(_cpu(out), exact)


def test_integer_matmul_float64_fallback_is_exact():
    a = np.full((2, 5000), 255, np.int16)          # 10 chunks of 514 would be needed
    b = np.full((5000, 3), -128, np.int8)
    np.testing.assert_array_equal(kernels.integer_matmul(a, b), np.full((2, 3), -5000 * 32640))


@settings(max_examples=10)
@given(padding=st.integers(0, 2), zero_point=st.integers(0, 255), seed=st.integers(0, 99))
def test_quantized_conv2d_methods_agree_exactly(padding, zero_point, seed):
    rng = np.random.default_rng(seed)
    q_x = rng.integers(0, 256, (2, 3, 6, 5)).astype(np.uint8)
    q_w = rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8)
    q_b = rng.integers(-1000, 1000, 4).astype(np.int32)
    args = (q_x, zero_point, q_w, q_b, (1, 1), (padding, padding), (1, 1))
    np.testing.assert_array_equal(kernels.quantized_conv2d(*args, method="int32"),
                                  kernels.quantized_conv2d(*args, method="auto"))


def _observed(x, dtype="quint8"):
    obs = Q.MinMaxObserver(dtype=dtype)
    obs(x)
    s, z = obs.calculate_qparams()
    return float(s), int(z)


@pytest.mark.parametrize("relu", [False, True])
def test_quantized_linear_within_one_step_of_the_dequantized_reference(relu, device):
    mg.manual_seed(1)
    layer = nn.Linear(37, 11).to(device)
    x = mg.randn(6, 37, device=device)
    prepared = Q.prepare(nn.Sequential(layer, nn.ReLU()) if relu else layer)
    prepared(x)
    qmodel = Q.convert(prepared)
    quant, qlinear = qmodel[0], qmodel[1][0]
    q_x = quant(x)
    q_y = qlinear(q_x)
    assert q_y.int_repr.dtype == np.uint8 and qlinear.weight.dtype == np.int8
    # float reference on the dequantized operands: x̂ Ŵᵀ + b̂, then the output's quantization
    w_hat = _cpu(qlinear.weight.data).astype(np.float64) * _cpu(qlinear.weight_scale.data)[:, None]
    x_hat = _cpu(q_x.dequantize().data).astype(np.float64)
    q_b = _cpu(kernels.quantize_bias(qlinear.bias.data, q_x.scale, qlinear.weight_scale.data))
    b_hat = q_b * q_x.scale * _cpu(qlinear.weight_scale.data).astype(np.float64)
    y_ref = x_hat @ w_hat.T + b_hat
    y_ref = np.maximum(y_ref, 0) if relu else y_ref
    s_y, z_y = q_y.scale, q_y.zero_point
    q_ref = np.clip(np.rint(y_ref / s_y) + z_y, 0, 255)
    assert np.abs(_cpu(q_y.int_repr).astype(int) - q_ref).max() <= 1
    # and the whole int8 model is close to the float layer
    expected = layer(x) if not relu else F.relu(layer(x))
    err = np.abs(_cpu(qmodel(x).data) - _cpu(expected.data)).max()
    assert err < 4 * s_y


@settings(max_examples=10)
@given(stride=st.integers(1, 2), padding=st.integers(0, 2), seed=st.integers(0, 99))
def test_quantized_conv2d_within_one_step_of_the_dequantized_reference(stride, padding, seed,
                                                                       device):
    mg.manual_seed(seed)
    conv = nn.Conv2d(3, 5, 3, stride=stride, padding=padding).to(device)
    x = mg.randn(2, 3, 7, 6, device=device)
    prepared = Q.prepare(conv)
    prepared(x)
    qmodel = Q.convert(prepared)
    quant, qconv = qmodel[0], qmodel[1][0]
    q_x = quant(x)
    q_y = qconv(q_x)
    w_scale = _cpu(qconv.weight_scale.data).astype(np.float64)
    w_hat = mg.tensor(_cpu(qconv.weight.data) * w_scale[:, None, None, None], dtype=mg.float64)
    x_hat = mg.tensor(_cpu(q_x.dequantize().data), dtype=mg.float64)
    q_b = _cpu(kernels.quantize_bias(qconv.bias.data, q_x.scale, qconv.weight_scale.data))
    b_hat = mg.tensor(q_b * q_x.scale * w_scale, dtype=mg.float64)
    y_ref = F.conv2d(x_hat, w_hat, b_hat, stride, padding).data
    q_ref = np.clip(np.rint(y_ref / q_y.scale) + q_y.zero_point, 0, 255)
    assert q_y.shape == q_ref.shape
    assert np.abs(_cpu(q_y.int_repr).astype(int) - q_ref).max() <= 1


def _mlp():
    mg.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(20, 16), nn.ReLU(), nn.Dropout(0.1),
                         nn.Linear(16, 4))


def _lenet_like():
    mg.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(4 * 4 * 4, 10), nn.ReLU(), nn.Linear(10, 3))


@pytest.mark.parametrize("make, shape", [(_mlp, (32, 20)), (_lenet_like, (16, 1, 8, 8))])
def test_static_flow_is_close_to_float(make, shape, device):
    model = make().to(device).eval()
    data = [mg.randn(*shape, device=device) for _ in range(4)]
    prepared = Q.prepare(model)
    for x in data:
        prepared(x)
    qmodel = Q.convert(prepared)
    for x in data:
        expected = _cpu(model(x).data)
        got = _cpu(qmodel(x).data)
        assert got.dtype == np.float32
        assert np.abs(got - expected).max() < 0.05 * np.abs(expected).max() + 1e-3
    layer = qmodel[1][1] if make is _mlp else qmodel[1][0]
    assert isinstance(layer, Q.QuantizedLinear if make is _mlp else Q.QuantizedConv2d)


def test_dynamic_flow(device):
    model = _mlp().to(device).eval()
    qmodel = Q.quantize_dynamic(model)
    assert isinstance(qmodel[1], Q.DynamicQuantizedLinear) and qmodel[1].weight.dtype == np.int8
    assert isinstance(model[1], nn.Linear)   # the original is untouched
    x = mg.randn(9, 20, device=device)
    expected = _cpu(model(x).data)
    assert np.abs(_cpu(qmodel(x).data) - expected).max() < 0.03 * np.abs(expected).max()


def test_qat_trains_then_converts(device):
    model = _mlp().to(device)
    x = mg.randn(64, 20, device=device)
    y = mg.tensor(np.random.default_rng(0).integers(0, 4, 64), device=device)
    qat = Q.prepare_qat(model)
    assert isinstance(qat[1][1].weight_fake_quant, Q.FakeQuantize)
    opt = mg.optim.SGD(qat.parameters(), lr=0.2)
    losses = []
    for _ in range(30):
        loss = F.cross_entropy(qat(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss))
    assert losses[-1] < losses[0]
    qat.eval()
    fake = _cpu(qat(x).data)
    qmodel = Q.convert(qat)
    got = _cpu(qmodel(x).data)
    assert np.abs(got - fake).max() < 0.05 * np.abs(fake).max() + 1e-3


def test_save_load_keeps_int8_arrays(tmp_path, device):
    model = _lenet_like().to(device).eval()
    prepared = Q.prepare(model)
    x = mg.randn(8, 1, 8, 8, device=device)
    prepared(x)
    qmodel = Q.convert(prepared)
    path = tmp_path / "int8.mg"
    mg.save(qmodel.state_dict(), path)
    loaded = mg.load(path)
    assert loaded["1.0.weight"].dtype == np.int8 and loaded["1.4.weight"].dtype == np.int8
    with open(path, "rb") as f:
        assert b"pickle" not in f.read(64)
    fresh = Q.convert(Q.prepare(model))       # same structure, uncalibrated
    fresh.load_state_dict(path)
    np.testing.assert_array_equal(_cpu(fresh(x).data), _cpu(qmodel(x).data))


def test_size_report_and_print_size(capsys):
    model = nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10)).eval()
    qmodel = Q.quantize_dynamic(model)
    rows = Q.size_report(qmodel)
    weights = 256 * 128 + 128 * 10
    assert rows[-1]["layer"] == "total"
    assert rows[-1]["bytes"] == weights + 2 * (128 + 10) * 4     # int8 weights, f32 scale+bias
    float_bytes = Q.size_report(model)[-1]["bytes"]
    assert float_bytes == 4 * (weights + 138)
    assert Q.saved_size(model) / Q.saved_size(qmodel) > 3.5
    Q.print_size(qmodel)
    out = capsys.readouterr().out
    assert "DynamicQuantizedLinear" in out and "on disk" in out


def test_convert_and_prepare_refuse_unsupported_layers():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4))
    with pytest.raises(TypeError, match=r"prepare: cannot quantize layer '1' \(BatchNorm1d\)"):
        Q.prepare(model)
    prepared = Q.prepare(nn.Sequential(nn.Linear(4, 4)))
    prepared[1].add_module("extra", nn.Tanh())
    with pytest.raises(TypeError, match=r"convert: cannot convert layer 'extra' \(Tanh\)"):
        Q.convert(prepared)
    with pytest.raises(TypeError, match="convert: expected a model returned by prepare"):
        Q.convert(nn.Sequential(nn.Linear(2, 2)))
    with pytest.raises(ValueError, match="quantize_dynamic: dtype must be 'qint8'"):
        Q.quantize_dynamic(model, dtype="quint8")


def test_quantized_layers_refuse_float_input():
    qmodel = Q.convert(Q.prepare(nn.Linear(3, 2)))
    with pytest.raises(TypeError, match="QuantizedLinear: expected a QuantizedTensor"):
        qmodel[1][0](mg.ones(1, 3))
