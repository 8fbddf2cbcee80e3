"""The user-facing ops, each written once as a function of a tensor and exposed both ways:
as a Tensor method (``x.sum(1)``) and as a ``minigrad.<name>`` function with PyTorch's
signature (``minigrad.sum(x, 1)``), from the one table in :mod:`minigrad.ops._registry`.

The modules, by idea: ``pointwise`` (elementwise math), ``compare`` (comparisons, logical and
bitwise ops, value tests), ``reduction`` (sums, extrema, norms, running sums, softmax),
``shape`` (reshape, permute, flip, repeat, split, ...), ``indexing`` (gather, scatter,
masked_fill, triangles, diagonals), ``matrix`` (matmul, mm, bmm, dot, outer, einsum),
``sorting`` (sort, topk, median, unique) and ``methods`` (in-place updates, constructors from
a tensor). The differentiable work is done by the Functions in :mod:`minigrad.functions`.
"""

from __future__ import annotations

from ..tensor import Tensor
from . import compare, indexing, matrix, methods, pointwise, reduction, shape, sorting  # noqa: F401
from ._registry import TABLE
from .sorting import ValuesIndices

FUNCTIONS: dict = {}  # name -> function: the minigrad.<name> forms
METHODS: dict = {}  # name -> function: the Tensor.<name> forms


def _bind():
    """Set every op of the table on Tensor and collect the module functions (a name given
    twice for the same form is a mistake in the table)."""
    for name, function, as_method, as_function in TABLE:
        for wanted, forms in ((as_method, METHODS), (as_function, FUNCTIONS)):
            if wanted:
                if name in forms:
                    raise RuntimeError(f"minigrad.ops: {name!r} is defined twice")
                forms[name] = function
    for name, function in METHODS.items():
        setattr(Tensor, name, function)


_bind()
globals().update(FUNCTIONS)
__all__ = [*sorted(FUNCTIONS), "ValuesIndices"]
