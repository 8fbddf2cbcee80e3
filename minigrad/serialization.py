"""Safe, durable checkpoints: ``save(obj, path)`` and ``load(path, map_location=None)``.

What can be saved: nested dicts (string or int keys, kept distinct), lists and tuples of
Tensors, NumPy (or CuPy) arrays of numeric or bool dtype, NumPy scalars, Python ints, floats,
bools, strings and None. That covers ``Module.state_dict()``, ``Optimizer.state_dict()``,
scheduler and loader states, fitted preprocessing and RNG states.

The file format is one ``.npz`` (a zip of ``.npy`` files, NumPy's own format) holding

- ``arr_0, arr_1, ...``: every array and tensor, in the order met (depth first);
- ``__manifest__``: a uint8 array of UTF-8 JSON describing the structure: each node tagged
  with its kind (dict, list, tuple, tensor, ndarray, scalar, int, float, ...), arrays by index
  with their dtype and shape, tensors with ``requires_grad`` and device.

Nothing is pickled, and files are read with ``np.load(..., allow_pickle=False)``: a file
holding an object array (which only pickle could rebuild) is refused, as is any file that is
truncated, corrupt, or not written by :func:`save`, with a :class:`CheckpointError` naming the
file. Writing goes to a temporary file in the same folder, which is flushed, fsynced and then
renamed over ``path`` (``os.replace``, atomic on POSIX and Windows), so a crash mid-write leaves
the previous checkpoint intact.

Shared tensors are saved once per appearance (loading gives separate copies).
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from . import backend
from .files import CheckpointError, atomic_write, atomic_write_text  # noqa: F401 (re-exported)
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError", "get_rng_state", "set_rng_state"]

FORMAT = "minigrad-checkpoint"
VERSION = 1
MANIFEST = "__manifest__"
_ARRAY_KINDS = "biufc"  # bool, signed, unsigned, float, complex: no object/str/void arrays


# --- encoding -------------------------------------------------------------------------------

def _host_array(array, where: str) -> np.ndarray:
    """``array`` as a NumPy array, checked to have a dtype ``.npy`` stores without pickle."""
    host = backend.to_device(array, "cpu") if not isinstance(array, np.ndarray) else array
    if host.dtype.kind not in _ARRAY_KINDS or host.dtype.fields is not None:
        raise TypeError(f"minigrad.save: {where} is an array of dtype {host.dtype}; only "
                        f"numeric and bool arrays can be saved (no object arrays, no pickle)")
    return host


def _array_node(kind: str, host: np.ndarray, arrays: list) -> dict:
    arrays.append(host)
    return {"t": kind, "i": len(arrays) - 1, "dtype": host.dtype.str, "shape": list(host.shape)}


def _encode_float(value: float):
    if math.isfinite(value):
        return value
    return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")


def _encode(obj, arrays: list, where: str, open_containers: set):
    """The manifest node of ``obj``; its arrays are appended to ``arrays``."""
    if obj is None:
        return {"t": "none"}
    if isinstance(obj, np.generic):  # first: np.float64 is also a Python float
        return _array_node("scalar", _host_array(np.asarray(obj), where), arrays)
    if isinstance(obj, bool):
        return {"t": "bool", "v": obj}
    if isinstance(obj, int):
        return {"t": "int", "v": int(obj)}
    if isinstance(obj, float):
        return {"t": "float", "v": _encode_float(float(obj))}
    if isinstance(obj, str):
        return {"t": "str", "v": obj}
    if isinstance(obj, Tensor):
        node = _array_node("tensor", _host_array(obj.data, where), arrays)
        node["requires_grad"] = bool(obj.requires_grad)
        node["device"] = str(obj.device)
        if type(obj).__name__ == "Parameter" and type(obj).__module__ == "minigrad.nn.parameter":
            node["parameter"] = True
        return node
    if isinstance(obj, np.ndarray):
        return _array_node("ndarray", _host_array(obj, where), arrays)
    if backend.is_device_array(obj):
        node = _array_node("cupy", _host_array(obj, where), arrays)
        node["device"] = str(backend.device_of(obj))
        return node
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in open_containers:
            raise ValueError(f"minigrad.save: {where} contains itself (a circular reference)")
        open_containers.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = []
                for key, value in obj.items():
                    items.append([_encode_key(key, where),
                                  _encode(value, arrays, f"{where}[{key!r}]", open_containers)])
                return {"t": "dict", "items": items}
            kind = "list" if isinstance(obj, list) else "tuple"
            return {"t": kind, "items": [_encode(v, arrays, f"{where}[{i}]", open_containers)
                                         for i, v in enumerate(obj)]}
        finally:
            open_containers.discard(id(obj))
    raise TypeError(f"minigrad.save: {where} has type {type(obj).__name__}, which cannot be "
                    f"saved; expected dicts, lists, tuples, Tensors, arrays, numbers, strings, "
                    f"bools or None")


def _encode_key(key, where: str):
    if isinstance(key, str):
        return ["s", key]
    if isinstance(key, (int, np.integer)) and not isinstance(key, (bool, np.bool_)):
        return ["i", int(key)]
    raise TypeError(f"minigrad.save: {where} has a key {key!r} of type {type(key).__name__}; "
                    f"dict keys must be str or int")


# --- writing --------------------------------------------------------------------------------

def _write_npz(file, members: dict) -> None:
    """The one writer: NumPy's uncompressed ``.npz`` into an open binary file."""
    np.savez(file, **members)


def save(obj, path) -> None:
    """Write ``obj`` to ``path`` (used as given: no suffix is added) atomically.

    Tensors and CuPy arrays are copied to the cpu for writing; their device is recorded. See
    the module docstring for what can be saved and the file format.
    """
    path = os.fspath(path)
    arrays: list = []
    root = _encode(obj, arrays, "obj", set())
    manifest = {"format": FORMAT, "version": VERSION, "arrays": len(arrays), "root": root}
    text = json.dumps(manifest, allow_nan=False, separators=(",", ":"))
    members = {f"arr_{i}": a for i, a in enumerate(arrays)}
    members[MANIFEST] = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    atomic_write(path, lambda f: _write_npz(f, members))


# --- reading --------------------------------------------------------------------------------

def _read_member(npz, name: str, path: str) -> np.ndarray:
    try:
        return npz[name]
    except ValueError as exc:
        if "pickle" in str(exc).lower():
            raise CheckpointError(f"minigrad.load: {path!r} holds an object array ({name}) that "
                                  f"only pickle could rebuild; refused (minigrad never loads "
                                  f"pickles)") from exc
        raise CheckpointError(f"minigrad.load: {path!r} is corrupt: member {name} cannot be "
                              f"read ({exc})") from exc
    except Exception as exc:  # zipfile.BadZipFile (CRC), zlib.error, EOFError, OSError...
        raise CheckpointError(f"minigrad.load: {path!r} is corrupt: member {name} cannot be "
                              f"read ({type(exc).__name__}: {exc})") from exc


class _Decoder:
    def __init__(self, arrays: list, path: str, map_location):
        self.arrays = arrays
        self.path = path
        self.map_location = map_location

    def fail(self, message: str):
        raise CheckpointError(f"minigrad.load: {self.path!r} has a bad manifest: {message}")

    def array(self, node: dict) -> np.ndarray:
        i = node.get("i")
        if not isinstance(i, int) or not 0 <= i < len(self.arrays):
            self.fail(f"array index {i!r} out of range")
        array = self.arrays[i]
        if array.dtype.str != node.get("dtype") or list(array.shape) != node.get("shape"):
            self.fail(f"arr_{i} is {array.dtype.str} {list(array.shape)} but the manifest says "
                      f"{node.get('dtype')} {node.get('shape')}")
        return array

    def place(self, array: np.ndarray, saved_device):
        target = self.map_location if self.map_location is not None else saved_device
        if target == backend.cpu:
            return array
        try:
            return backend.to_device(array, target)
        except RuntimeError as exc:
            raise RuntimeError(f"minigrad.load: {self.path!r} holds data saved on {target}, "
                               f"which is not usable here ({exc}); pass map_location='cpu'"
                               ) from exc

    def key(self, key):
        if (isinstance(key, list) and len(key) == 2 and
                (key[0] == "s" and isinstance(key[1], str)
                 or key[0] == "i" and isinstance(key[1], int) and not isinstance(key[1], bool))):
            return key[1]
        self.fail(f"bad dict key {key!r}")

    def node(self, node):
        if not isinstance(node, dict):
            self.fail(f"expected a tagged node, got {node!r:.100}")
        kind = node.get("t")
        if kind == "none":
            return None
        if kind in ("bool", "int", "str"):
            value = node.get("v")
            expected = {"bool": bool, "int": int, "str": str}[kind]
            if not isinstance(value, expected) or kind == "int" and isinstance(value, bool):
                self.fail(f"{kind} node holds {value!r:.100}")
            return value
        if kind == "float":
            value = node.get("v")
            if isinstance(value, str) and value in ("nan", "inf", "-inf"):
                return float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            self.fail(f"float node holds {value!r:.100}")
        if kind in ("dict", "list", "tuple"):
            items = node.get("items")
            if not isinstance(items, list):
                self.fail(f"{kind} node without items")
            if kind == "dict":
                out = {}
                for pair in items:
                    if not isinstance(pair, list) or len(pair) != 2:
                        self.fail(f"bad dict item {pair!r:.100}")
                    out[self.key(pair[0])] = self.node(pair[1])
                return out
            values = [self.node(v) for v in items]
            return values if kind == "list" else tuple(values)
        if kind == "ndarray":
            return self.array(node)
        if kind == "scalar":
            return self.array(node)[()]
        if kind in ("tensor", "cupy"):
            try:
                saved_device = backend.device(node.get("device", "cpu"))
            except ValueError:
                self.fail(f"unknown device {node.get('device')!r}")
            data = self.place(self.array(node), saved_device)
            if kind == "cupy":
                return data
            requires_grad = node.get("requires_grad", False)
            if node.get("parameter"):
                from .nn.parameter import Parameter
                return Parameter(Tensor._make(data), requires_grad=bool(requires_grad))
            t = Tensor._make(data)
            if requires_grad:
                t.requires_grad_(True)
            return t
        self.fail(f"unknown node kind {kind!r}")


def load(path, map_location=None):
    """Read a checkpoint written by :func:`save`, or a ``.safetensors`` file (by its suffix;
    see :func:`minigrad.load_safetensors`: a dict of name -> Tensor).

    ``map_location`` (``'cpu'``, ``'cuda'``, ``'cuda:N'``) puts every tensor (and CuPy array)
    there; by default each goes back to the device it was saved from. NumPy arrays stay NumPy
    arrays. Dicts come back as plain dicts (in their saved order), tuples as tuples.

    Raises ``FileNotFoundError`` for a missing file and :class:`CheckpointError` (naming the
    file) for anything that is not an intact checkpoint.
    """
    path = os.fspath(path)
    if path.lower().endswith(".safetensors"):  # the one other format that needs no pickle
        from .safetensors_io import load_safetensors
        return load_safetensors(path, map_location=map_location)
    target = None if map_location is None else backend.device(map_location)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"minigrad.load: no such file {path!r}")
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:  # BadZipFile, ValueError, OSError, EOFError...
        raise CheckpointError(f"minigrad.load: {path!r} is not a minigrad checkpoint (an .npz "
                              f"written by minigrad.save), or it is truncated or corrupt: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not hasattr(npz, "files"):
        raise CheckpointError(f"minigrad.load: {path!r} is a single .npy array, not a minigrad "
                              f"checkpoint (an .npz written by minigrad.save)")
    with npz:
        names = set(npz.files)
        if MANIFEST not in names:
            if any(name.endswith("data.pkl") for name in names):
                raise CheckpointError(f"minigrad.load: {path!r} is a PyTorch checkpoint "
                                      f"(torch.save); read a state_dict from it with "
                                      f"minigrad.load_torch_state_dict")
            raise CheckpointError(f"minigrad.load: {path!r} is an .npz without a {MANIFEST}: "
                                  f"not written by minigrad.save")
        blob = _read_member(npz, MANIFEST, path)
        if blob.dtype != np.uint8 or blob.ndim != 1:
            raise CheckpointError(f"minigrad.load: {path!r} has a {MANIFEST} of dtype "
                                  f"{blob.dtype} and shape {blob.shape}; expected 1-D uint8")
        try:
            manifest = json.loads(blob.tobytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CheckpointError(f"minigrad.load: {path!r} has a manifest that is not valid "
                                  f"UTF-8 JSON ({exc})") from exc
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            found = manifest.get("format") if isinstance(manifest, dict) else None
            raise CheckpointError(f"minigrad.load: {path!r} is not a minigrad checkpoint "
                                  f"(manifest format {found!r}, expected {FORMAT!r})")
        if manifest.get("version") != VERSION:
            raise CheckpointError(f"minigrad.load: {path!r} has format version "
                                  f"{manifest.get('version')!r}; this minigrad reads "
                                  f"version {VERSION}")
        count = manifest.get("arrays")
        if not isinstance(count, int) or count < 0:
            raise CheckpointError(f"minigrad.load: {path!r} has a bad array count {count!r}")
        expected = {f"arr_{i}" for i in range(count)} | {MANIFEST}
        if names != expected:
            extra = sorted(names - expected)
            missing = sorted(expected - names)
            raise CheckpointError(f"minigrad.load: {path!r} does not match its manifest "
                                  f"(unexpected members {extra[:10]}, missing {missing[:10]})")
        arrays = [_read_member(npz, f"arr_{i}", path) for i in range(count)]
    return _Decoder(arrays, path, target).node(manifest.get("root"))


# --- random state ---------------------------------------------------------------------------

def get_rng_state() -> dict:
    """A JSON-able snapshot of minigrad's cpu generator (what ``manual_seed`` seeds and
    ``rand``/``randn``/dropout/init draw from), for a checkpoint."""
    state = backend.generator("cpu").get_state()
    return {"bit_generator": state["bit_generator"], "state": dict(state["state"]),
            "has_uint32": int(state["has_uint32"]), "uinteger": int(state["uinteger"])}


def set_rng_state(state: dict) -> None:
    """Restore a snapshot from :func:`get_rng_state`: the draws that follow repeat the ones
    that followed the snapshot."""
    if not isinstance(state, dict) or state.get("bit_generator") != "PCG64" \
            or not isinstance(state.get("state"), dict):
        raise ValueError(f"set_rng_state: expected a state from get_rng_state() (a dict with "
                         f"'bit_generator': 'PCG64'), got {state!r:.200}")
    try:
        backend.generator("cpu").set_state(state)
    except (TypeError, ValueError, KeyError) as exc:
        raise ValueError(f"set_rng_state: the state is malformed ({exc})") from exc
