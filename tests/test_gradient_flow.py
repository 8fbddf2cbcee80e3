"""minigrad.training.GradientFlowMonitor and ``train --watch-gradients``."""

import json
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, nn, optim
from minigrad.data import DataLoader, TensorDataset, make_blobs
from minigrad.training import Callback, GradientFlowMonitor, GradientFlowWarning, fit


def _loader(device="cpu"):
    x, y = make_blobs(256, seed=0)
    return DataLoader(TensorDataset(mg.tensor(x, device=device), mg.tensor(y, device=device)),
                      batch_size=64, shuffle=True, seed=0), x.shape[1], int(y.max()) + 1


def _sigmoid_stack(inputs, classes, depth=30):
    layers = [nn.Linear(inputs, 16), nn.Sigmoid()]
    for _ in range(depth - 1):
        layers += [nn.Linear(16, 16), nn.Sigmoid()]
    return nn.Sequential(*layers, nn.Linear(16, classes))


def test_fires_on_a_deep_sigmoid_stack_with_a_huge_rate(device):
    mg.manual_seed(0)
    loader, inputs, classes = _loader(device)
    model = _sigmoid_stack(inputs, classes).to(device)
    monitor = GradientFlowMonitor()
    with pytest.warns(GradientFlowWarning) as caught:
        fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=1e3), 2,
            callbacks=[monitor], progress=False)
    text = "\n".join(monitor.warnings)
    assert "layer 0 (Linear): vanishing" in text
    assert "layer 60 (Linear): large update" in text
    # once per layer and kind, although two epochs showed each problem
    assert len(monitor.warnings) == len(set(monitor.warnings))
    assert len([w for w in monitor.warnings if w.startswith("gradient flow: layer 0 (Linear): "
                                                            "vanishing")]) == 1
    assert len(caught) == len(monitor.warnings)


def test_silent_on_a_healthy_net(device):
    mg.manual_seed(0)
    loader, inputs, classes = _loader(device)
    model = nn.Sequential(nn.Linear(inputs, 32), nn.ReLU(), nn.Linear(32, classes)).to(device)
    monitor = GradientFlowMonitor()
    with warnings.catch_warnings():
        warnings.simplefilter("error", GradientFlowWarning)
        fit(model, loader, nn.CrossEntropyLoss(), optim.Adam(model.parameters(), lr=1e-2), 3,
            callbacks=[monitor], progress=False)
    assert monitor.warnings == []
    assert len(monitor.records) == 3
    last = monitor.records[-1]
    assert set(last) == {"0 (Linear)", "2 (Linear)", "1 (ReLU)"}
    assert last["0 (Linear)"]["steps"] == 4
    assert 0 < last["0 (Linear)"]["update_ratio"] < 0.1
    assert 0 <= last["1 (ReLU)"]["dead_fraction"] < 0.5


class _Spy(Callback):
    """Records the real gradients and parameters around each step (after the monitor)."""

    def __init__(self):
        self.norms, self.ratios, self._before = [], [], None

    def on_before_optimizer_step(self, params):
        grads = [p.grad.detach().cpu().numpy().astype(np.float64) for p in params[:2]]
        self.norms.append(math.sqrt(sum(float((g * g).sum()) for g in grads)))
        self._before = [p.detach().cpu().numpy().astype(np.float64) for p in params[:2]]
        return True

    def on_batch_end(self, batch, logs):
        after = [p.detach().cpu().numpy().astype(np.float64)
                 for p in self.state.model.parameters()][:2]
        moved = sum(float(((a - b) ** 2).sum()) for a, b in zip(after, self._before))
        size = sum(float((b * b).sum()) for b in self._before)
        self.ratios.append(math.sqrt(moved / size))


def test_numbers_are_the_real_gradients_and_updates():
    mg.manual_seed(1)
    loader, inputs, classes = _loader()
    model = nn.Sequential(nn.Linear(inputs, 8), nn.ReLU(), nn.Linear(8, classes))
    monitor, spy = GradientFlowMonitor(), _Spy()
    fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1,
        callbacks=[monitor, spy], progress=False)
    record = monitor.records[0]["0 (Linear)"]
    assert record["grad_norm"] == pytest.approx(np.mean(spy.norms), rel=1e-5)
    assert record["grad_norm_max"] == pytest.approx(max(spy.norms), rel=1e-5)
    assert record["update_ratio"] == pytest.approx(np.mean(spy.ratios), rel=1e-4)


def test_non_finite_gradients_and_dead_relus_are_named():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    with mg.no_grad():
        model[0].bias.data[...] = -100.0           # every unit of the ReLU is dead
    x = mg.randn(8, 3)
    y = mg.randint(0, 2, (8,))
    loader = DataLoader(TensorDataset(x, y), batch_size=8)

    class Poison(Callback):
        def on_before_optimizer_step(self, params):
            params[-1].grad.data[0] = float("nan")
            return True

    monitor = GradientFlowMonitor(stream_warnings=False)
    fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 1,
        callbacks=[Poison(), monitor], progress=False)
    text = "\n".join(monitor.warnings)
    assert "layer 2 (Linear): non-finite" in text
    assert "layer 1 (ReLU): dead ReLU: 100%" in text
    assert monitor.to_dict()["records"][0]["2 (Linear)"]["grad_norm"] is None
    json.dumps(monitor.to_dict(), allow_nan=False)


def test_warned_state_survives_a_checkpoint():
    monitor = GradientFlowMonitor()
    monitor._warned = {("0 (Linear)", "vanishing")}
    restored = GradientFlowMonitor()
    restored.load_state_dict(monitor.state_dict())
    assert restored._warned == monitor._warned


def test_plot_needs_matplotlib(tmp_path):
    monitor = GradientFlowMonitor()
    monitor.records = [{"0 (Linear)": {"grad_norm": 1.0, "grad_norm_max": 1.0,
                                       "update_ratio": 1e-3, "steps": 1}}]
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        assert monitor.plot(tmp_path / "g.png", missing_ok=True) is None
        with pytest.raises(ImportError, match="pip install matplotlib"):
            monitor.plot(tmp_path / "g.png")
    else:
        assert monitor.plot(tmp_path / "g.png") == tmp_path / "g.png"
        assert (tmp_path / "g.png").stat().st_size > 0


def test_train_watch_gradients(tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", "--watch-gradients", "--epochs", "1", "--samples", "300",
                     "--out", str(out), "--no-progress"]) == 0
    assert "gradient flow, last epoch" in capsys.readouterr().out
    with open(out / "results.json", encoding="utf-8") as handle:
        flow = json.load(handle)["gradient_flow"]
    assert flow["warnings"] == [] and "1 (Linear)" in flow["records"][0]


def test_on_warning_receives_each_message_once():
    seen = []
    monitor = GradientFlowMonitor(vanishing=1e9, on_warning=seen.append)   # all "vanish"
    mg.manual_seed(0)
    loader, inputs, classes = _loader()
    model = nn.Sequential(nn.Linear(inputs, 4), nn.Linear(4, classes))
    fit(model, loader, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=0.1), 2,
        callbacks=[monitor], progress=False)
    assert seen == monitor.warnings and len(seen) == 2
    assert all("vanishing" in message for message in seen)
