"""The safetensors format on NumPy alone: ``save_safetensors`` and ``load_safetensors``.

A ``.safetensors`` file (Hugging Face's format, read by the ``safetensors`` package, PyTorch,
JAX, MLX, ...) is, byte for byte::

    8 bytes      N, the header length: an unsigned 64-bit little-endian integer
    N bytes      the header: UTF-8 JSON, one object
                   {"__metadata__": {"key": "value", ...},                  (optional, str -> str)
                    "0.weight": {"dtype": "F32", "shape": [6, 1, 5, 5],
                                 "data_offsets": [BEGIN, END]}, ...}
                 padded with spaces so that 8 + N is a multiple of 8
    the rest     the data buffer: each tensor's elements, C order, little-endian, at bytes
                 [BEGIN, END) of the buffer (offsets relative to the buffer, END one past)

The tensors tile the buffer exactly: sorted by offset, each begins where the previous one ended,
the first at 0 and the last ending at the end of the file; ``END - BEGIN`` is the element count
times the element size. Writers put the tensors with the widest elements first, so with the
8-byte padding every tensor starts at a multiple of its element size (aligned reads).

Dtypes: ``BOOL U8 I8 U16 I16 F16 BF16 U32 I32 F32 F64 U64 I64 C64`` are read and written. NumPy
has no bfloat16, so **a BF16 tensor loads as float32**, widened exactly (the 16 bits of a
bfloat16 are the upper half of the float32 with the same value); ``save_safetensors(...,
dtype='bf16')`` stores floating-point tensors as BF16, rounding to nearest (ties to even, NaN
kept NaN), as ``tensor.to(torch.bfloat16)`` does. A float32 tensor that came from a BF16 file
saves back to the same BF16 bits. The 8-, 6- and 4-bit float dtypes (``F8_E4M3`` ...) have no
NumPy type and are refused by name.

Loading validates the whole header before any tensor byte is read: the header length against
the file size, UTF-8 and JSON validity (duplicate keys refused), every field of every tensor
(known dtype, non-negative integer shape, two ordered offsets, byte count equal to shape times
element size, no unknown field) and the tiling of the buffer (offsets out of range, overlapping,
leaving a gap, or not reaching the end of the file). Any failure raises
:class:`SafetensorsError` naming the file, the tensor and the field.

Memory: ``load_safetensors(path)`` reads the data buffer once into one array and gives each
tensor a view of it (one copy: file to memory); ``mmap=True`` maps the file copy-on-write
instead (no copy: pages are read on first use, and writes to a loaded tensor stay private).
A BF16 tensor, a tensor not aligned to its element size, or a move to another device makes
its own copy.
"""

from __future__ import annotations

import json
import math
import mmap as _mmap
import os
import sys
from collections.abc import Mapping

import numpy as np

from . import backend
from .files import CheckpointError, atomic_write
from .tensor import Tensor

__all__ = ["save_safetensors", "load_safetensors", "safetensors_header", "SafetensorsError",
           "float32_to_bfloat16_bits", "bfloat16_bits_to_float32"]

#: The format's limit on the header (the reference implementation refuses larger ones).
MAX_HEADER_BYTES = 100_000_000
METADATA_KEY = "__metadata__"
_TENSOR_FIELDS = ("dtype", "shape", "data_offsets")

#: safetensors dtype name -> the little-endian NumPy dtype of its elements (BF16: the raw bits).
DTYPES = {
    "BOOL": np.dtype("|b1"), "U8": np.dtype("|u1"), "I8": np.dtype("|i1"),
    "U16": np.dtype("<u2"), "I16": np.dtype("<i2"), "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"), "U32": np.dtype("<u4"), "I32": np.dtype("<i4"),
    "F32": np.dtype("<f4"), "F64": np.dtype("<f8"), "U64": np.dtype("<u8"),
    "I64": np.dtype("<i8"), "C64": np.dtype("<c8"),
}
#: Dtypes of the format that NumPy cannot hold.
_UNSUPPORTED_DTYPES = ("F8_E5M2", "F8_E4M3", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4")
#: NumPy dtype (kind, itemsize) -> safetensors name, for writing.
_NAME_OF = {(dt.kind, dt.itemsize): name for name, dt in DTYPES.items() if name != "BF16"}


class SafetensorsError(CheckpointError):
    """A file that is not a valid safetensors file (a :class:`CheckpointError`)."""


# --- bfloat16 -------------------------------------------------------------------------------

def bfloat16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """The float32 values of bfloat16 numbers given as uint16 bits: exact, since a bfloat16 is
    a float32 whose lower 16 bits are zero: ``value = float32(bits << 16)``."""
    return (np.asarray(bits, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)


def float32_to_bfloat16_bits(values: np.ndarray) -> np.ndarray:
    """The uint16 bits of the bfloat16 nearest to each float32 (float64 goes through float32).

    Round to nearest, ties to even, on the 16 bits that are dropped::

        bits16 = (bits32 + 0x7FFF + ((bits32 >> 16) & 1)) >> 16

    (adding just under half a unit, plus one when the kept part is odd, carries into the kept
    part exactly when the dropped part is above half, or at half with an odd kept part).
    Overflow past the largest bfloat16 gives infinity; NaN stays a quiet NaN of the same sign.
    """
    values = np.asarray(values, dtype=np.float32, order="C")
    bits = values.view(np.uint32)
    rounded = ((bits + (0x7FFF + ((bits >> 16) & 1))) >> 16).astype(np.uint16)
    nan = np.isnan(values)
    if nan.any():  # the addition above may carry a NaN's payload into the sign or exponent
        rounded[nan] = ((bits[nan] >> 16) | 0x0040).astype(np.uint16)
    return rounded


# --- writing --------------------------------------------------------------------------------

def _target_dtype(dtype):
    """``None``, ``'BF16'``, or the NumPy float dtype that ``save_safetensors(dtype=)`` asks."""
    if dtype is None:
        return None
    if isinstance(dtype, str) and dtype.lower() in ("bf16", "bfloat16"):
        return "BF16"
    if isinstance(dtype, str) and dtype.upper() in ("F16", "F32", "F64"):
        return DTYPES[dtype.upper()]
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.kind != "f":
        raise ValueError(f"save_safetensors: dtype must be None, 'bf16', 'f16', 'f32', 'f64' "
                         f"or a NumPy float dtype, got {dtype!r}")
    return resolved


def _host_array(name: str, value) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.data
    if isinstance(value, np.generic):
        value = np.asarray(value)
    if not isinstance(value, np.ndarray):
        if backend.is_device_array(value):
            value = backend.to_device(value, "cpu")
        else:
            raise TypeError(f"save_safetensors: {name!r} is a {type(value).__name__}; expected "
                            f"a Tensor or a NumPy/CuPy array (or NumPy scalar)")
    return value


def _encode_tensor(name: str, value, target):
    """(safetensors dtype name, shape, C-ordered little-endian array to write) of one entry."""
    array = _host_array(name, value)
    if target is not None and array.dtype.kind == "f":
        if isinstance(target, str):  # BF16
            return "BF16", array.shape, float32_to_bfloat16_bits(array).reshape(array.shape)
        array = array.astype(target.newbyteorder("<"))
    dtype_name = _NAME_OF.get((array.dtype.kind, array.dtype.itemsize))
    if dtype_name is None or array.dtype.fields is not None:
        raise TypeError(f"save_safetensors: {name!r} has dtype {array.dtype}, which the "
                        f"safetensors format cannot hold (supported: bool, uint8-64, int8-64, "
                        f"float16/32/64, complex64; bfloat16 through dtype='bf16')")
    array = np.asarray(array, dtype=DTYPES[dtype_name], order="C")  # no copy when already so
    return dtype_name, array.shape, array


def _check_metadata(metadata) -> dict | None:
    if metadata is None:
        return None
    if not isinstance(metadata, Mapping):
        raise TypeError(f"save_safetensors: metadata must be a dict of str to str, got "
                        f"{type(metadata).__name__}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"save_safetensors: metadata must map str to str (the format "
                            f"allows nothing else); {key!r} maps to {type(value).__name__} "
                            f"{value!r:.80}")
    return dict(metadata)


def _build_header(entries: list, metadata: dict | None) -> tuple[bytes, list]:
    """The padded header bytes and the arrays in file order.

    ``entries`` are ``(name, dtype_name, shape, array)`` in the caller's order, which the JSON
    keeps; the data goes widest element first (stable), which keeps every tensor aligned.
    """
    in_file_order = sorted(entries, key=lambda e: -e[3].dtype.itemsize)
    offsets = {}
    position = 0
    for name, _, _, array in in_file_order:
        offsets[name] = [position, position + array.nbytes]
        position += array.nbytes
    header = {}
    if metadata is not None:
        header[METADATA_KEY] = metadata
    for name, dtype_name, shape, _ in entries:
        header[name] = {"dtype": dtype_name, "shape": [int(d) for d in shape],
                        "data_offsets": offsets[name]}
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-(8 + len(text)) % 8)  # spaces, so the data buffer starts 8-aligned
    return text, [array for *_, array in in_file_order]


def save_safetensors(state_dict, path, metadata=None, *, dtype=None) -> None:
    """Write ``state_dict`` (str -> Tensor or NumPy/CuPy array) to ``path`` as safetensors.

    ``metadata``: an optional dict of str to str, stored as the header's ``__metadata__``.
    ``dtype``: ``None`` keeps each dtype; ``'bf16'``, ``'f16'``, ``'f32'``, ``'f64'`` (or a
    NumPy float dtype) converts every floating-point tensor to it (integer and bool tensors
    are kept). The write is atomic (temporary file, fsync, rename), as :func:`minigrad.save`'s.
    Tensors sharing memory are written once each (they load as separate tensors).
    """
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"save_safetensors: state_dict must be a dict of str to tensors, got "
                        f"{type(state_dict).__name__}")
    metadata = _check_metadata(metadata)
    target = _target_dtype(dtype)
    entries = []
    for name, value in state_dict.items():
        if not isinstance(name, str):
            raise TypeError(f"save_safetensors: keys must be str, got {name!r} "
                            f"({type(name).__name__})")
        if name == METADATA_KEY:
            raise ValueError(f"save_safetensors: {METADATA_KEY!r} is reserved by the format "
                             f"for the metadata and cannot name a tensor")
        entries.append((name, *_encode_tensor(name, value, target)))
    header, arrays = _build_header(entries, metadata)

    def write(f):
        f.write(len(header).to_bytes(8, "little"))
        f.write(header)
        for array in arrays:
            if array.size:
                f.write(memoryview(array.reshape(-1)).cast("B"))  # the array's bytes, no copy

    atomic_write(path, write, owner="save_safetensors")


# --- reading --------------------------------------------------------------------------------

def _refuse_duplicates(pairs):
    seen = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"the key {key!r} appears twice")
        seen[key] = value
    return seen


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_tensor_entry(name: str, entry, fail):
    """(dtype name, shape tuple, (begin, end)) of one header entry, every field checked."""
    if not isinstance(entry, dict):
        fail(f"tensor {name!r}: its entry is a {type(entry).__name__}, expected an object with "
             f"dtype, shape and data_offsets")
    missing = [f for f in _TENSOR_FIELDS if f not in entry]
    if missing:
        fail(f"tensor {name!r}: field {missing[0]!r} is missing")
    unknown = sorted(set(entry) - set(_TENSOR_FIELDS))
    if unknown:
        fail(f"tensor {name!r}: unknown field {unknown[0]!r} (a tensor entry holds only "
             f"dtype, shape and data_offsets)")
    dtype_name = entry["dtype"]
    if dtype_name in _UNSUPPORTED_DTYPES:
        fail(f"tensor {name!r}: field 'dtype' is {dtype_name}, a safetensors dtype that NumPy "
             f"has no type for; minigrad cannot load it")
    if not isinstance(dtype_name, str) or dtype_name not in DTYPES:
        fail(f"tensor {name!r}: field 'dtype' is {dtype_name!r:.40}, not a safetensors dtype "
             f"(known: {', '.join(DTYPES)})")
    shape = entry["shape"]
    if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
        fail(f"tensor {name!r}: field 'shape' is {shape!r:.80}, expected a list of "
             f"non-negative integers")
    offsets = entry["data_offsets"]
    if (not isinstance(offsets, list) or len(offsets) != 2
            or not all(_is_count(o) for o in offsets) or offsets[0] > offsets[1]):
        fail(f"tensor {name!r}: field 'data_offsets' is {offsets!r:.80}, expected "
             f"[begin, end] with 0 <= begin <= end")
    nbytes = math.prod(shape) * DTYPES[dtype_name].itemsize
    if offsets[1] - offsets[0] != nbytes:
        fail(f"tensor {name!r}: field 'data_offsets' {offsets} spans "
             f"{offsets[1] - offsets[0]} bytes, but shape {shape} of {dtype_name} needs "
             f"{nbytes}")
    return dtype_name, tuple(shape), (offsets[0], offsets[1])


def _check_tiling(tensors: dict, buffer_size: int, fail) -> None:
    """The tensors' byte ranges must cover ``[0, buffer_size)`` exactly once."""
    position, previous = 0, None
    for name, (_, _, (begin, end)) in sorted(tensors.items(), key=lambda kv: kv[1][2]):
        if end > buffer_size:
            fail(f"tensor {name!r}: field 'data_offsets' [{begin}, {end}] reaches past the end "
                 f"of the {buffer_size}-byte data buffer (a truncated file?)")
        if begin < position:
            fail(f"tensor {name!r}: field 'data_offsets' [{begin}, {end}] overlaps tensor "
                 f"{previous!r}, which ends at byte {position}")
        if begin > position:
            fail(f"tensor {name!r}: field 'data_offsets' [{begin}, {end}] leaves bytes "
                 f"[{position}, {begin}) of the data buffer described by no tensor")
        position, previous = end, name
    if position != buffer_size:
        fail(f"the tensors cover bytes [0, {position}) of the {buffer_size}-byte data buffer; "
             f"the rest is described by no tensor (data_offsets must reach the end of the file)")


def _read_header(f, path: str, file_size: int):
    """(header length, metadata dict or None, {name: (dtype, shape, (begin, end))})."""
    def fail(message):
        raise SafetensorsError(f"load_safetensors: {path!r}: {message}")

    if file_size < 8:
        fail(f"the file is {file_size} bytes long, too short for a safetensors file (which "
             f"starts with an 8-byte header length)")
    length = int.from_bytes(f.read(8), "little")
    if length > MAX_HEADER_BYTES:
        fail(f"the header length field says {length} bytes, more than the format's limit of "
             f"{MAX_HEADER_BYTES} (not a safetensors file?)")
    if 8 + length > file_size:
        fail(f"the header length field says {length} bytes, but only {file_size - 8} follow "
             f"it (a truncated file, or not a safetensors file)")
    raw = f.read(length)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        fail(f"the header is not valid UTF-8 ({exc})")
    if not text.startswith("{"):
        fail(f"the header does not start with '{{' (it starts {text[:20]!r})")
    try:
        header = json.loads(text, object_pairs_hook=_refuse_duplicates)
    except json.JSONDecodeError as exc:
        fail(f"the header is not valid JSON ({exc})")
    except ValueError as exc:  # a duplicate key
        fail(f"the header is not a valid safetensors header: {exc}")
    if not isinstance(header, dict):
        fail(f"the header is a JSON {type(header).__name__}, expected an object")
    metadata = header.pop(METADATA_KEY, None)
    if metadata is not None:
        if not isinstance(metadata, dict):
            fail(f"field {METADATA_KEY!r} is a {type(metadata).__name__}, expected an object of "
                 f"strings")
        for key, value in metadata.items():
            if not isinstance(value, str):
                fail(f"field {METADATA_KEY!r}: {key!r} holds {value!r:.60}; the format allows "
                     f"only string values")
    tensors = {name: _check_tensor_entry(name, entry, fail) for name, entry in header.items()}
    _check_tiling(tensors, file_size - 8 - length, fail)
    return length, metadata, tensors


def safetensors_header(path) -> tuple[dict | None, dict]:
    """``(metadata, {name: (dtype name, shape, (begin, end))})`` of a safetensors file, fully
    validated, without reading any tensor data."""
    path = os.fspath(path)
    with _open(path) as f:
        _, metadata, tensors = _read_header(f, path, os.fstat(f.fileno()).st_size)
    return metadata, tensors


def _open(path: str):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_safetensors: no such file {path!r}")
    return open(path, "rb")


def _read_buffer(f, start: int, size: int, path: str) -> np.ndarray:
    """Bytes ``[start, start + size)`` of the file, read once into a new uint8 array."""
    buffer = np.empty(size, dtype=np.uint8)
    view = memoryview(buffer)
    f.seek(start)
    done = 0
    while done < size:
        got = f.readinto(view[done:])
        if not got:
            raise SafetensorsError(f"load_safetensors: {path!r}: the file ended after "
                                   f"{start + done} bytes while reading the data (it changed "
                                   f"while being read?)")
        done += got
    return buffer


def _tensor_array(buffer, base: int, dtype_name: str, shape: tuple, begin: int) -> np.ndarray:
    """The array of one tensor: a view of ``buffer`` (a uint8 array or an mmap) when possible."""
    dtype = DTYPES[dtype_name]
    count = math.prod(shape)
    if count == 0:
        array = np.empty(shape, dtype=dtype)
    else:
        array = np.frombuffer(buffer, dtype=dtype, count=count, offset=base + begin)
        if (base + begin) % dtype.itemsize:  # a writer that did not align: copy once
            array = array.copy()
        array = array.reshape(shape)
    if dtype_name == "BF16":
        return bfloat16_bits_to_float32(array)
    if sys.byteorder == "big" and dtype.itemsize > 1:
        return array.astype(dtype.newbyteorder("="))
    return array


def load_safetensors(path, *, mmap: bool = False, map_location=None,
                     with_metadata: bool = False):
    """Read a safetensors file: a dict of name -> Tensor, in the header's order.

    ``mmap=True`` maps the file (copy-on-write) instead of reading it: no copy, pages are read
    on first use. ``map_location`` (``'cpu'``, ``'cuda'``, ``'cuda:N'``) puts every tensor
    there (default cpu). ``with_metadata=True`` returns ``(tensors, metadata)``, metadata
    being the ``__metadata__`` dict (``{}`` when absent). BF16 tensors come back as float32,
    widened exactly. The whole header is validated before any data is read; a bad file raises
    :class:`SafetensorsError` naming the file, tensor and field.
    """
    path = os.fspath(path)
    target = backend.device(map_location)
    with _open(path) as f:
        file_size = os.fstat(f.fileno()).st_size
        length, metadata, tensors = _read_header(f, path, file_size)
        if mmap and file_size > 8 + length:
            buffer, base = _mmap.mmap(f.fileno(), 0, access=_mmap.ACCESS_COPY), 8 + length
        else:
            buffer, base = _read_buffer(f, 8 + length, file_size - 8 - length, path), 0
    out = {}
    for name, (dtype_name, shape, (begin, _)) in tensors.items():
        array = _tensor_array(buffer, base, dtype_name, shape, begin)
        if target != backend.cpu:
            array = backend.to_device(array, target)
        out[name] = Tensor._make(array)
    if with_metadata:
        return out, dict(metadata or {})
    return out


#: the suffix that minigrad.load and Module.load_state_dict read as safetensors
SUFFIX = ".safetensors"


def is_safetensors_path(path) -> bool:
    return os.fspath(path).lower().endswith(SUFFIX)

