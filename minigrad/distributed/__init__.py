"""Data-parallel training across processes and machines, on MPI (mpi4py) and, for GPU arrays,
NCCL (through CuPy), with ``torch.distributed``'s names. A process group (process_group.py),
collectives on tensors (collectives.py); ``nn.parallel.DistributedDataParallel`` and
``data.DistributedSampler`` build on them. ``import minigrad`` never imports this package, and
this package imports mpi4py only when a group of several processes is made.
"""

from .collectives import all_gather, all_reduce, barrier, broadcast, gather_rows, reduce
from .process_group import (ProcessGroup, ReduceOp, data_parallel_group, default_group,
                            destroy_process_group,
                            get_rank, get_world_size, init_process_group, is_available,
                            is_initialized, launched_by_mpi, new_group)

__all__ = ["init_process_group", "destroy_process_group", "new_group", "data_parallel_group",
           "is_initialized",
           "is_available",
           "get_rank", "get_world_size", "launched_by_mpi", "default_group", "ProcessGroup",
           "ReduceOp", "all_reduce", "broadcast", "reduce", "all_gather", "gather_rows",
           "barrier"]
