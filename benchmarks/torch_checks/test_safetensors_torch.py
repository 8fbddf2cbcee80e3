"""The comparisons with PyTorch of tests/test_safetensors.py (the suite itself never imports torch):
``python -m pytest benchmarks/torch_checks`` where torch is installed."""

import numpy as np
import pytest

import minigrad
from minigrad import load_safetensors, models, save_safetensors

torch = pytest.importorskip("torch")


def test_interop_with_pytorch_bf16_and_f16(tmp_path):
    st_torch = pytest.importorskip("safetensors.torch")
    torch.manual_seed(0)
    tensors = {"bf": torch.randn(4, 3).to(torch.bfloat16), "half": torch.randn(5).half(),
               "f": torch.randn(2, 2)}
    theirs = tmp_path / "theirs.safetensors"
    st_torch.save_file(tensors, str(theirs))
    loaded = load_safetensors(theirs)
    assert loaded["bf"].dtype == np.float32 and loaded["half"].dtype == np.float16
    np.testing.assert_array_equal(loaded["bf"].data, tensors["bf"].float().numpy())
    np.testing.assert_array_equal(loaded["half"].data, tensors["half"].numpy())
    ours = tmp_path / "ours.safetensors"  # back, as BF16: the same bits as PyTorch's
    save_safetensors({"bf": loaded["bf"], "f32": tensors["f"].numpy()}, ours)
    save_safetensors({"bf": loaded["bf"], "f": tensors["f"].numpy()}, tmp_path / "bf.safetensors",
                     dtype="bf16")
    back = st_torch.load_file(str(tmp_path / "bf.safetensors"))
    assert back["bf"].dtype == torch.bfloat16
    assert torch.equal(back["bf"], tensors["bf"])
    assert torch.equal(back["f"], tensors["f"].to(torch.bfloat16))  # our rounding = PyTorch's
    assert torch.equal(st_torch.load_file(str(ours))["f32"], tensors["f"])


def test_lenet_to_pytorch_gives_the_same_logits(tmp_path):
    st_torch = pytest.importorskip("safetensors.torch")
    from torch import nn
    model = models.lenet5().eval()
    path = tmp_path / "lenet.safetensors"
    save_safetensors(model.state_dict(), path)
    reference = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                              nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                              nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                              nn.Linear(84, 10)).eval()
    reference.load_state_dict(st_torch.load_file(str(path)))
    x = np.random.default_rng(0).random((3, 1, 28, 28), dtype=np.float32)
    with minigrad.no_grad():
        ours = model(minigrad.tensor(x)).numpy()
    with torch.no_grad():
        theirs = reference(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-6)
