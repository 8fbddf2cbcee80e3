"""The comparisons with PyTorch of tests/test_hooks.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import pytest
from test_hooks import _record_sequential  # the tests' helpers

import minigrad as mg

torch = pytest.importorskip("torch")


def test_sequential_order_equals_pytorchs():
    ours = []
    seq = _record_sequential(ours)
    x = mg.randn(3, 2, requires_grad=True)
    x.register_hook(lambda g: ours.append("x"))
    seq(x).sum().backward()

    theirs = []
    tseq = _record_sequential(theirs, torch.nn)
    tx = torch.randn(3, 2, requires_grad=True)
    tx.register_hook(lambda g: theirs.append("x"))
    tseq(tx).sum().backward()
    assert ours == theirs
