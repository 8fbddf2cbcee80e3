"""minigrad.viz: the autograd graph as DOT text, rendering, and ``python -m minigrad graph``."""

import importlib.util

import pytest

import minigrad as mg
from minigrad import cli, viz

KNOWN_GRAPH = """\
digraph minigrad {
  node [fontname="Helvetica", fontsize=10];
  t0 [label="output\\n() float32\\nrequires_grad", shape=box];
  t1 [label="(1, 1) float32\\nrequires_grad", shape=box];
  t2 [label="(1, 1) float32\\nrequires_grad\\ngrad (retained)", shape=box];
  t3 [label="x\\n(1, 2) float32", shape=box];
  t4 [label="w\\n(2, 1) float32\\nrequires_grad\\ngrad", shape=box, style=filled, fillcolor=lightblue];
  op0 [label="Sum", shape=ellipse];
  op1 [label="ReLU", shape=ellipse];
  op2 [label="MatMul", shape=ellipse];
  t1 -> op0;
  op0 -> t0;
  t2 -> op1;
  op1 -> t1;
  t3 -> op2;
  t4 -> op2;
  op2 -> t2;
}
"""


def _small_graph():
    x = mg.tensor([[1.0, 2.0]])
    w = mg.tensor([[1.0], [2.0]], requires_grad=True)
    h = x @ w
    h.retain_grad()
    z = h.relu().sum()
    z.backward(retain_graph=True)
    return z, {"w": w, "x": x}


def test_dot_of_a_small_known_graph():
    z, params = _small_graph()
    assert viz.to_dot(z, params=params) == KNOWN_GRAPH


def test_dot_before_backward_shows_no_gradients():
    x = mg.tensor([1.0, -1.0], dtype=mg.float64, requires_grad=True)
    text = viz.to_dot((x * x).exp().sum())
    assert "\\ngrad" not in text
    assert "(2,) float64\\nrequires_grad" in text and "Exp" in text and "Mul" in text
    assert text.count("t0 -> op") == 0 and text.count("-> t0;") == 1
    assert text.count("t3 -> op2;") == 2          # x is both inputs of x * x


def test_a_freed_graph_says_so():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    z = (x * 2).sum()
    z.backward()
    assert "graph freed" in viz.to_dot(z)


def test_deep_graph_needs_no_recursion():
    x = mg.tensor([1.0], requires_grad=True)
    y = x
    for _ in range(3000):
        y = y + 1.0
    text = viz.to_dot(y)
    assert text.count("shape=ellipse") == 3000


def test_render_writes_dot_without_graphviz(tmp_path):
    z, params = _small_graph()
    path = viz.render(z, tmp_path / "g.dot", params=params)
    with open(path, encoding="utf-8") as handle:
        assert handle.read() == KNOWN_GRAPH


@pytest.mark.skipif(importlib.util.find_spec("graphviz") is not None,
                    reason="graphviz is installed")
def test_render_to_an_image_names_the_missing_package(tmp_path):
    z, _ = _small_graph()
    with pytest.raises(ImportError, match="pip install graphviz"):
        viz.render(z, tmp_path / "g.svg")


def test_to_dot_refuses_a_non_tensor():
    with pytest.raises(TypeError, match="to_dot: expected a Tensor, got list"):
        viz.to_dot([1, 2])


def test_graph_command_writes_one_training_step(tmp_path, capsys):
    out = tmp_path / "step.dot"
    assert cli.main(["graph", "--model", "mlp", "--hidden", "8", "--inputs", "5",
                     "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert "SoftmaxCrossEntropy" in text and text.count('label="Linear"') == 2
    assert "1.weight\\n(8, 5) float32\\nrequires_grad\\ngrad" in text
    assert cli.main(["graph", "--model", "lenet"]) == 0
    assert capsys.readouterr().out.count('label="Conv2d"') == 2


@pytest.mark.parametrize("argv", [["graph", "--model", "resnet"],
                                  ["graph", "--batch-size", "0"]])
def test_graph_bad_arguments(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(argv)
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()[-1:]) == 1


@pytest.mark.skipif(importlib.util.find_spec("graphviz") is not None,
                    reason="graphviz is installed")
def test_graph_command_without_graphviz_gives_one_line(tmp_path, capsys):
    assert cli.main(["graph", "--hidden", "4", "--inputs", "3", "--out",
                     str(tmp_path / "g.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "graphviz" in err[0]
