"""Encoding categories as numbers: one-hot, ordinal codes and label codes (scikit-learn's).

Categories are learned on the training data, one sorted list per column (``numpy.unique``'s
order, as scikit-learn: numbers ascending with NaN last, strings lexicographically), unless
given explicitly with ``categories=[[...], ...]`` (then their order is kept: that is how an
ordinal order such as ``['low', 'mid', 'high']`` is stated).

Columns may hold strings or numbers, never both. String categories live on the host by nature
(NumPy ``str`` or ``object`` arrays: there are no string arrays on a GPU), so string columns are
encoded on the cpu; numeric columns, including CuPy arrays, are encoded on their own device.
A value not seen in ``fit`` is an error unless ``handle_unknown`` says otherwise.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ._common import like, raw
from ._estimator import Estimator

__all__ = ["OneHotEncoder", "OrdinalEncoder", "LabelEncoder"]


def _as_2d(X, owner: str):
    x = raw(X)
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"{owner}: expected a 2-D array (n_samples, n_features) with samples, "
                         f"got shape {tuple(x.shape)}")
    return x


def _column(values, owner: str, where: str):
    """One column as a host object array of ``str`` or as a numeric array (any device)."""
    kind = values.dtype.kind
    if kind in "biuf":
        return values
    if kind in "US":
        return values.astype(object)
    if kind == "O":
        items = values.tolist()
        if all(isinstance(v, str) for v in items):
            return values
        if all(isinstance(v, numbers.Number) and not isinstance(v, bool) for v in items):
            return np.asarray(items)
        found = sorted({type(v).__name__ for v in items})
        raise TypeError(f"{owner}: {where} holds {', '.join(found)}; a column must hold only "
                        f"strings or only numbers (fill missing values first)")
    raise TypeError(f"{owner}: {where} has dtype {values.dtype}; expected strings or numbers")


def _is_strings(array) -> bool:
    return array.dtype == object


def _unique(column):
    """Sorted distinct values (NaN last, once), as a host array."""
    xp = backend.array_module(column)
    return backend.to_device(xp.unique(column), "cpu")


def _lookup(categories, column, owner: str, where: str):
    """``(codes, known)``: each value's position in ``categories`` (0 where unknown) and a mask
    of the values found. Works for unsorted categories: search the sorted copy, map back."""
    if _is_strings(categories) != _is_strings(column):
        kinds = ("strings", "numbers")
        raise TypeError(f"{owner}: {where} holds {kinds[not _is_strings(column)]} but was "
                        f"fitted on {kinds[not _is_strings(categories)]}")
    xp = backend.array_module(column)
    cats = categories if xp is np else backend.to_device(categories, backend.device_of(column))
    if cats.shape[0] == 0:
        return xp.zeros(column.shape[0], dtype=np.int64), xp.zeros(column.shape[0], dtype=bool)
    order = xp.argsort(cats, kind="stable")
    ordered = cats[order]
    pos = xp.minimum(xp.searchsorted(ordered, column), cats.shape[0] - 1)
    found = ordered[pos] == column
    if column.dtype.kind == "f":
        found |= xp.isnan(ordered[pos]) & xp.isnan(column)   # NaN is a category too
    return order[pos].astype(np.int64), xp.asarray(found, dtype=bool)


def _unseen(column, known, limit=10) -> list:
    values = backend.to_device(column[~known], "cpu")
    return list(dict.fromkeys(values.tolist()))[:limit]


def _categories_setting(categories, owner: str):
    if isinstance(categories, str):
        if categories != "auto":
            raise ValueError(f"{owner}: categories must be 'auto' or a list of lists, got "
                             f"{categories!r}")
        return "auto"
    return tuple(list(np.asarray(c).tolist()) for c in categories)


def _combine_columns(columns, n_samples: int):
    """Decoded columns side by side: a numeric array when every column is numeric and on one
    device, else a host object array (as scikit-learn, for mixed kinds)."""
    if all(not _is_strings(c) and c.dtype != object for c in columns):
        xp = backend.array_module(columns[0])
        return xp.stack(columns, axis=1)
    out = np.empty((n_samples, len(columns)), dtype=object)
    for j, c in enumerate(columns):
        out[:, j] = backend.to_device(c, "cpu")
    return out


def _decoded(columns, none_rows, original):
    """Decoded columns as one array; where ``none_rows[j]`` (a host mask) is set, feature j
    holds None (an unknown value), which makes the result a host object array."""
    n = columns[0].shape[0]
    if not any(rows.any() for rows in none_rows):
        return like(_combine_columns(columns, n), original)
    out = _combine_columns([backend.to_device(c, "cpu").astype(object) for c in columns], n)
    for j, rows in enumerate(none_rows):
        out[rows, j] = None
    return out


class _CategoricalEncoder(Estimator):
    """Learning and looking up per-column categories (shared by the two feature encoders)."""

    _fitted = ("categories_", "n_features_in_")

    def _fit_categories(self, X):
        owner = f"{type(self).__name__}.fit"
        x = _as_2d(X, owner)
        given = self.categories
        if given != "auto" and len(given) != x.shape[1]:
            raise ValueError(f"{owner}: categories has {len(given)} lists for {x.shape[1]} "
                             f"features")
        cats = []
        for j in range(x.shape[1]):
            col = _column(x[:, j], owner, f"feature {j}")
            if given == "auto":
                cats.append(_unique(col))
                continue
            chosen = _column(np.asarray(list(given[j]), dtype=object), owner,
                             f"categories[{j}]")
            _, known = _lookup(chosen, col, owner, f"feature {j}")
            if self.handle_unknown == "error" and not bool(known.all()):
                raise ValueError(f"{owner}: feature {j} holds {_unseen(col, known)}, which are "
                                 f"not in the given categories {list(given[j])[:10]}")
            cats.append(chosen)
        self.categories_ = cats
        self.n_features_in_ = int(x.shape[1])
        return x

    def _codes(self, X, method: str):
        """Per column: the category codes and the mask of known values."""
        owner = f"{type(self).__name__}.{method}"
        self._check_fitted(method)
        x = _as_2d(X, owner)
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"{owner}: X has {x.shape[1]} features (shape {tuple(x.shape)}), "
                             f"but the encoder was fitted on {self.n_features_in_}")
        out = []
        for j, cats in enumerate(self.categories_):
            col = _column(x[:, j], owner, f"feature {j}")
            codes, known = _lookup(cats, col, owner, f"feature {j}")
            if self.handle_unknown == "error" and not bool(known.all()):
                raise ValueError(f"{owner}: found unknown categories {_unseen(col, known)} in "
                                 f"feature {j} during transform (known: "
                                 f"{cats.tolist()[:10]}); pass handle_unknown to accept them")
            out.append((codes, known))
        return x, out

    def _decode(self, j: int, codes, xp):
        """Category values of feature ``j`` at ``codes`` (an int array on ``xp``'s device)."""
        cats = self.categories_[j]
        if _is_strings(cats):
            return cats[backend.to_device(codes, "cpu")]
        cats = cats if xp is np else backend.to_device(cats, backend.device_of(codes))
        return cats[codes]


class OrdinalEncoder(_CategoricalEncoder):
    """Each category becomes its position in the feature's category list: ``x -> k`` where
    ``categories_[j][k] == x``, as floats (``dtype``, float64 by default).

    ``handle_unknown='use_encoded_value'`` maps unseen values to ``unknown_value`` (an int
    outside ``0..n_categories-1``, or NaN); inverse_transform gives None for it.
    """

    _config = ("categories", "dtype", "handle_unknown", "unknown_value")

    def __init__(self, categories="auto", dtype=np.float64, handle_unknown: str = "error",
                 unknown_value=None):
        if handle_unknown not in ("error", "use_encoded_value"):
            raise ValueError(f"OrdinalEncoder: handle_unknown must be 'error' or "
                             f"'use_encoded_value', got {handle_unknown!r}")
        if handle_unknown == "use_encoded_value" and not isinstance(unknown_value, numbers.Real):
            raise TypeError(f"OrdinalEncoder: handle_unknown='use_encoded_value' needs a number "
                            f"(an int or NaN) as unknown_value, got {unknown_value!r}")
        self.categories = _categories_setting(categories, "OrdinalEncoder")
        self.dtype = np.dtype(dtype).name
        self.handle_unknown = handle_unknown
        self.unknown_value = None if unknown_value is None else float(unknown_value)

    def fit(self, X, y=None) -> "OrdinalEncoder":
        """Learn each feature's categories from ``X`` (training data)."""
        self._fit_categories(X)
        if self.unknown_value is not None and not np.isnan(self.unknown_value):
            used = [k for k, c in enumerate(self.categories_)
                    if 0 <= self.unknown_value < len(c)]
            if used:
                raise ValueError(f"OrdinalEncoder.fit: unknown_value {self.unknown_value:g} is "
                                 f"a code already used by feature(s) {used}")
        return self

    def transform(self, X):
        """The ``(n_samples, n_features)`` array of codes."""
        _, coded = self._codes(X, "transform")
        xp = backend.array_module(coded[0][0])
        unknown = np.nan if self.unknown_value is None else self.unknown_value
        cols = [xp.where(known, codes.astype(self.dtype), unknown).astype(self.dtype)
                for codes, known in coded]
        return like(xp.stack(cols, axis=1), X)

    def inverse_transform(self, Z):
        """Codes back to categories (None where the code is ``unknown_value``)."""
        self._check_fitted("inverse_transform")
        z = _as_2d(Z, "OrdinalEncoder.inverse_transform")
        if z.shape[1] != self.n_features_in_:
            raise ValueError(f"OrdinalEncoder.inverse_transform: got {z.shape[1]} columns, "
                             f"expected {self.n_features_in_}")
        xp = backend.array_module(z)
        cols, unknown_rows = [], []
        for j, cats in enumerate(self.categories_):
            codes = z[:, j]
            valid = (codes >= 0) & (codes < len(cats)) & (codes == xp.floor(codes))
            is_unknown = xp.zeros(codes.shape, dtype=bool)
            if self.unknown_value is not None:
                is_unknown = xp.isnan(codes) if np.isnan(self.unknown_value) else \
                    codes == self.unknown_value
            if not bool((valid | is_unknown).all()):
                bad = backend.to_device(codes[~(valid | is_unknown)], "cpu").tolist()[:10]
                raise ValueError(f"OrdinalEncoder.inverse_transform: codes {bad} of feature "
                                 f"{j} are not in 0..{len(cats) - 1}")
            safe = xp.where(valid, codes, 0).astype(np.int64)
            cols.append(self._decode(j, safe, xp))
            unknown_rows.append(backend.to_device(is_unknown, "cpu"))
        return _decoded(cols, unknown_rows, Z)


class OneHotEncoder(_CategoricalEncoder):
    """Each feature with ``K`` categories becomes ``K`` indicator columns (dense output):
    ``onehot[i, offset_j + k] = 1`` where ``x[i, j] == categories_[j][k]``, else 0.

    ``drop``: None (keep every column), ``'first'`` (drop each feature's first category, so
    the columns are not collinear) or ``'if_binary'`` (only for two-category features).
    ``handle_unknown='ignore'`` gives an unseen value all zeros in its feature's block (and
    None back from inverse_transform). The output is dense (scikit-learn's
    ``sparse_output=False``), of ``dtype`` (float64 by default).
    """

    _config = ("categories", "drop", "dtype", "handle_unknown")
    _fitted = ("categories_", "n_features_in_", "drop_idx_")

    def __init__(self, categories="auto", drop=None, dtype=np.float64,
                 handle_unknown: str = "error"):
        if handle_unknown not in ("error", "ignore"):
            raise ValueError(f"OneHotEncoder: handle_unknown must be 'error' or 'ignore', got "
                             f"{handle_unknown!r}")
        if drop not in (None, "first", "if_binary"):
            raise ValueError(f"OneHotEncoder: drop must be None, 'first' or 'if_binary', got "
                             f"{drop!r}")
        self.categories = _categories_setting(categories, "OneHotEncoder")
        self.drop = drop
        self.dtype = np.dtype(dtype).name
        self.handle_unknown = handle_unknown

    def fit(self, X, y=None) -> "OneHotEncoder":
        """Learn each feature's categories from ``X`` (training data)."""
        self._fit_categories(X)
        # drop_idx_[j]: the category dropped from feature j, -1 for none (scikit-learn: None)
        self.drop_idx_ = np.array(
            [0 if self.drop == "first" or (self.drop == "if_binary" and len(c) == 2) else -1
             for c in self.categories_], dtype=np.int64)
        return self

    def _blocks(self):
        """Per feature: (offset of its first output column, kept categories' count)."""
        sizes = [len(c) - (d >= 0) for c, d in zip(self.categories_, self.drop_idx_.tolist())]
        offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int).tolist()
        return offsets, sizes

    def transform(self, X):
        """The ``(n_samples, total categories kept)`` indicator matrix."""
        x, coded = self._codes(X, "transform")
        xp = backend.array_module(coded[0][0])
        offsets, _ = self._blocks()
        n = x.shape[0]
        out = xp.zeros((n, offsets[-1]), dtype=self.dtype)
        rows = xp.arange(n)
        for j, (codes, known) in enumerate(coded):
            drop = int(self.drop_idx_[j])
            if drop >= 0:                 # the dropped category gets all zeros
                known = known & (codes != drop)
                codes = codes - (codes > drop)
            out[rows[known], offsets[j] + codes[known]] = 1
        return like(out, X)

    def inverse_transform(self, Z):
        """Indicator blocks back to categories: each block's column of 1 (an all-zero block is
        the dropped category, or None for an unknown value)."""
        self._check_fitted("inverse_transform")
        z = _as_2d(Z, "OneHotEncoder.inverse_transform")
        offsets, sizes = self._blocks()
        if z.shape[1] != offsets[-1]:
            raise ValueError(f"OneHotEncoder.inverse_transform: got {z.shape[1]} columns, "
                             f"expected {offsets[-1]} (one per kept category)")
        xp = backend.array_module(z)
        cols, empty_rows = [], []
        for j in range(self.n_features_in_):
            block = z[:, offsets[j]:offsets[j] + sizes[j]]
            drop = int(self.drop_idx_[j])
            empty = ~(block != 0).any(axis=1) if sizes[j] else xp.ones(z.shape[0], dtype=bool)
            codes = xp.argmax(block, axis=1) if sizes[j] else xp.zeros(z.shape[0], np.int64)
            if drop >= 0:
                codes = codes + (codes >= drop)
                codes = xp.where(empty, drop, codes)
                empty = xp.zeros(z.shape[0], dtype=bool)
            elif bool(empty.any()) and self.handle_unknown == "error":
                rows = backend.to_device(xp.nonzero(empty)[0], "cpu").tolist()[:10]
                raise ValueError(f"OneHotEncoder.inverse_transform: rows {rows} have an "
                                 f"all-zero block for feature {j}")
            cols.append(self._decode(j, codes.astype(np.int64), xp))
            empty_rows.append(backend.to_device(empty, "cpu"))
        return _decoded(cols, empty_rows, Z)

    def get_feature_names_out(self, input_features=None) -> list:
        """Output column names ``'<feature>_<category>'`` (features named ``x0, x1, ...``)."""
        self._check_fitted("get_feature_names_out")
        names = input_features or [f"x{j}" for j in range(self.n_features_in_)]
        out = []
        for j, cats in enumerate(self.categories_):
            drop = int(self.drop_idx_[j])
            out += [f"{names[j]}_{c}" for k, c in enumerate(cats.tolist()) if k != drop]
        return out


class LabelEncoder(Estimator):
    """Class labels to ``0..n_classes-1``: ``classes_`` is the sorted distinct labels and
    ``transform(y)[i] = k`` where ``classes_[k] == y[i]`` (int64). For targets, not features
    (one 1-D array)."""

    _fitted = ("classes_",)

    def _column(self, y, method):
        y = raw(y)
        if y.ndim != 1:
            raise ValueError(f"LabelEncoder.{method}: expected a 1-D array of labels, got "
                             f"shape {tuple(y.shape)}")
        return _column(y, f"LabelEncoder.{method}", "y")

    def fit(self, y) -> "LabelEncoder":
        """Learn the sorted distinct labels of ``y``."""
        self.classes_ = _unique(self._column(y, "fit"))
        return self

    def fit_transform(self, y):
        return self.fit(y).transform(y)

    def transform(self, y):
        """Labels to their class index."""
        self._check_fitted("transform")
        col = self._column(y, "transform")
        codes, known = _lookup(self.classes_, col, "LabelEncoder.transform", "y")
        if not bool(known.all()):
            raise ValueError(f"LabelEncoder.transform: y contains previously unseen labels: "
                             f"{_unseen(col, known)}")
        return like(codes, y)

    def inverse_transform(self, codes):
        """Class indices back to labels."""
        self._check_fitted("inverse_transform")
        c = raw(codes)
        xp = backend.array_module(c)
        n = len(self.classes_)
        if c.ndim != 1 or c.dtype.kind not in "iu":
            raise ValueError(f"LabelEncoder.inverse_transform: expected a 1-D int array, got "
                             f"shape {tuple(c.shape)} and dtype {c.dtype}")
        if c.size and (int(c.min()) < 0 or int(c.max()) >= n):
            raise ValueError(f"LabelEncoder.inverse_transform: codes must lie in 0..{n - 1}, "
                             f"got min {int(c.min())}, max {int(c.max())}")
        if _is_strings(self.classes_):
            return self.classes_[backend.to_device(c, "cpu")]
        classes = self.classes_ if xp is np else backend.to_device(self.classes_,
                                                                    backend.device_of(c))
        return like(classes[c], codes)
