"""What an epoch's logs hold: the named metrics as :func:`fit` computes them from raw model
outputs, and the running sums of one pass over a loader (see the package docstring,
"Epoch logs" and "Metrics")."""

from __future__ import annotations

import time

import numpy as np

from .. import metrics as _metrics
from ..tensor import Tensor
from ._helpers import _concat, _host


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
    raw outputs and targets kept (on their device, as references, no copy) for the metrics.

    With ``group`` (a process group: the loader gives each rank its share of the data) the mean
    loss and the metrics are those of all the ranks' samples: the sums are all-reduced and the
    kept outputs gathered, so every rank logs the same global values."""

    def __init__(self, keep_outputs: bool, lr=None, group=None):
        self.keep_outputs = keep_outputs
        self.lr = lr
        self.group = group
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
        """Σ n_b L_b / Σ n_b, over every rank's batches with a group (the running value the
        progress line shows is this rank's)."""
        if self.group is None:
            return self.loss_sum / self.samples
        from .. import distributed
        from ..tensor import Tensor
        sums = Tensor._make(np.array([self.loss_sum, self.samples], dtype=np.float64))
        distributed.all_reduce(sums, group=self.group)
        return float(sums.data[0] / sums.data[1])

    def metric_logs(self, metric_list, prefix: str = "") -> dict:
        if not metric_list:
            return {}
        outputs, targets = _host(_concat(self.outputs)), _host(_concat(self.targets))
        if self.group is not None:   # the metric of all the ranks' samples
            from .. import distributed
            outputs = distributed.gather_rows(outputs, self.group)
            targets = distributed.gather_rows(targets, self.group)
        return {prefix + name: float(fn(outputs, targets)) for name, fn in metric_list}

    def state_dict(self) -> dict:
        outputs, targets = _concat(self.outputs), _concat(self.targets)
        self.outputs = [] if outputs is None else [outputs]  # keep one array, not many
        self.targets = [] if targets is None else [targets]
        return {"lr": self.lr, "loss_sum": self.loss_sum, "samples": self.samples,
                "batches": self.batches, "elapsed": time.perf_counter() - self.clock,
                "outputs": outputs, "targets": targets}

    @classmethod
    def from_state(cls, state: dict, keep_outputs: bool, group=None) -> "_EpochTotals":
        totals = cls(keep_outputs, state["lr"], group)
        totals.loss_sum = float(state["loss_sum"])
        totals.samples = int(state["samples"])
        totals.batches = int(state["batches"])
        totals.clock -= float(state["elapsed"])
        if keep_outputs and state["outputs"] is not None:
            totals.outputs, totals.targets = [state["outputs"]], [state["targets"]]
        return totals
