"""Training checkpoints: everything needed to continue a run exactly, written atomically with
:func:`minigrad.save` (no pickle), and read back checked before anything is restored."""

from __future__ import annotations

import os

from .. import serialization
from ..serialization import CheckpointError
from ._helpers import _check_int
from .history import History

_CHECKPOINT_FORMAT = "minigrad-training-checkpoint"
_CHECKPOINT_VERSION = 1


def _loader_state(loader, name: str):
    if loader is None:
        return None
    if not hasattr(loader, "state_dict"):
        raise TypeError(f"save_checkpoint: {name} ({type(loader).__name__}) has no "
                        f"state_dict(); use a minigrad.data.DataLoader")
    return loader.state_dict()


def save_checkpoint(path, model, optimizer, scheduler=None, train_loader=None, epoch: int = 0,
                    step: int = 0, history=None, callbacks=(), extra=None, *, val_loader=None,
                    fit_state=None) -> None:
    """Write everything needed to continue training exactly to ``path`` with
    :func:`minigrad.save` (atomic: a crash mid-write leaves the previous file intact; no
    pickle).

    The checkpoint holds ``model.state_dict()``, ``optimizer.state_dict()`` and
    ``scheduler.state_dict()`` (when given), minigrad's cpu random state, the loaders' states,
    ``epoch`` (epochs completed) and ``step`` (optimizer steps taken), the :class:`History`,
    each callback's state (by position, with its class name), ``fit_state`` (fit's running sums
    of an epoch in progress) and ``extra`` (anything :func:`minigrad.save` can store).
    """
    epoch = _check_int("save_checkpoint", "epoch", epoch, low=0)
    step = _check_int("save_checkpoint", "step", step, low=0)
    checkpoint = {
        "format": _CHECKPOINT_FORMAT,
        "version": _CHECKPOINT_VERSION,
        "epoch": epoch,
        "step": step,
        "model": _unwrapped(model).state_dict(),
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "rng": serialization.get_rng_state(),
        "train_loader": _loader_state(train_loader, "train_loader"),
        "val_loader": _loader_state(val_loader, "val_loader"),
        "history": None if history is None else history.state_dict(),
        "callbacks": [{"type": type(cb).__name__, "state": cb.state_dict()}
                      for cb in callbacks],
        "fit": fit_state,
        "extra": extra,
        "processes": _processes(),
    }
    serialization.save(checkpoint, path)


def _processes() -> int:
    """The number of processes of the data-parallel job running (1 without one)."""
    from ._helpers import _process_group
    group = _process_group()
    return 1 if group is None else group.world_size


def _restore_loader(checkpoint: dict, key: str, loader, path: str) -> None:
    """A loader's saved state; from a job of another number of processes only between epochs
    (its batches were cut otherwise)."""
    if loader is None:
        return
    saved = checkpoint.get(key)
    if saved is None:
        raise CheckpointError(f"load_checkpoint: {path!r} holds no {key} state, but a {key} "
                              f"was given to restore")
    processes, now = int(checkpoint.get("processes", 1)), _processes()
    if processes == now:
        loader.load_state_dict(saved)
        return
    if saved["batches_done"]:
        raise CheckpointError(f"load_checkpoint: {path!r} was saved in the middle of an epoch "
                              f"by {processes} process(es); it resumes only with {processes} "
                              f"(this run has {now})")
    loader.load_state_dict(saved, allow_rebatch=True)


def _unwrapped(model):
    """The model a DistributedDataParallel wraps (its checkpoints hold the plain model's keys,
    so a run resumes with any number of processes, or none); other models unchanged."""
    import sys
    parallel = sys.modules.get("minigrad.nn.parallel.distributed")
    if parallel is not None and isinstance(model, parallel.DistributedDataParallel):
        return model.module
    return model


def _restore(checkpoint: dict, key: str, target, path: str) -> None:
    """Load the saved state ``checkpoint[key]`` into ``target`` (if one is given)."""
    if target is None:
        return
    if checkpoint.get(key) is None:
        raise CheckpointError(f"load_checkpoint: {path!r} holds no {key} state, but a {key} "
                              f"was given to restore")
    target.load_state_dict(checkpoint[key])


def load_checkpoint(path, model, optimizer=None, scheduler=None, train_loader=None,
                    callbacks=(), map_location=None, *, val_loader=None,
                    restore_rng: bool = True) -> dict:
    """Restore a checkpoint of :func:`save_checkpoint` into the given objects (each one given
    must have its state in the file) and, with ``restore_rng``, minigrad's cpu random state.

    ``callbacks`` must be the callbacks saved, in the same order, or none (then no callback
    state is restored; a checkpoint saved without callback states leaves them as they are).

    Returns ``{"epoch", "step", "history" (a :class:`History` or None), "extra", "fit" (fit's
    own state), "train_loader" (the saved loader state)}``. Raises :class:`CheckpointError` for
    a file that is not an intact training checkpoint.
    """
    path = os.fspath(path)
    return _restore_checkpoint(_read_checkpoint(path, map_location), path, model, optimizer,
                               scheduler, train_loader, callbacks, val_loader, restore_rng)


def _read_checkpoint(path: str, map_location=None) -> dict:
    """The contents of a training checkpoint file, checked to be one (nothing restored)."""
    checkpoint = serialization.load(path, map_location=map_location)
    if not isinstance(checkpoint, dict) or checkpoint.get("format") != _CHECKPOINT_FORMAT:
        raise CheckpointError(f"load_checkpoint: {path!r} is a minigrad file but not a training "
                              f"checkpoint (written by save_checkpoint)")
    if checkpoint.get("version") != _CHECKPOINT_VERSION:
        raise CheckpointError(f"load_checkpoint: {path!r} has training-checkpoint version "
                              f"{checkpoint.get('version')!r}; this minigrad reads "
                              f"{_CHECKPOINT_VERSION}")
    return checkpoint


def _restore_checkpoint(checkpoint, path, model, optimizer, scheduler, train_loader, callbacks,
                        val_loader, restore_rng) -> dict:
    """Load a read checkpoint into the given objects; what :func:`load_checkpoint` returns."""
    saved = checkpoint["callbacks"]
    callbacks = list(callbacks)
    saved_types = [s["type"] for s in saved]
    given_types = [type(cb).__name__ for cb in callbacks]
    if saved and callbacks and saved_types != given_types:
        raise ValueError(f"load_checkpoint: {path!r} holds the states of callbacks "
                         f"{saved_types}, but {given_types} were given; pass the same "
                         f"callbacks in the same order")
    _unwrapped(model).load_state_dict(checkpoint["model"])
    _restore(checkpoint, "optimizer", optimizer, path)
    _restore(checkpoint, "scheduler", scheduler, path)
    _restore_loader(checkpoint, "train_loader", train_loader, path)
    _restore_loader(checkpoint, "val_loader", val_loader, path)
    for cb, s in zip(callbacks, saved):
        cb.load_state_dict(s["state"])
    if restore_rng:
        serialization.set_rng_state(checkpoint["rng"])
    history = None
    if checkpoint["history"] is not None:
        history = History()
        history.load_state_dict(checkpoint["history"])
    return {"epoch": checkpoint["epoch"], "step": checkpoint["step"], "history": history,
            "extra": checkpoint["extra"], "fit": checkpoint["fit"],
            "train_loader": checkpoint["train_loader"]}
