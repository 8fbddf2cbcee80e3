"""Durable studies: a JSON-lines file, one finished trial per line.

The first line describes the study (``{"minigrad_tune": 1, "direction": ...}``), each further
line is a ``FrozenTrial.to_dict()``. Every finished trial is added by writing the whole file
anew to a temporary file and renaming it over the old one (``minigrad.files.atomic_write_text``),
so a crash at any moment leaves either the file before or the file after the trial, never half
a line. Reopening the file gives the study back; ``Study.optimize`` then runs only the trial
numbers not yet in it, so a study killed mid-run continues without repeating or losing trials.
"""

from __future__ import annotations

import json
import os

from ..files import atomic_write_text
from .trial import FrozenTrial

__all__ = ["JSONLStorage"]

FORMAT_VERSION = 1


class JSONLStorage:
    """The trials of one study in the file ``path`` (created on the first trial)."""

    def __init__(self, path, direction: str):
        self.path = os.fspath(path)
        self.direction = direction
        self._lines = [json.dumps({"minigrad_tune": FORMAT_VERSION, "direction": direction})]

    def load(self) -> list:
        """The trials already stored (none if the file does not exist). Raises ValueError for
        a file that is not a study of this direction."""
        if not os.path.exists(self.path):
            return []
        with open(self.path, encoding="utf-8") as f:
            lines = [line for line in f.read().split("\n") if line.strip()]
        try:
            header = json.loads(lines[0]) if lines else {}
        except json.JSONDecodeError:
            header = {}
        if header.get("minigrad_tune") != FORMAT_VERSION:
            raise ValueError(f"Study storage {self.path!r}: not a minigrad.tune study file "
                             f"(first line {lines[0][:80] if lines else ''!r})")
        if header.get("direction") != self.direction:
            raise ValueError(f"Study storage {self.path!r}: the stored study is to "
                             f"{header.get('direction')}, this one to {self.direction}")
        trials = []
        for i, line in enumerate(lines[1:], start=2):
            try:
                trials.append(FrozenTrial.from_dict(json.loads(line)))
            except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
                raise ValueError(f"Study storage {self.path!r}: line {i} is not a trial "
                                 f"({exc})") from None
        self._lines = lines
        return trials

    def append(self, trial: FrozenTrial) -> None:
        """Add one finished trial, atomically."""
        self._lines.append(json.dumps(trial.to_dict(), allow_nan=False))
        atomic_write_text(self.path, "\n".join(self._lines) + "\n", "minigrad.tune.Study")
