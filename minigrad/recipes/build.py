"""The pieces of a classifier run, each built from the resolved settings: the model, the
optimizer, the schedule, the loss with its penalties, the loaders and the callbacks (gradual
pruning, early stopping, the run tracker that writes checkpoints)."""

from __future__ import annotations

import math
from typing import NamedTuple

from .config import CHECKPOINT_WRITER
from .data import TrainData


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
