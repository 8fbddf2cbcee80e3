"""Adam and AdamW: adaptive moment estimation, with L2 or decoupled weight decay and AMSGrad."""

from __future__ import annotations

import math

from .optimizer import Optimizer, check_range

__all__ = ["Adam", "AdamW"]


class Adam(Optimizer):
    r"""Adam (Kingma and Ba, 2015), optionally AMSGrad: PyTorch's ``torch.optim.Adam``.

    With γ = ``lr``, (β₁, β₂) = ``betas``, ε = ``eps``, λ = ``weight_decay``, starting from
    m_0 = 0, v_0 = 0, v_0^max = 0, at each step t = 1, 2, ...::

        g_t ← ∇f(θ_{t-1})                 (−∇f(θ_{t-1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t-1}                  (L2 decay, inside the moments)
        m_t ← β₁ m_{t-1} + (1 − β₁) g_t                   (first moment: mean of gradients)
        v_t ← β₂ v_{t-1} + (1 − β₂) g_t²                  (second moment: mean of squares)
        m̂_t ← m_t / (1 − β₁^t)                            (bias corrections: m_0 = v_0 = 0
        if amsgrad:                                         pulls early estimates to zero)
            v_t^max ← max(v_{t-1}^max, v_t)
            v̂_t ← v_t^max / (1 − β₂^t)
        else:
            v̂_t ← v_t / (1 − β₂^t)
        θ_t ← θ_{t-1} − γ m̂_t / (√v̂_t + ε)

    State per parameter: ``step`` (t), ``exp_avg`` (m), ``exp_avg_sq`` (v) and, with amsgrad,
    ``max_exp_avg_sq`` (v^max): two arrays the size of the parameter, three with amsgrad.

    With Adam, ``weight_decay`` is an L2 penalty added to the gradient, so it is divided by
    √v̂ like the rest of the gradient: parameters with large gradients are barely decayed.
    :class:`AdamW` decouples the decay from the gradient instead.

    Args:
        params: an iterable of Parameters, or of dicts defining parameter groups.
        lr: γ ≥ 0 (default 1e-3).
        betas: (β₁, β₂), each in [0, 1) (default (0.9, 0.999)).
        eps: ε ≥ 0 (default 1e-8).
        weight_decay: λ ≥ 0 (default 0).
        amsgrad: use the running maximum of v (Reddi et al., 2018).
        maximize: ascend the objective instead of descending it.
    """

    _decoupled = False  # AdamW: the weight decay acts on θ directly

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, *, maximize=False):
        defaults = dict(lr=lr, betas=_pair(betas), eps=eps, weight_decay=weight_decay,
                        amsgrad=bool(amsgrad), maximize=bool(maximize))
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = type(self).__name__
        for key in ("lr", "eps", "weight_decay"):
            if key in group:
                check_range(name, key, group[key])
        if "betas" in group:
            betas = group["betas"]
            if not isinstance(betas, (tuple, list)) or len(betas) != 2:
                raise ValueError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
            check_range(name, "betas[0]", betas[0], 0.0, 1.0, high_open=True)
            check_range(name, "betas[1]", betas[1], 0.0, 1.0, high_open=True)

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            beta1, beta2 = float(group["betas"][0]), float(group["betas"][1])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            amsgrad = group["amsgrad"]
            maximize = group["maximize"]
            for p, grad, theta, xp, buf in self._parameters_to_update(group):
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["exp_avg"] = self._state_like(theta)
                    state["exp_avg_sq"] = self._state_like(theta)
                if amsgrad and "max_exp_avg_sq" not in state:
                    state["max_exp_avg_sq"] = self._state_like(theta)
                state["step"] += 1
                t = state["step"]
                coupled_decay = weight_decay                    # Adam: g_t ← g_t + λ θ
                if self._decoupled:
                    coupled_decay = 0.0
                    if weight_decay != 0:
                        theta *= 1.0 - lr * weight_decay        # AdamW: θ ← θ − γ λ θ
                # m_t ← β₁ m_{t-1} + (1 − β₁) g_t
                g = self._signed_decayed_grad(grad, theta, coupled_decay, maximize, buf)
                m = state["exp_avg"].data
                m *= beta1
                m += xp.multiply(g, 1.0 - beta1, out=buf)
                # v_t ← β₂ v_{t-1} + (1 − β₂) g_t²   (g_t is formed again where it lived in buf:
                # two cheap passes instead of a second parameter-sized buffer)
                g = self._signed_decayed_grad(grad, theta, coupled_decay, maximize, buf)
                v = state["exp_avg_sq"].data
                v *= beta2
                g2 = xp.multiply(g, g, out=buf)
                v += xp.multiply(g2, 1.0 - beta2, out=buf)
                bias_correction1 = 1.0 - beta1 ** t             # Python floats: no upcast
                bias_correction2 = 1.0 - beta2 ** t
                if amsgrad:
                    v_max = state["max_exp_avg_sq"].data
                    xp.maximum(v_max, v, out=v_max)             # v_t^max ← max(v_{t-1}^max, v_t)
                    v = v_max
                # √v̂_t + ε = √v_t / √(1 − β₂^t) + ε
                denom = xp.sqrt(v, out=buf)
                denom *= 1.0 / math.sqrt(bias_correction2)
                denom += eps
                # θ_t ← θ_{t-1} − γ m̂_t / (√v̂_t + ε), with m̂_t = m_t / (1 − β₁^t)
                step = xp.divide(m, denom, out=buf)
                step *= lr / bias_correction1
                theta -= step
                p._bump_version()
        return loss


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov and Hutter, 2019): ``torch.optim.AdamW``.

    The same as :class:`Adam` except for the weight decay, which shrinks θ directly instead of
    being added to the gradient, so the adaptive scaling 1/√v̂ does not weaken it::

        g_t ← ∇f(θ_{t-1})                 (−∇f(θ_{t-1}) if maximize)
        θ_t ← θ_{t-1} − γ λ θ_{t-1}                       (decoupled weight decay)
        m_t ← β₁ m_{t-1} + (1 − β₁) g_t
        v_t ← β₂ v_{t-1} + (1 − β₂) g_t²
        m̂_t ← m_t / (1 − β₁^t)
        v̂_t ← v_t / (1 − β₂^t)        (v_t^max / (1 − β₂^t) with amsgrad, as in Adam)
        θ_t ← θ_t − γ m̂_t / (√v̂_t + ε)

    Args are Adam's; ``weight_decay`` defaults to 1e-2.
    """

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, *, maximize=False):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                         amsgrad=amsgrad, maximize=maximize)


def _pair(betas):
    """betas as a tuple (a list is accepted: JSON round trips turn tuples into lists)."""
    return tuple(betas) if isinstance(betas, list) else betas
