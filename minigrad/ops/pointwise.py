"""Elementwise ops, each written once and exposed as a Tensor method and a ``minigrad.<name>``
function with PyTorch's signature (``x.exp()`` and ``minigrad.exp(x)``; ``minigrad.add(x, y,
alpha=2)``). The operators ``+ - * / ** @`` live on the Tensor itself (the hot path); the
matrix products are in :mod:`minigrad.ops.matrix`.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..functions import elementwise as E
from ..tensor import Tensor, _raw, as_operands, maximum, minimum, where
from ._registry import lazy_module, op, register

M = lazy_module("minigrad.functions.math")

__all__: list = []  # everything is reached through the op table

_FLOAT_KINDS = ("f", "c")


def _floating(t: Tensor) -> Tensor:
    """Integer and bool inputs of a transcendental function become the default float, as in
    PyTorch (``minigrad.sqrt(minigrad.arange(4))`` is float32)."""
    if not isinstance(t, Tensor):
        raise TypeError(f"expected a Tensor, got {type(t).__name__}")
    return t if t.data.dtype.kind in _FLOAT_KINDS else t.to(backend.default_float)


# --- arithmetic as named functions (the operators do the work) ---------------------------------


@op()
def add(input, other, *, alpha=1):
    """input + alpha · other."""
    return input + other if alpha == 1 else input + other * alpha


@op("sub", "subtract")
def sub(input, other, *, alpha=1):
    """input - alpha · other."""
    return input - other if alpha == 1 else input - other * alpha


@op("mul", "multiply")
def mul(input, other):
    return input * other


@op("div", "divide", "true_divide")
def div(input, other, *, rounding_mode=None):
    """input / other; ``rounding_mode='trunc'`` or ``'floor'`` rounds the quotient (then the
    gradient is 0, and integer inputs give an integer result, as in PyTorch)."""
    a, b = as_operands(input, other)
    if rounding_mode is None:
        return a / b
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")
    if a.data.dtype.kind in _FLOAT_KINDS:
        quotient = a / b
        return quotient.trunc() if rounding_mode == "trunc" else quotient.floor()
    xp = backend.array_module(a.data)
    if rounding_mode == "floor":
        return Tensor._make(xp.asarray(xp.floor_divide(a.data, b.data)))
    exact = xp.trunc(a.data / b.data)  # truncated integer division
    return Tensor._make(xp.asarray(exact.astype(np.result_type(a.data, b.data))))


@op()
def floor_divide(input, other):
    """⌊input / other⌋ (the ``//`` operator)."""
    return div(input, other, rounding_mode="floor")


@op()
def pow(input, exponent):
    """input ** exponent (either may be a number)."""
    a, b = as_operands(input, exponent)
    return E.Pow.apply(a, b)


register(maximum)
register(minimum)


@op("neg", "negative")
def neg(input):
    """-input."""
    return E.Neg.apply(input)


@op("abs", "absolute")
def abs(input):
    """|input|; the gradient is sign(input) (0 at 0)."""
    return E.Abs.apply(input)


# --- the unary functions -----------------------------------------------------------------------


@op()
def exp(input):
    return E.Exp.apply(input)


@op()
def log(input):
    return E.Log.apply(input)


@op()
def sqrt(input):
    return E.Sqrt.apply(input)


@op()
def sin(input):
    return E.Sin.apply(input)


@op()
def cos(input):
    return E.Cos.apply(input)


@op()
def tanh(input):
    return E.Tanh.apply(input)


@op()
def sigmoid(input):
    return E.Sigmoid.apply(input)


@op()
def relu(input):
    return E.ReLU.apply(input)


@op("clamp", "clip")
def clamp(input, min=None, max=None):
    """Limit to [min, max] (either may be None). The gradient passes where min ≤ x ≤ max."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    return E.Clamp.apply(input, min=_raw(min), max=_raw(max))


@op()
def tan(input):
    return M.Tan.apply(_floating(input))


@op()
def expm1(input):
    """eˣ - 1, accurate for small x."""
    return M.Expm1.apply(_floating(input))


@op()
def log1p(input):
    """log(1 + x), accurate for small x."""
    return M.Log1p.apply(_floating(input))


@op()
def log2(input):
    return M.Log2.apply(_floating(input))


@op()
def rsqrt(input):
    """1 / √x."""
    return M.Rsqrt.apply(_floating(input))


@op()
def square(input):
    """x² (integers stay integers, as in PyTorch)."""
    return M.Square.apply(input)


@op()
def erf(input):
    """The error function (2/√π) ∫₀ˣ e^{-u²} du."""
    return M.Erf.apply(_floating(input))


def _rounding(name, doc):
    """A rounding op (``name`` is also its Function's, lower-cased): integer tensors come back
    unchanged (a copy), as in PyTorch; the gradient is 0."""
    function_name = name.capitalize()

    def rounding(input):
        if input.data.dtype.kind not in _FLOAT_KINDS:
            return input.clone()
        return getattr(M, function_name).apply(input)

    rounding.__name__ = rounding.__qualname__ = name
    rounding.__doc__ = doc
    return register(rounding)


floor = _rounding("floor", "⌊x⌋, the largest integer ≤ x; the gradient is 0.")
ceil = _rounding("ceil", "⌈x⌉, the smallest integer ≥ x; the gradient is 0.")
trunc = _rounding("trunc", "x rounded toward 0; the gradient is 0.")
register(trunc, "fix")


@op()
def round(input, decimals=0):
    """Round half to even, to ``decimals`` places; the gradient is 0."""
    if input.data.dtype.kind not in _FLOAT_KINDS:
        return input.clone()
    return M.Round.apply(input, decimals=int(decimals))


@op()
def sign(input):
    """-1, 0 or 1; the gradient is 0."""
    if input.data.dtype.kind == "b":
        return input.clone()
    return M.Sign.apply(input)


@op()
def frac(input):
    """x - trunc(x) (the sign of x); the gradient is 1."""
    return M.Frac.apply(_floating(input))


@op()
def fmod(input, other):
    """The C remainder input - other · trunc(input / other): it has the sign of ``input``."""
    return M.Fmod.apply(*as_operands(input, other))


@op()
def remainder(input, other):
    """Python's remainder input - other · ⌊input / other⌋ (the ``%`` operator): it has the
    sign of ``other``."""
    return M.Remainder.apply(*as_operands(input, other))


@op()
def lerp(input, end, weight):
    """input + weight · (end - input); ``weight`` is a number or a tensor (broadcast).
    Gradients: g · (1 - weight) to input, g · weight to end, g · (end - input) to weight."""
    return input + weight * (end - input)


def _where_method(self, condition, y):
    """``x.where(condition, y)`` is ``minigrad.where(condition, x, y)``."""
    return where(condition, self, y)


register(_where_method, "where", module=False)
register(where, method=False)


# --- the remaining operators ---------------------------------------------------------------------


register(remainder, "__mod__", module=False)
register(floor_divide, "__floordiv__", module=False)


@op("__rmod__", module=False)
def _rremainder(self, other):
    b, a = as_operands(self, other)
    return M.Remainder.apply(a, b)


@op("__rfloordiv__", module=False)
def _rfloor_divide(self, other):
    b, a = as_operands(self, other)
    return div(a, b, rounding_mode="floor")
