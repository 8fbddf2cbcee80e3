r"""Ensembles: combine the predictions of several trained models, and bagging.

With member outputs o_1, ..., o_M for an input (logits of shape (N, C) for a classifier) and
weights w_m (default 1)::

    'mean':  ô = Σ w_m o_m / Σ w_m                    (averaging: regression, or logits)
    'soft':  p̂ = Σ w_m softmax(o_m) / Σ w_m            (soft voting: averaged probabilities)
    'vote':  ŷ = argmax_c Σ w_m [argmax o_m = c]        (hard voting: the weighted majority
                                                         class; a tie goes to the lowest class)

**Bagging** (bootstrap aggregating, Breiman 1996): member m is trained on a bootstrap
resample, N draws with replacement from the N training samples, fed through a
:class:`~minigrad.data.DataLoader`; the ~e⁻¹ ≈ 37% of samples a member never saw are its
*out-of-bag* samples, and the ensemble of the members that did not see a sample predicts it:
the **out-of-bag score** (accuracy, or R² for a regression with ``combine='mean'``) estimates
the test score without a held-out set.

Weight averaging (one model whose weights are the mean of several snapshots) lives in
:mod:`minigrad.optim.swa_utils` (``AveragedModel``).
"""

from __future__ import annotations

import numpy as np

from . import backend
from .autograd import no_grad
from .data import DataLoader, Subset
from .data._common import make_rng
from .nn import Module, ModuleList
from .nn import functional as F
from .tensor import Tensor

__all__ = ["Bagging", "Ensemble"]

COMBINE = ("mean", "soft", "vote")


def _check_combine(owner, combine):
    if combine not in COMBINE:
        raise ValueError(f"{owner}: combine must be one of {', '.join(map(repr, COMBINE))}, "
                         f"got {combine!r}")


class Ensemble(Module):
    """Combine the outputs of ``models`` (see the module docstring for the formulas).

    ``forward(x)`` runs every member on ``x`` and returns the combined prediction: a Tensor
    like a member's output (``'mean'``), probabilities (``'soft'``, over dim 1) or int64 class
    indices (``'vote'``). ``'mean'`` and ``'soft'`` are differentiable. ``weights`` (one
    non-negative number per member) weight the members. The members are a ``ModuleList``, so
    ``.eval()``, ``.to()`` and ``state_dict()`` reach them all.
    """

    def __init__(self, models, combine: str = "soft", weights=None):
        super().__init__()
        _check_combine(type(self).__name__, combine)
        self.members = ModuleList(list(models))
        self.combine = combine
        self.weights = self._check_weights(weights, len(self.members))

    def _check_weights(self, weights, n):
        if weights is None:
            return None
        weights = [float(w) for w in weights]
        if len(weights) != n or any(w < 0 for w in weights) or sum(weights) <= 0:
            raise ValueError(f"{type(self).__name__}: weights must be {n} non-negative numbers "
                             f"(one per member) with a positive sum, got {weights}")
        return weights

    def forward(self, x):
        if len(self.members) == 0:
            raise ValueError(f"{type(self).__name__}: the ensemble has no members yet")
        return self.combine_outputs([member(x) for member in self.members])

    def combine_outputs(self, outputs, weights=None):
        """Combine precomputed member outputs (a list of Tensors, one per member)."""
        weights = weights if weights is not None else (self.weights or [1.0] * len(outputs))
        total = sum(weights)
        if self.combine == "vote":
            return self._vote(outputs, weights)
        combined = None
        for w, out in zip(weights, outputs):
            term = F.softmax(out, dim=1) if self.combine == "soft" else out
            term = term * (w / total)
            combined = term if combined is None else combined + term
        return combined

    @staticmethod
    def _vote(outputs, weights):
        first = outputs[0].data
        xp = backend.array_module(first)
        n_classes = first.shape[1]
        classes = xp.arange(n_classes)
        counts = xp.zeros((first.shape[0], n_classes), dtype=np.float64)
        for w, out in zip(weights, outputs):
            predicted = xp.argmax(out.data, axis=1)
            counts += w * (predicted[:, None] == classes[None, :])  # one-hot, weighted
        return Tensor._make(xp.argmax(counts, axis=1).astype(np.int64))  # ties: lowest class

    def extra_repr(self) -> str:
        return f"combine={self.combine!r}, members={len(self.members)}"


class Bagging(Ensemble):
    """Bootstrap aggregating: :meth:`fit` trains ``n_estimators`` models, each made by
    ``make_model()`` and trained by ``train(model, loader)`` (your loop, e.g. a call of
    :func:`minigrad.training.fit`) on a loader over its own bootstrap resample of ``dataset``.

    After :meth:`fit`: ``members`` (the trained models), ``in_bag_indices_`` and
    ``oob_indices_`` (per member: the drawn sample indices, with repeats, and the samples it
    never saw), ``oob_score_`` (the out-of-bag accuracy, or R² for ``combine='mean'`` with
    floating-point targets; NaN if no sample was ever out of bag) and ``oob_prediction_``
    (per sample, the out-of-bag ensemble's prediction, NaN where none). ``max_samples`` is the
    resample's size as a fraction of the dataset. ``seed`` makes the resamples (and each
    loader's shuffling) reproducible; ``None`` draws it from ``minigrad.manual_seed``'s stream.
    """

    def __init__(self, make_model, n_estimators: int = 5, combine: str = "soft",
                 max_samples: float = 1.0, seed=None):
        super().__init__([], combine)
        if not callable(make_model):
            raise TypeError(f"Bagging: make_model must be callable (returning a new model), "
                            f"got {type(make_model).__name__}")
        if isinstance(n_estimators, bool) or not isinstance(n_estimators, int) \
                or n_estimators < 1:
            raise ValueError(f"Bagging: invalid n_estimators = {n_estimators!r}: expected an "
                             f"integer >= 1")
        if not 0.0 < max_samples <= 1.0:
            raise ValueError(f"Bagging: invalid max_samples = {max_samples!r}: expected a "
                             f"fraction in (0, 1]")
        self.make_model = make_model
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self._rng = make_rng(seed)

    def fit(self, dataset, train, batch_size: int = 64, shuffle: bool = True):
        """Train the members on bootstrap resamples, then compute the out-of-bag score."""
        if not callable(train):
            raise TypeError(f"Bagging.fit: train must be callable as train(model, loader), "
                            f"got {type(train).__name__}")
        n = len(dataset)
        draws = max(1, round(self.max_samples * n))
        members, self.in_bag_indices_, self.oob_indices_ = [], [], []
        for _ in range(self.n_estimators):
            in_bag = self._rng.integers(0, n, size=draws)         # with replacement
            out_of_bag = np.setdiff1d(np.arange(n), in_bag)        # never drawn
            loader = DataLoader(Subset(dataset, in_bag), batch_size=batch_size,
                                shuffle=shuffle, seed=int(self._rng.integers(0, 2**62)))
            model = self.make_model()
            model.train()
            train(model, loader)
            members.append(model)
            self.in_bag_indices_.append(in_bag)
            self.oob_indices_.append(out_of_bag)
        self.members = ModuleList(members)
        self._out_of_bag(dataset, batch_size)
        return self

    def _out_of_bag(self, dataset, batch_size):
        """oob_score_ and oob_prediction_: each sample predicted by the members that never saw
        it (host arrays: one pass per member over its out-of-bag samples)."""
        n = len(dataset)
        sums, counts, targets = None, np.zeros(n), None
        for member, oob in zip(self.members, self.oob_indices_):
            if oob.size == 0:
                continue
            was_training = member.training
            member.eval()
            loader = DataLoader(Subset(dataset, oob), batch_size=max(batch_size, 256))
            start = 0
            with no_grad():
                for x, y in loader:
                    out = backend.to_device(member(x).data, "cpu").astype(np.float64)
                    if self.combine == "soft":
                        out = np.exp(out - out.max(axis=1, keepdims=True))
                        out /= out.sum(axis=1, keepdims=True)
                    elif self.combine == "vote":
                        out = np.eye(out.shape[1])[out.argmax(axis=1)]  # one vote
                    idx = oob[start:start + len(out)]
                    start += len(out)
                    if sums is None:
                        sums = np.zeros((n,) + out.shape[1:])
                        targets = np.zeros((n,) + tuple(y.shape[1:]),
                                           dtype=backend.to_device(y.data, "cpu").dtype)
                    sums[idx] += out
                    counts[idx] += 1
                    targets[idx] = backend.to_device(y.data, "cpu")
            member.train(was_training)
        seen = counts > 0
        if sums is None or not seen.any():
            self.oob_score_, self.oob_prediction_ = float("nan"), None
            return
        mean = sums / np.maximum(counts, 1).reshape((-1,) + (1,) * (sums.ndim - 1))
        regression = self.combine == "mean" and targets.dtype.kind == "f"
        if regression:
            prediction = mean.astype(np.float64)
            y, p = targets[seen].astype(np.float64), prediction[seen]
            self.oob_score_ = float(1 - ((y - p) ** 2).sum() / ((y - y.mean(axis=0)) ** 2).sum())
        else:
            prediction = mean.argmax(axis=1).astype(np.float64)
            self.oob_score_ = float((prediction[seen] == targets[seen]).mean())
        prediction[~seen] = np.nan
        self.oob_prediction_ = prediction
