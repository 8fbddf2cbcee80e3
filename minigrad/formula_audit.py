"""Audit a user's NumPy function against a catalogue formula (``python -m minigrad audit``).

:func:`audit` runs the function and every variant's reference of :mod:`minigrad.formulas` on the
same random inputs (and, for formulas with a gradient, compares the central-difference gradient
with respect to that input too) and reports which variant the function matches, or, when none
does, the closest variant, the first input where they differ, by how much, and what the
difference looks like (a sign error, a factor 2 as from a missing ½, a constant factor such as
a batch size, a shape from a wrong axis, or one of the formula's known mistakes).

    from minigrad.formula_audit import audit
    report = audit(lambda w: np.sqrt((w ** 2).sum()), "l2")
    report.matched          # ['norm']
    print(report)
"""

from __future__ import annotations

import numpy as np  # the audit compares host-side NumPy functions, on host data

from .formulas import formula

__all__ = ["AuditReport", "audit", "numerical_gradient"]


class AuditReport:
    """The outcome of :func:`audit`: ``matched`` (variant names, [] if none), ``mistake`` (the
    known mistake it matches, or None), and for a mismatch ``closest``, ``case`` (the first
    differing input set, numbered from 0), ``inputs``, ``got``, ``expected``, ``max_abs_diff``,
    ``diagnosis``; ``gradient`` holds the gradient comparison lines where one applies."""

    def __init__(self, formula_id, matched, **details):
        self.formula_id = formula_id
        self.matched = list(matched)
        self.mistake = details.get("mistake")
        self.closest = details.get("closest")
        self.case = details.get("case")
        self.inputs = details.get("inputs")
        self.got = details.get("got")
        self.expected = details.get("expected")
        self.max_abs_diff = details.get("max_abs_diff")
        self.diagnosis = details.get("diagnosis", "")
        self.gradient = list(details.get("gradient", ()))
        self.trials = details.get("trials", 0)

    @property
    def ok(self) -> bool:
        return bool(self.matched)

    def __str__(self):
        f = formula(self.formula_id)
        if self.matched:
            names = ", ".join(self.matched)
            lines = [(f"{self.formula_id}: your function matches variant {names} on "
                      f"{self.trials} random input sets")]
            for name in self.matched:
                v = f.variant(name)
                lines.append(f"  {name}: {v.text}" + (f"  ({v.note})" if v.note else ""))
            if len(self.matched) > 1:
                lines.append("  (these variants agree on these inputs)")
            lines += ["  " + line for line in self.gradient]
            return "\n".join(lines)
        v = f.variant(self.closest)
        lines = [(f"{self.formula_id}: your function matches no variant; closest: "
                  f"{self.closest} ({v.text})"),
                 f"  first difference at input set {self.case}: "
                 + ", ".join(f"{k}={_short(val)}" for k, val in self.inputs.items()),
                 f"  yours:    {_short(self.got)}",
                 f"  expected: {_short(self.expected)}",
                 f"  max |difference| = {self.max_abs_diff:.6g}" if self.max_abs_diff is not None
                 else "  (shapes differ)",
                 f"  diagnosis: {self.diagnosis}"]
        lines += ["  " + line for line in self.gradient]
        return "\n".join(lines)


def _short(value) -> str:
    if callable(value):
        return getattr(value, "__name__", "function")
    if isinstance(value, np.ndarray):
        text = np.array2string(value, precision=5, separator=", ", threshold=6, edgeitems=1)
        text = " ".join(text.split())
        return text if value.size <= 6 else f"{text} shape {value.shape}"
    if isinstance(value, list):
        return "[" + ", ".join(f"{v:.5g}" for v in value) + "]"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def _as_array(value):
    return np.asarray(value, dtype=np.float64)


def _close(a, b, rtol, atol) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=rtol, atol=atol, equal_nan=False))


def numerical_gradient(function, inputs, name, eps=1e-6):
    """∂ Σ function(inputs) / ∂ inputs[name] by central differences (float64)."""
    base = _as_array(inputs[name])
    grad = np.zeros_like(base)
    for index in np.ndindex(base.shape):
        values = []
        for sign in (1.0, -1.0):
            shifted = base.copy()
            shifted[index] += sign * eps
            values.append(float(np.sum(function({**inputs, name: shifted}))))
        grad[index] = (values[0] - values[1]) / (2 * eps)
    return grad


def _diagnose(got, expected) -> str:
    """What the difference between two results looks like."""
    if got.shape != expected.shape:
        return (f"your result has shape {got.shape}, the formula's {expected.shape}: "
                f"a reduction over a different axis (or none)?")
    nonzero = np.abs(expected) > 1e-12
    if nonzero.any():
        ratio = got[nonzero] / expected[nonzero]
        if np.allclose(ratio, ratio.flat[0], rtol=1e-6):
            r = float(ratio.flat[0])
            for value, text in ((-1.0, "a sign error: yours = −expected"),
                                (2.0, "yours is 2 × expected: a missing ½ factor?"),
                                (0.5, "yours is ½ × expected: an extra ½ factor?")):
                if abs(r - value) < 1e-6:
                    return text
            return (f"yours is {r:.6g} × expected everywhere: a different normalization "
                    f"(mean vs. sum, a batch size or element count, a log base)?")
    offset = got - expected
    if np.allclose(offset, offset.flat[0], rtol=1e-6, atol=1e-9):
        return f"yours = expected + {float(offset.flat[0]):.6g}: a constant offset"
    worst = np.unravel_index(int(np.argmax(np.abs(offset))), offset.shape) if offset.ndim else ()
    return f"not a constant factor or offset; the largest difference is at element {worst}"


def audit(function, formula_id: str, trials: int = 6, seed: int = 0, rtol: float = 1e-6,
          atol: float = 1e-9) -> AuditReport:
    """Check ``function`` (called with the formula's signature) against every variant of
    ``formula_id`` on ``trials`` random input sets; see :class:`AuditReport`."""
    f = formula(formula_id)
    if not callable(function):
        raise TypeError(f"audit: expected a function, got {type(function).__name__}")
    rng = np.random.default_rng(seed)
    cases = [f.sample(rng, case) for case in range(trials)]
    results = []
    for case, inputs in enumerate(cases):
        try:
            results.append(_as_array(f.call(function, inputs)))
        except Exception as exc:  # noqa: BLE001  (the user's code: any failure, named)
            raise ValueError(f"audit: your function raised {type(exc).__name__}: {exc} on "
                             f"input set {case} (called as fn({', '.join(f.signature)}))") \
                from None
    expected = {v.name: [_as_array(f.call(v.reference, inputs)) for inputs in cases]
                for v in f.variants}
    matched = [name for name, values in expected.items()
               if all(_close(g, e, rtol, atol) for g, e in zip(results, values))]
    gradient = _gradient_lines(f, function, cases[0], [v.name for v in f.variants])
    if matched:
        return AuditReport(formula_id, matched, gradient=gradient, trials=trials)
    closest, case, diagnosis = _closest(results, expected, rtol, atol)
    got, want = results[case], expected[closest][case]
    mistake = None
    for text, reference in f.mistakes:
        if all(_close(g, _as_array(f.call(reference, inputs)), rtol, atol)
               for g, inputs in zip(results, cases)):
            mistake, diagnosis = text, f"it matches a known mistake: {text}"
            break
    diff = float(np.max(np.abs(got - want))) if got.shape == want.shape else None
    gradient = _gradient_lines(f, function, cases[case], [closest])
    return AuditReport(formula_id, [], mistake=mistake, closest=closest, case=case,
                       inputs={k: v for k, v in cases[case].items()}, got=got, expected=want,
                       max_abs_diff=diff, diagnosis=diagnosis, gradient=gradient,
                       trials=trials)


_SIMPLE = ("a sign error", "yours is 2 ×", "yours is ½ ×")


def _closest(results, expected, rtol, atol):
    """The variant the results are nearest to: first one they differ from by a simple slip
    (sign, a ½), then a constant factor or offset, then the smallest relative distance.
    Returns (its name, the first differing input set, the diagnosis there)."""
    ranked = []
    for name, values in expected.items():
        case = next(i for i, (g, e) in enumerate(zip(results, values))
                    if not _close(g, e, rtol, atol))
        diagnosis = _diagnose(results[case], values[case])
        rank = 0 if diagnosis.startswith(_SIMPLE) else 1 if "×" in diagnosis or \
            "offset" in diagnosis else 2
        ranked.append((rank, _distance(results, values), name, case, diagnosis))
    _, _, name, case, diagnosis = min(ranked)
    return name, case, diagnosis


def _distance(results, values) -> float:
    total = 0.0
    for g, e in zip(results, values):
        if g.shape != e.shape:
            return float("inf")
        total += float(np.max(np.abs(g - e) / (np.abs(e) + 1e-12)))
    return total


def _gradient_lines(f, function, inputs, variant_names) -> list:
    """For formulas with a gradient: yours against each named variant's, at ``inputs``."""
    if f.grad_arg is None:
        return []
    try:
        yours = numerical_gradient(lambda i: f.call(function, i), inputs, f.grad_arg)
    except Exception:  # noqa: BLE001  (a user's function may refuse perturbed inputs)
        return []
    lines = [f"gradient ∂L/∂{f.grad_arg} (central differences) at input set: {_short(yours)}"]
    for name in variant_names:
        reference = f.variant(name).reference
        theirs = numerical_gradient(lambda i, r=reference: f.call(r, i), inputs, f.grad_arg)
        if np.allclose(yours, theirs, rtol=1e-4, atol=1e-6):
            lines.append(f"  equals variant {name}'s gradient")
        else:
            lines.append(f"  variant {name}'s gradient: {_short(theirs)} (max |difference| "
                         f"{float(np.max(np.abs(yours - theirs))):.6g})")
    return lines
