"""Comparisons, logical and bitwise ops and value tests. None is differentiable: each returns
a bool (or integer) tensor outside the graph; ``allclose`` and ``equal`` return Python bools.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _raw
from ._registry import op, register

__all__: list = []

register(Tensor.__eq__, "eq")
register(Tensor.__ne__, "ne", "not_equal")
register(Tensor.__lt__, "lt", "less")
register(Tensor.__le__, "le", "less_equal")
register(Tensor.__gt__, "gt", "greater")
register(Tensor.__ge__, "ge", "greater_equal")


def _result(t: Tensor, array) -> Tensor:
    return Tensor._make(backend.array_module(t.data).asarray(array))


def _other_array(t: Tensor, other):
    """``other`` (a tensor, array or number) as an array or number usable with t's data."""
    value = _raw(other)
    if isinstance(value, (list, tuple)):
        value = backend.to_device(np.asarray(value), t.device)
    return value


def _logical(name, ufunc_name):
    def logical(input, other):
        xp = backend.array_module(input.data)
        return _result(input, getattr(xp, ufunc_name)(input.data, _other_array(input, other)))

    logical.__name__ = logical.__qualname__ = name
    logical.__doc__ = f"Elementwise {ufunc_name.replace('_', ' ')} of the truth values: a bool tensor."
    return register(logical)


logical_and = _logical("logical_and", "logical_and")
logical_or = _logical("logical_or", "logical_or")
logical_xor = _logical("logical_xor", "logical_xor")


@op()
def logical_not(input):
    """Elementwise not of the truth values: a bool tensor."""
    return _result(input, backend.array_module(input.data).logical_not(input.data))


def _bitwise(name, ufunc_name):
    """Bitwise ops on bool and integer tensors (for bool masks: and, or, xor)."""

    def bitwise(input, other):
        if not isinstance(input, Tensor):  # a reflected operator: number & tensor
            input, other = other, input
        if input.data.dtype.kind not in "biu":
            raise TypeError(f"{name}: expects bool or integer tensors, got {input.dtype}")
        xp = backend.array_module(input.data)
        return _result(input, getattr(xp, ufunc_name)(input.data, _other_array(input, other)))

    bitwise.__name__ = bitwise.__qualname__ = name
    bitwise.__doc__ = f"Elementwise {ufunc_name} of bool or integer tensors."
    return register(bitwise)


bitwise_and = _bitwise("bitwise_and", "bitwise_and")
bitwise_or = _bitwise("bitwise_or", "bitwise_or")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor")
register(bitwise_and, "__and__", "__rand__", module=False)
register(bitwise_or, "__or__", "__ror__", module=False)
register(bitwise_xor, "__xor__", "__rxor__", module=False)


@op("bitwise_not")
def bitwise_not(input):
    """Elementwise not of a bool tensor, bitwise not of an integer one (the ``~`` operator)."""
    if input.data.dtype.kind not in "biu":
        raise TypeError(f"bitwise_not: expects a bool or integer tensor, got {input.dtype}")
    return _result(input, backend.array_module(input.data).invert(input.data))


register(bitwise_not, "__invert__", module=False)


def _test(name, doc):
    def value_test(input):
        xp = backend.array_module(input.data)
        return _result(input, getattr(xp, name)(input.data))

    value_test.__name__ = value_test.__qualname__ = name
    value_test.__doc__ = doc
    return register(value_test)


isnan = _test("isnan", "Where the tensor is NaN: a bool tensor.")
isinf = _test("isinf", "Where the tensor is +inf or -inf: a bool tensor.")
isfinite = _test("isfinite", "Where the tensor is neither NaN nor infinite: a bool tensor.")


@op()
def isclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|input - other| ≤ atol + rtol · |other| elementwise: a bool tensor."""
    xp = backend.array_module(input.data)
    return _result(input, xp.isclose(input.data, _other_array(input, other), rtol=rtol,
                                     atol=atol, equal_nan=equal_nan))


@op()
def allclose(input, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    """Whether |input - other| ≤ atol + rtol · |other| everywhere (broadcast): a Python bool."""
    return bool(isclose(input, other, rtol, atol, equal_nan).data.all())


@op()
def equal(input, other) -> bool:
    """True when both tensors have the same shape and the same elements: a Python bool."""
    other_data = _other_array(input, other)
    if tuple(getattr(other_data, "shape", ())) != tuple(input.data.shape):  # a number: ()
        return False
    return bool((input.data == other_data).all())
