"""The comparisons with PyTorch of tests/test_autograd_functional.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import numpy as np
import pytest
from test_autograd_functional import cpu, t64  # the tests' helpers

import minigrad.autograd.functional as AF
from minigrad.autograd.functional import hessian, jacobian, jvp

torch = pytest.importorskip("torch")


def test_against_torch_when_installed():
    TF = torch.autograd.functional
    rng = np.random.default_rng(0)
    xv, yv, v2, v3 = (rng.standard_normal(s) for s in ((2, 3), (3,), (2, 3), (3,)))

    def f(x, y):  # the same code runs on both libraries
        return (x * y).tanh(), (x.exp() * y).sum(1)

    def s(x, y):
        return ((x * y).sin() * (y * y).sum()).sum()

    ours = jacobian(f, (t64(xv), t64(yv)))
    theirs = TF.jacobian(f, (torch.tensor(xv), torch.tensor(yv)))
    for row_ours, row_theirs in zip(ours, theirs):
        for a, b in zip(row_ours, row_theirs):
            np.testing.assert_allclose(cpu(a), b.numpy(), rtol=1e-12, atol=1e-14)
    for a, b in zip(sum(hessian(s, (t64(xv), t64(yv))), ()),
                    sum(TF.hessian(s, (torch.tensor(xv), torch.tensor(yv))), ())):
        np.testing.assert_allclose(cpu(a), b.numpy(), rtol=1e-12, atol=1e-14)
    for name in ("hvp", "vhp"):
        _, a = getattr(AF, name)(s, (t64(xv), t64(yv)), (t64(v2), t64(v3)))
        _, b = getattr(TF, name)(s, (torch.tensor(xv), torch.tensor(yv)),
                                 (torch.tensor(v2), torch.tensor(v3)))
        for p, q in zip(a, b):
            np.testing.assert_allclose(cpu(p), q.numpy(), rtol=1e-12, atol=1e-14)
    _, a = jvp(f, (t64(xv), t64(yv)), (t64(v2), t64(v3)))
    _, b = TF.jvp(f, (torch.tensor(xv), torch.tensor(yv)),
                  (torch.tensor(v2), torch.tensor(v3)))
    for p, q in zip(a, b):
        np.testing.assert_allclose(cpu(p), q.numpy(), rtol=1e-12, atol=1e-14)
