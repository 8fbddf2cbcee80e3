"""The estimator contract shared by the data-preparation classes (scikit-learn's).

``fit`` learns from training data and sets the fitted attributes (names ending in ``_``);
``transform`` applies what was learned; calling ``transform`` (or ``inverse_transform``,
``state_dict``...) before ``fit`` is an error naming the class. ``state_dict()`` holds the
settings and the fitted attributes as arrays, numbers, strings and lists of them, so
``minigrad.save`` can store it (no pickle); ``load_state_dict`` rebuilds a fitted estimator.
Arrays of string categories are saved as lists of strings and come back as object arrays.

The scalers of :mod:`minigrad.data.preprocessing` (statistics over an ``axis``) keep their own
base class there; this one serves estimators on ``(n_samples, n_features)`` data.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ._common import float_array, raw
from .preprocessing import _check_finite

_STRINGS = "__strings__"  # the key marking a saved array of strings


def to_state(value, where: str):
    """``value`` in a form ``minigrad.save`` stores: host arrays, lists, numbers, strings."""
    if isinstance(value, (list, tuple)):
        return [to_state(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, np.generic):
        host = np.array(backend.to_device(value, "cpu"))        # a copy
        if host.dtype.kind in "OUS":
            items = host.tolist()
            if host.ndim != 1 or not all(isinstance(v, str) for v in items):
                raise TypeError(f"{where}: only 1-D arrays of strings or numbers can be saved, "
                                f"got a {host.ndim}-d {host.dtype} array holding "
                                f"{sorted({type(v).__name__ for v in np.ravel(items)})}")
            return {_STRINGS: items}
        return host
    if isinstance(value, np.generic):
        return value.item()
    return value


def from_state(value):
    """The inverse of :func:`to_state` (lists stay lists; saved strings become object arrays)."""
    if isinstance(value, dict) and set(value) == {_STRINGS}:
        return np.array(value[_STRINGS], dtype=object)
    if isinstance(value, (list, tuple)):
        return [from_state(v) for v in value]
    return value


def feature_matrix(X, owner: str, allow_nan: bool = False):
    """``X`` as a 2-D floating array ``(n_samples, n_features)`` (float inputs keep their
    dtype, integers become float32), with a clear error for another rank, no samples or
    NaN/inf where they are not allowed."""
    x = float_array(X, owner)
    if x.ndim != 2:
        raise ValueError(f"{owner}: expected a 2-D array (n_samples, n_features), got shape "
                         f"{tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError(f"{owner}: no samples (shape {tuple(x.shape)})")
    if not allow_nan:
        _check_finite(x, owner)
    return x


def labels(y, n_samples: int, owner: str):
    """``y`` as a 1-D array of ``n_samples`` labels (on its own device)."""
    y = raw(y)
    if y.ndim != 1 or y.shape[0] != n_samples:
        raise ValueError(f"{owner}: y must be 1-D with one label per sample ({n_samples}), got "
                         f"shape {tuple(y.shape)}")
    return y


class Estimator:
    """Shared plumbing: the fitted check, ``fit_transform``, ``state_dict``/``load_state_dict``.

    Subclasses list their constructor settings in ``_config`` and their fitted attributes in
    ``_fitted`` (the first of which marks the estimator as fitted).
    """

    _config: tuple = ()
    _fitted: tuple = ()

    @property
    def fitted(self) -> bool:
        return getattr(self, self._fitted[0], None) is not None

    def _check_fitted(self, method: str) -> None:
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__}.{method}: not fitted; call fit on the "
                               f"training data first")

    def fit_transform(self, X, y=None):
        """``fit(X, y)`` then ``transform(X)``: for the training data only."""
        return self.fit(X, y).transform(X)

    def state_dict(self) -> dict:
        """Settings and fitted attributes as arrays, numbers, strings and lists of them."""
        self._check_fitted("state_dict")
        name = type(self).__name__
        state = {"type": name}
        for key in self._config + self._fitted:
            state[key] = to_state(getattr(self, key), f"{name}.state_dict: {key}")
        return state

    def load_state_dict(self, state: dict) -> None:
        """Restore :meth:`state_dict`: afterwards the estimator transforms as the saved one."""
        name = type(self).__name__
        if not isinstance(state, dict) or state.get("type") != name:
            got = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{name}.load_state_dict: the state is for {got!r}")
        missing = [k for k in self._config + self._fitted if k not in state]
        if missing:
            raise KeyError(f"{name}.load_state_dict: missing key(s) {missing}")
        for key in self._config:
            value = from_state(state[key])
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        for key in self._fitted:
            setattr(self, key, from_state(state[key]))

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={getattr(self, k)!r}" for k in self._config)
        return f"{type(self).__name__}({settings}{', fitted' if self.fitted else ''})"
