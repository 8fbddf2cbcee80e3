"""Attributions: which inputs a model's output depends on, with Captum's class names and its
``attribute(inputs, baselines=None, target=None, ...)`` calls (Captum is the reference for the
definitions; it is never imported).

With f the model, t the target output (``target``: a class index, one per example, or None for
a model with one output per example), x the input and x' the baseline:

- :class:`Saliency`: the input gradient ∂f_t/∂x (its absolute value with ``abs=True``).
- :class:`NoiseTunnel` (SmoothGrad): the mean attribution over x + ε, ε ~ N(0, σ²), ``nt_samples``
  times; 'smoothgrad_sq' averages the squares, 'vargrad' takes the variance.
- :class:`IntegratedGradients`: (x − x') ⊙ ∫₀¹ ∂f_t/∂x (x' + α (x − x')) dα, the integral by
  a quadrature rule: Gauss-Legendre (default, as Captum) or Riemann sums (left, right, middle,
  trapezoid). Completeness says Σ attributions = f_t(x) − f_t(x'); the gap (Captum's
  convergence delta) Σ attributions − (f_t(x) − f_t(x')) shows the quadrature's error.
- :class:`Occlusion`: slide a window over each example, replace it by the baseline, and give
  every element of the window f_t(x) − f_t(x with the window replaced); each element gets the
  mean over the windows that covered it.
- :class:`FeaturePermutation`: per feature, f_t(x) − f_t(x with that feature permuted across
  the batch), per example; :func:`permutation_importance` is scikit-learn's dataset-level form
  (the drop of a score when one column is shuffled, ``n_repeats`` times).

Gradients come from minigrad's own backward; the model is used as it is (call
``model.eval()`` first when it has dropout or batch norm). Inputs are Tensors on any device.
"""

from __future__ import annotations

import math

import numpy as np  # host-side only: quadrature nodes and permutation indices, tabular scores

from . import backend
from .autograd import enable_grad, no_grad
from .tensor import Tensor

__all__ = [
    "FeaturePermutation",
    "IntegratedGradients",
    "NoiseTunnel",
    "Occlusion",
    "Saliency",
    "SmoothGrad",
    "approximation_parameters",
    "permutation_importance",
]


def _check_inputs(owner, inputs):
    if not isinstance(inputs, Tensor):
        raise TypeError(f"{owner}.attribute: inputs must be a Tensor, got "
                        f"{type(inputs).__name__}")
    if inputs.dtype.kind != "f":
        raise TypeError(f"{owner}.attribute: inputs must be floating point, got {inputs.dtype}")
    if inputs.ndim < 1 or inputs.shape[0] == 0:
        raise ValueError(f"{owner}.attribute: inputs must have a batch dimension with at least "
                         f"one example, got shape {tuple(inputs.shape)}")


def _select(owner, output, target, n):
    """f_t per example: (n,) from the model's output (n,), (n, 1) or (n, C) and ``target``."""
    if output.ndim == 1 or (output.ndim == 2 and output.shape[1] == 1 and target is None):
        if target is not None:
            raise ValueError(f"{owner}: the model has one output per example, so target must "
                             f"be None, got {target!r}")
        return output.reshape(n)
    if output.ndim != 2:
        raise ValueError(f"{owner}: expected model outputs of shape (N,) or (N, C), got "
                         f"{tuple(output.shape)}")
    classes = output.shape[1]
    if target is None:
        raise ValueError(f"{owner}: the model has {classes} outputs per example: give target "
                         f"(a class index, or one per example)")
    targets = _target_list(owner, target, n)
    if any(not 0 <= t < classes for t in targets):
        raise ValueError(f"{owner}: target {targets} out of range for {classes} outputs")
    xp = backend.array_module(output.data)
    with backend.on_device(output.device):
        rows = xp.arange(n)
        columns = xp.asarray(targets)
    return output[rows, columns]


def _target_list(owner, target, n) -> list:
    """``target`` as a Python list of n class indices (host metadata)."""
    if isinstance(target, Tensor):
        target = target.tolist()
    if isinstance(target, (int, np.integer)):
        return [int(target)] * n
    target = [int(t) for t in target]
    if len(target) != n:
        raise ValueError(f"{owner}: got {len(target)} targets for {n} examples")
    return target


def _repeat_target(target, times):
    """The target of a batch repeated ``times`` times (examples in the same order each time)."""
    if target is None or isinstance(target, (int, np.integer)):
        return target
    return _target_list("attribute", target, len(target) if not isinstance(target, Tensor)
                        else target.shape[0]) * times


def _gradient(owner, forward, inputs, target):
    """(∂ Σ_n f_t(x_n) / ∂x, f_t(x)): each example's output depends on its own input only, so
    one backward of the sum gives every example's gradient."""
    x = inputs.detach().requires_grad_()
    with enable_grad():
        selected = _select(owner, forward(x), target, x.shape[0])
        selected.sum().backward()
    return x.grad, selected.detach()


def _forward_selected(owner, forward, inputs, target):
    with no_grad():
        return _select(owner, forward(inputs), target, inputs.shape[0])


class Saliency:
    """Saliency (Simonyan et al., 2014): the gradient of the target output with respect to the
    input, ``|∂f_t/∂x|`` with ``abs=True`` (Captum's default)."""

    def __init__(self, forward_func):
        self.forward_func = forward_func

    def attribute(self, inputs, target=None, abs=True):
        _check_inputs("Saliency", inputs)
        grad, _ = _gradient("Saliency", self.forward_func, inputs, target)
        return grad.abs() if abs else grad


class NoiseTunnel:
    """Average another attribution method over noisy copies of the input (SmoothGrad,
    Smilkov et al., 2017): x + ε, ε ~ N(0, stdevs²), ``nt_samples`` draws from minigrad's
    generator of the input's device. ``nt_type``: 'smoothgrad' (mean), 'smoothgrad_sq' (mean
    of squares) or 'vargrad' (variance)."""

    _TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")

    def __init__(self, attribution_method):
        self.attribution_method = attribution_method

    def attribute(self, inputs, nt_type="smoothgrad", nt_samples=5, stdevs=1.0, **kwargs):
        import minigrad as mg

        _check_inputs("NoiseTunnel", inputs)
        if nt_type not in self._TYPES:
            raise ValueError(f"NoiseTunnel.attribute: nt_type must be one of "
                             f"{', '.join(self._TYPES)}, got {nt_type!r}")
        if not isinstance(nt_samples, int) or nt_samples < 1:
            raise ValueError(f"NoiseTunnel.attribute: nt_samples must be a positive integer, "
                             f"got {nt_samples!r}")
        total = total_sq = None
        for _ in range(nt_samples):
            noise = mg.randn(*inputs.shape, dtype=inputs.dtype, device=inputs.device)
            a = self.attribution_method.attribute(inputs.detach() + float(stdevs) * noise,
                                                  **kwargs).detach()
            total = a if total is None else total + a
            total_sq = a * a if total_sq is None else total_sq + a * a
        mean, mean_sq = total * (1.0 / nt_samples), total_sq * (1.0 / nt_samples)
        if nt_type == "smoothgrad":
            return mean
        if nt_type == "smoothgrad_sq":
            return mean_sq
        return mean_sq - mean * mean           # vargrad: E[a²] − E[a]²


def SmoothGrad(forward_func, inputs, target=None, nt_samples=25, stdevs=0.15, abs=False):
    """SmoothGrad of the plain gradient: ``NoiseTunnel(Saliency(f)).attribute(...)``."""
    return NoiseTunnel(Saliency(forward_func)).attribute(
        inputs, nt_type="smoothgrad", nt_samples=nt_samples, stdevs=stdevs, target=target,
        abs=abs)


def approximation_parameters(method: str, n_steps: int):
    """(step sizes, alphas) of a quadrature rule for ∫₀¹ g(α) dα ≈ Σ_k step_k g(α_k), as
    Python floats: 'gausslegendre' (the Legendre nodes and weights mapped from [−1, 1] to
    [0, 1]), 'riemann_left', 'riemann_right', 'riemann_middle', 'riemann_trapezoid'."""
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"approximation_parameters: n_steps must be a positive integer, "
                         f"got {n_steps!r}")
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n_steps)
        return [float(0.5 * w) for w in weights], [float(0.5 * (1 + x)) for x in nodes]
    if method == "riemann_trapezoid":
        if n_steps < 2:
            raise ValueError("approximation_parameters: riemann_trapezoid needs n_steps >= 2")
        h = 1.0 / (n_steps - 1)
        return ([h / 2] + [h] * (n_steps - 2) + [h / 2], [k * h for k in range(n_steps)])
    offsets = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}
    if method not in offsets:
        raise ValueError(f"approximation_parameters: unknown method {method!r}; expected "
                         f"gausslegendre, riemann_left, riemann_right, riemann_middle or "
                         f"riemann_trapezoid")
    h = 1.0 / n_steps
    return [h] * n_steps, [(k + offsets[method]) * h for k in range(n_steps)]


def _baseline_like(owner, baselines, inputs):
    """The baseline as a Tensor of the inputs' shape: zeros (None), a number, or a Tensor that
    broadcasts to the inputs (one per example, or one for all)."""
    if baselines is None:
        baselines = 0.0
    if isinstance(baselines, (int, float)):
        return inputs.detach() * 0.0 + float(baselines)
    if not isinstance(baselines, Tensor):
        raise TypeError(f"{owner}.attribute: baselines must be None, a number or a Tensor, got "
                        f"{type(baselines).__name__}")
    try:
        return inputs.detach() * 0.0 + baselines.detach()
    except ValueError:
        raise ValueError(f"{owner}.attribute: baselines of shape {tuple(baselines.shape)} do "
                         f"not broadcast to inputs {tuple(inputs.shape)}") from None


class IntegratedGradients:
    """Integrated gradients (Sundararajan et al., 2017)::

        IG_i(x) = (x_i − x'_i) · ∫₀¹ ∂f_t/∂x_i (x' + α (x − x')) dα
                ≈ (x_i − x'_i) · Σ_k step_k · ∂f_t/∂x_i (x' + α_k (x − x'))

    with the nodes α_k and weights step_k of ``method`` (:func:`approximation_parameters`).
    ``internal_batch_size`` bounds how many scaled inputs go through the model at once (default:
    all n_steps · N).
    """

    def __init__(self, forward_func, multiply_by_inputs=True):
        self.forward_func = forward_func
        self.multiply_by_inputs = multiply_by_inputs

    def attribute(self, inputs, baselines=None, target=None, n_steps=50,
                  method="gausslegendre", internal_batch_size=None,
                  return_convergence_delta=False):
        """Attributions shaped like ``inputs`` (and, with ``return_convergence_delta``, the
        completeness gap per example). ``baselines``: None (zeros), a number or a Tensor
        broadcasting to the inputs; ``target``: a class index or one per example (None for
        one output per example); ``method``: see :func:`approximation_parameters`."""
        _check_inputs("IntegratedGradients", inputs)
        steps, alphas = approximation_parameters(method, n_steps)
        baseline = _baseline_like("IntegratedGradients", baselines, inputs)
        x = inputs.detach()
        difference = x - baseline
        n = x.shape[0]
        per_call = max(1, (internal_batch_size or n * n_steps) // n)   # alphas per forward
        total = None
        for start in range(0, n_steps, per_call):
            chunk = list(range(start, min(start + per_call, n_steps)))
            scaled = _stack([baseline + alphas[k] * difference for k in chunk])
            grad, _ = _gradient("IntegratedGradients", self.forward_func, scaled,
                                _repeat_target(target, len(chunk)))
            grad = grad.reshape(len(chunk), *x.shape)
            for j, k in enumerate(chunk):
                term = grad[j] * steps[k]          # step_k · ∂f_t/∂x at α_k
                total = term if total is None else total + term
        attributions = total * difference if self.multiply_by_inputs else total
        if not return_convergence_delta:
            return attributions
        return attributions, self.compute_convergence_delta(attributions, baseline, x, target)

    def compute_convergence_delta(self, attributions, start_point, end_point, target=None):
        """Σ attributions − (f_t(end_point) − f_t(start_point)) per example: the completeness
        gap, 0 for exact integration."""
        start_point = _baseline_like("IntegratedGradients", start_point, end_point)
        f_end = _forward_selected("IntegratedGradients", self.forward_func, end_point, target)
        f_start = _forward_selected("IntegratedGradients", self.forward_func, start_point,
                                    target)
        n = attributions.shape[0]
        return attributions.detach().reshape(n, -1).sum(1) - (f_end - f_start)


def _stack(tensors):
    import minigrad as mg
    with no_grad():
        return mg.cat(tensors, dim=0)


class Occlusion:
    """Occlusion (Zeiler and Fergus, 2014): slide a window of ``sliding_window_shapes`` (the
    shape of one example, or of its trailing dims) with ``strides`` over each example, set it
    to the baseline, and give every covered element f_t(x) − f_t(occluded); each element gets
    the mean over the windows that covered it (0 if none did). The last window of each dim is
    moved back to end at the border, so every element is covered."""

    def __init__(self, forward_func):
        self.forward_func = forward_func

    def attribute(self, inputs, sliding_window_shapes, strides=None, baselines=None,
                  target=None):
        """Attributions shaped like ``inputs``; ``strides`` an int or one per window dim
        (default 1); ``baselines`` as for :class:`IntegratedGradients` (default 0)."""
        _check_inputs("Occlusion", inputs)
        example = tuple(inputs.shape[1:])
        window = tuple(sliding_window_shapes)
        if len(window) > len(example) or any(
                w < 1 or w > s for w, s in zip(window, example[len(example) - len(window):])):
            raise ValueError(f"Occlusion.attribute: sliding_window_shapes {window} do not fit "
                             f"examples of shape {example}")
        window = example[:len(example) - len(window)] + window  # leading dims: whole
        if strides is None:
            strides = (1,) * len(window)
        elif isinstance(strides, int):
            strides = (strides,) * len(window)
        strides = (1,) * (len(window) - len(strides)) + tuple(strides)
        x = inputs.detach()
        baseline = _baseline_like("Occlusion", baselines, x)
        xp = backend.array_module(x.data)
        reference = _forward_selected("Occlusion", self.forward_func, x, target).data
        total = xp.zeros(x.shape, dtype=x.dtype)
        counts = xp.zeros(example, dtype=x.dtype)
        for region in _windows(example, window, strides):
            occluded = x.data.copy()
            occluded[(slice(None),) + region] = baseline.data[(slice(None),) + region]
            value = _forward_selected("Occlusion", self.forward_func, Tensor._make(occluded),
                                      target).data
            drop = (reference - value).reshape((-1,) + (1,) * len(example))
            total[(slice(None),) + region] += drop
            counts[region] += 1
        return Tensor._make(total / xp.maximum(counts, 1))


def _windows(shape, window, strides):
    """Every window position as a tuple of slices (host-side loop over positions)."""
    starts = []
    for size, w, s in zip(shape, window, strides):
        positions = list(range(0, size - w + 1, s))
        if positions[-1] != size - w:
            positions.append(size - w)
        starts.append(positions)
    for corner in np.ndindex(*[len(p) for p in starts]):
        yield tuple(slice(starts[d][i], starts[d][i] + window[d]) for d, i in enumerate(corner))


class FeaturePermutation:
    """Permutation feature attribution (Captum's FeaturePermutation): for each feature (each
    element of an example, or each group of ``feature_mask``, an integer Tensor of one
    example's shape), f_t(x) − f_t(x with that feature permuted across the batch), per
    example. The permutations come from a NumPy generator seeded with ``seed``."""

    def __init__(self, forward_func):
        self.forward_func = forward_func

    def attribute(self, inputs, target=None, feature_mask=None, seed=0):
        _check_inputs("FeaturePermutation", inputs)
        n = inputs.shape[0]
        if n < 2:
            raise ValueError("FeaturePermutation.attribute: permuting across the batch needs "
                             "at least 2 examples")
        x = inputs.detach()
        xp = backend.array_module(x.data)
        example = tuple(x.shape[1:])
        if feature_mask is None:
            groups = np.arange(math.prod(example)).reshape(example)
        else:
            groups = np.asarray(feature_mask.tolist()).reshape(example)
        rng = np.random.default_rng(seed)
        reference = _forward_selected("FeaturePermutation", self.forward_func, x, target).data
        out = xp.zeros(x.shape, dtype=x.dtype)
        for group in np.unique(groups):
            mask_host = groups == group
            mask = backend.to_device(mask_host, x.device)
            order = backend.to_device(rng.permutation(n), x.device)
            permuted = xp.where(mask[None], x.data[order], x.data)
            value = _forward_selected("FeaturePermutation", self.forward_func,
                                      Tensor._make(permuted), target).data
            drop = (reference - value).reshape((-1,) + (1,) * len(example))
            out += drop * mask[None].astype(x.dtype)
        return Tensor._make(out)


def permutation_importance(predict, X, y, scoring, n_repeats=5, seed=0):
    """scikit-learn's permutation importance of a tabular model: for each column j,
    ``score(y, predict(X)) − score(y, predict(X with column j shuffled))``, ``n_repeats``
    times. ``predict`` maps a (N, F) NumPy array to predictions (a NumPy array), ``scoring``
    is ``f(y_true, y_pred) -> float`` (higher is better). Returns a dict with
    ``importances_mean``, ``importances_std`` (F,) and ``importances`` (F, n_repeats)."""
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"permutation_importance: X must be (N, F), got shape {X.shape}")
    rng = np.random.default_rng(seed)
    baseline = float(scoring(y, predict(X)))
    importances = np.zeros((X.shape[1], n_repeats))
    for j in range(X.shape[1]):
        for r in range(n_repeats):
            shuffled = X.copy()
            shuffled[:, j] = X[rng.permutation(len(X)), j]
            importances[j, r] = baseline - float(scoring(y, predict(shuffled)))
    return {"importances_mean": importances.mean(axis=1),
            "importances_std": importances.std(axis=1), "importances": importances}
