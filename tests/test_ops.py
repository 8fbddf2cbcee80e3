"""Every op of ``minigrad.op_table``: forward against NumPy, float64 gradcheck and
gradgradcheck, float32 kept, and backward hygiene (no mutation, no shared gradient memory),
over shapes and values drawn by hypothesis."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad.op_table import OPS, VALUE_OPS, Drawer


class HypothesisDrawer(Drawer):
    """The op table's drawer backed by hypothesis (so failures shrink)."""

    def __init__(self, data):
        self.data = data

    def integer(self, low, high):
        return self.data.draw(st.integers(low, high))


def _sample(spec, data):
    arrays, kwargs = spec.sample(HypothesisDrawer(data))
    return arrays, kwargs


def _tensors(spec, arrays, device, dtype, requires_grad=True):
    tensors = []
    for i, a in enumerate(arrays):
        differentiable = a.dtype.kind == "f" and (spec.grad_inputs is None or i in spec.grad_inputs)
        array = a.astype(dtype) if a.dtype.kind == "f" else a
        tensors.append(mg.tensor(array, device=device,
                                 requires_grad=requires_grad and differentiable))
    return tensors


def _cpu(array):
    return backend.to_device(array, "cpu")


ids = [spec.name for spec in OPS]


@pytest.mark.parametrize("spec", OPS, ids=ids)
@given(data=st.data())
def test_forward_matches_numpy(spec, data, device):
    arrays, kwargs = _sample(spec, data)
    out = spec.op(*_tensors(spec, arrays, device, np.float64, requires_grad=False), **kwargs)
    expected = spec.ref(*arrays, **kwargs)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(_cpu(out.data), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("spec", OPS, ids=ids)
@given(data=st.data())
def test_gradcheck(spec, data, device):
    arrays, kwargs = _sample(spec, data)
    inputs = _tensors(spec, arrays, device, np.float64)
    assert mg.gradcheck(lambda *ts: spec.op(*ts, **kwargs), inputs)


@pytest.mark.parametrize("spec", [s for s in OPS if s.gradgrad], ids=[s.name for s in OPS
                                                                       if s.gradgrad])
@given(data=st.data())
@settings(max_examples=8)
def test_gradgradcheck(spec, data, device):
    arrays, kwargs = _sample(spec, data)
    inputs = _tensors(spec, arrays, device, np.float64)
    assert mg.gradgradcheck(lambda *ts: spec.op(*ts, **kwargs), inputs)


@pytest.mark.parametrize("spec", OPS, ids=ids)
@given(data=st.data())
def test_float32_in_float32_out_and_backward_hygiene(spec, data, device):
    """float32 stays float32 in the output and every gradient; backward mutates neither the
    inputs nor the upstream gradient, and no two gradients share memory."""
    arrays, kwargs = _sample(spec, data)
    inputs = _tensors(spec, arrays, device, np.float32)
    before = [_cpu(t.data).copy() for t in inputs]
    out = spec.op(*inputs, **kwargs)
    assert out.dtype == np.float32
    upstream = mg.tensor(np.random.default_rng(0).standard_normal(out.shape).astype(np.float32),
                         device=device)
    upstream_before = _cpu(upstream.data).copy()
    out.backward(upstream)
    for t, b in zip(inputs, before):
        np.testing.assert_array_equal(_cpu(t.data), b)
    np.testing.assert_array_equal(_cpu(upstream.data), upstream_before)
    grads = [t.grad for t in inputs if t.requires_grad]
    for t in inputs:
        if t.requires_grad:
            assert t.grad is not None and t.grad.dtype == np.float32
            assert t.grad.shape == t.shape
    for i, g in enumerate(grads):
        assert not np.shares_memory(_cpu(g.data), _cpu(upstream.data))
        for h in grads[i + 1:]:
            assert not np.shares_memory(_cpu(g.data), _cpu(h.data))


# ---------------------------------------------------------------------------------------------
# Ops without a gradient (minigrad.op_table.VALUE_OPS)

value_ids = [spec.name for spec in VALUE_OPS]


@pytest.mark.parametrize("spec", VALUE_OPS, ids=value_ids)
@given(data=st.data())
@settings(max_examples=15)
def test_value_op_matches_numpy_and_stays_out_of_the_graph(spec, data, device):
    """The output equals the NumPy reference exactly (dtype kind included: bool stays bool,
    indices are int64), and nothing is recorded even when the inputs require grad."""
    arrays, kwargs = _sample(spec, data)
    out = spec.op(*_tensors(spec, arrays, device, np.float64), **kwargs)
    expected = np.asarray(spec.ref(*arrays, **kwargs))
    if isinstance(out, mg.Tensor):
        assert not out.requires_grad and out.grad_fn is None
        got = _cpu(out.data)
        assert got.dtype.kind == expected.dtype.kind or (
            got.dtype == np.int64 and expected.dtype.kind in "iu")
    else:
        assert isinstance(out, bool)
        got = np.asarray(out)
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)
