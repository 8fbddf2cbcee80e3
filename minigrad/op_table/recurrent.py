"""The fused recurrent cell steps (minigrad.functions.recurrent), one entry each: the
input projection xg, the state and the hidden weights are explicit inputs, and the
reference is the cell's equations in NumPy. The LSTM step's two outputs are checked joined
as [h' c']; the whole-sequence LSTM joins its outputs, h_n and c_n
along the rows."""

from __future__ import annotations

import numpy as np

import minigrad as mg
from minigrad.functions import recurrent as R
from minigrad.functions import recurrent_sequence as RS

from ._core import _add


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _step_sample(gates):
    def sample(d):
        batch, hidden = d.integer(1, 3), d.integer(1, 3)
        arrays = [d.values((batch, gates * hidden)), d.values((batch, hidden))]
        if gates == 4:
            arrays.append(d.values((batch, hidden)))  # c
        arrays.append(d.values((gates * hidden, hidden)) * 0.5)
        if d.boolean():
            arrays.append(d.values((gates * hidden,)))
        return arrays, {}
    return sample


def _np_hidden(h, w_hh, b_hh):
    return h @ w_hh.T + (0 if b_hh is None else b_hh)


def _np_rnn(xg, h, w_hh, b_hh=None, nonlinearity="tanh"):
    pre = xg + _np_hidden(h, w_hh, b_hh)
    return np.tanh(pre) if nonlinearity == "tanh" else np.maximum(pre, 0)


def _np_lstm(xg, h, c, w_hh, b_hh=None):
    i, f, g, o = np.split(xg + _np_hidden(h, w_hh, b_hh), 4, axis=-1)
    c_new = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
    return np.concatenate([_sigmoid(o) * np.tanh(c_new), c_new], axis=-1)


def _np_gru(xg, h, w_hh, b_hh=None):
    xr, xz, xn = np.split(xg, 3, axis=-1)
    hr, hz, hn = np.split(_np_hidden(h, w_hh, b_hh), 3, axis=-1)
    r, z = _sigmoid(xr + hr), _sigmoid(xz + hz)
    n = np.tanh(xn + r * hn)
    return (1 - z) * n + z * h


def _rnn_relu_sample(d):
    arrays, _ = _step_sample(1)(d)
    return arrays, {"nonlinearity": "relu"}


def _away_from_relu_kink(d):
    """Keep the pre-activation away from 0 so central differences do not straddle it."""
    arrays, kwargs = _rnn_relu_sample(d)
    pre = arrays[0] + _np_hidden(arrays[1], arrays[2], arrays[3] if len(arrays) > 3 else None)
    arrays[0] = arrays[0] + np.where(np.abs(pre) < 0.1, 0.2 * np.sign(pre + 1e-12), 0.0)
    return arrays, kwargs


_add("rnn_tanh_step", _step_sample(1), lambda *ts: R.RNNStep.apply(*ts), _np_rnn)
_add("rnn_relu_step", _away_from_relu_kink,
     lambda *ts, nonlinearity: R.RNNStep.apply(*ts, nonlinearity=nonlinearity), _np_rnn)
_add("lstm_step", _step_sample(4), lambda *ts: mg.cat(list(R.LSTMStep.apply(*ts)), dim=-1),
     _np_lstm)
_add("gru_step", _step_sample(3), lambda *ts: R.GRUStep.apply(*ts), _np_gru)


def _sequence_sample(d):
    steps, batch = d.integer(1, 3), d.integer(1, 2)
    features, hidden = d.integer(1, 3), d.integer(1, 2)
    arrays = [d.values((steps, batch, features)), d.values((batch, hidden)),
              d.values((batch, hidden)), d.values((4 * hidden, features)) * 0.5,
              d.values((4 * hidden, hidden)) * 0.5]
    if d.boolean():
        arrays.append(d.values((4 * hidden,)))
    return arrays, {"reverse": d.boolean()}


def _np_lstm_sequence(x, h, c, w_ih, w_hh, bias=None, reverse=False):
    outputs = [None] * x.shape[0]
    for t in (range(x.shape[0] - 1, -1, -1) if reverse else range(x.shape[0])):
        xg = x[t] @ w_ih.T + (0 if bias is None else bias)
        h, c = np.split(_np_lstm(xg, h, c, w_hh), 2, axis=-1)
        outputs[t] = h
    return np.concatenate(outputs + [h, c], axis=0)


def _lstm_sequence(x, h, c, w_ih, w_hh, *bias, reverse):
    outputs, h_n, c_n = RS.LSTMSequence.apply(x, h, c, w_ih, w_hh, *(bias or (None,)),
                                              reverse=reverse)
    return mg.cat([outputs.reshape(-1, h_n.shape[-1]), h_n, c_n], dim=0)


_add("lstm_sequence", _sequence_sample, _lstm_sequence, _np_lstm_sequence)
