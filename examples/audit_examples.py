"""Three formulas as a training text might print them, written in NumPy, for
``python -m minigrad audit`` to say which convention each follows (see the README, "Learning
the math"):

    python -m minigrad audit --fn examples/audit_examples.py:l2 --formula l2
    python -m minigrad audit --fn examples/audit_examples.py:rmsprop --formula rmsprop
    python -m minigrad audit --fn examples/audit_examples.py:log_loss --formula log_loss
"""

import numpy as np


def l2(w):
    """The L2 penalty as ‖w‖₂ (a norm, not the sum of squares)."""
    return np.sqrt(np.sum(w ** 2))


def rmsprop(theta, grad_fn, lrs, alpha=0.99, eps=1e-8):
    """RMSprop with ε inside the square root (TensorFlow's form)."""
    theta = np.array(theta, dtype=float)
    v = np.zeros_like(theta)
    for lr in lrs:
        g = grad_fn(theta)
        v = alpha * v + (1 - alpha) * g * g
        theta = theta - lr * g / np.sqrt(v + eps)
    return theta


def log_loss(p, y):
    """Binary log loss with a sign error (the minus sign forgotten)."""
    return np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
