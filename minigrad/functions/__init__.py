"""The differentiable ops: one :class:`~minigrad.autograd.Function` each, forward beside backward.

``elementwise`` (arithmetic, math, comparisons-free masks), ``reduction`` (sums, means, extrema,
softmax), ``shape`` (reshape, permute, expand, indexing, cat/stack) and ``linalg`` (matmul).
Tensor methods call these; users rarely need them directly.
"""
