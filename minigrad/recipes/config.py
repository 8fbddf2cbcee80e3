"""The settings of a classifier run: the choices, the defaults (some depend on the data and the
model), and :func:`resolve_config`, which checks the settings against each other and fills in
every default. Settings are named as ``python -m minigrad train``'s flags are (``lr`` is
``--lr``, ``batch_size`` is ``--batch-size``), and errors name them by their flags."""

from __future__ import annotations

import os
import time


class ConfigError(ValueError):
    """A bad flag, a bad combination of flags, or a missing or unreadable file: reported to the
    user as one line (no traceback) with exit status 2."""


DATASETS = ("moons", "spirals", "blobs", "mnist")
SYNTHETIC = ("moons", "spirals", "blobs")
MODELS = ("mlp", "lenet", "lstm", "transformer")
#: The models that read 28x28 images (MNIST): LeNet-5, and the sequence models reading rows.
IMAGE_MODELS = ("lenet", "lstm", "transformer")
OPTIMIZERS = ("sgd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "adagrad")
SCHEDULES = ("none", "step", "exponential", "cosine", "plateau", "polynomial", "inverse-time",
             "onecycle", "warm-restarts", "cyclic")
CYCLIC_MODES = ("triangular", "triangular2", "exp_range")

#: The learning rate each optimizer gets when --lr is not given.
DEFAULT_LR = {"sgd": 0.1, "momentum": 0.01, "nesterov": 0.01, "rmsprop": 1e-3, "adam": 1e-3,
              "adamw": 1e-3, "adagrad": 1e-2}

#: Defaults that depend on the data and the model (flags given on the command line win).
PRESETS = {
    "synthetic": {"hidden": (64, 64, 64), "dropout": 0.0, "epochs": 40, "batch_size": 32},
    "mnist-mlp": {"hidden": (512, 256), "dropout": 0.2, "epochs": 8, "batch_size": 128},
    "mnist-lenet": {"hidden": None, "dropout": 0.0, "epochs": 8, "batch_size": 64},
    "mnist-lstm": {"hidden": None, "dropout": 0.0, "epochs": 8, "batch_size": 128},
    "mnist-transformer": {"hidden": None, "dropout": 0.1, "epochs": 8, "batch_size": 128},
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

#: Every setting of a run and its default before resolution (None: resolve_config chooses,
#: from the data, the model or the optimizer). The train command's flags set these keys.
DEFAULTS = {
    "data": "spirals", "data_dir": None, "samples": None, "noise": None, "classes": None,
    "limit": None, "val_fraction": None,
    "model": "mlp", "hidden": None, "dropout": None, "batch_norm": False,
    "optimizer": "adam", "lr": None, "momentum": None, "betas": None, "eps": None,
    "weight_decay": None,
    "l1": 0.0, "l2": 0.0,
    "schedule": "cosine", "step_size": None, "gamma": None, "plateau_patience": None,
    "warmup_epochs": 0,
    "power": None, "decay_rate": None, "pct_start": None, "div_factor": None,
    "final_div_factor": None, "t0": None, "t_mult": None, "eta_min": None, "base_lr": None,
    "step_size_up": None, "cyclic_mode": None,
    "epochs": None, "batch_size": None, "clip_grad_norm": None, "early_stopping": None,
    "seed": 0, "device": "cpu", "threads": None, "max_steps": None, "amp": False,
    "prune_amount": None, "finetune_epochs": None, "finetune_lr": None, "prune_gradual": None,
    "teacher": None, "temperature": 4.0, "alpha": 0.9,   # knowledge distillation
    "checkpoint": None, "resume": None, "out": None, "no_progress": False, "quiet": False,
    "distributed": False,
    "watch_gradients": False,
}


def _not_with(config: dict, flag: str, reason: str) -> None:
    """Refuse ``flag`` (a config key) when it was given: it has no effect in this setting."""
    if config[flag] is not None:
        raise ConfigError(f"--{flag.replace('_', '-')} {reason}")


def _format_flag_value(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value)
    return str(value)


#: The flags of the schedules polynomial ... cyclic: schedule -> {config key: its default}
#: (a callable default gets the config). Each flag is refused with the other schedules.
SCHEDULE_FLAGS = {
    "polynomial": {"power": 1.0},
    "inverse-time": {"decay_rate": 0.1},
    "onecycle": {"pct_start": 0.3, "div_factor": 25.0, "final_div_factor": 1e4},
    "warm-restarts": {"t0": lambda c: max(1, c["epochs"] // 4), "t_mult": 1, "eta_min": 0.0},
    "cyclic": {"base_lr": lambda c: c["lr"] / 10, "cyclic_mode": "triangular",
               "step_size_up": lambda c: max(1, c["epochs"] // 4)},
}


def _resolve_more_schedules(c: dict, schedule: str, epochs: int) -> None:
    """Defaults and checks of the flags in :data:`SCHEDULE_FLAGS` (``--eta-min`` also
    applies to cosine)."""
    for name, flags in SCHEDULE_FLAGS.items():
        for key, default in flags.items():
            if name == schedule or (key == "eta_min" and schedule == "cosine"):
                if c[key] is None:
                    c[key] = default(c) if callable(default) else default
            else:
                users = "cosine and warm-restarts" if key == "eta_min" else name
                _not_with(c, key, f"applies to --schedule {users}, not {schedule}")
    if schedule in ("onecycle", "cyclic") and c["warmup_epochs"]:
        raise ConfigError(f"--warmup-epochs cannot precede --schedule {schedule}: it has its "
                          f"own rise (" + ("--pct-start" if schedule == "onecycle" else
                                           "from --base-lr to --lr") + ")")
    if c["eta_min"] is not None and c["eta_min"] >= c["lr"]:
        raise ConfigError(f"--eta-min {c['eta_min']:g} must be below --lr {c['lr']:g} (the "
                          f"cosine anneals from lr down to eta-min)")
    if schedule == "cyclic":
        if c["base_lr"] >= c["lr"]:
            raise ConfigError(f"--base-lr {c['base_lr']:g} must be below --lr {c['lr']:g} (the "
                              f"cycle's top)")
        if c["cyclic_mode"] not in CYCLIC_MODES:
            raise ConfigError(f"--cyclic-mode {c['cyclic_mode']!r}: expected one of "
                              f"{', '.join(CYCLIC_MODES)}")


def resolve_config(settings) -> dict:
    """The run's settings as a JSON-able dict, checked against each other, with every default
    filled in (see ``python -m minigrad train --help``).

    ``settings`` is the parsed flags (``minigrad.cli.build_parser().parse_args(['train',
    ...])``) or a mapping of some of the :data:`DEFAULTS` keys (a program or a tuner that
    builds runs without a command line: the others keep their defaults). Each value must be
    what the flag's type gives (``hidden`` a sequence of widths, ``betas`` a pair, numbers in
    their range): on the command line argparse checks them one by one.

    Raises :class:`ConfigError` naming the flag for a combination that makes no sense (a flag
    that would have no effect is refused rather than silently ignored), or for an unknown key.
    """
    import minigrad as mg

    if not isinstance(settings, dict):
        settings = {k: v for k, v in vars(settings).items() if k not in ("command", "run")}
    unknown = sorted(set(settings) - set(DEFAULTS))
    if unknown:
        raise ConfigError(f"unknown setting(s) {', '.join(unknown)}; the settings are the "
                          f"train command's flags: {', '.join(DEFAULTS)}")
    c = dict(DEFAULTS)
    c.update(settings)
    data, model = c["data"], c["model"]

    # data
    if model in IMAGE_MODELS and data != "mnist":
        raise ConfigError(f"--model {model} needs 28x28 images (--data mnist); {data} is a set "
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
        _not_with(c, "hidden", f"sets the MLP's hidden layers; it does not apply to "
                               f"--model {model}")
    if model in ("lstm", "transformer") and c["batch_norm"]:
        raise ConfigError(f"--batch-norm applies to --model mlp and lenet, not {model} (the "
                          f"transformer has layer norm)")
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
    exp_range = schedule == "cyclic" and c["cyclic_mode"] == "exp_range"
    if schedule in ("step", "exponential", "plateau") or exp_range:
        if c["gamma"] is None:
            c["gamma"] = 0.9 if schedule in ("exponential", "cyclic") else 0.1
        if schedule == "plateau" and c["gamma"] >= 1:
            raise ConfigError(f"--gamma {c['gamma']}: the plateau factor must be < 1")
    else:
        _not_with(c, "gamma", f"applies to --schedule step, exponential and plateau (and "
                              f"cyclic with --cyclic-mode exp_range), not {schedule}")
    _resolve_more_schedules(c, schedule, epochs)
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


def read_resume(config: dict) -> dict:
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
