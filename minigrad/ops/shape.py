"""Shape ops (reshape, permute, transpose, squeeze, expand, flip, roll, repeat, split, ...),
each a Tensor method and, where PyTorch has one, a ``minigrad.<name>`` function. ``view`` is
``reshape`` (NumPy decides whether to copy; PyTorch's view never does).
"""

from __future__ import annotations

import numpy as np

from ..functions import elementwise as E
from ..functions import shape as S
from ..functions._helpers import normalize_dims
from ..tensor import cat, stack
from ._registry import op, register

__all__: list = []

register(cat, "cat", "concat", "concatenate", method=False)
register(stack, method=False)


def _sizes(sizes):
    """``f(2, 3)`` and ``f((2, 3))`` alike."""
    if len(sizes) == 1 and not isinstance(sizes[0], (int, np.integer)):
        return tuple(sizes[0])
    return sizes


def _dim(t, dim, op):
    (axis,) = normalize_dims(dim, t.data.ndim, op) or (0,)
    return axis


@op()
def reshape(input, *shape):
    """The same elements in a new shape (one entry may be -1)."""
    return S.Reshape.apply(input, shape=_sizes(shape))


@op(module=False)
def view(self, *shape):
    """Same as :meth:`reshape` (NumPy decides whether to copy; PyTorch's view never does)."""
    return reshape(self, *shape)


@op(module=False)
def view_as(self, other):
    return reshape(self, other.shape)


@op(module=False)
def reshape_as(self, other):
    return reshape(self, other.shape)


@op()
def flatten(input, start_dim=0, end_dim=-1):
    """Merge dims start_dim..end_dim into one."""
    shape = input.data.shape
    if not shape:
        return reshape(input, 1)
    (start,) = normalize_dims(start_dim, len(shape), "flatten")
    (end,) = normalize_dims(end_dim, len(shape), "flatten")
    if start > end:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim}")
    merged = int(np.prod(shape[start:end + 1]))
    return reshape(input, shape[:start] + (merged,) + shape[end + 1:])


@op()
def permute(input, *dims):
    """Reorder the axes: ``permute(2, 0, 1)``."""
    dims = _sizes(dims)
    if len(dims) != input.data.ndim:
        raise ValueError(f"permute: {len(dims)} dims given for a tensor of {input.data.ndim}")
    normalize_dims(dims, input.data.ndim, "permute")  # range and repeat checks
    return S.Permute.apply(input, dims=tuple(d % max(input.data.ndim, 1) for d in dims))


@op("transpose", "swapaxes", "swapdims")
def transpose(input, dim0, dim1):
    """Swap two axes."""
    n = input.data.ndim
    a, b = normalize_dims(dim0, n, "transpose"), normalize_dims(dim1, n, "transpose")
    if n < 2 or a == b:
        return input
    dims = list(range(n))
    dims[a[0]], dims[b[0]] = dims[b[0]], dims[a[0]]
    return S.Permute.apply(input, dims=tuple(dims))


@op()
def t(input):
    """The transpose of a matrix; 0-d and 1-d tensors come back as they are."""
    if input.data.ndim > 2:
        raise ValueError(f"t: expects a tensor of at most 2 dims, got shape {tuple(input.shape)} "
                         f"(use transpose or mT for batches)")
    return transpose(input, 0, 1) if input.data.ndim == 2 else input


@op()
def movedim(input, source, destination):
    """Move dim(s) ``source`` to position(s) ``destination``, the others keeping their order."""
    n = input.data.ndim
    source = (source,) if isinstance(source, (int, np.integer)) else tuple(source)
    destination = (destination,) if isinstance(destination, (int, np.integer)) else tuple(destination)
    if len(source) != len(destination):
        raise ValueError(f"movedim: {len(source)} source dims but {len(destination)} "
                         f"destinations")
    src = [d % max(n, 1) for d in source]
    dst = [d % max(n, 1) for d in destination]
    normalize_dims(tuple(src), n, "movedim")
    normalize_dims(tuple(dst), n, "movedim")
    rest = iter([d for d in range(n) if d not in src])
    placed = dict(zip(dst, src))
    order = tuple(placed[i] if i in placed else next(rest) for i in range(n))
    return input if order == tuple(range(n)) else S.Permute.apply(input, dims=order)


@op()
def squeeze(input, dim=None):
    """Drop size-1 axes (all of them, or ``dim`` if it has size 1)."""
    shape = input.data.shape
    axes = normalize_dims(dim, len(shape), "squeeze")
    new = tuple(n for i, n in enumerate(shape) if not (i in axes and n == 1))
    return input if new == shape else reshape(input, new)


@op()
def unsqueeze(input, dim):
    """Insert a size-1 axis at ``dim`` (-ndim-1 ≤ dim ≤ ndim)."""
    shape = input.data.shape
    if not -len(shape) - 1 <= dim <= len(shape):
        raise IndexError(f"unsqueeze: dim {dim} is out of range for {len(shape)} dims")
    dim %= len(shape) + 1
    return reshape(input, shape[:dim] + (1,) + shape[dim:])


@op(module=False)
def expand(self, *sizes):
    """Broadcast to ``sizes`` without copying (-1 keeps a size)."""
    sizes = _sizes(sizes)
    lead = len(sizes) - self.data.ndim
    if lead < 0:
        raise ValueError(f"expand: {len(sizes)} sizes for a tensor of {self.data.ndim} dims")
    shape = tuple(self.data.shape[i - lead] if n == -1 and i >= lead else n
                  for i, n in enumerate(sizes))
    if shape == self.data.shape:
        return self
    return S.Expand.apply(self, shape=shape)


@op(module=False)
def expand_as(self, other):
    return expand(self, other.shape)


@op()
def broadcast_to(input, size):
    return expand(input, size)


@op()
def flip(input, dims):
    """Reverse the order of elements along ``dims`` (an int or a sequence); a copy."""
    axes = normalize_dims(dims, input.data.ndim, "flip")
    return S.Flip.apply(input, dims=axes) if axes else input.clone()


@op()
def roll(input, shifts, dims=None):
    """Shift elements circularly by ``shifts`` along ``dims`` (None: over the flattened
    tensor, then the shape is restored)."""
    if dims is None:
        if not isinstance(shifts, (int, np.integer)):
            raise TypeError(f"roll: without dims, shifts must be one int, got {shifts!r}")
        return S.Roll.apply(input, shifts=int(shifts), dims=None)
    single = isinstance(dims, (int, np.integer))
    dims = (dims,) if single else tuple(dims)
    shifts = (shifts,) if isinstance(shifts, (int, np.integer)) else tuple(shifts)
    if len(shifts) != len(dims):
        raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
    axes = tuple(_dim(input, d, "roll") for d in dims)
    return S.Roll.apply(input, shifts=tuple(int(s) for s in shifts), dims=axes)


@op(module=False)
def repeat(self, *sizes):
    """Tile the tensor ``sizes[i]`` times along dim i (NumPy's ``tile``; leading new dims are
    added when more sizes than dims are given). Built from reshape and expand, so the
    gradient sums over the copies."""
    sizes = tuple(int(s) for s in _sizes(sizes))
    lead = len(sizes) - self.data.ndim
    if lead < 0:
        raise ValueError(f"repeat: {len(sizes)} sizes for a tensor of {self.data.ndim} dims "
                         f"(give at least one per dim)")
    if any(s < 0 for s in sizes):
        raise ValueError(f"repeat: sizes must be non-negative, got {sizes}")
    shape = (1,) * lead + self.data.shape
    # (n0, n1, ...) -> (1, n0, 1, n1, ...) -> (r0, n0, r1, n1, ...) -> (r0·n0, r1·n1, ...)
    interleaved = tuple(x for n in shape for x in (1, n))
    spread = tuple(x for r, n in zip(sizes, shape) for x in (r, n))
    out = S.Expand.apply(reshape(self, interleaved), shape=spread)
    return reshape(out, tuple(r * n for r, n in zip(sizes, shape)))


@op()
def tile(input, dims):
    """Like :meth:`repeat`, but fewer ``dims`` than the tensor has are padded with 1s in
    front (``torch.tile``)."""
    dims = tuple(dims) if not isinstance(dims, (int, np.integer)) else (dims,)
    dims = (1,) * (input.data.ndim - len(dims)) + dims
    return repeat(input, dims)


def _pieces(t, dim, sizes):
    """The slices of ``t`` along ``dim`` with the given ``sizes`` (each a GetItem view)."""
    lead = (slice(None),) * dim
    out, start = [], 0
    for n in sizes:
        out.append(t[lead + (slice(start, start + n),)])
        start += n
    return tuple(out)


@op()
def split(tensor, split_size_or_sections, dim=0):
    """Pieces along ``dim``: of ``split_size_or_sections`` elements each (the last may be
    smaller), or of the listed sizes (which must add up to the dim's size)."""
    axis = _dim(tensor, dim, "split")
    n = tensor.data.shape[axis] if tensor.data.ndim else 1
    if isinstance(split_size_or_sections, (int, np.integer)):
        size = int(split_size_or_sections)
        if size <= 0:
            raise ValueError(f"split: split_size must be positive, got {size}")
        sizes = [size] * (n // size) + ([n % size] if n % size else [])
    else:
        sizes = [int(s) for s in split_size_or_sections]
        if sum(sizes) != n or any(s < 0 for s in sizes):
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the size of dim "
                             f"{dim} of shape {tuple(tensor.shape)}")
    return _pieces(tensor, axis, sizes or [0])


@op()
def chunk(input, chunks, dim=0):
    """``chunks`` pieces along ``dim`` of ⌈n / chunks⌉ elements each (the last smaller; fewer
    pieces when n does not fill them), as in PyTorch."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    axis = _dim(input, dim, "chunk")
    n = input.data.shape[axis]
    size = -(-n // chunks) if n else 1
    return split(input, max(size, 1), axis)


@op()
def unbind(input, dim=0):
    """The slices along ``dim``, with that dim removed."""
    axis = _dim(input, dim, "unbind")
    lead = (slice(None),) * axis
    return tuple(input[lead + (i,)] for i in range(input.data.shape[axis]))


@op("narrow")
def narrow(input, dim, start, length):
    """Elements start .. start + length - 1 along ``dim`` (a view)."""
    axis = _dim(input, dim, "narrow")
    n = input.data.shape[axis]
    start = start + n if start < 0 else start
    if not 0 <= start <= start + length <= n:
        raise IndexError(f"narrow: start {start} and length {length} do not fit dim {dim} of "
                         f"size {n}")
    return input[(slice(None),) * axis + (slice(start, start + length),)]


@op(module=False)
def contiguous(self):
    """This tensor if its data is C-contiguous, else a contiguous copy (gradient flows)."""
    return self if self.data.flags.c_contiguous else E.Clone.apply(self)


@op(module=False)
def is_contiguous(self):
    return bool(self.data.flags.c_contiguous)

