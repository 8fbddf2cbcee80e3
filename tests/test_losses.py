"""Losses (minigrad.nn.losses): forward against NumPy transcriptions of each documented formula,
written here independently (plain loops where that is clearest), for option combinations drawn
by hypothesis; float64 gradcheck with respect to the input and, where PyTorch makes it
differentiable, the target; stability at extreme logits; every bad-input error; float32 kept;
Module forms equal to functional forms."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend
from minigrad.nn import losses as L

REDUCTIONS = ["none", "mean", "sum"]


# ---------------------------------------------------------------------------------------------
# Helpers


def _cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def _t(array, device, grad=False):
    """A tensor of exactly this array's dtype (a NumPy scalar from a 0-d draw stays float64)."""
    return mg.tensor(np.asarray(array), device=device, requires_grad=grad)


def _close(out, expected, rtol=1e-10, atol=1e-12):
    got = _cpu(out)
    assert got.shape == np.shape(expected), (got.shape, np.shape(expected))
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def _reduce(losses, reduction):
    if reduction == "mean":
        return losses.mean()
    if reduction == "sum":
        return losses.sum()
    return losses


def _logsumexp(v, axis):
    m = v.max(axis=axis, keepdims=True)
    return m + np.log(np.exp(v - m).sum(axis=axis, keepdims=True))


def _off_lattice(rng, shape, offset=0.25):
    """Values k/2 + offset + u with |u| ≤ 0.1: differences of two such values (shifted by
    ``offset`` for one of them) stay ≥ 0.05 away from every multiple of 1/2, which keeps
    hinge-type kinks (at 0 or ±1) out of reach of central differences."""
    return rng.integers(-4, 5, shape) * 0.5 + offset + rng.uniform(-0.1, 0.1, shape)


shapes = st.lists(st.integers(1, 4), min_size=0, max_size=3).map(tuple)


def _rng(data):
    return np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="seed"))


# ---------------------------------------------------------------------------------------------
# NumPy transcriptions of the documented formulas


def ref_mse(x, y, reduction):
    return _reduce((x - y) ** 2, reduction)


def ref_l1(x, y, reduction):
    return _reduce(np.abs(x - y), reduction)


def ref_huber(x, y, reduction, delta):
    d = x - y
    return _reduce(np.where(np.abs(d) < delta, 0.5 * d ** 2, delta * (np.abs(d) - 0.5 * delta)),
                   reduction)


def ref_class_index(x, t, w, ignore_index, eps, reduction, logits=True):
    """Cross-entropy (logits) or NLL (log-probabilities) at class indices, one sample at a time:
    l = (1 - ε)(-w[y] p[y]) + (ε/C)(-Σ_c w[c] p[c]); 'mean' divides by Σ w[y] of counted."""
    unbatched = x.ndim == 1
    if unbatched:
        x, t = x[None], np.asarray(t)[None]
    classes = x.shape[1]
    w = np.ones(classes) if w is None else w
    rows = np.moveaxis(x, 1, -1).reshape(-1, classes)
    labels = t.reshape(-1)
    losses, weights = np.zeros(len(labels)), np.zeros(len(labels))
    for m, (row, y) in enumerate(zip(rows, labels)):
        if y == ignore_index:
            continue
        p = row - _logsumexp(row, 0) if logits else row
        losses[m] = (1 - eps) * (-w[y] * p[y]) + eps / classes * (-(w * p).sum())
        weights[m] = w[y]
    losses = losses.reshape(t.shape)
    if reduction == "mean":
        with np.errstate(invalid="ignore"):
            return losses.sum() / weights.sum()
    if reduction == "none" and unbatched:
        return losses[0]
    return _reduce(losses, reduction)


def ref_probability_ce(x, y, w, eps, reduction):
    """l = -Σ_c w[c] q[c] log_softmax(x)[c], q = (1 - ε) y + ε/C; 'mean' over samples."""
    axis = 0 if x.ndim == 1 else 1
    classes = x.shape[axis]
    p = x - _logsumexp(x, axis)
    q = (1 - eps) * y + eps / classes
    shape = [1] * x.ndim
    shape[axis] = classes
    wb = np.ones(shape) if w is None else w.reshape(shape)
    return _reduce(-(wb * q * p).sum(axis=axis), reduction)


def ref_bce(x, y, w, reduction):
    with np.errstate(divide="ignore"):
        l = -(y * np.maximum(np.log(x), -100) + (1 - y) * np.maximum(np.log(1 - x), -100))
    return _reduce(l if w is None else w * l, reduction)


def ref_bce_logits(x, y, w, pos_weight, reduction):
    """Straight from the definition (accurate for the moderate logits drawn here)."""
    s = 1 / (1 + np.exp(-x))
    p = 1.0 if pos_weight is None else pos_weight
    l = -(p * y * np.log(s) + (1 - y) * np.log(1 - s))
    return _reduce(l if w is None else w * l, reduction)


def ref_hinge(x, y, reduction):
    return _reduce(np.maximum(0.0, 1 - y * x), reduction)


def ref_multi_margin(x, t, p, margin, w, reduction):
    unbatched = x.ndim == 1
    xs, ts = (x[None], np.asarray(t)[None]) if unbatched else (x, t)
    classes = xs.shape[1]
    losses = np.zeros(len(xs))
    for n, (row, y) in enumerate(zip(xs, ts)):
        wy = 1.0 if w is None else w[y]
        for i in range(classes):
            if i != y:
                losses[n] += wy * max(0.0, margin - row[y] + row[i]) ** p / classes
    if unbatched and reduction == "none":
        return losses[0]
    return _reduce(losses, reduction)


def ref_kl(x, y, reduction, log_target):
    if log_target:
        l = np.exp(y) * (y - x)
    else:
        with np.errstate(divide="ignore", invalid="ignore"):
            l = np.where(y > 0, y * (np.log(y) - x), 0.0)
    if reduction == "batchmean":
        return l.sum() / x.shape[0]
    return _reduce(l, reduction)


# ---------------------------------------------------------------------------------------------
# Regression losses: MSE, L1, Huber


@given(data=st.data(), shape=shapes, reduction=st.sampled_from(REDUCTIONS),
       delta=st.sampled_from([0.3, 1.0, 2.5]))
def test_regression_losses_forward_and_gradcheck(data, shape, reduction, delta, device):
    rng = _rng(data)
    x = _off_lattice(rng, shape, 0.25)
    y = _off_lattice(rng, shape, 0.0)  # |x - y| ≥ 0.05: away from L1's kink at 0
    cases = [
        (lambda a, b: L.mse_loss(a, b, reduction=reduction), ref_mse(x, y, reduction)),
        (lambda a, b: L.l1_loss(a, b, reduction=reduction), ref_l1(x, y, reduction)),
        (lambda a, b: L.huber_loss(a, b, reduction=reduction, delta=delta),
         ref_huber(x, y, reduction, delta)),
    ]
    for fn, expected in cases:
        xt, yt = _t(x, device, True), _t(y, device, True)
        _close(fn(xt, yt), expected)
        assert mg.gradcheck(fn, [xt, yt])  # input and target


def test_huber_pieces_meet_at_delta(device):
    """Both pieces give delta²/2 at |d| = delta: the loss is continuous there."""
    delta = 0.75
    x = _t(np.array([delta, -delta, 0.0]), device)
    y = _t(np.zeros(3), device)
    _close(L.huber_loss(x, y, reduction="none", delta=delta), [delta ** 2 / 2] * 2 + [0.0])


def test_mse_mean_is_over_all_elements_not_the_batch(device):
    x = _t(np.ones((4, 5)), device)
    y = _t(np.zeros((4, 5)), device)
    _close(L.mse_loss(x, y), 1.0)  # Σ = 20 over 20 elements, not 20 / 4
    _close(L.mse_loss(x, y, reduction="sum"), 20.0)


# ---------------------------------------------------------------------------------------------
# Cross-entropy and NLL with class indices


@st.composite
def class_problems(draw):
    """Logits shape, class-index target, weight, ignore_index and label smoothing."""
    classes = draw(st.integers(1, 5), label="C")
    layout = draw(st.sampled_from(["unbatched", "batched", "spatial"]))
    if layout == "unbatched":
        shape, tshape = (classes,), ()
    else:
        n = draw(st.integers(1, 4), label="N")
        extra = () if layout == "batched" else tuple(
            draw(st.lists(st.integers(1, 3), min_size=1, max_size=2)))
        shape, tshape = (n, classes) + extra, (n,) + extra
    ignore_index = draw(st.sampled_from([-100, -1, 0, classes - 1]))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * 2
    t = np.asarray(rng.integers(0, classes, tshape))
    if t.size > 1 and draw(st.booleans(), label="ignore some"):
        t.reshape(-1)[1::2] = ignore_index  # ignore every other entry, keep the first
    if ignore_index >= 0 and t.size:
        t.reshape(-1)[0] = (ignore_index + 1) % classes if classes > 1 else 0
    weight = rng.uniform(0.2, 2.0, classes) if draw(st.booleans(), label="weight") else None
    eps = draw(st.sampled_from([0.0, 0.0, 0.1, 0.35]))
    reduction = draw(st.sampled_from(REDUCTIONS))
    return x, t, weight, ignore_index, eps, reduction


def _counted_somewhere(t, ignore_index):
    return bool((np.asarray(t) != ignore_index).any())


@given(problem=class_problems())
def test_cross_entropy_class_indices(problem, device):
    x, t, weight, ignore_index, eps, reduction = problem
    w = None if weight is None else _t(weight, device)
    opts = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=eps)
    xt = _t(x, device, True)

    def fn(a):
        return L.cross_entropy(a, _t(t, device), w, **opts)

    _close(fn(xt), ref_class_index(x, t, weight, ignore_index, eps, reduction))
    if _counted_somewhere(t, ignore_index) or reduction != "mean":
        assert mg.gradcheck(fn, [xt])
    module = L.CrossEntropyLoss(weight=w, **opts)
    _close(module(xt, _t(t, device)), _cpu(fn(xt)), rtol=0, atol=0)


@given(problem=class_problems())
def test_nll_loss(problem, device):
    x, t, weight, ignore_index, _, reduction = problem
    classes = x.shape[0 if x.ndim == 1 else 1]
    if ignore_index == classes - 1 == 0:
        ignore_index = -100  # C = 1 and everything ignored would leave nothing to check
    logp = x - _logsumexp(x, 0 if x.ndim == 1 else 1)
    w = None if weight is None else _t(weight, device)
    opts = dict(ignore_index=ignore_index, reduction=reduction)
    xt = _t(logp, device, True)

    def fn(a):
        return L.nll_loss(a, _t(t, device), w, **opts)

    _close(fn(xt), ref_class_index(logp, t, weight, ignore_index, 0.0, reduction, logits=False))
    if _counted_somewhere(t, ignore_index) or reduction != "mean":
        assert mg.gradcheck(fn, [xt])
    _close(L.NLLLoss(weight=w, **opts)(xt, _t(t, device)), _cpu(fn(xt)), rtol=0, atol=0)
    # NLL of log-softmax is cross-entropy.
    _close(L.cross_entropy(_t(x, device), _t(t, device), w, **opts), _cpu(fn(xt)))


@given(data=st.data(), reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(),
       ignore=st.booleans())
def test_fused_2d_path_equals_the_general_path(data, reduction, weighted, ignore, device):
    """(N, C) logits take the fused op; (N, C, 1) the log_softmax + gather path: same values
    and same gradients."""
    rng = _rng(data)
    n, c = data.draw(st.integers(1, 6)), data.draw(st.integers(2, 6))
    x = rng.standard_normal((n, c))
    t = rng.integers(0, c, n)
    if ignore:
        t[1::2] = -100
    w = _t(rng.uniform(0.2, 2, c), device) if weighted else None
    a, b = _t(x, device, True), _t(x[:, :, None], device, True)
    la = L.cross_entropy(a, _t(t, device), w, reduction=reduction)
    lb = L.cross_entropy(b, _t(t[:, None], device), w, reduction=reduction)
    _close(la, _cpu(lb).reshape(np.shape(_cpu(la))), rtol=1e-12)
    g = rng.standard_normal(la.shape)
    la.backward(_t(g, device))
    lb.backward(_t(g.reshape(lb.shape), device))
    _close(a.grad, _cpu(b.grad)[:, :, 0], rtol=1e-12)


def test_ignored_targets_get_exactly_zero_gradient(device):
    x = _t(np.random.default_rng(1).standard_normal((4, 3)), device, True)
    t = _t(np.array([0, -100, 2, -100]), device)
    L.cross_entropy(x, t, label_smoothing=0.2).backward()
    grad = _cpu(x.grad)
    assert np.all(grad[[1, 3]] == 0) and np.all(grad[[0, 2]] != 0)


@pytest.mark.parametrize("shape", [(2, 3), (2, 3, 1)])  # the fused and the general path
def test_all_targets_ignored_mean_is_nan_with_zero_gradient_as_in_pytorch(shape, device):
    x = _t(np.zeros(shape), device, True)
    t = _t(np.full((2,) + shape[2:], -100), device)
    with np.errstate(all="raise"):  # no 0/0 is computed on the way
        loss = L.cross_entropy(x, t)
        assert math.isnan(loss.item())
        loss.backward()
    assert np.all(_cpu(x.grad) == 0)
    assert L.cross_entropy(x, t, reduction="sum").item() == 0.0
    w = _t(np.array([0.0, 1.0, 1.0]), device)  # every counted entry weighs 0: also 0 / 0
    assert math.isnan(L.cross_entropy(x, _t(np.zeros((2,) + shape[2:], np.int64), device),
                                      w).item())


def test_cross_entropy_is_stable_for_huge_logits(device):
    x = _t(np.array([[1000.0, 0.0, -1000.0]] * 3), device, True)
    t = _t(np.array([0, 1, 2]), device)
    out = L.cross_entropy(x, t, reduction="none")
    _close(out, [0.0, 1000.0, 2000.0])
    out.sum().backward()
    assert np.all(np.isfinite(_cpu(x.grad)))


# ---------------------------------------------------------------------------------------------
# Cross-entropy with probability targets


@given(data=st.data(), classes=st.integers(1, 5), layout=st.sampled_from(["1d", "2d", "4d"]),
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(),
       eps=st.sampled_from([0.0, 0.2]))
def test_cross_entropy_probability_targets(data, classes, layout, reduction, weighted, eps,
                                           device):
    rng = _rng(data)
    shape = {"1d": (classes,), "2d": (3, classes), "4d": (2, classes, 2, 1)}[layout]
    axis = 0 if layout == "1d" else 1
    x = rng.standard_normal(shape)
    y = np.exp(rng.standard_normal(shape))
    y /= y.sum(axis=axis, keepdims=True)
    weight = rng.uniform(0.2, 2.0, classes) if weighted else None
    w = None if weight is None else _t(weight, device)
    opts = dict(reduction=reduction, label_smoothing=eps)
    xt, yt = _t(x, device, True), _t(y, device, True)

    def fn(a, b):
        return L.cross_entropy(a, b, w, **opts)

    _close(fn(xt, yt), ref_probability_ce(x, y, weight, eps, reduction))
    assert mg.gradcheck(fn, [xt, yt])  # logits and target probabilities
    _close(L.CrossEntropyLoss(weight=w, **opts)(xt, yt), _cpu(fn(xt, yt)), rtol=0, atol=0)


def test_one_hot_probabilities_equal_class_indices(device):
    rng = np.random.default_rng(3)
    x = _t(rng.standard_normal((5, 4)), device)
    t = rng.integers(0, 4, 5)
    one_hot = np.eye(4)[t]
    for eps in (0.0, 0.3):
        a = L.cross_entropy(x, _t(t, device), label_smoothing=eps)
        b = L.cross_entropy(x, _t(one_hot, device), label_smoothing=eps)
        _close(a, _cpu(b))


# ---------------------------------------------------------------------------------------------
# Binary cross-entropy, on probabilities and on logits


@given(data=st.data(), shape=shapes, reduction=st.sampled_from(REDUCTIONS),
       weight_shape=st.sampled_from([None, "same", "last"]))
def test_binary_cross_entropy(data, shape, reduction, weight_shape, device):
    rng = _rng(data)
    x = rng.uniform(0.05, 0.95, shape)
    y = rng.uniform(0.0, 1.0, shape)
    weight = None
    if weight_shape is not None:
        weight = rng.uniform(0.2, 2.0, shape if weight_shape == "same" else shape[-1:])
    w = None if weight is None else _t(weight, device)
    xt, yt = _t(x, device, True), _t(y, device, True)

    def fn(a, b):
        return L.binary_cross_entropy(a, b, w, reduction=reduction)

    _close(fn(xt, yt), ref_bce(x, y, weight, reduction))
    assert mg.gradcheck(fn, [xt, yt])
    _close(L.BCELoss(weight=w, reduction=reduction)(xt, yt), _cpu(fn(xt, yt)), rtol=0, atol=0)


def test_binary_cross_entropy_clamps_log_at_minus_100(device):
    x = _t(np.array([0.0, 1.0, 0.0, 1.0]), device, True)
    y = _t(np.array([1.0, 0.0, 0.0, 1.0]), device, True)
    out = L.binary_cross_entropy(x, y, reduction="none")
    _close(out, [100.0, 100.0, 0.0, 0.0])
    out.sum().backward()
    _close(x.grad, [-1e12, 1e12, 0.0, 0.0])  # (x - y) / max(x(1 - x), 1e-12), as PyTorch
    # d/dy = max(log(1 - x), -100) - max(log x, -100): the slope of the clamped loss
    # (PyTorch's unclamped logs give ±inf here)
    _close(y.grad, [100.0, -100.0, 100.0, -100.0])


@given(data=st.data(), shape=shapes.filter(lambda s: len(s) >= 1),
       reduction=st.sampled_from(REDUCTIONS), weighted=st.booleans(),
       pos=st.sampled_from([None, "class", "full"]))
def test_binary_cross_entropy_with_logits(data, shape, reduction, weighted, pos, device):
    rng = _rng(data)
    x = rng.uniform(-4, 4, shape)
    y = rng.uniform(0, 1, shape)
    weight = rng.uniform(0.2, 2, shape) if weighted else None
    pos_weight = None
    if pos is not None:  # (C,) broadcast over the last dim, or one value per element
        pos_weight = rng.uniform(0.2, 3, shape[-1:] if pos == "class" else shape)
    w = None if weight is None else _t(weight, device)
    pw = None if pos_weight is None else _t(pos_weight, device, True)
    xt, yt = _t(x, device, True), _t(y, device, True)

    def fn(a, b, *p):
        return L.binary_cross_entropy_with_logits(a, b, w, reduction=reduction,
                                                  pos_weight=p[0] if p else None)

    inputs = [xt, yt] + ([pw] if pw is not None else [])
    _close(fn(*inputs), ref_bce_logits(x, y, weight, pos_weight, reduction), rtol=1e-9)
    assert mg.gradcheck(fn, inputs)  # logits, targets (and pos_weight)
    module = L.BCEWithLogitsLoss(weight=w, reduction=reduction, pos_weight=pw)
    _close(module(xt, yt), _cpu(fn(*inputs)), rtol=0, atol=0)


def _softplus_exact(z):
    """log(1 + e^z) in float64 without cancellation."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_with_logits_is_finite_and_exact_at_plus_minus_100(dtype, device):
    x = np.array([100.0, -100.0, 100.0, -100.0, 100.0, -100.0])
    y = np.array([1.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    pos_weight = np.array([1.0, 1.0, 1.0, 1.0, 3.0, 3.0])
    exact = [p * t * _softplus_exact(-v) + (1 - t) * _softplus_exact(v)
             for v, t, p in zip(x, y, pos_weight)]
    assert exact[0] == exact[1] == math.log1p(math.exp(-100)) > 0  # 3.72e-44, not 0
    xt = _t(x.astype(dtype), device, True)
    out = L.binary_cross_entropy_with_logits(xt, _t(y.astype(dtype), device), reduction="none",
                                             pos_weight=_t(pos_weight.astype(dtype), device))
    got = _cpu(out)
    assert got.dtype == dtype and np.all(np.isfinite(got))
    if dtype == np.float64:
        np.testing.assert_allclose(got, exact, rtol=1e-15, atol=0)
    else:  # e^-100 is a float32 subnormal: equal to exact up to one subnormal step
        np.testing.assert_allclose(got, np.asarray(exact, np.float32), rtol=1e-7, atol=5e-45)
    out.sum().backward()
    # d/dx = (1 - y) σ(x) - p y σ(-x): 0 or ±1 (or -3) up to 4e-44
    np.testing.assert_allclose(_cpu(xt.grad), [0, 0, 1, -1, 0, -3], atol=1e-40)


# ---------------------------------------------------------------------------------------------
# Margin losses


@given(data=st.data(), shape=shapes, reduction=st.sampled_from(REDUCTIONS),
       integer_labels=st.booleans())
def test_hinge_loss(data, shape, reduction, integer_labels, device):
    rng = _rng(data)
    x = _off_lattice(rng, shape, 0.25)  # never within 0.15 of ±1, the kinks
    y = rng.choice([-1, 1], shape)
    labels = y if integer_labels else y.astype(np.float64)
    xt = _t(x, device, True)

    def fn(a):
        return L.hinge_loss(a, _t(labels, device), reduction=reduction)

    _close(fn(xt), ref_hinge(x, y, reduction))
    assert mg.gradcheck(fn, [xt])
    _close(L.HingeLoss(reduction=reduction)(xt, _t(labels, device)), _cpu(fn(xt)),
           rtol=0, atol=0)


@given(data=st.data(), classes=st.integers(1, 5), batch=st.sampled_from([None, 1, 3]),
       p=st.sampled_from([1, 2]), margin=st.sampled_from([0.5, 1.0, 2.0]),
       weighted=st.booleans(), reduction=st.sampled_from(REDUCTIONS))
def test_multi_margin_loss(data, classes, batch, p, margin, weighted, reduction, device):
    rng = _rng(data)
    shape = (classes,) if batch is None else (batch, classes)
    x = rng.standard_normal(shape)
    t = rng.integers(0, classes, () if batch is None else (batch,))
    weight = rng.uniform(0.2, 2.0, classes) if weighted else None
    w = None if weight is None else _t(weight, device)
    xt = _t(x, device, True)

    def fn(a):
        return L.multi_margin_loss(a, _t(t, device), p, margin, w, reduction=reduction)

    _close(fn(xt), ref_multi_margin(x, t, p, margin, weight, reduction))
    rows = x.reshape(-1, classes)
    z = margin - rows[np.arange(len(rows)), np.reshape(t, -1)][:, None] + rows
    if np.abs(z).min() > 1e-3:  # gradcheck away from the kink max(0, z) at z = 0
        assert mg.gradcheck(fn, [xt])
    module = L.MultiMarginLoss(p, margin, w, reduction=reduction)
    _close(module(xt, _t(t, device)), _cpu(fn(xt)), rtol=0, atol=0)


# ---------------------------------------------------------------------------------------------
# KL divergence


@given(data=st.data(), shape=shapes, reduction=st.sampled_from(REDUCTIONS + ["batchmean"]),
       log_target=st.booleans(), zeros=st.booleans())
def test_kl_div(data, shape, reduction, log_target, zeros, device):
    rng = _rng(data)
    x = np.log(rng.uniform(0.05, 1.0, shape))
    y = rng.uniform(0.05, 1.0, shape)
    if log_target:
        y = np.log(y)
    elif zeros:
        y = np.where(rng.random(shape) < 0.3, 0.0, y)  # 0 · log 0 counts as 0
    xt, yt = _t(x, device, True), _t(y, device, True)

    def fn(a, b):
        return L.kl_div(a, b, reduction=reduction, log_target=log_target)

    if reduction == "batchmean" and not shape:
        expected = ref_kl(x, y, "sum", log_target)  # a 0-d input has no batch dim to divide by
    else:
        expected = ref_kl(x, y, reduction, log_target)
    _close(fn(xt, yt), expected)
    has_zero = not log_target and np.any(y == 0)
    # y log y has no slope at y = 0: there, check the gradient for the input only.
    assert mg.gradcheck(fn, [xt, _t(y, device) if has_zero else yt])
    module = L.KLDivLoss(reduction=reduction, log_target=log_target)
    _close(module(xt, yt), _cpu(fn(xt, yt)), rtol=0, atol=0)


def test_kl_div_batchmean_is_the_kl_divergence_per_sample(device):
    q = np.array([[0.5, 0.25, 0.25], [0.1, 0.6, 0.3]])
    p = np.array([[0.4, 0.4, 0.2], [0.2, 0.5, 0.3]])
    kl = np.mean([(pi * np.log(pi / qi)).sum() for pi, qi in zip(p, q)])
    _close(L.kl_div(_t(np.log(q), device), _t(p, device), reduction="batchmean"), kl)
    _close(L.kl_div(_t(np.log(q), device), _t(np.log(p), device), reduction="batchmean",
                    log_target=True), kl)


# ---------------------------------------------------------------------------------------------
# Second order: the backward formulas are Tensor ops, so they differentiate too


@settings(max_examples=5)
@given(data=st.data(), reduction=st.sampled_from(REDUCTIONS))
def test_gradgradcheck(data, reduction, device):
    rng = _rng(data)
    x = rng.standard_normal((3, 4))
    t = _t(rng.integers(0, 4, 3), device)
    y = rng.uniform(0.1, 0.9, (3, 4))
    w = _t(rng.uniform(0.5, 2, 4), device)
    checks = [
        (lambda a: L.cross_entropy(a, t, w, reduction=reduction), [x]),  # fused op
        (lambda a: L.cross_entropy(a, t, reduction=reduction, label_smoothing=0.1), [x]),
        (lambda a, b: L.binary_cross_entropy(a, b, reduction=reduction), [y, y[::-1].copy()]),
        (lambda a, b: L.binary_cross_entropy_with_logits(a, b, reduction=reduction), [x, y]),
        (lambda a, b: L.mse_loss(a, b, reduction=reduction), [x, y]),
    ]
    for fn, arrays in checks:
        assert mg.gradgradcheck(fn, [_t(a, device, True) for a in arrays])


# ---------------------------------------------------------------------------------------------
# float32 in, float32 out (loss and gradients)


def _float32_cases(device):
    rng = np.random.default_rng(5)

    def f(shape, low=-1.0, high=1.0):
        return rng.uniform(low, high, shape).astype(np.float32)

    t = rng.integers(0, 4, 3)
    w4 = mg.tensor(f(4, 0.5, 2.0), device=device)
    return [
        ("mse", lambda a, b: L.mse_loss(a, b), f((3, 4)), f((3, 4))),
        ("l1", lambda a, b: L.l1_loss(a, b), f((3, 4)), f((3, 4))),
        ("huber", lambda a, b: L.huber_loss(a, b, delta=0.5), f((3, 4)), f((3, 4))),
        ("ce", lambda a: L.cross_entropy(a, _t(t, device), w4), f((3, 4))),
        ("ce-smooth", lambda a: L.cross_entropy(a, _t(t, device), w4, label_smoothing=0.1),
         f((3, 4))),
        ("ce-probs", lambda a, b: L.cross_entropy(a, b.softmax(1), w4), f((3, 4)), f((3, 4))),
        ("nll", lambda a: L.nll_loss(a.log_softmax(1), _t(t, device), w4), f((3, 4))),
        ("bce", lambda a, b: L.binary_cross_entropy(a, b), f((3, 4), 0.1, 0.9),
         f((3, 4), 0, 1)),
        ("bce-logits", lambda a, b: L.binary_cross_entropy_with_logits(
            a, b, w4 * 1, pos_weight=w4), f((3, 4)), f((3, 4), 0, 1)),
        ("hinge", lambda a: L.hinge_loss(a, _t(rng.choice([-1, 1], (3, 4)), device)), f((3, 4))),
        ("multi-margin", lambda a: L.multi_margin_loss(a, _t(t, device), 2, 0.5, w4), f((3, 4))),
        ("kl", lambda a, b: L.kl_div(a, b, reduction="batchmean"), f((3, 4)), f((3, 4), 0, 1)),
    ]


def test_float32_in_float32_out(device):
    for name, fn, *arrays in _float32_cases(device):
        inputs = [mg.tensor(a, device=device, requires_grad=True) for a in arrays]
        out = fn(*inputs)
        assert out.dtype == np.float32, name
        out.backward()
        for i in inputs:
            assert i.grad.dtype == np.float32, name


# ---------------------------------------------------------------------------------------------
# Modules: options stored, weights are buffers, the same numbers as the functional forms


def test_modules_register_weights_as_buffers_and_move_with_to(device):
    w = mg.tensor([1.0, 2.0, 3.0])
    ce = L.CrossEntropyLoss(weight=w, label_smoothing=0.1)
    assert [name for name, _ in ce.named_buffers()] == ["weight"]
    assert list(ce.parameters()) == []
    assert set(L.BCEWithLogitsLoss(weight=w, pos_weight=w).state_dict()) == {"weight",
                                                                             "pos_weight"}
    assert set(L.NLLLoss(weight=w).state_dict()) == {"weight"}
    assert set(L.MultiMarginLoss(weight=w).state_dict()) == {"weight"}
    assert set(L.BCELoss(weight=w).state_dict()) == {"weight"}
    assert L.CrossEntropyLoss().weight is None
    ce.to(device)
    assert ce.weight.device == device
    x = mg.tensor(np.random.default_rng(0).standard_normal((2, 3)), device=device)
    t = mg.tensor([0, 2], device=device)
    _close(ce(x, t), _cpu(L.cross_entropy(x, t, ce.weight, label_smoothing=0.1)))
    assert "label_smoothing=0.1" in repr(ce)


def test_module_options_are_validated_at_construction():
    with pytest.raises(ValueError, match="reduction"):
        L.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="unknown reduction 'batch'.*'batchmean'"):
        L.KLDivLoss(reduction="batch")
    with pytest.raises(ValueError, match="reduction"):
        L.CrossEntropyLoss(reduction="batchmean")  # batchmean is KL divergence's only
    with pytest.raises(ValueError, match="delta"):
        L.HuberLoss(delta=0)
    with pytest.raises(ValueError, match="p = 1 and p = 2"):
        L.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.CrossEntropyLoss(label_smoothing=1.5)
    with pytest.raises(TypeError):
        L.MSELoss("sum")  # options are keyword-only: no silent misbinding


# ---------------------------------------------------------------------------------------------
# Bad input: a clear error naming the loss and what was wrong


# (name, fn(input, target)) for every loss whose target has the input's shape
SAME_SHAPE_LOSSES = [
    ("mse_loss", L.mse_loss), ("l1_loss", L.l1_loss), ("huber_loss", L.huber_loss),
    ("binary_cross_entropy", L.binary_cross_entropy),
    ("binary_cross_entropy_with_logits", L.binary_cross_entropy_with_logits),
    ("kl_div", L.kl_div), ("hinge_loss", L.hinge_loss),
]


def test_target_that_would_broadcast_is_an_error(device):
    x = mg.tensor(np.full(4, 0.5, np.float32), device=device)
    for name, fn in SAME_SHAPE_LOSSES:
        y = mg.tensor(np.ones((4, 1), np.float32), device=device)
        with pytest.raises(ValueError, match=rf"{name}.*\(4, 1\).*\(4,\)"):
            fn(x, y)
        with pytest.raises(ValueError, match=rf"{name}.*\(4,\).*\(4, 1\)"):
            fn(mg.tensor(np.full((4, 1), 0.5, np.float32), device=device),
               mg.tensor(np.ones(4, np.float32), device=device))


def test_unknown_reduction_is_an_error(device):
    x = mg.tensor(np.full((2, 3), 0.5, np.float32), device=device)
    t = mg.tensor([0, 1], device=device)
    calls = [(name, lambda r, fn=fn: fn(x, x, reduction=r)) for name, fn in SAME_SHAPE_LOSSES]
    calls += [("cross_entropy", lambda r: L.cross_entropy(x, t, reduction=r)),
              ("nll_loss", lambda r: L.nll_loss(x, t, reduction=r)),
              ("multi_margin_loss", lambda r: L.multi_margin_loss(x, t, reduction=r))]
    for name, call in calls:
        with pytest.raises(ValueError, match=rf"{name}: unknown reduction 'elementwise'"):
            call("elementwise")
        if name != "kl_div":
            with pytest.raises(ValueError, match="unknown reduction 'batchmean'"):
                call("batchmean")


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "multi_margin_loss"])
def test_class_index_out_of_range_is_an_error(loss, device):
    # On a GPU the range check rides on the loss's host read (minigrad.deferred: no device
    # sync per loss), as PyTorch's device-side assert surfaces at the next synchronization.
    call = getattr(L, loss)
    fn = call if device == "cpu" else (lambda *a, **k: call(*a, **k).item())
    x = mg.tensor(np.zeros((3, 4), np.float32), device=device)
    for bad in (4, -1, 100):
        t = mg.tensor([0, bad, 1], device=device)
        with pytest.raises(IndexError, match=rf"{loss}: target class {bad} is out of range "
                                             rf"for 4 classes"):
            fn(x, t)
    if loss != "multi_margin_loss":  # -100 is ignored, not out of range, but only as ignore_index
        fn(x, mg.tensor([0, -100, 1], device=device))
        with pytest.raises(IndexError, match="-100"):
            fn(x, mg.tensor([0, -100, 1], device=device), ignore_index=-1)


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss", "multi_margin_loss"])
def test_class_index_target_dtype_and_shape_errors(loss, device):
    fn = getattr(L, loss)
    x = mg.tensor(np.zeros((3, 4), np.float32), device=device)
    with pytest.raises(TypeError, match=rf"{loss}: class-index targets must be integers"):
        fn(x, mg.tensor(np.array([0.0, 1.0, 2.0], np.float32), device=device))
    with pytest.raises(TypeError, match="integers"):
        fn(x, mg.tensor(np.array([True, False, True]), device=device))
    with pytest.raises(ValueError, match=rf"{loss}.*\(3, 1\).*expected target shape \(3,\)"):
        fn(x, mg.tensor(np.zeros((3, 1), np.int64), device=device))
    with pytest.raises(ValueError, match=rf"{loss}: weight must have shape \(4,\)"):
        fn(x, mg.tensor([0, 1, 2], device=device),
           weight=mg.tensor(np.ones(3, np.float32), device=device))
    with pytest.raises(TypeError, match=rf"{loss}: input must be a floating-point"):
        fn(mg.tensor(np.zeros((3, 4), np.int64), device=device), mg.tensor([0, 1, 2],
                                                                          device=device))


def test_cross_entropy_probability_target_errors(device):
    x = mg.tensor(np.zeros((2, 3), np.float32), device=device)
    with pytest.raises(TypeError, match="cross_entropy: target must be a float32"):
        L.cross_entropy(x, mg.tensor(np.full((2, 3), 1 / 3), device=device))  # float64
    with pytest.raises(ValueError, match="ignore_index"):
        L.cross_entropy(x, mg.tensor(np.full((2, 3), 1 / 3, np.float32), device=device),
                        ignore_index=0)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(x, mg.tensor([0, 1], device=device), label_smoothing=-0.1)
    with pytest.raises(ValueError, match="0-d"):
        L.cross_entropy(mg.tensor(1.0, device=device), mg.tensor(0, device=device))


def test_bce_probabilities_outside_0_1_are_an_error(device):
    ok = mg.tensor(np.full(3, 0.5, np.float32), device=device)
    for bad in (1.5, -0.1, float("nan")):
        arr = mg.tensor(np.array([0.5, bad, 0.5], np.float32), device=device)
        with pytest.raises(ValueError, match="binary_cross_entropy: every input value must be "
                                             r"a probability in \[0, 1\]"):
            L.binary_cross_entropy(arr, ok)
        with pytest.raises(ValueError, match="binary_cross_entropy: every target value"):
            L.binary_cross_entropy(ok, arr)
        with pytest.raises(ValueError, match="binary_cross_entropy_with_logits: every target"):
            L.binary_cross_entropy_with_logits(ok, arr)
    L.binary_cross_entropy_with_logits(mg.tensor(np.array([-50.0, 50.0], np.float32),
                                                 device=device),
                                       mg.tensor(np.array([0.0, 1.0], np.float32),
                                                 device=device))  # logits may be anything


def test_float_target_dtype_errors(device):
    x = mg.tensor(np.full((2, 2), 0.5, np.float32), device=device)
    for name, fn in SAME_SHAPE_LOSSES:
        if name == "hinge_loss":
            continue
        with pytest.raises(TypeError, match=rf"{name}: target must be a float32 tensor.*"
                                            r"float64"):
            fn(x, mg.tensor(np.full((2, 2), 0.5), device=device))
        with pytest.raises(TypeError, match=rf"{name}: target must be a floating-point"):
            fn(x, mg.tensor(np.ones((2, 2), np.int64), device=device))
        with pytest.raises(TypeError, match=rf"{name}: target must be a Tensor"):
            fn(x, np.full((2, 2), 0.5, np.float32))


def test_weight_shape_errors_for_elementwise_weights(device):
    x = mg.tensor(np.full((2, 3), 0.5, np.float32), device=device)
    w = mg.tensor(np.ones((2, 3, 1), np.float32), device=device)  # would enlarge the result
    with pytest.raises(ValueError, match=r"binary_cross_entropy: weight of shape \(2, 3, 1\)"):
        L.binary_cross_entropy(x, x, w)
    with pytest.raises(ValueError, match="pos_weight of shape"):
        L.binary_cross_entropy_with_logits(x, x, pos_weight=mg.tensor(np.ones(2, np.float32),
                                                                      device=device))


def test_hinge_targets_must_be_plus_or_minus_one(device):
    x = mg.tensor(np.zeros(3, np.float32), device=device)
    for bad in ([1, 0, -1], [1.0, 0.5, -1.0], [2, 1, 1]):
        with pytest.raises(ValueError, match="hinge_loss: every target must be -1 or \\+1"):
            L.hinge_loss(x, mg.tensor(bad, device=device))
    with pytest.raises(TypeError, match="hinge_loss"):
        L.hinge_loss(x, mg.tensor([True, False, True], device=device))


def test_option_errors(device):
    x = mg.tensor(np.zeros((2, 3), np.float32), device=device)
    t = mg.tensor([0, 1], device=device)
    with pytest.raises(ValueError, match="huber_loss: delta must be positive"):
        L.huber_loss(x, x, delta=-1.0)
    with pytest.raises(ValueError, match="multi_margin_loss: only p = 1 and p = 2"):
        L.multi_margin_loss(x, t, p=3)
    with pytest.raises(ValueError, match="multi_margin_loss: input must be"):
        L.multi_margin_loss(mg.tensor(np.zeros((2, 3, 1), np.float32), device=device), t)
