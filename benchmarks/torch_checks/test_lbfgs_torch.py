"""The comparisons with PyTorch of tests/test_lbfgs.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import numpy as np
import pytest
from test_lbfgs import _closure_for  # the tests' helpers

import minigrad as mg
from minigrad import optim
from minigrad.nn import Parameter

torch = pytest.importorskip("torch")


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_iterates_equal_pytorch(line_search_fn):
    # a smooth, well-conditioned function (Rosenbrock amplifies rounding differences:
    # benchmarks/torch_check.py measures that against torch's own sensitivity)
    rng = np.random.default_rng(0)
    a, b, x0 = rng.normal(size=(5, 3)), rng.normal(size=5), rng.normal(size=3)

    def loss_fn(params, lib):
        x = params[0]
        r = lib.tensor(a) @ x - lib.tensor(b)
        return (r * r).sum() + 0.1 * (x ** 4).sum()
    mine = Parameter(mg.tensor(x0, dtype=mg.float64))
    theirs = torch.tensor(x0, requires_grad=True)
    opt_mine = optim.LBFGS([mine], max_iter=3, line_search_fn=line_search_fn)
    opt_theirs = torch.optim.LBFGS([theirs], max_iter=3, line_search_fn=line_search_fn)
    closure_mine = _closure_for(opt_mine, [mine], lambda p: loss_fn(p, mg))
    closure_theirs = _closure_for(opt_theirs, [theirs], lambda p: loss_fn(p, torch))
    for _ in range(8):
        opt_mine.step(closure_mine)
        opt_theirs.step(closure_theirs)
        np.testing.assert_allclose(mine.data, theirs.detach().numpy(), rtol=0, atol=1e-10)
    assert opt_mine.state[mine]["func_evals"] == opt_theirs.state[theirs]["func_evals"]
