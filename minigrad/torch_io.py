"""Read PyTorch checkpoints without PyTorch, and without running anything from the file.

``torch.save(model.state_dict(), "model.pt")`` writes a zip archive (PyTorch >= 1.6)::

    model/data.pkl        the object, pickled (protocol 2); tensors appear as calls of
                          torch._utils._rebuild_tensor_v2(storage, storage_offset, size,
                          stride, requires_grad, backward_hooks) and their storages as
                          persistent ids ('storage', torch.FloatStorage, key, location, numel)
    model/data/<key>      each storage's raw bytes: numel elements of the storage's dtype
    model/byteorder       'little' or 'big' (absent in old files: little)
    model/version, ...    bookkeeping, not read

(``model`` is whatever name the writer chose: the file's stem.) A pickle is a small program
that may call any importable function, so :func:`load_torch_state_dict` reads ``data.pkl``
with an unpickler whose ``find_class`` knows only the names a tensor state_dict needs, each
implemented here by a function that just records its arguments:

- ``collections.OrderedDict``: a plain ordered dict (its pickled ``_metadata`` is dropped);
- ``torch._utils._rebuild_tensor_v2`` and ``torch._utils._rebuild_parameter``: a record of
  the storage, offset, size, stride and requires_grad, checked;
- ``torch.FloatStorage``, ``torch.HalfStorage``, ... : markers naming a dtype (not callable).

Any other global (``os.system``, ``builtins.eval``, ``torch.nn.Linear`` ...) is refused with
an error naming it, before anything is called; torch is never imported. This is the idea of
``torch.load(..., weights_only=True)`` with a shorter list. After unpickling, each tensor is
cut from its storage honouring ``storage_offset`` and ``stride`` (views, transposes and slices
load as the values they show), copied into its own C-ordered array. Storages of dtype bfloat16
load as float32, widened exactly (NumPy has no bfloat16).

The legacy format (``_use_new_zipfile_serialization=False``, PyTorch < 1.6) and TorchScript
archives (``torch.jit.save``) are refused with a message saying so.
"""

from __future__ import annotations

import io
import math
import os
import pickle
import zipfile

import numpy as np

from . import backend
from .safetensors_io import bfloat16_bits_to_float32
from .files import CheckpointError
from .tensor import Tensor

__all__ = ["load_torch_state_dict", "TorchCheckpointError", "ALLOWED_GLOBALS"]

#: torch storage class name -> the little-endian dtype of its elements (BFloat16: raw bits)
STORAGE_DTYPES = {
    "DoubleStorage": "<f8", "FloatStorage": "<f4", "HalfStorage": "<f2",
    "BFloat16Storage": "<u2", "LongStorage": "<i8", "IntStorage": "<i4", "ShortStorage": "<i2",
    "CharStorage": "|i1", "ByteStorage": "|u1", "BoolStorage": "|b1",
    "ComplexFloatStorage": "<c8", "ComplexDoubleStorage": "<c16",
}
_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C  # the first object pickled by the pre-1.6 format
_MAX_PICKLE_BYTES = 256 * 1024 * 1024


class TorchCheckpointError(CheckpointError):
    """A file that :func:`load_torch_state_dict` refuses (a :class:`CheckpointError`)."""


# --- the safe stand-ins for the allowed globals -----------------------------------------------

class _Sealed:
    """Refuses pickle's BUILD: ``__setstate__`` is what the unpickler calls on BUILD, so no
    state from the file can overwrite a checked field (or the shared stand-ins below)."""

    __slots__ = ()
    what = "an object"

    def __setstate__(self, state):
        raise pickle.UnpicklingError(f"pickled state (BUILD) cannot be set on {self.what}")


class _StorageType(_Sealed):
    """Stands for ``torch.<name>Storage``: only names a dtype; calling it is an error."""

    __slots__ = ("name", "dtype")
    what = "a storage type"

    def __init__(self, name: str):
        self.name = name
        self.dtype = np.dtype(STORAGE_DTYPES[name])


class _Storage(_Sealed):
    """One storage of the archive, as its persistent id describes it (read later)."""

    __slots__ = ("storage_type", "key", "numel")
    what = "a storage"

    def __init__(self, storage_type: _StorageType, key: str, numel: int):
        self.storage_type, self.key, self.numel = storage_type, key, numel


class _TensorRecord(_Sealed):
    """What ``_rebuild_tensor_v2`` was asked to build; made into an array after unpickling."""

    __slots__ = ("storage", "offset", "size", "stride", "requires_grad", "is_parameter")
    what = "a tensor"

    def __init__(self, storage, offset, size, stride, requires_grad):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride
        self.requires_grad = requires_grad
        self.is_parameter = False


class _Allowed(_Sealed):
    """An allowed callable as the unpickler sees it: calling it calls ``function``; being
    sealed, a pickle cannot change it (a plain function would take BUILD's attributes)."""

    __slots__ = ("function",)
    what = "an allowed global"

    def __init__(self, function):
        self.function = function

    def __call__(self, *args):
        return self.function(*args)


class _OrderedDict(dict):
    """``collections.OrderedDict`` for the unpickler: a dict that ignores pickled attributes
    (the ``_metadata`` of module versions that ``state_dict()`` attaches)."""

    def __setstate__(self, state):
        pass


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks,
                       metadata=None):
    """Record a tensor: elements ``storage[storage_offset + Σ index_i · stride_i]``."""
    if not isinstance(storage, _Storage):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v2: the storage is a "
                                     f"{type(storage).__name__}, not a persistent storage")
    if not _is_count(storage_offset):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v2: storage_offset {storage_offset!r}")
    if (not isinstance(size, tuple) or not isinstance(stride, tuple) or len(size) != len(stride)
            or not all(_is_count(n) for n in size + stride)):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v2: size {size!r:.80} and stride "
                                     f"{stride!r:.80} must be tuples of non-negative ints of "
                                     f"the same length")
    if not isinstance(requires_grad, bool):
        raise pickle.UnpicklingError(f"_rebuild_tensor_v2: requires_grad {requires_grad!r:.40}")
    if backward_hooks or metadata:
        raise pickle.UnpicklingError("_rebuild_tensor_v2: a tensor with backward hooks or "
                                     "python attributes is not a plain state_dict tensor")
    return _TensorRecord(storage, storage_offset, size, stride, requires_grad)


def _rebuild_parameter(data, requires_grad, backward_hooks):
    """Record an ``nn.Parameter`` around the tensor ``data``."""
    if not isinstance(data, _TensorRecord) or not isinstance(requires_grad, bool):
        raise pickle.UnpicklingError("_rebuild_parameter: expected a tensor and a bool")
    if backward_hooks:
        raise pickle.UnpicklingError("_rebuild_parameter: a parameter with backward hooks is "
                                     "not a plain state_dict tensor")
    data.requires_grad, data.is_parameter = requires_grad, True
    return data


#: (module, name) -> the object the unpickler gets for it; nothing else is reachable.
ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): _Allowed(_OrderedDict),
    ("torch._utils", "_rebuild_tensor_v2"): _Allowed(_rebuild_tensor_v2),
    ("torch._utils", "_rebuild_parameter"): _Allowed(_rebuild_parameter),
    **{("torch", name): _StorageType(name) for name in STORAGE_DTYPES},
}


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file, path: str):
        super().__init__(file)
        self.path = path
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module, name):
        found = ALLOWED_GLOBALS.get((module, name))
        if found is None:
            raise TorchCheckpointError(
                f"load_torch_state_dict: {self.path!r}: the pickle asks for the global "
                f"{module}.{name}, which a plain tensor state_dict does not need; refused "
                f"(nothing from the file was run). Allowed: collections.OrderedDict, "
                f"torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter and the "
                f"torch.*Storage types")
        return found

    def persistent_load(self, pid):
        if (not isinstance(pid, tuple) or len(pid) != 5 or pid[0] != "storage"
                or not isinstance(pid[1], _StorageType) or not isinstance(pid[2], str)
                or not isinstance(pid[3], str) or not _is_count(pid[4])):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r:.120}; expected "
                                         f"('storage', torch.<T>Storage, key, location, numel)")
        _, storage_type, key, _location, numel = pid
        storage = self.storages.setdefault(key, _Storage(storage_type, key, numel))
        if storage.storage_type is not storage_type or storage.numel != numel:
            raise pickle.UnpicklingError(f"storage {key!r} is described two different ways")
        return storage


# --- the archive ----------------------------------------------------------------------------

def _refuse_non_zip(path: str) -> None:
    with open(path, "rb") as f:
        head = f.read(512)
    if (head[:4] == b"\x80\x02\x8a\x0a"
            and int.from_bytes(head[4:14], "little") == _LEGACY_MAGIC):
        reason = ("is in PyTorch's legacy format (torch.save with "
                  "_use_new_zipfile_serialization=False, or PyTorch < 1.6), which minigrad does "
                  "not read; load it in PyTorch and save it again with a plain torch.save "
                  "(or as safetensors)")
    elif head[8:9] == b"{":
        reason = "looks like a safetensors file: read it with minigrad.load_safetensors"
    elif head[257:262] == b"ustar":
        reason = "is in PyTorch's oldest (tar) format, which minigrad does not read"
    elif head[:4] == b"PK\x03\x04":
        reason = ("starts like a zip archive but has no central directory at its end: it is "
                  "truncated or damaged")
    else:
        reason = "is not a zip archive written by torch.save (nor a truncated one)"
    raise TorchCheckpointError(f"load_torch_state_dict: {path!r} {reason}")


def _archive_prefix(names: list, path: str) -> str:
    pickles = [n for n in names if n.endswith("/data.pkl") and n.count("/") == 1]
    if any(n.endswith("/constants.pkl") or "/code/" in n for n in names):
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r} is a TorchScript archive "
                                   f"(torch.jit.save), not a torch.save'd state_dict")
    if len(pickles) != 1:
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r} is a zip archive without "
                                   f"exactly one <name>/data.pkl (found {pickles[:3]}): not "
                                   f"written by torch.save")
    return pickles[0][: -len("data.pkl")]


def _read_member(archive: zipfile.ZipFile, name: str, path: str, expected_size=None) -> bytes:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r} lacks the member {name!r} "
                                   f"that its data.pkl refers to") from None
    if expected_size is not None and info.file_size != expected_size:
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: member {name!r} holds "
                                   f"{info.file_size} bytes, but its storage needs "
                                   f"{expected_size}")
    try:
        return archive.read(info)
    except Exception as exc:  # BadZipFile (CRC), zlib.error, EOFError, OSError
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: member {name!r} cannot be "
                                   f"read ({type(exc).__name__}: {exc}); the file is truncated "
                                   f"or damaged") from exc


def _byte_order(archive, prefix: str, path: str) -> str:
    name = prefix + "byteorder"
    if name not in archive.NameToInfo:
        return "little"  # files from before the record existed were written little-endian
    order = _read_member(archive, name, path).decode("ascii", "replace").strip()
    if order not in ("little", "big"):
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: its byteorder record "
                                   f"says {order!r:.20}, expected 'little' or 'big'")
    return order


def _storage_array(archive, prefix, storage: _Storage, order: str, path: str) -> np.ndarray:
    if "/" in storage.key or "\\" in storage.key or storage.key in ("", ".", ".."):
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: storage key "
                                   f"{storage.key!r:.40} is not a member name")
    dtype = storage.storage_type.dtype
    if order == "big":
        dtype = dtype.newbyteorder(">")
    raw = _read_member(archive, f"{prefix}data/{storage.key}", path,
                       expected_size=storage.numel * dtype.itemsize)
    return np.frombuffer(raw, dtype=dtype)


def _tensor_array(record: _TensorRecord, storage_array: np.ndarray, path: str) -> np.ndarray:
    """``out[i_0, ..., i_k] = storage[offset + Σ i_j · stride_j]``, in its own C-ordered array."""
    dtype = storage_array.dtype
    count = math.prod(record.size)
    if count == 0:
        array = np.empty(record.size, dtype=dtype.newbyteorder("="))
    else:
        last = record.offset + sum((n - 1) * s for n, s in zip(record.size, record.stride))
        if last >= storage_array.size:
            raise TorchCheckpointError(
                f"load_torch_state_dict: {path!r}: a tensor of size {record.size}, stride "
                f"{record.stride} at offset {record.offset} reaches element {last} of storage "
                f"{record.storage.key!r}, which has {storage_array.size}")
        view = np.lib.stride_tricks.as_strided(
            storage_array[record.offset:], shape=record.size,
            strides=tuple(s * dtype.itemsize for s in record.stride), writeable=False)
        array = np.array(view, dtype=dtype.newbyteorder("="), order="C")  # the one copy
    if record.storage.storage_type.name == "BFloat16Storage":
        array = bfloat16_bits_to_float32(array)
    return array


class _Converter:
    """The unpickled object with every tensor record turned into a minigrad Tensor."""

    def __init__(self, arrays_of, path: str, target):
        self.arrays_of, self.path, self.target = arrays_of, path, target
        self.done: dict[int, Tensor] = {}

    def tensor(self, record: _TensorRecord):
        if id(record) in self.done:  # the same tensor pickled twice by reference
            return self.done[id(record)]
        array = _tensor_array(record, self.arrays_of(record.storage), self.path)
        if self.target != backend.cpu:
            array = backend.to_device(array, self.target)
        requires_grad = record.requires_grad and array.dtype.kind in "fc"
        if record.is_parameter:
            from .nn.parameter import Parameter
            out = Parameter(Tensor._make(array), requires_grad=requires_grad)
        else:
            out = Tensor._make(array, requires_grad=requires_grad)
        self.done[id(record)] = out
        return out

    def convert(self, obj):
        if isinstance(obj, _TensorRecord):
            return self.tensor(obj)
        if isinstance(obj, dict):  # _OrderedDict included: a plain dict keeps the order
            return {key: self.convert(value) for key, value in obj.items()}
        if isinstance(obj, (list, tuple)):
            items = [self.convert(value) for value in obj]
            return items if isinstance(obj, list) else tuple(items)
        if obj is None or isinstance(obj, (bool, int, float, complex, str, bytes)):
            return obj
        raise TorchCheckpointError(f"load_torch_state_dict: {self.path!r} holds a "
                                   f"{type(obj).__name__} ({obj!r:.60}), which is not a "
                                   f"tensor, container, number or string")


def load_torch_state_dict(path, map_location=None):
    """Read a ``torch.save``'d state_dict as a dict of name -> minigrad Tensor, without torch.

    Also reads any nesting of dicts, lists and tuples of tensors, numbers and strings (a
    checkpoint ``{'model': ..., 'epoch': 3}``). Parameters saved as ``nn.Parameter`` come back
    as :class:`minigrad.nn.Parameter`. ``map_location`` puts every tensor on that device
    (default cpu; the device recorded in the file is ignored). Only the globals in
    :data:`ALLOWED_GLOBALS` are honoured; anything else raises :class:`TorchCheckpointError`
    naming it, as do the legacy and TorchScript formats and truncated or damaged files.
    """
    path = os.fspath(path)
    target = backend.device(map_location)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"load_torch_state_dict: no such file {path!r}")
    if not zipfile.is_zipfile(path):
        _refuse_non_zip(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise TorchCheckpointError(f"load_torch_state_dict: {path!r} is a damaged zip archive "
                                   f"({exc})") from exc
    with archive:
        prefix = _archive_prefix(archive.namelist(), path)
        info = archive.getinfo(prefix + "data.pkl")
        if info.file_size > _MAX_PICKLE_BYTES:
            raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: data.pkl is "
                                       f"{info.file_size} bytes, more than the "
                                       f"{_MAX_PICKLE_BYTES} a state_dict needs")
        unpickler = _RestrictedUnpickler(io.BytesIO(_read_member(archive, info.filename, path)),
                                         path)
        try:
            obj = unpickler.load()
        except TorchCheckpointError:
            raise
        except Exception as exc:  # UnpicklingError, EOFError, TypeError (calling a marker)...
            raise TorchCheckpointError(f"load_torch_state_dict: {path!r}: data.pkl is not a "
                                       f"plain tensor state_dict pickle ({type(exc).__name__}: "
                                       f"{exc})") from exc
        order = _byte_order(archive, prefix, path)
        storages: dict[str, np.ndarray] = {}

        def arrays_of(storage: _Storage) -> np.ndarray:
            if storage.key not in storages:
                storages[storage.key] = _storage_array(archive, prefix, storage, order, path)
            return storages[storage.key]

        try:
            return _Converter(arrays_of, path, target).convert(obj)
        except RecursionError:
            raise TorchCheckpointError(f"load_torch_state_dict: {path!r} nests containers too "
                                       f"deeply") from None
