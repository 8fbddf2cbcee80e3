"""Small checks shared by the training modules: integer arguments, ``(inputs, targets)`` batches,
moving a batch to the model's device, a model's train/eval mode, gathering per-batch arrays."""

from __future__ import annotations

import contextlib
import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor


def _check_int(owner: str, name: str, value, low: int = 1, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def _pair(batch, owner: str, where: str):
    """``(inputs, targets)`` of one batch, or a clear error."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = (f"a {type(batch).__name__} of {len(batch)} fields"
               if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}")
        raise TypeError(f"{owner}: {where} must yield (inputs, targets) pairs, got {got}")
    return batch[0], batch[1]


def _model_device(model):
    """The device of the model's first parameter (None for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return None


def _to(x, device):
    """``x`` on ``device`` (batches follow the model, so a cpu loader can feed a cuda model)."""
    if device is None or not isinstance(x, Tensor):
        return x
    if device.type == "cpu" and type(x.data) is np.ndarray:   # the common case, checked cheaply
        return x
    return x.to(device) if x.device != device else x


@contextlib.contextmanager
def _mode(model, training: bool):
    """Run with the whole model in train or eval mode, then give every submodule its own
    earlier mode back (a model partly in eval mode stays so)."""
    saved = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for m, mode in saved:
            m.training = mode


def _host(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else backend.to_device(array, "cpu")


def _concat(arrays):
    """One array from a list of per-batch arrays, on their device (None for an empty list)."""
    if not arrays:
        return None
    if len(arrays) == 1:
        return arrays[0]
    return backend.array_module(arrays[0]).concatenate(arrays)


def _process_group():
    """The process group of a data-parallel job, or None (one process)."""
    from ..distributed import data_parallel_group
    return data_parallel_group()


def _shard_group(loader):
    """The process group when ``loader`` hands each rank its own share of the data (a
    DistributedSampler over the group's ranks), so sums and metrics must combine the ranks';
    None otherwise."""
    sampler = getattr(loader, "sampler", None)
    group = _process_group()
    if group is None or getattr(sampler, "num_replicas", 1) != group.world_size:
        return None
    return group


def _is_writer() -> bool:
    """Whether this process prints progress and writes files: rank 0, or the only process."""
    group = _process_group()
    return group is None or group.rank == 0


def _set_epoch(loader, epoch: int) -> None:
    """A sampler with ``set_epoch`` (DistributedSampler) reshuffles by the epoch number."""
    set_epoch = getattr(getattr(loader, "sampler", None), "set_epoch", None)
    if set_epoch is not None:
        set_epoch(epoch)
