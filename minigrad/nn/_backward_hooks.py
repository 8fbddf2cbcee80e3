"""Module backward hooks: ``register_full_backward_hook`` and ``register_full_backward_pre_hook``.

As in PyTorch, a module call with backward hooks passes its Tensor inputs, and then its
outputs, through an identity Function whose backward sees all of their gradients at once:

- the outputs' identity receives ``grad_output`` (one gradient per output Tensor, ``None``
  where none flowed); the backward pre-hooks ``hook(module, grad_output)`` run there and may
  return a replacement ``grad_output``;
- the inputs' identity receives ``grad_input`` (one entry per positional argument: ``None``
  for non-Tensors and for inputs that got no gradient); the full hooks
  ``hook(module, grad_input, grad_output)`` run there, in registration order, and a non-None
  return value replaces ``grad_input``.
- When no input requires grad, the full hooks run with an all-``None`` ``grad_input`` as soon
  as ``grad_output`` is known (and must return None), as PyTorch does.

Loaded on the first module call that has such a hook, so plain calls never pay for it.
"""

from __future__ import annotations

from ..autograd import Function
from ..tensor import Tensor

__all__ = ["BackwardHook"]


class _BackwardHookFunction(Function):
    """Identity on several Tensors; its backward hands their gradients to ``on_backward``."""

    @staticmethod
    def forward(ctx, *tensors, on_backward):
        ctx.on_backward = on_backward
        ctx.set_materialize_grads(False)  # outputs that got no gradient pass None
        ctx.mark_non_differentiable(*[t for t in tensors if not t.requires_grad])
        return tensors

    @staticmethod
    def backward(ctx, *grads):
        return ctx.on_backward(grads)


def _replace_tensors(values, wrapped, positions):
    values = list(values)
    for position, t in zip(positions, wrapped):
        values[position] = t
    return values


class BackwardHook:
    """The backward hooks of one call of ``module``."""

    def __init__(self, module):
        self.module = module
        self.grad_output = None
        self.n_inputs = 0
        self.input_positions = ()
        self.inputs_need_grad = False

    def setup_input_hook(self, args: tuple) -> tuple:
        self.n_inputs = len(args)
        self.input_positions = [i for i, a in enumerate(args) if isinstance(a, Tensor)]
        tensors = [args[i] for i in self.input_positions]
        self.inputs_need_grad = any(t._requires_grad for t in tensors)
        if not self.inputs_need_grad:
            return args
        wrapped = _BackwardHookFunction.apply(*tensors, on_backward=self._on_grad_input)
        return tuple(_replace_tensors(args, wrapped, self.input_positions))

    def setup_output_hook(self, result):
        single = isinstance(result, Tensor)
        values = [result] if single else list(result) if isinstance(result, (tuple, list)) else []
        positions = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        tensors = [values[i] for i in positions]
        if not any(t._requires_grad for t in tensors):
            return result
        wrapped = _BackwardHookFunction.apply(*tensors, on_backward=self._on_grad_output)
        values = _replace_tensors(values, wrapped, positions)
        return values[0] if single else type(result)(values)

    def _on_grad_output(self, grad_output: tuple) -> tuple:
        module = self.module
        for hook in list(module._backward_pre_hooks.values()):
            result = hook(module, grad_output)
            if result is not None:
                grad_output = _checked(result, len(grad_output), hook, "grad_output")
        self.grad_output = grad_output
        if not self.inputs_need_grad:
            grad_input = (None,) * self.n_inputs
            for hook in list(module._backward_hooks.values()):
                result = hook(module, grad_input, grad_output)
                if result is not None and any(g is not None for g in result):
                    raise RuntimeError(
                        f"{type(module).__name__}: a backward hook of a module whose inputs do "
                        f"not require grad must return None (or all None), got a gradient")
        return grad_output

    def _on_grad_input(self, grads: tuple) -> tuple:
        module = self.module
        grad_input = [None] * self.n_inputs
        for position, g in zip(self.input_positions, grads):
            grad_input[position] = g
        grad_input = tuple(grad_input)
        for hook in list(module._backward_hooks.values()):
            result = hook(module, grad_input, self.grad_output)
            if result is not None:
                grad_input = _checked(result, self.n_inputs, hook, "grad_input")
        return tuple(grad_input[i] for i in self.input_positions)


def _checked(result, n: int, hook, what: str) -> tuple:
    result = tuple(result) if isinstance(result, (tuple, list)) else (result,)
    if len(result) != n:
        name = getattr(hook, "__name__", type(hook).__name__)
        raise RuntimeError(f"backward hook {name!r} returned {len(result)} values for {what}; "
                           f"expected {n}")
    return result
