"""Recurrent layers with ``torch.nn``'s names, parameter layout and semantics: ``RNN`` (tanh or
relu), ``LSTM`` and ``GRU`` over whole sequences (``num_layers``, ``bidirectional``,
``batch_first``, dropout between layers, initial states, unbatched input) and the single-step
cells ``RNNCell``, ``LSTMCell`` and ``GRUCell``.

Parameters, as PyTorch names and lays them out (G = 1, 4 or 3 gates, H = hidden_size; layer
k > 0 reads the D·H outputs of layer k - 1, D = 2 when bidirectional)::

    weight_ih_l{k}[_reverse]  (G·H, input_size or D·H)     bias_ih_l{k}[_reverse]  (G·H,)
    weight_hh_l{k}[_reverse]  (G·H, H)                     bias_hh_l{k}[_reverse]  (G·H,)

with the gates stacked in rows: LSTM (i, f, g, o), GRU (r, z, n). Every parameter starts as
U(-1/√H, 1/√H). A ``state_dict`` of a PyTorch layer therefore loads unchanged.

Two implementations of each step: the composed-op cells below (``rnn_cell``, ``lstm_cell``,
``gru_cell``: the equations written with Tensor ops, the readable reference) and the fused
Functions of :mod:`minigrad.functions.recurrent` (one node per step, the input projection of
all time steps in one matmul, backward by hand; the LSTM layer goes further, one node per
direction and layer for the whole sequence: :mod:`minigrad.functions.recurrent_sequence`),
which the layers use unless ``use_fused = False`` is set on them. The tests check that the
two agree.
"""

from __future__ import annotations

import math

from .. import creation
from ..functions import recurrent as R
from ..functions import recurrent_sequence as RS
from ..tensor import Tensor, cat, stack
from . import functional as F
from . import init
from .module import Module, Parameter

__all__ = ["RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "rnn_cell", "lstm_cell",
           "gru_cell"]


# --- the reference cells: one line of math per line -----------------------------------------


def rnn_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None, nonlinearity="tanh"):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu."""
    pre = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_cell(x, state, w_ih, w_hh, b_ih=None, b_hh=None):
    """(h', c') of one LSTM step from (h, c):

        i = σ(W_ii x + b_ii + W_hi h + b_hi)      f = σ(W_if x + b_if + W_hf h + b_hf)
        g = tanh(W_ig x + b_ig + W_hg h + b_hg)   o = σ(W_io x + b_io + W_ho h + b_ho)
        c' = f ⊙ c + i ⊙ g                        h' = o ⊙ tanh(c')
    """
    h, c = state
    gates = F.linear(x, w_ih, b_ih) + F.linear(h, w_hh, b_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_new = f * c + i * g
    h_new = o * c_new.tanh()
    return h_new, c_new


def gru_cell(x, h, w_ih, w_hh, b_ih=None, b_hh=None):
    """h' of one GRU step (b_hn inside the reset product, as in PyTorch):

        r = σ(W_ir x + b_ir + W_hr h + b_hr)      z = σ(W_iz x + b_iz + W_hz h + b_hz)
        n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
        h' = (1 - z) ⊙ n + z ⊙ h
    """
    x_r, x_z, x_n = F.linear(x, w_ih, b_ih).chunk(3, dim=-1)
    h_r, h_z, h_n = F.linear(h, w_hh, b_hh).chunk(3, dim=-1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return (1.0 - z) * n + z * h


# --- the modes: gates, reference cell and fused step of each ----------------------------------


_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _reference_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """(h', c') by the composed cell (c is None except for the LSTM)."""
    if mode == "LSTM":
        return lstm_cell(x, (h, c), w_ih, w_hh, b_ih, b_hh)
    if mode == "GRU":
        return gru_cell(x, h, w_ih, w_hh, b_ih, b_hh), None
    return rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, _NONLINEARITY[mode]), None


_NONLINEARITY = {"RNN_TANH": "tanh", "RNN_RELU": "relu"}


def _fused_step(mode, xg, h, c, w_hh, b_hh):
    """(h', c') by the fused Function, from the input projection xg = x W_ihᵀ + b_ih."""
    extra = () if b_hh is None else (b_hh,)
    if mode == "LSTM":
        return R.LSTMStep.apply(xg, h, c, w_hh, *extra)
    if mode == "GRU":
        return R.GRUStep.apply(xg, h, w_hh, *extra), None
    return R.RNNStep.apply(xg, h, w_hh, *extra, nonlinearity=_NONLINEARITY[mode]), None


def _check_input(layer, x, ndims, feature_size):
    name = type(layer).__name__
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected the input as a Tensor, got {type(x).__name__}")
    if x.ndim not in ndims or x.shape[-1] != feature_size:
        raise ValueError(f"{name}: expected input of {' or '.join(map(str, ndims))} dims with "
                         f"{feature_size} features in the last dim (input_size), got shape "
                         f"{tuple(x.shape)}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got {x.dtype}")
    weight = layer.weight_ih_l0 if isinstance(layer, RNNBase) else layer.weight_ih
    if x.dtype != weight.dtype:
        raise TypeError(f"{name}: input is {x.dtype} but the parameters are {weight.dtype}; "
                        f"convert one of them (layer.double() or input.float())")
    if isinstance(layer, RNNBase) and x.shape[0 if x.ndim == 2 or not layer.batch_first
                                             else 1] == 0:
        raise ValueError(f"{name}: expected at least one time step, got input of shape "
                         f"{tuple(x.shape)}")


def _check_state(layer, state, expected, what):
    if not isinstance(state, Tensor) or tuple(state.shape) != expected:
        got = tuple(state.shape) if isinstance(state, Tensor) else type(state).__name__
        raise ValueError(f"{type(layer).__name__}: expected {what} of shape {expected}, got "
                         f"{got}")


# --- the sequence layers ---------------------------------------------------------------------


class RNNBase(Module):
    """What RNN, LSTM and GRU share: parameters, checks and the loop over layers, directions
    and time. ``mode`` is 'RNN_TANH', 'RNN_RELU', 'LSTM' or 'GRU'.

    forward(input, hx=None) with input (L, N, H_in) ((N, L, H_in) with ``batch_first``) or
    unbatched (L, H_in); hx (num_layers·D, N, H) (or (num_layers·D, H) unbatched), zeros when
    omitted; for the LSTM a tuple (h_0, c_0). Returns output (L, N, D·H) (batch_first: (N, L,
    D·H); unbatched: (L, D·H)) with the last layer's h_t of both directions side by side, and
    h_n of every layer and direction (LSTM: (h_n, c_n)), layer-major: index 2k + d.
    """

    use_fused = True  # False: the composed reference cells (same results, slower)

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{name}: unknown mode {mode!r}")
        if hidden_size <= 0 or input_size <= 0 or num_layers <= 0:
            raise ValueError(f"{name}: input_size ({input_size}), hidden_size ({hidden_size}) "
                             f"and num_layers ({num_layers}) must be positive")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], got {dropout}")
        if proj_size:
            raise NotImplementedError(f"{name}: proj_size is not supported by minigrad")
        self.mode = mode
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first = bias, batch_first
        self.dropout, self.bidirectional = float(dropout), bidirectional
        self.proj_size = 0
        gate_size = _GATES[mode] * hidden_size
        directions = 2 if bidirectional else 1
        self._weight_names = []  # per (layer, direction): (w_ih, w_hh, b_ih, b_hh) names
        for layer in range(num_layers):
            layer_input = input_size if layer == 0 else hidden_size * directions
            for suffix in ("", "_reverse")[:directions]:
                names = [f"weight_ih_l{layer}{suffix}", f"weight_hh_l{layer}{suffix}"]
                shapes = [(gate_size, layer_input), (gate_size, hidden_size)]
                if bias:
                    names += [f"bias_ih_l{layer}{suffix}", f"bias_hh_l{layer}{suffix}"]
                    shapes += [(gate_size,), (gate_size,)]
                for n, shape in zip(names, shapes):
                    setattr(self, n, Parameter(creation.zeros(shape, dtype=dtype,
                                                              device=device)))
                self._weight_names.append(names + [None, None][:4 - len(names)])
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """Every weight and bias from U(-1/√H, 1/√H), as in PyTorch."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self) -> None:
        """Does nothing (PyTorch packs cuDNN weights here; kept so PyTorch code runs)."""

    def _weights(self, index):
        return [None if n is None else getattr(self, n) for n in self._weight_names[index]]

    def _initial_state(self, input, hx, batched, batch):
        """(h_0, c_0) as (num_layers·D, N, H), zeros where not given."""
        directions = 2 if self.bidirectional else 1
        expected = ((self.num_layers * directions, batch, self.hidden_size) if batched else
                    (self.num_layers * directions, self.hidden_size))
        if hx is None:
            zeros = creation.zeros((self.num_layers * directions, batch, self.hidden_size),
                                   dtype=input.dtype, device=input.device)
            return (zeros, zeros) if self.mode == "LSTM" else (zeros, None)
        if self.mode == "LSTM":
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTM: expected hx as a tuple (h_0, c_0), got "
                                f"{type(hx).__name__}")
            _check_state(self, hx[0], expected, "h_0")
            _check_state(self, hx[1], expected, "c_0")
            h0, c0 = hx
        else:
            _check_state(self, hx, expected, "hx")
            h0, c0 = hx, None
        if not batched:
            h0, c0 = h0.unsqueeze(1), (None if c0 is None else c0.unsqueeze(1))
        return h0, c0

    def _direction(self, x, h, c, index, reverse):
        """Run one direction of one layer over x (L, N, in): (outputs (L, N, H), h_n, c_n)."""
        w_ih, w_hh, b_ih, b_hh = self._weights(index)
        steps = x.shape[0]
        order = range(steps - 1, -1, -1) if reverse else range(steps)
        outputs = [None] * steps
        if self.use_fused and self.mode == "LSTM":  # the whole sequence as one node
            bias = None if b_ih is None else b_ih + b_hh
            outputs, h, c = RS.LSTMSequence.apply(x, h, c, w_ih, w_hh, bias, reverse=reverse)
            return outputs, h, c
        if self.use_fused:
            if b_hh is not None and self.mode != "GRU":
                # b_hh only adds to the gates (the GRU's b_hn does not): fold it into the
                # input projection's bias, once for all steps.
                b_ih, b_hh = b_ih + b_hh, None
            projected = R.Unbind.apply(F.linear(x, w_ih, b_ih))  # all steps in one matmul
            for t in order:
                h, c = _fused_step(self.mode, projected[t], h, c, w_hh, b_hh)
                outputs[t] = h
        else:
            for t in order:
                h, c = _reference_step(self.mode, x[t], h, c, w_ih, w_hh, b_ih, b_hh)
                outputs[t] = h
        return stack(outputs, dim=0), h, c

    def forward(self, input, hx=None):
        _check_input(self, input, (2, 3), self.input_size)
        batched = input.ndim == 3
        x = input if batched else input.unsqueeze(1)
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        h0, c0 = self._initial_state(input, hx, batched, x.shape[1])
        directions = 2 if self.bidirectional else 1
        last_h, last_c = [], []
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                k = layer * directions + d
                out, h, c = self._direction(x, h0[k], None if c0 is None else c0[k], k,
                                            reverse=d == 1)
                outs.append(out)
                last_h.append(h)
                last_c.append(c)
            x = outs[0] if directions == 1 else cat(outs, dim=-1)
            if layer < self.num_layers - 1 and self.dropout > 0:
                x = F.dropout(x, self.dropout, self.training)
        h_n = stack(last_h, dim=0)
        c_n = stack(last_c, dim=0) if self.mode == "LSTM" else None
        if not batched:
            x, h_n = x.squeeze(1), h_n.squeeze(1)
            c_n = None if c_n is None else c_n.squeeze(1)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return (x, (h_n, c_n)) if self.mode == "LSTM" else (x, h_n)

    def extra_repr(self) -> str:
        text = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            text += f", num_layers={self.num_layers}"
        for name, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                              ("bidirectional", False)):
            if getattr(self, name) != default:
                text += f", {name}={getattr(self, name)}"
        return text


class RNN(RNNBase):
    """Elman RNN, per layer and direction: h_t = act(x_t W_ihᵀ + b_ih + h_{t-1} W_hhᵀ + b_hh),
    act = tanh (``nonlinearity='tanh'``) or relu. Arguments, shapes and parameters as in
    PyTorch (see :class:`RNNBase`)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__("RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU", input_size,
                         hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         device=device, dtype=dtype)


class LSTM(RNNBase):
    """Long short-term memory, per layer and direction (gates i, f, g, o stacked in W's rows):

        i_t = σ(x_t W_iiᵀ + b_ii + h_{t-1} W_hiᵀ + b_hi)
        f_t = σ(x_t W_ifᵀ + b_if + h_{t-1} W_hfᵀ + b_hf)
        g_t = tanh(x_t W_igᵀ + b_ig + h_{t-1} W_hgᵀ + b_hg)
        o_t = σ(x_t W_ioᵀ + b_io + h_{t-1} W_hoᵀ + b_ho)
        c_t = f_t ⊙ c_{t-1} + i_t ⊙ g_t,     h_t = o_t ⊙ tanh(c_t)

    forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n)); see :class:`RNNBase`.
    ``proj_size`` is not supported.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)


class GRU(RNNBase):
    """Gated recurrent unit, per layer and direction (gates r, z, n stacked in W's rows):

        r_t = σ(x_t W_irᵀ + b_ir + h_{t-1} W_hrᵀ + b_hr)
        z_t = σ(x_t W_izᵀ + b_iz + h_{t-1} W_hzᵀ + b_hz)
        n_t = tanh(x_t W_inᵀ + b_in + r_t ⊙ (h_{t-1} W_hnᵀ + b_hn))
        h_t = (1 - z_t) ⊙ n_t + z_t ⊙ h_{t-1}

    forward(input, h_0=None) -> (output, h_n); see :class:`RNNBase`.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)


# --- the cells -------------------------------------------------------------------------------


class _CellBase(Module):
    """One step: weight_ih (G·H, input_size), weight_hh (G·H, H), bias_ih, bias_hh (G·H,),
    all U(-1/√H, 1/√H). Input (N, input_size) or unbatched (input_size,)."""

    mode = "RNN_TANH"
    use_fused = True

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__()
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gate_size = _GATES[self.mode] * hidden_size
        self.weight_ih = Parameter(creation.zeros((gate_size, input_size), dtype=dtype,
                                                  device=device))
        self.weight_hh = Parameter(creation.zeros((gate_size, hidden_size), dtype=dtype,
                                                  device=device))
        if bias:
            self.bias_ih = Parameter(creation.zeros((gate_size,), dtype=dtype, device=device))
            self.bias_hh = Parameter(creation.zeros((gate_size,), dtype=dtype, device=device))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    reset_parameters = RNNBase.reset_parameters

    def _state(self, input, hx, what):
        batched = input.ndim == 2
        expected = (input.shape[0], self.hidden_size) if batched else (self.hidden_size,)
        if hx is None:
            return creation.zeros(expected, dtype=input.dtype, device=input.device)
        _check_state(self, hx, expected, what)
        return hx

    def _step(self, input, h, c):
        _check_input(self, input, (1, 2), self.input_size)
        batched = input.ndim == 2
        if not batched:
            input, h = input.unsqueeze(0), h.unsqueeze(0)
            c = None if c is None else c.unsqueeze(0)
        if self.use_fused:
            xg = F.linear(input, self.weight_ih, self.bias_ih)
            h, c = _fused_step(self.mode, xg, h, c, self.weight_hh, self.bias_hh)
        else:
            h, c = _reference_step(self.mode, input, h, c, self.weight_ih, self.weight_hh,
                                   self.bias_ih, self.bias_hh)
        if not batched:
            h, c = h.squeeze(0), (None if c is None else c.squeeze(0))
        return h, c

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}" + ("" if self.bias else ", bias=False")


class RNNCell(_CellBase):
    """h' = act(x W_ihᵀ + b_ih + h W_hhᵀ + b_hh), act = tanh or relu (``nonlinearity``).
    forward(input, hx=None) -> h' (hx zeros when omitted)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        self.nonlinearity = nonlinearity
        self.mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, input, hx=None):
        _check_input(self, input, (1, 2), self.input_size)
        return self._step(input, self._state(input, hx, "hx"), None)[0]


class LSTMCell(_CellBase):
    """(h', c') of one LSTM step (equations of :func:`lstm_cell`, gates i, f, g, o).
    forward(input, (h, c)=None) -> (h', c')."""

    mode = "LSTM"

    def forward(self, input, hx=None):
        _check_input(self, input, (1, 2), self.input_size)
        if hx is None:
            h = c = self._state(input, None, "h")
        else:
            if not isinstance(hx, (tuple, list)) or len(hx) != 2:
                raise TypeError(f"LSTMCell: expected hx as a tuple (h, c), got "
                                f"{type(hx).__name__}")
            h, c = self._state(input, hx[0], "h"), self._state(input, hx[1], "c")
        return self._step(input, h, c)


class GRUCell(_CellBase):
    """h' of one GRU step (equations of :func:`gru_cell`, gates r, z, n).
    forward(input, hx=None) -> h'."""

    mode = "GRU"

    def forward(self, input, hx=None):
        _check_input(self, input, (1, 2), self.input_size)
        return self._step(input, self._state(input, hx, "hx"), None)[0]
