"""Jacobians, Hessians and their products with vectors: PyTorch's ``torch.autograd.functional``.

For ``f`` taking Tensors ``x`` (one, or a tuple) and returning Tensors ``y``:

    vjp(f, x, v)    = vᵀ J         one backward pass; J = ∂y/∂x
    jvp(f, x, v)    = J v          J v = ∂<uᵀJ, v>/∂u: the backward of a backward
    jacobian(f, x)  = J            one backward pass per element of y; shape y.shape + x.shape
    hessian(f, x)   = H = ∂²f/∂x²  the Jacobian of the gradient, for a one-element f
    vhp(f, x, v)    = vᵀ H         the gradient of <∇f, v>
    hvp(f, x, v)    = H v          the backward of a backward, as in jvp

Everything is built on :func:`minigrad.autograd.grad`; the higher orders use its
``create_graph=True``. Signatures, argument checks and return conventions are PyTorch's: a
Tensor in gives a Tensor out, a tuple gives a tuple (``jacobian[i][j]`` is output i against
input j); ``vjp``/``jvp``/``vhp``/``hvp`` return ``(f(x), product)``; results are detached
unless ``create_graph=True``; an output independent of an input gives zeros, or an error with
``strict=True``.

Differences from PyTorch: there is no forward-mode AD, so ``strategy='forward-mode'`` (and
``outer_jacobian_strategy='forward-mode'``) raise; ``vectorize=True`` is accepted and computes
the same values as ``vectorize=False`` (one backward pass per row, no vmap), so it is not faster.
"""

from __future__ import annotations

from .. import backend
from ..tensor import Tensor, stack
from . import enable_grad, grad, is_grad_enabled, set_grad_enabled

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


# ---------------------------------------------------------------------------------------------
# Shared steps


def _as_tensors(value, what: str, fn: str):
    """``(was_tuple, tuple_of_tensors)``; a TypeError naming ``fn`` for anything else."""
    was_tuple = isinstance(value, (tuple, list))
    items = tuple(value) if was_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {i} is" if was_tuple else "it is"
            raise TypeError(f"{fn}: {what} must be a Tensor or a tuple of Tensors, but {where} "
                            f"a {type(item).__name__}")
    return was_tuple, items


def _fresh_inputs(inputs, create_graph: bool, fn: str) -> tuple:
    """New Tensor objects to differentiate against, so ``func`` reaching the caller's tensors
    another way (a closure) is not mixed in. With ``create_graph`` a tensor that requires grad
    stays connected to its graph (a differentiable copy), else it becomes a fresh leaf."""
    fresh = []
    for i, t in enumerate(inputs):
        if t.dtype.kind not in "fc":
            raise TypeError(f"{fn}: input {i} is {t.dtype}; derivatives need floating-point "
                            f"inputs")
        fresh.append(t.reshape(t.shape) if create_graph and t.requires_grad
                     else t.detach().requires_grad_(True))
    return tuple(fresh)


def _prepared_v(v, like, was_tuple: bool, create_graph: bool, fn: str) -> tuple:
    """``v`` as a tuple of Tensors shaped like ``like`` (detached unless create_graph)."""
    _, v = _as_tensors(v, "v", fn)
    if len(v) != len(like):
        raise RuntimeError(f"{fn}: v has {len(v)} Tensors, expected {len(like)}" if was_tuple
                           else f"{fn}: v must be a single Tensor, got a tuple of {len(v)}")
    for i, (vi, ref) in enumerate(zip(v, like)):
        if vi.shape != ref.shape:
            entry = f"entry {i} of v" if was_tuple else "v"
            raise RuntimeError(f"{fn}: {entry} has shape {tuple(vi.shape)}, expected "
                               f"{tuple(ref.shape)}")
    return tuple(vi if create_graph and vi.requires_grad else vi.detach() for vi in v)


def _require_one_element(tensors, what: str, fn: str) -> None:
    if len(tensors) != 1 or tensors[0].numel() != 1:
        raise RuntimeError(f"{fn}: v can be omitted only when {what} is a single Tensor with one "
                           f"element")


def _check_outputs(outputs, strict: bool, fn: str) -> None:
    if not strict:
        return
    for i, out in enumerate(outputs):
        if not out.requires_grad:
            raise RuntimeError(f"{fn}: output {i} of the function does not require grad (strict "
                               f"mode needs every output computed differentiably from the "
                               f"inputs)")


def _check_strict_gradients(grads, strict: bool, fn: str, hint: str = "") -> None:
    """In strict mode each gradient must exist and still depend on the inputs (require grad):
    the next backward pass differentiates it."""
    if not strict:
        return
    for i, g in enumerate(grads):
        if g is None:
            raise RuntimeError(f"{fn}: the function's output does not depend on input {i} "
                               f"(strict mode)")
        if not g.requires_grad:
            raise RuntimeError(f"{fn}: the gradient with respect to input {i} does not depend "
                               f"on the inputs (strict mode{hint})")


_LINEAR_HINT = "; is the function linear in it?"


def _grads(outputs, inputs, grad_outputs=None, create_graph=False, retain_graph=None) -> tuple:
    """:func:`grad` that skips outputs not requiring grad (and returns ``None`` for every
    input when none does) and gives ``None`` for inputs the outputs do not use."""
    if grad_outputs is None:
        grad_outputs = (None,) * len(outputs)
    live = [(o, g) for o, g in zip(outputs, grad_outputs) if o is not None and o.requires_grad]
    if not live:
        return (None,) * len(inputs)
    return tuple(grad([o for o, _ in live], list(inputs), [g for _, g in live],
                      retain_graph=retain_graph, create_graph=create_graph, allow_unused=True))


def _zeros_like(t):
    xp = backend.array_module(t.data)
    return Tensor._make(xp.zeros(t.shape, t.dtype))


def _zeros_for_missing(grads, refs, strict: bool, create_graph: bool, fn: str, what: str):
    """Replace each missing gradient by zeros shaped like its ref, or raise in strict mode
    (also for a result that cannot depend on the inputs while create_graph asks for one)."""
    result = []
    for i, (g, ref) in enumerate(zip(grads, refs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: {what} does not depend on entry {i} (strict mode)")
            g = _zeros_like(ref)
        elif strict and create_graph and not g.requires_grad:
            raise RuntimeError(f"{fn}: {what} is independent of the inputs at entry {i}, "
                               f"which strict mode with create_graph=True does not allow")
        result.append(g)
    return tuple(result)


def _last_pass(outputs, wrt, v, refs, create_graph, strict, fn, what) -> tuple:
    """The final backward pass of a vector product (recorded if create_graph asks, or if grad
    mode is on, as in PyTorch), with zeros shaped like ``refs`` where nothing arrived."""
    with set_grad_enabled(create_graph or is_grad_enabled()):
        products = _grads(outputs, wrt, v, create_graph=create_graph)
        return _zeros_for_missing(products, refs, strict, create_graph, fn, what)


def _detached(tensors, create_graph: bool):
    if create_graph:
        return tensors
    return tuple(t.detach() if isinstance(t, Tensor) else _detached(t, False) for t in tensors)


def _untuple(result, was_tuple):
    """Undo :func:`_as_tensors`: a one-Tensor tuple back to the Tensor where none was given;
    ``was_tuple`` may be a pair (outer, inner) for nested results."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            result = tuple(row[0] for row in result)
        return result if outer else result[0]
    return result if was_tuple else result[0]


def _check_vectorize(vectorize: bool, strict: bool, fn: str) -> None:
    if vectorize and strict:
        raise RuntimeError(f"{fn}: strict=True and vectorize=True are not supported together "
                           f"(as in PyTorch)")


def _check_strategy(strategy: str, argument: str, fn: str) -> None:
    if strategy == "forward-mode":
        raise NotImplementedError(f"{fn}: {argument}='forward-mode' needs forward-mode AD, which "
                                  f"minigrad does not have; use '{argument}=reverse-mode'")
    if strategy != "reverse-mode":
        raise ValueError(f"{fn}: {argument} must be 'reverse-mode' (or 'forward-mode' in "
                         f"PyTorch), got {strategy!r}")


# ---------------------------------------------------------------------------------------------
# Vector products


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ J)``: the vector-Jacobian product, shaped like ``inputs``.

    ``v`` is shaped like func's output(s); it may be omitted for a one-element output (then 1).
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tensors(inputs, "inputs", "vjp")
        inputs = _fresh_inputs(inputs, create_graph, "vjp")
        outputs_tuple, outputs = _as_tensors(func(*inputs), "the function's outputs", "vjp")
        _check_outputs(outputs, strict, "vjp")
        if v is None:
            _require_one_element(outputs, "the function's output", "vjp")
        else:
            v = _prepared_v(v, outputs, outputs_tuple, create_graph, "vjp")
    products = _last_pass(outputs, inputs, v, inputs, create_graph, strict, "vjp",
                          "the function's output")
    return (_untuple(_detached(outputs, create_graph), outputs_tuple),
            _untuple(_detached(products, create_graph), inputs_tuple))


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), J v)``: the Jacobian-vector product, shaped like func's output(s).

    By the double-backward trick: with ``u`` a dummy upstream gradient, ``g(u) = uᵀ J`` is
    linear in ``u``, so the gradient of ``<g(u), v>`` with respect to ``u`` is ``J v``.
    ``v`` is shaped like ``inputs``; it may be omitted for a one-element input (then 1).
    """
    with enable_grad():
        inputs_tuple, inputs = _as_tensors(inputs, "inputs", "jvp")
        inputs = _fresh_inputs(inputs, create_graph, "jvp")
        if v is None:
            _require_one_element(inputs, "the input", "jvp")
        else:
            v = _prepared_v(v, inputs, inputs_tuple, create_graph, "jvp")
        outputs_tuple, outputs = _as_tensors(func(*inputs), "the function's outputs", "jvp")
        _check_outputs(outputs, strict, "jvp")
        # Zeros: the value of u does not matter (g is linear in it), it only must be finite.
        dummies = tuple(_zeros_like(out).requires_grad_(True) for out in outputs)
        vjps = _grads(outputs, inputs, dummies, create_graph=True)
        _check_strict_gradients(vjps, strict, "jvp")
    products = _last_pass(vjps, dummies, v, outputs, create_graph, strict, "jvp",
                          "the Jacobian-vector product")
    return (_untuple(_detached(outputs, create_graph), outputs_tuple),
            _untuple(_detached(products, create_graph), outputs_tuple))


def _single_element_output(func, inputs, strict: bool, fn: str):
    out = func(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{fn}: the function must return a single Tensor, got "
                        f"{type(out).__name__}")
    if out.numel() != 1:
        raise RuntimeError(f"{fn}: the function must return a Tensor with a single element, "
                           f"got shape {tuple(out.shape)}")
    _check_outputs((out,), strict, fn)
    return out


def _gradient_for_second_order(func, inputs, v, create_graph, strict, fn):
    """The steps vhp and hvp share: fresh inputs, func's one-element output, its gradient with
    a graph, and ``v`` checked against the inputs."""
    with enable_grad():
        inputs_tuple, inputs = _as_tensors(inputs, "inputs", fn)
        inputs = _fresh_inputs(inputs, create_graph, fn)
        out = _single_element_output(func, inputs, strict, fn)
        if v is None:
            _require_one_element(inputs, "the input", fn)
        else:
            v = _prepared_v(v, inputs, inputs_tuple, create_graph, fn)
        gradient = _grads((out,), inputs, create_graph=True)
        _check_strict_gradients(gradient, strict, fn, _LINEAR_HINT)
    return inputs_tuple, inputs, out, v, gradient


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), vᵀ H)`` for a one-element ``func``: the gradient of ``<∇func, v>``."""
    inputs_tuple, inputs, out, v, gradient = _gradient_for_second_order(
        func, inputs, v, create_graph, strict, "vhp")
    products = _last_pass(gradient, inputs, v, inputs, create_graph, strict, "vhp",
                          "the Hessian")
    return (_detached((out,), create_graph)[0],
            _untuple(_detached(products, create_graph), inputs_tuple))


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """``(func(inputs), H v)`` for a one-element ``func``, by the double-backward trick (as
    jvp). For a twice continuously differentiable ``func`` H is symmetric and this equals
    :func:`vhp`, which costs one backward pass less."""
    inputs_tuple, inputs, out, v, gradient = _gradient_for_second_order(
        func, inputs, v, create_graph, strict, "hvp")
    with enable_grad():
        dummies = tuple(_zeros_like(t).requires_grad_(True) for t in inputs)
        double_back = _grads(gradient, inputs, dummies, create_graph=True)
    products = _last_pass(double_back, dummies, v, inputs, create_graph, strict, "hvp",
                          "the Hessian")
    return (_detached((out,), create_graph)[0],
            _untuple(_detached(products, create_graph), inputs_tuple))


# ---------------------------------------------------------------------------------------------
# Whole matrices


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian ∂func/∂inputs: for output ``y`` and input ``x`` a Tensor of shape
    ``y.shape + x.shape`` with ``J[i..., j...] = ∂y[i...]/∂x[j...]``, in ``x``'s dtype.

    One Tensor for one input and one output; a tuple over the inputs (or over the outputs)
    where one of them is a tuple; ``J[i][j]`` (output i, input j) where both are.
    Row by row: one backward pass per element of each output, upstream gradient one-hot.
    """
    _check_strategy(strategy, "strategy", "jacobian")
    _check_vectorize(vectorize, strict, "jacobian")
    with enable_grad():
        inputs_tuple, inputs = _as_tensors(inputs, "inputs", "jacobian")
        inputs = _fresh_inputs(inputs, create_graph, "jacobian")
        outputs_tuple, outputs = _as_tensors(func(*inputs), "the function's outputs",
                                             "jacobian")
        _check_outputs(outputs, strict, "jacobian")
        result = tuple(_jacobian_of_output(i, out, inputs, create_graph, strict)
                       for i, out in enumerate(outputs))
    return _untuple(_detached(result, create_graph), (outputs_tuple, inputs_tuple))


def _jacobian_of_output(i, out, inputs, create_graph, strict) -> tuple:
    """The Jacobians of output ``i`` against every input (one tuple entry per input)."""
    xp = backend.array_module(out.data)
    rows = [[] for _ in inputs]
    for k in range(out.numel()):
        one_hot = xp.zeros(out.numel(), out.dtype)
        one_hot[k] = 1
        row = _grads((out,), inputs, (Tensor._make(one_hot.reshape(out.shape)),),
                     create_graph=create_graph, retain_graph=True)
        for j, (g, x) in enumerate(zip(row, inputs)):
            if g is None:
                if strict:
                    raise RuntimeError(f"jacobian: output {i} of the function is independent of "
                                       f"input {j} (strict mode)")
                g = _zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(f"jacobian: the Jacobian of output {i} is independent of "
                                   f"input {j}, which strict mode with create_graph=True does "
                                   f"not allow")
            rows[j].append(g)
    result = []
    for j, x in enumerate(inputs):
        shape = tuple(out.shape) + tuple(x.shape)
        if rows[j]:
            result.append(stack(rows[j]).reshape(shape))
        else:  # an empty output: an empty Jacobian
            result.append(Tensor._make(backend.array_module(x.data).zeros(shape, x.dtype)))
    return tuple(result)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of a one-element ``func``: ``H[i..., j...] = ∂²func/∂x[i...]∂x[j...]``,
    shape ``x.shape + x.shape``, the Jacobian of the gradient; for a tuple of inputs a tuple of
    tuples, ``H[i][j]`` of shape ``inputs[i].shape + inputs[j].shape``."""
    _check_strategy(outer_jacobian_strategy, "outer_jacobian_strategy", "hessian")
    _check_vectorize(vectorize, strict, "hessian")
    inputs_tuple, inputs = _as_tensors(inputs, "inputs", "hessian")

    def one_element(*xs):
        return _single_element_output(func, xs, strict, "hessian").reshape(())

    def gradient(*xs):  # the inner Jacobian (of a 0-d output): one Tensor per input
        result = jacobian(one_element, xs, create_graph=True)
        _check_strict_gradients(result, strict, "hessian", _LINEAR_HINT)
        return result

    result = jacobian(gradient, inputs, create_graph=create_graph, strict=strict)
    return _untuple(result, (inputs_tuple, inputs_tuple))
