"""MLP training steps: ``mlp_step`` (784-512-256-10, batch 128) and ``mlp_small`` (784-128-10,
batch 32).

One step: forward through Linear layers (``h W^T + b``, weights ``(out, in)`` as in PyTorch)
with ReLU between them, softmax cross-entropy (the mean over the batch of ``-log_softmax``
at the targets), backward, and an Adam update (lr 1e-3, eps 1e-5, betas (0.9, 0.999)).
minigrad and PyTorch are written the way their users write them (``F.linear``,
``F.cross_entropy``, ``optimizer.zero_grad()``, ``loss.backward()``, ``optimizer.step()`` with
the library's ``optim.Adam``); the NumPy floor does the same arithmetic by hand, the Adam
update in place (:class:`benchmarks.workloads.optim.NumpyAdam`). The same synthetic weights
and batch (float32, fixed seed) go to every engine. The snapshot holds the loss, the weights
after the step and the gradients of the step (Adam's first step is about ``lr * sign(grad)``,
so the weights alone would not show a gradient that is off in scale). eps is 1e-5 rather than
Adam's default 1e-8 for the sake of that check: the first step is lr g / (|g| + eps), which
for the few weights whose gradient is about eps (~15 of 400,000 in ``mlp_step``) magnifies
the engines' float32 rounding differences in g into step differences of 1% of lr; the
arithmetic, hence the time, is the same for any eps.
"""

from __future__ import annotations

import numpy as np

from ..harness import Case, Goal, Timing, Workload, register
from .optim import NumpyAdam


def init_mlp(sizes, batch, seed):
    """Weights and biases as PyTorch's Linear draws them (uniform in ±1/√fan_in), one batch of
    standard-normal inputs and random class labels. Returns ``([W0, b0, W1, b1, ...], x, y)``."""
    rng = np.random.default_rng(seed)
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / n_in ** 0.5
        params.append(rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32))
        params.append(rng.uniform(-bound, bound, n_out).astype(np.float32))
    x = rng.standard_normal((batch, sizes[0]), dtype=np.float32)
    y = rng.integers(0, sizes[-1], batch)
    return params, x, y


def _names(n_layers):
    return [f"{kind}{i}" for i in range(n_layers) for kind in ("W", "b")]


def _grad_names(n_layers):
    return [f"grad {name}" for name in _names(n_layers)]


# ---------------------------------------------------------------------------------------------
# The NumPy floor: forward, backward and update by hand, every buffer allocated once.


def numpy_mlp(sizes, batch, lr, eps, seed):
    params, x, y = init_mlp(sizes, batch, seed)
    weights, biases = params[0::2], params[1::2]
    n = len(weights)
    rows = np.arange(batch)
    widths = [w.shape[0] for w in weights]
    z = [np.empty((batch, m), np.float32) for m in widths]  # pre-activations, ReLU'd in place
    masks = [np.empty((batch, m), bool) for m in widths[:-1]]  # where z > 0
    dz = [np.empty((batch, m), np.float32) for m in widths]  # d loss / d z
    dW = [np.empty_like(w) for w in weights]
    db = [np.empty_like(b) for b in biases]
    adam = NumpyAdam(weights + biases, lr=lr, eps=eps)
    last = {}

    def step():
        # forward: z_i = a_{i-1} W_iᵀ + b_i;  a_i = relu(z_i)
        a = x
        for i in range(n):
            np.matmul(a, weights[i].T, out=z[i])
            z[i] += biases[i]
            if i < n - 1:
                np.greater(z[i], 0, out=masks[i])
                np.maximum(z[i], 0, out=z[i])
            a = z[i]
        # loss = mean_k -log_softmax(z)[k, y_k], through the max-shifted log-sum-exp
        logits = z[-1]
        logits -= logits.max(axis=1, keepdims=True)
        p = dz[-1]
        np.exp(logits, out=p)
        total = p.sum(axis=1, keepdims=True)
        last["loss"] = -(logits[rows, y] - np.log(total[:, 0])).mean()
        # backward: d loss / d logits = (softmax - onehot(y)) / batch
        p /= total
        p[rows, y] -= 1
        p *= 1.0 / batch
        for i in range(n - 1, -1, -1):
            a_prev = x if i == 0 else z[i - 1]
            np.matmul(dz[i].T, a_prev, out=dW[i])
            np.sum(dz[i], axis=0, out=db[i])
            if i > 0:
                np.matmul(dz[i], weights[i], out=dz[i - 1])
                np.multiply(dz[i - 1], masks[i - 1], out=dz[i - 1])
        # Adam, in place (the gradient buffers are rewritten next step)
        adam.step(dW + db)

    def snapshot():
        state = dict(zip(_names(n), params))
        if "loss" in last:
            state["loss"] = last["loss"]
            grads = [g for pair in zip(dW, db) for g in pair]
            state.update(zip(_grad_names(n), grads))
        return state

    return Case(step, snapshot)


# ---------------------------------------------------------------------------------------------
# minigrad


def minigrad_mlp(sizes, batch, lr, eps, seed):
    import minigrad as mg
    import minigrad.nn.functional as F
    import minigrad.optim as optim

    arrays, x_np, y_np = init_mlp(sizes, batch, seed)
    params = [mg.tensor(p, requires_grad=True) for p in arrays]
    n = len(params) // 2
    x, y = mg.tensor(x_np), mg.tensor(y_np)
    optimizer = optim.Adam(params, lr=lr, eps=eps)
    last = {}

    def step():
        optimizer.zero_grad()
        h = x
        for i in range(n):
            h = F.linear(h, params[2 * i], params[2 * i + 1])
            if i < n - 1:
                h = h.relu()
        loss = F.cross_entropy(h, y)
        loss.backward()
        optimizer.step()
        last["loss"] = loss

    def snapshot():
        state = {k: p.data for k, p in zip(_names(n), params)}
        if "loss" in last:
            state["loss"] = last["loss"].data
            state.update((k, p.grad.data) for k, p in zip(_grad_names(n), params))
        return state

    return Case(step, snapshot)


# ---------------------------------------------------------------------------------------------
# PyTorch: the same ops, written the same way


def torch_mlp(sizes, batch, lr, eps, seed):
    import torch
    import torch.nn.functional as F

    arrays, x_np, y_np = init_mlp(sizes, batch, seed)
    params = [torch.from_numpy(p).requires_grad_() for p in arrays]
    n = len(params) // 2
    x, y = torch.from_numpy(x_np), torch.from_numpy(y_np)
    optimizer = torch.optim.Adam(params, lr=lr, eps=eps)
    last = {}

    def step():
        optimizer.zero_grad()
        h = x
        for i in range(n):
            h = F.linear(h, params[2 * i], params[2 * i + 1])
            if i < n - 1:
                h = h.relu()
        loss = F.cross_entropy(h, y)
        loss.backward()
        optimizer.step()
        last["loss"] = loss

    def snapshot():
        state = {k: p.detach().numpy() for k, p in zip(_names(n), params)}
        if "loss" in last:
            state["loss"] = last["loss"].detach().numpy()
            state.update((k, p.grad.numpy()) for k, p in zip(_grad_names(n), params))
        return state

    return Case(step, snapshot)


ENGINES = {"numpy": numpy_mlp, "minigrad": minigrad_mlp, "torch": torch_mlp}

register(Workload(
    name="mlp_step",
    description="MLP 784-512-256-10, ReLU, batch 128, softmax cross-entropy, Adam: one step",
    per="step", engines=ENGINES, display="ms",
    config=dict(sizes=(784, 512, 256, 10), batch=128, lr=1e-3, eps=1e-5, seed=0),
    timing=Timing(warmup=10, min_reps=50, seconds=2.0),
    goal=Goal("numpy", ratio=1.10),
    memory_goal=Goal("numpy", ratio=1.3),
))

register(Workload(
    name="mlp_small",
    description="MLP 784-128-10, ReLU, batch 32, softmax cross-entropy, Adam: one step",
    per="step", engines=ENGINES, display="ms",
    config=dict(sizes=(784, 128, 10), batch=32, lr=1e-3, eps=1e-5, seed=0),
    timing=Timing(warmup=20, min_reps=200, seconds=1.0),
    goal=Goal("numpy", ratio=1.5),
))
