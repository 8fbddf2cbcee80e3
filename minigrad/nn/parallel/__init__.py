"""Training on several processes: :class:`DistributedDataParallel` (data parallelism over
:mod:`minigrad.distributed`)."""

from .distributed import DistributedDataParallel

__all__ = ["DistributedDataParallel"]
