"""SparkDistributor: data-parallel training as one Spark barrier stage, in the manner of
PyTorch's ``TorchDistributor``::

    def train(lr):
        from minigrad import distributed, nn, optim
        from minigrad.data import DataLoader, DistributedSampler
        ddp = nn.parallel.DistributedDataParallel(build_model())
        loader = DataLoader(data, batch_size=16, sampler=DistributedSampler(data))
        ...                                  # as under mpiexec; rank 0 writes the checkpoints
        return final_accuracy

    accuracy = SparkDistributor(num_processes=2).run(train, 0.01)   # rank 0's return value

``run(train_fn, *args, **kwargs)`` starts ``num_processes`` tasks at once in barrier mode
(``rdd.barrier().mapPartitions``: Spark schedules them together and, when one fails, fails them
all); each calls ``minigrad.distributed.init_process_group('spark')`` (rank = partition id, the
collectives through Spark's ``BarrierTaskContext``: spark_backend.py), then ``train_fn``, then
``destroy_process_group``. ``DistributedDataParallel``, ``SyncBatchNorm``,
``DistributedSampler`` and ``fit`` (global logs, rank-0 checkpoints) work as under MPI; what
rank 0 returns comes back to the driver (through Spark's task results). An exception on any rank
fails the stage; ``run`` raises it with that rank's Python traceback.

``local_mode=True``: the tasks run on this machine, in a local-mode Spark (the active session's
when its master is ``local[n]``, else a new ``local[num_processes]`` session); TorchDistributor's
local mode also trains on the driver's machine, but starts its processes itself, where here
Spark starts them. ``local_mode=False``: the tasks run on the active session's executors (a
cluster started by ``spark-submit``); barrier mode needs ``num_processes`` free task slots at
once. Rank 0's checkpoints are written on the executor running rank 0: give a path on a file
system the driver sees (NFS, DBFS, ...).

Cost: each collective waits at least about one second in Spark's ``BarrierTaskContext`` (see
spark_backend.py), so a step of DDP costs about a second more than its compute, against a
millisecond or two under MPI (benchmarks/spark_bench.py). Prefer ``mpiexec`` (or MPI across the
cluster's machines) whenever a step computes in much less than a few seconds; use this when
the cluster has Spark and no MPI, with large per-rank batches, or several ``no_sync()``
accumulation steps per averaging.
"""

from __future__ import annotations

from ..training._helpers import _check_int
from ._session import local_session, local_slots, python_error, spark_context

__all__ = ["SparkDistributor"]


def _rank_task(train_fn, args, kwargs):
    """The function each barrier task runs on its (one-element) partition."""
    def task(_partition):
        from .. import distributed
        group = distributed.init_process_group("spark")
        try:
            result = train_fn(*args, **kwargs)
        finally:
            distributed.destroy_process_group()
        return [(group.rank, result)] if group.rank == 0 else []
    return task


class SparkDistributor:
    """Run a training function on ``num_processes`` Spark barrier tasks with
    ``minigrad.distributed`` on the 'spark' backend (see the module docstring).

    Args:
        num_processes: the ranks (barrier tasks).
        local_mode: True: on this machine (a local-mode Spark); False: on the cluster of the
            active session.
        spark: a SparkSession or SparkContext to use (default the active one).
    """

    def __init__(self, num_processes: int = 1, local_mode: bool = True, spark=None):
        self.num_processes = _check_int("SparkDistributor", "num_processes", num_processes)
        self.local_mode = bool(local_mode)
        self._spark = spark

    def _context(self):
        spark = self._spark
        if spark is None and self.local_mode:
            from pyspark.sql import SparkSession
            if SparkSession.getActiveSession() is None:
                spark = local_session(self.num_processes, "minigrad SparkDistributor")
        context = spark_context(spark, "SparkDistributor")
        slots = local_slots(context.master)
        if self.local_mode and slots is None:
            raise ValueError(f"SparkDistributor(local_mode=True): the Spark session runs on "
                             f"{context.master!r}, not a local master; pass local_mode=False "
                             f"to train on its executors")
        if slots is not None and slots < self.num_processes:
            raise ValueError(f"SparkDistributor: {self.num_processes} processes need as many "
                             f"task slots at once (barrier mode); the master {context.master!r} "
                             f"runs {slots}")
        return context

    def run(self, train_fn, *args, **kwargs):
        """``train_fn(*args, **kwargs)`` on every rank; returns rank 0's result."""
        if not callable(train_fn):
            raise TypeError(f"SparkDistributor.run: train_fn must be callable, got "
                            f"{type(train_fn).__name__}")
        context = self._context()
        n = self.num_processes
        name = getattr(train_fn, "__qualname__", type(train_fn).__name__)
        context.setJobDescription(f"minigrad SparkDistributor: {name} on {n} processes")
        try:
            results = (context.parallelize(range(n), n).barrier()
                       .mapPartitions(_rank_task(train_fn, args, kwargs)).collect())
        except Exception as exc:
            raise RuntimeError(f"SparkDistributor: {name} failed on a rank of {n}:\n"
                               f"{python_error(exc)}") from exc
        finally:
            context.setJobDescription(None)
        return results[0][1]

    def __repr__(self) -> str:
        return (f"SparkDistributor(num_processes={self.num_processes}, "
                f"local_mode={self.local_mode})")
