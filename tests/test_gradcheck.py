"""The numerical gradient checks themselves: they pass correct backward passes and catch wrong
ones, including the ones an all-ones upstream gradient cannot see."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend
from minigrad.autograd import Function
from minigrad.gradcheck import GradcheckError, check_gradients


def cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def f64(values, device="cpu", requires_grad=True):
    return mg.tensor(np.asarray(values, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


_FAILURE = re.compile(r"input (\d+) \(shape \(([\d, ]*)\)\), element \(([\d, ]*)\): "
                      r"analytic ([^,\s]+), numeric ([^,\s]+)")


def _parse(message):
    """(input index, element, analytic, numeric) from a gradcheck failure message."""
    m = _FAILURE.search(message)
    assert m, f"the message does not name input, element, analytic and numeric: {message}"
    element = tuple(int(v) for v in m.group(3).split(",") if v.strip())
    return int(m.group(1)), element, float(m.group(4)), float(m.group(5))


# ---------------------------------------------------------------------------------------------
# Deliberately wrong Functions


class DoubledSquare(Function):
    """x², with a backward twice too large."""

    def forward(self, x):
        return x * x

    def backward(self, grad):
        (x,) = self.inputs
        return grad * 4.0 * x


class RightThenWrong(Function):
    """a * b, right for a, wrong for b (off by 10 % of a)."""

    def forward(self, a, b):
        return a * b

    def backward(self, grad):
        a, b = self.inputs
        return grad * b, grad * a * 1.1


class ZeroSoftmax(Function):
    """softmax along the last axis, with a backward that returns zeros."""

    def forward(self, x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def backward(self, grad):
        return grad * 0.0


class Cube(Function):
    """x³ with a backward in Tensor ops: its double backward is right."""

    def forward(self, x):
        return x ** 3

    def backward(self, grad):
        (x,) = self.inputs
        return grad * 3.0 * x ** 2


class ConstantCube(Function):
    """x³ whose backward uses x's raw array, a constant to the graph: the first derivative is
    right, the second derivative misses the 6x term."""

    def forward(self, x):
        return x ** 3

    def backward(self, grad):
        (x,) = self.inputs
        return grad * (3.0 * x.data ** 2)


class NanGrad(Function):
    def forward(self, x):
        return x * 2.0

    def backward(self, grad):
        return grad * float("nan")


class SlightlyOff(Function):
    """2x with a backward off by 1e-3 in absolute terms: above atol = 1e-5."""

    def forward(self, x):
        return x * 2.0

    def backward(self, grad):
        return grad * 2.0 + 1e-3


# ---------------------------------------------------------------------------------------------
# Passing


def test_gradcheck_passes_correct_ops(device):
    a = f64([[0.5, -1.0, 2.0], [1.5, 0.3, -0.7]], device)
    b = f64([1.2, -0.4, 0.9], device)
    assert mg.gradcheck(lambda a, b: ((a * b).sin() + a / (b * b + 1.0)).exp(), [a, b])
    assert mg.gradcheck(lambda a, b: (a @ b).tanh(), [a, b])
    assert mg.gradcheck(lambda a: a.softmax(dim=1), [a])
    assert mg.gradcheck(lambda a: a.log_softmax(dim=0), [a])
    assert mg.gradcheck(lambda a: a.sum(), a)  # a single input, not in a list


def test_gradcheck_with_several_outputs_and_a_constant_input():
    a = f64([0.5, -1.0, 2.0])
    c = f64([3.0, 1.0, -2.0], requires_grad=False)
    assert mg.gradcheck(lambda a, c: (a * c, (a * a).sum(), a.exp()), [a, c])


def test_gradcheck_of_a_custom_function_with_a_right_backward():
    assert mg.gradcheck(Cube.apply, [f64([0.5, -1.5, 2.0])])


def test_gradcheck_leaves_the_inputs_unchanged():
    values = np.array([0.1, 0.2, 0.3])
    x = f64(values)
    mg.gradcheck(lambda x: x.exp(), [x])
    np.testing.assert_array_equal(x.data, values)
    assert x.grad is None


def test_check_gradients_reports_small_errors_when_passing():
    result = check_gradients(lambda x: x.sin(), [f64([0.3, 1.2])])
    assert result.passed
    assert 0.0 <= result.max_abs_error < 1e-8


# ---------------------------------------------------------------------------------------------
# Failing, with the worst element named


def test_gradcheck_catches_a_backward_off_by_a_factor():
    xv = np.array([0.5, -1.0, 3.0])
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(DoubledSquare.apply, [f64(xv)])
    index, element, analytic, numeric = _parse(str(info.value))
    assert index == 0
    assert len(element) == 1 and 0 <= element[0] < 3
    # Backward says 4 x v, the truth is 2 x v: the reported pair must show it.
    np.testing.assert_allclose(analytic, 2 * numeric, rtol=1e-5)
    assert abs(numeric) > 1e-3


def test_the_failure_message_names_the_right_input():
    a, b = f64([[1.0, 2.0], [-0.5, 1.5]]), f64([[3.0, -1.0], [0.5, 2.0]])
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(RightThenWrong.apply, [a, b])
    index, element, analytic, numeric = _parse(str(info.value))
    assert index == 1
    assert len(element) == 2
    # d<a*b, v>/db = v * a at that element; the wrong backward reports 1.1 times that.
    np.testing.assert_allclose(analytic, 1.1 * numeric, rtol=1e-5)
    assert "shape (2, 2)" in str(info.value)


def test_the_failure_message_gives_the_worst_element():
    # Only one element is wrong: the message must point at it.
    class OneBadElement(Function):
        def forward(self, x):
            return x * 1.0

        def backward(self, grad):
            bump = np.zeros(grad.shape)
            bump[1, 2] = 5.0
            return grad + mg.tensor(bump)

    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(OneBadElement.apply, [f64(np.ones((3, 4)))])
    index, element, analytic, numeric = _parse(str(info.value))
    assert (index, element) == (0, (1, 2))
    np.testing.assert_allclose(analytic - numeric, 5.0, rtol=1e-6)


def test_gradcheck_catches_a_softmax_whose_backward_returns_zeros():
    x = f64([[0.2, -1.0, 0.7], [1.5, 0.1, -0.3]])
    with pytest.raises(GradcheckError) as info:
        mg.gradcheck(ZeroSoftmax.apply, [x])
    _, _, analytic, numeric = _parse(str(info.value))
    assert analytic == 0.0 and abs(numeric) > 1e-3


def test_an_all_ones_upstream_check_is_blind_to_the_zero_softmax():
    # With upstream gradient 1, the check differentiates sum(softmax(x)) = 1 per row, whose
    # gradient is zero: the broken backward's zeros agree with it. This is why gradcheck
    # contracts the output with a random vector instead.
    x = f64([[0.2, -1.0, 0.7], [1.5, 0.1, -0.3]])
    blind = lambda x: ZeroSoftmax.apply(x).sum()  # noqa: E731
    assert mg.gradcheck(blind, [x])  # passes: the scalar check cannot see the bug
    x2 = f64(x.data)
    ZeroSoftmax.apply(x2).backward(mg.ones(2, 3, dtype=mg.float64))
    real = f64(x.data)
    real.softmax(dim=1).backward(mg.ones(2, 3, dtype=mg.float64))
    np.testing.assert_allclose(cpu(real.grad), 0.0, atol=1e-15)  # the true gradient is 0 too
    np.testing.assert_array_equal(cpu(x2.grad), 0.0)
    assert not mg.gradcheck(ZeroSoftmax.apply, [f64(x.data)], raise_exception=False)


def test_gradcheck_catches_nan_gradients():
    with pytest.raises(GradcheckError):
        mg.gradcheck(NanGrad.apply, [f64([1.0, 2.0])])


def test_gradcheck_catches_an_error_just_above_the_tolerance():
    with pytest.raises(GradcheckError):
        mg.gradcheck(SlightlyOff.apply, [f64([1.0, 2.0])])
    assert mg.gradcheck(SlightlyOff.apply, [f64([1.0, 2.0])], atol=1e-2)


def test_raise_exception_false_returns_false_and_check_gradients_explains():
    x = f64([0.5, 2.0])
    assert mg.gradcheck(DoubledSquare.apply, [x], raise_exception=False) is False
    result = check_gradients(DoubledSquare.apply, [x])
    assert not result.passed
    assert result.max_abs_error > 0.1
    _parse(result.message)


def test_gradcheck_error_is_an_assertion_error():
    assert issubclass(GradcheckError, AssertionError)


# ---------------------------------------------------------------------------------------------
# Second order


def test_gradgradcheck_passes_a_correct_double_backward(device):
    x = f64([0.5, -1.5, 2.0], device)
    assert mg.gradgradcheck(Cube.apply, [x])
    a, b = f64([[0.3, -0.2], [1.1, 0.4]], device), f64([[0.5], [-1.0]], device)
    assert mg.gradgradcheck(lambda a, b: (a @ b).tanh(), [a, b])
    assert mg.gradgradcheck(lambda a: a.softmax(dim=0), [a])


def test_gradgradcheck_catches_a_backward_that_uses_a_constant():
    xv = [0.5, -1.5, 2.0]
    assert mg.gradcheck(ConstantCube.apply, [f64(xv)])  # first order: right
    with pytest.raises(GradcheckError) as info:
        mg.gradgradcheck(ConstantCube.apply, [f64(xv)])
    index, _, analytic, numeric = _parse(str(info.value))
    assert index == 0  # the wrong derivative is with respect to x (input 0), not v
    assert analytic == 0.0 and abs(numeric) > 1e-3  # the 6 x v g term is missing


# ---------------------------------------------------------------------------------------------
# Bad use


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_non_float64_inputs_are_refused(dtype):
    x = mg.tensor(np.array([1.0, 2.0], dtype=dtype), requires_grad=True)
    with pytest.raises(ValueError, match="float64") as info:
        mg.gradcheck(lambda x: x * 2.0, [x])
    assert "input 0" in str(info.value) and str(np.dtype(dtype)) in str(info.value)
    with pytest.raises(ValueError, match="float64"):
        mg.gradgradcheck(lambda x: x * 2.0, [x])


def test_the_refused_input_is_named_by_its_index():
    a = f64([1.0])
    b = mg.tensor([1.0], requires_grad=True)  # float32
    with pytest.raises(ValueError, match="input 1"):
        mg.gradcheck(lambda a, b: a * b, [a, b])


def test_no_input_requiring_grad_is_refused():
    with pytest.raises(ValueError, match="requires grad"):
        mg.gradcheck(lambda x: x * 2.0, [f64([1.0], requires_grad=False)])
