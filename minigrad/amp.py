"""Mixed precision: ``autocast`` (ops in float16 where it is safe) and ``GradScaler`` (loss
scaling, so small float16 gradients do not flush to zero), with PyTorch's semantics.

**autocast(dtype=float16, enabled=True)**, a context manager (or decorator) for the forward
pass and the loss. Inside it, in this thread only, each op listed below casts its floating
inputs before it runs (the cast is a recorded op, so float32 parameters get float32 gradients):

==========================  ============================================================
runs in ``dtype``           ``matmul @ mm bmm dot`` (MatMul), ``F.linear`` / ``nn.Linear``
(float16)                   (Linear), ``F.conv2d`` / ``nn.Conv2d`` (Conv2d)
runs in float32             reductions ``sum mean var std prod cumsum cumprod norm
                            logsumexp``; ``softmax log_softmax``; ``exp log log1p log2
                            expm1 tan rsqrt pow``; the losses' fused ops (cross-entropy,
                            BCE, softplus of BCE-with-logits; the other losses end in a
                            float32 reduction); normalization (batch_norm, layer_norm)
anything else               the dtype of its inputs (float16 in, float16 out; mixed
                            float16/float32 operands promote to float32)
==========================  ============================================================

float64 tensors are never cast (as in PyTorch), integer and bool ones neither. Backward runs
outside autocast: each backward op runs in the dtype its forward op ran in. The policy is one
table below (Function class -> its rule); while any thread has an autocast block open, the
listed classes get an ``apply`` that casts first (in the threads inside a block), and when the
last block closes they lose it again: code outside autocast runs exactly as without amp.

On a GPU (CuPy) float16 matmuls and convolutions are the fast path. NumPy has no float16
BLAS, so on the CPU the listed ops compute in float32 on their float16-rounded inputs and
round the result to float16: the arithmetic of float16 tensor cores (and of NumPy's own slow
float16 loop), at float32 speed plus the casts; autocast on the CPU is for checking a
mixed-precision recipe, not for speed.

**GradScaler(init_scale=2.**16, growth_factor=2.0, backoff_factor=0.5, growth_interval=2000,
enabled=True)**: the loop of PyTorch's ``torch.amp.GradScaler``::

    scaler.scale(loss).backward()   # backward on loss · S
    scaler.unscale_(optimizer)      # optional (e.g. before clipping): g ← g · (1/S), in place
    scaler.step(optimizer)          # unscales if not done; skips the step if any g is inf/NaN
    scaler.update()                 # S ← S · backoff_factor after a skipped step; after
                                    # growth_interval good steps in a row, S ← S · growth_factor

``AmpCallback`` does the same inside :func:`minigrad.training.fit` through its step hooks.
"""

from __future__ import annotations

import contextlib
import functools
import threading

import numpy as np

from . import autograd as _engine
from . import backend
from .functions import activation as _activation
from .functions import conv as _conv
from .functions import elementwise as _elementwise
from .functions import linalg as _linalg
from .functions import loss as _loss
from .functions import math as _math
from .functions import reduction as _reduction

__all__ = ["AmpCallback", "GradScaler", "autocast", "get_autocast_dtype", "is_autocast_enabled"]

_float16, _float32, _float64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)

# The policy: Function class -> "lower" (the autocast dtype) or "float32".
_POLICY = {
    "lower": (_linalg.MatMul, _activation.Linear, _conv.Conv2d),
    "float32": (_reduction.Sum, _reduction.Mean, _reduction.Var, _reduction.Prod,
                _reduction.Cumsum, _reduction.Cumprod, _reduction.Norm2,
                _reduction.LogSumExp, _reduction.Softmax, _reduction.LogSoftmax,
                _elementwise.Exp, _elementwise.Log, _elementwise.Pow, _math.Log1p,
                _math.Log2, _math.Expm1, _math.Tan, _math.Rsqrt,
                _loss.Softplus, _loss.BinaryCrossEntropy, _loss.SoftmaxCrossEntropy,
                _activation.Normalize),
}
_plain_apply = _engine.Function.apply.__func__


def _cast_inputs(kind: str, dtype, inputs: tuple) -> tuple:
    """A listed Function's inputs, cast for policy ``kind`` under autocast to ``dtype``:
    floating inputs other than float64 go to ``dtype`` ("lower") or to float32."""
    target = dtype if kind == "lower" else _float32
    cast = []
    for t in inputs:
        d = t.data.dtype
        if d.kind == "f" and d != target and d != _float64:
            t = t.to(target)
        cast.append(t)
    return tuple(cast)


def _policy_apply(kind: str):
    """The ``apply`` of a listed Function while autocast blocks are open: cast (if this
    thread is inside one), then Function.apply."""

    def apply(cls, *inputs, **params):
        dtype = _engine._autocast_mode.get()
        if dtype is None:
            return _plain_apply(cls, *inputs, **params)
        inputs = _cast_inputs(kind, dtype, inputs)
        if kind == "lower" and dtype == _float16 and all(
                type(t.data) is np.ndarray and t.data.dtype == _float16 for t in inputs):
            return _float16_on_numpy(cls, inputs, params)
        return _plain_apply(cls, *inputs, **params)

    return classmethod(apply)


def _float16_on_numpy(cls, inputs, params):
    """A float16 matmul/linear/conv on NumPy arrays, computed as a GPU's tensor cores do it:
    float16 inputs, products summed in float32, the result rounded to float16. NumPy has no
    float16 BLAS (its own float16 loop also sums in float32, ~5-30x slower), so the inputs,
    already rounded to float16, run through the float32 kernel and the output is rounded."""
    wide = tuple(t.to(_float32) for t in inputs)
    return _plain_apply(cls, *wide, **params).to(_float16)


_POLICY_APPLY = {kind: _policy_apply(kind) for kind in _POLICY}
_depth_lock = threading.Lock()


def _change_depth(delta: int) -> None:
    """Count the open autocast blocks of all threads. The first one to open installs the
    policy's ``apply`` on the listed Function classes, the last one to close removes it:
    outside autocast, Function.apply (every op's hot path) is untouched."""
    with _depth_lock:
        before = _engine._autocast_depth
        _engine._autocast_depth = after = before + delta
        if before == 0 and after > 0:
            for kind, classes in _POLICY.items():
                for cls in classes:
                    cls.apply = _POLICY_APPLY[kind]
        elif before > 0 and after == 0:
            for classes in _POLICY.values():
                for cls in classes:
                    del cls.apply


class autocast:
    """Run the listed ops in ``dtype`` (float16) and the precision-sensitive ones in float32
    (see the module docstring), in this thread, inside the ``with`` block or the decorated
    function. ``enabled=False`` turns autocast off inside (e.g. for a region that needs
    float32). Nested blocks restore the outer setting on exit."""

    def __init__(self, dtype=np.float16, enabled: bool = True):
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"autocast: dtype must be a floating-point dtype such as float16, "
                            f"got {dtype!r}") from None
        if dtype.kind != "f":
            raise TypeError(f"autocast: dtype must be a floating-point dtype such as float16, "
                            f"got {dtype}")
        if dtype.itemsize > 4:
            raise ValueError(f"autocast: dtype {dtype} is not a lower precision; use float16 "
                             f"(or float32 to leave the listed ops' precision as is)")
        if not isinstance(enabled, bool):
            raise TypeError(f"autocast: enabled must be a bool, got {type(enabled).__name__}")
        self.dtype = dtype
        self.enabled = enabled
        self._tokens = []

    def __enter__(self):
        _change_depth(1)
        self._tokens.append(_engine._autocast_mode.set(self.dtype if self.enabled else None))
        return self

    def __exit__(self, *exc):
        _engine._autocast_mode.reset(self._tokens.pop())
        _change_depth(-1)
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with autocast(self.dtype, self.enabled):
                return func(*args, **kwargs)
        return wrapper


def is_autocast_enabled() -> bool:
    """Whether an autocast block is on in this thread."""
    return _engine._autocast_mode.get() is not None


def get_autocast_dtype():
    """The dtype of this thread's autocast block (None outside one)."""
    return _engine._autocast_mode.get()


# --- GradScaler -------------------------------------------------------------------------------

_READY, _UNSCALED, _STEPPED = "ready", "unscaled", "stepped"


def _as_float32(value: float) -> float:
    """``value`` rounded to float32, as PyTorch keeps the scale (a float32 tensor); beyond
    float32's range it is inf (no warning: update() then keeps the old scale)."""
    with np.errstate(over="ignore"):
        return float(np.float32(value))


class GradScaler:
    """Dynamic loss scaling, as ``torch.amp.GradScaler`` (see the module docstring).

    The scale S starts at ``init_scale``; ``update()`` after each iteration applies::

        found inf/NaN in any gradient:   S ← S · backoff_factor,  good_steps ← 0
        else:                            good_steps ← good_steps + 1
                                         if good_steps = growth_interval:
                                             S ← S · growth_factor (if finite), good_steps ← 0

    S is kept in float32. With ``enabled=False`` every method is a pass-through (``scale``
    returns its input, ``step`` just steps), so one training loop serves both precisions.
    """

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0,
                 backoff_factor: float = 0.5, growth_interval: int = 2000,
                 enabled: bool = True):
        if not (isinstance(init_scale, (int, float)) and init_scale > 0
                and np.isfinite(init_scale)):
            raise ValueError(f"GradScaler: init_scale must be a finite number > 0, got "
                             f"{init_scale!r}")
        if not growth_factor > 1.0:
            raise ValueError(f"GradScaler: growth_factor should be > 1, got {growth_factor}")
        if not 0.0 < backoff_factor < 1.0:
            raise ValueError(f"GradScaler: backoff_factor should be in (0, 1), got "
                             f"{backoff_factor}")
        if isinstance(growth_interval, bool) or not isinstance(growth_interval, int) \
                or growth_interval < 1:
            raise ValueError(f"GradScaler: growth_interval should be an int > 0, got "
                             f"{growth_interval!r}")
        self._enabled = bool(enabled)
        self._scale = _as_float32(init_scale)
        self._growth_factor = float(growth_factor)
        self._backoff_factor = float(backoff_factor)
        self._growth_interval = growth_interval
        self._growth_tracker = 0
        self._per_optimizer = {}  # id(optimizer) -> {"stage": ..., "found_inf": bool}

    # --- the loop ---------------------------------------------------------------------------

    def scale(self, outputs):
        """``outputs`` (a Tensor, or nested lists/tuples of them) times the scale S."""
        if not self._enabled:
            return outputs
        if isinstance(outputs, _engine.Tensor):
            return outputs * self._scale
        if isinstance(outputs, (list, tuple)):
            return type(outputs)(self.scale(o) for o in outputs)
        raise TypeError(f"GradScaler.scale: expected a Tensor or a list/tuple of Tensors, got "
                        f"{type(outputs).__name__}")

    def _state(self, optimizer) -> dict:
        return self._per_optimizer.setdefault(id(optimizer),
                                              {"stage": _READY, "found_inf": None})

    def unscale_(self, optimizer) -> None:
        """Divide the gradients of ``optimizer``'s parameters by S, in place, and note whether
        any is inf or NaN. At most once per optimizer between two ``update()`` calls."""
        if not self._enabled:
            return
        state = self._state(optimizer)
        if state["stage"] == _UNSCALED:
            raise RuntimeError("GradScaler.unscale_: unscale_() has already been called on this "
                               "optimizer since the last update()")
        if state["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.unscale_: unscale_() is being called after step()")
        inv_scale = _as_float32(1.0 / self._scale)  # PyTorch: reciprocal in double, to float32
        found_inf = False
        for group in optimizer.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad.data
                if g.dtype == _float16:
                    raise ValueError(f"GradScaler.unscale_: attempting to unscale float16 "
                                     f"gradients (a parameter of shape {tuple(p.shape)}); keep "
                                     f"the parameters in float32 and let autocast cast them")
                xp = backend.array_module(g)
                g *= inv_scale  # a Python float: float32 gradients stay float32
                if not found_inf and not bool(xp.isfinite(g).all()):
                    found_inf = True
        state["stage"] = _UNSCALED
        state["found_inf"] = found_inf

    def step(self, optimizer, *args, **kwargs):
        """Unscale (unless ``unscale_`` did) and run ``optimizer.step(*args, **kwargs)``, unless
        a gradient is inf or NaN: then the step is skipped (returns None)."""
        if not self._enabled:
            return optimizer.step(*args, **kwargs)
        if "closure" in kwargs:
            raise RuntimeError("GradScaler.step: closure use is not currently supported if "
                               "GradScaler is enabled")
        state = self._state(optimizer)
        if state["stage"] == _STEPPED:
            raise RuntimeError("GradScaler.step: step() has already been called since the last "
                               "update()")
        if state["stage"] == _READY:
            self.unscale_(optimizer)
        result = None if state["found_inf"] else optimizer.step(*args, **kwargs)
        state["stage"] = _STEPPED
        return result

    def update(self, new_scale=None) -> None:
        """Set the scale for the next iteration: ``new_scale`` if given, else by the rule in
        the class docstring from this iteration's inf checks. Clears the per-optimizer state."""
        if not self._enabled:
            return
        if new_scale is not None:
            value = new_scale.item() if isinstance(new_scale, _engine.Tensor) else new_scale
            if not isinstance(value, (int, float)) or isinstance(value, bool):
                raise TypeError(f"GradScaler.update: new_scale must be a number or a one-element "
                                f"Tensor, got {type(new_scale).__name__}")
            self._scale = _as_float32(value)
        else:
            checks = [s["found_inf"] for s in self._per_optimizer.values()
                      if s["found_inf"] is not None]
            if not checks:
                raise RuntimeError("GradScaler.update: no inf checks were recorded prior to "
                                   "update() (call step() or unscale_() first)")
            if any(checks):
                self._scale = _as_float32(self._scale * self._backoff_factor)
                self._growth_tracker = 0
            else:
                successful = self._growth_tracker + 1
                if successful == self._growth_interval:
                    grown = _as_float32(self._scale * self._growth_factor)
                    if np.isfinite(grown):
                        self._scale = grown
                    self._growth_tracker = 0
                else:
                    self._growth_tracker = successful
        self._per_optimizer = {}

    # --- inspection and state -------------------------------------------------------------

    def found_inf(self, optimizer) -> bool:
        """Whether the last unscale_ of ``optimizer`` (this iteration) met an inf or NaN
        (a minigrad extension: PyTorch keeps this internal)."""
        found = self._per_optimizer.get(id(optimizer), {}).get("found_inf")
        if found is None:
            raise RuntimeError("GradScaler.found_inf: unscale_() or step() has not run for this "
                               "optimizer since the last update()")
        return found

    def get_scale(self) -> float:
        """The current scale S (1.0 when disabled)."""
        return self._scale if self._enabled else 1.0

    def is_enabled(self) -> bool:
        return self._enabled

    def get_growth_factor(self) -> float:
        return self._growth_factor

    def set_growth_factor(self, new_factor: float) -> None:
        self._growth_factor = float(new_factor)

    def get_backoff_factor(self) -> float:
        return self._backoff_factor

    def set_backoff_factor(self, new_factor: float) -> None:
        self._backoff_factor = float(new_factor)

    def get_growth_interval(self) -> int:
        return self._growth_interval

    def set_growth_interval(self, new_interval: int) -> None:
        self._growth_interval = int(new_interval)

    def state_dict(self) -> dict:
        """PyTorch's keys: scale, growth_factor, backoff_factor, growth_interval,
        _growth_tracker (empty when disabled)."""
        if not self._enabled:
            return {}
        return {"scale": self._scale, "growth_factor": self._growth_factor,
                "backoff_factor": self._backoff_factor,
                "growth_interval": self._growth_interval,
                "_growth_tracker": self._growth_tracker}

    def load_state_dict(self, state_dict: dict) -> None:
        if not self._enabled:
            return
        if len(state_dict) == 0:
            raise RuntimeError("GradScaler.load_state_dict: the state_dict is empty (it was "
                               "saved from a disabled GradScaler)")
        missing = [k for k in ("scale", "growth_factor", "backoff_factor", "growth_interval",
                               "_growth_tracker") if k not in state_dict]
        if missing:
            raise KeyError(f"GradScaler.load_state_dict: missing key(s) {', '.join(missing)}")
        self._scale = _as_float32(float(state_dict["scale"]))
        self._growth_factor = float(state_dict["growth_factor"])
        self._backoff_factor = float(state_dict["backoff_factor"])
        self._growth_interval = int(state_dict["growth_interval"])
        self._growth_tracker = int(state_dict["_growth_tracker"])


# --- fit integration ------------------------------------------------------------------------

def _callback_base():
    from .training.callbacks import Callback
    return Callback


class AmpCallback(_callback_base()):
    """Mixed precision in :func:`minigrad.training.fit` through its step hooks::

        training_context          -> autocast(dtype) around the forward pass and the loss
        on_before_backward(loss)  -> scaler.scale(loss)
        on_before_optimizer_step  -> scaler.unscale_(optimizer) (so clipping sees true
                                     gradients); False (skip) on inf/NaN; scaler.update()

    ``scale_history`` holds the scale used at each optimizer step and ``skipped_steps`` the
    steps skipped; both, with the scaler's state, travel in checkpoints.
    """

    def __init__(self, dtype=np.float16, scaler: GradScaler | None = None,
                 enabled: bool = True):
        self.autocast = autocast(dtype, enabled)
        self.scaler = GradScaler(enabled=enabled) if scaler is None else scaler
        self.scale_history = []
        self.skipped_steps = 0

    def training_context(self):
        return self.autocast if self.autocast.enabled else contextlib.nullcontext()

    def on_before_backward(self, loss):
        return self.scaler.scale(loss)

    def on_before_optimizer_step(self, params) -> bool:
        scaler = self.scaler
        if not scaler.is_enabled():
            return True
        optimizer = self.state.optimizer
        self.scale_history.append(scaler.get_scale())
        scaler.unscale_(optimizer)
        skip = scaler.found_inf(optimizer)
        self.skipped_steps += int(skip)
        scaler.update()  # only the next step's scale depends on it
        return not skip

    def state_dict(self) -> dict:
        return {"scaler": self.scaler.state_dict(), "scale_history": list(self.scale_history),
                "skipped_steps": self.skipped_steps}

    def load_state_dict(self, state: dict) -> None:
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.scale_history = [float(s) for s in state.get("scale_history", [])]
        self.skipped_steps = int(state.get("skipped_steps", 0))
