"""An independent cross-check against PyTorch, for when torch happens to be installed (it is
never a dependency of minigrad or of its tests, which check every formula against NumPy):

    python benchmarks/torch_check.py

compares, in float64, convolution and pooling (values and every gradient, with stride,
padding, dilation and count_include_pad) and every optimizer with all its options on, for
20 steps, with ``torch.nn.functional`` and ``torch.optim``. Prints one line per check and
exits 1 on a disagreement.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad as mg  # noqa: E402
from minigrad import optim  # noqa: E402
from minigrad.nn import Parameter  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

TOLERANCE = dict(rtol=1e-10, atol=1e-10)

# every option of each optimizer switched on (and the same without maximize/weight decay)
ALL_ON = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True),
    "RMSprop": dict(lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.5, centered=True,
                    maximize=True),
    "Adam": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "AdamW": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "Adagrad": dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                    maximize=True),
}


def check_conv_and_pooling(torch) -> list:
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    TF = torch.nn.functional
    cases = {
        "conv2d stride (2,1) padding (1,2) dilation (1,2)":
            lambda f, a, w_, b_: f.conv2d(a, w_, b_, (2, 1), (1, 2), (1, 2)),
        "max_pool2d 3, stride 2, padding 1": lambda f, a, w_, b_: f.max_pool2d(a, 3, 2, 1),
        "avg_pool2d (3,2), stride (1,2), padding 1, count_include_pad=False":
            lambda f, a, w_, b_: f.avg_pool2d(a, (3, 2), (1, 2), (1, 1),
                                               count_include_pad=False),
    }
    results = []
    for name, case in cases.items():
        mine = [mg.tensor(v, requires_grad=True) for v in (x, w, b)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
        y_mine, y_theirs = case(F, *mine), case(TF, *theirs)
        g = rng.normal(size=tuple(y_theirs.shape))
        y_mine.backward(mg.tensor(g))
        y_theirs.backward(torch.tensor(g))
        ok = np.allclose(y_mine.data, y_theirs.detach().numpy(), **TOLERANCE)
        for m, t in zip(mine, theirs):
            if t.grad is not None:
                ok &= m.grad is not None and np.allclose(m.grad.data, t.grad.numpy(), **TOLERANCE)
        results.append((name, ok))
    return results


def check_optimizers(torch) -> list:
    rng = np.random.default_rng(4)
    results = []
    for name, hp in ALL_ON.items():
        for options in (hp, dict(hp, maximize=False, weight_decay=0.0)):
            init = rng.standard_normal((3, 2))
            mine = Parameter(mg.tensor(init, dtype=mg.float64))
            theirs = torch.tensor(init, requires_grad=True)
            opt_mine = getattr(optim, name)([mine], **options)
            opt_theirs = getattr(torch.optim, name)([theirs], **options)
            for _ in range(20):
                g = rng.standard_normal((3, 2))
                mine.grad = mg.tensor(g, dtype=mg.float64)
                theirs.grad = torch.tensor(g)
                opt_mine.step()
                opt_theirs.step()
            ok = np.allclose(mine.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
            results.append((f"{name} {options}", ok))
    return results


def main() -> int:
    try:
        import torch
    except ImportError:
        print("torch is not installed: nothing to compare against (pip install torch)")
        return 0
    torch.set_default_dtype(torch.float64)
    results = check_conv_and_pooling(torch) + check_optimizers(torch)
    for name, ok in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    failed = sum(not ok for _, ok in results)
    print(f"{len(results) - failed} agree with torch {torch.__version__}, {failed} disagree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
