"""``python -m minigrad train``: the flags, the run (training, one-shot pruning and its
fine-tuning, resuming), and the outputs (history, weights, settings, results, plots).

The settings, the data and the pieces of the run come from :mod:`minigrad.recipes`; this module
is argparse in front of them and the orchestration behind them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

from ..recipes.build import Training, build_optimizer, build_training, prunable_weights
from ..recipes.config import (CHECKPOINT_WRITER, DATASETS, DEFAULT_SAMPLES, DEFAULTS, MODELS,
                              OPTIMIZERS, SCHEDULES, ConfigError, read_resume, resolve_config)
from ..recipes.data import TrainData, load_data
from . import arguments


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
  mnist, lstm        --epochs 8 --batch-size 128
  mnist, transformer --dropout 0.1 --epochs 8 --batch-size 128
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


def add_parser(commands) -> None:
    """Register ``train`` and its flags (their defaults are :data:`recipes.config.DEFAULTS`)."""
    train = commands.add_parser(
        "train", help="train a classifier (MLP or LeNet-5) on a synthetic set or MNIST",
        description=_TRAIN_DESCRIPTION, epilog=_TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)

    group = train.add_argument_group("data")
    group.add_argument("--data", choices=DATASETS,
                       help="the data set (default spirals)")
    group.add_argument("--data-dir", metavar="DIR",
                       help="the folder holding the MNIST IDX files (*-ubyte.gz or *-ubyte); "
                            "default: the MINIGRAD_DATA environment variable. Nothing is "
                            "downloaded")
    group.add_argument("--samples", type=arguments.positive_int, metavar="N",
                       help=f"training points of a synthetic set (default {DEFAULT_SAMPLES}); "
                            f"its test set has N/2")
    group.add_argument("--noise", type=arguments.nonnegative_float,
                       help="noise of a synthetic set: std of the Gaussian noise (moons 0.1, "
                            "spirals 0.05) or of each blob (blobs 1.0)")
    group.add_argument("--classes", type=arguments.positive_int,
                       help="classes of spirals or blobs (default 3; moons has 2)")
    group.add_argument("--limit", type=arguments.positive_int, metavar="N",
                       help="use only the first N training and first N test samples (quick "
                            "runs and tests)")
    group.add_argument("--val-fraction", type=arguments.val_fraction, metavar="F",
                       help="fraction of the training set held out for validation (default 0, "
                            "or 0.1 with --early-stopping or --schedule plateau)")

    group = train.add_argument_group("model")
    group.add_argument("--model", choices=MODELS,
                       help="mlp, lenet (LeNet-5), lstm (an LSTM of 128 reading the 28 rows as "
                            "steps) or transformer (a 2-layer encoder over the rows); all but "
                            "mlp MNIST only (default mlp)")
    group.add_argument("--hidden", type=arguments.hidden_sizes, metavar="SIZES",
                       help="hidden layer widths of the MLP, e.g. 512,256 ('none': no hidden "
                            "layer) (default: see below)")
    group.add_argument("--dropout", type=arguments.val_fraction, metavar="P",
                       help="dropout probability after each hidden layer (default: see below)")
    group.add_argument("--batch-norm", action="store_true",
                       help="batch normalization after each hidden layer / convolution")

    group = train.add_argument_group("optimizer")
    group.add_argument("--optimizer", choices=OPTIMIZERS,
                       help="sgd, momentum (SGD with momentum), nesterov, rmsprop, adam, adamw, "
                            "adagrad (default adam)")
    group.add_argument("--lr", type=arguments.positive_float, help="learning rate (default: see below)")
    group.add_argument("--momentum", type=arguments.nonnegative_float,
                       help="momentum of sgd/momentum/nesterov/rmsprop (default 0.9 for "
                            "momentum and nesterov, 0 for sgd and rmsprop)")
    group.add_argument("--betas", type=arguments.betas, metavar="B1,B2",
                       help="Adam/AdamW moment decay rates (default 0.9,0.999)")
    group.add_argument("--eps", type=arguments.positive_float,
                       help="the denominator's epsilon of rmsprop, adam, adamw (default 1e-8) "
                            "and adagrad (default 1e-10)")
    group.add_argument("--weight-decay", type=arguments.nonnegative_float, metavar="WD",
                       help="the optimizer's weight decay (coupled L2 in the gradient; "
                            "decoupled for adamw) (default 0, adamw 0.01)")

    group = train.add_argument_group("regularization (added to the training loss)")
    group.add_argument("--l1", type=arguments.nonnegative_float, metavar="LAMBDA",
                       help="L1 penalty: adds LAMBDA * sum |w| over the weights (not biases) "
                            "of every Linear and Conv2d layer (default 0)")
    group.add_argument("--l2", type=arguments.nonnegative_float, metavar="LAMBDA",
                       help="L2 penalty: adds LAMBDA * sum w^2 (not halved: its gradient is "
                            "2*LAMBDA*w) over the same weights (default 0). The printed train "
                            "loss includes the penalties; val and test losses do not")

    group = train.add_argument_group("learning-rate schedule (stepped once per epoch)")
    group.add_argument("--schedule", choices=SCHEDULES,
                       help="none, step (StepLR), exponential (ExponentialLR), cosine "
                            "(CosineAnnealingLR to 0 over the epochs after warm-up), plateau "
                            "(ReduceLROnPlateau on val_loss) (default cosine)")
    group.add_argument("--step-size", type=arguments.positive_int, metavar="EPOCHS",
                       help="step: decay every EPOCHS epochs (default epochs // 3)")
    group.add_argument("--gamma", type=arguments.positive_float,
                       help="decay factor: step 0.1, exponential 0.9 per epoch, plateau 0.1 "
                            "(the defaults)")
    group.add_argument("--plateau-patience", type=arguments.nonnegative_int, metavar="EPOCHS",
                       help="plateau: epochs without improvement before a decay (default 2)")
    group.add_argument("--power", type=arguments.positive_float,
                       help="polynomial (PolynomialLR to 0 at the last epoch): the exponent "
                            "of (1 - t/T) (default 1: linear)")
    group.add_argument("--decay-rate", type=arguments.positive_float, metavar="K",
                       help="inverse-time (InverseTimeDecay): lr_t = lr / (1 + K*t), t in "
                            "epochs (default 0.1)")
    group.add_argument("--pct-start", type=arguments.open_fraction, metavar="F",
                       help="onecycle (OneCycleLR, peak --lr): fraction of the epochs spent "
                            "rising (default 0.3)")
    group.add_argument("--div-factor", type=arguments.positive_float, metavar="D",
                       help="onecycle: the start is lr/D (default 25)")
    group.add_argument("--final-div-factor", type=arguments.positive_float, metavar="D",
                       help="onecycle: the end is lr/(25*D) with the default --div-factor "
                            "(default 1e4)")
    group.add_argument("--t0", type=arguments.positive_int, metavar="EPOCHS",
                       help="warm-restarts (CosineAnnealingWarmRestarts): epochs of the first "
                            "cosine cycle (default epochs // 4)")
    group.add_argument("--t-mult", type=arguments.positive_int, metavar="M",
                       help="warm-restarts: each cycle is M times longer (default 1)")
    group.add_argument("--eta-min", type=arguments.nonnegative_float, metavar="LR",
                       help="cosine, warm-restarts: the lowest rate (default 0)")
    group.add_argument("--base-lr", type=arguments.positive_float, metavar="LR",
                       help="cyclic (CyclicLR, no momentum cycling): the bottom of the cycle; "
                            "--lr is its top (default lr/10)")
    group.add_argument("--step-size-up", type=arguments.positive_int, metavar="EPOCHS",
                       help="cyclic: epochs from bottom to top, and back (default epochs // 4)")
    group.add_argument("--cyclic-mode", choices=("triangular", "triangular2", "exp_range"),
                       help="cyclic: constant amplitude, halved each cycle, or times "
                            "gamma^t (with --gamma, default 0.9) (default triangular)")
    group.add_argument("--warmup-epochs", type=arguments.nonnegative_int, metavar="N",
                       help="linear warm-up (LinearLR from lr/(N+1) to lr over N epochs), then "
                            "the schedule (SequentialLR) (default 0)")

    group = train.add_argument_group("training")
    group.add_argument("--epochs", type=arguments.positive_int, help="epochs (default: see below)")
    group.add_argument("--batch-size", type=arguments.positive_int, metavar="N",
                       help="samples per batch (default: see below)")
    group.add_argument("--clip-grad-norm", type=arguments.positive_float, metavar="MAX",
                       help="rescale the gradients to total norm <= MAX before each step")
    group.add_argument("--early-stopping", type=arguments.positive_int, metavar="PATIENCE",
                       help="stop when val_loss has not improved for PATIENCE epochs, and keep "
                            "the best epoch's weights")
    group.add_argument("--seed", type=arguments.nonnegative_int,
                       help="seeds the data, the split, the shuffling, the initialization and "
                            "dropout (default 0)")
    group.add_argument("--device", help="cpu, cuda or cuda:N (default cpu)")
    group.add_argument("--threads", type=arguments.positive_int, metavar="N",
                       help="limit NumPy's BLAS (OpenBLAS) to N threads; 1 is often fastest "
                            "for these small models and avoids a large slowdown on a busy "
                            "machine (default: leave it as configured)")
    group.add_argument("--max-steps", type=arguments.positive_int, metavar="N",
                       help="stop training after N optimizer steps (then evaluate and write "
                            "the outputs as usual), e.g. to simulate an interrupted run")
    group.add_argument("--distributed", action="store_true",
                       help="train data-parallel over the processes of an MPI job (on by itself "
                            "under mpiexec): --batch-size is then the global batch, and only "
                            "rank 0 prints and writes")
    group.add_argument("--amp", action="store_true",
                       help="mixed precision: autocast (matmuls and convolutions in float16, "
                            "reductions, softmax and the loss in float32) with dynamic loss "
                            "scaling (GradScaler); fast on a GPU, slower than float32 on the "
                            "CPU (no float16 BLAS: emulated)")
    group.add_argument("--watch-gradients", action="store_true",
                       help="record per-layer gradient norms, update/weight ratios and dead "
                            "ReLUs each epoch; warn once per layer on vanishing, exploding or "
                            "non-finite gradients (results.json, gradient_flow.png)")

    group = train.add_argument_group("knowledge distillation (Hinton et al. 2015)")
    group.add_argument("--teacher", metavar="PATH",
                       help="train against this teacher too: the model.npz of an earlier run "
                            "on the same data (its config.json beside it); the loss becomes "
                            "alpha*T^2*KL(teacher || student at temperature T) + "
                            "(1-alpha)*cross-entropy")
    group.add_argument("--temperature", type=arguments.positive_float, metavar="T",
                       help="softmax temperature of the distillation term (default 4)")
    group.add_argument("--alpha", type=arguments.val_fraction, metavar="A",
                       help="weight of the distillation term, in [0, 1) (default 0.9)")

    group = train.add_argument_group("pruning (global L1 magnitude over the Linear/Conv2d "
                                     "weights)")
    group.add_argument("--prune-amount", type=arguments.open_fraction, metavar="FRACTION",
                       help="after training, prune this fraction of the weights at once, then "
                            "fine-tune")
    group.add_argument("--finetune-epochs", type=arguments.nonnegative_int, metavar="N",
                       help="epochs of fine-tuning after --prune-amount, with a fresh "
                            "optimizer and no schedule (default 2)")
    group.add_argument("--finetune-lr", type=arguments.positive_float,
                       help="learning rate of the fine-tuning (default lr / 10)")
    group.add_argument("--prune-gradual", type=arguments.open_fraction, metavar="S_FINAL",
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
    train.set_defaults(run=run, **DEFAULTS)


# --- outputs -----------------------------------------------------------------------------------

def _write_json(path: str, obj) -> None:
    """``obj`` as indented JSON, written atomically (a crash never leaves half a file); NaN and
    infinite numbers (a diverged run's loss) become ``null``, as in ``History.to_json``."""
    from minigrad.serialization import atomic_write_text

    atomic_write_text(path, json.dumps(_finite(obj), indent=1, allow_nan=False) + "\n",
                      CHECKPOINT_WRITER)


def _finite(obj):
    """``obj`` with every non-finite float replaced by None (strict JSON has no NaN)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_finite(v) for v in obj]
    return obj


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
    elif config["model"] == "lstm":
        arch = "LSTM 28-128 over 28 rows, then Linear"
    elif config["model"] == "transformer":
        arch = "Transformer encoder (d_model 64, 4 heads, 2 layers) over 28 rows"
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


# --- the run -----------------------------------------------------------------------------------

def run(args) -> int:
    """The command: :func:`run_training`, with bad input and Ctrl-C as one line each."""
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


def _join_process_group(config: dict):
    """Under an MPI launcher, or with --distributed, the run is data-parallel: join the job's
    process group. Returns it when it has several processes, else None."""
    from minigrad import distributed

    if not (config["distributed"] or distributed.launched_by_mpi()):
        return None
    try:
        group = (distributed.default_group() if distributed.is_initialized()
                 else distributed.init_process_group())
    except RuntimeError as exc:
        raise ConfigError(f"a data-parallel run: {exc}") from None
    return group if group.world_size > 1 else None


def run_training(args) -> int:
    """The whole ``train`` command: returns the exit status (ConfigError for bad input)."""
    import minigrad as mg
    from minigrad.nn.utils import prune
    from minigrad.training import History, evaluate

    wall_start = time.perf_counter()
    config = resolve_config(args)
    group = _join_process_group(config)
    writer = group is None or group.rank == 0   # only rank 0 prints and writes files
    if config["threads"] is not None:
        try:
            mg.set_num_threads(config["threads"])
        except RuntimeError as exc:
            raise ConfigError(f"--threads {config['threads']}: {exc}") from None
    resumed = read_resume(config) if config["resume"] else None
    quiet = config["quiet"]
    say = (lambda *a, **k: None) if quiet or not writer else print
    out = config["out"]
    try:
        if writer:
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
        + (f" ({group.world_size} processes, {config['batch_size'] // group.world_size} "
           f"samples each)" if group is not None else "")
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
    amp = next((cb for cb in t.callbacks if type(cb).__name__ == "AmpCallback"), None)
    if amp is not None:  # --amp: the loss scale of every step and the skipped steps
        results["amp"] = {"skipped_steps": amp.skipped_steps,
                          "final_scale": amp.scaler.get_scale(),
                          "scale_history": amp.scale_history}
        say(f"mixed precision: {amp.skipped_steps} of {len(amp.scale_history)} steps skipped "
            f"(inf/NaN gradients), final loss scale {amp.scaler.get_scale():g}")
    monitor = next((cb for cb in t.callbacks if type(cb).__name__ == "GradientFlowMonitor"),
                   None)
    if monitor is not None:  # --watch-gradients: the per-layer records and the warnings
        results["gradient_flow"] = monitor.to_dict()
        say("gradient flow, last epoch:\n" + monitor.summary())
    results.update(test_loss=test["loss"], test_accuracy=test["accuracy"],
                   test_samples=len(data.y_test), train_time_s=train_time,
                   epochs_run=len(history), optimizer_steps=steps,
                   processes=1 if group is None else group.world_size)
    if not writer:
        return 0
    history.to_json(os.path.join(out, "history.json"))
    history.to_csv(os.path.join(out, "history.csv"))
    written = ["history.json", "history.csv"]
    if finetune_history is not None:
        finetune_history.to_json(os.path.join(out, "finetune_history.json"))
        finetune_history.to_csv(os.path.join(out, "finetune_history.csv"))
        written += ["finetune_history.json", "finetune_history.csv"]
    mg.save(getattr(t.model, "module", t.model).state_dict(),   # without DDP's wrapper
            os.path.join(out, "model.npz"))
    _write_json(os.path.join(out, "config.json"),
                dict(config, minigrad_version=mg.__version__, input_shape=list(data.input_shape)))
    _write_json(os.path.join(out, "results.json"), results)
    written += ["model.npz", "config.json", "results.json"] + _plot_history(history, out)
    if monitor is not None and monitor.records:  # the plot only where matplotlib is installed
        plot = monitor.plot(os.path.join(out, "gradient_flow.png"), missing_ok=True)
        written += [os.path.basename(plot)] if plot else []

    print(f"test accuracy {test['accuracy']:.2%} (loss {test['loss']:.4f}) on "
          f"{len(data.y_test)} {config['data']} test samples")
    print(f"train time {train_time:.1f} s ({len(history)} epochs, {steps} steps; "
          f"{time.perf_counter() - wall_start:.1f} s in all)")
    print(f"outputs in {out}: {' '.join(written)}")
    return 0
