"""Bad input gets a clear exception naming the op and the shapes, dtypes or devices involved
(DESIGN.md decision 8), never a silent wrong answer."""

import re

import numpy as np
import pytest

import minigrad as mg
from minigrad import autograd


def _mentions_shape(message, shape):
    """True when ``shape`` appears in the message as a tuple, with or without spaces."""
    pattern = r"\(\s*" + r"\s*,\s*".join(map(str, shape)) + (r"\s*,?\s*\)" if len(shape) == 1
                                                            else r"\s*\)")
    return re.search(pattern, message) is not None


@pytest.mark.parametrize("name, op", [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("div", lambda a, b: a / b),
    ("pow", lambda a, b: a ** b),
    ("maximum", lambda a, b: mg.maximum(a, b)),
    ("minimum", lambda a, b: mg.minimum(a, b)),
])
def test_binary_shape_mismatch_names_the_op_and_both_shapes(name, op, device):
    a = mg.ones(2, 3, device=device)
    b = mg.ones(4, device=device)
    with pytest.raises(ValueError) as info:
        op(a, b)
    message = str(info.value)
    assert name in message.lower(), message
    assert _mentions_shape(message, (2, 3)) and _mentions_shape(message, (4,)), message


def test_binary_shape_mismatch_with_requires_grad_leaves_no_graph():
    a = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError):
        a + mg.ones(4)
    assert a.grad is None


@pytest.mark.parametrize("sa, sb", [((2, 3), (4, 5)), ((3,), (4,)), ((2, 3, 4), (5, 4, 2)),
                                    ((5,), (4, 2))])
def test_matmul_mismatch_names_both_shapes(sa, sb, device):
    with pytest.raises(ValueError) as info:
        mg.ones(*sa, device=device) @ mg.ones(*sb, device=device)
    message = str(info.value)
    assert "matmul" in message.lower(), message
    assert _mentions_shape(message, sa) and _mentions_shape(message, sb), message


def test_matmul_of_a_0d_tensor_is_refused():
    with pytest.raises(ValueError, match="(?i)matmul") as info:
        mg.tensor(2.0) @ mg.ones(3)
    assert "dimension" in str(info.value)


@pytest.mark.parametrize("make", [
    lambda: mg.tensor([1, 2], requires_grad=True),
    lambda: mg.tensor([True], requires_grad=True),
    lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True),
    lambda: mg.arange(3, requires_grad=True),
    lambda: mg.tensor(np.array([1, 2], dtype=np.int32)).requires_grad_(),
], ids=["tensor-int", "tensor-bool", "zeros-int", "arange", "requires_grad_"])
def test_requires_grad_on_an_integer_tensor_is_refused(make):
    with pytest.raises(RuntimeError, match="floating") as info:
        make()
    assert re.search(r"int|bool", str(info.value)), str(info.value)


def test_backward_of_a_non_scalar_without_gradient_names_the_shape(device):
    x = mg.ones(2, 3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="gradient") as info:
        (x * 2.0).backward()
    assert _mentions_shape(str(info.value), (2, 3))
    assert x.grad is None


def test_backward_of_a_one_element_non_0d_tensor_needs_no_gradient():
    x = mg.ones(1, 1, requires_grad=True)
    (x * 2.0).backward()
    assert x.grad.tolist() == [[2.0]]


def test_backward_of_a_tensor_that_does_not_require_grad_is_refused():
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.ones(()).backward()


@pytest.mark.parametrize("shape", [(2, 3), (0,), (2,)])
def test_item_of_a_tensor_that_is_not_one_element_names_the_shape(shape):
    with pytest.raises((ValueError, RuntimeError), match="item") as info:
        mg.ones(*shape).item()
    assert _mentions_shape(str(info.value), shape)


@pytest.mark.parametrize("given", [(3, 2), (6,), (2, 3, 1), (1, 3)])
def test_backward_with_a_gradient_of_the_wrong_shape_names_both_shapes(given, device):
    x = mg.ones(2, 3, requires_grad=True, device=device)
    with pytest.raises(RuntimeError, match="shape") as info:
        (x * 2.0).backward(mg.ones(*given, device=device))
    message = str(info.value)
    assert _mentions_shape(message, given) and _mentions_shape(message, (2, 3)), message
    assert x.grad is None


def test_backward_with_a_gradient_that_would_broadcast_is_still_refused():
    # (3,) broadcasts against (2, 3); accepting it would silently give a wrong gradient.
    x = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape"):
        (x * 2.0).backward(np.ones(3))


def test_autograd_grad_with_grad_outputs_of_the_wrong_shape():
    x = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match="shape") as info:
        autograd.grad([x * 2.0], [x], grad_outputs=[mg.ones(6)])
    assert _mentions_shape(str(info.value), (6,)) and _mentions_shape(str(info.value), (2, 3))


def test_autograd_grad_with_the_wrong_number_of_grad_outputs():
    x = mg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="grad_outputs"):
        autograd.grad([x * 2.0], [x], grad_outputs=[mg.ones(2), mg.ones(2)])


@pytest.mark.parametrize("name, call", [
    ("sum", lambda t: t.sum(dim=2)),
    ("sum", lambda t: t.sum(dim=-3)),
    ("sum", lambda t: t.sum(dim=(0, 5))),
    ("mean", lambda t: t.mean(dim=2)),
    ("mean", lambda t: t.mean(axis=7)),
    ("var", lambda t: t.var(dim=2)),
    ("std", lambda t: t.std(dim=-4)),
    ("amax", lambda t: t.amax(dim=2)),
    ("amin", lambda t: t.amin(dim=3)),
    ("amax", lambda t: t.max(dim=2)),
    ("amin", lambda t: t.min(dim=-3)),
    ("argmax", lambda t: t.argmax(dim=2)),
    ("argmin", lambda t: t.argmin(dim=-3)),
    ("logsumexp", lambda t: t.logsumexp(dim=2)),
    ("softmax", lambda t: t.softmax(dim=2)),
    ("log_softmax", lambda t: t.log_softmax(dim=-3)),
], ids=lambda v: v if isinstance(v, str) else "")
def test_reductions_with_an_out_of_range_dim_name_the_op_and_dim(name, call):
    t = mg.ones(2, 3)
    with pytest.raises(IndexError) as info:
        call(t)
    message = str(info.value)
    assert message.startswith(name) or f"{name}:" in message, message
    assert "out of range" in message and "2 dims" in message, message


def test_a_repeated_dim_is_refused():
    with pytest.raises(ValueError, match="sum"):
        mg.ones(2, 3).sum(dim=(1, -1))


@pytest.mark.parametrize("name, call", [
    ("transpose", lambda t: t.transpose(0, 5)),
    ("unsqueeze", lambda t: t.unsqueeze(4)),
    ("squeeze", lambda t: t.squeeze(3)),
    ("flatten", lambda t: t.flatten(0, 5)),
    ("stack", lambda t: mg.stack([t, t], dim=4)),
    ("cat", lambda t: mg.cat([t, t], dim=2)),
])
def test_shape_ops_with_an_out_of_range_dim(name, call):
    with pytest.raises(IndexError, match=name):
        call(mg.ones(2, 3))


@pytest.mark.parametrize("name, call, shapes", [
    ("reshape", lambda: mg.ones(6).reshape(4, 2), [(6,)]),
    ("expand", lambda: mg.ones(3).expand(4, 2), [(3,)]),
    ("cat", lambda: mg.cat([mg.ones(2, 3), mg.ones(2, 4)]), [(2, 3), (2, 4)]),
    ("getitem", lambda: mg.ones(3)[5], [(3,)]),
])
def test_other_shape_errors_name_the_op_and_shapes(name, call, shapes):
    with pytest.raises((ValueError, IndexError)) as info:
        call()
    message = str(info.value)
    assert name in message.lower(), message
    assert all(_mentions_shape(message, s) for s in shapes), message


def test_in_place_op_with_a_non_broadcastable_operand_names_the_op_and_shapes():
    t = mg.ones(3)
    with pytest.raises(ValueError) as info:
        t.add_(mg.ones(4))
    message = str(info.value)
    assert "add_" in message, message
    assert _mentions_shape(message, (3,)) and _mentions_shape(message, (4,)), message
    assert t.tolist() == [1.0, 1.0, 1.0]


# ---------------------------------------------------------------------------------------------
# Devices (needs a GPU: skipped, and reported as skipped, where none is usable)

needs_gpu = pytest.mark.skipif(not mg.cuda.is_available(), reason="needs CuPy and a CUDA GPU")


@needs_gpu
@pytest.mark.parametrize("op", [
    lambda a, b: a + b,
    lambda a, b: a * b,
    lambda a, b: a @ b,
    lambda a, b: mg.maximum(a, b),
    lambda a, b: mg.cat([a, b]),
], ids=["add", "mul", "matmul", "maximum", "cat"])
def test_tensors_on_different_devices_in_one_op_name_both_devices(op):
    a = mg.ones(3, 3)
    b = mg.ones(3, 3, device="cuda")
    for x, y in ((a, b), (b, a)):
        with pytest.raises(RuntimeError) as info:
            op(x, y)
        message = str(info.value)
        assert "cpu" in message and "cuda:0" in message, message


@needs_gpu
def test_backward_with_a_gradient_on_another_device_is_refused():
    x = mg.ones(3, device="cuda", requires_grad=True)
    with pytest.raises(RuntimeError, match="cuda:0") as info:
        (x * 2.0).backward(mg.ones(3))
    assert "cpu" in str(info.value)


@needs_gpu
def test_a_cuda_index_beyond_the_gpus_present_is_refused():
    n = mg.cuda.device_count()
    with pytest.raises(RuntimeError, match=f"cuda:{n}"):
        mg.zeros(2, device=f"cuda:{n}")
