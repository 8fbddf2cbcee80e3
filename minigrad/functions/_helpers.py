"""Shared pieces of op code: broadcasting reduction and dim normalization, each in one place."""

from __future__ import annotations

import numpy as np


def unbroadcast(grad, shape):
    """Sum ``grad`` over the axes broadcasting added or stretched, so it has ``shape`` again.

    Every binary op sends its input gradients through here: if ``a`` of shape (3, 1) met ``b``
    of shape (4,) the output is (3, 4), and ``a``'s gradient is the output gradient summed over
    axis 1 (stretched) while ``b``'s is summed over axis 0 (added).
    """
    gshape = grad.data.shape
    if gshape == shape:
        return grad
    lead = len(gshape) - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and gshape[lead + i] != 1)
    if axes:
        grad = grad.sum(dim=axes, keepdim=True)
    if grad.data.shape != shape:
        grad = grad.reshape(shape)
    return grad


def normalize_dims(dim, ndim: int, op: str):
    """``dim`` (None, an int or a sequence, negatives allowed) as a sorted tuple of axes.

    ``None`` means every axis. A 0-d tensor accepts dim 0 or -1 (as in PyTorch), meaning none.
    """
    if dim is None:
        return tuple(range(ndim))
    if dim.__class__ is int and 0 <= dim < ndim:  # the common case, kept fast
        return (dim,)
    if isinstance(dim, np.integer):
        dim = int(dim)
    dims = (dim,) if isinstance(dim, int) else tuple(int(d) if isinstance(d, np.integer) else d
                                                     for d in dim)
    size = max(ndim, 1)
    out = []
    for d in dims:
        if not isinstance(d, int) or not -size <= d < size:
            raise IndexError(f"{op}: dim {d!r} is out of range for a tensor with {ndim} dims")
        d %= size
        if d in out:
            raise ValueError(f"{op}: dim {d} given twice in {dim!r}")
        out.append(d)
    return tuple(sorted(out)) if ndim else ()


def kept_shape(shape, axes):
    """``shape`` with the reduced ``axes`` set to 1 (the keepdim shape)."""
    return tuple(1 if i in axes else n for i, n in enumerate(shape))


def resolve_dim_args(dim, axis, keepdim, keepdims, op: str):
    """Accept PyTorch's ``dim``/``keepdim`` or NumPy's ``axis``/``keepdims``."""
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{op}: give dim or axis, not both")
        dim = axis
    if keepdims is not None:
        keepdim = keepdims
    return dim, bool(keepdim)
