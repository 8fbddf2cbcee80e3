"""How big a model is: bytes of every parameter and buffer, per layer, and on disk."""

from __future__ import annotations

import os
import tempfile

from ..nn.module import Module

__all__ = ["size_report", "print_size", "saved_size"]


def size_report(model: Module) -> list:
    """One row per layer holding state: ``{'layer', 'type', 'bytes', 'dtypes'}`` (bytes of its
    own parameters and buffers, as stored), in module order; then a ``'total'`` row."""
    if not isinstance(model, Module):
        raise TypeError(f"size_report: expected an nn.Module, got {type(model).__name__}")
    rows, total = [], 0
    for name, module in model.named_modules():
        tensors = [t for t in list(module._parameters.values()) + list(module._buffers.values())
                   if t is not None]
        if not tensors:
            continue
        nbytes = sum(int(t.data.nbytes) for t in tensors)
        dtypes = sorted({str(t.dtype) for t in tensors})
        rows.append({"layer": name or "(model)", "type": type(module).__name__,
                     "bytes": nbytes, "dtypes": ",".join(dtypes)})
        total += nbytes
    rows.append({"layer": "total", "type": "", "bytes": total, "dtypes": ""})
    return rows


def saved_size(model: Module) -> int:
    """Bytes of ``minigrad.save(model.state_dict(), path)`` (written to a temporary file)."""
    from ..serialization import save
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.mg")
        save(model.state_dict(), path)
        return os.path.getsize(path)


def print_size(model: Module, file=None) -> int:
    """Print the size report (a table: layer, type, dtypes, bytes) and the size on disk;
    returns the total bytes in memory."""
    rows = size_report(model)
    width = max(len(r["layer"]) for r in rows)
    kind = max(len(r["type"]) for r in rows)
    for r in rows:
        print(f"{r['layer']:<{width}}  {r['type']:<{kind}}  {r['dtypes']:<16} "
              f"{r['bytes']:>12,} B", file=file)
    print(f"{'on disk':<{width}}  {'':<{kind}}  {'':<16} {saved_size(model):>12,} B", file=file)
    return rows[-1]["bytes"]
