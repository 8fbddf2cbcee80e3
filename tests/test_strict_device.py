"""The strict stand-in GPU (tests/strict_device.py) refuses what CuPy refuses, and with it the
GPU code path keeps data on the device: no NumPy call on device data anywhere, and a training
step that copies nothing to or from the host except the loss it is asked for.

The first group checks the stand-in itself (always run); the second needs it installed as the
suite's ``cuda`` (``MINIGRAD_TEST_DEVICES=cpu,strict``, as CI runs the suite).
"""

import numpy as np
import pytest

import minigrad as mg
import strict_device
from minigrad import backend, models, nn, optim
from strict_device import StrictArray, transfers

strict = strict_device.module
needs_strict = pytest.mark.skipif(
    backend._cupy is not strict,
    reason="the strict stand-in is not installed: run with MINIGRAD_TEST_DEVICES=cpu,strict")


@pytest.fixture
def counters():
    strict_device.reset_counters()
    yield transfers
    strict_device.reset_counters()


# --- the stand-in refuses what CuPy refuses ---------------------------------------------------

def test_implicit_conversions_to_numpy_are_refused(counters):
    a = strict.asarray(np.arange(6.0).reshape(2, 3))
    for convert in (np.asarray, np.array, np.exp, np.sum, lambda v: np.concatenate([v, v]),
                    lambda v: np.arange(3.0) + v, lambda v: v + np.arange(3.0),
                    lambda v: strict.maximum(v, np.zeros(3))):
        with pytest.raises(TypeError, match="Implicit conversion|Unsupported type"):
            convert(a)
    assert len(strict_device.refused) == 8


def test_device_results_and_explicit_transfers(counters):
    a = strict.asarray([[1.0, -2.0], [3.0, 4.0]])
    assert counters["to_device"] == 1
    for result in (a + 1, np.float32(2) * a, a.sum(), strict.maximum(a, 0.0), a[0], a.T,
                   strict.exp(a), a.reshape(4), a > 0, strict.add.reduce(a, axis=0)):
        assert type(result) is StrictArray   # reductions too: 0-d device arrays, as CuPy
    assert counters == {"to_device": 1, "to_host": 0}
    np.testing.assert_array_equal(a.get(), [[1.0, -2.0], [3.0, 4.0]])
    assert float(a.sum()) == 6.0 and strict.asnumpy(a).shape == (2, 2)
    assert counters["to_host"] == 3
    a[a < 0] = 0.0                       # a device mask: no transfer
    assert counters["to_host"] == 3 and float(a.min()) == 0.0


def test_the_backend_takes_it_as_cupy():
    if backend._cupy is not strict:
        pytest.skip("the strict stand-in is not installed")
    t = mg.tensor([1.0, 2.0], device="cuda")
    assert type(t.data) is StrictArray and t.device == "cuda:0"
    assert backend.array_module(t.data) is strict
    assert type(t.cpu().data) is np.ndarray


# --- the GPU code path on it ----------------------------------------------------------------------

def _mnist_mlp_step(model, optimizer, loss_fn, x, y):
    optimizer.zero_grad()
    loss = loss_fn(model(x), y)
    loss.backward()
    optimizer.step()
    return loss


@needs_strict
@pytest.mark.parametrize("make_optimizer", [
    lambda p: optim.Adam(p, lr=1e-3),
    lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-4),
], ids=["adam", "nesterov"])
def test_a_training_step_copies_nothing_but_the_loss_asked_for(make_optimizer, counters):
    mg.manual_seed(0)
    model = models.mlp(784, [512, 256], 10, dropout=0.2).to("cuda")
    optimizer = make_optimizer(model.parameters())
    loss_fn = nn.CrossEntropyLoss()
    x = mg.randn(128, 784, device="cuda")
    y = mg.randint(0, 10, (128,), device="cuda")
    _mnist_mlp_step(model, optimizer, loss_fn, x, y)     # first step: optimizer state appears
    strict_device.reset_counters()
    loss = _mnist_mlp_step(model, optimizer, loss_fn, x, y)
    assert transfers == {"to_host": 0, "to_device": 0}, strict_device.transfer_log
    assert np.isfinite(loss.item())
    assert transfers == {"to_host": 1, "to_device": 0}
    assert strict_device.refused == []


@needs_strict
def test_no_module_calls_numpy_on_device_data(counters, tmp_path):
    """A tour of the library on the device; every NumPy conversion attempted on device data is
    recorded by the stand-in, caught or not. The modules that did: none."""
    from minigrad import metrics
    from minigrad.data import DataLoader, TensorDataset, make_moons
    from minigrad.nn.utils import clip_grad_norm_, prune
    from minigrad.optim.lr_scheduler import CosineAnnealingLR
    from minigrad.training import ModelCheckpoint, evaluate, fit, predict

    mg.manual_seed(0)
    x, y = make_moons(256, noise=0.1, seed=0)
    data = TensorDataset(mg.tensor(x.astype(np.float32), device="cuda"),
                         mg.tensor(y, device="cuda"))
    train = DataLoader(data, batch_size=64, shuffle=True, seed=0)
    model = models.mlp(2, [16], 2, dropout=0.1, batch_norm=True).to("cuda")
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    path = tmp_path / "run.ckpt"
    fit(model, train, nn.CrossEntropyLoss(), optimizer, 2, val_loader=train,
        scheduler=CosineAnnealingLR(optimizer, T_max=2), metrics=["accuracy", "f1_score"],
        callbacks=[ModelCheckpoint(path)], clip_grad_norm=1.0, progress=False)
    fit(model, train, nn.CrossEntropyLoss(), optimizer, 3, resume=path, progress=False,
        scheduler=CosineAnnealingLR(optimizer, T_max=2), metrics=["accuracy", "f1_score"],
        val_loader=train, callbacks=[ModelCheckpoint(path)], clip_grad_norm=1.0)
    evaluate(model, train, nn.CrossEntropyLoss(), ["accuracy"])
    outputs = predict(model, data.arrays[0])
    metrics.accuracy(data.arrays[1], outputs.argmax(dim=1))
    clip_grad_norm_(model.parameters(), 0.5)
    prune.l1_unstructured(next(m for m in model.modules() if isinstance(m, nn.Linear)),
                          "weight", amount=0.5)
    prune.sparsity_report(model)
    mg.save(model.state_dict(), tmp_path / "model.npz")
    model.load_state_dict(mg.load(tmp_path / "model.npz", map_location="cuda"))

    modules = sorted({module for module, _, _ in strict_device.refused})
    assert modules == [], strict_device.refused


@needs_strict
def test_a_bad_class_target_on_the_device_raises_when_the_loss_is_read(counters):
    x = mg.zeros(3, 4, device="cuda", requires_grad=True)
    loss = nn.functional.cross_entropy(x, mg.tensor([0, 7, 1], device="cuda"))
    loss.backward()
    assert counters["to_host"] == 0          # no sync to check the targets
    assert not np.isfinite(x.grad.cpu().numpy()).any()   # the step it feeds is poisoned
    with pytest.raises(IndexError, match="cross_entropy: target class 7 is out of range for 4"):
        loss.item()


@needs_strict
def test_masked_attention_on_the_device_makes_no_transfer(counters):
    mg.manual_seed(0)
    mha = nn.MultiheadAttention(8, 2, batch_first=True).to("cuda")
    x = mg.randn(2, 5, 8, device="cuda", requires_grad=True)
    pad = mg.tensor([[False] * 5, [False] * 3 + [True] * 2], device="cuda")
    strict_device.reset_counters()
    out, _ = mha(x, x, x, key_padding_mask=pad)
    out.sum().backward()
    assert transfers == {"to_host": 0, "to_device": 0}, strict_device.transfer_log
