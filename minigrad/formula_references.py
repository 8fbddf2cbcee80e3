"""The NumPy references of :mod:`minigrad.formulas` that take more than one line: the update
rules (momentum, Nesterov, Adagrad, RMSprop, Adam and AdamW, SGD weight decay, gradient
descent) written as plain loops, one line of math to one line of code, for reading and
checking, never for training."""

from __future__ import annotations

import math

import numpy as np  # references run on host NumPy arrays by design


def _log_softmax(x, axis=1):
    shifted = x - x.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _momentum_pytorch(theta, grad_fn, lrs, momentum):
    theta, b = theta.copy(), None
    for lr in lrs:
        g = grad_fn(theta)
        b = g.copy() if b is None else momentum * b + g      # b_1 = g_1
        theta = theta - lr * b
    return theta


def _momentum_ema(theta, grad_fn, lrs, momentum):
    theta, v = theta.copy(), np.zeros_like(theta)
    for lr in lrs:
        v = momentum * v + (1 - momentum) * grad_fn(theta)
        theta = theta - lr * v
    return theta


def _momentum_lr_inside(theta, grad_fn, lrs, momentum):
    theta, v = theta.copy(), np.zeros_like(theta)
    for lr in lrs:
        v = momentum * v - lr * grad_fn(theta)
        theta = theta + v
    return theta


def _nesterov_pytorch(theta, grad_fn, lrs, momentum):
    theta, b = theta.copy(), None
    for lr in lrs:
        g = grad_fn(theta)
        b = g.copy() if b is None else momentum * b + g
        theta = theta - lr * (g + momentum * b)
    return theta


def _nesterov_sutskever(theta, grad_fn, lrs, momentum):
    theta, v = theta.copy(), np.zeros_like(theta)
    for lr in lrs:
        v = momentum * v - lr * grad_fn(theta + momentum * v)   # gradient at the look-ahead
        theta = theta + v
    return theta


def _adagrad(eps_inside):
    def update(theta, grad_fn, lrs, eps):
        theta, s = theta.copy(), np.zeros_like(theta)
        for lr in lrs:
            g = grad_fn(theta)
            s = s + g * g
            denom = np.sqrt(s + eps) if eps_inside else np.sqrt(s) + eps
            theta = theta - lr * g / denom
        return theta
    return update


def _rmsprop(eps_inside):
    def update(theta, grad_fn, lrs, alpha, eps):
        theta, v = theta.copy(), np.zeros_like(theta)
        for lr in lrs:
            g = grad_fn(theta)
            v = alpha * v + (1 - alpha) * g * g
            denom = np.sqrt(v + eps) if eps_inside else np.sqrt(v) + eps
            theta = theta - lr * g / denom
        return theta
    return update


def _adam(form, decay="none"):
    """form: 'pytorch' (m̂/(√v̂ + ε)), 'eps_hat' (η_t m/(√v + ε̂)) or 'no_bias_correction';
    decay: 'none', 'l2' (λθ added to g) or 'decoupled' (θ ← θ − ηλθ first)."""
    def update(theta, grad_fn, lrs, beta1, beta2, eps, weight_decay=0.0):
        theta, m, v = theta.copy(), np.zeros_like(theta), np.zeros_like(theta)
        for t, lr in enumerate(lrs, start=1):
            g = grad_fn(theta)
            if decay == "l2":
                g = g + weight_decay * theta
            if decay == "decoupled":
                theta = theta - lr * weight_decay * theta
            m = beta1 * m + (1 - beta1) * g
            v = beta2 * v + (1 - beta2) * g * g
            if form == "pytorch":
                m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
                theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
            elif form == "eps_hat":
                lr_t = lr * math.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
                theta = theta - lr_t * m / (np.sqrt(v) + eps)
            else:
                theta = theta - lr * m / (np.sqrt(v) + eps)
        return theta
    return update


def _sgd_decay(decoupled):
    def update(theta, grad_fn, lrs, weight_decay):
        theta = theta.copy()
        for lr in lrs:
            g = grad_fn(theta)
            if decoupled:
                theta = theta - lr * weight_decay * theta - lr * g
            else:
                theta = theta - lr * (g + weight_decay * theta)
        return theta
    return update


def _gradient_descent(batch):
    """One pass over (X, y) in order, batches of ``batch`` rows (None: all), on the loss
    mean_B (x·θ − y)², gradient (2/|B|) X_Bᵀ(X_B θ − y_B)."""
    def update(theta, X, y, lr):
        theta, size = theta.copy(), batch or len(y)
        for start in range(0, len(y), size):
            xb, yb = X[start:start + size], y[start:start + size]
            theta = theta - lr * 2 * xb.T @ (xb @ theta - yb) / len(yb)
        return theta
    return update
