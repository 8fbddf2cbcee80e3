"""Preprocessing fitted on training data only: standardization, min-max scaling, imputation.

Each transformer learns its statistics with ``fit(X_train)`` and applies those same statistics
to any data with ``transform(X)`` (train, validation or test), so no information from the
evaluation data leaks into training. ``fit_transform(X)`` is ``fit(X).transform(X)``.

Conventions (scikit-learn's): rows are samples; statistics are taken over ``axis`` (0: one
statistic per feature, i.e. per column, or per pixel for images; ``None``: one for the whole
array). Statistics are computed in float64 and stored as NumPy arrays; ``transform`` returns a
Tensor for a Tensor and an array for an array, of the input's floating dtype (float32 stays
float32; integer input such as uint8 images becomes float32). ``state_dict()`` holds everything
needed to rebuild a fitted transformer, as arrays, numbers and strings (so
``minigrad.save`` can store it in a checkpoint).
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ._common import float_array, like, raw

__all__ = ["StandardScaler", "MinMaxScaler", "SimpleImputer"]


def _normalize_axis(axis, ndim: int, owner: str):
    """``axis`` as a sorted tuple of non-negative axes (``None``: all of them)."""
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, (int, np.integer)) else tuple(axis)
    out = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{owner}: axis {a} is out of range for {ndim}-d data")
        out.append(int(a) % ndim)
    return tuple(sorted(set(out)))


def _stat_shape(shape, axes) -> tuple:
    return tuple(1 if i in axes else s for i, s in enumerate(shape))


def _on_device_of(stat: np.ndarray, x, dtype):
    """A stored float64 statistic as ``dtype`` on the device of ``x`` (so float32 stays
    float32: a float64 statistic would promote the result)."""
    return backend.to_device(stat.astype(dtype), backend.device_of(x))


class _Fitted:
    """Shared plumbing: the axis, the fitted check, the feature-shape check, state dicts."""

    _stats: tuple = ()       # names of the fitted statistic arrays
    _config: tuple = ()      # names of the constructor settings kept in the state

    def __init__(self, axis=0):
        self.axis = axis
        self.shape_ = None   # the statistics' shape (the input's with reduced axes set to 1)
        self.ndim_ = None

    @property
    def fitted(self) -> bool:
        return self.shape_ is not None

    def _prepare_fit(self, X):
        X = float_array(X, f"{type(self).__name__}.fit")
        if X.ndim == 0:
            raise ValueError(f"{type(self).__name__}.fit: expected an array of samples, got 0-d")
        axes = _normalize_axis(self.axis, X.ndim, f"{type(self).__name__}.fit")
        if any(X.shape[a] == 0 for a in axes):
            raise ValueError(f"{type(self).__name__}.fit: no samples to fit on "
                             f"(shape {X.shape})")
        self.ndim_ = X.ndim
        self.shape_ = _stat_shape(X.shape, axes)
        return X, axes

    def _prepare_transform(self, X, method="transform"):
        owner = f"{type(self).__name__}.{method}"
        if not self.fitted:
            raise RuntimeError(f"{owner}: not fitted; call fit on the training data first")
        X = float_array(X, owner)
        if X.ndim != self.ndim_ or any(s != 1 and s != x for s, x in zip(self.shape_, X.shape)):
            raise ValueError(f"{owner}: data of shape {tuple(X.shape)} does not match the "
                             f"{self.ndim_}-d data it was fitted on (statistics of shape "
                             f"{self.shape_})")
        return X

    def fit_transform(self, X):
        """``fit(X)`` then ``transform(X)``: for the training data only."""
        return self.fit(X).transform(X)

    def state_dict(self) -> dict:
        if not self.fitted:
            raise RuntimeError(f"{type(self).__name__}.state_dict: not fitted")
        state = {"type": type(self).__name__, "axis": self._axis_state(),
                 "ndim": self.ndim_, "shape": list(self.shape_)}
        state.update({name: getattr(self, name) for name in self._config})
        state.update({name: getattr(self, name).copy() for name in self._stats})
        return state

    def load_state_dict(self, state: dict) -> None:
        name = type(self).__name__
        if state.get("type") != name:
            raise ValueError(f"{name}.load_state_dict: the state is for {state.get('type')!r}")
        missing = [k for k in ("axis", "ndim", "shape") + self._config + self._stats
                   if k not in state]
        if missing:
            raise KeyError(f"{name}.load_state_dict: missing key(s) {missing}")
        axis = state["axis"]
        self.axis = tuple(axis) if isinstance(axis, (list, tuple)) else axis
        self.ndim_ = int(state["ndim"])
        self.shape_ = tuple(int(s) for s in state["shape"])
        for key in self._config:
            value = state[key]
            setattr(self, key, tuple(value) if isinstance(value, list) else value)
        for key in self._stats:
            value = np.asarray(backend.to_device(raw(state[key]), "cpu"), dtype=np.float64)
            if value.shape != self.shape_:
                raise ValueError(f"{name}.load_state_dict: {key} has shape {value.shape}, "
                                 f"expected {self.shape_}")
            setattr(self, key, value)

    def _axis_state(self):
        return list(self.axis) if isinstance(self.axis, tuple) else self.axis

    def __repr__(self) -> str:
        return f"{type(self).__name__}(axis={self.axis}{', fitted' if self.fitted else ''})"


def _check_finite(X, owner):
    xp = backend.array_module(X)
    if not bool(xp.isfinite(X).all()):
        raise ValueError(f"{owner}: the data holds NaN or infinite values; fill missing values "
                         f"first (SimpleImputer)")


class StandardScaler(_Fitted):
    """Standardization: ``z = (x - mean) / std`` with the training data's mean and std.

    Fit::

        mean = (1/N) sum_i x_i                      over the samples (``axis``)
        std  = sqrt((1/N) sum_i (x_i - mean)^2)     the population std (ddof=0), as scikit-learn
        std  = 1 where std == 0                     a constant feature is only centred

    Transform: ``z = (x - mean) / std``. Inverse: ``x = z * std + mean``.
    """

    _stats = ("mean_", "scale_")

    def fit(self, X) -> "StandardScaler":
        """Learn the mean and std of ``X`` (training data)."""
        X, axes = self._prepare_fit(X)
        _check_finite(X, "StandardScaler.fit")
        xp = backend.array_module(X)
        mean = X.mean(axis=axes, keepdims=True, dtype=np.float64)
        var = ((X - mean) ** 2).mean(axis=axes, keepdims=True)
        std = xp.sqrt(var)
        std = xp.where(std == 0, 1.0, std)
        self.mean_ = backend.to_device(mean, "cpu")
        self.scale_ = backend.to_device(std, "cpu")
        return self

    def transform(self, X):
        """``(X - mean) / std`` with the fitted statistics."""
        x = self._prepare_transform(X)
        mean = _on_device_of(self.mean_, x, x.dtype)
        std = _on_device_of(self.scale_, x, x.dtype)
        return like((x - mean) / std, X)

    def inverse_transform(self, Z):
        """``Z * std + mean``: back to the original units."""
        z = self._prepare_transform(Z, "inverse_transform")
        mean = _on_device_of(self.mean_, z, z.dtype)
        std = _on_device_of(self.scale_, z, z.dtype)
        return like(z * std + mean, Z)


class MinMaxScaler(_Fitted):
    """Min-max scaling to ``feature_range = (a, b)`` with the training data's min and max.

    Fit: ``lo = min_i x_i``, ``hi = max_i x_i`` over the samples; ``range = hi - lo``, set to 1
    where it is 0 (as scikit-learn). Transform::

        x_std    = (x - lo) / range
        x_scaled = x_std * (b - a) + a

    Test data outside the training range maps outside ``[a, b]`` (no clipping).
    """

    _stats = ("data_min_", "data_range_")
    _config = ("feature_range",)

    def __init__(self, feature_range=(0.0, 1.0), axis=0):
        super().__init__(axis)
        a, b = (float(v) for v in feature_range)
        if not a < b:
            raise ValueError(f"MinMaxScaler: feature_range {feature_range} needs min < max")
        self.feature_range = (a, b)

    def fit(self, X) -> "MinMaxScaler":
        """Learn the min and max of ``X`` (training data)."""
        X, axes = self._prepare_fit(X)
        _check_finite(X, "MinMaxScaler.fit")
        xp = backend.array_module(X)
        lo = X.min(axis=axes, keepdims=True).astype(np.float64)
        hi = X.max(axis=axes, keepdims=True).astype(np.float64)
        rng = hi - lo
        rng = xp.where(rng == 0, 1.0, rng)
        self.data_min_ = backend.to_device(lo, "cpu")
        self.data_range_ = backend.to_device(rng, "cpu")
        return self

    def transform(self, X):
        """``(X - lo) / range * (b - a) + a`` with the fitted statistics."""
        x = self._prepare_transform(X)
        a, b = self.feature_range
        lo = _on_device_of(self.data_min_, x, x.dtype)
        rng = _on_device_of(self.data_range_, x, x.dtype)
        x_std = (x - lo) / rng
        return like(x_std * (b - a) + a, X)

    def inverse_transform(self, Z):
        """``(Z - a) / (b - a) * range + lo``."""
        z = self._prepare_transform(Z, "inverse_transform")
        a, b = self.feature_range
        lo = _on_device_of(self.data_min_, z, z.dtype)
        rng = _on_device_of(self.data_range_, z, z.dtype)
        return like((z - a) / (b - a) * rng + lo, Z)


_STRATEGIES = ("mean", "median", "most_frequent", "constant")


def _most_frequent(X2):
    """The most frequent non-NaN value of each column of the 2-D ``X2`` (the smallest on ties,
    as scikit-learn), vectorized: sort each column (NaN sorts last), cut it into runs of equal
    values, count each run's non-NaN members with one bincount, take the first longest run."""
    xp = backend.array_module(X2)
    S = xp.sort(X2, axis=0).T                                # (features, samples), NaN last
    valid = ~xp.isnan(S)
    starts = xp.ones(S.shape, dtype=bool)
    starts[:, 1:] = S[:, 1:] != S[:, :-1]                    # a new run begins here
    run_id = xp.cumsum(starts.ravel()) - 1                   # runs never cross rows: each
    counts = xp.bincount(run_id, weights=valid.ravel())      # row starts with a new run
    per_element = counts[run_id].reshape(S.shape)
    best = xp.argmax(per_element, axis=1)                    # first (= smallest) longest run
    return S[xp.arange(S.shape[0]), best]


class SimpleImputer(_Fitted):
    """Fill missing values (NaN) with a per-feature statistic of the training data.

    Strategies, computed over the samples (axis 0) ignoring NaN:

    - ``'mean'``: ``fill = sum of observed x / number observed``;
    - ``'median'``: the middle observed value (the mean of the two middle ones for an even
      count);
    - ``'most_frequent'``: the most common observed value, the smallest one on ties;
    - ``'constant'``: ``fill_value`` everywhere.

    Transform: ``x_filled = where(isnan(x), fill, x)``. A feature with no observed value in the
    training data is an error (its statistic would be undefined).
    """

    _stats = ("statistics_",)
    _config = ("strategy", "fill_value")

    def __init__(self, strategy: str = "mean", fill_value=None):
        super().__init__(axis=0)
        if strategy not in _STRATEGIES:
            raise ValueError(f"SimpleImputer: unknown strategy {strategy!r}; expected one of "
                             f"{', '.join(map(repr, _STRATEGIES))}")
        if strategy == "constant" and fill_value is None:
            raise ValueError("SimpleImputer: strategy='constant' needs a fill_value")
        self.strategy = strategy
        self.fill_value = None if fill_value is None else float(fill_value)

    def fit(self, X) -> "SimpleImputer":
        """Learn each feature's fill value from ``X`` (training data)."""
        X, _ = self._prepare_fit(X)
        xp = backend.array_module(X)
        X2 = X.reshape(X.shape[0], -1).astype(np.float64)
        if self.strategy == "constant":
            stat = xp.full(X2.shape[1], self.fill_value, dtype=np.float64)
        else:
            observed = (~xp.isnan(X2)).sum(axis=0)
            empty = backend.to_device(xp.nonzero(observed == 0)[0], "cpu")
            if empty.size:
                raise ValueError(f"SimpleImputer.fit: feature(s) {empty.tolist()[:10]} have no "
                                 f"observed value in the training data; cannot compute their "
                                 f"{self.strategy}")
            if self.strategy == "mean":
                stat = xp.nansum(X2, axis=0) / observed
            elif self.strategy == "median":
                stat = xp.nanmedian(X2, axis=0)
            else:
                stat = _most_frequent(X2)
        self.statistics_ = backend.to_device(stat.reshape(self.shape_), "cpu")
        return self

    def transform(self, X):
        """``where(isnan(X), fill, X)``: a copy of ``X`` with its NaNs filled."""
        x = self._prepare_transform(X)
        xp = backend.array_module(x)
        fill = _on_device_of(self.statistics_, x, x.dtype)
        return like(xp.where(xp.isnan(x), fill, x), X)
