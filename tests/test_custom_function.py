"""PyTorch's custom Function protocol (``forward(ctx, ...)``/``backward(ctx, ...)`` on Tensors):
ctx, non-Tensor arguments, several outputs, double backward, gradcheck, in-place checks, errors,
and that minigrad's own array-level Functions are untouched by it."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import autograd, backend
from minigrad.autograd import Function


def cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def leaf(values, device="cpu", dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), device=device, requires_grad=True)


values = st.floats(-2.0, 2.0, allow_nan=False, width=64)


def arrays(min_dims=0):
    return hnp.arrays(np.float64, hnp.array_shapes(min_dims=min_dims, max_dims=3, max_side=3),
                      elements=values)


# ---------------------------------------------------------------------------------------------
# The Functions under test, written as PyTorch's documentation writes them


class Exp(Function):
    """Saves its output; backward uses it (so double backward goes through the output)."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * y


class Cube(Function):
    """Saves its input; backward in Tensor ops, so create_graph gives the second derivative."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x ** 2


class LinearFunction(Function):
    """PyTorch's "Extending torch.autograd" example: an optional bias and needs_input_grad."""

    @staticmethod
    def forward(ctx, input, weight, bias=None):
        ctx.save_for_backward(input, weight, bias)
        output = input @ weight.T
        if bias is not None:
            output = output + bias.unsqueeze(0).expand_as(output)
        return output

    @staticmethod
    def backward(ctx, grad_output):
        input, weight, bias = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            grad_input = grad_output @ weight
        if ctx.needs_input_grad[1]:
            grad_weight = grad_output.T @ input
        if bias is not None and ctx.needs_input_grad[2]:
            grad_bias = grad_output.sum(0)
        return grad_input, grad_weight, grad_bias


class Scale(Function):
    """A non-Tensor argument (its gradient slot is None) and an attribute on ctx."""

    @staticmethod
    def forward(ctx, x, factor):
        ctx.factor = factor
        return x * factor

    @staticmethod
    def backward(ctx, grad):
        return grad * ctx.factor, None


class SumAndProduct(Function):
    """Two outputs, both differentiable: (a + b, a * b)."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a + b, a * b

    @staticmethod
    def backward(ctx, grad_sum, grad_product):
        a, b = ctx.saved_tensors
        return grad_sum + grad_product * b, grad_sum + grad_product * a


class SortValues(Function):
    """(sorted values, their indices): the indices are marked non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        order = np.argsort(cpu(x), axis=-1, kind="stable")
        indices = mg.tensor(order, device=x.device)
        values = mg.tensor(np.take_along_axis(cpu(x), order, axis=-1), device=x.device)
        ctx.mark_non_differentiable(indices)
        ctx.save_for_backward(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        (indices,) = ctx.saved_tensors
        ctx.grad_indices_seen = grad_indices
        order = cpu(indices)
        inverse = np.argsort(order, axis=-1, kind="stable")
        return mg.tensor(np.take_along_axis(cpu(grad_values), inverse, axis=-1),
                         device=grad_values.device)


def _recorder(**flags):
    """A Function recording what its forward and backward saw."""
    seen = {}

    class Recorder(Function):
        @staticmethod
        def forward(ctx, x, y=None, *, note="none"):
            seen["forward_grad_enabled"] = mg.is_grad_enabled()
            seen["needs_input_grad"] = ctx.needs_input_grad
            seen["note"] = note
            ctx.set_materialize_grads(flags.get("materialize", True))
            return x * 2.0, x * 3.0

        @staticmethod
        def backward(ctx, g2, g3):
            seen["backward_grad_enabled"] = mg.is_grad_enabled()
            seen["grads"] = (g2, g3)
            total = (0.0 if g2 is None else g2 * 2.0) + (0.0 if g3 is None else g3 * 3.0)
            return total, None

    return Recorder, seen


# ---------------------------------------------------------------------------------------------
# Values, gradients, gradcheck


@given(arrays())
def test_saved_output_gradient_and_gradchecks(x):
    t = leaf(x)
    y = Exp.apply(t)
    assert type(y.grad_fn).__name__ == "ExpBackward" and y.requires_grad
    np.testing.assert_allclose(cpu(y), np.exp(x))
    g = np.random.default_rng(0).standard_normal(x.shape)
    y.backward(mg.tensor(g))
    np.testing.assert_allclose(cpu(t.grad), g * np.exp(x), rtol=1e-12)
    assert mg.gradcheck(Exp.apply, [leaf(x)])
    assert mg.gradgradcheck(Exp.apply, [leaf(x)])


@given(arrays())
def test_double_backward_through_saved_input(x):
    t = leaf(x)
    (first,) = autograd.grad(Cube.apply(t).sum(), [t], create_graph=True)
    np.testing.assert_allclose(cpu(first), 3 * x ** 2)
    (second,) = autograd.grad(first.sum(), [t])
    np.testing.assert_allclose(cpu(second), 6 * x)
    assert mg.gradgradcheck(Cube.apply, [leaf(x)])


@given(st.integers(1, 3), st.integers(1, 3), st.integers(1, 3), st.booleans())
def test_pytorch_documentation_example_linear(n, fan_in, fan_out, with_bias):
    rng = np.random.default_rng(n * 9 + fan_in * 3 + fan_out)
    x, w, b = (leaf(rng.standard_normal(s)) for s in ((n, fan_in), (fan_out, fan_in), (fan_out,)))
    args = (x, w, b) if with_bias else (x, w)
    out = LinearFunction.apply(*args)
    expected = cpu(x) @ cpu(w).T + (cpu(b) if with_bias else 0.0)
    np.testing.assert_allclose(cpu(out), expected, rtol=1e-12)
    assert mg.gradcheck(LinearFunction.apply, args)
    assert mg.gradgradcheck(LinearFunction.apply, args)


def test_needs_input_grad_skips_gradients_not_needed():
    x = mg.tensor(np.ones((2, 3)))
    w = leaf(np.ones((4, 3)))
    out = LinearFunction.apply(x, w, None)
    out.sum().backward()
    assert x.grad is None and w.grad.shape == (4, 3)
    np.testing.assert_allclose(cpu(w.grad), np.full((4, 3), 2.0))


def test_custom_function_on_device(device):
    x = leaf([0.5, -1.0], device)
    y = Exp.apply(x)
    assert y.device == x.device
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), np.exp([0.5, -1.0]))
    assert mg.gradcheck(Exp.apply, [leaf([0.5, -1.0], device)])


# ---------------------------------------------------------------------------------------------
# ctx: non-Tensor arguments, keyword arguments, grad mode, flags


def test_non_tensor_argument_and_ctx_attribute():
    x = leaf([1.0, -2.0])
    y = Scale.apply(x, 2.5)
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [2.5, 2.5])
    assert mg.gradcheck(lambda t: Scale.apply(t, -1.5), [leaf([0.3, 0.7])])


def test_forward_runs_under_no_grad_and_backward_under_create_graph():
    Recorder, seen = _recorder()
    x = leaf([1.0, 2.0])
    a, b = Recorder.apply(x, mg.tensor([1.0]), note="kw")
    assert seen["forward_grad_enabled"] is False and seen["note"] == "kw"
    assert seen["needs_input_grad"] == (True, False)
    (a.sum() + b.sum()).backward(retain_graph=True)
    assert seen["backward_grad_enabled"] is False
    np.testing.assert_allclose(cpu(x.grad), [5.0, 5.0])
    autograd.grad(a.sum(), [x], create_graph=True)
    assert seen["backward_grad_enabled"] is True
    assert mg.is_grad_enabled()


def test_outputs_not_recorded_without_grad():
    y = Exp.apply(mg.tensor([1.0]))
    assert y.grad_fn is None and not y.requires_grad
    with mg.no_grad():
        y = Exp.apply(leaf([1.0]))
    assert y.grad_fn is None and not y.requires_grad


def test_unused_output_gets_zeros_or_none():
    Recorder, seen = _recorder()
    x = leaf([1.0, 2.0])
    _, b = Recorder.apply(x)
    b.sum().backward()
    g2, g3 = seen["grads"]
    np.testing.assert_array_equal(cpu(g2), [0.0, 0.0])
    np.testing.assert_array_equal(cpu(g3), [1.0, 1.0])
    np.testing.assert_allclose(cpu(x.grad), [3.0, 3.0])

    Recorder, seen = _recorder(materialize=False)
    x = leaf([1.0, 2.0])
    a, _ = Recorder.apply(x)
    a.sum().backward()
    assert seen["grads"][1] is None
    np.testing.assert_allclose(cpu(x.grad), [2.0, 2.0])


def test_setup_context_form():
    class Square(Function):
        @staticmethod
        def forward(x, power=2):
            return x ** power

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, power = inputs
            ctx.save_for_backward(x)
            ctx.power = power

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return grad * ctx.power * x ** (ctx.power - 1), None

    x = leaf([1.5, -2.0])
    Square.apply(x, power=3).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), 3 * np.array([1.5, -2.0]) ** 2)
    assert mg.gradcheck(Square.apply, [leaf([0.5, 2.0])])


def test_returning_an_input_gives_a_new_tensor_sharing_its_data():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = leaf([1.0, 2.0])
    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    assert np.shares_memory(cpu(y), cpu(x))
    (y * y).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [2.0, 4.0])


# ---------------------------------------------------------------------------------------------
# Several outputs


@given(arrays(), st.data())
def test_two_outputs_gradcheck(a, data):
    b = data.draw(hnp.arrays(np.float64, a.shape, elements=values))
    s, p = SumAndProduct.apply(leaf(a), leaf(b))
    np.testing.assert_allclose(cpu(s), a + b)
    np.testing.assert_allclose(cpu(p), a * b)
    assert mg.gradcheck(SumAndProduct.apply, [leaf(a), leaf(b)])
    assert mg.gradgradcheck(SumAndProduct.apply, [leaf(a), leaf(b)])


def test_outputs_used_several_times_and_retain_grad():
    a, b = leaf([1.0, 2.0]), leaf([3.0, -1.0])
    s, p = SumAndProduct.apply(a, b)
    p.retain_grad()
    loss = (s * p).sum() + p.sum() * 2.0
    loss.backward()
    sv, pv = np.array([4.0, 1.0]), np.array([3.0, -2.0])
    # d loss/ds = p, d loss/dp = s + 2
    np.testing.assert_allclose(cpu(p.grad), sv + 2.0)
    np.testing.assert_allclose(cpu(a.grad), pv + (sv + 2.0) * np.array([3.0, -1.0]))
    np.testing.assert_allclose(cpu(b.grad), pv + (sv + 2.0) * np.array([1.0, 2.0]))
    s2, p2 = SumAndProduct.apply(a, b)
    (gp,) = autograd.grad((s2 * p2).sum(), [p2])
    np.testing.assert_allclose(cpu(gp), sv)


def test_non_differentiable_output():
    xv = np.array([[3.0, 1.0, 2.0], [0.0, -1.0, 5.0]])
    x = leaf(xv)
    v, i = SortValues.apply(x)
    assert v.requires_grad and not i.requires_grad and i.grad_fn is None
    np.testing.assert_array_equal(cpu(i), np.argsort(xv, axis=-1))
    g = np.arange(6.0).reshape(2, 3)
    v.backward(mg.tensor(g))
    expected = np.zeros_like(xv)
    np.put_along_axis(expected, np.argsort(xv, axis=-1), g, axis=-1)
    np.testing.assert_allclose(cpu(x.grad), expected)
    assert mg.gradcheck(lambda t: SortValues.apply(t)[0], [leaf(xv)])


def test_non_tensor_values_in_the_output_tuple_pass_through():
    class WithCount(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2.0, 7

        @staticmethod
        def backward(ctx, grad, grad_count):
            assert grad_count is None
            return grad * 2.0

    x = leaf([1.0])
    y, count = WithCount.apply(x)
    assert count == 7
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [2.0])


# ---------------------------------------------------------------------------------------------
# In-place changes, freeing, once_differentiable


def test_saved_tensor_modified_in_place_raises_at_backward():
    x = leaf([1.0, 2.0])
    h = x * 1.0
    y = Cube.apply(h)
    with mg.no_grad():
        h += 1.0
    with pytest.raises(RuntimeError, match=r"Cube.*modified by an in-place.*version 1.*0"):
        y.sum().backward()


def test_saved_constant_modified_in_place_raises():
    w = mg.tensor([[1.0, 2.0]], dtype=mg.float64)
    x = leaf([[1.0, 1.0]])
    out = LinearFunction.apply(x, w)
    w += 1.0  # w does not require grad, so this is allowed, but the saved w is now stale
    with pytest.raises(RuntimeError, match="saved tensor 1 of shape \\(1, 2\\)"):
        out.sum().backward()


def test_unsaved_input_may_change_in_place():
    x = leaf([1.0, 2.0])
    c = mg.tensor([5.0, 5.0], dtype=mg.float64)
    y = Scale.apply(x, 3.0) + Scale.apply(c, 1.0)
    c += 1.0
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [3.0, 3.0])


def test_saved_output_modified_in_place_raises():
    x = leaf([0.0, 1.0])
    y = Exp.apply(x)
    with mg.no_grad():
        y += 1.0  # y.sum() below is made after this change; only Exp saved the old y
    with pytest.raises(RuntimeError, match="Exp.*in-place.*saved tensor 0"):
        y.sum().backward()


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0])
    y = Cube.apply(x)
    y.sum().backward(retain_graph=True)
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [6.0])
    with pytest.raises(RuntimeError, match="second time"):
        y.sum().backward()


def test_once_differentiable():
    class NumpyCube(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return mg.tensor(cpu(x) ** 3)

        @staticmethod
        @autograd.once_differentiable
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            return mg.tensor(cpu(grad) * 3 * cpu(x) ** 2)

    x = leaf([1.0, -2.0])
    NumpyCube.apply(x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [3.0, 12.0])
    (g,) = autograd.grad(NumpyCube.apply(x).sum(), [x], create_graph=True)
    with pytest.raises(RuntimeError, match="NumpyCube.*once_differentiable"):
        g.sum().backward()


# ---------------------------------------------------------------------------------------------
# Clear errors


def _function(forward, backward=None):
    attrs = {"forward": staticmethod(forward)}
    if backward is not None:
        attrs["backward"] = staticmethod(backward)
    return type("Bad", (Function,), attrs)


def test_wrong_number_of_gradients():
    too_few = _function(lambda ctx, a, b: a + b, lambda ctx, g: g)
    with pytest.raises(RuntimeError, match=r"Bad.backward.*incorrect number.*expected 2.*got 1"):
        too_few.apply(leaf([1.0]), leaf([2.0])).sum().backward()
    too_many = _function(lambda ctx, a: a * 2.0, lambda ctx, g: (g, g))
    with pytest.raises(RuntimeError, match=r"expected 1.*got 2"):
        too_many.apply(leaf([1.0])).sum().backward()
    extra_none = _function(lambda ctx, a: a * 2.0, lambda ctx, g: (g * 2.0, None))
    x = leaf([1.0])
    extra_none.apply(x).sum().backward()  # extra Nones are allowed, as in PyTorch
    np.testing.assert_allclose(cpu(x.grad), [2.0])


def test_gradient_for_a_non_tensor_argument():
    bad = _function(lambda ctx, a, k: a * k, lambda ctx, g: (g, g))
    with pytest.raises(RuntimeError, match=r"position 1.*argument 1 is a float"):
        bad.apply(leaf([1.0]), 2.0).sum().backward()


def test_gradient_of_wrong_shape_dtype_or_type():
    wrong = _function(lambda ctx, a: a * 2.0, lambda ctx, g: g.sum())
    with pytest.raises(RuntimeError, match=r"shape \(\).*input has shape \(3,\)"):
        wrong.apply(leaf([1.0, 2.0, 3.0])).sum().backward()
    # A gradient that broadcasts over the input is summed back (PyTorch's rule), and one of
    # another float dtype is cast to the input's.
    wide = _function(lambda ctx, a: a * 2.0,
                     lambda ctx, g: (g * 2.0).expand(4, 3).to(mg.float32))
    x = leaf([1.0, 2.0, 3.0])
    wide.apply(x).sum().backward()
    assert x.grad.dtype == np.float64
    np.testing.assert_allclose(cpu(x.grad), [8.0, 8.0, 8.0])
    number = _function(lambda ctx, a: a * 2.0, lambda ctx, g: 2.0)
    with pytest.raises(TypeError, match="returned a float at position 0"):
        number.apply(leaf([1.0])).sum().backward()


@pytest.mark.parametrize("result, message", [
    (lambda x: 3, "returned a int"),
    (lambda x: np.ones(2), "returned a ndarray.*minigrad.tensor"),
    (lambda x: [x * 1.0, x * 2.0], "returned a list.*tuple"),
    (lambda x: (x * 1.0, np.ones(2)), "returned at position 1 of its tuple a ndarray"),
    (lambda x: (1, None), "returned a tuple without a Tensor"),
])
def test_forward_returning_a_non_tensor(result, message):
    bad = _function(lambda ctx, x: result(x), lambda ctx, g: g)
    with pytest.raises(TypeError, match=f"Bad.forward {message}"):
        bad.apply(leaf([1.0, 2.0]))


def test_tensor_keyword_argument_that_requires_grad_is_refused():
    with pytest.raises(TypeError, match="Scale.apply: keyword argument 'factor'"):
        Scale.apply(leaf([1.0]), factor=leaf([2.0]))
    x = leaf([1.0])
    Scale.apply(x, factor=mg.tensor([2.0], dtype=mg.float64)).sum().backward()  # a constant
    np.testing.assert_allclose(cpu(x.grad), [2.0])


def test_missing_backward_and_bad_save():
    no_backward = _function(lambda ctx, x: x * 2.0)
    y = no_backward.apply(leaf([1.0]))
    with pytest.raises(NotImplementedError, match="Bad: backward.*not defined"):
        y.sum().backward()

    def saves_a_number(ctx, x):
        ctx.save_for_backward(x, 3)
        return x * 1.0
    with pytest.raises(TypeError, match="save_for_backward.*argument 1 is a int"):
        _function(saves_a_number, lambda ctx, g: g).apply(leaf([1.0]))


# ---------------------------------------------------------------------------------------------
# The two styles side by side


def test_style_is_decided_once_per_class_and_array_functions_are_untouched():
    from minigrad.functions import elementwise as E

    class ArrayCube(Function):
        def forward(self, x):
            return x ** 3

        def backward(self, grad):
            (x,) = self.inputs
            return grad * 3 * x ** 2

    # minigrad's array Functions keep the base class's apply (the engine's hot path) ...
    for cls in (ArrayCube, E.Mul, E.Add, E.Tanh):
        assert cls.apply.__func__ is Function.apply.__func__
        assert not hasattr(cls, "_node_class")
    # ... and a PyTorch-style one gets its own, with its node class, at class creation.
    assert Cube.apply.__func__ is not Function.apply.__func__
    assert Cube._node_class.__name__ == "CubeBackward"
    x = leaf([2.0])
    y = ArrayCube.apply(Cube.apply(x))  # the two styles compose
    y.backward()
    np.testing.assert_allclose(cpu(x.grad), [9 * 2.0 ** 8])


def test_subclass_of_a_ctx_function_inherits_the_style():
    class CubePlusOne(Cube):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3 + 1.0

    x = leaf([2.0])
    y = CubePlusOne.apply(x)
    assert type(y.grad_fn).__name__ == "CubePlusOneBackward"
    y.backward()
    np.testing.assert_allclose(cpu(x.grad), [12.0])
