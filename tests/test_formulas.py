"""minigrad.formulas (the catalogue), minigrad.formula_audit and the formulas/audit commands."""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigrad import cli
from minigrad.cli.formulas import compare_variants
from minigrad.formula_audit import audit
from minigrad.formulas import FORMULAS, catalogue_lines, render_markdown

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

MINIGRAD_VARIANTS = [(f.id, v.name) for f in FORMULAS.values() for v in f.variants
                     if v.minigrad is not None]
ALL_VARIANTS = [(f.id, v.name) for f in FORMULAS.values() for v in f.variants]


@pytest.mark.parametrize("formula_id, variant", MINIGRAD_VARIANTS)
@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2 ** 32 - 1))
def test_minigrad_computes_its_variant(formula_id, variant, seed):
    f = FORMULAS[formula_id]
    v = f.variant(variant)
    inputs = f.sample(np.random.default_rng(seed), seed % 2)
    ours = v.minigrad(inputs)           # may record what it drew (dropout's mask) in inputs
    np.testing.assert_allclose(ours, f.call(v.reference, inputs), rtol=1e-10, atol=1e-12)


def test_every_formula_has_minigrads_convention_first():
    for f in FORMULAS.values():
        assert f.variants[0].minigrad is not None, f.id
        assert f.text and f.latex and f.signature


@pytest.mark.parametrize("formula_id, variant", ALL_VARIANTS)
def test_audit_identifies_every_variant(formula_id, variant):
    report = audit(FORMULAS[formula_id].variant(variant).reference, formula_id)
    assert variant in report.matched
    if formula_id == "sgd_weight_decay":       # the two are one update: both must match
        assert set(report.matched) == {"l2", "decoupled"}
    else:
        assert report.matched == [variant]
    assert variant in str(report)


def test_references_follow_the_textbook_numbers():
    # Hand-checkable cases, independent of the samplers.
    mse = FORMULAS["mse"]
    p, t = np.array([[1.0, 2.0], [3.0, 4.0]]), np.zeros((2, 2))
    assert mse.variant("mean").reference(p, t) == 7.5
    assert mse.variant("batch_mean").reference(p, t) == 15.0
    l2 = FORMULAS["l2"]
    assert l2.variant("norm").reference(np.array([3.0, 4.0])) == 5.0
    hinge = FORMULAS["hinge"].variant("pm1_mean").reference
    assert hinge(np.array([2.0, 0.5]), np.array([1.0, -1.0])) == 0.75


def test_audit_names_a_sign_error():
    report = audit(lambda pred, target: -np.mean((pred - target) ** 2), "mse")
    assert not report.ok and report.closest == "mean"
    assert "sign error" in report.diagnosis and report.max_abs_diff > 0
    assert "first difference at input set 0" in str(report)


def test_audit_names_a_missing_half():
    def cosine(lr0, steps, eta_min):       # forgot the ½ in front of (1 + cos)
        t = np.arange(steps + 1)
        return eta_min + (lr0 - eta_min) * (1 + np.cos(np.pi * t / steps))
    report = audit(cosine, "lr_cosine")
    assert not report.ok and "missing ½" in report.diagnosis


def test_audit_names_a_wrong_axis():
    def cross_entropy(logits, onehot):      # log-softmax over the batch axis
        shifted = logits - logits.max(axis=0, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        return -np.mean(np.sum(onehot * log_p, axis=1))
    report = audit(cross_entropy, "cross_entropy")
    assert report.mistake is not None and "wrong axis" in report.diagnosis
    per_row = audit(lambda pred, target: np.mean((pred - target) ** 2, axis=1), "mse")
    assert "shape (4,)" in per_row.diagnosis and "axis" in per_row.diagnosis


def test_audit_gives_l2_gradients_with_numbers():
    report = audit(lambda w: np.sum(w ** 2), "l2")
    assert report.matched == ["sum_squares"]
    text = "\n".join(report.gradient)
    assert "equals variant sum_squares's gradient" in text
    assert "variant norm's gradient" in text and "max |difference|" in text


def test_adamw_differs_from_adam_l2_but_not_for_sgd():
    adam = compare_variants("adamw")
    sgd = compare_variants("sgd_weight_decay")
    assert float(adam[1].split(":")[1]) > 1e-3
    assert "(the same)" in sgd[1]


def test_catalogue_lines_start_with_the_id(capsys):
    assert cli.main(["formulas"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(FORMULAS)
    assert lines == catalogue_lines()


def test_markdown_is_rendered_and_docs_are_up_to_date(tmp_path, capsys):
    path = tmp_path / "formulas.md"
    assert cli.main(["formulas", "--markdown", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == render_markdown() + "\n"
    with open(os.path.join(ROOT, "docs", "formulas.md"), encoding="utf-8") as handle:
        assert handle.read() == render_markdown() + "\n", \
            "docs/formulas.md is stale: python -m minigrad formulas --markdown docs/formulas.md"


def test_audit_command(tmp_path, capsys):
    source = tmp_path / "mine.py"
    source.write_text("import numpy as np\n"
                      "def l2(w):\n    return 0.5 * np.sum(w * w)\n"
                      "def wrong(w):\n    return np.sum(np.abs(w))\n"
                      "def broken(w):\n    raise RuntimeError('boom')\n")
    assert cli.main(["audit", "--fn", f"{source}:l2", "--formula", "l2"]) == 0
    assert "half_sum_squares" in capsys.readouterr().out
    assert cli.main(["audit", "--fn", f"{source}:wrong", "--formula", "l2"]) == 1
    assert "matches no variant" in capsys.readouterr().out
    assert cli.main(["audit", "--fn", f"{source}:broken", "--formula", "l2"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "boom" in err[0]
    assert cli.main(["audit", "--fn", f"{source}:missing", "--formula", "l2"]) == 2
    assert "no function 'missing'" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["audit", "--fn", "x.py:f", "--formula", "nope"],
                                  ["audit", "--fn", "nofile.py:f", "--formula", "l2"],
                                  ["audit", "--fn", "nocolon", "--formula", "l2"],
                                  ["audit", "--formula", "l2"],
                                  ["formulas", "--show", "nope"],
                                  ["formulas", "--compare", "nope"]])
def test_bad_arguments_give_one_line_and_a_nonzero_exit(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len([line for line in err if "error" in line]) == 1


def test_show_lists_variants_and_latex(capsys):
    assert cli.main(["formulas", "--show", "adam"]) == 0
    out = capsys.readouterr().out
    assert "eps_hat" in out and "LaTeX" in out and "minigrad.optim.Adam" in out
