"""python -m minigrad tune: one line per trial, the best configuration, importance, files,
continuing a study, and bad flags."""

import csv
import json

import pytest

from minigrad import cli

SPACE = "lr=loguniform(1e-3,1e-1);batch_size=choice(16,32);dropout=uniform(0,0.3)"
RUN = ["--data", "moons", "--samples", "200", "--epochs", "3", "--hidden", "8"]


def tune(capsys, *flags):
    status = cli.main(["tune", *RUN, *flags])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_tune_end_to_end_and_continue(tmp_path, capsys):
    out = tmp_path / "t"
    status, text, _ = tune(capsys, "--space", SPACE, "--trials", "4", "--sampler", "tpe",
                           "--pruner", "median", "--out", str(out))
    assert status == 0
    lines = text.splitlines()
    trial_lines = [line for line in lines if line.startswith("trial ")]
    assert len(trial_lines) == 4 and "val_accuracy" in trial_lines[0] and "lr=" in trial_lines[0]
    assert any(line.startswith("best trial ") for line in lines)
    assert any(line.startswith("best configuration: python -m minigrad train --lr ")
               for line in lines)
    assert any(line.startswith("importance") for line in lines)
    rows = list(csv.DictReader((out / "trials.csv").read_text().splitlines()))
    assert len(rows) == 4 and set(rows[0]) >= {"params_lr", "params_batch_size", "value"}
    best = json.loads((out / "best.json").read_text())
    assert best["config"]["lr"] == best["best_trial"]["params"]["lr"]
    # the same command with more trials continues the study
    status, text, _ = tune(capsys, "--space", SPACE, "--trials", "6", "--sampler", "tpe",
                           "--pruner", "median", "--out", str(out))
    assert status == 0 and "continuing with 4 trials done" in text
    trials = json.loads((out / "trials.json").read_text())["trials"]
    assert [t["number"] for t in trials] == list(range(6))
    assert [t["params"] for t in trials[:4]] == [{k[7:]: (float(v) if k != "params_batch_size"
                                                          else int(v))
                                                  for k, v in r.items() if k.startswith("params_")}
                                                 for r in rows]


def test_grid_runs_every_combination(tmp_path, capsys):
    status, text, _ = tune(capsys, "--space", "lr=choice(0.01,0.1);batch_size=choice(16,32)",
                           "--sampler", "grid", "--trials", "50", "--out", str(tmp_path))
    assert status == 0
    assert sum(line.startswith("trial ") for line in text.splitlines()) == 4


@pytest.mark.parametrize("flags, message", [
    (["--space", "lr=loguniform(0,1)"], "a log scale needs lo > 0"),
    (["--space", "lr=normal(0,1)"], "expected NAME=KIND(ARGS)"),
    (["--space", "width=uniform(0,1)"], "width is not a train setting"),
    (["--space", "lr=uniform(0.1,0.2)", "--sampler", "grid"], "--sampler grid needs choice"),
    (["--space", "lr=choice()"], "at least one value"),
])
def test_bad_spaces_are_one_line_errors(capsys, flags, message):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["tune", *RUN, *flags])
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_bad_run_settings_are_reported_once(tmp_path, capsys):
    status, _, err = tune(capsys, "--space", "lr=loguniform(1e-3,1e-1)", "--val-fraction", "0",
                          "--out", str(tmp_path))
    assert status == 2 and "--val-fraction 0" in err


def test_jobs_run_in_worker_processes(tmp_path, capsys):
    status, text, _ = tune(capsys, "--space", SPACE, "--trials", "4", "--jobs", "2",
                           "--sampler", "random", "--out", str(tmp_path))
    assert status == 0 and "2 job(s)" in text
    assert sum(line.startswith("trial ") for line in text.splitlines()) == 4


def test_example_compares_the_samplers():
    import os
    import subprocess
    import sys

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    proc = subprocess.run([sys.executable, os.path.join(root, "examples", "tuning.py"),
                           "--quick"], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1"), check=False)
    assert proc.returncode == 0, proc.stderr
    for name in ("random", "grid 4x4", "TPE", "Bayesian (GP-EI)"):
        assert name in proc.stdout
    assert "best val acc" in proc.stdout


def test_training_objective_on_each_device(device):
    from minigrad import tune
    from minigrad.tune.training_objective import TrainingObjective

    objective = TrainingObjective({"data": "moons", "samples": 200, "epochs": 2, "hidden": [8],
                                   "device": device, "val_fraction": 0.2},
                                  {"lr": tune.LogUniform(1e-3, 1e-1)})
    study = tune.Study("maximize", sampler=tune.RandomSampler(seed=0))
    study.optimize(objective, 2)
    assert [t.state for t in study.trials] == ["complete", "complete"], study.trials[0].error
    assert all(sorted(t.intermediate_values) == [1, 2] for t in study.trials)
    assert 0.0 <= study.best_value <= 1.0
