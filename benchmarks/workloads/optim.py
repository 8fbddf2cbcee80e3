"""Optimizer steps on 10 M float32 parameters: ``optim_step`` (one Adam step and one
SGD-momentum step), and the two apart as ``optim_adam`` and ``optim_sgd``.

The parameters are four matrices (4 M + 3 M + 2 M + 1 M entries) with fixed random gradients;
the time is the update alone, no forward or backward. It is memory-bound: each pass over the
arrays moves 40 MB per operand, so the count of passes decides the time, and so do fresh
allocations (page faults).

- ``numpy``, the floor: the same update written by hand with in-place NumPy ops (``*=``,
  ``+=``, ``out=``) and one scratch buffer the size of the largest parameter, reused for every
  parameter and every step. :class:`NumpyAdam` and :class:`NumpySGD` are also the update of
  the ``mlp_step`` floor.
- ``minigrad``: ``minigrad.optim.Adam`` and ``minigrad.optim.SGD(momentum=0.9)``.
- ``torch``: ``torch.optim.Adam`` and ``torch.optim.SGD`` with their defaults.
"""

from __future__ import annotations

import math

import numpy as np

from ..harness import Case, Goal, Timing, Workload, register

SHAPES = ((2000, 2000), (3000, 1000), (2000, 1000), (1000, 1000))  # 10 M entries in all


def init_params(shapes, seed):
    """Standard-normal float32 parameters and gradients (the gradients stay fixed)."""
    rng = np.random.default_rng(seed)
    params = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    grads = [rng.standard_normal(s, dtype=np.float32) for s in shapes]
    return params, grads


def _names(n):
    return [f"p{i}" for i in range(n)]


# ---------------------------------------------------------------------------------------------
# The NumPy floor


class NumpyAdam:
    """Adam by hand, in place: m ← β₁m + (1−β₁)g; v ← β₂v + (1−β₂)g²;
    θ ← θ − γ (m / (1−β₁ᵗ)) / (√v / √(1−β₂ᵗ) + ε). One shared scratch buffer."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        self.params = params
        self.lr, (self.beta1, self.beta2), self.eps = lr, betas, eps
        self.m = [np.zeros_like(p) for p in params]
        self.v = [np.zeros_like(p) for p in params]
        self.scratch = np.empty(max(p.size for p in params), dtype=params[0].dtype)
        self.t = 0

    def step(self, grads):
        self.t += 1
        beta1, beta2 = self.beta1, self.beta2
        bias_correction1 = 1.0 - beta1 ** self.t
        bias_correction2 = 1.0 - beta2 ** self.t
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            tmp = self.scratch[:p.size].reshape(p.shape)
            m *= beta1
            m += np.multiply(g, 1.0 - beta1, out=tmp)
            v *= beta2
            np.multiply(g, g, out=tmp)
            v += np.multiply(tmp, 1.0 - beta2, out=tmp)
            np.sqrt(v, out=tmp)
            tmp *= 1.0 / math.sqrt(bias_correction2)
            tmp += self.eps
            np.divide(m, tmp, out=tmp)
            tmp *= self.lr / bias_correction1
            p -= tmp


class NumpySGD:
    """SGD with momentum by hand, in place: b ← g at the first step, then b ← μb + g;
    θ ← θ − γb. One shared scratch buffer."""

    def __init__(self, params, lr=1e-3, momentum=0.9):
        self.params = params
        self.lr, self.momentum = lr, momentum
        self.buffers = [None] * len(params)
        self.scratch = np.empty(max(p.size for p in params), dtype=params[0].dtype)

    def step(self, grads):
        for i, (p, g) in enumerate(zip(self.params, grads)):
            tmp = self.scratch[:p.size].reshape(p.shape)
            b = self.buffers[i]
            if b is None:
                b = self.buffers[i] = g.copy()
            else:
                b *= self.momentum
                b += g
            p -= np.multiply(b, self.lr, out=tmp)


def numpy_optim(shapes, which, lr, momentum, seed):
    params, grads = init_params(shapes, seed)
    steps = []
    if "adam" in which:
        steps.append(NumpyAdam(params, lr=lr).step)
    if "sgd" in which:
        steps.append(NumpySGD(params, lr=lr, momentum=momentum).step)

    def step():
        for update in steps:
            update(grads)

    return Case(step, lambda: dict(zip(_names(len(params)), params)))


# ---------------------------------------------------------------------------------------------
# minigrad


def minigrad_optim(shapes, which, lr, momentum, seed):
    import minigrad as mg
    import minigrad.optim as optim

    arrays, grads = init_params(shapes, seed)
    params = [mg.nn.Parameter(mg.from_numpy(a)) for a in arrays]
    for p, g in zip(params, grads):
        p.grad = mg.from_numpy(g)
    optimizers = []
    if "adam" in which:
        optimizers.append(optim.Adam(params, lr=lr))
    if "sgd" in which:
        optimizers.append(optim.SGD(params, lr=lr, momentum=momentum))

    def step():
        for opt in optimizers:
            opt.step()

    return Case(step, lambda: {k: p.data for k, p in zip(_names(len(params)), params)})


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_optim(shapes, which, lr, momentum, seed):
    import torch

    arrays, grads = init_params(shapes, seed)
    params = [torch.from_numpy(a).requires_grad_() for a in arrays]
    for p, g in zip(params, grads):
        p.grad = torch.from_numpy(g)
    optimizers = []
    if "adam" in which:
        optimizers.append(torch.optim.Adam(params, lr=lr))
    if "sgd" in which:
        optimizers.append(torch.optim.SGD(params, lr=lr, momentum=momentum))

    def step():
        for opt in optimizers:
            opt.step()

    return Case(step, lambda: {k: p.detach().numpy() for k, p in
                               zip(_names(len(params)), params)})


ENGINES = {"numpy": numpy_optim, "minigrad": minigrad_optim, "torch": torch_optim}
TIMING = Timing(warmup=2, min_reps=5, seconds=2.0)

VARIANTS = (
    ("optim_step", ("adam", "sgd"), "one Adam step + one SGD-momentum step"),
    ("optim_adam", ("adam",), "one Adam step"),
    ("optim_sgd", ("sgd",), "one SGD-momentum (0.9) step"),
)

for _name, _which, _what in VARIANTS:
    register(Workload(
        name=_name,
        description=f"{_what} on 10 M float32 parameters (4 matrices), fixed gradients",
        per="step", engines=ENGINES, display="ms",
        config=dict(shapes=SHAPES, which=_which, lr=1e-3, momentum=0.9, seed=0),
        timing=TIMING,
        goal=Goal("numpy", ratio=1.2),
    ))
