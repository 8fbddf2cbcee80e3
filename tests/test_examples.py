"""The example scripts run (``--quick``) and print what they promise.

Each example runs in a subprocess with this interpreter, from the repository root, with the
repository on ``PYTHONPATH`` (so an uninstalled checkout works). The checks read the printed
tables. The MNIST examples run only when the MNIST files are found (``MINIGRAD_DATA``, else
``../shared/data/mnist`` next to the repository), and are skipped with the reason otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
               "t10k-labels-idx1-ubyte")


def _mnist_dir():
    """The MNIST folder the examples can use, or None."""
    candidates = [os.environ.get("MINIGRAD_DATA"),
                  os.path.join(ROOT, os.pardir, "shared", "data", "mnist")]
    for folder in filter(None, candidates):
        for sub in (folder, os.path.join(folder, "mnist")):
            if all(os.path.isfile(os.path.join(sub, n + ".gz"))
                   or os.path.isfile(os.path.join(sub, n)) for n in MNIST_FILES):
                return os.path.abspath(folder)
    return None


MNIST_DIR = _mnist_dir()
needs_mnist = pytest.mark.skipif(
    MNIST_DIR is None, reason="MNIST files not found (set MINIGRAD_DATA or put them in "
                              "../shared/data/mnist)")


def run_example(name, *args, data_dir=None, timeout=120):
    """Run ``examples/<name>.py --quick <args>``; returns its stdout (fails on exit != 0)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("MINIGRAD_DATA", None)          # each test says which data it wants
    if data_dir is not None:
        env["MINIGRAD_DATA"] = data_dir
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, name + ".py"), "--quick",
                           *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    assert proc.returncode == 0, (f"{name}.py exited with {proc.returncode}\n"
                                  f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc.stdout


def table_rows(output, first_cell):
    """The rows of a printed table whose first column starts with ``first_cell``: a dict
    {first column: [the numbers in the rest of the row]}."""
    rows = {}
    for line in output.splitlines():
        if line.strip() and line.startswith(first_cell):
            label = re.split(r"\s{2,}", line.strip())[0]
            rest = line[len(label):]
            rows[label] = [float(v.replace(",", "").rstrip("%s")) for v in
                           re.findall(r"[-+]?\d[\d,]*\.?\d*(?:e[-+]?\d+)?%?s?", rest)]
    return rows


def test_linear_regression_recovers_the_line():
    out = run_example("linear_regression")
    rows = table_rows(out, "")
    ls = rows["least squares (closed form)"]
    fitted = {k: v for k, v in rows.items() if k.split()[0] in
              ("gradient", "SGD", "RMSprop", "Adam")}
    assert len(fitted) == 4, out
    for name, (slope, intercept, _, _, final_mse, _seconds) in fitted.items():
        assert abs(slope - 3.0) < 0.2, (name, out)
        assert abs(intercept - ls[1]) < 0.05, (name, out)
        assert final_mse < 1.1 * ls[4], (name, out)    # within 10% of the least MSE possible
    # full-batch gradient descent on a convex quadratic reaches the least-squares solution
    gd = rows["gradient descent (SGD, lr=0.5)"]
    assert abs(gd[0] - ls[0]) < 1e-3 and abs(gd[1] - ls[1]) < 1e-3, out


def test_lr_schedules_table_and_rates():
    out = run_example("lr_schedules")
    names = ["constant", "StepLR", "ExponentialLR", "CosineAnnealingLR", "warm-up + cosine"]
    results = table_rows(out.split("learning rate at the start")[0], "")
    rates = table_rows(out.split("learning rate at the start")[1], "")
    for name in names:
        train_loss, test_acc = results[name][1], results[name][4]
        assert np.isfinite(train_loss) and test_acc > 0.5, (name, out)  # 3 classes: chance 1/3
    lr0 = rates["constant"][0]
    assert rates["constant"] == [lr0] * len(rates["constant"]), out
    assert rates["StepLR"][-1] == pytest.approx(lr0 * 0.01), out        # two decays by 10
    assert rates["warm-up + cosine"][0] == pytest.approx(0.1 * lr0), out  # starts at 0.1 η₀
    for name in names[1:]:
        assert rates[name][-1] < 0.05 * lr0, (name, out)                # every schedule decays


def test_l1_gives_sparser_weights_than_l2():
    out = run_example("l1_vs_l2")
    rows = table_rows(out, "")
    by_kind = {label.split(":")[0].split()[0]: v for label, v in rows.items()}
    none, l1, l2 = by_kind["no"], by_kind["L1"], by_kind["L2"]
    assert "SGD" in by_kind, out                                  # the weight_decay row
    assert l1[1] > l2[1] + 5 and l1[1] > none[1] + 5, out        # sparsity in %
    assert l1[3] < none[3] and l2[2] < none[2], out               # ‖w‖₁, ‖w‖₂ shrink
    # (λ/2)·l2_penalty in the loss and SGD's weight_decay=λ give the same weights
    gap = float(re.search(r"max \|w_L2 − w_weight_decay\| = (\S+)", out).group(1))
    assert gap < 1e-4, out


def test_dropout_batchnorm_regularizers_raise_the_training_loss():
    out = run_example("dropout_batchnorm")
    rows = table_rows(out, "")
    models = {k: v for k, v in rows.items() if k.startswith(("plain", "dropout", "batch"))}
    assert len(models) == 4, out
    for name, (train_acc, test_acc, gap, train_loss, test_loss) in models.items():
        assert 0.5 < test_acc <= 1.0 and gap == pytest.approx(train_acc - test_acc, abs=2e-4)
    # the unregularized model fits its training points best
    plain_loss = models["plain"][3]
    assert all(plain_loss <= v[3] for v in models.values()), out


def _check_pruning_table(out, expect_dataset):
    assert f"data: {expect_dataset}" in out, out
    rows = table_rows(out, "")
    sweep = {k: v for k, v in rows.items() if k.endswith("%")}
    assert list(sweep) == ["0%", "50%", "75%", "90%", "95%", "98%"], out
    for target, values in sweep.items():
        sparsity, revived = values[0], values[-1]
        assert sparsity == pytest.approx(float(target[:-1]), abs=0.01), out
        assert revived == 0, out           # pruned weights stayed zero through the fine-tune
    assert sweep["0%"][-2] > 0.5, out      # the unpruned, fine-tuned model works
    weights_left = [v[1] for v in sweep.values()]
    assert weights_left == sorted(weights_left, reverse=True), out


def test_pruning_sweep_without_mnist_uses_spirals(tmp_path):
    out = run_example("pruning_sweep", data_dir=str(tmp_path))   # an empty MINIGRAD_DATA
    _check_pruning_table(out, "spirals")


@needs_mnist
def test_pruning_sweep_on_mnist():
    out = run_example("pruning_sweep", data_dir=MNIST_DIR)
    _check_pruning_table(out, "MNIST")


@needs_mnist
def test_mnist_mlp():
    out = run_example("mnist_mlp", "--data-dir", MNIST_DIR, "--no-progress")
    accuracy = float(re.search(r"test accuracy\s+([\d.]+)", out).group(1))
    assert accuracy > 0.6, out     # 3,000 images, 2 epochs; chance is 0.1


@needs_mnist
def test_mnist_lenet():
    out = run_example("mnist_lenet", "--data-dir", MNIST_DIR, "--no-progress")
    accuracy = float(re.search(r"test accuracy\s+([\d.]+)", out).group(1))
    assert accuracy > 0.4, out     # 1,500 images, 1 epoch; chance is 0.1


def test_mnist_example_without_data_explains(tmp_path):
    env = dict(os.environ, PYTHONPATH=ROOT)
    env.pop("MINIGRAD_DATA", None)
    proc = subprocess.run([sys.executable, os.path.join(EXAMPLES, "mnist_mlp.py"), "--quick",
                           "--data-dir", str(tmp_path)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "MNIST not found" in proc.stderr and "train-images-idx3-ubyte" in proc.stderr


def test_adding_problem_beats_the_baseline():
    out = run_example("adding_problem")
    rows = table_rows(out, ("LSTM", "GRU"))
    assert set(rows) == {"LSTM", "GRU"}, out
    assert min(r[2] for r in rows.values()) < 0.1, out  # T = 20; the baseline is 0.167


@needs_mnist
def test_sequential_mnist():
    out = run_example("sequential_mnist", "--data-dir", MNIST_DIR, "--no-progress")
    accuracy = float(re.search(r"test accuracy\s+([\d.]+)", out).group(1))
    assert accuracy > 0.3, out     # 2,000 images, 3 epochs, hidden 32; chance is 0.1


def test_char_lm_learns_below_a_uniform_guess():
    out = run_example("char_lm")
    uniform = float(re.search(r"uniform guess: ([\d.]+) bits/char", out).group(1))
    rows = table_rows(out, ("lstm", "transformer"))
    assert rows["lstm"][2] < uniform - 0.5 and rows["transformer"][2] < uniform, out
    assert "--- lstm sample" in out and "--- transformer sample" in out
