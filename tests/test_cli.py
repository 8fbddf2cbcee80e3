"""``python -m minigrad train`` and ``minigrad.models``.

The default command runs end to end in a subprocess; everything else runs in this process
through ``minigrad.cli.main`` and the functions the command is built from (``resolve_config``,
``build_optimizer``, ``build_scheduler``, ``build_model``, ``RegularizedLoss``), on small
synthetic runs. MNIST is tested on a small subset when the files are present.
"""

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli, models, nn, optim
from minigrad.optim import lr_scheduler

REPO = Path(__file__).resolve().parents[1]
# a few seconds of training: small enough for a test, large enough to exercise every epoch path
SMALL = ["--samples", "600", "--epochs", "5", "--quiet"]


def _mnist_dir():
    """The MNIST folder from MINIGRAD_DATA or ../shared/data/mnist next to the repo, or None."""
    for folder in (os.environ.get("MINIGRAD_DATA"), REPO.parent / "shared" / "data" / "mnist"):
        if folder and any((Path(folder) / name).is_file()
                          for name in ("t10k-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte")):
            return str(folder)
    return None


MNIST_DIR = _mnist_dir()
needs_mnist = pytest.mark.skipif(MNIST_DIR is None, reason="MNIST files not found (set "
                                 "MINIGRAD_DATA or put them in ../shared/data/mnist)")


def config_of(*flags):
    """The resolved settings of ``python -m minigrad train FLAGS``."""
    return cli.resolve_config(cli.build_parser().parse_args(["train", *flags]))


def run_cli(capsys, *flags):
    """Run ``python -m minigrad train FLAGS`` in this process: (exit status, stdout, stderr)."""
    try:
        status = cli.main(["train", *flags])
    except SystemExit as exc:  # argparse errors
        status = exc.code
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def printed_accuracy(out: str) -> float:
    """The test accuracy (in %) the command printed."""
    match = re.search(r"test accuracy ([\d.]+)%", out)
    assert match, out
    return float(match.group(1))


def weights(folder) -> dict:
    """The arrays of ``folder/model.npz`` (the final weights a run saved)."""
    return {k: v.detach().numpy() for k, v in mg.load(os.path.join(folder, "model.npz")).items()}


# --- the default command, end to end -------------------------------------------------------------

def test_default_command_end_to_end(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), OPENBLAS_NUM_THREADS="1")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "minigrad", "train", "--out", str(out)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "epoch 40/40" in proc.stderr                      # progress, one line per epoch
    assert printed_accuracy(proc.stdout) >= 95.0, proc.stdout
    assert re.search(r"train time [\d.]+ s", proc.stdout)
    assert str(out) in proc.stdout
    for name in ("history.json", "history.csv", "model.npz", "config.json", "results.json"):
        assert (out / name).is_file(), name
    history = json.loads((out / "history.json").read_text())
    assert len(history["loss"]) == 40 and history["loss"][-1] < history["loss"][0]
    assert (out / "history.csv").read_text().splitlines()[0].startswith("epoch,loss,accuracy")
    config = json.loads((out / "config.json").read_text())
    assert config["data"] == "spirals" and config["hidden"] == [64, 64, 64]
    results = json.loads((out / "results.json").read_text())
    assert results["test_accuracy"] >= 0.95 and results["epochs_run"] == 40
    # the saved weights load into the model the config describes, and give the same accuracy
    model = models.mlp(2, config["hidden"], 3)
    model.load_state_dict(mg.load(out / "model.npz"))
    data = cli.load_data(config)
    model.eval()
    with mg.no_grad():
        predicted = model(mg.tensor(data.x_test)).numpy().argmax(1)
    assert np.mean(predicted == data.y_test) == pytest.approx(results["test_accuracy"])
    try:
        import matplotlib  # noqa: F401  (only whether it imports matters)
    except ImportError:
        assert not (out / "loss.png").exists()   # plots only when matplotlib is there
    else:
        assert (out / "loss.png").is_file() and (out / "accuracy.png").is_file()


# --- flags to objects ----------------------------------------------------------------------------

@pytest.mark.parametrize("flags, cls, expected", [
    (["--optimizer", "sgd"], optim.SGD, {"lr": 0.1, "momentum": 0.0, "nesterov": False}),
    (["--optimizer", "sgd", "--momentum", "0.5", "--lr", "0.2"], optim.SGD,
     {"lr": 0.2, "momentum": 0.5}),
    (["--optimizer", "momentum"], optim.SGD, {"lr": 0.01, "momentum": 0.9, "nesterov": False}),
    (["--optimizer", "nesterov", "--momentum", "0.8", "--weight-decay", "1e-4"], optim.SGD,
     {"momentum": 0.8, "nesterov": True, "weight_decay": 1e-4}),
    (["--optimizer", "rmsprop", "--eps", "1e-6"], optim.RMSprop, {"lr": 1e-3, "eps": 1e-6}),
    (["--optimizer", "adam", "--betas", "0.8,0.99"], optim.Adam,
     {"lr": 1e-3, "betas": (0.8, 0.99), "eps": 1e-8, "weight_decay": 0.0}),
    (["--optimizer", "adamw"], optim.AdamW, {"weight_decay": 0.01}),
    (["--optimizer", "adagrad", "--lr", "0.05"], optim.Adagrad, {"lr": 0.05, "eps": 1e-10}),
])
def test_flags_build_the_optimizer(flags, cls, expected):
    config = config_of(*flags)
    opt = cli.build_optimizer(config, nn.Linear(3, 2).parameters())
    assert type(opt) is cls
    group = opt.param_groups[0]
    for key, value in expected.items():
        assert group[key] == pytest.approx(value), key


def lrs(config, epochs=None):
    """The learning rate of each epoch under the config's schedule."""
    opt = cli.build_optimizer(config, nn.Linear(3, 2).parameters())
    sched = cli.build_scheduler(config, opt)
    rates = []
    for _ in range(epochs or config["epochs"]):
        rates.append(opt.param_groups[0]["lr"])
        if sched is not None:
            sched.step()
    return rates


def test_flags_build_the_schedule():
    assert cli.build_scheduler(config_of("--schedule", "none"), None) is None
    assert lrs(config_of("--schedule", "none", "--epochs", "3")) == [1e-3] * 3
    config = config_of("--optimizer", "sgd", "--schedule", "step", "--epochs", "6",
                       "--step-size", "2", "--gamma", "0.5")
    assert lrs(config) == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025, 0.025])
    assert config_of("--schedule", "step", "--epochs", "9")["step_size"] == 3   # epochs // 3
    config = config_of("--optimizer", "sgd", "--schedule", "exponential", "--epochs", "4")
    assert lrs(config) == pytest.approx([0.1 * 0.9 ** t for t in range(4)])
    # cosine over the epochs; with a warm-up, LinearLR first and the cosine after it
    config = config_of("--optimizer", "sgd", "--schedule", "cosine", "--epochs", "4")
    assert lrs(config) == pytest.approx([0.05 * (1 + math.cos(math.pi * t / 4))
                                         for t in range(4)])
    config = config_of("--optimizer", "sgd", "--epochs", "6", "--warmup-epochs", "2")
    sched = cli.build_scheduler(config, cli.build_optimizer(config, nn.Linear(3, 2).parameters()))
    assert isinstance(sched, lr_scheduler.SequentialLR)
    expected = [0.1 / 3, 0.2 / 3] + [0.05 * (1 + math.cos(math.pi * t / 4)) for t in range(4)]
    assert lrs(config) == pytest.approx(expected)
    config = config_of("--optimizer", "sgd", "--schedule", "none", "--warmup-epochs", "1",
                       "--epochs", "3")
    assert lrs(config) == pytest.approx([0.05, 0.1, 0.1])
    config = config_of("--schedule", "plateau")
    assert isinstance(cli.build_scheduler(config, cli.build_optimizer(
        config, nn.Linear(3, 2).parameters())), lr_scheduler.ReduceLROnPlateau)
    assert config["val_fraction"] == 0.1 and config["gamma"] == 0.1


def test_defaults_follow_the_data_and_model():
    config = config_of()
    assert (config["data"], config["model"], config["optimizer"], config["schedule"]) == \
        ("spirals", "mlp", "adam", "cosine")
    assert (config["epochs"], config["batch_size"], config["val_fraction"]) == (40, 32, 0.0)
    if MNIST_DIR is not None:
        mlp_config = config_of("--data", "mnist", "--data-dir", MNIST_DIR)
        assert (mlp_config["hidden"], mlp_config["dropout"], mlp_config["batch_size"]) == \
            ([512, 256], 0.2, 128)
        lenet_config = config_of("--data", "mnist", "--data-dir", MNIST_DIR, "--model", "lenet")
        assert lenet_config["hidden"] is None and lenet_config["batch_size"] == 64
    assert config_of("--early-stopping", "3")["val_fraction"] == 0.1
    assert config_of("--val-fraction", "0.2")["val_fraction"] == 0.2
    assert config_of("--prune-amount", "0.5", "--lr", "0.01")["finetune_lr"] == \
        pytest.approx(0.001)
    assert config_of("--resume", "x.npz")["checkpoint"] == "x.npz"


def test_flags_build_the_model():
    config = config_of("--hidden", "16,8", "--dropout", "0.3", "--batch-norm")
    model = cli.build_model(config, (2,), 3)
    kinds = [type(m).__name__ for m in model]
    assert kinds == ["Flatten", "Linear", "BatchNorm1d", "ReLU", "Dropout", "Linear",
                     "BatchNorm1d", "ReLU", "Dropout", "Linear"]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [16, 8, 3]
    assert model[4].p == 0.3
    logistic = cli.build_model(config_of("--hidden", "none"), (2,), 3)
    assert [type(m).__name__ for m in logistic] == ["Flatten", "Linear"]


def test_penalties_are_added_to_the_training_loss_only():
    mg.manual_seed(0)
    model = models.mlp(4, [5], 3)
    loss_fn = cli.RegularizedLoss(model, l1=0.01, l2=0.1)
    x, y = mg.randn(6, 4), mg.tensor([0, 1, 2, 0, 1, 2])
    ce = float(nn.CrossEntropyLoss()(model(x), y))
    w = [m.weight.detach().numpy() for m in model if isinstance(m, nn.Linear)]
    l1 = sum(np.abs(a).sum() for a in w)
    l2 = sum((a ** 2).sum() for a in w)       # λ·Σw², not halved; biases not included
    assert float(loss_fn(model(x), y)) == pytest.approx(ce + 0.01 * l1 + 0.1 * l2, rel=1e-5)
    model.eval()
    assert float(loss_fn(model(x), y)) == pytest.approx(ce, rel=1e-6)


# --- checkpoints -------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, interrupt_at", [
    (["--dropout", "0.2", "--warmup-epochs", "1"], 50),             # mid-epoch 3 of 5
    (["--early-stopping", "2", "--lr", "0.03", "--epochs", "12"], 40),
    (["--prune-gradual", "0.7"], 60),
    (["--prune-amount", "0.6", "--finetune-epochs", "3"], 120),     # during the fine-tuning
])
def test_resume_gives_the_uninterrupted_weights(tmp_path, capsys, flags, interrupt_at):
    flags = SMALL + flags
    status, _, err = run_cli(capsys, *flags, "--out", str(tmp_path / "full"))
    assert status == 0, err
    checkpoint = str(tmp_path / "run.ckpt")
    status, _, err = run_cli(capsys, *flags, "--out", str(tmp_path / "cut"),
                             "--checkpoint", checkpoint, "--max-steps", str(interrupt_at))
    assert status == 0, err
    assert os.path.isfile(checkpoint)
    cut = weights(tmp_path / "cut")
    full = weights(tmp_path / "full")
    assert any(not np.array_equal(cut[k], full[k]) for k in full)  # it was interrupted
    status, out, err = run_cli(capsys, *flags, "--out", str(tmp_path / "resumed"),
                               "--resume", checkpoint)
    assert status == 0, err
    resumed = weights(tmp_path / "resumed")
    assert list(resumed) == list(full)
    for key in full:
        assert np.array_equal(resumed[key], full[key]), key
    for name in ("history.json", "finetune_history.json"):
        if not (tmp_path / "full" / name).exists():
            continue
        full_history, cut_history, resumed_history = (
            json.loads((tmp_path / run / name).read_text()) for run in ("full", "cut", "resumed"))
        assert resumed_history["loss"] == full_history["loss"]
        assert resumed_history["accuracy"] == full_history["accuracy"]
        # the epochs before the interruption came from the checkpoint, not from a rerun: their
        # wall-clock times are those of the interrupted run
        done = len(cut_history["time"])
        assert resumed_history["time"][:done] == cut_history["time"]
        assert resumed_history["time"][:done] != full_history["time"][:done]


def test_resume_refuses_other_settings_and_bad_files(tmp_path, capsys):
    checkpoint = str(tmp_path / "run.ckpt")
    status, _, _ = run_cli(capsys, *SMALL, "--epochs", "2", "--out", str(tmp_path / "a"),
                           "--checkpoint", checkpoint)
    assert status == 0
    status, _, err = run_cli(capsys, *SMALL, "--epochs", "2", "--lr", "0.01",
                             "--out", str(tmp_path / "b"), "--resume", checkpoint)
    assert status == 2 and "lr 0.001 (now 0.01)" in err
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(Path(checkpoint).read_bytes()[:1000])
    status, _, err = run_cli(capsys, *SMALL, "--resume", str(truncated), "--out",
                             str(tmp_path / "c"))
    assert status == 2 and "not a readable checkpoint" in err
    status, _, err = run_cli(capsys, *SMALL, "--resume", str(tmp_path / "a" / "model.npz"),
                             "--out", str(tmp_path / "c"))
    assert status == 2 and "not a checkpoint written by" in err


# --- bad flags -----------------------------------------------------------------------------------

@pytest.mark.parametrize("flags, message", [
    (["--lr", "-1"], "argument --lr: expected a number > 0, got '-1'"),
    (["--lr", "nan"], "argument --lr: expected a finite number"),
    (["--data", "imagenet"], "argument --data: invalid choice: 'imagenet'"),
    (["--epochs", "0"], "argument --epochs: expected an integer >= 1"),
    (["--hidden", "64,x"], "argument --hidden: expected comma-separated layer widths"),
    (["--model", "lenet"], "--model lenet needs 28x28 images (--data mnist)"),
    (["--data", "mnist", "--data-dir", "/no/such/folder"], "--data-dir '/no/such/folder' is "
                                                           "not a folder"),
    (["--resume", "/no/such/file.ckpt"], "--resume '/no/such/file.ckpt': no such file"),
    (["--optimizer", "adam", "--momentum", "0.9"], "--momentum does not apply to --optimizer "
                                                   "adam"),
    (["--optimizer", "sgd", "--betas", "0.9,0.99"], "--betas applies to --optimizer adam"),
    (["--optimizer", "nesterov", "--momentum", "0"], "needs a momentum > 0"),
    (["--schedule", "cosine", "--step-size", "3"], "--step-size applies to --schedule step"),
    (["--warmup-epochs", "5", "--epochs", "5"], "--warmup-epochs 5 must be fewer than"),
    (["--prune-amount", "0.5", "--prune-gradual", "0.5"], "exclude each other"),
    (["--prune-amount", "1"], "argument --prune-amount: expected a fraction strictly between"),
    (["--finetune-epochs", "2"], "--finetune-epochs applies to --prune-amount only"),
    (["--early-stopping", "3", "--val-fraction", "0"], "--val-fraction must be > 0"),
    (["--data", "moons", "--classes", "4"], "moons has exactly 2 classes"),
    (["--device", "tpu"], "--device 'tpu'"),
    (["--limit", "3", "--val-fraction", "0.1"], "both need at least one"),
])
def test_bad_flags_give_a_clear_message(capsys, tmp_path, flags, message):
    status, out, err = run_cli(capsys, *flags, "--out", str(tmp_path / "out"))
    assert status == 2
    assert message in err, err
    assert "Traceback" not in err and "test accuracy" not in out


def test_mnist_without_a_folder_says_how_to_point_at_it(capsys, tmp_path, monkeypatch):
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    status, _, err = run_cli(capsys, "--data", "mnist", "--out", str(tmp_path))
    assert status == 2 and "--data-dir DIR or set MINIGRAD_DATA" in err
    status, _, err = run_cli(capsys, "--data", "mnist", "--data-dir", str(tmp_path),
                             "--out", str(tmp_path / "out"))
    assert status == 2 and "missing MNIST file(s)" in err


def test_bad_flag_in_a_subprocess_exits_nonzero_without_a_traceback(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "minigrad", "train", "--data", "moons",
                           "--model", "lenet", "--out", str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "python -m minigrad train: error: --model lenet needs 28x28 images (--data mnist); "
        "moons is a set of 2-d points: use --model mlp"]


# --- other paths of the command ---------------------------------------------------------------

def test_penalties_clipping_and_other_optimizers_run(capsys, tmp_path):
    status, out, err = run_cli(capsys, *SMALL, "--data", "moons", "--optimizer", "nesterov",
                               "--lr", "0.05", "--l1", "1e-4", "--l2", "1e-3",
                               "--clip-grad-norm", "1", "--schedule", "step",
                               "--out", str(tmp_path))
    assert status == 0, err
    assert printed_accuracy(out) > 80
    config = json.loads((tmp_path / "config.json").read_text())
    assert (config["l1"], config["l2"], config["clip_grad_norm"]) == (1e-4, 1e-3, 1.0)


def test_one_shot_pruning_reaches_the_amount(capsys, tmp_path):
    status, out, err = run_cli(capsys, *SMALL, "--prune-amount", "0.75", "--out", str(tmp_path))
    assert status == 0, err
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["sparsity"]["global"]["sparsity"] == pytest.approx(0.75, abs=1e-3)
    assert {"before_prune", "after_prune"} <= set(results)
    saved = weights(tmp_path)                       # pruning made permanent: plain keys
    assert not any(k.endswith(("_orig", "_mask")) for k in saved)
    linear = [v for k, v in saved.items() if k.endswith("weight")]
    zeros = sum(int((w == 0).sum()) for w in linear)
    assert zeros / sum(w.size for w in linear) == pytest.approx(0.75, abs=1e-3)
    assert (tmp_path / "finetune_history.json").is_file()


def test_blobs_and_validation_split(capsys, tmp_path):
    status, out, err = run_cli(capsys, "--data", "blobs", "--samples", "400", "--epochs", "3",
                               "--val-fraction", "0.25", "--out", str(tmp_path))
    assert status == 0, err
    assert "300 train / 100 validation / 200 test samples" in out
    history = json.loads((tmp_path / "history.json").read_text())
    assert len(history["val_loss"]) == 3 and len(history["val_accuracy"]) == 3


def test_threads_flag(tmp_path):
    # in a subprocess: limiting BLAS threads here would change them for the rest of the tests
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run([sys.executable, "-m", "minigrad", "train", *SMALL, "--epochs", "1",
                           "--threads", "1", "--out", str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    if proc.returncode == 2 and "cannot find NumPy's OpenBLAS" in proc.stderr:
        pytest.skip("NumPy here does not use OpenBLAS")
    assert proc.returncode == 0, proc.stderr
    assert "test accuracy" in proc.stdout


@needs_mnist
@pytest.mark.parametrize("model, minimum", [("mlp", 70.0), ("lenet", 60.0)])
def test_mnist_subset(capsys, tmp_path, model, minimum):
    status, out, err = run_cli(capsys, "--data", "mnist", "--data-dir", MNIST_DIR, "--model",
                               model, "--limit", "1000", "--epochs", "4", "--out", str(tmp_path))
    assert status == 0, err
    assert "1000 train / 0 validation / 1000 test samples" in out
    assert printed_accuracy(out) >= minimum    # chance is 10%; the full runs reach 98-99%
    config = json.loads((tmp_path / "config.json").read_text())
    assert config["input_shape"] == ([1, 28, 28] if model == "lenet" else [784])


@needs_mnist
def test_mnist_inputs_are_standardized_float32():
    data = cli.load_data(config_of("--data", "mnist", "--data-dir", MNIST_DIR, "--limit",
                                   "2000", "--val-fraction", "0.1"))
    assert data.x_train.dtype == np.float32 and data.x_test.dtype == np.float32
    assert data.x_train.shape == (1800, 784) and data.x_val.shape == (200, 784)
    assert abs(float(data.x_train.mean())) < 1e-3 and float(data.x_train.std()) == \
        pytest.approx(1.0, abs=1e-3)
    assert data.y_train.dtype == np.int64


# --- models ------------------------------------------------------------------------------------

def test_lenet5_architecture():
    model = models.lenet5()
    assert sum(p.numel() for p in model.parameters()) == 61706
    convs = [m for m in model if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.padding) for c in convs] == \
        [(1, 6, (5, 5), (2, 2)), (6, 16, (5, 5), (0, 0))]
    assert [m.out_features for m in model if isinstance(m, nn.Linear)] == [120, 84, 10]
    assert models.lenet5(num_classes=3)(mg.randn(2, 1, 28, 28)).shape == (2, 3)
    with_extras = models.lenet5(dropout=0.5, batch_norm=True)
    names = [type(m).__name__ for m in with_extras]
    assert names.count("BatchNorm2d") == 2 and names.count("BatchNorm1d") == 2
    assert names.count("Dropout") == 2


def test_mlp_architecture_and_errors():
    model = models.mlp(784, (32, 16), 10, activation="tanh")
    assert model(mg.randn(5, 1, 28, 28)).shape == (5, 10)       # flattens images
    assert [type(m).__name__ for m in model] == ["Flatten", "Linear", "Tanh", "Linear", "Tanh",
                                                 "Linear"]
    with pytest.raises(ValueError, match="unknown activation 'swish'"):
        models.mlp(2, [4], 2, activation="swish")
    with pytest.raises(ValueError, match="hidden size"):
        models.mlp(2, [4, 0], 2)
    with pytest.raises(ValueError, match="dropout"):
        models.mlp(2, [4], 2, dropout=1.0)
    with pytest.raises(ValueError, match="hidden_sizes"):
        models.mlp(2, 4, 2)
