"""Cleaning: duplicate samples, outliers (Z-score or IQR rule) and a scaler robust to them.

- :func:`drop_duplicates` keeps the first occurrence of each distinct sample (as pandas'
  ``drop_duplicates(keep='first')``), in the original order.
- :class:`OutlierDetector` learns per-feature bounds on the training data and then marks,
  clips or removes the values outside them.
- :class:`RobustScaler` centres on the median and divides by the interquartile range
  (scikit-learn's), so a few extreme values barely move the statistics.

All of them follow :mod:`minigrad.data.preprocessing`: statistics over the samples (axis 0) in
float64, kept as NumPy arrays, applied on the data's device and dtype.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ._common import like, raw
from .preprocessing import _check_finite, _Fitted, _on_device_of

__all__ = ["drop_duplicates", "OutlierDetector", "RobustScaler"]


def _unique_row_starts(keys):
    """Indices of the first occurrence of each distinct row of the 2-D ``keys``, ascending.

    Rows are sorted lexicographically (a stable sort, so equal rows keep their original order
    and the first of each run is its earliest occurrence); a run starts where a row differs
    from the previous one (NaN counts as equal to NaN, as in pandas).
    """
    xp = backend.array_module(keys)
    order = xp.lexsort(keys.T[::-1])           # lexsort's last key is the primary one
    s = keys[order]
    same = (s[1:] == s[:-1]) | (xp.isnan(s[1:]) & xp.isnan(s[:-1]))
    starts = xp.ones(s.shape[0], dtype=bool)
    starts[1:] = ~same.all(axis=1)
    return xp.sort(order[starts])


def drop_duplicates(x, y=None):
    """The samples of ``x`` (rows: ``x[i]`` is one sample, of any shape) without repeats.

    Two samples are duplicates when all their values are equal (and, when ``y`` is given, their
    labels too: the same features with different labels are kept, they are not duplicates).
    The first occurrence is kept and the order is preserved. Returns ``x_unique`` or
    ``(x_unique, y_unique)``, Tensors for Tensors.
    """
    xa = raw(x)
    if xa.ndim == 0 or xa.dtype.kind not in "biuf":
        raise ValueError(f"drop_duplicates: expected a numeric array of samples, got shape "
                         f"{tuple(xa.shape)} and dtype {xa.dtype}")
    keys = xa.reshape(xa.shape[0], -1).astype(np.float64)
    xp = backend.array_module(keys)
    if y is not None:
        ya = raw(y)
        if ya.shape[:1] != xa.shape[:1] or ya.dtype.kind not in "biuf":
            raise ValueError(f"drop_duplicates: y must be numeric with one label per sample "
                             f"({xa.shape[0]}), got shape {tuple(ya.shape)} and dtype "
                             f"{ya.dtype}")
        keys = xp.concatenate([keys, ya.reshape(ya.shape[0], -1).astype(np.float64)], axis=1)
    if keys.shape[0] == 0:
        return x if y is None else (x, y)
    keep = _unique_row_starts(keys)
    if y is None:
        return like(xa[keep], x)
    return like(xa[keep], x), like(raw(y)[keep], y)


_DEFAULT_THRESHOLD = {"zscore": 3.0, "iqr": 1.5}
_ACTIONS = ("mask", "clip", "remove")


class OutlierDetector(_Fitted):
    """Per-feature outlier bounds learned on the training data.

    Rules (statistics over the samples, axis 0)::

        'zscore':  lower = mean - t * std,          upper = mean + t * std     (t = 3 by default)
        'iqr':     lower = Q1 - t * (Q3 - Q1),      upper = Q3 + t * (Q3 - Q1) (t = 1.5, Tukey)

    with ``std`` the population std (ddof=0) and ``Q1, Q3`` the 25th and 75th percentiles
    (linear interpolation, as ``numpy.percentile``). A value is an outlier when
    ``x < lower or x > upper``.

    Methods: ``mask(X)`` (True at outlying values, the shape of ``X``), ``clip(X)`` (values
    moved to the nearest bound), ``remove(X, y=None)`` (the samples with no outlying value).
    ``transform(X)`` does the one named by ``action``: ``'mask'`` (default), ``'clip'`` (the
    form to use inside a :class:`~minigrad.data.Pipeline`) or ``'remove'``.
    """

    _stats = ("lower_", "upper_")
    _config = ("method", "threshold", "action")

    def __init__(self, method: str = "zscore", threshold=None, action: str = "mask"):
        super().__init__(axis=0)
        if method not in _DEFAULT_THRESHOLD:
            raise ValueError(f"OutlierDetector: unknown method {method!r}; expected 'zscore' "
                             f"or 'iqr'")
        if action not in _ACTIONS:
            raise ValueError(f"OutlierDetector: unknown action {action!r}; expected one of "
                             f"{', '.join(map(repr, _ACTIONS))}")
        threshold = _DEFAULT_THRESHOLD[method] if threshold is None else float(threshold)
        if not threshold > 0:
            raise ValueError(f"OutlierDetector: threshold must be > 0, got {threshold}")
        self.method = method
        self.threshold = threshold
        self.action = action

    def fit(self, X, y=None) -> "OutlierDetector":
        """Learn the bounds from ``X`` (training data, no NaN)."""
        X, axes = self._prepare_fit(X)
        _check_finite(X, "OutlierDetector.fit")
        xp = backend.array_module(X)
        X64, t = X.astype(np.float64), self.threshold
        if self.method == "zscore":
            mean = X64.mean(axis=axes, keepdims=True)
            std = xp.sqrt(((X64 - mean) ** 2).mean(axis=axes, keepdims=True))
            lower, upper = mean - t * std, mean + t * std
        else:
            q1, q3 = xp.percentile(X64, xp.asarray([25.0, 75.0]), axis=0)
            iqr = q3 - q1
            lower, upper = (q1 - t * iqr).reshape(self.shape_), (q3 + t * iqr).reshape(self.shape_)
        self.lower_ = backend.to_device(lower, "cpu")
        self.upper_ = backend.to_device(upper, "cpu")
        return self

    def _bounds(self, x):
        return _on_device_of(self.lower_, x, x.dtype), _on_device_of(self.upper_, x, x.dtype)

    def mask(self, X):
        """A boolean array of the shape of ``X``: True where a value lies outside the bounds."""
        x = self._prepare_transform(X, "mask")
        lower, upper = self._bounds(x)
        return like((x < lower) | (x > upper), X)

    def clip(self, X):
        """``min(max(x, lower), upper)``: outlying values moved to the nearest bound."""
        x = self._prepare_transform(X, "clip")
        xp = backend.array_module(x)
        lower, upper = self._bounds(x)
        return like(xp.minimum(xp.maximum(x, lower), upper), X)

    def remove(self, X, y=None):
        """The samples of ``X`` (and their labels ``y``) holding no outlying value."""
        x = self._prepare_transform(X, "remove")
        lower, upper = self._bounds(x)
        bad = ((x < lower) | (x > upper)).reshape(x.shape[0], -1).any(axis=1)
        keep = ~bad
        if y is None:
            return like(x[keep], X)
        ya = raw(y)
        if ya.shape[:1] != x.shape[:1]:
            raise ValueError(f"OutlierDetector.remove: y of shape {tuple(ya.shape)} does not "
                             f"have one label per sample of X {tuple(x.shape)}")
        return like(x[keep], X), like(ya[keep], y)

    def transform(self, X):
        """``mask(X)``, ``clip(X)`` or ``remove(X)``, as ``action`` says."""
        self._prepare_transform(X)  # the checks, with errors naming transform
        return getattr(self, self.action)(X)

    def __repr__(self) -> str:
        return (f"OutlierDetector(method={self.method!r}, threshold={self.threshold}, "
                f"action={self.action!r}{', fitted' if self.fitted else ''})")


class RobustScaler(_Fitted):
    """Scaling robust to outliers (scikit-learn's ``RobustScaler``).

    Fit, per feature over the samples::

        center = median(x)
        scale  = Q(q_max) - Q(q_min)       the interquartile range for (25, 75)
        scale  = 1 where scale == 0        a constant feature is only centred

    with ``Q`` the percentile by linear interpolation (``numpy.percentile``). Transform:
    ``z = (x - center) / scale`` (without the centring when ``with_centering=False``, without
    the division when ``with_scaling=False``). Inverse: ``x = z * scale + center``.
    NaN is refused (scikit-learn ignores it; fill missing values first with SimpleImputer).
    """

    _stats = ("center_", "scale_")
    _config = ("with_centering", "with_scaling", "quantile_range")

    def __init__(self, with_centering: bool = True, with_scaling: bool = True,
                 quantile_range=(25.0, 75.0)):
        super().__init__(axis=0)
        q_min, q_max = (float(q) for q in quantile_range)
        if not 0 <= q_min <= q_max <= 100:
            raise ValueError(f"RobustScaler: invalid quantile_range {tuple(quantile_range)}; "
                             f"expected 0 <= q_min <= q_max <= 100")
        self.with_centering = bool(with_centering)
        self.with_scaling = bool(with_scaling)
        self.quantile_range = (q_min, q_max)

    def fit(self, X, y=None) -> "RobustScaler":
        """Learn the median and interquartile range of ``X`` (training data)."""
        X, _ = self._prepare_fit(X)
        _check_finite(X, "RobustScaler.fit")
        xp = backend.array_module(X)
        q = xp.asarray([50.0, *self.quantile_range])
        median, lo, hi = xp.percentile(X.astype(np.float64), q, axis=0)
        scale = hi - lo
        scale = xp.where(scale == 0, 1.0, scale)
        self.center_ = backend.to_device(median.reshape(self.shape_), "cpu")
        self.scale_ = backend.to_device(scale.reshape(self.shape_), "cpu")
        return self

    def transform(self, X):
        """``(X - center) / scale`` with the fitted statistics."""
        x = self._prepare_transform(X)
        if self.with_centering:
            x = x - _on_device_of(self.center_, x, x.dtype)
        if self.with_scaling:
            x = x / _on_device_of(self.scale_, x, x.dtype)
        return like(x, X)

    def inverse_transform(self, Z):
        """``Z * scale + center``: back to the original units."""
        z = self._prepare_transform(Z, "inverse_transform")
        if self.with_scaling:
            z = z * _on_device_of(self.scale_, z, z.dtype)
        if self.with_centering:
            z = z + _on_device_of(self.center_, z, z.dtype)
        return like(z, Z)

    def __repr__(self) -> str:
        return (f"RobustScaler(with_centering={self.with_centering}, with_scaling="
                f"{self.with_scaling}, quantile_range={self.quantile_range}"
                f"{', fitted' if self.fitted else ''})")
