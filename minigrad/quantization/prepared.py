"""The layers of a prepared model (after ``prepare`` or ``prepare_qat``, before ``convert``).

- :class:`QuantStub` / :class:`DeQuantStub`: where the quantized part begins and ends; the
  stub's ``activation_post_process`` watches the model's input.
- :class:`PreparedLinear` / :class:`PreparedConv2d`: the float layer (the same Parameters,
  so QAT trains them), an optional fused ReLU, ``weight_fake_quant`` (QAT: a FakeQuantize on
  the weight; static PTQ: an observer used at convert only) and ``activation_post_process``
  (an observer of the output, or a FakeQuantize in QAT):

      y = act(layer(x, weight_fake_quant(W), b)),   then activation_post_process(y)
"""

from __future__ import annotations

from ..functions.conv import conv2d
from ..nn import functional as F
from ..nn.module import Module
from .fake_quantize import FakeQuantize

__all__ = ["QuantStub", "DeQuantStub", "PreparedLinear", "PreparedConv2d"]


class QuantStub(Module):
    """Identity that observes (or fake-quantizes, in QAT) the tensor entering the
    quantized part; ``convert`` turns it into a ``Quantize``."""

    def __init__(self, activation_post_process):
        super().__init__()
        self.activation_post_process = activation_post_process

    def forward(self, x):
        return self.activation_post_process(x)


class DeQuantStub(Module):
    """Identity here; ``convert`` turns it into a ``DeQuantize``."""

    def forward(self, x):
        return x


class _Prepared(Module):
    def __init__(self, layer, relu: bool, weight_fake_quant, activation_post_process):
        super().__init__()
        self.weight = layer.weight
        self.bias = layer.bias
        self.relu = bool(relu)
        self.weight_fake_quant = weight_fake_quant
        self.activation_post_process = activation_post_process

    def _weight(self):
        if isinstance(self.weight_fake_quant, FakeQuantize):
            return self.weight_fake_quant(self.weight)
        return self.weight

    def _float_forward(self, x, weight):
        raise NotImplementedError

    def forward(self, x):
        y = self._float_forward(x, self._weight())
        if self.relu:
            y = F.relu(y)
        return self.activation_post_process(y)


class PreparedLinear(_Prepared):
    """Linear (+ ReLU) with its observers / fake-quantizers."""

    def _float_forward(self, x, weight):
        return F.linear(x, weight, self.bias)


class PreparedConv2d(_Prepared):
    """Conv2d (+ ReLU) with its observers / fake-quantizers."""

    def __init__(self, layer, relu, weight_fake_quant, activation_post_process):
        super().__init__(layer, relu, weight_fake_quant, activation_post_process)
        self.stride, self.padding, self.dilation = layer.stride, layer.padding, layer.dilation

    def _float_forward(self, x, weight):
        return conv2d(x, weight, self.bias, self.stride, self.padding, self.dilation)
