"""The gradient-flow monitor: a :func:`fit` callback that records, per layer and epoch, the
gradient norms and the update-to-weight ratios of the real optimizer steps, and the fraction of
dead ReLU units, and warns once per layer and problem.

For a layer L (the module that owns the parameters, e.g. ``'3'`` of a Sequential) and one
optimizer step::

    ‖g_L‖ = √(Σ_{p ∈ L} Σ_i g_{p,i}²)                   the gradient norm (before clipping)
    r_L   = ‖θ_L,after − θ_L,before‖ / ‖θ_L,before‖      the update-to-weight ratio

read from the parameters' ``.grad`` (step hook ``on_before_optimizer_step``) and from the
parameters themselves before and after ``optimizer.step()`` (``on_batch_end``): the monitor
computes no update of its own. Each epoch's record holds the mean and the largest ‖g_L‖, the
mean r_L and, for every ``nn.ReLU`` module, the fraction of its units (features, or channels of
images) that were zero for every training sample of the epoch.

Warnings (:class:`GradientFlowWarning`, each kind once per layer): ``vanishing`` (an epoch's
mean ‖g_L‖ below ``vanishing``), ``exploding`` (a step's ‖g_L‖ above ``exploding``),
``non-finite`` (a NaN or inf gradient), ``large update`` (an epoch's mean r_L above
``max_update_ratio``; around 1e-3 is the usual healthy size) and ``dead ReLU`` (a dead
fraction of at least ``dead_fraction``). ``plot(path)`` draws the records when matplotlib is
installed.
"""

from __future__ import annotations

import math
import warnings

from .. import backend
from .callbacks import Callback

__all__ = ["GradientFlowMonitor", "GradientFlowWarning"]


class GradientFlowWarning(UserWarning):
    """A vanishing, exploding or non-finite gradient, a too large update or dead ReLUs."""


class GradientFlowMonitor(Callback):
    """Record per-layer gradient norms, update-to-weight ratios and dead ReLUs each epoch.

    Args:
        vanishing: warn when a layer's mean gradient norm over an epoch is below this.
        exploding: warn when a layer's gradient norm at one step is above this.
        max_update_ratio: warn when a layer's mean ‖Δθ‖/‖θ‖ over an epoch is above this.
        dead_fraction: warn when at least this fraction of a ReLU's units is dead.
        plot_path: where :meth:`on_train_end` saves the plot (needs matplotlib), or None.
        stream_warnings: also report each warning as it happens (the warnings are in
            ``self.warnings`` either way): through ``on_warning(message)`` when given (the
            train command prints them), else ``warnings.warn``.

    ``records`` is a list, one dict per epoch: ``{layer: {"grad_norm": mean, "grad_norm_max":
    max, "update_ratio": mean, "steps": n}}``, plus ``{relu_name: {"dead_fraction": f}}``.
    """

    def __init__(self, vanishing=1e-7, exploding=1e3, max_update_ratio=1.0, dead_fraction=0.9,
                 plot_path=None, stream_warnings=True, on_warning=None):
        self.vanishing, self.exploding = float(vanishing), float(exploding)
        self.max_update_ratio, self.dead_fraction = float(max_update_ratio), float(dead_fraction)
        self.plot_path, self.stream_warnings = plot_path, stream_warnings
        self.on_warning = on_warning
        self.records, self.warnings = [], []
        self._warned = set()
        self._layer_of = {}        # id(parameter) -> layer name
        self._before = None        # the parameters' arrays before the pending step
        self._epoch = {}
        self._alive = {}           # ReLU name -> per-unit "was ever positive" mask (device)
        self._hooks = []

    # --- setup ---------------------------------------------------------------------------

    def on_train_begin(self, state) -> None:
        from ..nn import ReLU

        model = state.model
        kinds = {name: type(m).__name__ for name, m in model.named_modules()}
        for name, p in model.named_parameters():
            layer = name.rpartition(".")[0] or name
            self._layer_of[id(p)] = f"{layer} ({kinds.get(layer, '?')})"
        for name, module in model.named_modules():
            if isinstance(module, ReLU):
                self._hooks.append(module.register_forward_hook(self._relu_hook(
                    f"{name} (ReLU)")))

    def _relu_hook(self, name):
        def record(module, args, output):
            if not module.training:
                return
            data = output.data
            xp = backend.array_module(data)
            axes = tuple(i for i in range(data.ndim) if i != 1) if data.ndim > 1 else ()
            positive = xp.any(data > 0, axis=axes) if axes else data > 0
            alive = self._alive.get(name)
            self._alive[name] = positive if alive is None else alive | positive
        return record

    # --- the step ------------------------------------------------------------------------

    def on_before_optimizer_step(self, params) -> bool:
        squares = {}
        for p in params:
            if p.grad is None:
                continue
            g = p.grad.data
            xp = backend.array_module(g)
            layer = self._layer_of.get(id(p), "(unnamed)")
            squares[layer] = squares.get(layer, 0.0) + float(xp.sum(g * g).item())
        for layer, total in squares.items():
            norm = math.sqrt(total) if math.isfinite(total) else float("nan")
            entry = self._entry(layer)
            entry["norms"].append(norm)
            if not math.isfinite(norm):
                self._warn(layer, "non-finite", "a gradient holds NaN or inf")
            elif norm > self.exploding:
                self._warn(layer, "exploding", f"gradient norm {norm:.3g} > {self.exploding:g}")
        self._before = [(p, p.data.copy()) for p in params if p.grad is not None]
        return True

    def on_batch_end(self, batch, logs) -> None:
        if self._before is None:
            return
        moved, size = {}, {}
        for p, before in self._before:
            xp = backend.array_module(before)
            layer = self._layer_of.get(id(p), "(unnamed)")
            moved[layer] = moved.get(layer, 0.0) + float(xp.sum((p.data - before) ** 2).item())
            size[layer] = size.get(layer, 0.0) + float(xp.sum(before * before).item())
        for layer, total in moved.items():
            if size[layer] > 0:
                self._entry(layer)["ratios"].append(math.sqrt(total / size[layer]))
        self._before = None

    def _entry(self, layer):
        return self._epoch.setdefault(layer, {"norms": [], "ratios": []})

    # --- the epoch -----------------------------------------------------------------------

    def on_epoch_end(self, epoch, logs) -> None:
        record = {}
        for layer, entry in self._epoch.items():
            norms = entry["norms"]
            finite = [n for n in norms if math.isfinite(n)]
            mean = sum(finite) / len(finite) if finite else float("nan")
            ratios = entry["ratios"]
            ratio = sum(ratios) / len(ratios) if ratios else float("nan")
            record[layer] = {"grad_norm": mean, "grad_norm_max": max(finite, default=math.nan),
                             "update_ratio": ratio, "steps": len(norms)}
            if finite and mean < self.vanishing:
                self._warn(layer, "vanishing", f"mean gradient norm {mean:.3g} < "
                                               f"{self.vanishing:g}")
            if ratios and ratio > self.max_update_ratio:
                self._warn(layer, "large update", f"mean update/weight ratio {ratio:.3g} > "
                                                  f"{self.max_update_ratio:g}")
        for name, alive in self._alive.items():
            dead = 1.0 - float(alive.mean().item())
            record[name] = {"dead_fraction": dead}
            if dead >= self.dead_fraction:
                self._warn(name, "dead ReLU", f"{dead:.0%} of its units were zero for every "
                                              f"training sample this epoch")
        self.records.append(record)
        self._epoch, self._alive = {}, {}

    def on_train_end(self, state) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        if self.plot_path is not None and self.records:
            self.plot(self.plot_path)

    def _warn(self, layer, kind, detail):
        if (layer, kind) in self._warned:
            return
        self._warned.add((layer, kind))
        message = f"gradient flow: layer {layer}: {kind}: {detail}"
        self.warnings.append(message)
        if self.stream_warnings and self.on_warning is not None:
            self.on_warning(message)
        elif self.stream_warnings:
            warnings.warn(message, GradientFlowWarning, stacklevel=2)

    # --- showing it ----------------------------------------------------------------------

    def summary(self) -> str:
        """The last epoch's record as a table: layer, mean and max gradient norm, update
        ratio (or the dead fraction of a ReLU)."""
        if not self.records:
            return "gradient flow: no epoch recorded"
        rows = [f"{'layer':<24} {'|g| mean':>10} {'|g| max':>10} {'|Δθ|/|θ|':>10}"]
        for layer, values in self.records[-1].items():
            if "dead_fraction" in values:
                rows.append(f"{layer:<24} dead units {values['dead_fraction']:.1%}")
            else:
                rows.append(f"{layer:<24} {values['grad_norm']:>10.3g} "
                            f"{values['grad_norm_max']:>10.3g} {values['update_ratio']:>10.3g}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        """The records and warnings, JSON-ready (a NaN, from an epoch with no finite
        gradient, becomes None)."""
        def clean(value):
            return value if not isinstance(value, float) or math.isfinite(value) else None
        return {"records": [{layer: {k: clean(v) for k, v in values.items()}
                             for layer, values in record.items()} for record in self.records],
                "warnings": list(self.warnings)}

    def plot(self, path, missing_ok: bool = False):
        """Save the per-layer gradient norms and update ratios by epoch (log scale) to
        ``path`` and return it; needs matplotlib (without it: None if ``missing_ok``, else
        ImportError)."""
        from ..viz import pyplot

        try:
            plt = pyplot("GradientFlowMonitor.plot")
        except ImportError:
            if missing_ok:
                return None
            raise
        layers = [k for k, v in self.records[-1].items() if "grad_norm" in v]
        figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
        for layer in layers:
            epochs = [i for i, r in enumerate(self.records) if layer in r]
            left.plot(epochs, [self.records[i][layer]["grad_norm"] for i in epochs], label=layer)
            right.plot(epochs, [self.records[i][layer]["update_ratio"] for i in epochs])
        left.set(yscale="log", xlabel="epoch", title="mean gradient norm")
        right.set(yscale="log", xlabel="epoch", title="update / weight")
        left.legend(fontsize=7)
        figure.tight_layout()
        figure.savefig(path)
        plt.close(figure)
        return path

    def state_dict(self) -> dict:
        return {"warned": sorted(f"{layer}\t{kind}" for layer, kind in self._warned)}

    def load_state_dict(self, state: dict) -> None:
        self._warned = {tuple(item.split("\t", 1)) for item in state.get("warned", [])}
