"""Data-parallel training on MPI: equivalence with one process, the cost of averaging the
gradients, and throughput for 1, 2 and 4 processes (the targets of the distributed issue).

    python benchmarks/distributed_bench.py --out benchmarks/results/distributed.json

launches itself under ``mpiexec -n P`` for each P and collects rank 0's report. Each run:

- equivalence: the MLP 784-512-256-10 on MNIST images (random data of that shape without the
  IDX files), a
  global batch of 128 split evenly over the P ranks (DistributedSampler without shuffling, so
  the order is deterministic), 100 SGD-momentum steps; rank 0 also trains one process on the
  whole batches and reports the largest parameter difference;
- allreduce: the time of ``DistributedDataParallel.average_gradients`` (one bucket of 25 MB:
  copy in, one Allreduce, copy out) against a bare mpi4py ``Allreduce`` of one float32 buffer of
  the same size (0.5 M elements), medians of 50;
- throughput: samples per second of the training step (forward, backward, averaging, Adam)
  with a per-rank batch of 128 (weak scaling), median of 30 steps.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import numpy as np  # noqa: E402

SIZES = (784, 512, 256, 10)


def _mlp():
    import minigrad as mg
    from minigrad import models
    mg.manual_seed(0)
    return models.mlp(SIZES[0], list(SIZES[1:-1]), SIZES[-1])


def _mnist_dir():
    folder = os.environ.get("MINIGRAD_DATA") or os.path.join(ROOT, "..", "shared", "data",
                                                             "mnist")
    return folder if os.path.isdir(folder) else None


def _data(n, seed=0):
    """n MNIST training images (standardized) and labels, or random data of MNIST's shape
    when the IDX files are not at hand."""
    folder = _mnist_dir()
    if folder is None:
        rng = np.random.default_rng(seed)
        return (rng.standard_normal((n, SIZES[0])).astype(np.float32),
                rng.integers(0, SIZES[-1], n))
    from minigrad.data import load_mnist
    x, y = load_mnist(folder, train=True)
    start = (seed * n) % (len(y) - n)
    x = x[start:start + n].reshape(n, -1).astype(np.float32)
    return (x - x.mean()) / x.std(), y[start:start + n].astype(np.int64)


def equivalence(group, steps=100, global_batch=128):
    import minigrad as mg
    from minigrad import nn, optim
    from minigrad.data import DataLoader, DistributedSampler, TensorDataset

    world, rank = group.world_size, group.rank
    x, y = _data(steps * global_batch)
    data = TensorDataset(x, y)
    ddp = nn.parallel.DistributedDataParallel(_mlp())
    opt = optim.SGD(ddp.parameters(), lr=0.01, momentum=0.9)
    loader = DataLoader(data, batch_size=global_batch // world,
                        sampler=DistributedSampler(data, shuffle=False))
    loss_fn = nn.CrossEntropyLoss()
    for inputs, targets in loader:
        opt.zero_grad()
        loss_fn(ddp(inputs), targets).backward()
        opt.step()
    if rank != 0:
        return None
    single = _mlp()
    opt = optim.SGD(single.parameters(), lr=0.01, momentum=0.9)
    # the same samples per step: the ranks' interleaved shares of each global batch
    order = np.concatenate([np.arange(steps * global_batch)[r::world] for r in range(world)])
    per = global_batch // world
    for s in range(steps):
        idx = np.concatenate([order[r * steps * per + s * per:r * steps * per + (s + 1) * per]
                              for r in range(world)])
        opt.zero_grad()
        loss_fn(single(mg.tensor(x[idx])), mg.tensor(y[idx])).backward()
        opt.step()
    return max(float(np.abs(a.numpy() - b.numpy()).max())
               for a, b in zip(single.state_dict().values(), ddp.module.state_dict().values()))


def allreduce_cost(group, repeats=50):
    from mpi4py import MPI

    import minigrad as mg
    from minigrad import nn

    ddp = nn.parallel.DistributedDataParallel(_mlp())
    for p in ddp.parameters():
        p.grad = mg.randn(*p.shape)
    n = sum(p.data.size for p in ddp.parameters())
    buffer = np.random.default_rng(0).standard_normal(n).astype(np.float32)
    times = {"ddp": [], "bare": []}
    for _ in range(repeats):
        for name in ("ddp", "bare"):
            group.comm.Barrier()
            start = time.perf_counter()
            if name == "ddp":
                ddp.average_gradients()
            else:
                group.comm.Allreduce(MPI.IN_PLACE, buffer, op=MPI.SUM)
            times[name].append(time.perf_counter() - start)
    return n, {k: statistics.median(v) for k, v in times.items()}


def throughput(group, steps=30, batch=128):
    import minigrad as mg
    from minigrad import nn, optim

    ddp = nn.parallel.DistributedDataParallel(_mlp())
    opt = optim.Adam(ddp.parameters(), lr=1e-3)
    x, y = _data(batch, seed=group.rank + 1)
    x, y = mg.tensor(x), mg.tensor(y)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for i in range(steps + 3):
        group.comm.Barrier()
        start = time.perf_counter()
        opt.zero_grad()
        loss_fn(ddp(x), y).backward()
        opt.step()
        if i >= 3:
            times.append(time.perf_counter() - start)
    return group.world_size * batch / statistics.median(times)


def worker() -> None:
    from minigrad import distributed as dist
    group = dist.init_process_group("mpi")
    report = {"processes": group.world_size, "max_abs_diff": equivalence(group)}
    n, cost = allreduce_cost(group)
    report.update(gradient_elements=n, average_gradients_s=cost["ddp"],
                  bare_allreduce_s=cost["bare"])
    report["samples_per_s"] = throughput(group)
    if group.rank == 0:
        print("REPORT " + json.dumps(report), flush=True)
    dist.destroy_process_group()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--out", help="write the reports as JSON here")
    args = parser.parse_args(argv)
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1",
               PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    reports = []
    for p in args.processes:
        done = subprocess.run(["mpiexec", "-n", str(p), sys.executable, __file__, "--worker"],
                              capture_output=True, text=True, env=env, timeout=900)
        line = next((x for x in done.stdout.splitlines() if x.startswith("REPORT ")), None)
        if done.returncode != 0 or line is None:
            print(done.stdout + done.stderr)
            return 1
        reports.append(json.loads(line[len("REPORT "):]))
    base = reports[0]["samples_per_s"] if reports[0]["processes"] == 1 else None
    print(f"{'processes':>9} {'max |Δw| vs 1':>14} {'avg grads':>10} {'bare Allreduce':>15} "
          f"{'ratio':>6} {'samples/s':>10} {'speed-up':>8}")
    for r in reports:
        ratio = (r["average_gradients_s"] / r["bare_allreduce_s"]
                 if r["processes"] > 1 else float("nan"))
        speedup = r["samples_per_s"] / base if base else float("nan")
        print(f"{r['processes']:>9} {r['max_abs_diff']:>14.2e} "
              f"{r['average_gradients_s'] * 1e3:>8.3f}ms {r['bare_allreduce_s'] * 1e3:>13.3f}ms "
              f"{ratio:>6.2f} {r['samples_per_s']:>10.0f} {speedup:>8.2f}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"cores": os.cpu_count(), "reports": reports}, f, indent=1)
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    if "--worker" in sys.argv:
        worker()
    else:
        sys.exit(main())
