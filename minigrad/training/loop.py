"""The fit loop (see the package docstring), and evaluate/predict on the same batch plumbing."""

from __future__ import annotations

import contextlib
import numbers
import os
import time

from ..autograd import no_grad
from ..tensor import Tensor
from ._helpers import (_check_int, _concat, _is_writer, _mode, _model_device, _pair, _set_epoch,
                       _shard_group, _to)
from .callbacks import Callback, ModelCheckpoint, TrainState, _Monitor
from .checkpoints import _read_checkpoint, _restore_checkpoint
from .epoch_logs import _EpochTotals, _resolve_metrics
from .history import History
from .progress import _Progress


class _StepHooks:
    """The step hooks of fit's callbacks (see :class:`Callback`): for each hook, the bound
    methods of the callbacks whose class overrides it, in callback order."""

    def __init__(self, callbacks):
        def overriding(name):
            base = getattr(Callback, name)
            return [getattr(cb, name) for cb in callbacks if getattr(type(cb), name) is not base]

        self.contexts = overriding("training_context")
        self.loss = overriding("on_loss")
        self.backward = overriding("on_before_backward")
        self.before_step = overriding("on_before_optimizer_step")

    def context(self):
        """Every callback's training_context, entered in callback order."""
        if not self.contexts:
            return contextlib.nullcontext()
        stack = contextlib.ExitStack()
        with stack:
            for make in self.contexts:
                stack.enter_context(make())
            return stack.pop_all()

    def step_allowed(self, params) -> bool:
        """Run every on_before_optimizer_step (all of them, even after one says skip, so each
        sees every step); False if any returned False."""
        allowed = True
        for hook in self.before_step:
            if hook(params) is False:
                allowed = False
        return allowed


def _check_loss(loss, where: str):
    if not isinstance(loss, Tensor) or loss.ndim != 0:
        raise ValueError(f"fit: {where} must return a scalar Tensor, got "
                         f"{type(loss).__name__} of shape {getattr(loss, 'shape', None)}")


def _train_epoch(state: TrainState, loss_fn, params, clip_grad_norm, accumulate_steps,
                 step_scheduler, max_steps, progress, device, ordered_callbacks,
                 hooks: _StepHooks) -> bool:
    """Train on the batches of one epoch (the rest of it, when resumed). Returns False when
    ``max_steps`` stopped it before its last batch."""
    from ..nn.utils import clip_grad_norm_

    model, optimizer, totals = state.model, state.optimizer, state.totals
    n_batches, k = len(state.train_loader), accumulate_steps
    last_group_start = (n_batches - 1) // k * k   # first batch of the final (maybe short) group
    last_group_scale = 1.0 / (n_batches - last_group_start)
    model.train()
    for batch in state.train_loader:
        inputs, targets = _pair(batch, "fit", "train_loader")
        inputs, targets = _to(inputs, device), _to(targets, device)
        j = totals.batches                      # this batch's index within the epoch
        with hooks.context():
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            _check_loss(loss, "loss_fn")
            for on_loss in hooks.loss:
                loss = on_loss(inputs, outputs, targets, loss)
                _check_loss(loss, f"{type(on_loss.__self__).__name__}.on_loss")
        # g = (1/k) Σ ∇L_i, or 1/r for a final group of r < k batches
        backward_loss = loss if k == 1 else \
            loss * (last_group_scale if j >= last_group_start else 1.0 / k)
        for on_before_backward in hooks.backward:
            backward_loss = on_before_backward(backward_loss)
        backward_loss.backward()
        value = float(loss)                     # the one device sync per batch
        totals.add(value, outputs, targets)
        if totals.batches % k == 0 or totals.batches == n_batches:
            if not hooks.before_step or hooks.step_allowed(params):
                if clip_grad_norm is not None:
                    clip_grad_norm_(params, clip_grad_norm)
                optimizer.step()
            optimizer.zero_grad()
            state.step += 1
            if step_scheduler:
                state.scheduler.step()
        progress.batch(state.epoch, totals)
        if ordered_callbacks:
            logs = {"loss": value, "size": outputs.shape[0], "step": state.step}
            for cb in ordered_callbacks:
                cb.on_batch_end(j, logs)
        if max_steps is not None and state.step >= max_steps and totals.batches < n_batches:
            return False
    return True


def _resume(state: TrainState, path: str) -> None:
    """Load the checkpoint at ``path`` into everything ``state`` holds, and take up its
    counters, history and the running sums of its epoch in progress."""
    checkpoint = _read_checkpoint(path)
    # Refuse an incompatible run before anything is loaded into the model and optimizer.
    history_state = checkpoint["history"]
    if isinstance(history_state, dict) and history_state.get("epoch"):
        logged = list(history_state.get("history") or {})
        if set(logged) != set(state.log_keys):
            raise ValueError(f"fit: the checkpoint {path!r} has history keys {logged}, this "
                             f"run logs {state.log_keys}; resume with the same metrics and "
                             f"val_loader")
    saved = checkpoint["fit"] or {}
    if saved.get("epoch_totals") is not None and saved["metrics"] != state.metric_names:
        raise ValueError(f"fit: the checkpoint {path!r} was saved mid-epoch with metrics "
                         f"{saved['metrics']}, not {state.metric_names}")
    info = _restore_checkpoint(checkpoint, path, state.model, state.optimizer, state.scheduler,
                               state.train_loader, state.callbacks, state.val_loader,
                               restore_rng=True)
    state.epochs_done, state.step = info["epoch"], info["step"]
    state.history = info["history"] or History()
    state.stop_training = bool(saved.get("stop_training", False))
    keep_outputs = bool(state.metric_names)
    if saved.get("epoch_totals") is not None:
        state.totals = _EpochTotals.from_state(saved["epoch_totals"], keep_outputs,
                                               _shard_group(state.train_loader))
    elif info["train_loader"] and info["train_loader"]["batches_done"]:
        # saved mid-epoch by hand, without fit's sums: count on from the loader's position
        state.totals = _EpochTotals(keep_outputs, float(state.optimizer.param_groups[0]["lr"]),
                                    _shard_group(state.train_loader))
        state.totals.batches = int(info["train_loader"]["batches_done"])


def fit(model, train_loader, loss_fn, optimizer, epochs: int, val_loader=None, scheduler=None,
        callbacks=(), metrics=(), clip_grad_norm=None, accumulate_steps: int = 1,
        progress: bool = True, resume=None, scheduler_interval: str = "epoch", *,
        max_steps=None, scheduler_monitor=None, stream=None) -> History:
    """Train ``model`` for ``epochs`` epochs (in total, counting those of a resumed checkpoint);
    see the module docstring for the loop, the logs and resuming.

    Args:
        model: an ``nn.Module``; in train mode while training, eval mode (under ``no_grad``)
            for validation, and each submodule back in its own earlier mode afterwards.
            Batches are moved to the device of its first parameter when they are elsewhere.
        train_loader, val_loader: DataLoaders yielding ``(inputs, targets)`` pairs.
        loss_fn: ``loss_fn(outputs, targets)`` -> scalar Tensor (mean-reduced).
        optimizer: a ``minigrad.optim`` optimizer over the model's parameters.
        scheduler: stepped once per epoch after validation (``scheduler_interval='epoch'``;
            ``ReduceLROnPlateau`` is given ``scheduler_monitor``, by default ``val_loss`` with a
            val_loader and ``loss`` without), or after every optimizer step (``'step'``).
        callbacks: :class:`Callback` instances.
        metrics: names from :mod:`minigrad.metrics`, callables ``f(outputs, targets)``, or a
            dict ``{name: metric}``; computed over each epoch's samples, train and val.
        clip_grad_norm: ``max_norm`` for ``nn.utils.clip_grad_norm_`` before each step.
        accumulate_steps: batches whose gradients make one optimizer step.
        progress: show progress on ``stream`` (default ``sys.stderr``, looked up at the
            call); False prints nothing.
        resume: the path of a checkpoint to continue from (mid-epoch too).
        max_steps: stop after this many optimizer steps in total: right after that step's
            callbacks (so a ``ModelCheckpoint(every_n_steps=...)`` due then has written), or,
            when it is the epoch's last step, after the epoch's end (validation, history,
            callbacks). An epoch interrupted in the middle gets no history row; a resume
            finishes it.

    Returns:
        the :class:`History` (including the epochs of a resumed checkpoint).
    """
    from ..optim.lr_scheduler import ReduceLROnPlateau

    epochs = _check_int("fit", "epochs", epochs)
    accumulate_steps = _check_int("fit", "accumulate_steps", accumulate_steps)
    max_steps = _check_int("fit", "max_steps", max_steps, allow_none=True)
    if scheduler_interval not in ("epoch", "step"):
        raise ValueError(f"fit: scheduler_interval must be 'epoch' or 'step', got "
                         f"{scheduler_interval!r}")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    if plateau and scheduler_interval == "step":
        raise ValueError("fit: ReduceLROnPlateau needs an epoch's monitored value; use "
                         "scheduler_interval='epoch'")
    if clip_grad_norm is not None and (isinstance(clip_grad_norm, bool) or not isinstance(
            clip_grad_norm, numbers.Real) or not clip_grad_norm > 0):
        raise ValueError(f"fit: clip_grad_norm must be a number > 0 or None, got "
                         f"{clip_grad_norm!r}")
    if not callable(loss_fn):
        raise TypeError(f"fit: loss_fn must be callable, got {type(loss_fn).__name__}")
    if not hasattr(train_loader, "__len__"):
        raise TypeError(f"fit: train_loader must be a DataLoader (with a length), got "
                        f"{type(train_loader).__name__}")
    callbacks = list(callbacks)
    for cb in callbacks:
        if not isinstance(cb, Callback):
            raise TypeError(f"fit: callbacks must be Callback instances, got "
                            f"{type(cb).__name__}")
    metric_list = _resolve_metrics(metrics, "fit")
    names = [name for name, _ in metric_list]
    log_keys = ["loss"] + names
    if val_loader is not None:
        log_keys += ["val_loss"] + ["val_" + name for name in names]
    log_keys += ["lr", "time"]
    if plateau:
        scheduler_monitor = scheduler_monitor or ("val_loss" if val_loader is not None
                                                  else "loss")
        _Monitor("fit", scheduler_monitor, "min").check(log_keys)

    state = TrainState(model, optimizer, scheduler, train_loader, val_loader, callbacks,
                       History(), epochs, log_keys, names)
    if resume is not None:
        _resume(state, os.fspath(resume))
    # ModelCheckpoints run last, so the checkpoints they write hold the others' new state
    ordered = ([cb for cb in callbacks if not isinstance(cb, ModelCheckpoint)]
               + [cb for cb in callbacks if isinstance(cb, ModelCheckpoint)])
    params = [p for group in optimizer.param_groups for p in group["params"]]
    device = _model_device(model)
    display = _Progress(progress and _is_writer(), stream, epochs, len(train_loader))
    train_group = _shard_group(train_loader)   # a data-parallel job: logs of all the ranks
    hooks = _StepHooks(callbacks)

    optimizer.zero_grad()
    for cb in ordered:
        cb.state = state
        cb.on_train_begin(state)
    with _mode(model, True), contextlib.closing(display):
        while (state.epochs_done < epochs and not state.stop_training
               and (max_steps is None or state.step < max_steps)):
            state.epoch = state.epochs_done
            _set_epoch(train_loader, state.epoch)
            if state.totals is None:
                state.totals = _EpochTotals(bool(metric_list),
                                            float(optimizer.param_groups[0]["lr"]), train_group)
                for cb in ordered:
                    cb.on_epoch_begin(state.epoch)
            finished = _train_epoch(state, loss_fn, params, clip_grad_norm, accumulate_steps,
                                    scheduler is not None and scheduler_interval == "step",
                                    max_steps, display, device, ordered, hooks)
            if not finished:
                break
            totals = state.totals
            if totals.samples == 0:
                raise ValueError(f"fit: train_loader yielded no batches in epoch "
                                 f"{state.epoch + 1}")
            logs = {"loss": totals.mean_loss()}
            logs.update(totals.metric_logs(metric_list))
            if val_loader is not None:
                val = _evaluate(model, val_loader, loss_fn, metric_list, "fit", "val_loader")
                logs.update({"val_" + key: value for key, value in val.items()})
            if scheduler is not None and scheduler_interval == "epoch":
                if plateau:
                    scheduler.step(logs[scheduler_monitor])
                else:
                    scheduler.step()
            logs["lr"] = totals.lr
            logs["time"] = time.perf_counter() - totals.clock
            state.history.append(state.epoch, logs)
            state.epochs_done += 1
            state.totals = None
            display.epoch_end(state.epoch, logs)
            for cb in ordered:
                cb.on_epoch_end(state.epoch, logs)
    for cb in ordered:
        cb.on_train_end(state)
    return state.history


def _evaluate(model, loader, loss_fn, metric_list, owner: str, where: str) -> dict:
    device = _model_device(model)
    totals = _EpochTotals(bool(metric_list), group=_shard_group(loader))
    with _mode(model, False), no_grad():
        for batch in loader:
            inputs, targets = _pair(batch, owner, where)
            inputs, targets = _to(inputs, device), _to(targets, device)
            outputs = model(inputs)
            totals.add(float(loss_fn(outputs, targets)) if loss_fn is not None else 0.0,
                       outputs, targets)
    if totals.samples == 0:
        raise ValueError(f"{owner}: {where} yielded no batches")
    logs = {"loss": totals.mean_loss()} if loss_fn is not None else {}
    logs.update(totals.metric_logs(metric_list))
    return logs


def evaluate(model, loader, loss_fn=None, metrics=()) -> dict:
    """``{"loss": ..., metric: ...}`` of ``model`` over every batch of ``loader``, in eval mode
    under ``no_grad`` (the model's modes are restored after). The loss is the sample-weighted
    mean ``Σ_b n_b L_b / Σ_b n_b``; metrics (as in :func:`fit`) are computed over all samples."""
    if loss_fn is not None and not callable(loss_fn):
        raise TypeError(f"evaluate: loss_fn must be callable, got {type(loss_fn).__name__}")
    return _evaluate(model, loader, loss_fn, _resolve_metrics(metrics, "evaluate"), "evaluate",
                     "loader")


def predict(model, data, batch_size: int = 256) -> Tensor:
    """The model's outputs for ``data``, concatenated along dim 0, in eval mode under
    ``no_grad`` (modes restored after).

    ``data`` is a DataLoader (the first field of each batch is the input), a Tensor or a NumPy
    (or CuPy) array, cut into batches of ``batch_size`` rows. Inputs go to the model's device.
    """
    batch_size = _check_int("predict", "batch_size", batch_size)
    device = _model_device(model)
    if isinstance(data, Tensor) or hasattr(data, "shape") and hasattr(data, "dtype"):
        array = data.data if isinstance(data, Tensor) else data
        if array.ndim == 0:
            raise ValueError("predict: data must have a first (sample) dimension, got a 0-d "
                             "value")
        batches = (Tensor._make(array[i:i + batch_size])
                   for i in range(0, array.shape[0], batch_size))
    elif hasattr(data, "__iter__"):
        batches = (b[0] if isinstance(b, (tuple, list)) else b for b in data)
    else:
        raise TypeError(f"predict: data must be a DataLoader, a Tensor or an array, got "
                        f"{type(data).__name__}")
    outputs = []
    with _mode(model, False), no_grad():
        for inputs in batches:
            outputs.append(model(_to(inputs, device)).data)
    if not outputs:
        raise ValueError("predict: data holds no samples")
    return Tensor._make(_concat(outputs))
