"""The array protocols (minigrad/array_protocols.py) and the dtypes a tensor refuses
(minigrad/dtypes.py): ``np.asarray(tensor)`` and NumPy 2's ``copy=``, DLPack both ways with
shared memory, ``__cuda_array_interface__``, and a ``TypeError`` naming the dtype for object,
text, bytes, datetime and complex data. The comparisons with PyTorch itself are in
benchmarks/torch_checks/test_dlpack_torch.py (the suite never imports torch)."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import strict_device
from minigrad import backend, nn
from minigrad.tensor import Tensor

SUPPORTED_TEXT = "Tensors hold bool, integer (int8 to int64, uint8 to uint64) and floating"


def _on_stand_in() -> bool:
    return backend._cupy is strict_device.module


@pytest.fixture
def counters():
    strict_device.reset_counters()
    yield strict_device
    strict_device.reset_counters()


# --- __array__ -------------------------------------------------------------------------------

def test_asarray_shares_the_data_both_ways():
    t = mg.tensor([[1.0, 2.0], [3.0, 4.0]])
    a = np.asarray(t)
    assert a is t.data and a.dtype == np.float32
    a[0, 0] = 10.0
    assert t[0, 0].item() == 10.0
    t.data[1, 1] = -1.0
    assert a[1, 1] == -1.0


def test_asarray_dtype_argument_converts_and_copies():
    t = mg.tensor([1.5, -2.0, 3.0])
    a = np.asarray(t, dtype=np.float64)
    assert a.dtype == np.float64 and not np.shares_memory(a, t.data)
    np.testing.assert_array_equal(a, [1.5, -2.0, 3.0])
    assert np.asarray(t, dtype=np.float32) is t.data  # no change: still shared
    np.testing.assert_array_equal(np.array(t, dtype=np.int64), [1, -2, 3])


def test_numpy_2_copy_keyword():
    t = mg.tensor([1.0, 2.0])
    copied = np.array(t, copy=True)
    assert not np.shares_memory(copied, t.data)
    np.testing.assert_array_equal(copied, t.data)
    assert np.shares_memory(np.array(t, copy=None), t.data)
    assert np.shares_memory(np.array(t, copy=False), t.data)
    converted = np.array(t, dtype=np.float64, copy=True)
    assert converted.dtype == np.float64 and not np.shares_memory(converted, t.data)


def test_copy_false_refuses_a_needed_copy():
    t = mg.tensor([1.0, 2.0])
    with pytest.raises(ValueError, match="copy=False, but converting the float32 tensor to "
                                         "float64 needs a copy"):
        np.asarray(t, dtype=np.float64, copy=False)
    constant = Tensor._make(np.float32(2.0))  # a 0-d tensor holding a NumPy scalar
    np.testing.assert_array_equal(np.asarray(constant), 2.0)
    with pytest.raises(ValueError, match="holds a NumPy scalar, which no array can share"):
        np.asarray(constant, copy=False)


def test_requires_grad_is_refused_while_grad_mode_is_on():
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"requires grad to a NumPy array \(as PyTorch's "
                                           r"numpy\(\)\); use np.asarray\(tensor.detach\(\)\)"):
        np.asarray(w)
    out = w * 2  # a non-leaf too
    with pytest.raises(RuntimeError, match="requires grad"):
        np.asarray(out)
    assert np.shares_memory(np.asarray(w.detach()), w.data)
    with mg.no_grad():  # as PyTorch: under no_grad it converts
        assert np.asarray(w) is w.data
        np.testing.assert_array_equal(w.numpy(), [1.0, 2.0])
    with pytest.raises(RuntimeError, match="detach"):
        w.numpy()


def test_gpu_tensor_is_never_copied_to_the_host_implicitly(device, counters):
    if device == "cpu":
        pytest.skip("a cpu tensor converts")
    t = mg.tensor([1.0, 2.0], device=device)
    counters.reset_counters()
    for convert in (np.asarray, np.array, lambda x: np.asarray(x, dtype=np.float64)):
        with pytest.raises(TypeError, match=r"can't convert a cuda:0 tensor to a NumPy array "
                                            r"implicitly .*use tensor.cpu\(\) to copy it"):
            convert(t)
    w = mg.tensor([1.0], device=device, requires_grad=True)
    with pytest.raises(TypeError, match="cuda:0 tensor"):  # the device is named first
        np.asarray(w)
    if _on_stand_in():  # refused before any conversion was tried, and nothing moved
        assert counters.refused == [] and counters.transfers["to_host"] == 0
    np.testing.assert_array_equal(np.asarray(t.cpu()), [1.0, 2.0])


# --- DLPack ----------------------------------------------------------------------------------

def test_dlpack_device(device):
    t = mg.zeros(3, device=device)
    assert t.__dlpack_device__() == ((1, 0) if device == "cpu" else (2, 0))
    assert all(type(v) is int for v in t.__dlpack_device__())


def test_numpy_reads_a_tensor_through_dlpack_without_a_copy():
    t = mg.arange(6).reshape(2, 3)
    a = np.from_dlpack(t)
    assert np.shares_memory(a, t.data) and a.dtype == np.int64 and a.shape == (2, 3)
    a[1, 2] = 99
    assert t[1, 2].item() == 99
    capsule = t.__dlpack__(max_version=(1, 0))  # the versioned capsule, as NumPy asks for
    assert type(capsule).__name__ == "PyCapsule"
    assert type(t.__dlpack__(stream=-1)).__name__ == "PyCapsule"  # -1 means nothing on cpu


def test_from_dlpack_of_a_numpy_array_shares_memory():
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    t = mg.from_dlpack(x)
    assert isinstance(t, Tensor) and t.device == "cpu" and t.dtype == np.float64
    assert np.shares_memory(t.data, x) and not t.requires_grad
    t[0, 0] = -5.0
    assert x[0, 0] == -5.0
    x[1, 1] = 7.0
    assert t[1, 1].item() == 7.0


_dtypes = st.sampled_from([np.bool_, np.int8, np.uint8, np.int16, np.int32, np.int64,
                           np.uint64, np.float16, np.float32, np.float64])


@given(dtype=_dtypes, shape=st.lists(st.integers(1, 4), min_size=0, max_size=3),
       transpose=st.booleans(), step=st.integers(1, 2))
def test_dlpack_round_trip_keeps_values_strides_and_memory(dtype, shape, transpose, step):
    base = (np.arange(int(np.prod(shape)) * 2) % 7).astype(dtype).reshape(*shape[:-1], -1) \
        if shape else np.array(3, dtype=dtype)
    view = base[..., ::step] if shape else base
    if transpose:
        view = view.T  # a non-contiguous view: DLPack carries its strides
    t = mg.from_dlpack(view)
    assert t.dtype == view.dtype and t.shape == view.shape and np.shares_memory(t.data, base)
    np.testing.assert_array_equal(t.data, view)
    back = np.from_dlpack(t)
    assert np.shares_memory(back, base)
    np.testing.assert_array_equal(back, view)


def test_from_dlpack_of_a_tensor_shares_memory(device):
    t = mg.tensor([1.0, 2.0, 3.0], device=device)
    u = mg.from_dlpack(t)
    assert u is not t and u.device == t.device and u.dtype == t.dtype
    assert type(u.data) is type(t.data)  # a CuPy array on the GPU, via the cupy namespace
    u[0] = 7.0  # one memory: the change shows in both
    assert t[0].item() == 7.0


def test_numpy_cannot_read_a_gpu_tensor_through_dlpack(device):
    if device == "cpu":
        pytest.skip("a cpu tensor exports host memory")
    t = mg.ones(2, device=device)
    # the stand-in's arrays export nothing; a real CuPy array exports GPU memory, which NumPy
    # refuses with its own message
    with pytest.raises((BufferError, RuntimeError),
                       match=r"the array of this cuda:0 tensor \(StrictArray\) does not export "
                             r"DLPack|Unsupported device"):
        np.from_dlpack(t)


def test_dlpack_refuses_a_tensor_that_requires_grad_in_any_grad_mode(device):
    w = mg.ones(2, device=device, requires_grad=True)
    message = r"__dlpack__: can't export a tensor that requires grad .*use tensor.detach\(\)"
    for mode in (mg.enable_grad, mg.no_grad):
        with mode():
            with pytest.raises(BufferError, match=message):
                w.__dlpack__()
            with pytest.raises(BufferError, match=r"from_dlpack: can't export a tensor that "
                                                  r"requires grad"):
                mg.from_dlpack(w)
    if device == "cpu":
        with pytest.raises(BufferError, match=message):
            np.from_dlpack(w)
        assert np.shares_memory(np.from_dlpack(w.detach()), w.data)
    assert mg.from_dlpack(w.detach()).requires_grad is False


class _OnAnotherDevice:
    """An array that says it lives in OpenCL memory (DLPack device type 4)."""

    def __dlpack__(self, **kwargs):
        raise AssertionError("never asked: the device is refused first")

    def __dlpack_device__(self):
        return (4, 1)


def test_from_dlpack_refusals():
    with pytest.raises(TypeError, match=r"from_dlpack: expected an array with __dlpack__ and "
                                        r"__dlpack_device__ .*got list"):
        mg.from_dlpack([1.0, 2.0])
    with pytest.raises(BufferError, match=r"from_dlpack: the _OnAnotherDevice is on DLPack "
                                          r"device type 4 \(index 1\); minigrad reads host "
                                          r"memory"):
        mg.from_dlpack(_OnAnotherDevice())
    with pytest.raises(TypeError, match=r"from_dlpack: cannot make a tensor from ndarray data "
                                        r"of dtype complex128 \(complex numbers\)"):
        mg.from_dlpack(np.ones(2, np.complex128))


# --- __cuda_array_interface__ ------------------------------------------------------------------

def test_cuda_array_interface_only_on_gpu_tensors(device):
    t = mg.ones(2, 3, device=device)
    if device == "cpu":
        assert not hasattr(t, "__cuda_array_interface__")
        with pytest.raises(AttributeError, match=r"a cpu tensor has none \(as in PyTorch\); use "
                                                 r"tensor.cuda\(\)"):
            _ = t.__cuda_array_interface__
        return
    expected = getattr(t.data, "__cuda_array_interface__", None)
    if expected is None:  # the stand-in has no device pointers to give
        assert not hasattr(t, "__cuda_array_interface__")
        with pytest.raises(AttributeError, match=r"the array of this cuda:0 tensor "
                                                 r"\(StrictArray\) has none"):
            _ = t.__cuda_array_interface__
    else:
        assert t.__cuda_array_interface__ == expected
        assert t.__cuda_array_interface__["shape"] == (2, 3)
    w = mg.ones(2, device=device, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"the tensor requires grad \(as in PyTorch, "
                                           r"refused\); use tensor.detach\(\)"):
        _ = w.__cuda_array_interface__


# --- dtypes a tensor refuses -------------------------------------------------------------------

# (how the tensor is made, the dtype named, what the message says it holds)
REFUSED = [
    (lambda: mg.tensor(["a", "bc"]), "list data of dtype <U2", "text"),
    (lambda: mg.tensor([b"a", b"b"]), "list data of dtype |S1", "bytes"),
    (lambda: mg.tensor(np.array(["x", "y"])), "ndarray data of dtype <U1", "text"),
    (lambda: mg.tensor(np.array([b"xy"])), "ndarray data of dtype |S2", "bytes"),
    (lambda: mg.tensor(np.str_("a")), "str_ data of dtype <U1", "text"),
    (lambda: mg.tensor("3.0"), "str data of dtype <U3", "text"),
    (lambda: mg.tensor(np.array([1, 2], dtype=object)), "ndarray data of dtype object",
     "Python objects"),
    (lambda: mg.tensor([1.0, None]), "list data of dtype object", "Python objects"),
    (lambda: mg.tensor(None), "NoneType data of dtype object", "Python objects"),
    (lambda: mg.tensor({"a": 1}), "dict data of dtype object", "Python objects"),
    (lambda: mg.tensor(np.ones(2, np.complex64)), "ndarray data of dtype complex64",
     "complex numbers"),
    (lambda: mg.tensor(np.ones(2, np.complex128)), "ndarray data of dtype complex128",
     "complex numbers"),
    (lambda: mg.tensor([1 + 2j, 3]), "list data of dtype complex128", "complex numbers"),
    (lambda: mg.tensor(2j), "complex data of dtype complex128", "complex numbers"),
    (lambda: mg.tensor(np.complex64(1)), "complex64 data of dtype complex64", "complex numbers"),
    (lambda: mg.tensor(np.array(["2024-01-01"], dtype="M8[D]")),
     "ndarray data of dtype datetime64[D]", "datetimes"),
    (lambda: mg.tensor(np.array([1], dtype="m8[s]")), "ndarray data of dtype timedelta64[s]",
     "timedeltas"),
    (lambda: mg.tensor(np.zeros(2, dtype=[("a", np.float32)])), "ndarray data of dtype",
     "structured records"),
    (lambda: Tensor(["a"]), "list data of dtype <U1", "text"),
    (lambda: mg.tensor([1.0, 2.0], dtype=np.complex64), "of dtype complex64", "complex numbers"),
    (lambda: mg.tensor([1, 2], dtype=object), "of dtype object", "Python objects"),
    (lambda: mg.tensor([1, 2], dtype=str), "of dtype <U0", "text"),
    (lambda: mg.from_numpy(np.ones(2, np.complex64)),
     "from_numpy: cannot make a tensor from ndarray data of dtype complex64", "complex numbers"),
    (lambda: mg.from_numpy(np.array(["a"])),
     "from_numpy: cannot make a tensor from ndarray data of dtype <U1", "text"),
    (lambda: mg.from_numpy(np.array([None])),
     "from_numpy: cannot make a tensor from ndarray data of dtype object", "Python objects"),
    (lambda: mg.from_dlpack(np.ones(1, np.complex64)),
     "from_dlpack: cannot make a tensor from ndarray data of dtype complex64", "complex numbers"),
    (lambda: nn.Parameter(np.ones(2, np.complex64)), "ndarray data of dtype complex64",
     "complex numbers"),
    (lambda: mg.ones(2).new_tensor(["a"]), "list data of dtype <U1", "text"),
    (lambda: mg.ones(2).to(np.complex64), "to: cannot make a tensor of dtype complex64",
     "complex numbers"),
    (lambda: mg.zeros(2, dtype=np.complex128), "zeros: cannot make a tensor of dtype complex128",
     "complex numbers"),
    (lambda: mg.ones(2, dtype=object), "ones: cannot make a tensor of dtype object",
     "Python objects"),
    (lambda: mg.arange(3, dtype=np.complex64), "arange: cannot make a tensor of dtype complex64",
     "complex numbers"),
    (lambda: mg.ones(2) + np.array([1j, 2j]), "ndarray data of dtype complex128",
     "complex numbers"),
]


@pytest.mark.parametrize("make, dtype_text, holds", REFUSED,
                         ids=[f"{i}-{r[2].split()[0]}" for i, r in enumerate(REFUSED)])
def test_refused_dtypes_name_the_dtype_and_what_is_supported(make, dtype_text, holds):
    with pytest.raises(TypeError) as raised:
        make()
    message = str(raised.value)
    assert dtype_text in message and f"({holds})" in message, message
    assert SUPPORTED_TEXT in message, message


def test_refused_before_moving_to_the_device(device, counters):
    counters.reset_counters()
    for data in (np.ones(3, np.complex64), np.array(["a"]), [None]):
        with pytest.raises(TypeError, match=r"tensor: cannot make a tensor from \w+ data of "
                                            r"dtype (complex64|<U1|object)"):
            mg.tensor(data, device=device)
    assert counters.transfers["to_device"] == 0  # nothing was copied to the (stand-in) GPU


def test_refused_device_arrays(device):
    if device == "cpu":
        pytest.skip("a GPU array")
    xp = backend.module_for(device)
    complex_array = xp.asarray(np.ones(2, np.complex64))
    with pytest.raises(TypeError, match=r"from \w+ data of dtype complex64 \(complex numbers\)"):
        mg.tensor(complex_array)


def test_ordinary_inputs_still_work(device):
    cases = [
        ([1, 2, 3], np.int64), ([True, False], np.bool_), ([1.5, 2.0], np.float32), (3, np.int64),
        (2.5, np.float32), (True, np.bool_), (np.int8(4), np.int8),
        (np.array([1, 2], np.uint8), np.uint8), (np.array([1.0], np.float16), np.float16),
        (np.array([1.0], np.float64), np.float64), (np.array([1, 2], np.int32), np.int32),
        (np.array([True]), np.bool_), ([[1, 2], [3, 4]], np.int64), ([], np.float32),
    ]
    for data, dtype in cases:
        t = mg.tensor(data, device=device)
        assert t.dtype == dtype, (data, t.dtype)
        np.testing.assert_array_equal(t.cpu().numpy(), np.asarray(data, dtype=dtype))
    assert mg.tensor([1, 2], dtype=np.float64, device=device).dtype == np.float64
    assert mg.tensor(np.array([1.7]), dtype=np.int32, device=device).dtype == np.int32
    assert mg.zeros(2, dtype=np.uint8, device=device).dtype == np.uint8
    assert mg.ones(2, device=device).to(np.float16).dtype == np.float16
    shared = np.arange(3, dtype=np.int32)
    assert np.shares_memory(mg.from_numpy(shared).data, shared)


def test_new_full_refuses_complex_dtype():
    with pytest.raises(TypeError, match=r"new_full: cannot make a tensor of dtype complex64"):
        mg.zeros(2).new_full((2,), 1.0, dtype="complex64")
