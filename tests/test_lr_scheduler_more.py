"""The later schedules (PolynomialLR, InverseTimeDecay, CosineAnnealingWarmRestarts, CyclicLR,
OneCycleLR, ChainedScheduler): rates, and the cycled momentum, against their formulas written
here in NumPy, for two parameter groups; chainable rules under an outside change; fractional
epochs; state_dict round trips through JSON; the package keeps every public import path;
invalid arguments. (tests/test_lr_scheduler.py covers the first schedules the same way.)"""

import json
import math

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.optim import lr_scheduler as S

BASE_LRS = (0.1, 0.3)
N_STEPS = 60


def _optimizer(kind="SGD", lrs=BASE_LRS):
    groups = [{"params": [Parameter(mg.zeros(2))], "lr": lr} for lr in lrs]
    if kind == "Adam":
        return optim.Adam(groups, lr=lrs[0])
    return optim.SGD(groups, lr=lrs[0], momentum=0.9)


def _momentum(group):
    return group["betas"][0] if "betas" in group else group["momentum"]


def _run(scheduler, opt, n=N_STEPS, poke_at=None, epochs=None):
    """(rates, momenta) in effect at steps 0..n-1; optionally halve group 0's rate by hand
    right after step ``poke_at``; ``epochs`` drives step(epoch) instead of step()."""
    rates, momenta = [], []
    for t in range(n):
        rates.append([g["lr"] for g in opt.param_groups])
        momenta.append([_momentum(g) for g in opt.param_groups])
        if t != poke_at:
            assert scheduler.get_last_lr() == rates[-1]
        opt.step()
        scheduler.step() if epochs is None else scheduler.step(epochs[t])
        if poke_at is not None and t + 1 == poke_at:
            opt.param_groups[0]["lr"] *= 0.5
    return np.array(rates), np.array(momenta)


# --- the formulas, transcribed ------------------------------------------------------------------

def polynomial(t, base, T=25, p=2.0):
    return base * (1 - min(t, T) / T) ** p


def inverse_time(t, base, k=0.2):
    return base / (1 + k * t)


def warm_restarts(epoch, base, T_0, T_mult, eta_min=0.0):
    """Find the cycle by walking the cycle lengths T_0, T_0 T_mult, ... (not the log formula)."""
    start, length = 0.0, T_0
    while epoch >= start + length:
        start, length = start + length, length * T_mult
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (epoch - start) / length)) / 2


def cyclic(t, base, top, up, down, mode="triangular", gamma=1.0):
    """(rate, 'height' h·s) of CyclicLR at step t: a triangle wave, rising for ``up`` steps
    and falling for ``down``, with the amplitude scaled per mode."""
    period = up + down
    cycle = t // period + 1
    into = t - (cycle - 1) * period
    h = into / up if into <= up else 1 - (into - up) / down
    scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": gamma ** t}[mode]
    return base + (top - base) * h * scale, h * scale


def one_cycle(t, top, T, pct=0.3, div=25.0, final_div=1e4, anneal="cos", three_phase=False,
              m_low=0.85, m_high=0.95):
    start_lr = top / div
    low_lr = start_lr / final_div
    if three_phase:
        ends = [pct * T - 1, 2 * pct * T - 2, T - 1]
        lrs = [(start_lr, top), (top, start_lr), (start_lr, low_lr)]
        moms = [(m_high, m_low), (m_low, m_high), (m_high, m_high)]
    else:
        ends = [pct * T - 1, T - 1]
        lrs = [(start_lr, top), (top, low_lr)]
        moms = [(m_high, m_low), (m_low, m_high)]
    a = 0.0
    for i, b in enumerate(ends):
        if t <= b or i == len(ends) - 1:
            p = (t - a) / (b - a)
            if anneal == "cos":
                w = (1 - math.cos(math.pi * p)) / 2   # 0 → 1 along the phase
            else:
                w = p
            (l0, l1), (m0, m1) = lrs[i], moms[i]
            return l0 + (l1 - l0) * w, m0 + (m1 - m0) * w
        a = b


def _expected(closed_form, n=N_STEPS):
    return np.array([[closed_form(t, base) for base in BASE_LRS] for t in range(n)])


# --- closed forms -------------------------------------------------------------------------------

SCHEDULES = {
    "PolynomialLR": (lambda o: S.PolynomialLR(o, total_iters=25, power=2.0), polynomial),
    "PolynomialLR linear": (lambda o: S.PolynomialLR(o, total_iters=40),
                            lambda t, b: polynomial(t, b, T=40, p=1.0)),
    "InverseTimeDecay": (lambda o: S.InverseTimeDecay(o, k=0.2), inverse_time),
    "CosineAnnealingWarmRestarts T_mult=1": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=9, eta_min=0.01),
        lambda t, b: warm_restarts(t, b, 9, 1, 0.01)),
    "CosineAnnealingWarmRestarts T_mult=2": (
        lambda o: S.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=2),
        lambda t, b: warm_restarts(t, b, 4, 2)),
    "ChainedScheduler ExponentialLR x LinearLR": (
        lambda o: S.ChainedScheduler([S.ExponentialLR(o, gamma=0.95),
                                      S.LinearLR(o, start_factor=0.25, total_iters=8)]),
        lambda t, b: b * 0.95 ** t * (0.25 + 0.75 * min(t, 8) / 8)),
    "ChainedScheduler InverseTimeDecay x PolynomialLR": (
        lambda o: S.ChainedScheduler([S.InverseTimeDecay(o, k=0.2),
                                      S.PolynomialLR(o, total_iters=25, power=2.0)]),
        lambda t, b: inverse_time(t, b) * polynomial(t, 1.0)),
    "SequentialLR warm-up then warm restarts": (
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.5, total_iters=6),
                                     S.CosineAnnealingWarmRestarts(o, T_0=10)], milestones=[6]),
        lambda t, b: b * (0.5 + 0.5 * t / 6) if t < 6 else warm_restarts(t - 6, b, 10, 1)),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_rates_follow_the_formula(name):
    make, formula = SCHEDULES[name]
    opt = _optimizer()
    rates, _ = _run(make(opt), opt)
    expected = _expected(formula)
    assert len(np.unique(np.round(expected[:, 0], 12))) > 3  # the schedule really moves
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", ["PolynomialLR", "InverseTimeDecay"])
def test_chainable_rules_carry_an_outside_change_on(name):
    make, formula = SCHEDULES[name]
    opt = _optimizer()
    rates, _ = _run(make(opt), opt, poke_at=9)
    expected = _expected(formula)
    expected[9:, 0] *= 0.5
    np.testing.assert_allclose(rates, expected, rtol=1e-12, atol=1e-15)


@settings(max_examples=30, deadline=None)
@given(T_0=st.integers(1, 6), T_mult=st.integers(1, 3),
       epochs=st.lists(st.floats(0, 60, allow_nan=False), min_size=1, max_size=8))
def test_warm_restarts_at_any_fractional_epoch(T_0, T_mult, epochs):
    # Within rounding of a restart the epoch is on either side of it (PyTorch's log formula
    # puts 27.999999999999993 at the restart 28, as minigrad does): such epochs are left out.
    restarts = ([T_0 * k for k in range(0, 61)] if T_mult == 1 else
                [T_0 * (T_mult ** n - 1) / (T_mult - 1) for n in range(0, 8)])
    assume(all(abs(e - r) > 1e-9 * max(1.0, r) for e in epochs for r in restarts))
    opt = _optimizer()
    scheduler = S.CosineAnnealingWarmRestarts(opt, T_0=T_0, T_mult=T_mult, eta_min=0.02)
    for epoch in epochs:
        scheduler.step(epoch)
        want = [warm_restarts(epoch, b, T_0, T_mult, 0.02) for b in BASE_LRS]
        np.testing.assert_allclose(scheduler.get_last_lr(), want, rtol=1e-9, atol=1e-12)
        assert scheduler.last_epoch == math.floor(epoch)


CYCLIC = {
    "triangular": dict(up=5, down=5, mode="triangular"),
    "triangular2 uneven": dict(up=7, down=3, mode="triangular2"),
    "exp_range": dict(up=4, down=6, mode="exp_range", gamma=0.97),
}


@pytest.mark.parametrize("name", list(CYCLIC))
@pytest.mark.parametrize("kind", ["SGD", "Adam"])
def test_cyclic_lr_and_momentum(name, kind):
    c = CYCLIC[name]
    opt = _optimizer(kind)
    scheduler = S.CyclicLR(opt, base_lr=[0.01, 0.02], max_lr=[0.1, 0.2], step_size_up=c["up"],
                           step_size_down=c["down"], mode=c["mode"], gamma=c.get("gamma", 1.0),
                           base_momentum=0.8, max_momentum=0.9)
    rates, momenta = _run(scheduler, opt)
    for t in range(N_STEPS):
        for g, (base, top) in enumerate([(0.01, 0.1), (0.02, 0.2)]):
            rate, height = cyclic(t, base, top, c["up"], c["down"], c["mode"], c.get("gamma", 1.0))
            assert rates[t, g] == pytest.approx(rate, rel=1e-12, abs=1e-15)
            assert momenta[t, g] == pytest.approx(0.9 - 0.1 * height, rel=1e-12)


def test_cyclic_lr_custom_scale_fn_and_no_momentum():
    opt = _optimizer()
    scheduler = S.CyclicLR(opt, base_lr=0.01, max_lr=0.05, step_size_up=3,
                           scale_fn=lambda x: 1 / (1 + x), scale_mode="iterations",
                           cycle_momentum=False)
    rates, momenta = _run(scheduler, opt, n=20)
    for t in range(20):
        _, h = cyclic(t, 0.01, 0.05, 3, 3)
        assert rates[t, 0] == pytest.approx(0.01 + 0.04 * h / (1 + t), rel=1e-12)
    assert (momenta == 0.9).all()  # untouched


@pytest.mark.parametrize("kind", ["SGD", "Adam"])
@pytest.mark.parametrize("three_phase, anneal", [(False, "cos"), (True, "linear"),
                                                 (True, "cos")])
def test_one_cycle(kind, three_phase, anneal):
    T = 50
    opt = _optimizer(kind)
    scheduler = S.OneCycleLR(opt, max_lr=[1.0, 2.0], total_steps=T, anneal_strategy=anneal,
                             three_phase=three_phase)
    rates, momenta = _run(scheduler, opt, n=T)
    for t in range(T):
        for g, top in enumerate([1.0, 2.0]):
            rate, momentum = one_cycle(t, top, T, anneal=anneal, three_phase=three_phase)
            assert rates[t, g] == pytest.approx(rate, rel=1e-12)
            assert momenta[t, g] == pytest.approx(momentum, rel=1e-12)
    assert rates[-1, 0] < 1e-4 and rates.max() == pytest.approx(2.0)
    assert scheduler.last_epoch == T  # T steps are allowed (PyTorch's rule) ...
    with pytest.raises(ValueError, match="tried to step 51 times"):
        scheduler.step()  # ... one more is not


def test_one_cycle_epochs_times_steps_per_epoch():
    opt = _optimizer()
    scheduler = S.OneCycleLR(opt, max_lr=0.5, epochs=4, steps_per_epoch=5)
    assert scheduler.total_steps == 20
    assert opt.param_groups[0]["initial_lr"] == 0.5 / 25
    assert opt.param_groups[0]["min_lr"] == 0.5 / 25 / 1e4


# --- state_dict round trips ----------------------------------------------------------------


class Halving:
    """A callable object: CyclicLR keeps its attributes in the state dict."""

    def __init__(self, rate):
        self.rate = rate

    def __call__(self, x):
        return self.rate ** (x - 1)


ROUND_TRIP = {name: make for name, (make, _) in SCHEDULES.items()}
ROUND_TRIP.update({
    "CyclicLR": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=4,
                                     mode="triangular2"),
    "CyclicLR callable scale_fn": lambda o: S.CyclicLR(o, base_lr=0.01, max_lr=0.1,
                                                       step_size_up=4, scale_fn=Halving(0.7)),
    "OneCycleLR": lambda o: S.OneCycleLR(o, max_lr=0.4, total_steps=80, three_phase=True),
})


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_round_trip_through_json(name):
    make = ROUND_TRIP[name]
    opt = _optimizer()
    scheduler = make(opt)
    _run(scheduler, opt, n=13)
    saved = json.loads(json.dumps({"opt_groups": [{k: v for k, v in g.items() if k != "params"}
                                                  for g in opt.param_groups],
                                   "scheduler": scheduler.state_dict()}))
    original = _run(scheduler, opt, n=30)
    opt2 = _optimizer(lrs=(0.7, 0.9))
    scheduler2 = make(opt2)
    if name == "CyclicLR callable scale_fn":
        scheduler2._scale_fn_custom.rate = 0.1  # restored from the state dict below
    for group, values in zip(opt2.param_groups, saved["opt_groups"]):
        group.update({k: (tuple(v) if k == "betas" else v) for k, v in values.items()})
    scheduler2.load_state_dict(saved["scheduler"])
    resumed = _run(scheduler2, opt2, n=30)
    np.testing.assert_array_equal(resumed[0], original[0])
    np.testing.assert_array_equal(resumed[1], original[1])


# --- the package keeps the public names ------------------------------------------------------


def test_every_name_is_importable_from_lr_scheduler():
    import importlib
    module = importlib.import_module("minigrad.optim.lr_scheduler")
    for name in ["LRScheduler", "LambdaLR", "StepLR", "MultiStepLR", "ExponentialLR",
                 "CosineAnnealingLR", "LinearLR", "SequentialLR", "ReduceLROnPlateau",
                 "PolynomialLR", "InverseTimeDecay", "OneCycleLR",
                 "CosineAnnealingWarmRestarts", "CyclicLR", "ChainedScheduler"]:
        assert getattr(module, name).__name__ == name
        assert name in module.__all__
    from minigrad.optim.lr_scheduler import ReduceLROnPlateau, StepLR  # noqa: F401


# --- invalid arguments ------------------------------------------------------------------------

INVALID = [
    (lambda o: S.PolynomialLR(o, total_iters=0), ValueError, r"total_iters = 0"),
    (lambda o: S.PolynomialLR(o, power=-1), ValueError, r"power = -1"),
    (lambda o: S.InverseTimeDecay(o, k=-0.1), ValueError, r"k = -0\.1"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=0), ValueError, r"T_0 = 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=0), ValueError, r"T_mult = 0"),
    (lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3).step(-1), ValueError,
     r"expected an epoch >= 0, got -1"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, mode="sawtooth"), ValueError, r"mode must be"),
    (lambda o: S.CyclicLR(o, 0.01, 0.1, step_size_up=0), ValueError, r"step_size_up = 0"),
    (lambda o: S.CyclicLR(o, [0.01], 0.1), ValueError, r"expected 2 values of base_lr"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1), ValueError, r"give total_steps, or both epochs"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, pct_start=1.5), ValueError,
     r"pct_start = 1\.5"),
    (lambda o: S.OneCycleLR(o, max_lr=0.1, total_steps=10, anneal_strategy="exp"), ValueError,
     r"anneal_strategy must be 'cos' or 'linear'"),
    (lambda o: S.ChainedScheduler([]), ValueError, r"at least one"),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 2), S.StepLR(_optimizer(), 3)]), ValueError,
     r"different optimizer"),
    (lambda o: S.ChainedScheduler([S.StepLR(o, 2), S.ReduceLROnPlateau(o)]), ValueError,
     r"ReduceLROnPlateau"),
]


@pytest.mark.parametrize("make, error, message", INVALID)
def test_invalid_arguments_raise(make, error, message):
    with pytest.raises(error, match=message):
        make(_optimizer())


def test_cycling_momentum_needs_an_optimizer_with_momentum():
    groups = [{"params": [Parameter(mg.zeros(2))]}]
    opt = optim.Adagrad(groups, lr=0.1)
    with pytest.raises(ValueError, match="Adagrad has neither momentum nor betas"):
        S.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    S.OneCycleLR(opt, max_lr=0.1, total_steps=10, cycle_momentum=False)  # fine without
