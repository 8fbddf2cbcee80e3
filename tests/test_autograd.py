"""The engine's semantics, beyond single ops: accumulation, leaves and retain_grad, freeing and
retaining the graph, higher-order gradients, grad mode, detach, deep chains, graph release,
diamonds, ``autograd.grad``, in-place safety, gradient aliasing and custom Functions."""

import gc
import threading
import weakref

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import autograd, backend
from minigrad.autograd import Function


def cpu(t):
    """A Tensor's (or array's) values as a NumPy array on the cpu."""
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


def leaf(values, device="cpu", dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), device=device, requires_grad=True)


# ---------------------------------------------------------------------------------------------
# Accumulation, leaves, retain_grad


def test_gradients_accumulate_across_backward_calls(device):
    x = leaf([1.0, -2.0, 3.0], device)
    (x * x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [2.0, -4.0, 6.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [4.0, -8.0, 12.0])
    (x * 10.0).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [14.0, 2.0, 22.0])


def test_accumulation_does_not_change_a_gradient_handed_out_earlier():
    # The .grad tensor is updated in place (as in PyTorch), but a detached copy taken by the
    # user stays what it was.
    x = leaf([1.0, 2.0])
    (x * 3.0).sum().backward()
    snapshot = x.grad.clone()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(cpu(snapshot), [3.0, 3.0])
    np.testing.assert_allclose(cpu(x.grad), [6.0, 6.0])


def test_only_leaves_keep_grad(device):
    x = leaf([1.0, 2.0], device)
    c = mg.tensor([5.0, 7.0], device=device)  # a leaf that does not require grad
    y = x * c
    z = y.exp()
    z.sum().backward()
    assert x.is_leaf and c.is_leaf and not y.is_leaf and not z.is_leaf
    assert y.grad is None and z.grad is None
    assert c.grad is None
    np.testing.assert_allclose(cpu(x.grad), [5.0 * np.exp(5.0), 7.0 * np.exp(14.0)], rtol=1e-12)


def test_retain_grad_keeps_a_non_leaf_gradient(device):
    x = leaf([1.0, 2.0, 3.0], device)
    y = x * 2.0
    y.retain_grad()
    assert y.retains_grad
    z = y * y
    z.retain_grad()
    z.sum().backward()
    np.testing.assert_allclose(cpu(z.grad), [1.0, 1.0, 1.0])
    np.testing.assert_allclose(cpu(y.grad), 2 * cpu(y))
    np.testing.assert_allclose(cpu(x.grad), 4 * cpu(y))
    if device == "cpu":
        assert not np.shares_memory(y.grad.data, x.grad.data)
        assert not np.shares_memory(z.grad.data, y.grad.data)


def test_retain_grad_on_the_root_gives_the_upstream_gradient_as_a_copy():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    y.retain_grad()
    g = np.array([0.5, -1.5])
    y.backward(g)
    np.testing.assert_array_equal(cpu(y.grad), g)
    assert not np.shares_memory(y.grad.data, g)
    assert not np.shares_memory(y.grad.data, x.grad.data)


def test_retain_grad_on_a_tensor_that_does_not_require_grad_raises():
    with pytest.raises(RuntimeError, match="requires? grad"):
        mg.tensor([1.0]).retain_grad()


def test_a_second_backward_through_a_freed_graph_raises_a_clear_error(device):
    x = leaf([1.0, 2.0], device)
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time") as info:
        y.backward()
    assert "retain_graph" in str(info.value)


def test_a_backward_into_a_part_freed_by_an_earlier_backward_raises():
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = y * 2.0
    y.sum().backward()  # frees Exp
    with pytest.raises(RuntimeError, match="second time"):
        z.sum().backward()


def test_retain_graph_allows_a_second_backward(device):
    x = leaf([1.0, 2.0], device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = cpu(x.grad).copy()
    y.backward(retain_graph=True)
    np.testing.assert_allclose(cpu(x.grad), 2 * first)
    y.backward()
    np.testing.assert_allclose(cpu(x.grad), 3 * first)
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_backward_of_a_non_scalar_with_a_gradient_argument(device):
    x = leaf([[1.0, 2.0], [3.0, 4.0]], device)
    y = x * x
    g = np.array([[1.0, 0.5], [-1.0, 2.0]])
    y.backward(g)
    np.testing.assert_allclose(cpu(x.grad), 2 * cpu(x) * g)
    x2 = leaf([1.0, 2.0], device)
    (x2 * 3.0).backward(mg.tensor([1.0, -1.0], dtype=mg.float64, device=device))
    np.testing.assert_allclose(cpu(x2.grad), [3.0, -3.0])


def test_backward_on_a_leaf_fills_its_own_grad():
    x = leaf(2.0)
    x.backward()
    assert x.grad.item() == 1.0


def test_the_upstream_gradient_is_cast_to_the_output_dtype():
    # PyTorch casts a root gradient to the output's dtype: a float32 leaf gets a float32 .grad
    # even when the caller hands a float64 gradient (decision 5: float32 in, float32 out).
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = x * 2.0
    y.backward(mg.tensor([1.0, 1.0, 1.0], dtype=mg.float64))
    assert x.grad.dtype == mg.float32
    x2 = mg.tensor([1.0, 2.0], requires_grad=True)
    (x2 * 2.0).backward(np.array([1.0, 1.0]))  # a float64 NumPy array
    assert x2.grad.dtype == mg.float32


# ---------------------------------------------------------------------------------------------
# Higher-order gradients


_A = np.array([[1.0, 2.0, -1.0], [0.5, -3.0, 0.0], [2.0, 1.0, 4.0]])


def _f_and_hessian(xv):
    """f(x) = Σ x³ + xᵀ A x + x0 x1 x2 and its analytic Hessian."""
    def f(x):
        a = mg.tensor(_A)
        return (x ** 3).sum() + x @ (a @ x) + x[0] * x[1] * x[2]

    h = np.diag(6 * xv) + _A + _A.T
    h = h + np.array([[0, xv[2], xv[1]], [xv[2], 0, xv[0]], [xv[1], xv[0], 0]])
    return f, h


def test_hessian_vector_product_matches_the_analytic_hessian():
    xv = np.array([0.3, -1.2, 2.0])
    v = np.array([1.0, -2.0, 0.5])
    f, hessian = _f_and_hessian(xv)

    # Route 1: autograd.grad twice.
    x = leaf(xv)
    (g,) = autograd.grad(f(x), [x], create_graph=True)
    assert g.requires_grad
    np.testing.assert_allclose(cpu(g), 3 * xv ** 2 + (_A + _A.T) @ xv
                               + [xv[1] * xv[2], xv[0] * xv[2], xv[0] * xv[1]], rtol=1e-12)
    (hv,) = autograd.grad((g * mg.tensor(v)).sum(), [x])
    np.testing.assert_allclose(cpu(hv), hessian @ v, rtol=1e-12)

    # Route 2: backward(create_graph=True), then backward through x.grad.
    x = leaf(xv)
    f(x).backward(create_graph=True)
    assert x.grad.requires_grad
    first = x.grad
    x.grad = None
    (first * mg.tensor(v)).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), hessian @ v, rtol=1e-12)


def test_full_hessian_row_by_row():
    xv = np.array([-0.7, 0.4, 1.1])
    f, hessian = _f_and_hessian(xv)
    x = leaf(xv)
    (g,) = autograd.grad(f(x), [x], create_graph=True)
    rows = [cpu(autograd.grad(g[i], [x], retain_graph=True)[0]) for i in range(3)]
    np.testing.assert_allclose(np.stack(rows), hessian, rtol=1e-12)


def test_third_derivative_through_three_create_graph_passes():
    xv = np.array([0.5, -1.0, 2.0])
    x = leaf(xv)
    y = (x ** 4).sum()
    (d1,) = autograd.grad(y, [x], create_graph=True)
    (d2,) = autograd.grad(d1.sum(), [x], create_graph=True)
    (d3,) = autograd.grad(d2.sum(), [x])
    np.testing.assert_allclose(cpu(d1), 4 * xv ** 3)
    np.testing.assert_allclose(cpu(d2), 12 * xv ** 2)
    np.testing.assert_allclose(cpu(d3), 24 * xv)


def _gradient_penalty(x, w):
    """Σ_i (‖∂D/∂x_i‖ - 1)² with D(x) = Σ tanh(x w): the WGAN-GP penalty of a tiny critic."""
    with mg.enable_grad():
        d = (x @ w).tanh().sum()
        (gx,) = autograd.grad(d, [x], create_graph=True)
        norms = (gx * gx).sum(dim=1).sqrt()
        return ((norms - 1.0) ** 2).sum()


def test_gradient_penalty_gradient_matches_central_differences():
    rng = np.random.default_rng(3)
    xv, wv = rng.standard_normal((4, 3)), rng.standard_normal(3)
    x, w = leaf(xv), leaf(wv)
    _gradient_penalty(x, w).backward()
    assert x.grad is not None  # the penalty depends on x too

    def value(wv_):
        return _gradient_penalty(leaf(xv), mg.tensor(wv_)).item()

    eps = 1e-6
    numeric = np.array([(value(wv + eps * e) - value(wv - eps * e)) / (2 * eps)
                        for e in np.eye(3)])
    np.testing.assert_allclose(cpu(w.grad), numeric, rtol=1e-6, atol=1e-8)


def test_create_graph_gradient_of_exp_uses_the_output(device):
    # Exp's backward is written with self.output(): its second derivative must be exp too.
    x = leaf([0.0, 1.0], device)
    (g,) = autograd.grad(x.exp().sum(), [x], create_graph=True)
    (gg,) = autograd.grad(g.sum(), [x])
    np.testing.assert_allclose(cpu(gg), np.exp([0.0, 1.0]))


# ---------------------------------------------------------------------------------------------
# Grad mode


def test_nothing_is_recorded_under_no_grad(device):
    x = leaf([1.0, 2.0], device)
    with mg.no_grad():
        assert not mg.is_grad_enabled()
        y = (x * 2.0).exp().sum()
    assert mg.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.backward()


def test_backward_runs_under_no_grad():
    # As in PyTorch: no_grad stops recording new ops; it does not stop a backward pass.
    x = leaf([1.0, 2.0])
    y = (x * x).sum()
    with mg.no_grad():
        y.backward()
    np.testing.assert_allclose(cpu(x.grad), [2.0, 4.0])


def test_enable_grad_inside_no_grad_records_again():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        with mg.enable_grad():
            assert mg.is_grad_enabled()
            y = (x * x).sum()
        assert not mg.is_grad_enabled()
        z = x * 3.0
    assert y.requires_grad and not z.requires_grad
    y.backward()
    np.testing.assert_allclose(cpu(x.grad), [2.0, 4.0])


def test_set_grad_enabled_as_a_context_manager():
    x = leaf([1.0])
    with mg.set_grad_enabled(False):
        assert not (x * 2.0).requires_grad
        with mg.set_grad_enabled(True):
            assert (x * 2.0).requires_grad
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_grad_mode_is_restored_after_an_exception():
    with pytest.raises(KeyError):
        with mg.no_grad():
            raise KeyError("boom")
    assert mg.is_grad_enabled()


@pytest.mark.parametrize("make, inside", [
    (lambda: mg.no_grad(), False),
    (lambda: mg.enable_grad(), True),
    (lambda: mg.set_grad_enabled(False), False),
    (lambda: mg.set_grad_enabled(True), True),
], ids=["no_grad", "enable_grad", "set_grad_enabled(False)", "set_grad_enabled(True)"])
def test_grad_mode_objects_work_as_decorators(make, inside):
    x = leaf([1.0])

    @make()
    def step():
        """doc"""
        return mg.is_grad_enabled(), x * 2.0

    assert step.__name__ == "step" and step.__doc__ == "doc"
    for outer in (True, False):
        with mg.set_grad_enabled(outer):
            enabled, y = step()
            assert enabled is inside
            assert y.requires_grad is inside
            assert mg.is_grad_enabled() is outer


def test_set_grad_enabled_called_as_a_function_sets_the_mode():
    # PyTorch: "set_grad_enabled ... can be used as a context-manager or as a function".
    try:
        mg.set_grad_enabled(False)
        assert not mg.is_grad_enabled()
        mg.set_grad_enabled(True)
        assert mg.is_grad_enabled()
    finally:
        mg.set_grad_enabled(True)  # never leak a disabled mode into other tests


def test_grad_mode_is_per_thread():
    seen = []
    with mg.no_grad():
        worker = threading.Thread(target=lambda: seen.append(mg.is_grad_enabled()))
        worker.start()
        worker.join()
        assert not mg.is_grad_enabled()
    assert seen == [True]


# ---------------------------------------------------------------------------------------------
# detach


def test_detach_shares_data_and_cuts_the_graph(device):
    x = leaf([1.0, 2.0, 3.0], device)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert d.data is x.data or (device == "cpu" and np.shares_memory(d.data, x.data))
    # Only the non-detached path contributes: d(x * const)/dx = const.
    (x * d).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [1.0, 2.0, 3.0])
    y = x * 2.0
    yd = y.detach()
    assert yd.grad_fn is None and y.grad_fn is not None


# ---------------------------------------------------------------------------------------------
# Deep graphs and graph release


def test_a_100000_op_chain_runs_forward_and_backward_without_recursion():
    x = mg.tensor(0.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y + 1.0
    assert y.item() == 100_000.0
    y.backward()
    assert x.grad.item() == 1.0
    del y  # the released chain is gone; deleting the root must not recurse either


def test_a_deep_retained_chain_can_be_deleted():
    x = mg.tensor(1.0, requires_grad=True)
    y = x
    for _ in range(50_000):
        y = -y
    y.backward(retain_graph=True)
    assert x.grad.item() == 1.0
    del y  # deallocating 50,000 linked Functions and Tensors must not overflow the C stack


def _graph_refs():
    """Build x -> exp -> sin -> *2 -> sum and return (x, loss, weak refs to the interior)."""
    x = mg.tensor([0.5, 1.5], dtype=mg.float64, requires_grad=True)
    a = x.exp()
    b = a.sin()
    c = b * 2.0
    loss = c.sum()
    refs = [weakref.ref(t) for t in (a, b, c)]
    refs += [weakref.ref(t.grad_fn) for t in (a, b, c)]
    return x, loss, refs


@pytest.fixture
def no_gc():
    """Garbage collection off: what is freed must be freed by reference counting alone."""
    was = gc.isenabled()
    gc.disable()
    yield
    if was:
        gc.enable()


def test_the_graph_is_released_after_backward(no_gc):
    x, loss, refs = _graph_refs()
    assert all(r() is not None for r in refs)  # the root keeps the graph alive
    loss.backward()
    assert [r() for r in refs] == [None] * len(refs)
    assert x.grad is not None


def test_the_graph_is_kept_with_retain_graph_and_freed_with_its_root(no_gc):
    x, loss, refs = _graph_refs()
    loss.backward(retain_graph=True)
    assert all(r() is not None for r in refs)
    loss.backward()  # the retained graph still works
    assert [r() for r in refs] == [None] * len(refs)


def test_a_graph_without_backward_is_freed_with_its_root(no_gc):
    x, loss, refs = _graph_refs()
    del loss
    assert [r() for r in refs] == [None] * len(refs)


def test_autograd_grad_releases_the_graph_too(no_gc):
    x, loss, refs = _graph_refs()
    autograd.grad(loss, [x])
    assert [r() for r in refs] == [None] * len(refs)


# ---------------------------------------------------------------------------------------------
# Diamonds and reuse


def test_diamond_graph_sums_the_gradients(device):
    xv = np.array([1.0, -2.0, 0.5])
    x = leaf(xv, device)
    a = x * 2.0
    b = x * 3.0
    (a * b + x).sum().backward()  # 6x² + x
    np.testing.assert_allclose(cpu(x.grad), 12 * xv + 1)


def test_diamond_with_branches_of_different_lengths():
    # y feeds a long branch and a short one: its gradient must be complete before Exp runs.
    xv = np.array([0.2, -0.4])
    x = leaf(xv)
    y = x.exp()
    z = y
    for _ in range(10):
        z = z * 1.5
    (z + y).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), (1.5 ** 10 + 1) * np.exp(xv), rtol=1e-12)


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10**6), st.integers(0, 10**6)),
                min_size=1, max_size=25),
       st.integers(0, 10**6))
def test_random_graphs_match_the_numerical_gradient(steps, pick_root):
    # Each step combines two earlier tensors (any of them, so a tensor feeds several later ops
    # and branches of different lengths meet): every Function must run once, after all its
    # consumers, whatever the graph's shape.
    ops = [lambda a, b: a + b, lambda a, b: a * b, lambda a, b: (a - b).tanh(),
           lambda a, b: a.sigmoid() * b]

    def build(x, y):
        pool = [x, y]
        for op, i, j in steps:
            pool.append(ops[op](pool[i % len(pool)], pool[j % len(pool)]))
        return pool[-1] + pool[len(pool) // 2 + pick_root % (len(pool) - len(pool) // 2)]

    rng = np.random.default_rng(pick_root)
    x, y = (leaf(rng.uniform(-1, 1, 3)) for _ in range(2))
    assert mg.gradcheck(build, (x, y))


def test_a_tensor_used_several_times_in_one_op_and_across_ops():
    xv = np.array([1.0, 2.0, -3.0])
    x = leaf(xv)
    (x * x * x + x + x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), 3 * xv ** 2 + 2)


def test_two_roots_sharing_a_subgraph_through_autograd_grad():
    xv = np.array([1.0, 2.0])
    x = leaf(xv)
    s = x * x
    y1, y2 = s.sum(), (s * 3.0).sum()
    (g,) = autograd.grad([y1, y2], [x])
    np.testing.assert_allclose(cpu(g), 8 * xv)


# ---------------------------------------------------------------------------------------------
# autograd.grad


def test_autograd_grad_returns_gradients_without_touching_grad(device):
    x = leaf([1.0, 2.0], device)
    w = leaf([3.0, -1.0], device)
    y = x * w
    y.retain_grad()
    gx, gw = autograd.grad((y * y).sum(), [x, w])
    np.testing.assert_allclose(cpu(gx), 2 * cpu(x) * cpu(w) ** 2)
    np.testing.assert_allclose(cpu(gw), 2 * cpu(w) * cpu(x) ** 2)
    assert x.grad is None and w.grad is None and y.grad is None


def test_autograd_grad_leaves_existing_grad_alone():
    x = leaf([1.0, 2.0])
    x.grad = mg.tensor([7.0, 7.0], dtype=mg.float64)
    g = autograd.grad((x * 2.0).sum(), x)  # a single input: a single result
    assert isinstance(g, mg.Tensor)
    np.testing.assert_allclose(cpu(g), [2.0, 2.0])
    np.testing.assert_allclose(cpu(x.grad), [7.0, 7.0])


def test_autograd_grad_with_respect_to_an_intermediate_tensor():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    (gy,) = autograd.grad((y * y).sum(), [y])
    np.testing.assert_allclose(cpu(gy), 2 * cpu(y))
    assert x.grad is None


def test_autograd_grad_with_grad_outputs():
    x = leaf([1.0, 2.0])
    y = x * x
    (g,) = autograd.grad([y], [x], grad_outputs=[mg.tensor([1.0, -2.0], dtype=mg.float64)])
    np.testing.assert_allclose(cpu(g), [2.0, -8.0])


def test_autograd_grad_of_an_unused_input():
    x, u = leaf([1.0]), leaf([2.0])
    with pytest.raises(RuntimeError, match="allow_unused"):
        autograd.grad((x * 2.0).sum(), [x, u])
    gx, gu = autograd.grad((x * 2.0).sum(), [x, u], allow_unused=True)
    assert gu is None and gx.item() == 2.0


def test_autograd_grad_of_an_input_that_does_not_require_grad_raises():
    x = leaf([1.0])
    c = mg.tensor([1.0])
    with pytest.raises(RuntimeError, match="does not require grad"):
        autograd.grad((x * c).sum(), [c])


# ---------------------------------------------------------------------------------------------
# In-place changes


def test_modifying_an_input_after_use_makes_backward_raise(device):
    x = leaf([1.0, 2.0], device)
    w = mg.tensor([3.0, 4.0], dtype=mg.float64, device=device)
    y = (x * w).sum()
    w[0] = 100.0  # w does not require grad: allowed, but Mul saved it
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_modifying_a_non_leaf_under_no_grad_after_use_makes_backward_raise():
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = (y * y).sum()
    with mg.no_grad():
        y += 1.0
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_modifying_a_leaf_under_no_grad_after_use_makes_backward_raise():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    with mg.no_grad():
        x.mul_(2.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        z.backward()


def test_an_in_place_change_before_use_is_fine():
    x = leaf([1.0, 2.0])
    with mg.no_grad():
        x.add_(1.0)
    (x * x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), [4.0, 6.0])


def test_modifying_saved_data_through_detach_makes_backward_raise():
    # PyTorch: a detached tensor shares its version counter with the original, so zeroing it
    # in place after Exp saved its output makes backward raise instead of returning 0.
    x = leaf([1.0, 2.0])
    y = x.exp()
    z = (y * y).sum()
    y.detach().zero_()
    with pytest.raises(RuntimeError, match="modified"):
        z.backward()


def test_modifying_saved_data_through_a_view_makes_backward_raise():
    # PyTorch: views share their base's version counter. w[:] is a view of w (same memory),
    # so filling it changes what Mul saved; backward must notice.
    x = leaf([1.0, 1.0, 1.0])
    w = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    y = (x * w).sum()
    view = w[:]
    assert np.shares_memory(view.data, w.data)
    view.fill_(5.0)
    with pytest.raises(RuntimeError, match="modified"):
        y.backward()


def test_an_in_place_op_that_failed_does_not_count_as_a_modification():
    # add_ with a non-broadcastable operand raises and leaves w unchanged, so the graph that
    # used w is still valid: backward must not report "modified in place".
    x = leaf([1.0, 2.0])
    w = mg.tensor([3.0, 4.0], dtype=mg.float64)
    y = (x * w).sum()
    with pytest.raises(ValueError):
        w.add_(mg.ones(3, dtype=mg.float64))
    assert w.tolist() == [3.0, 4.0]
    y.backward()
    np.testing.assert_array_equal(cpu(x.grad), [3.0, 4.0])


@pytest.mark.parametrize("op", ["exp", "sqrt", "tanh", "sigmoid", "softmax"])
def test_modifying_an_output_its_op_saved_makes_backward_raise(op):
    # Exp, Sqrt, Tanh, Sigmoid and Softmax keep their output for backward (self.out). Changing
    # that output in place, even before anything else used it, would make the gradient wrong;
    # PyTorch raises ("output 0 of ExpBackward0 is at version 1; expected version 0").
    x = leaf([0.5, 2.0])
    y = x.softmax(dim=0) if op == "softmax" else getattr(x, op)()
    with mg.no_grad():
        y.mul_(0.5)
    with pytest.raises(RuntimeError, match="modified"):
        (y * mg.tensor([1.0, 3.0], dtype=mg.float64)).sum().backward()


_INPLACE = {
    "+=": lambda t: t.__iadd__(1.0),
    "-=": lambda t: t.__isub__(1.0),
    "*=": lambda t: t.__imul__(2.0),
    "/=": lambda t: t.__itruediv__(2.0),
    "setitem": lambda t: t.__setitem__(0, 9.0),
    "add_": lambda t: t.add_(1.0),
    "sub_": lambda t: t.sub_(1.0),
    "mul_": lambda t: t.mul_(2.0),
    "div_": lambda t: t.div_(2.0),
    "zero_": lambda t: t.zero_(),
    "fill_": lambda t: t.fill_(3.0),
    "copy_": lambda t: t.copy_(mg.tensor([8.0, 9.0], dtype=mg.float64)),
}


@pytest.mark.parametrize("op", list(_INPLACE))
def test_in_place_op_on_a_tensor_that_requires_grad_raises_outside_no_grad(op):
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        _INPLACE[op](x)
    np.testing.assert_array_equal(cpu(x), [1.0, 2.0])  # refused, so unchanged
    with mg.no_grad():
        _INPLACE[op](x)
    assert not np.array_equal(cpu(x), [1.0, 2.0])
    assert x.requires_grad and x.is_leaf


@pytest.mark.parametrize("op", list(_INPLACE))
def test_in_place_op_on_a_tensor_that_does_not_require_grad_is_allowed(op):
    t = mg.tensor([1.0, 2.0], dtype=mg.float64)
    before = t._version
    _INPLACE[op](t)
    assert not np.array_equal(cpu(t), [1.0, 2.0])
    assert t._version > before


# ---------------------------------------------------------------------------------------------
# No mutation, no shared memory after backward


def _hygiene(leaves, build, upstream):
    """Run build(*leaves).backward(upstream) and check that the inputs and the upstream
    gradient are unchanged and that no two .grad (nor .grad and upstream) share memory."""
    before = [t.data.copy() for t in leaves]
    up_before = np.array(upstream, copy=True)
    out = build(*leaves)
    out.backward(upstream)
    for t, b in zip(leaves, before):
        np.testing.assert_array_equal(t.data, b)
    np.testing.assert_array_equal(upstream, up_before)
    grads = [t.grad.data for t in leaves if t.grad is not None]
    assert len(grads) == sum(t.requires_grad for t in leaves)
    for g in grads:  # .grad is the user's to update in place (zero_, clipping, optimizers)
        assert g.flags.writeable, "a .grad array is read-only"
    for i, g in enumerate(grads):
        assert not np.shares_memory(g, upstream), f"grad {i} shares memory with upstream"
        for t in leaves:
            assert not np.shares_memory(g, t.data), f"grad {i} shares memory with an input"
        for j in range(i):
            assert not np.shares_memory(g, grads[j]), f"grads {j} and {i} share memory"
    return grads


def _rand(*shape, seed=0):
    return leaf(np.random.default_rng(seed).standard_normal(shape))


def test_hygiene_add_of_two_leaves():
    a, b = _rand(2, 3, seed=1), _rand(2, 3, seed=2)
    g = np.random.default_rng(3).standard_normal((2, 3))
    ga, gb = _hygiene([a, b], lambda a, b: a + b, g)
    np.testing.assert_array_equal(ga, g)
    np.testing.assert_array_equal(gb, g)


def test_hygiene_sub_mul_div_of_two_leaves():
    for op in (lambda a, b: a - b, lambda a, b: a * b, lambda a, b: a / b):
        a, b = _rand(3, seed=1), _rand(3, seed=2)
        _hygiene([a, b], op, np.ones(3))


def test_hygiene_reshape_expand_transpose_chain():
    x = _rand(3, 1, seed=4)
    g = np.random.default_rng(5).standard_normal((4, 3))
    (gx,) = _hygiene([x], lambda x: x.reshape(1, 3).expand(4, 3).T.reshape(3, 4).T, g)
    np.testing.assert_allclose(gx, g.sum(axis=0).reshape(3, 1))


def test_hygiene_reshape_and_transpose_only():
    x = _rand(2, 3, seed=6)
    g = np.random.default_rng(7).standard_normal((3, 2))
    (gx,) = _hygiene([x], lambda x: x.reshape(3, 2).T.reshape(3, 2), g)
    np.testing.assert_array_equal(gx, g.reshape(2, 3).T.reshape(2, 3))


@pytest.mark.parametrize("build", [
    lambda x: x + x,
    lambda x: x * x,
    lambda x: x - x * 2.0,
    lambda x: mg.cat([x, x]).reshape(2, 3)[0] + x,
    lambda x: mg.stack([x, x]).sum(dim=0),
], ids=["x+x", "x*x", "x-2x", "cat", "stack"])
def test_hygiene_a_tensor_used_twice(build):
    x = _rand(3, seed=8)
    _hygiene([x], build, np.random.default_rng(9).standard_normal(3))


@pytest.mark.parametrize("build", [
    lambda x: x.clone(),
    lambda x: x.reshape(2, 3),
    lambda x: x.view(6).reshape(2, 3),
    lambda x: x.T.T,
    lambda x: x[...],
    lambda x: x[:, :],
    lambda x: x.float().double(),
    lambda x: x.to(mg.float64),
    lambda x: x,
    lambda x: x * 1.0,
    lambda x: x + 0.0,
    lambda x: x.expand(2, 3),
    lambda x: x.squeeze(),
    lambda x: x.unsqueeze(0).squeeze(0),
], ids=["clone", "reshape", "view", "TT", "ellipsis", "slices", "casts", "to-same",
        "leaf-itself", "times-one", "plus-zero", "expand-same", "squeeze", "unsqueeze"])
def test_hygiene_backward_with_a_gradient_through_identity_like_ops(build):
    x = _rand(2, 3, seed=10)
    g = np.random.default_rng(11).standard_normal((2, 3))
    (gx,) = _hygiene([x], build, g)
    np.testing.assert_allclose(gx, g, rtol=1e-6)  # 1e-6: the float32 round trip


def test_grad_is_writable_after_a_reduction_over_a_stacked_dim():
    # Sum's backward broadcasts its gradient (a read-only NumPy view); Stack's backward slices
    # it. The slice is contiguous but read-only, and must not become x.grad: the next backward
    # accumulates into .grad in place, and users zero or clip it in place.
    x = leaf([1.0, 2.0])
    c = mg.tensor([3.0, 4.0], dtype=mg.float64)
    (mg.stack([x, c]).sum(dim=0) * 2.0).sum().backward()
    np.testing.assert_array_equal(cpu(x.grad), [2.0, 2.0])
    assert x.grad.data.flags.writeable
    (mg.stack([x, c]).sum(dim=0) * 2.0).sum().backward()
    np.testing.assert_array_equal(cpu(x.grad), [4.0, 4.0])
    with mg.no_grad():
        x.grad.zero_()
    np.testing.assert_array_equal(cpu(x.grad), [0.0, 0.0])


def test_grad_is_writable_after_cat_of_a_one_element_leaf():
    x = leaf([1.0])
    c = mg.tensor([3.0, 4.0], dtype=mg.float64)
    (mg.cat([x, c]).sum() * 3.0).backward()
    assert x.grad.data.flags.writeable
    (mg.cat([x, c]).sum() * 3.0).backward()
    assert x.grad.item() == 6.0


def test_hygiene_with_a_tensor_upstream_gradient():
    x = _rand(2, 3, seed=12)
    g = mg.tensor(np.random.default_rng(13).standard_normal((2, 3)))
    before = g.data.copy()
    x.reshape(3, 2).reshape(2, 3).backward(g)
    np.testing.assert_array_equal(g.data, before)
    assert not np.shares_memory(x.grad.data, g.data)


def test_hygiene_survives_accumulation_over_two_backward_calls():
    a, b = _rand(3, seed=14), _rand(3, seed=15)
    g = np.ones(3)
    _hygiene([a, b], lambda a, b: a + b, g)
    _hygiene([a, b], lambda a, b: (a + b).reshape(3), g)
    np.testing.assert_array_equal(a.grad.data, [2.0, 2.0, 2.0])
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])


def test_hygiene_of_autograd_grad_results():
    a, b = _rand(2, 2, seed=16), _rand(2, 2, seed=17)
    g = np.random.default_rng(18).standard_normal((2, 2))
    y = a + b
    ga, gb = autograd.grad([y], [a, b], grad_outputs=[mg.tensor(g)])
    for r in (ga, gb):
        assert not np.shares_memory(r.data, g)
    assert not np.shares_memory(ga.data, gb.data)
    (gx,) = autograd.grad([a.reshape(4)], [a], grad_outputs=[mg.tensor(g.reshape(4))])
    np.testing.assert_array_equal(gx.data, g)


_BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
    "add-twice": lambda a, b: (a + b) + a,
    "mul-reuse": lambda a, b: a * b * b,
    "maximum": lambda a, b: mg.maximum(a, b),
    "stack-sum": lambda a, b: mg.stack([a + b, (a * b).detach()]).sum(dim=0) * 2.0,
}


@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                max_side=3),
       op=st.sampled_from(sorted(_BINARY)), seed=st.integers(0, 2 ** 16),
       which=st.sampled_from(["both", "first", "second"]))
@example(shapes=hnp.BroadcastableShapes(input_shapes=((1,), ()), result_shape=(1,)),
         op="stack-sum", seed=0, which="both")  # a read-only .grad (see the test above)
def test_hygiene_over_broadcast_shapes(shapes, op, seed, which):
    rng = np.random.default_rng(seed)
    (sa, sb), out_shape = shapes.input_shapes, shapes.result_shape
    a = mg.tensor(rng.uniform(0.5, 2.0, sa), requires_grad=which in ("both", "first"))
    b = mg.tensor(rng.uniform(0.5, 2.0, sb), requires_grad=which in ("both", "second"))
    g = rng.standard_normal(out_shape)
    grads = _hygiene([a, b], _BINARY[op], g)
    for t, grad in zip([t for t in (a, b) if t.requires_grad], grads):
        assert grad.shape == t.shape and grad.dtype == t.dtype


# ---------------------------------------------------------------------------------------------
# Custom Functions (the documented extension point)


class Cube(Function):
    """The module docstring's example, word for word in spirit."""

    def forward(self, x):
        return x ** 3

    def backward(self, grad):
        (x,) = self.inputs
        return grad * 3 * x ** 2


class ScaledProduct(Function):
    """out = scale * a * b, with a keyword parameter and needs_input_grad."""

    def forward(self, a, b, scale=1.0):
        self.scale = scale
        return scale * a * b

    def backward(self, grad):
        a, b = self.inputs
        need_a, need_b = self.needs_input_grad
        return (grad * b * self.scale if need_a else None,
                grad * a * self.scale if need_b else None)


class Exp2(Function):
    """2**x, its backward written with self.output()."""

    def forward(self, x):
        self.out = 2.0 ** x
        return self.out

    def backward(self, grad):
        return grad * self.output() * float(np.log(2.0))


def test_custom_function_as_documented(device):
    xv = np.array([1.0, -2.0, 0.5])
    x = leaf(xv, device)
    y = Cube.apply(x)
    assert isinstance(y.grad_fn, Cube) and y.requires_grad
    np.testing.assert_allclose(cpu(y), xv ** 3)
    y.sum().backward()
    np.testing.assert_allclose(cpu(x.grad), 3 * xv ** 2)
    assert mg.gradcheck(Cube.apply, [leaf(xv, device)])
    assert mg.gradgradcheck(Cube.apply, [leaf(xv, device)])


def test_custom_function_with_params_and_needs_input_grad():
    a = leaf([1.0, 2.0])
    b = mg.tensor([3.0, 4.0], dtype=mg.float64)
    y = ScaledProduct.apply(a, b, scale=0.5)
    assert y.grad_fn.needs_input_grad == (True, False)
    y.sum().backward()
    np.testing.assert_allclose(cpu(a.grad), [1.5, 2.0])
    assert b.grad is None
    assert mg.gradcheck(lambda a, b: ScaledProduct.apply(a, b, scale=-2.0),
                        [leaf([1.0, 2.0]), leaf([3.0, -1.0])])


def test_custom_function_using_its_output():
    xv = np.array([0.0, 1.0, 3.0])
    x = leaf(xv)
    Exp2.apply(x).sum().backward()
    np.testing.assert_allclose(cpu(x.grad), np.log(2.0) * 2.0 ** xv)
    assert mg.gradgradcheck(Exp2.apply, [leaf(xv)])


def test_custom_function_not_recorded_without_grad():
    y = Cube.apply(mg.tensor([2.0]))
    assert y.grad_fn is None and not y.requires_grad
    with mg.no_grad():
        assert Cube.apply(leaf([2.0])).grad_fn is None


class TooFewGrads(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, grad):
        return grad


class TooManyGrads(Function):
    def forward(self, a):
        return a * 2

    def backward(self, grad):
        return grad * 2, grad


class WrongShapeGrad(Function):
    def forward(self, a):
        return a.sum()

    def backward(self, grad):
        return grad  # 0-d, but the input is (3,)


def test_custom_function_returning_too_few_gradients_raises():
    with pytest.raises(RuntimeError, match=r"TooFewGrads.*1.*2"):
        TooFewGrads.apply(leaf([1.0]), leaf([2.0])).sum().backward()


def test_custom_function_returning_too_many_gradients_raises():
    with pytest.raises(RuntimeError, match=r"TooManyGrads.*2.*1"):
        TooManyGrads.apply(leaf([1.0])).sum().backward()


def test_custom_function_returning_a_wrongly_shaped_gradient_raises():
    with pytest.raises(RuntimeError, match=r"WrongShapeGrad") as info:
        WrongShapeGrad.apply(leaf([1.0, 2.0, 3.0])).backward()
    assert "(3,)" in str(info.value) and "()" in str(info.value)
