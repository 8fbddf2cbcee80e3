"""Matrix products: matmul, mm, bmm, outer, dot, einsum."""

from __future__ import annotations

import numpy as np

import minigrad as mg

from ._core import _add


# Linear algebra
def _matmul_sample(d):
    k = d.integer(1, 4)
    batch_a, batch_b = d.broadcastable(2, max_dims=2)
    a_shape = (batch_a + (d.integer(1, 4), k)) if d.integer(0, 3) else (k,)
    b_shape = (batch_b + (k, d.integer(1, 4))) if d.integer(0, 3) else (k,)
    return [d.values(a_shape), d.values(b_shape)], {}


_add("matmul", _matmul_sample, lambda a, b: a @ b, np.matmul)


def _mm_sample(d):
    n, k, m = d.integer(1, 4), d.integer(1, 4), d.integer(1, 4)
    if d.boolean():
        b = d.integer(1, 3)
        return [d.values((b, n, k)), d.values((b, k, m))], {"batched": True}
    return [d.values((n, k)), d.values((k, m))], {"batched": False}


_add("mm_bmm", _mm_sample, lambda a, b, batched: (a.bmm(b) if batched else a.mm(b)),
     lambda a, b, batched: np.matmul(a, b))


def _vectors_sample(d):
    n = d.integer(1, 5)
    return [d.values((n,)), d.values((n if d.boolean() else d.integer(1, 5),))], {}


_add("outer", _vectors_sample, mg.outer, np.outer)


def _dot_sample(d):
    n = d.integer(1, 5)
    return [d.values((n,)), d.values((n,))], {}


_add("dot", _dot_sample, lambda a, b: a.dot(b), np.dot)

# Einsum: equations with '...', implicit outputs, repeated letters (diagonals), letters
# summed in one operand only, size-1 broadcasting and three operands.
_EINSUM_CASES = [
    ("ij,jk->ik", [("i", "j"), ("j", "k")]),
    ("ij,jk", [("i", "j"), ("j", "k")]),
    ("bij,bjk->bik", [("b", "i", "j"), ("b", "j", "k")]),
    ("...ij,...jk->...ik", [("x", "i", "j"), ("j", "k")]),
    ("i,i->", [("i",), ("i",)]),
    ("i,j->ij", [("i",), ("j",)]),
    ("ii->i", [("i", "i")]),
    ("ii", [("i", "i")]),
    ("ij->", [("i", "j")]),
    ("ij->j", [("i", "j")]),
    ("ji", [("j", "i")]),
    ("i...->...", [("i", "x", "y")]),
    ("bhqd,bhkd->bhqk", [("b", "h", "q", "d"), ("b", "h", "k", "d")]),
    ("ij,jk,kl->il", [("i", "j"), ("j", "k"), ("k", "l")]),
    ("iij,j->i", [("i", "i", "j"), ("j",)]),
    ("i,i->i", [("one",), ("i",)]),
    ("...i,...i->...", [("x", "i"), ("y", "x", "i")]),
]


def _einsum_sample(d):
    equation, operands = d.choice(_EINSUM_CASES)
    size = {letter: d.integer(2, 3) for letter in "ijklbhqdxy"}
    size["one"] = 1
    shapes = [tuple(size[letter] for letter in names) for names in operands]
    return [d.values(shape) for shape in shapes], {"equation": equation}


_add("einsum", _einsum_sample, lambda *ts, equation: mg.einsum(equation, *ts),
     lambda *arrays, equation: np.einsum(equation, *arrays))
