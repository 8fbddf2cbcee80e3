"""minigrad.recipes: the train command's settings, data and pieces, called without argparse."""

import pytest

from minigrad import cli, recipes


def parsed(*flags):
    return cli.build_parser().parse_args(["train", *flags])


def test_defaults_are_the_train_flags_defaults():
    settings = vars(parsed())
    settings.pop("command"), settings.pop("run")
    assert settings == recipes.DEFAULTS


def test_a_mapping_resolves_like_the_same_flags():
    from_flags = recipes.resolve_config(parsed("--data", "moons", "--lr", "0.05", "--optimizer",
                                               "nesterov", "--out", "x"))
    from_dict = recipes.resolve_config({"data": "moons", "lr": 0.05, "optimizer": "nesterov",
                                        "out": "x"})
    assert from_dict == from_flags
    assert from_dict["momentum"] == 0.9 and from_dict["hidden"] == [64, 64, 64]


def test_the_mapping_is_checked_as_flags_are():
    with pytest.raises(recipes.ConfigError, match="--betas applies to --optimizer adam"):
        recipes.resolve_config({"optimizer": "sgd", "betas": (0.9, 0.99)})
    with pytest.raises(recipes.ConfigError, match="unknown setting.*learning_rate"):
        recipes.resolve_config({"learning_rate": 0.1})


def test_a_run_is_built_and_trained_without_the_command_line(tmp_path):
    from minigrad.training import evaluate, fit

    config = recipes.resolve_config({"data": "moons", "samples": 200, "epochs": 3,
                                     "out": str(tmp_path)})
    data = recipes.load_data(config)
    run = recipes.build_training(config, data)
    history = fit(run.model, run.train_loader, run.loss_fn, run.optimizer, config["epochs"],
                  scheduler=run.scheduler, callbacks=run.callbacks, progress=False)
    assert len(history) == 3
    assert evaluate(run.model, run.test_loader, run.loss_fn, ["accuracy"])["accuracy"] > 0.7


def test_a_diverged_run_writes_its_results_with_nulls(tmp_path, capsys):
    import json
    status = cli.main(["train", "--optimizer", "sgd", "--lr", "50", "--epochs", "2",
                       "--samples", "200", "--quiet", "--out", str(tmp_path)])
    assert status == 0
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["test_loss"] is None          # NaN in strict JSON: null
    assert "test accuracy" in capsys.readouterr().out
