"""Write the PyTorch-made test data of tests/test_torch_load.py and tests/test_safetensors.py.

Needs torch (and safetensors for the last file); the test suite itself needs neither: it reads
the files written here, which are committed. Run from the repository root:

    python benchmarks/make_torch_fixtures.py

Files (in tests/data/):

- ``lenet_torch.pt``: ``torch.save(model.state_dict())`` of a LeNet-5 laid out exactly like
  ``minigrad.models.lenet5()`` (same Sequential indices, so the same state_dict keys), trained
  for a few SGD steps on random images so that the weights are not the initial ones;
- ``lenet_torch_io.npz``: an input batch and the model's logits for it, computed by PyTorch in
  float32 and, with the same weights in float64, in float64;
- ``torch_tensors.pt`` + ``torch_tensors_expected.npz``: tensors of every storage dtype,
  views that share one storage (a transpose, a slice with an offset and a step, an expand with
  stride 0), a 0-d and an empty tensor, an ``nn.Parameter``, nested in a checkpoint-like dict
  with numbers and strings; the expected values as NumPy arrays (bfloat16 as float32);
- ``torch_legacy.pt``: a file in the legacy (non-zip) format, which minigrad refuses;
- ``torch_written.safetensors`` + ``torch_written_expected.npz``: a safetensors file written by
  ``safetensors.torch`` with BF16, F16, F32 and I64 tensors and metadata.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch
from torch import nn

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests", "data")


def torch_lenet5() -> nn.Sequential:
    """minigrad.models.lenet5() in PyTorch: indices 0..11 as there."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10),
    )


def write_lenet() -> None:
    torch.manual_seed(0)
    model = torch_lenet5()
    images = torch.rand(64, 1, 28, 28)
    labels = torch.randint(0, 10, (64,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    for _ in range(20):  # a few steps, so the weights are trained rather than initial
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(images), labels).backward()
        optimizer.step()
    model.eval()
    batch = torch.rand(4, 1, 28, 28)
    with torch.no_grad():
        logits32 = model(batch)
        logits64 = torch_lenet5().double()
        logits64.load_state_dict({k: v.double() for k, v in model.state_dict().items()})
        logits64 = logits64(batch.double())
    torch.save(model.state_dict(), os.path.join(DATA, "lenet_torch.pt"))
    np.savez(os.path.join(DATA, "lenet_torch_io.npz"), input=batch.numpy(),
             logits32=logits32.numpy(), logits64=logits64.numpy())


def write_tensors() -> None:
    torch.manual_seed(1)
    base = torch.randn(4, 6)
    tensors = {
        "base": base,
        "transposed": base.t(),                # stride (1, 6): not contiguous
        "sliced": base[1:, ::2],               # storage offset 6, stride (6, 2)
        "expanded": torch.randn(3).expand(2, 3),  # stride (0, 1)
        "f64": torch.randn(2, 3, dtype=torch.float64),
        "f16": torch.randn(5).half(),
        "bf16": torch.randn(2, 2).to(torch.bfloat16),
        "bf16_view": torch.randn(3, 4).to(torch.bfloat16).t(),
        "i64": torch.arange(-3, 3),
        "i32": torch.arange(4, dtype=torch.int32),
        "i16": torch.arange(4, dtype=torch.int16) - 2,
        "i8": torch.tensor([-128, 0, 127], dtype=torch.int8),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "c64": torch.randn(2, dtype=torch.complex64),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 3),
    }
    checkpoint = {"tensors": tensors, "param": nn.Parameter(torch.randn(2, 2)),
                  "epoch": 3, "lr": 0.1, "tags": ("a", "b"), "note": None}
    torch.save(checkpoint, os.path.join(DATA, "torch_tensors.pt"))
    expected = {name: (t.float() if t.dtype == torch.bfloat16 else t).numpy()
                for name, t in tensors.items()}
    expected["param"] = checkpoint["param"].detach().numpy()
    np.savez(os.path.join(DATA, "torch_tensors_expected.npz"), **expected)
    torch.save({"w": torch.ones(2)}, os.path.join(DATA, "torch_legacy.pt"),
               _use_new_zipfile_serialization=False)


def write_safetensors() -> None:
    try:
        from safetensors.torch import save_file
    except ImportError:
        print("safetensors is not installed: torch_written.safetensors not written",
              file=sys.stderr)
        return
    torch.manual_seed(2)
    tensors = {"w_bf16": torch.randn(3, 5).to(torch.bfloat16), "w_f16": torch.randn(7).half(),
               "w_f32": torch.randn(2, 3), "steps": torch.arange(5)}
    save_file(tensors, os.path.join(DATA, "torch_written.safetensors"),
              metadata={"format": "pt", "written_by": "safetensors.torch"})
    np.savez(os.path.join(DATA, "torch_written_expected.npz"),
             **{k: (v.float() if v.dtype == torch.bfloat16 else v).numpy()
                for k, v in tensors.items()})


def main() -> None:
    os.makedirs(DATA, exist_ok=True)
    write_lenet()
    write_tensors()
    write_safetensors()
    for name in sorted(os.listdir(DATA)):
        print(f"{os.path.getsize(os.path.join(DATA, name)):>9,} bytes  tests/data/{name}")


if __name__ == "__main__":
    main()
