"""int8 against float32 inference time, measured honestly: the MNIST MLP 784-512-256-10 and
LeNet-5 (weights as initialized: speed does not depend on them), 10,000 images in batches of
1,000, every variant timed in interleaved rounds (the best round counts, so a busy machine
hurts every variant alike), single-threaded BLAS.

Variants: float32; int8 static (integer layers, the exact float32-BLAS route for the int32
sums); int8 dynamic (MLP); the MLP with 50% of its hidden units pruned (ln_structured),
masked and then shrunk (nn.utils.prune.shrink); and the static model with
``method='int32'`` (NumPy's own integer matmul, no BLAS), timed on 1,000 images only and
scaled, to show why the float route exists.

    OPENBLAS_NUM_THREADS=1 python benchmarks/quantization_speed.py \
        --json benchmarks/results/quantization_speed.json
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad as mg  # noqa: E402
from minigrad import models, nn  # noqa: E402
from minigrad.nn.utils import prune  # noqa: E402
from minigrad import quantization as Q  # noqa: E402


def _time(model, batches) -> float:
    start = time.perf_counter()
    with mg.no_grad():
        for x in batches:
            model(x)
    return time.perf_counter() - start


def _set_method(model, method):
    for m in model.modules():
        if hasattr(m, "method"):
            m.method = method


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json")
    args = parser.parse_args(argv)
    mg.manual_seed(0)
    report = {"threads": os.environ.get("OPENBLAS_NUM_THREADS"), "models": {}}
    for name, model, shape in (("mlp", models.mlp(784, (512, 256), 10), (1000, 784)),
                               ("lenet", models.lenet5(10), (1000, 1, 28, 28))):
        model.eval()
        batches = [mg.rand(*shape) for _ in range(10)]
        prepared = Q.prepare(model)
        Q.calibrate(prepared, mg.cat(batches[:2]), batch_size=1000, batches=2)
        variants = {"float32": model, "int8 static": Q.convert(prepared)}
        if name == "mlp":
            variants["int8 dynamic"] = Q.quantize_dynamic(model)
            masked = copy.deepcopy(model)
            for layer in [m for m in masked if isinstance(m, nn.Linear)][:-1]:
                prune.ln_structured(layer, "weight", 0.5, n=2, dim=0)
            variants["float32 50% units pruned (masked)"] = masked
            variants["float32 50% units pruned, shrunk"] = prune.shrink(masked)
        best = {k: float("inf") for k in variants}
        for _ in range(args.rounds):
            for key, m in variants.items():
                best[key] = min(best[key], _time(m, batches))
        reference = Q.convert(prepared)
        _set_method(reference, "int32")
        best["int8 static, int32 matmul (NumPy, no BLAS)"] = 10 * _time(reference, batches[:1])
        ms = {k: 1000 * v for k, v in best.items()}
        report["models"][name] = ms
        print(f"{name}: ms per 10,000 images (best of {args.rounds} interleaved rounds)")
        for key, value in ms.items():
            print(f"  {key:<45} {value:9.1f} ms   {ms['float32'] / value:5.2f}x float32's speed")
    if args.json:
        from minigrad.files import atomic_write_text
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n", "quantization_speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
