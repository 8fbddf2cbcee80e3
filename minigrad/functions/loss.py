"""Ops written for the losses, where composing Tensor ops would lose accuracy or speed.

Each is a Function with forward (on arrays) and backward (on Tensors, so double backward
works) side by side:

- :class:`Softplus` log(1 + e^a) without overflow, and exact (through ``log1p``) where e^-|a|
  is far below machine epsilon: the building block of BCE-with-logits at logits of ±100.
- :class:`BinaryCrossEntropy` BCE on probabilities with PyTorch's clamp of log at -100 and its
  gradient denominator kept off zero, so probabilities of exactly 0 or 1 give finite values.
- :class:`SoftmaxCrossEntropy` cross-entropy of logits against class indices, fused: the hot
  path of every classifier (one pass forward, one formula backward).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, is_grad_enabled
from ..backend import array_module

# Below this, x(1 - x) is treated as this in BCE's gradient denominator (PyTorch's EPSILON).
BCE_GRAD_EPS = 1e-12
# PyTorch clamps BCE's logs at -100, so a probability of 0 or 1 costs at most 100, never inf.
BCE_LOG_MIN = -100.0


class Softplus(Function):
    """out = log(1 + e^a) = max(a, 0) + log1p(e^-|a|);  da = g * σ(a)

    The second form never overflows (e^-|a| ≤ 1) and ``log1p`` keeps e^-|a| even when it is
    far smaller than machine epsilon: softplus(-100) = 3.72e-44, not 0.
    """

    def forward(self, a):
        xp = array_module(a)
        return xp.maximum(a, 0) + xp.log1p(xp.exp(-abs(a)))

    def backward(self, g):
        return g * self.inputs[0].sigmoid()


class BinaryCrossEntropy(Function):
    """out = -[y · max(log x, -100) + (1 - y) · max(log(1 - x), -100)]   (elementwise)

    dx = g · (x - y) / max(x (1 - x), 1e-12)       (the derivative, kept finite at x = 0 or 1)
    dy = g · (max(log(1 - x), -100) - max(log x, -100))
    """

    def forward(self, x, y):
        xp = array_module(x)
        with np.errstate(divide="ignore"):  # log(0) = -inf, then clamped to -100
            log_x = xp.maximum(xp.log(x), BCE_LOG_MIN)
            log_1mx = xp.maximum(xp.log1p(-x), BCE_LOG_MIN)  # log(1 - x), accurate for small x
        return -(y * log_x + (1 - y) * log_1mx)

    def backward(self, g):
        x, y = self.inputs
        need_x, need_y = self.needs_input_grad
        dx = dy = None
        if need_x:
            dx = g * (x - y) / (x * (1.0 - x)).clamp(min=BCE_GRAD_EPS)
        if need_y:
            with np.errstate(divide="ignore"):
                log_x = x.log().clamp(min=BCE_LOG_MIN)
                log_1mx = (1.0 - x).log().clamp(min=BCE_LOG_MIN)
            dy = g * (log_1mx - log_x)
        return dx, dy


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of logits x (N, C) against class indices t (N,), fused with its reduction:

        l_n = c_n · (log Σ_c exp(x_nc) - x_{n,t_n})     (through the max-shifted log-sum-exp)
        out = Σ_n l_n if reduce else l
        dx_nc = g · c_n · (softmax(x)_nc - [c = t_n])    (g_n · c_n ... when not reduced)

    ``coef`` c is a number or an (N,) array: 1/N for the plain mean, w[t_n] / Σ w[t_m] for the
    weighted mean, 0 for ignored samples. ``target`` must hold valid class indices (the caller
    checks the range and points ignored entries at class 0, with c_n = 0).
    """

    def forward(self, x, target, coef, reduce):
        xp = array_module(x)
        rows = xp.arange(x.shape[0])
        self.target, self.coef = target, coef
        shifted = x - x.max(axis=1, keepdims=True)
        e = xp.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        losses = (xp.log(total[:, 0]) - shifted[rows, target]) * coef
        if is_grad_enabled():  # softmax - one_hot: the gradient per unit of l_n, saved once
            softmax_minus_onehot = e / total
            softmax_minus_onehot[rows, target] -= 1
            self.slope = softmax_minus_onehot
        return losses.sum() if reduce else losses

    def backward(self, g):
        (x,) = self.inputs
        if is_grad_enabled():
            # create_graph: the same softmax - one_hot, but with softmax as a recorded op, so
            # that this gradient can itself be differentiated (Hessian-vector products).
            xp = array_module(x.data)
            one_hot = xp.zeros(x.data.shape, dtype=x.data.dtype)
            one_hot[xp.arange(x.data.shape[0]), self.target] = 1
            slope = x.softmax(1) - type(x)._make(one_hot)
        else:
            slope = type(x)._make(self.slope)
        coef = self.coef
        if not isinstance(coef, float):
            coef = type(x)._make(coef)
        scale = g * coef  # g · c_n: a number, or (N,)
        return slope * (scale.reshape(-1, 1) if scale.ndim else scale)
