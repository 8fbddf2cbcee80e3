"""Quantization: int8 models from float ones, with ``torch.ao.quantization``'s names.

The affine scheme. A real number x is stored as an integer code q with a scale s > 0 and an
integer zero point z:

    q  = clamp(round(x / s) + z, q_min, q_max)        (round half to even)
    x̂  = s · (q − z)                                  (|x − x̂| ≤ s/2 inside the range)

``quint8`` codes are [0, 255], ``qint8`` [−128, 127]; ``reduce_range`` drops one bit
(quint8 [0, 127], qint8 [−64, 63]). From an observed range [min, max], widened to contain 0
(min⁻ = min(min, 0), max⁺ = max(max, 0): 0.0 must be exact, for padding and ReLU):

    affine:     s = (max⁺ − min⁻) / (q_max − q_min),   z = q_min − round(min⁻ / s)
    symmetric:  s = max(|min⁻|, max⁺) / ((q_max − q_min) / 2),  z = 0 (qint8) or 128 (quint8)

(s at least the float32 epsilon, z clamped into the range). Per tensor there is one (s, z);
per channel, one per slice along an axis (a weight's output channels). Activations are
quint8 affine per tensor, weights qint8 symmetric per output channel.

- primitives: :func:`quantize_per_tensor`, :func:`quantize_per_channel`, :func:`dequantize`,
  :class:`QuantizedTensor`; the differentiable :func:`fake_quantize_per_tensor_affine`,
  :func:`fake_quantize_per_channel_affine` (straight-through gradient) and :class:`FakeQuantize`
- observers: :class:`MinMaxObserver`, :class:`MovingAverageMinMaxObserver`,
  :class:`PerChannelMinMaxObserver`, :class:`MovingAveragePerChannelMinMaxObserver`,
  :class:`HistogramObserver`; all through :func:`qparams_from_range`
- flows: :func:`quantize_dynamic`; :func:`prepare` → calibrate → :func:`convert`;
  :func:`prepare_qat` → train → :func:`convert`; sizes: :func:`size_report`,
  :func:`print_size`, :func:`saved_size`
- integer kernels: :mod:`minigrad.quantization.kernels`
"""

from .dynamic import DynamicQuantizedLinear, quantize_dynamic
from .fake_quantize import (FakeQuantize, fake_quantize_per_channel_affine,
                            fake_quantize_per_tensor_affine)
from .flows import convert, default_observers, default_qat_observers, prepare, prepare_qat
from .histogram import HistogramObserver
from .observers import (MinMaxObserver, MovingAverageMinMaxObserver,
                        MovingAveragePerChannelMinMaxObserver, ObserverBase,
                        PerChannelMinMaxObserver)
from .prepared import DeQuantStub, QuantStub
from .qparams import (per_channel_affine, per_channel_symmetric, per_tensor_affine,
                      per_tensor_symmetric, qint8, qint32, qparams_from_range, qrange, quint8)
from .qtensor import QuantizedTensor, dequantize, quantize_per_channel, quantize_per_tensor
from .quantized_modules import (DeQuantize, Quantize, QuantizedConv2d, QuantizedFlatten,
                                QuantizedLinear, QuantizedMaxPool2d, QuantizedReLU)
from .report import calibrate, measure
from .size import print_size, saved_size, size_report

__all__ = [
    "qint8", "quint8", "qint32", "per_tensor_affine", "per_tensor_symmetric",
    "per_channel_affine", "per_channel_symmetric", "qrange", "qparams_from_range",
    "QuantizedTensor", "quantize_per_tensor", "quantize_per_channel", "dequantize",
    "fake_quantize_per_tensor_affine", "fake_quantize_per_channel_affine", "FakeQuantize",
    "ObserverBase", "MinMaxObserver", "MovingAverageMinMaxObserver", "PerChannelMinMaxObserver",
    "MovingAveragePerChannelMinMaxObserver", "HistogramObserver",
    "quantize_dynamic", "DynamicQuantizedLinear", "prepare", "prepare_qat", "convert",
    "default_observers", "default_qat_observers", "QuantStub", "DeQuantStub",
    "Quantize", "DeQuantize", "QuantizedLinear", "QuantizedConv2d", "QuantizedReLU",
    "QuantizedMaxPool2d", "QuantizedFlatten", "size_report", "print_size", "saved_size",
    "calibrate", "measure",
]
