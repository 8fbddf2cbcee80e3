"""minigrad on a GPU (CuPy) against PyTorch on the same GPU: training steps and per-op overhead.

    python benchmarks/gpu_bench.py --device cuda --out benchmarks/results/gpu.json
    python benchmarks/gpu_bench.py --device cpu --quick      # a dry run of the script itself

Every workload is built for both engines from the same initial weights and data; rounds are
interleaved in one process (engine order alternating), each round times ``steps`` calls after a
warm-up and synchronizes the device before reading the clock, and the table shows the median
round. PyTorch is optional: without it only minigrad's times are shown.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402


def _mlp_layers(sizes):
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((o, i)).astype(np.float32) / np.sqrt(i),
             np.zeros(o, np.float32)) for i, o in zip(sizes[:-1], sizes[1:])]


def minigrad_mlp_step(device, sizes, batch):
    """One Adam step of an MLP (ReLU between layers, cross-entropy), minigrad on ``device``."""
    import minigrad as mg
    from minigrad import nn, optim

    layers = []
    for w, b in _mlp_layers(sizes):
        linear = nn.Linear(w.shape[1], w.shape[0])
        linear.weight.data[...] = w
        linear.bias.data[...] = b
        layers += [linear, nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((batch, sizes[0]), dtype=np.float32), device=device)
    y = mg.tensor(rng.integers(0, sizes[-1], batch), device=device)
    loss_fn = nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def torch_mlp_step(device, sizes, batch):
    import torch

    layers = []
    for w, b in _mlp_layers(sizes):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
        layers += [linear, torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers[:-1]).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    rng = np.random.default_rng(1)
    x = torch.from_numpy(rng.standard_normal((batch, sizes[0]), dtype=np.float32)).to(device)
    y = torch.from_numpy(rng.integers(0, sizes[-1], batch)).to(device)
    loss_fn = torch.nn.CrossEntropyLoss()

    def step():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        opt.step()
        return loss
    return step


def minigrad_ops(device, n=1000):
    """``n`` tiny elementwise ops with autograd recording: the per-op overhead."""
    import minigrad as mg
    x = mg.ones(16, device=device, requires_grad=True)

    def step():
        y = x
        for _ in range(n // 2):
            y = (y * 1.0001) + 0.0001
        return y
    return step


def torch_ops(device, n=1000):
    import torch
    x = torch.ones(16, device=device, requires_grad=True)

    def step():
        y = x
        for _ in range(n // 2):
            y = (y * 1.0001) + 0.0001
        return y
    return step


WORKLOADS = {
    # name: (minigrad builder, torch builder, arguments, unit of one call)
    "mlp_step (784-512-256-10, batch 128)": (minigrad_mlp_step, torch_mlp_step,
                                             ((784, 512, 256, 10), 128)),
    "mlp_step (784-4096-4096-10, batch 4096)": (minigrad_mlp_step, torch_mlp_step,
                                                ((784, 4096, 4096, 10), 4096)),
    "op_overhead (1000 ops)": (minigrad_ops, torch_ops, ()),
}


def _synchronizer(engine, device):
    if device == "cpu":
        return lambda: None
    if engine == "torch":
        import torch
        return torch.cuda.synchronize
    from minigrad import backend
    cupy = backend.cupy()
    return lambda: cupy.cuda.Device().synchronize()


def _time(step, sync, steps):
    sync()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    sync()
    return (time.perf_counter() - start) / steps


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda (default) or cpu (a dry run)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20, help="timed calls per round")
    parser.add_argument("--quick", action="store_true", help="2 rounds of 3 steps, small")
    parser.add_argument("--out", help="write the results as JSON here")
    args = parser.parse_args(argv)
    rounds, steps = (2, 3) if args.quick else (args.rounds, args.steps)
    try:
        import torch
        engines = ["minigrad", "torch"] if args.device == "cpu" or torch.cuda.is_available() \
            else ["minigrad"]
    except ImportError:
        engines = ["minigrad"]
    workloads = dict(WORKLOADS)
    if args.quick:
        workloads.pop("mlp_step (784-4096-4096-10, batch 4096)")
    results = {}
    print(f"gpu_bench on {args.device}: {rounds} rounds x {steps} steps, engines "
          f"{', '.join(engines)}")
    for name, (mg_build, torch_build, extra) in workloads.items():
        steps_of = {e: (mg_build if e == "minigrad" else torch_build)(args.device, *extra)
                    for e in engines}
        syncs = {e: _synchronizer(e, args.device) for e in engines}
        for e in engines:                      # warm-up: allocations, kernels compiled
            _time(steps_of[e], syncs[e], 2)
        samples = {e: [] for e in engines}
        for r in range(rounds):
            order = engines if r % 2 == 0 else engines[::-1]
            for e in order:
                samples[e].append(_time(steps_of[e], syncs[e], steps))
        medians = {e: statistics.median(v) for e, v in samples.items()}
        results[name] = {"median_s": medians, "samples_s": samples}
        ratio = (f"  minigrad/torch {medians['minigrad'] / medians['torch']:.2f}"
                 if "torch" in medians else "")
        print(f"{name:<42} " + "  ".join(f"{e} {medians[e] * 1e3:9.3f} ms" for e in engines)
              + ratio)
    if args.out:
        import minigrad
        meta = {"device": args.device, "rounds": rounds, "steps": steps,
                "python": platform.python_version(), "numpy": np.__version__,
                "minigrad": minigrad.__version__}
        if args.device != "cpu":
            from minigrad import backend
            cupy = backend.cupy()
            meta["cupy"] = cupy.__version__
            meta["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
        if "torch" in engines:
            import torch
            meta["torch"] = torch.__version__
        with open(args.out, "w") as f:
            json.dump({"meta": meta, "results": results}, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
