"""minigrad: a from-scratch reverse-mode autograd engine on NumPy (CPU) and CuPy (GPU).

The public surface, PyTorch's names and semantics::

    import minigrad as mg
    x = mg.tensor([[1.0, 2.0]], requires_grad=True)
    y = (x * x).sum()
    y.backward()          # x.grad == 2 * x
"""

import numpy as _np

from . import autograd, backend, cuda  # noqa: F401
from . import ops as _ops
from .autograd import Function, enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .backend import Device, device, manual_seed, set_num_threads
from .creation import (
    arange,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    get_default_dtype,
    linspace,
    ones,
    ones_like,
    rand,
    randint,
    randn,
    set_default_dtype,
    zeros,
    zeros_like,
)
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import *  # noqa: F401,F403  every op's function form: minigrad.sum, minigrad.gather, ...
from .tensor import Tensor, tensor
from .array_protocols import from_dlpack  # attaches __array__, __dlpack__ ... to Tensor
from .autograd import function as _ctx_function  # noqa: E402,F401 (registers PyTorch-style
# Functions with the engine; it needs the Tensor, so it comes after it)

float32 = _np.dtype(_np.float32)
float64 = _np.dtype(_np.float64)
int32 = _np.dtype(_np.int32)
int64 = _np.dtype(_np.int64)
bool_ = _np.dtype(_np.bool_)
float = float32  # noqa: A001  (torch.float)
double = float64
long = int64

__version__ = "0.1.0"

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "full_like", "arange", "linspace", "eye",
    "rand", "randn", "randint", "zeros_like", "ones_like", "from_numpy", "cat", "stack", "where",
    "maximum", "minimum", "float32", "float64", "int32", "int64", "bool_", "no_grad",
    "enable_grad", "set_grad_enabled", "is_grad_enabled", "manual_seed", "set_num_threads",
    "device", "Device",
    "Function", "gradcheck", "gradgradcheck", "GradcheckError", "autograd", "cuda", "nn",
    "optim", "data", "metrics", "save", "load", "CheckpointError", "get_rng_state",
    "set_rng_state", "save_safetensors", "load_safetensors", "load_torch_state_dict", "summary",
    "from_dlpack",
]


# Imported on first use, so `import minigrad` stays fast.
_LAZY_SUBMODULES = ("nn", "optim", "data", "metrics", "training", "amp", "distributed",
                    "quantization", "tune", "ensemble", "explain", "formulas", "viz",
                    "interpret", "landscape", "recipes", "models", "spark")
_LAZY_ATTRIBUTES = {name: "serialization" for name in
                    ("save", "load", "CheckpointError", "get_rng_state", "set_rng_state")}
_LAZY_ATTRIBUTES.update(save_safetensors="safetensors_io", load_safetensors="safetensors_io",
                        load_torch_state_dict="torch_io",
                        summary="model_summary")  # not summary.py: a submodule named
# like the function would replace minigrad.summary with the module once imported


def __getattr__(name):
    import importlib
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    if name in _LAZY_ATTRIBUTES:
        module = importlib.import_module(f".{_LAZY_ATTRIBUTES[name]}", __name__)
        return getattr(module, name)
    raise AttributeError(f"module 'minigrad' has no attribute {name!r}")
