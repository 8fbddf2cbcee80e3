"""Measuring a compressed model against its float original: test accuracy, bytes on disk,
inference time per 10,000 images. ``python -m minigrad quantize`` and
``examples/quantize_mnist.py`` print these rows."""

from __future__ import annotations

import time

from ..autograd import no_grad
from ..backend import array_module
from .size import saved_size

__all__ = ["measure", "calibrate", "format_rows"]


def _batches(x, batch_size):
    for start in range(0, x.shape[0], batch_size):
        yield x[start:start + batch_size]


def calibrate(prepared, x, batch_size: int = 500, batches: int = 10) -> None:
    """Run ``batches`` batches of ``x`` (a Tensor) through a prepared model (eval mode)."""
    prepared.eval()
    with no_grad():
        for i, chunk in enumerate(_batches(x, batch_size)):
            if i >= batches:
                break
            prepared(chunk)


def measure(model, x, y, batch_size: int = 1000, repeats: int = 3) -> dict:
    """``{'accuracy', 'ms_per_10k', 'bytes_on_disk'}`` of a classifier on (x, y) (Tensors):
    the best of ``repeats`` timed passes over all of x (the first pass also warms up)."""
    model.eval()
    best = float("inf")
    with no_grad():
        for _ in range(repeats):
            start = time.perf_counter()
            predictions = [out.data.argmax(axis=1) for out in
                           (model(chunk) for chunk in _batches(x, batch_size))]
            best = min(best, time.perf_counter() - start)
    xp = array_module(predictions[0])
    correct = int((xp.concatenate(predictions) == y.data).sum())
    return {"accuracy": correct / x.shape[0], "ms_per_10k": 1000 * best * 10_000 / x.shape[0],
            "bytes_on_disk": saved_size(model)}


def format_rows(results: dict, reference: str = "float32") -> list:
    """Table rows: name, accuracy (%), Δ points against ``reference``, bytes on disk, times
    smaller, ms per 10k images, times faster."""
    base = results[reference]
    rows = []
    for name, r in results.items():
        rows.append([name, f"{100 * r['accuracy']:.2f}",
                     f"{100 * (r['accuracy'] - base['accuracy']):+.2f}",
                     f"{r['bytes_on_disk']:,}",
                     f"{base['bytes_on_disk'] / r['bytes_on_disk']:.2f}x",
                     f"{r['ms_per_10k']:.0f}", f"{base['ms_per_10k'] / r['ms_per_10k']:.2f}x"])
    return rows


HEADERS = ["model", "accuracy %", "Δ points", "bytes on disk", "smaller", "ms / 10k images",
           "speed"]
