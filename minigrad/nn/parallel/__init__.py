"""Training on several processes: :class:`DistributedDataParallel` (data parallelism),
:class:`SyncBatchNorm` (batch statistics over every rank) and :class:`Pipeline` (model
parallelism), over :mod:`minigrad.distributed`."""

from .distributed import DistributedDataParallel
from .pipeline import Pipeline
from .sync_batchnorm import SyncBatchNorm

__all__ = ["DistributedDataParallel", "Pipeline", "SyncBatchNorm"]
