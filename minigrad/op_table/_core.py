"""The op table's machinery: drawing samples (:class:`Drawer`), one entry (:class:`OpSpec`),
the lists ``OPS`` (differentiable ops) and ``VALUE_OPS`` (ops without a gradient: compared
with their reference only) and the sample helpers the category modules share."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

__all__ = ["OpSpec", "OPS", "VALUE_OPS", "Drawer", "RandomDrawer", "make_values", "by_name"]


# ---------------------------------------------------------------------------------------------
# Drawing samples


class Drawer:
    """What a sample function may ask for. Subclasses supply the randomness."""

    def integer(self, low: int, high: int) -> int:  # inclusive bounds
        raise NotImplementedError

    def boolean(self) -> bool:
        return bool(self.integer(0, 1))

    def choice(self, options):
        return options[self.integer(0, len(options) - 1)]

    def seed(self) -> int:
        return self.integer(0, 2**31 - 1)

    def shape(self, min_dims=0, max_dims=3, min_side=1, max_side=4) -> tuple:
        ndim = self.integer(min_dims, max_dims)
        return tuple(self.integer(min_side, max_side) for _ in range(ndim))

    def broadcastable(self, count: int, min_dims=0, max_dims=3) -> list:
        """``count`` shapes that broadcast together: each drops some leading axes of a common
        shape and sets some of the rest to 1."""
        base = self.shape(min_dims, max_dims)
        shapes = []
        for _ in range(count):
            drop = self.integer(0, len(base))
            shapes.append(tuple(1 if self.integer(0, 3) == 0 else n for n in base[drop:]))
        return shapes

    def dims(self, ndim: int, allow_none=True):
        """None, one axis (maybe negative) or a tuple of distinct axes of an ``ndim`` tensor."""
        kinds = (["none"] if allow_none else []) + (["one", "tuple"] if ndim else [])
        kind = self.choice(kinds) if kinds else "none"
        if kind == "none":
            return None
        if kind == "one":
            return self.integer(-ndim, ndim - 1)
        chosen = [d for d in range(ndim) if self.boolean()]
        return tuple(d - ndim if self.boolean() else d for d in chosen)

    def values(self, shape, kind="normal", avoid=()) -> np.ndarray:
        return make_values(np.random.default_rng(self.seed()), shape, kind, avoid)


class RandomDrawer(Drawer):
    """Draws from a NumPy generator (used by ``python -m minigrad gradcheck``)."""

    def __init__(self, seed: int = 0):
        self.rng = np.random.default_rng(seed)

    def integer(self, low, high):
        return int(self.rng.integers(low, high + 1))


def make_values(rng, shape, kind="normal", avoid=()) -> np.ndarray:
    """float64 sample values. ``kind``: normal, positive (in [0.5, 2]), nonzero (|x| in
    [0.5, 2]), distinct (no two within 0.1: for max/min), grid/offgrid (a grid value and an
    offgrid value are never close: for maximum(a, b)). Values closer than 0.05 to a point
    in ``avoid`` (a kink such as 0 for relu) are pushed away, so central differences never
    straddle it."""
    if kind == "normal":
        x = rng.standard_normal(shape)
    elif kind == "positive":
        x = rng.uniform(0.5, 2.0, shape)
    elif kind == "nonzero":
        x = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    elif kind in ("grid", "offgrid"):  # grid and offgrid values are never within 0.08
        x = rng.integers(-10, 10, shape) * 0.2 + rng.uniform(0, 0.02, shape)
        x = x + 0.1 if kind == "offgrid" else x
    elif kind == "distinct":
        n = int(np.prod(shape))
        x = (rng.permutation(n) * 0.2 - 0.1 * n + rng.uniform(0, 0.05, n)).reshape(shape)
    else:
        raise ValueError(f"unknown value kind {kind!r}")
    x = np.asarray(x, dtype=np.float64)
    for point in avoid:
        side = np.where(x >= point, 1.0, -1.0)
        x = np.where(np.abs(x - point) < 0.05, x + 0.1 * side, x)
    return x


# ---------------------------------------------------------------------------------------------
# The table


@dataclass(frozen=True)
class OpSpec:
    """One op: ``sample(drawer) -> (arrays, kwargs)``; ``op(*tensors, **kwargs)`` in minigrad;
    ``ref(*arrays, **kwargs)`` in NumPy. ``grad_inputs`` lists which arrays are differentiable
    inputs (default: every float array); the others (masks, conditions) stay constant."""

    name: str
    sample: Callable
    op: Callable
    ref: Callable
    gradgrad: bool = True
    grad_inputs: tuple | None = None
    tags: tuple = field(default=())


OPS: list[OpSpec] = []


VALUE_OPS: list[OpSpec] = []  # ops with no gradient (bool/int results, orderings)


def _add(name, sample, op, ref, **kw):
    OPS.append(OpSpec(name, sample, op, ref, **kw))


def _add_value(name, sample, op, ref, **kw):
    """An op without a gradient: its output is compared with the reference, exactly."""
    VALUE_OPS.append(OpSpec(name, sample, op, ref, gradgrad=False, **kw))


def _unary(kind="normal", avoid=()):
    def sample(d):
        return [d.values(d.shape(), kind, avoid)], {}
    return sample


def _binary(kind_a="normal", kind_b="normal"):
    def sample(d):
        sa, sb = d.broadcastable(2)
        return [d.values(sa, kind_a), d.values(sb, kind_b)], {}
    return sample


def _np_axes(dim, ndim):
    if dim is None or ndim == 0:
        return None if ndim else ()
    return tuple(d % ndim for d in ((dim,) if isinstance(dim, int) else dim))


def by_name(name: str) -> OpSpec:
    for spec in OPS + VALUE_OPS:
        if spec.name == name:
            return spec
    raise KeyError(name)
