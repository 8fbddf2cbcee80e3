"""``minigrad.summary(model, input_size)``: a layer-by-layer table in the manner of torchinfo.

One forward pass on an input of ``input_size`` is traced: every module's ``forward`` is
wrapped for the duration of the call (an instance attribute shadowing the class's method),
so each call of each module gives one row, in execution order, with

- the module's dotted name and type, its depth in the module tree;
- its input and output shapes;
- its parameter count (own and descendants'), and whether they are trainable
  (``True``, ``False``, ``'Partial'``, or ``'--'`` for none);
- its multiply-adds for that call (descendants' included), by these rules::

      Linear          output.numel() · in_features        (each output is a dot product)
      Conv2d          output.numel() · in_channels · kh · kw
      BatchNorm, LayerNorm (affine)   output.numel()      (y = x̂ · γ + β)
      anything else   0 (activations, pooling, dropout, reshapes, lookups), unless a
                      rule is added with :func:`register_mult_adds`

  (torchinfo also counts each bias addition as a multiply-add; here only products count).

The model runs in eval mode under ``no_grad`` (so BatchNorm's running statistics and dropout
masks are untouched), and afterwards every module's ``forward`` and ``training`` flag are put
back as they were, even when the forward pass fails.

Totals: parameters (each counted once, even when shared), trainable and not, mult-adds; and
memory estimates in bytes: the input, the forward/backward activations (every leaf module's
output, twice: once kept for backward, once for its gradient), the parameters and buffers.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

import numpy as np

from . import backend
from .autograd import no_grad
from .tensor import Tensor

__all__ = ["summary", "ModelSummary", "LayerRow", "register_mult_adds"]


# --- multiply-adds ----------------------------------------------------------------------------

def _linear_mult_adds(module, output) -> int:
    return output.numel() * module.in_features


def _conv_mult_adds(module, output) -> int:
    kh, kw = module.kernel_size
    return output.numel() * module.in_channels * kh * kw // getattr(module, "groups", 1)


def _norm_mult_adds(module, output) -> int:
    affine = getattr(module, "affine", getattr(module, "elementwise_affine", False))
    return output.numel() if affine else 0


_RULES: dict = {}


def register_mult_adds(module_type, rule) -> None:
    """Count ``rule(module, output)`` multiply-adds for each call of a ``module_type`` module
    (``output`` is its first output Tensor). Subclasses inherit the rule."""
    if not isinstance(module_type, type) or not callable(rule):
        raise TypeError(f"register_mult_adds: expected a Module class and a callable, got "
                        f"{module_type!r} and {rule!r}")
    _RULES[module_type] = rule


def _default_rules() -> None:
    from . import nn
    for module_type, rule in ((nn.Linear, _linear_mult_adds), (nn.Conv2d, _conv_mult_adds),
                              (nn.BatchNorm1d, _norm_mult_adds), (nn.BatchNorm2d, _norm_mult_adds),
                              (nn.LayerNorm, _norm_mult_adds)):
        _RULES.setdefault(module_type, rule)


def _own_mult_adds(module, output) -> int:
    first = _first_tensor(output)
    if first is None:
        return 0
    for klass in type(module).__mro__:
        if klass in _RULES:
            return int(_RULES[klass](module, first))
    return 0


# --- rows and the table -------------------------------------------------------------------

@dataclass
class LayerRow:
    """One call of one module during the traced forward pass."""

    name: str                 # dotted name ('' for the model itself)
    type: str                 # class name
    depth: int                # 0 for the model, 1 for its children, ...
    input_shape: list = None
    output_shape: list = None
    num_params: int = 0       # own and descendants', each counted once
    own_params: int = 0       # this module's own parameters only
    trainable: object = "--"  # True, False, 'Partial' or '--' (no parameters)
    mult_adds: int = 0        # this call's, descendants' included
    is_leaf: bool = True      # no child modules
    children_shown: bool = False


def _shapes(obj):
    """Shapes of a forward's inputs or output: a list for a Tensor/array, nested for
    tuples/lists/dicts of them, None for anything else."""
    if isinstance(obj, Tensor) or hasattr(obj, "shape") and hasattr(obj, "dtype"):
        return [int(d) for d in obj.shape]
    if isinstance(obj, (tuple, list)):
        shapes = [_shapes(o) for o in obj]
        return shapes[0] if len(shapes) == 1 else shapes
    if isinstance(obj, dict):
        return {k: _shapes(v) for k, v in obj.items()}
    return None


def _first_tensor(obj):
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (tuple, list)):
        for o in obj:
            found = _first_tensor(o)
            if found is not None:
                return found
    if isinstance(obj, dict):
        return _first_tensor(list(obj.values()))
    return None


def _tensors(obj):
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (tuple, list)):
        for o in obj:
            yield from _tensors(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors(o)


def _trainable(params) -> object:
    if not params:
        return "--"
    flags = {bool(p.requires_grad) for p in params}
    return flags.pop() if len(flags) == 1 else "Partial"


@dataclass
class ModelSummary:
    """What :func:`summary` found; ``print()`` it for the table. ``rows`` are the rows within
    ``depth``, ``all_rows`` every call; sizes are in bytes."""

    model_type: str
    rows: list
    all_rows: list
    total_params: int
    trainable_params: int
    total_mult_adds: int
    input_bytes: int
    activation_bytes: int
    param_bytes: int
    buffer_bytes: int
    depth: int
    columns: tuple = field(default=("Output Shape", "Param #", "Trainable", "Mult-Adds"))

    @property
    def non_trainable_params(self) -> int:
        return self.total_params - self.trainable_params

    @property
    def total_bytes(self) -> int:
        return self.input_bytes + self.activation_bytes + self.param_bytes + self.buffer_bytes

    def to_dict(self) -> dict:
        """Plain data (for JSON): the totals and every shown row."""
        keys = ("total_params", "trainable_params", "non_trainable_params", "total_mult_adds",
                "input_bytes", "activation_bytes", "param_bytes", "buffer_bytes", "total_bytes")
        out = {k: getattr(self, k) for k in keys}
        out["model"] = self.model_type
        out["rows"] = [dict(vars(row)) for row in self.rows]
        return out

    def _cells(self, row: LayerRow, prefix: str) -> list:
        label = f"{row.name} ({row.type})" if row.depth else row.type
        shows_own = row.children_shown  # its children carry the rest of the count
        params = row.own_params if shows_own else row.num_params
        return [prefix + label, str(row.output_shape) if row.output_shape is not None else "--",
                f"{params:,}" if params else "--", str(row.trainable),
                f"{row.mult_adds:,}" if row.mult_adds else "--"]

    def __str__(self) -> str:
        body = []
        for i, row in enumerate(self.rows):
            prefix = ""
            if row.depth:
                prefix = "│    " * (row.depth - 1) + "├─"
            body.append(self._cells(row, prefix))
        header = ["Layer (type)", *self.columns]
        widths = [max(len(r[c]) for r in body + [header]) for c in range(len(header))]
        widths[0] = max(widths[0], 30)

        def line(cells):
            return (cells[0].ljust(widths[0]) + "  "
                    + "  ".join(c.rjust(w) for c, w in zip(cells[1:], widths[1:])))

        rule_width = sum(widths) + 2 * (len(widths) - 1)
        thick, thin = "=" * rule_width, "-" * rule_width
        mb = 1e6
        lines = [thick, line(header), thick, *(line(cells) for cells in body), thick,
                 f"Total params: {self.total_params:,}",
                 f"Trainable params: {self.trainable_params:,}",
                 f"Non-trainable params: {self.non_trainable_params:,}",
                 f"Total mult-adds (M): {self.total_mult_adds / 1e6:.2f}", thin,
                 f"Input size (MB): {self.input_bytes / mb:.2f}",
                 f"Forward/backward pass size (MB): {self.activation_bytes / mb:.2f}",
                 f"Params size (MB): {self.param_bytes / mb:.2f}",
                 f"Buffers size (MB): {self.buffer_bytes / mb:.2f}",
                 f"Estimated total size (MB): {self.total_bytes / mb:.2f}", thick]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)


# --- tracing --------------------------------------------------------------------------------

class _Tracer:
    """Wraps each module's forward; records one row per call, in execution order."""

    def __init__(self, model):
        self.model = model
        self.rows: list[LayerRow] = []
        self.stack: list[LayerRow] = []  # the rows whose forward is running
        self.leaf_output_bytes = 0
        self.saved: list = []            # (module, the instance 'forward' it had, or None)

    def install(self) -> None:
        for name, module in self.model.named_modules():
            self.saved.append((module, module.__dict__.get("forward")))
            module.__dict__["forward"] = self._wrap(name, module, module.forward)

    def restore(self) -> None:
        for module, own in reversed(self.saved):
            if own is None:
                module.__dict__.pop("forward", None)
            else:
                module.__dict__["forward"] = own
        self.saved.clear()

    def _wrap(self, name: str, module, forward):
        params = list(module.parameters())
        own = sum(p.numel() for p in module.parameters(recurse=False))
        depth = 0 if not name else name.count(".") + 1
        is_leaf = not any(True for _ in module.children())

        def traced(*args, **kwargs):
            row = LayerRow(name=name, type=type(module).__name__, depth=depth,
                           input_shape=_shapes(args), num_params=sum(p.numel() for p in params),
                           own_params=own, trainable=_trainable(params), is_leaf=is_leaf)
            self.rows.append(row)
            self.stack.append(row)
            try:
                output = forward(*args, **kwargs)
            finally:
                self.stack.pop()
            row.output_shape = _shapes(output)
            macs = _own_mult_adds(module, output)
            row.mult_adds += macs
            for ancestor in self.stack:
                ancestor.mult_adds += macs
            if is_leaf:
                self.leaf_output_bytes += sum(t.numel() * t.dtype.itemsize
                                              for t in _tensors(output))
            return output

        return traced


def _example_input(input_size, dtype, device):
    """A standard-normal input (zeros for integer dtypes) of ``input_size``, or a tuple of
    them for a list of sizes. Drawn on the host from a private generator (seed 0), so that a
    summary neither consumes nor depends on minigrad's random state."""
    rng = np.random.default_rng(0)
    dtype = np.dtype(dtype)

    def one(shape):
        if (not isinstance(shape, (tuple, list)) or not all(
                isinstance(d, numbers.Integral) and not isinstance(d, bool) and d >= 0
                for d in shape)):
            raise ValueError(f"summary: input_size must be a tuple of non-negative ints (or a "
                             f"list of them), got {input_size!r}")
        if dtype.kind in "iub":
            array = np.zeros(tuple(shape), dtype=dtype)
        else:
            array = rng.standard_normal(tuple(shape)).astype(dtype)
        return Tensor._make(backend.to_device(array, device))

    if isinstance(input_size, list) and input_size and isinstance(input_size[0], (tuple, list)):
        return tuple(one(s) for s in input_size)
    return (one(input_size),)


def summary(model, input_size=(1, 1, 28, 28), depth: int = 3, *, input_data=None,
            dtype=None, device=None) -> ModelSummary:
    """Trace one forward pass of ``model`` and tabulate its layers (see the module docstring).

    Args:
        model: a :class:`minigrad.nn.Module`.
        input_size: the input's shape, batch included, or a list of shapes for a model
            taking several inputs. Ignored when ``input_data`` is given.
        depth: the deepest module level shown (0: the model alone, 1: its children, ...);
            the hidden levels still count in the rows above them and in the totals.
        input_data: a Tensor (or tuple of Tensors) to run instead of a random input.
        dtype: the random input's dtype (default float32; integer dtypes give zeros, e.g. for
            an Embedding).
        device: where the random input lives (default: the model's first parameter's device).
    Returns:
        a :class:`ModelSummary`; ``print(summary(model))`` prints the table.
    """
    from .nn import Module
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a minigrad.nn.Module, got "
                        f"{type(model).__name__}")
    if isinstance(depth, bool) or not isinstance(depth, numbers.Integral) or depth < 0:
        raise ValueError(f"summary: depth must be a non-negative int, got {depth!r}")
    _default_rules()
    params = list(model.parameters())
    if device is None:
        device = params[0].device if params else backend.cpu
    if input_data is None:
        inputs = _example_input(input_size, dtype or np.float32, device)
    else:
        inputs = input_data if isinstance(input_data, tuple) else (input_data,)
    modes = [(m, m.training) for m in model.modules()]
    tracer = _Tracer(model)
    try:
        tracer.install()
        model.eval()
        with no_grad():
            model(*inputs)
    except Exception as exc:
        raise RuntimeError(f"summary: the forward pass of {type(model).__name__} failed on "
                           f"inputs of shape {_shapes(inputs)}: {type(exc).__name__}: "
                           f"{exc}") from exc
    finally:
        tracer.restore()
        for module, training in modes:
            module.__dict__["training"] = training
    shown = [row for row in tracer.rows if row.depth <= depth]
    for row in shown:
        row.children_shown = not row.is_leaf and row.depth < depth
    buffers = list(model.buffers())
    return ModelSummary(
        model_type=type(model).__name__, rows=shown, all_rows=tracer.rows,
        total_params=sum(p.numel() for p in params),
        trainable_params=sum(p.numel() for p in params if p.requires_grad),
        total_mult_adds=sum(r.mult_adds for r in tracer.rows if r.depth == 0) if tracer.rows
        else 0,
        input_bytes=sum(t.numel() * t.dtype.itemsize for t in _tensors(inputs)),
        activation_bytes=2 * tracer.leaf_output_bytes,
        param_bytes=sum(p.numel() * p.dtype.itemsize for p in params),
        buffer_bytes=sum(b.numel() * b.dtype.itemsize for b in buffers), depth=depth)
