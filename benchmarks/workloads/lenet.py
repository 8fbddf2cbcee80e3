"""``lenet_step``: one training step of LeNet-5 (1×28×28, batch 64, plain SGD), from
:mod:`benchmarks.lenet_floor`, which holds the three engines' code side by side (the floor is
im2col/col2im written by hand with every buffer allocated once).
"""

from __future__ import annotations

import numpy as np

from .. import lenet_floor
from ..harness import Case, Goal, Timing, Workload, register


def _builder(setup, step):
    def build(seed, batch):
        state = setup(seed, batch)

        def snapshot():
            arrays = dict(state["params"])  # live views of the engine's parameters
            if state["loss"] is not None:
                arrays["loss"] = np.float64(state["loss"])
            return arrays

        return Case(lambda: step(state), snapshot)
    return build


ENGINES = {
    "numpy": _builder(lenet_floor.numpy_setup, lenet_floor.numpy_step),
    "minigrad": _builder(lenet_floor.minigrad_setup, lenet_floor.minigrad_step),
    "torch": _builder(lenet_floor.torch_setup, lenet_floor.torch_step),
}

register(Workload(
    name="lenet_step",
    description="LeNet-5 on 1x28x28, batch 64, softmax cross-entropy, SGD: one step",
    per="step", engines=ENGINES, display="ms",
    config=dict(seed=0, batch=lenet_floor.BATCH),
    timing=Timing(warmup=5, min_reps=30, seconds=2.0),
    goal=Goal("torch", ratio=1.5),
    check_rtol=1e-3,
))
