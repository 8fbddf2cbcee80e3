"""The comparisons with PyTorch of tests/test_torch_load.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import numpy as np
import pytest

from minigrad import load_torch_state_dict

torch = pytest.importorskip("torch")


def test_matches_torch_load_when_torch_is_installed(tmp_path):
    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    path = tmp_path / "bn.pt"
    torch.save(module.state_dict(), path)
    ours = load_torch_state_dict(path)
    theirs = torch.load(path, weights_only=True)
    assert list(ours) == list(theirs)  # num_batches_tracked included, in order
    for name, tensor in theirs.items():
        np.testing.assert_array_equal(ours[name].data, tensor.numpy(), err_msg=name)
