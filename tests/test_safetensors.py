"""save_safetensors / load_safetensors: round trips, bfloat16, every refused file, interop with
the safetensors package (when installed) and with PyTorch through it."""

import json
import math
import os
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import models, safetensors_io
from minigrad.safetensors_io import (
    SafetensorsError,
    bfloat16_bits_to_float32,
    float32_to_bfloat16_bits,
    load_safetensors,
    safetensors_header,
    save_safetensors,
)
from minigrad.serialization import CheckpointError

DATA = Path(__file__).resolve().parent / "data"

ROUND_TRIP_DTYPES = ["bool", "uint8", "int8", "uint16", "int16", "float16", "uint32", "int32",
                     "float32", "float64", "uint64", "int64", "complex64"]


def _random_array(rng, dtype, shape):
    dtype = np.dtype(dtype)
    if dtype.kind == "b":
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    values = rng.standard_normal(shape) * 100
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return values.astype(dtype)


shapes = st.lists(st.integers(0, 4), min_size=0, max_size=3).map(tuple)


@given(entries=st.lists(st.tuples(st.sampled_from(ROUND_TRIP_DTYPES), shapes), min_size=0,
                        max_size=6),
       use_mmap=st.booleans(), seed=st.integers(0, 2**31))
def test_round_trip_every_dtype_and_shape(tmp_path_factory, entries, use_mmap, seed):
    rng = np.random.default_rng(seed)
    state = {f"layer{i}.w": _random_array(rng, dtype, shape)
             for i, (dtype, shape) in enumerate(entries)}
    path = tmp_path_factory.mktemp("st") / "m.safetensors"
    save_safetensors(state, path, metadata={"seed": str(seed)})
    loaded, metadata = load_safetensors(path, mmap=use_mmap, with_metadata=True)
    assert metadata == {"seed": str(seed)}
    assert list(loaded) == list(state)  # the caller's order comes back
    for name, array in state.items():
        got = loaded[name]
        assert isinstance(got, minigrad.Tensor)
        assert got.dtype == array.dtype and got.shape == array.shape
        np.testing.assert_array_equal(got.data, array)


def test_layout_is_aligned_and_padded(tmp_path):
    state = {"a_byte": np.arange(3, dtype=np.uint8), "b_f64": np.ones(5),
             "c_f16": np.ones(3, np.float16), "d_f32": np.zeros((2, 2), np.float32)}
    path = tmp_path / "x.safetensors"
    save_safetensors(state, path)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    assert (8 + length) % 8 == 0
    header = json.loads(raw[8:8 + length])
    assert list(header) == list(state)  # JSON in the caller's order
    starts = sorted((entry["data_offsets"][0], name) for name, entry in header.items())
    assert [name for _, name in starts] == ["b_f64", "d_f32", "c_f16", "a_byte"]  # widest first
    for name, entry in header.items():
        assert entry["data_offsets"][0] % state[name].dtype.itemsize == 0


def test_tensors_views_and_noncontiguous_arrays_round_trip(tmp_path):
    base = np.arange(24, dtype=np.float32).reshape(4, 6)
    weight = minigrad.tensor(base, requires_grad=True)
    state = {"w": weight, "t": base.T, "s": base[1:, ::2], "scalar": np.float64(2.5) * np.ones(())}
    path = tmp_path / "v.safetensors"
    save_safetensors(state, path)
    loaded = load_safetensors(path)
    np.testing.assert_array_equal(loaded["w"].data, base)
    np.testing.assert_array_equal(loaded["t"].data, base.T)
    np.testing.assert_array_equal(loaded["s"].data, base[1:, ::2])
    assert loaded["scalar"].shape == () and loaded["scalar"].item() == 2.5
    assert not loaded["w"].requires_grad


def test_mmap_tensors_are_private_copies_on_write(tmp_path):
    path = tmp_path / "m.safetensors"
    save_safetensors({"w": np.arange(8, dtype=np.float32)}, path)
    before = path.read_bytes()
    loaded = load_safetensors(path, mmap=True)
    loaded["w"].data[0] = 100.0  # writable, but the file must not change
    assert path.read_bytes() == before
    assert load_safetensors(path)["w"].data[0] == 0.0


def test_metadata_and_minigrad_load_and_load_state_dict(tmp_path):
    model = models.lenet5()
    path = tmp_path / "lenet.safetensors"
    save_safetensors(model.state_dict(), path, metadata={"format": "pt", "model": "lenet5"})
    metadata, tensors = safetensors_header(path)
    assert metadata == {"format": "pt", "model": "lenet5"}
    assert tensors["0.weight"][:2] == ("F32", (6, 1, 5, 5))
    other = models.lenet5()
    other.load_state_dict(str(path))
    for (name, a), b in zip(model.state_dict().items(), other.state_dict().values()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    loaded = minigrad.load(path)  # by the suffix
    assert list(loaded) == list(model.state_dict())
    npz = tmp_path / "lenet.ckpt"  # and load_state_dict of a minigrad.save'd path
    minigrad.save(model.state_dict(), npz)
    models.lenet5().load_state_dict(npz)


def test_save_and_load_on_each_device(tmp_path, device):
    t = minigrad.randn(3, 4, device=device)
    path = tmp_path / "d.safetensors"
    save_safetensors({"t": t}, path)
    loaded = load_safetensors(path, map_location=device)
    assert loaded["t"].device == t.device
    np.testing.assert_array_equal(loaded["t"].cpu().numpy(), t.cpu().numpy())


def test_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "a.safetensors"
    save_safetensors({"w": np.ones(3, np.float32)}, path)

    def broken_replace(src, dst):
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk gone"):
        save_safetensors({"w": np.zeros(3, np.float32)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(load_safetensors(path)["w"].data, np.ones(3))
    assert os.listdir(tmp_path) == ["a.safetensors"]  # no temporary file left behind


# --- bfloat16 -------------------------------------------------------------------------------

def _nearest_bf16_reference(value: np.float32):
    """The bits of the bfloat16 nearest to ``value``, choosing between the two candidates (the
    float32 cut to 16 bits, and one step further from zero) by their exact distance in float64;
    a tie goes to the even pattern; past the largest bfloat16 the next step is 2**128 (IEEE
    overflow), i.e. infinity. None for NaN."""
    bits = int(np.array(value, np.float32).view(np.uint32))
    if np.isnan(value):
        return None
    if np.isinf(value):
        return bits >> 16
    best = None
    for kept in (bits >> 16, (bits >> 16) + 1):
        if kept & 0x7FFF == 0x7F80:
            magnitude = 2.0 ** 128
        else:
            magnitude = abs(float(bfloat16_bits_to_float32(np.array([kept], np.uint16))[0]))
        key = (abs(magnitude - abs(float(value))), kept & 1)
        if best is None or key < best[0]:
            best = (key, kept)
    return best[1]


@given(st.lists(st.floats(width=32, allow_nan=True, allow_infinity=True), min_size=1,
                max_size=20),
       st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10))
def test_float32_to_bfloat16_rounds_to_nearest_even(values, ties):
    tie_values = np.array([(t << 16) | 0x8000 for t in ties], np.uint32).view(np.float32)
    edges = np.array([0x7F7FFFFF, 0xFF7FFFFF, 0x7F7F8000, 0x7F7F7FFF, 0x00000001, 0x80000000,
                      0x00008000, 0x00018000, 0x3F808000, 0x7FC00001, 0xFFFFFFFF],
                     np.uint32).view(np.float32)  # overflow, ties at the top, subnormals, NaNs
    values = np.concatenate([np.array(values, np.float32), tie_values, edges])
    got = float32_to_bfloat16_bits(values)
    assert got.dtype == np.uint16
    for value, bits in zip(values, got):
        expected = _nearest_bf16_reference(value)
        if expected is None:
            assert np.isnan(bfloat16_bits_to_float32(np.array([bits]))[0])
        else:
            assert bits == expected, (value, hex(bits), hex(expected))


def test_bfloat16_widening_is_exact_and_round_trips(tmp_path):
    bits = np.arange(0, 0x10000, 97, dtype=np.uint16)
    values = bfloat16_bits_to_float32(bits)
    finite = np.isfinite(values)
    assert np.array_equal(float32_to_bfloat16_bits(values[finite]), bits[finite])
    path = tmp_path / "b.safetensors"
    save_safetensors({"w": values[finite], "n": np.arange(3)}, path, dtype="bf16")
    _, header = safetensors_header(path)
    assert header["w"][0] == "BF16" and header["n"][0] == "I64"
    loaded = load_safetensors(path)["w"]
    assert loaded.dtype == np.float32
    np.testing.assert_array_equal(loaded.data, values[finite])


def test_save_as_float16(tmp_path):
    values = np.linspace(-3, 3, 7)
    path = tmp_path / "h.safetensors"
    save_safetensors({"w": values}, path, dtype="f16")
    loaded = load_safetensors(path)["w"]
    assert loaded.dtype == np.float16
    np.testing.assert_array_equal(loaded.data, values.astype(np.float16))


# --- refused inputs -------------------------------------------------------------------------

def _file(tmp_path, header, data=b"", length=None, pad=True) -> Path:
    """A hand-made safetensors file: ``header`` a dict (JSON-encoded) or raw bytes."""
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    if pad:
        raw += b" " * (-len(raw) % 8)
    n = len(raw) if length is None else length
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", n) + raw + data)
    return path


def _f32(shape, begin):
    return {"dtype": "F32", "shape": list(shape), "data_offsets": [begin,
                                                                   begin + 4 * math.prod(shape)]}


BAD_HEADERS = [
    ({"w": {"dtype": "F32", "shape": [2]}}, b"\0" * 8, ("tensor 'w': field 'data_offsets' is "
                                                       "missing")),
    ({"w": {**_f32([2], 0), "strides": [1]}}, b"\0" * 8, "unknown field 'strides'"),
    ({"w": {**_f32([2], 0), "dtype": "Q7"}}, b"\0" * 8, ("field 'dtype' is 'Q7', not a "
                                                        "safetensors dtype")),
    ({"w": {**_f32([2], 0), "dtype": "F8_E4M3"}}, b"\0" * 8, ("F8_E4M3, a safetensors dtype "
                                                             "that NumPy has no type for")),
    ({"w": {**_f32([2], 0), "shape": [-2]}}, b"\0" * 8, "field 'shape' is [-2]"),
    ({"w": {**_f32([2], 0), "shape": [2.0]}}, b"\0" * 8, "field 'shape' is [2.0]"),
    ({"w": {**_f32([2], 0), "data_offsets": [0, 8, 9]}}, b"\0" * 8, ("field 'data_offsets' is "
                                                                    "[0, 8, 9]")),
    ({"w": {**_f32([2], 0), "data_offsets": [8, 0]}}, b"\0" * 8, "0 <= begin <= end"),
    ({"w": {**_f32([2], 0), "shape": [3]}}, b"\0" * 8, ("spans 8 bytes, but shape [3] of F32 "
                                                       "needs 12")),
    ({"w": _f32([4], 0)}, b"\0" * 8, "reaches past the end of the 8-byte data buffer"),
    ({"a": _f32([2], 0), "b": _f32([2], 4)}, b"\0" * 12, ("tensor 'b': field 'data_offsets' "
                                                         "[4, 12] overlaps tensor 'a'")),
    ({"a": _f32([1], 0), "b": _f32([1], 8)}, b"\0" * 12, ("leaves bytes [4, 8) of the data "
                                                         "buffer described by no tensor")),
    ({"a": _f32([1], 4)}, b"\0" * 8, "leaves bytes [0, 4)"),
    ({"a": _f32([1], 0)}, b"\0" * 12, "cover bytes [0, 4) of the 12-byte data buffer"),
    ({"__metadata__": {"k": 1}, "a": _f32([1], 0)}, b"\0" * 4, ("field '__metadata__': 'k' "
                                                               "holds 1")),
    ({"__metadata__": ["k"]}, b"", "field '__metadata__' is a list"),
    ({"w": [1, 2]}, b"", "tensor 'w': its entry is a list"),
]


@pytest.mark.parametrize("header, data, message", BAD_HEADERS)
def test_bad_headers_are_refused_naming_file_tensor_and_field(tmp_path, monkeypatch, header,
                                                              data, message):
    path = _file(tmp_path, header, data)

    def no_data_read(*args):
        raise AssertionError("the data was read before the header was validated")

    monkeypatch.setattr(safetensors_io, "_read_buffer", no_data_read)
    for use_mmap in (False, True):
        with pytest.raises(SafetensorsError) as info:
            load_safetensors(path, mmap=use_mmap)
        assert message in str(info.value)
        assert str(path) in str(info.value) and "load_safetensors" in str(info.value)
    with pytest.raises(CheckpointError, match="bad.safetensors"):
        minigrad.load(path)  # minigrad.load reports the same


BAD_FILES = [
    (b"\x05\x00\x00", "3 bytes long, too short"),
    (struct.pack("<Q", 64) + b"{}", "header length field says 64 bytes, but only 2 follow"),
    (struct.pack("<Q", 2**40) + b"{}", "more than the format's limit of 100000000"),
    (struct.pack("<Q", 8) + b"\xff\xfe{}    ", "the header is not valid UTF-8"),
    (struct.pack("<Q", 8) + b"[1, 2]  ", "does not start with '{'"),
    (struct.pack("<Q", 8) + b"{'a': 1}", "the header is not valid JSON"),
    (struct.pack("<Q", 8) + b"{\"a\" 1 }", "the header is not valid JSON"),
    (struct.pack("<Q", 32) + b'{"a":{},"a":{}}' + b" " * 17, "the key 'a' appears twice"),
]


@pytest.mark.parametrize("raw, message", BAD_FILES)
def test_bad_files_are_refused(tmp_path, raw, message):
    path = tmp_path / "raw.safetensors"
    path.write_bytes(raw)
    with pytest.raises(SafetensorsError, match="raw.safetensors") as info:
        load_safetensors(path)
    assert message in str(info.value)


def test_truncated_file_is_refused(tmp_path):
    path = tmp_path / "t.safetensors"
    save_safetensors({"w": np.ones((10, 10), np.float32)}, path)
    path.write_bytes(path.read_bytes()[:-5])
    with pytest.raises(SafetensorsError, match="reaches past the end of the 395-byte data buffer"):
        load_safetensors(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="load_safetensors: no such file"):
        load_safetensors(tmp_path / "none.safetensors")


@pytest.mark.parametrize("state, kwargs, error, message", [
    ({1: np.ones(2)}, {}, TypeError, "keys must be str, got 1"),
    ({"__metadata__": np.ones(2)}, {}, ValueError, "'__metadata__' is reserved"),
    ({"w": np.array(["a"])}, {}, TypeError, ("'w' has dtype <U1, which the safetensors format "
                                            "cannot hold")),
    ({"w": np.ones(2, np.complex128)}, {}, TypeError, "'w' has dtype complex128"),
    ({"w": [1.0, 2.0]}, {}, TypeError, "'w' is a list; expected a Tensor or a NumPy/CuPy array"),
    ({"w": np.ones(2)}, {"metadata": {"k": 1}}, TypeError, "'k' maps to int"),
    ({"w": np.ones(2)}, {"metadata": ["k"]}, TypeError, "metadata must be a dict of str to str"),
    ({"w": np.ones(2)}, {"dtype": "int8"}, ValueError, "dtype must be None, 'bf16'"),
    ([np.ones(2)], {}, TypeError, "state_dict must be a dict of str to tensors, got list"),
])
def test_save_refuses_what_the_format_cannot_hold(tmp_path, state, kwargs, error, message):
    path = tmp_path / "s.safetensors"
    with pytest.raises(error) as info:
        save_safetensors(state, path, **kwargs)
    assert message in str(info.value) and "save_safetensors" in str(info.value)
    assert not path.exists()


def test_save_into_a_missing_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="save_safetensors: the folder"):
        save_safetensors({"w": np.ones(2)}, tmp_path / "no" / "w.safetensors")


# --- interop --------------------------------------------------------------------------------

def test_reads_a_file_written_by_safetensors_torch():
    """Committed data (benchmarks/make_torch_fixtures.py): BF16 and F16 from PyTorch."""
    loaded, metadata = load_safetensors(DATA / "torch_written.safetensors", with_metadata=True)
    expected = np.load(DATA / "torch_written_expected.npz")
    assert metadata == {"format": "pt", "written_by": "safetensors.torch"}
    assert sorted(loaded) == sorted(expected.files)
    for name in expected.files:
        assert loaded[name].dtype == expected[name].dtype
        np.testing.assert_array_equal(loaded[name].data, expected[name])


def test_interop_with_safetensors_numpy_both_ways(tmp_path):
    st_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(0)
    state = {f"t_{d}": _random_array(rng, d, (3, 2)) for d in ROUND_TRIP_DTYPES}
    state["empty"] = np.zeros((0, 4), np.float32)
    state["scalar"] = np.array(1.5, np.float64)
    ours = tmp_path / "ours.safetensors"
    save_safetensors(state, ours, metadata={"by": "minigrad"})
    theirs = st_numpy.load_file(str(ours))
    for name, array in state.items():
        assert theirs[name].dtype == array.dtype
        np.testing.assert_array_equal(theirs[name], array)
    written = tmp_path / "theirs.safetensors"
    st_numpy.save_file(state, str(written), metadata={"by": "safetensors"})
    loaded, metadata = load_safetensors(written, with_metadata=True)
    assert metadata == {"by": "safetensors"}
    for name, array in state.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name].data, array)
