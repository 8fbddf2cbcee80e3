"""Einstein summation: any equation, with '...' and implicit output, and a backward that is
itself an einsum (so it has gradients of its own).

An equation names each dim of each operand with a letter; the output keeps the letters after
'->' and sums over the rest:

    out[output letters] = Σ_{the other letters} Π_k operand_k[its letters]

:func:`parse` rewrites an equation into a canonical form with one letter per dim: '...' becomes
explicit letters (aligned from the right, as broadcasting aligns dims), the implicit output
becomes explicit ('...' first, then the letters used once, in alphabetical order), and a dim of
size 1 whose letter has a larger size elsewhere is marked for squeezing (that is how einsum
broadcasts). Then every letter has one size.

The gradient of operand k is the einsum of the output gradient with every other operand,
producing k's letters:

    d operand_k[k's letters] = Σ_{the rest} g[output letters] · Π_{j≠k} operand_j[j's letters]

Two kinds of letter need a constant operand so that this is a valid einsum: a letter repeated
within k (a diagonal, as in 'ii->i') gets an identity matrix linking the repeat to a fresh
letter, and a letter that appears only in k (summed there alone, as j in 'ij->i') gets a
vector of ones, which broadcasts the gradient along it.
"""

from __future__ import annotations

import string

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor

__all__ = ["parse", "Einsum"]

_LETTERS = string.ascii_letters


def parse(equation: str, shapes):
    """The canonical form of ``equation`` for operands of ``shapes``: (one letter string per
    operand, the output letters, for each operand the axes to squeeze)."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum: the equation must be a string, got {type(equation).__name__}")
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(f"einsum: equation {equation!r} has {len(terms)} operand(s) but "
                         f"{len(shapes)} were given")
    for term in terms + ([rhs] if arrow else []):
        stripped = term.replace("...", "", 1)
        if any(c not in _LETTERS for c in stripped):
            raise ValueError(f"einsum: invalid subscripts {term!r} in {equation!r} (use letters "
                             f"a-z, A-Z and at most one '...' per operand)")
    used = {c for c in eq if c in _LETTERS}
    spare = [c for c in _LETTERS if c not in used]
    ellipsis_dims = []
    for term, shape in zip(terms, shapes):
        named = len(term.replace("...", ""))
        extra = len(shape) - named
        if extra < 0 or (extra > 0 and "..." not in term):
            raise ValueError(f"einsum: subscripts {term!r} name {named} dims but the operand has "
                             f"shape {tuple(shape)}")
        ellipsis_dims.append(extra)
    width = max(ellipsis_dims, default=0)
    if width > len(spare):
        raise ValueError(f"einsum: {equation!r} needs more than 52 letters")
    ell = "".join(spare[:width])
    inputs = [term.replace("...", ell[width - e:]) for term, e in zip(terms, ellipsis_dims)]
    if arrow:
        output = rhs.replace("...", ell)
    else:
        counts = {c: "".join(inputs).count(c) for c in used}
        output = ell + "".join(sorted(c for c, n in counts.items() if n == 1))
    if len(set(output)) != len(output):
        raise ValueError(f"einsum: output subscripts {rhs!r} repeat a letter")
    missing = set(output) - set("".join(inputs))
    if missing:
        raise ValueError(f"einsum: output letter(s) {''.join(sorted(missing))} of {equation!r} "
                         f"appear in no operand")
    sizes: dict = {}
    for term, shape in zip(inputs, shapes):
        for c, n in zip(term, shape):
            known = sizes.get(c)
            if known is None or known == 1:
                sizes[c] = n
            elif n not in (1, known):  # size 1 broadcasts; other sizes must agree
                raise ValueError(f"einsum: letter {c!r} has sizes {known} and {n} in "
                                 f"{equation!r} (shapes {[tuple(s) for s in shapes]})")
    squeezed, canonical = [], []
    for term, shape in zip(inputs, shapes):
        drop = tuple(i for i, (c, n) in enumerate(zip(term, shape)) if n == 1 and sizes[c] != 1)
        squeezed.append(drop)
        canonical.append("".join(c for i, c in enumerate(term) if i not in drop))
    return canonical, output, squeezed


class Einsum(Function):
    """out = einsum(inputs → output) of the operands (canonical subscripts: see :func:`parse`);
    d operand_k = einsum of g and the other operands → k's letters (see the module docstring).
    """

    def forward(self, *arrays, inputs, output):
        xp = array_module(arrays[0])
        self.subscripts = (inputs, output)
        equation = ",".join(inputs) + "->" + output
        return xp.einsum(equation, *arrays, optimize=len(arrays) > 1)

    def backward(self, g):
        grads = []
        for k, need in enumerate(self.needs_input_grad):
            grads.append(self._operand_grad(g, k) if need else None)
        return tuple(grads) if len(grads) > 1 else grads[0]

    def _operand_grad(self, g, k):
        inputs, output = self.subscripts
        xp = array_module(g.data)
        target = inputs[k]
        operands = [t for j, t in enumerate(self.inputs) if j != k] + [g]
        subscripts = [s for j, s in enumerate(inputs) if j != k] + [output]
        spare = iter(c for c in _LETTERS if c not in "".join(inputs) + output)
        size = dict(zip(target, self.inputs[k].data.shape))
        letters = []
        for c in target:
            if c in letters:  # a repeat (a diagonal): a fresh letter tied to c by an identity
                fresh = next(spare)
                operands.append(Tensor._make(xp.eye(size[c], dtype=g.data.dtype)))
                subscripts.append(c + fresh)
                c = fresh
            letters.append(c)
        present = set("".join(subscripts))
        for c in letters:
            if c not in present:  # summed in this operand alone: spread g along it
                operands.append(Tensor._make(xp.ones(size[c], dtype=g.data.dtype)))
                subscripts.append(c)
        return Einsum.apply(*operands, inputs=subscripts, output="".join(letters))
