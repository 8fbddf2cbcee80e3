"""Structured shrinking: turn the zeroed channels of structured pruning into a smaller model.

After ``ln_structured(layer, 'weight', amount, n, dim=0)`` a pruned output unit (a Linear
row, a Conv2d filter) still exists: its weights are 0, so it outputs its bias b_o alone, and
every later layer still computes with it. ``shrink(model)`` removes it for real:

- the layer is rebuilt with the kept rows only (weight and bias), and any BatchNorm between
  it and the next weighted layer keeps the same channels (γ, β, running mean and variance);
- the next Linear/Conv2d loses the matching inputs (columns; for a Linear after Flatten, the
  H·W columns of each removed channel);
- a removed unit was not silent: it carried the constant c_o = f(b_o), with f the layers in
  between (BatchNorm in eval mode, activation, pooling of a constant map). The next layer
  received W_next[:, o] · c_o, so that goes into its bias:

      b_next ← b_next + Σ_{o removed} W_next[:, o] · c_o      (Linear)
      b_next ← b_next + Σ_{o removed} (Σ_{i,j} W_next[:, o, i, j]) · c_o   (Conv2d, no padding)

so the smaller model computes what the masked one did (in eval mode), up to rounding. Weights
come out plain (pruning masks applied and gone). A padded convolution cannot absorb a removed
channel with c_o ≠ 0 (the border taps see the padding instead): that is an error.

Works on an ``nn.Sequential`` of Linear, Conv2d, BatchNorm1d/2d, activations, MaxPool2d,
Dropout, Identity and one Flatten between the convolutions and the dense part (as
``minigrad.models.mlp`` and ``lenet5`` build them). The last weighted layer keeps its outputs.
"""

from __future__ import annotations

import copy

from ...conv import Conv2d, MaxPool2d
from ...layers import (GELU, BatchNorm1d, BatchNorm2d, Dropout, Flatten, Identity, LeakyReLU,
                       Linear, ReLU, Sigmoid, Tanh)
from ...module import Parameter, Sequential
from ....autograd import no_grad
from ....backend import array_module
from ....tensor import Tensor

__all__ = ["shrink", "kept_units"]

_BETWEEN = (ReLU, LeakyReLU, Tanh, Sigmoid, GELU, Dropout, Identity, BatchNorm1d, BatchNorm2d,
            MaxPool2d, Flatten)
_PROBE_SIDE = 16   # the side of the constant maps pushed through pooling layers


def _effective_weight(layer):
    """The weight the layer computes with: weight_orig ⊙ weight_mask when pruned."""
    if "weight_orig" in layer._parameters:
        return layer._parameters["weight_orig"].data * layer._buffers["weight_mask"].data
    return layer.weight.data


def kept_units(layer):
    """Indices of the output units whose pruning mask is not entirely zero (all units of an
    unpruned layer), as an integer array on the layer's device."""
    weight = layer._parameters.get("weight_orig", layer._parameters.get("weight"))
    xp = array_module(weight.data)
    mask = layer._buffers.get("weight_mask")
    if mask is None:
        return xp.arange(weight.shape[0])
    alive = (mask.data.reshape(mask.shape[0], -1) != 0).any(axis=1)
    return xp.nonzero(alive)[0]


def _constants(bias, between, conv: bool):
    """c_o = f(b_o) for every unit: the bias pushed through the layers in between (eval mode,
    no graph), as a constant vector, or a constant map for convolutions."""
    xp = array_module(bias)
    shape = (1, bias.shape[0]) + ((_PROBE_SIDE, _PROBE_SIDE) if conv else ())
    probe = Tensor(xp.broadcast_to(bias.reshape((1, -1) + (1,) * (len(shape) - 2)), shape)
                   .copy())
    modes = [m.training for m in between]
    with no_grad():
        for m in between:
            if isinstance(m, Flatten):
                continue
            m.eval()
            probe = m(probe)
    for m, mode in zip(between, modes):
        m.train(mode)
    values = probe.data.reshape(probe.shape[0], probe.shape[1], -1)[0]
    return values[:, 0]


def _plain_layer(layer, weight, bias):
    """A fresh Linear/Conv2d with these (plain) weights, other settings as ``layer``'s."""
    if isinstance(layer, Linear):
        new = Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    else:
        new = Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]), layer.stride,
                     layer.padding, layer.dilation, bias=bias is not None)
    new.weight = Parameter(Tensor(weight))
    if bias is not None:
        new.bias = Parameter(Tensor(bias))
    return new


def _cut_batch_norm(norm, keep):
    new = type(norm)(int(keep.shape[0]), eps=norm.eps, momentum=norm.momentum,
                     affine=norm.affine, track_running_stats=norm.track_running_stats)
    if norm.affine:
        new.weight = Parameter(Tensor(norm.weight.data[keep]))
        new.bias = Parameter(Tensor(norm.bias.data[keep]))
    if norm.track_running_stats:
        new.running_mean = Tensor(norm.running_mean.data[keep])
        new.running_var = Tensor(norm.running_var.data[keep])
        new.num_batches_tracked = Tensor(norm.num_batches_tracked.data.copy())
    return new


def _columns(channels, per_channel: int):
    """The flattened columns of these channels: c·(H·W) + s for s < H·W."""
    xp = array_module(channels)
    return (channels[:, None] * per_channel + xp.arange(per_channel)[None, :]).reshape(-1)


def _check(model):
    if not isinstance(model, Sequential):
        raise TypeError(f"shrink: expected an nn.Sequential, got {type(model).__name__}")
    for name, layer in model.named_children():
        if not isinstance(layer, (Linear, Conv2d) + _BETWEEN):
            raise TypeError(f"shrink: cannot shrink through layer {name!r} "
                            f"({type(layer).__name__}); supported: Linear, Conv2d, BatchNorm, "
                            f"activations, MaxPool2d, Dropout, Identity, Flatten")


def shrink(model: Sequential) -> Sequential:
    """A smaller copy of ``model`` without the output units / filters that structured pruning
    zeroed (see the module docstring); ``model`` itself is left as it is."""
    _check(model)
    layers = [copy.deepcopy(m) for m in model]
    weighted = [i for i, m in enumerate(layers) if isinstance(m, (Linear, Conv2d))]
    keep = {i: kept_units(layers[i]) for i in weighted}
    weights = {i: _effective_weight(layers[i]).copy() for i in weighted}
    biases = {i: None if layers[i].bias is None else layers[i].bias.data.copy()
              for i in weighted}
    for i, j in zip(weighted, weighted[1:]):
        xp = array_module(weights[i])
        units, kept = weights[i].shape[0], keep[i]
        if kept.shape[0] == units:
            continue
        alive = xp.zeros(units, dtype=bool)
        alive[kept] = True
        removed = xp.nonzero(~alive)[0]
        between = layers[i + 1:j]
        conv_i = isinstance(layers[i], Conv2d)
        bias_i = biases[i] if biases[i] is not None else xp.zeros(units, weights[i].dtype)
        constants = _constants(bias_i, between, conv_i)[removed]
        w_next = weights[j]
        if isinstance(layers[j], Linear) and conv_i:       # through Flatten: H·W columns each
            per_channel = w_next.shape[1] // units
            absorbed = w_next[:, _columns(removed, per_channel)] @ xp.repeat(constants,
                                                                             per_channel)
            w_cut = w_next[:, _columns(kept, per_channel)]
        elif isinstance(layers[j], Linear):
            absorbed = w_next[:, removed] @ constants
            w_cut = w_next[:, kept]
        else:
            if layers[j].padding != (0, 0) and bool((constants != 0).any()):
                raise ValueError(f"shrink: layer {j} (Conv2d) has padding {layers[j].padding}: "
                                 f"the removed filters of layer {i} carry nonzero constants "
                                 f"(their biases after the layers between), which a padded "
                                 f"convolution cannot absorb into its bias")
            absorbed = w_next[:, removed].sum(axis=(2, 3)) @ constants
            w_cut = w_next[:, kept]
        weights[j] = xp.ascontiguousarray(w_cut)
        biases[j] = absorbed if biases[j] is None else biases[j] + absorbed
        weights[i] = weights[i][kept]
        biases[i] = None if biases[i] is None else biases[i][kept]
        for k in range(i + 1, j):
            if isinstance(layers[k], (BatchNorm1d, BatchNorm2d)):
                layers[k] = _cut_batch_norm(layers[k], kept)
    for i in weighted:
        layers[i] = _plain_layer(layers[i], weights[i], biases[i])
    result = Sequential(*layers)
    return result.train(model.training)
