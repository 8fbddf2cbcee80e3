"""The progress display of :func:`fit`: one redrawn line on a terminal (at most ten times a
second), one summary line per epoch otherwise."""

from __future__ import annotations

import math
import sys
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .epoch_logs import _EpochTotals

_REDRAW_SECONDS = 0.1  # progress redraws at most ten times a second


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
