"""The dtypes a tensor may hold, and the one check that refuses the others.

A tensor holds bool, signed or unsigned integer, or floating data (float16, float32, float64),
because those are what the op table computes with. NumPy would happily make arrays of Python
objects (a ragged or mixed list), text, bytes, dates or complex numbers, and an op on such an
array fails later, far from the cause, or silently does something else (``argmax`` of strings);
so every way of making a tensor from outside data (``tensor``, ``Tensor``, ``from_numpy``,
``from_dlpack``, ``new_tensor``, ``Parameter``, ``to(dtype)``) asks :func:`check_dtype` first and
refuses those with a ``TypeError`` that names the dtype and what is supported.

Complex data is refused too: no op in minigrad has a complex formula or gradient (PyTorch has
complex tensors; minigrad does not). Keep the real and imaginary parts as two float tensors.
"""

from __future__ import annotations

import numpy as np

__all__ = ["SUPPORTED", "check_dtype"]

SUPPORTED = ("bool, integer (int8 to int64, uint8 to uint64) and floating (float16, float32, "
             "float64) dtypes")

# A refused kind (NumPy's dtype.kind) -> (what it holds, what to do instead)
_REFUSED = {
    "c": ("complex numbers", ("no op has complex support; keep the real and imaginary parts "
                              "as two float tensors (array.real, array.imag)")),
    "O": ("Python objects", ("a ragged or mixed list, or None or other non-numbers in the "
                             "data; give numbers only")),
    "U": ("text", "convert the strings to numbers first (a Vocabulary, an encoder)"),
    "S": ("bytes", "convert them to numbers first (np.frombuffer(data, np.uint8) for raw bytes)"),
    "M": ("datetimes", "convert them to numbers first (.astype(np.int64))"),
    "m": ("timedeltas", "convert them to numbers first (.astype(np.int64))"),
    "V": ("structured records", "make one tensor per numeric field"),
}


_NO_DATA = object()  # data=None is a value a user can pass (mg.tensor(None))


def check_dtype(dtype, where: str, data=_NO_DATA) -> np.dtype:
    """``dtype`` as a ``numpy.dtype`` if a tensor may hold it, else a ``TypeError`` naming
    ``where`` (the function called), the dtype, what it holds and the supported dtypes;
    ``data``, when given, is what the user passed (its type goes into the message)."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as exc:
        raise TypeError(f"{where}: {dtype!r} is not a dtype; tensors hold {SUPPORTED}") from exc
    if dtype.kind in "biuf":
        return dtype
    source = "" if data is _NO_DATA else f" from {type(data).__name__} data"
    holds, instead = _REFUSED.get(dtype.kind, ("no numbers", "convert the data to numbers"))
    raise TypeError(f"{where}: cannot make a tensor{source} of dtype {dtype} ({holds}): "
                    f"{instead}. Tensors hold {SUPPORTED}")
