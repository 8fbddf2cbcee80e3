"""Matrix multiplication with NumPy's rules: 1-D operands and broadcast batch dims."""

from __future__ import annotations

from ..autograd import Function
from ._helpers import unbroadcast


class MatMul(Function):
    """out = a @ b;  da = g @ bᵀ,  db = aᵀ @ g  (ᵀ swaps the last two axes)

    A 1-D ``a`` is treated as a row (1, k) and a 1-D ``b`` as a column (k, 1), whose added axis
    is then dropped, as in NumPy. Batch axes broadcast; their gradients are summed back.
    """

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError("both operands must have at least one dimension")
        return a @ b

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        a_shape, b_shape = a.data.shape, b.data.shape
        if len(a_shape) == 1 and len(b_shape) == 1:  # dot product: g is 0-d
            return (g * b if need_a else None), (g * a if need_b else None)
        if len(a_shape) == 1:
            a, g = a.unsqueeze(0), g.unsqueeze(-2)
        if len(b_shape) == 1:
            b, g = b.unsqueeze(-1), g.unsqueeze(-1)
        da = db = None
        # Each gradient is computed in its input's memory layout: for b = W.T, db = (gᵀ a)ᵀ,
        # so the gradient that reaches W is contiguous like W (no copy, fast updates).
        if need_a:
            da = (b @ g.mT).mT if _stored_transposed(a.data) else g @ b.mT
            da = unbroadcast(da, a.data.shape)
            if da.data.shape != a_shape:
                da = da.reshape(a_shape)
        if need_b:
            db = (g.mT @ a).mT if _stored_transposed(b.data) else a.mT @ g
            db = unbroadcast(db, b.data.shape)
            if db.data.shape != b_shape:
                db = db.reshape(b_shape)
        return da, db


def _stored_transposed(array) -> bool:
    """True when the last two axes are stored swapped (a transposed view such as W.T)."""
    return array.ndim >= 2 and array.strides[-2] < array.strides[-1]
