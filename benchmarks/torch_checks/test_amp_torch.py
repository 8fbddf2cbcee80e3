"""The comparisons with PyTorch of tests/test_amp.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import pytest
from test_amp import _run_scaler  # the tests' helpers

torch = pytest.importorskip("torch")


def test_grad_scaler_matches_pytorch():
    pattern = [False, False, True, False, False, False, True, True, False, False]
    ours, scales, _ = _run_scaler(pattern, "cpu", init_scale=64.0, growth_interval=2)
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    opt = torch.optim.SGD([w], lr=0.1)
    theirs = torch.amp.GradScaler("cpu", init_scale=64.0, growth_interval=2)
    their_scales = []
    for i, inf in enumerate(pattern):
        opt.zero_grad()
        their_scales.append(theirs.get_scale())
        loss = (w * w).sum() * (float("inf") if inf and i % 2 else 1.0)
        if inf and not i % 2:
            loss = loss * float("nan")
        theirs.scale(loss).backward()
        theirs.step(opt)
        theirs.update()
    assert scales == their_scales
    assert ours.state_dict() == {k: (float(v) if k == "scale" else v)
                                 for k, v in theirs.state_dict().items()}
