"""A model trained earlier, read back: the ``model.npz`` written by ``python -m minigrad
train``, rebuilt from the ``config.json`` beside it (the teacher of ``train --teacher``, the
model of ``quantize``)."""

from __future__ import annotations

import json
import os

from .config import ConfigError


def read_run_settings(path: str, flag: str) -> dict:
    """The config.json settings of the run that wrote ``path`` (a model.npz)."""
    if not os.path.isfile(path):
        raise ConfigError(f"{flag} {path!r}: no such file")
    settings_path = os.path.join(os.path.dirname(os.path.abspath(path)), "config.json")
    if not os.path.isfile(settings_path):
        raise ConfigError(f"{flag} {path!r}: no config.json beside it (expected the model.npz "
                          f"of a `python -m minigrad train` run)")
    with open(settings_path, encoding="utf-8") as f:
        return json.load(f)


def load_trained_model(path: str, input_shape: tuple, num_classes: int, flag: str = "--teacher"):
    """The model of ``path`` (its architecture from ``config.json`` in the same folder), with
    its weights, in eval mode and without gradients."""
    from .model import build_model

    settings = read_run_settings(path, flag)
    try:
        model = build_model(settings, input_shape, num_classes)
        model.load_state_dict(path)
    except (KeyError, RuntimeError, ValueError) as exc:
        raise ConfigError(f"{flag} {path!r}: does not fit this data ({input_shape}, "
                          f"{num_classes} classes): {exc}") from None
    return model.eval().requires_grad_(False)
