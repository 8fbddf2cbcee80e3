"""minigrad.summary: rows, counts and multiply-adds against hand-computed figures, depth,
restoring the model, and the printed table."""

import json

import numpy as np
import pytest

import minigrad
from minigrad import models, nn
from minigrad.model_summary import LayerRow, ModelSummary, register_mult_adds


def _conv_out(size, kernel, padding=0, stride=1):
    return (size + 2 * padding - kernel) // stride + 1


def test_lenet_rows_against_hand_computed_shapes_params_and_mult_adds():
    batch = 3
    result = minigrad.summary(models.lenet5(), input_size=(batch, 1, 28, 28))
    h1 = _conv_out(28, 5, padding=2)          # 28
    p1 = h1 // 2                              # 14
    h2 = _conv_out(p1, 5)                     # 10
    p2 = h2 // 2                              # 5
    # name, type, output shape, params, mult-adds (N·Cout·OH·OW·Cin·kh·kw or N·out·in)
    expected = [
        ("0", "Conv2d", [batch, 6, h1, h1], 6 * 25 + 6, batch * 6 * h1 * h1 * 1 * 25),
        ("1", "ReLU", [batch, 6, h1, h1], 0, 0),
        ("2", "MaxPool2d", [batch, 6, p1, p1], 0, 0),
        ("3", "Conv2d", [batch, 16, h2, h2], 16 * 6 * 25 + 16, batch * 16 * h2 * h2 * 6 * 25),
        ("4", "ReLU", [batch, 16, h2, h2], 0, 0),
        ("5", "MaxPool2d", [batch, 16, p2, p2], 0, 0),
        ("6", "Flatten", [batch, 400], 0, 0),
        ("7", "Linear", [batch, 120], 400 * 120 + 120, batch * 120 * 400),
        ("8", "ReLU", [batch, 120], 0, 0),
        ("9", "Linear", [batch, 84], 120 * 84 + 84, batch * 84 * 120),
        ("10", "ReLU", [batch, 84], 0, 0),
        ("11", "Linear", [batch, 10], 84 * 10 + 10, batch * 10 * 84),
    ]
    root, *layers = result.rows
    assert (root.name, root.type, root.depth, root.output_shape) == ("", "Sequential", 0,
                                                                      [batch, 10])
    got = [(r.name, r.type, r.output_shape, r.num_params, r.mult_adds) for r in layers]
    assert got == expected
    assert all(r.depth == 1 for r in layers)
    assert result.total_params == 61706 == sum(e[3] for e in expected)
    assert result.total_mult_adds == root.mult_adds == sum(e[4] for e in expected)
    assert result.param_bytes == 61706 * 4 and result.buffer_bytes == 0
    assert result.input_bytes == batch * 28 * 28 * 4
    leaf_outputs = sum(int(np.prod(e[2])) for e in expected)
    assert result.activation_bytes == 2 * leaf_outputs * 4
    assert layers[0].input_shape == [batch, 1, 28, 28]


class _Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


class _Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.block = _Block()
        self.shared = nn.Linear(4 * 8 * 8, 4 * 8 * 8)
        self.head = nn.Linear(4 * 8 * 8, 3)
        self.scale = nn.Parameter(minigrad.ones(3))

    def forward(self, x):
        x = self.block(x).flatten(1)
        x = self.shared(self.shared(x))  # one module called twice
        return self.head(x) * self.scale


def test_nesting_depth_and_a_module_called_twice():
    net = _Net()
    full = minigrad.summary(net, input_size=(2, 2, 8, 8), depth=5)
    names = [r.name for r in full.rows]
    assert names == ["", "block", "block.conv", "block.norm", "block.act", "shared", "shared",
                     "head"]
    conv_macs = 2 * 4 * 8 * 8 * 2 * 9
    norm_macs = 2 * 4 * 8 * 8
    linear_macs = 2 * 256 * 256
    head_macs = 2 * 3 * 256
    by_name = {r.name: r for r in full.rows}
    assert by_name["block"].mult_adds == conv_macs + norm_macs
    assert by_name[""].mult_adds == conv_macs + norm_macs + 2 * linear_macs + head_macs
    assert by_name["block"].num_params == 4 * 2 * 9 + 4 + 4 + 4
    assert by_name[""].own_params == 3
    assert full.total_params == sum(p.numel() for p in net.parameters())  # shared: once
    shallow = minigrad.summary(net, input_size=(2, 2, 8, 8), depth=1)
    assert [r.name for r in shallow.rows] == ["", "block", "shared", "shared", "head"]
    assert shallow.total_mult_adds == full.total_mult_adds
    assert len(shallow.all_rows) == len(full.rows)
    only_model = minigrad.summary(net, input_size=(2, 2, 8, 8), depth=0)
    assert [r.name for r in only_model.rows] == [""]
    assert "\n" not in str(only_model.rows[0].output_shape)


def test_trainable_flags_and_totals():
    net = _Net()
    net.block.requires_grad_(False)
    net.head.weight.requires_grad_(False)
    result = minigrad.summary(net, input_size=(1, 2, 8, 8), depth=2)
    by_name = {r.name: r for r in result.rows}
    assert by_name["block"].trainable is False and by_name["block.act"].trainable == "--"
    assert by_name["head"].trainable == "Partial" and by_name["shared"].trainable is True
    frozen = sum(p.numel() for p in net.block.parameters()) + net.head.weight.numel()
    assert result.non_trainable_params == frozen
    assert result.trainable_params == result.total_params - frozen
    assert result.buffer_bytes == sum(b.numel() * b.dtype.itemsize for b in net.buffers())


def test_the_model_is_left_exactly_as_it_was():
    net = _Net()
    net.train()
    net.block.norm.eval()  # a mixed state must come back as it was
    mean_before = net.block.norm.running_mean.numpy().copy()
    rng_before = minigrad.get_rng_state()
    minigrad.summary(net, input_size=(2, 2, 8, 8))
    assert minigrad.get_rng_state() == rng_before  # the random input has its own generator
    assert net.training and net.block.training and not net.block.norm.training
    np.testing.assert_array_equal(net.block.norm.running_mean.numpy(), mean_before)
    assert all("forward" not in m.__dict__ for m in net.modules())
    assert all(p.grad is None for p in net.parameters())


def test_a_failing_forward_restores_everything_and_names_the_input():
    net = _Net().train()
    with pytest.raises(RuntimeError, match=r"summary: the forward pass of _Net failed on "
                                           r"inputs of shape \[1, 3, 8, 8\]"):
        minigrad.summary(net, input_size=(1, 3, 8, 8))  # 3 channels where conv wants 2
    assert all("forward" not in m.__dict__ for m in net.modules())
    assert all(m.training for m in net.modules())


def test_an_instance_forward_is_put_back():
    layer = nn.Linear(3, 2)
    own = layer.forward

    def custom(x):
        return own(x) * 2

    layer.__dict__["forward"] = custom
    result = minigrad.summary(layer, input_size=(4, 3))
    assert layer.__dict__["forward"] is custom
    assert result.rows[0].mult_adds == 4 * 2 * 3


class _TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(3, 5)
        self.b = nn.Linear(4, 5)

    def forward(self, x, y):
        return self.a(x) + self.b(y)


def test_several_inputs_given_data_and_integer_inputs():
    result = minigrad.summary(_TwoInputs(), input_size=[(2, 3), (2, 4)])
    assert result.rows[0].input_shape == [[2, 3], [2, 4]]
    assert result.total_mult_adds == 2 * 5 * 3 + 2 * 5 * 4
    given = minigrad.summary(_TwoInputs(), input_data=(minigrad.zeros(7, 3), minigrad.zeros(7, 4)))
    assert given.rows[0].output_shape == [7, 5]
    embed = nn.Sequential(nn.Embedding(10, 6), nn.Flatten(), nn.Linear(24, 2))
    result = minigrad.summary(embed, input_size=(3, 4), dtype=minigrad.int64)
    assert [r.output_shape for r in result.rows] == [[3, 2], [3, 4, 6], [3, 24], [3, 2]]
    assert result.rows[1].mult_adds == 0 and result.rows[3].mult_adds == 3 * 2 * 24


def test_register_a_mult_adds_rule():
    class Scale(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(minigrad.ones(4))

        def forward(self, x):
            return x * self.weight

    model = nn.Sequential(Scale())
    assert minigrad.summary(model, input_size=(5, 4)).total_mult_adds == 0
    register_mult_adds(Scale, lambda module, output: output.numel())
    assert minigrad.summary(model, input_size=(5, 4)).total_mult_adds == 20
    with pytest.raises(TypeError, match="register_mult_adds: expected a Module class"):
        register_mult_adds("Scale", len)


def test_the_table_and_plain_data():
    result = minigrad.summary(models.lenet5(), input_size=(1, 1, 28, 28))
    assert isinstance(result, ModelSummary) and isinstance(result.rows[1], LayerRow)
    text = str(result)
    assert text == repr(result)
    lines = text.splitlines()
    assert lines[1].split() == ["Layer", "(type)", "Output", "Shape", "Param", "#", "Trainable",
                                "Mult-Adds"]
    assert any(line.startswith("├─0 (Conv2d)") and "156" in line and "117,600" in line
               for line in lines)
    assert "Total params: 61,706" in text and "Total mult-adds (M): 0.42" in text
    assert "Params size (MB): 0.25" in text
    data = json.loads(json.dumps(result.to_dict()))
    assert data["total_params"] == 61706 and len(data["rows"]) == 13


def test_on_each_device(device):
    model = models.lenet5().to(device)
    result = minigrad.summary(model, input_size=(2, 1, 28, 28))
    assert result.rows[-1].output_shape == [2, 10]


@pytest.mark.parametrize("args, kwargs, error, message", [
    (("not a model",), {}, TypeError, "summary: model must be a minigrad.nn.Module, got str"),
    ((nn.Linear(2, 2),), {"depth": -1}, ValueError, "depth must be a non-negative int, got -1"),
    ((nn.Linear(2, 2),), {"input_size": (2, -1)}, ValueError, ("input_size must be a tuple of "
                                                              "non-negative ints")),
    ((nn.Linear(2, 2),), {"input_size": "2x2"}, ValueError, "got '2x2'"),
])
def test_bad_arguments(args, kwargs, error, message):
    with pytest.raises(error) as info:
        minigrad.summary(*args, **kwargs)
    assert message in str(info.value)
