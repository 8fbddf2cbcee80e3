"""minigrad.quantization primitives and observers: against NumPy transcriptions of the
formulas in the package docstring, on hypothesis-drawn values and hand-computed ranges."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad import quantization as Q


def _cpu(a):
    return backend.to_device(a, "cpu")


def _np_quantize(x, s, z, lo, hi):
    """q = clamp(round(x·(1/s) + z)), float32 arithmetic as in PyTorch."""
    inv = np.float32(1) / np.float32(s)
    return np.clip(np.rint(x * inv + np.float32(z)), lo, hi)


def _np_fake_quantize(x, s, z, lo, hi):
    q = np.rint(x * (np.float32(1) / np.float32(s))) + np.float32(z)
    return (np.clip(q, lo, hi) - np.float32(z)) * np.float32(s), (q >= lo) & (q <= hi)


values = st.lists(st.floats(-50, 50, width=32), min_size=1, max_size=30)


@settings(max_examples=30)
@given(values=values, scale=st.sampled_from([0.05, 0.1, 0.37, 1.0, 2.5]),
       zero_point=st.integers(-10, 10), dtype=st.sampled_from(["qint8", "quint8"]))
def test_quantize_per_tensor_matches_formula(values, scale, zero_point, dtype, device):
    lo, hi = Q.qrange(dtype)
    zero_point = int(np.clip(zero_point + (128 if dtype == "quint8" else 0), lo, hi))
    x = np.array(values, np.float32)
    q = Q.quantize_per_tensor(mg.tensor(x, device=device), scale, zero_point, dtype)
    assert q.int_repr.dtype == (np.int8 if dtype == "qint8" else np.uint8)
    np.testing.assert_array_equal(_cpu(q.int_repr), _np_quantize(x, scale, zero_point, lo, hi))
    back = Q.dequantize(q)
    assert back.dtype == np.float32
    expected = (_np_quantize(x, scale, zero_point, lo, hi) - zero_point) * np.float32(scale)
    np.testing.assert_allclose(_cpu(back.data), expected, rtol=1e-6)


def test_rounding_ties_go_to_even_and_clamp_at_both_ends(device):
    x = mg.tensor([0.5, 1.5, 2.5, -0.5, -2.5, 1000.0, -1000.0], device=device)
    q = Q.quantize_per_tensor(x, 1.0, 0, "qint8")
    assert _cpu(q.int_repr).tolist() == [0, 2, 2, 0, -2, 127, -128]
    # zero_point is added before rounding, as torch.quantize_per_tensor does: 0.5 + 1 -> 2
    q = Q.quantize_per_tensor(x, 1.0, 1, "quint8")
    assert _cpu(q.int_repr).tolist() == [2, 2, 4, 0, 0, 255, 0]
    # fake quantization rounds first, then adds z (torch.fake_quantize_per_tensor_affine)
    y = Q.fake_quantize_per_tensor_affine(x, 1.0, 1, 0, 255)
    assert _cpu(y.data).tolist() == [0.0, 2.0, 2.0, 0.0, -1.0, 254.0, -1.0]


@settings(max_examples=25)
@given(shape=st.lists(st.integers(1, 4), min_size=1, max_size=3), data=st.data())
def test_quantize_per_channel_along_every_axis(shape, data, device):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 1000)))
    x = (rng.standard_normal(shape) * 3).astype(np.float32)
    channels = shape[axis]
    s = rng.uniform(0.02, 0.5, channels).astype(np.float32)
    z = rng.integers(-20, 20, channels)
    q = Q.quantize_per_channel(mg.tensor(x, device=device), s, z, axis, "qint8")
    moved = np.moveaxis(x, axis, -1)
    expected = np.moveaxis(_np_quantize(moved, s, z, -128, 127), -1, axis)
    np.testing.assert_array_equal(_cpu(q.int_repr), expected)
    deq = np.moveaxis((np.moveaxis(expected, axis, -1) - z) * s, -1, axis)
    np.testing.assert_allclose(_cpu(Q.dequantize(q).data), deq, rtol=1e-6)


@settings(max_examples=30)
@given(values=values, scale=st.sampled_from([0.1, 0.37, 1.0]), zero_point=st.integers(-5, 5),
       qrange=st.sampled_from([(-128, 127), (0, 255), (-8, 7)]))
def test_fake_quantize_value_and_straight_through_gradient(values, scale, zero_point, qrange,
                                                           device):
    lo, hi = qrange
    zero_point = int(np.clip(zero_point, lo, hi))
    x = np.array(values, np.float32)
    t = mg.tensor(x, requires_grad=True, device=device)
    y = Q.fake_quantize_per_tensor_affine(t, scale, zero_point, lo, hi)
    upstream = np.linspace(-1, 1, x.size).astype(np.float32)
    y.backward(mg.tensor(upstream, device=device))
    expected, inside = _np_fake_quantize(x, scale, zero_point, lo, hi)
    np.testing.assert_array_equal(_cpu(y.data), expected)
    np.testing.assert_array_equal(_cpu(t.grad.data), np.where(inside, upstream, 0))
    assert y.dtype == np.float32 and t.grad.dtype == np.float32


def test_fake_quantize_per_channel_gradient_is_the_mask(device):
    x = np.array([[-3.0, 0.04, 3.0], [-0.3, 0.1, 0.3]], np.float32)
    s, z = np.array([0.1, 0.01], np.float32), np.array([0, 2])
    t = mg.tensor(x, requires_grad=True, device=device)
    Q.fake_quantize_per_channel_affine(t, s, z, 0, -8, 7).sum().backward()
    # row 0: codes -30, 0, 30 -> only 0 inside [-8, 7]; row 1: -28, 12, 32 -> none inside
    np.testing.assert_array_equal(_cpu(t.grad.data), [[0, 1, 0], [0, 0, 0]])


def test_gradcheck_straight_through_surrogate(device):
    """The straight-through gradient equals the derivative of clamp(x, s(q_min−z−½),
    s(q_max−z+½)) (a float64 numerical gradient check of the surrogate)."""
    x = mg.tensor(np.array([-2.13, -0.61, 0.07, 0.33, 1.41, 3.9]), dtype=mg.float64,
                  requires_grad=True, device=device)
    s, z, lo, hi = 0.25, 2, -8, 7   # surrogate kinks at -2.625 and 1.375

    def surrogate(t):
        fq = Q.fake_quantize_per_tensor_affine(t, s, z, lo, hi)
        return fq + (t.clamp(s * (lo - z - 0.5), s * (hi - z + 0.5)) - fq).detach()
    assert mg.gradcheck(surrogate, [x])


@pytest.mark.parametrize("call, message", [
    (lambda x: Q.quantize_per_tensor(x, 0.0, 0, "qint8"), "scale must be positive"),
    (lambda x: Q.quantize_per_tensor(x, -1.0, 0, "qint8"), "scale must be positive"),
    (lambda x: Q.quantize_per_tensor(x, 0.1, 300, "quint8"), "zero_point must be"),
    (lambda x: Q.quantize_per_tensor(x, 0.1, 0, "int4"), "dtype must be one of"),
    (lambda x: Q.quantize_per_channel(x, [0.1, 0.2], [0, 0], 2, "qint8"), "axis 2 is out"),
    (lambda x: Q.quantize_per_channel(x, [0.1], [0], 0, "qint8"), "must both have shape"),
    (lambda x: Q.fake_quantize_per_tensor_affine(x, 0.1, 0, 5, 5), "quant_min"),
    (lambda x: Q.fake_quantize_per_tensor_affine(x, 0.1, 9, 0, 7), "zero_point must be"),
    (lambda x: Q.fake_quantize_per_channel_affine(x, [0.1] * 2, [0] * 2, 3, 0, 7), "axis 3"),
])
def test_bad_input_names_the_problem(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call(mg.ones(2, 3))


# ---------------------------------------------------------------------------------------------
# Observers


def _feed(observer, batches, device):
    for b in batches:
        observer(mg.tensor(np.asarray(b, np.float32), device=device))
    scale, zero_point = observer.calculate_qparams()
    return _cpu(scale), _cpu(zero_point)


def test_minmax_affine_on_a_hand_computed_range(device):
    # range [-1, 3]: s = 4/255, z = 0 - round(-1 / s) = round(63.75) = 64
    s, z = _feed(Q.MinMaxObserver(), [[-1.0, 0.5], [3.0, 2.0]], device)
    assert s == np.float32(4) / np.float32(255) and z == 64


def test_all_positive_all_negative_and_constant_ranges(device):
    s, z = _feed(Q.MinMaxObserver(), [[2.0, 5.1]], device)          # widened to [0, 5.1]
    assert z == 0 and np.isclose(s, 5.1 / 255)
    s, z = _feed(Q.MinMaxObserver(), [[-4.0, -1.0]], device)        # widened to [-4, 0]
    assert z == 255 and np.isclose(s, 4 / 255)
    s, z = _feed(Q.MinMaxObserver(dtype="qint8"), [[-4.0, -1.0]], device)
    assert z == 127
    s, z = _feed(Q.MinMaxObserver(), [[0.0, 0.0]], device)          # nothing: s = eps
    assert s == np.finfo(np.float32).eps and z == 0
    s, z = _feed(Q.MinMaxObserver(), [[2.5] * 4], device)           # constant 2.5: [0, 2.5]
    assert np.isclose(s, 2.5 / 255) and z == 0


def test_symmetric_and_reduce_range(device):
    # symmetric qint8 of [-1, 3]: s = 3 / 127.5, z = 0; quint8 symmetric: z = 128
    s, z = _feed(Q.MinMaxObserver(dtype="qint8", qscheme="per_tensor_symmetric"),
                 [[-1.0, 3.0]], device)
    assert s == np.float32(3) / np.float32(127.5) and z == 0
    s, z = _feed(Q.MinMaxObserver(dtype="quint8", qscheme="per_tensor_symmetric"),
                 [[-1.0, 3.0]], device)
    assert z == 128
    obs = Q.MinMaxObserver(reduce_range=True)             # quint8 [0, 127]
    s, z = _feed(obs, [[-1.0, 3.0]], device)
    assert (obs.quant_min, obs.quant_max) == (0, 127)
    assert s == np.float32(4) / np.float32(127) and z == round(1 / (4 / 127))


def test_moving_average_update(device):
    c = 0.25
    s, z = _feed(Q.MovingAverageMinMaxObserver(averaging_constant=c),
                 [[-1.0, 2.0], [-3.0, 6.0]], device)
    low, high = -1 + c * (-3 - -1), 2 + c * (6 - 2)              # -1.5, 3.0
    assert np.isclose(s, (high - low) / 255) and z == round(1.5 / ((high - low) / 255))


def test_per_channel_ranges(device):
    x = np.array([[[-1.0, 2.0]], [[0.5, 4.0]], [[-6.0, -2.0]]], np.float32)   # (3, 1, 2)
    obs = Q.PerChannelMinMaxObserver(ch_axis=0, dtype="qint8", qscheme="per_channel_symmetric")
    s, z = _feed(obs, [x], device)
    np.testing.assert_allclose(s, np.array([2.0, 4.0, 6.0]) / 127.5, rtol=1e-6)
    np.testing.assert_array_equal(z, [0, 0, 0])
    s, z = _feed(Q.PerChannelMinMaxObserver(ch_axis=-1), [x, x * 2], device)
    np.testing.assert_allclose(s, [13 / 255, 12 / 255], rtol=1e-6)  # [-12, 1] and [-4, 8]


def test_histogram_observer_range_inside_the_observed_one(device):
    rng = np.random.default_rng(0)
    bulk = rng.uniform(-1, 1, 20000).astype(np.float32)
    hist = Q.HistogramObserver()
    minmax = Q.MinMaxObserver()
    for obs in (hist, minmax):
        _feed(obs, [bulk, np.array([50.0], np.float32)], device)   # the range grows: rebinning
    s_hist, _ = hist.calculate_qparams()
    s_minmax, _ = minmax.calculate_qparams()
    assert float(_cpu(s_hist)) <= float(_cpu(s_minmax))
    assert float(_cpu(hist.histogram.data.sum())) == pytest.approx(20001)
    # uniform data with no outlier: the search keeps (almost) the whole range
    hist = Q.HistogramObserver()
    s, _ = _feed(hist, [bulk], device)
    assert abs(float(s) - 2 / 255) < 0.1 * 2 / 255


def test_histogram_search_matches_its_error_formula():
    """The L2 error of the chosen range is no larger than that of the full range."""
    obs = Q.HistogramObserver(bins=256)
    rng = np.random.default_rng(1)
    obs(mg.tensor(np.concatenate([rng.standard_normal(5000), [9.0]]).astype(np.float32)))
    low, high = obs._search_range()
    hist = obs.histogram.data
    width = float(obs.max_val.data - obs.min_val.data) / obs.bins
    start = int(round((low - float(obs.min_val.data)) / width))
    end = int(round((high - float(obs.min_val.data)) / width)) - 1
    assert obs._quantization_error(hist, width, start, end) <= \
        obs._quantization_error(hist, width, 0, obs.bins - 1)


@pytest.mark.parametrize("make, message", [
    (lambda: Q.MinMaxObserver(qscheme="per_channel_affine"), "does not fit a per-tensor"),
    (lambda: Q.PerChannelMinMaxObserver(qscheme="per_tensor_affine"), "per-channel"),
    (lambda: Q.MinMaxObserver(dtype="float8"), "dtype must be one of"),
    (lambda: Q.MovingAverageMinMaxObserver(averaging_constant=0), "averaging_constant"),
    (lambda: Q.HistogramObserver(bins=0), "bins"),
    (lambda: Q.MinMaxObserver(quant_min=0, quant_max=300), "inside quint8"),
])
def test_observer_bad_settings(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_unobserved_gives_unit_scale():
    s, z = Q.MinMaxObserver().calculate_qparams()
    assert float(s) == 1.0 and int(z) == 0


def test_fake_quantize_module_observes_in_training_only(device):
    fq = Q.FakeQuantize(Q.MovingAverageMinMaxObserver, averaging_constant=0.5)
    fq(mg.tensor([-1.0, 1.0], device=device))
    fq.eval()
    y = fq(mg.tensor([-8.0, 0.3, 8.0], device=device))   # eval: the range stays [-1, 1]
    assert float(_cpu(fq.activation_post_process.max_val.data)) == 1.0
    s, z = (float(v) for v in fq.calculate_qparams())
    expected, _ = _np_fake_quantize(np.array([-8.0, 0.3, 8.0], np.float32), s, z, 0, 255)
    np.testing.assert_array_equal(_cpu(y.data), expected)
    fq.train()
    fq(mg.tensor([-3.0, 3.0], device=device))             # train: moves halfway to [-3, 3]
    assert float(_cpu(fq.activation_post_process.max_val.data)) == 2.0
