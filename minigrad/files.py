"""Writing files so that a crash never leaves half of one, and the error every minigrad file
reader raises for a file it cannot trust; shared by :mod:`minigrad.serialization` (``.npz``
checkpoints), :mod:`minigrad.safetensors_io` and the training outputs."""

from __future__ import annotations

import os

__all__ = ["CheckpointError", "atomic_write", "atomic_write_text"]


class CheckpointError(ValueError):
    """A file that is not a valid minigrad checkpoint (truncated, corrupt, pickle-bearing...)."""


def _fsync_folder(folder: str) -> None:
    """Make the rename itself durable (POSIX; a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write(path, write, owner: str = "minigrad.save") -> None:
    """Write a file so that a crash never leaves it half-written: ``write(f)`` fills a new
    temporary file (binary) beside ``path``, which is flushed to disk and then renamed over
    ``path``. Until the rename, an earlier file at ``path`` stays intact; a failed write
    removes the temporary file. ``owner`` names the caller in the error for a missing folder.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{owner}: the folder {folder!r} does not exist")
    tmp = os.path.join(folder, f".{os.path.basename(path)}.{os.urandom(6).hex()}.tmp")
    # os.open with mode 0o666 lets the umask decide the permissions, as for any new file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_folder(folder)


def atomic_write_text(path, text: str, owner: str) -> None:
    """:func:`atomic_write` of ``text`` in UTF-8 (newlines written as given)."""
    atomic_write(path, lambda f: f.write(text.encode("utf-8")), owner)
