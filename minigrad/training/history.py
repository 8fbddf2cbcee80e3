"""The per-epoch logs of a training run, and their JSON and CSV files."""

from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

from ..serialization import atomic_write_text


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
