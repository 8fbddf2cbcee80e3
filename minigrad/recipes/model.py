"""The model of a classifier run, from its settings (the train command's ``--model``,
``--hidden``, ``--dropout``, ``--batch-norm``): used to build a run and to rebuild a saved one."""

from __future__ import annotations

import math


def build_model(config: dict, input_shape: tuple, num_classes: int):
    """``models.mlp``, ``models.lenet5``, or a sequence model reading the image's rows as
    time steps (``lstm_classifier`` with 128 hidden units, ``transformer_classifier`` with
    d_model 64, 4 heads, 2 layers), as ``config`` says."""
    from minigrad import models

    if config["model"] == "lstm":
        return models.lstm_classifier(input_shape[-1], 128, num_classes,
                                      dropout=config["dropout"])
    if config["model"] == "transformer":
        return models.transformer_classifier(input_shape[-1], num_classes,
                                             dropout=config["dropout"])
    if config["model"] == "lenet":
        return models.lenet5(num_classes, in_channels=input_shape[0],
                             dropout=config["dropout"], batch_norm=config["batch_norm"])
    return models.mlp(math.prod(input_shape), config["hidden"], num_classes,
                      dropout=config["dropout"], batch_norm=config["batch_norm"])
