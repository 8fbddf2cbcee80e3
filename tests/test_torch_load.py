"""load_torch_state_dict: PyTorch checkpoints read without torch and without running the pickle.

The PyTorch-made files in tests/data/ come from benchmarks/make_torch_fixtures.py; the other
archives are built here, opcode by opcode, so that this file needs no torch.
"""

import io
import os
import pickle
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import models
from minigrad.serialization import CheckpointError
from minigrad.torch_io import TorchCheckpointError, load_torch_state_dict

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[1]


# --- PyTorch-made files ---------------------------------------------------------------------

def test_lenet_trained_in_pytorch_gives_the_same_logits():
    state = load_torch_state_dict(DATA / "lenet_torch.pt")
    io_ = np.load(DATA / "lenet_torch_io.npz")
    model = models.lenet5().eval()
    model.load_state_dict(state)
    with minigrad.no_grad():
        logits = model(minigrad.tensor(io_["input"])).numpy()
    assert logits.dtype == np.float32
    np.testing.assert_allclose(logits, io_["logits32"], rtol=0, atol=1e-6)
    model.double()  # the same weights in float64: equal to PyTorch's float64 up to rounding
    with minigrad.no_grad():
        logits64 = model(minigrad.tensor(io_["input"].astype(np.float64))).numpy()
    np.testing.assert_allclose(logits64, io_["logits64"], rtol=0, atol=1e-12)


def test_every_dtype_view_and_nesting_of_a_pytorch_checkpoint():
    checkpoint = load_torch_state_dict(DATA / "torch_tensors.pt")
    expected = np.load(DATA / "torch_tensors_expected.npz")
    tensors = checkpoint["tensors"]
    assert sorted(tensors) == sorted(n for n in expected.files if n != "param")
    for name, tensor in tensors.items():
        assert isinstance(tensor, minigrad.Tensor) and not tensor.requires_grad
        assert tensor.dtype == expected[name].dtype, name
        assert tensor.shape == expected[name].shape, name
        np.testing.assert_array_equal(tensor.data, expected[name], err_msg=name)
        assert tensor.data.flags.c_contiguous and tensor.data.flags.writeable
    # transposed and sliced share the storage of base in the file; here each has its own copy
    tensors["base"].data[...] = 0
    np.testing.assert_array_equal(tensors["transposed"].data, expected["transposed"])
    assert tensors["bf16"].dtype == np.float32  # bfloat16 widened exactly
    param = checkpoint["param"]
    assert type(param).__name__ == "Parameter" and param.requires_grad
    np.testing.assert_array_equal(param.data, expected["param"])
    assert checkpoint["epoch"] == 3 and checkpoint["lr"] == 0.1
    assert checkpoint["tags"] == ("a", "b") and checkpoint["note"] is None


def test_load_to_a_device(device):
    state = load_torch_state_dict(DATA / "lenet_torch.pt", map_location=device)
    assert all(t.device == minigrad.device(device) for t in state.values())


def test_torch_is_never_imported(tmp_path):
    code = ("import sys, minigrad; "
            f"minigrad.load_torch_state_dict({str(DATA / 'lenet_torch.pt')!r}); "
            "assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_legacy_format_is_refused():
    with pytest.raises(TorchCheckpointError, match="legacy format .*_use_new_zipfile_serializa"):
        load_torch_state_dict(DATA / "torch_legacy.pt")


def test_minigrad_load_points_to_load_torch_state_dict():
    with pytest.raises(CheckpointError,
                       match="is a PyTorch checkpoint .*minigrad.load_torch_state_dict"):
        minigrad.load(DATA / "lenet_torch.pt")


# --- hand-made archives ---------------------------------------------------------------------

def _global(module: str, name: str) -> bytes:
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def _str(text: str) -> bytes:
    raw = text.encode()
    return b"X" + struct.pack("<I", len(raw)) + raw


def _int(value: int) -> bytes:
    return b"J" + struct.pack("<i", value)


def _tuple(*items: bytes) -> bytes:
    return b"(" + b"".join(items) + b"t"


def _tensor(key: str, storage: str, numel: int, offset: int, size, stride) -> bytes:
    """The opcodes torch.save writes for one tensor (protocol 2)."""
    pid = _tuple(_str("storage"), _global("torch", storage), _str(key), _str("cpu"), _int(numel))
    args = _tuple(pid + b"Q", _int(offset), _tuple(*map(_int, size)),
                  _tuple(*map(_int, stride)), b"\x89",
                  _global("collections", "OrderedDict") + b")R")
    return _global("torch._utils", "_rebuild_tensor_v2") + args + b"R"


def _state_pickle(items: dict) -> bytes:
    body = b"".join(_str(name) + opcodes for name, opcodes in items.items())
    return b"\x80\x02" + _global("collections", "OrderedDict") + b")R(" + body + b"u."


def _archive(tmp_path, data_pkl: bytes, storages=None, byteorder=b"little",
             name="model") -> Path:
    path = tmp_path / f"{name}.pt"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{name}/data.pkl", data_pkl)
        if byteorder is not None:
            z.writestr(f"{name}/byteorder", byteorder)
        for key, raw in (storages or {}).items():
            z.writestr(f"{name}/data/{key}", raw)
        z.writestr(f"{name}/version", b"3\n")
    return path


@given(size=st.lists(st.integers(0, 4), min_size=0, max_size=3),
       data=st.data(), dtype=st.sampled_from(["FloatStorage", "DoubleStorage", "LongStorage",
                                              "HalfStorage", "ByteStorage"]),
       big_endian=st.booleans())
def test_strides_and_offsets_are_honoured(tmp_path_factory, size, data, dtype, big_endian):
    stride = data.draw(st.lists(st.integers(0, 5), min_size=len(size), max_size=len(size)))
    offset = data.draw(st.integers(0, 4))
    span = offset + sum((n - 1) * s for n, s in zip(size, stride)) + 1 if all(size) else offset
    numel = span + data.draw(st.integers(0, 3))
    np_dtype = np.dtype(minigrad.torch_io.STORAGE_DTYPES[dtype])
    storage = (np.arange(numel) * 7 % 251).astype(np_dtype)
    raw = storage.astype(np_dtype.newbyteorder(">" if big_endian else "<")).tobytes()
    path = _archive(tmp_path_factory.mktemp("pt"),
                    _state_pickle({"w": _tensor("0", dtype, numel, offset, size, stride)}),
                    {"0": raw}, b"big" if big_endian else b"little")
    got = load_torch_state_dict(path)["w"].data
    itemsize = np_dtype.itemsize
    expected = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                               strides=[s * itemsize for s in stride])
    assert got.dtype == np_dtype.newbyteorder("=") and got.shape == tuple(size)
    np.testing.assert_array_equal(got, expected)


def test_bfloat16_storage_is_widened(tmp_path):
    bits = np.array([0x3F80, 0xC000, 0x7F80, 0x0001], np.uint16)  # 1, -2, inf, tiny
    path = _archive(tmp_path, _state_pickle({"w": _tensor("0", "BFloat16Storage", 4, 0, (4,),
                                                          (1,))}),
                    {"0": bits.tobytes()})
    got = load_torch_state_dict(path)["w"].data
    np.testing.assert_array_equal(got, (bits.astype(np.uint32) << 16).view(np.float32))


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {self.marker}",))


def test_reduce_to_os_system_is_refused_and_not_run(tmp_path):
    marker = tmp_path / "pwned"
    path = _archive(tmp_path, pickle.dumps({"w": _Evil(marker)}, protocol=2))
    with pytest.raises(TorchCheckpointError) as info:
        load_torch_state_dict(path)
    assert f"the global {os.system.__module__}.system" in str(info.value)
    assert "nothing from the file was run" in str(info.value) and str(path) in str(info.value)
    assert not marker.exists()


@pytest.mark.parametrize("opcodes, name", [
    (_global("builtins", "eval") + _tuple(_str("1+1")) + b"R", "builtins.eval"),
    (_global("torch.nn.modules.linear", "Linear") + b")\x81", "torch.nn.modules.linear.Linear"),
    (_global("torch._utils", "_rebuild_tensor") + b")R", "torch._utils._rebuild_tensor"),
    (_global("numpy.core.multiarray", "_reconstruct") + b")R",
     "numpy.core.multiarray._reconstruct"),
])
def test_globals_outside_the_list_are_refused_by_name(tmp_path, opcodes, name):
    path = _archive(tmp_path, b"\x80\x02" + opcodes + b".")
    with pytest.raises(TorchCheckpointError, match=f"asks for the global {name}, which a plain"):
        load_torch_state_dict(path)


def test_stack_global_of_protocol_4_is_checked_too(tmp_path):
    data = pickle.dumps(getattr, protocol=4)  # STACK_GLOBAL 'builtins' 'getattr'
    with pytest.raises(TorchCheckpointError, match="the global builtins.getattr"):
        load_torch_state_dict(_archive(tmp_path, data))


@pytest.mark.parametrize("data_pkl, message", [
    (b"\x80\x02" + _global("torch", "FloatStorage") + b")R.", ("'_StorageType' object is not "
                                                              "callable")),
    (b"\x80\x02" + _global("torch._utils", "_rebuild_tensor_v2") + b"}" + _str("x") + _int(1)
     + b"sb.", "pickled state (BUILD) cannot be set on an allowed global"),
    (b"\x80\x02" + _global("collections", "OrderedDict") + b")R" + b"}" + b"b"
     + _tensor("0", "FloatStorage", 2, 0, (2,), (1,)) + b"}b.", ("pickled state (BUILD) cannot "
                                                                "be set on a tensor")),
    (b"\x80\x02" + _tuple(_str("storage"), _str("x")) + b"Q.", "unexpected persistent id"),
    (b"\x80\x02" + _global("torch._utils", "_rebuild_tensor_v2") + _tuple(_int(0), _int(0))
     + b"R.", "_rebuild_tensor_v2() missing"),
    (b"\x80\x02}" + _str("w"), "EOFError"),
])
def test_malformed_pickles_are_refused(tmp_path, data_pkl, message):
    with pytest.raises(TorchCheckpointError, match="not a plain tensor state_dict pickle") as e:
        load_torch_state_dict(_archive(tmp_path, data_pkl, {"0": b"\0" * 8}))
    assert message in str(e.value)


def test_results_that_are_not_tensors_or_containers_are_refused(tmp_path):
    data = b"\x80\x02" + _global("torch", "FloatStorage") + b"."
    with pytest.raises(TorchCheckpointError, match="holds a _StorageType"):
        load_torch_state_dict(_archive(tmp_path, data))


@pytest.mark.parametrize("size, stride, offset, numel, raw, message", [
    ((3,), (2,), 0, 4, b"\0" * 16, "reaches element 4 of storage '0', which has 4"),
    ((2,), (1,), 0, 4, b"\0" * 12, "holds 12 bytes, but its storage needs 16"),
    ((2,), (1,), 0, 2, None, "lacks the member 'model/data/0'"),
])
def test_tensors_outside_their_storage_are_refused(tmp_path, size, stride, offset, numel, raw,
                                                   message):
    path = _archive(tmp_path, _state_pickle({"w": _tensor("0", "FloatStorage", numel, offset,
                                                          size, stride)}),
                    {} if raw is None else {"0": raw})
    with pytest.raises(TorchCheckpointError, match="load_torch_state_dict") as info:
        load_torch_state_dict(path)
    assert message in str(info.value)


def test_truncated_zip_is_refused(tmp_path):
    raw = (DATA / "lenet_torch.pt").read_bytes()
    path = tmp_path / "cut.pt"
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(TorchCheckpointError, match="no central directory at its end: it is "
                                                   "truncated or damaged"):
        load_torch_state_dict(path)


def test_damaged_storage_is_refused(tmp_path):
    raw = bytearray((DATA / "lenet_torch.pt").read_bytes())
    with zipfile.ZipFile(io.BytesIO(bytes(raw))) as z:
        info = z.getinfo("lenet_torch/data/0")
    raw[info.header_offset + 200] ^= 0xFF  # inside the first storage's bytes: a CRC error
    path = tmp_path / "lenet_torch.pt"
    path.write_bytes(bytes(raw))
    with pytest.raises(TorchCheckpointError, match="member 'lenet_torch/data/0' cannot be read"):
        load_torch_state_dict(path)


@pytest.mark.parametrize("members, message", [
    ({"a/other.txt": b"x"}, "without exactly one <name>/data.pkl"),
    ({"m/data.pkl": b".", "m/constants.pkl": b".", "m/code/m.py": b""}, "TorchScript archive"),
    ({"m/data.pkl": pickle.dumps({}, protocol=2), "m/byteorder": b"middle"},
     "byteorder record says 'middle'"),
])
def test_archives_that_are_not_state_dicts(tmp_path, members, message):
    path = tmp_path / "x.pt"
    with zipfile.ZipFile(path, "w") as z:
        for name, raw in members.items():
            z.writestr(name, raw)
    with pytest.raises(TorchCheckpointError, match=message):
        load_torch_state_dict(path)


def test_not_a_checkpoint_at_all(tmp_path):
    text = tmp_path / "notes.pt"
    text.write_bytes(b"hello, this is not a checkpoint")
    with pytest.raises(TorchCheckpointError, match="is not a zip archive written by torch.save"):
        load_torch_state_dict(text)
    st_file = tmp_path / "w.pt"
    minigrad.save_safetensors({"w": np.ones(2)}, st_file)
    with pytest.raises(TorchCheckpointError, match="looks like a safetensors file"):
        load_torch_state_dict(st_file)
    with pytest.raises(FileNotFoundError, match="load_torch_state_dict: no such file"):
        load_torch_state_dict(tmp_path / "missing.pt")


def test_state_dict_without_byteorder_record_reads_little_endian(tmp_path):
    values = np.array([1.5, -2.0], np.float32)
    path = _archive(tmp_path, _state_pickle({"w": _tensor("0", "FloatStorage", 2, 0, (2,),
                                                          (1,))}),
                    {"0": values.astype("<f4").tobytes()}, byteorder=None)
    np.testing.assert_array_equal(load_torch_state_dict(path)["w"].data, values)
