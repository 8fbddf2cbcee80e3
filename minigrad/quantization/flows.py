"""Static post-training quantization and quantization-aware training, by swapping modules.

    prepared = prepare(model)          # observers after every Linear/Conv2d (+ ReLU)
    for x, _ in calibration: prepared(x)
    int8_model = convert(prepared)     # integer layers, Quantize at the input, DeQuantize out

    qat = prepare_qat(model)           # FakeQuantize on weights and outputs; train it
    fit(qat, ...); int8_model = convert(qat)

``prepare``/``prepare_qat`` copy the model and wrap it as ``Sequential(QuantStub, model,
DeQuantStub)``. Inside any ``nn.Sequential``, a Linear or Conv2d directly followed by a ReLU
is fused into one prepared layer (the ReLU becomes an Identity), as ``fuse_modules`` would.
Supported layers: Linear, Conv2d, ReLU, MaxPool2d, Flatten, Dropout and Identity (Dropout is
an identity once converted), inside Sequentials. Anything else (BatchNorm, ...) is an error
naming the layer: fold batch norm into the convolution first.

Defaults (PyTorch's x86/fbgemm settings without ``reduce_range``, which fbgemm needs only
against an overflow of its 16-bit AVX2 instruction that these kernels do not have):
activations quint8 affine per tensor (HistogramObserver for PTQ,
FakeQuantize(MovingAverageMinMaxObserver) for QAT), weights qint8 symmetric per output channel
(PerChannelMinMaxObserver, FakeQuantize(MovingAveragePerChannelMinMaxObserver) for QAT).
"""

from __future__ import annotations

import copy
from functools import partial

from ..nn.conv import Conv2d, MaxPool2d
from ..nn.layers import Dropout, Flatten, Identity, Linear, ReLU
from ..nn.module import Module, Sequential
from .fake_quantize import FakeQuantize
from .histogram import HistogramObserver
from .observers import (MovingAverageMinMaxObserver, MovingAveragePerChannelMinMaxObserver,
                        PerChannelMinMaxObserver)
from .prepared import DeQuantStub, PreparedConv2d, PreparedLinear, QuantStub, _Prepared
from .qparams import per_channel_symmetric, qint8, quint8
from .quantized_modules import (DeQuantize, Quantize, QuantizedConv2d, QuantizedFlatten,
                                QuantizedLinear, QuantizedMaxPool2d, QuantizedReLU,
                                quantize_weight)

__all__ = ["prepare", "prepare_qat", "convert", "default_observers", "default_qat_observers"]

_WEIGHT = dict(dtype=qint8, qscheme=per_channel_symmetric, ch_axis=0)


def default_observers():
    """(activation, weight) factories of static post-training quantization."""
    return (partial(HistogramObserver, dtype=quint8),
            partial(PerChannelMinMaxObserver, **_WEIGHT))


def default_qat_observers():
    """(activation, weight) factories of quantization-aware training: FakeQuantize modules."""
    return (partial(FakeQuantize, MovingAverageMinMaxObserver, dtype=quint8),
            partial(FakeQuantize, MovingAveragePerChannelMinMaxObserver, **_WEIGHT))


_PASS_THROUGH = (ReLU, MaxPool2d, Flatten, Dropout, Identity)


def _prepare_children(module: Module, activation, weight, owner: str) -> None:
    children = list(module.named_children())
    for i, (name, child) in enumerate(children):
        following = children[i + 1][1] if i + 1 < len(children) else None
        fuse = isinstance(module, Sequential) and isinstance(following, ReLU)
        if isinstance(child, (Linear, Conv2d)):
            kind = PreparedLinear if isinstance(child, Linear) else PreparedConv2d
            setattr(module, name, kind(child, fuse, weight(), activation()))
            if fuse:
                setattr(module, children[i + 1][0], Identity())
                children[i + 1] = (children[i + 1][0], Identity())
        elif isinstance(child, Sequential):
            _prepare_children(child, activation, weight, owner)
        elif not isinstance(child, _PASS_THROUGH):
            raise TypeError(f"{owner}: cannot quantize layer {name!r} ({type(child).__name__}); "
                            f"supported: Linear, Conv2d, ReLU, MaxPool2d, Flatten, Dropout, "
                            f"Identity inside Sequentials (fold BatchNorm into the layer "
                            f"before it first)")


def _prepare(model, observers, owner):
    if not isinstance(model, Module):
        raise TypeError(f"{owner}: expected an nn.Module, got {type(model).__name__}")
    activation, weight = observers
    body = copy.deepcopy(model)
    if isinstance(body, (Linear, Conv2d)):
        body = Sequential(body)
    _prepare_children(body, activation, weight, owner)
    return Sequential(QuantStub(activation()), body, DeQuantStub())


def prepare(model: Module, observers=None) -> Sequential:
    """A copy of ``model``, in eval mode, ready for calibration (static post-training
    quantization); ``observers`` = (activation factory, weight factory)."""
    return _prepare(model, observers or default_observers(), "prepare").eval()


def prepare_qat(model: Module, observers=None) -> Sequential:
    """A copy of ``model``, in training mode, with FakeQuantize on every weight and output."""
    return _prepare(model, observers or default_qat_observers(), "prepare_qat").train()


def _qparams(observer):
    scale, zero_point = observer.calculate_qparams()
    return float(scale), int(zero_point)


def _convert_layer(prepared: _Prepared):
    """The integer layer of a prepared Linear/Conv2d: weights through their observer once
    more (their final values), quantized per channel; the output's (s, z) from its observer."""
    observer = prepared.weight_fake_quant
    observer = getattr(observer, "activation_post_process", observer)  # FakeQuantize's own
    observer(prepared.weight.detach())
    w_scale, w_zero = observer.calculate_qparams()
    weight = quantize_weight(prepared.weight.data, w_scale, w_zero)
    bias = None if prepared.bias is None else prepared.bias.data.copy()
    scale, zero_point = _qparams(prepared.activation_post_process)
    if isinstance(prepared, PreparedLinear):
        return QuantizedLinear(weight, w_scale, bias, scale, zero_point, prepared.relu)
    return QuantizedConv2d(weight, w_scale, bias, scale, zero_point, prepared.relu,
                           prepared.stride, prepared.padding, prepared.dilation)


def _convert_module(child, name: str):
    if isinstance(child, _Prepared):
        return _convert_layer(child)
    if isinstance(child, QuantStub):
        return Quantize(*_qparams(child.activation_post_process))
    if isinstance(child, DeQuantStub):
        return DeQuantize()
    if isinstance(child, ReLU):
        return QuantizedReLU()
    if isinstance(child, MaxPool2d):
        from ..functions.conv import _pair
        kernel = _pair(child.kernel_size, "kernel_size", "convert", 1)
        stride = kernel if child.stride is None else _pair(child.stride, "stride", "convert", 1)
        return QuantizedMaxPool2d(kernel, stride, _pair(child.padding, "padding", "convert", 0))
    if isinstance(child, Flatten):
        return QuantizedFlatten(child.start_dim, child.end_dim)
    if isinstance(child, (Dropout, Identity)):
        return Identity()
    if isinstance(child, Sequential):
        for sub_name, sub in list(child.named_children()):
            setattr(child, sub_name, _convert_module(sub, sub_name))
        return child
    raise TypeError(f"convert: cannot convert layer {name!r} ({type(child).__name__}); "
                    f"convert takes a model from prepare() or prepare_qat() (supported: "
                    f"Linear, Conv2d, ReLU, MaxPool2d, Flatten, Dropout, Identity)")


def convert(prepared: Module) -> Sequential:
    """The integer model of a prepared (and calibrated or QAT-trained) model, in eval mode."""
    if not isinstance(prepared, Sequential) or not prepared or \
            not isinstance(prepared[0], QuantStub):
        raise TypeError(f"convert: expected a model returned by prepare() or prepare_qat(), "
                        f"got {type(prepared).__name__}")
    model = copy.deepcopy(prepared)
    return _convert_module(model, "model").eval()
