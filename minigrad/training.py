"""A training loop with metrics, progress, history, early stopping and resumable checkpoints.

``fit`` runs the loop a hand-written training script would run, and nothing more per batch::

    for epoch in range(epochs):
        model.train()
        for j, (x, y) in enumerate(train_loader):
            loss = loss_fn(model(x), y)
            (loss / k).backward()                      # k = accumulate_steps
            if (j + 1) % k == 0 or j is the last batch:
                clip_grad_norm_(params, clip_grad_norm)   # when asked
                optimizer.step(); optimizer.zero_grad()
                scheduler.step()                       # scheduler_interval="step"
        validate on val_loader (eval mode, no_grad)
        scheduler.step() / scheduler.step(monitored)   # scheduler_interval="epoch"
        record the epoch's logs; callbacks' on_epoch_end (may stop training)

**Gradient accumulation.** With ``accumulate_steps=k`` the gradients of k consecutive batches
are summed before one optimizer step, each loss scaled by 1/k, so the step uses their mean::

    g = (1/k) Σ_{i=1..k} ∇L_i

which, for equal batches of b samples and a mean-reduced loss, is the gradient of one batch of
k·b samples. Groups are counted within an epoch; a final group of r < k batches still steps,
with its losses scaled by 1/r (so it too uses a mean, not a gradient shrunk by r/k).

**Epoch logs** (the rows of :class:`History`): ``loss`` is the sample-weighted mean of the batch
losses, ``Σ_b n_b L_b / Σ_b n_b`` (exact for mean-reduced losses); each metric is computed once
over all the epoch's samples (the outputs the training steps already produced are kept, so the
train metrics cost no extra forward pass and reflect the model as it changed during the epoch);
``val_loss`` and ``val_<metric>`` come from :func:`evaluate` on ``val_loader``; ``lr`` is the
first parameter group's rate at the start of the epoch; ``time`` the epoch's seconds, validation
included.

**Metrics** are given by name (a function of :mod:`minigrad.metrics`) or as callables
``f(outputs, targets) -> float`` receiving the whole epoch's raw model outputs and targets as
NumPy arrays (note the order: outputs first, unlike ``minigrad.metrics``). A dict
``{name: metric}`` names them. The named classification metrics turn outputs into labels:

- outputs (N, C) with C >= 2: ``argmax`` over dim 1 (logits or probabilities alike);
- outputs (N,) or (N, 1): ``output > 0``, i.e. the outputs are taken as *logits* (as for
  ``BCEWithLogitsLoss``; a model ending in a sigmoid should threshold at 0.5 in a callable).

``precision``, ``recall`` and ``f1_score`` use ``average='binary'`` (class 1 positive) for one
or two output columns and ``'macro'`` for more; ``roc_auc_score`` scores class 1 by the logit,
or by ``out[:, 1] - out[:, 0]`` for two columns. ``mean_squared_error``,
``mean_absolute_error`` and ``r2_score`` compare the raw outputs with the targets.

**Resuming bit for bit.** A checkpoint (:func:`save_checkpoint`, written by
:class:`ModelCheckpoint`) holds the model's and optimizer's state, the scheduler's, minigrad's
cpu random generator (dropout, initialization), the loaders' states (their shuffling generator,
the batches of the current epoch already handed out, their augmentation's generator), the
number of epochs done and optimizer steps taken, the history, the callbacks' states, and the
running sums of an epoch in progress (loss, samples, the outputs kept for the metrics). It is
written only between optimizer steps, where no gradient is pending. ``fit(..., resume=path)``
loads it and continues from that exact point, mid-epoch included: the final parameters equal
those of an uninterrupted run bit for bit, and so do the history's losses and metrics. Not
reproduced: the epoch ``time`` (wall-clock; a resumed epoch counts the time spent before the
interruption plus the time after), and the random stream of a cuda device (CuPy offers no
portable generator state), so dropout on cuda does not resume bit for bit. Callbacks'
``on_epoch_begin`` is not called again for an epoch resumed in the middle.

**Progress** goes to stderr: on a terminal one line redrawn with ``'\\r'`` (at most ten times a
second) showing the epoch, the batch, the running loss, samples per second, elapsed time and
ETA; otherwise one summary line per epoch.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import numbers
import os
import sys
import time

import numpy as np

from . import backend, serialization
from . import metrics as _metrics
from .autograd import no_grad
from .serialization import CheckpointError, atomic_write_text
from .tensor import Tensor

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping",
           "ModelCheckpoint", "save_checkpoint", "load_checkpoint", "TrainState"]

_CHECKPOINT_FORMAT = "minigrad-training-checkpoint"
_CHECKPOINT_VERSION = 1
_REDRAW_SECONDS = 0.1  # progress redraws at most ten times a second


# --- argument checks --------------------------------------------------------------------------

def _check_int(owner: str, name: str, value, low: int = 1, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < low:
        raise ValueError(f"{owner}: {name} must be an int >= {low}"
                         f"{' or None' if allow_none else ''}, got {value!r}")
    return int(value)


def _pair(batch, owner: str, where: str):
    """``(inputs, targets)`` of one batch, or a clear error."""
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        got = (f"a {type(batch).__name__} of {len(batch)} fields"
               if isinstance(batch, (tuple, list)) else f"a {type(batch).__name__}")
        raise TypeError(f"{owner}: {where} must yield (inputs, targets) pairs, got {got}")
    return batch[0], batch[1]


def _model_device(model):
    """The device of the model's first parameter (None for a model without parameters)."""
    for p in model.parameters():
        return p.device
    return None


def _to(x, device):
    """``x`` on ``device`` (batches follow the model, so a cpu loader can feed a cuda model)."""
    if device is None or not isinstance(x, Tensor):
        return x
    if device.type == "cpu" and type(x.data) is np.ndarray:   # the common case, checked cheaply
        return x
    return x.to(device) if x.device != device else x


@contextlib.contextmanager
def _mode(model, training: bool):
    """Run with the whole model in train or eval mode, then give every submodule its own
    earlier mode back (a model partly in eval mode stays so)."""
    saved = [(m, m.training) for m in model.modules()]
    model.train(training)
    try:
        yield
    finally:
        for m, mode in saved:
            m.training = mode


def _host(array) -> np.ndarray:
    return array if isinstance(array, np.ndarray) else backend.to_device(array, "cpu")


def _concat(arrays):
    """One array from a list of per-batch arrays, on their device (None for an empty list)."""
    if not arrays:
        return None
    if len(arrays) == 1:
        return arrays[0]
    return backend.array_module(arrays[0]).concatenate(arrays)


# --- metrics ----------------------------------------------------------------------------------

def _score_columns(outputs: np.ndarray) -> int:
    if outputs.ndim == 1:
        return 1
    if outputs.ndim == 2:
        return outputs.shape[1]
    raise ValueError(f"fit metrics: classification metrics expect outputs of shape (N,), "
                     f"(N, 1) or (N, C), got {outputs.shape}")


def _predicted_labels(outputs: np.ndarray) -> np.ndarray:
    """argmax over dim 1 for (N, C >= 2) scores; ``logit > 0`` for one column."""
    if _score_columns(outputs) >= 2:
        return outputs.argmax(axis=1)
    return (outputs.reshape(-1) > 0).astype(np.int64)


def _true_labels(targets: np.ndarray) -> np.ndarray:
    """(N, 1) targets (as BCE takes them) become (N,) labels."""
    return targets.reshape(-1) if targets.ndim == 2 and targets.shape[1] == 1 else targets


def _positive_score(outputs: np.ndarray) -> np.ndarray:
    """A score increasing with the probability of class 1 (what roc_auc_score ranks)."""
    columns = _score_columns(outputs)
    if columns == 1:
        return outputs.reshape(-1)
    if columns == 2:
        return outputs[:, 1] - outputs[:, 0]   # log-odds of class 1 under a softmax
    raise ValueError(f"fit metrics: roc_auc_score needs a binary problem (1 or 2 output "
                     f"columns), got outputs of shape {outputs.shape}")


def _label_metric(fn, averaged: bool):
    def compute(outputs, targets):
        kwargs = {}
        if averaged:
            kwargs["average"] = "binary" if _score_columns(outputs) <= 2 else "macro"
        return fn(_true_labels(targets), _predicted_labels(outputs), **kwargs)
    return compute


def _auc_metric(outputs, targets):
    return _metrics.roc_auc_score(_true_labels(targets), _positive_score(outputs))


def _value_metric(fn):
    return lambda outputs, targets: fn(targets, outputs)


_NAMED_METRICS = {
    "accuracy": _label_metric(_metrics.accuracy, averaged=False),
    "precision": _label_metric(_metrics.precision, averaged=True),
    "recall": _label_metric(_metrics.recall, averaged=True),
    "f1_score": _label_metric(_metrics.f1_score, averaged=True),
    "roc_auc_score": _auc_metric,
    "mean_squared_error": _value_metric(_metrics.mean_squared_error),
    "mean_absolute_error": _value_metric(_metrics.mean_absolute_error),
    "r2_score": _value_metric(_metrics.r2_score),
}
_RESERVED_KEYS = ("loss", "lr", "time")


def _resolve_metrics(metrics, owner: str) -> list:
    """``[(name, f(outputs_np, targets_np) -> float), ...]`` from names, callables or a dict."""
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    items = list(metrics.items()) if isinstance(metrics, dict) else [(None, m) for m in metrics]
    resolved = []
    for name, metric in items:
        if isinstance(metric, str):
            if metric not in _NAMED_METRICS:
                raise ValueError(f"{owner}: unknown metric {metric!r}; known names are "
                                 f"{', '.join(_NAMED_METRICS)} (or pass a callable "
                                 f"f(outputs, targets) -> float)")
            fn, default_name = _NAMED_METRICS[metric], metric
        elif callable(metric):
            fn, default_name = metric, getattr(metric, "__name__", None)
        else:
            raise TypeError(f"{owner}: a metric must be a name or a callable, got "
                            f"{type(metric).__name__}")
        name = default_name if name is None else name
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(f"{owner}: the metric {metric!r} has no usable name ({name!r}); "
                             f"name it with a dict, e.g. metrics={{'score': fn}}")
        if name in _RESERVED_KEYS or name.startswith("val_"):
            raise ValueError(f"{owner}: metric name {name!r} is reserved (loss, lr, time and "
                             f"val_* are log keys of their own)")
        if name in (n for n, _ in resolved):
            raise ValueError(f"{owner}: metric name {name!r} given twice")
        resolved.append((name, fn))
    return resolved


class _EpochTotals:
    """Running sums of one pass over a loader: sample-weighted loss, samples, batches, and the
    raw outputs and targets kept (on their device, as references, no copy) for the metrics."""

    def __init__(self, keep_outputs: bool, lr=None):
        self.keep_outputs = keep_outputs
        self.lr = lr
        self.loss_sum = 0.0
        self.samples = 0
        self.batches = 0
        self.outputs: list = []
        self.targets: list = []
        self.clock = time.perf_counter()  # when the epoch began (moved back on a resume)

    def add(self, loss_value: float, outputs: Tensor, targets: Tensor) -> None:
        n = outputs.shape[0] if outputs.ndim else 1
        self.loss_sum += loss_value * n
        self.samples += n
        self.batches += 1
        if self.keep_outputs:
            self.outputs.append(outputs.data)
            self.targets.append(targets.data if isinstance(targets, Tensor) else targets)

    def mean_loss(self) -> float:
        return self.loss_sum / self.samples

    def metric_logs(self, metric_list, prefix: str = "") -> dict:
        if not metric_list:
            return {}
        outputs, targets = _host(_concat(self.outputs)), _host(_concat(self.targets))
        return {prefix + name: float(fn(outputs, targets)) for name, fn in metric_list}

    def state_dict(self) -> dict:
        outputs, targets = _concat(self.outputs), _concat(self.targets)
        self.outputs = [] if outputs is None else [outputs]  # keep one array, not many
        self.targets = [] if targets is None else [targets]
        return {"lr": self.lr, "loss_sum": self.loss_sum, "samples": self.samples,
                "batches": self.batches, "elapsed": time.perf_counter() - self.clock,
                "outputs": outputs, "targets": targets}

    @classmethod
    def from_state(cls, state: dict, keep_outputs: bool) -> "_EpochTotals":
        totals = cls(keep_outputs, state["lr"])
        totals.loss_sum = float(state["loss_sum"])
        totals.samples = int(state["samples"])
        totals.batches = int(state["batches"])
        totals.clock -= float(state["elapsed"])
        if keep_outputs and state["outputs"] is not None:
            totals.outputs, totals.targets = [state["outputs"]], [state["targets"]]
        return totals


# --- history ----------------------------------------------------------------------------------


def _plain(value):
    """A NumPy scalar as the Python number it holds (for JSON and CSV)."""
    return value.item() if isinstance(value, np.generic) else value


class History:
    """Per-epoch logs: ``history[key]`` is a list with one value per epoch (``loss``, each
    metric, ``val_loss`` and ``val_<metric>`` with validation, ``lr``, ``time``), and ``epoch``
    the list of their (0-based) epoch indices."""

    def __init__(self):
        self.history: dict = {}
        self.epoch: list = []

    def append(self, epoch: int, logs: dict) -> None:
        if self.epoch and set(logs) != set(self.history):
            raise ValueError(f"History.append: epoch {epoch} logs keys {sorted(logs)}, earlier "
                             f"epochs {sorted(self.history)}")
        self.epoch.append(int(epoch))
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"History({len(self)} epochs: {', '.join(self.history)})"

    def state_dict(self) -> dict:
        return {"epoch": list(self.epoch),
                "history": {key: list(values) for key, values in self.history.items()}}

    def load_state_dict(self, state: dict) -> None:
        if not isinstance(state, dict) or "epoch" not in state or "history" not in state:
            raise ValueError("History.load_state_dict: expected a dict with 'epoch' and "
                             "'history' (from History.state_dict())")
        self.epoch = [int(e) for e in state["epoch"]]
        self.history = {key: list(values) for key, values in state["history"].items()}

    def to_json(self, path) -> None:
        """``{"epoch": [...], "loss": [...], ...}``, written atomically; NaN and infinite
        values become ``null`` (strict JSON has no NaN)."""
        def clean(v):
            v = _plain(v)
            return None if isinstance(v, float) and not math.isfinite(v) else v
        data = {"epoch": self.epoch}
        data.update({key: [clean(v) for v in values] for key, values in self.history.items()})
        atomic_write_text(path, json.dumps(data, indent=1) + "\n", "History.to_json")

    def to_csv(self, path) -> None:
        """One row per epoch under the header ``epoch,loss,...``, written atomically."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        keys = list(self.history)
        writer.writerow(["epoch"] + keys)
        for i, epoch in enumerate(self.epoch):
            writer.writerow([epoch] + [repr(_plain(self.history[k][i])) for k in keys])
        atomic_write_text(path, buffer.getvalue(), "History.to_csv")


# --- callbacks --------------------------------------------------------------------------------

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
        gradients pending in an unfinished accumulation group are not saved."""
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
    """

    state = None

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


# --- checkpoints ------------------------------------------------------------------------------

def _loader_state(loader, name: str):
    if loader is None:
        return None
    if not hasattr(loader, "state_dict"):
        raise TypeError(f"save_checkpoint: {name} ({type(loader).__name__}) has no "
                        f"state_dict(); use a minigrad.data.DataLoader")
    return loader.state_dict()


def save_checkpoint(path, model, optimizer, scheduler=None, train_loader=None, epoch: int = 0,
                    step: int = 0, history=None, callbacks=(), extra=None, *, val_loader=None,
                    fit_state=None) -> None:
    """Write everything needed to continue training exactly to ``path`` with
    :func:`minigrad.save` (atomic: a crash mid-write leaves the previous file intact; no
    pickle).

    The checkpoint holds ``model.state_dict()``, ``optimizer.state_dict()`` and
    ``scheduler.state_dict()`` (when given), minigrad's cpu random state, the loaders' states,
    ``epoch`` (epochs completed) and ``step`` (optimizer steps taken), the :class:`History`,
    each callback's state (by position, with its class name), ``fit_state`` (fit's running sums
    of an epoch in progress) and ``extra`` (anything :func:`minigrad.save` can store).
    """
    epoch = _check_int("save_checkpoint", "epoch", epoch, low=0)
    step = _check_int("save_checkpoint", "step", step, low=0)
    checkpoint = {
        "format": _CHECKPOINT_FORMAT,
        "version": _CHECKPOINT_VERSION,
        "epoch": epoch,
        "step": step,
        "model": model.state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": serialization.get_rng_state(),
        "train_loader": _loader_state(train_loader, "train_loader"),
        "val_loader": _loader_state(val_loader, "val_loader"),
        "history": None if history is None else history.state_dict(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state_dict()}
                      for cb in callbacks],
        "fit": fit_state,
        "extra": extra,
    }
    serialization.save(checkpoint, path)


def _restore(checkpoint: dict, key: str, target, path: str) -> None:
    """Load the saved state ``checkpoint[key]`` into ``target`` (if one is given)."""
    if target is None:
        return
    if checkpoint.get(key) is None:
        raise CheckpointError(f"load_checkpoint: {path!r} holds no {key} state, but a {key} "
                              f"was given to restore")
    target.load_state_dict(checkpoint[key])


def load_checkpoint(path, model, optimizer=None, scheduler=None, train_loader=None,
                    callbacks=(), map_location=None, *, val_loader=None,
                    restore_rng: bool = True) -> dict:
    """Restore a checkpoint of :func:`save_checkpoint` into the given objects (each one given
    must have its state in the file) and, with ``restore_rng``, minigrad's cpu random state.

    ``callbacks`` must be the callbacks saved, in the same order, or none (then no callback
    state is restored; a checkpoint saved without callback states leaves them as they are).

    Returns ``{"epoch", "step", "history" (a :class:`History` or None), "extra", "fit" (fit's
    own state), "train_loader" (the saved loader state)}``. Raises :class:`CheckpointError` for
    a file that is not an intact training checkpoint.
    """
    path = os.fspath(path)
    return _restore_checkpoint(_read_checkpoint(path, map_location), path, model, optimizer,
                               scheduler, train_loader, callbacks, val_loader, restore_rng)


def _read_checkpoint(path: str, map_location=None) -> dict:
    """The contents of a training checkpoint file, checked to be one (nothing restored)."""
    checkpoint = serialization.load(path, map_location=map_location)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"load_checkpoint: {path!r} is a minigrad file but not a training "
                              f"checkpoint (written by save_checkpoint)")
    if checkpoint.get("version") != _CHECKPOINT_VERSION:
        raise CheckpointError(f"load_checkpoint: {path!r} has training-checkpoint version "
                              f"{checkpoint.get('version')!r}; this minigrad reads "
                              f"{_CHECKPOINT_VERSION}")
    return checkpoint


def _restore_checkpoint(checkpoint, path, model, optimizer, scheduler, train_loader, callbacks,
                        val_loader, restore_rng) -> dict:
    """Load a read checkpoint into the given objects; what :func:`load_checkpoint` returns."""
    saved = checkpoint["callbacks"]
    callbacks = list(callbacks)
    saved_types = [s["type"] for s in saved]
    given_types = [type(cb).__name__ for cb in callbacks]
    if saved and callbacks and saved_types != given_types:
        raise ValueError(f"load_checkpoint: {path!r} holds the states of callbacks "
                         f"{saved_types}, but {given_types} were given; pass the same "
                         f"callbacks in the same order")
    model.load_state_dict(checkpoint["model"])
    _restore(checkpoint, "optimizer", optimizer, path)
    _restore(checkpoint, "scheduler", scheduler, path)
    _restore(checkpoint, "train_loader", train_loader, path)
    _restore(checkpoint, "val_loader", val_loader, path)
    for cb, s in zip(callbacks, saved):
        cb.load_state_dict(s["state"])
    if restore_rng:
        serialization.set_rng_state(checkpoint["rng"])
    history = None
    if checkpoint["history"] is not None:
        history = History()
        history.load_state_dict(checkpoint["history"])
    return {"epoch": checkpoint["epoch"], "step": checkpoint["step"], "history": history,
            "extra": checkpoint["extra"], "fit": checkpoint["fit"],
            "train_loader": checkpoint["train_loader"]}


# --- progress ---------------------------------------------------------------------------------

def _format_logs(logs: dict) -> str:
    parts = []
    for key, value in logs.items():
        if key == "time":
            parts.append(f"{value:.2f}s")
        elif key == "lr":
            parts.append(f"lr {value:.3g}")
        else:
            parts.append(f"{key} {value:.4f}")
    return " - ".join(parts)


class _Progress:
    """The progress display: a redrawn line on a terminal, one line per epoch otherwise."""

    def __init__(self, enabled: bool, stream, epochs: int, batches: int):
        self.enabled = enabled
        self.stream = sys.stderr if stream is None else stream
        isatty = getattr(self.stream, "isatty", None)
        self.tty = enabled and callable(isatty) and bool(isatty())
        self.epochs, self.batches = epochs, batches
        self._last_draw = -math.inf
        self._width = 0

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()

    def batch(self, epoch: int, totals: _EpochTotals) -> None:
        if not self.tty:
            return
        now = time.perf_counter()
        if now - self._last_draw < _REDRAW_SECONDS and totals.batches < self.batches:
            return
        self._last_draw = now
        elapsed = now - totals.clock
        eta = elapsed / totals.batches * (self.batches - totals.batches)
        line = (f"epoch {epoch + 1}/{self.epochs} batch {totals.batches}/{self.batches} "
                f"loss {totals.mean_loss():.4f} {totals.samples / max(elapsed, 1e-9):.0f} "
                f"samples/s {elapsed:.1f}s<{eta:.1f}s")
        self._write("\r" + line.ljust(self._width))
        self._width = len(line)

    def epoch_end(self, epoch: int, logs: dict) -> None:
        if not self.enabled:
            return
        line = f"epoch {epoch + 1}/{self.epochs} - {_format_logs(logs)}"
        self._write(("\r" + line.ljust(self._width) if self.tty else line) + "\n")
        self._width = 0

    def close(self) -> None:
        """End a redrawn line left open by an epoch that did not finish."""
        if self._width:
            self._write("\n")
            self._width = 0


# --- the loop ---------------------------------------------------------------------------------

def _train_epoch(state: TrainState, loss_fn, params, clip_grad_norm, accumulate_steps,
                 step_scheduler, max_steps, progress, device, ordered_callbacks) -> bool:
    """Train on the batches of one epoch (the rest of it, when resumed). Returns False when
    ``max_steps`` stopped it before its last batch."""
    from .nn.utils import clip_grad_norm_

    model, optimizer, totals = state.model, state.optimizer, state.totals
    n_batches, k = len(state.train_loader), accumulate_steps
    last_group_start = (n_batches - 1) // k * k   # first batch of the final (maybe short) group
    last_group_scale = 1.0 / (n_batches - last_group_start)
    model.train()
    for batch in state.train_loader:
        inputs, targets = _pair(batch, "fit", "train_loader")
        inputs, targets = _to(inputs, device), _to(targets, device)
        j = totals.batches                      # this batch's index within the epoch
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        if not isinstance(loss, Tensor) or loss.ndim != 0:
            raise ValueError(f"fit: loss_fn must return a scalar Tensor, got "
                             f"{type(loss).__name__} of shape {getattr(loss, 'shape', None)}")
        if k == 1:
            loss.backward()
        else:  # g = (1/k) Σ ∇L_i, or 1/r for a final group of r < k batches
            (loss * (last_group_scale if j >= last_group_start else 1.0 / k)).backward()
        value = float(loss)                     # the one device sync per batch
        totals.add(value, outputs, targets)
        if totals.batches % k == 0 or totals.batches == n_batches:
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
        state.totals = _EpochTotals.from_state(saved["epoch_totals"], keep_outputs)
    elif info["train_loader"] and info["train_loader"]["batches_done"]:
        # saved mid-epoch by hand, without fit's sums: count on from the loader's position
        state.totals = _EpochTotals(keep_outputs, float(state.optimizer.param_groups[0]["lr"]))
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
    from .optim.lr_scheduler import ReduceLROnPlateau

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
    display = _Progress(progress, stream, epochs, len(train_loader))

    optimizer.zero_grad()
    for cb in ordered:
        cb.state = state
        cb.on_train_begin(state)
    with _mode(model, True), contextlib.closing(display):
        while (state.epochs_done < epochs and not state.stop_training
               and (max_steps is None or state.step < max_steps)):
            state.epoch = state.epochs_done
            if state.totals is None:
                state.totals = _EpochTotals(bool(metric_list),
                                            float(optimizer.param_groups[0]["lr"]))
                for cb in ordered:
                    cb.on_epoch_begin(state.epoch)
            finished = _train_epoch(state, loss_fn, params, clip_grad_norm, accumulate_steps,
                                    scheduler is not None and scheduler_interval == "step",
                                    max_steps, display, device, ordered)
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


# --- evaluation and prediction ----------------------------------------------------------------

def _evaluate(model, loader, loss_fn, metric_list, owner: str, where: str) -> dict:
    device = _model_device(model)
    totals = _EpochTotals(bool(metric_list))
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
