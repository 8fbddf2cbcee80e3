"""Nonlinear conjugate gradient (Fletcher–Reeves, Polak–Ribière+, Hestenes–Stiefel+) with the
strong-Wolfe line search L-BFGS uses: a minigrad extension (PyTorch has no such optimizer)."""

from __future__ import annotations

import math
import numbers

from ._flat import FlatParamsOptimizer
from .line_search import dot, max_abs, strong_wolfe
from .optimizer import check_range

__all__ = ["ConjugateGradient"]

BETAS = ("fletcher_reeves", "polak_ribiere", "hestenes_stiefel")


class ConjugateGradient(FlatParamsOptimizer):
    r"""Nonlinear conjugate gradient (N&W *Numerical Optimization*, ch. 5.2). **A minigrad
    extension**: PyTorch has no conjugate-gradient optimizer; the interface copies
    :class:`LBFGS`'s (``step(closure)``, one group, the same tolerances and the same
    :func:`~minigrad.optim.line_search.strong_wolfe` line search, the one implementation).

    With g_k = ∇f(θ_k), the first direction is steepest descent, d_0 = −g_0; then::

        y_k = g_{k+1} − g_k
        β_{k+1} = g_{k+1}ᵀg_{k+1} / g_kᵀg_k                  'fletcher_reeves'
                  max(0, g_{k+1}ᵀy_k / g_kᵀg_k)                'polak_ribiere' (PR+, default)
                  max(0, g_{k+1}ᵀy_k / d_kᵀy_k)                'hestenes_stiefel' (HS+)
        d_{k+1} = −g_{k+1} + β_{k+1} d_k
        θ_{k+1} = θ_k + t_k d_k,   t_k from the strong-Wolfe line search

    **Restarts** (d = −g, forgetting the conjugacy built so far): every ``restart`` iterations
    (default n, the number of parameters: on a quadratic, CG is exact after n steps), whenever
    the β formula gives β < 0 (PR+, HS+: the "+" clamps to a restart), and, as safeguards,
    whenever d_{k+1} is not a descent direction (g_{k+1}ᵀd_{k+1} ≥ 0) or β's denominator is 0
    (a line search that ran out of evaluations and did not move). ``state['restarts']``
    counts them.

    **Step length.** The very first trial step is t = min(1, 1/‖g_0‖₁)·``lr`` (as L-BFGS); later
    ones use N&W eq. 3.60, t⁰_k = t_{k−1} (g_{k−1}ᵀd_{k−1}) / (g_kᵀd_k), which expects the
    first-order change of f to equal the last one (falling back to the first rule when the
    last search ended at t = 0, out of evaluations). The line search then enforces
    f(θ + t d) ≤ f(θ) + c₁ t gᵀd and |∇f(θ + t d)ᵀd| ≤ c₂ |gᵀd| with c₂ = 0.1 by default: the
    Fletcher–Reeves method needs c₂ < 1/2 to guarantee descent directions.

    One ``step(closure)`` runs up to ``max_iter`` iterations and stops early on the same tests
    as :class:`LBFGS` (max|g| ≤ ``tolerance_grad``, gᵀd > −``tolerance_change``, ``max_eval``
    evaluations, max|t d| ≤ ``tolerance_change``, |f_k − f_{k−1}| < ``tolerance_change``); it
    returns the loss at the starting point. State (``d``, ``t``, ``prev_flat_grad``,
    ``prev_gtd``, ``prev_loss``, ``n_iter``, ``func_evals``, ``since_restart``, ``restarts``)
    is kept between steps and saved by ``state_dict``. Memory: three vectors the size of all
    parameters (L-BFGS needs ``history_size`` + 3).

    Args:
        params: an iterable of Parameters (one group).
        lr: γ > 0, scales the very first trial step (default 1).
        beta: ``'polak_ribiere'`` (default), ``'fletcher_reeves'`` or ``'hestenes_stiefel'``.
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: default 1e-7.
        tolerance_change: default 1e-9.
        restart: restart every this many iterations (default: the number of parameters).
        c1, c2: the Wolfe constants, 0 < c₁ < c₂ < 1 (default 1e-4, 0.1).
    """

    _vector_keys = ("d", "prev_flat_grad")
    _count_keys = ("n_iter", "func_evals", "since_restart", "restarts")

    def __init__(self, params, lr=1, beta="polak_ribiere", max_iter=20, max_eval=None,
                 tolerance_grad=1e-7, tolerance_change=1e-9, restart=None, c1=1e-4, c2=0.1):
        if max_eval is None:
            max_eval = max_iter * 5 // 4 if isinstance(max_iter, numbers.Integral) else max_iter
        defaults = dict(lr=lr, beta=beta, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        restart=restart, c1=c1, c2=c2)
        super().__init__(params, defaults)

    def _check_group(self, group):
        name = "ConjugateGradient"
        self._check_common(name, group)
        if "beta" in group and group["beta"] not in BETAS:
            raise ValueError(f"{name}: beta must be one of {', '.join(map(repr, BETAS))}, got "
                             f"{group['beta']!r}")
        restart = group.get("restart")
        if restart is not None and (not isinstance(restart, numbers.Integral)
                                    or isinstance(restart, bool) or restart < 1):
            raise ValueError(f"{name}: invalid restart = {restart!r}: expected None or an "
                             f"integer >= 1")
        if "c1" in group:
            check_range(name, "c1", group["c1"], 0.0, 1.0, low_open=True, high_open=True)
        if "c2" in group:
            check_range(name, "c2", group["c2"], 0.0, 1.0, low_open=True, high_open=True)
        if "c1" in group and "c2" in group and not group["c1"] < group["c2"]:
            raise ValueError(f"{name}: the Wolfe constants need c1 < c2, got c1 = "
                             f"{group['c1']!r}, c2 = {group['c2']!r}")

    @staticmethod
    def _beta(rule, flat_grad, prev_flat_grad, d):
        """β_{k+1} from the class docstring's formulas (before the max(0, ·) clamp); None where
        its denominator is 0 (the last step did not move: y = 0), which forces a restart."""
        if rule == "fletcher_reeves":
            numerator, denominator = dot(flat_grad, flat_grad), dot(prev_flat_grad, prev_flat_grad)
        else:
            y = flat_grad - prev_flat_grad
            numerator = dot(flat_grad, y)
            denominator = (dot(prev_flat_grad, prev_flat_grad) if rule == "polak_ribiere"
                           else dot(d, y))  # Hestenes–Stiefel
        return None if denominator == 0 else numerator / denominator

    def step(self, closure=None):
        """Up to ``max_iter`` CG iterations; returns the loss at the starting point."""
        orig_loss, loss, flat_grad = self._first_evaluation(closure)
        current_evals = 1
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        restart_every = group["restart"] or self._numel
        c1, c2 = float(group["c1"]), float(group["c2"])
        state = self.state[self._params[0]]
        if max_abs(flat_grad) <= tolerance_grad:
            return orig_loss

        d = self._state_arrays("d")
        t = state.get("t")
        prev_flat_grad = self._state_arrays("prev_flat_grad")
        prev_gtd = state.get("prev_gtd")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # --- direction ---
            first = state["n_iter"] == 1
            restart = first or state["since_restart"] >= restart_every
            if not restart:
                beta = self._beta(group["beta"], flat_grad, prev_flat_grad, d)
                if beta is None or beta < 0:
                    restart = True                 # PR+ / HS+: clamp β to 0
                else:
                    d = -flat_grad + beta * d      # d_{k+1} = −g_{k+1} + β d_k
                    if dot(flat_grad, d) >= 0:
                        restart = True             # not a descent direction
            if restart:
                d = -flat_grad                     # steepest descent
                state["since_restart"] = 0
                state["restarts"] += 0 if first else 1
            state["since_restart"] += 1
            gtd = dot(flat_grad, d)
            if gtd > -tolerance_change:
                break
            # --- step length: first trial, then the line search ---
            if not first:
                t = t * prev_gtd / gtd             # N&W (3.60)
            if first or not 0 < t < math.inf:      # (or the last search could not move)
                t = min(1.0, 1.0 / float(self._xp().abs(flat_grad).sum())) * lr
            prev_flat_grad = flat_grad.copy()
            prev_gtd = gtd
            prev_loss = loss
            x_init = self._clone_params()

            def evaluate(x, step, direction):
                return self._directional_evaluate(closure, x, step, direction)

            loss, flat_grad, t, ls_func_evals = strong_wolfe(
                evaluate, x_init, t, d, loss, flat_grad, gtd, c1=c1, c2=c2,
                max_ls=max_eval - current_evals)
            self._add_to_params(t, d)              # θ ← θ + t d
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            # --- stopping tests (as LBFGS) ---
            if n_iter == max_iter or current_evals >= max_eval:
                break
            if max_abs(flat_grad) <= tolerance_grad:
                break
            if max_abs(d * t) <= tolerance_change or abs(loss - prev_loss) < tolerance_change:
                break

        self._store(d=d, t=t, prev_flat_grad=prev_flat_grad, prev_gtd=prev_gtd,
                    prev_loss=prev_loss)
        return orig_loss
