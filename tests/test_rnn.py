"""Recurrent layers: forward against a NumPy transcription of the documented equations
(num_layers, bidirectional, batch_first, initial states, unbatched input), the fused steps
against the composed reference cells (values and gradients), float64 gradcheck through time,
gradgradcheck of each cell, state_dict names and shapes as PyTorch names them, dropout between
layers, float32 kept, and bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn

MODES = ["RNN_TANH", "RNN_RELU", "LSTM", "GRU"]


def _cpu(t):
    return backend.to_device(t.detach().data, "cpu")


def _layer(mode, *args, **kwargs):
    if mode.startswith("RNN"):
        return nn.RNN(*args, nonlinearity=mode[4:].lower(), **kwargs)
    return {"LSTM": nn.LSTM, "GRU": nn.GRU}[mode](*args, **kwargs)


def _cell(mode, *args, **kwargs):
    if mode.startswith("RNN"):
        return nn.RNNCell(*args, nonlinearity=mode[4:].lower(), **kwargs)
    return {"LSTM": nn.LSTMCell, "GRU": nn.GRUCell}[mode](*args, **kwargs)


# --- the NumPy transcription of the equations ------------------------------------------------


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def np_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    gi = x @ w_ih.T + (0 if b_ih is None else b_ih)
    gh = h @ w_hh.T + (0 if b_hh is None else b_hh)
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        return _sigmoid(o) * np.tanh(c), c
    if mode == "GRU":
        ir, iz, i_n = np.split(gi, 3, axis=-1)
        hr, hz, hn = np.split(gh, 3, axis=-1)
        r, z = _sigmoid(ir + hr), _sigmoid(iz + hz)
        n = np.tanh(i_n + r * hn)
        return (1 - z) * n + z * h, None
    pre = gi + gh
    return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0)), None


def np_sequence(mode, params, x, h0, c0, num_layers, bidirectional):
    """x (L, N, in), h0/c0 (layers·D, N, H) -> output (L, N, D·H), h_n, c_n."""
    directions = 2 if bidirectional else 1
    h_n, c_n = [], []
    for layer in range(num_layers):
        outs = []
        for d in range(directions):
            k = layer * directions + d
            sfx = f"l{layer}" + ("_reverse" if d else "")
            w = [params.get(f"{n}_{sfx}") for n in ("weight_ih", "weight_hh", "bias_ih",
                                                    "bias_hh")]
            h, c = h0[k], (None if c0 is None else c0[k])
            out = [None] * x.shape[0]
            for t in (range(x.shape[0] - 1, -1, -1) if d else range(x.shape[0])):
                h, c = np_step(mode, x[t], h, c, *w)
                out[t] = h
            outs.append(np.stack(out))
            h_n.append(h)
            c_n.append(c)
        x = np.concatenate(outs, axis=-1)
    return x, np.stack(h_n), (np.stack(c_n) if c0 is not None else None)


def _randomize(module, rng, scale=0.5):
    with mg.no_grad():
        for p in module.parameters():
            p.copy_(rng.normal(scale=scale, size=p.shape))


# --- forward against NumPy -------------------------------------------------------------------


@settings(max_examples=30)
@given(mode=st.sampled_from(MODES), num_layers=st.integers(1, 2), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), give_state=st.booleans(),
       batched=st.booleans(), fused=st.booleans(), seed=st.integers(0, 2**31))
def test_layer_forward_matches_numpy(mode, num_layers, bidirectional, batch_first, bias,
                                     give_state, batched, fused, seed, device):
    rng = np.random.default_rng(seed)
    size_in, hidden, steps, batch = 3, 4, 5, 2
    layer = _layer(mode, size_in, hidden, num_layers, bias=bias, batch_first=batch_first,
                   bidirectional=bidirectional, dtype=mg.float64, device=device)
    layer.use_fused = fused
    _randomize(layer, rng)
    params = {n: _cpu(p) for n, p in layer.named_parameters()}
    d = 2 if bidirectional else 1
    x = rng.normal(size=(steps, batch, size_in))
    h0 = rng.normal(size=(num_layers * d, batch, hidden)) if give_state else \
        np.zeros((num_layers * d, batch, hidden))
    c0 = (rng.normal(size=h0.shape) if give_state else np.zeros(h0.shape)) \
        if mode == "LSTM" else None
    out_np, h_np, c_np = np_sequence(mode, params, x, h0, c0, num_layers, bidirectional)

    if not batched:  # use batch element 0 alone
        x, h0, out_np, h_np = x[:, 0], h0[:, 0], out_np[:, 0], h_np[:, 0]
        c0 = None if c0 is None else c0[:, 0]
        c_np = None if c_np is None else c_np[:, 0]
    x_in = x.swapaxes(0, 1) if batch_first and batched else x
    state = None
    if give_state:
        state = mg.tensor(h0, device=device)
        if mode == "LSTM":
            state = (state, mg.tensor(c0, device=device))
    out, final = layer(mg.tensor(x_in, device=device), state)
    if batch_first and batched:
        out_np = out_np.swapaxes(0, 1)
    np.testing.assert_allclose(_cpu(out), out_np, rtol=1e-10, atol=1e-12)
    h_n, c_n = final if mode == "LSTM" else (final, None)
    np.testing.assert_allclose(_cpu(h_n), h_np, rtol=1e-10, atol=1e-12)
    if mode == "LSTM":
        np.testing.assert_allclose(_cpu(c_n), c_np, rtol=1e-10, atol=1e-12)
    if not batched:
        assert out.shape == (steps, d * hidden) and h_n.shape == (num_layers * d, hidden)
    else:
        assert out.shape == ((batch, steps, d * hidden) if batch_first else
                             (steps, batch, d * hidden))
        assert h_n.shape == (num_layers * d, batch, hidden)


@settings(max_examples=25)
@given(mode=st.sampled_from(MODES), bias=st.booleans(), batched=st.booleans(),
       give_state=st.booleans(), fused=st.booleans(), seed=st.integers(0, 2**31))
def test_cell_forward_matches_numpy(mode, bias, batched, give_state, fused, seed, device):
    rng = np.random.default_rng(seed)
    cell = _cell(mode, 3, 4, bias=bias, dtype=mg.float64, device=device)
    cell.use_fused = fused
    _randomize(cell, rng)
    w = [None if p is None else _cpu(p) for p in (cell.weight_ih, cell.weight_hh,
                                                   cell.bias_ih, cell.bias_hh)]
    shape = (2, 4) if batched else (4,)
    x = rng.normal(size=shape[:-1] + (3,))
    h = rng.normal(size=shape) if give_state else np.zeros(shape)
    c = rng.normal(size=shape) if give_state else np.zeros(shape)
    h_np, c_np = np_step(mode, x, h, c, *w)
    hx = None
    if give_state:
        hx = mg.tensor(h, device=device)
        if mode == "LSTM":
            hx = (hx, mg.tensor(c, device=device))
    out = cell(mg.tensor(x, device=device), hx)
    if mode == "LSTM":
        np.testing.assert_allclose(_cpu(out[1]), c_np, rtol=1e-10, atol=1e-12)
        out = out[0]
    np.testing.assert_allclose(_cpu(out), h_np, rtol=1e-10, atol=1e-12)
    assert out.shape == shape


# --- fused against the composed reference ----------------------------------------------------


@settings(max_examples=25)
@given(mode=st.sampled_from(MODES), bidirectional=st.booleans(), bias=st.booleans(),
       seed=st.integers(0, 2**31))
def test_fused_path_equals_reference(mode, bidirectional, bias, seed, device):
    """Same values and the same gradients of input, initial state and every parameter."""
    rng = np.random.default_rng(seed)
    layer = _layer(mode, 3, 4, 2, bias=bias, bidirectional=bidirectional, dtype=mg.float64,
                   device=device)
    _randomize(layer, rng)
    d = 2 if bidirectional else 1
    x = rng.normal(size=(4, 2, 3))
    h0 = rng.normal(size=(2 * d, 2, 4))
    upstream = rng.normal(size=(4, 2, d * 4))
    results = []
    for fused in (True, False):
        layer.use_fused = fused
        layer.zero_grad()
        xt = mg.tensor(x, device=device, requires_grad=True)
        ht = mg.tensor(h0, device=device, requires_grad=True)
        state = (ht, ht * 0.5) if mode == "LSTM" else ht
        out, final = layer(xt, state)
        h_n = final[0] + final[1] if mode == "LSTM" else final
        ((out * mg.tensor(upstream, device=device)).sum() + (h_n * h_n).sum()).backward()
        results.append([_cpu(out), _cpu(xt.grad), _cpu(ht.grad)]
                       + [_cpu(p.grad) for p in layer.parameters()])
    for fused_value, reference_value in zip(*results):
        np.testing.assert_allclose(fused_value, reference_value, rtol=1e-10, atol=1e-12)


# --- gradients -------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_gradcheck_through_time(mode, fused, device):
    rng = np.random.default_rng(MODES.index(mode))
    layer = _layer(mode, 2, 3, 2, bidirectional=True, dtype=mg.float64, device=device)
    layer.use_fused = fused
    _randomize(layer, rng)
    x = mg.tensor(rng.normal(size=(3, 2, 2)) + 0.05, device=device, requires_grad=True)
    h0 = mg.tensor(rng.normal(size=(4, 2, 3)), device=device, requires_grad=True)
    params = list(layer.parameters())

    def fn(x, h0, *ps):
        state = (h0, h0 * h0) if mode == "LSTM" else h0
        out, final = layer(x, state)
        return out, (final[1] if mode == "LSTM" else final)

    assert mg.gradcheck(fn, [x, h0] + params)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fused", [True, False])
def test_gradgradcheck_cell(mode, fused, device):
    rng = np.random.default_rng(7)
    cell = _cell(mode, 2, 3, dtype=mg.float64, device=device)
    cell.use_fused = fused
    _randomize(cell, rng)
    x = mg.tensor(rng.normal(size=(2, 2)) + 0.05, device=device, requires_grad=True)
    h = mg.tensor(rng.normal(size=(2, 3)), device=device, requires_grad=True)
    c = mg.tensor(rng.normal(size=(2, 3)), device=device, requires_grad=True)
    params = list(cell.parameters())
    if mode == "LSTM":
        assert mg.gradgradcheck(lambda x, h, c, *ps: cell(x, (h, c)), [x, h, c] + params)
    else:
        assert mg.gradgradcheck(lambda x, h, *ps: cell(x, h), [x, h] + params)


@pytest.mark.parametrize("mode", MODES)
def test_float32_kept(mode, device):
    layer = _layer(mode, 3, 4, 2, bidirectional=True, device=device)
    x = mg.tensor(np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32),
                  device=device, requires_grad=True)
    out, _ = layer(x)
    out.sum().backward()
    assert out.dtype == mg.float32 and x.grad.dtype == mg.float32
    assert all(p.grad.dtype == mg.float32 for p in layer.parameters())


# --- parameters ------------------------------------------------------------------------------


def test_state_dict_names_and_shapes_as_pytorch():
    lstm = nn.LSTM(10, 20, num_layers=2, bidirectional=True)
    expected = [("weight_ih_l0", (80, 10)), ("weight_hh_l0", (80, 20)),
                ("bias_ih_l0", (80,)), ("bias_hh_l0", (80,)),
                ("weight_ih_l0_reverse", (80, 10)), ("weight_hh_l0_reverse", (80, 20)),
                ("bias_ih_l0_reverse", (80,)), ("bias_hh_l0_reverse", (80,)),
                ("weight_ih_l1", (80, 40)), ("weight_hh_l1", (80, 20)),
                ("bias_ih_l1", (80,)), ("bias_hh_l1", (80,)),
                ("weight_ih_l1_reverse", (80, 40)), ("weight_hh_l1_reverse", (80, 20)),
                ("bias_ih_l1_reverse", (80,)), ("bias_hh_l1_reverse", (80,))]
    assert [(k, tuple(v.shape)) for k, v in lstm.state_dict().items()] == expected
    gru = nn.GRU(5, 7, bias=False)
    assert [(k, tuple(v.shape)) for k, v in gru.state_dict().items()] == [
        ("weight_ih_l0", (21, 5)), ("weight_hh_l0", (21, 7))]
    rnn = nn.RNN(5, 7, num_layers=2)
    assert [k for k in rnn.state_dict()] == [
        "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
        "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    cell = nn.LSTMCell(5, 7)
    assert [(k, tuple(v.shape)) for k, v in cell.state_dict().items()] == [
        ("weight_ih", (28, 5)), ("weight_hh", (28, 7)), ("bias_ih", (28,)), ("bias_hh", (28,))]


def test_init_is_uniform_within_one_over_sqrt_hidden():
    mg.manual_seed(0)
    layer = nn.GRU(30, 64, num_layers=2)
    bound = 1 / np.sqrt(64)
    values = np.concatenate([_cpu(p).ravel() for p in layer.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    # uniform: the mean of U(-b, b) is 0 and its variance b² / 3
    assert abs(values.mean()) < 0.05 * bound and abs(values.var() - bound ** 2 / 3) < 0.05 * bound ** 2


def test_dropout_between_layers_only_in_training():
    mg.manual_seed(1)
    layer = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = mg.tensor(np.random.default_rng(0).normal(size=(5, 2, 3)).astype(np.float32))
    layer.eval()
    reference = _cpu(layer(x)[0])
    layer.dropout = 0.0
    layer.train()
    np.testing.assert_array_equal(_cpu(layer(x)[0]), reference)  # eval == no dropout
    layer.dropout = 0.5
    assert not np.allclose(_cpu(layer(x)[0]), reference)
    one_layer = nn.GRU(3, 4, dropout=0.5)  # no layer after the first: dropout changes nothing
    np.testing.assert_array_equal(_cpu(one_layer(x)[0]), _cpu(one_layer.eval()(x)[0]))


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_names_the_layer_and_shapes():
    lstm = nn.LSTM(3, 4, num_layers=2)
    with pytest.raises(ValueError, match=r"LSTM.*3 features.*\(5, 2, 6\)"):
        lstm(mg.zeros((5, 2, 6)))
    with pytest.raises(ValueError, match=r"LSTM.*h_0 of shape \(2, 2, 4\).*\(1, 2, 4\)"):
        lstm(mg.zeros((5, 2, 3)), (mg.zeros((1, 2, 4)), mg.zeros((2, 2, 4))))
    with pytest.raises(TypeError, match=r"LSTM.*tuple"):
        lstm(mg.zeros((5, 2, 3)), mg.zeros((2, 2, 4)))
    with pytest.raises(ValueError, match=r"GRU.*hx of shape \(1, 4\).*\(1, 2, 4\)"):
        nn.GRU(3, 4)(mg.zeros((5, 3)), mg.zeros((1, 2, 4)))
    with pytest.raises(ValueError, match=r"RNN.*2 or 3 dims.*\(5,\)"):
        nn.RNN(3, 4)(mg.zeros((5,)))
    with pytest.raises(ValueError, match=r"GRUCell.*3 features.*\(2, 4\)"):
        nn.GRUCell(3, 4)(mg.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"LSTMCell.*c of shape \(2, 4\).*\(2, 5\)"):
        nn.LSTMCell(3, 4)(mg.zeros((2, 3)), (mg.zeros((2, 4)), mg.zeros((2, 5))))
    with pytest.raises(ValueError, match=r"RNN: nonlinearity"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match=r"LSTM: dropout"):
        nn.LSTM(3, 4, dropout=1.5)


def test_lstm_step_benchmark_floor_matches_minigrad():
    """The hand-written NumPy LSTM of benchmarks/ computes what nn.LSTM computes (small)."""
    import os
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)  # the benchmarks package is not installed with minigrad
    from benchmarks import harness, workloads  # noqa: F401
    rows = harness.check_workload("lstm_step", ("numpy", "minigrad"), input_size=5, hidden=7,
                                  steps=6, batch=3)
    assert rows and all(ok for _, _, _, ok in rows), [r for r in rows if not r[3]]


def test_dtype_and_empty_sequence_errors_name_the_layer():
    with pytest.raises(TypeError, match=r"LSTM: input is float64 but the parameters are float32"):
        nn.LSTM(3, 4)(mg.zeros((5, 2, 3), dtype=mg.float64))
    with pytest.raises(TypeError, match=r"GRUCell: input is float64"):
        nn.GRUCell(3, 4)(mg.zeros((2, 3), dtype=mg.float64))
    with pytest.raises(ValueError, match=r"GRU: expected at least one time step.*\(2, 0, 3\)"):
        nn.GRU(3, 4, batch_first=True)(mg.zeros((2, 0, 3)))
