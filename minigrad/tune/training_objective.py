"""The objective of ``python -m minigrad tune``: one classifier run per trial, built by
:mod:`minigrad.recipes` from a settings dict and trained by :func:`minigrad.training.fit`.

``TrainingObjective(settings, space)(trial)`` overrides ``settings`` (train-command keys, e.g.
``{'data': 'moons', 'epochs': 10}``) with one value per ``space`` entry (``{'lr':
LogUniform(1e-4, 1e-1), ...}``, keys that are settings too), resolves the config, loads the
data (cached per process for the same data settings), trains, reports the validation accuracy
after every epoch (step = epochs done, the resource of a pruner) and returns the last one. A
pruned trial stops after the epoch its pruner said so (the pruner is not asked after the last
epoch: stopping there would save nothing). Instances are plain data, so they
travel to the processes of an executor.
"""

from __future__ import annotations

from .trial import TrialPruned

__all__ = ["TrainingObjective"]

#: Settings the data depend on: runs that agree on them share one load.
DATA_KEYS = ("data", "data_dir", "samples", "noise", "classes", "limit", "val_fraction", "seed",
             "model")
_DATA_CACHE: dict = {}


def _pruning_callback(trial, epochs: int):
    from minigrad.training import Callback

    class ReportToTrial(Callback):
        """Reports val_accuracy to the trial after each epoch and stops a pruned run."""

        pruned = False

        def on_epoch_end(self, epoch, logs):
            trial.report(logs["val_accuracy"], epoch + 1)
            if epoch + 1 < epochs and trial.should_prune():   # the last epoch is paid for
                self.pruned = True
                self.state.stop_training = True

    return ReportToTrial()


class TrainingObjective:
    """One training run per trial (module docstring); ``metric`` is the value returned."""

    def __init__(self, settings: dict, space: dict, metric: str = "val_accuracy"):
        from minigrad.recipes import ConfigError
        from minigrad.recipes.config import DEFAULTS

        unknown = sorted(set(space) - set(DEFAULTS))
        if unknown:
            raise ConfigError(f"--space: {', '.join(unknown)} are not settings of a run; tune "
                              f"the train command's settings, e.g. lr, batch_size, dropout, "
                              f"weight_decay, optimizer")
        self.settings = dict(settings)
        self.space = dict(space)
        self.metric = metric

    def config(self, trial) -> dict:
        from minigrad.recipes import resolve_config

        settings = dict(self.settings)
        for name, dist in self.space.items():
            settings[name] = trial.suggest(name, dist)
        return resolve_config(settings)

    def __call__(self, trial) -> float:
        import minigrad as mg
        from minigrad.recipes import build_training, load_data
        from minigrad.training import fit

        config = self.config(trial)
        if config["threads"] is not None:
            mg.set_num_threads(config["threads"])
        key = tuple(repr(config[k]) for k in DATA_KEYS)
        if key not in _DATA_CACHE:
            _DATA_CACHE.clear()             # one data set per process at a time
            _DATA_CACHE[key] = load_data(config)
        data = _DATA_CACHE[key]
        t = build_training(config, data)
        reporter = _pruning_callback(trial, config["epochs"])
        history = fit(t.model, t.train_loader, t.loss_fn, t.optimizer, config["epochs"],
                      val_loader=t.val_loader, scheduler=t.scheduler,
                      callbacks=t.callbacks + [reporter], metrics=["accuracy"],
                      clip_grad_norm=config["clip_grad_norm"], progress=False,
                      max_steps=config["max_steps"])
        if reporter.pruned:
            raise TrialPruned()
        return float(history.history[self.metric][-1])
