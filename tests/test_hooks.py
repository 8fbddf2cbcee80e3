"""Tensor hooks and module hooks: PyTorch's call order, removal and replacement semantics.

The expected orders and values are PyTorch's (worked out by hand here; the torch-checked test
at the end compares a whole Sequential's order with PyTorch's when torch is installed).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import nn


def _t(values, device, requires_grad=True):
    return mg.tensor(np.asarray(values, dtype=np.float32), device=device,
                     requires_grad=requires_grad)


# --- Tensor.register_hook ---------------------------------------------------------------------

def test_hooks_on_one_tensor_run_in_order_and_each_sees_the_previous_result(device):
    x = _t([1.0, 2.0], device)
    y = x * 2
    y.retain_grad()
    log = []
    y.register_hook(lambda g: (log.append(("first", g.tolist())), g * 10)[1])
    y.register_hook(lambda g: log.append(("second", g.tolist())))  # None: keeps the gradient
    x.register_hook(lambda g: (log.append(("leaf", g.tolist())), g + 1)[1])
    ((y * y).sum() + (x * 3).sum()).backward()
    # dz/dy = 2y = [4, 8]; hooked to [40, 80]; dz/dx = 2 * [40, 80] + 3; leaf hook adds 1.
    assert log == [("first", [4.0, 8.0]), ("second", [40.0, 80.0]), ("leaf", [83.0, 163.0])]
    assert y.grad.tolist() == [40.0, 80.0]  # retain_grad stores the hooked gradient
    assert x.grad.tolist() == [84.0, 164.0]


def test_leaf_hook_runs_once_with_the_summed_gradient_before_accumulation(device):
    x = _t([1.0, 1.0], device)
    x.grad = _t([100.0, 100.0], device, requires_grad=False)
    seen = []
    x.register_hook(lambda g: (seen.append(g.tolist()), g * 2)[1])
    (x * 2 + x * 3 + (x * 4).exp().log()).sum().backward()
    assert seen == [[9.0, 9.0]]
    np.testing.assert_allclose(x.grad.tolist(), [118.0, 118.0], rtol=1e-6)


def test_removed_hook_is_not_called_and_handle_works_as_context_manager(device):
    x = _t([1.0, 2.0], device)
    calls = []
    handle = x.register_hook(lambda g: calls.append("a"))
    with x.register_hook(lambda g: calls.append("b")):
        (x * 1).sum().backward()
    handle.remove()
    handle.remove()  # removing twice is harmless
    (x * 1).sum().backward()
    assert calls == ["a", "b"]


@given(st.lists(st.floats(-3, 3, width=32), min_size=1, max_size=6),
       st.floats(-2, 2, width=32))
def test_gradient_replacement_matches_the_chain_rule(values, factor):
    x = mg.tensor(np.asarray(values, np.float64), requires_grad=True)
    y = x.sin()
    y.register_hook(lambda g: g * factor)
    (y * y).sum().backward()
    expected = 2 * np.sin(values) * factor * np.cos(values)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-9, atol=1e-12)


def test_hooks_apply_in_autograd_grad_and_on_a_backward_root(device):
    x = _t([1.0, 2.0], device)
    x.register_hook(lambda g: g * 100)
    (g,) = (mg.autograd.grad((x * 2).sum(), [x]))
    assert g.tolist() == [200.0, 200.0]
    x.backward(_t([1.0, 1.0], device, requires_grad=False))  # the leaf itself as the root
    assert x.grad.tolist() == [100.0, 100.0]


def test_hook_on_a_multi_output_function_output(device):
    x = _t([[1.0, 5.0, 3.0]], device)
    values, indices = x.max(dim=1), x.argmax(dim=1)
    parts = x.split(1, dim=1)
    parts[1].register_hook(lambda g: g * 7)
    (parts[0] + parts[1] + parts[2]).sum().backward()
    assert x.grad.tolist() == [[1.0, 7.0, 1.0]]
    assert values.tolist() == [5.0] and indices.tolist() == [1]


def test_hook_errors_are_clear(device):
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        _t([1.0], device, requires_grad=False).register_hook(lambda g: g)
    with pytest.raises(TypeError, match="callable"):
        _t([1.0], device).register_hook(3)
    x = _t([1.0, 2.0], device)
    y = x * 1
    y.register_hook(lambda g: mg.ones(3, device=device))
    with pytest.raises(RuntimeError, match="changed the size"):
        y.sum().backward()
    z = _t([1.0], device)
    z.register_hook(lambda g: 3.0)
    with pytest.raises(TypeError, match="returned a float"):
        (z * 2).sum().backward()


def test_no_hook_leaves_no_trace():
    x = mg.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g).remove()
    key = id(x)
    del x
    assert key not in mg.autograd._leaf_hooks  # the entry leaves with its tensor


# --- Module hooks -------------------------------------------------------------------------------

def test_forward_hooks_order_prepend_kwargs_and_replacement(device):
    lin = nn.Linear(2, 2).to(device)
    calls = []
    lin.register_forward_pre_hook(lambda m, a: calls.append("pre1"))
    lin.register_forward_pre_hook(lambda m, a: calls.append("pre0"), prepend=True)
    lin.register_forward_pre_hook(lambda m, a, k: calls.append(("prekw", k)), with_kwargs=True)
    lin.register_forward_hook(lambda m, a, o: calls.append(("fwd", tuple(o.shape))))
    zero = lin.register_forward_hook(lambda m, a, o: o * 0)
    lin.register_forward_hook(lambda m, a, k, o: calls.append(("fwdkw", o.tolist())),
                              with_kwargs=True)
    out = lin(mg.ones(1, 2, device=device))
    assert out.tolist() == [[0.0, 0.0]]
    assert calls == ["pre0", "pre1", ("prekw", {}), ("fwd", (1, 2)), ("fwdkw", [[0.0, 0.0]])]
    zero.remove()
    assert lin(mg.ones(1, 2, device=device)).abs().sum().item() > 0


def test_forward_pre_hook_with_kwargs_replaces_args_and_kwargs():
    class Scale(nn.Module):
        def forward(self, x, scale=1.0):
            return x * scale

    m = Scale()
    m.register_forward_pre_hook(lambda mod, a, k: ((a[0] + 1,), {"scale": 3.0}),
                                with_kwargs=True)
    assert m(mg.tensor([1.0]), scale=10.0).tolist() == [6.0]
    m.register_forward_pre_hook(lambda mod, a, k: a, with_kwargs=True)
    with pytest.raises(RuntimeError, match="new_args, new_kwargs"):
        m(mg.tensor([1.0, 2.0, 3.0]))


def test_full_backward_hook_sees_grad_input_and_grad_output_and_may_replace(device):
    lin = nn.Linear(3, 2).to(device)
    seen = {}

    def hook(module, grad_input, grad_output):
        seen["in"], seen["out"] = grad_input, grad_output
        return (grad_input[0] * 0.5,)

    lin.register_full_backward_hook(hook)
    x = mg.randn(4, 3, device=device, requires_grad=True)
    upstream = mg.randn(4, 2, device=device)
    lin(x).backward(upstream)
    np.testing.assert_allclose(seen["out"][0].tolist(), upstream.tolist())
    expected = upstream.numpy() @ lin.weight.detach().numpy()
    np.testing.assert_allclose(seen["in"][0].tolist(), expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(x.grad.tolist(), 0.5 * expected, rtol=1e-5, atol=1e-6)
    # the weight's gradient does not go through the hook
    np.testing.assert_allclose(lin.weight.grad.tolist(), upstream.numpy().T @ x.detach().numpy(),
                               rtol=1e-5, atol=1e-6)


def test_backward_hook_positions_and_unused_outputs():
    class Two(nn.Module):
        def forward(self, a, k, b):
            return a * k + b, a

    m = Two()
    seen = []
    m.register_full_backward_hook(lambda mod, gi, go: seen.append((gi, go)))
    a, b = mg.ones(2, requires_grad=True), mg.ones(2)
    first, _ = m(a, 3, b)
    first.sum().backward()
    ((ga, gk, gb), (g1, g2)) = seen[0]
    assert ga.tolist() == [3.0, 3.0] and gk is None and gb is None
    assert g1.tolist() == [1.0, 1.0] and g2 is None  # the unused output got no gradient


def test_backward_pre_hook_replaces_grad_output():
    lin = nn.Linear(2, 1)
    lin.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
    x = mg.ones(1, 2, requires_grad=True)
    lin(x).sum().backward()
    np.testing.assert_allclose(x.grad.tolist(), 3 * lin.weight.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(lin.bias.grad.tolist(), [3.0])


def _record_sequential(order, nn=nn):
    """A Sequential of ``nn`` (minigrad's or torch's) whose hooks log their calls."""
    seq = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    for i, layer in enumerate(seq):
        layer.register_full_backward_hook(
            lambda m, gi, go, i=i: order.append(("bw", i, [None if g is None else
                                                           tuple(g.shape) for g in gi])))
        layer.register_full_backward_pre_hook(lambda m, go, i=i: order.append(("pre", i)))
    seq.register_full_backward_hook(lambda m, gi, go: order.append(("seq", len(gi))))
    seq[0].weight.register_hook(lambda g: order.append("w0"))
    seq[2].weight.register_hook(lambda g: order.append("w2"))
    return seq


def test_backward_hooks_on_a_sequential_run_in_pytorchs_order():
    order = []
    seq = _record_sequential(order)
    x = mg.randn(3, 2, requires_grad=True)
    x.register_hook(lambda g: order.append("x"))
    seq(x).sum().backward()
    assert order == [("pre", 2), "w2", ("bw", 2, [(3, 2)]), ("pre", 1), ("bw", 1, [(3, 2)]),
                     ("pre", 0), "w0", ("bw", 0, [(3, 2)]), ("seq", 1), "x"]
    # Inputs that do not require grad: the module's full hook fires with grad_input (None,)
    # as soon as grad_output is known (so the Sequential's first).
    order.clear()
    seq(mg.randn(3, 2)).sum().backward()
    assert order[0] == ("seq", 1) and ("bw", 0, [None]) in order
    assert order.index(("bw", 0, [None])) < order.index("w0")


def test_backward_hooks_removed_and_skipped_under_no_grad():
    lin = nn.Linear(2, 2)
    calls = []
    handle = lin.register_full_backward_hook(lambda m, gi, go: calls.append(1))
    with mg.no_grad():
        out = lin(mg.ones(1, 2))
    assert out.grad_fn is None
    handle.remove()
    lin(mg.ones(1, 2, requires_grad=True)).sum().backward()
    assert calls == [] and not lin._backward_hooks


def test_backward_hook_returning_wrong_arity_is_an_error():
    lin = nn.Linear(2, 2)
    lin.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
    with pytest.raises(RuntimeError, match="returned 2 values for grad_input; expected 1"):
        lin(mg.ones(1, 2, requires_grad=True)).sum().backward()
