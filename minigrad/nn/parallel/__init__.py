"""Training on several processes: :class:`DistributedDataParallel` (data parallelism) and
:class:`Pipeline` (model parallelism), over :mod:`minigrad.distributed`."""

from .distributed import DistributedDataParallel
from .pipeline import Pipeline

__all__ = ["DistributedDataParallel", "Pipeline"]
