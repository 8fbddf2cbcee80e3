"""The DataLoader: batches of Tensors from a dataset, in order or shuffled, resumable mid-epoch.

Each ``iter(loader)`` is one epoch. The sample order is ``arange(n)`` or, with
``shuffle=True``, a permutation drawn from the loader's own generator at the start of the
epoch; batches are consecutive slices of that order, ``batch_size`` indices each (the last one
shorter unless ``drop_last``). A dataset with ``get_batch`` (:class:`TensorDataset`,
:class:`Subset` of one) turns each index slice into a batch with one gather per array; any other
map-style dataset is read sample by sample and stacked by :func:`collate`.

Resuming: ``state_dict()`` records the generator state from which the current (or next)
epoch's order is drawn and how many of its batches were already handed out; after
``load_state_dict`` the next epoch redraws the same order and continues after those batches,
so a resumed run sees exactly the batches the uninterrupted run would have seen.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, tensor
from ._common import make_rng, rng_state, set_rng_state

__all__ = ["DataLoader", "collate"]


def _stack_field(values):
    """One field of a list of samples, stacked into a batch Tensor along a new first dim."""
    first = values[0]
    if isinstance(first, Tensor) or hasattr(first, "shape") and hasattr(first, "dtype"):
        arrays = [v.data if isinstance(v, Tensor) else v for v in values]
        xp = backend.array_module(arrays[0])
        try:
            return Tensor._make(xp.stack(arrays))
        except ValueError as exc:
            shapes = sorted({tuple(a.shape) for a in arrays})
            raise ValueError(f"collate: samples of one field have different shapes {shapes}; "
                             f"a batch needs equal shapes") from exc
    if isinstance(first, (bool, int, float, np.bool_)):
        return tensor(values)  # Python floats become float32, ints int64, as tensor() does
    raise TypeError(f"collate: cannot batch samples of type {type(first).__name__}; "
                    f"expected Tensors, arrays, numbers or tuples of them")


def collate(samples):
    """Stack a list of samples into a batch: each sample a Tensor/array/number, or a tuple or
    list of them (giving a tuple of batch Tensors)."""
    if not samples:
        raise ValueError("collate: no samples to batch")
    first = samples[0]
    if isinstance(first, (tuple, list)):
        width = len(first)
        if any(not isinstance(s, (tuple, list)) or len(s) != width for s in samples):
            raise ValueError(f"collate: every sample must be a tuple of {width} fields")
        return tuple(_stack_field([s[k] for s in samples]) for k in range(width))
    return _stack_field(samples)


class DataLoader:
    """Iterate over ``dataset`` in batches of Tensors.

    Args:
        dataset: a map-style dataset (``len`` and ``[i]``), fastest with ``get_batch``.
        batch_size: samples per batch.
        shuffle: a fresh random order every epoch, drawn from the loader's own generator.
        drop_last: leave out the last batch when it is shorter than ``batch_size``.
        seed: seeds the loader's generator (int); ``None`` draws the seed from minigrad's cpu
            generator when the loader is built, so ``minigrad.manual_seed`` fixes it.
        transform: optional callable applied to each batch's first field (the inputs), e.g. an
            augmentation from :mod:`minigrad.data.augment`; its generator state, when it has
            ``state_dict``, is saved and restored with the loader's.
        sampler: optional source of each epoch's indices instead of ``arange``/a permutation
            (exclusive with ``shuffle``, as in PyTorch), e.g. a
            :class:`~minigrad.data.WeightedRandomSampler`. A sampler with ``draw(rng)`` draws
            from the loader's generator, so resuming redraws the same indices; any other
            iterable of indices is read once per epoch.

    ``len(loader)`` is the number of batches per epoch. One epoch runs at a time: calling
    ``iter`` again starts a new epoch (as in PyTorch).
    """

    def __init__(self, dataset, batch_size: int = 1, shuffle: bool = False,
                 drop_last: bool = False, seed=None, transform=None, sampler=None):
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ValueError(f"DataLoader: batch_size must be a positive int, got {batch_size!r}")
        if not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__"):
            raise TypeError(f"DataLoader: expected a map-style dataset (with __len__ and "
                            f"__getitem__), got {type(dataset).__name__}")
        if transform is not None and not callable(transform):
            raise TypeError("DataLoader: transform must be callable")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.transform = transform
        self.sampler = sampler
        self._rng = make_rng(seed)
        self._epoch_start = rng_state(self._rng)  # the state the current/next order comes from
        self._position = 0        # batches handed out in the current epoch
        self._in_epoch = False
        self._resume_at = 0       # batches to skip in the next epoch (set by load_state_dict)
        self._active = None       # identifies the iterator running the current epoch
        self.epoch = 0            # epochs started

    def __len__(self) -> int:
        n = len(self.dataset) if self.sampler is None else len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            if hasattr(self.sampler, "draw"):
                return np.asarray(self.sampler.draw(self._rng))
            return np.fromiter(iter(self.sampler), dtype=np.int64)
        n = len(self.dataset)
        return self._rng.permutation(n) if self.shuffle else np.arange(n)

    def _fetch(self, indices):
        if hasattr(self.dataset, "get_batch"):
            batch = self.dataset.get_batch(indices)
        else:
            batch = collate([self.dataset[int(i)] for i in indices])
        if self.transform is not None:
            if isinstance(batch, tuple):
                batch = (self.transform(batch[0]),) + batch[1:]
            else:
                batch = self.transform(batch)
        return batch

    def __iter__(self):
        skip, self._resume_at = self._resume_at, 0
        self._epoch_start = rng_state(self._rng)
        order = self._order()
        self.epoch += 1 if skip == 0 else 0
        self._position = skip
        self._in_epoch = True
        token = self._active = object()  # an older, abandoned iterator must not reset our state
        try:
            for b in range(skip, len(self)):
                indices = order[b * self.batch_size:(b + 1) * self.batch_size]
                batch = self._fetch(indices)
                self._position = b + 1
                yield batch
        finally:
            if self._active is token:
                self._in_epoch = False
                self._position = 0

    def state_dict(self) -> dict:
        """JSON-able state: the generator state the current (or next) epoch's order is drawn
        from, the batches of it already handed out, the epoch count, and the transform's state
        when it has one."""
        state = {
            "rng": self._epoch_start if self._in_epoch else rng_state(self._rng),
            "batches_done": self._position if self._in_epoch else self._resume_at,
            "epoch": self.epoch,
            "num_samples": len(self.dataset),
            "batch_size": self.batch_size,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
        }
        if self.transform is not None and hasattr(self.transform, "state_dict"):
            state["transform"] = self.transform.state_dict()
        return state

    def load_state_dict(self, state: dict, allow_rebatch: bool = False) -> None:
        """Restore :meth:`state_dict`: the next ``iter`` continues the saved epoch after the
        batches it had handed out (or starts the next epoch if none were). The state must come
        from a loader of the same batches; with ``allow_rebatch``, a state saved between epochs
        may come from another batch size or sampler (what a data-parallel run resumed with
        another number of processes needs)."""
        expected = ("rng", "batches_done", "epoch", "num_samples", "batch_size", "shuffle",
                    "drop_last")
        missing = [k for k in expected if k not in state]
        if missing:
            raise KeyError(f"DataLoader.load_state_dict: missing key(s) {missing}")
        mine = {"num_samples": len(self.dataset), "batch_size": self.batch_size,
                "shuffle": self.shuffle, "drop_last": self.drop_last}
        if allow_rebatch and int(state["batches_done"]) == 0:
            # between epochs the batches may be cut otherwise: a data-parallel run resumed
            # with another number of processes (a sampler instead of shuffle, another batch)
            del mine["batch_size"], mine["shuffle"]
        different = [f"{k}: saved {state[k]!r}, this loader {v!r}" for k, v in mine.items()
                     if state[k] != v]
        if different:
            raise ValueError("DataLoader.load_state_dict: the state is from a different loader "
                             "(" + "; ".join(different) + ")")
        done = int(state["batches_done"])
        if not 0 <= done <= len(self):
            raise ValueError(f"DataLoader.load_state_dict: batches_done {done} is outside "
                             f"0..{len(self)}")
        set_rng_state(self._rng, state["rng"], "DataLoader.load_state_dict")
        self._epoch_start = rng_state(self._rng)
        self._resume_at = done
        self._in_epoch = False
        self._position = 0
        self.epoch = int(state["epoch"])
        if "transform" in state:
            if self.transform is None or not hasattr(self.transform, "load_state_dict"):
                raise ValueError("DataLoader.load_state_dict: the state holds a transform "
                                 "state but this loader's transform cannot take it")
            self.transform.load_state_dict(state["transform"])

    def __repr__(self) -> str:
        return (f"DataLoader({type(self.dataset).__name__} of {len(self.dataset)}, "
                f"batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last})")
