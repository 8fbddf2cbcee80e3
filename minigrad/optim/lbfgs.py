"""L-BFGS: limited-memory BFGS with an optional strong-Wolfe line search, PyTorch's
``torch.optim.LBFGS`` step for step."""

from __future__ import annotations

import numbers

from ._flat import FlatParamsOptimizer
from .line_search import dot, max_abs, strong_wolfe

__all__ = ["LBFGS"]


class LBFGS(FlatParamsOptimizer):
    r"""L-BFGS (Nocedal, 1980; Liu and Nocedal, 1989): PyTorch's ``torch.optim.LBFGS``.

    A quasi-Newton method: it never forms the Hessian, but applies an approximation of its
    inverse, H_k, built from the last m = ``history_size`` pairs::

        s_i = θ_{i+1} − θ_i             (a step taken)
        y_i = ∇f(θ_{i+1}) − ∇f(θ_i)      (the change of gradient it caused)
        ρ_i = 1 / (y_iᵀ s_i)

    A pair is kept only when y_iᵀs_i > 1e-10 (the curvature condition that keeps H positive
    definite); keeping one also sets the initial scaling H⁰ = (y_iᵀs_i) / (y_iᵀy_i).

    **Two-loop recursion** (N&W Algorithm 7.4): the direction d = −H_k g, with g = ∇f(θ_k)::

        q ← −g
        for i = k−1, ..., k−m:   α_i ← ρ_i s_iᵀq;   q ← q − α_i y_i
        r ← H⁰ q
        for i = k−m, ..., k−1:   β ← ρ_i y_iᵀr;     r ← r + (α_i − β) s_i
        d ← r

    (the very first direction is d = −g). **Step** (``lr`` = γ): the first iteration of all
    tries t = min(1, 1/‖g‖₁) γ, later ones t = γ. Without a line search θ ← θ + t d; with
    ``line_search_fn='strong_wolfe'`` t is first refined by
    :func:`minigrad.optim.line_search.strong_wolfe` (c₁ = 1e-4, c₂ = 0.9), which may spend
    the evaluations left of ``max_eval`` (PyTorch's rule since 2.5).

    One ``step(closure)`` runs up to ``max_iter`` such iterations, and stops early when

    - max|g| ≤ ``tolerance_grad`` (first-order optimality; checked before the first too),
    - gᵀd > −``tolerance_change`` (d is not a descent direction),
    - ``max_eval`` closure evaluations were spent,
    - max|t d| ≤ ``tolerance_change`` or |f_k − f_{k−1}| < ``tolerance_change``.

    ``step(closure)`` requires the closure (zero the gradients, compute the loss, call
    backward, return the loss), which it calls once per trial point; it returns the loss of the
    first evaluation. The state (``d``, ``t``, the history ``old_dirs`` = y, ``old_stps`` = s,
    ``ro`` = ρ, ``H_diag`` = H⁰, ``prev_flat_grad``, ``prev_loss``, and the counts
    ``n_iter``, ``func_evals``) is kept between steps and saved by ``state_dict``: a later
    ``step`` continues the same run.

    Memory: ``history_size`` + 3 vectors the size of all parameters. One parameter group only,
    and all parameters on one device (as in PyTorch).

    Args:
        params: an iterable of Parameters (one group).
        lr: γ > 0 (default 1).
        max_iter: iterations per ``step`` (default 20).
        max_eval: closure evaluations per ``step`` (default ``max_iter * 5 // 4``).
        tolerance_grad: default 1e-7.
        tolerance_change: default 1e-9.
        history_size: m (default 100).
        line_search_fn: ``None`` or ``'strong_wolfe'``.
    """

    _vector_keys = ("d", "prev_flat_grad")
    _history_keys = ("old_dirs", "old_stps")

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4 if isinstance(max_iter, numbers.Integral) else max_iter
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def _check_group(self, group):
        self._check_common("LBFGS", group)
        if "history_size" in group:
            size = group["history_size"]
            if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 1:
                raise ValueError(f"LBFGS: invalid history_size = {size!r}: expected an "
                                 f"integer >= 1")
        if group.get("line_search_fn") not in (None, "strong_wolfe"):
            raise ValueError(f"LBFGS: line_search_fn must be None or 'strong_wolfe', got "
                             f"{group['line_search_fn']!r}")

    def _two_loop_direction(self, flat_grad, old_dirs, old_stps, ro, h_diag):
        """d = −H g by the two-loop recursion (see the class docstring)."""
        alphas = [0.0] * len(old_dirs)
        q = -flat_grad
        for i in range(len(old_dirs) - 1, -1, -1):   # newest pair first
            alphas[i] = dot(old_stps[i], q) * ro[i]  # α_i = ρ_i s_iᵀq
            q -= alphas[i] * old_dirs[i]             # q ← q − α_i y_i
        r = q * h_diag                               # r ← H⁰ q
        for i in range(len(old_dirs)):               # oldest pair first
            beta = dot(old_dirs[i], r) * ro[i]       # β = ρ_i y_iᵀr
            r += (alphas[i] - beta) * old_stps[i]    # r ← r + (α_i − β) s_i
        return r

    def step(self, closure=None):
        """Up to ``max_iter`` L-BFGS iterations; returns the loss at the starting point."""
        orig_loss, loss, flat_grad = self._first_evaluation(closure)
        current_evals = 1
        group = self.param_groups[0]
        lr = float(group["lr"])
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tolerance_grad = float(group["tolerance_grad"])
        tolerance_change = float(group["tolerance_change"])
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        if max_abs(flat_grad) <= tolerance_grad:
            return orig_loss  # already optimal

        d = self._state_arrays("d")
        t = state.get("t")
        old_dirs = self._state_arrays("old_dirs") or []
        old_stps = self._state_arrays("old_stps") or []
        ro = list(state.get("ro", []))
        h_diag = state.get("H_diag", 1.0)
        prev_flat_grad = self._state_arrays("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            # --- direction ---
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro, h_diag = [], [], [], 1.0
            else:
                y = flat_grad - prev_flat_grad  # y = g_k − g_{k−1}
                s = d * t                       # s = θ_k − θ_{k−1}
                ys = dot(y, s)
                if ys > 1e-10:                  # curvature condition: keep the pair
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / dot(y, y)     # H⁰ = yᵀs / yᵀy
                d = self._two_loop_direction(flat_grad, old_dirs, old_stps, ro, h_diag)
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss
            # --- step length ---
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(self._xp().abs(flat_grad).sum())) * lr
            else:
                t = lr
            gtd = dot(flat_grad, d)             # directional derivative gᵀd
            if gtd > -tolerance_change:
                break                           # not a descent direction
            ls_func_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x_init = self._clone_params()

                def evaluate(x, step, direction):
                    return self._directional_evaluate(closure, x, step, direction)

                # the search may spend what is left of max_eval (PyTorch >= 2.5, #135026)
                loss, flat_grad, t, ls_func_evals = strong_wolfe(
                    evaluate, x_init, t, d, loss, flat_grad, gtd,
                    max_ls=max_eval - current_evals)
                self._add_to_params(t, d)
                optimal = max_abs(flat_grad) <= tolerance_grad
            else:
                self._add_to_params(t, d)       # θ ← θ + t d
                optimal = False
                if n_iter != max_iter:          # the last iteration's value is not needed
                    loss = self._loss_value(closure)
                    flat_grad = self._gather_flat_grad()
                    optimal = max_abs(flat_grad) <= tolerance_grad
                    ls_func_evals = 1
            current_evals += ls_func_evals
            state["func_evals"] += ls_func_evals
            # --- stopping tests ---
            if n_iter == max_iter or current_evals >= max_eval or optimal:
                break
            if max_abs(d * t) <= tolerance_change:
                break                           # the step is negligible
            if abs(loss - prev_loss) < tolerance_change:
                break                           # the loss stopped changing

        self._store(d=d, t=t, old_dirs=old_dirs, old_stps=old_stps, ro=ro, H_diag=h_diag,
                    prev_flat_grad=prev_flat_grad, prev_loss=prev_loss)
        return orig_loss
