"""Attention: scaled_dot_product_attention and MultiheadAttention against NumPy
transcriptions of their formulas (bool and float masks, causal, scale, key padding, kdim/vdim,
batch_first, unbatched), hand-checked masks, fully masked rows (zeros, not NaN), the
Transformer encoder layer against a NumPy transcription, float64 gradchecks, state_dict names
as PyTorch names them, the positional encoding, float32 kept, and bad input."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, nn
from minigrad.nn import functional as F

_erf = np.vectorize(math.erf)


def _cpu(t):
    return backend.to_device(t.detach().data, "cpu")


def _t(a, device, **kw):
    return mg.tensor(a, device=device, **kw)


def np_softmax_rows(s):
    """softmax over the last axis; rows that are all -inf give 0 (PyTorch's SDPA)."""
    m = np.max(s, axis=-1, keepdims=True)
    m = np.where(np.isneginf(m), 0.0, m)
    e = np.exp(s - m)
    total = e.sum(-1, keepdims=True)
    return e / np.where(total == 0, 1.0, total)


def np_sdpa(q, k, v, allowed=None, additive=None, scale=None):
    scale = 1 / np.sqrt(q.shape[-1]) if scale is None else scale
    s = q @ np.swapaxes(k, -1, -2) * scale
    if additive is not None:
        s = s + additive
    if allowed is not None:
        s = np.where(allowed, s, -np.inf)
    w = np_softmax_rows(s)
    return w @ v, w


# --- scaled_dot_product_attention ------------------------------------------------------------


@settings(max_examples=30)
@given(lead=st.lists(st.integers(1, 3), max_size=2), length=st.integers(1, 4),
       source=st.integers(1, 4), e=st.integers(1, 4), ev=st.integers(1, 3),
       mask=st.sampled_from(["none", "bool", "float", "causal"]),
       scale=st.sampled_from([None, 0.5]), seed=st.integers(0, 2**31))
def test_sdpa_matches_numpy(lead, length, source, e, ev, mask, scale, seed, device):
    rng = np.random.default_rng(seed)
    lead = tuple(lead)
    q, k = rng.normal(size=lead + (length, e)), rng.normal(size=lead + (source, e))
    v = rng.normal(size=lead + (source, ev))
    kwargs, allowed, additive = {"scale": scale}, None, None
    if mask == "bool":
        allowed = rng.random((length, source)) > 0.3
        kwargs["attn_mask"] = _t(allowed, device)
    elif mask == "float":
        additive = rng.normal(size=(length, source))
        kwargs["attn_mask"] = _t(additive, device)
    elif mask == "causal":
        allowed = np.tril(np.ones((length, source), bool))
        kwargs["is_causal"] = True
    out = F.scaled_dot_product_attention(_t(q, device), _t(k, device), _t(v, device), **kwargs)
    expected, _ = np_sdpa(q, k, v, allowed, additive, scale)
    np.testing.assert_allclose(_cpu(out), expected, rtol=1e-10, atol=1e-12)


def test_sdpa_masks_hand_checked(device):
    """q = k = 0: every allowed key gets the same weight; v = I shows the weights."""
    q, k, v = np.zeros((3, 2)), np.zeros((3, 2)), np.eye(3)
    out = F.scaled_dot_product_attention(_t(q, device), _t(k, device), _t(v, device),
                                         is_causal=True)
    np.testing.assert_allclose(_cpu(out), [[1, 0, 0], [1 / 2, 1 / 2, 0], [1 / 3, 1 / 3, 1 / 3]])
    allowed = np.array([[True, False, True], [False, False, False], [False, True, False]])
    out = F.scaled_dot_product_attention(_t(q, device), _t(k, device), _t(v, device),
                                         attn_mask=_t(allowed, device))
    np.testing.assert_allclose(_cpu(out), [[0.5, 0, 0.5], [0, 0, 0], [0, 1, 0]])  # row 1: none
    additive = np.array([[0.0, -np.inf, 0.0], [-np.inf] * 3, [math.log(3), 0.0, -np.inf]])
    x = _t(q, device, requires_grad=True)
    out = F.scaled_dot_product_attention(x, _t(k, device), _t(v, device),
                                         attn_mask=_t(additive, device))
    np.testing.assert_allclose(_cpu(out), [[0.5, 0, 0.5], [0, 0, 0], [0.75, 0.25, 0]])
    out.sum().backward()
    assert np.isfinite(_cpu(x.grad)).all()  # the empty row gives no NaN gradient either


@pytest.mark.parametrize("mask", ["none", "bool", "float", "causal"])
def test_sdpa_gradcheck(mask, device):
    rng = np.random.default_rng(1)
    q, k, v = (_t(rng.normal(size=s), device, requires_grad=True)
               for s in [(2, 3, 2), (2, 4, 2), (2, 4, 3)])
    kwargs = {}
    if mask == "bool":
        allowed = rng.random((3, 4)) > 0.4
        allowed[1] = False  # a fully masked row too
        kwargs["attn_mask"] = _t(allowed, device)
    elif mask == "float":
        kwargs["attn_mask"] = _t(rng.normal(size=(3, 4)), device)
    elif mask == "causal":
        kwargs["is_causal"] = True
    assert mg.gradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                        [q, k, v])
    assert mg.gradgradcheck(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, **kwargs),
                            [q, k, v])


def test_sdpa_dropout_keeps_expectation_and_is_reproducible():
    rng = np.random.default_rng(0)
    q, k, v = (mg.tensor(rng.normal(size=s)) for s in [(4, 3), (5, 3), (5, 2)])
    mg.manual_seed(3)
    a = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    mg.manual_seed(3)
    b = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    np.testing.assert_array_equal(_cpu(a), _cpu(b))
    assert not np.allclose(_cpu(a), _cpu(F.scaled_dot_product_attention(q, k, v)))


# --- MultiheadAttention ----------------------------------------------------------------------


def np_mha(mha, query, key, value, allowed, additive, heads):
    """The layer's formula in NumPy, on batch-major inputs (N, L, E)."""
    p = {n: _cpu(t) for n, t in mha.named_parameters()}
    e = mha.embed_dim
    if "in_proj_weight" in p:
        w_q, w_k, w_v = np.split(p["in_proj_weight"], 3)
    else:
        w_q, w_k, w_v = p["q_proj_weight"], p["k_proj_weight"], p["v_proj_weight"]
    b_q, b_k, b_v = np.split(p["in_proj_bias"], 3)

    def split(x):  # (N, L, E) -> (N, h, L, d)
        n, length, _ = x.shape
        return x.reshape(n, length, heads, e // heads).transpose(0, 2, 1, 3)

    q, k, v = split(query @ w_q.T + b_q), split(key @ w_k.T + b_k), split(value @ w_v.T + b_v)
    out, w = np_sdpa(q, k, v, allowed, additive)
    n, _, length, _ = out.shape
    out = out.transpose(0, 2, 1, 3).reshape(n, length, e)
    return out @ p["out_proj.weight"].T + p["out_proj.bias"], w


def _randomize(module, rng, scale=0.5):
    with mg.no_grad():
        for p in module.parameters():
            p.copy_(rng.normal(scale=scale, size=p.shape))


@settings(max_examples=25)
@given(heads=st.sampled_from([1, 2]), cross=st.booleans(), batch_first=st.booleans(),
       padding=st.sampled_from(["none", "bool", "float"]),
       attn=st.sampled_from(["none", "bool", "float", "per_head"]), average=st.booleans(),
       seed=st.integers(0, 2**31))
def test_mha_matches_numpy(heads, cross, batch_first, padding, attn, average, seed, device):
    rng = np.random.default_rng(seed)
    e, n, length = 4, 2, 3
    source = 4 if cross else length
    kdim = 3 if cross else None
    mha = nn.MultiheadAttention(e, heads, kdim=kdim, vdim=kdim, batch_first=batch_first,
                                dtype=mg.float64, device=device)
    _randomize(mha, rng)
    query = rng.normal(size=(n, length, e))
    key = rng.normal(size=(n, source, kdim or e)) if cross else query
    value = rng.normal(size=(n, source, kdim or e)) if cross else query
    allowed, additive, kwargs = np.ones((n, 1, 1, source), bool), np.zeros((1, 1, 1, 1)), {}
    if padding == "bool":
        pad = rng.random((n, source)) > 0.6
        kwargs["key_padding_mask"] = _t(pad, device)
        allowed = allowed & ~pad[:, None, None, :]
    elif padding == "float":
        pad = rng.normal(size=(n, source))
        kwargs["key_padding_mask"] = _t(pad, device)
        additive = additive + pad[:, None, None, :]
    if attn in ("bool", "float"):
        m = rng.random((length, source)) > 0.7 if attn == "bool" else \
            rng.normal(size=(length, source))
        kwargs["attn_mask"] = _t(m, device)
        if attn == "bool":
            allowed = allowed & ~m
        else:
            additive = additive + m
    elif attn == "per_head":
        m = rng.normal(size=(n * heads, length, source))
        kwargs["attn_mask"] = _t(m, device)
        additive = additive + m.reshape(n, heads, length, source)
    expected, weights = np_mha(mha, query, key, value, allowed, additive, heads)

    def layout(x):
        return _t(x if batch_first else x.swapaxes(0, 1), device)

    q_in = layout(query)
    k_in, v_in = (layout(key), layout(value)) if cross else (q_in, q_in)
    out, w = mha(q_in, k_in, v_in, average_attn_weights=average, **kwargs)
    np.testing.assert_allclose(_cpu(out), expected if batch_first else expected.swapaxes(0, 1),
                               rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_cpu(w), weights.mean(1) if average else weights,
                               rtol=1e-10, atol=1e-12)


def test_mha_unbatched_shapes_and_need_weights(device):
    mha = nn.MultiheadAttention(6, 3, device=device)
    x = mg.randn(5, 6, device=device)
    out, w = mha(x, x, x)
    assert out.shape == (5, 6) and w.shape == (5, 5)
    out, w = mha(x, x, x, average_attn_weights=False)
    assert w.shape == (3, 5, 5)
    assert mha(x, x, x, need_weights=False)[1] is None
    batched, _ = mha(x.unsqueeze(1), x.unsqueeze(1), x.unsqueeze(1))
    np.testing.assert_allclose(_cpu(batched)[:, 0], _cpu(out), rtol=1e-5, atol=1e-6)


def test_mha_fully_padded_sequence_gives_zeros_not_nan(device):
    mha = nn.MultiheadAttention(4, 2, batch_first=True, device=device)
    x = mg.randn(2, 3, 4, device=device)
    pad = np.zeros((2, 3), bool)
    pad[1] = True  # the second sequence is all padding
    out, w = mha(x, x, x, key_padding_mask=_t(pad, device))
    assert np.isfinite(_cpu(out)).all()
    np.testing.assert_array_equal(_cpu(w)[1], 0.0)
    np.testing.assert_allclose(_cpu(out)[1], np.broadcast_to(_cpu(mha.out_proj.bias), (3, 4)))
    causal, _ = mha(x, x, x, is_causal=True, need_weights=False)
    mask = np.triu(np.ones((3, 3), bool), 1)  # True = left out, as MultiheadAttention reads it
    explicit, _ = mha(x, x, x, attn_mask=_t(mask, device), need_weights=False)
    np.testing.assert_allclose(_cpu(causal), _cpu(explicit))


@pytest.mark.parametrize("cross", [False, True])
def test_mha_gradcheck(cross, device):
    rng = np.random.default_rng(2)
    mha = nn.MultiheadAttention(4, 2, kdim=3 if cross else None, vdim=2 if cross else None,
                                dtype=mg.float64, device=device)
    _randomize(mha, rng)
    q = _t(rng.normal(size=(3, 2, 4)), device, requires_grad=True)
    k = _t(rng.normal(size=(2, 2, 3 if cross else 4)), device, requires_grad=True)
    v = _t(rng.normal(size=(2, 2, 2 if cross else 4)), device, requires_grad=True)
    pad = _t(np.array([[False, True], [False, False]]), device)
    params = list(mha.parameters())
    assert mg.gradcheck(lambda q, k, v, *ps: mha(q, k, v, key_padding_mask=pad)[0],
                        [q, k, v] + params)
    assert mg.gradcheck(lambda q, *ps: mha(q, q, q)[0] if not cross else mha(q, k, v)[1],
                        [q] + params)


def test_state_dict_names_as_pytorch():
    assert [(k, tuple(v.shape)) for k, v in nn.MultiheadAttention(8, 2).state_dict().items()] \
        == [("in_proj_weight", (24, 8)), ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)),
            ("out_proj.bias", (8,))]
    cross = nn.MultiheadAttention(8, 2, kdim=3, vdim=5)
    assert [(k, tuple(v.shape)) for k, v in cross.state_dict().items()] == [
        ("q_proj_weight", (8, 8)), ("k_proj_weight", (8, 3)), ("v_proj_weight", (8, 5)),
        ("in_proj_bias", (24,)), ("out_proj.weight", (8, 8)), ("out_proj.bias", (8,))]
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16), 2)
    layer_keys = [("self_attn.in_proj_weight", (24, 8)), ("self_attn.in_proj_bias", (24,)),
                  ("self_attn.out_proj.weight", (8, 8)), ("self_attn.out_proj.bias", (8,)),
                  ("linear1.weight", (16, 8)), ("linear1.bias", (16,)),
                  ("linear2.weight", (8, 16)), ("linear2.bias", (8,)),
                  ("norm1.weight", (8,)), ("norm1.bias", (8,)),
                  ("norm2.weight", (8,)), ("norm2.bias", (8,))]
    assert [(k, tuple(v.shape)) for k, v in encoder.state_dict().items()] == [
        (f"layers.{i}.{k}", s) for i in range(2) for k, s in layer_keys]
    a, b = encoder.layers[0].linear1.weight, encoder.layers[1].linear1.weight
    np.testing.assert_array_equal(_cpu(a), _cpu(b))
    assert a is not b  # copies, each with its own parameters


# --- TransformerEncoderLayer -----------------------------------------------------------------


def _np_layer_norm(x, w, b, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(x.var(-1, keepdims=True) + eps) * w + b


def np_encoder_layer(layer, x, pad):
    p = {n: _cpu(t) for n, t in layer.named_parameters()}
    act = {"relu": lambda z: np.maximum(z, 0),
           "gelu": lambda z: 0.5 * z * (1 + _erf(z / math.sqrt(2)))}[layer.activation_name]

    def sa(z):
        allowed = None if pad is None else ~pad[:, None, None, :]
        return np_mha(layer.self_attn, z, z, z, allowed, None, layer.self_attn.num_heads)[0]

    def ff(z):
        hidden = act(z @ p["linear1.weight"].T + p["linear1.bias"])
        return hidden @ p["linear2.weight"].T + p["linear2.bias"]

    def n1(z):
        return _np_layer_norm(z, p["norm1.weight"], p["norm1.bias"])

    def n2(z):
        return _np_layer_norm(z, p["norm2.weight"], p["norm2.bias"])

    if layer.norm_first:
        x = x + sa(n1(x))
        return x + ff(n2(x))
    x = n1(x + sa(x))
    return n2(x + ff(x))


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer_matches_numpy_and_gradcheck(activation, norm_first, batch_first,
                                                   device):
    rng = np.random.default_rng(4)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, activation=activation,
                                       norm_first=norm_first, batch_first=batch_first,
                                       dtype=mg.float64, device=device)
    layer.activation_name = activation
    _randomize(layer, rng)
    x = rng.normal(size=(2, 3, 4))
    pad = np.array([[False, False, True], [False, False, False]])
    expected = np_encoder_layer(layer, x, pad)
    x_in = x if batch_first else x.swapaxes(0, 1)
    xt = _t(x_in, device, requires_grad=True)
    out = layer(xt, src_key_padding_mask=_t(pad, device))
    np.testing.assert_allclose(_cpu(out), expected if batch_first else expected.swapaxes(0, 1),
                               rtol=1e-9, atol=1e-10)
    params = list(layer.parameters())
    assert mg.gradcheck(lambda x, *ps: layer(x, src_key_padding_mask=_t(pad, device)),
                        [xt] + params)


def test_encoder_stacks_layers_and_norm(device):
    rng = np.random.default_rng(5)
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, device=device)
    encoder = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(4, device=device))
    x = mg.tensor(rng.normal(size=(3, 2, 4)).astype(np.float32), device=device,
                  requires_grad=True)
    mask = np.triu(np.ones((3, 3), bool), 1)
    expected = encoder.norm(encoder.layers[1](encoder.layers[0](x, _t(mask, device)),
                                              _t(mask, device)))
    out = encoder(x, mask=_t(mask, device))
    np.testing.assert_allclose(_cpu(out), _cpu(expected), rtol=1e-6)
    out.sum().backward()
    assert out.dtype == mg.float32 and x.grad.dtype == mg.float32
    assert all(p.grad.dtype == mg.float32 for p in encoder.parameters())


# --- positional encoding ---------------------------------------------------------------------


def test_sinusoidal_positional_encoding(device):
    pe = _cpu(nn.attention.sinusoidal_positional_encoding(6, 5, device=device))
    position, i = np.arange(6)[:, None], np.arange(5)[None, :]
    angle = position / 10000 ** ((i - i % 2) / 5)
    np.testing.assert_allclose(pe, np.where(i % 2 == 0, np.sin(angle), np.cos(angle)),
                               rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(pe[0], [0, 1, 0, 1, 0])  # sin 0, cos 0, ...
    module = nn.PositionalEncoding(5, max_len=10, batch_first=True, device=device)
    assert "pe" not in module.state_dict()
    x = mg.zeros((2, 6, 5), device=device)
    np.testing.assert_allclose(_cpu(module(x))[1], pe, rtol=1e-6, atol=1e-7)


# --- bad input -------------------------------------------------------------------------------


def test_bad_input_names_the_layer_and_shapes():
    mha = nn.MultiheadAttention(4, 2)
    x = mg.zeros((3, 2, 4))
    with pytest.raises(ValueError, match=r"MultiheadAttention.*query.*4 features.*\(3, 2, 5\)"):
        mha(mg.zeros((3, 2, 5)), x, x)
    with pytest.raises(ValueError, match=r"MultiheadAttention: key_padding_mask.*\(2, 3\).*\(3, 2\)"):
        mha(x, x, x, key_padding_mask=mg.zeros((3, 2), dtype=mg.bool_))
    with pytest.raises(ValueError, match=r"MultiheadAttention: attn_mask.*\(3, 3\).*\(3, 4\)"):
        mha(x, x, x, attn_mask=mg.zeros((3, 4), dtype=mg.bool_))
    with pytest.raises(ValueError, match=r"MultiheadAttention: embed_dim \(5\).*num_heads \(2\)"):
        nn.MultiheadAttention(5, 2)
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: query \(2, 3\), key "
                                         r"\(4, 2\)"):
        F.scaled_dot_product_attention(mg.zeros((2, 3)), mg.zeros((4, 2)), mg.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"scaled_dot_product_attention: attn_mask of shape "
                                         r"\(3, 3\).*\(2, 4\)"):
        F.scaled_dot_product_attention(mg.zeros((2, 3)), mg.zeros((4, 3)), mg.zeros((4, 2)),
                                       attn_mask=mg.zeros((3, 3)))
    with pytest.raises(ValueError, match=r"TransformerEncoderLayer: activation"):
        nn.TransformerEncoderLayer(4, 2, activation="tanh")


def test_attention_step_benchmark_floor_matches_minigrad():
    """The hand-written NumPy encoder layer of benchmarks/ computes what minigrad's does."""
    import os
    import sys
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)  # the benchmarks package is not installed with minigrad
    from benchmarks import harness, workloads  # noqa: F401
    rows = harness.check_workload("attention_step", ("numpy", "minigrad"), d_model=8, heads=2,
                                  ff=12, seq=5, batch=3)
    assert rows and all(ok for _, _, _, ok in rows), [r for r in rows if not r[3]]
