"""A whole LSTM sequence (one layer, one direction) as one Function: the speed path of
:class:`minigrad.nn.LSTM`.

Per time step it does what :class:`~minigrad.functions.recurrent.LSTMStep` does, with the
same equations; being one node for all L steps it can also

- compute the input projection of every step in one matmul, ``X W_ihᵀ + b`` (L·N rows), and
  after the backward sweep the weight gradients of all steps in one matmul each:
  ``dW_ih = dGᵀ X``, ``dW_hh = dGᵀ H_prev``, ``db = Σ_rows dG``, ``dX = dG W_ih``, where
  dG (L·N, 4H) holds the gate gradients of every step (a few large matmuls instead of 2L
  small ones: the sweep keeps only what is truly sequential, ``dh_{t-1} = dG_t W_hh``);
- keep the activated gates, cells and tanh(cells) of all steps in three preallocated arrays.

Forward, for t in time order (reverse=True: from the last step to the first)::

    [i f g o]_t = x_t W_ihᵀ + b + h_{t-1} W_hhᵀ  →  σ, σ, tanh, σ
    c_t = f ⊙ c_{t-1} + i ⊙ g,   h_t = o ⊙ tanh(c_t)

The four activations are one tanh over all gates: σ(a) = ½ + ½ tanh(a/2), so the gates are
scaled by [½ ½ 1 ½] before the tanh and mapped back after (scaling by ½ is exact in binary
floating point, so it is folded into W_hh and into the projected inputs once for all steps).

Backward, in the opposite order, from dy_t (the output's gradient), dh_n and dc_n::

    dh = dy_t + dh_next
    dc = dc_next + dh ⊙ o ⊙ (1 - tanh²(c_t))
    dG_t = [dc ⊙ g · i(1-i),  dc ⊙ c_{t-1} · f(1-f),  dc ⊙ i · (1-g²),  dh ⊙ tanh(c_t) · o(1-o)]
    dh_next = dG_t W_hh,   dc_next = dc ⊙ f

``backward(create_graph=True)`` runs the same formulas on Tensors recomputed from the inputs,
so the gradient is differentiable again (slower; the array path is the fast one).
"""

from __future__ import annotations

from ..autograd import Function, is_grad_enabled
from ..backend import array_module
from ..tensor import Tensor, cat, stack
from .recurrent import _lstm_columns, _lstm_gates, _wrap

__all__ = ["LSTMSequence"]


def _time_order(steps, reverse):
    return range(steps - 1, -1, -1) if reverse else range(steps)


class LSTMSequence(Function):
    """outputs (L, N, H), h_n (N, H), c_n (N, H) of one LSTM direction over x (L, N, in), from
    h_0, c_0 (N, H), W_ih (4H, in), W_hh (4H, H) and b = b_ih + b_hh (4H,) or None."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, bias=None, reverse=False):
        xs = x.data
        xp = array_module(xs)
        steps, batch, features = xs.shape
        hidden = w_hh.shape[1]
        scale, offset, _, _ = _lstm_columns(hidden, xs.dtype, xp)
        acts = xs.reshape(steps * batch, features) @ w_ih.data.T  # every step's projection
        if bias is not None:
            acts += bias.data
        acts *= scale
        acts = acts.reshape(steps, batch, 4 * hidden)
        w_scaled = (w_hh.data * scale[:, None]).T   # (H, 4H): ½ folded in, exactly
        cells = xp.empty((steps, batch, hidden), dtype=xs.dtype)
        tanh_cells = xp.empty_like(cells)
        hs = xp.empty_like(cells)
        product = xp.empty((batch, hidden), dtype=xs.dtype)
        h, c_prev = h0.data, c0.data
        n = hidden
        for t in _time_order(steps, reverse):
            gates = acts[t]
            gates += h @ w_scaled
            xp.tanh(gates, out=gates)
            gates *= scale
            gates += offset  # [i f g o], activated
            i, f, g, o = gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:3 * n], gates[:, 3 * n:]
            c = xp.multiply(f, c_prev, out=cells[t])
            c += xp.multiply(i, g, out=product)
            xp.tanh(c, out=tanh_cells[t])
            h, c_prev = xp.multiply(o, tanh_cells[t], out=hs[t]), c
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, bias)
        ctx.arrays = (acts, cells, tanh_cells, hs)
        ctx.reverse = reverse
        # copies: an in-place change of an output must not reach what backward reads
        return Tensor._make(hs.copy()), Tensor._make(h.copy()), Tensor._make(c_prev.copy())

    @staticmethod
    def backward(ctx, d_outputs, dh_n, dc_n):
        x, h0, c0, w_ih, w_hh, bias = ctx.saved_tensors
        if is_grad_enabled():  # create_graph: the same formulas on Tensors
            return _backward_on_tensors(ctx, x, h0, c0, w_ih, w_hh, bias, d_outputs, dh_n,
                                        dc_n)
        acts, cells, tanh_cells, hs = ctx.arrays
        xp = array_module(acts)
        steps, batch, width = acts.shape
        n = width // 4
        _, _, slope, bend = _lstm_columns(n, acts.dtype, xp)
        d_outputs, w_hh_data = d_outputs.data, w_hh.data
        d_gates = xp.empty_like(acts)
        derivative = xp.empty((batch, width), dtype=acts.dtype)
        dh_next, dc_next = dh_n.data, dc_n.data
        before = 1 if ctx.reverse else -1   # where the previous state of step t is
        for t in _time_order(steps, not ctx.reverse):
            gates, tanh_c = acts[t], tanh_cells[t]
            i, f, g, o = gates[:, :n], gates[:, n:2 * n], gates[:, 2 * n:3 * n], gates[:, 3 * n:]
            first = not 0 <= t + before < steps
            c_prev = c0.data if first else cells[t + before]
            dh = d_outputs[t] + dh_next
            dc = tanh_c * tanh_c
            xp.subtract(1.0, dc, out=dc)
            dc *= o
            dc *= dh
            dc += dc_next
            dg = d_gates[t]
            xp.multiply(dc, g, out=dg[:, :n])
            xp.multiply(dc, c_prev, out=dg[:, n:2 * n])
            xp.multiply(dc, i, out=dg[:, 2 * n:3 * n])
            xp.multiply(dh, tanh_c, out=dg[:, 3 * n:])
            xp.subtract(slope, gates, out=derivative)   # σ: a(1 - a), tanh: 1 - a²
            derivative *= gates
            derivative += bend
            dg *= derivative
            dh_next = dg @ w_hh_data
            dc *= f
            dc_next = dc
        need = ctx.needs_input_grad
        rows = d_gates.reshape(steps * batch, width)
        xs = x.data.reshape(steps * batch, -1)
        grads = [None] * 6
        if need[0]:
            grads[0] = (rows @ w_ih.data).reshape(x.shape)
        grads[1] = dh_next if need[1] else None
        grads[2] = dc_next if need[2] else None
        if need[3]:
            grads[3] = rows.T @ xs
        if need[4]:
            h_prev = (xp.concatenate([hs[1:], h0.data[None]]) if ctx.reverse else
                      xp.concatenate([h0.data[None], hs[:-1]]))
            grads[4] = rows.T @ h_prev.reshape(steps * batch, n)
        if bias is not None and need[5]:
            grads[5] = rows.sum(0)
        return _wrap(tuple(grads))


def _backward_on_tensors(ctx, x, h0, c0, w_ih, w_hh, bias, d_outputs, dh_n, dc_n):
    """The backward formulas of the module docstring with Tensor ops on a forward recomputed
    from the inputs, so every factor depends on them (double backward)."""
    steps = x.shape[0]
    projected = x @ w_ih.T if bias is None else x @ w_ih.T + bias
    states, h, c = {}, h0, c0
    for t in _time_order(steps, ctx.reverse):
        i, f, g, o = _lstm_gates(projected[t], h, w_hh, None, Tensor.sigmoid, Tensor.tanh)
        states[t] = (h, c, i, f, g, o)   # the step's previous state and its gates
        c = f * c + i * g
        h = o * c.tanh()
    d_gates, dh_next, dc_next, dw_hh = [None] * steps, dh_n, dc_n, 0
    for t in _time_order(steps, not ctx.reverse):
        h_prev, c_prev, i, f, g, o = states[t]
        tanh_c = (f * c_prev + i * g).tanh()
        dh = d_outputs[t] + dh_next
        dc = dc_next + dh * o * (1.0 - tanh_c * tanh_c)
        dg = cat([dc * g * i * (1.0 - i), dc * c_prev * f * (1.0 - f),
                  dc * i * (1.0 - g * g), dh * tanh_c * o * (1.0 - o)], dim=1)
        d_gates[t] = dg
        dw_hh = dw_hh + dg.T @ h_prev
        dh_next, dc_next = dg @ w_hh, dc * f
    rows = stack(d_gates, dim=0).reshape(steps * x.shape[1], -1)
    need = ctx.needs_input_grad
    return (rows.reshape(x.shape[:2] + (-1,)) @ w_ih if need[0] else None,
            dh_next if need[1] else None, dc_next if need[2] else None,
            rows.T @ x.reshape(rows.shape[0], -1) if need[3] else None,
            dw_hh if need[4] else None,
            rows.sum(0) if bias is not None and need[5] else None)
