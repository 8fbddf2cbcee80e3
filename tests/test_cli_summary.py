"""python -m minigrad summary: the layer table of the train command's models."""

import json

from minigrad import cli


def test_summary_of_lenet_prints_the_table(capsys):
    assert cli.main(["summary"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 61,706" in out and "[1, 6, 28, 28]" in out


def test_summary_of_an_mlp_as_json(capsys):
    assert cli.main(["summary", "--model", "mlp", "--hidden", "64", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["total_params"] == 784 * 64 + 64 + 64 * 10 + 10


def test_summary_refuses_an_input_the_model_cannot_take(capsys):
    assert cli.main(["summary", "--model", "lenet", "--input-size", "1,784"]) == 2
    assert "lenet takes images" in capsys.readouterr().err
