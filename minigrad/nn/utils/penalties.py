r"""Regularization penalties to add to a loss: L1, L2 and elastic net.

Each takes the parameters to penalize (an iterable of tensors such as ``model.parameters()``,
or a single tensor) and returns a 0-d tensor built from differentiable Tensor ops, so
``loss = data_loss + lam * l2_penalty(model.parameters())`` backpropagates into the weights::

    l1_penalty(θ)               = Σ_p Σ_i |θ_p,i|
    l2_penalty(θ)               = Σ_p Σ_i θ_p,i²              (sum of squares: not halved, no root)
    elastic_net_penalty(θ, ρ)   = ρ · l1_penalty(θ) + (1 − ρ) · l2_penalty(θ)

L2 penalty and weight decay
---------------------------
The gradient of (λ/2) · l2_penalty(θ) is λ θ. Adding it to the loss therefore adds λ θ to every
gradient, which is exactly what ``SGD(..., weight_decay=λ)`` does: for plain SGD the two give
the same trajectory, θ_t = θ_{t-1} − γ (∇f(θ_{t-1}) + λ θ_{t-1}) = (1 − γλ) θ_{t-1} − γ ∇f,
a uniform shrink of every weight by the factor (1 − γλ) per step ("weight decay").

With Adam the penalty's gradient λ θ goes through the moment estimates and is divided by
√v̂ like the rest of the gradient, θ_t = θ_{t-1} − γ m̂_t / (√v̂_t + ε), so the decay is no
longer uniform: weights with large (or noisy) gradients are barely decayed, and a weight whose
only gradient is the penalty moves by about γ per step whatever its size (m̂/√v̂ ≈ sign(θ)),
instead of shrinking in proportion to it. (Adam's own ``weight_decay`` is this same coupled L2
penalty.) AdamW fixes it by decoupling the decay from the gradient: θ ← θ − γλθ, then the Adam
step on ∇f alone, which restores the uniform (1 − γλ) shrink. ``tests/test_nn_utils.py``
checks all three statements.
"""

from __future__ import annotations

import numbers

from ...tensor import Tensor
from ._tensors import tensor_list

__all__ = ["l1_penalty", "l2_penalty", "elastic_net_penalty"]


def l1_penalty(params) -> Tensor:
    """L1 penalty: the sum of absolute values of every entry of every tensor,
    Σ_p Σ_i |θ_p,i|. Its (sub)gradient is sign(θ) (0 at θ = 0).

    Args:
        params: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
    Returns:
        a 0-d tensor, differentiable with respect to every tensor in ``params``.
    """
    total = None
    for p in tensor_list(params, "l1_penalty", "params"):
        term = p.abs().sum()                       # Σ_i |θ_p,i|
        total = term if total is None else total + term
    return total


def l2_penalty(params) -> Tensor:
    """L2 penalty, defined as the plain sum of squares Σ_p Σ_i θ_p,i².

    Not halved (add ``(λ / 2) * l2_penalty(...)`` to get the gradient λθ that SGD's
    ``weight_decay=λ`` adds) and not a norm (no square root: ‖θ‖₂ = √l2_penalty(θ)).
    Its gradient is 2θ.

    Args:
        params: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
    Returns:
        a 0-d tensor, differentiable with respect to every tensor in ``params``.
    """
    total = None
    for p in tensor_list(params, "l2_penalty", "params"):
        term = (p * p).sum()                       # Σ_i θ_p,i²
        total = term if total is None else total + term
    return total


def elastic_net_penalty(params, l1_ratio: float = 0.5) -> Tensor:
    """Elastic-net penalty, defined here as ρ · Σ|θ| + (1 − ρ) · Σθ² with ρ = ``l1_ratio``:
    ``l1_ratio * l1_penalty(params) + (1 - l1_ratio) * l2_penalty(params)``.

    ρ = 1 is the L1 penalty, ρ = 0 the L2 penalty (sum of squares). Unlike scikit-learn's
    ElasticNet there is no overall strength α and no 1/2 on the squared term: multiply the
    result by your own strength.

    Args:
        params: a Tensor or an iterable of Tensors (e.g. ``model.parameters()``).
        l1_ratio: ρ in [0, 1].
    Returns:
        a 0-d tensor, differentiable with respect to every tensor in ``params``.
    """
    if isinstance(l1_ratio, bool) or not isinstance(l1_ratio, numbers.Real):
        raise TypeError(f"elastic_net_penalty: l1_ratio must be a number in [0, 1], "
                        f"got {type(l1_ratio).__name__}")
    rho = float(l1_ratio)  # a Python float: a NumPy float64 would upcast float32 penalties
    if not 0.0 <= rho <= 1.0:
        raise ValueError(f"elastic_net_penalty: l1_ratio must be in [0, 1], got {l1_ratio}")
    tensors = tensor_list(params, "elastic_net_penalty", "params")
    return rho * l1_penalty(tensors) + (1.0 - rho) * l2_penalty(tensors)
