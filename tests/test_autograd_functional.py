"""minigrad.autograd.functional: jacobian, hessian, vjp, jvp, hvp, vhp against hand-derived
matrices and NumPy central differences (float64, hypothesis-drawn shapes), PyTorch's return
conventions, create_graph, strict, and the argument checks."""

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import backend
from minigrad.autograd.functional import hessian, hvp, jacobian, jvp, vhp, vjp


def cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def t64(values, requires_grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)


values = st.floats(-1.5, 1.5, allow_nan=False, width=64)
shapes = hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)


def arrays(shape=shapes):
    return hnp.arrays(np.float64, shape, elements=values)


# One smooth function written twice, in minigrad and in NumPy, for the finite differences:
# f(x) = tanh(x) * sum(exp(x) * x) + x², elementwise in x's shape.

def f_minigrad(x):
    return x.tanh() * (x.exp() * x).sum() + x * x


def f_numpy(x):
    return np.tanh(x) * (np.exp(x) * x).sum() + x * x


def scalar_minigrad(x):
    return (x.sin() * (x * x).sum()).sum() + (x.exp()).sum()


def scalar_numpy(x):
    return float((np.sin(x) * (x * x).sum()).sum() + np.exp(x).sum())


def numeric_jacobian(f, x, eps=1e-6):
    """Central differences: column j is (f(x + eps e_j) - f(x - eps e_j)) / (2 eps)."""
    out_shape = np.shape(f(x))
    jac = np.zeros(out_shape + x.shape)
    for j in np.ndindex(*x.shape):
        plus, minus = x.copy(), x.copy()
        plus[j] += eps
        minus[j] -= eps
        jac[(Ellipsis,) + j] = (f(plus) - f(minus)) / (2 * eps)
    return jac


def numeric_hessian(f, x, eps=1e-4):
    """Second central differences of the scalar f."""
    hess = np.zeros(x.shape + x.shape)
    for i in np.ndindex(*x.shape):
        for j in np.ndindex(*x.shape):
            total = 0.0
            for si, sj, sign in ((1, 1, 1), (1, -1, -1), (-1, 1, -1), (-1, -1, 1)):
                y = x.copy()
                y[i] += si * eps
                y[j] += sj * eps
                total += sign * f(y)
            hess[i + j] = total / (4 * eps * eps)
    return hess


# ---------------------------------------------------------------------------------------------
# Against hand-derived matrices


def test_jacobian_of_elementwise_square_is_diagonal():
    xv = np.array([1.0, -2.0, 3.0])
    np.testing.assert_allclose(cpu(jacobian(lambda x: x * x, t64(xv))), np.diag(2 * xv))


def test_jacobian_of_a_linear_map_is_its_matrix():
    a = np.arange(6.0).reshape(2, 3) - 2.0
    A = t64(a)
    np.testing.assert_allclose(cpu(jacobian(lambda x: A @ x, t64([0.5, 1.0, -1.0]))), a)


def test_jacobian_tuple_conventions():
    xv, yv = np.array([1.0, 2.0]), np.array([3.0, -1.0, 0.5])
    x, y = t64(xv), t64(yv)

    def two_outputs(x, y):
        return x * 3.0, x.sum() * y

    (j00, j01), (j10, j11) = jacobian(two_outputs, (x, y))
    assert j00.shape == (2, 2) and j01.shape == (2, 3) and j10.shape == (3, 2)
    np.testing.assert_allclose(cpu(j00), 3 * np.eye(2))
    np.testing.assert_array_equal(cpu(j01), np.zeros((2, 3)))  # independent: zeros
    np.testing.assert_allclose(cpu(j10), np.outer(yv, np.ones(2)))
    np.testing.assert_allclose(cpu(j11), xv.sum() * np.eye(3))
    # one input, a tuple of outputs: a tuple over outputs; a tuple of inputs, one output:
    # a tuple over inputs; plain tensors: a plain tensor
    over_outputs = jacobian(lambda x: (x * 2.0, x.sum()), x)
    assert isinstance(over_outputs, tuple) and [j.shape for j in over_outputs] == [(2, 2), (2,)]
    over_inputs = jacobian(lambda x, y: (x.sum() * y.sum()), (x, y))
    assert isinstance(over_inputs, tuple) and [j.shape for j in over_inputs] == [(2,), (3,)]
    np.testing.assert_allclose(cpu(over_inputs[0]), np.full(2, yv.sum()))
    assert isinstance(jacobian(lambda x: x.sum(), x), mg.Tensor)


def test_jacobian_shapes_of_matrices_and_scalars():
    m = t64(np.arange(6.0).reshape(2, 3))
    assert jacobian(lambda x: x.sum(dim=1), m).shape == (2, 2, 3)
    assert jacobian(lambda x: x * 2.0, t64(1.5)).shape == ()
    assert jacobian(lambda x: x[:0] * 1.0, t64([1.0, 2.0])).shape == (0, 2)


def test_hessians_by_hand():
    xv = np.array([1.0, -2.0, 0.5])
    np.testing.assert_allclose(cpu(hessian(lambda x: (x ** 3).sum(), t64(xv))), np.diag(6 * xv))
    a = np.array([[1.0, 2.0, 0.0], [-1.0, 3.0, 1.0], [0.5, 0.0, 2.0]])
    A = t64(a)
    quadratic = hessian(lambda x: (x * (A @ x)).sum(), t64(xv))  # xᵀAx: H = A + Aᵀ
    np.testing.assert_allclose(cpu(quadratic), a + a.T)
    av, bv = np.array([1.0, 2.0]), np.array([[3.0, -1.0]])
    (haa, hab), (hba, hbb) = hessian(lambda a, b: (a ** 2 * b.sum()).sum(), (t64(av), t64(bv)))
    np.testing.assert_allclose(cpu(haa), 2 * bv.sum() * np.eye(2))
    np.testing.assert_allclose(cpu(hab), np.broadcast_to((2 * av)[:, None, None], (2, 1, 2)))
    np.testing.assert_allclose(cpu(hba), np.transpose(cpu(hab), (1, 2, 0)))
    np.testing.assert_array_equal(cpu(hbb), np.zeros((1, 2, 1, 2)))


def test_vector_products_by_hand():
    xv, vv = np.array([1.0, 2.0, 3.0]), np.array([1.0, -1.0, 2.0])
    out, product = vjp(lambda x: x * x, t64(xv), t64(vv))
    np.testing.assert_allclose(cpu(out), xv ** 2)
    np.testing.assert_allclose(cpu(product), 2 * xv * vv)
    out, product = jvp(lambda x: x * x, t64(xv), t64(vv))
    np.testing.assert_allclose(cpu(product), 2 * xv * vv)
    for fn in (hvp, vhp):
        out, product = fn(lambda x: (x ** 3).sum(), t64(xv), t64(vv))
        assert out.shape == () and float(out.item()) == pytest.approx((xv ** 3).sum())
        np.testing.assert_allclose(cpu(product), 6 * xv * vv)


def test_v_may_be_omitted_only_for_one_element():
    _, g = vjp(lambda x: (x * x).sum(), t64([1.0, 2.0]))
    np.testing.assert_allclose(cpu(g), [2.0, 4.0])
    _, d = jvp(lambda x: x * x, t64(3.0))
    np.testing.assert_allclose(cpu(d), 6.0)
    with pytest.raises(RuntimeError, match="vjp: v can be omitted only"):
        vjp(lambda x: x * x, t64([1.0, 2.0]))
    with pytest.raises(RuntimeError, match="hvp: v can be omitted only"):
        hvp(lambda x: (x * x).sum(), t64([1.0, 2.0]))


# ---------------------------------------------------------------------------------------------
# Against NumPy central differences, on drawn shapes


@given(arrays())
def test_jacobian_matches_central_differences(x):
    got = jacobian(f_minigrad, t64(x))
    assert got.shape == x.shape + x.shape and got.dtype == np.float64
    np.testing.assert_allclose(cpu(got), numeric_jacobian(f_numpy, x), rtol=1e-6, atol=1e-7)


@given(arrays(hnp.array_shapes(min_dims=0, max_dims=2, max_side=2)))
def test_hessian_matches_second_differences(x):
    got = hessian(scalar_minigrad, t64(x))
    assert got.shape == x.shape + x.shape
    np.testing.assert_allclose(cpu(got), numeric_hessian(scalar_numpy, x), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cpu(got), np.swapaxes(cpu(got).reshape(x.size, x.size), 0, 1)
                               .reshape(got.shape), atol=1e-12)  # symmetric


@given(arrays(), st.data())
def test_vector_products_agree_with_the_matrices(x, data):
    v_out = data.draw(arrays(st.just(x.shape)))
    v_in = data.draw(arrays(st.just(x.shape)))
    J = numeric_jacobian(f_numpy, x).reshape(x.size, x.size)
    _, left = vjp(f_minigrad, t64(x), t64(v_out))
    np.testing.assert_allclose(cpu(left).reshape(-1), v_out.reshape(-1) @ J, rtol=1e-6,
                               atol=1e-7)
    _, right = jvp(f_minigrad, t64(x), t64(v_in))
    np.testing.assert_allclose(cpu(right).reshape(-1), J @ v_in.reshape(-1), rtol=1e-6,
                               atol=1e-7)
    H = cpu(hessian(scalar_minigrad, t64(x))).reshape(x.size, x.size)
    _, hv = hvp(scalar_minigrad, t64(x), t64(v_in))
    _, vh = vhp(scalar_minigrad, t64(x), t64(v_in))
    np.testing.assert_allclose(cpu(hv).reshape(-1), H @ v_in.reshape(-1), rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(cpu(vh).reshape(-1), v_in.reshape(-1) @ H, rtol=1e-10,
                               atol=1e-12)


# ---------------------------------------------------------------------------------------------
# create_graph, detaching, closures, dtypes


def test_results_are_detached_without_create_graph():
    x = t64([1.0, 2.0], requires_grad=True)
    assert not jacobian(lambda t: t * t, x).requires_grad
    out, product = vjp(lambda t: t * t, x, t64([1.0, 1.0]))
    assert not out.requires_grad and not product.requires_grad
    assert not hessian(lambda t: (t ** 3).sum(), x).requires_grad
    assert x.grad is None  # nothing accumulated into the caller's tensors


def test_create_graph_makes_results_differentiable():
    xv = np.array([0.5, -1.0, 2.0])
    x = t64(xv, requires_grad=True)
    J = jacobian(lambda t: t ** 3, x, create_graph=True)
    assert J.requires_grad
    # trace J = Σ 3x², so its gradient is 6x
    (J * t64(np.eye(3))).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), 6 * xv)

    x = t64(xv, requires_grad=True)
    _, product = vhp(lambda t: (t ** 4).sum(), x, t64([1.0, 1.0, 1.0]), create_graph=True)
    product.sum().backward()  # Σ 12x² → 24x
    np.testing.assert_allclose(cpu(x.grad), 24 * xv)
    assert mg.gradcheck(lambda t: jvp(lambda s: s.sin() * s, t, t64([1.0, 2.0, -1.0]),
                                      create_graph=True)[1], [t64(xv, requires_grad=True)])
    assert mg.gradcheck(lambda t: hvp(scalar_minigrad, t, t64([1.0, 0.5, -1.0]),
                                      create_graph=True)[1], [t64(xv, requires_grad=True)])


def test_differentiates_against_the_argument_not_a_closure():
    x = t64([2.0, 3.0])
    np.testing.assert_allclose(cpu(jacobian(lambda t: t * x, x)), np.diag([2.0, 3.0]))


def test_float32_stays_float32():
    x = mg.tensor([1.0, 2.0])
    assert jacobian(lambda t: t * t, x).dtype == np.float32
    assert hessian(lambda t: (t ** 3).sum(), x).dtype == np.float32
    assert vjp(lambda t: t * t, x, mg.ones(2))[1].dtype == np.float32


def test_on_device(device):
    x = mg.tensor(np.array([1.0, 2.0]), device=device)
    J = jacobian(lambda t: t * t, x)
    assert J.device == x.device
    np.testing.assert_allclose(cpu(J), np.diag([2.0, 4.0]))


# ---------------------------------------------------------------------------------------------
# strict, vectorize, strategy, argument checks


def test_independent_input_gives_zeros_or_a_strict_error():
    x, y = t64([1.0, 2.0]), t64([3.0])
    _, (_, gy) = vjp(lambda a, b: a * 2.0, (x, y), t64([1.0, 1.0]))
    np.testing.assert_array_equal(cpu(gy), [0.0])
    with pytest.raises(RuntimeError, match="vjp: .*entry 1 .*strict"):
        vjp(lambda a, b: a * 2.0, (x, y), t64([1.0, 1.0]), strict=True)
    with pytest.raises(RuntimeError, match="jacobian: output 0 .*independent of input 1"):
        jacobian(lambda a, b: a * 2.0, (x, y), strict=True)
    with pytest.raises(RuntimeError, match="output 0 of the function does not require grad"):
        jacobian(lambda a: t64([1.0]), x, strict=True)
    np.testing.assert_array_equal(cpu(jacobian(lambda a: t64([1.0]), x)), np.zeros((1, 2)))


def test_strict_hessian_of_a_linear_function_raises():
    x = t64([1.0, 2.0])
    np.testing.assert_array_equal(cpu(hessian(lambda a: (a * 3.0).sum(), x)), np.zeros((2, 2)))
    with pytest.raises(RuntimeError, match="hessian: the gradient .* linear"):
        hessian(lambda a: (a * 3.0).sum(), x, strict=True)
    with pytest.raises(RuntimeError, match="vhp: the gradient .* linear"):
        vhp(lambda a: (a * 3.0).sum(), x, t64([1.0, 1.0]), strict=True)


def test_vectorize_and_strategy():
    x = t64([1.0, -1.0])
    np.testing.assert_array_equal(cpu(jacobian(f_minigrad, x, vectorize=True)),
                                  cpu(jacobian(f_minigrad, x)))
    np.testing.assert_array_equal(cpu(hessian(scalar_minigrad, x, vectorize=True)),
                                  cpu(hessian(scalar_minigrad, x)))
    with pytest.raises(RuntimeError, match="strict=True and vectorize=True"):
        jacobian(f_minigrad, x, strict=True, vectorize=True)
    with pytest.raises(NotImplementedError, match="jacobian: strategy='forward-mode'"):
        jacobian(f_minigrad, x, strategy="forward-mode")
    with pytest.raises(NotImplementedError, match="outer_jacobian_strategy"):
        hessian(scalar_minigrad, x, outer_jacobian_strategy="forward-mode")
    with pytest.raises(ValueError, match="backward"):
        jacobian(f_minigrad, x, strategy="backward")


def test_argument_checks():
    x = t64([1.0, 2.0])
    with pytest.raises(TypeError, match="jacobian: inputs must be a Tensor .* a list"):
        jacobian(lambda t: t, [[1.0, 2.0]])
    with pytest.raises(TypeError, match="vjp: the function's outputs .* a float"):
        vjp(lambda t: 1.0, x)
    with pytest.raises(TypeError, match="jacobian: input 0 is int64"):
        jacobian(lambda t: t, mg.tensor([1, 2]))
    with pytest.raises(RuntimeError, match=r"vjp: v has shape \(3,\), expected \(2,\)"):
        vjp(lambda t: t * 2.0, x, t64([1.0, 2.0, 3.0]))
    with pytest.raises(RuntimeError, match="jvp: v has 1 Tensors, expected 2"):
        jvp(lambda a, b: a * b, (x, x), (x,))
    with pytest.raises(RuntimeError, match="hessian: the function must return a Tensor with a "
                                           r"single element, got shape \(2,\)"):
        hessian(lambda t: t * t, x)


# ---------------------------------------------------------------------------------------------
# PyTorch, when installed, and the import budget


def test_import_minigrad_does_not_import_functional():
    # autograd.function (PyTorch's ctx protocol) registers itself with the engine at import
    code = ("import sys, minigrad, minigrad.autograd as a; "
            "print(sorted(m for m in sys.modules if m.startswith('minigrad.autograd')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "['minigrad.autograd', 'minigrad.autograd.function']"
    code = "import minigrad; print(minigrad.autograd.functional.hessian.__name__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "hessian"
