"""Feature selection (scikit-learn's ``sklearn.feature_selection`` names): by variance,
univariate scores, recursive elimination and a model's weights.

Every selector learns a boolean ``support_`` over the input features on the training data;
``transform(X)`` keeps those columns (on ``X``'s device), ``get_support(indices=False)`` returns
the mask or the kept indices, ``inverse_transform(Z)`` puts zeros back in the removed columns.
Scores are computed in float64 and kept as NumPy arrays.
"""

from __future__ import annotations

import copy
import numbers

import numpy as np

from .. import backend
from ._common import like, make_rng
from ._estimator import Estimator, feature_matrix, labels
from ._special import digamma_int, f_sf
from .encoding import _column, _lookup, _unique

__all__ = ["VarianceThreshold", "SelectKBest", "RFE", "SelectFromModel", "f_classif",
           "f_regression", "mutual_info_classif"]


def _cpu(a):
    return np.asarray(backend.to_device(a, "cpu"))


def _class_codes(y, n, owner):
    col = _column(labels(y, n, owner), owner, "y")
    classes = _unique(col)
    codes, _ = _lookup(classes, col, owner, "y")
    return _cpu(codes), len(classes)


# --- univariate scores -------------------------------------------------------------------------

def f_classif(X, y):
    """ANOVA F-statistic of each feature against class labels, and its p-value::

        F = [sum_k n_k (mean_k - mean)^2 / (K - 1)] / [sum_k sum_{i in k} (x_i - mean_k)^2 / (n - K)]
        p = P(F(K - 1, n - K) > F)

    Returns ``(F, pvalues)``, one per feature (NumPy float64 arrays).
    """
    x = feature_matrix(X, "f_classif").astype(np.float64)
    n = x.shape[0]
    codes, K = _class_codes(y, n, "f_classif")
    onehot = backend.to_device((codes[:, None] == np.arange(K)[None, :]).astype(np.float64),
                               backend.device_of(x))
    counts = onehot.sum(axis=0)
    means = (onehot.T @ x) / counts[:, None]
    grand = x.mean(axis=0)
    between = (counts[:, None] * (means - grand) ** 2).sum(axis=0)
    within = ((x - onehot @ means) ** 2).sum(axis=0)
    df_between, df_within = K - 1, n - K
    with np.errstate(divide="ignore", invalid="ignore"):
        F = _cpu((between / df_between) / (within / df_within))
    return F, f_sf(F, df_between, df_within)


def f_regression(X, y, center: bool = True):
    """Univariate linear-regression F-statistic of each feature against a real target::

        r = corr(x, y),   F = r^2 / (1 - r^2) * (n - 2),   p = P(F(1, n - 2) > F)

    (without centring, ``r`` uses raw second moments and the degrees of freedom are
    ``n - 1``). Returns ``(F, pvalues)``.
    """
    x = feature_matrix(X, "f_regression").astype(np.float64)
    xp = backend.array_module(x)
    target = labels(y, x.shape[0], "f_regression").astype(np.float64)
    target = target if xp is np else backend.to_device(target, backend.device_of(x))
    if center:
        x, target = x - x.mean(axis=0), target - target.mean()
    r = (target @ x) / (xp.sqrt((x ** 2).sum(axis=0)) * xp.sqrt((target ** 2).sum()))
    dof = x.shape[0] - (2 if center else 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        F = _cpu(r ** 2 / (1 - r ** 2) * dof)
    return F, f_sf(F, 1, dof)


def _kth_neighbour_distance_1d(values, k: int):
    """For sorted 1-D ``values``: each point's distance to its k-th nearest other point. The
    k nearest neighbours on a line are a run of k points around it: ``j`` to the right and
    ``k - j`` to the left for some ``j``, so the distance is the smallest over ``j`` of the
    larger of the two reaches."""
    n = values.size
    padded = np.concatenate([np.full(k, -np.inf), values, np.full(k, np.inf)])
    i = np.arange(n) + k
    best = np.full(n, np.inf)
    for j in range(k + 1):
        reach = np.maximum(padded[i + j] - values, values - padded[i - (k - j)])
        best = np.minimum(best, reach)
    return best


def _mi_continuous(feature, codes, n_neighbors):
    """Kraskov-style estimate of I(feature; class) for a continuous feature (Ross, 2014)::

        I = psi(n) + <psi(k)> - <psi(n_class)> - <psi(m)>

    with, per sample, ``k = min(n_neighbors, n_class - 1)``, ``d`` the distance to its k-th
    nearest neighbour of the same class and ``m`` the number of samples of any class within
    ``d`` (itself included). Samples alone in their class are left out.
    """
    counts = np.bincount(codes)
    keep = counts[codes] > 1
    feature, codes = feature[keep], codes[keep]
    radius = np.empty(feature.size)
    k_all = np.empty(feature.size, dtype=np.int64)
    for c in np.unique(codes):
        rows = np.flatnonzero(codes == c)
        k = min(n_neighbors, rows.size - 1)
        order = np.argsort(feature[rows], kind="stable")
        dist = _kth_neighbour_distance_1d(feature[rows][order], k)
        radius[rows[order]] = np.nextafter(dist, 0)        # strictly inside the k-th neighbour
        k_all[rows] = k
    ordered = np.concatenate([[-np.inf], np.sort(feature), [np.inf]])
    hi = np.searchsorted(ordered, feature + radius, side="right") - 1   # last with v <= x + r
    lo = np.searchsorted(ordered, feature - radius, side="left")        # first with v >= x - r
    # x + r is rounded: keep the test |v - x| <= r on the differences themselves at both ends
    for _ in range(2):
        hi -= ordered[hi] - feature > radius
        lo += feature - ordered[lo] > radius
    m = hi - lo + 1
    n = feature.size
    mi = digamma_int(n) + digamma_int(k_all).mean() - digamma_int(np.bincount(codes)[codes]) \
        .mean() - digamma_int(m).mean()
    return max(0.0, float(mi))


def _mi_discrete(feature, codes):
    """``I = sum_{a,c} p(a, c) log(p(a, c) / (p(a) p(c)))`` from the contingency counts."""
    values = np.unique(feature, return_inverse=True)[1]
    joint = np.bincount(values * (codes.max() + 1) + codes,
                        minlength=(values.max() + 1) * (codes.max() + 1)).reshape(-1, codes.max()
                                                                                  + 1) / codes.size
    pa, pc = joint.sum(1, keepdims=True), joint.sum(0, keepdims=True)
    nz = joint > 0
    return max(0.0, float((joint[nz] * np.log(joint[nz] / (pa @ pc)[nz])).sum()))


def mutual_info_classif(X, y, discrete_features="auto", n_neighbors: int = 3, seed=None):
    """Mutual information (nats) between each feature and class labels: the nearest-neighbour
    estimate for continuous features, the contingency-table value for discrete ones
    (``discrete_features``: 'auto' = none for dense data, a bool, or a mask/indices).

    As scikit-learn, continuous features are first divided by their std and given a 1e-10
    relative jitter (from ``seed``) so repeated values do not tie. Host computation.
    """
    x = _cpu(feature_matrix(X, "mutual_info_classif")).astype(np.float64)
    n, f = x.shape
    codes, _ = _class_codes(y, n, "mutual_info_classif")
    discrete = np.zeros(f, dtype=bool)
    if isinstance(discrete_features, (bool, np.bool_)):
        discrete[:] = bool(discrete_features)
    elif not isinstance(discrete_features, str):
        mask = np.asarray(discrete_features)
        discrete[mask] = True
    continuous = ~discrete
    if continuous.any():
        std = x[:, continuous].std(axis=0)
        xc = x[:, continuous] / np.where(std == 0, 1.0, std)
        jitter = 1e-10 * np.maximum(1.0, np.abs(xc).mean(axis=0))
        x[:, continuous] = xc + jitter * make_rng(seed).standard_normal(xc.shape)
    return np.array([_mi_discrete(x[:, j], codes) if discrete[j] else
                     _mi_continuous(x[:, j], codes, n_neighbors) for j in range(f)])


# --- selectors ---------------------------------------------------------------------------------

class _Selector(Estimator):
    """Keeping the ``support_`` columns: transform, get_support, inverse_transform."""

    def get_support(self, indices: bool = False):
        """The boolean mask of kept features, or their indices."""
        self._check_fitted("get_support")
        return np.flatnonzero(self.support_) if indices else self.support_.copy()

    def _columns(self, X, method):
        self._check_fitted(method)
        x = feature_matrix(X, f"{type(self).__name__}.{method}", allow_nan=True)
        return x

    def transform(self, X):
        """``X[:, support_]``: the kept features."""
        x = self._columns(X, "transform")
        if x.shape[1] != self.support_.size:
            raise ValueError(f"{type(self).__name__}.transform: X has {x.shape[1]} features "
                             f"(shape {tuple(x.shape)}), fitted on {self.support_.size}")
        keep = np.flatnonzero(self.support_)
        keep = keep if type(x) is np.ndarray else backend.to_device(keep, backend.device_of(x))
        return like(x[:, keep], X)

    def inverse_transform(self, Z):
        """The kept columns back in their places, zeros in the removed ones."""
        z = self._columns(Z, "inverse_transform")
        kept = int(self.support_.sum())
        if z.shape[1] != kept:
            raise ValueError(f"{type(self).__name__}.inverse_transform: Z has {z.shape[1]} "
                             f"columns, expected {kept}")
        xp = backend.array_module(z)
        out = xp.zeros((z.shape[0], self.support_.size), dtype=z.dtype)
        keep = np.flatnonzero(self.support_)
        out[:, keep if xp is np else backend.to_device(keep, backend.device_of(z))] = z
        return like(out, Z)


class VarianceThreshold(_Selector):
    """Drop features whose training variance is at most ``threshold``:
    ``variances_ = (1/n) sum_i (x_i - mean)^2`` per feature, kept where ``> threshold``.
    With ``threshold=0`` the variance is taken as ``min(variance, max - min)``, as scikit-learn,
    so a constant feature is dropped despite round-off in its variance."""

    _config = ("threshold",)
    _fitted = ("support_", "variances_")

    def __init__(self, threshold: float = 0.0):
        if not threshold >= 0:
            raise ValueError(f"VarianceThreshold: threshold must be >= 0, got {threshold}")
        self.threshold = float(threshold)

    def fit(self, X, y=None) -> "VarianceThreshold":
        x = feature_matrix(X, "VarianceThreshold.fit").astype(np.float64)
        variances = _cpu(x.var(axis=0))
        if self.threshold == 0:
            variances = np.minimum(variances, _cpu(x.max(axis=0) - x.min(axis=0)))
        support = variances > self.threshold
        if not support.any():
            raise ValueError(f"VarianceThreshold.fit: no feature of X (shape {tuple(x.shape)}) "
                             f"has variance above {self.threshold}")
        self.variances_, self.support_ = variances, support
        return self


_SCORES = {"f_classif": f_classif, "f_regression": f_regression,
           "mutual_info_classif": mutual_info_classif}


class SelectKBest(_Selector):
    """Keep the ``k`` features with the highest univariate scores on the training data
    (``score_func(X, y)`` returning scores, or ``(scores, pvalues)``; ``k='all'`` keeps every
    one). Ties and NaN scores: NaN counts as the lowest; among equal scores the later feature
    wins, as scikit-learn's stable argsort."""

    _config = ("k",)
    _fitted = ("support_", "scores_", "pvalues_")

    def __init__(self, score_func=f_classif, k=10):
        if not (k == "all" or isinstance(k, numbers.Integral) and not isinstance(k, bool)
                and k >= 0):
            raise ValueError(f"SelectKBest: k must be a non-negative int or 'all', got {k!r}")
        self.score_func = score_func
        self.k = k

    def fit(self, X, y) -> "SelectKBest":
        x = feature_matrix(X, "SelectKBest.fit")
        f = x.shape[1]
        if self.k != "all" and self.k > f:
            raise ValueError(f"SelectKBest.fit: k={self.k} is larger than the number of "
                             f"features {f} (X of shape {tuple(x.shape)}); use k='all'")
        result = self.score_func(x, y)
        scores, pvalues = result if isinstance(result, tuple) else (result, None)
        scores = _cpu(scores).astype(np.float64)
        support = np.zeros(f, dtype=bool)
        k = f if self.k == "all" else self.k
        if k:
            ranked = np.argsort(np.where(np.isnan(scores), -np.inf, scores), kind="stable")
            support[ranked[-k:]] = True
        self.scores_, self.support_ = scores, support
        self.pvalues_ = None if pvalues is None else _cpu(pvalues)
        return self

    def state_dict(self) -> dict:
        state = super().state_dict()
        state["score_func"] = getattr(self.score_func, "__name__", "custom")
        return state


def _importances(estimator, getter, owner: str) -> np.ndarray:
    """Per-feature importance of a fitted model: ``getter(estimator)`` if callable, else
    ``|coef_|`` summed over outputs (the L1 norm per feature), else
    ``feature_importances_``."""
    if callable(getter):
        values = getter(estimator)
    elif hasattr(estimator, "coef_"):
        coef = _cpu(estimator.coef_).astype(np.float64)
        values = np.abs(coef) if coef.ndim == 1 else np.abs(coef).sum(axis=0)
    elif hasattr(estimator, "feature_importances_"):
        values = estimator.feature_importances_
    else:
        raise TypeError(f"{owner}: the estimator {type(estimator).__name__} has neither coef_ "
                        f"nor feature_importances_; pass importance_getter")
    return _cpu(values).astype(np.float64).ravel()


def _count(value, f: int, name: str, owner: str, default: int) -> int:
    if value is None:
        return default
    if isinstance(value, numbers.Integral) and not isinstance(value, bool) and 1 <= value <= f:
        return int(value)
    if isinstance(value, float) and 0 < value < 1:
        return max(1, int(value * f))
    raise ValueError(f"{owner}: {name}={value!r} must be an int in 1..{f} (the feature count) "
                     f"or a fraction in (0, 1)")


class RFE(_Selector):
    """Recursive feature elimination: fit the model on the remaining features, drop the
    ``step`` least important (smallest ``|weight|``), repeat until ``n_features_to_select``
    remain (default: half). ``ranking_[j]`` is 1 for kept features and grows with how early a
    feature was dropped; ``estimator_`` is the model refitted on the kept features.

    ``estimator``: anything with ``fit(X, y)`` and ``coef_`` (e.g.
    :class:`~minigrad.data.LinearModel`, trained by minigrad) or ``feature_importances_``;
    it is copied for each fit.
    """

    _config = ("n_features_to_select", "step")
    _fitted = ("support_", "ranking_", "n_features_")

    def __init__(self, estimator, n_features_to_select=None, step=1,
                 importance_getter="auto"):
        self.estimator = estimator
        self.n_features_to_select = n_features_to_select
        self.step = step
        self.importance_getter = importance_getter

    def fit(self, X, y) -> "RFE":
        owner = "RFE.fit"
        x = feature_matrix(X, owner)
        f = x.shape[1]
        target = _count(self.n_features_to_select, f, "n_features_to_select", owner, f // 2 or 1)
        step = _count(self.step, f, "step", owner, 1)
        support = np.ones(f, dtype=bool)
        ranking = np.ones(f, dtype=np.int64)
        while support.sum() > target:
            features = np.flatnonzero(support)
            model = copy.deepcopy(self.estimator).fit(self._take(x, features), y)
            order = np.argsort(_importances(model, self.importance_getter, owner), kind="stable")
            drop = min(step, int(support.sum()) - target)
            support[features[order[:drop]]] = False
            ranking[~support] += 1
        self.estimator_ = copy.deepcopy(self.estimator).fit(
            self._take(x, np.flatnonzero(support)), y)
        self.support_, self.ranking_, self.n_features_ = support, ranking, int(support.sum())
        return self

    @staticmethod
    def _take(x, columns):
        return x[:, columns if type(x) is np.ndarray else
                 backend.to_device(columns, backend.device_of(x))]


class SelectFromModel(_Selector):
    """Keep the features whose importance in a fitted model is at least ``threshold``.

    ``threshold``: a number, ``'mean'``, ``'median'`` or ``'<factor>*mean'``/``'...*median'``;
    None means 1e-5 for a model with an L1 penalty (``alpha > 0`` on a
    :class:`~minigrad.data.LinearModel`: the features with non-zero weights) and ``'mean'``
    otherwise, as scikit-learn. ``max_features`` caps how many are kept (the most important).
    ``prefit=True`` uses ``estimator`` as already fitted.
    """

    _config = ("threshold", "max_features")
    _fitted = ("support_", "threshold_", "importances_")

    def __init__(self, estimator, threshold=None, prefit: bool = False, max_features=None,
                 importance_getter="auto"):
        self.estimator = estimator
        self.threshold = threshold
        self.prefit = bool(prefit)
        self.max_features = max_features
        self.importance_getter = importance_getter

    def _threshold(self, importances) -> float:
        rule = self.threshold
        if rule is None:
            l1 = getattr(self.estimator, "alpha", 0) and \
                getattr(self.estimator, "penalty", "l1") == "l1"
            rule = 1e-5 if l1 else "mean"
        if isinstance(rule, str):
            factor, _, base = rule.rpartition("*")
            stats = {"mean": np.mean, "median": np.median}
            if base.strip() not in stats:
                raise ValueError(f"SelectFromModel: unknown threshold {self.threshold!r}; "
                                 f"expected a number, 'mean', 'median' or 'k*mean'")
            return float(factor or 1.0) * float(stats[base.strip()](importances))
        return float(rule)

    def fit(self, X, y=None) -> "SelectFromModel":
        owner = "SelectFromModel.fit"
        x = feature_matrix(X, owner)
        model = self.estimator if self.prefit else copy.deepcopy(self.estimator).fit(X, y)
        importances = _importances(model, self.importance_getter, owner)
        if importances.size != x.shape[1]:
            raise ValueError(f"{owner}: the model gives {importances.size} importances for X "
                             f"of shape {tuple(x.shape)}")
        self.threshold_ = self._threshold(importances)
        support = importances >= self.threshold_
        if self.max_features is not None:
            cap = _count(self.max_features, x.shape[1], "max_features", owner, x.shape[1])
            top = np.argsort(-importances, kind="stable")[:cap]
            capped = np.zeros_like(support)
            capped[top] = True
            support &= capped
        self.estimator_, self.importances_, self.support_ = model, importances, support
        return self
