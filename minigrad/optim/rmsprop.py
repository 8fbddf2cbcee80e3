"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

from .optimizer import Optimizer, check_range

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""RMSprop (Hinton), with optional centering and momentum: PyTorch's ``torch.optim.RMSprop``.

    With γ = ``lr``, α = ``alpha``, ε = ``eps``, λ = ``weight_decay``, μ = ``momentum``, starting
    from v_0 = 0, g^ave_0 = 0, b_0 = 0, at each step t = 1, 2, ...::

        g_t ← ∇f(θ_{t-1})                 (−∇f(θ_{t-1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t-1}
        v_t ← α v_{t-1} + (1 − α) g_t²                   (running mean of squared gradients)
        ṽ_t ← v_t
        if centered:
            g^ave_t ← α g^ave_{t-1} + (1 − α) g_t         (running mean of gradients)
            ṽ_t ← ṽ_t − (g^ave_t)²                        (so ṽ estimates the variance)
        if μ > 0:
            b_t ← μ b_{t-1} + g_t / (√ṽ_t + ε)
            θ_t ← θ_{t-1} − γ b_t
        else:
            θ_t ← θ_{t-1} − γ g_t / (√ṽ_t + ε)

    As in PyTorch, ε is added after the square root. State per parameter: ``step``,
    ``square_avg`` (v), and ``momentum_buffer`` (b) when μ > 0, ``grad_avg`` (g^ave) when
    centered.

    Args:
        params: an iterable of Parameters, or of dicts defining parameter groups.
        lr: γ ≥ 0 (default 0.01).
        alpha: the smoothing constant α in [0, 1] (default 0.99).
        eps: ε ≥ 0 (default 1e-8).
        weight_decay: λ ≥ 0 (default 0).
        momentum: μ ≥ 0 (default 0).
        centered: divide by the estimated standard deviation instead of the RMS.
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, *, maximize=False):
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                        momentum=momentum, centered=bool(centered), maximize=bool(maximize))
        super().__init__(params, defaults)

    def _check_group(self, group):
        for name in ("lr", "eps", "weight_decay", "momentum"):
            if name in group:
                check_range("RMSprop", name, group[name])
        if "alpha" in group:
            check_range("RMSprop", "alpha", group["alpha"], 0.0, 1.0)

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            alpha = float(group["alpha"])
            eps = float(group["eps"])
            weight_decay = float(group["weight_decay"])
            momentum = float(group["momentum"])
            centered = group["centered"]
            maximize = group["maximize"]
            for p, grad, theta, xp, buf in self._parameters_to_update(group):
                state = self.state[p]
                if "step" not in state:
                    state["step"] = 0
                    state["square_avg"] = self._state_like(theta)
                if momentum > 0 and "momentum_buffer" not in state:
                    state["momentum_buffer"] = self._state_like(theta)
                if centered and "grad_avg" not in state:
                    state["grad_avg"] = self._state_like(theta)
                state["step"] += 1
                # g_t ← ±∇f(θ_{t-1}) + λ θ_{t-1}; g_t is needed again at the end, so when it
                # differs from the gradient it gets its own buffer
                g = grad
                if weight_decay != 0 or maximize:
                    g = self._signed_decayed_grad(grad, theta, weight_decay, maximize,
                                                  self._scratch(theta, slot=1))
                # v_t ← α v_{t-1} + (1 − α) g_t²
                v = state["square_avg"].data
                v *= alpha
                g2 = xp.multiply(g, g, out=buf)
                v += xp.multiply(g2, 1.0 - alpha, out=buf)
                if centered:
                    # g^ave_t ← α g^ave_{t-1} + (1 − α) g_t
                    g_ave = state["grad_avg"].data
                    g_ave *= alpha
                    g_ave += xp.multiply(g, 1.0 - alpha, out=buf)
                    # ṽ_t ← v_t − (g^ave_t)²
                    v_tilde = xp.subtract(v, xp.multiply(g_ave, g_ave, out=buf), out=buf)
                    denom = xp.sqrt(v_tilde, out=buf)
                else:
                    denom = xp.sqrt(v, out=buf)
                denom += eps                                    # √ṽ_t + ε
                step = xp.divide(g, denom, out=buf)             # g_t / (√ṽ_t + ε)
                if momentum > 0:
                    b = state["momentum_buffer"].data
                    b *= momentum                               # b_t ← μ b_{t-1} + g_t/(√ṽ_t + ε)
                    b += step
                    theta -= xp.multiply(b, lr, out=buf)        # θ_t ← θ_{t-1} − γ b_t
                else:
                    step *= lr                                  # θ_t ← θ_{t-1} − γ g_t/(√ṽ_t + ε)
                    theta -= step
                p._bump_version()
        return loss
