"""A classifier run described by its settings (a dict, the train command's flags by name):
``config`` resolves and checks the settings, ``data`` loads and splits the data, ``build``
makes the model, optimizer, schedule, loss, loaders and callbacks. ``python -m minigrad train``
is these functions behind argparse; a program or a tuner calls them directly::

    from minigrad import recipes
    config = recipes.resolve_config({"data": "moons", "lr": 0.01, "epochs": 5})
    run = recipes.build_training(config, recipes.load_data(config))
"""

from .build import (RegularizedLoss, Training, build_optimizer, build_scheduler,
                    build_training, gradual_schedule, prunable_weights)
from .config import DEFAULTS, ConfigError, read_resume, resolve_config
from .data import TrainData, load_data
from .model import build_model

__all__ = ["resolve_config", "read_resume", "ConfigError", "DEFAULTS", "load_data",
           "TrainData", "build_model", "build_optimizer", "build_scheduler", "build_training",
           "Training", "RegularizedLoss", "prunable_weights", "gradual_schedule"]
