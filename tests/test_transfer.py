"""Transfer learning: freezing with Module.requires_grad_, load_state_dict(strict=False)'s key
reports (as PyTorch's), and examples/transfer_learning.py."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MNIST_DIR = next((d for d in (os.environ.get("MINIGRAD_DATA"),
                              os.path.join(ROOT, os.pardir, "shared", "data", "mnist"))
                  if d and os.path.isfile(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))), None)


def _net():
    return nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))


def test_frozen_layers_get_no_gradient_and_do_not_move(device):
    mg.manual_seed(0)
    net = _net().to(device)
    assert net[0].requires_grad_(False) is net[0]  # returns the module
    before = {k: v.numpy().copy() for k, v in net.state_dict().items()}
    opt = optim.SGD(net.parameters(), lr=0.5, momentum=0.9, weight_decay=0.1)
    for _ in range(3):
        opt.zero_grad()
        net(mg.randn(5, 3, device=device)).pow(2).sum().backward()
        opt.step()
    after = net.state_dict()
    assert net[0].weight.grad is None and net[0].bias.grad is None
    for key in ("0.weight", "0.bias"):
        np.testing.assert_array_equal(after[key].numpy(), before[key])
    for key in ("2.weight", "2.bias"):
        assert not np.array_equal(after[key].numpy(), before[key])
    net.requires_grad_()  # unfreeze: all train again
    assert all(p.requires_grad for p in net.parameters())


def test_frozen_input_side_builds_no_graph_for_it():
    net = _net()
    net[0].requires_grad_(False)
    hidden = net[1](net[0](mg.randn(2, 3)))
    assert hidden.grad_fn is None and net(mg.randn(2, 3)).grad_fn is not None


def test_load_state_dict_non_strict_reports_missing_and_unexpected_keys():
    source, target = _net(), _net()
    state = source.state_dict()
    del state["2.bias"]
    state["extra.weight"] = mg.zeros(1)
    result = target.load_state_dict(state, strict=False)
    missing, unexpected = result  # a named tuple, as PyTorch's
    assert result.missing_keys == missing == ["2.bias"]
    assert result.unexpected_keys == unexpected == ["extra.weight"]
    for key in ("0.weight", "0.bias", "2.weight"):  # the keys present were copied
        np.testing.assert_array_equal(target.state_dict()[key].numpy(),
                                      source.state_dict()[key].numpy())
    with pytest.raises(RuntimeError, match=r"missing key\(s\): 2.bias"):
        _net().load_state_dict(state)  # strict by default
    state["2.weight"] = mg.zeros(3, 3)
    with pytest.raises(RuntimeError, match="size mismatch.*2.weight"):
        _net().load_state_dict(state, strict=False)  # shapes are checked even when not strict


@pytest.mark.skipif(MNIST_DIR is None, reason="MNIST files not found")
def test_transfer_learning_example_quick():
    env = dict(os.environ, PYTHONPATH=ROOT, OPENBLAS_NUM_THREADS="1")
    script = os.path.join(ROOT, "examples", "transfer_learning.py")
    proc = subprocess.run([sys.executable, script, "--quick", "--epochs", "3", "--data-dir",
                           MNIST_DIR], check=False, cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "missing_keys=['11.weight', '11.bias'], unexpected_keys=[]" in out
    rows = {}
    for line in out.splitlines():
        match = re.match(r"(frozen conv features|frozen up to the new head|fine-tuned \(convs at "
                         r"lr/10\)|from scratch)\s+([\d,]+)\s+([\d.]+)", line)
        if match:
            rows[match.group(1)] = (int(match.group(2).replace(",", "")), float(match.group(3)))
    # trainable parameters: the dense layers (48,120 + 10,164 + 425), the head alone, all
    assert rows["frozen conv features"][0] == 58_709
    assert rows["frozen up to the new head"][0] == 425
    assert rows["fine-tuned (convs at lr/10)"][0] == rows["from scratch"][0] == 61_281
    assert all(0.2 < acc <= 1.0 for _, acc in rows.values())  # better than chance (0.2)
