"""The Tensor itself: creation and its dtype rules, factories, seeding, dtype promotion, casts,
conversions, attributes, comparisons, repr, hashing and indexing (values against NumPy,
gradients against central differences)."""

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend


def cpu(t):
    return backend.to_device(t.data if isinstance(t, mg.Tensor) else t, "cpu")


# ---------------------------------------------------------------------------------------------
# tensor(): dtypes, copying, from_numpy


@pytest.mark.parametrize("data, dtype, shape", [
    (1.5, mg.float32, ()),
    ([1.0, 2.0], mg.float32, (2,)),
    ([1, 2.5], mg.float32, (2,)),
    (3, mg.int64, ()),
    ([[1, 2], [3, 4]], mg.int64, (2, 2)),
    (True, mg.bool_, ()),
    ([True, False], mg.bool_, (2,)),
    ([True, 2], mg.int64, (2,)),
    ([], mg.float32, (0,)),
], ids=["float", "floats", "mixed", "int", "ints", "bool", "bools", "bool-int", "empty"])
def test_tensor_from_python_follows_pytorch_dtypes(data, dtype, shape, device):
    t = mg.tensor(data, device=device)
    assert t.dtype == dtype and t.shape == shape
    assert t.device == device
    np.testing.assert_array_equal(cpu(t), np.asarray(data, dtype=dtype))


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.int32, np.int64, np.uint8,
                                   np.bool_])
def test_tensor_from_a_numpy_array_keeps_its_dtype(dtype, device):
    a = np.arange(6).reshape(2, 3).astype(dtype)
    t = mg.tensor(a, device=device)
    assert t.dtype == dtype and t.shape == (2, 3)
    np.testing.assert_array_equal(cpu(t), a)


def test_tensor_from_numpy_scalars_keeps_their_dtype():
    assert mg.tensor(np.float64(2.0)).dtype == mg.float64
    assert mg.tensor(np.float32(2.0)).dtype == mg.float32
    assert mg.tensor(np.int32(2)).dtype == mg.int32


def test_tensor_with_an_explicit_dtype():
    assert mg.tensor([1, 2], dtype=mg.float64).dtype == mg.float64
    assert mg.tensor(np.ones(2), dtype=mg.float32).dtype == mg.float32
    assert mg.tensor([1.7, -1.7], dtype=mg.int64).tolist() == [1, -1]


def test_tensor_copies_its_input():
    a = np.array([1.0, 2.0])
    t = mg.tensor(a)
    a[0] = 100.0
    assert t.tolist() == [1.0, 2.0]
    u = mg.tensor(t)
    t.data[1] = 50.0
    assert u.tolist() == [1.0, 2.0]
    assert not np.shares_memory(u.data, t.data)


def test_tensor_of_a_tensor_does_not_keep_its_graph():
    x = mg.tensor([1.0], requires_grad=True)
    y = mg.tensor(x * 2.0)
    assert y.grad_fn is None and not y.requires_grad


def test_from_numpy_shares_memory_both_ways():
    a = np.array([1.0, 2.0, 3.0])
    t = mg.from_numpy(a)
    assert t.dtype == mg.float64
    a[0] = 10.0
    assert t.tolist()[0] == 10.0
    t[1] = 20.0
    assert a[1] == 20.0
    with pytest.raises(TypeError, match="from_numpy"):
        mg.from_numpy([1.0, 2.0])


def test_tensor_from_something_that_is_not_numeric_raises():
    with pytest.raises(TypeError, match="tensor"):
        mg.tensor("abc")
    with pytest.raises(TypeError, match="tensor"):
        mg.tensor([object()])


# ---------------------------------------------------------------------------------------------
# Factories


@pytest.mark.parametrize("make, dtype, expected", [
    (lambda d: mg.zeros(2, 3, device=d), mg.float32, np.zeros((2, 3))),
    (lambda d: mg.zeros((2, 3), device=d), mg.float32, np.zeros((2, 3))),
    (lambda d: mg.ones(4, device=d, dtype=mg.float64), mg.float64, np.ones(4)),
    (lambda d: mg.ones([2, 2], device=d, dtype=mg.int64), mg.int64, np.ones((2, 2))),
    (lambda d: mg.full((2, 2), 1.5, device=d), mg.float32, np.full((2, 2), 1.5)),
    (lambda d: mg.full((3,), 7, device=d), mg.int64, np.full(3, 7)),
    (lambda d: mg.full((2,), True, device=d), mg.bool_, np.full(2, True)),
    (lambda d: mg.full(3, 2.0, device=d), mg.float32, np.full(3, 2.0)),
    (lambda d: mg.arange(5, device=d), mg.int64, np.arange(5)),
    (lambda d: mg.arange(1, 7, 2, device=d), mg.int64, np.arange(1, 7, 2)),
    (lambda d: mg.arange(0, 1, 0.25, device=d), mg.float32, np.arange(0, 1, 0.25)),
    (lambda d: mg.arange(3.0, device=d), mg.float32, np.arange(3.0)),
    (lambda d: mg.linspace(0, 1, 5, device=d), mg.float32, np.linspace(0, 1, 5)),
    (lambda d: mg.eye(3, device=d), mg.float32, np.eye(3)),
    (lambda d: mg.eye(2, 3, device=d), mg.float32, np.eye(2, 3)),
    (lambda d: mg.zeros_like(mg.tensor([1, 2], device=d)), mg.int64, np.zeros(2)),
    (lambda d: mg.ones_like(mg.tensor([1.0, 2.0], device=d)), mg.float32, np.ones(2)),
    (lambda d: mg.ones_like(mg.tensor([1, 2], device=d), dtype=mg.float64), mg.float64,
     np.ones(2)),
    (lambda d: mg.zeros_like(mg.ones(2, device=d), dtype=mg.float64), mg.float64, np.zeros(2)),
    (lambda d: mg.full_like(mg.ones(2, 2, device=d), 3.5), mg.float32, np.full((2, 2), 3.5)),
], ids=lambda v: "" if callable(v) or isinstance(v, np.ndarray) else str(v))
def test_factories_values_and_dtypes(make, dtype, expected, device):
    t = make(device)
    assert t.dtype == dtype
    assert t.device == device
    assert t.shape == expected.shape
    np.testing.assert_array_equal(cpu(t), expected.astype(dtype))
    assert not t.requires_grad and t.is_leaf


def test_float_factories_can_require_grad_and_integer_ones_cannot():
    for t in (mg.zeros(2, requires_grad=True), mg.ones(2, requires_grad=True),
              mg.rand(2, requires_grad=True), mg.randn(2, requires_grad=True),
              mg.full((2,), 1.0, requires_grad=True), mg.linspace(0, 1, 3, requires_grad=True)):
        assert t.requires_grad and t.is_leaf
    for make in (lambda: mg.zeros(2, dtype=mg.int64, requires_grad=True),
                 lambda: mg.arange(3, requires_grad=True),
                 lambda: mg.full((2,), True, requires_grad=True)):
        with pytest.raises(RuntimeError, match="floating"):
            make()


def test_random_factories_dtypes_shapes_and_ranges(device):
    mg.manual_seed(0)
    u = mg.rand(1000, device=device)
    assert u.dtype == mg.float32 and u.shape == (1000,) and u.device == device
    assert 0.0 <= float(cpu(u).min()) and float(cpu(u).max()) < 1.0
    n = mg.randn(20, 50, device=device, dtype=mg.float64)
    assert n.dtype == mg.float64 and n.shape == (20, 50)
    assert abs(float(cpu(n).mean())) < 0.2 and 0.8 < float(cpu(n).std()) < 1.2
    k = mg.randint(3, 7, (500,), device=device)
    assert k.dtype == mg.int64 and set(np.unique(cpu(k))) == {3, 4, 5, 6}
    k0 = mg.randint(4, size=(2, 3), device=device)
    assert k0.shape == (2, 3) and cpu(k0).min() >= 0 and cpu(k0).max() < 4


def test_manual_seed_makes_random_factories_reproducible(device):
    def draw():
        return (cpu(mg.rand(5, device=device)), cpu(mg.randn(2, 3, device=device)),
                cpu(mg.randint(0, 100, (6,), device=device)))

    mg.manual_seed(1234)
    first = draw()
    mg.manual_seed(1234)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    mg.manual_seed(4321)
    third = draw()
    assert not np.array_equal(first[0], third[0])
    assert not np.array_equal(first[1], third[1])


def test_successive_draws_differ():
    mg.manual_seed(0)
    assert not np.array_equal(cpu(mg.rand(8)), cpu(mg.rand(8)))


# ---------------------------------------------------------------------------------------------
# dtype rules (DESIGN.md decision 5)


f32 = lambda *v: mg.tensor(np.array(v or [1.0, 2.0], dtype=np.float32))  # noqa: E731
f64 = lambda *v: mg.tensor(np.array(v or [1.0, 2.0], dtype=np.float64))  # noqa: E731
i64 = lambda *v: mg.tensor(np.array(v or [1, 2], dtype=np.int64))  # noqa: E731
i32 = lambda *v: mg.tensor(np.array(v or [1, 2], dtype=np.int32))  # noqa: E731
b8 = lambda *v: mg.tensor(np.array(v or [True, False]))  # noqa: E731


@pytest.mark.parametrize("expr, dtype", [
    (lambda: f32() * 2.5, mg.float32),
    (lambda: f32() + 1, mg.float32),
    (lambda: f32() ** 2, mg.float32),
    (lambda: 2.5 / f32(), mg.float32),
    (lambda: 1 - f32(), mg.float32),
    (lambda: f32() * np.float64(2.0), mg.float32),
    (lambda: f32() + np.sqrt(2.0), mg.float32),
    (lambda: np.float64(3.0) * f32(), mg.float32),
    (lambda: f32() * np.ones(3).sum(), mg.float32),  # a float64 array's .sum()
    (lambda: f32() * np.int64(3), mg.float32),
    (lambda: mg.maximum(f32(), 0.5), mg.float32),
    (lambda: mg.where(f32() > 1.5, f32(), 0.0), mg.float32),
    (lambda: f32().clamp(min=np.float64(0.5)), mg.float32),
    (lambda: f64() * 2.5, mg.float64),
    (lambda: i64() * 2.5, mg.float32),
    (lambda: 2.5 * i64(), mg.float32),
    (lambda: i64() * np.float64(2.5), mg.float32),
    (lambda: i64() + 1, mg.int64),
    (lambda: i64() * 3, mg.int64),
    (lambda: i64() / 2, mg.float32),
    (lambda: i64() / i64(), mg.float32),
    (lambda: i32() + 1, mg.int32),
    (lambda: i32() + i64(), mg.int64),
    (lambda: f32() + f64(), mg.float64),
    (lambda: f64() * f32(), mg.float64),
    (lambda: f32() + i64(), mg.float32),
    (lambda: i64() * f32(), mg.float32),
    (lambda: f64() + i32(), mg.float64),
    (lambda: b8() + 1, mg.int64),
    (lambda: b8() * 2.5, mg.float32),
    (lambda: b8() * f32(), mg.float32),
], ids=lambda v: "" if callable(v) else str(v))
def test_result_dtypes(expr, dtype):
    assert expr().dtype == dtype


def test_a_0d_float64_tensor_does_not_upcast_a_float32_tensor():
    # PyTorch: a 0-d tensor takes part in promotion like a scalar of its category, so
    # float32[n] * float64[] is float32 (a float64 loss scale or a float64 array's .sum()
    # wrapped in a tensor does not double the memory of the activations).
    scale = mg.tensor(np.float64(0.5))
    assert scale.ndim == 0
    assert (f32() * scale).dtype == mg.float32
    assert (scale + f32()).dtype == mg.float32


def test_a_negative_zero_scalar_is_not_confused_with_zero():
    # Python scalars become cached constants; -0.0 == 0.0 (and they hash alike), so a cache
    # keyed by value alone hands back +0.0 for -0.0, flipping the sign of zero products
    # (1 / (x * -0.0) is -inf for x > 0 in NumPy and PyTorch).
    x = f32(1.0, -2.0)
    with np.errstate(divide="ignore"):
        assert cpu(1.0 / (x * 0.0)).tolist() == [np.inf, -np.inf]
        assert cpu(1.0 / (x * -0.0)).tolist() == [-np.inf, np.inf]


def test_values_of_mixed_dtype_ops():
    np.testing.assert_allclose(cpu(i64(1, 2) * 2.5), [2.5, 5.0])
    np.testing.assert_allclose(cpu(i64(1, 3) / i64(2, 2)), [0.5, 1.5])
    np.testing.assert_array_equal(cpu(b8(True, False) + 1), [2, 1])


def test_integer_and_bool_tensors_never_require_grad():
    with pytest.raises(RuntimeError, match="floating"):
        mg.tensor([1, 2], requires_grad=True)
    with pytest.raises(RuntimeError, match="floating"):
        i64().requires_grad_()
    with pytest.raises(RuntimeError, match="floating"):
        b8().requires_grad = True
    x = mg.tensor([0.5, 1.5], requires_grad=True)
    for out in (x.long(), x.int(), x.bool(), x > 1.0, x.argmax(), (x * 2.0).long() + 1):
        assert not out.requires_grad and out.grad_fn is None
    k = i64(2, 3)
    (k * x).sum().backward()
    assert k.grad is None
    np.testing.assert_array_equal(cpu(x.grad), [2.0, 3.0])


# ---------------------------------------------------------------------------------------------
# Casts


@pytest.mark.parametrize("cast, dtype", [
    (lambda t: t.double(), mg.float64),
    (lambda t: t.to(mg.float64), mg.float64),
    (lambda t: t.to(dtype=mg.float64), mg.float64),
    (lambda t: t.to("cpu", mg.float64), mg.float64),
    (lambda t: t.to(np.float64), mg.float64),
], ids=["double", "to", "to-kw", "to-device-dtype", "to-np"])
def test_differentiable_cast_gives_the_gradient_in_the_original_dtype(cast, dtype):
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = cast(x)
    assert y.dtype == dtype and y.requires_grad and y.grad_fn is not None
    (y * mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)).sum().backward()
    assert x.grad.dtype == mg.float32
    np.testing.assert_array_equal(cpu(x.grad), [1.0, 2.0, 3.0])


def test_float_of_a_float64_tensor_sends_a_float64_gradient_back():
    x = mg.tensor([0.5, 0.25], dtype=mg.float64, requires_grad=True)
    y = x.float()
    assert y.dtype == mg.float32
    (y * 4.0).sum().backward()
    assert x.grad.dtype == mg.float64
    np.testing.assert_array_equal(cpu(x.grad), [4.0, 4.0])


def test_casts_to_the_same_dtype_or_device_return_self():
    x = mg.tensor([1.0], requires_grad=True)
    assert x.float() is x and x.to(mg.float32) is x and x.to("cpu") is x and x.cpu() is x


def test_long_truncates_and_float_of_ints():
    assert mg.tensor([1.7, -1.7, 2.0]).long().tolist() == [1, -1, 2]
    assert mg.tensor([1.7]).long().dtype == mg.int64
    t = i64(1, 2).float()
    assert t.dtype == mg.float32 and t.tolist() == [1.0, 2.0]
    assert i64(1, 2).double().dtype == mg.float64


# ---------------------------------------------------------------------------------------------
# Conversions and attributes


def test_item(device):
    assert mg.tensor(2.5, device=device).item() == 2.5
    assert type(mg.tensor(2.5, device=device).item()) is float
    assert type(mg.tensor([[3]], device=device).item()) is int
    assert mg.tensor([True], device=device).item() is True
    x = mg.tensor([4.0], requires_grad=True, device=device)
    assert x.item() == 4.0  # allowed while requiring grad, as in PyTorch


def test_tolist(device):
    assert mg.tensor([[1, 2], [3, 4]], device=device).tolist() == [[1, 2], [3, 4]]
    assert mg.tensor(1.5, device=device).tolist() == 1.5
    assert mg.tensor([], device=device).tolist() == []


def test_numpy_shares_memory_on_cpu_and_is_refused_while_requiring_grad():
    t = mg.tensor([1.0, 2.0])
    a = t.numpy()
    assert isinstance(a, np.ndarray) and np.shares_memory(a, t.data)
    a[0] = 9.0
    assert t.tolist()[0] == 9.0
    x = mg.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="detach"):
        x.numpy()
    np.testing.assert_array_equal(x.detach().numpy(), [1.0])


def test_numpy_from_device(device):
    a = mg.tensor([1.0, 2.0], device=device).numpy()
    assert isinstance(a, np.ndarray)
    np.testing.assert_array_equal(a, [1.0, 2.0])


def test_detach_and_clone(device):
    x = mg.tensor([1.0, 2.0], requires_grad=True, device=device)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf
    d.data[0] = 5.0  # shared
    assert x.tolist()[0] == 5.0
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    assert not (device == "cpu" and np.shares_memory(c.data, x.data))
    with mg.no_grad():
        c.data[1] = -1.0
    assert x.tolist()[1] == 2.0
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(cpu(x.grad), [3.0, 3.0])
    plain = mg.tensor([1.0]).clone()
    assert not plain.requires_grad and plain.grad_fn is None


def test_shape_attributes(device):
    t = mg.zeros(2, 3, 4, device=device)
    assert t.shape == (2, 3, 4) and isinstance(t.shape, tuple)
    assert t.ndim == 3 and t.dim() == 3
    assert t.size() == (2, 3, 4) and t.size(1) == 3 and t.size(-1) == 4
    assert t.numel() == 24 and isinstance(t.numel(), int)
    assert len(t) == 2
    assert t.is_leaf
    assert isinstance(t.device, mg.Device) and t.device == device
    s = mg.tensor(1.0)
    assert s.shape == () and s.ndim == 0 and s.numel() == 1
    with pytest.raises(TypeError):
        len(s)


def test_is_leaf_and_requires_grad_flags():
    x = mg.tensor([1.0], requires_grad=True)
    y = x * 2.0
    assert x.is_leaf and not y.is_leaf and y.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    with pytest.raises(RuntimeError, match="leaf"):
        y.requires_grad_(False)
    c = mg.tensor([1.0]) * 2.0  # no input requires grad: a leaf, as in PyTorch
    assert c.is_leaf and not c.requires_grad


def test_iteration_gives_rows():
    t = mg.tensor([[1, 2], [3, 4]])
    assert [r.tolist() for r in t] == [[1, 2], [3, 4]]


# ---------------------------------------------------------------------------------------------
# Comparisons


@pytest.mark.parametrize("op, ref", [
    (lambda a, b: a == b, np.equal), (lambda a, b: a != b, np.not_equal),
    (lambda a, b: a < b, np.less), (lambda a, b: a <= b, np.less_equal),
    (lambda a, b: a > b, np.greater), (lambda a, b: a >= b, np.greater_equal),
], ids=["eq", "ne", "lt", "le", "gt", "ge"])
def test_comparisons_give_bool_tensors_without_grad(op, ref, device):
    av = np.array([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])
    bv = np.array([2.0, 2.0, 2.0])
    a = mg.tensor(av, requires_grad=True, device=device)
    b = mg.tensor(bv, device=device)
    for other, other_ref in ((b, bv), (2.0, 2.0), (2, 2)):
        out = op(a, other)
        assert out.dtype == mg.bool_
        assert not out.requires_grad and out.grad_fn is None
        np.testing.assert_array_equal(cpu(out), ref(av, other_ref))


def test_comparison_results_hold_arrays_even_when_0d():
    # DESIGN decision 1: a tensor's data is an ndarray; NumPy returns a bare np.bool_ for 0-d
    # comparisons, which breaks .data users (in-place assignment, .data.shape on CuPy, ...).
    s = mg.tensor(1.0)
    for out in (s == 1.0, s > 0.0, mg.tensor([1.0, 2.0]).any(), mg.tensor([1.0]).all()):
        assert isinstance(out.data, np.ndarray), type(out.data)
        assert out.shape == ()


# ---------------------------------------------------------------------------------------------
# repr, hash


def test_repr_is_readable():
    x = mg.tensor([[1.0, 2.5], [3.0, 4.0]], requires_grad=True)
    r = repr(x)
    assert r.startswith("tensor(") and "2.5" in r and "requires_grad=True" in r
    assert "grad_fn=<Mul>" in repr(x * 2.0)
    assert "dtype=float64" in repr(mg.tensor([1.0], dtype=mg.float64))
    assert "dtype" not in repr(mg.tensor([1.0])) and "dtype" not in repr(mg.tensor([1]))
    assert repr(mg.tensor(3)) == "tensor(3)"
    assert "requires_grad" not in repr(mg.tensor([1.0]))
    assert repr(mg.zeros(0)).startswith("tensor(")


def test_hash_is_by_identity():
    a, b = mg.tensor([1.0, 2.0]), mg.tensor([1.0, 2.0])
    assert hash(a) != hash(b) or a is b
    table = {a: "a", b: "b"}
    assert table[a] == "a" and table[b] == "b" and len({a, b}) == 2
    h = hash(a)
    a.add_(1.0)
    assert hash(a) == h and table[a] == "a"


# ---------------------------------------------------------------------------------------------
# Indexing


_X = np.arange(60, dtype=np.float64).reshape(3, 4, 5) / 7.0

_INDICES = {
    "int": 1,
    "negative-int": -1,
    "slice": slice(0, 2),
    "step-slice": (slice(None), slice(None, None, 2)),
    "negative-step": (slice(None, None, -1), 2),
    "int-int-int": (2, 1, 3),
    "none": None,
    "none-mixed": (None, slice(1, 3), None, 0),
    "ellipsis": (Ellipsis, 1),
    "ellipsis-first": (0, Ellipsis),
    "ellipsis-none": (Ellipsis, None),
    "int-list": [0, 2, 2],
    "int-array-2d": np.array([[0, 1], [2, 0]]),
    "two-int-arrays": (np.array([0, 1, 1]), np.array([3, 3, 0])),
    "array-and-slice": (slice(None), [1, 1, 0]),
    "array-slice-array": (np.array([0, 2]), slice(1, 3), np.array([4, 4])),
    "negative-int-array": np.array([-1, 0, -1]),
    "bool-mask-full": _X > 4.0,
    "bool-mask-first-axis": np.array([True, False, True]),
    "bool-list": [False, True, True],
    "mask-and-int": (np.array([True, False, True]), 2),
}


def _tensorize(index, device):
    """The same index with arrays turned into minigrad Tensors (to test Tensor indices)."""
    items = index if isinstance(index, tuple) else (index,)
    out = tuple(mg.tensor(i, device=device) if isinstance(i, np.ndarray) else i for i in items)
    return out if isinstance(index, tuple) else out[0]


@pytest.mark.parametrize("name", list(_INDICES))
@pytest.mark.parametrize("as_tensor", [False, True], ids=["raw", "tensor-index"])
def test_indexing_values_match_numpy(name, as_tensor, device):
    index = _INDICES[name]
    x = mg.tensor(_X, device=device)
    got = x[_tensorize(index, device) if as_tensor else index]
    expected = _X[index]
    assert got.shape == np.shape(expected)
    assert got.dtype == mg.float64
    np.testing.assert_array_equal(cpu(got), expected)


@pytest.mark.parametrize("name", list(_INDICES))
def test_indexing_gradient_matches_central_differences(name, device):
    index = _INDICES[name]
    x = mg.tensor(_X, device=device, requires_grad=True)
    assert mg.gradcheck(lambda t: t[index], [x])


def test_indexing_with_a_0d_integer_tensor():
    x = mg.tensor(_X)
    np.testing.assert_array_equal(cpu(x[mg.tensor(2)]), _X[2])
    np.testing.assert_array_equal(cpu(x[0, mg.tensor(1)]), _X[0, 1])


def test_repeated_integer_indices_accumulate_gradient(device):
    x = mg.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True, device=device)
    x[[0, 0, 0, 2, 3, 3]].sum().backward()
    np.testing.assert_array_equal(cpu(x.grad), [3.0, 0.0, 1.0, 2.0])
    m = mg.tensor(np.zeros((2, 3)), requires_grad=True, device=device)
    g = np.array([1.0, 10.0, 100.0])
    m[[1, 1, 0], [2, 2, 2]].backward(g)
    np.testing.assert_array_equal(cpu(m.grad), [[0, 0, 100.0], [0, 0, 11.0]])


def test_boolean_mask_gradient_is_the_mask(device):
    xv = np.array([[-1.0, 2.0], [3.0, -4.0]])
    x = mg.tensor(xv, requires_grad=True, device=device)
    x[x > 0].sum().backward()
    np.testing.assert_array_equal(cpu(x.grad), (xv > 0).astype(float))


def test_index_out_of_range_raises_index_error():
    with pytest.raises(IndexError):
        mg.tensor([1.0, 2.0])[2]
    with pytest.raises(IndexError):
        mg.tensor([1.0, 2.0])[[0, 5]]


def test_setitem_with_the_index_forms_under_no_grad():
    xv = _X.copy()
    t = mg.tensor(xv)
    t[t > 5.0] = 0.0
    xv[xv > 5.0] = 0.0
    t[mg.tensor([0, 2]), 1] = -1.0
    xv[[0, 2], 1] = -1.0
    t[..., 0] = mg.tensor(np.full(4, 9.0))[None]
    xv[..., 0] = 9.0
    np.testing.assert_array_equal(cpu(t), xv)
