"""The compression examples run (``--quick``) and print their tables: quantize_mnist.py,
distillation.py, shrink.py (MNIST only: skipped without the files), and
``python -m minigrad quantize`` on a model the train command wrote."""

from __future__ import annotations

import re

from test_examples import MNIST_DIR, needs_mnist, run_example


@needs_mnist
def test_quantize_mnist_example():
    out = run_example("quantize_mnist", "--model", "mlp", data_dir=MNIST_DIR)
    for row in ("float32", "int8 dynamic", "int8 static", "int8 QAT"):
        assert re.search(rf"^{row}.*x\s*$", out, re.M), out
    ratio = float(re.search(r"^int8 dynamic\s.*?([\d.]+)x\s+\d+\s+[\d.]+x\s*$", out, re.M)[1])
    assert ratio > 3.9                       # int8 weights: ~4x smaller on disk


@needs_mnist
def test_distillation_example():
    out = run_example("distillation", data_dir=MNIST_DIR)
    assert "teacher 784-512-256-10" in out and re.search(r"^mean\s+[\d.]+\s+[\d.]+", out, re.M)


@needs_mnist
def test_shrink_example():
    out = run_example("shrink", data_dir=MNIST_DIR)
    assert "shrunk to 784-256-128-10" in out
    float64 = float(re.search(r"([\d.e+-]+) in float64", out)[1])
    assert float64 < 1e-10


@needs_mnist
def test_quantize_command(tmp_path, capsys):
    from minigrad import cli
    run = str(tmp_path / "run")
    assert cli.main(["train", "--data", "mnist", "--data-dir", MNIST_DIR, "--model", "mlp",
                     "--hidden", "32", "--limit", "2000", "--epochs", "1", "--quiet",
                     "--no-progress", "--out", run]) == 0
    capsys.readouterr()
    assert cli.main(["quantize", f"{run}/model.npz", "--mode", "static", "--repeats", "1",
                     "--out", str(tmp_path / "int8.mg")]) == 0
    out = capsys.readouterr().out
    assert "int8 static" in out and (tmp_path / "int8.mg").is_file()
    assert cli.main(["quantize", str(tmp_path / "missing.npz")]) == 2
