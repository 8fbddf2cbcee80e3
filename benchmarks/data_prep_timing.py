"""Timings of minigrad.data's data preparation against its two targets:

1. PCA of the 60,000 x 784 MNIST training images (float64, pixels / 255), 50 components:
   minigrad's ``PCA(50, svd_solver='full')`` against scikit-learn's ``PCA(50,
   svd_solver='full')`` (goal: at most 2x its time), rounds interleaved in one process; the
   ``covariance_eigh`` solver of both is timed too (skip scikit-learn with ``--no-sklearn``).
2. Augmentation throughput on MNIST batches of 128 (float32, (128, 1, 28, 28), gathered from
   the training set as a DataLoader does): each transform's time per batch against one
   training step of the MNIST MLP (784-128-64-10, Adam, cross-entropy) on such a batch
   (goal: at most 10% of it), alone and inside a training loop (augment then step, against
   the plain loop, in interleaved blocks).

    OPENBLAS_NUM_THREADS=1 python benchmarks/data_prep_timing.py --data-dir /path/to/mnist \
        --out benchmarks/results/data_prep.json

Times are medians over rounds (wall clock, ``time.perf_counter``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad  # noqa: E402
from minigrad import data, nn, optim  # noqa: E402
from minigrad.models import mlp  # noqa: E402


def _median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def time_pca(images: np.ndarray, rounds: int, use_sklearn: bool) -> dict:
    x = images.reshape(len(images), -1).astype(np.float64)
    engines = {"minigrad": lambda solver: data.PCA(50, svd_solver=solver).fit(x)}
    if use_sklearn:
        from sklearn.decomposition import PCA
        engines["sklearn"] = lambda solver: PCA(50, svd_solver=solver).fit(x)
    out = {}
    for solver in ("full", "covariance_eigh"):
        times = {name: [] for name in engines}
        for _ in range(rounds):                              # interleaved: same conditions
            for name, fit in engines.items():
                start = time.perf_counter()
                fit(solver)
                times[name].append(time.perf_counter() - start)
        out[solver] = {name: float(np.median(t)) for name, t in times.items()}
        if "sklearn" in out[solver]:
            out[solver]["ratio"] = out[solver]["minigrad"] / out[solver]["sklearn"]
    return out


def _augmented(step, transform):
    return lambda batch: step(transform(batch))


def time_augmentation(images: np.ndarray, rounds: int) -> dict:
    x = images[:, None].astype(np.float32)
    rng = np.random.default_rng(0)
    batches = [x[np.sort(rng.choice(len(x), 128, replace=False))] for _ in range(rounds)]
    transforms = {
        "RandomCrop(28, padding=2)": data.RandomCrop(28, padding=2, seed=0),
        "RandomHorizontalFlip()": data.RandomHorizontalFlip(seed=0),
        "RandomRotation(15)": data.RandomRotation(15, seed=0),
        "RandomAffine(10, (0.1, 0.1), (0.9, 1.1))": data.RandomAffine(
            10, translate=(0.1, 0.1), scale=(0.9, 1.1), seed=0),
        "ColorJitter(0.3, 0.3)": data.ColorJitter(0.3, 0.3, seed=0),
        "RandomErasing()": data.RandomErasing(seed=0),
        "Normalize(0.1307, 0.3081)": data.Normalize(0.1307, 0.3081),
    }
    transforms["Compose(affine, jitter, erasing, normalize)"] = data.Compose(
        [transforms[k] for k in ("RandomAffine(10, (0.1, 0.1), (0.9, 1.1))",
                                 "ColorJitter(0.3, 0.3)", "RandomErasing()",
                                 "Normalize(0.1307, 0.3081)")])
    minigrad.manual_seed(0)
    model = mlp(28 * 28, [128, 64], 10)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.CrossEntropyLoss()
    labels = minigrad.tensor(np.arange(128) % 10)

    def step(batch):
        opt.zero_grad()
        loss_fn(model(minigrad.tensor(batch.reshape(128, -1))), labels).backward()
        opt.step()

    def over_batches(fn):
        it = iter(batches)
        return lambda: fn(next(it))

    for warm in batches[:3]:
        step(warm)
        for t in transforms.values():
            t(warm)
    step_time = _median_time(over_batches(step), rounds)
    out = {"mlp_step_s": step_time, "transforms": {}, "in_training_loop": {}}
    for name, t in transforms.items():
        seconds = _median_time(over_batches(t), rounds)
        out["transforms"][name] = {"seconds": seconds, "fraction_of_step": seconds / step_time}
    # the same inside a training loop (augment, then step), against the plain loop, in
    # interleaved blocks: what augmentation adds to a real step, allocations included
    loops = {"plain step": lambda b: step(b)}
    for name in ("RandomRotation(15)", "RandomAffine(10, (0.1, 0.1), (0.9, 1.1))",
                 "Compose(affine, jitter, erasing, normalize)"):
        loops[name] = _augmented(step, transforms[name])
    per_block = max(1, rounds // 10)
    totals = {name: [] for name in loops}
    for _ in range(10):
        for name, body in loops.items():
            start = time.perf_counter()
            for b in batches[:per_block]:
                body(b)
            totals[name].append((time.perf_counter() - start) / per_block)
    plain = float(np.median(totals["plain step"]))
    for name, times in totals.items():
        seconds = float(np.median(times))
        out["in_training_loop"][name] = {"seconds_per_step": seconds,
                                         "added_fraction": seconds / plain - 1.0}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA"))
    parser.add_argument("--pca-rounds", type=int, default=3)
    parser.add_argument("--aug-rounds", type=int, default=200)
    parser.add_argument("--no-sklearn", action="store_true")
    parser.add_argument("--skip-pca", action="store_true")
    parser.add_argument("--out", help="write the results to this JSON file")
    args = parser.parse_args()
    images, _ = data.load_mnist(args.data_dir, train=True, normalize=True)
    results = {"machine": platform.processor() or platform.machine(),
               "numpy": np.__version__, "threads": os.environ.get("OPENBLAS_NUM_THREADS"),
               "date": time.strftime("%Y-%m-%d")}
    if not args.skip_pca:
        results["pca_mnist_50"] = time_pca(images, args.pca_rounds, not args.no_sklearn)
        for solver, r in results["pca_mnist_50"].items():
            line = ", ".join(f"{k} {v:.2f} s" if k != "ratio" else f"ratio {v:.2f}"
                             for k, v in r.items())
            print(f"PCA(50) of MNIST 60000x784, svd_solver={solver!r}: {line}")
    aug = time_augmentation(images, args.aug_rounds)
    results["augmentation_batch128"] = aug
    print(f"MLP 784-128-64-10 training step (batch 128): {aug['mlp_step_s'] * 1e3:.3f} ms")
    for name, r in aug["transforms"].items():
        print(f"  {name:<46} {r['seconds'] * 1e3:7.3f} ms  {r['fraction_of_step']:6.1%} of a "
              f"step")
    for name, r in aug["in_training_loop"].items():
        print(f"  loop: {name:<40} {r['seconds_per_step'] * 1e3:7.3f} ms per step "
              f"({r['added_fraction']:+6.1%})")
    if args.out:
        with open(args.out + ".tmp", "w") as f:
            json.dump(results, f, indent=1)
        os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
