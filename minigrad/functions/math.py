"""More elementwise math: tan, expm1, log1p, log2, rsqrt, square, erf, the rounding family
(sign, floor, ceil, round, trunc: piecewise constant, so their gradient is 0, as in PyTorch),
frac, and the two remainders fmod (sign of the dividend) and remainder (sign of the divisor).

Forward works on arrays; backward on Tensors (so it can itself be recorded).
"""

from __future__ import annotations

import math

from ..autograd import Function
from ..backend import array_module
from ..tensor import Tensor
from ._helpers import unbroadcast

__all__ = ["Tan", "Expm1", "Log1p", "Log2", "Rsqrt", "Square", "Erf", "Sign", "Floor", "Ceil",
           "Round", "Trunc", "Frac", "Fmod", "Remainder"]

_LN2 = math.log(2.0)
_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Tan(Function):
    """out = tan(a);  da = g * (1 + out²)"""

    def forward(self, a):
        self.out = array_module(a).tan(a)
        return self.out

    def backward(self, g):
        out = self.output()
        return g * (1.0 + out * out)


class Expm1(Function):
    """out = eᵃ - 1 (accurate for small a);  da = g * (out + 1)"""

    def forward(self, a):
        self.out = array_module(a).expm1(a)
        return self.out

    def backward(self, g):
        return g * (self.output() + 1.0)


class Log1p(Function):
    """out = log(1 + a) (accurate for small a);  da = g / (1 + a)"""

    def forward(self, a):
        return array_module(a).log1p(a)

    def backward(self, g):
        return g / (self.inputs[0] + 1.0)


class Log2(Function):
    """out = log₂(a);  da = g / (a ln 2)"""

    def forward(self, a):
        return array_module(a).log2(a)

    def backward(self, g):
        return g / (self.inputs[0] * _LN2)


class Rsqrt(Function):
    """out = 1 / √a;  da = -g * out³ / 2"""

    def forward(self, a):
        xp = array_module(a)
        self.out = xp.reciprocal(xp.sqrt(a))
        return self.out

    def backward(self, g):
        out = self.output()
        return g * out * out * out * -0.5


class Square(Function):
    """out = a²;  da = 2 g a"""

    def forward(self, a):
        return a * a

    def backward(self, g):
        return g * self.inputs[0] * 2.0


def erf(x):
    """The error function erf(x) = (2/√π) ∫₀ˣ e^{-u²} du of an array.

    For |x| < 0.5 its Maclaurin series, erf(x) = (2/√π) Σₙ (-1)ⁿ x^{2n+1} / (n! (2n + 1)),
    whose 14 terms reach double precision there (the next term is below 1e-17 relative);
    elsewhere sign(x) (1 - erfc(|x|)) with the Chebyshev erfc of the GELU layer.
    """
    from .activation import erfc  # the nn layer Functions load only when needed
    xp = array_module(x)
    small = xp.clip(x, -0.5, 0.5)
    x2 = small * small
    term = small  # x^{2n+1} (-1)^n / n!
    series = small.copy()
    for n in range(1, 14):
        term = term * x2 * (-1.0 / n)
        series += term * (1.0 / (2 * n + 1))
    series *= _TWO_OVER_SQRT_PI
    tail = xp.sign(x) * (1.0 - erfc(abs(x)))
    return xp.where(abs(x) < 0.5, series, tail).astype(x.dtype, copy=False)


class Erf(Function):
    """out = erf(a);  da = g * (2/√π) e^{-a²}"""

    def forward(self, a):
        return erf(a)

    def backward(self, g):
        a = self.inputs[0]
        return g * (a * a * -1.0).exp() * _TWO_OVER_SQRT_PI


class _PiecewiseConstant(Function):
    """Functions that are constant between jumps: the gradient is 0 everywhere (PyTorch's
    convention at the jumps too)."""

    def backward(self, g):
        return Tensor._make(array_module(g.data).zeros_like(g.data))


class Sign(_PiecewiseConstant):
    """out = sign(a) ∈ {-1, 0, 1};  da = 0"""

    def forward(self, a):
        return array_module(a).sign(a)


class Floor(_PiecewiseConstant):
    """out = ⌊a⌋;  da = 0"""

    def forward(self, a):
        return array_module(a).floor(a)


class Ceil(_PiecewiseConstant):
    """out = ⌈a⌉;  da = 0"""

    def forward(self, a):
        return array_module(a).ceil(a)


class Round(_PiecewiseConstant):
    """out = a rounded to ``decimals`` places, halves to even (as NumPy and PyTorch);  da = 0"""

    def forward(self, a, decimals=0):
        return array_module(a).round(a, decimals)


class Trunc(_PiecewiseConstant):
    """out = a rounded toward 0;  da = 0"""

    def forward(self, a):
        return array_module(a).trunc(a)


class Frac(Function):
    """out = a - trunc(a) (keeps the sign of a);  da = g"""

    def forward(self, a):
        return a - array_module(a).trunc(a)

    def backward(self, g):
        return g


class Fmod(Function):
    """out = a - b · trunc(a / b) (the C remainder: the sign of a);
    da = g,  db = -g · trunc(a / b)"""

    def forward(self, a, b):
        return array_module(a).fmod(a, b)

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        quotient = Tensor._make(array_module(a.data).trunc(a.data / b.data))
        return (unbroadcast(g, a.data.shape) if need_a else None,
                unbroadcast(-g * quotient, b.data.shape) if need_b else None)


class Remainder(Function):
    """out = a - b · ⌊a / b⌋ (Python's %: the sign of b);  da = g,  db = -g · ⌊a / b⌋"""

    def forward(self, a, b):
        return array_module(a).remainder(a, b)

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        quotient = Tensor._make(array_module(a.data).floor(a.data / b.data))
        return (unbroadcast(g, a.data.shape) if need_a else None,
                unbroadcast(-g * quotient, b.data.shape) if need_b else None)
