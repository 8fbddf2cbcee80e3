"""minigrad.save / minigrad.load: round trips, dtypes, atomic writes, refusing bad files, RNG
state."""

import json
import math
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad
from minigrad import serialization
from minigrad.serialization import CheckpointError, load, save
from minigrad.tensor import Tensor

REPO = Path(__file__).resolve().parents[1]


def _same(a, b):
    """Deep equality that also checks types, dtypes, requires_grad and key types."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a.keys()) == list(b.keys())
        assert [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
    elif isinstance(a, Tensor):
        assert a.dtype == b.dtype and a.shape == b.shape and a.requires_grad == b.requires_grad
        assert a.device == b.device
        np.testing.assert_array_equal(a.detach().cpu().numpy(), b.detach().cpu().numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype and np.shape(a) == np.shape(b)
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


dtypes = st.sampled_from([np.float32, np.float64, np.float16, np.int64, np.int32, np.int8,
                          np.uint8, np.bool_, np.complex64])
shapes = st.lists(st.integers(0, 4), max_size=3).map(tuple)


@st.composite
def arrays(draw):
    dtype, shape = draw(dtypes), draw(shapes)
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).normal(size=shape) * 50
    return values.astype(dtype)


@st.composite
def tensors(draw):
    array = draw(arrays().filter(lambda a: a.dtype.kind != "c"))  # tensors hold no complex
    requires_grad = array.dtype.kind == "f" and draw(st.booleans())
    return minigrad.tensor(array, requires_grad=requires_grad)


leaves = st.one_of(
    st.none(), st.booleans(), st.integers(-2**70, 2**70),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=8),
    arrays(), tensors(), st.sampled_from([np.float32(1.5), np.float64(0.1), np.int64(-3), np.bool_(True)]))
keys = st.one_of(st.text(max_size=5), st.integers(-5, 5))
trees = st.recursive(
    leaves, lambda children: st.one_of(
        st.lists(children, max_size=4), st.lists(children, max_size=3).map(tuple),
        st.dictionaries(keys, children, max_size=4)),
    max_leaves=12)


@given(trees)
def test_round_trip_of_nested_structures(tmp_path_factory, tree):
    path = tmp_path_factory.mktemp("rt") / "tree.ckpt"
    save({"tree": tree}, path)
    _same({"tree": tree}, load(path))


def test_string_and_int_keys_stay_distinct(tmp_path):
    obj = {1: "int one", "1": "string one", 0: {"state": {0: [1, 2]}}, "": None}
    save(obj, tmp_path / "k.npz")
    back = load(tmp_path / "k.npz")
    _same(obj, back)
    assert back[1] == "int one" and back["1"] == "string one"


def test_module_and_optimizer_like_state_round_trip(tmp_path):
    model = minigrad.nn.Sequential(minigrad.nn.Linear(3, 4), minigrad.nn.ReLU(),
                                   minigrad.nn.Linear(4, 2))
    opt_state = {"state": {0: {"step": 3, "exp_avg": minigrad.zeros(4, 3)}},
                 "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1, 2, 3],
                                   "amsgrad": False, "foreach": None}]}
    checkpoint = {"model": model.state_dict(), "optimizer": opt_state, "epoch": 7,
                  "rng": serialization.get_rng_state()}
    save(checkpoint, tmp_path / "ckpt.npz")
    back = load(tmp_path / "ckpt.npz")
    _same({**checkpoint, "model": dict(checkpoint["model"])}, back)
    fresh = minigrad.nn.Sequential(minigrad.nn.Linear(3, 4), minigrad.nn.ReLU(),
                                   minigrad.nn.Linear(4, 2))
    fresh.load_state_dict(back["model"])
    for (name, p), q in zip(model.state_dict().items(), fresh.state_dict().values()):
        np.testing.assert_array_equal(p.numpy(), q.numpy(), err_msg=name)
    param = load_param(tmp_path, model[0].weight)
    assert type(param) is minigrad.nn.Parameter and param.requires_grad


def load_param(tmp_path, param):
    save(param, tmp_path / "p.npz")
    return load(tmp_path / "p.npz")


def test_dtypes_and_requires_grad_are_preserved(tmp_path):
    obj = [minigrad.tensor([1.0, 2.0]), minigrad.tensor([1.0], dtype=minigrad.float64,
                                                        requires_grad=True),
           minigrad.tensor([1, 2]), np.arange(3, dtype=np.uint16), np.float32(0.1),
           np.array([True, False]), np.zeros((0, 3), dtype=np.float32)]
    save(obj, tmp_path / "d.npz")
    back = load(tmp_path / "d.npz")
    assert [x.dtype for x in back] == [np.float32, np.float64, np.int64, np.uint16,
                                       np.float32, np.bool_, np.float32]
    assert back[1].requires_grad and not back[0].requires_grad and back[1].is_leaf
    assert isinstance(back[4], np.float32) and back[4] == np.float32(0.1)
    save([np.float64(0.5), 0.5], tmp_path / "s.npz")
    scalar, number = load(tmp_path / "s.npz")
    assert type(scalar) is np.float64 and type(number) is float


def test_map_location(tmp_path, device):
    t = minigrad.tensor([[1.0, 2.0]], requires_grad=True).to(device).detach()
    save({"t": t}, tmp_path / "m.npz")
    assert load(tmp_path / "m.npz")["t"].device == t.device  # back where it was saved
    assert load(tmp_path / "m.npz", map_location="cpu")["t"].device == "cpu"
    moved = load(tmp_path / "m.npz", map_location=device)["t"]
    assert moved.device == device
    with pytest.raises(ValueError, match="unknown device 'gpu'"):
        load(tmp_path / "m.npz", map_location="gpu")


def test_what_cannot_be_saved_is_a_clear_error(tmp_path):
    with pytest.raises(TypeError, match=r"obj\['a'\]\[1\] has type set"):
        save({"a": [1, {2}]}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        save({"a": np.array([None, 1], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="key 1.5 of type float"):
        save({1.5: 1}, tmp_path / "x.npz")
    loop = []
    loop.append(loop)
    with pytest.raises(ValueError, match="circular"):
        save(loop, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []  # nothing written, no temporary left
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save({}, tmp_path / "missing" / "x.npz")


def test_file_is_an_npz_with_a_json_manifest(tmp_path):
    save({"w": minigrad.ones(2, 2), "n": 3}, tmp_path / "f.npz")
    with zipfile.ZipFile(tmp_path / "f.npz") as z:
        assert sorted(z.namelist()) == ["__manifest__.npy", "arr_0.npy"]
    with np.load(tmp_path / "f.npz", allow_pickle=False) as npz:
        manifest = json.loads(npz["__manifest__"].tobytes().decode())
    assert manifest["format"] == "minigrad-checkpoint" and manifest["arrays"] == 1


# --- atomic writes ---------------------------------------------------------------------------

def test_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.npz"
    save({"version": 1, "w": minigrad.ones(1000)}, path)

    def broken_writer(file, members):
        file.write(b"PK\x03\x04" + b"\x00" * 5000)  # part of a zip, then the crash
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization, "_write_npz", broken_writer)
    with pytest.raises(OSError, match="simulated"):
        save({"version": 2, "w": minigrad.zeros(1000)}, path)
    monkeypatch.undo()
    assert load(path)["version"] == 1
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no stray temporary file


_WRITER = """
import sys, numpy as np, minigrad
from minigrad.serialization import save
big = np.ones(20_000_000, dtype=np.float32)
print("ready", flush=True)
for version in range(2, 10**6):
    save({"version": version, "w": big}, sys.argv[1])
"""


def _kill_a_writer(path, env) -> bool:
    """Start a process saving checkpoints to ``path`` in a loop, SIGKILL it while it writes a
    temporary file; True when the temporary file is still there (killed mid-write indeed,
    not in the instant between a rename and the next write)."""
    folder = path.parent
    child = subprocess.Popen([sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE,
                             env=env)
    try:
        assert child.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:  # wait until a temporary file is being written
            if any(name.endswith(".tmp") and os.path.getsize(folder / name) > 0
                   for name in os.listdir(folder)):
                break
            time.sleep(0.001)
        else:
            pytest.fail("the child never started writing")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait()
        child.stdout.close()
    return any(n.endswith(".tmp") for n in os.listdir(folder))


def test_process_killed_mid_write_leaves_a_loadable_checkpoint(tmp_path):
    path = tmp_path / "ckpt.npz"
    save({"version": 1, "w": np.ones(3, dtype=np.float32)}, path)
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    assert any(_kill_a_writer(path, env) for _ in range(5))  # killed mid-write indeed
    back = load(path)  # the previous or a complete newer version, never a half-written one
    assert back["version"] >= 1
    assert back["w"].size in (3, 20_000_000)


# --- refusing bad files ----------------------------------------------------------------------

def _good(tmp_path):
    path = tmp_path / "good.npz"
    save({"w": np.arange(10000, dtype=np.float64), "s": "text"}, path)
    return path


def test_truncated_files_are_refused(tmp_path):
    payload = _good(tmp_path).read_bytes()
    for cut in (0, 10, len(payload) // 2, len(payload) - 10):
        bad = tmp_path / f"cut{cut}.npz"
        bad.write_bytes(payload[:cut])
        with pytest.raises(CheckpointError, match=f"cut{cut}.npz"):
            load(bad)


def test_corrupted_files_are_refused(tmp_path):
    payload = bytearray(_good(tmp_path).read_bytes())
    payload[2000] ^= 0xFF  # inside arr_0's data: the zip CRC no longer matches
    bad = tmp_path / "flipped.npz"
    bad.write_bytes(bytes(payload))
    with pytest.raises(CheckpointError, match="flipped.npz.*corrupt"):
        load(bad)
    with pytest.raises(FileNotFoundError, match="nothere.npz"):
        load(tmp_path / "nothere.npz")
    np.save(tmp_path / "single.npy", np.zeros(3))
    with pytest.raises(CheckpointError, match="single .npy array"):
        load(tmp_path / "single.npy")
    np.savez(tmp_path / "plain.npz", a=np.zeros(3))
    with pytest.raises(CheckpointError, match="plain.npz.*without a __manifest__"):
        load(tmp_path / "plain.npz")
    (tmp_path / "text.npz").write_text("hello")
    with pytest.raises(CheckpointError, match="text.npz"):
        load(tmp_path / "text.npz")


def _manifest_bytes(root, arrays):
    text = json.dumps({"format": "minigrad-checkpoint", "version": 1, "arrays": arrays,
                       "root": root})
    return np.frombuffer(text.encode(), dtype=np.uint8)


def test_manifest_mismatches_are_refused(tmp_path):
    node = {"t": "ndarray", "i": 0, "dtype": "<f4", "shape": [3]}
    np.savez(tmp_path / "dtype.npz", __manifest__=_manifest_bytes(node, 1),
             arr_0=np.zeros(3, dtype=np.float64))
    with pytest.raises(CheckpointError, match=r"arr_0 is <f8 \[3\] but the manifest says <f4"):
        load(tmp_path / "dtype.npz")
    np.savez(tmp_path / "extra.npz", __manifest__=_manifest_bytes(node, 1),
             arr_0=np.zeros(3, dtype=np.float32), arr_1=np.zeros(1))
    with pytest.raises(CheckpointError, match=r"unexpected members \['arr_1'\]"):
        load(tmp_path / "extra.npz")
    np.savez(tmp_path / "kind.npz", __manifest__=_manifest_bytes({"t": "lambda"}, 0))
    with pytest.raises(CheckpointError, match="unknown node kind 'lambda'"):
        load(tmp_path / "kind.npz")


PICKLE_RAN = []


def _record_unpickling(tag):
    PICKLE_RAN.append(tag)
    return tag


class Boobytrap:
    """Unpickling this object records that pickle ran."""

    def __reduce__(self):
        return (_record_unpickling, ("unpickled",))


def test_pickle_bearing_files_are_refused_without_unpickling(tmp_path):
    PICKLE_RAN.clear()
    trap = np.empty(1, dtype=object)
    trap[0] = Boobytrap()
    node = {"t": "ndarray", "i": 0, "dtype": "|O", "shape": [1]}
    np.savez(tmp_path / "trap.npz", __manifest__=_manifest_bytes(node, 1), arr_0=trap)
    with np.load(tmp_path / "trap.npz", allow_pickle=True) as npz:  # the trap is armed
        assert npz["arr_0"].dtype == object
    assert PICKLE_RAN == ["unpickled"]
    PICKLE_RAN.clear()
    with pytest.raises(CheckpointError, match="trap.npz.*object array.*pickle"):
        load(tmp_path / "trap.npz")
    assert PICKLE_RAN == []  # allow_pickle=False: pickle never ran
    # a raw pickle file named like a checkpoint is refused too
    (tmp_path / "raw.npz").write_bytes(pickle.dumps(Boobytrap()))
    with pytest.raises(CheckpointError, match="raw.npz"):
        load(tmp_path / "raw.npz")
    assert PICKLE_RAN == []


# --- RNG state -------------------------------------------------------------------------------

def test_rng_state_round_trip_through_a_checkpoint(tmp_path):
    minigrad.manual_seed(0)
    minigrad.randn(5)
    save({"rng": serialization.get_rng_state()}, tmp_path / "rng.npz")
    expected = minigrad.randn(4).numpy().copy()
    minigrad.rand(100)  # move on
    serialization.set_rng_state(load(tmp_path / "rng.npz")["rng"])
    np.testing.assert_array_equal(minigrad.randn(4).numpy(), expected)
    json.dumps(serialization.get_rng_state())  # JSON-able as it is
    with pytest.raises(ValueError, match="PCG64"):
        serialization.set_rng_state({"bit_generator": "MT19937"})
