"""The comparisons with PyTorch of tests/test_custom_function.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import numpy as np
import pytest
from test_custom_function import LinearFunction, cpu, leaf  # the tests' helpers

torch = pytest.importorskip("torch")


def test_against_torch_when_installed():
    rng = np.random.default_rng(3)
    xv, wv, bv = rng.standard_normal((5, 3)), rng.standard_normal((2, 3)), rng.standard_normal(2)

    class TorchLinear(torch.autograd.Function):
        forward = staticmethod(LinearFunction.forward)  # the same code, run by torch
        backward = staticmethod(LinearFunction.backward)

    tx, tw, tb = (torch.tensor(v, requires_grad=True) for v in (xv, wv, bv))
    (TorchLinear.apply(tx, tw, tb) ** 2).sum().backward()
    x, w, b = leaf(xv), leaf(wv), leaf(bv)
    (LinearFunction.apply(x, w, b) ** 2).sum().backward()
    for ours, theirs in ((x, tx), (w, tw), (b, tb)):
        np.testing.assert_allclose(cpu(ours.grad), theirs.grad.numpy(), rtol=1e-12)
