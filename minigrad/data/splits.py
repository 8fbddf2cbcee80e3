"""Stratified k-fold splits and the train/validation/test split, next to ``KFold``.

Labels are host-side metadata (class ids per sample), so they are handled with NumPy on the
host; a CuPy label array is brought over once with ``backend.to_device(y, 'cpu')``.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._common import make_rng
from .dataset import KFold

__all__ = ["StratifiedKFold", "train_val_test_split"]


def _host_labels(owner: str, y) -> np.ndarray:
    y = y.data if isinstance(y, Tensor) else y
    y = np.asarray(y) if isinstance(y, (list, tuple, np.ndarray)) else backend.to_device(
        y, backend.device("cpu"))
    if y.ndim != 1:
        raise ValueError(f"{owner}: labels must be 1-d (one class per sample), got shape "
                         f"{y.shape}")
    return y


def _class_order(y: np.ndarray, shuffle: bool, seed) -> np.ndarray:
    """The sample indices grouped by class (classes in sorted order), shuffled within each
    class when asked: dealing this order round-robin spreads every class evenly."""
    rng = make_rng(seed) if shuffle else None
    groups = []
    for c in np.unique(y):
        members = np.flatnonzero(y == c)
        groups.append(rng.permutation(members) if shuffle else members)
    return np.concatenate(groups)


class StratifiedKFold(KFold):
    """K-fold splits that keep each class's share in every fold (scikit-learn's
    ``StratifiedKFold`` contract; its exact assignment may differ).

    The samples are grouped by class (shuffled within each class with ``seed`` when
    ``shuffle=True``) and dealt round-robin: the j-th of that order goes to fold j mod k. Each
    fold then holds ⌊n_c / k⌋ or ⌈n_c / k⌉ samples of a class with n_c samples, and fold sizes
    differ by at most one. A class with fewer than k samples is missing from some folds.
    ``split(y)`` takes the labels; indices come back sorted.
    """

    def split(self, labels):
        y = _host_labels("StratifiedKFold", labels)
        n = len(y)
        if n < self.n_splits:
            raise ValueError(f"StratifiedKFold: cannot make {self.n_splits} folds of {n} "
                             f"samples")
        order = _class_order(y, self.shuffle, self.seed)
        fold = np.empty(n, dtype=np.int64)
        fold[order] = np.arange(n) % self.n_splits
        for k in range(self.n_splits):
            yield np.flatnonzero(fold != k), np.flatnonzero(fold == k)

    def __repr__(self) -> str:
        return (f"StratifiedKFold(n_splits={self.n_splits}, shuffle={self.shuffle}, "
                f"seed={self.seed})")


def train_val_test_split(n, val_fraction: float = 0.1, test_fraction: float = 0.2, seed=None,
                         stratify=None) -> tuple:
    """Three disjoint index arrays (train, val, test) covering ``range(n)`` (``n`` a count or
    a sized dataset/array), each sorted.

    Sizes: n_test = round(n · test_fraction), n_val = round(n · val_fraction), the rest train.
    Without ``stratify`` the samples are permuted with ``seed`` and cut in that order (test,
    then validation). With ``stratify`` (labels), each class is split the same way on its own
    (round(n_c · fraction) samples of class c), so the three parts keep the class shares.
    """
    n = int(n) if isinstance(n, (int, np.integer)) else len(n)
    for name, f in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= f < 1.0:
            raise ValueError(f"train_val_test_split: {name} must lie in [0, 1), got {f!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"train_val_test_split: val_fraction + test_fraction must be < 1, got "
                         f"{val_fraction} + {test_fraction}")
    rng = make_rng(seed)
    if stratify is None:
        groups = [rng.permutation(n)]
    else:
        y = _host_labels("train_val_test_split", stratify)
        if len(y) != n:
            raise ValueError(f"train_val_test_split: {len(y)} labels for {n} samples")
        groups = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    parts = ([], [], [])
    for members in groups:
        m = len(members)
        n_test, n_val = round(m * test_fraction), round(m * val_fraction)
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test:n_test + n_val])
        parts[0].append(members[n_test + n_val:])
    train, val, test = (np.sort(np.concatenate(p)).astype(np.int64) for p in parts)
    if len(train) == 0:
        raise ValueError(f"train_val_test_split: no training samples left of {n} "
                         f"(val_fraction {val_fraction}, test_fraction {test_fraction})")
    return train, val, test
