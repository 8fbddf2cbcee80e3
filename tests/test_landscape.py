"""minigrad.landscape: filter-normalized directions and 1-D/2-D loss landscapes."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.landscape import filter_normalized_direction, landscape_1d, landscape_2d


def _model_and_data(device="cpu"):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.ReLU(), nn.Linear(5, 2)).double().to(device)
    x = mg.randn(16, 3, dtype=mg.float64, device=device)
    y = mg.randint(0, 2, (16,), device=device)
    return model, (x, y)


def test_directions_are_filter_normalized(device):
    model, _ = _model_and_data(device)
    direction = filter_normalized_direction(model, seed=1)
    for p, d in zip(model.parameters(), direction):
        theta, d = p.detach().cpu().numpy(), mg.tensor(d).cpu().numpy()
        if theta.ndim == 1:
            assert np.all(d == 0)                    # biases are not moved
        else:
            np.testing.assert_allclose(np.linalg.norm(d, axis=1),
                                       np.linalg.norm(theta, axis=1), rtol=1e-6)


def test_landscape_1d_evaluates_the_real_loss_and_restores_the_model(device):
    model, data = _model_and_data(device)
    before = [p.detach().cpu().numpy().copy() for p in model.parameters()]
    loss_fn = nn.CrossEntropyLoss()
    result = landscape_1d(model, loss_fn, data, steps=5, distance=0.5, seed=2)
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.detach().cpu().numpy(), b)
    assert result["alphas"] == [-0.5, -0.25, 0.0, 0.25, 0.5]
    with mg.no_grad():
        centre = loss_fn(model(data[0]), data[1]).item()
        params = list(model.parameters())
        for p, d in zip(params, result["direction"]):
            p.data[...] = p.data + 0.25 * d
        moved = loss_fn(model(data[0]), data[1]).item()
    assert result["losses"][2] == pytest.approx(centre, rel=1e-12)
    assert result["losses"][3] == pytest.approx(moved, rel=1e-12)


def test_landscape_2d_grid_and_given_directions():
    model, data = _model_and_data()
    loss_fn = nn.CrossEntropyLoss()
    zero = [np.zeros(tuple(p.shape)) for p in model.parameters()]
    flat = landscape_2d(model, loss_fn, data, steps=3, directions=(zero, zero))
    assert np.ptp(np.array(flat["losses"])) == 0.0       # no movement: one loss everywhere
    result = landscape_2d(model, loss_fn, data, steps=3, seed=0)
    assert np.array(result["losses"]).shape == (3, 3)
    assert result["losses"][1][1] == pytest.approx(flat["losses"][0][0])
    # along α only, the 2-D grid's middle column is the 1-D landscape along d₁
    line = landscape_1d(model, loss_fn, data, steps=3, direction=result["directions"][0])
    np.testing.assert_allclose([row[1] for row in result["losses"]], line["losses"])


def test_loader_data_is_weighted_by_batch_size():
    from minigrad.data import DataLoader, TensorDataset
    model, (x, y) = _model_and_data()
    loss_fn = nn.CrossEntropyLoss()
    zero = [np.zeros(tuple(p.shape)) for p in model.parameters()]
    whole = landscape_1d(model, loss_fn, (x, y), steps=2, direction=zero)["losses"][0]
    batched = landscape_1d(model, loss_fn, DataLoader(TensorDataset(x, y), batch_size=5),
                           steps=2, direction=zero)["losses"][0]
    assert batched == pytest.approx(whole, rel=1e-12)


def test_bad_arguments():
    model, data = _model_and_data()
    with pytest.raises(ValueError, match="steps must be an integer >= 2"):
        landscape_1d(model, nn.CrossEntropyLoss(), data, steps=1)
    with pytest.raises(ValueError, match="one array per parameter"):
        landscape_1d(model, nn.CrossEntropyLoss(), data, direction=[np.zeros(3)])


def test_loss_landscape_example_runs():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "loss_landscape.py"),
                           "--quick"], capture_output=True, text=True, timeout=120, check=False,
                          env=dict(os.environ, PYTHONPATH=root, OPENBLAS_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    rows = [line.split() for line in proc.stdout.splitlines() if line.startswith("batch")]
    table = [r for r in rows if len(r) >= 5 and r[-1].replace(".", "").isdigit()]
    assert len(table) == 4
    for row in table:          # the trained point is the lowest of its curve
        centre, left, right = (float(v) for v in row[-4:-1])
        assert centre < left and centre < right
