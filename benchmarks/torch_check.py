"""An independent cross-check against PyTorch, for when torch happens to be installed (it is
never a dependency of minigrad or of its tests, which check every formula against NumPy):

    python benchmarks/torch_check.py

compares, in float64, convolution and pooling (values and every gradient, with stride,
padding, dilation and count_include_pad) and every optimizer with all its options on, for
20 steps, with ``torch.nn.functional`` and ``torch.optim``; L-BFGS (with and without the
strong-Wolfe line search) on Rosenbrock 2-d and 100-d and a full-batch logistic regression
for 50 steps (see :func:`check_lbfgs`); the learning-rate schedules over 120 steps; and
quantization: quantize/fake-quantize and every observer's (scale, zero_point) in float32.
Prints one line per check and exits 1 on a disagreement. The comparisons written as pytest
tests (custom Functions, autograd.functional, hooks, GradScaler, the Tensor API, safetensors
and torch.save files, strict=False key reports, L-BFGS) are in ``benchmarks/torch_checks/``:
``python -m pytest benchmarks/torch_checks`` (the suite in tests/ never imports torch).

    python benchmarks/torch_check.py --json benchmarks/results/torch_check.json
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import minigrad as mg  # noqa: E402
from minigrad import optim  # noqa: E402
from minigrad.nn import Parameter  # noqa: E402
from minigrad.nn import functional as F  # noqa: E402

from benchmarks import full_batch_problems as problems  # noqa: E402
from benchmarks import torch_check_sequence as sequence  # noqa: E402

TOLERANCE = dict(rtol=1e-10, atol=1e-10)

# every option of each optimizer switched on (and the same without maximize/weight decay)
ALL_ON = {
    "SGD": dict(lr=0.05, momentum=0.9, weight_decay=0.01, nesterov=True, maximize=True),
    "RMSprop": dict(lr=0.01, alpha=0.9, weight_decay=0.01, momentum=0.5, centered=True,
                    maximize=True),
    "Adam": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "AdamW": dict(lr=0.01, betas=(0.8, 0.9), weight_decay=0.01, amsgrad=True, maximize=True),
    "Adagrad": dict(lr=0.05, lr_decay=0.01, weight_decay=0.01, initial_accumulator_value=0.1,
                    maximize=True),
}


def check_conv_and_pooling(torch) -> list:
    rng = np.random.default_rng(3)
    x, w, b = rng.normal(size=(2, 3, 9, 8)), rng.normal(size=(4, 3, 3, 2)), rng.normal(size=4)
    TF = torch.nn.functional
    cases = {
        "conv2d stride (2,1) padding (1,2) dilation (1,2)":
            lambda f, a, w_, b_: f.conv2d(a, w_, b_, (2, 1), (1, 2), (1, 2)),
        "max_pool2d 3, stride 2, padding 1": lambda f, a, w_, b_: f.max_pool2d(a, 3, 2, 1),
        "avg_pool2d (3,2), stride (1,2), padding 1, count_include_pad=False":
            lambda f, a, w_, b_: f.avg_pool2d(a, (3, 2), (1, 2), (1, 1),
                                               count_include_pad=False),
    }
    results = []
    for name, case in cases.items():
        mine = [mg.tensor(v, requires_grad=True) for v in (x, w, b)]
        theirs = [torch.tensor(v, requires_grad=True) for v in (x, w, b)]
        y_mine, y_theirs = case(F, *mine), case(TF, *theirs)
        g = rng.normal(size=tuple(y_theirs.shape))
        y_mine.backward(mg.tensor(g))
        y_theirs.backward(torch.tensor(g))
        ok = np.allclose(y_mine.data, y_theirs.detach().numpy(), **TOLERANCE)
        for m, t in zip(mine, theirs):
            if t.grad is not None:
                ok &= m.grad is not None and np.allclose(m.grad.data, t.grad.numpy(), **TOLERANCE)
        results.append((name, ok))
    return results


def check_optimizers(torch) -> list:
    rng = np.random.default_rng(4)
    results = []
    for name, hp in ALL_ON.items():
        for options in (hp, dict(hp, maximize=False, weight_decay=0.0)):
            init = rng.standard_normal((3, 2))
            mine = Parameter(mg.tensor(init, dtype=mg.float64))
            theirs = torch.tensor(init, requires_grad=True)
            opt_mine = getattr(optim, name)([mine], **options)
            opt_theirs = getattr(torch.optim, name)([theirs], **options)
            for _ in range(20):
                g = rng.standard_normal((3, 2))
                mine.grad = mg.tensor(g, dtype=mg.float64)
                theirs.grad = torch.tensor(g)
                opt_mine.step()
                opt_theirs.step()
            ok = np.allclose(mine.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
            results.append((f"{name} {options}", ok))
    return results


# ---------------------------------------------------------------------------------------------
# L-BFGS: the same function from the same start, 50 steps of step(closure) with the defaults


LBFGS_STEPS = 50


def _torch_lbfgs_state(torch_state_dict) -> dict:
    """torch's LBFGS state dict in minigrad's terms (arrays for tensors, floats for 0-d ones;
    torch's scratch list ``al`` is not state minigrad keeps)."""
    def convert(value):
        if hasattr(value, "detach"):
            array = value.detach().numpy().copy()
            return float(array) if array.ndim == 0 else array
        if isinstance(value, list):
            return [convert(v) for v in value]
        return value
    state = {key: {k: convert(v) for k, v in entry.items() if k != "al"}
             for key, entry in torch_state_dict["state"].items()}
    return {"state": state, "param_groups": torch_state_dict["param_groups"]}


def _lbfgs_torch_run(torch, name, line_search_fn, start):
    """torch's run: for each step, (θ and state before it, θ after it, evaluations)."""
    params = [torch.tensor(v, requires_grad=True) for v in start]
    loss_fn = problems.objective(name, torch)
    opt = torch.optim.LBFGS(params, line_search_fn=line_search_fn)

    def closure():
        opt.zero_grad()
        loss = loss_fn(params)
        loss.backward()
        return loss
    steps = []
    for _ in range(LBFGS_STEPS):
        before = [p.detach().numpy().copy() for p in params]
        state = _torch_lbfgs_state(opt.state_dict())
        evals = opt.state[params[0]].get("func_evals", 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's own float(loss) inside its step
            opt.step(closure)
        after = np.concatenate([p.detach().numpy().ravel() for p in params])
        steps.append((before, state, after, opt.state[params[0]]["func_evals"] - evals))
    return steps, float(loss_fn(params).detach())


def check_lbfgs(torch) -> list:
    """Three comparisons per (problem, line search), each over 50 ``step(closure)`` calls with
    PyTorch's defaults (lr=1, max_iter=20, so up to 1,000 iterations):

    - **step for step**: before each step minigrad's optimizer is given torch's θ and state
      (through ``load_state_dict``, so the state layout is checked too); the θ after the step
      and the number of closure evaluations must agree (|Δθ| ≤ 1e-10);
    - **free running**: both run on their own from the same start; the iterates must agree to
      1e-10, or, where the problem itself amplifies rounding (Rosenbrock 100-d: torch against
      torch from a start moved by one ulp drifts apart just as far), to within 10× torch's own
      one-ulp sensitivity, which is printed;
    - the final gap f − f* (the goal: ≤ 1e-8).
    """
    results = []
    for name in problems.PROBLEMS:
        start = problems.start(name)
        f_star = problems.minimum(name)
        loss_fn = problems.objective(name, mg)
        for line_search_fn in (None, "strong_wolfe"):
            steps, torch_final = _lbfgs_torch_run(torch, name, line_search_fn, start)
            params = [Parameter(mg.tensor(v, dtype=mg.float64)) for v in start]
            opt = optim.LBFGS(params, line_search_fn=line_search_fn)

            def closure():
                opt.zero_grad()
                loss = loss_fn(params)
                loss.backward()
                return loss

            def flat():
                return np.concatenate([p.data.ravel() for p in params])
            # step for step: from torch's θ and state each time
            step_gap, same_evals = 0.0, True
            for before, state, after, evals in steps:
                for p, value in zip(params, before):
                    p.data[...] = value
                opt.load_state_dict(state)
                count = opt.state[params[0]].get("func_evals", 0)
                opt.step(closure)
                same_evals &= opt.state[params[0]]["func_evals"] - count == evals
                step_gap = max(step_gap, float(np.max(np.abs(flat() - after))))
            # free running, and torch's own sensitivity to a one-ulp change of the start
            for p, value in zip(params, start):
                p.data[...] = value
            opt = optim.LBFGS(params, line_search_fn=line_search_fn)
            free_gap = 0.0
            for _, _, after, _ in steps:
                opt.step(closure)
                free_gap = max(free_gap, float(np.max(np.abs(flat() - after))))
            sensitivity = 0.0
            for direction in (np.inf, -np.inf):
                moved = [np.nextafter(start[0], direction)] + start[1:]
                other, _ = _lbfgs_torch_run(torch, name, line_search_fn, moved)
                sensitivity = max(sensitivity, max(float(np.max(np.abs(a[2] - b[2])))
                                                   for a, b in zip(steps, other)))
            final = float(loss_fn(params).item())
            free_ok = free_gap <= max(1e-10, 10 * sensitivity)
            ok = step_gap <= 1e-10 and same_evals and free_ok
            label = f"LBFGS {name}, line_search_fn={line_search_fn}"
            results.append((f"{label}: step for step max|Δθ| {step_gap:.1e}"
                            f"{'' if same_evals else ' (evaluation counts differ)'}; free "
                            f"running {free_gap:.1e} (torch vs torch from a 1-ulp-moved start "
                            f"{sensitivity:.1e}); f - f* = {final - f_star:.1e} "
                            f"(torch {torch_final - f_star:.1e})", ok))
    return results


# ---------------------------------------------------------------------------------------------
# Learning-rate schedules: the rates (and cycled momentum) of two parameter groups, 120 steps


def _scheduler_cases():
    """(label, optimizer name, build(lr_scheduler module, optimizer), epochs or None):
    ``epochs`` drives ``step(epoch)`` with those (fractional) epochs instead of ``step()``."""
    def chained(S, o):
        return S.ChainedScheduler([S.ExponentialLR(o, gamma=0.97),
                                   S.LinearLR(o, start_factor=0.2, total_iters=10),
                                   S.PolynomialLR(o, total_iters=90, power=0.5)])

    def sequential(S, o):
        return S.SequentialLR(o, [S.LinearLR(o, start_factor=0.1, total_iters=10),
                                  S.CosineAnnealingWarmRestarts(o, T_0=15, T_mult=2)],
                              milestones=[10])
    return [
        ("PolynomialLR(total_iters=40, power=2)", "SGD",
         lambda S, o: S.PolynomialLR(o, total_iters=40, power=2.0), None),
        ("OneCycleLR(max_lr=[0.5, 1], total_steps=120) with SGD momentum", "SGD",
         lambda S, o: S.OneCycleLR(o, max_lr=[0.5, 1.0], total_steps=120), None),
        ("OneCycleLR(three_phase, linear, epochs=8, steps_per_epoch=15) with Adam's beta1",
         "Adam", lambda S, o: S.OneCycleLR(o, max_lr=0.02, epochs=8, steps_per_epoch=15,
                                           anneal_strategy="linear", three_phase=True,
                                           pct_start=0.25), None),
        ("CosineAnnealingWarmRestarts(T_0=10, T_mult=2, eta_min=0.01)", "SGD",
         lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=10, T_mult=2, eta_min=0.01), None),
        ("CosineAnnealingWarmRestarts(T_0=7) stepped with fractional epochs", "SGD",
         lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=7), [k / 3 for k in range(1, 120)]),
        ("CosineAnnealingWarmRestarts(T_0=5, T_mult=3) stepped with fractional epochs", "SGD",
         lambda S, o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=3),
         [k / 4 for k in range(1, 120)]),
        ("CyclicLR(triangular2, up 7, down 5) with SGD momentum", "SGD",
         lambda S, o: S.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=7,
                                 step_size_down=5, mode="triangular2"), None),
        ("CyclicLR(exp_range, gamma 0.99) with Adam's beta1", "Adam",
         lambda S, o: S.CyclicLR(o, base_lr=0.001, max_lr=0.01, step_size_up=9,
                                 mode="exp_range", gamma=0.99), None),
        ("CyclicLR(triangular, no momentum cycling)", "SGD",
         lambda S, o: S.CyclicLR(o, base_lr=0.01, max_lr=0.05, step_size_up=4,
                                 cycle_momentum=False), None),
        ("ChainedScheduler(ExponentialLR, LinearLR, PolynomialLR)", "SGD", chained, None),
        ("SequentialLR(LinearLR, CosineAnnealingWarmRestarts)", "SGD", sequential, None),
        ("swa_utils.SWALR(swa_lr=[0.02, 0.05], anneal_epochs=6, cos)", "SGD",
         lambda S, o: _swa_utils(S).SWALR(o, swa_lr=[0.02, 0.05], anneal_epochs=6), None),
        ("swa_utils.SWALR(swa_lr=0.01, anneal_epochs=4, linear)", "Adam",
         lambda S, o: _swa_utils(S).SWALR(o, swa_lr=0.01, anneal_epochs=4,
                                          anneal_strategy="linear"), None),
        ("InverseTimeDecay(k=0.1) = LambdaLR(1 / (1 + 0.1 t))", "SGD",
         lambda S, o: (S.InverseTimeDecay(o, k=0.1) if hasattr(S, "InverseTimeDecay")
                       else S.LambdaLR(o, lambda t: 1 / (1 + 0.1 * t))), None),
    ]


def _swa_utils(lr_scheduler_module):
    """minigrad.optim.swa_utils or torch.optim.swa_utils, next to the lr_scheduler given."""
    import importlib
    return importlib.import_module(lr_scheduler_module.__name__.replace("lr_scheduler",
                                                                        "swa_utils"))


def _schedule_trace(lib, optimizer_name, build, epochs, n_steps=120):
    """[(lr, momentum or beta1) of each group] at each of ``n_steps`` steps."""
    make_param = ((lambda: lib.nn.Parameter(lib.zeros(2))) if lib.__name__ == "torch"
                  else (lambda: Parameter(mg.zeros(2))))
    groups = [{"params": [make_param()], "lr": 0.1}, {"params": [make_param()], "lr": 0.3}]
    if optimizer_name == "SGD":
        opt = lib.optim.SGD(groups, lr=0.1, momentum=0.9)
    else:
        opt = lib.optim.Adam(groups, lr=0.1)
    scheduler = build(lib.optim.lr_scheduler, opt)

    def momentum(group):
        return group["betas"][0] if "betas" in group else group["momentum"]
    trace = []
    for k in range(n_steps):
        trace.append([(float(g["lr"]), float(momentum(g))) for g in opt.param_groups])
        opt.step()
        if epochs is not None and k < len(epochs):
            scheduler.step(epochs[k])
        else:
            scheduler.step()
    return np.array(trace)


def check_schedulers(torch) -> list:
    results = []
    for label, optimizer_name, build, epochs in _scheduler_cases():
        mine = _schedule_trace(mg, optimizer_name, build, epochs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's deprecation notice for step(epoch)
            theirs = _schedule_trace(torch, optimizer_name, build, epochs)
        moves = len(np.unique(np.round(theirs[:, 0, 0], 12))) > 3  # guard: a real schedule
        ok = moves and np.allclose(mine, theirs, rtol=1e-12, atol=1e-15)
        results.append((f"lr_scheduler {label}: max |Δ| {np.max(np.abs(mine - theirs)):.1e} "
                        f"over {len(mine)} steps", ok))
    return results


# ---------------------------------------------------------------------------------------------
# Quantization: quantize/fake-quantize (values and straight-through gradients) and every
# observer's (scale, zero_point), bit for bit in float32, on random data with ties and outliers

def _quantization_inputs():
    rng = np.random.default_rng(12)
    ties = (np.arange(-40, 40) * 0.5).astype(np.float32)             # x / s exactly .5
    normal = (rng.standard_normal(5000) * 3 + 0.4).astype(np.float32)
    outliers = np.concatenate([normal, [60.0, -35.0]]).astype(np.float32)
    return {"ties": ties, "normal": normal, "outliers": outliers,
            "positive": np.abs(normal), "negative": -np.abs(normal) - 1,
            "constant": np.full(64, 2.5, np.float32)}


def check_quantization(torch) -> list:
    import minigrad.quantization as Q
    tq = torch.ao.quantization
    results = []
    inputs = _quantization_inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")   # torch's deprecation notices for quantized tensors
        for name, x in inputs.items():
            t = torch.tensor(x, dtype=torch.float32)
            for scale, zp, dtype, tdtype in ((1.0, 3, "quint8", torch.quint8),
                                              (0.037, -5, "qint8", torch.qint8),
                                              (1 / 3, 0, "qint8", torch.qint8)):
                mine = Q.quantize_per_tensor(mg.tensor(x), scale, zp, dtype).int_repr
                theirs = torch.quantize_per_tensor(t, scale, zp, tdtype).int_repr().numpy()
                lo, hi = Q.qrange(dtype)
                xt = t.clone().requires_grad_(True)
                yt = torch.fake_quantize_per_tensor_affine(xt, scale, zp, lo, hi)
                yt.sum().backward()
                xm = mg.tensor(x, requires_grad=True)
                ym = Q.fake_quantize_per_tensor_affine(xm, scale, zp, lo, hi)
                ym.sum().backward()
                ok = (np.array_equal(mine, theirs) and np.array_equal(ym.data, yt.detach().numpy())
                      and np.array_equal(xm.grad.data, xt.grad.numpy()))
                results.append((f"quantize/fake_quantize per tensor {name} s={scale:.3g} "
                                f"z={zp} {dtype}: values and gradient equal", ok))
        x = inputs["normal"][:4800].reshape(4, 30, 40)
        s = np.array([0.01, 0.02, 0.05, 0.11], np.float32)
        z = np.array([0, 3, -4, 7])
        mine = Q.quantize_per_channel(mg.tensor(x), s, z, 0, "qint8").int_repr
        theirs = torch.quantize_per_channel(torch.tensor(x), torch.tensor(s), torch.tensor(z),
                                            0, torch.qint8).int_repr().numpy()
        xt = torch.tensor(x, requires_grad=True)
        yt = torch.fake_quantize_per_channel_affine(xt, torch.tensor(s),
                                                    torch.tensor(z, dtype=torch.int32), 0,
                                                    -128, 127)
        yt.sum().backward()
        xm = mg.tensor(x, requires_grad=True)
        ym = Q.fake_quantize_per_channel_affine(xm, s, z, 0, -128, 127)
        ym.sum().backward()
        results.append(("quantize/fake_quantize per channel: values and gradient equal",
                        np.array_equal(mine, theirs) and np.array_equal(ym.data, yt.detach().numpy())
                        and np.array_equal(xm.grad.data, xt.grad.numpy())))
        observers = [
            ("MinMaxObserver", {}, {}),
            ("MinMaxObserver", dict(dtype="qint8", qscheme="per_tensor_symmetric"),
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
            ("MinMaxObserver", dict(dtype="qint8", qscheme="per_tensor_symmetric",
                                    reduce_range=True),
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric, reduce_range=True)),
            ("MinMaxObserver", dict(dtype="quint8", qscheme="per_tensor_symmetric"),
             dict(dtype=torch.quint8, qscheme=torch.per_tensor_symmetric)),
            ("MovingAverageMinMaxObserver", dict(averaging_constant=0.1, reduce_range=True),
             dict(averaging_constant=0.1, reduce_range=True)),
            ("PerChannelMinMaxObserver", dict(ch_axis=1, dtype="qint8",
                                              qscheme="per_channel_symmetric"),
             dict(ch_axis=1, dtype=torch.qint8, qscheme=torch.per_channel_symmetric)),
            ("PerChannelMinMaxObserver", dict(ch_axis=0), dict(ch_axis=0)),
            ("MovingAveragePerChannelMinMaxObserver", dict(ch_axis=0), dict(ch_axis=0)),
            ("HistogramObserver", {}, {}),
            ("HistogramObserver", dict(dtype="qint8", qscheme="per_tensor_symmetric"),
             dict(dtype=torch.qint8, qscheme=torch.per_tensor_symmetric)),
            ("HistogramObserver", dict(reduce_range=True), dict(reduce_range=True)),
        ]
        rng = np.random.default_rng(3)
        for data_name in ("normal", "outliers", "positive", "negative", "constant"):
            base = inputs[data_name]
            batches = [(base[: 4800] if base.size >= 4800 else np.resize(base, 4800))
                       .reshape(6, 800) * np.float32(1 + 0.3 * i) + np.float32(0.2 * i)
                       for i in range(3)]
            if data_name == "constant":
                batches = [np.full((6, 800), 2.5, np.float32)] * 3
            for cls_name, kw, tkw in observers:
                mine, theirs = getattr(Q, cls_name)(**kw), getattr(tq, cls_name)(**tkw)
                for b in batches:
                    mine(mg.tensor(b.astype(np.float32)))
                    theirs(torch.tensor(b.astype(np.float32), dtype=torch.float32))
                ms, mz = mine.calculate_qparams()
                ts, tz = theirs.calculate_qparams()
                ok = (np.allclose(np.reshape(ms, -1), ts.numpy(), rtol=1e-6, atol=0)
                      and np.array_equal(np.reshape(mz, -1), tz.numpy()))
                results.append((f"{cls_name}({', '.join(f'{k}={v}' for k, v in kw.items())}) "
                                f"on {data_name}: scale {np.reshape(ms, -1)[0]:.6g} vs "
                                f"{float(ts.reshape(-1)[0]):.6g}, zero_point "
                                f"{int(np.reshape(mz, -1)[0])} vs {int(tz.reshape(-1)[0])}", ok))
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("torch is not installed: nothing to compare against (pip install torch)")
        return 0
    torch.set_default_dtype(torch.float64)
    results = (check_conv_and_pooling(torch) + check_optimizers(torch) + check_lbfgs(torch)
               + check_schedulers(torch) + check_quantization(torch)
               + sequence.check_recurrent(torch) + sequence.check_attention(torch))
    for name, ok in results:
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
    failed = sum(not ok for _, ok in results)
    print(f"{len(results) - failed} agree with torch {torch.__version__}, {failed} disagree")
    if args.json:
        from minigrad.serialization import atomic_write_text
        report = {"torch": torch.__version__, "numpy": np.__version__, "failed": failed,
                  "checks": [{"check": name, "ok": bool(ok)} for name, ok in results]}
        atomic_write_text(args.json, json.dumps(report, indent=1) + "\n", "torch_check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
