"""Learning-rate schedules: each one's rates over 60 steps against its closed form written here
(two parameter groups with different rates); PyTorch's recursive rule where a rate is changed
from outside; SequentialLR's warm-up then decay; ReduceLROnPlateau driven by scripted
metrics; state_dict round trips (through JSON); resuming; invalid arguments."""

import json
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.nn import Parameter
from minigrad.optim import lr_scheduler as S

BASE_LRS = (0.1, 0.3)
N_STEPS = 60


def _optimizer(lrs=BASE_LRS):
    groups = [{"params": [Parameter(mg.zeros(2))], "lr": lr} for lr in lrs]
    return optim.SGD(groups, lr=lrs[0])


def _rates(opt):
    return [group["lr"] for group in opt.param_groups]


def _run(scheduler, opt, n=N_STEPS, poke_at=None):
    """The rates in effect at epochs 0..n-1 (a step after each); optionally halve group 0's
    rate by hand right after epoch ``poke_at``'s step."""
    seen = []
    for t in range(n):
        seen.append(_rates(opt))
        if t != poke_at:  # what the scheduler set (a poke changes it behind its back)
            assert scheduler.get_last_lr() == seen[-1]
        assert scheduler.last_epoch == t
        opt.step()  # the optimizer steps first, then the scheduler (PyTorch's order)
        scheduler.step()
        if poke_at is not None and t + 1 == poke_at:
            opt.param_groups[0]["lr"] *= 0.5
    return np.array(seen)


def _expected(closed_form, n=N_STEPS):
    return np.array([[closed_form(t, base) for base in BASE_LRS] for t in range(n)])


def cosine(t, base, T=20, eta_min=0.01):
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * t / T)) / 2


def linear(t, base, s=0.25, e=0.9, T=12):
    return base * (s + (e - s) * min(t, T) / T)


MILESTONES = [5, 12, 12, 30]

SCHEDULES = {
    # name: (make the scheduler, closed form η_t(η₀))
    "LambdaLR": (lambda o: S.LambdaLR(o, lambda t: 1 / (1 + 0.1 * t)),
                 lambda t, b: b / (1 + 0.1 * t)),
    "StepLR": (lambda o: S.StepLR(o, step_size=7, gamma=0.5),
               lambda t, b: b * 0.5 ** (t // 7)),
    "MultiStepLR": (lambda o: S.MultiStepLR(o, MILESTONES, gamma=0.5),
                    lambda t, b: b * 0.5 ** sum(m <= t for m in MILESTONES)),
    "ExponentialLR": (lambda o: S.ExponentialLR(o, gamma=0.93),
                      lambda t, b: b * 0.93 ** t),
    "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, T_max=20, eta_min=0.01), cosine),
    "LinearLR": (lambda o: S.LinearLR(o, start_factor=0.25, end_factor=0.9, total_iters=12),
                 linear),
    "SequentialLR warm-up then cosine": (
        lambda o: S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=5),
                                     S.CosineAnnealingLR(o, T_max=40)], milestones=[5]),
        lambda t, b: (b * (0.1 + 0.9 * t / 5) if t < 5
                      else b * (1 + math.cos(math.pi * (t - 5) / 40)) / 2)),
    "SequentialLR three schedules": (
        lambda o: S.SequentialLR(o, [S.ExponentialLR(o, gamma=0.9),
                                     S.StepLR(o, step_size=4, gamma=0.5),
                                     S.LinearLR(o, start_factor=0.5, total_iters=6)],
                                 milestones=[6, 20]),
        lambda t, b: (b * 0.9 ** t if t < 6
                      else b * 0.5 ** ((t - 6) // 4) if t < 20
                      else b * (0.5 + 0.5 * min(t - 20, 6) / 6))),
}


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_rates_follow_the_closed_form(name):
    make, closed_form = SCHEDULES[name]
    opt = _optimizer()
    scheduler = make(opt)
    assert [g["initial_lr"] for g in opt.param_groups] == list(BASE_LRS)
    assert scheduler.base_lrs == list(BASE_LRS)
    np.testing.assert_allclose(_run(scheduler, opt), _expected(closed_form), rtol=1e-12,
                               atol=1e-15)


def test_the_schedules_really_change_the_rate():
    """Guard against a vacuous comparison: each closed form above does move."""
    for name, (_, closed_form) in SCHEDULES.items():
        rates = _expected(closed_form)[:, 0]
        assert len(set(np.round(rates, 12))) > 3, name


def test_construction_performs_the_initial_step():
    opt = _optimizer()
    scheduler = S.LinearLR(opt, start_factor=0.5, total_iters=4)
    assert _rates(opt) == [0.05, 0.15] and scheduler.get_last_lr() == [0.05, 0.15]
    assert scheduler.last_epoch == 0
    assert [g["initial_lr"] for g in opt.param_groups] == [0.1, 0.3]


def test_the_scheduled_rate_is_the_one_the_optimizer_uses():
    """ExponentialLR: epoch t trains with η₀ γ^t (the documents' decay rule)."""
    w = Parameter(mg.tensor([0.0], dtype=mg.float64))
    opt = optim.SGD([w], lr=0.2)
    scheduler = S.ExponentialLR(opt, gamma=0.5)
    for t in range(6):
        before = w.item()
        w.grad = mg.tensor([1.0], dtype=mg.float64)
        opt.step()
        assert before - w.item() == pytest.approx(0.2 * 0.5 ** t)
        scheduler.step()


# PyTorch's rules are recursive: a rate changed from outside carries on (except LambdaLR).

MULTIPLICATIVE = ["StepLR", "MultiStepLR", "ExponentialLR", "LinearLR"]


@pytest.mark.parametrize("name", MULTIPLICATIVE)
def test_outside_change_carries_on_for_multiplicative_rules(name):
    make, closed_form = SCHEDULES[name]
    opt = _optimizer()
    seen = _run(make(opt), opt, poke_at=9)
    expected = _expected(closed_form)
    expected[9:, 0] *= 0.5  # η_t = r_t η_{t-1}: the halving persists
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def test_outside_change_carries_on_through_the_cosine_recursion():
    T, eta_min, poke_at = 20, 0.01, 9
    opt = _optimizer()
    seen = _run(S.CosineAnnealingLR(opt, T_max=T, eta_min=eta_min), opt, poke_at=poke_at)
    # PyTorch's documented recursion, with its special case where the denominator vanishes
    expected = []
    for b in BASE_LRS:
        lrs = [b]
        for t in range(1, N_STEPS):
            prev = lrs[-1]
            if (t - 1 - T) % (2 * T) == 0:
                lr = prev + (b - eta_min) * (1 - math.cos(math.pi / T)) / 2
            else:
                lr = eta_min + (prev - eta_min) * ((1 + math.cos(math.pi * t / T))
                                                   / (1 + math.cos(math.pi * (t - 1) / T)))
            if b == BASE_LRS[0] and t == poke_at:
                lr *= 0.5
            lrs.append(lr)
        expected.append(lrs)
    np.testing.assert_allclose(seen, np.array(expected).T, rtol=1e-12, atol=1e-15)
    assert seen[poke_at + 3, 0] != pytest.approx(cosine(poke_at + 3, BASE_LRS[0]))


def test_lambda_lr_overrides_an_outside_change():
    make, closed_form = SCHEDULES["LambdaLR"]
    opt = _optimizer()
    seen = _run(make(opt), opt, poke_at=9)
    expected = _expected(closed_form)
    expected[9, 0] *= 0.5  # only until the next step
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


def test_lambda_lr_one_function_per_group():
    opt = _optimizer()
    scheduler = S.LambdaLR(opt, [lambda t: 0.5 ** t, lambda t: 1.0 + t])
    seen = _run(scheduler, opt, n=10)
    expected = np.array([[0.1 * 0.5 ** t, 0.3 * (1 + t)] for t in range(10)])
    np.testing.assert_allclose(seen, expected, rtol=1e-12)


# ---------------------------------------------------------------------------------------------
# ReduceLROnPlateau, driven by scripted metrics (expected rates worked out by hand)


def _plateau_rates(metrics, lrs=(1.0,), **kwargs):
    opt = _optimizer(lrs)
    scheduler = S.ReduceLROnPlateau(opt, **kwargs)
    seen = []
    for m in metrics:
        scheduler.step(m)
        seen.append(_rates(opt))
        assert scheduler.get_last_lr() == seen[-1]
    return [r[0] for r in seen] if len(lrs) == 1 else seen


def test_plateau_patience():
    metrics = [10, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8]
    # improvement at epochs 1, 2, 6; the 3rd bad epoch in a row (> patience 2) halves the rate
    assert _plateau_rates(metrics, factor=0.5, patience=2, threshold=0.0) == [
        1, 1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .125]


def test_plateau_cooldown():
    metrics = [10, 9, 9, 9, 9, 8, 8, 8, 8, 8, 8, 8]
    # after a drop, `cooldown` epochs are not counted as bad
    assert _plateau_rates(metrics, factor=0.5, patience=1, threshold=0.0, cooldown=2) == [
        1, 1, 1, .5, .5, .5, .5, .25, .25, .25, .25, .125]


def test_plateau_threshold_modes():
    metrics = [10, 9.5, 9.05, 8.0]
    # rel: improving means a < best * 0.9; abs: a < best - 0.1
    assert _plateau_rates(metrics, factor=0.5, patience=0, threshold=0.1,
                          threshold_mode="rel") == [1, .5, .25, .25]
    assert _plateau_rates(metrics, factor=0.5, patience=0, threshold=0.1,
                          threshold_mode="abs") == [1, 1, 1, 1]


def test_plateau_max_mode():
    metrics = [1.0, 1.05, 1.2, 1.25]  # accuracy-like: bigger is better
    for threshold_mode in ("rel", "abs"):
        assert _plateau_rates(metrics, mode="max", factor=0.5, patience=0, threshold=0.1,
                              threshold_mode=threshold_mode) == [1, .5, .5, .25]


def test_plateau_min_lr_per_group_and_eps():
    seen = _plateau_rates([1, 1, 1, 1], lrs=(1.0, 0.3), factor=0.1, patience=0,
                          min_lr=[0.05, 0.2])
    assert seen == [[1, 0.3], [0.1, 0.2], [0.05, 0.2], [0.05, 0.2]]
    # a reduction smaller than eps is ignored
    seen = _plateau_rates([1, 1, 1], lrs=(1e-7, 1e-8), factor=0.5, patience=0, eps=1e-8)
    assert seen == [[1e-7, 1e-8], [5e-8, 1e-8], [2.5e-8, 1e-8]]


def test_plateau_accepts_a_tensor_metric():
    opt = _optimizer()
    scheduler = S.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    scheduler.step(mg.tensor(1.0))
    scheduler.step(mg.tensor(2.0))
    assert _rates(opt) == [0.05, 0.15] and scheduler.last_epoch == 2


# ---------------------------------------------------------------------------------------------
# state_dict round trips


class WarmUp:
    """A callable object: LambdaLR keeps its attributes in the state dict."""

    def __init__(self, k):
        self.k = k

    def __call__(self, t):
        return min(1.0, (t + 1) / self.k)


ROUND_TRIP = dict(SCHEDULES)
ROUND_TRIP["LambdaLR callable object"] = (lambda o: S.LambdaLR(o, WarmUp(8)), None)


def _checkpoint(opt, scheduler):
    """The two state dicts as a checkpoint would store them (JSON, arrays as lists)."""
    opt_state = opt.state_dict()
    opt_state = {"state": {k: {n: (v.data.tolist() if isinstance(v, mg.Tensor) else v)
                               for n, v in entry.items()}
                           for k, entry in opt_state["state"].items()},
                 "param_groups": opt_state["param_groups"]}
    return json.loads(json.dumps({"optimizer": opt_state, "scheduler": scheduler.state_dict()}))


@pytest.mark.parametrize("name", list(ROUND_TRIP))
def test_state_dict_round_trip_resumes_the_sequence(name):
    make = ROUND_TRIP[name][0]
    opt = _optimizer()
    scheduler = make(opt)
    _run(scheduler, opt, n=13)
    checkpoint = _checkpoint(opt, scheduler)
    original = []
    for _ in range(40):
        original.append(_rates(opt))
        scheduler.step()
    # rebuild: optimizer and scheduler first (the scheduler resets the rates), then load
    opt2 = _optimizer(lrs=(0.7, 0.9))
    scheduler2 = make(opt2)
    if name == "LambdaLR callable object":
        scheduler2.lr_lambdas[0].k = 100  # restored from the checkpoint below
    opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert scheduler2.last_epoch == 13
    resumed = []
    for _ in range(40):
        resumed.append(_rates(opt2))
        scheduler2.step()
    assert resumed == original


def test_plateau_state_dict_round_trip():
    metrics = [5, 4, 4, 4, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2]
    opt = _optimizer()
    scheduler = S.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    for m in metrics[:6]:
        scheduler.step(m)
    checkpoint = _checkpoint(opt, scheduler)
    original = []
    for m in metrics[6:]:
        scheduler.step(m)
        original.append(_rates(opt))
    opt2 = _optimizer()
    scheduler2 = S.ReduceLROnPlateau(opt2)
    opt2.load_state_dict(checkpoint["optimizer"])
    scheduler2.load_state_dict(checkpoint["scheduler"])
    assert scheduler2.patience == 1 and scheduler2.best == 3
    resumed = []
    for m in metrics[6:]:
        scheduler2.step(m)
        resumed.append(_rates(opt2))
    assert resumed == original and original[-1] != original[0]


def test_resuming_with_last_epoch():
    opt = _optimizer()
    with pytest.raises(KeyError, match="initial_lr"):
        S.StepLR(opt, step_size=3, last_epoch=4)
    for group in opt.param_groups:
        group["initial_lr"] = group["lr"]
    scheduler = S.CosineAnnealingLR(opt, T_max=10, last_epoch=3)
    # the first step of a resumed cosine schedule takes the closed form at epoch 4
    assert scheduler.last_epoch == 4
    np.testing.assert_allclose(_rates(opt), [cosine(4, b, T=10, eta_min=0.0) for b in BASE_LRS])


# ---------------------------------------------------------------------------------------------
# Invalid arguments


INVALID = [
    (lambda o: S.StepLR(o, step_size=0), r"step_size = 0"),
    (lambda o: S.StepLR(o, step_size=2.5), r"step_size = 2\.5"),
    (lambda o: S.StepLR(o, step_size=2, gamma=-1), r"gamma = -1"),
    (lambda o: S.MultiStepLR(o, [10, 5]), r"increasing"),
    (lambda o: S.MultiStepLR(o, [-1, 5]), r"milestone = -1"),
    (lambda o: S.ExponentialLR(o, gamma=-0.5), r"gamma = -0\.5"),
    (lambda o: S.CosineAnnealingLR(o, T_max=0), r"T_max = 0"),
    (lambda o: S.LinearLR(o, start_factor=0.0), r"start_factor = 0\.0"),
    (lambda o: S.LinearLR(o, start_factor=1.5), r"start_factor = 1\.5"),
    (lambda o: S.LinearLR(o, end_factor=-0.1), r"end_factor = -0\.1"),
    (lambda o: S.LinearLR(o, total_iters=0), r"total_iters = 0"),
    (lambda o: S.LambdaLR(o, [lambda t: 1.0]), r"expected 2 lr_lambdas"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[]),
     r"expected 1 milestone"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(o, 3)], milestones=[0]),
     r"milestone = 0"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.StepLR(_optimizer(), 3)], milestones=[4]),
     r"different optimizer"),
    (lambda o: S.SequentialLR(o, [S.StepLR(o, 2), S.ReduceLROnPlateau(o)], milestones=[4]),
     r"ReduceLROnPlateau"),
    (lambda o: S.ReduceLROnPlateau(o, factor=1.0), r"factor = 1\.0"),
    (lambda o: S.ReduceLROnPlateau(o, mode="avg"), r"mode must be 'min' or 'max'"),
    (lambda o: S.ReduceLROnPlateau(o, threshold_mode="pct"), r"threshold_mode"),
    (lambda o: S.ReduceLROnPlateau(o, patience=-1), r"patience = -1"),
    (lambda o: S.ReduceLROnPlateau(o, min_lr=[0.1]), r"expected 2 min_lr"),
]


@pytest.mark.parametrize("make, message", INVALID)
def test_invalid_arguments_raise(make, message):
    with pytest.raises(ValueError, match=message):
        make(_optimizer())


def test_a_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="expected an optimizer"):
        S.StepLR([0.1], step_size=2)
