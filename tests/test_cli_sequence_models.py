"""python -m minigrad train --model lstm|transformer: MNIST's rows as 28 time steps."""

import json
import re

import pytest

from minigrad import cli, models, recipes
from test_examples import MNIST_DIR, needs_mnist


def config(*flags):
    return recipes.resolve_config(cli.build_parser().parse_args(["train", *flags]))


@pytest.mark.parametrize("model,dropout", [("lstm", 0.0), ("transformer", 0.1)])
def test_sequence_models_take_mnist_rows(tmp_path, model, dropout):
    c = config("--data", "mnist", "--data-dir", str(tmp_path), "--model", model)
    assert (c["epochs"], c["batch_size"], c["dropout"]) == (8, 128, dropout)
    net = recipes.build_model(c, (28, 28), 10)
    expected = models.LSTMClassifier if model == "lstm" else models.TransformerClassifier
    assert isinstance(net, expected)


@pytest.mark.parametrize("flags,message", [
    (["--model", "lstm"], "--model lstm needs 28x28 images (--data mnist)"),
    (["--model", "transformer", "--data", "mnist", "--data-dir", ".", "--hidden", "64"],
     "--hidden sets the MLP's hidden layers; it does not apply to --model transformer"),
    (["--model", "lstm", "--data", "mnist", "--data-dir", ".", "--batch-norm"],
     "--batch-norm applies to --model mlp and lenet, not lstm"),
])
def test_sequence_model_flags_are_checked(flags, message):
    with pytest.raises(recipes.ConfigError, match=re.escape(message)):
        config(*flags)


@needs_mnist
def test_an_lstm_trains_on_mnist_rows(tmp_path, capsys):
    assert cli.main(["train", "--data", "mnist", "--data-dir", MNIST_DIR, "--model", "lstm",
                     "--limit", "2000", "--epochs", "2", "--quiet", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["test_accuracy"] > 0.2          # 10 classes: chance is 0.1
    assert json.loads((tmp_path / "config.json").read_text())["input_shape"] == [28, 28]
