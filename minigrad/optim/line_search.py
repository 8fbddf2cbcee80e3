r"""The strong-Wolfe line search (bracketing, then zoom, with cubic interpolation): the one
implementation that :class:`~minigrad.optim.LBFGS` and :class:`~minigrad.optim.ConjugateGradient`
share. It follows PyTorch's ``torch.optim.lbfgs._strong_wolfe`` (itself a port of minFunc's and
Torch7's ``lswolfe``), decision for decision, so that L-BFGS takes PyTorch's steps.

Along a search direction d from the point x, with φ(t) = f(x + t d) and φ'(t) = ∇f(x + t d)ᵀd,
a step t satisfies the **strong Wolfe conditions** (Nocedal and Wright, *Numerical
Optimization*, eq. 3.7) when::

    φ(t) ≤ φ(0) + c₁ t φ'(0)            (sufficient decrease, "Armijo")
    |φ'(t)| ≤ c₂ |φ'(0)|                 (curvature: the slope has flattened enough)

with 0 < c₁ < c₂ < 1 (defaults c₁ = 1e-4, c₂ = 0.9; nonlinear CG wants c₂ < 1/2).

Cubic interpolation (N&W eq. 3.59): the minimiser of the cubic that matches φ and φ' at two
steps x₁ and x₂::

    d₁ = φ'(x₁) + φ'(x₂) − 3 (φ(x₁) − φ(x₂)) / (x₁ − x₂)
    d₂ = √(d₁² − φ'(x₁) φ'(x₂))
    t  = x₂ − (x₂ − x₁) (φ'(x₂) + d₂ − d₁) / (φ'(x₂) − φ'(x₁) + 2 d₂)     (x₁ ≤ x₂;
                                                                       swap the roles if not)

clamped to the bounds (the interval [x₁, x₂] unless given); when d₁² − φ'(x₁)φ'(x₂) < 0 the
cubic has no minimiser and the midpoint of the bounds is taken (also where the denominator
vanishes, φ being a straight line: there PyTorch's division by zero gives NaN).
"""

from __future__ import annotations

import math

from .. import backend

__all__ = ["cubic_interpolate", "strong_wolfe"]


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None) -> float:
    """The minimiser of the cubic through (x₁, f₁, slope g₁) and (x₂, f₂, slope g₂), clamped to
    ``bounds`` (default: the interval between x₁ and x₂); see the module docstring."""
    if bounds is not None:
        low, high = bounds
    else:
        low, high = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 * d1 - g1 * g2
    if d2_square < 0:
        return (low + high) / 2.0           # no real minimiser: bisect the bounds
    d2 = math.sqrt(d2_square)
    denominator = g2 - g1 + 2 * d2 if x1 <= x2 else g1 - g2 + 2 * d2
    if denominator == 0:
        return (low + high) / 2.0           # φ is a straight line there: no minimiser either
    if x1 <= x2:
        t = x2 - (x2 - x1) * ((g2 + d2 - d1) / denominator)
    else:
        t = x1 - (x1 - x2) * ((g1 + d2 - d1) / denominator)
    return min(max(t, low), high)


def dot(a, b) -> float:
    """aᵀb of two flat arrays, as a Python float (the scalars of the searches stay on the host)."""
    return float(backend.array_module(a).dot(a, b))


def max_abs(a) -> float:
    """max |aᵢ| of a flat array, as a Python float."""
    xp = backend.array_module(a)
    return float(xp.max(xp.abs(a)))


def strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                 max_ls=25):
    r"""Find a step t along ``d`` that satisfies the strong Wolfe conditions.

    Args:
        evaluate: ``evaluate(x, t, d) -> (f(x + t d), ∇f(x + t d))``, the value as a float and
            the gradient as a flat array; it must leave the parameters at x.
        x: the starting point (passed back to ``evaluate`` untouched).
        t: the first trial step.
        d: the search direction (flat array); ``gtd`` = φ'(0) = ∇f(x)ᵀd < 0.
        f, g: φ(0) = f(x) and ∇f(x).
        c1, c2: the Wolfe constants.
        tolerance_change: stop zooming once the bracket is shorter than this (times max|d|).
        max_ls: at most this many evaluations after the first.

    Returns ``(f_new, g_new, t, evaluations)``: the value and gradient at the accepted step.

    **Bracketing.** Starting from t_prev = 0, try t; the interval [t_prev, t] brackets a Wolfe
    point as soon as

    - φ(t) > φ(0) + c₁ t φ'(0), or φ(t) ≥ φ(t_prev) after the second trial (too far: the
      function went up), or
    - φ'(t) ≥ 0 (the slope turned: a minimum lies behind);

    t itself is accepted at once when |φ'(t)| ≤ −c₂ φ'(0). Otherwise the step grows: the next
    trial is the cubic interpolant of (t_prev, t) clamped to [t + 0.01 (t − t_prev), 10 t].

    **Zoom.** With the bracket [lo, hi] (lo the end with the lower φ), the trial is the cubic
    interpolant of the two ends. If it falls within 10% of the bracket's length of an end (or
    outside), it is pushed to 10% inside, the second time in a row or when outside (guarding
    against slow progress). Then:

    - φ(t) > φ(0) + c₁ t φ'(0) or φ(t) ≥ φ(lo):  hi ← t;
    - else, if |φ'(t)| ≤ −c₂ φ'(0): accept t;
      otherwise, if φ'(t)(hi − lo) ≥ 0: hi ← lo; then lo ← t.

    It stops when the bracket shrinks below ``tolerance_change`` or after ``max_ls``
    evaluations, returning the low end.
    """
    d_norm = max_abs(d)
    f_new, g_new = evaluate(x, t, d)
    evaluations = 1
    gtd_new = dot(g_new, d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    # --- bracketing phase ---------------------------------------------------------------------
    while ls_iter < max_ls:
        if f_new > f + c1 * t * gtd or (ls_iter > 1 and f_new >= f_prev):
            bracket = [t_prev, t]
            bracket_f, bracket_g, bracket_gtd = [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g, bracket_gtd = [t], [f_new], [g_new], [gtd_new]
            done = True
            break
        if gtd_new >= 0:
            bracket = [t_prev, t]
            bracket_f, bracket_g, bracket_gtd = [f_prev, f_new], [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # extrapolate: a longer step, from the cubic through the last two trials
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        t_next = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                   bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1
    if ls_iter == max_ls:  # out of evaluations without a bracket: [0, t]
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]
        bracket_gtd = [gtd, gtd_new]
    # --- zoom phase ---------------------------------------------------------------------------
    insufficient_progress = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break  # the bracket is too small to matter
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0],
                              bracket[1], bracket_f[1], bracket_gtd[1])
        top, bottom = max(bracket), min(bracket)
        margin = 0.1 * (top - bottom)
        if min(top - t, t - bottom) < margin:  # too close to an end (or outside)
            if insufficient_progress or t >= top or t <= bottom:
                t = top - margin if abs(t - top) < abs(t - bottom) else bottom + margin
                insufficient_progress = False
            else:
                insufficient_progress = True
        else:
            insufficient_progress = False
        f_new, g_new = evaluate(x, t, d)
        evaluations += 1
        gtd_new = dot(g_new, d)
        ls_iter += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            # not a sufficient decrease: t becomes the high end
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True  # the strong Wolfe conditions hold
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                # the slope at t points away from hi: the old low end becomes the high end
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evaluations
