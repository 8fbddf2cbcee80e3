"""``python -m minigrad train --schedule polynomial|inverse-time|onecycle|warm-restarts|cyclic``:
each schedule's rate per epoch against a NumPy transcription of its formula, the flags'
defaults and checks, and one whole run."""

import json
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, nn, optim
from minigrad.recipes.build import build_scheduler
from minigrad.recipes.config import ConfigError, resolve_config


def _rates(settings, epochs=12):
    """The lr of each epoch, as fit would use them: the rate, then one step per epoch."""
    config = resolve_config(dict(settings, epochs=epochs))
    opt = optim.SGD([nn.Parameter(mg.zeros(1))], lr=config["lr"])
    scheduler = build_scheduler(config, opt)
    rates = []
    for _ in range(epochs):
        rates.append(opt.param_groups[0]["lr"])
        scheduler.step()
    return config, np.array(rates)


def _cos_anneal(start, end, pct):
    return end + (start - end) / 2.0 * (1.0 + np.cos(np.pi * pct))


@pytest.mark.parametrize("power", [1.0, 2.0, 0.5])
def test_polynomial(power):
    _, rates = _rates({"schedule": "polynomial", "power": power, "lr": 0.2})
    t, T = np.arange(12), 12
    np.testing.assert_allclose(rates, 0.2 * (1 - np.minimum(t, T) / T) ** power, rtol=1e-9)


def test_polynomial_after_warmup():
    _, rates = _rates({"schedule": "polynomial", "lr": 0.1, "warmup_epochs": 2})
    t = np.arange(12)
    ramp = 0.1 * (t[:2] + 1) / 3
    decay = 0.1 * (1 - (t[2:] - 2) / 10)
    np.testing.assert_allclose(rates, np.concatenate([ramp, decay]), rtol=1e-9)


@pytest.mark.parametrize("k", [0.1, 1.5])
def test_inverse_time(k):
    _, rates = _rates({"schedule": "inverse-time", "decay_rate": k, "lr": 0.05})
    np.testing.assert_allclose(rates, 0.05 / (1 + k * np.arange(12)), rtol=1e-9)


@pytest.mark.parametrize("pct,div,final", [(0.3, 25.0, 1e4), (0.5, 10.0, 100.0)])
def test_onecycle(pct, div, final):
    _, rates = _rates({"schedule": "onecycle", "lr": 0.4, "pct_start": pct, "div_factor": div,
                       "final_div_factor": final})
    T, top = 12, 0.4
    initial = top / div
    low = initial / final
    end_up, end_down = pct * T - 1, T - 1
    expected = [(_cos_anneal(initial, top, t / end_up) if t <= end_up else
                 _cos_anneal(top, low, (t - end_up) / (end_down - end_up))) for t in range(T)]
    np.testing.assert_allclose(rates, expected, rtol=1e-9)


@pytest.mark.parametrize("t0,mult,eta_min", [(3, 1, 0.0), (2, 2, 0.01)])
def test_warm_restarts(t0, mult, eta_min):
    _, rates = _rates({"schedule": "warm-restarts", "lr": 0.1, "t0": t0, "t_mult": mult,
                       "eta_min": eta_min})
    expected, start, length = [], 0, t0
    for t in range(12):
        if t - start >= length:  # a restart
            start, length = start + length, length * mult
        expected.append(eta_min + (0.1 - eta_min) * (1 + math.cos(math.pi * (t - start)
                                                                  / length)) / 2)
    np.testing.assert_allclose(rates, expected, rtol=1e-9)


@pytest.mark.parametrize("mode", ["triangular", "triangular2", "exp_range"])
def test_cyclic(mode):
    settings = {"schedule": "cyclic", "lr": 0.1, "base_lr": 0.02, "step_size_up": 2,
                "cyclic_mode": mode}
    config, rates = _rates(settings)
    s, t = 2, np.arange(12)
    cycle = np.floor(1 + t / (2 * s))
    x = 1 + t / (2 * s) - cycle
    scale = np.where(x <= 0.5, x / 0.5, (x - 1) / (0.5 - 1))
    if mode == "triangular":
        amplitude = np.ones(12)
    elif mode == "triangular2":
        amplitude = 1 / 2.0 ** (cycle - 1)
    else:
        amplitude = config["gamma"] ** t
    np.testing.assert_allclose(rates, 0.02 + (0.1 - 0.02) * scale * amplitude, rtol=1e-9)
    if mode == "exp_range":
        assert config["gamma"] == 0.9


def test_defaults():
    c = resolve_config({"schedule": "warm-restarts", "epochs": 20})
    assert (c["t0"], c["t_mult"], c["eta_min"]) == (5, 1, 0.0)
    c = resolve_config({"schedule": "cyclic", "epochs": 20, "lr": 0.01})
    assert (c["base_lr"], c["step_size_up"], c["cyclic_mode"], c["gamma"]) == \
        (0.001, 5, "triangular", None)
    c = resolve_config({"schedule": "onecycle"})
    assert (c["pct_start"], c["div_factor"], c["final_div_factor"]) == (0.3, 25.0, 1e4)
    assert resolve_config({"schedule": "cosine"})["eta_min"] == 0.0
    c = resolve_config({"schedule": "step"})
    assert all(c[k] is None for k in ("power", "decay_rate", "t0", "base_lr", "eta_min"))


@pytest.mark.parametrize("settings,message", [
    ({"schedule": "step", "power": 2.0}, "--power applies to --schedule polynomial"),
    ({"schedule": "cosine", "t0": 3}, "--t0 applies to --schedule warm-restarts"),
    ({"schedule": "onecycle", "eta_min": 0.0}, "--eta-min applies to --schedule cosine and"),
    ({"schedule": "polynomial", "cyclic_mode": "triangular"}, "--cyclic-mode applies to"),
    ({"schedule": "cyclic", "gamma": 0.5}, "--gamma applies to .* exp_range"),
    ({"schedule": "onecycle", "warmup_epochs": 2}, "own rise \\(--pct-start\\)"),
    ({"schedule": "cyclic", "warmup_epochs": 2}, "--warmup-epochs cannot precede"),
    ({"schedule": "cyclic", "lr": 0.01, "base_lr": 0.05}, "--base-lr 0.05 must be below"),
    ({"schedule": "warm-restarts", "lr": 0.01, "eta_min": 0.01}, "--eta-min 0.01 must be"),
])
def test_flag_errors(settings, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config(settings)


def test_help_lists_the_new_schedules_and_flags(capsys):
    with pytest.raises(SystemExit):
        cli.main(["train", "--help"])
    text = capsys.readouterr().out
    assert "polynomial,inverse-time,onecycle,warm-restarts,cyclic" in text
    for flag in ("--power", "--decay-rate", "--pct-start", "--div-factor", "--final-div-factor",
                 "--t0", "--t-mult", "--eta-min", "--base-lr", "--step-size-up",
                 "--cyclic-mode", "--amp"):
        assert flag in text


def test_a_run_logs_the_schedules_rates(tmp_path):
    out = tmp_path / "run"
    status = cli.main(["train", "--schedule", "cyclic", "--base-lr", "0.0002",
                       "--step-size-up", "1", "--samples", "300", "--epochs", "4", "--quiet",
                       "--out", str(out)])
    assert status == 0
    history = json.loads((out / "history.json").read_text())
    rates = history["lr"] if "lr" in history else history["history"]["lr"]
    np.testing.assert_allclose(rates, [0.0002, 0.001, 0.0002, 0.001], rtol=1e-9)
    with pytest.raises(SystemExit):
        cli.main(["train", "--schedule", "cyclic", "--cyclic-mode", "sawtooth"])
