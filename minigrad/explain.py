"""Step-by-step accounts of an optimizer, a loss, a schedule or a layer, with the formula and the
numbers (``python -m minigrad explain WHAT``).

Every number an :class:`Explanation` holds is read from the real object after it ran: the
optimizer's ``state`` and the parameter before and after ``step()``, the loss's value with
``reduction='none'`` and with the chosen reduction and the input's ``.grad`` after backward, the
scheduler's ``get_last_lr()``, the layer's output, buffers and gradients. Nothing here computes
the math a second time (DESIGN.md decision 14); the only arithmetic is differences and ratios of
what was read (Δθ = θ_t − θ_{t−1}, the effective rate −Δθ/g) and Adam's bias-correction
constants 1 − β^t, formed from the optimizer's own step count and betas. The formula lines are
the docstring of the class or function that ran.

    from minigrad.explain import explain
    print(explain("adam", steps=3))                  # a table
    print(explain("cross_entropy").render("markdown"))
    explain("cosine", steps=20).to_dict()            # JSON-ready
"""

from __future__ import annotations

import math

from .explain_format import (
    Explanation,
    Section,
    _floats,
    _index_names,
    ascii_plot,
    formula_lines,
)

__all__ = [
    "LAYERS",
    "LOSSES",
    "OPTIMIZERS",
    "SCHEDULES",
    "Explanation",
    "Section",
    "explain",
    "explain_layer",
    "explain_loss",
    "explain_optimizer",
    "explain_schedule",
    "formula_lines",
]


# ---------------------------------------------------------------------------------------------
# Optimizers


def _sgd(params, **kw):
    from .optim import SGD
    return SGD(params, **{"lr": 0.1, **kw})


def _momentum(params, **kw):
    from .optim import SGD
    return SGD(params, **{"lr": 0.1, "momentum": 0.9, **kw})


def _nesterov(params, **kw):
    from .optim import SGD
    return SGD(params, **{"lr": 0.1, "momentum": 0.9, "nesterov": True, **kw})


def _adagrad(params, **kw):
    from .optim import Adagrad
    return Adagrad(params, **{"lr": 0.5, **kw})


def _rmsprop(params, **kw):
    from .optim import RMSprop
    return RMSprop(params, **{"lr": 0.01, **kw})


def _adam(params, **kw):
    from .optim import Adam
    return Adam(params, **{"lr": 0.1, **kw})


def _amsgrad(params, **kw):
    from .optim import Adam
    return Adam(params, **{"lr": 0.1, "amsgrad": True, **kw})


def _adamw(params, **kw):
    from .optim import AdamW
    return AdamW(params, **{"lr": 0.1, **kw})


def _lbfgs(params, **kw):
    from .optim import LBFGS
    return LBFGS(params, **{"lr": 1.0, "max_iter": 1, "max_eval": 25, **kw})


def _cg(params, **kw):
    from .optim import ConjugateGradient
    return ConjugateGradient(params, **{"lr": 1.0, "max_iter": 1, "max_eval": 25, **kw})


#: explain's optimizer names -> a builder taking (params, **hyper-parameters).
OPTIMIZERS = {"sgd": _sgd, "momentum": _momentum, "nesterov": _nesterov, "adagrad": _adagrad,
              "rmsprop": _rmsprop, "adam": _adam, "amsgrad": _amsgrad, "adamw": _adamw,
              "lbfgs": _lbfgs, "cg": _cg}
_CLOSURE_OPTIMIZERS = ("lbfgs", "cg")

#: The built-in toy problem: f(θ) = ½ Σ a_i θ_i², from θ_0 = (1, −2).
QUADRATIC_CURVATURE = (1.0, 5.0)
QUADRATIC_START = (1.0, -2.0)

_STATE_NAMES = {"exp_avg": "m_t", "exp_avg_sq": "v_t", "max_exp_avg_sq": "v^max",
                "momentum_buffer": "b_t", "square_avg": "v_t", "grad_avg": "g^ave", "sum": "s_t"}


def explain_optimizer(name: str, params=None, grads=None, steps: int = 3, **hyper) -> Explanation:
    """Run optimizer ``name`` for ``steps`` steps on one float64 parameter vector and report,
    per step and element: θ_{t−1}, the gradient g_t it used, every state buffer after the step,
    Adam's bias corrections, the step Δθ_t and the effective rate −Δθ_t/g_t.

    ``params`` (θ_0) and ``grads`` (one gradient for every step, or a list with one per step)
    give the problem; without ``grads`` the gradient is that of the built-in quadratic
    f(θ) = ½ Σ a_i θ_i² with a = QUADRATIC_CURVATURE, computed by backward at every step.
    """
    import minigrad as mg

    if name not in OPTIMIZERS:
        raise ValueError(f"explain_optimizer: unknown optimizer {name!r}; expected one of "
                         f"{', '.join(OPTIMIZERS)}")
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"explain_optimizer: steps must be a positive integer, got {steps!r}")
    start = list(QUADRATIC_START if params is None else params)
    theta = mg.tensor(start, dtype=mg.float64, requires_grad=True)
    per_step = _gradient_schedule(grads, len(start), steps)
    if per_step is not None and name in _CLOSURE_OPTIMIZERS:
        raise ValueError(f"explain_optimizer: {name} re-evaluates the loss inside its step, so "
                         f"it needs the built-in quadratic, not fixed --grads")
    curvature = None
    if per_step is None:
        curvature = mg.tensor(_curvature(len(start)), dtype=mg.float64)
    optimizer = OPTIMIZERS[name]([theta], **hyper)
    group = optimizer.param_groups[0]

    def closure():
        optimizer.zero_grad()
        loss = 0.5 * (curvature * theta * theta).sum()
        loss.backward()
        return loss

    rows, buffer_names = [], None
    for t in range(1, steps + 1):
        before = _floats(theta)
        if name in _CLOSURE_OPTIMIZERS:
            closure()
            used_grad = _floats(theta.grad)       # the gradient at θ_{t−1} the step starts from
            optimizer.step(closure)
        else:
            if per_step is None:
                closure()
            else:
                theta.grad = mg.tensor(per_step[t - 1], dtype=mg.float64)
            used_grad = _floats(theta.grad)
            optimizer.step()
        after = _floats(theta)
        state = optimizer.state[theta]
        buffers = {k: _floats(v) for k, v in state.items()
                   if hasattr(v, "shape") and tuple(v.shape) == tuple(theta.shape)}
        if buffer_names is None:
            buffer_names = list(buffers)
        corrections = _bias_corrections(group, state)
        for i, index in enumerate(_index_names(theta.shape)):
            delta = after[i] - before[i]
            rate = -delta / used_grad[i] if used_grad[i] != 0 else ""   # no rate without g
            rows.append([t, f"θ{index}", before[i], used_grad[i]]
                        + [buffers[k][i] if k in buffers else "" for k in buffer_names]
                        + list(corrections.values()) + [delta, after[i], rate])
    headers = (["t", "param", "θ_{t-1}", "g_t"]
               + [f"{_STATE_NAMES.get(k, k)}" for k in buffer_names]
               + list(_bias_corrections(group, optimizer.state[theta]).keys())
               + ["Δθ_t", "θ_t", "-Δθ/g"])
    hyper_text = ", ".join(f"{k}={v}" for k, v in group.items()
                           if k != "params" and v is not False and v is not None)
    problem = ("f(θ) = ½ Σ a_i θ_i², a = " + _vector_text(_curvature(len(start)))
               if per_step is None else "the given gradients")
    legend = ", ".join(f"{_STATE_NAMES.get(k, k)} = state['{k}']" for k in buffer_names)
    notes = [f"state: {legend}" if legend else "state: (no per-element buffers)",
             ("Δθ_t = θ_t − θ_{t-1} read from the parameter; -Δθ/g: the effective rate per "
              "element")]
    title = f"{name}: {type(optimizer).__name__}({hyper_text}) on {problem}, θ_0 = " \
            f"{_vector_text(start)}"
    return Explanation(title, formula_lines(type(optimizer)),
                       [Section(f"{steps} step(s)", headers, rows)], notes)


def _bias_corrections(group, state) -> dict:
    """Adam's 1 − β₁^t and 1 − β₂^t for the optimizer's own t and betas (empty otherwise)."""
    if "betas" not in group or "step" not in state:
        return {}
    beta1, beta2 = group["betas"]
    t = int(state["step"])
    return {"1-β₁^t": 1.0 - float(beta1) ** t, "1-β₂^t": 1.0 - float(beta2) ** t}


def _curvature(size: int) -> list:
    return [QUADRATIC_CURVATURE[i % len(QUADRATIC_CURVATURE)] for i in range(size)]


def _vector_text(values) -> str:
    return "(" + ", ".join(f"{float(v):g}" for v in values) + ")"


def _gradient_schedule(grads, size: int, steps: int):
    """None (use the quadratic), or one gradient list per step, each of ``size`` numbers."""
    if grads is None:
        return None
    grads = [list(g) for g in grads] if grads and isinstance(grads[0], (list, tuple)) \
        else [list(grads)]
    for g in grads:
        if len(g) != size:
            raise ValueError(f"explain_optimizer: a gradient has {len(g)} value(s), the "
                             f"parameters have {size}")
    if len(grads) == 1:
        return grads * steps
    if len(grads) != steps:
        raise ValueError(f"explain_optimizer: got {len(grads)} gradients for {steps} steps "
                         f"(give one, or one per step)")
    return grads


# ---------------------------------------------------------------------------------------------
# Losses


def _loss_cases():
    """Each loss: its function, a default input, target, reduction and extra options."""
    from .nn import functional as F
    log_q = [[math.log(0.2), math.log(0.3), math.log(0.5)]]
    return {
        "mse": (F.mse_loss, [0.5, -1.0, 2.0], [1.0, 0.0, 2.5], "mean", {}),
        "cross_entropy": (F.cross_entropy, [[2.0, 0.5, -1.0], [0.1, 0.2, 3.0]], [0, 1],
                          "mean", {}),
        "bce": (F.binary_cross_entropy, [0.9, 0.2, 0.6], [1.0, 0.0, 0.0], "mean", {}),
        "bce_with_logits": (F.binary_cross_entropy_with_logits, [2.0, -1.0, 0.5],
                            [1.0, 0.0, 1.0], "mean", {}),
        "hinge": (F.hinge_loss, [0.8, -0.3, 2.0], [1.0, 1.0, -1.0], "mean", {}),
        "kl_div": (F.kl_div, log_q, [[0.1, 0.6, 0.3]], "batchmean", {}),
        "huber": (F.huber_loss, [0.5, -1.0, 3.0], [0.0, 0.0, 0.5], "mean", {"delta": 1.0}),
    }


LOSSES = ("mse", "cross_entropy", "bce", "bce_with_logits", "hinge", "kl_div", "huber")


def explain_loss(name: str, input=None, target=None, reduction=None, **options) -> Explanation:
    """The per-element terms (the loss with ``reduction='none'``), the reduced loss and its
    gradient with respect to the input (backward of the reduced loss), in float64."""
    import minigrad as mg

    cases = _loss_cases()
    if name not in cases:
        raise ValueError(f"explain_loss: unknown loss {name!r}; expected one of "
                         f"{', '.join(LOSSES)}")
    function, default_input, default_target, default_reduction, default_options = cases[name]
    options = {**default_options, **options}
    reduction = reduction or default_reduction
    x = mg.tensor(default_input if input is None else input, dtype=mg.float64,
                  requires_grad=True)
    target_values = default_target if target is None else target
    y = mg.tensor(target_values, dtype=mg.int64 if name == "cross_entropy" else mg.float64)
    terms = function(x, y, reduction="none", **options)
    loss = function(x, y, reduction=reduction, **options)
    loss.backward()
    y_row = _floats(y)
    x_row = _floats(x)
    term_values = _floats(terms)
    grad = _floats(x.grad)
    sections = []
    if tuple(terms.shape) == tuple(x.shape):        # elementwise losses: one row per element
        rows = [[index, x_row[i], y_row[i], term_values[i], grad[i]]
                for i, index in enumerate(_index_names(x.shape))]
        sections.append(Section("per element", ["i", "input x", "target y", "term l",
                                                "∂loss/∂x"], rows))
    else:                                           # per-sample terms over classes
        rows = [[index, term_values[i], y_row[i] if len(y_row) == len(term_values) else ""]
                for i, index in enumerate(_index_names(terms.shape))]
        sections.append(Section("per sample", ["n", "term l_n", "target"], rows))
        rows = [[index, x_row[i], grad[i]] for i, index in enumerate(_index_names(x.shape))]
        sections.append(Section("per input element", ["i", "input x", "∂loss/∂x"], rows))
    sections.append(Section("reduction", ["reduction", "terms", "loss"],
                            [[reduction, len(term_values), float(loss.item())]]))
    option_text = "".join(f", {k}={v}" for k, v in options.items())
    title = f"{name}: {function.__name__}(input, target, reduction={reduction!r}{option_text})"
    return Explanation(title, formula_lines(function), sections)


# ---------------------------------------------------------------------------------------------
# Schedules


def _schedule_settings(name: str, steps: int, lr: float):
    """Each schedule as (class name, keyword arguments), the settings fitting ``steps``;
    SequentialLR's ``schedulers`` are such pairs too."""
    quarter = max(1, steps // 4)
    return {
        "step": ("StepLR", {"step_size": quarter, "gamma": 0.5}),
        "multistep": ("MultiStepLR", {"milestones": [quarter, 3 * quarter], "gamma": 0.1}),
        "exponential": ("ExponentialLR", {"gamma": 0.9}),
        "inverse_time": ("InverseTimeDecay", {"k": 0.5}),
        "polynomial": ("PolynomialLR", {"total_iters": steps, "power": 2.0}),
        "linear_lr": ("LinearLR", {"start_factor": 0.1, "total_iters": steps}),
        "cosine": ("CosineAnnealingLR", {"T_max": steps}),
        "cosine_restarts": ("CosineAnnealingWarmRestarts", {"T_0": quarter}),
        "warmup": ("SequentialLR", {
            "schedulers": [("LinearLR", {"start_factor": 0.1, "total_iters": quarter}),
                           ("CosineAnnealingLR", {"T_max": steps - quarter})],
            "milestones": [quarter]}),
        "onecycle": ("OneCycleLR", {"max_lr": lr, "total_steps": steps + 1}),
        "cyclic": ("CyclicLR", {"base_lr": lr / 10, "max_lr": lr, "step_size_up": quarter}),
        "plateau": ("ReduceLROnPlateau", {"factor": 0.5, "patience": 2}),
    }.get(name)


def build_schedule(name: str, optimizer, steps: int):
    """The scheduler ``name`` over ``optimizer`` with explain's settings, and their text."""
    from .optim import lr_scheduler

    settings = _schedule_settings(name, steps, float(optimizer.param_groups[0]["lr"]))
    if settings is None:
        raise ValueError(f"explain_schedule: unknown schedule {name!r}; expected one of "
                         f"{', '.join(SCHEDULES)}")

    def make(cls, kwargs):
        kwargs = dict(kwargs)
        if "schedulers" in kwargs:
            kwargs["schedulers"] = [make(*child) for child in kwargs["schedulers"]]
        return getattr(lr_scheduler, cls)(optimizer, **kwargs)

    def text(cls, kwargs):
        parts = [f"[{', '.join(text(*c) for c in v)}]" if k == "schedulers" else f"{k}={v:g}"
                 if isinstance(v, float) else f"{k}={v}" for k, v in kwargs.items()]
        return f"{cls}({', '.join(parts)})"

    return make(*settings), text(*settings)


SCHEDULES = ("step", "multistep", "exponential", "inverse_time", "polynomial", "linear_lr",
             "cosine", "cosine_restarts", "warmup", "onecycle", "cyclic", "plateau")


def explain_schedule(name: str, steps: int = 20, lr: float = 0.1, height: int = 8) -> Explanation:
    """The learning rate the real scheduler sets at t = 0 .. steps (``get_last_lr()``), as a
    table and a terminal plot. ``plateau`` is fed a constant metric, so it reduces the rate
    whenever its patience runs out."""
    import minigrad as mg

    from .optim import SGD

    if not isinstance(steps, int) or steps < 2:
        raise ValueError(f"explain_schedule: steps must be an integer >= 2, got {steps!r}")
    optimizer = SGD([mg.zeros(1, requires_grad=True)], lr=lr, momentum=0.9)
    scheduler, settings = build_schedule(name, optimizer, steps)
    rates = [float(optimizer.param_groups[0]["lr"])]
    for _ in range(steps):
        optimizer.step()
        if name == "plateau":
            scheduler.step(1.0)
        else:
            scheduler.step()
        rates.append(float(optimizer.param_groups[0]["lr"]))
    title = f"{name}: {settings}, η₀ = {lr:g}, {steps} steps"
    rows = [[t, rate] for t, rate in enumerate(rates)]
    return Explanation(title, _schedule_formula(scheduler),
                       [Section("learning rate per step", ["t", "lr"], rows)],
                       plot=ascii_plot(rates, height))


def _schedule_formula(scheduler) -> list:
    """A schedule's formula lines; for SequentialLR its children's, each with its epochs."""
    children = getattr(scheduler, "_schedulers", None)
    if children is None or type(scheduler).__name__ != "SequentialLR":
        return formula_lines(type(scheduler))
    bounds = [0] + list(scheduler._milestones) + [None]
    lines = []
    for child, low, high in zip(children, bounds, bounds[1:]):
        span = f"{low} ≤ t < {high}" if high is not None else f"t ≥ {low}"
        lines.append(f"{span}: {type(child).__name__}, its t counted from {low}")
        lines += ["    " + line for line in formula_lines(type(child))]
    return lines


# ---------------------------------------------------------------------------------------------
# Layers


LAYERS = ("linear", "conv2d", "batchnorm", "dropout")


def explain_layer(name: str, seed: int = 0) -> Explanation:
    """Shapes, the forward numbers on a tiny float64 input and the backward numbers (the
    gradient of Σ output·u for a fixed upstream gradient u) of one small layer."""
    import minigrad as mg

    from . import nn

    F = nn.functional
    builders = {   # name: (the layer, a tiny input shape, the function whose formula it runs)
        "linear": (lambda: nn.Linear(3, 2, dtype=mg.float64), (2, 3), F.linear),
        "conv2d": (lambda: nn.Conv2d(1, 1, 2, dtype=mg.float64), (1, 1, 3, 3), F.conv2d),
        "batchnorm": (lambda: nn.BatchNorm1d(2, dtype=mg.float64), (4, 2), F.batch_norm),
        "dropout": (lambda: nn.Dropout(0.5), (1, 6), F.dropout),
    }
    if name not in builders:
        raise ValueError(f"explain_layer: unknown layer {name!r}; expected one of "
                         f"{', '.join(LAYERS)}")
    mg.manual_seed(seed)
    build, shape, formula_of = builders[name]
    layer = build()
    count = math.prod(shape)
    x = mg.tensor([(i % 5 - 2) * 0.5 + 0.1 * i for i in range(count)],
                  dtype=mg.float64).reshape(shape)
    x.requires_grad_()
    out = layer(x)
    upstream = mg.tensor([1.0 + 0.5 * (i % 3) for i in range(out.numel())],
                         dtype=mg.float64).reshape(tuple(out.shape))
    (out * upstream).sum().backward()
    sections = [
        Section("input x " + str(tuple(x.shape)), ["i", "x", "∂L/∂x"],
                [[n, a, b] for n, a, b in zip(_index_names(x.shape), _floats(x),
                                              _floats(x.grad))]),
        Section("output y " + str(tuple(out.shape)), ["i", "y", "upstream ∂L/∂y"],
                [[n, a, b] for n, a, b in zip(_index_names(out.shape), _floats(out),
                                              _floats(upstream))]),
    ]
    for pname, p in layer.named_parameters():
        sections.append(Section(f"parameter {pname} {tuple(p.shape)}", ["i", pname, "∂L/∂" + pname],
                                [[n, a, b] for n, a, b in zip(_index_names(p.shape), _floats(p),
                                                              _floats(p.grad))]))
    for bname, b in layer.named_buffers():
        if b is not None and b.dtype.kind == "f":
            sections.append(Section(f"buffer {bname} after the step", ["i", bname],
                                    [[n, a] for n, a in zip(_index_names(b.shape), _floats(b))]))
    title = f"{name}: {layer!r} on x {tuple(x.shape)} (float64, seed {seed}); L = Σ y·u"
    return Explanation(title, formula_lines(formula_of), sections)


# ---------------------------------------------------------------------------------------------


def explain(what: str, kind: str | None = None, **options) -> Explanation:
    """Dispatch on the name: an optimizer, a loss, a schedule or a layer (``kind`` one of
    'optimizer', 'loss', 'schedule', 'layer' picks the family when a name is in two)."""
    families = {"optimizer": explain_optimizer, "loss": explain_loss,
                "schedule": explain_schedule, "layer": explain_layer}
    if kind is not None:
        if kind not in families:
            raise ValueError(f"explain: kind must be one of {', '.join(families)}, "
                             f"got {kind!r}")
        return families[kind](what, **options)
    if what in OPTIMIZERS:
        return explain_optimizer(what, **options)
    if what in LOSSES:
        return explain_loss(what, **options)
    if what in SCHEDULES:
        return explain_schedule(what, **options)
    if what in LAYERS:
        return explain_layer(what, **options)
    raise ValueError(f"explain: unknown name {what!r}; expected an optimizer "
                     f"({', '.join(OPTIMIZERS)}), a loss ({', '.join(LOSSES)}), a schedule "
                     f"({', '.join(SCHEDULES)}) or a layer ({', '.join(LAYERS)})")
