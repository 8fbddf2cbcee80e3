"""Nonlinear conjugate gradient: each β rule, the restarts and the step lengths against a NumPy
transcription of the docstring (written here, using the shared strong-Wolfe line search, which
tests/test_lbfgs.py checks on its own); finite termination on quadratics; state_dict round
trips; float32; clear errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.optim.line_search import strong_wolfe

RULES = ["fletcher_reeves", "polak_ribiere", "hestenes_stiefel"]


def ref_cg(fg, x, rule, iterations, restart, lr=1.0, c1=1e-4, c2=0.1):
    """``iterations`` CG iterations in NumPy (one per ``step`` with max_iter=1); returns the
    iterates and the number of restarts after the first direction."""
    f, g = fg(x)
    d = t = g_prev = gtd_prev = None
    since, restarts, out = 0, 0, []
    for k in range(iterations):
        if k > 0:
            f, g = fg(x)  # what step() evaluates first
        fresh = k == 0 or since >= restart
        if not fresh:
            y = g - g_prev
            beta = {"fletcher_reeves": (g @ g) / (g_prev @ g_prev),
                    "polak_ribiere": (g @ y) / (g_prev @ g_prev),
                    "hestenes_stiefel": (g @ y) / (d @ y)}[rule]
            if beta < 0 or g @ (-g + beta * d) >= 0:
                fresh = True
            else:
                d = -g + beta * d
        if fresh:
            d = -g
            since = 0
            restarts += k > 0
        since += 1
        gtd = g @ d
        t = t * gtd_prev / gtd if k > 0 else 0.0
        if not 0 < t < np.inf:
            t = min(1.0, 1.0 / np.abs(g).sum()) * lr
        g_prev, gtd_prev = g, gtd

        def evaluate(x0, step, direction):
            return fg(x0 + step * direction)
        f, g, t, _ = strong_wolfe(evaluate, x, t, d, f, g, gtd, c1=c1, c2=c2, max_ls=25)
        x = x + t * d
        out.append(x.copy())
    return out, restarts


def _rosenbrock_fg(x):
    r = x[1:] - x[:-1] ** 2
    f = float((100 * r * r + (1 - x[:-1]) ** 2).sum())
    g = np.zeros_like(x)
    g[1:] += 200 * r
    g[:-1] += -400 * r * x[:-1] - 2 * (1 - x[:-1])
    return f, g


def _rosenbrock(params):
    x = params[0]
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


def _closure_for(opt, params, loss_fn):
    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss
    return closure


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("restart", [None, 3])
def test_iterates_match_the_transcription(rule, restart):
    x0 = np.array([-1.2, 1.0, -0.5, 0.8])
    x = Parameter(mg.tensor(x0, dtype=mg.float64))
    opt = optim.ConjugateGradient([x], beta=rule, max_iter=1, max_eval=26, restart=restart)
    closure = _closure_for(opt, [x], _rosenbrock)
    expected, restarts = ref_cg(_rosenbrock_fg, x0.copy(), rule, 25, restart or 4)
    for k, want in enumerate(expected):
        opt.step(closure)
        np.testing.assert_allclose(x.data, want, rtol=1e-7, atol=1e-9, err_msg=f"iteration {k}")
    assert opt.state[x]["restarts"] == restarts
    if restart == 3 or rule != "fletcher_reeves":
        assert restarts > 0  # the restart rules were exercised


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 8), rule=st.sampled_from(RULES))
def test_finite_termination_on_a_quadratic(seed, n, rule):
    """With an (almost) exact line search, CG minimises an n-dimensional convex quadratic in n
    iterations (N&W Theorem 5.2): the cubic interpolation is exact on a quadratic line."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(n, n)))
    a = q @ np.diag(np.geomspace(1.0, 30.0, n)) @ q.T
    b = rng.normal(size=n)
    a_t, b_t = mg.tensor(a, dtype=mg.float64), mg.tensor(b, dtype=mg.float64)
    x = Parameter(mg.tensor(rng.normal(size=n), dtype=mg.float64))
    opt = optim.ConjugateGradient([x], beta=rule, max_iter=n, max_eval=50 * n, c1=1e-12,
                                  c2=1e-10, tolerance_change=0.0, tolerance_grad=0.0)
    opt.step(_closure_for(opt, [x], lambda p: 0.5 * (p[0] @ (a_t @ p[0])) - b_t @ p[0]))
    np.testing.assert_allclose(x.data, np.linalg.solve(a, b), rtol=1e-6, atol=1e-6)


def test_restart_every_n_iterations():
    x = Parameter(mg.tensor([-1.2, 1.0, 0.3], dtype=mg.float64))
    opt = optim.ConjugateGradient([x], max_iter=1, restart=2, beta="fletcher_reeves")
    gradients = []

    def closure():
        opt.zero_grad()
        loss = _rosenbrock([x])
        loss.backward()
        gradients.append(x.grad.numpy().copy())
        return loss
    for k in range(6):
        first = len(gradients)
        opt.step(closure)
        d = opt.state[x]["d"].numpy()
        fresh = np.allclose(d, -gradients[first], rtol=1e-12, atol=0)
        assert fresh == (k % 2 == 0), k  # iterations 0, 2, 4 start afresh: d = −g
    assert opt.state[x]["restarts"] == 2


@pytest.mark.parametrize("rule", RULES)
def test_reaches_the_rosenbrock_minimum(device, rule):
    x = Parameter(mg.tensor([-1.2, 1.0], dtype=mg.float64, device=device))
    opt = optim.ConjugateGradient([x], beta=rule, max_iter=200, max_eval=1000)
    closure = _closure_for(opt, [x], _rosenbrock)
    for _ in range(5):
        opt.step(closure)
    assert float(_rosenbrock([x]).item()) < 1e-8


def test_state_dict_round_trip(tmp_path):
    def run(opt, x, n):
        closure = _closure_for(opt, [x], _rosenbrock)
        for _ in range(n):
            opt.step(closure)
    x = Parameter(mg.tensor([-1.2, 1.0, 0.5], dtype=mg.float64))
    opt = optim.ConjugateGradient([x], max_iter=2, beta="hestenes_stiefel")
    run(opt, x, 3)
    mg.save({"opt": opt.state_dict(), "x": x.detach()}, tmp_path / "ckpt")
    run(opt, x, 4)
    saved = mg.load(tmp_path / "ckpt")
    x2 = Parameter(mg.tensor(saved["x"].numpy(), dtype=mg.float64))
    opt2 = optim.ConjugateGradient([x2])
    opt2.load_state_dict(saved["opt"])
    assert opt2.param_groups[0]["beta"] == "hestenes_stiefel"
    assert isinstance(opt2.state[x2]["restarts"], int)
    run(opt2, x2, 4)
    np.testing.assert_array_equal(x.data, x2.data)


def test_float32_stays_float32():
    x = Parameter(mg.tensor([-1.2, 1.0]))
    opt = optim.ConjugateGradient([x])
    opt.step(_closure_for(opt, [x], _rosenbrock))
    assert x.dtype == mg.float32 and opt.state[x]["d"].dtype == mg.float32


@pytest.mark.parametrize("kwargs, message", [
    (dict(beta="dai_yuan"), r"beta must be one of 'fletcher_reeves'"),
    (dict(c1=0.5, c2=0.1), r"c1 < c2"),
    (dict(c2=1.0), r"c2 = 1\.0"),
    (dict(restart=0), r"restart = 0"),
    (dict(max_eval=0), r"max_eval = 0"),
])
def test_invalid_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.ConjugateGradient([Parameter(mg.zeros(2))], **kwargs)


def test_step_needs_a_closure():
    with pytest.raises(TypeError, match=r"ConjugateGradient\.step: a closure is required"):
        optim.ConjugateGradient([Parameter(mg.zeros(2))]).step()


def test_shares_the_line_search_with_lbfgs():
    """One implementation (DESIGN rule 13): both modules use the same function object."""
    from minigrad.optim import conjugate_gradient, lbfgs, line_search
    assert conjugate_gradient.strong_wolfe is line_search.strong_wolfe is lbfgs.strong_wolfe
