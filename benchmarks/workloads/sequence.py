"""Sequence-model training steps: ``lstm_step`` (an LSTM, 1 layer, input 64, hidden 256, 50
steps, batch 32) and ``attention_step`` (a TransformerEncoderLayer, d_model 128, 4 heads,
feed-forward 512, sequence 64, batch 32, post-norm, ReLU, no dropout so every engine computes
the same thing).

One step: forward, the loss mean(y²) over every output y (so the gradient reaches every time
step and position), backward, and an Adam update (lr 1e-3, eps 1e-5). minigrad and PyTorch
use their library's layer (``nn.LSTM``, ``nn.TransformerEncoderLayer``) with the same
weights; the NumPy floor does the same arithmetic by hand: the LSTM's input projection of all
steps in one matmul, the recurrence step by step (the four gate activations as one tanh,
in place into preallocated arrays), and the weight gradients of the recurrence in one
matmul after the backward sweep (minigrad's LSTMSequence computes exactly this, bit for bit); the encoder layer's attention, layer norms and
feed-forward block, forward and backward, by hand.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Goal, Timing, Workload, register
from .optim import NumpyAdam

LSTM_NAMES = ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"]
ENCODER_NAMES = ["self_attn.in_proj_weight", "self_attn.in_proj_bias",
                 "self_attn.out_proj.weight", "self_attn.out_proj.bias", "linear1.weight",
                 "linear1.bias", "linear2.weight", "linear2.bias", "norm1.weight",
                 "norm1.bias", "norm2.weight", "norm2.bias"]


def init_lstm(input_size, hidden, steps, batch, seed):
    """PyTorch's LSTM initialization, U(-1/√H, 1/√H), and a standard-normal batch (L, N, in)."""
    rng = np.random.default_rng(seed)
    bound = 1.0 / hidden ** 0.5
    shapes = [(4 * hidden, input_size), (4 * hidden, hidden), (4 * hidden,), (4 * hidden,)]
    params = [rng.uniform(-bound, bound, s).astype(np.float32) for s in shapes]
    x = rng.standard_normal((steps, batch, input_size), dtype=np.float32)
    return dict(zip(LSTM_NAMES, params)), x


def init_encoder(d_model, ff, seq, batch, seed):
    """Random weights (uniform ±1/√fan_in, norms around 1) and a batch (N, L, d_model)."""
    rng = np.random.default_rng(seed)
    shapes = {"self_attn.in_proj_weight": (3 * d_model, d_model),
              "self_attn.in_proj_bias": (3 * d_model,),
              "self_attn.out_proj.weight": (d_model, d_model),
              "self_attn.out_proj.bias": (d_model,), "linear1.weight": (ff, d_model),
              "linear1.bias": (ff,), "linear2.weight": (d_model, ff), "linear2.bias": (d_model,)}
    params = {}
    for name, shape in shapes.items():
        fan_in = shape[1] if len(shape) == 2 else (ff if name == "linear2.bias" else d_model)
        bound = 1.0 / fan_in ** 0.5
        params[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
    for k in (1, 2):
        params[f"norm{k}.weight"] = rng.uniform(0.8, 1.2, d_model).astype(np.float32)
        params[f"norm{k}.bias"] = rng.uniform(-0.1, 0.1, d_model).astype(np.float32)
    x = rng.standard_normal((batch, seq, d_model), dtype=np.float32)
    return {n: params[n] for n in ENCODER_NAMES}, x


def _snapshot(names, weights, grads, loss):
    state = dict(zip(names, weights))
    if loss is not None:
        state["loss"] = loss
        state.update((f"grad {n}", g) for n, g in zip(names, grads))
    return state


# ---------------------------------------------------------------------------------------------
# The NumPy floors


def _sigmoid(x):
    return 0.5 + 0.5 * np.tanh(0.5 * x)


def numpy_lstm(input_size, hidden, steps, batch, lr, eps, seed):
    p, x = init_lstm(input_size, hidden, steps, batch, seed)
    w_ih, w_hh, b_ih, b_hh = (p[n] for n in LSTM_NAMES)
    H = hidden
    gates = np.empty((steps, batch, 4 * H), np.float32)   # activated i, f, g, o per step
    cells = np.empty((steps, batch, H), np.float32)
    tanh_cells = np.empty((steps, batch, H), np.float32)
    hs = np.zeros((steps + 1, batch, H), np.float32)      # hs[t + 1] = h_t, hs[0] = h_{-1} = 0
    d_gates = np.empty((steps, batch, 4 * H), np.float32)
    grads = [np.empty_like(a) for a in (w_ih, w_hh, b_ih, b_hh)]
    adam = NumpyAdam([w_ih, w_hh, b_ih, b_hh], lr=lr, eps=eps)
    x_rows = x.reshape(steps * batch, input_size)
    last = {}

    # σ(a) = ½ + ½ tanh(a / 2): one tanh over all four gates, columns scaled by [½ ½ 1 ½]
    scale = np.full(4 * H, 0.5, np.float32)
    scale[2 * H:3 * H] = 1.0
    offset = np.where(scale == 0.5, np.float32(0.5), np.float32(0.0)).astype(np.float32)
    slope = np.where(scale == 0.5, np.float32(1.0), np.float32(0.0)).astype(np.float32)
    bend = 1.0 - slope                                    # act (slope - act) + bend = act'
    product = np.empty((batch, H), np.float32)
    derivative = np.empty((batch, 4 * H), np.float32)
    zeros = np.zeros((batch, H), np.float32)

    def step():
        # forward: gates_t = x_t W_ihᵀ + b_ih + b_hh + h_{t-1} W_hhᵀ (input part for all t)
        np.matmul(x_rows, w_ih.T, out=gates.reshape(steps * batch, 4 * H))
        np.add(gates, b_ih + b_hh, out=gates)
        np.multiply(gates, scale, out=gates)
        w_scaled = (w_hh * scale[:, None]).T
        c = zeros
        for t in range(steps):
            g_t = gates[t]
            g_t += hs[t] @ w_scaled
            np.tanh(g_t, out=g_t)
            g_t *= scale
            g_t += offset
            i, f, g, o = g_t[:, :H], g_t[:, H:2 * H], g_t[:, 2 * H:3 * H], g_t[:, 3 * H:]
            c = np.multiply(f, c, out=cells[t])
            c += np.multiply(i, g, out=product)
            np.tanh(c, out=tanh_cells[t])
            np.multiply(o, tanh_cells[t], out=hs[t + 1])
        outputs = hs[1:]
        last["loss"] = np.float32((outputs * outputs).mean())
        # backward of mean(h²): dh_t = 2 h_t / size, plus what flows back from step t + 1
        d_out = outputs * np.float32(2.0 / outputs.size)
        dh_next, dc_next = zeros, zeros
        for t in range(steps - 1, -1, -1):
            g_t = gates[t]
            i, f, g, o = g_t[:, :H], g_t[:, H:2 * H], g_t[:, 2 * H:3 * H], g_t[:, 3 * H:]
            dh = d_out[t] + dh_next
            tc = tanh_cells[t]
            dc = tc * tc                                  # dc = dc' + dh o (1 - tanh²(c))
            np.subtract(1.0, dc, out=dc)
            dc *= o
            dc *= dh
            dc += dc_next
            c_prev = cells[t - 1] if t else zeros
            dg = d_gates[t]
            np.multiply(dc, g, out=dg[:, :H])
            np.multiply(dc, c_prev, out=dg[:, H:2 * H])
            np.multiply(dc, i, out=dg[:, 2 * H:3 * H])
            np.multiply(dh, tc, out=dg[:, 3 * H:])
            np.subtract(slope, g_t, out=derivative)
            np.multiply(derivative, g_t, out=derivative)
            np.add(derivative, bend, out=derivative)
            dg *= derivative
            dh_next = dg @ w_hh
            dc *= f
            dc_next = dc
        rows = d_gates.reshape(steps * batch, 4 * H)
        np.matmul(rows.T, x_rows, out=grads[0])
        np.matmul(rows.T, hs[:-1].reshape(steps * batch, H), out=grads[1])
        np.sum(rows, axis=0, out=grads[2])
        grads[3][...] = grads[2]
        adam.step(grads)

    def snapshot():
        return _snapshot(LSTM_NAMES, [w_ih, w_hh, b_ih, b_hh], grads, last.get("loss"))

    return Case(step, snapshot)


def _layer_norm(x, weight, bias, eps=1e-5):
    mean = x.mean(-1, keepdims=True)
    centered = x - mean
    invstd = 1.0 / np.sqrt((centered * centered).mean(-1, keepdims=True) + eps)
    x_hat = centered * invstd
    return x_hat * weight + bias, x_hat, invstd


def _layer_norm_backward(dy, x_hat, invstd, weight):
    """dx, dγ, dβ of y = x̂ γ + β."""
    d_weight = (dy * x_hat).reshape(-1, dy.shape[-1]).sum(0)
    d_bias = dy.reshape(-1, dy.shape[-1]).sum(0)
    dx_hat = dy * weight
    dx = invstd * (dx_hat - dx_hat.mean(-1, keepdims=True)
                   - x_hat * (dx_hat * x_hat).mean(-1, keepdims=True))
    return dx, d_weight, d_bias


def numpy_encoder(d_model, heads, ff, seq, batch, lr, eps, seed):
    p, x = init_encoder(d_model, ff, seq, batch, seed)
    weights = [p[n] for n in ENCODER_NAMES]
    w_in, b_in, w_o, b_o, w1, b1, w2, b2, g1, be1, g2, be2 = weights
    adam = NumpyAdam(weights, lr=lr, eps=eps)
    N, L, E, h = batch, seq, d_model, heads
    d = E // h
    scale = np.float32(1.0 / d ** 0.5)
    x_rows = x.reshape(N * L, E)
    last = {"grads": [np.zeros_like(w) for w in weights]}

    def split_heads(t):  # (N·L, E) -> (N, h, L, d)
        return t.reshape(N, L, h, d).transpose(0, 2, 1, 3)

    def merge_heads(t):  # (N, h, L, d) -> (N·L, E)
        return t.transpose(0, 2, 1, 3).reshape(N * L, E)

    def step():
        # forward
        qkv = x_rows @ w_in.T + b_in
        q, k, v = (split_heads(qkv[:, j * E:(j + 1) * E]) for j in range(3))
        s = q @ k.transpose(0, 1, 3, 2) * scale
        s -= s.max(-1, keepdims=True)
        probs = np.exp(s)
        probs /= probs.sum(-1, keepdims=True)
        attended = merge_heads(probs @ v)
        r1 = x_rows + attended @ w_o.T + b_o
        y1, x_hat1, invstd1 = _layer_norm(r1, g1, be1)
        f1 = y1 @ w1.T + b1
        relu = np.maximum(f1, 0)
        r2 = y1 + relu @ w2.T + b2
        out, x_hat2, invstd2 = _layer_norm(r2, g2, be2)
        last["loss"] = np.float32((out * out).mean())
        # backward
        d_out = out * np.float32(2.0 / out.size)
        dr2, dg2, dbe2 = _layer_norm_backward(d_out, x_hat2, invstd2, g2)
        dw2, db2 = dr2.T @ relu, dr2.sum(0)
        d_f1 = dr2 @ w2
        d_f1 *= f1 > 0
        dw1, db1 = d_f1.T @ y1, d_f1.sum(0)
        dy1 = dr2 + d_f1 @ w1
        dr1, dg1, dbe1 = _layer_norm_backward(dy1, x_hat1, invstd1, g1)
        dw_o, db_o = dr1.T @ attended, dr1.sum(0)
        d_att = split_heads(dr1 @ w_o)
        d_probs = d_att @ v.transpose(0, 1, 3, 2)
        dv = probs.transpose(0, 1, 3, 2) @ d_att
        ds = probs * (d_probs - (d_probs * probs).sum(-1, keepdims=True))
        ds *= scale
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
        d_qkv = np.concatenate([merge_heads(dq), merge_heads(dk), merge_heads(dv)], axis=1)
        dw_in, db_in = d_qkv.T @ x_rows, d_qkv.sum(0)
        grads = [dw_in, db_in, dw_o, db_o, dw1, db1, dw2, db2, dg1, dbe1, dg2, dbe2]
        last["grads"] = grads
        adam.step(grads)

    def snapshot():
        return _snapshot(ENCODER_NAMES, weights, last["grads"], last.get("loss"))

    return Case(step, snapshot)


# ---------------------------------------------------------------------------------------------
# minigrad and PyTorch: the library's layer, written the way their users write it


def minigrad_lstm(input_size, hidden, steps, batch, lr, eps, seed):
    import minigrad as mg
    from minigrad import nn, optim

    params, x_np = init_lstm(input_size, hidden, steps, batch, seed)
    lstm = nn.LSTM(input_size, hidden)
    lstm.load_state_dict({k: mg.tensor(v) for k, v in params.items()})
    x = mg.tensor(x_np)
    optimizer = optim.Adam(lstm.parameters(), lr=lr, eps=eps)
    return _library_case(lambda: lstm(x)[0], optimizer, lstm, LSTM_NAMES, mg_arrays)


def minigrad_encoder(d_model, heads, ff, seq, batch, lr, eps, seed):
    import minigrad as mg
    from minigrad import nn, optim

    params, x_np = init_encoder(d_model, ff, seq, batch, seed)
    layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0, batch_first=True)
    layer.load_state_dict({k: mg.tensor(v) for k, v in params.items()})
    x = mg.tensor(x_np)
    optimizer = optim.Adam(layer.parameters(), lr=lr, eps=eps)
    return _library_case(lambda: layer(x), optimizer, layer, ENCODER_NAMES, mg_arrays)


def torch_lstm(input_size, hidden, steps, batch, lr, eps, seed):
    import torch

    params, x_np = init_lstm(input_size, hidden, steps, batch, seed)
    lstm = torch.nn.LSTM(input_size, hidden)
    lstm.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    x = torch.from_numpy(x_np)
    optimizer = torch.optim.Adam(lstm.parameters(), lr=lr, eps=eps)
    return _library_case(lambda: lstm(x)[0], optimizer, lstm, LSTM_NAMES, torch_arrays)


def torch_encoder(d_model, heads, ff, seq, batch, lr, eps, seed):
    import torch

    params, x_np = init_encoder(d_model, ff, seq, batch, seed)
    layer = torch.nn.TransformerEncoderLayer(d_model, heads, ff, dropout=0.0,
                                             batch_first=True)
    layer.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in params.items()})
    x = torch.from_numpy(x_np)
    optimizer = torch.optim.Adam(layer.parameters(), lr=lr, eps=eps)
    return _library_case(lambda: layer(x), optimizer, layer, ENCODER_NAMES, torch_arrays)


def mg_arrays(t):
    return t.data


def torch_arrays(t):
    return t.detach().numpy()


def _library_case(forward, optimizer, module, names, as_array):
    last = {}

    def step():
        optimizer.zero_grad()
        y = forward()
        loss = (y * y).mean()
        loss.backward()
        optimizer.step()
        last["loss"] = loss

    def snapshot():
        named = dict(module.named_parameters())
        weights = [as_array(named[n]) for n in names]
        loss = last.get("loss")
        grads = [as_array(named[n].grad) for n in names] if loss is not None else []
        return _snapshot(names, weights, grads, None if loss is None else as_array(loss))

    return Case(step, snapshot)


register(Workload(
    name="lstm_step",
    description="LSTM 1 layer, input 64, hidden 256, seq 50, batch 32, mean(h²), Adam: one step",
    per="step", engines={"numpy": numpy_lstm, "minigrad": minigrad_lstm, "torch": torch_lstm},
    display="ms",
    config=dict(input_size=64, hidden=256, steps=50, batch=32, lr=1e-3, eps=1e-5, seed=0),
    timing=Timing(warmup=3, min_reps=20, seconds=2.0),
    goal=Goal("torch", ratio=1.5),
    check_rtol=2e-4,
))

register(Workload(
    name="attention_step",
    description="TransformerEncoderLayer d_model 128, 4 heads, ff 512, seq 64, batch 32, "
                "Adam: one step",
    per="step",
    engines={"numpy": numpy_encoder, "minigrad": minigrad_encoder, "torch": torch_encoder},
    display="ms",
    config=dict(d_model=128, heads=4, ff=512, seq=64, batch=32, lr=1e-3, eps=1e-5, seed=0),
    timing=Timing(warmup=3, min_reps=20, seconds=2.0),
    goal=Goal("torch", ratio=1.5),
    check_rtol=2e-4,
))
