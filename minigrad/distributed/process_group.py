"""The process group: which process this is among how many, and the MPI communicator (or NCCL's,
for GPU arrays) the collectives run on.

    mpiexec -n 4 python train.py          # 4 processes, ranks 0..3, world size 4
    python train.py                       # one process: world size 1, every collective a no-op

``init_process_group(backend='auto')`` takes MPI (through mpi4py) when the process was started
by an MPI launcher (``mpiexec``/``mpirun``, Slurm's ``srun`` with an MPI plugin), and otherwise
makes a group of one process, in which everything still works and nothing needs mpi4py.
``backend='mpi'`` insists on MPI; ``backend='nccl'`` adds NCCL (through CuPy) for arrays on a
GPU, bootstrapped over MPI (one rank per GPU: rank r uses GPU r % count). ``backend='spark'``,
inside the barrier tasks of ``minigrad.spark.SparkDistributor``, runs the collectives through
Spark's ``BarrierTaskContext`` (spark_backend.py).

Faults: with more than one process, an exception that reaches the top of any rank prints that
rank's traceback (prefixed with its rank) and aborts the whole job (``MPI.COMM_WORLD.Abort``), so
the other ranks do not wait forever in a collective; ``timeout`` (seconds) bounds each
collective too (a rank killed outright leaves the others waiting otherwise).
"""

from __future__ import annotations

import os
import sys
import traceback

__all__ = ["ReduceOp", "ProcessGroup", "init_process_group", "destroy_process_group", "new_group",
           "data_parallel_group",
           "is_initialized", "is_available", "get_rank", "get_world_size", "launched_by_mpi",
           "default_group"]

# Environment variables that MPI launchers set in every process they start.
_MPI_ENVIRONMENT = ("PMI_SIZE", "PMI_RANK", "OMPI_COMM_WORLD_SIZE", "PMIX_RANK",
                    "MPI_LOCALNRANKS", "HYDRA_CONTROL_FD")


class ReduceOp:
    """How ``all_reduce``/``reduce`` combine the ranks' values (``torch.distributed.ReduceOp``)."""

    SUM = "sum"
    AVG = "avg"
    MAX = "max"
    MIN = "min"
    ALL = (SUM, AVG, MAX, MIN)


def launched_by_mpi() -> bool:
    """Whether an MPI launcher started this process (its environment variables are set)."""
    return any(name in os.environ for name in _MPI_ENVIRONMENT)


def is_available() -> bool:
    """Whether mpi4py can be imported (the ``minigrad[mpi]`` extra)."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise RuntimeError("minigrad.distributed: MPI needs mpi4py, which is not installed: "
                           "pip install 'minigrad[mpi]' (mpi4py with an MPI from pip), or "
                           "mpi4py built against your cluster's MPI") from exc
    return MPI


class ProcessGroup:
    """The ranks taking part and how they talk: ``rank``, ``world_size``, ``backend`` ('mpi',
    'nccl', 'spark' or 'single'), ``comm`` (an mpi4py communicator, or the spark backend's
    stand-in for one; None for a single process),
    ``nccl`` (a CuPy NCCL communicator for GPU arrays, or None) and ``timeout`` (seconds per
    collective, or None)."""

    def __init__(self, backend: str, comm=None, nccl=None, timeout=None):
        self.backend = backend
        self.comm = comm
        self.nccl = nccl
        self.timeout = timeout
        self.rank = 0 if comm is None else comm.Get_rank()
        self.world_size = 1 if comm is None else comm.Get_size()

    def __repr__(self) -> str:
        return (f"ProcessGroup(backend={self.backend!r}, rank={self.rank}, "
                f"world_size={self.world_size})")


_default: ProcessGroup | None = None
_previous_excepthook = None


def init_process_group(backend: str = "auto", timeout=None) -> ProcessGroup:
    """Join the job's process group (see the module docstring); returns it.

    ``backend``: 'auto' (MPI under an MPI launcher, else one process), 'mpi', 'nccl' (MPI for
    the host, NCCL for GPU arrays), 'spark' (in a Spark barrier task). ``timeout``: seconds a
    collective may wait, None for ever.
    """
    global _default
    if _default is not None:
        raise RuntimeError(f"init_process_group: already initialized ({_default})")
    if backend not in ("auto", "mpi", "nccl", "spark"):
        raise ValueError(f"init_process_group: backend must be 'auto', 'mpi', 'nccl' or "
                         f"'spark', got {backend!r}")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"init_process_group: timeout must be > 0 seconds or None, got "
                         f"{timeout!r}")
    if backend == "spark":     # a failing task fails the whole barrier stage: no abort hook
        from .spark_backend import BarrierCommunicator
        _default = ProcessGroup("spark", BarrierCommunicator(timeout))
        return _default
    if backend == "auto" and not launched_by_mpi():
        _default = ProcessGroup("single", timeout=timeout)
        return _default
    MPI = _mpi()
    comm = MPI.COMM_WORLD.Dup()
    nccl = _nccl_communicator(comm) if backend == "nccl" else None
    _default = ProcessGroup("nccl" if nccl is not None else "mpi", comm, nccl, timeout)
    if _default.world_size > 1:
        _install_abort_on_error()
    return _default


def _nccl_communicator(comm):
    """A NCCL communicator over the same ranks, its unique id broadcast from rank 0 by MPI."""
    from .. import backend
    cupy, nccl = backend.cupy(), backend.nccl()
    cupy.cuda.Device(comm.Get_rank() % cupy.cuda.runtime.getDeviceCount()).use()
    uid = comm.bcast(nccl.get_unique_id() if comm.Get_rank() == 0 else None, root=0)
    return nccl.NcclCommunicator(comm.Get_size(), uid, comm.Get_rank())


def new_group(ranks) -> ProcessGroup | None:
    """A group of some of the default group's ranks (every rank must call it, with the same
    list); None on the ranks outside it. Its ranks are numbered 0.. in the order of ``ranks``
    (``torch.distributed.new_group``). Collectives take it as ``group=``."""
    parent = default_group()
    ranks = [int(r) for r in ranks]
    if sorted(set(ranks)) != sorted(ranks) or not all(0 <= r < parent.world_size
                                                      for r in ranks):
        raise ValueError(f"new_group: ranks {ranks} must be distinct ranks of a group of "
                         f"{parent.world_size}")
    if parent.comm is None:
        return parent if ranks == [0] else None
    MPI = _mpi()
    inside = parent.rank in ranks
    comm = parent.comm.Split(0 if inside else MPI.UNDEFINED,
                             ranks.index(parent.rank) if inside else 0)
    if not inside:
        return None
    return ProcessGroup("mpi", comm, timeout=parent.timeout)


def destroy_process_group() -> None:
    """Leave the process group (the communicators are freed); ``init_process_group`` may be
    called again."""
    global _default
    if _default is None:
        return
    if _default.comm is not None:
        _default.comm.Free()
    _default = None


def is_initialized() -> bool:
    return _default is not None


def default_group() -> ProcessGroup:
    """The initialized group, or a clear error."""
    if _default is None:
        raise RuntimeError("minigrad.distributed: the default process group has not been "
                           "initialized; call minigrad.distributed.init_process_group() first")
    return _default


def data_parallel_group() -> ProcessGroup | None:
    """The initialized group when it has several processes (a data-parallel job), else None
    (one process, or no group): what fit, its checkpoints and the train command ask."""
    return _default if _default is not None and _default.world_size > 1 else None


def get_rank() -> int:
    return default_group().rank


def get_world_size() -> int:
    return default_group().world_size


def _install_abort_on_error() -> None:
    """An uncaught exception on one rank prints it and aborts every rank of the job."""
    global _previous_excepthook
    if _previous_excepthook is not None:
        return
    _previous_excepthook = sys.excepthook

    def abort_job(kind, value, tb):
        rank = _default.rank if _default is not None else "?"
        text = "".join(traceback.format_exception(kind, value, tb))
        sys.stderr.write("".join(f"[rank {rank}] {line}\n" for line in text.splitlines()))
        sys.stderr.write(f"[rank {rank}] minigrad.distributed: aborting the job (this rank "
                         f"raised {kind.__name__})\n")
        sys.stderr.flush()
        _mpi().COMM_WORLD.Abort(1)

    sys.excepthook = abort_job
