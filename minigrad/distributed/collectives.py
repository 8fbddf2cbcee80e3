"""Collectives on tensors, in place, with ``torch.distributed``'s names and semantics.

    all_reduce(t, op)     every rank ends with op(t_0, ..., t_{n-1})   (SUM, AVG, MAX, MIN)
    broadcast(t, src)     every rank ends with t_src
    reduce(t, dst, op)    rank dst ends with op(t_0, ..., t_{n-1}); the others keep theirs
    all_gather(ts, t)     ts[r] = t_r on every rank
    barrier()             every rank waits until all have arrived

A tensor's array goes to MPI as a buffer (mpi4py's upper-case ``Allreduce``, ``Bcast``, ...: no
pickling) and is changed in place (its version counter moves, so a graph that saved it will
refuse to backward through the old values). On a GPU, arrays go through NCCL
(``init_process_group(backend='nccl')``); asking MPI to reduce a GPU array is an error, never a
silent copy through the host. In a group of one process every collective returns at once.
"""

from __future__ import annotations

import time

from .. import backend
from ..tensor import Tensor
from .process_group import ReduceOp, default_group

__all__ = ["all_reduce", "broadcast", "reduce", "all_gather", "gather_rows", "barrier"]


def _buffer(tensor, owner: str):
    """The tensor's array, checked to be one MPI or NCCL can fill in place."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{owner}: expected a Tensor, got {type(tensor).__name__}")
    data = tensor.data
    if not hasattr(data, "flags") or not data.flags.c_contiguous:
        raise ValueError(f"{owner}: the tensor of shape {tuple(tensor.shape)} is not contiguous; "
                         f"pass tensor.contiguous() and copy the result back")
    return data


def _changed(tensor) -> None:
    tensor._version_counter[0] += 1


def _check_op(op, owner: str) -> None:
    if op not in ReduceOp.ALL:
        raise ValueError(f"{owner}: op must be one of ReduceOp.SUM, AVG, MAX, MIN, got {op!r}")


def _mpi_names(group):
    """mpi4py's ``MPI`` (IN_PLACE and the ops), or the names of a communicator standing in for
    an mpi4py one (the spark backend's, spark_backend.py)."""
    names = getattr(group.comm, "MPI", None)
    if names is None:
        from mpi4py import MPI as names
    return names


def _mpi_op(op: str, MPI):
    return {"sum": MPI.SUM, "avg": MPI.SUM, "max": MPI.MAX, "min": MPI.MIN}[op]


def _wait(request, group, owner: str) -> None:
    """Wait for a nonblocking collective, at most ``group.timeout`` seconds."""
    deadline = time.monotonic() + group.timeout
    while not request.Test():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{owner}: rank {group.rank} waited more than "
                               f"{group.timeout:g} s for the other ranks (one may have died)")
        time.sleep(1e-4)


def _on_device(data, group, owner: str) -> bool:
    """True for a GPU array (then NCCL must be there); False for a host array."""
    if not backend.is_device_array(data):
        return False
    if group.nccl is None:
        raise RuntimeError(f"{owner}: the tensor is on {backend.device_of(data)}, and MPI "
                           f"reduces host arrays: use init_process_group(backend='nccl'), or "
                           f"move the tensor to the cpu yourself (minigrad never copies "
                           f"through the host silently)")
    return True


def all_reduce(tensor, op=ReduceOp.SUM, group=None) -> None:
    """Combine ``tensor`` across the ranks, in place on every rank (AVG: the sum divided by
    the world size; floating-point tensors only)."""
    group = group or default_group()
    data = _buffer(tensor, "all_reduce")
    _check_op(op, "all_reduce")
    if op == ReduceOp.AVG and data.dtype.kind != "f":
        raise TypeError(f"all_reduce: ReduceOp.AVG needs a floating-point tensor, got "
                        f"{data.dtype}")
    if group.world_size == 1:
        return
    if _on_device(data, group, "all_reduce"):
        _nccl_all_reduce(group, data, op)
    elif group.timeout is None:
        MPI = _mpi_names(group)
        group.comm.Allreduce(MPI.IN_PLACE, data, op=_mpi_op(op, MPI))
    else:
        MPI = _mpi_names(group)
        _wait(group.comm.Iallreduce(MPI.IN_PLACE, data, op=_mpi_op(op, MPI)), group,
              "all_reduce")
    if op == ReduceOp.AVG:
        data /= data.dtype.type(group.world_size)
    _changed(tensor)


def broadcast(tensor, src: int = 0, group=None) -> None:
    """Every rank's ``tensor`` takes rank ``src``'s values (in place)."""
    group = group or default_group()
    data = _buffer(tensor, "broadcast")
    if not 0 <= src < group.world_size:
        raise ValueError(f"broadcast: src {src} is not a rank of a group of {group.world_size}")
    if group.world_size == 1:
        return
    if _on_device(data, group, "broadcast"):
        _nccl_broadcast(group, data, src)
    elif group.timeout is None:
        group.comm.Bcast(data, root=src)
    else:
        _wait(group.comm.Ibcast(data, root=src), group, "broadcast")
    _changed(tensor)


def reduce(tensor, dst: int = 0, op=ReduceOp.SUM, group=None) -> None:
    """Rank ``dst``'s ``tensor`` becomes op over the ranks (in place); the others keep theirs."""
    group = group or default_group()
    data = _buffer(tensor, "reduce")
    _check_op(op, "reduce")
    if not 0 <= dst < group.world_size:
        raise ValueError(f"reduce: dst {dst} is not a rank of a group of {group.world_size}")
    if group.world_size == 1:
        return
    if _on_device(data, group, "reduce"):
        raise NotImplementedError("reduce: GPU tensors are not supported yet; use all_reduce")
    MPI = _mpi_names(group)
    mpi_op = _mpi_op(op, MPI)
    if group.rank == dst:
        group.comm.Reduce(MPI.IN_PLACE, data, op=mpi_op, root=dst)
        if op == ReduceOp.AVG:
            data /= data.dtype.type(group.world_size)
        _changed(tensor)
    else:
        group.comm.Reduce(data, None, op=mpi_op, root=dst)


def all_gather(tensor_list, tensor, group=None) -> None:
    """``tensor_list[r]`` takes rank r's ``tensor`` on every rank (each entry must have the
    tensor's shape and dtype; written in place)."""
    group = group or default_group()
    data = _buffer(tensor, "all_gather")
    if len(tensor_list) != group.world_size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries for a group "
                         f"of {group.world_size}")
    for r, t in enumerate(tensor_list):
        if not isinstance(t, Tensor) or t.shape != tensor.shape or t.dtype != tensor.dtype:
            raise ValueError(f"all_gather: tensor_list[{r}] must be a Tensor of shape "
                             f"{tuple(tensor.shape)} and dtype {tensor.dtype}")
    if group.world_size == 1:
        tensor_list[0].data[...] = data
        _changed(tensor_list[0])
        return
    if _on_device(data, group, "all_gather"):
        raise NotImplementedError("all_gather: GPU tensors are not supported yet")
    xp = backend.array_module(data)
    gathered = xp.empty((group.world_size,) + data.shape, dtype=data.dtype)
    group.comm.Allgather(data, gathered)
    for r, t in enumerate(tensor_list):
        t.data[...] = gathered[r]
        _changed(t)


def gather_rows(array, group=None):
    """Every rank's rows of a host array, concatenated in rank order, on every rank (the ranks
    may hold different numbers of rows; the other dims and the dtype must agree): how ``fit``
    computes an epoch's metrics over all the ranks' samples. MPI's Allgatherv: no pickling."""
    group = group or default_group()
    if group.world_size == 1:
        return array
    if backend.is_device_array(array):
        raise NotImplementedError("gather_rows: GPU arrays are not supported yet")
    import numpy as np
    array = np.ascontiguousarray(array)
    counts = np.empty(group.world_size, dtype=np.int64)
    group.comm.Allgather(np.array([array.shape[0]], dtype=np.int64), counts)
    row = int(np.prod(array.shape[1:], dtype=np.int64))
    out = np.empty((int(counts.sum()),) + array.shape[1:], dtype=array.dtype)
    group.comm.Allgatherv(array, [out, counts * row])
    return out


def barrier(group=None) -> None:
    """Wait until every rank has called barrier."""
    group = group or default_group()
    if group.world_size == 1:
        return
    if group.timeout is None:
        group.comm.Barrier()
    else:
        _wait(group.comm.Ibarrier(), group, "barrier")


# --- NCCL (GPU arrays): written for CuPy's cupy.cuda.nccl; not yet run on a GPU -----------------

_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
               "int32": "NCCL_INT32", "int64": "NCCL_INT64", "uint8": "NCCL_UINT8"}


def _nccl_type(nccl, data):
    name = _NCCL_TYPES.get(data.dtype.name)
    if name is None:
        raise TypeError(f"NCCL has no type for {data.dtype}")
    return getattr(nccl, name)


def _nccl_all_reduce(group, data, op) -> None:
    nccl = backend.nccl()
    nccl_op = {"sum": nccl.NCCL_SUM, "avg": nccl.NCCL_SUM, "max": nccl.NCCL_MAX,
               "min": nccl.NCCL_MIN}[op]
    stream = backend.cupy().cuda.get_current_stream().ptr
    group.nccl.allReduce(data.data.ptr, data.data.ptr, data.size, _nccl_type(nccl, data),
                         nccl_op, stream)


def _nccl_broadcast(group, data, src) -> None:
    nccl = backend.nccl()
    stream = backend.cupy().cuda.get_current_stream().ptr
    group.nccl.bcast(data.data.ptr, data.size, _nccl_type(nccl, data), src, stream)
