"""The array protocols against PyTorch (tests/test_array_protocols.py has the rest; the suite
never imports torch): DLPack both ways shares memory, and minigrad refuses exactly where PyTorch
refuses. ``python -m pytest benchmarks/torch_checks/test_dlpack_torch.py`` with torch."""

import contextlib
import warnings

import numpy as np
import pytest

import minigrad as mg

torch = pytest.importorskip("torch")

DTYPES = [(np.float32, torch.float32), (np.float64, torch.float64), (np.float16, torch.float16),
          (np.int64, torch.int64), (np.int32, torch.int32), (np.int8, torch.int8),
          (np.uint8, torch.uint8), (np.bool_, torch.bool)]


@contextlib.contextmanager
def _no_warning():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _shares(ours: mg.Tensor, theirs) -> bool:
    return np.shares_memory(ours.data, theirs.numpy())


@pytest.mark.parametrize("np_dtype, torch_dtype", DTYPES)
def test_torch_reads_a_minigrad_tensor_without_a_copy(np_dtype, torch_dtype):
    ours = mg.tensor((np.arange(12) % 5).reshape(3, 4).astype(np_dtype))
    theirs = torch.from_dlpack(ours)
    assert theirs.dtype == torch_dtype and tuple(theirs.shape) == ours.shape
    assert _shares(ours, theirs)
    np.testing.assert_array_equal(theirs.numpy(), ours.data)
    theirs[0, 0] = 1  # one memory
    assert ours[0, 0].item() == 1


@pytest.mark.parametrize("np_dtype, torch_dtype", DTYPES)
def test_minigrad_reads_a_torch_tensor_without_a_copy(np_dtype, torch_dtype):
    theirs = (torch.arange(12) % 5).reshape(3, 4).to(torch_dtype)
    ours = mg.from_dlpack(theirs)
    assert ours.dtype == np_dtype and ours.device == "cpu" and _shares(ours, theirs)
    ours[2, 3] = 1
    assert theirs[2, 3].item() == 1


def test_strided_views_keep_their_strides_both_ways():
    theirs = torch.arange(24.0).reshape(4, 6)[:, ::2].T  # not contiguous
    ours = mg.from_dlpack(theirs)
    np.testing.assert_array_equal(ours.data, theirs.numpy())
    assert ours.data.strides == tuple(s * 4 for s in theirs.stride())
    back = torch.from_dlpack(mg.tensor(np.arange(24.0).reshape(4, 6)).T)
    np.testing.assert_array_equal(back.numpy(), np.arange(24.0).reshape(4, 6).T)


def test_requires_grad_is_refused_where_torch_refuses_it():
    ours = mg.ones(2, requires_grad=True)
    theirs = torch.ones(2, requires_grad=True)
    for convert in (np.asarray, np.from_dlpack, lambda t: t.__dlpack__()):
        raised = []
        for t in (ours, theirs):
            with pytest.raises(Exception) as info:
                convert(t)
            raised.append(type(info.value))
        assert raised[0] is raised[1], (convert, raised)  # RuntimeError / BufferError alike
    with pytest.raises(BufferError, match="require"):   # torch's own refusal, through us
        mg.from_dlpack(theirs)
    with pytest.raises(BufferError, match="requires grad"):
        torch.from_dlpack(ours)
    with mg.no_grad(), torch.no_grad():  # both convert under no_grad; DLPack still refuses
        np.testing.assert_array_equal(np.asarray(ours), np.asarray(theirs))
        with pytest.raises(BufferError):
            np.from_dlpack(ours)
        with pytest.raises(BufferError):
            np.from_dlpack(theirs)


def test_no_cuda_array_interface_on_cpu_tensors_as_torch():
    assert hasattr(mg.ones(2), "__cuda_array_interface__") is \
        hasattr(torch.ones(2), "__cuda_array_interface__") is False


def test_dlpack_device_on_cpu_equals_torchs():
    assert mg.ones(2).__dlpack_device__() == tuple(int(v) for v in
                                                   torch.ones(2).__dlpack_device__())


def test_numpy_copy_keyword_where_minigrad_goes_beyond_torch():
    """Both refuse copy=False when a dtype change needs a copy; torch's __array__ takes no
    copy= keyword (2.13), so NumPy refuses every copy=False on a torch tensor (with a
    DeprecationWarning), while minigrad's shares the memory as NumPy 2 asks."""
    ours, theirs = mg.tensor([1.0, 2.0]), torch.tensor([1.0, 2.0])
    for t in (ours, theirs):
        warned = pytest.warns(DeprecationWarning) if t is theirs else _no_warning()
        with warned, pytest.raises(ValueError):
            np.array(t, dtype=np.float64, copy=False)
    assert np.shares_memory(np.asarray(ours, copy=False), ours.data)
    with pytest.warns(DeprecationWarning, match="copy keyword"), \
            pytest.raises(ValueError, match="Unable to avoid copy"):
        np.asarray(theirs, copy=False)


def test_complex_is_refused_by_minigrad_though_torch_holds_it():
    theirs = torch.ones(2, dtype=torch.complex64)
    with pytest.raises(TypeError, match="dtype complex64 \\(complex numbers\\)"):
        mg.from_dlpack(theirs)


@pytest.mark.skipif(not torch.cuda.is_available() or not mg.cuda.is_available(),
                    reason="needs a GPU with CuPy and a CUDA build of torch")
def test_gpu_tensors_both_ways_share_device_memory():
    ours = mg.arange(6, device="cuda").float()
    theirs = torch.from_dlpack(ours)
    assert theirs.device.type == "cuda"
    theirs[0] = 42
    assert ours[0].item() == 42
    back = mg.from_dlpack(torch.arange(4.0, device="cuda"))
    assert back.device == "cuda:0"
    assert back.__cuda_array_interface__["data"][0] == back.data.data.ptr
