"""Parameter: the Tensor a Module trains (its own file, as ``torch.nn.parameter``, so that file
formats can build Parameters without importing Modules)."""

from __future__ import annotations

import numpy as np

from .. import backend
from ..tensor import Tensor, _as_array

__all__ = ["Parameter"]


class Parameter(Tensor):
    """A Tensor that a Module registers as trainable: ``requires_grad=True`` by default.

    ``Parameter(tensor)`` shares the tensor's data (as in PyTorch); arrays, lists and numbers
    are copied (floats become float32).
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            array = np.zeros((0,), dtype=backend.default_float)
        elif isinstance(data, Tensor):
            array = data.data
        else:
            array = _as_array(data)
        self.data = array
        self.grad = None
        self.grad_fn = None
        self._version_counter = [0]
        self._requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
