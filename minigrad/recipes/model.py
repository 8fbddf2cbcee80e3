"""The model of a classifier run, from its settings (the train command's ``--model``,
``--hidden``, ``--dropout``, ``--batch-norm``): used to build a run and to rebuild a saved one."""

from __future__ import annotations

import math


def build_model(config: dict, input_shape: tuple, num_classes: int):
    """``models.mlp`` or ``models.lenet5`` as ``config`` says."""
    from minigrad import models

    if config["model"] == "lenet":
        return models.lenet5(num_classes, in_channels=input_shape[0],
                             dropout=config["dropout"], batch_norm=config["batch_norm"])
    return models.mlp(math.prod(input_shape), config["hidden"], num_classes,
                      dropout=config["dropout"], batch_norm=config["batch_norm"])
