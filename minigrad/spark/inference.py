"""Batch inference of a saved minigrad model on a Spark DataFrame, through Spark's own
``pyspark.ml.functions.predict_batch_udf``::

    from pyspark.ml.functions import predict_batch_udf
    from pyspark.sql.types import ArrayType, FloatType
    from minigrad import models
    from minigrad.spark import make_predict_fn

    def build():                                   # the architecture (travels by cloudpickle)
        return models.mlp(784, [128, 64], 10)

    logits = predict_batch_udf(make_predict_fn(build, weights="/shared/mlp.npz"),
                               return_type=ArrayType(FloatType()), batch_size=1024,
                               input_tensor_shapes=[[784]])
    scored = df.withColumn("logits", logits("pixels"))

``make_predict_fn`` returns the zero-argument function ``predict_batch_udf`` calls on each
executor's Python worker to load the model (once: Spark caches what it returns per worker while
``spark.python.worker.reuse`` is on, its default); that load builds the model and reads its
weights from a ``minigrad.save(model.state_dict(), path)`` (or ``.safetensors``) file with
``load_state_dict``, or rebuilds the ``model.npz`` of a ``python -m minigrad train`` run from
the ``config.json`` beside it. The weights are never pickled: only the path and the builder
travel. The function it returns maps each NumPy batch (rows of the input column, shaped by
``input_tensor_shapes``) to the model's outputs with ``minigrad.training.predict`` (eval mode,
no gradients), so the scores are those of ``predict`` on the same rows.

Paths are read on the executors: a shared file system, or a file shipped with
``spark.sparkContext.addFile(path)`` (a path missing on the executor is looked up by its name
among ``SparkFiles``; for a ``model.npz`` add its ``config.json`` too).
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["make_predict_fn"]


def make_predict_fn(model, weights=None, *, input_shape=None, num_classes=None,
                    batch_size: int = 256, dtype=None):
    """The ``make_predict_fn`` argument of ``predict_batch_udf`` for a saved minigrad model.

    Args:
        model: a builder (a callable returning the Module, its weights then loaded from
            ``weights``), or the path of a ``python -m minigrad train`` run's ``model.npz``
            (then ``input_shape`` and ``num_classes`` say what it was trained on).
        weights: with a builder, the path of the weights (``minigrad.save`` of a state_dict, or
            ``.safetensors``).
        input_shape: the shape of one sample (e.g. ``(1, 28, 28)``); each batch is reshaped to
            ``(rows, *input_shape)`` (needed for a ``model.npz``; otherwise optional, as
            ``input_tensor_shapes`` may do it).
        num_classes: the outputs of a ``model.npz``'s classifier.
        batch_size: rows per forward pass within a Spark batch (``predict``'s batch size).
        dtype: the inputs' dtype for the model (default: its first parameter's).
    """
    from ..training._helpers import _check_int
    batch_size = _check_int("make_predict_fn", "batch_size", batch_size)
    shape = None if input_shape is None else tuple(int(s) for s in input_shape)
    if isinstance(model, (str, os.PathLike)):
        if weights is not None:
            raise ValueError("make_predict_fn: a model.npz holds its weights; weights= is for "
                             "a builder")
        if shape is None or num_classes is None:
            raise ValueError(f"make_predict_fn: a model.npz ({os.fspath(model)!r}) needs "
                             f"input_shape= and num_classes= (what the run was trained on)")
        path, classes = os.fspath(model), int(num_classes)

        def load_model():
            from ..recipes.trained import load_trained_model
            return load_trained_model(_local_path(path), shape, classes, "make_predict_fn")
    elif callable(model):
        if weights is None:
            raise ValueError("make_predict_fn: a builder needs weights= (the path of its "
                             "minigrad.save'd state_dict), so that no weights are pickled")
        weights_path = os.fspath(weights)

        def load_model():
            built = model()
            from ..nn.module import Module
            if not isinstance(built, Module):
                raise TypeError(f"make_predict_fn: the builder returned "
                                f"{type(built).__name__}, not a Module")
            built.load_state_dict(_local_path(weights_path))
            return built.eval().requires_grad_(False)
    else:
        raise TypeError(f"make_predict_fn: model must be a builder (a callable returning a "
                        f"Module) or the path of a model.npz, got {type(model).__name__}")

    def make():
        """On the executor: load the model once, return the batch function."""
        from ..training import predict
        loaded = load_model()
        params = list(loaded.parameters())
        in_dtype = np.dtype(dtype) if dtype is not None else (
            params[0].data.dtype if params else np.dtype(np.float32))

        def predict_batch(*inputs):
            if len(inputs) != 1:
                raise TypeError(f"make_predict_fn: the model takes one input column, got "
                                f"{len(inputs)}")
            batch = np.asarray(inputs[0], dtype=in_dtype)
            if shape is not None:
                batch = batch.reshape((batch.shape[0],) + shape)
            return predict(loaded, batch, batch_size=batch_size).numpy()

        return predict_batch

    return make


def _local_path(path: str) -> str:
    """``path`` if it exists here, else the file of that name shipped with ``addFile``."""
    if os.path.exists(path):
        return path
    try:
        from pyspark import SparkFiles
        shipped = SparkFiles.get(os.path.basename(path))
    except Exception:        # no SparkFiles here (not in a Spark task, nothing added)
        shipped = None
    if shipped is not None and os.path.exists(shipped):
        return shipped
    raise FileNotFoundError(f"make_predict_fn: {path!r} is not on this executor (use a shared "
                            f"file system, or spark.sparkContext.addFile)")
