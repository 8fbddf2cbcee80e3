"""Flatten parameters into one vector and back, as ``torch.nn.utils.parameters_to_vector``
and ``vector_to_parameters`` do (useful for line searches, second-order methods and for
inspecting a whole model's weights at once)."""

from __future__ import annotations

from ...autograd import no_grad
from ...tensor import Tensor, cat
from ._tensors import tensor_list

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def _param_list(parameters, fn_name: str) -> list:
    """``parameters`` as a non-empty list of Tensors, all on one device."""
    parameters = tensor_list(parameters, fn_name)
    first = parameters[0].device
    for i, p in enumerate(parameters):
        if p.device != first:
            raise RuntimeError(f"{fn_name}: parameters[0] is on {first} but parameters[{i}] "
                               f"is on {p.device}; all must be on one device")
    return parameters


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened (row-major) and concatenated into one 1-D tensor::

        v = (vec(θ_1), vec(θ_2), ..., vec(θ_k))       of length Σ_j numel(θ_j)

    The result is a new tensor built with differentiable ops (as in PyTorch), so a loss of
    ``v`` backpropagates into the parameters. Parameters of different floating dtypes are
    promoted to a common dtype.
    """
    params = _param_list(parameters, "parameters_to_vector")
    return cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec: Tensor, parameters) -> None:
    """Copy consecutive slices of the 1-D tensor ``vec`` into the parameters, in place::

        θ_j ← reshape(v[o_j : o_j + numel(θ_j)], shape(θ_j)),   o_j = Σ_{i<j} numel(θ_i)

    The inverse of :func:`parameters_to_vector`. Unlike PyTorch (which makes each
    parameter's data a view of ``vec``) the values are copied, so the parameters keep their
    own memory, dtype and identity; ``vec`` is cast to each parameter's dtype. ``vec`` must
    have exactly as many entries as the parameters together.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"vector_to_parameters: expected vec to be a Tensor, "
                        f"got {type(vec).__name__}")
    if vec.ndim != 1:
        raise ValueError(f"vector_to_parameters: vec must be 1-D, got shape {tuple(vec.shape)}")
    params = _param_list(parameters, "vector_to_parameters")
    total = sum(p.numel() for p in params)
    if vec.shape[0] != total:
        raise ValueError(f"vector_to_parameters: vec has {vec.shape[0]} entries but the "
                         f"{len(params)} parameters hold {total} "
                         f"(shapes {[tuple(p.shape) for p in params]})")
    if vec.device != params[0].device:
        raise RuntimeError(f"vector_to_parameters: vec is on {vec.device} but the parameters "
                           f"are on {params[0].device}")
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vec.data[offset:offset + n].reshape(p.shape))
            offset += n
