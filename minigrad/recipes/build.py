"""The pieces of a classifier run, each built from the resolved settings: the model, the
optimizer, the schedule, the loss with its penalties, the loaders and the callbacks (gradual
pruning, early stopping, the run tracker that writes checkpoints)."""

from __future__ import annotations

from typing import NamedTuple

from .config import CHECKPOINT_WRITER, ConfigError
from .data import TrainData
from .model import build_model


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


# The schedules polynomial ... cyclic, stepped once per epoch like the others (so OneCycleLR's
# total_steps and CyclicLR's step_size_up count epochs; neither cycles the momentum).
_MORE_SCHEDULES = {
    "polynomial": lambda sch, opt, c, epochs: sch.PolynomialLR(
        opt, total_iters=epochs, power=c["power"]),
    "inverse-time": lambda sch, opt, c, epochs: sch.InverseTimeDecay(opt, k=c["decay_rate"]),
    "onecycle": lambda sch, opt, c, epochs: sch.OneCycleLR(
        opt, max_lr=c["lr"], total_steps=epochs, pct_start=c["pct_start"],
        div_factor=c["div_factor"], final_div_factor=c["final_div_factor"],
        cycle_momentum=False),
    "warm-restarts": lambda sch, opt, c, epochs: sch.CosineAnnealingWarmRestarts(
        opt, T_0=c["t0"], T_mult=c["t_mult"], eta_min=c["eta_min"]),
    "cyclic": lambda sch, opt, c, epochs: sch.CyclicLR(
        opt, base_lr=c["base_lr"], max_lr=c["lr"], step_size_up=c["step_size_up"],
        mode=c["cyclic_mode"], gamma=c["gamma"] if c["gamma"] is not None else 1.0,
        cycle_momentum=False),
}


def build_scheduler(config: dict, optimizer):
    """The epoch-wise schedule of ``config`` (None for 'none' without warm-up).

    With ``warmup_epochs`` W > 0: LinearLR(start_factor=1/(W+1), total_iters=W), so epochs
    0..W-1 use lr·(t+1)/(W+1), then from epoch W the schedule (restarted from lr) through
    SequentialLR; cosine anneals to --eta-min (0) over the E - W epochs after the warm-up,
    polynomial decays to 0 over them; onecycle and cyclic have no warm-up (their own rise).
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
        decay = sch.CosineAnnealingLR(optimizer, T_max=decay_epochs,
                                      eta_min=config.get("eta_min") or 0.0)
    elif name in _MORE_SCHEDULES:
        decay = _MORE_SCHEDULES[name](sch, optimizer, config, decay_epochs)
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
    from minigrad.distributed import data_parallel_group
    group = data_parallel_group()

    def dataset(x, y):
        if device.type == "cpu":
            return TensorDataset(x, y)
        return TensorDataset(mg.tensor(x, device=device), mg.tensor(y, device=device))

    eval_batch = max(config["batch_size"], 1000)
    if group is None:
        train_loader = DataLoader(dataset(data.x_train, data.y_train), config["batch_size"],
                                  shuffle=True, seed=config["seed"])
        val_loader = None if data.x_val is None else DataLoader(dataset(data.x_val, data.y_val),
                                                                eval_batch)
        test_loader = DataLoader(dataset(data.x_test, data.y_test), eval_batch)
    else:  # each rank its share of every set; the global batch is --batch-size
        train_loader, val_loader, test_loader = _sharded_loaders(config, data, dataset, group,
                                                                 eval_batch)

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
    if config["amp"]:  # autocast + dynamic loss scaling, through fit's step hooks
        from minigrad.amp import AmpCallback
        callbacks.append(AmpCallback())
    if config["teacher"]:  # knowledge distillation: the teacher's term through on_loss
        from minigrad.nn.distillation import Distillation
        from .trained import load_trained_model
        teacher = load_trained_model(config["teacher"], data.input_shape, data.num_classes)
        callbacks.append(Distillation(teacher.to(config["device"]), config["temperature"],
                                      config["alpha"]))
    if config["watch_gradients"]:  # per-layer gradient norms, update ratios, dead ReLUs
        from minigrad.training import GradientFlowMonitor
        callbacks.append(GradientFlowMonitor(on_warning=_print_warning))
    tracker = _make_run_tracker(config["checkpoint"], config)
    callbacks.append(tracker)  # last: its checkpoints hold the other callbacks' new state
    optimizer = build_optimizer(config, model.parameters())
    loss_fn = RegularizedLoss(model, config["l1"], config["l2"])
    if group is not None:  # rank 0's weights everywhere, gradients averaged after backward
        from minigrad.nn.parallel import DistributedDataParallel
        model = DistributedDataParallel(model, group=group)
    return Training(model, loss_fn, optimizer,
                    build_scheduler(config, optimizer), train_loader, val_loader, test_loader,
                    callbacks, early_stopping, pruner, tracker)


def _sharded_loaders(config: dict, data: TrainData, dataset, group, eval_batch):
    """Train, validation and test loaders giving each rank its share (DistributedSampler):
    the training set reshuffled each epoch from the seed, batches of batch_size / ranks."""
    from minigrad.data import DataLoader, DistributedSampler

    if config["batch_size"] % group.world_size:
        raise ConfigError(f"--batch-size {config['batch_size']} (the global batch) does not "
                          f"split evenly over {group.world_size} processes")
    train = dataset(data.x_train, data.y_train)
    train_loader = DataLoader(train, config["batch_size"] // group.world_size,
                              sampler=DistributedSampler(train, seed=config["seed"]))

    def evaluation(x, y):
        if x is None:
            return None
        d = dataset(x, y)
        return DataLoader(d, eval_batch, sampler=DistributedSampler(d, shuffle=False))

    return (train_loader, evaluation(data.x_val, data.y_val),
            evaluation(data.x_test, data.y_test))


def _print_warning(message: str) -> None:
    """--watch-gradients: a gradient-flow warning as one line on stderr, when it happens."""
    import sys
    print(f"warning: {message}", file=sys.stderr)
