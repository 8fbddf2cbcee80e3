"""``python -m minigrad``: the command line.

    python -m minigrad gradcheck [--device cpu|cuda] [--cases N] [--seed S] [--second-order]

checks every op of :mod:`minigrad.op_table` against central differences in float64 and prints
one row per op (cases, worst absolute and relative error, pass/fail) and a final count; the
exit status is 1 if any op fails.

    python -m minigrad train [--data moons|spirals|blobs|mnist] [--model mlp|lenet] ...

trains a classifier with :func:`minigrad.training.fit` (optimizer, schedule, penalties,
clipping, early stopping, pruning, checkpoints; ``--help`` lists every flag and its default),
prints the test accuracy and loss, the train time and where the outputs went (history,
weights, config, results, and plots when matplotlib is installed). Bad flags or files give a
one-line message and exit status 2. The pieces are functions a program or a test can call:
:func:`resolve_config` (flags to settings), :func:`load_data`, :func:`build_training` (model,
loss, optimizer, schedule, loaders, callbacks) and :func:`run_training`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import NamedTuple


def _gradcheck_command(args) -> int:
    import numpy as np

    import minigrad as mg
    from minigrad.gradcheck import check_gradients, second_order
    from minigrad.op_table import OPS, RandomDrawer

    device = mg.device(args.device)
    if device.type == "cuda" and not mg.cuda.is_available():
        print(f"gradcheck: device {device} asked for, but CuPy or a GPU is missing",
              file=sys.stderr)
        return 2
    specs = [s for s in OPS if not args.ops or s.name in args.ops]
    unknown = set(args.ops or ()) - {s.name for s in OPS}
    if unknown:
        print(f"gradcheck: unknown op(s): {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    header = f"{'op':<20} {'order':>5} {'cases':>5} {'max abs err':>12} {'max rel err':>12}  result"
    print(f"minigrad {mg.__version__} gradcheck on {device} (float64, eps=1e-6, atol=1e-5, "
          f"rtol=1e-3)")
    print(header)
    print("-" * len(header))
    passed = failed = 0
    start = time.perf_counter()
    for spec in specs:
        orders = (1, 2) if args.second_order and spec.gradgrad else (1,)
        for order in orders:
            drawer = RandomDrawer(args.seed)
            worst_abs = worst_rel = 0.0
            failure = None
            for case in range(args.cases):
                arrays, kwargs = spec.sample(drawer)
                inputs = []
                for i, a in enumerate(arrays):
                    grad = a.dtype.kind == "f" and (spec.grad_inputs is None
                                                    or i in spec.grad_inputs)
                    inputs.append(mg.tensor(a, device=device, requires_grad=grad))
                fn = lambda *ts, kw=kwargs: spec.op(*ts, **kw)  # noqa: E731
                if order == 2:
                    fn, inputs = second_order(fn, inputs, seed=case)
                result = check_gradients(fn, inputs, seed=case)
                worst_abs = max(worst_abs, result.max_abs_error)
                worst_rel = max(worst_rel, result.max_rel_error)
                if not result.passed and failure is None:
                    failure = f"case {case} ({[np.shape(a) for a in arrays]}, {kwargs}): " \
                              f"{result.message}"
            ok = failure is None
            passed += ok
            failed += not ok
            print(f"{spec.name:<20} {order:>5} {args.cases:>5} {worst_abs:>12.2e} "
                  f"{worst_rel:>12.2e}  {'pass' if ok else 'FAIL'}")
            if failure:
                print(f"    {failure}")
    elapsed = time.perf_counter() - start
    print("-" * len(header))
    print(f"{passed} passed, {failed} failed ({passed + failed} checks, {elapsed:.1f} s)")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------------------
# python -m minigrad train

DATASETS = ("moons", "spirals", "blobs", "mnist")
SYNTHETIC = ("moons", "spirals", "blobs")
MODELS = ("mlp", "lenet")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adagrad")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau")

#: The learning rate each optimizer gets when --lr is not given.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
              "adamw": 1e-3, "adagrad": 1e-2}

#: Defaults that depend on the data and the model (flags given on the command line win).
PRESETS = {
    "synthetic": {"hidden": (64, 64, 64), "dropout": 0.0, "epochs": 40, "batch_size": 32},
    "mnist-mlp": {"hidden": (512, 256), "dropout": 0.2, "epochs": 8, "batch_size": 128},
    "mnist-lenet": {"hidden": None, "dropout": 0.0, "epochs": 8, "batch_size": 64},
}

#: --noise defaults of the synthetic sets (for blobs it is the std of each blob).
DEFAULT_NOISE = {"moons": 0.1, "spirals": 0.05, "blobs": 1.0}
DEFAULT_SAMPLES = 3000
#: A synthetic test set is drawn with seed + TEST_SEED_OFFSET (the training set with seed).
TEST_SEED_OFFSET = 1_000_003
#: Config keys a --resume run may change: where things are read and written, and display.
RESUME_FREE_KEYS = ("data_dir", "out", "checkpoint", "resume", "no_progress", "quiet",
                    "max_steps")
CHECKPOINT_WRITER = "python -m minigrad train"

_TRAIN_DESCRIPTION = """\
Train a classifier and report its test accuracy.

With no flags: an MLP (2-64-64-64-3) on the built-in spirals set (3000 training points, 3
classes), Adam with a cosine schedule, 40 epochs; it takes seconds and reaches about 96-97%
test accuracy (the centre of the spirals overlaps, which caps it near 97%).

Test sets: synthetic sets draw a separate test set (seed + 1000003, half as many points);
MNIST uses its official 10,000 test images. The validation split (--val-fraction) comes from
the training set only, and inputs are standardized with statistics of the training part only.

Outputs (--out DIR): history.json and history.csv (one row per epoch: loss, accuracy,
val_loss, val_accuracy, lr, time), model.npz (the final weights, minigrad.save of
model.state_dict(); minigrad.models.mlp/lenet5 with the config.json settings rebuilds the
model), config.json (every setting, defaults filled in), results.json (test loss and accuracy,
train time, sparsity), and loss.png / accuracy.png when matplotlib happens to be installed.
"""

_TRAIN_EPILOG = """\
defaults that depend on --data/--model (a flag given wins):
  synthetic sets     --hidden 64,64,64 --epochs 40 --batch-size 32
  mnist, mlp         --hidden 512,256 --dropout 0.2 --epochs 8 --batch-size 128
  mnist, lenet       --epochs 8 --batch-size 64
  --lr               sgd 0.1, momentum/nesterov 0.01, rmsprop/adam/adamw 0.001, adagrad 0.01

examples:
  python -m minigrad train
  python -m minigrad train --data mnist --data-dir /path/to/mnist --model mlp
  python -m minigrad train --data mnist --model lenet --out runs/lenet
  python -m minigrad train --optimizer nesterov --lr 0.05 --schedule step --step-size 10
  python -m minigrad train --data moons --l2 1e-4 --early-stopping 5
  python -m minigrad train --data mnist --prune-amount 0.9 --finetune-epochs 2
  python -m minigrad train --checkpoint run.ckpt ...   then, after a crash:
  python -m minigrad train --resume run.ckpt ...       (same flags; continues bit for bit)

Small models often run faster with one BLAS thread, and much faster on a busy machine:
--threads 1 (or OPENBLAS_NUM_THREADS=1 before the command) keeps NumPy's BLAS threads from
fighting other processes for the cores.
"""


class ConfigError(ValueError):
    """A bad flag, a bad combination of flags, or a missing or unreadable file: reported to the
    user as one line (no traceback) with exit status 2."""


# --- argparse value types: each names what it expected; argparse adds the flag ---------------

def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def _nonnegative_float(text: str) -> float:
    value = _float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}")
    return value


def _open_fraction(text: str) -> float:
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction strictly between 0 and 1, "
                                         f"got {text!r}")
    return value


def _val_fraction(text: str) -> float:
    value = _float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def _int(text: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < low:
        raise argparse.ArgumentTypeError(f"expected an integer >= {low}, got {text!r}")
    return value


def _positive_int(text: str) -> int:
    return _int(text, 1)


def _nonnegative_int(text: str) -> int:
    return _int(text, 0)


def _hidden_sizes(text: str) -> tuple:
    """'512,256' -> (512, 256); 'none' or '' -> () (no hidden layer: logistic regression)."""
    if text.strip().lower() in ("", "none"):
        return ()
    try:
        sizes = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated layer widths such as "
                                         f"512,256 (or 'none'), got {text!r}") from None
    if any(size < 1 for size in sizes):
        raise argparse.ArgumentTypeError(f"layer widths must be positive, got {text!r}")
    return sizes


def _betas(text: str) -> tuple:
    parts = text.split(",")
    try:
        betas = tuple(float(part) for part in parts)
    except ValueError:
        betas = ()
    if len(betas) != 2 or not all(0 <= b < 1 for b in betas):
        raise argparse.ArgumentTypeError(f"expected two numbers in [0, 1) such as 0.9,0.999, "
                                         f"got {text!r}")
    return betas


def _add_train_parser(commands) -> None:
    train = commands.add_parser(
        "train", help="train a classifier (MLP or LeNet-5) on a synthetic set or MNIST",
        description=_TRAIN_DESCRIPTION, epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)

    group = train.add_argument_group("data")
    group.add_argument("--data", choices=DATASETS, default="spirals",
                       help="the data set (default spirals)")
    group.add_argument("--data-dir", metavar="DIR",
                       help="the folder holding the MNIST IDX files (*-ubyte.gz or *-ubyte); "
                            "default: the MINIGRAD_DATA environment variable. Nothing is "
                            "downloaded")
    group.add_argument("--samples", type=_positive_int, metavar="N",
                       help=f"training points of a synthetic set (default {DEFAULT_SAMPLES}); "
                            f"its test set has N/2")
    group.add_argument("--noise", type=_nonnegative_float,
                       help="noise of a synthetic set: std of the Gaussian noise (moons 0.1, "
                            "spirals 0.05) or of each blob (blobs 1.0)")
    group.add_argument("--classes", type=_positive_int,
                       help="classes of spirals or blobs (default 3; moons has 2)")
    group.add_argument("--limit", type=_positive_int, metavar="N",
                       help="use only the first N training and first N test samples (quick "
                            "runs and tests)")
    group.add_argument("--val-fraction", type=_val_fraction, metavar="F",
                       help="fraction of the training set held out for validation (default 0, "
                            "or 0.1 with --early-stopping or --schedule plateau)")

    group = train.add_argument_group("model")
    group.add_argument("--model", choices=MODELS, default="mlp",
                       help="mlp, or lenet (LeNet-5, MNIST only) (default mlp)")
    group.add_argument("--hidden", type=_hidden_sizes, metavar="SIZES",
                       help="hidden layer widths of the MLP, e.g. 512,256 ('none': no hidden "
                            "layer) (default: see below)")
    group.add_argument("--dropout", type=_val_fraction, metavar="P",
                       help="dropout probability after each hidden layer (default: see below)")
    group.add_argument("--batch-norm", action="store_true",
                       help="batch normalization after each hidden layer / convolution")

    group = train.add_argument_group("optimizer")
    group.add_argument("--optimizer", choices=OPTIMIZERS, default="adam",
                       help="sgd, momentum (SGD with momentum), nesterov, rmsprop, adam, adamw, "
                            "adagrad (default adam)")
    group.add_argument("--lr", type=_positive_float, help="learning rate (default: see below)")
    group.add_argument("--momentum", type=_nonnegative_float,
                       help="momentum of sgd/momentum/nesterov/rmsprop (default 0.9 for "
                            "momentum and nesterov, 0 for sgd and rmsprop)")
    group.add_argument("--betas", type=_betas, metavar="B1,B2",
                       help="Adam/AdamW moment decay rates (default 0.9,0.999)")
    group.add_argument("--eps", type=_positive_float,
                       help="the denominator's epsilon of rmsprop, adam, adamw (default 1e-8) "
                            "and adagrad (default 1e-10)")
    group.add_argument("--weight-decay", type=_nonnegative_float, metavar="WD",
                       help="the optimizer's weight decay (coupled L2 in the gradient; "
                            "decoupled for adamw) (default 0, adamw 0.01)")

    group = train.add_argument_group("regularization (added to the training loss)")
    group.add_argument("--l1", type=_nonnegative_float, default=0.0, metavar="LAMBDA",
                       help="L1 penalty: adds LAMBDA * sum |w| over the weights (not biases) "
                            "of every Linear and Conv2d layer (default 0)")
    group.add_argument("--l2", type=_nonnegative_float, default=0.0, metavar="LAMBDA",
                       help="L2 penalty: adds LAMBDA * sum w^2 (not halved: its gradient is "
                            "2*LAMBDA*w) over the same weights (default 0). The printed train "
                            "loss includes the penalties; val and test losses do not")

    group = train.add_argument_group("learning-rate schedule (stepped once per epoch)")
    group.add_argument("--schedule", choices=SCHEDULES, default="cosine",
                       help="none, step (StepLR), exponential (ExponentialLR), cosine "
                            "(CosineAnnealingLR to 0 over the epochs after warm-up), plateau "
                            "(ReduceLROnPlateau on val_loss) (default cosine)")
    group.add_argument("--step-size", type=_positive_int, metavar="EPOCHS",
                       help="step: decay every EPOCHS epochs (default epochs // 3)")
    group.add_argument("--gamma", type=_positive_float,
                       help="decay factor: step 0.1, exponential 0.9 per epoch, plateau 0.1 "
                            "(the defaults)")
    group.add_argument("--plateau-patience", type=_nonnegative_int, metavar="EPOCHS",
                       help="plateau: epochs without improvement before a decay (default 2)")
    group.add_argument("--warmup-epochs", type=_nonnegative_int, default=0, metavar="N",
                       help="linear warm-up (LinearLR from lr/(N+1) to lr over N epochs), then "
                            "the schedule (SequentialLR) (default 0)")

    group = train.add_argument_group("training")
    group.add_argument("--epochs", type=_positive_int, help="epochs (default: see below)")
    group.add_argument("--batch-size", type=_positive_int, metavar="N",
                       help="samples per batch (default: see below)")
    group.add_argument("--clip-grad-norm", type=_positive_float, metavar="MAX",
                       help="rescale the gradients to total norm <= MAX before each step")
    group.add_argument("--early-stopping", type=_positive_int, metavar="PATIENCE",
                       help="stop when val_loss has not improved for PATIENCE epochs, and keep "
                            "the best epoch's weights")
    group.add_argument("--seed", type=_nonnegative_int, default=0,
                       help="seeds the data, the split, the shuffling, the initialization and "
                            "dropout (default 0)")
    group.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    group.add_argument("--threads", type=_positive_int, metavar="N",
                       help="limit NumPy's BLAS (OpenBLAS) to N threads; 1 is often fastest "
                            "for these small models and avoids a large slowdown on a busy "
                            "machine (default: leave it as configured)")
    group.add_argument("--max-steps", type=_positive_int, metavar="N",
                       help="stop training after N optimizer steps (then evaluate and write "
                            "the outputs as usual), e.g. to simulate an interrupted run")

    group = train.add_argument_group("pruning (global L1 magnitude over the Linear/Conv2d "
                                     "weights)")
    group.add_argument("--prune-amount", type=_open_fraction, metavar="FRACTION",
                       help="after training, prune this fraction of the weights at once, then "
                            "fine-tune")
    group.add_argument("--finetune-epochs", type=_nonnegative_int, metavar="N",
                       help="epochs of fine-tuning after --prune-amount, with a fresh "
                            "optimizer and no schedule (default 2)")
    group.add_argument("--finetune-lr", type=_positive_float,
                       help="learning rate of the fine-tuning (default lr / 10)")
    group.add_argument("--prune-gradual", type=_open_fraction, metavar="S_FINAL",
                       help="prune during training to final sparsity S_FINAL (Zhu and Gupta's "
                            "cubic schedule, from the end of epoch 1 to 70%% of the steps)")

    group = train.add_argument_group("checkpoints and output")
    group.add_argument("--checkpoint", metavar="PATH",
                       help="write a full training checkpoint (model, optimizer, schedule, "
                            "random and loader state, history) to PATH after every epoch, "
                            "atomically (default: the --resume path when resuming)")
    group.add_argument("--resume", metavar="PATH",
                       help="continue the run saved in PATH; give the same flags (a "
                            "difference is an error), the result equals an uninterrupted run")
    group.add_argument("--out", metavar="DIR",
                       help="output folder (default runs/<data>-<model>-<date>-<time>)")
    group.add_argument("--no-progress", action="store_true",
                       help="no per-epoch progress lines")
    group.add_argument("--quiet", action="store_true",
                       help="print only the final results (implies --no-progress)")
    train.set_defaults(run=_train_command)


# --- the configuration: flags checked together, defaults filled in ------------------------------

def _not_with(config: dict, flag: str, reason: str) -> None:
    """Refuse ``flag`` (a config key) when it was given: it has no effect in this setting."""
    if config[flag] is not None:
        raise ConfigError(f"--{flag.replace('_', '-')} {reason}")


def _format_flag_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


def resolve_config(args) -> dict:
    """The run's settings as a JSON-able dict: the parsed flags (``args`` from
    ``build_parser().parse_args(['train', ...])``) checked against each other, with every
    default filled in (see ``python -m minigrad train --help``).

    Raises :class:`ConfigError` naming the flag for a combination that makes no sense (a flag
    that would have no effect is refused rather than silently ignored).
    """
    import minigrad as mg

    c = {key: value for key, value in vars(args).items() if key not in ("command", "run")}
    data, model = c["data"], c["model"]

    # data
    if model == "lenet" and data != "mnist":
        raise ConfigError(f"--model lenet needs 28x28 images (--data mnist); {data} is a set "
                          f"of 2-d points: use --model mlp")
    if data == "mnist":
        for flag in ("samples", "noise", "classes"):
            _not_with(c, flag, "applies to the synthetic sets (moons, spirals, blobs), not to "
                               "mnist; --limit N takes a subset of MNIST")
        folder = c["data_dir"] or os.environ.get("MINIGRAD_DATA")
        if not folder:
            raise ConfigError("--data mnist needs the folder holding the MNIST IDX files: pass "
                              "--data-dir DIR or set MINIGRAD_DATA=DIR (nothing is downloaded)")
        if not os.path.isdir(folder):
            source = "--data-dir" if c["data_dir"] else "MINIGRAD_DATA"
            raise ConfigError(f"{source} {folder!r} is not a folder; point it at the folder "
                              f"holding train-images-idx3-ubyte.gz and the other MNIST files")
        c["data_dir"] = folder
        c["num_classes"] = 10
    else:
        _not_with(c, "data_dir", "applies to --data mnist only")
        if data == "moons":
            if c["classes"] not in (None, 2):
                raise ConfigError(f"--classes {c['classes']}: moons has exactly 2 classes")
            c["classes"] = 2
        elif c["classes"] is None:
            c["classes"] = 3
        elif c["classes"] < 2:
            raise ConfigError(f"--classes {c['classes']}: a classifier needs at least 2")
        c["samples"] = DEFAULT_SAMPLES if c["samples"] is None else c["samples"]
        c["noise"] = DEFAULT_NOISE[data] if c["noise"] is None else c["noise"]
        c["num_classes"] = c["classes"]

    # model, epochs and batch size: the preset's defaults
    preset = PRESETS["synthetic" if data in SYNTHETIC else f"mnist-{model}"]
    if model != "mlp":
        _not_with(c, "hidden", "sets the MLP's hidden layers; it does not apply to "
                               "--model lenet")
    for key in ("hidden", "dropout", "epochs", "batch_size"):
        if c[key] is None:
            c[key] = preset[key]
    c["hidden"] = None if c["hidden"] is None else list(c["hidden"])

    # optimizer
    opt = c["optimizer"]
    c["lr"] = DEFAULT_LR[opt] if c["lr"] is None else c["lr"]
    if opt in ("momentum", "nesterov"):
        c["momentum"] = 0.9 if c["momentum"] is None else c["momentum"]
        if c["momentum"] <= 0:
            raise ConfigError(f"--momentum {c['momentum']}: --optimizer {opt} needs a momentum "
                              f"> 0 (use --optimizer sgd for none)")
    elif opt in ("sgd", "rmsprop"):
        c["momentum"] = 0.0 if c["momentum"] is None else c["momentum"]
    else:
        _not_with(c, "momentum", f"does not apply to --optimizer {opt} (sgd, momentum, nesterov "
                                 f"and rmsprop take it; adam and adamw take --betas)")
    if opt in ("adam", "adamw"):
        c["betas"] = [0.9, 0.999] if c["betas"] is None else list(c["betas"])
    else:
        _not_with(c, "betas", f"applies to --optimizer adam and adamw, not {opt}")
    if opt in ("sgd", "momentum", "nesterov"):
        _not_with(c, "eps", f"does not apply to --optimizer {opt} (SGD has no epsilon)")
    elif c["eps"] is None:
        c["eps"] = 1e-10 if opt == "adagrad" else 1e-8
    if c["weight_decay"] is None:
        c["weight_decay"] = 0.01 if opt == "adamw" else 0.0

    # validation split
    needs_val = c["early_stopping"] is not None or c["schedule"] == "plateau"
    if c["val_fraction"] is None:
        c["val_fraction"] = 0.1 if needs_val else 0.0
    elif needs_val and c["val_fraction"] == 0:
        watcher = "--early-stopping" if c["early_stopping"] is not None else "--schedule plateau"
        raise ConfigError(f"{watcher} watches the validation loss: --val-fraction must be > 0 "
                          f"(e.g. 0.1), got 0")

    # schedule
    schedule, epochs = c["schedule"], c["epochs"]
    if schedule == "step":
        c["step_size"] = max(1, epochs // 3) if c["step_size"] is None else c["step_size"]
    else:
        _not_with(c, "step_size", f"applies to --schedule step, not {schedule}")
    if schedule in ("step", "exponential", "plateau"):
        if c["gamma"] is None:
            c["gamma"] = 0.9 if schedule == "exponential" else 0.1
        if schedule == "plateau" and c["gamma"] >= 1:
            raise ConfigError(f"--gamma {c['gamma']}: the plateau factor must be < 1")
    else:
        _not_with(c, "gamma", f"applies to --schedule step, exponential and plateau, not "
                              f"{schedule}")
    if schedule == "plateau":
        c["plateau_patience"] = 2 if c["plateau_patience"] is None else c["plateau_patience"]
        if c["warmup_epochs"]:
            raise ConfigError("--warmup-epochs cannot precede --schedule plateau "
                              "(ReduceLROnPlateau cannot be sequenced); use another schedule")
    else:
        _not_with(c, "plateau_patience", f"applies to --schedule plateau, not {schedule}")
    if c["warmup_epochs"] >= epochs:
        raise ConfigError(f"--warmup-epochs {c['warmup_epochs']} must be fewer than --epochs "
                          f"{epochs}")

    # pruning
    if c["prune_amount"] is not None and c["prune_gradual"] is not None:
        raise ConfigError("--prune-amount (one-shot, after training) and --prune-gradual "
                          "(during training) exclude each other")
    if c["prune_amount"] is not None:
        c["finetune_epochs"] = 2 if c["finetune_epochs"] is None else c["finetune_epochs"]
        c["finetune_lr"] = c["lr"] / 10 if c["finetune_lr"] is None else c["finetune_lr"]
    else:
        _not_with(c, "finetune_epochs", "applies to --prune-amount only")
        _not_with(c, "finetune_lr", "applies to --prune-amount only")
    if c["prune_gradual"] is not None and c["early_stopping"] is not None:
        raise ConfigError("--early-stopping cannot be combined with --prune-gradual: restoring "
                          "the best epoch's weights could undo part of the pruning schedule")

    # device, files
    try:
        device = mg.device(c["device"])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"--device {c['device']!r}: {exc}") from None
    if device.type == "cuda" and not mg.cuda.is_available():
        raise ConfigError(f"--device {c['device']}: CuPy or a CUDA GPU is missing (install "
                          f"minigrad[cuda12] or minigrad[cuda13] on a machine with a GPU)")
    if c["checkpoint"] is None:
        c["checkpoint"] = c["resume"]
    if c["out"] is None:
        c["out"] = os.path.join("runs", f"{data}-{model}-{time.strftime('%Y%m%d-%H%M%S')}")
    return c


def _read_resume(config: dict) -> dict:
    """Check that ``config['resume']`` is a checkpoint of this command written with the same
    settings, and return what the run stored in it (``extra``: the phase, and the results of a
    finished main phase)."""
    import minigrad as mg

    path = config["resume"]
    if not os.path.isfile(path):
        raise ConfigError(f"--resume {path!r}: no such file")
    try:
        checkpoint = mg.load(path)
    except (mg.CheckpointError, OSError, ValueError) as exc:
        raise ConfigError(f"--resume {path!r}: not a readable checkpoint: {exc}") from None
    extra = checkpoint.get("extra") if isinstance(checkpoint, dict) else None
    if not isinstance(extra, dict) or extra.get("writer") != CHECKPOINT_WRITER:
        raise ConfigError(f"--resume {path!r}: not a checkpoint written by "
                          f"`{CHECKPOINT_WRITER} --checkpoint`")
    saved = extra["config"]
    differences = []
    for key in sorted(set(saved) | set(config)):
        if key in RESUME_FREE_KEYS:
            continue
        old, new = saved.get(key), config.get(key)
        if isinstance(old, tuple):
            old = list(old)
        if old != new:
            differences.append(f"{key} {_format_flag_value(old)} (now "
                               f"{_format_flag_value(new)})")
    if differences:
        raise ConfigError(f"--resume {path!r}: the checkpoint was written with other settings: "
                          f"{'; '.join(differences)}. Resume with the flags of the original run")
    return extra


# --- data --------------------------------------------------------------------------------------

class TrainData(NamedTuple):
    """The three splits as arrays (float32 inputs, int64 labels) and what the model needs."""
    x_train: object
    y_train: object
    x_val: object    # None without a validation split
    y_val: object
    x_test: object
    y_test: object
    num_classes: int
    input_shape: tuple  # of one sample, e.g. (2,), (784,) or (1, 28, 28)


def load_data(config: dict) -> TrainData:
    """Load or draw the data of ``config``: split off the validation set (``random_split`` with
    the seed), and standardize with statistics of the remaining training part only (one mean
    and std per feature for the synthetic sets; one for all pixels of MNIST)."""
    import numpy as np

    from minigrad.data import (IDXError, StandardScaler, TensorDataset, load_mnist,
                               make_blobs, make_moons, make_spirals, random_split)

    data, seed, limit = config["data"], config["seed"], config["limit"]
    if data == "mnist":
        try:
            x_train, y_train = load_mnist(config["data_dir"], train=True)
            x_test, y_test = load_mnist(config["data_dir"], train=False)
        except (FileNotFoundError, IDXError) as exc:
            raise ConfigError(f"--data-dir {config['data_dir']!r}: {exc}") from None
        shape = (1, 28, 28) if config["model"] == "lenet" else (784,)
        axis = None
    else:
        n, noise, test_seed = config["samples"], config["noise"], seed + TEST_SEED_OFFSET
        n_test = max(1, n // 2)
        if data == "moons":
            x_train, y_train = make_moons(n, noise=noise, seed=seed)
            x_test, y_test = make_moons(n_test, noise=noise, seed=test_seed)
        elif data == "spirals":
            k = config["classes"]
            x_train, y_train = make_spirals(n, classes=k, noise=noise, seed=seed)
            x_test, y_test = make_spirals(n_test, classes=k, noise=noise, seed=test_seed)
        else:  # blobs: one set of centers for both sets, drawn from the seed
            centers = np.random.default_rng(seed).uniform(-10.0, 10.0, (config["classes"], 2))
            x_train, y_train = make_blobs(n, centers=centers, std=noise, seed=seed)
            x_test, y_test = make_blobs(n_test, centers=centers, std=noise, seed=test_seed)
        shape = (2,)
        axis = 0
    if limit is not None:
        x_train, y_train = x_train[:limit], y_train[:limit]
        x_test, y_test = x_test[:limit], y_test[:limit]

    x_val = y_val = None
    if config["val_fraction"] > 0:
        n = len(y_train)
        n_val = round(n * config["val_fraction"])
        if not 1 <= n_val < n:
            raise ConfigError(f"--val-fraction {config['val_fraction']} of {n} training "
                              f"samples leaves {n_val} for validation and {n - n_val} for "
                              f"training; both need at least one")
        train_part, val_part = random_split(TensorDataset(y_train), [n - n_val, n_val],
                                            seed=seed)
        x_val, y_val = x_train[val_part.indices], y_train[val_part.indices]
        x_train, y_train = x_train[train_part.indices], y_train[train_part.indices]

    scaler = StandardScaler(axis=axis).fit(x_train)

    def prepare(x):
        return np.ascontiguousarray(scaler.transform(x), dtype=np.float32).reshape(
            (len(x),) + shape)

    return TrainData(prepare(x_train), y_train, None if x_val is None else prepare(x_val),
                     y_val, prepare(x_test), y_test, config["num_classes"], shape)


# --- model, optimizer, schedule, loss -----------------------------------------------------------

def build_model(config: dict, input_shape: tuple, num_classes: int):
    """``models.mlp`` or ``models.lenet5`` as ``config`` says."""
    from minigrad import models

    if config["model"] == "lenet":
        return models.lenet5(num_classes, in_channels=input_shape[0],
                             dropout=config["dropout"], batch_norm=config["batch_norm"])
    return models.mlp(math.prod(input_shape), config["hidden"], num_classes,
                      dropout=config["dropout"], batch_norm=config["batch_norm"])


def build_optimizer(config: dict, params, lr=None):
    """The optimizer of ``config['optimizer']`` over ``params`` (``lr`` overrides the rate):
    sgd is SGD(momentum=--momentum, default 0), momentum SGD(momentum=0.9), nesterov
    SGD(momentum=0.9, nesterov=True)."""
    from minigrad import optim

    name, wd = config["optimizer"], config["weight_decay"]
    lr = config["lr"] if lr is None else lr
    if name in ("sgd", "momentum", "nesterov"):
        return optim.SGD(params, lr=lr, momentum=config["momentum"], weight_decay=wd,
                         nesterov=name == "nesterov")
    if name == "rmsprop":
        return optim.RMSprop(params, lr=lr, eps=config["eps"], weight_decay=wd,
                             momentum=config["momentum"])
    if name in ("adam", "adamw"):
        cls = optim.Adam if name == "adam" else optim.AdamW
        return cls(params, lr=lr, betas=tuple(config["betas"]), eps=config["eps"],
                   weight_decay=wd)
    return optim.Adagrad(params, lr=lr, eps=config["eps"], weight_decay=wd)


def build_scheduler(config: dict, optimizer):
    """The epoch-wise schedule of ``config`` (None for 'none' without warm-up).

    With ``warmup_epochs`` W > 0: LinearLR(start_factor=1/(W+1), total_iters=W), so epochs
    0..W-1 use lr·(t+1)/(W+1), then from epoch W the schedule (restarted from lr) through
    SequentialLR; cosine anneals to 0 over the E - W epochs after the warm-up.
    """
    from minigrad.optim import lr_scheduler as sch

    name, warmup = config["schedule"], config["warmup_epochs"]
    decay_epochs = config["epochs"] - warmup
    if name == "plateau":
        return sch.ReduceLROnPlateau(optimizer, mode="min", factor=config["gamma"],
                                     patience=config["plateau_patience"])
    if name == "step":
        decay = sch.StepLR(optimizer, step_size=config["step_size"], gamma=config["gamma"])
    elif name == "exponential":
        decay = sch.ExponentialLR(optimizer, gamma=config["gamma"])
    elif name == "cosine":
        decay = sch.CosineAnnealingLR(optimizer, T_max=decay_epochs)
    else:
        decay = None
    if not warmup:
        return decay
    ramp = sch.LinearLR(optimizer, start_factor=1.0 / (warmup + 1), end_factor=1.0,
                        total_iters=warmup)
    if decay is None:
        return ramp
    return sch.SequentialLR(optimizer, [ramp, decay], milestones=[warmup])


def prunable_weights(model) -> list:
    """The (module, 'weight') pairs of every Linear and Conv2d layer, in model order."""
    from minigrad import nn

    return [(m, "weight") for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]


class RegularizedLoss:
    r"""Cross-entropy plus the weight penalties while the model trains::

        L = CE(outputs, targets) + l1 · Σ|w| + l2 · Σ w²

    the sums running over the weights (not the biases) of every Linear and Conv2d layer, as the
    forward uses them (orig ⊙ mask when pruned), through ``nn.utils.l1_penalty`` and
    ``l2_penalty`` (a plain sum of squares, not halved). In eval mode (validation and test) it
    is the plain cross-entropy, so val and test losses do not depend on the penalties.
    """

    def __init__(self, model, l1: float = 0.0, l2: float = 0.0):
        from minigrad import nn

        self.model = model
        self.l1, self.l2 = float(l1), float(l2)
        self.cross_entropy = nn.CrossEntropyLoss()
        self._modules = [m for m, _ in prunable_weights(model)]

    def __call__(self, outputs, targets):
        from minigrad.nn.utils import l1_penalty, l2_penalty

        loss = self.cross_entropy(outputs, targets)
        if self.model.training and (self.l1 or self.l2):
            weights = [m.weight for m in self._modules]
            if self.l1:
                loss = loss + self.l1 * l1_penalty(weights)
            if self.l2:
                loss = loss + self.l2 * l2_penalty(weights)
        return loss


def gradual_schedule(epochs: int, steps_per_epoch: int) -> dict:
    """The GradualPruner schedule of ``--prune-gradual``: from the end of the first epoch
    (from step 0 with fewer than 3 epochs) to about 70% of the optimizer steps, pruning five
    times per epoch; the remaining steps train at the final sparsity."""
    total = epochs * steps_per_epoch
    begin = steps_per_epoch if epochs >= 3 else 0
    frequency = max(1, steps_per_epoch // 5)
    n = max(1, (int(0.7 * total) - begin) // frequency)
    return {"begin_step": begin, "end_step": begin + n * frequency, "frequency": frequency}


# --- callbacks -------------------------------------------------------------------------------

def _callback_base():
    from minigrad.training import Callback
    return Callback


def _make_gradual_callback(pruner):
    """A Callback stepping ``pruner`` after every optimizer step (by the step count, so a
    resumed run prunes at the same steps) and carrying its state through checkpoints."""

    class GradualPruning(_callback_base()):
        def on_batch_end(self, batch, logs):
            if self.state.step != pruner.last_step:
                pruner.step(self.state.step)

        def state_dict(self):
            return pruner.state_dict()

        def load_state_dict(self, state):
            pruner.load_state_dict(state)

    return GradualPruning()


def _make_run_tracker(path, config: dict):
    """The last callback of every fit of this command: it keeps the TrainState (for the step
    count) and, with a path, writes a full checkpoint at every epoch end
    (``TrainState.save_checkpoint``, atomic), with the settings and the phase in ``extra``."""

    class RunTracker(_callback_base()):
        def __init__(self):
            self.phase = "train"
            self.main_results = None   # the finished main phase, stored during fine-tuning

        def on_epoch_end(self, epoch, logs):
            if path is not None:
                self.state.save_checkpoint(path, extra={
                    "writer": CHECKPOINT_WRITER, "config": config, "phase": self.phase,
                    "main": self.main_results})

    return RunTracker()


class Training(NamedTuple):
    """Everything :func:`build_training` puts together for one run."""
    model: object
    loss_fn: object
    optimizer: object
    scheduler: object
    train_loader: object
    val_loader: object
    test_loader: object
    callbacks: list
    early_stopping: object
    pruner: object
    tracker: object


def build_training(config: dict, data: TrainData) -> Training:
    """Model (on the config's device), loss, optimizer, schedule, loaders and callbacks.

    Seeds minigrad's generator with ``config['seed']`` first, so the same config gives the same
    initial weights, batches and dropout masks.
    """
    import minigrad as mg
    from minigrad.data import DataLoader, TensorDataset
    from minigrad.nn.utils.prune import GradualPruner
    from minigrad.training import EarlyStopping

    mg.manual_seed(config["seed"])
    device = mg.device(config["device"])
    model = build_model(config, data.input_shape, data.num_classes)
    if device.type != "cpu":
        model.to(device)

    def dataset(x, y):
        if device.type == "cpu":
            return TensorDataset(x, y)
        return TensorDataset(mg.tensor(x, device=device), mg.tensor(y, device=device))

    train_loader = DataLoader(dataset(data.x_train, data.y_train), config["batch_size"],
                              shuffle=True, seed=config["seed"])
    eval_batch = max(config["batch_size"], 1000)
    val_loader = None if data.x_val is None else DataLoader(dataset(data.x_val, data.y_val),
                                                            eval_batch)
    test_loader = DataLoader(dataset(data.x_test, data.y_test), eval_batch)

    callbacks, early_stopping, pruner = [], None, None
    if config["prune_gradual"] is not None:
        # built before the optimizer: it renames each weight to weight_orig (same Parameter)
        pruner = GradualPruner(prunable_weights(model), config["prune_gradual"],
                               global_pruning=True,
                               **gradual_schedule(config["epochs"], len(train_loader)))
        callbacks.append(_make_gradual_callback(pruner))
    if config["early_stopping"] is not None:
        early_stopping = EarlyStopping("val_loss", patience=config["early_stopping"],
                                       restore_best_weights=True)
        callbacks.append(early_stopping)
    tracker = _make_run_tracker(config["checkpoint"], config)
    callbacks.append(tracker)  # last: its checkpoints hold the other callbacks' new state
    optimizer = build_optimizer(config, model.parameters())
    return Training(model, RegularizedLoss(model, config["l1"], config["l2"]), optimizer,
                    build_scheduler(config, optimizer), train_loader, val_loader, test_loader,
                    callbacks, early_stopping, pruner, tracker)


# --- outputs -----------------------------------------------------------------------------------

def _write_json(path: str, obj) -> None:
    """``obj`` as indented JSON, written to a temporary file in the same folder, fsynced and
    renamed over ``path`` (so a crash never leaves half a file)."""
    text = json.dumps(obj, indent=1, allow_nan=False) + "\n"
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _plot_history(history, out: str) -> list:
    """loss.png and accuracy.png (train and validation curves per epoch) when matplotlib is
    importable; returns the files written (none without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        from matplotlib.ticker import MaxNLocator
    except Exception:  # not installed, or broken: the plots are optional
        return []
    written = []
    epochs = [e + 1 for e in history.epoch]
    for key, label in (("loss", "loss"), ("accuracy", "accuracy")):
        if key not in history.history:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, history.history[key], label=f"train {label}")
        if "val_" + key in history.history:
            ax.plot(epochs, history.history["val_" + key], label=f"validation {label}")
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend()
        path = os.path.join(out, f"{key}.png")
        tmp = f"{path}.{os.getpid()}.tmp"
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, path)
        written.append(f"{key}.png")
    return written


def _describe_model(config: dict, data: TrainData, model) -> str:
    n_params = sum(p.numel() for p in model.parameters())
    if config["model"] == "lenet":
        arch = "LeNet-5"
    else:
        widths = [math.prod(data.input_shape)] + config["hidden"] + [data.num_classes]
        arch = "MLP " + "-".join(str(w) for w in widths)
    extras = [f"dropout {config['dropout']}"] if config["dropout"] else []
    extras += ["batch norm"] if config["batch_norm"] else []
    return f"{arch} ({n_params:,} parameters{''.join(', ' + e for e in extras)})"


def _describe_optimizer(config: dict) -> str:
    name = config["optimizer"]
    parts = [f"lr {config['lr']:g}"]
    if name in ("sgd", "momentum", "nesterov", "rmsprop") and config["momentum"]:
        parts.append(f"momentum {config['momentum']:g}")
    if config.get("betas"):
        parts.append(f"betas {config['betas'][0]:g},{config['betas'][1]:g}")
    if config["weight_decay"]:
        parts.append(f"weight decay {config['weight_decay']:g}")
    schedule = config["schedule"]
    if config["warmup_epochs"]:
        schedule = f"{config['warmup_epochs']}-epoch warm-up, then {schedule}"
    text = f"{name} ({', '.join(parts)}), schedule {schedule}"
    for flag in ("l1", "l2"):
        if config[flag]:
            text += f", {flag} {config[flag]:g}"
    if config["clip_grad_norm"]:
        text += f", grad norm clipped at {config['clip_grad_norm']:g}"
    return text


# --- the command -------------------------------------------------------------------------------

def _train_command(args) -> int:
    try:
        return run_training(args)
    except ConfigError as exc:
        print(f"python -m minigrad train: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        checkpoint = args.checkpoint or args.resume
        hint = ""
        if checkpoint and os.path.isfile(checkpoint):
            hint = (f"; continue from the last checkpoint with the same flags and --resume "
                    f"{checkpoint}")
        print(f"python -m minigrad train: interrupted{hint}", file=sys.stderr)
        return 130


def _fit(config: dict, resume, **kwargs):
    """:func:`minigrad.training.fit`, turning a checkpoint it cannot continue from (``resume``)
    into a :class:`ConfigError`."""
    from minigrad.serialization import CheckpointError
    from minigrad.training import fit

    if resume is None:
        return fit(**kwargs)
    try:
        return fit(resume=resume, **kwargs)
    except (CheckpointError, KeyError, ValueError) as exc:
        raise ConfigError(f"--resume {resume!r}: cannot continue from it: {exc}") from None


def _main_phase(config: dict, t: Training, resumed, fit_kwargs: dict, say) -> dict:
    """Train (or continue training) for the configured epochs. Returns the phase's record:
    ``history`` (a History state), ``steps``, ``early_stopping`` (None if it did not stop the
    run) and, for a one-shot pruning run, the test results before and after pruning once they
    exist. A checkpoint written during the fine-tuning holds this record, and then the phase
    is not run again."""
    from minigrad.training import History

    if resumed is not None and resumed["phase"] == "finetune":
        main = dict(resumed["main"])
    else:
        history = _fit(config, config["resume"], model=t.model, train_loader=t.train_loader,
                       loss_fn=t.loss_fn, optimizer=t.optimizer, epochs=config["epochs"],
                       scheduler=t.scheduler, callbacks=t.callbacks,
                       max_steps=config["max_steps"], **fit_kwargs)
        main = {"history": history.state_dict(), "steps": t.tracker.state.step,
                "early_stopping": None}
        es = t.early_stopping
        if es is not None and es.stopped_epoch is not None:
            main["early_stopping"] = {"stopped_epoch": es.stopped_epoch,
                                      "best_epoch": es.best_epoch, "best_val_loss": es.best}
    history = History()
    history.load_state_dict(main["history"])
    main["interrupted"] = len(history) < config["epochs"] and main["early_stopping"] is None
    stopped = main["early_stopping"]
    if stopped is not None:
        say(f"early stopping after epoch {stopped['stopped_epoch'] + 1}: the best val_loss "
            f"{stopped['best_val_loss']:.4f} was at epoch {stopped['best_epoch'] + 1}, whose "
            f"weights are kept")
    if main["interrupted"]:
        say(f"stopped after {main['steps']} optimizer steps (--max-steps); evaluating that "
            f"model")
    return main


def _one_shot_pruning(config: dict, t: Training, main: dict, resumed, fit_kwargs: dict, say):
    """``--prune-amount``: prune the trained model globally by L1 magnitude (or, resuming
    the fine-tuning, rebuild the masks' parameters for the checkpoint to fill), then fine-tune
    with a fresh optimizer. Returns the fine-tuning History (None without fine-tuning) and
    the steps it took."""
    from minigrad.nn.utils import prune
    from minigrad.training import evaluate

    pairs = prunable_weights(t.model)
    if resumed is not None and resumed["phase"] == "finetune":
        for module, name in pairs:   # the masks come back with the checkpoint's model state
            prune.identity(module, name)
    else:
        main["before_prune"] = evaluate(t.model, t.test_loader, t.loss_fn, ["accuracy"])
        prune.global_unstructured(pairs, prune.L1Unstructured, amount=config["prune_amount"])
        main["after_prune"] = evaluate(t.model, t.test_loader, t.loss_fn, ["accuracy"])
    say(f"one-shot pruning of {config['prune_amount']:.0%} of the weights: test accuracy "
        f"{main['before_prune']['accuracy']:.2%} before, {main['after_prune']['accuracy']:.2%} "
        f"after")
    if not config["finetune_epochs"]:
        return None, 0
    say(f"fine-tuning for {config['finetune_epochs']} epochs at lr {config['finetune_lr']:g}")
    # --max-steps counts the optimizer steps of the whole run, fine-tuning included
    budget = None if config["max_steps"] is None else config["max_steps"] - main["steps"]
    t.tracker.phase, t.tracker.main_results = "finetune", main
    resume = config["resume"] if resumed is not None and resumed["phase"] == "finetune" \
        else None
    history = _fit(config, resume, model=t.model, train_loader=t.train_loader,
                   loss_fn=t.loss_fn,
                   optimizer=build_optimizer(config, t.model.parameters(), config["finetune_lr"]),
                   epochs=config["finetune_epochs"], callbacks=[t.tracker], max_steps=budget,
                   **fit_kwargs)
    return history, t.tracker.state.step


def run_training(args) -> int:
    """The whole ``train`` command: returns the exit status (ConfigError for bad input)."""
    import minigrad as mg
    from minigrad.nn.utils import prune
    from minigrad.training import History, evaluate

    wall_start = time.perf_counter()
    config = resolve_config(args)
    if config["threads"] is not None:
        try:
            mg.set_num_threads(config["threads"])
        except RuntimeError as exc:
            raise ConfigError(f"--threads {config['threads']}: {exc}") from None
    resumed = _read_resume(config) if config["resume"] else None
    quiet = config["quiet"]
    say = (lambda *a, **k: None) if quiet else print
    out = config["out"]
    try:
        os.makedirs(out, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {out!r}: cannot create the folder ({exc.strerror})") from None
    if config["checkpoint"] is not None:
        folder = os.path.dirname(os.path.abspath(config["checkpoint"]))
        if not os.path.isdir(folder):
            raise ConfigError(f"--checkpoint {config['checkpoint']!r}: the folder {folder!r} "
                              f"does not exist")

    data = load_data(config)
    t = build_training(config, data)
    n_val = 0 if data.y_val is None else len(data.y_val)
    say(f"minigrad train: {config['data']}, {len(data.y_train)} train / {n_val} validation / "
        f"{len(data.y_test)} test samples, {data.num_classes} classes")
    say(f"model: {_describe_model(config, data, t.model)}")
    say(f"optimizer: {_describe_optimizer(config)}")
    say(f"training: {config['epochs']} epochs of {len(t.train_loader)} batches of "
        f"{config['batch_size']} on {config['device']}"
        + (f", resuming from {config['resume']}" if resumed else ""))
    fit_kwargs = dict(val_loader=t.val_loader, metrics=["accuracy"],
                      clip_grad_norm=config["clip_grad_norm"],
                      progress=not (quiet or config["no_progress"]))

    main = _main_phase(config, t, resumed, fit_kwargs, say)
    history = History()
    history.load_state_dict(main["history"])
    steps = main["steps"]
    results = {"early_stopping": main["early_stopping"]}
    finetune_history = None
    if config["prune_amount"] is not None and not main["interrupted"]:
        if config["max_steps"] is not None and steps >= config["max_steps"]:
            say(f"stopped after {steps} optimizer steps (--max-steps), before pruning")
        else:
            finetune_history, finetune_steps = _one_shot_pruning(config, t, main, resumed,
                                                                 fit_kwargs, say)
            steps += finetune_steps
            results["before_prune"] = main["before_prune"]
            results["after_prune"] = main["after_prune"]
    if config["prune_amount"] is not None or config["prune_gradual"] is not None:
        pairs = prunable_weights(t.model)
        report = prune.sparsity_report(t.model, pairs)
        for module, name in pairs:       # make the pruning permanent: plain weights again
            if prune.is_pruned(module):
                prune.remove(module, name)
        say("sparsity of the weights:\n" + str(report))
        results["sparsity"] = report.as_dict()

    # test, outputs
    test = evaluate(t.model, t.test_loader, t.loss_fn, ["accuracy"])
    train_time = sum(history.history.get("time", []))
    if finetune_history is not None:
        train_time += sum(finetune_history.history.get("time", []))
    results.update(test_loss=test["loss"], test_accuracy=test["accuracy"],
                   test_samples=len(data.y_test), train_time_s=train_time,
                   epochs_run=len(history), optimizer_steps=steps)
    history.to_json(os.path.join(out, "history.json"))
    history.to_csv(os.path.join(out, "history.csv"))
    written = ["history.json", "history.csv"]
    if finetune_history is not None:
        finetune_history.to_json(os.path.join(out, "finetune_history.json"))
        finetune_history.to_csv(os.path.join(out, "finetune_history.csv"))
        written += ["finetune_history.json", "finetune_history.csv"]
    mg.save(t.model.state_dict(), os.path.join(out, "model.npz"))
    _write_json(os.path.join(out, "config.json"),
                dict(config, minigrad_version=mg.__version__, input_shape=list(data.input_shape)))
    _write_json(os.path.join(out, "results.json"), results)
    written += ["model.npz", "config.json", "results.json"] + _plot_history(history, out)

    print(f"test accuracy {test['accuracy']:.2%} (loss {test['loss']:.4f}) on "
          f"{len(data.y_test)} {config['data']} test samples")
    print(f"train time {train_time:.1f} s ({len(history)} epochs, {steps} steps; "
          f"{time.perf_counter() - wall_start:.1f} s in all)")
    print(f"outputs in {out}: {' '.join(written)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m minigrad",
                                     description="minigrad: autograd engine and trainer")
    commands = parser.add_subparsers(dest="command", required=True)
    check = commands.add_parser("gradcheck", help="check every op's gradient numerically")
    check.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (default cpu)")
    check.add_argument("--cases", type=int, default=20, help="random cases per op (default 20)")
    check.add_argument("--seed", type=int, default=0, help="seed of the case generator")
    check.add_argument("--second-order", action="store_true",
                       help="also check second derivatives (gradgradcheck)")
    check.add_argument("--ops", nargs="*", help="only these ops (names as in the table)")
    check.set_defaults(run=_gradcheck_command)
    _add_train_parser(commands)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "cases", 1) < 1:
        build_parser().error("--cases must be at least 1")
    return args.run(args)
