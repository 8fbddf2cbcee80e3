"""PyTorch's everyday surface: function forms generated from the one op table, the default
dtype, in-place updates, constructors from a tensor, boolean-mask assignment, and (where
torch is installed) agreement with PyTorch's own results and gradients. The per-op forward,
gradcheck and float32 checks live in tests/test_ops.py (the op table)."""


import numpy as np
import pytest

import minigrad as mg
from minigrad import ops


def test_every_method_and_its_function_form_are_one_definition():
    both = set(ops.METHODS) & set(ops.FUNCTIONS)
    assert {"sum", "exp", "reshape", "gather", "topk", "masked_fill", "norm"} <= both
    adapters = {name for name in both if getattr(mg.Tensor, name) is not getattr(mg, name)}
    assert adapters == {"where"}  # x.where(cond, y) is where(cond, x, y): PyTorch's order
    for name in ops.FUNCTIONS:
        assert getattr(mg, name) is ops.FUNCTIONS[name]


def test_function_forms_take_pytorchs_signatures():
    x = mg.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]])
    np.testing.assert_allclose(mg.sum(x, 1).data, [2.0, 3.0])
    np.testing.assert_allclose(mg.sum(x, dim=0, keepdim=True).data, [[5.0, 3.0, -3.0]])
    np.testing.assert_allclose(mg.max(x, 1).data, [3.0, 5.0])  # values only: see DESIGN.md
    np.testing.assert_allclose(mg.reshape(x, (3, 2)).data, x.data.reshape(3, 2))
    np.testing.assert_allclose(mg.permute(x, (1, 0)).data, x.data.T)
    np.testing.assert_allclose(mg.clamp(x, min=0).data, np.maximum(x.data, 0))
    np.testing.assert_allclose(mg.add(x, x, alpha=2).data, 3 * x.data)
    np.testing.assert_allclose(mg.softmax(x, 1).data.sum(1), [1.0, 1.0], rtol=1e-6)
    np.testing.assert_allclose(mg.transpose(x, 0, 1).data, x.data.T)
    assert mg.numel(x) == 6 and mg.is_tensor(x) and not mg.is_tensor(x.data)
    np.testing.assert_allclose(x.mm(x.t()).data, x.data @ x.data.T)


def test_a_pytorch_beginner_program_runs_with_minigrad_as_torch():
    torch = mg
    torch.manual_seed(0)
    x = torch.linspace(-1, 1, 20).unsqueeze(1)
    y = torch.sin(3 * x) + 0.1 * torch.randn(20, 1)
    w = torch.zeros(1, 8, requires_grad=True)
    with torch.no_grad():
        w.normal_(0, 0.5)
    b = torch.zeros(8, requires_grad=True)
    v = torch.randn(8, 1, requires_grad=True)
    losses = []
    for _ in range(60):
        hidden = torch.tanh(torch.mm(x, w) + b)
        loss = torch.mean(torch.square(torch.matmul(hidden, v) - y))
        loss.backward()
        with torch.no_grad():
            for p in (w, b, v):
                p -= 0.1 * p.grad
                p.grad.zero_()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert torch.allclose(torch.exp(torch.log(torch.tensor([2.0]))), torch.tensor([2.0]))


def test_default_dtype_is_honoured_by_tensor_and_the_creation_functions():
    assert mg.get_default_dtype() == mg.float32
    try:
        mg.set_default_dtype(mg.float64)
        made = [mg.tensor([1.5]), mg.tensor(2.0), mg.zeros(2), mg.ones(2), mg.rand(2),
                mg.randn(2), mg.arange(0.0, 1.0, 0.5), mg.linspace(0, 1, 3), mg.full((2,), 1.5),
                mg.eye(2), mg.empty(2), mg.tensor([1, 2]).sqrt(), mg.tensor([1, 2]) * 0.5]
        assert all(t.dtype == np.float64 for t in made), [t.dtype for t in made]
        assert mg.tensor([1, 2]).dtype == np.int64  # integers are not affected
        assert "dtype" not in repr(mg.tensor([1.0]))  # the default dtype is not printed
    finally:
        mg.set_default_dtype(mg.float32)
    assert mg.tensor([1.5]).dtype == np.float32 and mg.zeros(1).dtype == np.float32
    with pytest.raises(TypeError, match="set_default_dtype"):
        mg.set_default_dtype(mg.int64)


def test_in_place_ops_are_refused_on_tensors_that_require_grad_outside_no_grad():
    w = mg.zeros(3, 4, requires_grad=True)
    for update in (lambda: w.uniform_(), lambda: w.normal_(), lambda: w.clamp_(0, 1),
                   lambda: w.fill_(1.0), lambda: w.zero_(), lambda: w.masked_fill_(w > 0, 1.0)):
        with pytest.raises(RuntimeError, match="requires grad"):
            update()
    with mg.no_grad():
        w.uniform_(-2.0, 3.0)
    assert w.dtype == np.float32 and (w.data >= -2).all() and (w.data < 3).all()
    assert w.data.std() > 0.5


def test_random_in_place_fills_follow_their_formulas():
    mg.manual_seed(3)
    u = mg.zeros(20000).uniform_(-1.0, 3.0)
    mg.manual_seed(3)
    z = mg.zeros(20000, dtype=mg.float64).normal_(2.0, 0.5)
    assert abs(u.data.mean() - 1.0) < 0.05 and abs(u.data.var() - 16 / 12) < 0.05
    assert abs(z.data.mean() - 2.0) < 0.02 and abs(z.data.std() - 0.5) < 0.02
    assert u.dtype == np.float32 and z.dtype == np.float64


def test_clamp_fill_zero_and_masked_fill_in_place():
    x = mg.tensor([-2.0, 0.5, 3.0])
    version = x._version
    assert x.clamp_(-1, 1) is x
    np.testing.assert_array_equal(x.data, [-1.0, 0.5, 1.0])
    x.masked_fill_(x > 0, 7.0)
    np.testing.assert_array_equal(x.data, [-1.0, 7.0, 7.0])
    x.fill_(2.0)
    assert (x.data == 2).all() and x._version == version + 3
    x.zero_()
    assert (x.data == 0).all()


def test_boolean_mask_assignment_on_a_tensor_without_grad():
    x = mg.tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
    g = mg.tensor([10.0, 20.0, 30.0, 40.0])
    g[x < 0] = 0
    np.testing.assert_array_equal(g.data, [10.0, 0.0, 30.0, 0.0])
    g[x > 2] = mg.tensor(-1.0)
    np.testing.assert_array_equal(g.data, [10.0, 0.0, -1.0, 0.0])
    with pytest.raises(RuntimeError, match="requires grad"):
        x[x < 0] = 0
    with mg.no_grad():
        x[x < 0] = 0
    np.testing.assert_array_equal(x.data, [1.0, 0.0, 3.0, 0.0])


def test_constructors_from_a_tensor_keep_its_dtype_and_device():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64)
    for made in (x.new_zeros(2, 3), x.new_ones((2, 3)), x.new_full((2, 3), 1.5), x.new_empty(2, 3)):
        assert made.shape == (2, 3) and made.dtype == np.float64 and not made.requires_grad
    assert x.new_tensor([1, 2]).dtype == np.float64
    assert mg.tensor([1, 2]).new_tensor([1.5]).dtype == np.int64  # as in PyTorch
    assert x.new_zeros(2, dtype=mg.int64).dtype == np.int64
    assert x.new_ones(2, requires_grad=True).requires_grad
    assert mg.tensor([1, 2]).type_as(x).dtype == np.float64


def test_contiguous_and_detach_in_place():
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    t = x.t()
    assert x.is_contiguous() and not t.is_contiguous()
    c = t.contiguous()
    assert c.is_contiguous() and c.requires_grad
    c.sum().backward()
    np.testing.assert_array_equal(x.grad.data, np.ones((2, 3)))
    assert x.contiguous() is x
    y = x * 2
    assert y.detach_() is y and y.grad_fn is None and not y.requires_grad


def test_non_differentiable_results_are_bool_or_int_and_out_of_the_graph():
    x = mg.tensor([[1.0, -1.0], [0.0, 2.0]], requires_grad=True)
    for out, kind in [(x.eq(1.0), "b"), (mg.isnan(x), "b"), (x.argsort(), "i"),
                      (mg.nonzero(x), "i"), (x.topk(1).indices, "i"), (mg.logical_not(x), "b"),
                      ((x > 0) & (x < 2), "b"), (mg.unique(x.detach()), "f")]:
        assert out.dtype.kind == kind and not out.requires_grad
    assert mg.equal(x, x) is True and mg.allclose(x, x + 1e-9) is True
    assert mg.sort(x).values.requires_grad  # values are gathered: differentiable


def test_integer_inputs_follow_pytorchs_dtypes():
    i = mg.tensor([4, 9])
    assert mg.rsqrt(i).dtype == np.float32 and mg.erf(i).dtype == np.float32
    assert mg.square(i).dtype == np.int64 and mg.floor(i).dtype == np.int64
    np.testing.assert_array_equal(mg.div(mg.tensor([5, -5]), 3, rounding_mode="trunc").data,
                                  [1, -1])
    np.testing.assert_array_equal(mg.div(mg.tensor([5, -5]), 3, rounding_mode="floor").data,
                                  [1, -2])
    np.testing.assert_array_equal((mg.tensor([5, -5]) // 3).data, [1, -2])
    np.testing.assert_array_equal((mg.tensor([5, -5]) % 3).data, [2, 1])


def test_clear_errors_name_the_op_and_the_shapes():
    x = mg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"gather: index values must lie in \[0, 3\)"):
        x.gather(1, mg.tensor([[0, 3], [1, 1]]))
    with pytest.raises(ValueError, match="mm: shapes"):
        mg.mm(x, x)
    with pytest.raises(ValueError, match=r"einsum: subscripts 'jk' name 2 dims .* shape \(3,\)"):
        mg.einsum("ij,jk->ik", x, mg.zeros(3))
    with pytest.raises(ValueError, match="einsum: letter 'j' has sizes 3 and 2"):
        mg.einsum("ij,jk->ik", x, x)
    with pytest.raises(TypeError, match="masked_fill: mask must be a bool"):
        x.masked_fill(mg.zeros(2, 3), 1.0)
    with pytest.raises(ValueError, match=r"masked_fill: mask of shape \(4,\)"):
        x.masked_fill(mg.zeros(4, dtype=mg.bool_), 1.0)
    with pytest.raises(ValueError, match="repeat: 1 sizes for a tensor of 2 dims"):
        x.repeat(2)
    with pytest.raises(ValueError, match="split: sizes"):
        x.split([1, 1], dim=1)
    with pytest.raises(ValueError, match="topk: k = 4"):
        x.topk(4)
    with pytest.raises(NotImplementedError, match="nuc"):
        x.norm("nuc")


def test_gradient_of_prod_and_cumprod_with_zeros_is_exact():
    x = mg.tensor([2.0, 0.0, 3.0, 0.5], dtype=mg.float64, requires_grad=True)
    x.prod().backward()
    np.testing.assert_allclose(x.grad.data, [0.0, 3.0, 0.0, 0.0])
    x.grad = None
    x.cumprod(0).sum().backward()
    # d/dx_j Σ_i Π_{k≤i} x_k: only the products before the zero survive for j ≤ 1
    np.testing.assert_allclose(x.grad.data, [1.0, 2.0 + 2 * 3 + 2 * 3 * 0.5, 0.0, 0.0])
