"""minigrad.explain and ``python -m minigrad explain``: every number shown equals what the real
optimizer, loss, schedule or layer computes when the test runs it itself."""

import json

import numpy as np
import pytest

import minigrad as mg
from minigrad import cli
from minigrad import explain as ex


def _section(explanation, index=0):
    section = explanation.to_dict()["sections"][index]
    return section["headers"], section["rows"]


def _column(headers, rows, name):
    return [row[headers.index(name)] for row in rows]


def _table_shows_every_row(explanation):
    """Each row of every section appears in the table text, each number as it was stored."""
    text = str(explanation).splitlines()
    for section in explanation.sections:
        for row in section.rows:
            cells = [f"{v:.6g}" if isinstance(v, float) else str(v) for v in row]
            assert any(line.split() == cells for line in text), (section.title, cells)


def _run_real(name, steps, **hyper):
    """The test's own run of the optimizer on explain's quadratic: θ, state, per step."""
    theta = mg.tensor(list(ex.QUADRATIC_START), dtype=mg.float64, requires_grad=True)
    a = mg.tensor(list(ex.QUADRATIC_CURVATURE), dtype=mg.float64)
    optimizer = ex.OPTIMIZERS[name]([theta], **hyper)

    def closure():
        optimizer.zero_grad()
        loss = 0.5 * (a * theta * theta).sum()
        loss.backward()
        return loss

    trace = []
    for _ in range(steps):
        before = theta.detach().numpy().copy()
        grad = None
        if name in ("lbfgs", "cg"):
            closure()
            grad = theta.grad.numpy().copy()
            optimizer.step(closure)
        else:
            closure()
            grad = theta.grad.numpy().copy()
            optimizer.step()
        state = {k: v.numpy().copy() for k, v in optimizer.state[theta].items()
                 if hasattr(v, "shape") and tuple(v.shape) == (2,)}
        trace.append((before, grad, state, theta.detach().numpy().copy()))
    return trace


@pytest.mark.parametrize("name", list(ex.OPTIMIZERS))
def test_optimizer_numbers_are_the_real_optimizers(name):
    explanation = ex.explain(name, steps=3)
    headers, rows = _section(explanation)
    trace = _run_real(name, 3)
    for t, (before, grad, state, after) in enumerate(trace, start=1):
        step_rows = [row for row in rows if row[0] == t]
        assert len(step_rows) == 2
        np.testing.assert_array_equal(_column(headers, step_rows, "θ_{t-1}"), before)
        np.testing.assert_array_equal(_column(headers, step_rows, "g_t"), grad)
        np.testing.assert_array_equal(_column(headers, step_rows, "θ_t"), after)
        np.testing.assert_array_equal(_column(headers, step_rows, "Δθ_t"), after - before)
        for key, values in state.items():
            column = ex._STATE_NAMES.get(key, key)
            np.testing.assert_array_equal(_column(headers, step_rows, column), values)
    _table_shows_every_row(explanation)


def test_adam_bias_corrections_and_hyper_parameters():
    explanation = ex.explain("adam", steps=2, lr=0.05, betas=(0.8, 0.99))
    headers, rows = _section(explanation)
    assert _column(headers, rows, "1-β₁^t") == pytest.approx([0.2, 0.2, 0.36, 0.36])
    assert _column(headers, rows, "1-β₂^t") == pytest.approx([0.01, 0.01, 0.0199, 0.0199])
    trace = _run_real("adam", 2, lr=0.05, betas=(0.8, 0.99))
    np.testing.assert_array_equal(_column(headers, rows, "θ_t")[2:], trace[1][3])


def test_given_gradients_are_used_step_by_step():
    grads = [[1.0, -1.0], [0.5, 2.0]]
    explanation = ex.explain("momentum", params=[0.0, 1.0], grads=grads, steps=2)
    headers, rows = _section(explanation)
    assert _column(headers, rows, "g_t") == [1.0, -1.0, 0.5, 2.0]
    theta = mg.tensor([0.0, 1.0], dtype=mg.float64, requires_grad=True)
    optimizer = mg.optim.SGD([theta], lr=0.1, momentum=0.9)
    for g in grads:
        theta.grad = mg.tensor(g, dtype=mg.float64)
        optimizer.step()
    np.testing.assert_array_equal(_column(headers, rows, "b_t")[2:],
                                  optimizer.state[theta]["momentum_buffer"].numpy())


def test_explain_adam_three_steps_fits_one_screen():
    text = str(ex.explain("adam", steps=3))
    lines = text.splitlines()
    assert len(lines) <= 40 and max(len(line) for line in lines) <= 100


@pytest.mark.parametrize("name", ex.LOSSES)
def test_loss_numbers_are_the_real_losses(name):
    explanation = ex.explain(name)
    function, x_values, y_values, reduction, options = ex._loss_cases()[name]
    x = mg.tensor(x_values, dtype=mg.float64, requires_grad=True)
    y = mg.tensor(y_values, dtype=mg.int64 if name == "cross_entropy" else mg.float64)
    terms = function(x, y, reduction="none", **options).detach().numpy().ravel()
    loss = function(x, y, reduction=reduction, **options)
    loss.backward()
    sections = explanation.to_dict()["sections"]
    by_title = {s["title"]: s for s in sections}
    if "per element" in by_title:
        s = by_title["per element"]
        np.testing.assert_array_equal(_column(s["headers"], s["rows"], "term l"), terms)
        np.testing.assert_array_equal(_column(s["headers"], s["rows"], "∂loss/∂x"),
                                      x.grad.numpy().ravel())
    else:
        s = by_title["per sample"]
        np.testing.assert_array_equal(_column(s["headers"], s["rows"], "term l_n"), terms)
        s = by_title["per input element"]
        np.testing.assert_array_equal(_column(s["headers"], s["rows"], "∂loss/∂x"),
                                      x.grad.numpy().ravel())
    assert by_title["reduction"]["rows"][0][2] == loss.item()
    _table_shows_every_row(explanation)


def test_mse_terms_follow_the_formula():
    # The formula in NumPy: l = (x − y)², mean over elements, ∂/∂x = 2 (x − y) / n.
    explanation = ex.explain("mse", input=[1.0, 2.0, -3.0, 0.5], target=[0.0, 2.5, -1.0, 0.5])
    headers, rows = _section(explanation)
    x, y = np.array([1.0, 2.0, -3.0, 0.5]), np.array([0.0, 2.5, -1.0, 0.5])
    np.testing.assert_allclose(_column(headers, rows, "term l"), (x - y) ** 2)
    np.testing.assert_allclose(_column(headers, rows, "∂loss/∂x"), 2 * (x - y) / 4)


@pytest.mark.parametrize("name", ex.SCHEDULES)
def test_schedule_rates_are_the_real_schedulers(name):
    explanation = ex.explain(name, steps=12, lr=0.2)
    headers, rows = _section(explanation)
    optimizer = mg.optim.SGD([mg.zeros(1, requires_grad=True)], lr=0.2, momentum=0.9)
    scheduler, _ = ex.build_schedule(name, optimizer, 12)
    expected = [optimizer.param_groups[0]["lr"]]
    for _ in range(12):
        optimizer.step()
        scheduler.step(1.0) if name == "plateau" else scheduler.step()
        expected.append(optimizer.param_groups[0]["lr"])
    assert _column(headers, rows, "lr") == expected
    assert len(explanation.plot) == 9 and explanation.plot[0].count("*") >= 1
    _table_shows_every_row(explanation)


def test_cosine_schedule_follows_its_closed_form():
    headers, rows = _section(ex.explain("cosine", steps=10, lr=0.1))
    t = np.arange(11)
    np.testing.assert_allclose(_column(headers, rows, "lr"),
                               0.05 * (1 + np.cos(np.pi * t / 10)), atol=1e-12)


@pytest.mark.parametrize("name", ex.LAYERS)
def test_layer_numbers_are_the_real_layers(name):
    explanation = ex.explain(name, seed=3)
    sections = {s["title"].split(" ")[0] + " " + s["title"].split(" ")[1]: s
                for s in explanation.to_dict()["sections"]}
    mg.manual_seed(3)
    layer = {"linear": lambda: mg.nn.Linear(3, 2, dtype=mg.float64),
             "conv2d": lambda: mg.nn.Conv2d(1, 1, 2, dtype=mg.float64),
             "batchnorm": lambda: mg.nn.BatchNorm1d(2, dtype=mg.float64),
             "dropout": lambda: mg.nn.Dropout(0.5)}[name]()
    x_values = _column(*_pair(sections["input x"]), "x")
    shape = {"linear": (2, 3), "conv2d": (1, 1, 3, 3), "batchnorm": (4, 2),
             "dropout": (1, 6)}[name]
    x = mg.tensor(x_values, dtype=mg.float64).reshape(shape)
    x.requires_grad_()
    out = layer(x)
    upstream = mg.tensor(_column(*_pair(sections["output y"]), "upstream ∂L/∂y"),
                         dtype=mg.float64).reshape(tuple(out.shape))
    (out * upstream).sum().backward()
    np.testing.assert_array_equal(_column(*_pair(sections["output y"]), "y"),
                                  out.detach().numpy().ravel())
    np.testing.assert_array_equal(_column(*_pair(sections["input x"]), "∂L/∂x"),
                                  x.grad.numpy().ravel())
    for pname, p in layer.named_parameters():
        s = sections[f"parameter {pname}"]
        np.testing.assert_array_equal(_column(*_pair(s), pname), p.detach().numpy().ravel())
        np.testing.assert_array_equal(_column(*_pair(s), "∂L/∂" + pname), p.grad.numpy().ravel())
    _table_shows_every_row(explanation)


def _pair(section):
    return section["headers"], section["rows"]


def test_linear_layer_forward_is_x_w_transpose_plus_b():
    sections = ex.explain("linear").to_dict()["sections"]
    x = np.array(_column(*_pair(sections[0]), "x")).reshape(2, 3)
    y = np.array(_column(*_pair(sections[1]), "y")).reshape(2, 2)
    w = np.array(_column(*_pair(sections[2]), "weight")).reshape(2, 3)
    b = np.array(_column(*_pair(sections[3]), "bias"))
    np.testing.assert_allclose(y, x @ w.T + b)


def test_markdown_and_json_formats(capsys):
    assert cli.main(["explain", "hinge", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["sections"][-1]["rows"][0][0] == "mean"
    assert cli.main(["explain", "--schedule", "step", "--steps", "8", "--format",
                     "markdown"]) == 0
    out = capsys.readouterr().out
    assert "| t | lr |" in out and "StepLR" in out


def test_cli_passes_options_through(capsys):
    assert cli.main(["explain", "sgd", "--params=-1,2", "--grads", "1,1", "--lr", "0.5",
                     "--steps", "1", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    headers, rows = data["sections"][0]["headers"], data["sections"][0]["rows"]
    assert _column(headers, rows, "θ_t") == [-1.5, 1.5]


@pytest.mark.parametrize("argv", [["explain"], ["explain", "nope"],
                                  ["explain", "adam", "--grads", "1,2,3"],
                                  ["explain", "lbfgs", "--grads", "1,2"],
                                  ["explain", "mse", "--input", "1,x"],
                                  ["explain", "--schedule", "nope"],
                                  ["explain", "adam", "--lr", "-1"]])
def test_bad_arguments_give_one_line_and_a_nonzero_exit(argv, capsys):
    try:
        status = cli.main(argv)
    except SystemExit as exc:
        status = exc.code
    assert status != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert err and "error" in err[-1]
    assert [line for line in err if "error" in line] == [err[-1]]


def test_unknown_names_raise_naming_the_choices():
    with pytest.raises(ValueError, match="unknown name 'x'.*adam"):
        ex.explain("x")
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        ex.explain_optimizer("adam", steps=0)


def test_every_name_renders_in_every_format():
    names = [(n, None) for n in [*ex.OPTIMIZERS, *ex.LOSSES, *ex.LAYERS]]
    names += [(n, "schedule") for n in ex.SCHEDULES]
    for name, kind in names:
        explanation = ex.explain(name, kind=kind)
        json.loads(json.dumps(explanation.to_dict(), allow_nan=False))
        assert explanation.render("markdown").startswith("**" + name)
        assert str(explanation).startswith(name)
