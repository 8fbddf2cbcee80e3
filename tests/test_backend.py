"""Devices, the array-module switch, lazy CuPy and the per-device random streams."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# ---------------------------------------------------------------------------------------------
# Device parsing and equality


@pytest.mark.parametrize("spec, type_, index, text", [
    ("cpu", "cpu", None, "cpu"),
    (None, "cpu", None, "cpu"),
    ("cuda", "cuda", 0, "cuda:0"),
    ("cuda:0", "cuda", 0, "cuda:0"),
    ("cuda:1", "cuda", 1, "cuda:1"),
    ("cuda:12", "cuda", 12, "cuda:12"),
])
def test_device_parsing(spec, type_, index, text):
    d = mg.device(spec)
    assert isinstance(d, mg.Device)
    assert d.type == type_ and d.index == index and str(d) == text
    assert repr(d) == f"device('{text}')"
    assert mg.device(d) is d


@pytest.mark.parametrize("bad", ["gpu", "CUDA", "Cpu", "", "cuda:x", "cuda:-1", "cuda:1:2",
                                 "cuda:", "cuda: 1", "cuda:+1", "cuda:1 ", " cpu", "cpu:",
                                 "cuda:1.0", "cuda:1_0"])
def test_bad_device_strings_are_refused(bad):
    with pytest.raises(ValueError, match="device"):
        mg.device(bad)


def test_a_bad_device_is_refused_by_factories_and_tensor():
    with pytest.raises(ValueError, match="device"):
        mg.zeros(2, device="gpu")
    with pytest.raises(ValueError, match="device"):
        mg.tensor([1.0], device="tpu")
    with pytest.raises(ValueError, match="device"):
        mg.ones(2).to("gpu")


def test_device_equality_with_strings_and_devices():
    cpu, cuda0, cuda1 = mg.device("cpu"), mg.device("cuda:0"), mg.device("cuda:1")
    assert cpu == "cpu" and "cpu" == cpu
    assert cuda0 == "cuda" and cuda0 == "cuda:0" and cuda0 != "cuda:1"
    assert cuda1 == "cuda:1" and cuda1 != "cuda"
    assert cpu != "cuda" and cuda0 != "cpu"
    assert cpu != "not a device" and cuda0 != "gpu"  # False, not an exception
    assert cpu != 0 and cpu is not None
    assert mg.Device("cuda", 0) == cuda0 and mg.Device("cuda", 0) != cuda1
    assert hash(mg.Device("cuda", 1)) == hash(cuda1)
    assert {cpu: 1, cuda0: 2}[mg.Device("cuda", 0)] == 2


def test_a_cpu_tensor_reports_the_cpu_device():
    t = mg.ones(2)
    assert t.device == "cpu" and t.device == mg.device("cpu") and t.device.type == "cpu"


# ---------------------------------------------------------------------------------------------
# Lazy CuPy


def _run(code, extra_path=None):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (extra_path, ROOT) if p)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


def test_import_minigrad_does_not_import_cupy(tmp_path):
    # A stand-in cupy on the path: if anything imports it, it shows in sys.modules. The second
    # half checks the probe itself: asking whether cuda is available does import it.
    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text("IMPORTED = True\n")
    result = _run("""
        import sys
        import minigrad, minigrad.autograd, minigrad.tensor, minigrad.gradcheck
        print("after import:", "cupy" in sys.modules)
        assert isinstance(minigrad.cuda.is_available(), bool)
        print("after is_available:", "cupy" in sys.modules)
    """, extra_path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "after import: False" in result.stdout, result.stdout
    assert "after is_available: True" in result.stdout, result.stdout


def test_is_available_is_a_bool():
    assert type(mg.cuda.is_available()) is bool
    assert type(backend.cuda_is_available()) is bool


def test_is_available_is_false_with_a_broken_cupy(tmp_path):
    # A cupy that imports but cannot talk to a GPU: not available, no exception.
    fake = tmp_path / "cupy"
    fake.mkdir()
    (fake / "__init__.py").write_text("cuda = None\n")
    result = _run("""
        import minigrad
        print(minigrad.cuda.is_available(), minigrad.cuda.device_count())
    """, extra_path=str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "0"]


@pytest.fixture
def without_cupy(monkeypatch):
    """Make ``import cupy`` fail, as on a machine without it (whether or not it is here)."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(backend, "_cupy", None)


@pytest.mark.parametrize("ask", [
    lambda: mg.tensor([1.0], device="cuda"),
    lambda: mg.zeros(2, device="cuda"),
    lambda: mg.ones(2, device="cuda:0"),
    lambda: mg.rand(2, device="cuda"),
    lambda: mg.randn(2, device="cuda"),
    lambda: mg.arange(3, device="cuda"),
    lambda: mg.ones(2).to("cuda"),
    lambda: mg.ones(2).cuda(),
    lambda: mg.ones(2, requires_grad=True).to("cuda"),
], ids=["tensor", "zeros", "ones", "rand", "randn", "arange", "to", "cuda", "to-grad"])
def test_asking_for_cuda_without_cupy_is_a_clear_runtime_error(ask, without_cupy):
    with pytest.raises(RuntimeError, match="CuPy") as info:
        ask()
    assert "install" in str(info.value)
    assert not mg.cuda.is_available()
    assert mg.cuda.device_count() == 0


# ---------------------------------------------------------------------------------------------
# Array module and moving arrays


def test_array_module_and_to_device_on_cpu():
    a = np.ones(3)
    assert backend.array_module(a) is np
    assert backend.device_of(a) == "cpu"
    assert backend.to_device(a, "cpu") is a
    assert backend.device_of(backend.to_device([1.0, 2.0], "cpu")) == "cpu"


@pytest.mark.skipif(not mg.cuda.is_available(), reason="needs CuPy and a CUDA GPU")
def test_round_trip_to_the_gpu_and_back():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x.to("cuda")
    assert y.device == "cuda:0" and y.requires_grad
    assert backend.array_module(y.data) is not np
    (y * y).sum().backward()
    assert x.grad.device == "cpu"
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0, 6.0])
    assert y.cpu().device == "cpu"


# ---------------------------------------------------------------------------------------------
# Random streams


def test_generator_is_one_per_device_and_reset_by_manual_seed():
    g = backend.generator("cpu")
    assert backend.generator("cpu") is g and backend.generator(None) is g
    mg.manual_seed(7)
    first = backend.generator("cpu").random((4,), np.float32)
    mg.manual_seed(7)
    again = backend.generator("cpu").random((4,), np.float32)
    np.testing.assert_array_equal(first, again)


def test_manual_seed_does_not_touch_numpy_global_random_state():
    np.random.seed(5)
    expected = np.random.random(3)
    np.random.seed(5)
    mg.manual_seed(123)
    mg.rand(10)
    np.testing.assert_array_equal(np.random.random(3), expected)


def test_random_state_round_trip_on_cpu():
    mg.manual_seed(3)
    gen = backend.generator("cpu")
    state = gen.get_state()
    a = mg.randn(5).tolist()
    gen.set_state(state)
    assert mg.randn(5).tolist() == a


def _openblas_thread_count():
    """openblas_get_num_threads of the OpenBLAS this process has mapped, or None."""
    import ctypes
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return None
    for path in paths:
        lib = ctypes.CDLL(path)
        for symbol in ("openblas_get_num_threads", "scipy_openblas_get_num_threads64_",
                       "scipy_openblas_get_num_threads", "openblas_get_num_threads64_"):
            getter = getattr(lib, symbol, None)
            if getter is not None:
                getter.restype = ctypes.c_int
                return getter()
    return None


def test_set_num_threads_limits_openblas():
    before = _openblas_thread_count()
    if before is None:
        pytest.skip("NumPy here is not linked to an OpenBLAS this process can see")
    try:
        assert mg.set_num_threads(1)
        assert _openblas_thread_count() == 1
    finally:
        mg.set_num_threads(before)
    assert _openblas_thread_count() == before
    with pytest.raises(ValueError, match="set_num_threads"):
        mg.set_num_threads(0)


def test_blas_threads_sets_and_restores_the_count():
    before = _openblas_thread_count()
    if before is None:
        pytest.skip("NumPy here is not linked to an OpenBLAS this process can see")
    assert backend.get_num_threads() == before
    try:
        mg.set_num_threads(2)
        with backend.blas_threads(1):
            assert _openblas_thread_count() == 1 == backend.get_num_threads()
        assert _openblas_thread_count() == 2
        with pytest.raises(KeyError), backend.blas_threads(1):   # restored after an error too
            raise KeyError("x")
        assert _openblas_thread_count() == 2
    finally:
        mg.set_num_threads(before)
    with pytest.raises(ValueError, match="blas_threads: n must be a positive int"):
        backend.blas_threads(0)


def test_pooled_empty_reuses_only_arrays_nobody_holds():
    shape, dtype = (512, 1024), np.float32  # 2 MiB: pooled
    first = backend.pooled_empty(shape, dtype)
    first_id = id(first)
    second = backend.pooled_empty(shape, dtype)
    assert second is not first  # first is still held
    del first
    again = backend.pooled_empty(shape, dtype)
    assert id(again) == first_id  # nobody held it: reused
    view = again[3:]
    held_by_tensor = mg.Tensor._make(second)
    del again, second
    third = backend.pooled_empty(shape, dtype)  # a view and a Tensor keep the two busy
    assert third.base is None and third is not view.base and third is not held_by_tensor.data
    small = backend.pooled_empty((4,), dtype)
    assert small is not backend.pooled_empty((4,), dtype) or small.nbytes == 0
    import weakref
    pooled = weakref.ref(third)
    del third, view, held_by_tensor
    assert pooled() is not None  # nobody holds it, but the pool keeps it for reuse
    backend.clear_pool()
    assert pooled() is None  # forgotten: its memory went back


def test_results_kept_by_the_user_are_never_overwritten_by_later_steps():
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((64, 6, 28, 28)).astype(np.float32) for _ in range(3)]
    kept = []
    for a in arrays:  # large enough for the pool (1.2 MB per result)
        x = mg.tensor(a, requires_grad=True)
        y = x.relu()
        y.backward(mg.ones_like(y))
        kept.append((y, x.grad))
    for a, (y, grad) in zip(arrays, kept):
        np.testing.assert_array_equal(y.data, np.maximum(a, 0))
        np.testing.assert_array_equal(grad.data, (a > 0).astype(np.float32))
