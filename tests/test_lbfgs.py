"""L-BFGS and the strong-Wolfe line search: the two-loop recursion against a NumPy transcription
of the documented algorithm (written here) on random convex quadratics; the line search on
functions with known Wolfe points (accepting at once, extrapolating, zooming); cubic
interpolation on exact cubics; convergence on Rosenbrock; state_dict round trips through a
checkpoint file; float32; clear errors (no closure, groups, bad options); PyTorch when it is
installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.optim.line_search import cubic_interpolate, strong_wolfe


def _quadratic(seed, n):
    """f(x) = ½ xᵀAx − bᵀx with A symmetric positive definite (condition number ≤ 100)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = q @ np.diag(np.geomspace(1.0, 100.0, n)) @ q.T
    return a, rng.normal(size=n), rng.normal(size=n)


def _closure_for(opt, params, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss
    return closure


# ---------------------------------------------------------------------------------------------
# The reference: L-BFGS without a line search, transcribed from the docstring in NumPy


def ref_lbfgs(fg, x, lr, max_iter, history_size, steps, tolerance_grad=1e-7,
              tolerance_change=1e-9):
    """``steps`` calls of ``step`` (each up to ``max_iter`` iterations); returns the iterates
    after each call. ``fg(x) -> (f, g)``."""
    s_list, y_list, rho = [], [], []
    h0, direction, t, g_prev, n_total = 1.0, None, None, None, 0
    out = []
    for _ in range(steps):
        f, g = fg(x)
        evals = 1
        if np.max(np.abs(g)) <= tolerance_grad:
            out.append(x.copy())
            continue
        for k in range(1, max_iter + 1):
            n_total += 1
            if n_total == 1:
                direction = -g
            else:
                y, s = g - g_prev, t * direction
                if y @ s > 1e-10:
                    if len(s_list) == history_size:
                        s_list.pop(0), y_list.pop(0), rho.pop(0)
                    s_list.append(s), y_list.append(y), rho.append(1 / (y @ s))
                    h0 = (y @ s) / (y @ y)
                q = -g
                alphas = []
                for s_i, y_i, r_i in reversed(list(zip(s_list, y_list, rho))):
                    alphas.append(r_i * (s_i @ q))
                    q = q - alphas[-1] * y_i
                r = h0 * q
                for (s_i, y_i, r_i), a_i in zip(zip(s_list, y_list, rho), reversed(alphas)):
                    r = r + (a_i - r_i * (y_i @ r)) * s_i
                direction = r
            g_prev, f_prev = g, f
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr if n_total == 1 else lr
            if g @ direction > -tolerance_change:
                break
            x = x + t * direction
            if k == max_iter:
                break
            f, g = fg(x)
            evals += 1
            if (evals >= max_iter * 5 // 4 or np.max(np.abs(g)) <= tolerance_grad
                    or np.max(np.abs(t * direction)) <= tolerance_change
                    or abs(f - f_prev) < tolerance_change):
                break
        out.append(x.copy())
    return out


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), history_size=st.integers(1, 4),
       max_iter=st.integers(1, 5), lr=st.sampled_from([0.2, 0.5, 1.0]))
def test_two_loop_recursion_matches_the_transcription(seed, n, history_size, max_iter, lr):
    a, b, x0 = _quadratic(seed, n)
    w = Parameter(mg.tensor(x0, dtype=mg.float64))
    a_t, b_t = mg.tensor(a, dtype=mg.float64), mg.tensor(b, dtype=mg.float64)
    opt = optim.LBFGS([w], lr=lr, max_iter=max_iter, history_size=history_size)
    closure = _closure_for(opt, [w], lambda p: 0.5 * (p[0] @ (a_t @ p[0])) - b_t @ p[0])
    expected = ref_lbfgs(lambda x: (0.5 * x @ a @ x - b @ x, a @ x - b), x0.copy(), lr,
                         max_iter, history_size, steps=6)
    for want in expected:
        opt.step(closure)
        # elementwise 1e-9, but an entry near 0 that cancels may differ by 1e-9 of the norm
        np.testing.assert_allclose(w.data, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
        assert len(opt.state[w].get("old_dirs", [])) <= history_size


# ---------------------------------------------------------------------------------------------
# The line search on functions with known Wolfe points


def _line(phi, dphi):
    """A 1-d problem for strong_wolfe: x = [0], d = [1], so φ(t) = phi(t)."""
    def evaluate(x, t, d):
        return float(phi(x[0] + t * d[0])), np.array([dphi(x[0] + t * d[0])])
    return evaluate


def _wolfe_holds(phi, dphi, t, c1, c2):
    return (phi(t) <= phi(0) + c1 * t * dphi(0)) and abs(dphi(t)) <= c2 * abs(dphi(0))


@pytest.mark.parametrize("minimum, first_trial, expected_evals", [
    (1.0, 1.0, 1),      # the first trial is the minimiser: accepted at once
    (50.0, 1.0, None),  # far away: the bracketing phase extrapolates
    (0.3, 1.0, None),   # overshoots: zoom back inside [0, 1]
])
def test_strong_wolfe_finds_a_wolfe_point_of_a_quadratic(minimum, first_trial, expected_evals):
    def phi(t):
        return (t - minimum) ** 2

    def dphi(t):
        return 2 * (t - minimum)
    x, d = np.zeros(1), np.ones(1)
    f, g = phi(0.0), np.array([dphi(0.0)])
    f_new, g_new, t, evals = strong_wolfe(_line(phi, dphi), x, first_trial, d, f, g, float(g[0]))
    assert _wolfe_holds(phi, dphi, t, 1e-4, 0.9)
    assert f_new == pytest.approx(phi(t)) and g_new[0] == pytest.approx(dphi(t))
    if expected_evals is not None:
        assert evals == expected_evals and t == first_trial
    # the cubic through two points of a quadratic is the quadratic: a zoom lands on the minimum
    if minimum < first_trial:
        assert t == pytest.approx(minimum, rel=1e-9)


@pytest.mark.parametrize("c2", [0.9, 0.1, 0.01])
def test_strong_wolfe_on_a_nonconvex_line(c2):
    """φ(t) = −t e^{−t} + 0.1 t² (a minimum near t ≈ 0.8), from several first trials."""
    def phi(t):
        return -t * np.exp(-t) + 0.1 * t * t

    def dphi(t):
        return (t - 1) * np.exp(-t) + 0.2 * t
    for first_trial in (1e-3, 0.5, 3.0, 20.0):
        x, d = np.zeros(1), np.ones(1)
        _, _, t, evals = strong_wolfe(_line(phi, dphi), x, first_trial, d, phi(0.0),
                                      np.array([dphi(0.0)]), dphi(0.0), c2=c2)
        assert _wolfe_holds(phi, dphi, t, 1e-4, c2), (first_trial, t)
        assert 1 <= evals <= 26


def test_strong_wolfe_respects_max_ls():
    calls = []

    def evaluate(x, t, d):
        calls.append(t)
        return -t, np.array([-1.0])  # unbounded below: never a Wolfe point
    strong_wolfe(evaluate, np.zeros(1), 1.0, np.ones(1), 0.0, np.array([-1.0]), -1.0,
                 max_ls=4)
    assert len(calls) == 5  # the first trial and at most max_ls more
    assert all(b > a for a, b in zip(calls, calls[1:]))  # it kept extrapolating


@settings(max_examples=30, deadline=None)
@given(roots=st.tuples(st.floats(-3, 3), st.floats(0.5, 4)),
       x1=st.floats(-4, 0), x2=st.floats(0.2, 5))
def test_cubic_interpolate_finds_the_minimiser_of_a_cubic(roots, x1, x2):
    """p(x) = x³/3 − (r+s)x²/2 + r s x has p'(x) = (x − r)(x − r − s): its local minimum is at
    m = r + s. Interpolating p at two points must return m (clamped to the interval)."""
    r, s = roots
    m = r + s

    def p(x):
        return x ** 3 / 3 - (r + m) * x ** 2 / 2 + r * m * x

    def dp(x):
        return (x - r) * (x - m)
    t = cubic_interpolate(x1, p(x1), dp(x1), x2, p(x2), dp(x2))
    assert t == pytest.approx(min(max(m, x1), x2), abs=1e-7)
    # argument order does not matter
    assert cubic_interpolate(x2, p(x2), dp(x2), x1, p(x1), dp(x1)) == pytest.approx(t, abs=1e-7)


def test_cubic_interpolate_without_a_real_minimiser_bisects():
    # φ = x³/3 + x has φ' = x² + 1 > 0, no stationary point: d1² − g1 g2 = −1 < 0 at 0 and 1
    assert cubic_interpolate(0.0, 0.0, 1.0, 1.0, 4 / 3, 2.0) == 0.5
    assert cubic_interpolate(0.0, 0.0, 1.0, 1.0, 4 / 3, 2.0, bounds=(1.0, 3.0)) == 2.0
    # a straight line (equal slopes): no minimiser either, where PyTorch would divide by zero
    assert cubic_interpolate(0.0, 0.0, -1.0, 1.0, -1.0, -1.0, bounds=(1.0, 5.0)) == 3.0


# ---------------------------------------------------------------------------------------------
# Convergence, state, dtypes


def _rosenbrock(params):
    x = params[0]
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_reaches_the_rosenbrock_minimum(device, line_search_fn):
    x = Parameter(mg.tensor([-1.2, 1.0], dtype=mg.float64, device=device))
    opt = optim.LBFGS([x], line_search_fn=line_search_fn)
    closure = _closure_for(opt, [x], _rosenbrock)
    for _ in range(10):
        opt.step(closure)
    assert float(_rosenbrock([x]).item()) < 1e-8
    np.testing.assert_allclose(x.detach().cpu().numpy(), [1.0, 1.0], atol=1e-4)


def test_returns_the_first_loss_and_counts_evaluations():
    x = Parameter(mg.tensor([-1.2, 1.0], dtype=mg.float64))
    opt = optim.LBFGS([x], max_iter=4, line_search_fn="strong_wolfe")
    calls = []

    def closure():
        opt.zero_grad()
        loss = _rosenbrock([x])
        loss.backward()
        calls.append(float(loss.item()))
        return loss
    loss = opt.step(closure)
    assert float(loss.item()) == calls[0] == pytest.approx(24.2)
    assert opt.state[x]["func_evals"] == len(calls) and 1 <= opt.state[x]["n_iter"] <= 4
    # the search may spend what is left of max_eval (5), plus its own first trial
    assert opt.param_groups[0]["max_eval"] <= len(calls) <= opt.param_groups[0]["max_eval"] + 1


def test_an_optimal_point_is_left_alone():
    x = Parameter(mg.tensor([1.0, 1.0], dtype=mg.float64))
    opt = optim.LBFGS([x])
    opt.step(_closure_for(opt, [x], _rosenbrock))
    np.testing.assert_array_equal(x.data, [1.0, 1.0])
    assert opt.state[x]["n_iter"] == 0 and "d" not in opt.state[x]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_state_dict_round_trip_through_a_checkpoint(tmp_path, line_search_fn):
    """Two parameters (flattened into one vector); a checkpoint after 2 steps resumes the exact
    run of 3 more steps."""
    def make():
        w = Parameter(mg.tensor([0.5, -1.0, 2.0], dtype=mg.float64))
        v = Parameter(mg.tensor([[1.5]], dtype=mg.float64))
        return [w, v]

    def loss_fn(params):
        w, v = params
        x = mg.cat([w, v.reshape(-1)])
        return _rosenbrock([x])
    params = make()
    opt = optim.LBFGS(params, max_iter=3, history_size=2, line_search_fn=line_search_fn)
    closure = _closure_for(opt, params, loss_fn)
    for _ in range(2):
        opt.step(closure)
    mg.save({"optimizer": opt.state_dict(), "params": [p.detach() for p in params]},
            tmp_path / "ckpt")
    for _ in range(3):
        opt.step(closure)
    saved = mg.load(tmp_path / "ckpt")
    params2 = make()
    for p, value in zip(params2, saved["params"]):
        p.data[...] = value.data
    opt2 = optim.LBFGS(params2, max_iter=1)
    opt2.load_state_dict(saved["optimizer"])
    assert opt2.param_groups[0]["max_iter"] == 3 and len(opt2.state[params2[0]]["old_dirs"]) == 2
    closure2 = _closure_for(opt2, params2, loss_fn)
    for _ in range(3):
        opt2.step(closure2)
    for p, q in zip(params, params2):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_checks_vector_lengths():
    w = Parameter(mg.tensor([0.5, -1.0], dtype=mg.float64))
    opt = optim.LBFGS([w])
    opt.step(_closure_for(opt, [w], _rosenbrock))
    state = opt.state_dict()
    other = optim.LBFGS([Parameter(mg.zeros(3, dtype=mg.float64))])
    with pytest.raises(ValueError, match=r"state 'd' has shape \(2,\), expected \(3,\)"):
        other.load_state_dict(state)


def test_float32_stays_float32():
    x = Parameter(mg.tensor([-1.2, 1.0]))
    opt = optim.LBFGS([x], line_search_fn="strong_wolfe")
    opt.step(_closure_for(opt, [x], _rosenbrock))
    assert x.dtype == mg.float32
    state = opt.state[x]
    assert state["d"].dtype == mg.float32 and state["prev_flat_grad"].dtype == mg.float32
    assert all(v.dtype == mg.float32 for v in state["old_dirs"] + state["old_stps"])


# ---------------------------------------------------------------------------------------------
# Errors


def test_step_without_a_closure_says_what_to_write():
    opt = optim.LBFGS([Parameter(mg.zeros(2))])
    with pytest.raises(TypeError, match=r"LBFGS\.step: a closure is required"):
        opt.step()


def test_a_closure_returning_none_is_an_error():
    x = Parameter(mg.zeros(2))
    opt = optim.LBFGS([x])

    def closure():
        (x * x).sum().backward()
    with pytest.raises(TypeError, match="the closure returned None"):
        opt.step(closure)


@pytest.mark.parametrize("kwargs, message", [
    (dict(line_search_fn="armijo"), r"line_search_fn must be None or 'strong_wolfe', got 'armijo'"),
    (dict(history_size=0), r"history_size = 0"),
    (dict(max_iter=0), r"max_iter = 0"),
    (dict(lr=0.0), r"lr = 0\.0"),
    (dict(tolerance_grad=-1.0), r"tolerance_grad = -1\.0"),
])
def test_invalid_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.LBFGS([Parameter(mg.zeros(2))], **kwargs)


def test_one_parameter_group_only():
    a, b = Parameter(mg.zeros(2)), Parameter(mg.zeros(2))
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])
    opt = optim.LBFGS([a])
    with pytest.raises(ValueError, match="one group already"):
        opt.add_param_group({"params": [b]})


def test_max_eval_defaults_to_five_quarters_of_max_iter():
    assert optim.LBFGS([Parameter(mg.zeros(1))], max_iter=8).param_groups[0]["max_eval"] == 10
    assert optim.LBFGS([Parameter(mg.zeros(1))]).param_groups[0]["max_eval"] == 25


# ---------------------------------------------------------------------------------------------
# PyTorch, when installed (benchmarks/torch_check.py runs the long comparison)
