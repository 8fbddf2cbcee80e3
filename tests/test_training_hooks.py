"""fit's step hooks (Callback.training_context, on_loss, on_before_backward,
on_before_optimizer_step): where they run inside one training step, that their results are
used, and that a plain run is unchanged by callbacks that do not override them."""

import contextlib

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.data import DataLoader, TensorDataset, make_moons
from minigrad.training import Callback, fit


def run(callbacks=(), epochs=2, accumulate_steps=1, lr=0.1, val=False, seed=0):
    """Train a small MLP on moons; returns (final parameters, history)."""
    mg.manual_seed(seed)
    X, y = make_moons(n=96, noise=0.15, seed=seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    train = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=seed)
    val_loader = DataLoader(TensorDataset(X, y), batch_size=48) if val else None
    history = fit(model, train, nn.CrossEntropyLoss(), optim.SGD(model.parameters(), lr=lr),
                  epochs, val_loader=val_loader, callbacks=list(callbacks),
                  accumulate_steps=accumulate_steps, progress=False)
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}, history


def assert_same(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


class Events(Callback):
    """Records the order of the step hooks and the batch ends."""

    def __init__(self, log):
        self.log = log

    @contextlib.contextmanager
    def _context(self):
        self.log.append("enter")
        yield
        self.log.append("exit")

    def training_context(self):
        return self._context()

    def on_loss(self, inputs, outputs, targets, loss):
        self.log.append("loss")
        return loss

    def on_before_backward(self, loss):
        self.log.append("backward")
        return loss

    def on_before_optimizer_step(self, params):
        assert all(p.grad is not None for p in params)   # the group's gradients are there
        self.log.append("step")
        return True

    def on_batch_end(self, batch, logs):
        self.log.append("batch_end")


def test_hooks_run_in_step_order_and_only_when_a_group_completes():
    log = []
    run([Events(log)], epochs=1, accumulate_steps=2, val=True)
    # 3 batches, groups of 2 and 1: the step hook runs after batches 2 and 3 only;
    # validation runs without hooks (no "enter" after the last batch end)
    one = ["enter", "loss", "exit", "backward"]
    assert log == one + ["batch_end"] + one + ["step", "batch_end"] + one + ["step",
                                                                            "batch_end"]


def test_callbacks_without_step_hooks_leave_the_run_unchanged():
    class Nothing(Callback):
        pass

    assert_same(run([Nothing(), Events([])])[0], run()[0])


def test_loss_scaling_through_hooks_is_exact():
    """Scale the loss by 2**10 before backward and the gradients back before the step (what a
    GradScaler does): powers of two are exact, so the result equals the plain run bit for bit."""
    scale = 2.0 ** 10

    class Scaler(Callback):
        def on_before_backward(self, loss):
            return loss * scale

        def on_before_optimizer_step(self, params):
            for p in params:
                p.grad.data /= scale
            return True

    plain, plain_history = run(accumulate_steps=2)
    scaled, scaled_history = run([Scaler()], accumulate_steps=2)
    assert_same(scaled, plain)
    assert scaled_history.history["loss"] == plain_history.history["loss"]  # unscaled logs


def test_a_skipped_step_leaves_the_parameters_and_still_counts():
    class SkipAll(Callback):
        def on_before_optimizer_step(self, params):
            return False

    class Steps(Callback):
        def on_batch_end(self, batch, logs):
            self.last = logs["step"]

    mg.manual_seed(0)
    start = {k: v.numpy().copy() for k, v in
             nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2)).state_dict().items()}
    steps = Steps()
    final, _ = run([SkipAll(), steps], epochs=1)
    assert_same(final, start)
    assert steps.last == 3


def test_every_step_hook_runs_even_after_one_says_skip():
    seen = []

    class Skip(Callback):
        def on_before_optimizer_step(self, params):
            return False

    class Watch(Callback):
        def on_before_optimizer_step(self, params):
            seen.append(len(params))

    run([Skip(), Watch()], epochs=1)
    assert seen == [4, 4, 4]          # None from Watch does not veto; Skip's False does


def test_on_loss_changes_what_is_trained_and_logged():
    """An L2 term added by on_loss trains like the same term in the loss function."""
    lam = 0.05

    class L2(Callback):
        def on_loss(self, inputs, outputs, targets, loss):
            return loss + lam * sum((p * p).sum() for p in self.state.model.parameters())

    hooked, hooked_history = run([L2()])
    plain, plain_history = run()
    assert not np.allclose(hooked["0.weight"], plain["0.weight"])
    # the logged loss includes the term: it is larger than the plain cross-entropy run's
    assert hooked_history.history["loss"][0] > plain_history.history["loss"][0]

    # the same penalty written into the loss function gives the same weights
    mg.manual_seed(0)
    X, y = make_moons(n=96, noise=0.15, seed=0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    ce = nn.CrossEntropyLoss()

    def loss_fn(out, t):
        return ce(out, t) + lam * sum((p * p).sum() for p in model.parameters())

    fit(model, DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True, seed=0), loss_fn,
        optim.SGD(model.parameters(), lr=0.1), 2, progress=False)
    for key, value in model.state_dict().items():
        np.testing.assert_allclose(value.numpy(), hooked[key], rtol=1e-6, atol=1e-7)


def test_on_loss_chains_in_callback_order():
    order = []

    class Add(Callback):
        def __init__(self, name, amount):
            self.name, self.amount = name, amount

        def on_loss(self, inputs, outputs, targets, loss):
            order.append((self.name, round(float(loss), 6)))
            return loss + self.amount

    run([Add("a", 1.0), Add("b", 10.0)], epochs=1)
    first_a, first_b = order[0], order[1]
    assert (first_a[0], first_b[0]) == ("a", "b")
    assert first_b[1] == pytest.approx(first_a[1] + 1.0, abs=1e-5)


def test_on_loss_must_return_a_scalar_tensor():
    class Bad(Callback):
        def on_loss(self, inputs, outputs, targets, loss):
            return outputs

    with pytest.raises(ValueError, match=r"Bad\.on_loss must return a scalar Tensor"):
        run([Bad()], epochs=1)


def test_training_context_wraps_forward_and_loss():
    seen = []

    class Flag(Callback):
        active = False

        @contextlib.contextmanager
        def _active(self):
            Flag.active = True
            try:
                yield
            finally:
                Flag.active = False

        def training_context(self):
            return self._active()

        def on_loss(self, inputs, outputs, targets, loss):
            seen.append(Flag.active)
            return loss

        def on_before_backward(self, loss):
            seen.append(Flag.active)
            return loss

    run([Flag()], epochs=1)
    assert seen == [True, False] * 3
