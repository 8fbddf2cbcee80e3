"""The formulas that training texts print, each with its convention variants, a NumPy reference
per variant and the minigrad code that computes it (``python -m minigrad formulas``).

A :class:`Formula` has an ``id``, a title, the ``signature`` a user's function is called with
(positional arguments, in this order), a ``sample(rng, case)`` that draws one set of random
inputs, and its :class:`Variant` s: each with the formula in plain text and LaTeX, a NumPy
``reference`` and, where minigrad implements that convention, ``minigrad(inputs)`` computing it
with minigrad's own function (it may record in ``inputs`` what it drew, as dropout's mask).
Known mistakes (a wrong axis, swapped terms) are listed too, so :func:`minigrad.formula_audit.
audit` can name them. The references are plain NumPy transcriptions, written for reading; the
tests check every ``minigrad`` against its reference.

    from minigrad.formulas import FORMULAS
    FORMULAS["l2"].variants            # norm, sum_squares (minigrad's l2_penalty), half_sum_squares
"""

from __future__ import annotations

import math

import numpy as np  # the references are host-side NumPy by design: they check, never train

__all__ = ["FORMULAS", "Formula", "Variant", "catalogue_lines", "formula", "render_markdown"]


class Variant:
    """One convention of a formula: ``name``, ``text``, ``latex``, a NumPy ``reference`` taking
    the formula's signature, an optional ``minigrad(inputs)`` and a ``note``."""

    def __init__(self, name, text, latex, reference, minigrad=None, minigrad_name="",
                 note=""):
        self.name, self.text, self.latex = name, text, latex
        self.reference, self.minigrad, self.minigrad_name = reference, minigrad, minigrad_name
        self.note = note


class Formula:
    """A catalogue entry; ``variants[0]`` is minigrad's convention."""

    def __init__(self, id, title, signature, sample, variants, grad_arg=None, mistakes=(),
                 note=""):
        self.id, self.title, self.signature = id, title, tuple(signature)
        self.sample, self.variants = sample, list(variants)
        self.grad_arg, self.mistakes, self.note = grad_arg, list(mistakes), note

    @property
    def text(self):
        return self.variants[0].text

    @property
    def latex(self):
        return self.variants[0].latex

    def variant(self, name):
        for v in self.variants:
            if v.name == name:
                return v
        raise KeyError(f"formula {self.id!r} has no variant {name!r}; it has "
                       f"{', '.join(v.name for v in self.variants)}")

    def call(self, function, inputs):
        """``function`` applied to ``inputs`` in signature order, as a float64 array or a
        tuple-free value."""
        return function(*(inputs[name] for name in self.signature))


# ---------------------------------------------------------------------------------------------
# minigrad runners: tensors in float64, results back as NumPy arrays


def _t(array, **kw):
    import minigrad as mg
    return mg.tensor(np.asarray(array), dtype=mg.float64, **kw)


def _value(tensor):
    return np.asarray(tensor.detach().numpy(), dtype=np.float64)


def _F():
    from .nn import functional
    return functional


def _penalty(name, options=None):
    """minigrad's penalty ``name`` of the weights w (``options(inputs)``: its keywords)."""
    def run(inputs):
        from .nn import utils
        keywords = options(inputs) if options else {}
        return _value(getattr(utils, name)([_t(inputs["w"])], **keywords))
    return run


def _run_optimizer(make):
    """minigrad's optimizer ``make(params)`` stepped on ``grad_fn`` with the per-step rates."""
    def run(inputs):
        theta = _t(inputs["theta"], requires_grad=True)
        optimizer = make([theta], inputs)
        for lr in inputs["lrs"]:
            optimizer.param_groups[0]["lr"] = float(lr)
            theta.grad = _t(inputs["grad_fn"](_value(theta)))
            optimizer.step()
        return _value(theta)
    return run


def _run_schedule(make):
    """The rates minigrad's scheduler ``make(optimizer, inputs)`` sets at t = 0 .. steps."""
    def run(inputs):
        import minigrad as mg
        optimizer = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=float(inputs["lr0"]))
        scheduler = make(optimizer, inputs)
        rates = [optimizer.param_groups[0]["lr"]]
        for _ in range(int(inputs["steps"])):
            optimizer.step()
            scheduler.step()
            rates.append(optimizer.param_groups[0]["lr"])
        return np.array(rates)
    return run


# ---------------------------------------------------------------------------------------------
# Samplers: one set of random float64 inputs per call


def _pair_sample(rng, case):
    return {"pred": rng.normal(size=(4, 3)), "target": rng.normal(size=(4, 3))}


def _class_sample(rng, case):
    z = rng.normal(size=(4, 3))
    probabilities = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # positive rows: both
    labels = rng.integers(0, 3, size=4)                                  # readings are finite
    return {"logits": probabilities, "onehot": np.eye(3)[labels]}


def _binary_sample(rng, case):
    return {"p": rng.uniform(0.05, 0.95, size=6),
            "y": rng.integers(0, 2, size=6).astype(np.float64)}


def _hinge_sample(rng, case):
    return {"scores": rng.normal(size=6) * 1.5,
            "labels": rng.choice([-1.0, 1.0], size=6)}


def _weights_sample(rng, case):
    return {"w": rng.normal(size=5)}


def _elastic_sample(rng, case):
    return {"w": rng.normal(size=5), "l1_ratio": float(rng.uniform(0.2, 0.8))}


def _regression_sample(rng, case):
    return {"theta": rng.normal(size=2), "X": rng.normal(size=(6, 2)),
            "y": rng.normal(size=6), "lr": 0.05}


def _update_sample(**hyper):
    """θ_0, the gradient of f(θ) = ½ Σ a_i θ_i² (random a) and four varying rates."""
    def sample(rng, case):
        a = rng.uniform(0.5, 3.0, size=3)
        inputs = {"theta": rng.normal(size=3), "grad_fn": lambda theta: a * theta,
                  "lrs": list(rng.uniform(0.05, 0.2, size=4))}
        inputs.update(hyper)
        return inputs
    return sample


def _dropout_sample(rng, case):
    return {"x": rng.normal(size=(3, 4)), "keep_mask": rng.random((3, 4)) > 0.4, "p": 0.4,
            "training": case % 2 == 0}


def _batchnorm_sample(rng, case):
    return {"x": rng.normal(size=(8, 3)) * 2 + 1, "running_var": rng.uniform(0.5, 2, size=3),
            "momentum": 0.1}


def _schedule_sample(**hyper):
    def sample(rng, case):
        return {"lr0": float(rng.uniform(0.05, 0.5)), "steps": 12, **hyper}
    return sample


# ---------------------------------------------------------------------------------------------
# References: the update rules live in formula_references.py

from .formula_references import (
    _adagrad,
    _adam,
    _gradient_descent,
    _log_softmax,
    _momentum_ema,
    _momentum_lr_inside,
    _momentum_pytorch,
    _nesterov_pytorch,
    _nesterov_sutskever,
    _rmsprop,
    _sgd_decay,
)


def _run_gradient_descent(batch):
    def run(inputs):
        import minigrad as mg
        theta = _t(inputs["theta"], requires_grad=True)
        optimizer = mg.optim.SGD([theta], lr=inputs["lr"])
        X, y = inputs["X"], inputs["y"]
        size = batch or len(y)
        for start in range(0, len(y), size):
            optimizer.zero_grad()
            _F().mse_loss(_t(X[start:start + size]) @ theta, _t(y[start:start + size])).backward()
            optimizer.step()
        return _value(theta)
    return run


def _dropout_reference(test_time_scaling):
    def forward(x, keep_mask, p, training):
        if training:
            return x * keep_mask if test_time_scaling else x * keep_mask / (1 - p)
        return x * (1 - p) if test_time_scaling else x.copy()
    return forward


def _run_dropout(inputs):
    """minigrad's dropout draws its own mask: record it in ``inputs`` for the reference."""
    import minigrad as mg
    mg.manual_seed(0)
    out = _value(_F().dropout(_t(inputs["x"]), inputs["p"], inputs["training"]))
    if inputs["training"]:
        inputs["keep_mask"] = out != 0
    return out


def _running_var(ddof):
    def update(x, running_var, momentum):
        return (1 - momentum) * running_var + momentum * x.var(axis=0, ddof=ddof)
    return update


def _run_batchnorm(inputs):
    import minigrad as mg
    layer = mg.nn.BatchNorm1d(inputs["x"].shape[1], momentum=inputs["momentum"],
                              dtype=mg.float64)
    layer.running_var.data[...] = inputs["running_var"]
    layer(_t(inputs["x"]))
    return _value(layer.running_var)


def _t_range(steps):
    return np.arange(int(steps) + 1)


# ---------------------------------------------------------------------------------------------
# The catalogue

V = Variant


def _build():
    def sched(name, **kw):
        def make(optimizer, inputs):
            from .optim import lr_scheduler
            return getattr(lr_scheduler, name)(optimizer, **{k: (inputs[v] if isinstance(v, str)
                                                                else v) for k, v in kw.items()})
        return _run_schedule(make)

    F = _F
    entries = [
        Formula("mse", "mean squared error", ("pred", "target"), _pair_sample, [
            V("mean", "L = (1/n) Σ_i (ŷ_i − y_i)²  over all n elements",
              r"L = \frac{1}{n}\sum_i (\hat y_i - y_i)^2", lambda p, t: np.mean((p - t) ** 2),
              lambda i: _value(F().mse_loss(_t(i["pred"]), _t(i["target"]))),
              "minigrad.nn.functional.mse_loss"),
            V("batch_mean", "L = (1/N) Σ_n Σ_j (ŷ_nj − y_nj)²  (N = batch size)",
              r"L = \frac{1}{N}\sum_n \lVert \hat y_n - y_n \rVert^2",
              lambda p, t: np.sum((p - t) ** 2) / p.shape[0],
              note="DeZero's and some texts' form: divides by the batch, not the elements"),
            V("half_mean", "L = (1/2n) Σ_i (ŷ_i − y_i)²",
              r"L = \frac{1}{2n}\sum_i (\hat y_i - y_i)^2",
              lambda p, t: 0.5 * np.mean((p - t) ** 2), note="the ½ makes the gradient (ŷ − y)/n"),
            V("sum", "L = Σ_i (ŷ_i − y_i)²", r"L = \sum_i (\hat y_i - y_i)^2",
              lambda p, t: np.sum((p - t) ** 2),
              lambda i: _value(F().mse_loss(_t(i["pred"]), _t(i["target"]), reduction="sum")),
              "mse_loss(reduction='sum')"),
        ], grad_arg="pred"),
        Formula("cross_entropy", "cross-entropy of logits against one-hot targets",
                ("logits", "onehot"), _class_sample, [
            V("mean_ln", "L = −(1/N) Σ_n Σ_c y_nc ln softmax(x_n)_c",
              r"L = -\frac{1}{N}\sum_n\sum_c y_{nc}\ln\operatorname{softmax}(x_n)_c",
              lambda x, y: -np.mean(np.sum(y * _log_softmax(x), axis=1)),
              lambda i: _value(F().cross_entropy(_t(i["logits"]), _t(i["onehot"]))),
              "minigrad.nn.functional.cross_entropy"),
            V("sum_ln", "L = −Σ_n Σ_c y_nc ln softmax(x_n)_c",
              r"L = -\sum_n\sum_c y_{nc}\ln\operatorname{softmax}(x_n)_c",
              lambda x, y: -np.sum(y * _log_softmax(x)),
              lambda i: _value(F().cross_entropy(_t(i["logits"]), _t(i["onehot"]),
              reduction="sum")),
              "cross_entropy(reduction='sum')"),
            V("mean_log2", "L = −(1/N) Σ_n Σ_c y_nc log₂ softmax(x_n)_c  (bits)",
              r"L = -\frac{1}{N}\sum_n\sum_c y_{nc}\log_2\operatorname{softmax}(x_n)_c",
              lambda x, y: -np.mean(np.sum(y * _log_softmax(x), axis=1)) / math.log(2),
              note="base-2 logs: the natural-log loss divided by ln 2"),
            V("probabilities", "L = −(1/N) Σ_n Σ_c y_nc ln x_nc  (x already probabilities)",
              r"L = -\frac{1}{N}\sum_n\sum_c y_{nc}\ln x_{nc}",
              lambda x, y: -np.mean(np.sum(y * np.log(x), axis=1)),
              lambda i: _value(F().nll_loss(_t(np.log(i["logits"])),
              _t(i["onehot"].argmax(1)).long())),
              "nll_loss(log(probabilities), labels)",
              note="the input read as probabilities, no softmax (NLL of log x)"),
        ], grad_arg="logits", mistakes=[
            ("softmax over the batch axis 0 instead of the classes (wrong axis)",
             lambda x, y: -np.mean(np.sum(y * _log_softmax(x, axis=0), axis=1)))]),
        Formula("log_loss", "binary log loss (binary cross-entropy of probabilities)",
                ("p", "y"), _binary_sample, [
            V("mean", "L = −(1/n) Σ_i [y_i ln p_i + (1 − y_i) ln(1 − p_i)]",
              r"L = -\frac{1}{n}\sum_i y_i\ln p_i + (1-y_i)\ln(1-p_i)",
              lambda p, y: -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)),
              lambda i: _value(F().binary_cross_entropy(_t(i["p"]), _t(i["y"]))),
              "minigrad.nn.functional.binary_cross_entropy"),
            V("sum", "L = −Σ_i [y_i ln p_i + (1 − y_i) ln(1 − p_i)]",
              r"L = -\sum_i y_i\ln p_i + (1-y_i)\ln(1-p_i)",
              lambda p, y: -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))),
            V("mean_log2", "L = −(1/n) Σ_i [y_i log₂ p_i + (1 − y_i) log₂(1 − p_i)]",
              r"L = -\frac{1}{n}\sum_i y_i\log_2 p_i + (1-y_i)\log_2(1-p_i)",
              lambda p, y: -np.mean(y * np.log2(p) + (1 - y) * np.log2(1 - p))),
        ], grad_arg="p", mistakes=[
            ("y and 1 − y swapped",
             lambda p, y: -np.mean((1 - y) * np.log(p) + y * np.log(1 - p)))]),
        Formula("hinge", "binary hinge (SVM) loss", ("scores", "labels"), _hinge_sample, [
            V("pm1_mean", "L = (1/n) Σ_i max(0, 1 − y_i s_i),  y ∈ {−1, +1}",
              r"L = \frac{1}{n}\sum_i \max(0, 1 - y_i s_i)",
              lambda s, y: np.mean(np.maximum(0, 1 - y * s)),
              lambda i: _value(F().hinge_loss(_t(i["scores"]), _t(i["labels"]))),
              "minigrad.nn.functional.hinge_loss"),
            V("pm1_sum", "L = Σ_i max(0, 1 − y_i s_i)", r"L = \sum_i \max(0, 1 - y_i s_i)",
              lambda s, y: np.sum(np.maximum(0, 1 - y * s))),
            V("zero_one", "L = (1/n) Σ_i max(0, 1 − (2y_i − 1) s_i),  y ∈ {0, 1}",
              r"L = \frac{1}{n}\sum_i \max(0, 1 - (2y_i-1) s_i)",
              lambda s, y: np.mean(np.maximum(0, 1 - (2 * y - 1) * s)),
              note="labels 0/1 mapped to ±1 inside: fed ±1 labels it turns −1 into −3"),
        ], grad_arg="scores", mistakes=[
            ("no max(0, ·): the margin term is not clipped",
             lambda s, y: np.mean(1 - y * s))]),
        Formula("l1", "L1 penalty ‖w‖₁", ("w",), _weights_sample, [
            V("sum", "R = Σ_i |w_i|   (gradient sign(w))", r"R = \lVert w\rVert_1 = \sum_i |w_i|",
              lambda w: np.sum(np.abs(w)), _penalty("l1_penalty"), "minigrad.nn.utils.l1_penalty"),
            V("mean", "R = (1/n) Σ_i |w_i|", r"R = \frac{1}{n}\sum_i |w_i|",
              lambda w: np.mean(np.abs(w))),
        ], grad_arg="w"),
        Formula("l2", "L2 penalty", ("w",), _weights_sample, [
            V("sum_squares", "R = Σ_i w_i²   (gradient 2w)", r"R = \sum_i w_i^2",
              lambda w: np.sum(w * w), _penalty("l2_penalty"), "minigrad.nn.utils.l2_penalty"),
            V("norm", "R = ‖w‖₂ = √(Σ_i w_i²)   (gradient w/‖w‖₂)", r"R = \lVert w\rVert_2",
              lambda w: np.sqrt(np.sum(w * w)),
              lambda i: np.sqrt(_penalty("l2_penalty")(i)), "sqrt(l2_penalty)"),
            V("half_sum_squares", "R = ½ Σ_i w_i²   (gradient w: SGD's weight_decay)",
              r"R = \tfrac12\sum_i w_i^2", lambda w: 0.5 * np.sum(w * w)),
        ], grad_arg="w", note="three different gradients: 2w, w/‖w‖₂ and w"),
        Formula("elastic_net", "elastic-net penalty", ("w", "l1_ratio"), _elastic_sample, [
            V("minigrad", "R = ρ Σ|w_i| + (1 − ρ) Σ w_i²",
              r"R = \rho\lVert w\rVert_1 + (1-\rho)\lVert w\rVert_2^2",
              lambda w, rho: rho * np.sum(np.abs(w)) + (1 - rho) * np.sum(w * w),
              _penalty("elastic_net_penalty", lambda i: {"l1_ratio": i["l1_ratio"]}),
              "minigrad.nn.utils.elastic_net_penalty"),
            V("sklearn", "R = ρ Σ|w_i| + ½ (1 − ρ) Σ w_i²   (scikit-learn, α = 1)",
              r"R = \rho\lVert w\rVert_1 + \tfrac{1-\rho}{2}\lVert w\rVert_2^2",
              lambda w, rho: rho * np.sum(np.abs(w)) + 0.5 * (1 - rho) * np.sum(w * w)),
        ], grad_arg="w"),
        Formula("gradient_descent", "gradient descent on mean_B (x·θ − y)², one pass",
                ("theta", "X", "y", "lr"), _regression_sample, [
            V(name, f"θ ← θ − η ∇_θ (1/|B|) Σ_(x,y)∈B (x·θ − y)²,  {text}",
              r"\theta \leftarrow \theta - \eta\nabla_\theta"
              r" \frac{1}{|B|}\sum_{B}(x^\top\theta-y)^2",
              _gradient_descent(batch), _run_gradient_descent(batch), "minigrad.optim.SGD")
            for name, batch, text in (("batch", None, "B = all samples (one step)"),
                                      ("sgd", 1, "B = one sample at a time, in order"),
                                      ("minibatch", 2, "B = batches of 2, in order"))]),
        Formula("momentum", "SGD with momentum", ("theta", "grad_fn", "lrs", "momentum"),
                _update_sample(momentum=0.9), [
            V("pytorch", "b ← μ b + g (b₁ = g₁);  θ ← θ − η b",
              r"b \leftarrow \mu b + g,\ \theta \leftarrow \theta - \eta b",
              _momentum_pytorch, _run_optimizer(lambda p, i: _sgd(p, momentum=i["momentum"])),
              "minigrad.optim.SGD(momentum=μ)"),
            V("ema", "v ← μ v + (1 − μ) g;  θ ← θ − η v",
              r"v \leftarrow \mu v + (1-\mu) g,\ \theta \leftarrow \theta - \eta v", _momentum_ema,
              note="an average of gradients: steps (1 − μ) times smaller"),
            V("lr_inside", "v ← μ v − η g;  θ ← θ + v",
              r"v \leftarrow \mu v - \eta g,\ \theta \leftarrow \theta + v", _momentum_lr_inside,
              note="the same as pytorch's while η is constant; differs when η changes"),
        ], note="audit calls fn(theta, grad_fn, lrs, momentum): lrs holds one rate per step"),
        Formula("nesterov", "Nesterov momentum", ("theta", "grad_fn", "lrs", "momentum"),
                _update_sample(momentum=0.9), [
            V("pytorch", "b ← μ b + g;  θ ← θ − η (g + μ b)",
              r"b \leftarrow \mu b + g,\ \theta \leftarrow \theta - \eta(g + \mu b)",
              _nesterov_pytorch,
              _run_optimizer(lambda p, i: _sgd(p, momentum=i["momentum"], nesterov=True)),
              "minigrad.optim.SGD(momentum=μ, nesterov=True)"),
            V("sutskever", "v ← μ v − η ∇f(θ + μ v);  θ ← θ + v",
              r"v \leftarrow \mu v - \eta\nabla f(\theta + \mu v),\ \theta \leftarrow \theta + v",
              _nesterov_sutskever, note="the gradient at the look-ahead point"),
        ]),
        Formula("adagrad", "Adagrad", ("theta", "grad_fn", "lrs", "eps"), _update_sample(eps=0.1), [
            V("eps_outside", "s ← s + g²;  θ ← θ − η g / (√s + ε)",
              r"\theta \leftarrow \theta - \eta\frac{g}{\sqrt{s}+\epsilon}", _adagrad(False),
              _run_optimizer(lambda p, i: _opt("Adagrad", p, eps=i["eps"])),
              "minigrad.optim.Adagrad"),
            V("eps_inside", "s ← s + g²;  θ ← θ − η g / √(s + ε)",
              r"\theta \leftarrow \theta - \eta\frac{g}{\sqrt{s+\epsilon}}", _adagrad(True)),
        ]),
        Formula("rmsprop", "RMSprop", ("theta", "grad_fn", "lrs", "alpha", "eps"),
                _update_sample(alpha=0.9, eps=0.1), [
            V("eps_outside", "v ← α v + (1 − α) g²;  θ ← θ − η g / (√v + ε)",
              r"\theta \leftarrow \theta - \eta\frac{g}{\sqrt{v}+\epsilon}", _rmsprop(False),
              _run_optimizer(lambda p, i: _opt("RMSprop", p, alpha=i["alpha"], eps=i["eps"])),
              "minigrad.optim.RMSprop"),
            V("eps_inside", "v ← α v + (1 − α) g²;  θ ← θ − η g / √(v + ε)",
              r"\theta \leftarrow \theta - \eta\frac{g}{\sqrt{v+\epsilon}}", _rmsprop(True),
              note="TensorFlow's RMSprop puts ε inside the root"),
        ]),
        Formula("adam", "Adam", ("theta", "grad_fn", "lrs", "beta1", "beta2", "eps"),
                _update_sample(beta1=0.9, beta2=0.999, eps=0.1), [
            V("pytorch", "m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ);  θ ← θ − η m̂ / (√v̂ + ε)",
              r"\theta \leftarrow \theta - \eta\frac{\hat m}{\sqrt{\hat v}+\epsilon}",
              _adam("pytorch"),
              _run_optimizer(lambda p, i: _opt("Adam", p, betas=(i["beta1"], i["beta2"]),
                                               eps=i["eps"])),
              "minigrad.optim.Adam"),
            V("eps_hat", "η_t = η √(1 − β₂ᵗ)/(1 − β₁ᵗ);  θ ← θ − η_t m / (√v + ε̂)",
              r"\theta \leftarrow \theta - \eta\frac{\sqrt{1-\beta_2^t}}{1-\beta_1^t}"
              r"\frac{m}{\sqrt{v}+\hat\epsilon}",
              _adam("eps_hat"), note="Kingma and Ba's efficient form: ε̂ acts on √v, not √v̂"),
            V("no_bias_correction", "θ ← θ − η m / (√v + ε)",
              r"\theta \leftarrow \theta - \eta\frac{m}{\sqrt{v}+\epsilon}", _adam("none")),
        ]),
        Formula("adamw", "AdamW (decoupled weight decay) vs. Adam + L2",
                ("theta", "grad_fn", "lrs", "beta1", "beta2", "eps", "weight_decay"),
                _update_sample(beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.5), [
            V("decoupled", "θ ← θ − η λ θ;  then Adam's step with g",
              r"\theta \leftarrow \theta - \eta\lambda\theta"
              r" - \eta\frac{\hat m}{\sqrt{\hat v}+\epsilon}",
              _adam("pytorch", "decoupled"),
              _run_optimizer(lambda p, i: _opt("AdamW", p, betas=(i["beta1"], i["beta2"]),
                                               eps=i["eps"], weight_decay=i["weight_decay"])),
              "minigrad.optim.AdamW"),
            V("adam_l2", "g ← g + λ θ;  then Adam's step", r"g \leftarrow g + \lambda\theta",
              _adam("pytorch", "l2"),
              _run_optimizer(lambda p, i: _opt("Adam", p, betas=(i["beta1"], i["beta2"]),
                                               eps=i["eps"], weight_decay=i["weight_decay"])),
              "minigrad.optim.Adam(weight_decay=λ)",
              note="the decay is divided by √v̂ with the gradient"),
        ], note="for SGD the two are the same update (see sgd_weight_decay); for Adam they differ"),
        Formula("sgd_weight_decay", "SGD weight decay: L2 in the gradient vs. decoupled",
                ("theta", "grad_fn", "lrs", "weight_decay"), _update_sample(weight_decay=0.5), [
            V("l2", "θ ← θ − η (g + λ θ)", r"\theta \leftarrow \theta - \eta(g + \lambda\theta)",
              _sgd_decay(False),
              _run_optimizer(lambda p, i: _sgd(p, weight_decay=i["weight_decay"])),
              "minigrad.optim.SGD(weight_decay=λ)"),
            V("decoupled", "θ ← θ − η λ θ − η g",
              r"\theta \leftarrow \theta - \eta\lambda\theta - \eta g",
              _sgd_decay(True), note="algebraically the same update as l2"),
        ]),
        Formula("dropout", "dropout", ("x", "keep_mask", "p", "training"), _dropout_sample, [
            V("inverted", "train: y = x · m / (1 − p);  test: y = x", r"y = \frac{x\odot m}{1-p}",
              _dropout_reference(False), _run_dropout, "minigrad.nn.functional.dropout"),
            V("test_time_scaling", "train: y = x · m;  test: y = (1 − p) x",
              r"y = x\odot m,\ y_{test} = (1-p)x", _dropout_reference(True),
              note="the original paper's form"),
        ]),
        Formula("batchnorm_running_var", "batch norm's running variance update",
                ("x", "running_var", "momentum"), _batchnorm_sample, [
            V("unbiased", "r ← (1 − m) r + m · Σ(x − μ)²/(N − 1)",
              r"r \leftarrow (1-m)r + m\frac{1}{N-1}\sum(x-\mu)^2",
              _running_var(1), _run_batchnorm, "minigrad.nn.BatchNorm1d"),
            V("biased", "r ← (1 − m) r + m · Σ(x − μ)²/N",
              r"r \leftarrow (1-m)r + m\frac{1}{N}\sum(x-\mu)^2",
              _running_var(0), note="the variance the forward pass normalizes with"),
        ]),
        Formula("lr_step", "step decay", ("lr0", "steps", "step_size", "gamma"),
                _schedule_sample(step_size=3, gamma=0.5), [
            V("staircase", "η_t = η₀ γ^⌊t/s⌋", r"\eta_t = \eta_0\gamma^{\lfloor t/s\rfloor}",
              lambda lr0, steps, s, g: lr0 * g ** np.floor(_t_range(steps) / s),
              sched("StepLR", step_size="step_size", gamma="gamma"), "optim.lr_scheduler.StepLR"),
            V("continuous", "η_t = η₀ γ^(t/s)", r"\eta_t = \eta_0\gamma^{t/s}",
              lambda lr0, steps, s, g: lr0 * g ** (_t_range(steps) / s)),
        ]),
        Formula("lr_exponential", "exponential decay", ("lr0", "steps", "gamma"),
                _schedule_sample(gamma=0.9), [
            V("pytorch", "η_t = η₀ γ^t", r"\eta_t = \eta_0\gamma^t",
              lambda lr0, steps, g: lr0 * g ** _t_range(steps),
              sched("ExponentialLR", gamma="gamma"), "optim.lr_scheduler.ExponentialLR"),
            V("natural_exp", "η_t = η₀ e^(−γ t)", r"\eta_t = \eta_0 e^{-\gamma t}",
              lambda lr0, steps, g: lr0 * np.exp(-g * _t_range(steps)),
              note="γ read as a rate k: e^{−kt} equals γ'^t for γ' = e^{−k}"),
        ]),
        Formula("lr_inverse_time", "inverse-time decay", ("lr0", "steps", "k"),
                _schedule_sample(k=0.5), [
            V("inverse_time", "η_t = η₀ / (1 + k t)", r"\eta_t = \frac{\eta_0}{1 + kt}",
              lambda lr0, steps, k: lr0 / (1 + k * _t_range(steps)),
              sched("InverseTimeDecay", k="k"), "optim.lr_scheduler.InverseTimeDecay"),
            V("inverse_sqrt", "η_t = η₀ / √(1 + k t)", r"\eta_t = \frac{\eta_0}{\sqrt{1 + kt}}",
              lambda lr0, steps, k: lr0 / np.sqrt(1 + k * _t_range(steps))),
        ]),
        Formula("lr_cosine", "cosine annealing", ("lr0", "steps", "eta_min"),
                _schedule_sample(eta_min=0.0), [
            V("pytorch", "η_t = η_min + ½ (η₀ − η_min)(1 + cos(π t / T)),  T = steps",
              r"\eta_t = \eta_{min} + \tfrac12(\eta_0-\eta_{min})(1+\cos\frac{\pi t}{T})",
              lambda lr0, steps, m: m + 0.5 * (lr0 - m) * (
                  1 + np.cos(np.pi * _t_range(steps) / steps)),
              sched("CosineAnnealingLR", T_max="steps", eta_min="eta_min"),
              "optim.lr_scheduler.CosineAnnealingLR"),
        ]),
    ]
    return {entry.id: entry for entry in entries}


def _sgd(params, **kw):
    from .optim import SGD
    return SGD(params, lr=0.1, **kw)


def _opt(name, params, **kw):
    from . import optim
    return getattr(optim, name)(params, **kw)


FORMULAS = _build()


def formula(formula_id: str) -> Formula:
    """The catalogue entry ``formula_id`` (KeyError naming the ids otherwise)."""
    if formula_id not in FORMULAS:
        raise KeyError(f"unknown formula {formula_id!r}; the catalogue has "
                       f"{', '.join(FORMULAS)}")
    return FORMULAS[formula_id]


def catalogue_lines() -> list:
    """One line per formula, its id first: id, title, minigrad's form, the variants."""
    width = max(len(f) for f in FORMULAS)
    return [f"{f.id.ljust(width)}  {f.title}: {f.text}  [variants: "
            f"{', '.join(v.name for v in f.variants)}]" for f in FORMULAS.values()]


def render_markdown() -> str:
    """docs/formulas.md: every formula with its variants, LaTeX and minigrad function."""
    lines = ["# Formula catalogue", "",
             "Generated by `python -m minigrad formulas --markdown docs/formulas.md` from",
             "`minigrad/formulas.py`; `python -m minigrad audit --fn file.py:name --formula ID`",
             "checks your own NumPy function against these variants.", ""]
    for f in FORMULAS.values():
        lines += [f"## `{f.id}`: {f.title}", "",
                  f"Called as `fn({', '.join(f.signature)})`." + (f" {f.note}." if f.note else ""),
                  "", "| variant | formula | LaTeX | minigrad |", "|---|---|---|---|"]
        for v in f.variants:
            text = v.text + (f" ({v.note})" if v.note else "")
            lines.append(f"| `{v.name}` | {text} | `${v.latex}$` | "
                         f"{'`' + v.minigrad_name + '`' if v.minigrad_name else '—'} |")
        if f.mistakes:
            lines += ["", "Known mistakes it names: " + "; ".join(m for m, _ in f.mistakes) + "."]
        lines.append("")
    return "\n".join(lines)
