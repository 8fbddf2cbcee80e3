"""The comparisons with PyTorch of tests/test_tensor_api.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import ops

torch = pytest.importorskip("torch")


def _both(torch, array, requires_grad=True):
    return (mg.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


_TORCH_CASES = {
    "sort_desc": lambda lib, x: lib.sort(x, dim=1, descending=True, stable=True)[0],
    "topk": lambda lib, x: lib.topk(x, 2, dim=0)[0],
    "median": lambda lib, x: lib.median(x),
    "median_dim": lambda lib, x: lib.median(x, 1)[0],
    "norm_inf": lambda lib, x: lib.norm(x, math.inf, 1),
    "norm_3": lambda lib, x: lib.norm(x, 3, 0, True),
    "norm_fro": lambda lib, x: lib.norm(x),
    "cumprod": lambda lib, x: lib.cumprod(x, 1),
    "prod": lambda lib, x: lib.prod(x, 0),
    "einsum_diag": lambda lib, x: lib.einsum("ii->i", x[:3, :3]),
    "einsum_bcast": lambda lib, x: lib.einsum("...j,j->...", x, x[0]),
    "chunk": lambda lib, x: lib.chunk(x, 3, 1)[-1],
    "roll": lambda lib, x: lib.roll(x, (1, -2), (0, 1)),
    "repeat": lambda lib, x: x.repeat(2, 1, 2),
    "tril": lambda lib, x: lib.tril(x, -1),
    "diag": lambda lib, x: lib.diag(x, 1),
    "fmod": lambda lib, x: lib.fmod(x, 0.7),
    "remainder": lambda lib, x: lib.remainder(x, -0.7),
    "round": lambda lib, x: lib.round(x * 2),
    "erf": lambda lib, x: lib.erf(x),
    "lerp": lambda lib, x: lib.lerp(x, x * x, 0.3),
    "logsumexp": lambda lib, x: lib.logsumexp(x, 1),
    "kthvalue": lambda lib, x: lib.kthvalue(x, 2, 0)[0],
}


@pytest.mark.parametrize("case", sorted(_TORCH_CASES))
def test_forward_and_gradient_match_pytorch(case):
    rng = np.random.default_rng(7)
    array = np.round(rng.standard_normal((4, 5)) * 4) / 4 + 0.01 * rng.random((4, 5))
    array[1, 2] = 0.0  # a zero: prod and cumprod take their division-free path
    (a, b) = _both(torch, array)
    ours, theirs = _TORCH_CASES[case](mg, a), _TORCH_CASES[case](torch, b)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-6, atol=1e-9)
    weights = rng.standard_normal(theirs.shape)
    (ours * mg.tensor(weights)).sum().backward()
    (theirs * torch.tensor(weights)).sum().backward()
    np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-6, atol=1e-9)


def test_index_ops_match_pytorch():
    rng = np.random.default_rng(1)
    x = rng.standard_normal((3, 4))
    index = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])
    src = rng.standard_normal((2, 4))
    pairs = [
        (mg.tensor(x).gather(0, mg.tensor(index)), torch.tensor(x).gather(0, torch.tensor(index))),
        (mg.tensor(x).scatter_add(0, mg.tensor(index), mg.tensor(src)),
         torch.tensor(x).scatter_add(0, torch.tensor(index), torch.tensor(src))),
        (mg.tensor(x).scatter(1, mg.tensor(index[:, :2]), 9.0),
         torch.tensor(x).scatter(1, torch.tensor(index[:, :2]), 9.0)),
        (mg.tensor(x).index_select(1, mg.tensor([3, 0, 3])),
         torch.tensor(x).index_select(1, torch.tensor([3, 0, 3]))),
        (mg.nonzero(mg.tensor(x) > 0), torch.nonzero(torch.tensor(x) > 0)),
        (mg.unique(mg.tensor([3, 1, 3, 2]), return_inverse=True)[1],
         torch.unique(torch.tensor([3, 1, 3, 2]), return_inverse=True)[1]),
        (mg.stack(mg.chunk(mg.arange(6), 4)[:2]), torch.stack(torch.chunk(torch.arange(6), 4)[:2])),
        (mg.tensor([3.0, 1.0, 3.0, 1.0]).argsort(descending=True, stable=True),
         torch.tensor([3.0, 1.0, 3.0, 1.0]).argsort(descending=True, stable=True)),
    ]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours.data, theirs.numpy())


def test_every_name_in_the_op_table_is_pytorchs():
    assert [n for n in ops.FUNCTIONS if not hasattr(torch, n)] == []
    assert [n for n in ops.METHODS if not hasattr(torch.Tensor, n)] == []
