"""Pipeline: preprocessing steps fitted together on the training split and saved with the
model, so evaluation and a reloaded model see exactly the same transformation.

``Pipeline([(name, step), ...])`` (scikit-learn's): ``fit(X, y)`` fits each step on the output
of the steps before it (``step.fit(X_t, y)`` then ``X_t = step.transform(X_t)``), ``transform``
applies them all in order. A step is anything with ``fit`` and ``transform`` (every transformer
of :mod:`minigrad.data`), or ``'passthrough'``/None for a step left out (handy to compare
variants with and without one step).

``state_dict()`` is ``{'type': 'Pipeline', 'steps': [{'name', 'type', 'state'}, ...]}``, each
state made of arrays, numbers and strings, so it goes into the same ``minigrad.save``
checkpoint as the model's ``state_dict()`` (no pickle).
"""

from __future__ import annotations

import inspect

__all__ = ["Pipeline"]

_SKIP = ("passthrough", None)


def _takes_y(method) -> bool:
    """Whether ``fit`` accepts the targets as a second argument."""
    try:
        params = list(inspect.signature(method).parameters.values())
    except (TypeError, ValueError):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)


def _shape(x):
    return tuple(x.shape) if hasattr(x, "shape") else f"{type(x).__name__} of {len(x)}"


class Pipeline:
    """Named transformers applied in sequence, fitted on training data only."""

    def __init__(self, steps):
        steps = list(steps)
        names = []
        for item in steps:
            if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
                raise TypeError(f"Pipeline: each step must be a (name, transformer) pair, got "
                                f"{item!r:.80}")
            name, step = item
            if step not in _SKIP and not (hasattr(step, "fit") and hasattr(step, "transform")):
                raise TypeError(f"Pipeline: step {name!r} ({type(step).__name__}) has no "
                                f"fit/transform")
            names.append(name)
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"Pipeline: step names must be unique, repeated: {duplicates}")
        if not steps:
            raise ValueError("Pipeline: needs at least one step")
        self.steps = steps
        self._is_fitted = False

    @property
    def named_steps(self) -> dict:
        return dict(self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, key):
        if isinstance(key, slice):
            sub = Pipeline(self.steps[key])
            sub._is_fitted = self._is_fitted
            return sub
        if isinstance(key, str):
            return self.named_steps[key]
        return self.steps[key][1]

    @staticmethod
    def _run(name, step, method: str, X, *args):
        """``step.<method>(X, *args)``, any error re-raised naming the step and X's shape."""
        try:
            return getattr(step, method)(X, *args)
        except (ValueError, TypeError, RuntimeError, KeyError) as exc:
            message = (f"Pipeline step {name!r} ({type(step).__name__}).{method} on data of "
                       f"shape {_shape(X)}: {exc}")
            try:
                wrapped = type(exc)(message)
            except TypeError:  # an exception type with another constructor: keep it as is
                raise exc from None
            raise wrapped from exc

    def fit(self, X, y=None) -> "Pipeline":
        """Fit each step on the output of the previous ones (training data only)."""
        for name, step in self.steps:
            if step in _SKIP:
                continue
            if y is not None and _takes_y(step.fit):
                self._run(name, step, "fit", X, y)
            else:
                self._run(name, step, "fit", X)
            X = self._run(name, step, "transform", X)
        self._is_fitted = True
        return self

    def _check_fitted(self, method: str) -> None:
        if not self._is_fitted:
            raise RuntimeError(f"Pipeline.{method}: not fitted; call fit on the training data "
                               f"first (or load_state_dict)")

    def transform(self, X):
        """Apply every fitted step in order."""
        self._check_fitted("transform")
        for name, step in self.steps:
            if step not in _SKIP:
                X = self._run(name, step, "transform", X)
        return X

    def fit_transform(self, X, y=None):
        """``fit(X, y)`` then ``transform(X)``."""
        return self.fit(X, y).transform(X)

    def inverse_transform(self, Z):
        """Undo the steps in reverse order (each must have ``inverse_transform``)."""
        self._check_fitted("inverse_transform")
        for name, step in reversed(self.steps):
            if step in _SKIP:
                continue
            if not hasattr(step, "inverse_transform"):
                raise TypeError(f"Pipeline.inverse_transform: step {name!r} "
                                f"({type(step).__name__}) has no inverse_transform")
            Z = self._run(name, step, "inverse_transform", Z)
        return Z

    def state_dict(self) -> dict:
        """Every step's fitted state, by name and type (arrays, numbers, strings)."""
        self._check_fitted("state_dict")
        return {"type": "Pipeline",
                "steps": [{"name": name, "type": "passthrough" if step in _SKIP else
                           type(step).__name__,
                           "state": None if step in _SKIP else step.state_dict()}
                          for name, step in self.steps]}

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict` into this pipeline's steps (same names, same types)."""
        if not isinstance(state, dict) or state.get("type") != "Pipeline" or \
                not isinstance(state.get("steps"), (list, tuple)):
            raise ValueError("Pipeline.load_state_dict: not a Pipeline state (expected "
                             "{'type': 'Pipeline', 'steps': [...]})")
        saved = [(s.get("name"), s.get("type")) for s in state["steps"]]
        mine = [(n, "passthrough" if s in _SKIP else type(s).__name__) for n, s in self.steps]
        if saved != mine:
            raise ValueError(f"Pipeline.load_state_dict: the saved steps {saved} differ from "
                             f"this pipeline's {mine}")
        for (name, step), item in zip(self.steps, state["steps"]):
            if step not in _SKIP:
                self._run(name, step, "load_state_dict", item["state"])
        self._is_fitted = True

    def __repr__(self) -> str:
        inner = ", ".join(f"({n!r}, {s!r})" for n, s in self.steps)
        return f"Pipeline([{inner}])"
