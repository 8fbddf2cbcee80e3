"""The fused recurrent cell steps behind :mod:`minigrad.nn.rnn`: one Function per time step
of an Elman RNN, an LSTM and a GRU, forward and backward written by hand, plus ``Unbind``,
which cuts a sequence into its time steps as one graph node.

Every step takes the input projection ``xg = x W_ihᵀ + b_ih`` already computed (the layers
compute it for all time steps in one matmul) and does the hidden projection of all gates in
one matmul ``h W_hhᵀ + b_hh``. The readable composed-op cells in :mod:`minigrad.nn.rnn` are
the reference these are tested against.

Backward formulas are written once and run on arrays (plain backward: fast) or on Tensors
recomputed from the inputs (``create_graph=True``: the backward is differentiable again), as
:class:`~minigrad.functions.activation.Normalize` does.
"""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..backend import array_module
from ..tensor import Tensor, cat, stack

__all__ = ["RNNStep", "LSTMStep", "GRUStep", "Unbind", "sigmoid_array"]


def sigmoid_array(a):
    """σ(a) = 1 / (1 + e^-a) = (1 + tanh(a / 2)) / 2: one tanh, never overflows."""
    s = array_module(a).tanh(a * 0.5)
    s *= 0.5
    s += 0.5
    return s


def _hidden_projection(h, w_hh, b_hh):
    """h W_hhᵀ (+ b_hh) on arrays or Tensors."""
    out = h @ w_hh.T
    return out if b_hh is None else out + b_hh


def _weight_grads(d_hidden_gates, h, w_hh, needs):
    """dh (through W_hh), dW_hh = Σ_rows dgᵀ h and db_hh = Σ_rows dg of one step."""
    dh = d_hidden_gates @ w_hh if needs[0] else None
    dw = d_hidden_gates.T @ h if needs[1] else None
    db = d_hidden_gates.sum(0) if needs[2] else None
    return dh, dw, db


def _tensor_or_none(a):
    return None if a is None or isinstance(a, Tensor) else Tensor._make(a)


def _wrap(grads):
    return tuple(g if g is None or isinstance(g, Tensor) else Tensor._make(g) for g in grads)


class RNNStep(Function):
    """One Elman step: h' = act(xg + h W_hhᵀ + b_hh), act = tanh or relu;

    with d = g · act'(pre) (tanh: 1 - h'², relu: [h' > 0]):
    dxg = d,  dh = d W_hh,  dW_hh = dᵀ h,  db_hh = Σ_rows d.
    """

    def forward(self, xg, h, w_hh, b_hh=None, nonlinearity="tanh"):
        self.nonlinearity = nonlinearity
        pre = xg + h @ w_hh.T
        if b_hh is not None:
            pre += b_hh
        xp = array_module(pre)
        self.out = xp.tanh(pre, out=pre) if nonlinearity == "tanh" else xp.maximum(pre, 0,
                                                                                 out=pre)
        return self.out

    def backward(self, g):
        out = self.output()  # tied to this node: double backward flows through it
        if self.nonlinearity == "tanh":
            d = g * (1.0 - out * out)
        else:
            d = g * Tensor._make((self.out > 0).astype(self.out.dtype))
        w_hh, h = self.inputs[2], self.inputs[1]
        need = self.needs_input_grad
        dh, dw, db = _weight_grads(d, h, w_hh, (need[1], need[2], len(need) > 3 and need[3]))
        grads = (d if need[0] else None, dh, dw)
        return grads + (db,) if len(need) > 3 else grads


def _lstm_gates(xg, h, w_hh, b_hh, sigmoid, tanh):
    """The four gates i, f, g, o of one LSTM step (Tensors: the create_graph path)."""
    gates = xg + _hidden_projection(h, w_hh, b_hh)
    n = gates.shape[-1] // 4
    return (sigmoid(gates[:, :n]), sigmoid(gates[:, n:2 * n]), tanh(gates[:, 2 * n:3 * n]),
            sigmoid(gates[:, 3 * n:]))


_lstm_constants: dict = {}  # (hidden size, dtype, array module) -> column vectors


def _lstm_columns(n, dtype, xp):
    """Per-column constants of the four gates [i f g o] (σ σ tanh σ):
    scale = [½ ½ 1 ½] and offset = [½ ½ 0 ½], so that act = tanh(pre · scale) · scale + offset
    gives σ(pre) = ½ + ½ tanh(pre / 2) and tanh(pre) with one tanh over all gates; and
    slope = [1 1 0 1], bend = [0 0 1 0], so that act · (slope - act) + bend is the derivative
    (σ: a(1 - a), tanh: 1 - a²)."""
    key = (n, dtype, xp.__name__)
    cached = _lstm_constants.get(key)
    if cached is None:
        def column(sigmoid_value, tanh_value):
            v = xp.full(4 * n, sigmoid_value, dtype=dtype)
            v[2 * n:3 * n] = tanh_value
            return v
        cached = _lstm_constants[key] = (column(0.5, 1.0), column(0.5, 0.0), column(1.0, 0.0),
                                         column(0.0, 1.0))
    return cached


class LSTMStep(Function):
    """One LSTM step (PyTorch's gate order i, f, g, o in the rows of W):

        [i f g o] = xg + h W_hhᵀ + b_hh  →  σ, σ, tanh, σ
        c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh(c')

    Backward, from dh' and dc' (both outputs may get gradients):
        dc = dc' + dh' ⊙ o ⊙ (1 - tanh²(c'))
        do = dh' ⊙ tanh(c'),  di = dc ⊙ g,  df = dc ⊙ c,  dg = dc ⊙ i,  dc_prev = dc ⊙ f
        dgates = [di i(1-i), df f(1-f), dg (1-g²), do o(1-o)]
        dxg = dgates,  dh = dgates W_hh,  dW_hh = dgatesᵀ h,  db_hh = Σ_rows dgates

    On arrays the four activations are one tanh over all gates (see :func:`_lstm_columns`).
    """

    @staticmethod
    def forward(ctx, xg, h, c, w_hh, b_hh=None):
        xp = array_module(xg.data)
        gates = h.data @ w_hh.data.T
        gates += xg.data
        if b_hh is not None:
            gates += b_hh.data
        n = gates.shape[1] // 4
        scale, offset, _, _ = _lstm_columns(n, gates.dtype, xp)
        gates *= scale
        act = xp.tanh(gates, out=gates)
        act *= scale
        act += offset  # [i f g o], activated
        i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
        c_new = f * c.data
        c_new += i * g
        tanh_c = xp.tanh(c_new)
        ctx.save_for_backward(xg, h, c, w_hh, b_hh)
        ctx.arrays = (act, tanh_c)
        return Tensor._make(o * tanh_c), Tensor._make(c_new)

    @staticmethod
    def backward(ctx, dh_new, dc_new):
        xg, h, c, w_hh, b_hh = ctx.saved_tensors
        need = ctx.needs_input_grad
        needs = (need[1], need[3], b_hh is not None and need[4])
        if is_grad_enabled():  # create_graph: every factor must depend on the inputs
            i, f, g, o = _lstm_gates(xg, h, w_hh, b_hh, Tensor.sigmoid, Tensor.tanh)
            tanh_c = (f * c + i * g).tanh()
            dc = dc_new + dh_new * o * (1.0 - tanh_c * tanh_c)
            do = dh_new * tanh_c
            dgates = _tensor_cat([dc * g * i * (1.0 - i), dc * c * f * (1.0 - f),
                                  dc * i * (1.0 - g * g), do * o * (1.0 - o)])
            dh, dw, db = _weight_grads(dgates, h, w_hh, needs)
            return dgates if need[0] else None, dh, dc * f if need[2] else None, dw, db
        act, tanh_c = ctx.arrays
        xp = array_module(act)
        n = act.shape[1] // 4
        i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
        dh_new, dc_new = dh_new.data, dc_new.data
        dc = 1.0 - tanh_c * tanh_c
        dc *= o
        dc *= dh_new
        dc += dc_new
        dgates = xp.empty_like(act)  # [di df dg do], then times the activations' slopes
        xp.multiply(dc, g, out=dgates[:, :n])
        xp.multiply(dc, c.data, out=dgates[:, n:2 * n])
        xp.multiply(dc, i, out=dgates[:, 2 * n:3 * n])
        xp.multiply(dh_new, tanh_c, out=dgates[:, 3 * n:])
        _, _, slope, bend = _lstm_columns(n, act.dtype, xp)
        derivative = slope - act
        derivative *= act
        derivative += bend
        dgates *= derivative
        dh, dw, db = _weight_grads(dgates, h.data, w_hh.data, needs)
        return _wrap((dgates if need[0] else None, dh, dc * f if need[2] else None, dw, db))


def _array_cat(parts):
    return array_module(parts[0]).concatenate(parts, axis=1)


def _tensor_cat(parts):
    return cat(parts, dim=1)


def _gru_parts(xg, h, w_hh, b_hh, sigmoid, tanh):
    """r, z, n and the hidden projection's n-part h W_hnᵀ + b_hn of one GRU step."""
    hg = _hidden_projection(h, w_hh, b_hh)
    k = hg.shape[-1] // 3
    r = sigmoid(xg[:, :k] + hg[:, :k])
    z = sigmoid(xg[:, k:2 * k] + hg[:, k:2 * k])
    hn = hg[:, 2 * k:]
    n = tanh(xg[:, 2 * k:] + r * hn)
    return r, z, n, hn


class GRUStep(Function):
    """One GRU step (PyTorch's gate order r, z, n; b_hn inside the reset product):

        [r z] = σ(xg_rz + (h W_hhᵀ + b_hh)_rz)
        n = tanh(xg_n + r ⊙ (h W_hnᵀ + b_hn)),   h' = (1 - z) ⊙ n + z ⊙ h

    Backward, from dh':
        dn = dh' ⊙ (1 - z) ⊙ (1 - n²),  dz = dh' ⊙ (h - n) ⊙ z(1-z),
        dr = dn ⊙ hn ⊙ r(1-r)   (hn = h W_hnᵀ + b_hn)
        dxg = [dr, dz, dn],  d_hidden = [dr, dz, dn ⊙ r]
        dh = dh' ⊙ z + d_hidden W_hh,  dW_hh = d_hiddenᵀ h,  db_hh = Σ_rows d_hidden
    """

    def forward(self, xg, h, w_hh, b_hh=None):
        xp = array_module(xg)
        r, z, n, hn = _gru_parts(xg, h, w_hh, b_hh, sigmoid_array, xp.tanh)
        self.arrays = (r, z, n, hn)
        out = h - n
        out *= z
        out += n  # (1 - z) n + z h = n + z (h - n)
        return out

    def backward(self, g):
        xg, h, w_hh = self.inputs[:3]
        b_hh = self.inputs[3] if len(self.inputs) > 3 else None
        need = self.needs_input_grad
        if is_grad_enabled():
            r, z, n, hn = _gru_parts(xg, h, w_hh, b_hh, Tensor.sigmoid, Tensor.tanh)
            cat = _tensor_cat
        else:
            r, z, n, hn = self.arrays
            g, h, w_hh = g.data, h.data, w_hh.data
            cat = _array_cat
        dn = g * (1.0 - z) * (1.0 - n * n)
        dz = g * (h - n) * z * (1.0 - z)
        dr = dn * hn * r * (1.0 - r)
        d_hidden = cat([dr, dz, dn * r])
        dh, dw, db = _weight_grads(d_hidden, h, w_hh, (need[1], need[2], len(need) > 3 and
                                                       need[3]))
        if need[1]:
            dh = dh + g * z
        grads = _wrap((cat([dr, dz, dn]) if need[0] else None, dh, dw))
        return grads + _wrap((db,)) if len(need) > 3 else grads


class Unbind(Function):
    """The time steps x[0], ..., x[L-1] of x (L, ...) as L outputs of one node;
    dx = stack(dx[0], ..., dx[L-1]) in one array (time steps that got no gradient are zeros).

    ``minigrad.unbind`` gives each slice a node whose backward fills a full-size array of
    zeros; a recurrence over L steps would then add L full-size arrays.
    """

    @staticmethod
    def forward(ctx, x):
        return tuple(Tensor._make(x.data[t]) for t in range(x.data.shape[0]))

    @staticmethod
    def backward(ctx, *grads):
        if is_grad_enabled():
            return stack(list(grads), dim=0)
        return Tensor._make(array_module(grads[0].data).stack([g.data for g in grads]))
