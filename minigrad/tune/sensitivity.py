r"""Sensitivity analysis: which hyper-parameters matter.

``importance(study)`` is a variance-based (first-order Sobol, fANOVA-style) decomposition of a
surrogate fitted to the complete trials:

1. fit a :class:`GaussianProcess` to the trials (the joint space encoded in the unit cube, as
   the Bayesian sampler does) and take its posterior mean f̂ as the objective;
2. for each parameter i estimate the share of Var f̂ explained by that parameter alone,
   S_i = Var_{x_i}(E[f̂ | x_i]) / Var f̂, over x uniform in the search space, with Saltelli's
   (2010) estimator on two independent uniform samples A and B (N rows each) and A_B^i (A with
   the coordinates of parameter i taken from B)::

       S_i ≈ (1/N) Σ_j f̂(B)_j (f̂(A_B^i)_j − f̂(A)_j)  /  Var(f̂(A) ∪ f̂(B))

3. report max(S_i, 0) normalized to sum to 1 (as Optuna's importance evaluators do), largest
   first. Interactions are not attributed to any parameter, so the raw S_i sum to ≤ 1
   (``normalize=False`` returns them).

``sweep(objective, base_params, name, values)`` is the one-at-a-time curve: the objective (the
same ``objective(trial)`` a study runs) evaluated with ``base_params`` and ``name`` set to each
of ``values`` through a :class:`FixedTrial`.
"""

from __future__ import annotations

import numpy as np

from .samplers.base import encode, joint_space, random_points
from .samplers.gaussian_process import GaussianProcess
from .trial import FixedTrial, TrialState, run_trial

__all__ = ["importance", "sweep"]


def importance(study, seed: int = 0, n_samples: int = 2048, normalize: bool = True) -> dict:
    """``{name: importance}`` of the study's joint-space parameters, largest first (module
    docstring). Needs at least 3 complete trials."""
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    if len(complete) < 3:
        raise ValueError(f"importance: needs at least 3 complete trials, the study has "
                         f"{len(complete)}")
    space = joint_space(complete)
    if not space:
        raise ValueError("importance: the complete trials share no parameter")
    x = np.stack([encode(t.params, space) for t in complete])
    gp = GaussianProcess().fit(x, np.array([t.value for t in complete], dtype=np.float64))
    rng = np.random.default_rng(seed)
    a, b = random_points(space, n_samples, rng), random_points(space, n_samples, rng)
    f_a, f_b = gp.predict(a)[0], gp.predict(b)[0]
    total = np.concatenate([f_a, f_b]).var()
    raw, start = {}, 0
    for name, dist in space.items():
        a_b = a.copy()
        a_b[:, start:start + dist.width] = b[:, start:start + dist.width]
        start += dist.width
        raw[name] = float(np.mean(f_b * (gp.predict(a_b)[0] - f_a)) / total) if total > 0 \
            else 0.0
    if normalize:
        clipped = {k: max(v, 0.0) for k, v in raw.items()}
        s = sum(clipped.values())
        raw = {k: (v / s if s > 0 else 1.0 / len(clipped)) for k, v in clipped.items()}
    return dict(sorted(raw.items(), key=lambda kv: (-kv[1], kv[0])))


def sweep(objective, base_params: dict, name: str, values) -> list:
    """``[{'value': v, 'score': objective's value or None, 'state': ..., 'error': ...}]`` for
    each ``v`` in ``values``, the other parameters fixed at ``base_params``."""
    values = list(values)
    if not values:
        raise ValueError(f"sweep: no values given for {name!r}")
    curve = []
    for i, v in enumerate(values):
        frozen = run_trial(objective, FixedTrial(dict(base_params, **{name: v}), number=i))
        curve.append({"value": v, "score": frozen.value, "state": frozen.state,
                      "error": frozen.error})
    return curve
