"""Elementwise ops: unary, with a scalar, binary with broadcasting."""

from __future__ import annotations

import math

import numpy as np

import minigrad as mg

from ._core import _add, _binary, _unary

# Elementwise, unary
_add("neg", _unary(), lambda a: -a, lambda a: -a)
_add("exp", _unary(), lambda a: a.exp(), np.exp)
_add("log", _unary("positive"), lambda a: a.log(), np.log)
_add("sqrt", _unary("positive"), lambda a: a.sqrt(), np.sqrt)
_add("abs", _unary(avoid=(0.0,)), lambda a: a.abs(), np.abs)
_add("sin", _unary(), lambda a: a.sin(), np.sin)
_add("cos", _unary(), lambda a: a.cos(), np.cos)
_add("tanh", _unary(), lambda a: a.tanh(), np.tanh)
_add("sigmoid", _unary(), lambda a: a.sigmoid(), lambda a: 1 / (1 + np.exp(-a)))
_add("relu", _unary(avoid=(0.0,)), lambda a: a.relu(), lambda a: np.maximum(a, 0))
_add("clone", _unary(), lambda a: a.clone(), np.copy)


def _clamp_sample(d):
    lo, hi = d.choice([(-0.5, 0.5), (-0.5, None), (None, 0.5)])
    return [d.values(d.shape(), avoid=(-0.5, 0.5))], {"min": lo, "max": hi}


_add("clamp", _clamp_sample, lambda a, min, max: a.clamp(min, max),
     lambda a, min, max: np.clip(a, min, max))


def _power_sample(d):
    exponent = d.choice([2, 3, 0.5, -1.0, 1.5])
    kind = "positive" if exponent in (0.5, 1.5) else "nonzero" if exponent < 0 else "normal"
    return [d.values(d.shape(), kind)], {"p": exponent}


_add("pow_scalar", _power_sample, lambda a, p: a ** p, lambda a, p: a ** p)
_add("rpow_scalar", _unary(), lambda a: 2.0 ** a, lambda a: 2.0 ** a)
_add("add_scalar", _unary(), lambda a: a + 2.5, lambda a: a + 2.5)
_add("rsub_scalar", _unary(), lambda a: 3 - a, lambda a: 3 - a)
_add("mul_scalar", _unary(), lambda a: a * -1.5, lambda a: a * -1.5)
_add("rdiv_scalar", _unary("nonzero"), lambda a: 2.0 / a, lambda a: 2.0 / a)

# Elementwise, binary (broadcasting)
_add("add", _binary(), lambda a, b: a + b, np.add)
_add("sub", _binary(), lambda a, b: a - b, np.subtract)
_add("mul", _binary(), lambda a, b: a * b, np.multiply)
_add("div", _binary("normal", "nonzero"), lambda a, b: a / b, np.divide)
_add("pow", _binary("positive", "normal"), lambda a, b: a ** b, np.power)
_add("maximum", _binary("grid", "offgrid"), mg.maximum, np.maximum)
_add("minimum", _binary("grid", "offgrid"), mg.minimum, np.minimum)


def _where_sample(d):
    sc, sa, sb = d.broadcastable(3)
    return [d.values(sc) > 0, d.values(sa), d.values(sb)], {}


_add("where", _where_sample, mg.where, np.where, grad_inputs=(1, 2))


# More unary math (minigrad.ops.pointwise), each also through its function form.
def _tan_sample(d):
    return [d.values(d.shape(), "nonzero") * 0.6], {}  # |x| ≤ 1.2: well inside (-π/2, π/2)


_add("tan", _tan_sample, mg.tan, np.tan)
_add("expm1", _unary(), mg.expm1, np.expm1)
_add("log1p", _unary("positive"), lambda a: a.log1p(), np.log1p)
_add("log2", _unary("positive"), mg.log2, np.log2)
_add("rsqrt", _unary("positive"), lambda a: a.rsqrt(), lambda a: 1 / np.sqrt(a))
_add("square", _unary(), mg.square, np.square)
_erf = np.vectorize(math.erf, otypes=[np.float64])
_add("erf", _unary(), lambda a: a.erf(), _erf)


def _off_integer(d, shape):
    """Values at least 0.1 away from every integer and every half-integer (the jumps of
    floor, ceil, trunc, frac, round and the remainders), so central differences never
    straddle one."""
    whole = np.rint(d.values(shape) * 3)
    part = d.values(shape, "positive") * 0.25 - 0.025  # in [0.1, 0.475)
    return whole + np.where(d.values(shape) > 0, part, 1 - part)


def _off_integer_sample(d):
    return [_off_integer(d, d.shape())], {}


_add("sign", _unary(avoid=(0.0,)), mg.sign, np.sign)
_add("floor", _off_integer_sample, mg.floor, np.floor)
_add("ceil", _off_integer_sample, lambda a: a.ceil(), np.ceil)
_add("round", _off_integer_sample, mg.round, np.round)
_add("trunc", _off_integer_sample, lambda a: a.trunc(), np.trunc)
_add("frac", _off_integer_sample, mg.frac, lambda a: a - np.trunc(a))


def _remainder_sample(d):
    """a and b (b broadcast against a's shape) with a / b off the integers."""
    shape = d.shape()
    drop = d.integer(0, len(shape))
    b = d.values(tuple(1 if d.boolean() else n for n in shape[drop:]), "nonzero")
    return [b * _off_integer(d, shape), b], {}


def _remainder_scalar_sample(d):
    return [0.7 * _off_integer(d, d.shape())], {}


_add("fmod", _remainder_sample, mg.fmod, np.fmod)
_add("remainder", _remainder_sample, lambda a, b: a % b, np.remainder)
_add("remainder_scalar", _remainder_scalar_sample, lambda a: mg.remainder(a, 0.7),
     lambda a: np.remainder(a, 0.7))
_add("fmod_scalar", _remainder_scalar_sample, lambda a: a.fmod(-0.7), lambda a: np.fmod(a, -0.7))


def _lerp_sample(d):
    sa, sb, sw = d.broadcastable(3)
    if d.boolean():
        return [d.values(sa), d.values(sb)], {"weight": d.choice([0.25, -0.5, 1.5])}
    return [d.values(sa), d.values(sb), d.values(sw)], {}


def _lerp(a, b, w=None, weight=None):
    return mg.lerp(a, b, w if w is not None else weight)


def _np_lerp(a, b, w=None, weight=None):
    return a + (w if w is not None else weight) * (b - a)


_add("lerp", _lerp_sample, _lerp, _np_lerp)
_add("add_alpha", _binary(), lambda a, b: mg.add(a, b, alpha=-2.5), lambda a, b: a - 2.5 * b)
_add("sub_alpha", _binary(), lambda a, b: a.sub(b, alpha=0.5), lambda a, b: a - 0.5 * b)
_add("div_function", _binary("normal", "nonzero"), mg.div, np.divide)
_add("pow_function", _binary("positive", "normal"), mg.pow, np.power)
