"""The sequence models against PyTorch (part of ``benchmarks/torch_check.py``): RNN (tanh,
relu), LSTM and GRU with 2 layers, bidirectional, batch_first and initial states, the three
cells, scaled_dot_product_attention (bool, float and causal masks), MultiheadAttention (self
and cross attention with kdim/vdim, key padding and attention masks) and a 2-layer
TransformerEncoder (relu/gelu, post- and pre-norm): PyTorch's state_dict loaded into the
minigrad layer, then outputs and every gradient compared in float64."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F

TOLERANCE = dict(rtol=1e-9, atol=1e-10)


def _same_weights(mine, theirs, torch):
    """Give the minigrad module PyTorch's state_dict (names must match)."""
    state = theirs.state_dict()
    if list(state) != list(mine.state_dict()):
        raise AssertionError(f"state_dict names differ: {list(mine.state_dict())} vs "
                             f"{list(state)}")
    mine.load_state_dict({k: mg.tensor(v.detach().numpy()) for k, v in state.items()})


def _agree(outputs_mine, outputs_theirs, leaves_mine, leaves_theirs, rng, torch) -> bool:
    """Same outputs; then backward of Σ <output, random> on both sides: same gradients."""
    ok = True
    loss_mine, loss_theirs = 0.0, 0.0
    for a, b in zip(outputs_mine, outputs_theirs):
        ok &= np.allclose(a.detach().numpy(), b.detach().numpy(), **TOLERANCE)
        g = rng.normal(size=tuple(b.shape))
        loss_mine = loss_mine + (a * mg.tensor(g)).sum()
        loss_theirs = loss_theirs + (b * torch.tensor(g)).sum()
    loss_mine.backward()
    loss_theirs.backward()
    for a, b in zip(leaves_mine, leaves_theirs):
        ok &= a.grad is not None and np.allclose(a.grad.numpy(), b.grad.numpy(), **TOLERANCE)
    return bool(ok)


def check_recurrent(torch) -> list:
    rng = np.random.default_rng(11)
    results = []
    layers = [("RNN tanh", nn.RNN, torch.nn.RNN, {}), ("RNN relu", nn.RNN, torch.nn.RNN,
                                                      {"nonlinearity": "relu"}),
              ("LSTM", nn.LSTM, torch.nn.LSTM, {}), ("GRU", nn.GRU, torch.nn.GRU, {})]
    for name, mine_cls, their_cls, kw in layers:
        for fused in (True, False):
            theirs = their_cls(3, 5, num_layers=2, bidirectional=True, batch_first=True, **kw)
            mine = mine_cls(3, 5, num_layers=2, bidirectional=True, batch_first=True,
                            dtype=mg.float64, **kw)
            mine.use_fused = fused
            _same_weights(mine, theirs, torch)
            x, h0 = rng.normal(size=(2, 6, 3)), rng.normal(size=(4, 2, 5))
            xm, hm = mg.tensor(x, requires_grad=True), mg.tensor(h0, requires_grad=True)
            xt, ht = torch.tensor(x, requires_grad=True), torch.tensor(h0, requires_grad=True)
            if name == "LSTM":
                out_m, (h_m, c_m) = mine(xm, (hm, hm * 0.5))
                out_t, (h_t, c_t) = theirs(xt, (ht, ht * 0.5))
                got, want = [out_m, h_m, c_m], [out_t, h_t, c_t]
            else:
                (out_m, h_m), (out_t, h_t) = mine(xm, hm), theirs(xt, ht)
                got, want = [out_m, h_m], [out_t, h_t]
            ok = _agree(got, want, [xm, hm] + list(mine.parameters()),
                        [xt, ht] + list(theirs.parameters()), rng, torch)
            results.append((f"{name} 2 layers bidirectional batch_first h0 "
                            f"({'fused' if fused else 'reference'} steps)", ok))
    for name, mine_cls, their_cls in (("RNNCell", nn.RNNCell, torch.nn.RNNCell),
                                      ("LSTMCell", nn.LSTMCell, torch.nn.LSTMCell),
                                      ("GRUCell", nn.GRUCell, torch.nn.GRUCell)):
        theirs, mine = their_cls(3, 4), mine_cls(3, 4, dtype=mg.float64)
        _same_weights(mine, theirs, torch)
        x = rng.normal(size=(2, 3))
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        got, want = mine(xm), theirs(xt)
        got, want = (list(got), list(want)) if name == "LSTMCell" else ([got], [want])
        results.append((name, _agree(got, want, [xm] + list(mine.parameters()),
                                     [xt] + list(theirs.parameters()), rng, torch)))
    return results


def check_attention(torch) -> list:
    rng = np.random.default_rng(12)
    results = []
    TF = torch.nn.functional
    allowed = rng.random((4, 6)) > 0.4
    allowed[2] = False  # a query that may see nothing: zeros on both sides
    cases = {"no mask": {}, "bool mask (a row fully masked)": {"attn_mask": allowed},
             "float mask": {"attn_mask": rng.normal(size=(4, 6))}, "is_causal": {"is_causal": True},
             "scale 0.3": {"scale": 0.3}}
    for name, kw in cases.items():
        arrays = [rng.normal(size=s) for s in [(2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7)]]
        mine = [mg.tensor(a, requires_grad=True) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        kw_m = {k: mg.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        kw_t = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in kw.items()}
        ok = _agree([F.scaled_dot_product_attention(*mine, **kw_m)],
                    [TF.scaled_dot_product_attention(*theirs, **kw_t)], mine, theirs, rng, torch)
        results.append((f"scaled_dot_product_attention, {name}", ok))
    for cross in (False, True):
        kdim = 3 if cross else None
        theirs = torch.nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim, batch_first=True)
        mine = nn.MultiheadAttention(8, 2, kdim=kdim, vdim=kdim, batch_first=True,
                                     dtype=mg.float64)
        _same_weights(mine, theirs, torch)
        with torch.no_grad():
            for p in theirs.parameters():  # PyTorch starts the biases at 0: make them matter
                p.add_(torch.tensor(rng.normal(scale=0.1, size=tuple(p.shape))))
        _same_weights(mine, theirs, torch)
        source = 5 if cross else 4
        q = rng.normal(size=(2, 4, 8))
        kv = rng.normal(size=(2, source, kdim or 8)) if cross else q
        padding = np.zeros((2, source), bool)
        padding[1, -2:] = True
        mask = rng.random((4, source)) > 0.8
        mask[:, 0] = False  # every query sees key 0 (PyTorch gives NaN for a row with none)
        qm, kvm = mg.tensor(q, requires_grad=True), mg.tensor(kv, requires_grad=True)
        qt, kvt = torch.tensor(q, requires_grad=True), torch.tensor(kv, requires_grad=True)
        args_m, args_t = ((qm, kvm, kvm), (qt, kvt, kvt)) if cross else ((qm,) * 3, (qt,) * 3)
        out_m, w_m = mine(*args_m, key_padding_mask=mg.tensor(padding),
                          attn_mask=mg.tensor(mask), average_attn_weights=False)
        out_t, w_t = theirs(*args_t, key_padding_mask=torch.tensor(padding),
                            attn_mask=torch.tensor(mask), average_attn_weights=False)
        leaves_m = [qm] + ([kvm] if cross else []) + list(mine.parameters())
        leaves_t = [qt] + ([kvt] if cross else []) + list(theirs.parameters())
        results.append((f"MultiheadAttention {'cross (kdim=vdim=3)' if cross else 'self'}, key "
                        f"padding and attn_mask, weights per head",
                        _agree([out_m, w_m], [out_t, w_t], leaves_m, leaves_t, rng, torch)))
    for norm_first in (False, True):
        for activation in ("relu", "gelu"):
            layer_t = torch.nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0,
                                                       activation=activation,
                                                       norm_first=norm_first)
            theirs = torch.nn.TransformerEncoder(layer_t, 2, enable_nested_tensor=False)
            mine = nn.TransformerEncoder(nn.TransformerEncoderLayer(
                8, 2, 16, dropout=0.0, activation=activation, norm_first=norm_first,
                dtype=mg.float64), 2)
            _same_weights(mine, theirs, torch)
            x = rng.normal(size=(5, 2, 8))
            mask = np.triu(np.ones((5, 5), bool), 1)
            xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
            ok = _agree([mine(xm, mask=mg.tensor(mask))], [theirs(xt, mask=torch.tensor(mask))],
                        [xm] + list(mine.parameters()), [xt] + list(theirs.parameters()), rng,
                        torch)
            results.append((f"TransformerEncoder 2 layers, {activation}, "
                            f"{'norm_first' if norm_first else 'post-norm'}, causal mask", ok))
    return results
