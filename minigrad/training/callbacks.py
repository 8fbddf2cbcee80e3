"""Callbacks: the state they see (:class:`TrainState`), the protocol (:class:`Callback`, with
its epoch and batch hooks and the step hooks inside one optimizer step), and the two callbacks
built in: :class:`EarlyStopping` and :class:`ModelCheckpoint`."""

from __future__ import annotations

import contextlib
import math
import numbers
import os

from ._helpers import _check_int, _is_writer
from .checkpoints import save_checkpoint


class TrainState:
    """What callbacks see of a running :func:`fit` (as ``callback.state``): the model,
    optimizer, scheduler, loaders, history, the epoch in progress (0-based), ``epochs_done``,
    ``step`` (optimizer steps taken in total), ``log_keys`` (the keys every epoch's logs will
    have) and ``stop_training`` (set it to end training after the current epoch)."""

    def __init__(self, model, optimizer, scheduler, train_loader, val_loader, callbacks,
                 history, epochs, log_keys, metric_names):
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.callbacks = callbacks
        self.history = history
        self.epochs = epochs
        self.log_keys = log_keys
        self.metric_names = metric_names
        self.epoch = 0
        self.epochs_done = 0
        self.step = 0
        self.stop_training = False
        self.totals = None        # the running sums of the epoch in progress

    def fit_state(self) -> dict:
        """fit's own part of a checkpoint: the epoch in progress and the stop flag."""
        return {"epoch_totals": None if self.totals is None else self.totals.state_dict(),
                "stop_training": self.stop_training, "metrics": list(self.metric_names)}

    def save_checkpoint(self, path, extra=None) -> None:
        """A complete checkpoint of this exact point of training (see :func:`save_checkpoint`).
        Call it between optimizer steps (``on_batch_end`` after a step, ``on_epoch_end``):
        gradients pending in an unfinished accumulation group are not saved. In a
        data-parallel job only rank 0 writes (the ranks' states are equal)."""
        if not _is_writer():
            return
        save_checkpoint(path, self.model, self.optimizer, self.scheduler, self.train_loader,
                        epoch=self.epochs_done, step=self.step, history=self.history,
                        callbacks=self.callbacks, extra=extra, val_loader=self.val_loader,
                        fit_state=self.fit_state())


class Callback:
    """Base class of fit's callbacks; override the hooks you need.

    :func:`fit` sets ``self.state`` (a :class:`TrainState`) before ``on_train_begin``. Hooks:

    - ``on_train_begin(state)``, ``on_train_end(state)``;
    - ``on_epoch_begin(epoch)`` (0-based; not called again for an epoch resumed mid-way);
    - ``on_batch_end(batch, logs)`` after each batch (and after the optimizer step it completed,
      if any), logs ``{"loss", "size", "step"}``;
    - ``on_epoch_end(epoch, logs)`` with the epoch's logs (a row of :class:`History`); setting
      ``self.state.stop_training = True`` ends training after this epoch.

    ``state_dict()``/``load_state_dict()`` carry the callback's state through checkpoints.

    **Step hooks**, the extension points inside one training step, for what changes the step
    itself (a teacher's loss term, mixed precision, loss scaling, gradient averaging across
    processes, gradient monitors). The step, with the hooks where they run::

        with every callback's training_context():          # e.g. autocast
            outputs = model(inputs)
            loss = loss_fn(outputs, targets)
            loss = on_loss(inputs, outputs, targets, loss)  # e.g. + a distillation term
        on_before_backward(loss / k) -> the tensor backward runs on   # e.g. scale it
        backward
        when the k batches of an accumulation group are done:
            on_before_optimizer_step(params) -> False skips this step  # e.g. average the
            clip_grad_norm_ (when asked)                 # gradients, unscale, inf check
            optimizer.step() unless skipped; zero_grad(); the step count grows either way

    Each hook runs for the callbacks that override it, in the order of ``callbacks`` (fit looks
    once, at its start, which ones do); ``on_loss`` and ``on_before_backward`` pass their result
    to the next callback. The logged ``loss`` is the one ``on_loss`` returned (what the model
    trains on), before the 1/k of accumulation and ``on_before_backward``. Validation and
    :func:`evaluate` run without step hooks.
    """

    state = None

    # --- the step hooks: fit calls each only for callbacks whose class overrides it ---

    def training_context(self):
        """A context manager entered around the forward pass and loss of every training batch
        (e.g. ``autocast()``)."""
        return contextlib.nullcontext()

    def on_loss(self, inputs, outputs, targets, loss):
        """The batch's training loss: return ``loss`` or a Tensor replacing it."""
        return loss

    def on_before_backward(self, loss):
        """The scalar Tensor that backward runs on (e.g. ``loss`` times a loss scale)."""
        return loss

    def on_before_optimizer_step(self, params) -> bool:
        """The gradients of one optimizer step are complete in ``params`` (a list of the
        optimizer's parameters), before clipping and the step; return False to skip the step."""
        return True

    def on_train_begin(self, state) -> None:
        pass

    def on_epoch_begin(self, epoch: int) -> None:
        pass

    def on_batch_end(self, batch: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, state) -> None:
        pass

    def state_dict(self) -> dict:
        return {}

    def load_state_dict(self, state: dict) -> None:
        pass


_MAXIMIZED = ("acc", "f1", "precision", "recall", "auc", "r2")


class _Monitor:
    """A watched log value: which direction is better, and the best seen so far.

    Improvement (mode 'min'): ``value < best - min_delta``; (mode 'max'): ``value > best +
    min_delta``. NaN never improves. 'auto' is 'max' for accuracy-like names (acc, f1,
    precision, recall, auc, r2) and 'min' otherwise.
    """

    def __init__(self, owner: str, key: str, mode: str, min_delta: float = 0.0):
        if not isinstance(key, str):
            raise TypeError(f"{owner}: monitor must be a log key (str), got {key!r}")
        if mode not in ("min", "max", "auto"):
            raise ValueError(f"{owner}: mode must be 'min', 'max' or 'auto', got {mode!r}")
        if not isinstance(min_delta, numbers.Real) or not min_delta >= 0:
            raise ValueError(f"{owner}: min_delta must be a number >= 0, got {min_delta!r}")
        if mode == "auto":
            mode = "max" if any(hint in key for hint in _MAXIMIZED) else "min"
        self.owner, self.key, self.mode, self.min_delta = owner, key, mode, float(min_delta)
        self.best = math.inf if mode == "min" else -math.inf

    def check(self, keys) -> None:
        if self.key not in keys:
            hint = " (pass val_loader to fit for val_* keys)" if self.key.startswith("val_") \
                else ""
            raise KeyError(f"{self.owner}: monitor {self.key!r} is not in the epoch logs; "
                           f"they have {', '.join(keys)}{hint}")

    def value(self, logs: dict) -> float:
        self.check(logs)
        return float(logs[self.key])

    def improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras' and PyTorch
    Lightning's rule).

    Each epoch: if the value improves on the best by more than ``min_delta`` it becomes the best
    and the wait resets to 0; otherwise the wait grows by one, and training stops once it
    reaches ``patience`` (so ``patience=0`` stops at the first epoch without improvement). With
    ``restore_best_weights`` a copy of ``model.state_dict()`` is taken at each new best and
    loaded back when training ends. ``best``, ``best_epoch`` and ``stopped_epoch`` (None if it
    never stopped) tell what happened.
    """

    def __init__(self, monitor: str = "val_loss", mode: str = "auto", patience: int = 0,
                 min_delta: float = 0.0, restore_best_weights: bool = False):
        self.patience = _check_int("EarlyStopping", "patience", patience, low=0)
        self._monitor = _Monitor("EarlyStopping", monitor, mode, min_delta)
        self.monitor, self.mode = monitor, self._monitor.mode
        self.restore_best_weights = bool(restore_best_weights)
        self.wait = 0
        self.best_epoch = None
        self.stopped_epoch = None
        self.best_weights = None

    @property
    def best(self) -> float:
        return self._monitor.best

    def on_train_begin(self, state) -> None:
        self._monitor.check(state.log_keys)

    def on_epoch_end(self, epoch, logs) -> None:
        value = self._monitor.value(logs)
        if self._monitor.improves(value):
            self._monitor.best = value
            self.best_epoch = epoch
            self.wait = 0
            if self.restore_best_weights:
                self.best_weights = {k: v.clone() for k, v in self.state.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.state.stop_training = True

    def on_train_end(self, state) -> None:
        if self.restore_best_weights and self.best_weights is not None:
            state.model.load_state_dict(self.best_weights)

    def state_dict(self) -> dict:
        return {"best": self.best, "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state: dict) -> None:
        self._monitor.best = float(state["best"])
        self.wait = int(state["wait"])
        self.best_epoch = state["best_epoch"]
        self.stopped_epoch = state["stopped_epoch"]
        self.best_weights = state["best_weights"]


class ModelCheckpoint(Callback):
    """Write a complete training checkpoint (:meth:`TrainState.save_checkpoint`) to ``path``:

    - at the end of every epoch (default);
    - with ``save_best_only``, only at the end of an epoch whose ``monitor`` value improves on
      the best so far (strictly; ``mode`` as in :class:`EarlyStopping`);
    - with ``every_n_steps=n``, after every n-th optimizer step (mid-epoch too), instead of at
      epoch ends.

    ``path`` may hold ``{epoch}`` (epochs completed) and ``{step}`` (optimizer steps taken), and
    at epoch ends any log key, e.g. ``"ckpt-{epoch:03d}-{val_loss:.3f}.npz"``; ``last_path`` is
    the file last written. Each write is atomic. Within ``fit``, ModelCheckpoint callbacks run
    after the other callbacks, so a checkpoint holds their state after this epoch.
    """

    def __init__(self, path, monitor: str = "val_loss", mode: str = "auto",
                 save_best_only: bool = False, every_n_steps=None):
        self.path = os.fspath(path)
        self.every_n_steps = _check_int("ModelCheckpoint", "every_n_steps", every_n_steps,
                                        allow_none=True)
        self.save_best_only = bool(save_best_only)
        if self.save_best_only and self.every_n_steps is not None:
            raise ValueError("ModelCheckpoint: save_best_only compares epoch logs, so it cannot "
                             "be combined with every_n_steps")
        self._monitor = _Monitor("ModelCheckpoint", monitor, mode)
        self.monitor, self.mode = monitor, self._monitor.mode
        self.last_path = None
        self._last_step = None

    @property
    def best(self) -> float:
        return self._monitor.best

    def on_train_begin(self, state) -> None:
        if self.save_best_only:
            self._monitor.check(state.log_keys)

    def on_batch_end(self, batch, logs) -> None:
        step = self.state.step
        if self.every_n_steps and step % self.every_n_steps == 0 and step != self._last_step:
            self._save({})

    def on_epoch_end(self, epoch, logs) -> None:
        if self.every_n_steps:
            return
        if self.save_best_only:
            value = self._monitor.value(logs)
            if not self._monitor.improves(value):
                return
            self._monitor.best = value
        self._save(logs)

    def _save(self, logs: dict) -> None:
        state = self.state
        try:
            path = self.path.format(epoch=state.epochs_done, step=state.step, **logs)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"ModelCheckpoint: cannot fill in the path {self.path!r} ({exc!r});"
                             f" it may use {{epoch}}, {{step}} and, at epoch ends, the log "
                             f"keys") from exc
        self._last_step = state.step
        self.last_path = path
        state.save_checkpoint(path)

    def state_dict(self) -> dict:
        return {"best": self.best, "last_path": self.last_path, "last_step": self._last_step}

    def load_state_dict(self, state: dict) -> None:
        self._monitor.best = float(state["best"])
        self.last_path = state["last_path"]
        self._last_step = state["last_step"]
