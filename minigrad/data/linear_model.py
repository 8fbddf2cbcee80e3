"""A linear model trained by minigrad itself, for model-driven feature selection (``RFE``,
``SelectFromModel``) and quick baselines: ``fit``, ``predict``, ``coef_`` and ``intercept_``
as scikit-learn's linear models.

The L1 penalty is applied by proximal gradient descent (ISTA), so weights reach exactly zero:
the documents' "L1 regularization selects features" point, runnable. Use it on standardized
features (a :class:`~minigrad.data.StandardScaler` first), as any penalized linear model.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ._common import like, raw
from ._estimator import Estimator, feature_matrix, labels
from .encoding import _column, _lookup, _unique
from .preprocessing import _on_device_of

__all__ = ["LinearModel"]


class LinearModel(Estimator):
    """``f(x) = W x + b`` trained with minigrad's autograd by full-batch gradient descent.

    Objective, for ``n`` samples::

        task='classification':  (1/n) sum_i CE(softmax(W x_i + b), y_i) + alpha * sum |W|
        task='regression':      (1/n) sum_i (w.x_i + b - y_i)^2       + alpha * sum |w|

    Each epoch: ``W <- W - lr * grad`` (the smooth part, by backward()), then the proximal
    step of the L1 term, the soft threshold ``W <- sign(W) * max(|W| - lr * alpha, 0)``
    (the bias is not penalized). Starts from zero (the problem is convex), so it needs no
    random seed. ``coef_`` is ``(n_classes, n_features)`` for classification, ``(n_features,)``
    for regression.
    """

    _config = ("task", "alpha", "lr", "epochs")
    _fitted = ("coef_", "intercept_", "classes_", "n_features_in_")

    def __init__(self, task: str = "classification", alpha: float = 0.0, lr: float = 0.1,
                 epochs: int = 300):
        if task not in ("classification", "regression"):
            raise ValueError(f"LinearModel: task must be 'classification' or 'regression', got "
                             f"{task!r}")
        if not alpha >= 0 or not lr > 0:
            raise ValueError(f"LinearModel: needs alpha >= 0 and lr > 0, got alpha={alpha}, "
                             f"lr={lr}")
        if isinstance(epochs, bool) or not isinstance(epochs, numbers.Integral) or epochs < 1:
            raise ValueError(f"LinearModel: epochs must be a positive int, got {epochs!r}")
        self.task, self.alpha, self.lr, self.epochs = task, float(alpha), float(lr), int(epochs)

    def fit(self, X, y) -> "LinearModel":
        """Train on ``(X, y)``: class labels (any kind) or real targets."""
        from .. import nn, no_grad, optim          # lazily: minigrad.data stays light to import
        from ..tensor import Tensor

        owner = "LinearModel.fit"
        x = feature_matrix(X, owner)
        xp = backend.array_module(x)
        n, f = x.shape
        y = labels(y, n, owner)
        if self.task == "classification":
            col = _column(y, owner, "y")
            self.classes_ = _unique(col)
            codes, _ = _lookup(self.classes_, col, owner, "y")
            target = Tensor._make(backend.to_device(codes, backend.device_of(x)))
            outputs = len(self.classes_)
            loss_fn = nn.CrossEntropyLoss()
        else:
            self.classes_ = None
            target = Tensor._make(backend.to_device(y.astype(x.dtype).reshape(n, 1),
                                                    backend.device_of(x)))
            outputs = 1
            loss_fn = nn.MSELoss()
        model = nn.Linear(f, outputs, device=str(backend.device_of(x)), dtype=x.dtype)
        with no_grad():
            model.weight.data[...] = 0
            model.bias.data[...] = 0
        opt = optim.SGD(model.parameters(), lr=self.lr)
        inputs = Tensor._make(x)
        shrink = self.lr * self.alpha
        for _ in range(self.epochs):
            opt.zero_grad()
            loss_fn(model(inputs), target).backward()
            opt.step()
            if shrink:
                w = model.weight.data                # proximal step of alpha * |W|
                w[...] = xp.sign(w) * xp.maximum(xp.abs(w) - shrink, 0)
        weight = backend.to_device(model.weight.data, "cpu").astype(np.float64)
        bias = backend.to_device(model.bias.data, "cpu").astype(np.float64)
        self.coef_ = weight if self.task == "classification" else weight[0]
        self.intercept_ = bias if self.task == "classification" else float(bias[0])
        self.n_features_in_ = int(f)
        return self

    def decision_function(self, X):
        """``X @ coef_.T + intercept_``."""
        self._check_fitted("decision_function")
        x = feature_matrix(X, "LinearModel.decision_function")
        if x.shape[1] != self.n_features_in_:
            raise ValueError(f"LinearModel.decision_function: X has {x.shape[1]} features "
                             f"(shape {tuple(x.shape)}), fitted on {self.n_features_in_}")
        coef = _on_device_of(np.asarray(self.coef_), x, x.dtype)
        bias = _on_device_of(np.asarray(self.intercept_), x, x.dtype)
        return like(x @ coef.T + bias, X)

    def predict(self, X):
        """Class labels (the largest score's class) or real predictions."""
        scores = self.decision_function(X)
        s = raw(scores)
        if self.task == "regression":
            return scores
        best = backend.to_device(backend.array_module(s).argmax(s, axis=1), "cpu")
        return self.classes_[best]

    def transform(self, X):
        raise TypeError("LinearModel is a model, not a transformer; use predict")
