"""``python -m minigrad tune``: hyper-parameter search over the train command's runs.

Each trial is one run of :class:`minigrad.tune.training_objective.TrainingObjective` (the
recipes' config, data and training; :func:`minigrad.training.fit`), scored by its validation
accuracy; this module is argparse in front of a :class:`minigrad.tune.Study` and the outputs
behind it.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from ..recipes.config import DEFAULTS, ConfigError
from . import arguments

_DESCRIPTION = """\
Search hyper-parameters of the train command's classifier runs and report the best.

Every trial trains one run with the train flags given here plus the trial's values of the
--space parameters, and is scored by its validation accuracy (--val-fraction, default 0.2 of
the training set; the test set is not used). Trials run --jobs at a time in worker processes,
proposed in fixed batches of --jobs, so a given --sampler-seed and --jobs give the same study.

Outputs (--out DIR): study.jsonl (every finished trial, appended atomically: run the same
command again to continue an interrupted study), trials.csv, trials.json, best.json (the best
configuration and the importance of each parameter), and history.png / importance.png when
matplotlib is installed.
"""

_EPILOG = """\
--space: NAME=KIND(ARGS) separated by ';', NAME a train setting such as lr, batch_size,
dropout, weight_decay, optimizer, momentum or epochs (not hidden: its widths are lists), KIND
  uniform(lo,hi)  loguniform(lo,hi)  int(lo,hi)  logint(lo,hi)  choice(v1,v2,...)
(--sampler grid takes choice() parameters only and runs every combination).

examples:
  python -m minigrad tune --data moons --epochs 10 --trials 20 \\
      --space "lr=loguniform(1e-4,1e-1);batch_size=choice(16,32,64);dropout=uniform(0,0.5)"
  python -m minigrad tune --data mnist --data-dir DIR --trials 30 --sampler bayes \\
      --pruner hyperband --jobs 2 \\
      --space "lr=loguniform(1e-4,1e-1);batch_size=choice(32,64,128);dropout=uniform(0,0.5)"
"""

SAMPLERS = ("bayes", "tpe", "random", "grid")
PRUNERS = ("none", "median", "halving", "hyperband")
#: Train flags that do not apply to a tuning run (its outputs are its own).
_NOT_TUNE_FLAGS = ("checkpoint", "resume", "out", "no_progress", "quiet", "help")


def _train_flag_groups():
    """The train command's argument groups (its flags, copied, so both stay the same)."""
    from . import train

    scratch = argparse.ArgumentParser(add_help=False).add_subparsers()
    train.add_parser(scratch)
    return scratch.choices["train"]._action_groups


def add_parser(commands) -> None:
    tune = commands.add_parser(
        "tune", help="hyper-parameter search (grid, random, Bayesian GP, TPE; pruning)",
        description=_DESCRIPTION, epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    group = tune.add_argument_group("search")
    group.add_argument("--space", required=True, metavar="SPACE",
                       help="the parameters and their ranges (see below)")
    group.add_argument("--trials", type=arguments.positive_int, default=20, metavar="N",
                       help="trials in the study, counting those already in --out (default 20)")
    group.add_argument("--sampler", choices=SAMPLERS, default="tpe",
                       help="bayes (Gaussian process + expected improvement), tpe, random or "
                            "grid (default tpe)")
    group.add_argument("--pruner", choices=PRUNERS, default="none",
                       help="stop bad trials early: median, halving (successive halving) or "
                            "hyperband, over epochs (default none)")
    group.add_argument("--jobs", type=arguments.positive_int, default=1, metavar="N",
                       help="trials run at once, in N worker processes (default 1: in this "
                            "process)")
    group.add_argument("--sampler-seed", type=arguments.nonnegative_int, default=0,
                       metavar="S", help="seeds the sampler (default 0); --seed seeds the runs")
    group.add_argument("--out", metavar="DIR",
                       help="output folder (default runs/tune-<data>-<date>-<time>)")
    for source in _train_flag_groups():
        actions = [a for a in source._group_actions if a.dest not in _NOT_TUNE_FLAGS]
        if not actions or source.title in ("positional arguments", "options"):
            continue
        target = tune.add_argument_group(f"run: {source.title}")
        for action in actions:
            target._add_action(action)
    defaults = {k: v for k, v in DEFAULTS.items() if k not in _NOT_TUNE_FLAGS}
    tune.set_defaults(run=run, validate=validate, **defaults)


def validate(args):
    from ..tune.spaces import parse_space

    try:
        args.parsed_space = parse_space(args.space)
    except ValueError as exc:
        return f"--space: {exc}"
    unknown = sorted(set(args.parsed_space) - set(DEFAULTS))
    if unknown:
        return (f"--space: {', '.join(unknown)} is not a train setting (e.g. lr, batch_size, "
                f"dropout, weight_decay, optimizer, momentum, epochs)")
    if args.sampler == "grid":
        from ..tune.spaces import Choice
        continuous = [k for k, d in args.parsed_space.items() if not isinstance(d, Choice)]
        if continuous:
            return (f"--sampler grid needs choice(...) for every parameter; "
                    f"{', '.join(continuous)} is a range")
    return None


def _settings(args) -> dict:
    settings = {k: getattr(args, k) for k in DEFAULTS if k not in _NOT_TUNE_FLAGS}
    settings.update(quiet=True, no_progress=True)
    if settings["val_fraction"] is None:
        settings["val_fraction"] = 0.2
    elif settings["val_fraction"] == 0:
        raise ConfigError("--val-fraction 0: tuning scores the runs on a validation split; "
                          "give a fraction > 0 (default 0.2)")
    return settings


def _make_sampler(args):
    from .. import tune

    space, seed = args.parsed_space, args.sampler_seed
    if args.sampler == "grid":
        return tune.GridSampler({k: d.values for k, d in space.items()}, seed=seed)
    return {"bayes": tune.BayesianSampler, "tpe": tune.TPESampler,
            "random": tune.RandomSampler}[args.sampler](seed=seed)


def _make_pruner(args, epochs: int):
    from .. import tune

    return {"none": lambda: None, "median": lambda: tune.MedianPruner(n_startup_trials=5),
            "halving": lambda: tune.SuccessiveHalvingPruner(min_resource=1, reduction_factor=3),
            "hyperband": lambda: tune.Hyperband(min_resource=1, max_resource=epochs,
                                                reduction_factor=3)}[args.pruner]()


def _format_params(params: dict) -> str:
    return " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                    for k, v in params.items())


def _as_flags(params: dict) -> str:
    return " ".join(f"--{k.replace('_', '-')} {v:.4g}" if isinstance(v, float)
                    else f"--{k.replace('_', '-')} {v}" for k, v in params.items())


def _plot(study, importance: dict, out: str) -> list:
    """history.png (value per trial and best so far) and importance.png, when matplotlib is
    installed; returns the files written."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except Exception:  # not installed, or broken: the plots are optional
        return []
    written = []
    complete = [t for t in study.trials if t.value is not None]
    best, best_so_far = None, []
    for t in complete:
        best = t.value if best is None else max(best, t.value)
        best_so_far.append(best)
    figures = [("history.png", lambda ax: (
        ax.plot([t.number for t in complete], [t.value for t in complete], "o", label="trial"),
        ax.plot([t.number for t in complete], best_so_far, "-", label="best so far"),
        ax.set_xlabel("trial"), ax.set_ylabel("validation accuracy"), ax.legend()))]
    if importance:
        figures.append(("importance.png", lambda ax: (
            ax.barh(list(importance)[::-1], list(importance.values())[::-1]),
            ax.set_xlabel("importance (share of variance)"))))
    for name, draw in figures:
        fig, ax = plt.subplots(figsize=(6, 4))
        draw(ax)
        path = os.path.join(out, name)
        tmp = f"{path}.{os.getpid()}.tmp"
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
        plt.close(fig)
        os.replace(tmp, path)
        written.append(name)
    return written


def run(args) -> int:
    try:
        return run_tuning(args)
    except ConfigError as exc:
        print(f"python -m minigrad tune: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"python -m minigrad tune: interrupted; run the same command to continue the "
              f"study in {args.out}", file=sys.stderr)
        return 130


def run_tuning(args) -> int:
    from .. import tune
    from ..files import atomic_write_text
    from ..recipes import resolve_config
    from ..tune.training_objective import TrainingObjective

    start = time.perf_counter()
    settings = _settings(args)
    base = resolve_config(settings)       # bad train flags fail here, once, before any trial
    if args.out is None:
        args.out = os.path.join("runs", f"tune-{base['data']}-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.makedirs(args.out, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"--out {args.out!r}: cannot create the folder ({exc.strerror})") \
            from None
    objective = TrainingObjective(settings, args.parsed_space)
    try:
        study = tune.Study("maximize", sampler=_make_sampler(args),
                           pruner=_make_pruner(args, base["epochs"]),
                           storage=os.path.join(args.out, "study.jsonl"))
    except ValueError as exc:
        raise ConfigError(f"--out {args.out!r}: {exc}") from None
    done = len(study.trials)
    print(f"minigrad tune: {args.trials} trials of {base['data']} {base['model']} runs "
          f"({base['epochs']} epochs), sampler {args.sampler}, pruner {args.pruner}, "
          f"{args.jobs} job(s)" + (f"; continuing with {done} trials done" if done else ""))

    def report(study, t):
        value = "" if t.value is None else f" val_accuracy {t.value:.4f}"
        steps = f" after {t.last_step} epochs" if t.state == "pruned" else ""
        error = f": {t.error}" if t.error else ""
        print(f"trial {t.number:3d} {t.state}{value}{steps}  {_format_params(t.params)}  "
              f"({t.duration_s:.1f} s){error}", flush=True)

    remaining = max(0, args.trials - done)
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        with ProcessPoolExecutor(args.jobs) as pool:
            study.optimize(objective, remaining, executor=pool, batch_size=args.jobs,
                           callbacks=[report])
    else:
        study.optimize(objective, remaining, callbacks=[report])

    study.to_csv(os.path.join(args.out, "trials.csv"))
    study.to_json(os.path.join(args.out, "trials.json"))
    written = ["study.jsonl", "trials.csv", "trials.json"]
    try:
        best = study.best_trial
    except ValueError as exc:
        print(f"no complete trial: {exc}", file=sys.stderr)
        return 1
    try:
        importance = study.importance()
    except ValueError as exc:     # too few complete trials
        importance = {}
        print(f"importance: {exc}")
    print(f"best trial {best.number}: val_accuracy {best.value:.4f}  "
          f"{_format_params(best.params)}")
    print(f"best configuration: python -m minigrad train {_as_flags(best.params)} ...")
    if importance:
        print("importance (share of the variance of val_accuracy, GP surrogate):")
        for name, share in importance.items():
            print(f"  {name:<16} {share:6.3f}  {'#' * round(40 * share)}")
    atomic_write_text(os.path.join(args.out, "best.json"), json.dumps(
        {"best_trial": best.to_dict(), "config": resolve_config(dict(settings, **best.params)),
         "importance": importance}, indent=1, allow_nan=False) + "\n", "python -m minigrad tune")
    written += ["best.json"] + _plot(study, importance, args.out)
    counts = {s: sum(t.state == s for t in study.trials) for s in ("complete", "pruned",
                                                                   "failed")}
    epochs = sum(len(t.intermediate_values) for t in study.trials)
    print(f"{len(study.trials)} trials ({counts['complete']} complete, {counts['pruned']} "
          f"pruned, {counts['failed']} failed), {epochs} epochs trained; "
          f"{time.perf_counter() - start:.1f} s")
    print(f"outputs in {args.out}: {' '.join(written)}")
    return 0
