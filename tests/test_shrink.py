"""nn.utils.prune.shrink: the smaller model computes what the structurally pruned one did."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import backend, models, nn
from minigrad.nn.utils import prune


def _cpu(a):
    return backend.to_device(a, "cpu")


def _prune_hidden(model, amount, n=2):
    for layer in [m for m in model if isinstance(m, (nn.Linear, nn.Conv2d))][:-1]:
        prune.ln_structured(layer, "weight", amount, n, 0)


@settings(max_examples=12)
@given(amount=st.sampled_from([0.25, 0.5, 0.75]), batch_norm=st.booleans(),
       seed=st.integers(0, 100))
def test_mlp_outputs_equal_the_masked_model(amount, batch_norm, seed, device):
    mg.manual_seed(seed)
    model = models.mlp(12, (16, 8), 3, dropout=0.2, batch_norm=batch_norm).to(device)
    model.double()
    model.train()
    model(mg.randn(32, 12, dtype=mg.float64, device=device))   # running statistics move
    _prune_hidden(model, amount)
    model.eval()
    small = prune.shrink(model)
    x = mg.randn(20, 12, dtype=mg.float64, device=device)
    np.testing.assert_allclose(_cpu(small(x).data), _cpu(model(x).data), atol=1e-12)
    kept = round(16 * (1 - amount))
    assert small[1].weight.shape == (kept, 12)
    assert not prune.is_pruned(small)
    assert sum(p.numel() for p in small.parameters()) < \
        sum(p.numel() for p in model.parameters())


def test_lenet_float32_within_1e6(device):
    mg.manual_seed(0)
    model = models.lenet5().to(device).eval()
    _prune_hidden(model, 0.5)
    small = prune.shrink(model)
    x = mg.rand(4, 1, 28, 28, device=device)
    expected = _cpu(model(x).data)
    assert np.abs(_cpu(small(x).data) - expected).max() <= 1e-6 * max(1, np.abs(expected).max())
    assert small[0].weight.shape == (3, 1, 5, 5) and small[3].weight.shape == (8, 3, 5, 5)
    assert small[7].weight.shape == (60, 8 * 25)


def test_unpruned_model_is_copied_unchanged():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    small = prune.shrink(model)
    x = mg.randn(5, 3)
    np.testing.assert_array_equal(small(x).data, model(x).data)
    assert small[0] is not model[0]


def test_kept_units_follow_the_mask():
    layer = nn.Linear(3, 4)
    prune.custom_from_mask(layer, "weight", np.array([[1, 1, 1], [0, 0, 0], [1, 0, 0],
                                                      [0, 0, 0]], np.float32))
    assert backend.to_device(prune.kept_units(layer), "cpu").tolist() == [0, 2]


def test_padded_conv_after_removed_filters_is_an_error():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Conv2d(4, 2, 3, padding=1))
    with mg.no_grad():
        model[0].bias.data[:] = 1.0          # removed filters would carry relu(1) = 1
    prune.ln_structured(model[0], "weight", 2, 2, 0)
    with pytest.raises(ValueError, match=r"shrink: layer 2 \(Conv2d\) has padding \(1, 1\)"):
        prune.shrink(model)


def test_unsupported_layer_is_an_error():
    with pytest.raises(TypeError, match=r"shrink: cannot shrink through layer '1' \(Softmax\)"):
        prune.shrink(nn.Sequential(nn.Linear(2, 2), nn.Softmax(dim=1)))
    with pytest.raises(TypeError, match="expected an nn.Sequential"):
        prune.shrink(nn.Linear(2, 2))
