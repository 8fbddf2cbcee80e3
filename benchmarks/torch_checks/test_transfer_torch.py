"""The comparisons with PyTorch of tests/test_transfer.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import pytest

import minigrad as mg
from minigrad import models

torch = pytest.importorskip("torch")


def test_non_strict_key_report_equals_pytorchs():
    ours = models.lenet5(5)
    theirs = torch.nn.Sequential(
        torch.nn.Conv2d(1, 6, 5, padding=2), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
        torch.nn.Conv2d(6, 16, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(),
        torch.nn.Linear(400, 120), torch.nn.ReLU(), torch.nn.Linear(120, 84), torch.nn.ReLU(),
        torch.nn.Linear(84, 5))
    state = {k: v for k, v in ours.state_dict().items() if not k.startswith("11.")}
    state["head.weight"] = mg.zeros(5, 84)
    torch_state = {k: torch.from_numpy(v.numpy().copy()) for k, v in state.items()}
    assert tuple(models.lenet5(5).load_state_dict(state, strict=False)) == \
        tuple(theirs.load_state_dict(torch_state, strict=False))
