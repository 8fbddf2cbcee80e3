"""MNIST MLP trained with ``python -m minigrad train --amp`` against the same run in float32.

Both runs use the same seed, data, model and optimizer; the script reads each run's
results.json and history.json and reports test accuracy, time per optimizer step, the skipped
steps and the loss scale's history (its distinct values and where they changed). On the CPU
NumPy has no float16 matrix kernels, so the float16 run is expected to be much slower: the
figure is reported as measured.

    OPENBLAS_NUM_THREADS=1 python benchmarks/amp_mnist.py --data-dir /path/to/mnist
    python benchmarks/amp_mnist.py --epochs 1 --hidden 512,256     # the committed figures

Writes benchmarks/results/amp_mnist.json and amp_mnist.txt (atomically).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import minigrad
from minigrad import cli
from minigrad.files import atomic_write_text


def run(flags, out):
    status = cli.main(["train", *flags, "--out", out, "--quiet"])
    if status != 0:
        raise SystemExit(f"train exited with {status}")
    with open(os.path.join(out, "results.json")) as f:
        results = json.load(f)
    with open(os.path.join(out, "history.json")) as f:
        history = json.load(f)
    return results, history


def scale_changes(history):
    """[(step, new scale)] where the scale changed (step 0: the initial scale)."""
    changes = []
    for step, scale in enumerate(history):
        if not changes or scale != changes[-1][1]:
            changes.append((step, scale))
    return changes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("MINIGRAD_DATA")
                        or os.path.join(ROOT, os.pardir, "shared", "data", "mnist"))
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--hidden", default="512,256")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    common = ["--data", "mnist", "--data-dir", args.data_dir, "--model", "mlp", "--hidden",
              args.hidden, "--epochs", str(args.epochs), "--seed", str(args.seed),
              "--threads", "1"]
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, extra in (("float32", []), ("amp", ["--amp"])):
            results, _ = run(common + extra, os.path.join(tmp, name))
            rows[name] = {"test_accuracy": results["test_accuracy"],
                          "test_loss": results["test_loss"],
                          "optimizer_steps": results["optimizer_steps"],
                          "train_time_s": results["train_time_s"],
                          "step_time_ms": 1000 * results["train_time_s"]
                          / results["optimizer_steps"]}
            if "amp" in results:
                amp = results["amp"]
                rows[name].update(skipped_steps=amp["skipped_steps"],
                                  final_scale=amp["final_scale"],
                                  scale_changes=scale_changes(amp["scale_history"]))
    f32, amp = rows["float32"], rows["amp"]
    summary = {
        "command": "python benchmarks/amp_mnist.py " + " ".join(argv or sys.argv[1:]),
        "config": {"hidden": args.hidden, "epochs": args.epochs, "seed": args.seed,
                   "optimizer": "adam (lr 1e-3), cosine schedule, batch 128, dropout 0.2",
                   "blas_threads": 1},
        "machine": {"python": platform.python_version(), "numpy": __import__("numpy").__version__,
                    "minigrad": minigrad.__version__, "device": "cpu"},
        "runs": rows,
        "accuracy_gap_points": 100 * (amp["test_accuracy"] - f32["test_accuracy"]),
        "step_time_ratio_amp_over_float32": amp["step_time_ms"] / f32["step_time_ms"],
    }
    lines = [(f"MNIST MLP 784-{args.hidden.replace(',', '-')}-10, {args.epochs} epoch(s), "
              f"seed {args.seed}, CPU, 1 BLAS thread"),
             (f"{'run':<8} {'test acc':>9} {'test loss':>10} {'steps':>6} {'ms/step':>9} "
              f"{'skipped':>8} {'final scale':>12}")]
    for name, r in rows.items():
        lines.append(f"{name:<8} {r['test_accuracy']:>9.4f} {r['test_loss']:>10.4f} "
                     f"{r['optimizer_steps']:>6} {r['step_time_ms']:>9.1f} "
                     f"{r.get('skipped_steps', '-'):>8} {r.get('final_scale', '-'):>12}")
    lines.append(f"accuracy gap (amp - float32): {summary['accuracy_gap_points']:+.2f} points; "
                 f"amp step time / float32: {summary['step_time_ratio_amp_over_float32']:.1f}x")
    lines.append(f"loss scale changes (step, scale): {amp['scale_changes']}")
    text = "\n".join(lines) + "\n"
    print(text, end="")
    results_dir = os.path.join(ROOT, "benchmarks", "results")
    atomic_write_text(os.path.join(results_dir, "amp_mnist.json"),
                      json.dumps(summary, indent=1) + "\n", "benchmarks/amp_mnist.py")
    atomic_write_text(os.path.join(results_dir, "amp_mnist.txt"), text, "benchmarks/amp_mnist.py")


if __name__ == "__main__":
    main()
