"""DistributedSampler: each process of a data-parallel job takes its own share of a dataset's
indices, as ``torch.utils.data.distributed.DistributedSampler`` splits them.

With N samples and R replicas, each rank gets n = ceil(N / R) indices (``drop_last``: n =
ceil((N − R) / R) when R does not divide N), out of a list of R·n: the indices 0..N−1 (a
permutation of them with ``shuffle``, drawn from ``seed + epoch``), padded by repeating its
start when it is short, or cut when ``drop_last``; rank r takes positions r, r + R, r + 2R, ...
So the ranks' shares are disjoint (but for the padding) and together cover the dataset once.

Differences from PyTorch: the shuffled permutation comes from NumPy's PCG64 generator seeded with
``seed + epoch`` (PyTorch's ``randperm`` is not reproducible without torch), so with
``shuffle=True`` the order differs from PyTorch's while the split rule is the same; without
shuffling the indices are PyTorch's exactly.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

__all__ = ["DistributedSampler"]


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"DistributedSampler: {name} must be an int >= {low}, got {value!r}")
    return int(value)


class DistributedSampler:
    """Rank ``rank``'s share of ``dataset``'s indices (see the module docstring); give it to a
    DataLoader as ``sampler=`` and call ``set_epoch(epoch)`` at each epoch's start (``fit`` does)
    so that the shuffle changes from epoch to epoch. ``num_replicas``/``rank`` default to the
    initialized process group's world size and rank (1 and 0 without one)."""

    def __init__(self, dataset, num_replicas=None, rank=None, shuffle: bool = True,
                 seed: int = 0, drop_last: bool = False):
        if num_replicas is None or rank is None:
            from .. import distributed
            group = distributed.default_group() if distributed.is_initialized() else None
            num_replicas = (group.world_size if group else 1) if num_replicas is None \
                else num_replicas
            rank = (group.rank if group else 0) if rank is None else rank
        self.num_replicas = _check_int("num_replicas", num_replicas, 1)
        self.rank = _check_int("rank", rank, 0)
        if self.rank >= self.num_replicas:
            raise ValueError(f"DistributedSampler: rank {self.rank} is not below num_replicas "
                             f"{self.num_replicas}")
        self.dataset = dataset
        self.shuffle = bool(shuffle)
        self.seed = _check_int("seed", seed, 0)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        self.epoch = _check_int("epoch", epoch, 0)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.Generator(np.random.PCG64(self.seed + self.epoch)).permutation(n)
        else:
            order = np.arange(n)
        if self.drop_last:
            order = order[:self.total_size]
        elif self.total_size > n:              # pad by repeating the start, as often as needed
            order = np.concatenate([order] * math.ceil(self.total_size / n))[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def state_dict(self) -> dict:
        return {"epoch": self.epoch}

    def load_state_dict(self, state: dict) -> None:
        self.set_epoch(state["epoch"])
