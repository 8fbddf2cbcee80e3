"""What the closure-driven optimizers (:class:`LBFGS`, :class:`ConjugateGradient`) share: every
parameter seen as one flat vector θ, the closure evaluated at θ + t d for the line search, and
their state (flat vectors and histories of them) saved and restored with ``state_dict``.

As in PyTorch's L-BFGS there is one parameter group, all parameters are on one device, and the
state lives in ``state[first parameter]``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ..tensor import Tensor
from .optimizer import Optimizer, check_range


class FlatParamsOptimizer(Optimizer):
    """Base class: one group, a required closure, parameters as one flat vector."""

    _vector_keys: tuple = ()   # state entries that are one flat vector
    _history_keys: tuple = ()  # state entries that are lists of flat vectors
    _count_keys: tuple = ("n_iter", "func_evals")  # state entries that are ints

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        name = type(self).__name__
        if len(self.param_groups) != 1:
            raise ValueError(f"{name} doesn't support per-parameter options (parameter "
                             f"groups): got {len(self.param_groups)} groups, expected one")
        self._params = self.param_groups[0]["params"]
        devices = {str(p.device) for p in self._params}
        if len(devices) > 1:
            raise ValueError(f"{name}: all parameters must be on one device, got "
                             f"{sorted(devices)}")
        self._numel = sum(int(p.data.size) for p in self._params)

    def add_param_group(self, param_group):
        if self.param_groups:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options "
                             f"(parameter groups): it has one group already")
        super().add_param_group(param_group)

    @staticmethod
    def _check_common(name, group):
        """The checks LBFGS and ConjugateGradient share (lr, iteration counts, tolerances)."""
        if "lr" in group:
            check_range(name, "lr", group["lr"], 0.0, low_open=True)
        for key in ("max_iter", "max_eval"):
            if key in group:
                value = group[key]
                if not isinstance(value, numbers.Integral) or isinstance(value, bool) \
                        or value < 1:
                    raise ValueError(f"{name}: invalid {key} = {value!r}: expected an "
                                     f"integer >= 1")
        for key in ("tolerance_grad", "tolerance_change"):
            if key in group:
                check_range(name, key, group[key])

    # --- the closure ----------------------------------------------------------------------------

    def _require_closure(self, closure):
        if closure is None or not callable(closure):
            raise TypeError(
                f"{type(self).__name__}.step: a closure is required (it evaluates the loss "
                f"several times per step), e.g.\n"
                f"    def closure():\n        optimizer.zero_grad()\n"
                f"        loss = loss_fn(model(x), y)\n        loss.backward()\n"
                f"        return loss\n    optimizer.step(closure)")

    def _as_loss(self, loss) -> float:
        """The closure's loss (a one-element Tensor or a number) as a Python float."""
        if loss is None:
            raise TypeError(f"{type(self).__name__}.step: the closure returned None; it must "
                            f"return the loss")
        return float(loss)

    def _first_evaluation(self, closure):
        """The evaluation that opens a ``step``: (the closure's loss as returned, as a float,
        the flat gradient), counted in ``state['func_evals']`` (count entries start at 0)."""
        self._require_closure(closure)
        state = self.state[self._params[0]]
        for key in self._count_keys:
            state.setdefault(key, 0)
        orig_loss = self._evaluate(closure)
        loss = self._as_loss(orig_loss)
        state["func_evals"] += 1
        return orig_loss, loss, self._gather_flat_grad()

    def _loss_value(self, closure) -> float:
        """Evaluate the closure (gradients enabled) and return its loss as a Python float."""
        return self._as_loss(self._evaluate(closure))

    # --- parameters as one flat vector --------------------------------------------------------

    def _xp(self):
        return backend.array_module(self._params[0].data)

    def _gather_flat_grad(self):
        """∇f(θ) as one flat array (a parameter without a gradient contributes zeros)."""
        xp = self._xp()
        parts = []
        for p in self._params:
            grad = self._grad(p)
            parts.append(xp.zeros(p.data.size, dtype=p.data.dtype) if grad is None
                         else grad.reshape(-1))
        return xp.concatenate(parts)

    def _add_to_params(self, step: float, direction) -> None:
        """θ ← θ + t d, in place, parameter by parameter."""
        offset = 0
        for p in self._params:
            n = int(p.data.size)
            p.data += step * direction[offset:offset + n].reshape(p.data.shape)
            p._bump_version()
            offset += n

    def _clone_params(self) -> list:
        return [p.data.copy() for p in self._params]

    def _set_params(self, arrays) -> None:
        for p, array in zip(self._params, arrays):
            p.data[...] = array
            p._bump_version()

    def _directional_evaluate(self, closure, x, step, direction):
        """(f(x + t d), ∇f(x + t d)), leaving the parameters at x: the line search's φ(t)."""
        self._add_to_params(step, direction)
        loss = self._loss_value(closure)
        flat_grad = self._gather_flat_grad()
        self._set_params(x)
        return loss, flat_grad

    # --- state ---------------------------------------------------------------------------------

    def _state_arrays(self, key):
        """A saved vector (or list of vectors) of the state as raw arrays, or None."""
        value = self.state[self._params[0]].get(key)
        if value is None:
            return None
        if isinstance(value, list):
            return [v.data for v in value]
        return value.data

    def _store(self, **entries) -> None:
        """Keep entries in the state: vectors wrapped as Tensors, histories as lists of them,
        numbers as they are."""
        state = self.state[self._params[0]]
        for key, value in entries.items():
            if key in self._history_keys:
                state[key] = [Tensor._make(v) for v in value]
            elif key in self._vector_keys and value is not None:
                state[key] = Tensor._make(value)
            else:
                state[key] = value

    def _restore_value(self, key, value, p):
        """Flat vectors (length = all parameters' elements) and lists of them, copied onto the
        parameters' device and dtype; counts as ints, the rest as numbers."""
        if key in self._history_keys:
            return [self._restore_vector(key, v, p) for v in value]
        if key in self._vector_keys:
            return None if value is None else self._restore_vector(key, value, p)
        if key in self._count_keys:
            return int(value)
        if isinstance(value, Tensor):
            value = value.data
        if hasattr(value, "shape") and getattr(value, "ndim", 1) == 0:
            return float(value)
        return value

    def _restore_vector(self, key, value, p):
        if isinstance(value, Tensor):
            value = value.data
        if isinstance(value, (list, tuple)):  # written out as a list of numbers
            value = np.asarray(value)
        shape = tuple(getattr(value, "shape", ()))
        if shape != (self._numel,):
            raise ValueError(f"{type(self).__name__}.load_state_dict: state {key!r} has shape "
                             f"{shape}, expected ({self._numel},) (all parameters flattened)")
        array = backend.to_device(value, p.device)
        return Tensor._make(array.astype(p.data.dtype, copy=True))
