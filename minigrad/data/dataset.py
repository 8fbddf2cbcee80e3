"""Datasets, random splits and k-fold splits, with ``torch.utils.data``'s names.

A map-style dataset answers ``len(ds)`` and ``ds[i]``. Datasets backed by arrays also answer
``ds.get_batch(indices)`` with a whole batch gathered by one fancy-indexing step per array; the
:class:`~minigrad.data.DataLoader` uses it, so a batch of 128 costs one gather, not 128 Python
calls. (PyTorch's closest hook is ``__getitems__``, which returns a list of samples to collate;
``get_batch`` returns the batch itself.)
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..tensor import Tensor
from ._common import make_rng, raw

__all__ = ["Dataset", "TensorDataset", "Subset", "random_split", "KFold", "kfold_indices"]


class Dataset:
    """Base class of map-style datasets: subclasses define ``__getitem__`` and ``__len__``.

    ``__getitem__(i)`` returns one sample (a Tensor, array, number, or a tuple of them); the
    DataLoader stacks samples into a batch. Subclasses holding arrays may also define
    ``get_batch(indices)`` returning the whole batch (a tuple of Tensors) at once.
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__")

    def __len__(self) -> int:
        raise NotImplementedError(f"{type(self).__name__} must define __len__")


def _index_for(indices, array):
    """``indices`` (a NumPy int array) on the device of ``array``."""
    if type(array) is np.ndarray:
        return indices
    return backend.to_device(indices, backend.device_of(array))


def _check_indices(indices, n: int, owner: str) -> np.ndarray:
    """``indices`` as a 1-D int64 NumPy array of positions in ``range(n)`` (negatives count from
    the end, as in NumPy)."""
    idx = raw(indices) if isinstance(indices, Tensor) else indices
    idx = np.asarray(backend.to_device(idx, "cpu") if backend.device_of(idx).type != "cpu"
                     else idx)
    if idx.dtype.kind not in "iu":
        if idx.size == 0:
            idx = idx.astype(np.int64)
        else:
            raise TypeError(f"{owner}: indices must be integers, got dtype {idx.dtype}")
    if idx.ndim != 1:
        raise ValueError(f"{owner}: indices must be 1-D, got shape {idx.shape}")
    if idx.size and (idx.min() < -n or idx.max() >= n):
        raise IndexError(f"{owner}: index out of range for a dataset of {n} samples "
                         f"(got min {idx.min()}, max {idx.max()})")
    return idx.astype(np.int64, copy=False)


class TensorDataset(Dataset):
    """Samples are rows of the given tensors (or arrays), which share their first dimension.

    ``ds[i]`` is a tuple of one row of each; ``ds[index_array]`` and ``ds.get_batch(idx)`` a
    tuple of batches, gathered with one fancy index per tensor. Rows from an int index are views
    (as in PyTorch); batches from an index array are copies. The arrays are kept as given (no
    copy, same dtype and device).
    """

    def __init__(self, *tensors):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor or array")
        arrays = tuple(raw(t) for t in tensors)
        for k, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: tensor {k} is 0-d; every tensor needs a first "
                                 f"(sample) dimension")
        sizes = [a.shape[0] for a in arrays]
        if len(set(sizes)) != 1:
            shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"TensorDataset: tensors must have the same first dimension "
                             f"(number of samples), got shapes {shapes}")
        self.arrays = arrays

    @property
    def tensors(self) -> tuple:
        """The data as Tensors (sharing memory with the dataset)."""
        return tuple(Tensor._make(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            n = len(self)
            if not -n <= index < n:
                raise IndexError(f"TensorDataset: index {index} out of range for "
                                 f"{n} samples")
            xp = backend.array_module(self.arrays[0])
            return tuple(Tensor._make(xp.asarray(a[index])) for a in self.arrays)
        if isinstance(index, slice):
            return tuple(Tensor._make(a[index]) for a in self.arrays)
        return self.get_batch(index)

    def get_batch(self, indices) -> tuple:
        """The rows at ``indices`` (a 1-D int array) of every tensor, as a tuple of Tensors."""
        idx = _check_indices(indices, len(self), "TensorDataset")
        return tuple(Tensor._make(a[_index_for(idx, a)]) for a in self.arrays)

    def __repr__(self) -> str:
        shapes = ", ".join(str(tuple(a.shape)) for a in self.arrays)
        return f"TensorDataset({shapes})"


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order (no data is copied)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = _check_indices(indices, len(dataset), "Subset")

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            return self.dataset[int(self.indices[index])]
        return self.get_batch(index)

    def get_batch(self, indices):
        """A batch through the parent's ``get_batch`` (one gather); parents without one fall
        back to stacking their samples."""
        idx = self.indices[_check_indices(indices, len(self), "Subset")]
        if hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(idx)
        from .loader import collate
        return collate([self.dataset[int(i)] for i in idx])

    def __repr__(self) -> str:
        return f"Subset({len(self)} of {len(self.dataset)} samples)"


def _split_sizes(n: int, lengths) -> list[int]:
    """Integer lengths summing to ``n``, or fractions summing to 1 turned into lengths.

    Fractions follow PyTorch's rule: each split gets ``floor(n * fraction)`` samples and the
    ``n - sum`` left over are dealt one each to the splits in order.
    """
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: expected at least one length")
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in lengths):
        if any(v < 0 for v in lengths) or sum(lengths) != n:
            raise ValueError(f"random_split: lengths {lengths} must be non-negative and sum to "
                             f"the dataset's {n} samples")
        return [int(v) for v in lengths]
    fractions = [float(v) for v in lengths]
    if any(not 0.0 <= f <= 1.0 for f in fractions) or not math.isclose(sum(fractions), 1.0,
                                                                       abs_tol=1e-9):
        raise ValueError(f"random_split: fractions {lengths} must lie in [0, 1] and sum to 1 "
                         f"(or give integer lengths summing to {n})")
    sizes = [math.floor(n * f) for f in fractions]
    for i in range(n - sum(sizes)):
        sizes[i % len(sizes)] += 1
    return sizes


def random_split(dataset, lengths, seed=None) -> list[Subset]:
    """Split ``dataset`` into non-overlapping random :class:`Subset` s.

    ``lengths`` are integer sizes summing to ``len(dataset)`` or fractions summing to 1.
    ``seed`` (int) fixes the split; ``None`` draws it from minigrad's cpu generator.
    """
    n = len(dataset)
    sizes = _split_sizes(n, lengths)
    order = make_rng(seed).permutation(n)
    bounds = np.cumsum([0] + sizes)
    return [Subset(dataset, order[bounds[i]:bounds[i + 1]]) for i in range(len(sizes))]


class KFold:
    """K-fold cross-validation splits of ``n`` samples, as scikit-learn's ``KFold`` defines them.

    The samples (shuffled first when ``shuffle=True``, with ``seed``) are cut into ``n_splits``
    consecutive folds; the first ``n % n_splits`` folds hold ``n // n_splits + 1`` samples, the
    rest ``n // n_splits``. Split ``k`` validates on fold ``k`` and trains on all the others.
    """

    def __init__(self, n_splits: int = 5, shuffle: bool = False, seed=None):
        if isinstance(n_splits, bool) or not isinstance(n_splits, (int, np.integer)) \
                or n_splits < 2:
            raise ValueError(f"KFold: n_splits must be an int >= 2, got {n_splits!r}")
        if not shuffle and seed is not None:
            raise ValueError("KFold: a seed only matters with shuffle=True")
        self.n_splits = int(n_splits)
        self.shuffle = bool(shuffle)
        self.seed = seed

    def split(self, data):
        """Yield ``(train_indices, val_indices)`` for a sample count or a sized dataset/array."""
        n = int(data) if isinstance(data, (int, np.integer)) else len(data)
        if n < self.n_splits:
            raise ValueError(f"KFold: cannot make {self.n_splits} folds of {n} samples")
        order = make_rng(self.seed).permutation(n) if self.shuffle else np.arange(n)
        sizes = np.full(self.n_splits, n // self.n_splits, dtype=np.int64)
        sizes[:n % self.n_splits] += 1
        bounds = np.concatenate([[0], np.cumsum(sizes)])
        for k in range(self.n_splits):
            val = order[bounds[k]:bounds[k + 1]]
            train = np.concatenate([order[:bounds[k]], order[bounds[k + 1]:]])
            yield train, val

    def __repr__(self) -> str:
        return f"KFold(n_splits={self.n_splits}, shuffle={self.shuffle}, seed={self.seed})"


def kfold_indices(n: int, k: int = 5, shuffle: bool = False, seed=None) -> list[tuple]:
    """The ``k`` ``(train_indices, val_indices)`` pairs of :class:`KFold` for ``n`` samples."""
    return list(KFold(k, shuffle=shuffle, seed=seed).split(n))
