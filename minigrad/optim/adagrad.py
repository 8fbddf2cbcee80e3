"""Adagrad: per-coordinate step sizes from the running sum of squared gradients."""

from __future__ import annotations

from .optimizer import Optimizer, check_range

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Adagrad (Duchi, Hazan and Singer, 2011): PyTorch's ``torch.optim.Adagrad``.

    With γ = ``lr``, η = ``lr_decay``, λ = ``weight_decay``, τ = ``initial_accumulator_value``,
    ε = ``eps``, starting from s_0 = τ, at each step t = 1, 2, ...::

        g_t ← ∇f(θ_{t-1})                 (−∇f(θ_{t-1}) if maximize)
        γ̃ ← γ / (1 + (t − 1) η)                          (decayed learning rate)
        if λ ≠ 0:  g_t ← g_t + λ θ_{t-1}
        s_t ← s_{t-1} + g_t²                               (sum of squared gradients)
        θ_t ← θ_{t-1} − γ̃ g_t / (√s_t + ε)

    Coordinates that have seen large gradients take small steps. State per parameter:
    ``step`` (t) and ``sum`` (s), created when the optimizer is built, as in PyTorch.

    Args:
        params: an iterable of Parameters, or of dicts defining parameter groups.
        lr: γ ≥ 0 (default 1e-2).
        lr_decay: η ≥ 0 (default 0).
        weight_decay: λ ≥ 0 (default 0).
        initial_accumulator_value: τ ≥ 0 (default 0).
        eps: ε ≥ 0 (default 1e-10).
        maximize: ascend the objective instead of descending it.
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, *, maximize=False):
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, eps=eps,
                        maximize=bool(maximize))
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, group)

    def _check_group(self, group):
        for name in ("lr", "lr_decay", "weight_decay", "initial_accumulator_value", "eps"):
            if name in group:
                check_range("Adagrad", name, group[name])

    def _init_state(self, p, group):
        state = self.state[p]
        state["step"] = 0
        state["sum"] = self._state_like(p.data, float(group["initial_accumulator_value"]))

    def step(self, closure=None):
        """One update of every parameter with a gradient; returns ``closure()``'s loss."""
        loss = self._evaluate(closure)
        for group in self.param_groups:
            lr = float(group["lr"])
            lr_decay = float(group["lr_decay"])
            weight_decay = float(group["weight_decay"])
            eps = float(group["eps"])
            maximize = group["maximize"]
            for p, grad, theta, xp, buf in self._parameters_to_update(group):
                state = self.state[p]
                if "sum" not in state:  # a group added after construction
                    self._init_state(p, group)
                state["step"] += 1
                t = state["step"]
                clr = lr / (1.0 + (t - 1) * lr_decay)           # γ̃ = γ / (1 + (t − 1) η)
                # g_t ← ±∇f(θ_{t-1}) + λ θ_{t-1}; needed again below, so it gets its own buffer
                g = grad
                if weight_decay != 0 or maximize:
                    g = self._signed_decayed_grad(grad, theta, weight_decay, maximize,
                                                  self._scratch(theta, slot=1))
                # s_t ← s_{t-1} + g_t²
                s = state["sum"].data
                s += xp.multiply(g, g, out=buf)
                # θ_t ← θ_{t-1} − γ̃ g_t / (√s_t + ε)
                denom = xp.sqrt(s, out=buf)
                denom += eps
                step = xp.divide(g, denom, out=buf)
                step *= clr
                theta -= step
                p._bump_version()
        return loss
