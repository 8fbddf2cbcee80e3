"""Stochastic gradient descent, with momentum, dampening, Nesterov momentum and weight decay."""

from __future__ import annotations

from .optimizer import Optimizer, check_range, required

__all__ = ["SGD"]


class SGD(Optimizer):
    r"""Stochastic gradient descent, optionally with momentum: PyTorch's ``torch.optim.SGD``.

    With γ = ``lr``, μ = ``momentum``, τ = ``dampening``, λ = ``weight_decay``, at each step
    t = 1, 2, ... every parameter θ that has a gradient is updated by::

        g_t ← ∇f(θ_{t-1})                 (−∇f(θ_{t-1}) if maximize)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t-1}                       (L2 weight decay)
        if μ ≠ 0:
            b_t ← g_t                            if t = 1     (the buffer starts at g_1)
            b_t ← μ b_{t-1} + (1 − τ) g_t        if t > 1
            g_t ← g_t + μ b_t   if nesterov,  else  g_t ← b_t
        θ_t ← θ_{t-1} − γ g_t

    Plain gradient descent is μ = 0: θ_t = θ_{t-1} − γ ∇f(θ_{t-1}). The state of a parameter
    is its momentum buffer b (``state[p]['momentum_buffer']``), created at its first step.

    Args:
        params: an iterable of Parameters, or of dicts defining parameter groups.
        lr: the learning rate γ (required).
        momentum: μ ≥ 0 (default 0).
        dampening: τ in [0, 1] (default 0).
        weight_decay: λ ≥ 0, the L2 penalty (λ/2)‖θ‖² folded into the gradient (default 0).
        nesterov: Nesterov momentum (needs μ > 0 and τ = 0).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=required, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, *, maximize=False):
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening,
                        weight_decay=weight_decay, nesterov=bool(nesterov),
                        maximize=bool(maximize))
        super().__init__(params, defaults)

    def _check_group(self, group):
        for name in ("lr", "momentum", "weight_decay"):
            if name in group:
                check_range("SGD", name, group[name])
        if "dampening" in group:
            check_range("SGD", "dampening", group["dampening"], 0.0, 1.0)
        if group.get("nesterov") and (group.get("momentum", 0) <= 0
                                      or group.get("dampening", 0) != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening = 0, got "
                             f"momentum = {group.get('momentum')!r}, dampening = "
                             f"{group.get('dampening')!r}")

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            momentum = float(group["momentum"])
            dampening = float(group["dampening"])
            weight_decay = float(group["weight_decay"])
            nesterov = group["nesterov"]
            maximize = group["maximize"]
            for p, grad, theta, xp, buf in self._parameters_to_update(group):
                # g_t ← ±∇f(θ_{t-1}) + λ θ_{t-1}
                g = self._signed_decayed_grad(grad, theta, weight_decay, maximize, buf)
                if momentum != 0:
                    state = self.state[p]
                    if "momentum_buffer" not in state:
                        # b_1 ← g_1: the first buffer is the gradient itself, not damped
                        state["momentum_buffer"] = self._state_copy(g)
                        b = state["momentum_buffer"].data
                    else:
                        b = state["momentum_buffer"].data
                        b *= momentum                                   # μ b_{t-1}
                        if dampening != 0:
                            b += xp.multiply(g, 1.0 - dampening, out=buf)  # + (1 − τ) g_t
                        else:
                            b += g                                      # + g_t
                    if nesterov:
                        # θ_t ← θ_{t-1} − γ (g_t + μ b_t), as two subtractions (one buffer)
                        theta -= xp.multiply(g, lr, out=buf)
                        theta -= xp.multiply(b, lr * momentum, out=buf)
                    else:
                        # θ_t ← θ_{t-1} − γ b_t
                        theta -= xp.multiply(b, lr, out=buf)
                else:
                    # θ_t ← θ_{t-1} − γ g_t
                    theta -= xp.multiply(g, lr, out=buf)
                p._bump_version()
        return loss
