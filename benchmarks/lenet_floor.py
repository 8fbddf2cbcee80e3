"""``lenet_step``: one training step of LeNet-5 on 1×28×28 inputs, batch 64, float32.

    conv1 6@5×5 pad 2 → ReLU → maxpool 2 → conv2 16@5×5 → ReLU → maxpool 2 → flatten (400)
    → Linear 120 → ReLU → Linear 84 → ReLU → Linear 10 → softmax cross-entropy (mean)
    → backward → plain SGD  p -= 0.01 · grad

Three engines, each a ``*_setup(seed) -> state`` and ``*_step(state) -> loss`` pair, all
starting from the same weights and batch (:func:`init_lenet`):

- ``numpy``, **the floor**: forward, backward and update written out by hand with no autograd.
  Convolution is im2col (a strided window view copied into a column matrix, then one batched
  matmul); its input gradient is col2im (one strided add per kernel tap); pooling uses the same
  window view. Every buffer is allocated once and reused, updates are in place.
- ``minigrad``: ordinary user code with ``minigrad.nn`` layers, ``loss.backward()``, update
  under ``no_grad``.
- ``torch``: the same model with ``torch.nn`` layers (when torch is installed).

``state["params"]`` maps parameter names (``conv1.weight`` ...) to NumPy arrays (live views of
each engine's parameters), and ``state["loss"]`` holds the last loss, so steps can be compared.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

BATCH = 64
LR = 0.01
CLASSES = 10
# name -> weight shape (out, in, ...): PyTorch's layout
LAYERS = {
    "conv1": (6, 1, 5, 5),
    "conv2": (16, 6, 5, 5),
    "fc1": (120, 400),
    "fc2": (84, 120),
    "fc3": (10, 84),
}
NAMES = [f"{layer}.{kind}" for layer in LAYERS for kind in ("weight", "bias")]


def init_lenet(seed: int = 0, batch: int = BATCH):
    """Weights and biases drawn as PyTorch's Conv2d and Linear draw them, uniform in
    ±1/√fan_in (fan_in = in · kh · kw), a batch of standard-normal images and random labels.
    Returns ``({name: array}, x (batch, 1, 28, 28), y (batch,))``, all float32 but y (int64)."""
    rng = np.random.default_rng(seed)
    params = {}
    for layer, shape in LAYERS.items():
        bound = 1.0 / float(np.prod(shape[1:])) ** 0.5
        params[f"{layer}.weight"] = rng.uniform(-bound, bound, shape).astype(np.float32)
        params[f"{layer}.bias"] = rng.uniform(-bound, bound, shape[0]).astype(np.float32)
    x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, CLASSES, batch)
    return params, x, y


# ---------------------------------------------------------------------------------------------
# The NumPy floor


def _windows(a, k, stride, out):
    """view[n, c, i, j, oh, ow] = a[n, c, oh·stride + i, ow·stride + j]: every k × k window of
    a (N, C, H, W) array (any strides), shape (N, C, k, k, out, out), sharing its memory."""
    sn, sc, sh, sw = a.strides
    return as_strided(a, a.shape[:2] + (k, k, out, out),
                      (sn, sc, sh, sw, stride * sh, stride * sw))


class _Conv:
    """Buffers and formulas of one stride-1 convolution over a (N, C, H, H) input:
    out_n = W (O, C·k·k) @ cols_n + b,  cols = im2col(x_pad) (N, C·k·k, OH·OW)."""

    def __init__(self, n, c, h, o, k, pad):
        self.k, self.pad, self.h = k, pad, h
        self.out = h + 2 * pad - k + 1
        self.padded = np.zeros((n, c, h + 2 * pad, h + 2 * pad), np.float32)  # borders stay 0
        self.cols = np.empty((n, c, k, k, self.out, self.out), np.float32)
        self.z = np.empty((n, o, self.out * self.out), np.float32)
        self.dw_each = np.empty((n, c * k * k, o), np.float32)
        # The input gradient works batch-last, (C, H, W, N): a kernel tap's slab is then C·OH
        # runs of OW·N contiguous elements for col2im to add, instead of N·C·OH runs of OW.
        self.g_t = np.empty((o, self.out, self.out, n), np.float32)
        self.dcols = np.empty((c * k * k, self.out * self.out * n), np.float32)
        self.dx_padded_t = np.empty((c, h + 2 * pad, h + 2 * pad, n), np.float32)
        self.dx = np.empty((n, c, h, h), np.float32)

    def _view(self, buffer):
        return _windows(buffer, self.k, 1, self.out)

    def forward(self, x, w, b):
        p, h = self.pad, self.h
        self.padded[:, :, p:p + h, p:p + h] = x
        np.copyto(self.cols, self._view(self.padded))  # im2col
        n, o = self.z.shape[:2]
        cols = self.cols.reshape(n, -1, self.z.shape[2])
        np.matmul(w.reshape(o, -1), cols, out=self.z)
        self.z += b[:, None]
        return self.z.reshape(n, o, self.out, self.out)

    def backward(self, g, w, dw, db, need_dx):
        """dWᵀ = Σ_n cols_n g_nᵀ, db = Σ g, and (need_dx) dx = col2im(Wᵀ g_n)."""
        n, o = g.shape[:2]
        g_rows = g.reshape(n, o, -1)
        cols = self.cols.reshape(n, -1, g_rows.shape[2])
        np.matmul(cols, g_rows.transpose(0, 2, 1), out=self.dw_each)  # (CK, L) @ (L, O)
        dw.reshape(o, -1).T[...] = self.dw_each.sum(axis=0)
        np.sum(g_rows, axis=(0, 2), out=db)
        if not need_dx:
            return None
        np.copyto(self.g_t, g.transpose(1, 2, 3, 0))
        np.matmul(w.reshape(o, -1).T, self.g_t.reshape(o, -1), out=self.dcols)
        c, k, out = self.cols.shape[1], self.k, self.out
        dcols = self.dcols.reshape(c, k, k, out, out, n).transpose(5, 0, 1, 2, 3, 4)
        self.dx_padded_t.fill(0)
        windows = self._view(self.dx_padded_t.transpose(3, 0, 1, 2))
        for i in range(k):  # col2im: one strided add per kernel tap
            for j in range(k):
                slab = windows[:, :, i, j]
                np.add(slab, dcols[:, :, i, j], out=slab)
        p, h = self.pad, self.h
        np.copyto(self.dx, self.dx_padded_t[:, p:p + h, p:p + h].transpose(3, 0, 1, 2))
        return self.dx


class _MaxPool:
    """Buffers and formulas of a k × k, stride-k max pool over (N, C, H, W):
    out = max over each window; the gradient goes to each window's first maximum."""

    def __init__(self, n, c, h, k):
        self.k, self.out = k, h // k
        shape = (n, c, self.out, self.out)
        self.taps = np.empty((k * k,) + shape, np.float32)  # tap-major copy of the windows
        self.out_buf = np.empty(shape, np.float32)
        self.mask = np.empty((k * k,) + shape, bool)
        self.taken = np.empty(shape, bool)
        self.free = np.empty(shape, bool)
        self.routed = np.empty((k * k,) + shape, np.float32)
        self.dx = np.empty((n, c, h, h), np.float32)

    def forward(self, a):
        k = self.k
        np.copyto(self.taps.reshape((k, k) + self.out_buf.shape),
                  _windows(a, k, k, self.out).transpose(2, 3, 0, 1, 4, 5))
        np.max(self.taps, axis=0, out=self.out_buf)
        np.equal(self.taps, self.out_buf, out=self.mask)
        np.copyto(self.taken, self.mask[0])
        for t in range(1, k * k):  # ties: keep the first maximum only
            np.logical_not(self.taken, out=self.free)
            self.mask[t] &= self.free
            self.taken |= self.mask[t]
        return self.out_buf

    def backward(self, g):
        k = self.k
        np.multiply(self.mask, g, out=self.routed)
        self.dx.fill(0)
        windows = _windows(self.dx, k, k, self.out)
        for t in range(k * k):  # one strided write per tap (the windows do not overlap)
            windows[:, :, t // k, t % k] = self.routed[t]
        return self.dx


def numpy_setup(seed: int = 0, batch: int = BATCH) -> dict:
    """The floor's state: parameters, batch, every buffer a step needs (allocated here)."""
    params, x, y = init_lenet(seed, batch)
    n = batch
    state = {
        "params": params, "x": x, "y": y, "rows": np.arange(n), "loss": None,
        "conv1": _Conv(n, 1, 28, 6, 5, 2), "pool1": _MaxPool(n, 6, 28, 2),
        "conv2": _Conv(n, 6, 14, 16, 5, 0), "pool2": _MaxPool(n, 16, 10, 2),
        "relu1": np.empty((n, 6, 28 * 28), bool), "relu2": np.empty((n, 16, 100), bool),
        "grads": {name: np.empty_like(p) for name, p in params.items()},
    }
    for name, width in (("fc1", 120), ("fc2", 84), ("fc3", CLASSES)):
        state[name] = np.empty((n, width), np.float32)  # pre-activation, ReLU'd in place
        state["d" + name] = np.empty((n, width), np.float32)
    state["fc_mask1"] = np.empty((n, 120), bool)
    state["fc_mask2"] = np.empty((n, 84), bool)
    state["dflat"] = np.empty((n, 400), np.float32)
    return state


def _relu_(z, mask):
    """z = max(z, 0) in place; mask = z > 0 (the gradient's pass-through)."""
    np.greater(z, 0, out=mask)
    z *= mask


def numpy_step(state: dict) -> float:
    """One step of the floor; returns the loss (before the update)."""
    P, G = state["params"], state["grads"]
    x, y, rows = state["x"], state["y"], state["rows"]
    n = x.shape[0]
    conv1, pool1, conv2, pool2 = state["conv1"], state["pool1"], state["conv2"], state["pool2"]
    # --- forward
    z1 = conv1.forward(x, P["conv1.weight"], P["conv1.bias"])  # (N, 6, 28, 28)
    _relu_(z1, state["relu1"].reshape(z1.shape))
    a1 = pool1.forward(z1)  # (N, 6, 14, 14)
    z2 = conv2.forward(a1, P["conv2.weight"], P["conv2.bias"])  # (N, 16, 10, 10)
    _relu_(z2, state["relu2"].reshape(z2.shape))
    flat = pool2.forward(z2).reshape(n, -1)  # (N, 400)
    h1, h2, logits = state["fc1"], state["fc2"], state["fc3"]
    np.matmul(flat, P["fc1.weight"].T, out=h1)
    h1 += P["fc1.bias"]
    _relu_(h1, state["fc_mask1"])
    np.matmul(h1, P["fc2.weight"].T, out=h2)
    h2 += P["fc2.bias"]
    _relu_(h2, state["fc_mask2"])
    np.matmul(h2, P["fc3.weight"].T, out=logits)
    logits += P["fc3.bias"]
    # loss = mean_n (log Σ_c exp(z_nc) − z_{n,y_n}), through the max-shifted log-sum-exp
    logits -= logits.max(axis=1, keepdims=True)
    d3 = state["dfc3"]
    np.exp(logits, out=d3)
    total = d3.sum(axis=1, keepdims=True)
    loss = float(np.mean(np.log(total[:, 0]) - logits[rows, y]))
    # --- backward: d loss / d logits = (softmax − onehot(y)) / N
    d3 /= total
    d3[rows, y] -= 1
    d3 *= 1.0 / n
    d2, d1, dflat = state["dfc2"], state["dfc1"], state["dflat"]
    np.matmul(d3.T, h2, out=G["fc3.weight"])
    np.sum(d3, axis=0, out=G["fc3.bias"])
    np.matmul(d3, P["fc3.weight"], out=d2)
    d2 *= state["fc_mask2"]
    np.matmul(d2.T, h1, out=G["fc2.weight"])
    np.sum(d2, axis=0, out=G["fc2.bias"])
    np.matmul(d2, P["fc2.weight"], out=d1)
    d1 *= state["fc_mask1"]
    np.matmul(d1.T, flat, out=G["fc1.weight"])
    np.sum(d1, axis=0, out=G["fc1.bias"])
    np.matmul(d1, P["fc1.weight"], out=dflat)
    dz2 = pool2.backward(dflat.reshape(n, 16, 5, 5))  # (N, 16, 10, 10)
    dz2 *= state["relu2"].reshape(dz2.shape)
    da1 = conv2.backward(dz2, P["conv2.weight"], G["conv2.weight"], G["conv2.bias"], True)
    dz1 = pool1.backward(da1)  # (N, 6, 28, 28)
    dz1 *= state["relu1"].reshape(dz1.shape)
    conv1.backward(dz1, P["conv1.weight"], G["conv1.weight"], G["conv1.bias"], False)
    # --- SGD, in place (the gradient buffers are rewritten next step)
    for name, p in P.items():
        grad = G[name]
        grad *= LR
        p -= grad
    state["loss"] = loss
    return loss


# ---------------------------------------------------------------------------------------------
# minigrad


def minigrad_setup(seed: int = 0, batch: int = BATCH) -> dict:
    """LeNet-5 as a ``minigrad.nn.Module`` holding the shared initial weights."""
    import minigrad as mg
    from minigrad import nn
    from minigrad.nn.conv import Conv2d, MaxPool2d

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = Conv2d(1, 6, 5, padding=2)
            self.conv2 = Conv2d(6, 16, 5)
            self.pool = MaxPool2d(2)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, CLASSES)

        def forward(self, x):
            x = self.pool(self.conv1(x).relu())
            x = self.pool(self.conv2(x).relu())
            x = x.flatten(1)
            x = self.fc1(x).relu()
            x = self.fc2(x).relu()
            return self.fc3(x)

    arrays, x, y = init_lenet(seed, batch)
    model = LeNet()
    model.load_state_dict(arrays)
    params = dict(model.named_parameters())
    return {"model": model, "params_t": params, "x": mg.tensor(x), "y": mg.tensor(y),
            "params": {name: p.data for name, p in params.items()}, "loss": None}


def minigrad_step(state: dict) -> float:
    import minigrad as mg
    from minigrad.nn import functional as F

    model = state["model"]
    loss = F.cross_entropy(model(state["x"]), state["y"])
    loss.backward()
    with mg.no_grad():
        for p in state["params_t"].values():
            p -= LR * p.grad
            p.grad = None
    state["loss"] = loss.item()
    return state["loss"]


# ---------------------------------------------------------------------------------------------
# PyTorch


def torch_setup(seed: int = 0, batch: int = BATCH) -> dict:
    import torch
    from torch import nn

    class LeNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
            self.conv2 = nn.Conv2d(6, 16, 5)
            self.pool = nn.MaxPool2d(2)
            self.fc1 = nn.Linear(400, 120)
            self.fc2 = nn.Linear(120, 84)
            self.fc3 = nn.Linear(84, CLASSES)

        def forward(self, x):
            x = self.pool(self.conv1(x).relu())
            x = self.pool(self.conv2(x).relu())
            x = x.flatten(1)
            x = self.fc1(x).relu()
            x = self.fc2(x).relu()
            return self.fc3(x)

    arrays, x, y = init_lenet(seed, batch)
    model = LeNet()
    model.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
    params = dict(model.named_parameters())
    return {"model": model, "params_t": params, "x": torch.from_numpy(x),
            "y": torch.from_numpy(y), "loss": None,
            "params": {name: p.detach().numpy() for name, p in params.items()}}


def torch_step(state: dict) -> float:
    import torch

    model = state["model"]
    loss = torch.nn.functional.cross_entropy(model(state["x"]), state["y"])
    loss.backward()
    with torch.no_grad():
        for p in state["params_t"].values():
            p -= LR * p.grad
            p.grad = None
    state["loss"] = loss.item()
    return state["loss"]


def _time(step, state, reps: int, warmup: int = 3) -> list:
    import time

    for _ in range(warmup):
        step(state)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        step(state)
        times.append(time.perf_counter() - t0)
    return times


if __name__ == "__main__":  # a quick look: python benchmarks/lenet_floor.py [reps]
    import importlib.util
    import os
    import sys

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # minigrad
    reps = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    engines = [("numpy", numpy_setup, numpy_step), ("minigrad", minigrad_setup, minigrad_step)]
    if importlib.util.find_spec("torch") is not None:
        engines.append(("torch", torch_setup, torch_step))
    for name, setup, step in engines:
        times = _time(step, setup(0), reps)
        print(f"{name:9s} median {1e3 * float(np.median(times)):7.2f} ms   "
              f"min {1e3 * min(times):7.2f} ms   ({reps} steps)")
