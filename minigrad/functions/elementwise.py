"""Elementwise ops. Forward works on arrays; backward on Tensors (so it can itself be recorded).

Binary ops broadcast, and their input gradients go back through :func:`unbroadcast`.
"""

from __future__ import annotations

from ..autograd import Function
from ..backend import array_module, pooled_empty
from ._helpers import unbroadcast


class Add(Function):
    """out = a + b;  da = g,  db = g"""

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g, a.data.shape) if need_a else None,
                unbroadcast(g, b.data.shape) if need_b else None)


class Sub(Function):
    """out = a - b;  da = g,  db = -g"""

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g, a.data.shape) if need_a else None,
                unbroadcast(-g, b.data.shape) if need_b else None)


class Mul(Function):
    """out = a * b;  da = g * b,  db = g * a"""

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g * b, a.data.shape) if need_a else None,
                unbroadcast(g * a, b.data.shape) if need_b else None)


class Div(Function):
    """out = a / b;  da = g / b,  db = -g * a / b²"""

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (unbroadcast(g / b, a.data.shape) if need_a else None,
                unbroadcast(-g * a / (b * b), b.data.shape) if need_b else None)


class Pow(Function):
    """out = a ** b;  da = g * b * a ** (b - 1),  db = g * out * log(a)  (0 where a = 0)"""

    def forward(self, a, b):
        self.out = a ** b
        return self.out

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        da = unbroadcast(g * b * a ** (b - 1), a.data.shape) if need_a else None
        db = None
        if need_b:
            # As in PyTorch, the exponent gets no gradient where the base is 0 (log would be -inf).
            positive = a.data > 0
            log_a = a.log() if positive.all() else MaskedFill.apply(a, mask=~positive, value=1).log()
            db = unbroadcast(g * self.output() * log_a, b.data.shape)
        return da, db


class Neg(Function):
    """out = -a;  da = -g"""

    def forward(self, a):
        return -a

    def backward(self, g):
        return -g


class Exp(Function):
    """out = exp(a);  da = g * out"""

    def forward(self, a):
        self.out = array_module(a).exp(a)
        return self.out

    def backward(self, g):
        return g * self.output()


class Log(Function):
    """out = log(a);  da = g / a"""

    def forward(self, a):
        return array_module(a).log(a)

    def backward(self, g):
        return g / self.inputs[0]


class Sqrt(Function):
    """out = √a;  da = g / (2 out)"""

    def forward(self, a):
        self.out = array_module(a).sqrt(a)
        return self.out

    def backward(self, g):
        return g / (2.0 * self.output())


class Abs(Function):
    """out = |a|;  da = g * sign(a)  (0 at a = 0)"""

    def forward(self, a):
        self.sign = array_module(a).sign(a)
        return abs(a)

    def backward(self, g):
        return g * self.sign


class Sin(Function):
    """out = sin(a);  da = g * cos(a)"""

    def forward(self, a):
        return array_module(a).sin(a)

    def backward(self, g):
        return g * self.inputs[0].cos()


class Cos(Function):
    """out = cos(a);  da = -g * sin(a)"""

    def forward(self, a):
        return array_module(a).cos(a)

    def backward(self, g):
        return -g * self.inputs[0].sin()


class Tanh(Function):
    """out = tanh(a);  da = g * (1 - out²)"""

    def forward(self, a):
        self.out = array_module(a).tanh(a)
        return self.out

    def backward(self, g):
        return TanhGrad.apply(g, self.output())


class TanhGrad(Function):
    """The derivative step of tanh as one op: out = g * (1 - y²)  (y = tanh(a));
    dg = d_out * (1 - y²),  dy = -2 d_out * g * y.  One op instead of three on the hot path."""

    def forward(self, g, y):
        return g - g * y * y  # = g (1 - y²), with no Python scalar (a slower NumPy path)

    def backward(self, d_out):
        g, y = self.inputs
        need_g, need_y = self.needs_input_grad
        return (TanhGrad.apply(d_out, y) if need_g else None,
                d_out * g * y * -2.0 if need_y else None)


class Sigmoid(Function):
    """out = σ(a) = 1 / (1 + e^-a);  da = g * out * (1 - out)

    Computed as e^a / (1 + e^a) for negative a, so no exp overflows.
    """

    def forward(self, a):
        xp = array_module(a)
        e = xp.exp(-abs(a))  # in (0, 1]: never overflows
        self.out = xp.where(a >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, g):
        return SigmoidGrad.apply(g, self.output())


class SigmoidGrad(Function):
    """The derivative step of σ as one op: out = g * y * (1 - y)  (y = σ(a));
    dg = d_out * y * (1 - y),  dy = d_out * g * (1 - 2y)."""

    def forward(self, g, y):
        return g * y * (1 - y)

    def backward(self, d_out):
        g, y = self.inputs
        need_g, need_y = self.needs_input_grad
        return (SigmoidGrad.apply(d_out, y) if need_g else None,
                d_out * g * (1.0 - 2.0 * y) if need_y else None)


class ReLU(Function):
    """out = max(a, 0);  da = g * [a > 0]  (ReLUGrad)"""

    def forward(self, a):
        xp = array_module(a)
        self.mask = xp.greater(a, 0, out=pooled_empty(a.shape, bool, xp))
        # maximum rather than a * mask: a float-by-bool product is the slower loop in NumPy
        return xp.maximum(a, a.dtype.type(0), out=pooled_empty(a.shape, a.dtype, xp))

    def backward(self, g):
        return ReLUGrad.apply(g, mask=self.mask)


class ReLUGrad(Function):
    """The derivative step of relu: out = g * mask (mask = [a > 0], a constant);
    dg = d_out * mask. Linear in g, so its own backward is itself."""

    def forward(self, g, *, mask):
        self.mask = mask
        xp = array_module(g)
        return xp.multiply(g, mask, out=pooled_empty(g.shape, g.dtype, xp))

    def backward(self, d_out):
        return ReLUGrad.apply(d_out, mask=self.mask)


class Clamp(Function):
    """out = min(max(a, lo), hi);  da = g * [lo ≤ a ≤ hi]  (either bound may be None)"""

    def forward(self, a, min=None, max=None):
        xp = array_module(a)
        inside = True
        if min is not None:
            inside = a >= min
        if max is not None:
            inside = inside & (a <= max)
        self.inside = inside
        return xp.clip(a, min, max).astype(a.dtype, copy=False)

    def backward(self, g):
        return g * self.inside


class Maximum(Function):
    """out = max(a, b);  the gradient goes to the larger input, split evenly on ties."""

    def forward(self, a, b):
        xp = array_module(a)
        self.a_share = (a > b) + 0.5 * (a == b)
        return xp.maximum(a, b)

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        share = self.a_share.astype(g.data.dtype, copy=False)
        return (unbroadcast(g * share, a.data.shape) if need_a else None,
                unbroadcast(g * (1.0 - share), b.data.shape) if need_b else None)


class Minimum(Function):
    """out = min(a, b);  the gradient goes to the smaller input, split evenly on ties."""

    def forward(self, a, b):
        xp = array_module(a)
        self.a_share = (a < b) + 0.5 * (a == b)
        return xp.minimum(a, b)

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        share = self.a_share.astype(g.data.dtype, copy=False)
        return (unbroadcast(g * share, a.data.shape) if need_a else None,
                unbroadcast(g * (1.0 - share), b.data.shape) if need_b else None)


class Where(Function):
    """out = a where cond else b;  da = g where cond else 0,  db = 0 where cond else g"""

    def forward(self, a, b, cond):
        self.cond = cond
        return array_module(a).where(cond, a, b)

    def backward(self, g):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        cond = self.cond
        return (unbroadcast(MaskedFill.apply(g, mask=~cond, value=0), a.data.shape)
                if need_a else None,
                unbroadcast(MaskedFill.apply(g, mask=cond, value=0), b.data.shape)
                if need_b else None)


class MaskedFill(Function):
    """out = value where mask else a  (mask broadcasts against a);  da = 0 where mask else g"""

    def forward(self, a, mask, value):
        self.mask = mask
        return array_module(a).where(mask, a.dtype.type(value), a)

    def backward(self, g):
        return MaskedFill.apply(g, mask=self.mask, value=0)


class Cast(Function):
    """out = a converted to another dtype and/or device;  da = g converted back."""

    def forward(self, a, dtype=None, device=None):
        from .. import backend
        self.source = (a.dtype, backend.device_of(a))
        if device is not None:
            a = backend.to_device(a, device)
        if dtype is not None:
            a = a.astype(dtype, copy=False)
        return a

    def backward(self, g):
        dtype, device = self.source
        return Cast.apply(g, dtype=dtype, device=device)


class Clone(Function):
    """out = a copy of a;  da = g"""

    def forward(self, a):
        return a.copy()

    def backward(self, g):
        return g

