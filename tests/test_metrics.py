"""minigrad.metrics against direct NumPy formulas and small hand-checked cases."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import metrics

labels = st.integers(1, 40).flatmap(
    lambda n: st.tuples(st.lists(st.integers(0, 3), min_size=n, max_size=n),
                        st.lists(st.integers(0, 3), min_size=n, max_size=n)))


def _per_class_counts(t, p, classes):
    """TP, FP, FN by a direct loop over the classes (the test's reference)."""
    tp = np.array([np.sum((t == k) & (p == k)) for k in classes], dtype=float)
    fp = np.array([np.sum((t != k) & (p == k)) for k in classes], dtype=float)
    fn = np.array([np.sum((t == k) & (p != k)) for k in classes], dtype=float)
    return tp, fp, fn


def _div(a, b, zero):
    return np.array([x / y if y else zero for x, y in zip(a, b)])


# --- accuracy and the confusion matrix -------------------------------------------------------

def test_accuracy_labels_scores_and_tensors(device):
    y = np.array([0, 1, 2, 2, 1])
    assert metrics.accuracy(y, np.array([0, 1, 1, 2, 0])) == 0.6
    logits = minigrad.tensor([[5.0, 0, 0], [0, 3, 0], [0, 0, 1], [2, 0, 1], [0, 1, 0]]).to(device)
    assert metrics.accuracy(minigrad.tensor(y).to(device), logits) == 0.8  # argmax of scores
    with pytest.raises(ValueError, match="non-integer"):
        metrics.accuracy(y, np.array([0.2, 0.9, 0.4, 0.5, 0.5]))
    with pytest.raises(ValueError, match=r"\(N, 1\) are ambiguous"):
        metrics.accuracy(y, np.zeros((5, 1)))
    with pytest.raises(ValueError, match="same length"):
        metrics.accuracy(y, y[:3])


def test_confusion_matrix_hand_checked():
    t = [0, 0, 1, 2, 2, 2]
    p = [0, 1, 1, 2, 0, 2]
    expected = [[1, 1, 0],
                [0, 1, 0],
                [1, 0, 2]]
    C = metrics.confusion_matrix(t, p)
    assert C.dtype == np.int64
    np.testing.assert_array_equal(C, expected)
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p, num_classes=4)[:3, :3], expected)
    with pytest.raises(ValueError, match="out of range for num_classes=2"):
        metrics.confusion_matrix(t, p, num_classes=2)
    with pytest.raises(ValueError, match=">= 0"):
        metrics.confusion_matrix([-1, 0], [0, 0])


@given(labels)
def test_confusion_matrix_matches_a_loop(pair):
    t, p = map(np.array, pair)
    k = max(t.max(), p.max()) + 1
    slow = np.zeros((k, k), dtype=np.int64)
    for a, b in zip(t, p):
        slow[a, b] += 1
    np.testing.assert_array_equal(metrics.confusion_matrix(t, p), slow)
    assert metrics.accuracy(t, p) == pytest.approx(np.trace(slow) / len(t))


# --- precision, recall, F1 -------------------------------------------------------------------

def test_binary_scores_hand_checked():
    t = [1, 1, 1, 0, 0, 0, 0, 1]
    p = [1, 0, 1, 1, 0, 0, 0, 0]
    # TP = 2, FP = 1, FN = 2
    assert metrics.precision(t, p) == pytest.approx(2 / 3)
    assert metrics.recall(t, p) == pytest.approx(2 / 4)
    assert metrics.f1_score(t, p) == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    # class 0 as the positive one: TP = 3, FP = 2, FN = 1
    assert metrics.precision(t, p, pos_label=0) == pytest.approx(3 / 5)
    assert metrics.recall(t, p, pos_label=0) == pytest.approx(3 / 4)
    assert metrics.precision_recall_f1(t, p) == pytest.approx((2 / 3, 1 / 2, 4 / 7))


def test_zero_division():
    t = [0, 0, 1]
    p = [0, 0, 0]  # nothing predicted positive: precision undefined
    assert metrics.precision(t, p) == 0.0
    assert metrics.precision(t, p, zero_division=1.0) == 1.0
    assert math.isnan(metrics.precision(t, p, zero_division=float("nan")))
    assert metrics.recall(t, p) == 0.0  # defined: TP = 0 of one positive
    all_negative = [0, 0, 0]
    assert metrics.f1_score(all_negative, all_negative) == 0.0  # 2TP + FP + FN = 0
    assert metrics.f1_score(all_negative, all_negative, zero_division=1.0) == 1.0
    # macro with nan: undefined classes are left out of the mean
    t, p = [0, 1, 2, 2], [0, 1, 1, 1]  # class 2 never predicted: its precision is undefined
    assert metrics.precision(t, p, average="macro", zero_division=float("nan")) == \
        pytest.approx((1 + 1 / 3) / 2)
    assert metrics.precision(t, p, average="macro") == pytest.approx((1 + 1 / 3 + 0) / 3)
    with pytest.raises(ValueError, match="zero_division"):
        metrics.precision(t, p, average="macro", zero_division=0.5)


@given(labels, st.sampled_from([0.0, 1.0]))
def test_macro_micro_and_per_class_against_numpy(pair, zero):
    t, p = map(np.array, pair)
    classes = np.union1d(t, p)
    tp, fp, fn = _per_class_counts(t, p, classes)
    want = {"precision": _div(tp, tp + fp, zero), "recall": _div(tp, tp + fn, zero),
            "f1": _div(2 * tp, 2 * tp + fp + fn, zero)}
    micro = {"precision": _div([tp.sum()], [tp.sum() + fp.sum()], zero)[0],
             "recall": _div([tp.sum()], [tp.sum() + fn.sum()], zero)[0],
             "f1": _div([2 * tp.sum()], [2 * tp.sum() + fp.sum() + fn.sum()], zero)[0]}
    fns = {"precision": metrics.precision, "recall": metrics.recall, "f1": metrics.f1_score}
    for name, fn_ in fns.items():
        np.testing.assert_allclose(fn_(t, p, average=None, zero_division=zero), want[name])
        assert fn_(t, p, average="macro", zero_division=zero) == pytest.approx(want[name].mean())
        assert fn_(t, p, average="micro", zero_division=zero) == pytest.approx(micro[name])
    # single-label multi-class: micro precision = micro recall = micro F1 = accuracy
    assert metrics.f1_score(t, p, average="micro") == pytest.approx(metrics.accuracy(t, p))


def test_num_classes_includes_absent_classes():
    t, p = [0, 1, 1], [0, 1, 0]
    per_class = metrics.recall(t, p, average=None, num_classes=4)
    np.testing.assert_allclose(per_class, [1.0, 0.5, 0.0, 0.0])  # absent classes: zero_division
    assert metrics.recall(t, p, average="macro", num_classes=4) == pytest.approx(0.375)


def test_bad_averages_and_labels():
    with pytest.raises(ValueError, match="unknown average 'weighted'"):
        metrics.f1_score([0, 1], [0, 1], average="weighted")
    with pytest.raises(ValueError, match="average='binary' needs two classes, found 3"):
        metrics.f1_score([0, 1, 2], [0, 1, 1])
    with pytest.raises(ValueError, match="pos_label=1 is not one of the labels"):
        metrics.precision([0, 2], [2, 0])
    with pytest.raises(ValueError, match="1-D class labels"):
        metrics.precision(np.zeros((2, 2)), np.zeros((2, 2)))


# --- ROC AUC ---------------------------------------------------------------------------------

def test_roc_auc_hand_checked_with_ties():
    y = [0, 0, 1, 1]
    s = [0.1, 0.4, 0.35, 0.8]
    assert metrics.roc_auc_score(y, s) == 0.75  # pairs (pos > neg): 3 of 4
    # ties: positive 0.5 vs negative 0.5 counts one half
    y = [0, 1, 0, 1, 0]
    s = [0.5, 0.5, 0.2, 0.9, 0.9]
    # positives {0.5, 0.9}, negatives {0.5, 0.2, 0.9}:
    # 0.5: > 0.2, = 0.5 (1/2), < 0.9  -> 1.5 ;  0.9: > 0.5, > 0.2, = 0.9 (1/2) -> 2.5
    assert metrics.roc_auc_score(y, s) == pytest.approx(4.0 / 6.0)
    assert metrics.roc_auc_score([0, 1], [0.3, 0.3]) == 0.5
    assert metrics.roc_auc_score([1, 0, 1], minigrad.tensor([[2.0], [1.0], [3.0]])) == 1.0


@given(st.integers(2, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.integers(0, 5), min_size=n, max_size=n))))
def test_roc_auc_equals_the_pair_count(pair):
    y, s = np.array(pair[0]), np.array(pair[1], dtype=float)
    if y.min() == y.max():
        with pytest.raises(ValueError, match="only one class"):
            metrics.roc_auc_score(y, s)
        return
    pos, neg = s[y == 1], s[y == 0]
    wins = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert metrics.roc_auc_score(y, s) == pytest.approx(wins / (len(pos) * len(neg)))


def test_roc_auc_errors():
    with pytest.raises(ValueError, match="binary labels 0/1"):
        metrics.roc_auc_score([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"expected y_true \(N,\) and y_score \(N,\)"):
        metrics.roc_auc_score([0, 1], np.zeros((2, 3)))


# --- regression ------------------------------------------------------------------------------

@given(st.integers(1, 30), st.integers(0, 2**31 - 1))
def test_regression_metrics_against_numpy(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.normal(size=n)
    y_hat = y + rng.normal(size=n) * 0.3
    assert metrics.mean_squared_error(y, y_hat) == pytest.approx(np.mean((y - y_hat) ** 2))
    assert metrics.mean_absolute_error(y, y_hat) == pytest.approx(np.mean(np.abs(y - y_hat)))
    ss_tot = np.sum((y - y.mean()) ** 2)
    if ss_tot > 1e-12:
        expected = 1 - np.sum((y - y_hat) ** 2) / ss_tot
        assert metrics.r2_score(y, y_hat) == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_r2_hand_checked_multioutput_and_constant_target(device):
    y = np.array([3.0, -0.5, 2.0, 7.0])
    y_hat = np.array([2.5, 0.0, 2.0, 8.0])
    # SS_res = 0.25 + 0.25 + 0 + 1 = 1.5 ; mean 2.875, SS_tot = 29.1875
    assert metrics.r2_score(y, y_hat) == pytest.approx(1 - 1.5 / 29.1875)
    t = minigrad.tensor(np.stack([y, 2 * y], axis=1)).to(device)
    two = metrics.r2_score(t, np.stack([y_hat, 2 * y], axis=1))
    assert two == pytest.approx((1 - 1.5 / 29.1875 + 1.0) / 2)  # outputs averaged
    assert metrics.r2_score([1.0, 1.0], [1.0, 1.0]) == 1.0
    assert metrics.r2_score([1.0, 1.0], [1.0, 2.0]) == 0.0
    assert metrics.mean_squared_error(minigrad.tensor([1.0, 2.0]), [1.0, 4.0]) == 2.0
    with pytest.raises(ValueError, match=r"same shape \(no broadcasting\)"):
        metrics.mean_squared_error(np.zeros((4, 1)), np.zeros(4))
