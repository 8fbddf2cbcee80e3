"""Module, Parameter, Sequential and ModuleList: registration, dotted names, traversal, modes,
devices, state_dict round trips and their errors, hooks and repr."""

from collections import OrderedDict

import numpy as np
import pytest

import minigrad as mg
from minigrad import backend, nn


class Block(nn.Module):
    """A module with a parameter, a buffer, a non-persistent buffer and a child."""

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(mg.ones(3))
        self.register_buffer("count", mg.zeros(()))
        self.register_buffer("cache", mg.zeros(2), persistent=False)
        self.inner = nn.Linear(3, 2)

    def forward(self, x):
        return self.inner(x * self.scale)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.layers = nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 1))
        self.norm = nn.BatchNorm1d(1)

    def forward(self, x):
        return self.norm(self.layers(self.first(x)))


def _cpu(t):
    return backend.to_device(t.data, "cpu")


def test_parameter_is_a_tensor_requiring_grad():
    p = nn.Parameter(mg.zeros(2, 3))
    assert isinstance(p, mg.Tensor) and p.requires_grad and p.is_leaf
    assert p.dtype == np.float32 and p.shape == (2, 3)
    assert not nn.Parameter(mg.zeros(2), requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:")
    t = mg.ones(3)
    assert nn.Parameter(t).data is t.data  # shares the tensor's data, as in PyTorch
    with pytest.raises(RuntimeError, match="floating-point"):
        nn.Parameter(mg.arange(3))
    # Ops on a Parameter give plain Tensors.
    assert type(p * 2) is mg.Tensor


def test_named_parameters_buffers_children_modules_use_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["first.scale", "first.inner.weight", "first.inner.bias",
                     "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
                     "norm.weight", "norm.bias"]
    assert [p for p in net.parameters()] == [p for _, p in net.named_parameters()]
    assert net.layers[0].weight is dict(net.named_parameters())["layers.0.weight"]
    assert [n for n, _ in net.named_buffers()] == [
        "first.count", "first.cache", "norm.running_mean", "norm.running_var",
        "norm.num_batches_tracked"]
    assert [n for n, _ in net.named_children()] == ["first", "layers", "norm"]
    assert list(net.children()) == [net.first, net.layers, net.norm]
    assert [n for n, _ in net.named_modules()] == [
        "", "first", "first.inner", "layers", "layers.0", "layers.1", "layers.2", "norm"]
    assert len(list(net.modules())) == 8
    assert [n for n, _ in net.first.named_parameters(recurse=False)] == ["scale"]
    assert [n for n, _ in net.named_parameters(prefix="model")][0] == "model.first.scale"


def test_shared_parameters_and_modules_are_listed_once():
    shared = nn.Linear(2, 2)
    seq = nn.Sequential(shared, nn.ReLU(), shared)
    assert len(list(seq.parameters())) == 2
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias"]
    assert len(list(seq.modules())) == 3  # seq, shared, relu


def test_attribute_assignment_registers_and_reassigns():
    m = nn.Module()
    m.w = nn.Parameter(mg.zeros(2))
    m.child = nn.Identity()
    m.plain = 3
    assert [n for n, _ in m.named_parameters()] == ["w"]
    assert [n for n, _ in m.named_children()] == ["child"]
    m.w = None  # a registered parameter may become None (skipped, as in PyTorch)
    assert list(m.named_parameters()) == [] and m.w is None
    with pytest.raises(TypeError, match="parameter 'w'"):
        m.w = mg.zeros(2)  # a plain Tensor cannot replace a Parameter
    m.register_buffer("buf", mg.zeros(1))
    m.buf = mg.ones(1)  # a buffer can be replaced by a tensor
    assert m.state_dict()["buf"].item() == 1
    with pytest.raises(TypeError, match="buffer 'buf'"):
        m.buf = 5
    del m.child
    assert list(m.children()) == [] and not hasattr(m, "child")
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("plain", mg.zeros(1))
    with pytest.raises(KeyError, match="'.'"):
        m.register_parameter("a.b", None)
    with pytest.raises(TypeError, match="Parameter or None"):
        m.register_parameter("q", mg.zeros(1))


def test_forgetting_super_init_is_a_clear_error():
    class Broken(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(mg.zeros(1))

    with pytest.raises(AttributeError, match="super\\(\\).__init__"):
        Broken()


def test_train_eval_propagate_to_every_descendant():
    net = Net()
    assert all(m.training for m in net.modules())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.layers.train()
    assert net.layers[1].training and not net.training and not net.first.training
    net.train()
    assert all(m.training for m in net.modules())
    with pytest.raises(ValueError):
        net.train("no")


def test_zero_grad_sets_none_or_zeros():
    net = Net()
    net(mg.randn(4, 3)).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad(set_to_none=False)
    assert all(float(np.abs(_cpu(p.grad)).max()) == 0 for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_to_keeps_parameter_identity_and_casts_floats_only(device):
    net = Net()
    net(mg.randn(4, 3)).sum().backward()
    params = list(net.parameters())
    buffers = list(net.buffers())
    assert net.to(device) is net
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert [id(b) for b in net.buffers()] == [id(b) for b in buffers]
    assert all(p.device == device and p.grad.device == device for p in params)
    assert all(b.device == device for b in buffers)
    net.double()
    assert [id(p) for p in net.parameters()] == [id(p) for p in params]
    assert all(p.dtype == np.float64 and p.grad.dtype == np.float64 for p in params)
    assert net.norm.running_mean.dtype == np.float64
    assert net.norm.num_batches_tracked.dtype == np.int64  # integer buffers keep their dtype
    out = net(mg.randn(4, 3, dtype=mg.float64, device=device))
    assert out.dtype == np.float64 and out.device == device
    net.float().cpu()
    assert all(p.dtype == np.float32 and p.device == "cpu" for p in params)
    with pytest.raises(TypeError, match="floating-point"):
        net.to(mg.int64)


def test_state_dict_holds_parameters_and_persistent_buffers_as_detached_tensors():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == [
        "first.scale", "first.count", "first.inner.weight", "first.inner.bias",
        "layers.0.weight", "layers.0.bias", "layers.2.weight", "layers.2.bias",
        "norm.weight", "norm.bias", "norm.running_mean", "norm.running_var",
        "norm.num_batches_tracked"]
    assert "first.cache" not in sd  # persistent=False
    assert all(type(v) is mg.Tensor and not v.requires_grad for v in sd.values())
    assert sd["layers.0.weight"].data is net.layers[0].weight.data  # shares memory, as PyTorch
    assert net.state_dict(keep_vars=True)["layers.0.weight"] is net.layers[0].weight


def test_state_dict_round_trip_with_tensors_and_numpy_arrays(device):
    mg.manual_seed(0)
    src = Net()
    src(mg.randn(5, 3)).sum().backward()  # moves running stats off their initial values
    x = mg.randn(6, 3)
    src.eval()
    expected = _cpu(src(x))
    for as_numpy in (False, True):
        dst = Net().to(device)
        weight = dst.layers[0].weight
        state = {k: (v.numpy() if as_numpy else v) for k, v in src.state_dict().items()}
        result = dst.load_state_dict(state)
        assert result.missing_keys == [] and result.unexpected_keys == []
        assert dst.layers[0].weight is weight  # loaded in place
        assert weight.device == device
        dst.eval()
        np.testing.assert_array_equal(_cpu(dst(x.to(device))), expected)
        for k, v in dst.state_dict().items():
            np.testing.assert_array_equal(_cpu(v), _cpu(src.state_dict()[k]))
        assert dst.norm.num_batches_tracked.item() == 1


def test_load_state_dict_errors_list_every_bad_key_and_copy_nothing():
    net = Net()
    before = {k: _cpu(v).copy() for k, v in net.state_dict().items()}
    state = OrderedDict((k, v.numpy() + 1) for k, v in Net().state_dict().items())
    del state["layers.0.bias"]
    del state["norm.running_var"]
    state["extra.weight"] = np.zeros(2)
    state["layers.2.weight"] = np.zeros((4, 1))
    with pytest.raises(RuntimeError) as info:
        net.load_state_dict(state)
    message = str(info.value)
    for key in ("layers.0.bias", "norm.running_var", "extra.weight", "layers.2.weight"):
        assert key in message
    assert "(4, 1)" in message and "(1, 4)" in message
    for k, v in net.state_dict().items():  # nothing was copied
        np.testing.assert_array_equal(_cpu(v), before[k])
    # strict=False tolerates missing and unexpected keys, never a shape mismatch.
    with pytest.raises(RuntimeError, match="layers.2.weight"):
        net.load_state_dict(state, strict=False)
    state["layers.2.weight"] = np.zeros((1, 4))
    result = net.load_state_dict(state, strict=False)
    assert result.missing_keys == ["layers.0.bias", "norm.running_var"]
    assert result.unexpected_keys == ["extra.weight"]
    np.testing.assert_array_equal(_cpu(net.layers[2].weight), 0)
    np.testing.assert_array_equal(_cpu(net.layers[0].bias), before["layers.0.bias"])


def test_apply_visits_children_then_self():
    net = Net()
    seen = []
    assert net.apply(lambda m: seen.append(type(m).__name__)) is net
    assert seen == ["Linear", "Block", "Linear", "ReLU", "Linear", "Sequential",
                    "BatchNorm1d", "Net"]

    def init_linear(m):
        if isinstance(m, nn.Linear):
            nn.init.constant_(m.weight, 0.5)

    net.apply(init_linear)
    np.testing.assert_array_equal(_cpu(net.layers[2].weight), 0.5)


def test_repr_is_a_readable_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.Sequential(nn.ReLU(), nn.Dropout(0.25)))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "    (1): Dropout(p=0.25)\n"
        "  )\n"
        ")")


def test_sequential_indexing_len_iteration_and_forward():
    a, b, c = nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)
    seq = nn.Sequential(a, b, c)
    assert len(seq) == 3 and list(seq) == [a, b, c]
    assert seq[0] is a and seq[-1] is c
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and list(sub) == [b, c]
    with pytest.raises(IndexError, match="out of range"):
        seq[3]
    x = mg.randn(5, 3)
    np.testing.assert_allclose(seq(x).data, c(b(a(x))).data, rtol=1e-6)
    named = nn.Sequential(OrderedDict([("fc", a), ("act", b)]))
    assert [n for n, _ in named.named_parameters()] == ["fc.weight", "fc.bias"]
    seq.append(nn.Identity())
    assert len(seq) == 4
    with pytest.raises(TypeError, match="not a Module"):
        nn.Sequential(a, "relu")


def test_module_list_registers_its_modules():
    layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(layers) == 3 and len(list(layers.parameters())) == 6
    layers.append(nn.Linear(2, 1))
    layers.insert(0, nn.Identity())
    assert isinstance(layers[0], nn.Identity) and layers[-1].out_features == 1
    assert [n for n, _ in layers.named_parameters()][:2] == ["1.weight", "1.bias"]
    layers[0] = nn.ReLU()
    assert isinstance(layers[0], nn.ReLU)
    assert isinstance(layers[1:3], nn.ModuleList) and len(layers[1:3]) == 2
    with pytest.raises(NotImplementedError):
        layers(mg.zeros(1))


def test_forward_pre_hook_sees_and_may_replace_inputs_and_can_be_removed():
    lin = nn.Linear(2, 2)
    seen = []

    def record(module, args):
        seen.append((module, args[0].shape))

    def double(module, args):
        return args[0] * 2  # a single value replaces args[0]

    h1 = lin.register_forward_pre_hook(record)
    h2 = lin.register_forward_pre_hook(double)
    x = mg.ones(1, 2)
    out = lin(x)
    assert seen == [(lin, (1, 2))]
    with mg.no_grad():
        expected = lin.forward(x * 2)
    np.testing.assert_allclose(out.data, expected.data)
    h2.remove()
    h1.remove()
    np.testing.assert_allclose(lin(x).data, lin.forward(x).data)
    assert len(seen) == 1


def test_custom_module_gradients_flow_to_every_parameter():
    net = Net()
    net(mg.randn(4, 3)).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.shape == p.shape, name
