"""Per-op overhead: long chains of elementwise ops on a 16-element tensor, forward + backward.

The chain cycles through four ops, ``y = y * a; y = y + b; y = y.tanh(); y = y - c``, starting
from ``x``, where x, a, b, c are 16-element float32 tensors that require grad; then
``y.sum().backward()``. The arrays are so small that the time is almost all per-op overhead:
building each node, and visiting it in backward.

``op_overhead`` runs 1,000 ops and reports the time per op; ``deep_chain`` runs 20,000 ops
(a deep graph: backward must not recurse) and reports the total.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Goal, Timing, Workload, register

CYCLE = 4  # ops per round of the chain: mul, add, tanh, sub


def init_chain(size, seed):
    """x, a, b, c: float32 vectors; a near 1 and tanh every fourth op keep the values tame."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(size, dtype=np.float32)
    a = rng.uniform(0.5, 1.5, size).astype(np.float32)
    b = (0.1 * rng.standard_normal(size)).astype(np.float32)
    c = (0.1 * rng.standard_normal(size)).astype(np.float32)
    return x, a, b, c


def _check_length(n_ops):
    if n_ops % CYCLE:
        raise ValueError(f"chain length {n_ops} is not a multiple of {CYCLE}")


# ---------------------------------------------------------------------------------------------
# The NumPy floor: the forward saves what backward needs; backward walks the chain in reverse.


def numpy_chain(n_ops, size, seed):
    _check_length(n_ops)
    x, a, b, c = init_chain(size, seed)
    last = {}

    def step():
        saved = []  # per round: the input of the mul, the output of the tanh
        y = x
        for _ in range(n_ops // CYCLE):
            m = y
            t = m * a  # mul
            t += b  # add (in place: nothing else holds the product)
            np.tanh(t, out=t)  # tanh, in place
            saved.append((m, t))
            y = t - c  # sub (a fresh array: t is kept for backward)
        # backward of y.sum(): g = d sum / d y, walked back through each round
        g = np.ones_like(y)
        ga, gb, gc = np.zeros_like(a), np.zeros_like(b), np.zeros_like(c)
        for m, t in reversed(saved):
            gc -= g  # y = t - c
            g *= 1 - t * t  # t = tanh(s); g is this walk's own array
            gb += g  # s = u + b
            ga += g * m  # u = m * a
            g *= a
        last.update(y=y, gx=g, ga=ga, gb=gb, gc=gc)

    return Case(step, lambda: dict(last))


# ---------------------------------------------------------------------------------------------
# minigrad


def minigrad_chain(n_ops, size, seed):
    import minigrad as mg

    _check_length(n_ops)
    leaves = [mg.tensor(v, requires_grad=True) for v in init_chain(size, seed)]
    x, a, b, c = leaves
    last = {}

    def step():
        for t in leaves:
            t.grad = None
        y = x
        for _ in range(n_ops // CYCLE):
            y = y * a
            y = y + b
            y = y.tanh()
            y = y - c
        y.sum().backward()
        last["y"] = y

    def snapshot():
        if "y" not in last:
            return {}
        grads = {f"g{k}": t.grad.data for k, t in zip("xabc", leaves)}
        return {"y": last["y"].data, **grads}

    return Case(step, snapshot)


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_chain(n_ops, size, seed):
    import torch

    _check_length(n_ops)
    leaves = [torch.from_numpy(v).requires_grad_() for v in init_chain(size, seed)]
    x, a, b, c = leaves
    last = {}

    def step():
        for t in leaves:
            t.grad = None
        y = x
        for _ in range(n_ops // CYCLE):
            y = y * a
            y = y + b
            y = y.tanh()
            y = y - c
        y.sum().backward()
        last["y"] = y

    def snapshot():
        if "y" not in last:
            return {}
        grads = {f"g{k}": t.grad.numpy() for k, t in zip("xabc", leaves)}
        return {"y": last["y"].detach().numpy(), **grads}

    return Case(step, snapshot)


ENGINES = {"numpy": numpy_chain, "minigrad": minigrad_chain, "torch": torch_chain}

register(Workload(
    name="op_overhead",
    description="1,000 chained elementwise ops (mul, add, tanh, sub) on 16 elements, "
                "forward + backward: time per op",
    per="op", engines=ENGINES, display="us", calls_per_unit=1000,
    config=dict(n_ops=1000, size=16, seed=0),
    timing=Timing(warmup=5, min_reps=30, seconds=1.0),
    goal=Goal("torch", ratio=1.0),
))

register(Workload(
    name="deep_chain",
    description="20,000 chained elementwise ops on 16 elements, forward + backward: total",
    per="run", engines=ENGINES, display="ms",
    config=dict(n_ops=20000, size=16, seed=0),
    timing=Timing(warmup=2, min_reps=5, seconds=1.5),
    goal=Goal("torch", ratio=1.0),
))
