"""Loss functions: the functional forms (``torch.nn.functional`` names) and their Modules.

Every loss takes ``reduction='mean'|'sum'|'none'`` (``KLDivLoss`` also ``'batchmean'``):
``'none'`` returns the per-element (or per-sample) losses ``l``, ``'sum'`` returns Σ l and
``'mean'`` the average, whose denominator each loss documents (for MSE it is the number of
elements, not the batch size; for weighted cross-entropy the sum of the target weights).

Conventions, the same for every loss:

- ``input`` and ``target`` are Tensors on one device. Options after ``target`` (and after
  ``weight`` where PyTorch has it third) are keyword-only, so a misplaced positional argument is
  an error instead of a silently different option.
- A target that should have the input's shape must have exactly that shape: an ``(N, 1)``
  target against an ``(N,)`` input would broadcast to ``(N, N)`` and give a wrong loss without
  any error, so it is refused, naming the loss and both shapes.
- Float targets must have the input's dtype (float32 in, float32 out); class-index targets must
  be integers, inside ``[0, C)`` (or equal to ``ignore_index``).
- Class weights (``weight`` of cross-entropy, NLL and multi-margin) are constants: they get no
  gradient (as in PyTorch). The elementwise ``weight`` and ``pos_weight`` of the BCE losses are
  multiplied in with Tensor ops, so they get one if they require it.

Where PyTorch lets the target be differentiated (MSE, L1, Huber, BCE, BCE-with-logits, KL
divergence, probability targets of cross-entropy), so does minigrad.

Where minigrad differs from PyTorch (each on purpose):

- no deprecated ``size_average``/``reduce`` arguments; options are keyword-only (see above);
- errors instead of broadcasting or promoting mismatched targets, and BCE-with-logits targets
  are checked to lie in [0, 1] like BCE's;
- BCE-with-logits is exact where PyTorch's formula cancels (logit -100, target 0 gives
  3.7e-44 rather than 0), and its ``pos_weight`` is differentiable;
- BCE's target gradient at a probability of exactly 0 or 1 is ±100, the slope of the clamped
  loss, where PyTorch's gives ±inf;
- ``kl_div(reduction='mean')`` does not warn (its docstring says why 'batchmean' is the KL).

``hinge_loss``/``HingeLoss`` is not in PyTorch: the binary SVM loss max(0, 1 - y·ŷ) for
targets y in {-1, +1}.
"""

from __future__ import annotations


from .. import backend
from ..backend import array_module
from ..functions.loss import BinaryCrossEntropy, SoftmaxCrossEntropy, Softplus
from ..tensor import Tensor, where
from .module import Module
from ._loss_checks import (_REDUCTIONS, _check_class_target, _check_device, _check_float_input,
                           _check_float_target, _check_probabilities, _check_reduction,
                           _check_same_shape, _check_tensor, _class_weight, _elementwise_weight,
                           _guarded, _reduce)

__all__ = [
    "mse_loss", "l1_loss", "huber_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "hinge_loss", "multi_margin_loss", "kl_div",
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "HingeLoss", "MultiMarginLoss", "KLDivLoss",
]

# ---------------------------------------------------------------------------------------------
# Regression losses


def mse_loss(input, target, *, reduction="mean"):
    """Mean squared error:  l = (x - y)²  elementwise.

    ``'mean'`` divides Σ l by the number of elements (every element, not the batch size).
    Gradients flow to both input and target.
    """
    _check_reduction("mse_loss", reduction)
    _check_float_target("mse_loss", input, target)
    diff = input - target
    return _reduce(diff * diff, reduction)


def l1_loss(input, target, *, reduction="mean"):
    """Mean absolute error:  l = |x - y|  elementwise (gradient sign(x - y), 0 at x = y).

    ``'mean'`` divides by the number of elements.
    """
    _check_reduction("l1_loss", reduction)
    _check_float_target("l1_loss", input, target)
    return _reduce((input - target).abs(), reduction)


def huber_loss(input, target, *, reduction="mean", delta=1.0):
    """Huber loss, quadratic near 0 and linear beyond ``delta`` (> 0), elementwise:

        d = x - y
        l = ½ d²                    if |d| < delta
        l = delta (|d| - ½ delta)   otherwise

    Both pieces and their slopes meet at |d| = delta. ``'mean'`` divides by the number of
    elements.
    """
    name = "huber_loss"
    _check_reduction(name, reduction)
    _check_float_target(name, input, target)
    if not delta > 0:
        raise ValueError(f"{name}: delta must be positive, got {delta}")
    delta = float(delta)
    d = input - target
    size = d.abs()
    quadratic = 0.5 * d * d
    linear = delta * (size - 0.5 * delta)
    return _reduce(where(size.data < delta, quadratic, linear), reduction)


# ---------------------------------------------------------------------------------------------
# Classification losses over C classes


def nll_loss(input, target, weight=None, *, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of log-probabilities ``input`` at class indices ``target``:

        l_n = -w[y_n] · x[n, y_n]   (0 where y_n = ignore_index)

    ``input`` is (N, C), (N, C, d1, ...) or unbatched (C,); ``target`` is the input's shape
    without the class dim ((N,), (N, d1, ...) or ()), integers in [0, C). ``weight`` (C,)
    rescales each class (default 1). ``'mean'`` is the weighted mean
    Σ l_n / Σ w[y_n], over the entries not ignored (nan if all are ignored, as in PyTorch).
    """
    name = "nll_loss"
    _check_reduction(name, reduction)
    _check_float_input(name, input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dim, got a 0-d tensor")
    class_dim = 0 if input.ndim == 1 else 1
    w = _class_weight(name, weight, input, input.shape[class_dim])
    counted, guard = _check_class_target(name, input, target, class_dim, ignore_index)
    return _guarded(_class_index_loss(input, target, w, counted, reduction, 0.0,
                                      fused_logits=False), guard)


def cross_entropy(input, target, weight=None, *, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross-entropy of logits ``input`` against class indices or class probabilities.

    With log-probabilities p = log_softmax(x) over the class dim (computed through the
    log-sum-exp, so no logit overflows), C classes and ε = ``label_smoothing``:

    **Class indices** ``target`` (the input's shape without the class dim, integers):

        l_n = (1 - ε) · (-w[y_n] p[n, y_n]) + (ε / C) · (-Σ_c w[c] p[n, c])
              (0 where y_n = ignore_index)

    and ``'mean'`` divides Σ l_n by Σ w[y_n] over the entries not ignored (the count of
    them without ``weight``), as PyTorch does for both terms.

    **Probabilities** ``target`` (the input's shape, floats; targets smoothed to
    q = (1 - ε) y + ε / C):

        l_n = -Σ_c w[c] q[n, c] p[n, c]

    and ``'mean'`` divides by the number of samples (N · d1 · ...), not by weights.
    ``ignore_index`` does not apply (an ignore_index ≥ 0 is an error).

    ``input`` is (N, C), (N, C, d1, ...) or unbatched (C,); the class dim is 1 (0 when
    unbatched). ``weight`` (C,) rescales each class.

    (N, C) logits with class indices and no smoothing, every classifier's hot path, go through
    one fused op (:class:`minigrad.functions.loss.SoftmaxCrossEntropy`, the same formula);
    everything else through ``log_softmax`` and one gather.
    """
    name = "cross_entropy"
    _check_reduction(name, reduction)
    _check_float_input(name, input)
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dim, got a 0-d tensor")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing must be in [0, 1], got {label_smoothing}")
    class_dim = 0 if input.ndim == 1 else 1
    classes = input.shape[class_dim]
    w = _class_weight(name, weight, input, classes)
    _check_tensor(name, "target", target)
    if target.shape == input.shape and target.dtype.kind == "f":
        return _probability_cross_entropy(input, target, w, class_dim, ignore_index, reduction,
                                          label_smoothing)
    counted, guard = _check_class_target(name, input, target, class_dim, ignore_index)
    return _guarded(_class_index_loss(input, target, w, counted, reduction, label_smoothing,
                                      fused_logits=True), guard)


def _probability_cross_entropy(input, target, w, class_dim, ignore_index, reduction, eps):
    """l_n = -Σ_c w[c] q[n, c] p[n, c],  q = (1 - ε) y + ε / C,  p = log_softmax(x)."""
    name = "cross_entropy"
    _check_float_target(name, input, target)
    if ignore_index >= 0:
        raise ValueError(f"{name}: ignore_index ({ignore_index}) does not apply to probability "
                         f"targets (a target of the input's shape {tuple(input.shape)})")
    classes = input.shape[class_dim]
    p = input.log_softmax(class_dim)
    q = target if eps == 0 else (1.0 - eps) * target + eps / classes
    terms = q * p
    if w is not None:
        # weight (C,) laid along the class dim: (C, 1, ..., 1) so it broadcasts over d1, ...
        terms = terms * Tensor._make(w.reshape((classes,) + (1,) * (input.ndim - class_dim - 1)))
    losses = -terms.sum(class_dim)
    return _reduce(losses, reduction)  # 'mean': over the N · d1 · ... samples


def _class_index_loss(input, target, w, counted, reduction, eps, fused_logits):
    """The class-index cross-entropy (``fused_logits``: input holds logits) or NLL (input holds
    log-probabilities), with class weights ``w`` (array or None) and the mask ``counted`` of
    entries not ignored (None: all count)."""
    xp = array_module(input.data)
    batched = input.ndim > 1
    t = target.data
    if not batched:  # (C,) with a 0-d target: as a batch of one
        input, t = input.reshape(1, -1), t.reshape(1)
        counted = None if counted is None else counted.reshape(1)
    classes = input.shape[1]
    if counted is not None:
        t = xp.where(counted, t, 0)  # ignored entries gather a valid class, masked below
    # w_n: each entry's weight w[y_n], 0 where ignored (None: every entry weighs 1).
    w_n = None if w is None else w[t]
    if counted is not None:
        w_n = counted.astype(input.dtype) if w_n is None else w_n * counted
    total = None  # the denominator of the weighted mean: Σ_n w_n
    nothing_counts = False
    if reduction == "mean" and w_n is not None:
        total = w_n.sum()
        if backend.is_device_array(total):
            # on a GPU, without a device sync: when nothing counts, divide by 1 (every c_n is
            # 0, so no entry gets a gradient) and add NaN to the value below
            nothing_counts = xp.where(total == 0, input.dtype.type(float("nan")),
                                      input.dtype.type(0))
            total = xp.where(total == 0, total.dtype.type(1), total)
        elif not bool(total):  # 0 / 0: nan, as in PyTorch, and no entry gets a gradient
            reduction, nothing_counts = "sum", True

    if fused_logits and input.ndim == 2 and eps == 0:
        # The classifier's hot path, logits (N, C): one fused op for log-softmax, gather and
        # reduction. Its per-entry coefficient c_n carries weights, the mask and the mean.
        if reduction == "mean":
            coef = 1.0 / input.shape[0] if w_n is None else w_n / total
        else:
            coef = 1.0 if w_n is None else w_n
        loss = SoftmaxCrossEntropy.apply(input, target=t, coef=coef, reduce=reduction != "none")
    else:
        logp = input.log_softmax(1) if fused_logits else input
        losses = -logp[_class_gather_index(xp, t)]  # -p[n, y_n, d1, ...]
        if w is not None:
            losses = losses * Tensor._make(w[t])  # w[y_n] p[n, y_n]
        if eps:
            if w is not None:  # Σ_c w[c] p[n, c, ...]: weight along dim 1
                logp = logp * Tensor._make(w.reshape((classes,) + (1,) * (input.ndim - 2)))
            smooth = -logp.sum(1)
            losses = (1.0 - eps) * losses + (eps / classes) * smooth
        if counted is not None:
            losses = where(counted, losses, 0.0)
        if reduction == "none":
            loss = losses
        elif reduction == "sum":
            loss = losses.sum()
        elif total is None:
            loss = losses.mean()
        else:  # weighted mean: divided by the total weight of the entries that count
            loss = losses.sum() / Tensor._make(xp.asarray(total, dtype=input.dtype))
    if nothing_counts is True:
        loss = loss + float("nan")
    elif nothing_counts is not False:  # the device's 0 or NaN
        loss = loss + Tensor._make(nothing_counts)
    if not batched and reduction == "none":
        loss = loss.reshape(())
    return loss


def _class_gather_index(xp, t):
    """The advanced index picking [n, t[n, d1, ...], d1, ...] out of an (N, C, d1, ...) array:
    one arange per non-class axis, shaped to broadcast against ``t``."""
    shape = t.shape
    axes = []
    for i, n in enumerate(shape):
        view = [1] * len(shape)
        view[i] = n
        axes.append(xp.arange(n).reshape(view))
    return (axes[0], t, *axes[1:])


def binary_cross_entropy(input, target, weight=None, *, reduction="mean"):
    """Binary cross-entropy of probabilities ``input`` (in [0, 1]) against targets in [0, 1]:

        l = -w · [y · max(log x, -100) + (1 - y) · max(log(1 - x), -100)]

    The logs are clamped at -100 as in PyTorch, so x = 0 or 1 costs at most 100 (never inf)
    and the gradient (x - y) / max(x (1 - x), 1e-12) stays finite. ``weight`` broadcasts to
    the input's shape. ``'mean'`` divides by the number of elements. Input or target outside
    [0, 1] is an error; prefer :func:`binary_cross_entropy_with_logits` on logits.
    """
    name = "binary_cross_entropy"
    _check_reduction(name, reduction)
    _check_float_target(name, input, target)
    _check_probabilities(name, "input", input)
    _check_probabilities(name, "target", target)
    losses = BinaryCrossEntropy.apply(input, target)
    if weight is not None:
        losses = losses * _elementwise_weight(name, "weight", weight, input, input.shape)
    return _reduce(losses, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, *, reduction="mean",
                                     pos_weight=None):
    """Binary cross-entropy of logits x (sigmoid applied inside) against targets y in [0, 1]:

        l = -w · [p · y · log σ(x) + (1 - y) · log(1 - σ(x))]
          =  w · [p · y · softplus(-x) + (1 - y) · softplus(x)]

    with softplus(z) = log(1 + e^z) = max(z, 0) + log1p(e^-|z|). For p = 1 this is the familiar
    max(x, 0) - x·y + log(1 + e^-|x|); the two-term form adds two non-negative numbers, so
    nothing cancels and it is exact even at logits of ±100 (softplus(-100) = 3.7e-44, not 0).

    ``pos_weight`` p weighs the positive term; it broadcasts against the target (a (C,) vector
    weighs each class of an (N, C) target). ``weight`` w broadcasts to the input's shape.
    ``'mean'`` divides by the number of elements. A target outside [0, 1] is an error.
    """
    name = "binary_cross_entropy_with_logits"
    _check_reduction(name, reduction)
    _check_float_target(name, input, target)
    _check_probabilities(name, "target", target)
    positive = Softplus.apply(-input)   # -log σ(x)
    negative = Softplus.apply(input)    # -log(1 - σ(x))
    if pos_weight is not None:
        pos_weight = _elementwise_weight(name, "pos_weight", pos_weight, input, target.shape)
        positive = pos_weight * positive
    losses = target * positive + (1.0 - target) * negative
    if weight is not None:
        losses = losses * _elementwise_weight(name, "weight", weight, input, input.shape)
    return _reduce(losses, reduction)


def hinge_loss(input, target, *, reduction="mean"):
    """Binary hinge (SVM) loss of scores ŷ against labels y in {-1, +1}, elementwise:

        l = max(0, 1 - y · ŷ)

    Not in PyTorch (its ``HingeEmbeddingLoss`` is a different loss). ``target`` has the
    input's shape and holds only -1 and +1 (integers or floats); anything else is an error.
    ``'mean'`` divides by the number of elements. The gradient is -y where y·ŷ < 1, else 0.
    """
    name = "hinge_loss"
    _check_reduction(name, reduction)
    _check_float_input(name, input)
    _check_tensor(name, "target", target)
    _check_device(name, "target", target, input)
    _check_same_shape(name, input, target)
    if target.dtype.kind not in "iuf":
        raise TypeError(f"{name}: target must hold -1 and +1 as integers or floats, "
                        f"got {target.dtype}")
    labels = target.data
    if not bool(((labels == 1) | (labels == -1)).all()):
        bad = labels[(labels != 1) & (labels != -1)]
        raise ValueError(f"{name}: every target must be -1 or +1, found {bad.ravel()[0].item()}")
    y = Tensor._make(labels.astype(input.dtype, copy=False))  # labels: constants, no gradient
    return _reduce((1.0 - y * input).relu(), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, *, reduction="mean"):
    """Multi-class hinge loss of scores x (N, C) (or unbatched (C,)) at class indices y:

        l_n = Σ_{i ≠ y_n} w[y_n] · max(0, margin - x[n, y_n] + x[n, i])^p / C

    with p = 1 or 2 and ``weight`` (C,) (default 1). ``'mean'`` divides by N.
    """
    name = "multi_margin_loss"
    _check_reduction(name, reduction)
    _check_float_input(name, input)
    if p not in (1, 2):
        raise ValueError(f"{name}: only p = 1 and p = 2 are supported, got {p!r}")
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: input must be (N, C) or (C,), got shape {tuple(input.shape)}")
    class_dim = input.ndim - 1
    classes = input.shape[class_dim]
    w = _class_weight(name, weight, input, classes)
    counted, guard = _check_class_target(name, input, target, class_dim)
    xp = array_module(input.data)
    x = input.reshape(-1, classes)
    t = target.data.reshape(-1)
    if counted is not None:  # on a GPU: out-of-range targets gather class 0, and guard is NaN
        t = xp.where(counted.reshape(-1), t, 0)
    rows = xp.arange(t.shape[0])
    x_y = x[rows, t].reshape(-1, 1)                      # x[n, y_n] as a column
    z = (margin - x_y + x).relu()                         # max(0, margin - x[n, y_n] + x[n, i])
    if p == 2:
        z = z * z
    others = xp.ones(x.shape, dtype=input.dtype)
    others[rows, t] = 0                                    # i ≠ y_n
    if w is not None:
        others *= w[t].reshape(-1, 1)                      # w[y_n]
    losses = (z * Tensor._make(others)).sum(1) * (1.0 / classes)
    if input.ndim == 1:
        losses = losses.reshape(())
    return _guarded(_reduce(losses, reduction), guard)


# ---------------------------------------------------------------------------------------------
# Distributions


def kl_div(input, target, *, reduction="mean", log_target=False):
    """Kullback-Leibler divergence of the target distribution from the input's, pointwise,
    with ``input`` the log-probabilities log q:

        l = y · (log y - log q)         (0 where y = 0)     if not log_target
        l = e^y · (y - log q)                                if log_target (y holds log-probs)

    Reductions: ``'batchmean'`` Σ l / N (N = input.shape[0]: the true KL divergence per
    sample), ``'sum'``, ``'none'``, and ``'mean'`` Σ l / (number of elements), which is
    PyTorch's default but not the KL divergence when there is more than one class.
    """
    name = "kl_div"
    _check_reduction(name, reduction, _REDUCTIONS + ("batchmean",))
    _check_float_target(name, input, target)
    if log_target:
        losses = target.exp() * (target - input)
    else:
        positive = target.data > 0
        # y · log y with 0 · log 0 = 0: take the log of 1 where y = 0 so nothing is -inf or nan.
        y_log_y = where(positive, target * where(positive, target, 1.0).log(), 0.0)
        losses = y_log_y - target * input
    if reduction == "batchmean":
        total = losses.sum()
        return total / input.shape[0] if input.ndim else total
    return _reduce(losses, reduction)


# ---------------------------------------------------------------------------------------------
# Modules: each holds its options (weights as buffers, so ``to()`` and ``state_dict`` carry
# them) and calls its functional form.


def _as_buffer(value):
    """A weight given as a Tensor, array or list, as a Tensor (None stays None)."""
    if value is None or isinstance(value, Tensor):
        return value
    return Tensor(value)


class _Loss(Module):
    def __init__(self, reduction="mean", allowed=_REDUCTIONS):
        super().__init__()
        _check_reduction(type(self).__name__, reduction, allowed)
        self.reduction = reduction

    def extra_repr(self):
        return f"reduction={self.reduction!r}"


class MSELoss(_Loss):
    """Mean squared error, l = (x - y)²; see :func:`mse_loss`."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return mse_loss(input, target, reduction=self.reduction)


class L1Loss(_Loss):
    """Mean absolute error, l = |x - y|; see :func:`l1_loss`."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return l1_loss(input, target, reduction=self.reduction)


class HuberLoss(_Loss):
    """Huber loss: ½ d² for |d| < delta, else delta (|d| - ½ delta); see :func:`huber_loss`."""

    def __init__(self, *, reduction="mean", delta=1.0):
        super().__init__(reduction)
        if not delta > 0:
            raise ValueError(f"HuberLoss: delta must be positive, got {delta}")
        self.delta = float(delta)

    def forward(self, input, target):
        return huber_loss(input, target, reduction=self.reduction, delta=self.delta)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, delta={self.delta}"


class CrossEntropyLoss(_Loss):
    """Cross-entropy of logits against class indices or probabilities, with class ``weight``
    (a buffer), ``ignore_index`` and ``label_smoothing``; see :func:`cross_entropy`."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean",
                 label_smoothing=0.0):
        super().__init__(reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"CrossEntropyLoss: label_smoothing must be in [0, 1], "
                             f"got {label_smoothing}")
        self.register_buffer("weight", _as_buffer(weight))
        self.ignore_index = int(ignore_index)
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target):
        return cross_entropy(input, target, self.weight, ignore_index=self.ignore_index,
                             reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self):
        return (f"reduction={self.reduction!r}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}")


class NLLLoss(_Loss):
    """Negative log-likelihood of log-probabilities at class indices, with class ``weight``
    (a buffer) and ``ignore_index``; see :func:`nll_loss`."""

    def __init__(self, weight=None, *, ignore_index=-100, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.ignore_index = int(ignore_index)

    def forward(self, input, target):
        return nll_loss(input, target, self.weight, ignore_index=self.ignore_index,
                        reduction=self.reduction)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, ignore_index={self.ignore_index}"


class BCELoss(_Loss):
    """Binary cross-entropy of probabilities, with elementwise ``weight`` (a buffer); see
    :func:`binary_cross_entropy`."""

    def __init__(self, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, input, target):
        return binary_cross_entropy(input, target, self.weight, reduction=self.reduction)


class BCEWithLogitsLoss(_Loss):
    """Binary cross-entropy of logits, stable at any logit, with ``weight`` and ``pos_weight``
    (buffers); see :func:`binary_cross_entropy_with_logits`."""

    def __init__(self, weight=None, *, reduction="mean", pos_weight=None):
        super().__init__(reduction)
        self.register_buffer("weight", _as_buffer(weight))
        self.register_buffer("pos_weight", _as_buffer(pos_weight))

    def forward(self, input, target):
        return binary_cross_entropy_with_logits(input, target, self.weight,
                                                reduction=self.reduction,
                                                pos_weight=self.pos_weight)


class HingeLoss(_Loss):
    """Binary hinge loss max(0, 1 - y·ŷ) for labels in {-1, +1} (not in PyTorch); see
    :func:`hinge_loss`."""

    def __init__(self, *, reduction="mean"):
        super().__init__(reduction)

    def forward(self, input, target):
        return hinge_loss(input, target, reduction=self.reduction)


class MultiMarginLoss(_Loss):
    """Multi-class hinge loss with ``p`` (1 or 2), ``margin`` and class ``weight`` (a buffer);
    see :func:`multi_margin_loss`."""

    def __init__(self, p=1, margin=1.0, weight=None, *, reduction="mean"):
        super().__init__(reduction)
        if p not in (1, 2):
            raise ValueError(f"MultiMarginLoss: only p = 1 and p = 2 are supported, got {p!r}")
        self.p = p
        self.margin = float(margin)
        self.register_buffer("weight", _as_buffer(weight))

    def forward(self, input, target):
        return multi_margin_loss(input, target, self.p, self.margin, self.weight,
                                 reduction=self.reduction)

    def extra_repr(self):
        return f"p={self.p}, margin={self.margin}, reduction={self.reduction!r}"


class KLDivLoss(_Loss):
    """KL divergence with input log-probabilities, ``reduction`` including ``'batchmean'``
    and ``log_target``; see :func:`kl_div`."""

    def __init__(self, *, reduction="mean", log_target=False):
        super().__init__(reduction, _REDUCTIONS + ("batchmean",))
        self.log_target = bool(log_target)

    def forward(self, input, target):
        return kl_div(input, target, reduction=self.reduction, log_target=self.log_target)

    def extra_repr(self):
        return f"reduction={self.reduction!r}, log_target={self.log_target}"
