"""A reader for IDX files (the MNIST format), gzip-compressed or raw, and ``load_mnist``.

IDX layout (all header integers big-endian)::

    bytes 0-1   zero
    byte  2     data type: 0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32, 0x0D float32,
                0x0E float64 (multi-byte values big-endian)
    byte  3     number of dimensions d
    next 4*d    the size of each dimension, uint32
    then        prod(sizes) values, row-major

so MNIST images start with magic 2051 = 0x00000803 (uint8, 3 dims) and labels with 2049 =
0x00000801 (uint8, 1 dim). Files are read from local disk only: nothing is ever downloaded.
"""

from __future__ import annotations

import gzip
import math
import os
import zlib

import numpy as np

__all__ = ["read_idx", "load_mnist", "IDXError", "MNIST_FILES"]

_DTYPES = {0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
           0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
_GZIP_MAGIC = b"\x1f\x8b"
_DEFLATE_MAX_RATIO = 1032  # deflate cannot expand data more than ~1032:1


class IDXError(ValueError):
    """A file that is not a valid IDX file (the message names the file and what was wrong)."""


def _read_exactly(f, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = f.read(n - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def _fill(f, out: np.ndarray) -> int:
    """Read into ``out``'s bytes until full or end of file; returns the bytes read."""
    view = memoryview(out).cast("B")
    got = 0
    while got < len(view):
        n = f.readinto(view[got:])
        if not n:
            break
        got += n
    return got


def read_idx(path) -> np.ndarray:
    """Read an IDX file (gzip-compressed, detected by its magic bytes, or raw) into an array.

    The header is validated (two zero bytes, a known type code, at least one dimension) and the
    file's length must match it exactly: a truncated file, one with trailing bytes, or a corrupt
    gzip stream raises :class:`IDXError` naming the file. Multi-byte types are converted to the
    machine's byte order; the returned array is writable and owns its memory.
    """
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"read_idx: no such file {path!r}")
    with open(path, "rb") as raw_file:
        compressed = raw_file.read(2) == _GZIP_MAGIC
    size_on_disk = os.path.getsize(path)
    try:
        with (gzip.open(path, "rb") if compressed else open(path, "rb")) as f:
            return _read_idx_stream(f, path, compressed, size_on_disk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as exc:
        raise IDXError(f"read_idx: {path!r} is not a valid gzip file (truncated or corrupt: "
                       f"{exc})") from exc


def _read_idx_stream(f, path: str, compressed: bool, size_on_disk: int) -> np.ndarray:
    header = _read_exactly(f, 4)
    if len(header) < 4:
        raise IDXError(f"read_idx: {path!r} is too short for an IDX header (expected 4 magic "
                       f"bytes, found {len(header)})")
    if header[0] != 0 or header[1] != 0:
        raise IDXError(f"read_idx: {path!r} has a bad magic number "
                       f"0x{header.hex()}: an IDX file starts with two zero bytes")
    code, ndim = header[2], header[3]
    if code not in _DTYPES:
        known = ", ".join(f"0x{c:02X} {d.name}" for c, d in _DTYPES.items())
        raise IDXError(f"read_idx: {path!r} has unknown data type code 0x{code:02X} "
                       f"(magic 0x{header.hex()}); expected one of {known}")
    if ndim == 0:
        raise IDXError(f"read_idx: {path!r} declares 0 dimensions (magic 0x{header.hex()})")
    dims_bytes = _read_exactly(f, 4 * ndim)
    if len(dims_bytes) < 4 * ndim:
        raise IDXError(f"read_idx: {path!r} is truncated in its header: {ndim} dimension "
                       f"sizes need {4 * ndim} bytes, found {len(dims_bytes)}")
    shape = tuple(int(d) for d in np.frombuffer(dims_bytes, dtype=">u4"))
    dtype = _DTYPES[code]
    header_bytes = 4 + 4 * ndim
    data_bytes = math.prod(shape) * dtype.itemsize
    expected = header_bytes + data_bytes
    # Refuse impossible sizes before allocating: a raw file must be exactly this long, and a
    # gzip stream cannot hold more than _DEFLATE_MAX_RATIO times its compressed size.
    if not compressed and size_on_disk != expected:
        raise IDXError(f"read_idx: {path!r} has {size_on_disk} bytes but its header "
                       f"(type {dtype.name}, shape {shape}) needs exactly {expected}")
    if compressed and expected > _DEFLATE_MAX_RATIO * size_on_disk + 1024:
        raise IDXError(f"read_idx: {path!r} is too short: its header (type {dtype.name}, "
                       f"shape {shape}) needs {expected} bytes, more than a {size_on_disk}-byte "
                       f"gzip file can hold")
    out = np.empty(shape, dtype=dtype)
    got = _fill(f, out)
    if got < data_bytes:
        raise IDXError(f"read_idx: {path!r} is truncated: its header (type {dtype.name}, shape "
                       f"{shape}) needs {expected} bytes, found {header_bytes + got}")
    if f.read(1):
        extra = 1 + len(f.read())
        raise IDXError(f"read_idx: {path!r} has {extra} byte(s) after the {expected} its header "
                       f"(type {dtype.name}, shape {shape}) accounts for")
    if dtype.byteorder == ">":
        out = out.astype(dtype.newbyteorder("="))
    return out


# ---------------------------------------------------------------------------------------------
# MNIST

MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}


def _find(folder_candidates, name):
    """The first existing ``name.gz`` or ``name`` in the candidate folders, else None."""
    for folder in folder_candidates:
        for candidate in (name + ".gz", name):
            path = os.path.join(folder, candidate)
            if os.path.isfile(path):
                return path
    return None


def load_mnist(root=None, train: bool = True, normalize: bool = False):
    """MNIST from local IDX files: ``(images, labels)`` as NumPy arrays.

    Args:
        root: the folder holding the four MNIST files (gzip-compressed ``*-ubyte.gz`` or
            uncompressed ``*-ubyte``), or a folder with an ``mnist`` subfolder holding them.
            Defaults to the ``MINIGRAD_DATA`` environment variable.
        train: the 60,000 training images (``True``) or the 10,000 test images (``False``).
        normalize: ``False`` (default) gives the raw pixels, uint8 in 0..255; ``True`` gives
            float32 pixels ``x / 255`` in [0, 1].

    Returns:
        images of shape ``(N, 28, 28)`` (uint8, or float32 with ``normalize``) and labels of
        shape ``(N,)``, int64 in 0..9.

    Nothing is downloaded: a missing file is a ``FileNotFoundError`` listing the expected file
    names and the folders searched; a corrupt one an :class:`IDXError` naming it.
    """
    if root is None:
        root = os.environ.get("MINIGRAD_DATA")
        if not root:
            raise FileNotFoundError(
                "load_mnist: no data folder given; pass root=... or set MINIGRAD_DATA to the "
                "folder holding the MNIST IDX files (nothing is ever downloaded)")
    root = os.fspath(root)
    image_name, label_name, count = MNIST_FILES[bool(train)]
    folders = [root, os.path.join(root, "mnist")]
    image_path = _find(folders, image_name)
    label_path = _find(folders, label_name)
    if image_path is None or label_path is None:
        missing = [n for n, p in ((image_name, image_path), (label_name, label_path))
                   if p is None]
        raise FileNotFoundError(
            f"load_mnist: missing MNIST file(s) {', '.join(n + '[.gz]' for n in missing)} in "
            f"{folders[0]!r} (or {folders[1]!r}); expected the "
            f"{'training' if train else 'test'} files {image_name}.gz and {label_name}.gz "
            f"(or uncompressed). minigrad never downloads data: put the files there or point "
            f"MINIGRAD_DATA at them")
    images = read_idx(image_path)
    labels = read_idx(label_path)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise IDXError(f"load_mnist: {image_path!r} holds {images.dtype} data of shape "
                       f"{images.shape}; expected uint8 images (magic 2051) of shape "
                       f"({count}, 28, 28)")
    if labels.dtype != np.uint8 or labels.ndim != 1:
        raise IDXError(f"load_mnist: {label_path!r} holds {labels.dtype} data of shape "
                       f"{labels.shape}; expected uint8 labels (magic 2049) of shape ({count},)")
    if images.shape[0] != count or labels.shape[0] != count:
        raise IDXError(f"load_mnist: expected {count} {'training' if train else 'test'} "
                       f"samples, found {images.shape[0]} images in {image_path!r} and "
                       f"{labels.shape[0]} labels in {label_path!r}")
    if labels.size and labels.max() > 9:
        raise IDXError(f"load_mnist: {label_path!r} holds label {int(labels.max())}; MNIST "
                       f"labels are 0..9")
    labels = labels.astype(np.int64)
    if normalize:
        images = np.divide(images, np.float32(255.0), dtype=np.float32)  # x / 255, one pass
    return images, labels
