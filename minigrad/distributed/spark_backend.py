"""The 'spark' backend: the collectives of a Spark barrier stage, through Spark's own
``BarrierTaskContext`` (``allGather`` of strings, ``barrier``), for
``init_process_group(backend='spark')`` inside the tasks that ``minigrad.spark.SparkDistributor``
starts. Spark schedules the ranks and moves the data; there is no network layer of minigrad's.

:class:`BarrierCommunicator` stands in for the part of an mpi4py communicator that
``collectives.py`` uses (``Allreduce``, ``Bcast``, ``Reduce``, ``Allgather``, ``Allgatherv``,
``Barrier``, with mpi4py's argument order and ``MPI.IN_PLACE``), so ``all_reduce``, ``broadcast``,
``reduce``, ``all_gather``, ``gather_rows`` and ``barrier`` -- and with them
``DistributedDataParallel``, ``SyncBatchNorm``, ``DistributedSampler`` and ``fit`` with rank-0
checkpoints -- run unchanged. Rank r is the task's partition id; the world size is the stage's
number of tasks.

Each collective is one ``allGather``: every rank sends its array as one string, every rank
decodes all of them and combines them in rank order (so every rank computes the same sum, bit for
bit). The string of an array (:func:`encode_array`)::

    {"call": k, "op": "all_reduce", "dtype": "<f4", "shape": [3, 4]}\\n<base64 of the raw bytes>

Nothing is unpickled: the header is JSON, the dtype must be a plain numeric or bool one, the
byte count must match the shape, and every rank checks that all ranks are in the same call k of
the same collective (ranks calling different collectives is an error naming both, not a hang).

Cost: Spark's ``BarrierTaskContext`` waits for the driver's answer in sleeps of one second
(``runBarrier`` in ``BarrierTaskContext.scala``), so every collective takes about one second
whatever its size: averaging the 535,818 gradients of the MLP 784-512-256-10 took 1.03 s on
local[2] (an empty barrier 1.00 s, encoding and decoding the floats 8 ms), against 0.3-1.4 ms
with MPI on the same machine (benchmarks/spark_bench.py). Not available on this backend:
sub-groups (``new_group``), point-to-point (``Pipeline``), ``timeout=`` (Spark's
``spark.barrier.sync.timeout`` bounds every call) and GPU arrays.
"""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace

import numpy as np

__all__ = ["BarrierCommunicator", "encode_array", "decode_array"]

_KINDS = "biufc"   # bool, signed, unsigned, float, complex: dtypes rebuilt without pickle

# The names collectives.py asks a communicator for (mpi4py's MPI.IN_PLACE, SUM, MAX, MIN).
_NAMES = SimpleNamespace(IN_PLACE=object(), SUM="sum", MAX="max", MIN="min")
_COMBINE = {"sum": np.add, "max": np.maximum, "min": np.minimum}


def encode_array(array, header: dict) -> str:
    """``array`` as one string: ``header`` with its dtype and shape as JSON, a newline, and the
    base64 of its raw (C-order) bytes."""
    array = np.asarray(array)      # not ascontiguousarray: it makes a 0-d array 1-d
    _check_dtype(array.dtype, "spark backend: cannot send")
    head = dict(header, dtype=array.dtype.str, shape=list(array.shape))
    return json.dumps(head) + "\n" + base64.b64encode(array.tobytes(order="C")).decode("ascii")


def decode_array(message: str) -> tuple:
    """``(header, array)`` back from :func:`encode_array`'s string; a malformed message, a dtype
    that is not plain numeric or bool, or a byte count that does not match the shape is a
    ValueError."""
    head_text, sep, body = message.partition("\n")
    try:
        head = json.loads(head_text)
        dtype = np.dtype(head["dtype"])
        shape = tuple(int(s) for s in head["shape"])
    except (ValueError, KeyError, TypeError) as exc:
        raise ValueError(f"spark backend: a message that is not an encoded array "
                         f"({head_text[:80]!r}): {exc}") from None
    if not sep:
        raise ValueError(f"spark backend: a message without data ({head_text[:80]!r})")
    _check_dtype(dtype, "spark backend: refused a message of")
    raw = base64.b64decode(body.encode("ascii"), validate=True)
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected or min(shape, default=0) < 0:
        raise ValueError(f"spark backend: a message of {len(raw)} bytes for shape {shape} of "
                         f"{dtype} ({expected} bytes)")
    return head, np.frombuffer(raw, dtype=dtype).reshape(shape)


def _check_dtype(dtype, what: str) -> None:
    if dtype.kind not in _KINDS or dtype.fields is not None:
        raise TypeError(f"{what} dtype {dtype}: only numeric and bool arrays travel")


class BarrierCommunicator:
    """The ranks of the current Spark barrier stage, with the mpi4py calls ``collectives.py``
    makes (see the module docstring). Made inside a barrier task (``rdd.barrier()
    .mapPartitions``); elsewhere a clear RuntimeError."""

    MPI = _NAMES

    def __init__(self, timeout=None, context=None):
        if timeout is not None:
            raise ValueError("init_process_group(backend='spark'): timeout is not supported; "
                             "Spark's spark.barrier.sync.timeout (seconds, a session setting) "
                             "bounds every collective")
        if context is None:
            context = _barrier_context()
        self.context = context
        self.rank = int(context.partitionId())
        self.size = len(context.getTaskInfos())
        self.calls = 0

    # -- mpi4py's names ---------------------------------------------------------------------
    def Get_rank(self) -> int:
        return self.rank

    def Get_size(self) -> int:
        return self.size

    def Free(self) -> None:
        """Nothing to free: the stage's context belongs to Spark."""

    def Barrier(self) -> None:
        self.calls += 1
        self.context.barrier()

    def Allreduce(self, sendbuf, recvbuf, op) -> None:
        source = recvbuf if sendbuf is _NAMES.IN_PLACE else sendbuf
        parts = self._exchange("all_reduce", source)
        recvbuf[...] = _combine(parts, op)

    def Bcast(self, buf, root: int) -> None:
        parts = self._exchange("broadcast", buf if self.rank == root else buf[:0].reshape(0),
                               senders=(root,))
        buf[...] = parts[root].reshape(buf.shape)

    def Reduce(self, sendbuf, recvbuf, op, root: int) -> None:
        source = recvbuf if sendbuf is _NAMES.IN_PLACE else sendbuf
        parts = self._exchange("reduce", source)
        if self.rank == root:
            recvbuf[...] = _combine(parts, op)

    def Allgather(self, sendbuf, recvbuf) -> None:
        parts = self._exchange("all_gather", sendbuf)
        recvbuf[...] = np.stack(parts).reshape(recvbuf.shape)

    def Allgatherv(self, sendbuf, recv) -> None:
        out, counts = recv
        parts = self._exchange("gather_rows", sendbuf, same_shape=False)
        flat = np.concatenate([p.reshape(-1) for p in parts])
        if flat.size != int(np.sum(counts)) or flat.size != out.size:
            raise ValueError(f"gather_rows: the ranks sent {[p.size for p in parts]} values "
                             f"for a result of {out.size}")
        out.reshape(-1)[...] = flat

    def Split(self, *args, **kwargs):
        raise NotImplementedError("new_group: the spark backend has no sub-groups (a barrier "
                                  "stage's collectives involve all its tasks); use MPI")

    def Send(self, *args, **kwargs):
        raise NotImplementedError("the spark backend has no point-to-point messages (Pipeline "
                                  "needs them); use MPI")

    Recv = Send

    # -- the one exchange ---------------------------------------------------------------------
    def _exchange(self, op: str, array, senders=None, same_shape=True) -> list:
        """Every rank's array, in rank order, after checking that all ranks are in the same
        call of the same collective (and, for ``same_shape``, sent the same dtype and
        shape). With ``senders``, only those ranks' arrays are meant (the others send an empty
        one)."""
        self.calls += 1
        message = encode_array(array, {"call": self.calls, "op": op})
        heads, parts = zip(*(decode_array(m) for m in self.context.allGather(message)))
        mine = (self.calls, op)
        for r, head in enumerate(heads):
            if (head.get("call"), head.get("op")) != mine:
                raise RuntimeError(f"spark backend: rank {self.rank} is in {op} (collective "
                                   f"#{self.calls}) while rank {r} is in {head.get('op')} "
                                   f"(collective #{head.get('call')}): every rank must call "
                                   f"the same collectives in the same order")
        meant = [parts[r] for r in (senders if senders is not None else range(self.size))]
        if same_shape and any(p.shape != meant[0].shape or p.dtype != meant[0].dtype
                              for p in meant):
            raise ValueError(f"{op}: the ranks' arrays differ: "
                             f"{[(tuple(p.shape), str(p.dtype)) for p in meant]}")
        return list(parts)


def _combine(parts, op: str) -> np.ndarray:
    """op over the ranks' arrays, in rank order (the same result on every rank)."""
    total = parts[0].copy()
    for part in parts[1:]:
        _COMBINE[op](total, part, out=total)
    return total


def _barrier_context():
    try:
        from pyspark import BarrierTaskContext
    except ImportError as exc:
        raise RuntimeError("init_process_group(backend='spark'): needs pyspark "
                           "(pip install 'minigrad[spark]')") from exc
    try:
        return BarrierTaskContext.get()
    except RuntimeError:      # pyspark's NOT_IN_BARRIER_STAGE (a PySparkRuntimeError)
        raise RuntimeError("init_process_group(backend='spark'): not inside a Spark barrier task "
                           "(run the function with minigrad.spark.SparkDistributor, or in "
                           "rdd.barrier().mapPartitions)") from None
