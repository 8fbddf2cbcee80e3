"""How sparse a model is: :func:`sparsity` of one tensor and :class:`SparsityReport` per layer
and global."""

from __future__ import annotations



from .... import backend
from ...module import Module
from .functional import _pairs
from .methods import _pruning_hook, _raw


# ---------------------------------------------------------------------------------------------
# Sparsity


def sparsity(t) -> float:
    """The fraction of entries equal to zero, zeros / numel, of a tensor or array (0.0 for
    an empty one); for a Module, the global figure of :func:`sparsity_report` (all its
    parameters, pruned ones as orig ⊙ mask)."""
    if isinstance(t, Module):
        return sparsity_report(t).sparsity
    array = _raw(t)
    if array.size == 0:
        return 0.0
    xp = backend.array_module(array)
    return int(array.size - xp.count_nonzero(array)) / array.size


def _effective(module, name):
    """The array the forward uses for ``module.<name>``: orig ⊙ mask when pruned."""
    if _pruning_hook(module, name) is not None:
        return module._parameters[name + "_orig"].data * module._buffers[name + "_mask"].data
    param = module._parameters.get(name)
    if param is None:
        raise AttributeError(f"sparsity_report: {type(module).__name__} has no parameter "
                             f"{name!r}")
    return param.data


class SparsityReport:
    """Zeros per tensor and overall. ``layers`` maps a dotted name ('0.weight') to a dict
    {'zeros', 'total', 'sparsity'}; ``zeros``, ``total`` and ``sparsity`` are the global
    figures (sparsity = Σ zeros / Σ total). ``as_dict()`` gives plain dicts, ``str()`` a
    table."""

    def __init__(self, rows):
        self.layers = {name: {"zeros": zeros, "total": total,
                              "sparsity": zeros / total if total else 0.0}
                       for name, zeros, total in rows}
        self.zeros = sum(row["zeros"] for row in self.layers.values())
        self.total = sum(row["total"] for row in self.layers.values())
        self.sparsity = self.zeros / self.total if self.total else 0.0

    def as_dict(self) -> dict:
        return {"layers": {name: dict(row) for name, row in self.layers.items()},
                "global": {"zeros": self.zeros, "total": self.total,
                           "sparsity": self.sparsity}}

    def __str__(self):
        rows = [(name, row["zeros"], row["total"], row["sparsity"])
                for name, row in self.layers.items()]
        rows.append(("global", self.zeros, self.total, self.sparsity))
        width = max(len("tensor"), *(len(r[0]) for r in rows))
        lines = [f"{'tensor':<{width}}  {'zeros':>10}  {'total':>10}  {'sparsity':>8}"]
        for i, (name, zeros, total, frac) in enumerate(rows):
            if i == len(rows) - 1:
                lines.append("-" * len(lines[0]))
            lines.append(f"{name:<{width}}  {zeros:>10d}  {total:>10d}  {frac:>8.2%}")
        return "\n".join(lines)

    __repr__ = __str__


def sparsity_report(model, parameters=None) -> SparsityReport:
    """The fraction of zero entries of each tensor the forward uses, and overall.

    Args:
        model: a Module.
        parameters: optional (module, name) pairs inside ``model`` to report; by default
            every parameter of every module, a pruned tensor counted under its own name
            (``weight``, as orig ⊙ mask) rather than as ``weight_orig``.
    """
    if not isinstance(model, Module):
        raise TypeError(f"sparsity_report: expected a Module, got {type(model).__name__}")
    prefixes = {id(m): prefix for prefix, m in model.named_modules()}
    if parameters is None:
        pairs = []
        for _, m in model.named_modules():
            for pname, param in m._parameters.items():
                base = pname[:-len("_orig")] if pname.endswith("_orig") else None
                if base is not None and _pruning_hook(m, base) is not None:
                    pairs.append((m, base))
                elif param is not None:
                    pairs.append((m, pname))
    else:
        pairs = _pairs(parameters, "sparsity_report")
        for m, _ in pairs:
            if id(m) not in prefixes:
                raise ValueError(f"sparsity_report: a {type(m).__name__} in parameters is "
                                 f"not inside the model")
    rows = []
    for m, name in pairs:
        array = _effective(m, name)
        prefix = prefixes[id(m)]
        xp = backend.array_module(array)
        zeros = int(array.size - xp.count_nonzero(array))
        rows.append((f"{prefix}.{name}" if prefix else name, zeros, int(array.size)))
    return SparsityReport(rows)
