"""The argument check the nn.utils functions share."""

from __future__ import annotations

from ...tensor import Tensor


def tensor_list(tensors, fn_name: str, argname: str = "parameters",
                allow_empty: bool = False) -> list:
    """``tensors`` (a Tensor or an iterable of Tensors) as a list of Tensors, or a clear error
    naming ``fn_name`` and the argument. An empty iterable is an error unless ``allow_empty``:
    it is usually a generator such as ``model.parameters()`` that was already used up."""
    if isinstance(tensors, Tensor):
        return [tensors]
    try:
        items = list(tensors)
    except TypeError:
        raise TypeError(f"{fn_name}: {argname} must be a Tensor or an iterable of Tensors, "
                        f"got {type(tensors).__name__}") from None
    if not items and not allow_empty:
        raise ValueError(f"{fn_name}: {argname} is empty (a generator such as "
                         f"model.parameters() can only be iterated once)")
    for i, t in enumerate(items):
        if not isinstance(t, Tensor):
            raise TypeError(f"{fn_name}: {argname}[{i}] is a {type(t).__name__}, not a Tensor")
    return items
