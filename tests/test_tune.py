"""minigrad.tune: spaces, the trial API, the study (states, files, storage, resume after
SIGKILL, executors)."""

import json
import math
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import tune
from minigrad.tune.spaces import distribution_from_dict
from minigrad.tune.trial import TrialState

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- spaces -----------------------------------------------------------------------------------

@settings(max_examples=30)
@given(lo=st.floats(-100, 100), width=st.floats(1e-3, 100), seed=st.integers(0, 2 ** 31))
def test_uniform_samples_in_range_and_round_trips(lo, width, seed):
    d = tune.Uniform(lo, lo + width)
    rng = np.random.default_rng(seed)
    for _ in range(20):
        x = d.sample(rng)
        assert d.lo <= x <= d.hi and d.contains(x)
        assert math.isclose(d.from_unit(d.to_unit(x)), x, rel_tol=1e-9, abs_tol=1e-9)


def test_log_uniform_is_uniform_in_log():
    d = tune.LogUniform(1e-4, 1e-1)
    rng = np.random.default_rng(0)
    x = np.array([d.sample(rng) for _ in range(4000)])
    assert x.min() >= 1e-4 and x.max() <= 1e-1
    # each decade holds a third of the draws (uniform in x would put 90% in the last one)
    counts = np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0] / len(x)
    np.testing.assert_allclose(counts, 1 / 3, atol=0.03)


@pytest.mark.parametrize("log", [False, True])
def test_int_uniform_covers_each_integer_equally(log):
    d = tune.IntUniform(1, 4, log=log)
    rng = np.random.default_rng(1)
    x = [d.sample(rng) for _ in range(4000)]
    assert set(x) == {1, 2, 3, 4} and all(isinstance(v, int) for v in x)
    shares = np.bincount(x, minlength=5)[1:] / len(x)
    if log:   # log-uniform on [0.5, 4.5]: the share of k is ln((k+.5)/(k-.5)) / ln 9
        expected = [math.log((k + 0.5) / (k - 0.5)) / math.log(9) for k in range(1, 5)]
    else:
        expected = [0.25] * 4
    np.testing.assert_allclose(shares, expected, atol=0.03)


def test_choice_one_hot_and_json_round_trip():
    d = tune.Choice(["a", 2, None, True])
    assert d.to_unit(2) == [0, 1, 0, 0] and d.from_unit([0.1, 0.2, 0.9, 0.3]) is None
    assert not d.contains(1)           # True and 1 differ here (JSON keeps them apart)
    for dist in (d, tune.Uniform(0, 1), tune.LogUniform(1e-3, 1), tune.IntUniform(2, 9, log=True)):
        assert distribution_from_dict(json.loads(json.dumps(dist.to_dict()))) == dist


@pytest.mark.parametrize("make, message", [
    (lambda: tune.Uniform(1, 1), "lo < hi"),
    (lambda: tune.Uniform(2, 1), "lo < hi"),
    (lambda: tune.LogUniform(0, 1), "lo > 0"),
    (lambda: tune.IntUniform(0, 5, log=True), "lo > 0"),
    (lambda: tune.IntUniform(0.5, 5), "must be an int"),
    (lambda: tune.Uniform(0, float("nan")), "finite"),
    (lambda: tune.Choice([]), "at least one"),
    (lambda: tune.Choice([1, 1]), "differ"),
    (lambda: tune.Choice([object()]), "JSON-able"),
])
def test_bad_spaces_raise_clear_errors(make, message):
    with pytest.raises(ValueError, match=message):
        make()


# --- trials and their states ------------------------------------------------------------------

def quadratic(trial):
    x = trial.suggest_float("x", -3, 3)
    n = trial.suggest_int("n", 1, 4)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return (x - 1) ** 2 + n + (0.5 if kind == "b" else 0.0)


def test_study_runs_and_best_trial():
    study = tune.Study(sampler=tune.RandomSampler(seed=3))
    study.optimize(quadratic, 30)
    assert len(study.trials) == 30 and [t.number for t in study.trials] == list(range(30))
    best = study.best_trial
    assert best.value == min(t.value for t in study.trials)
    assert set(best.params) == {"x", "n", "kind"}
    assert best.value == pytest.approx(quadratic(tune.FixedTrial(best.params)))
    maximize = tune.Study("maximize", sampler=tune.RandomSampler(seed=3))
    maximize.optimize(quadratic, 30)
    assert maximize.best_value == max(t.value for t in maximize.trials)


def test_same_name_returns_same_value_and_conflicts_fail():
    def objective(trial):
        a = trial.suggest_float("a", 0, 1)
        assert trial.suggest_float("a", 0, 1) == a
        trial.suggest_int("a", 0, 1)      # another distribution: an error, the trial fails
        return a

    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    study.optimize(objective, 1)
    assert study.trials[0].state == TrialState.FAILED
    assert "'a' was suggested from Uniform" in study.trials[0].error


def test_failing_objectives_are_recorded_not_raised():
    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        kind = trial.number % 5
        if kind == 0:
            raise RuntimeError("boom")
        if kind == 1:
            return float("nan")
        if kind == 2:
            return "text"
        if kind == 3:
            trial.suggest_float("bad", 1, 0)      # a bad space inside the objective
        return x

    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    study.optimize(objective, 10)
    states = [t.state for t in study.trials]
    assert states == ["failed", "failed", "failed", "failed", "complete"] * 2
    errors = [t.error for t in study.trials[:4]]
    assert errors[0].startswith("RuntimeError: boom")
    assert "nan" in errors[1] and "not a finite number" in errors[1]
    assert "not a number" in errors[2]
    assert "Uniform: needs lo < hi" in errors[3]
    assert study.best_trial.number == min((4, 9), key=lambda n: study.trials[n].value)


def test_pruned_trials_and_no_complete_trial_message():
    def objective(trial):
        trial.report(1.0, 0)
        raise tune.TrialPruned()

    study = tune.Study(sampler=tune.RandomSampler(seed=0))
    study.optimize(objective, 2)
    assert [t.state for t in study.trials] == ["pruned", "pruned"]
    assert study.trials[0].intermediate_values == {0: 1.0} and study.trials[0].value is None
    with pytest.raises(ValueError, match="no complete trial among 2"):
        _ = study.best_trial


def test_report_checks_and_keeps_first_value():
    trial = tune.FixedTrial({})
    trial.report(2.0, 3)
    trial.report(5.0, 3)
    assert trial.intermediate_values == {3: 2.0}
    with pytest.raises(ValueError, match="step must be an int >= 0"):
        trial.report(1.0, -1)
    with pytest.raises(ValueError, match="value must be a number"):
        trial.report("x", 1)


def test_bad_study_arguments():
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize'"):
        tune.Study("down")
    with pytest.raises(ValueError, match="n_trials must be an int >= 0"):
        tune.Study().optimize(quadratic, -1)
    with pytest.raises(ValueError, match="batch_size must be an int >= 1"):
        tune.Study().optimize(quadratic, 1, batch_size=0)
    with pytest.raises(ValueError, match="seed must be an int >= 0"):
        tune.RandomSampler(seed=-1)


def test_csv_and_json_files(tmp_path):
    study = tune.Study(sampler=tune.RandomSampler(seed=1))
    study.optimize(quadratic, 5)
    study.to_csv(tmp_path / "t.csv")
    study.to_json(tmp_path / "t.json")
    lines = (tmp_path / "t.csv").read_text().splitlines()
    assert lines[0] == ("number,state,value,params_kind,params_n,params_x,duration_s,"
                        "last_step,error")
    assert len(lines) == 6 and lines[1].startswith("0,complete,")
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["best_trial"]["number"] == study.best_trial.number
    assert [t["params"] for t in doc["trials"]] == [t.params for t in study.trials]


def test_grid_sampler_enumerates_exactly_and_stops():
    space = {"a": [1, 2, 3], "b": ["x", "y"]}
    study = tune.Study(sampler=tune.GridSampler(space))
    study.optimize(lambda t: t.suggest_categorical("a", [1, 2, 3]) +
                   len(t.suggest_categorical("b", ["x", "y"])), 100)
    got = [(t.params["a"], t.params["b"]) for t in study.trials]
    assert got == [(a, b) for a in (1, 2, 3) for b in ("x", "y")]
    shuffled = tune.Study(sampler=tune.GridSampler(space, seed=4))
    shuffled.optimize(lambda t: t.suggest("a", [1, 2, 3]) + len(t.suggest("b", ["x", "y"])), 6)
    assert sorted((t.params["a"], t.params["b"]) for t in shuffled.trials) == sorted(got)
    missing = tune.Study(sampler=tune.GridSampler({"a": [1]}))
    missing.optimize(lambda t: t.suggest_float("z", 0, 1), 1)
    assert "'z' is not in the grid" in missing.trials[0].error


# --- durable storage --------------------------------------------------------------------------

def test_storage_reopens_and_continues(tmp_path):
    path = tmp_path / "study.jsonl"
    first = tune.Study(sampler=tune.TPESampler(seed=2, n_startup_trials=3), storage=path)
    first.optimize(quadratic, 4)
    again = tune.Study(sampler=tune.TPESampler(seed=2, n_startup_trials=3), storage=path)
    assert [t.to_dict() for t in again.trials] == [t.to_dict() for t in first.trials]
    again.optimize(quadratic, 3)
    straight = tune.Study(sampler=tune.TPESampler(seed=2, n_startup_trials=3))
    straight.optimize(quadratic, 7)
    assert [t.params for t in again.trials] == [t.params for t in straight.trials]
    lines = path.read_text().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["direction"] == "minimize"
    with pytest.raises(ValueError, match="stored study is to minimize, this one to maximize"):
        tune.Study("maximize", storage=path)
    (tmp_path / "other.jsonl").write_text("hello\n")
    with pytest.raises(ValueError, match="not a minigrad.tune study file"):
        tune.Study(storage=tmp_path / "other.jsonl")


_KILLED_SCRIPT = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from minigrad import tune

    storage, marker = sys.argv[1], sys.argv[2]

    def objective(trial):
        x = trial.suggest_float("x", -2, 2)
        y = trial.suggest_int("y", 0, 5)
        if trial.number == 5 and marker != "-" and not os.path.exists(marker):
            open(marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)   # dies in the middle of a batch
        return (x - 0.3) ** 2 + (y - 2) ** 2

    study = tune.Study(sampler=tune.BayesianSampler(seed=7, n_startup_trials=3,
                                                    n_candidates=100), storage=storage)
    study.optimize(objective, 9 - len(study.trials), batch_size=2)
""")


def test_sigkill_mid_run_resumes_without_loss_or_repetition(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(_KILLED_SCRIPT.format(root=ROOT))
    killed, marker = tmp_path / "killed.jsonl", tmp_path / "marker"
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    first = subprocess.run([sys.executable, str(script), str(killed), str(marker)], env=env,
                           capture_output=True, timeout=120, check=False)
    assert first.returncode == -signal.SIGKILL
    numbers = [json.loads(line)["number"] for line in killed.read_text().splitlines()[1:]]
    assert numbers == [0, 1, 2, 3, 4]   # trial 4 finished, trial 5 of its batch was killed
    second = subprocess.run([sys.executable, str(script), str(killed), str(marker)], env=env,
                            capture_output=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr.decode()
    straight = tmp_path / "straight.jsonl"
    subprocess.run([sys.executable, str(script), str(straight), "-"], env=env, check=True,
                   timeout=120)
    resumed, reference = (tune.Study(storage=p).trials for p in (killed, straight))
    assert [t.number for t in resumed] == list(range(9))
    assert [(t.params, t.value) for t in resumed] == [(t.params, t.value) for t in reference]


# --- executors --------------------------------------------------------------------------------

def noisy_objective(trial):
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    for step in range(1, 4):
        trial.report((x - 1) ** 2 / step + math.log10(lr) ** 2, step)
        if trial.should_prune():
            raise tune.TrialPruned()
    return (x - 1) ** 2 + (math.log10(lr) + 2) ** 2


@pytest.mark.parametrize("make_sampler", [
    lambda: tune.TPESampler(seed=5, n_startup_trials=2),
    lambda: tune.BayesianSampler(seed=5, n_startup_trials=2, n_candidates=100),
])
def test_serial_and_process_pool_give_the_same_study(make_sampler):
    def run(executor):
        study = tune.Study(sampler=make_sampler(), pruner=tune.MedianPruner(n_startup_trials=2))
        study.optimize(noisy_objective, 10, executor=executor, batch_size=2)
        return [(t.number, t.state, t.params, t.value) for t in study.trials]

    serial = run(None)
    with ProcessPoolExecutor(2) as pool:
        pooled = run(pool)
    assert pooled == serial
    assert len({json.dumps(p[2]) for p in serial}) == 10   # the batch's proposals differ


_MPI_SCRIPT = textwrap.dedent("""
    import sys
    sys.path.insert(0, {root!r})
    from mpi4py.futures import MPIPoolExecutor
    from minigrad import tune
    from minigrad.tune.functions import branin_objective

    if __name__ == "__main__":
        def study(executor):
            s = tune.Study(sampler=tune.TPESampler(seed=1, n_startup_trials=3))
            s.optimize(branin_objective, 6, executor=executor, batch_size=2)
            return [(t.params, t.value) for t in s.trials]
        with MPIPoolExecutor(max_workers=2) as pool:
            pooled = study(pool)
        print("same" if pooled == study(None) else "different", len(pooled))
""")


def test_mpi_pool_executor_gives_the_same_study(tmp_path):
    pytest.importorskip("mpi4py.futures")
    script = tmp_path / "mpi_study.py"
    script.write_text(_MPI_SCRIPT.format(root=ROOT))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=180, env=dict(os.environ, OPENBLAS_NUM_THREADS="1"),
                          check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split()[-2:] == ["same", "6"]
