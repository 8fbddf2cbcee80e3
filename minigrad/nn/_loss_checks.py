"""Argument checks shared by the losses (each error names the loss and what it got), and the
reduction; the conventions they enforce are in :mod:`minigrad.nn.losses`."""

from __future__ import annotations

import numpy as np

from .. import backend, deferred
from ..autograd import _autocast_mode
from ..tensor import Tensor

_REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------------------------
# Checks shared by the losses: each raises an error naming the loss and what it got.


def _check_reduction(name, reduction, allowed=_REDUCTIONS):
    if reduction not in allowed:
        raise ValueError(f"{name}: unknown reduction {reduction!r}; expected one of "
                         + ", ".join(repr(r) for r in allowed))


def _check_tensor(name, what, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(t).__name__}")


def _check_float_input(name, input):
    _check_tensor(name, "input", input)
    if input.dtype.kind != "f":
        raise TypeError(f"{name}: input must be a floating-point tensor, got {input.dtype}")


def _check_device(name, what, t, input):
    if t.device != input.device:
        raise RuntimeError(f"{name}: {what} is on {t.device} but input is on {input.device}")


def _check_same_shape(name, input, target):
    if target.shape != input.shape:
        raise ValueError(
            f"{name}: target shape {tuple(target.shape)} does not match input shape "
            f"{tuple(input.shape)}; they must be equal (broadcasting them, e.g. (N, 1) "
            f"against (N,), would silently compute a different loss)")


def _check_float_target(name, input, target):
    """A target of the input's shape and floating dtype, on its device."""
    _check_float_input(name, input)
    _check_tensor(name, "target", target)
    _check_device(name, "target", target, input)
    _check_same_shape(name, input, target)
    if target.dtype != input.dtype and not (
            target.dtype.kind == "f" and _autocast_mode.get() is not None):
        # (under amp.autocast float16 and float32 meet here; the loss promotes to float32)
        kind = "a floating-point" if target.dtype.kind != "f" else f"a {input.dtype}"
        raise TypeError(f"{name}: target must be {kind} tensor like the input ({input.dtype}), "
                        f"got {target.dtype}; convert it (e.g. target.to(input.dtype))")


def _check_probabilities(name, what, t):
    data = t.data
    inside = (data >= 0) & (data <= 1)  # False for nan too
    if not bool(inside.all()):
        bad = data[~inside]
        raise ValueError(f"{name}: every {what} value must be a probability in [0, 1], found "
                         f"{float(bad.ravel()[0])} ({int(bad.size)} value(s) outside)")


def _elementwise_weight(name, what, weight, input, shape):
    """A ``weight`` that broadcasts to ``shape`` without changing it, as a Tensor."""
    _check_tensor(name, what, weight)
    _check_device(name, what, weight, input)
    try:
        broadcast = np.broadcast_shapes(weight.shape, shape)
    except ValueError:
        broadcast = None
    if broadcast != tuple(shape):
        raise ValueError(f"{name}: {what} of shape {tuple(weight.shape)} does not broadcast to "
                         f"the target shape {tuple(shape)}")
    if weight.dtype != input.dtype:
        weight = weight.to(input.dtype)
    return weight


def _class_weight(name, weight, input, classes):
    """The per-class ``weight`` (C,) as an array of the input's dtype, or None."""
    if weight is None:
        return None
    _check_tensor(name, "weight", weight)
    _check_device(name, "weight", weight, input)
    if weight.shape != (classes,):
        raise ValueError(f"{name}: weight must have shape ({classes},), one value per class, "
                         f"got {tuple(weight.shape)}")
    if weight.dtype.kind != "f":
        raise TypeError(f"{name}: weight must be floating-point, got {weight.dtype}")
    return weight.data.astype(input.dtype, copy=False)


def _check_class_target(name, input, target, class_dim, ignore_index=None):
    """Integer class indices of the input's shape without its class dim, all in [0, C) or
    equal to ``ignore_index``. Returns ``(counted, guard)``: the mask of entries that count
    (not ignored), or None when every entry counts, and None.

    On a GPU the range is checked without a device sync (see :mod:`minigrad.deferred`):
    ``counted`` is then always a device mask, False also where a target is out of range (so the
    gather stays in bounds), and ``guard`` a 0-d device array, 1 or NaN where some target is
    out of range, for the loss to multiply by: its value and gradients become NaN, and reading
    the value (``loss.item()``) raises the IndexError the CPU raises here at once.
    """
    _check_tensor(name, "target", target)
    _check_device(name, "target", target, input)
    expected = input.shape[:class_dim] + input.shape[class_dim + 1:]
    if target.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: class-index targets must be integers (int64), got {target.dtype} of shape "
            f"{tuple(target.shape)}" + (
                f"; probability targets must have the input's shape {tuple(input.shape)}"
                if name == "cross_entropy" else ""))
    if target.shape != expected:
        raise ValueError(
            f"{name}: class-index target of shape {tuple(target.shape)} does not fit input of "
            f"shape {tuple(input.shape)}: expected target shape {tuple(expected)} (the input's "
            f"shape without its class dim {class_dim})")
    t = target.data
    classes = input.shape[class_dim]
    if t.size == 0:
        return None, None
    if backend.is_device_array(t):
        return _device_class_target(name, t, classes, ignore_index, input.dtype)
    return _class_range(name, t, classes, ignore_index), None


def _class_range(name, t, classes, ignore_index):
    """The host check of :func:`_check_class_target`: raises for a class out of range, returns
    the counted mask (None when all count)."""
    low, high = int(t.min()), int(t.max())
    if 0 <= low and high < classes and (ignore_index is None or
                                        not low <= ignore_index <= high):
        return None  # the common case, found with two reductions: all valid, none ignored
    counted = None if ignore_index is None else t != ignore_index
    outside = (t < 0) | (t >= classes)
    if counted is not None:
        outside &= counted
    if bool(outside.any()):
        value = int(t[outside].ravel()[0])
        allowed = f"0..{classes - 1}" + ("" if ignore_index is None
                                        else f", or ignore_index={ignore_index}")
        raise IndexError(f"{name}: target class {value} is out of range for {classes} classes "
                         f"(allowed: {allowed})")
    if counted is not None and bool(counted.all()):
        counted = None
    return counted


def _device_class_target(name, t, classes, ignore_index, dtype):
    """``(counted, guard)`` of device targets, with the range check deferred to the host read
    of the loss (no device sync here)."""
    xp = backend.array_module(t)
    inside = (t >= 0) & (t < classes)
    counted = inside if ignore_index is None else inside & (t != ignore_index)
    out_of_range = ~inside if ignore_index is None else ~inside & (t != ignore_index)
    guard = xp.where(out_of_range.any(), dtype.type(np.nan), dtype.type(1))
    deferred.defer(lambda: _class_range(name, backend.to_device(t, "cpu"), classes,
                                        ignore_index))
    return counted, guard


def _guarded(loss, guard):
    """``loss`` times the guard of :func:`_check_class_target` (1, or NaN for a bad target)."""
    return loss if guard is None else loss * Tensor._make(guard)


def _reduce(loss, reduction):
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss
