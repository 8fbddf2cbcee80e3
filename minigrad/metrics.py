"""Evaluation metrics for classification and regression, as scikit-learn defines them.

Inputs are Tensors or arrays (NumPy or CuPy; they are read back to the cpu) and results are
Python floats (or a NumPy array for per-class values, ``average=None``). Computations run in
float64.

Classification counts, for a class ``k`` treated as "positive"::

    TP = #(y_true == k and y_pred == k)      FP = #(y_true != k and y_pred == k)
    FN = #(y_true == k and y_pred != k)

    precision = TP / (TP + FP)     recall = TP / (TP + FN)     F1 = 2 TP / (2 TP + FP + FN)

(``F1 = 2 TP / (2 TP + FP + FN)`` equals the harmonic mean ``2 P R / (P + R)`` whenever that
is defined.) A ratio whose denominator is 0 (no predicted positives for precision, no actual
positives for recall, neither for F1) is undefined; it is replaced by ``zero_division``: 0.0 by
default, 1.0, or ``nan`` (then averages skip it, and are ``nan`` if every class is undefined).

``average``:

- ``'binary'``: the scores of class ``pos_label`` only (the labels must take at most two
  values);
- ``'macro'``: the unweighted mean of the per-class scores;
- ``'micro'``: the score of the counts summed over classes (``sum TP / sum (TP + FP)``, ...),
  which equals the accuracy for single-label multi-class data;
- ``None``: the per-class scores as an array.

The classes are those appearing in ``y_true`` or ``y_pred`` (sorted), or ``0..num_classes-1``
when ``num_classes`` is given.
"""

from __future__ import annotations

import math

import numpy as np

from . import backend
from .tensor import Tensor

__all__ = ["accuracy", "confusion_matrix", "precision", "recall", "f1_score",
           "precision_recall_f1", "roc_auc_score", "mean_squared_error", "mean_absolute_error",
           "r2_score"]

_AVERAGES = ("binary", "macro", "micro", None)


def _numpy(x, name: str, owner: str) -> np.ndarray:
    """Tensor/array/list -> NumPy array on the cpu."""
    if isinstance(x, Tensor):
        x = x.data
    if backend.device_of(x).type != "cpu":
        x = backend.to_device(x, "cpu")
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"{owner}: {name} must be numeric, got dtype {x.dtype}")
    return x


def _labels(y, name: str, owner: str) -> np.ndarray:
    """A 1-D array of integer class labels (bools count as 0/1; integral floats are accepted)."""
    if y.ndim != 1:
        raise ValueError(f"{owner}: {name} must be 1-D class labels, got shape {y.shape}")
    if y.dtype.kind == "f":
        if not np.all(np.isfinite(y)) or np.any(y != np.round(y)):
            raise ValueError(f"{owner}: {name} holds non-integer values; expected class labels "
                             f"(for scores or probabilities, take argmax or threshold first)")
        return y.astype(np.int64)
    return y.astype(np.int64, copy=False)


def _label_pair(y_true, y_pred, owner: str, allow_scores: bool = False):
    """Validated 1-D integer ``(y_true, y_pred)`` of equal length. With ``allow_scores``,
    ``y_pred`` of shape (N, C) (logits or probabilities) is turned into labels by argmax."""
    t = _numpy(y_true, "y_true", owner)
    p = _numpy(y_pred, "y_pred", owner)
    if t.ndim == 2 and t.shape[1] == 1 or p.ndim == 2 and p.shape[1] == 1:
        raise ValueError(f"{owner}: arrays of shape (N, 1) are ambiguous (labels? one score "
                         f"column?); pass 1-D labels, or (N, C) class scores with C >= 2 "
                         f"(got y_true {t.shape}, y_pred {p.shape})")
    if allow_scores and p.ndim == t.ndim + 1:
        p = p.argmax(axis=-1)  # class scores (N, C) -> predicted labels (N,)
    t = _labels(t, "y_true", owner)
    p = _labels(p, "y_pred", owner)
    if t.shape != p.shape:
        raise ValueError(f"{owner}: y_true and y_pred must have the same length, got "
                         f"{t.shape} and {p.shape}")
    if t.size == 0:
        raise ValueError(f"{owner}: no samples")
    return t, p


def accuracy(y_true, y_pred) -> float:
    """The fraction of correct predictions: ``(1/N) sum_i [y_pred_i == y_true_i]``.

    ``y_pred`` is labels of shape (N,), or class scores (logits or probabilities) of shape
    (N, C), whose argmax over the last axis is the predicted label.
    """
    t, p = _label_pair(y_true, y_pred, "accuracy", allow_scores=True)
    return float(np.mean(t == p))


def confusion_matrix(y_true, y_pred, num_classes: int | None = None) -> np.ndarray:
    """``C[i, j]`` = the number of samples of true class ``i`` predicted as class ``j``.

    Counted in one ``bincount`` of the flat index ``i * K + j`` (K = ``num_classes``, default
    the largest label + 1). Labels must be integers in ``0..K-1``. Returns an int64 (K, K)
    array.
    """
    t, p = _label_pair(y_true, y_pred, "confusion_matrix")
    lowest = min(int(t.min()), int(p.min()))
    highest = max(int(t.max()), int(p.max()))
    if lowest < 0:
        raise ValueError(f"confusion_matrix: labels must be >= 0, found {lowest}")
    if num_classes is None:
        num_classes = highest + 1
    elif highest >= num_classes:
        raise ValueError(f"confusion_matrix: label {highest} is out of range for "
                         f"num_classes={num_classes}")
    k = int(num_classes)
    return np.bincount(t * k + p, minlength=k * k).reshape(k, k).astype(np.int64)


def _ratio(num: np.ndarray, den: np.ndarray, zero_division: float) -> np.ndarray:
    """``num / den`` elementwise, ``zero_division`` where ``den == 0``."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    safe = np.where(den == 0, 1.0, den)
    return np.where(den == 0, zero_division, num / safe)


def _mean(values: np.ndarray) -> float:
    """The mean of the defined (non-nan) values; nan if none is defined."""
    defined = values[~np.isnan(values)]
    return float(defined.mean()) if defined.size else math.nan


def _counts(y_true, y_pred, average, pos_label, num_classes, owner):
    """Per-class ``(TP, FP, FN)`` arrays for the classes ``average`` asks for."""
    if average not in _AVERAGES:
        raise ValueError(f"{owner}: unknown average {average!r}; expected 'binary', 'macro', "
                         f"'micro' or None")
    t, p = _label_pair(y_true, y_pred, owner)
    if average == "binary":
        present = np.union1d(t, p)
        if present.size > 2:
            raise ValueError(f"{owner}: average='binary' needs two classes, found "
                             f"{present.size} ({present[:10].tolist()}); use 'macro' or "
                             f"'micro'")
        if present.size == 2 and int(pos_label) not in present:
            raise ValueError(f"{owner}: pos_label={pos_label} is not one of the labels "
                             f"{present.tolist()}")
        if num_classes is not None and num_classes > 2:
            raise ValueError(f"{owner}: average='binary' with num_classes={num_classes}")
        pos = int(pos_label)
        tp = np.sum((t == pos) & (p == pos))
        fp = np.sum((t != pos) & (p == pos))
        fn = np.sum((t == pos) & (p != pos))
        return np.array([tp]), np.array([fp]), np.array([fn])
    if t.min() < 0 or p.min() < 0:
        raise ValueError(f"{owner}: class labels must be >= 0")
    C = confusion_matrix(t, p, num_classes)
    classes = np.arange(C.shape[0]) if num_classes is not None else np.union1d(t, p)
    tp = np.diag(C)[classes]
    fp = C.sum(axis=0)[classes] - tp         # predicted k, but not k
    fn = C.sum(axis=1)[classes] - tp         # truly k, but predicted otherwise
    return tp, fp, fn


def _score(kind: str, tp, fp, fn, average, zero_division):
    """Precision, recall or F1 from per-class counts, averaged as asked."""
    if average == "micro":
        tp, fp, fn = tp.sum(keepdims=True), fp.sum(keepdims=True), fn.sum(keepdims=True)
    if kind == "precision":
        per_class = _ratio(tp, tp + fp, zero_division)
    elif kind == "recall":
        per_class = _ratio(tp, tp + fn, zero_division)
    else:
        per_class = _ratio(2 * tp, 2 * tp + fp + fn, zero_division)
    if average is None:
        return per_class
    if average == "macro":
        return _mean(per_class)
    return float(per_class[0])


def _check_zero_division(zero_division, owner):
    z = float(zero_division)
    if not (z in (0.0, 1.0) or math.isnan(z)):
        raise ValueError(f"{owner}: zero_division must be 0.0, 1.0 or nan, got {zero_division}")
    return z


def precision(y_true, y_pred, average="binary", pos_label=1, num_classes=None,
              zero_division=0.0):
    """``TP / (TP + FP)``: of the samples predicted positive, the fraction that are (see the
    module docstring for ``average`` and ``zero_division``)."""
    z = _check_zero_division(zero_division, "precision")
    counts = _counts(y_true, y_pred, average, pos_label, num_classes, "precision")
    return _score("precision", *counts, average, z)


def recall(y_true, y_pred, average="binary", pos_label=1, num_classes=None, zero_division=0.0):
    """``TP / (TP + FN)``: of the truly positive samples, the fraction predicted positive."""
    z = _check_zero_division(zero_division, "recall")
    counts = _counts(y_true, y_pred, average, pos_label, num_classes, "recall")
    return _score("recall", *counts, average, z)


def f1_score(y_true, y_pred, average="binary", pos_label=1, num_classes=None,
             zero_division=0.0):
    """``2 TP / (2 TP + FP + FN)``, the harmonic mean of precision and recall. ``'macro'``
    averages the per-class F1 (not the F1 of averaged precision and recall), as scikit-learn."""
    z = _check_zero_division(zero_division, "f1_score")
    counts = _counts(y_true, y_pred, average, pos_label, num_classes, "f1_score")
    return _score("f1", *counts, average, z)


def precision_recall_f1(y_true, y_pred, average="binary", pos_label=1, num_classes=None,
                        zero_division=0.0):
    """``(precision, recall, f1)`` from one pass over the counts."""
    z = _check_zero_division(zero_division, "precision_recall_f1")
    counts = _counts(y_true, y_pred, average, pos_label, num_classes, "precision_recall_f1")
    return tuple(_score(kind, *counts, average, z) for kind in ("precision", "recall", "f1"))


def _average_ranks(values: np.ndarray) -> np.ndarray:
    """1-based ranks of ``values`` in ascending order, tied values sharing their mean rank.

    A group of equal values occupying sorted positions ``start .. end-1`` (0-based) holds ranks
    ``start+1 .. end``, whose mean is ``(start + 1 + end) / 2``.
    """
    _, group, counts = np.unique(values, return_inverse=True, return_counts=True)
    end = np.cumsum(counts)
    start = end - counts
    return ((start + 1 + end) / 2.0)[group.reshape(-1)]


def roc_auc_score(y_true, y_score) -> float:
    """Area under the ROC curve of a binary problem, by the rank-sum (Mann-Whitney U) formula::

        R_pos = sum of the ranks of the positives' scores among all scores (ties: mean rank)
        U     = R_pos - n_pos (n_pos + 1) / 2
        AUC   = U / (n_pos n_neg)

    which is the probability that a random positive scores higher than a random negative
    (ties count one half). ``y_true`` holds 0/1 (or bool) labels with both classes present;
    ``y_score`` the scores of class 1 (probabilities, logits or any monotone score), shape (N,)
    or (N, 1).
    """
    t = _numpy(y_true, "y_true", "roc_auc_score")
    s = _numpy(y_score, "y_score", "roc_auc_score")
    if s.ndim == 2 and s.shape[1] == 1:
        s = s[:, 0]
    if t.ndim != 1 or s.ndim != 1 or t.shape != s.shape:
        raise ValueError(f"roc_auc_score: expected y_true (N,) and y_score (N,) for a binary "
                         f"problem, got {t.shape} and {s.shape}")
    if not np.all((t == 0) | (t == 1)):
        raise ValueError("roc_auc_score: y_true must hold binary labels 0/1")
    if not np.all(np.isfinite(s)):
        raise ValueError("roc_auc_score: y_score holds NaN or infinite values")
    positive = t == 1
    n_pos = int(positive.sum())
    n_neg = t.size - n_pos
    if n_pos == 0 or n_neg == 0:
        raise ValueError("roc_auc_score: only one class present in y_true; ROC AUC is not "
                         "defined then")
    ranks = _average_ranks(s.astype(np.float64))
    r_pos = ranks[positive].sum()
    u = r_pos - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def _regression_pair(y_true, y_pred, owner: str):
    t = _numpy(y_true, "y_true", owner).astype(np.float64)
    p = _numpy(y_pred, "y_pred", owner).astype(np.float64)
    if t.shape != p.shape:
        raise ValueError(f"{owner}: y_true and y_pred must have the same shape (no "
                         f"broadcasting), got {t.shape} and {p.shape}")
    if t.size == 0:
        raise ValueError(f"{owner}: no samples")
    return t, p


def mean_squared_error(y_true, y_pred) -> float:
    """``MSE = (1/n) sum (y - y_hat)^2`` over all elements."""
    t, p = _regression_pair(y_true, y_pred, "mean_squared_error")
    return float(np.mean((t - p) ** 2))


def mean_absolute_error(y_true, y_pred) -> float:
    """``MAE = (1/n) sum |y - y_hat|`` over all elements."""
    t, p = _regression_pair(y_true, y_pred, "mean_absolute_error")
    return float(np.mean(np.abs(t - p)))


def r2_score(y_true, y_pred) -> float:
    """The coefficient of determination ``R^2 = 1 - SS_res / SS_tot``::

        SS_res = sum_i (y_i - y_hat_i)^2        SS_tot = sum_i (y_i - mean(y))^2

    over the samples (axis 0); for several outputs (shape (N, k)) the k scores are averaged, as
    scikit-learn's default. A constant target (``SS_tot = 0``) scores 1.0 if predicted exactly
    and 0.0 otherwise (scikit-learn's ``force_finite``).
    """
    t, p = _regression_pair(y_true, y_pred, "r2_score")
    if t.ndim == 0:
        raise ValueError("r2_score: expected samples along axis 0, got a 0-d value")
    t2 = t.reshape(t.shape[0], -1)
    p2 = p.reshape(p.shape[0], -1)
    ss_res = np.sum((t2 - p2) ** 2, axis=0)
    ss_tot = np.sum((t2 - t2.mean(axis=0)) ** 2, axis=0)
    safe = np.where(ss_tot == 0, 1.0, ss_tot)
    r2 = np.where(ss_tot == 0, np.where(ss_res == 0, 1.0, 0.0), 1.0 - ss_res / safe)
    return float(r2.mean())
