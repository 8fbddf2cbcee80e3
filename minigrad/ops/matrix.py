"""Matrix products: matmul (NumPy's rules), mm, bmm, dot, outer and einsum, each a Tensor
method and a ``minigrad.<name>`` function with PyTorch's signature.
"""

from __future__ import annotations

import numpy as np

from ..functions import linalg as L
from ..tensor import Tensor, as_operands
from ._registry import op

__all__: list = []


@op()
def matmul(input, other):
    """The matrix product with NumPy's rules (1-d operands, broadcast batch dims)."""
    return L.MatMul.apply(*as_operands(input, other))


def _check(a, b, ndim, op, what):
    for t in (a, b):
        if not isinstance(t, Tensor) or t.data.ndim != ndim:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(f"{op}: expects two {what}, got {shape}")
    return as_operands(a, b)


@op()
def mm(input, mat2):
    """The product of two matrices (n, k) @ (k, m) (no broadcasting)."""
    a, b = _check(input, mat2, 2, "mm", "2-d tensors (matrices)")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"mm: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")
    return L.MatMul.apply(a, b)


@op()
def bmm(input, mat2):
    """Batched matrix products (B, n, k) @ (B, k, m) (no broadcasting)."""
    a, b = _check(input, mat2, 3, "bmm", "3-d tensors (batches of matrices)")
    if a.shape[0] != b.shape[0] or a.shape[2] != b.shape[1]:
        raise ValueError(f"bmm: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied "
                         f"batch by batch")
    return L.MatMul.apply(a, b)


@op("dot", "inner")
def dot(input, other):
    """Σ_i a_i b_i of two 1-d tensors of one length."""
    a, b = _check(input, other, 1, "dot", "1-d tensors")
    if a.shape != b.shape:
        raise ValueError(f"dot: lengths differ: {tuple(a.shape)} and {tuple(b.shape)}")
    return L.MatMul.apply(a, b)


@op("outer", "ger")
def outer(input, vec2):
    """out[i, j] = a_i b_j of two 1-d tensors (a broadcast product: its gradients are the
    row and column sums)."""
    a, b = _check(input, vec2, 1, "outer", "1-d tensors")
    return a.reshape(-1, 1) * b.reshape(1, -1)


@op(method=False)
def einsum(equation, *operands):
    """Einstein summation, ``einsum('ij,jk->ik', a, b)`` (operands also as one list): any
    equation, with '...' and implicit output; size-1 dims broadcast. Differentiable in every
    operand, its gradient itself an einsum (see :mod:`minigrad.functions.einsum`). The
    sublist form ``einsum(a, [0, 1], ...)`` is not supported."""
    from ..functions import einsum as ES  # parsing and all: loaded on first use
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands or not all(isinstance(t, Tensor) for t in operands):
        raise TypeError(f"einsum: expects an equation and tensors, got "
                        f"{[type(t).__name__ for t in operands]}")
    inputs, output, squeezed = ES.parse(equation, [t.shape for t in operands])
    dtype = np.result_type(*[t.dtype for t in operands])
    prepared = []
    for t, drop in zip(operands, squeezed):
        t = t.to(dtype)
        if drop:
            t = t.reshape(tuple(n for i, n in enumerate(t.shape) if i not in drop))
        prepared.append(t)
    return ES.Einsum.apply(*prepared, inputs=inputs, output=output)
