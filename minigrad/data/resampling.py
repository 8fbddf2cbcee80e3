"""Resampling for class imbalance: random over- and under-sampling, SMOTE
(imbalanced-learn's names and ``fit_resample``), and a weighted sampler for the DataLoader
(PyTorch's ``WeightedRandomSampler``).

Resample the training split only: evaluation data keeps its true class balance. Random draws
come from a NumPy generator of the sampler's own (``seed``: an int, or None to draw one from
minigrad's cpu generator, as everywhere in ``minigrad.data``; imbalanced-learn calls it
``random_state``); rows are gathered on the data's device.

``sampling_strategy`` says how many samples each class should end up with (``n_c`` its
count, ``n_max``/``n_min`` the largest/smallest):

- over-sampling: ``'auto'`` = ``'not majority'`` (every class but the largest grows to
  ``n_max``), ``'minority'``, ``'not minority'``, ``'all'``; a float ``r`` (two classes: the
  minority grows to ``r * n_max``); a dict ``{class: target count}``;
- under-sampling: ``'auto'`` = ``'not minority'`` (every class but the smallest shrinks to
  ``n_min``), ``'majority'``, ``'not majority'``, ``'all'``; a float ``r`` (two classes: the
  majority shrinks to ``n_min / r``); a dict ``{class: target count}``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend
from ._common import like, make_rng, raw
from ._estimator import labels
from .encoding import _column, _lookup, _unique

__all__ = ["RandomOverSampler", "SMOTE", "RandomUnderSampler", "WeightedRandomSampler",
           "nearest_neighbors"]


def _classes(X, y, owner: str):
    """``(x, y, classes, codes, counts)``: codes and counts on the host (per-class
    bookkeeping is small), the data as given."""
    x = raw(X)
    if x.ndim < 1 or x.shape[0] == 0:
        raise ValueError(f"{owner}: expected samples along the first axis, got shape "
                         f"{tuple(x.shape)}")
    ya = _column(labels(y, x.shape[0], owner), owner, "y")
    classes = _unique(ya)
    codes, _ = _lookup(classes, ya, owner, "y")
    codes = backend.to_device(codes, "cpu")
    return x, ya, classes, codes, np.bincount(codes, minlength=len(classes))


def _targets(strategy, classes, counts, over: bool, owner: str) -> dict:
    """``{class code: target count}`` for the classes to resample."""
    n_max, n_min = int(counts.max()), int(counts.min())
    majority, minority = int(np.argmax(counts)), int(np.argmin(counts))
    all_codes = range(len(classes))
    if isinstance(strategy, dict):
        out = {}
        for label, target in strategy.items():
            code, known = _lookup(classes, np.asarray([label], dtype=classes.dtype), owner,
                                  "sampling_strategy")
            if not bool(known[0]):
                raise ValueError(f"{owner}: sampling_strategy names class {label!r}, which is "
                                 f"not in y (classes {classes.tolist()[:10]})")
            c = int(code[0])
            if over and target < counts[c] or not over and target > counts[c]:
                verb = "over-sample to fewer" if over else "under-sample to more"
                raise ValueError(f"{owner}: cannot {verb} samples than class {label!r} has "
                                 f"({target} vs {counts[c]})")
            out[c] = int(target)
        return out
    if isinstance(strategy, numbers.Real) and not isinstance(strategy, bool):
        if len(classes) != 2 or not 0 < strategy <= 1:
            raise ValueError(f"{owner}: a float sampling_strategy needs two classes and a ratio "
                             f"in (0, 1], got {strategy} with {len(classes)} classes")
        if over:
            return {minority: max(int(counts[minority]), int(strategy * n_max))}
        return {majority: min(int(counts[majority]), int(n_min / strategy))}
    target = n_max if over else n_min
    choices = {"all": all_codes,
               "minority": [minority], "majority": [majority],
               "not minority": [c for c in all_codes if c != minority],
               "not majority": [c for c in all_codes if c != majority]}
    key = ("not majority" if over else "not minority") if strategy == "auto" else strategy
    if key not in choices or key == ("majority" if over else "minority"):
        raise ValueError(f"{owner}: unknown sampling_strategy {strategy!r}")
    return {c: target for c in choices[key]}


def _gather(array, idx):
    """``array[idx]`` with the host index array moved to the array's device."""
    a = raw(array)
    if type(a) is not np.ndarray:
        idx = backend.to_device(idx, backend.device_of(a))
    return a[idx]


class _Sampler:
    def __init__(self, sampling_strategy="auto", seed=None):
        self.sampling_strategy = sampling_strategy
        self.seed = seed
        self._rng = make_rng(seed)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sampling_strategy={self.sampling_strategy!r})"


class RandomOverSampler(_Sampler):
    """Duplicate random samples of the smaller classes: class ``c`` gets
    ``target_c - n_c`` extra rows drawn uniformly with replacement from its own rows.

    ``fit_resample(X, y)`` returns the original samples followed by the drawn ones;
    ``sample_indices_`` holds the row of ``X`` behind each output row.
    """

    def fit_resample(self, X, y):
        owner = "RandomOverSampler.fit_resample"
        x, ya, classes, codes, counts = _classes(X, y, owner)
        picked = [np.arange(x.shape[0])]
        for c, target in sorted(_targets(self.sampling_strategy, classes, counts, True,
                                         owner).items()):
            rows = np.flatnonzero(codes == c)
            picked.append(rows[self._rng.integers(0, rows.size, target - rows.size)])
        self.sample_indices_ = np.concatenate(picked)
        return like(_gather(x, self.sample_indices_), X), like(_gather(ya, self.sample_indices_),
                                                               y)


class RandomUnderSampler(_Sampler):
    """Keep a random subset of the larger classes: class ``c`` keeps ``target_c`` of its rows,
    drawn uniformly without replacement (with, when ``replacement=True``); other classes keep
    all theirs. The output is grouped by class in sorted class order."""

    def __init__(self, sampling_strategy="auto", replacement: bool = False, seed=None):
        super().__init__(sampling_strategy, seed)
        self.replacement = bool(replacement)

    def fit_resample(self, X, y):
        owner = "RandomUnderSampler.fit_resample"
        x, ya, classes, codes, counts = _classes(X, y, owner)
        targets = _targets(self.sampling_strategy, classes, counts, False, owner)
        picked = []
        for c in range(len(classes)):
            rows = np.flatnonzero(codes == c)
            if c in targets:
                rows = rows[self._rng.choice(rows.size, targets[c], replace=self.replacement)]
            picked.append(rows)
        self.sample_indices_ = np.concatenate(picked)
        return like(_gather(x, self.sample_indices_), X), like(_gather(ya, self.sample_indices_),
                                                               y)


def nearest_neighbors(x, k: int, block: int = 2048):
    """Indices ``(n, k)`` of each row's ``k`` nearest other rows (Euclidean; nearest first),
    by ``|a - b|^2 = |a|^2 + |b|^2 - 2 a.b`` in float64, a block of rows at a time."""
    xp = backend.array_module(x)
    x = x.reshape(x.shape[0], -1).astype(np.float64)
    sq = (x * x).sum(axis=1)
    out = []
    for start in range(0, x.shape[0], block):
        rows = slice(start, start + block)
        d2 = sq[rows, None] + sq[None, :] - 2.0 * (x[rows] @ x.T)
        d2[xp.arange(d2.shape[0]), xp.arange(start, start + d2.shape[0])] = xp.inf  # not self
        out.append(xp.argsort(d2, axis=1, kind="stable")[:, :k])
    return xp.concatenate(out, axis=0)


class SMOTE(_Sampler):
    """Synthetic Minority Over-sampling (Chawla et al., 2002): new samples on the segments
    between a sample and one of its ``k_neighbors`` nearest neighbours of the same class::

        x_new = x_i + u * (x_nn - x_i),   i ~ U{class rows}, nn ~ U{k nearest of x_i},
                                          u ~ U[0, 1)

    until each resampled class reaches its target count. ``fit_resample(X, y)`` returns the
    original samples followed by the synthetic ones (floating ``X`` only; they are new points,
    not copies).
    """

    def __init__(self, sampling_strategy="auto", k_neighbors: int = 5, seed=None):
        super().__init__(sampling_strategy, seed)
        if isinstance(k_neighbors, bool) or not isinstance(k_neighbors, numbers.Integral) or \
                k_neighbors < 1:
            raise ValueError(f"SMOTE: k_neighbors must be a positive int, got {k_neighbors!r}")
        self.k_neighbors = int(k_neighbors)

    def fit_resample(self, X, y):
        owner = "SMOTE.fit_resample"
        x, ya, classes, codes, counts = _classes(X, y, owner)
        if x.dtype.kind != "f":
            raise TypeError(f"{owner}: SMOTE interpolates, so X must be floating, got {x.dtype}")
        xp = backend.array_module(x)
        new_x, new_codes = [x], []
        k = self.k_neighbors
        for c, target in sorted(_targets(self.sampling_strategy, classes, counts, True,
                                         owner).items()):
            rows = np.flatnonzero(codes == c)
            if rows.size <= k:
                raise ValueError(f"{owner}: class {classes.tolist()[c]!r} has {rows.size} samples; SMOTE "
                                 f"needs more than k_neighbors={k}")
            n_new = target - rows.size
            members = _gather(x, rows)
            neighbors = backend.to_device(nearest_neighbors(members, k), "cpu")
            pick = self._rng.integers(0, rows.size * k, n_new)    # a (sample, neighbour) pair
            base, nn = pick // k, neighbors[pick // k, pick % k]
            gap = self._rng.uniform(size=(n_new,) + (1,) * (x.ndim - 1)).astype(x.dtype)
            gap = gap if xp is np else backend.to_device(gap, backend.device_of(x))
            a, b = _gather(members, base), _gather(members, nn)
            new_x.append(a + gap * (b - a))
            new_codes.append(np.full(n_new, c))
        extra = classes[np.concatenate(new_codes)] if new_codes else classes[:0]
        y_xp = backend.array_module(ya)
        if y_xp is not np:
            extra = backend.to_device(extra.astype(ya.dtype), backend.device_of(ya))
        y_out = y_xp.concatenate([ya, extra.astype(ya.dtype)])
        return like(xp.concatenate(new_x, axis=0), X), like(y_out, y)


class WeightedRandomSampler:
    """Draw ``num_samples`` dataset indices with probabilities proportional to ``weights``
    (PyTorch's ``torch.utils.data.WeightedRandomSampler``): ``P(i) = w_i / sum_j w_j``, with
    replacement by default; without it, each index at most once (sequentially, as
    ``torch.multinomial``).

    Give it to a :class:`~minigrad.data.DataLoader` as ``sampler=``: each epoch's indices are
    then drawn from the loader's generator, so the loader's ``state_dict`` resumes them
    exactly. Iterating the sampler directly uses its own ``generator`` (an int seed, a NumPy
    ``Generator`` or None). For class balance, weight each sample by ``1 / n_{class}``.
    """

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        w = np.asarray(backend.to_device(raw(weights), "cpu"), dtype=np.float64)
        if w.ndim != 1 or w.size == 0 or not np.isfinite(w).all() or (w < 0).any() \
                or w.sum() <= 0:
            raise ValueError(f"WeightedRandomSampler: weights must be a non-empty 1-D sequence "
                             f"of finite non-negative numbers with a positive sum, got shape "
                             f"{w.shape}")
        if isinstance(num_samples, bool) or not isinstance(num_samples, numbers.Integral) or \
                num_samples < 1:
            raise ValueError(f"WeightedRandomSampler: num_samples must be a positive int, got "
                             f"{num_samples!r}")
        if not replacement and num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {num_samples} samples "
                             f"without replacement from {np.count_nonzero(w)} non-zero weights")
        self.weights = w
        self.num_samples = int(num_samples)
        self.replacement = bool(replacement)
        self._rng = generator if isinstance(generator, np.random.Generator) else \
            make_rng(generator)

    def draw(self, rng: np.random.Generator) -> np.ndarray:
        """One epoch of indices drawn from ``rng`` (int64)."""
        p = self.weights / self.weights.sum()
        return rng.choice(self.weights.size, self.num_samples, replace=self.replacement, p=p)

    def __iter__(self):
        return iter(self.draw(self._rng).tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self) -> str:
        return (f"WeightedRandomSampler({self.weights.size} weights, num_samples="
                f"{self.num_samples}, replacement={self.replacement})")
