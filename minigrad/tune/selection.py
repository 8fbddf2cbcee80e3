"""Model selection: k-fold cross-validation of a training function.

``cross_validate(build_and_train, dataset, k=5, stratified=True, seed=0)`` splits ``dataset``
with :class:`minigrad.data.StratifiedKFold` (by the labels) or :class:`minigrad.data.KFold`
(both shuffled with ``seed``), calls ``build_and_train(train, val)`` once per fold, and returns
the fold scores with their mean and standard deviation (population std, ddof = 0, as
``numpy.std``)::

    mean = (1/k) Σ_f s_f,   std = sqrt((1/k) Σ_f (s_f − mean)²)

``dataset`` is an ``(x, y)`` pair of arrays (the folds are then ``(x[idx], y[idx])`` pairs) or
a Dataset whose samples end with their label (the folds are ``Subset`` s). A score is a number
or a dict of numbers (each gets its mean and std).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["cross_validate"]


def _labels(dataset):
    from minigrad.data import TensorDataset

    if isinstance(dataset, tuple):
        return dataset[1]
    if isinstance(dataset, TensorDataset):
        return dataset.arrays[-1]
    return np.array([dataset[i][-1] for i in range(len(dataset))])  # host-side labels


def _check_score(fold, score):
    items = score.items() if isinstance(score, dict) else [("score", score)]
    for key, v in items:
        if isinstance(v, bool) or not isinstance(v, (int, float, np.number)) or \
                not math.isfinite(float(v)):
            raise ValueError(f"cross_validate: fold {fold} returned {key}={v!r}; expected a "
                             f"finite number or a dict of them")


def cross_validate(build_and_train, dataset, k: int = 5, stratified: bool = True,
                   seed: int = 0) -> dict:
    """``{'fold_scores': [...], 'mean': ..., 'std': ...}`` (dicts per metric when the scores
    are dicts); see the module docstring."""
    from minigrad.data import KFold, StratifiedKFold, Subset

    if isinstance(dataset, tuple):
        if len(dataset) != 2 or len(dataset[0]) != len(dataset[1]):
            raise ValueError(f"cross_validate: an (x, y) pair of equal lengths is expected, "
                             f"got {len(dataset)} items")
        n = len(dataset[1])
    else:
        n = len(dataset)
    if stratified:
        folds = StratifiedKFold(k, shuffle=True, seed=seed).split(_labels(dataset))
    else:
        folds = KFold(k, shuffle=True, seed=seed).split(n)
    scores = []
    for fold, (train_idx, val_idx) in enumerate(folds):
        if isinstance(dataset, tuple):
            x, y = dataset
            train, val = (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])
        else:
            train, val = Subset(dataset, train_idx), Subset(dataset, val_idx)
        score = build_and_train(train, val)
        _check_score(fold, score)
        scores.append(score)
    if isinstance(scores[0], dict):
        keys = list(scores[0])
        table = {key: np.array([float(s[key]) for s in scores]) for key in keys}
        return {"fold_scores": scores, "mean": {key: float(v.mean()) for key, v in table.items()},
                "std": {key: float(v.std()) for key, v in table.items()}}
    values = np.array([float(s) for s in scores])
    return {"fold_scores": [float(s) for s in scores], "mean": float(values.mean()),
            "std": float(values.std())}
