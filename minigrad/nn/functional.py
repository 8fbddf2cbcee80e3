"""The layers as functions (``torch.nn.functional``): one implementation of each operation,
which the modules in :mod:`minigrad.nn` call.

Activations: ``relu leaky_relu gelu sigmoid tanh softmax log_softmax``; layers: ``linear
conv2d max_pool2d avg_pool2d dropout batch_norm layer_norm embedding``; losses (from
:mod:`minigrad.nn.losses`); helpers: ``one_hot pad``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ..backend import array_module
from ..autograd import _autocast_mode, no_grad  # under amp.autocast Linear casts its inputs
from ..functions import activation as A
from ..tensor import Tensor

__all__ = ["relu", "leaky_relu", "gelu", "sigmoid", "tanh", "softmax", "log_softmax", "linear",
           "dropout", "batch_norm", "layer_norm", "embedding", "one_hot", "pad"]


def _check_float(x, op):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    if x.data.dtype.kind != "f":
        raise TypeError(f"{op}: expected a floating-point tensor, got {x.dtype} "
                        f"(shape {tuple(x.shape)})")


# --- activations ---------------------------------------------------------------------------


def relu(input: Tensor) -> Tensor:
    """max(x, 0)."""
    return input.relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """x if x > 0 else negative_slope · x."""
    _check_float(input, "leaky_relu")
    return A.LeakyReLU.apply(input, negative_slope=float(negative_slope))


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """Gaussian Error Linear Unit, x · Φ(x) with Φ the standard normal CDF (PyTorch's default,
    ``approximate='none'``: exact, through erfc).

    ``approximate='tanh'``: 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³))), the
    approximation of Hendrycks & Gimpel, which differs from the exact form by < 1e-3.
    """
    _check_float(input, "gelu")
    if approximate == "none":
        return input * A.NormalCdf.apply(input)
    if approximate == "tanh":
        inner = (input + 0.044715 * input * input * input) * _SQRT_2_OVER_PI
        return 0.5 * input * (1.0 + inner.tanh())
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def sigmoid(input: Tensor) -> Tensor:
    """1 / (1 + e^-x), without overflow."""
    return input.sigmoid()


def tanh(input: Tensor) -> Tensor:
    return input.tanh()


def softmax(input: Tensor, dim: int) -> Tensor:
    """exp(x_i) / Σ_j exp(x_j) along ``dim``."""
    return input.softmax(dim)


def log_softmax(input: Tensor, dim: int) -> Tensor:
    """x_i - log Σ_j exp(x_j) along ``dim``, computed stably."""
    return input.log_softmax(dim)


# --- layers --------------------------------------------------------------------------------


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x Wᵀ + b, with x of shape (*, in_features), W (out_features, in_features), b
    (out_features,). One fused op (a matmul and an in-place bias add)."""
    _check_float(input, "linear")
    w_shape = tuple(weight.shape)
    if len(w_shape) != 2 or input.ndim == 0 or input.shape[-1] != w_shape[1]:
        raise ValueError(f"linear: input of shape {tuple(input.shape)} does not match weight "
                         f"of shape {w_shape} (expected input (*, {w_shape[-1]}))")
    if bias is not None and tuple(bias.shape) != w_shape[:1]:
        raise ValueError(f"linear: bias of shape {tuple(bias.shape)} does not match weight "
                         f"of shape {w_shape} (expected ({w_shape[0]},))")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and t.dtype != input.dtype and _autocast_mode.get() is None:
            raise TypeError(f"linear: input is {input.dtype} but {name} is {t.dtype}; "
                            f"convert one of them (e.g. model.double() or x.float())")
    if bias is None:
        return A.Linear.apply(input, weight)
    return A.Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: each element is zeroed with probability p and the kept ones are
    scaled by 1 / (1 - p), so the expected value is unchanged; identity when not training.

    out = x · m / (1 - p),  m_i ~ Bernoulli(1 - p) drawn from the input device's generator
    (``minigrad.manual_seed`` makes it reproducible); the gradient is masked the same way.
    """
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    _check_float(input, "dropout")
    if not training or p == 0.0:
        return input
    x = input.data
    u = backend.generator(input.device).random(x.shape, _random_dtype(x.dtype))
    mask = (u >= p).astype(x.dtype)  # kept with probability 1 - p
    if p < 1.0:
        mask *= 1.0 / (1.0 - p)
    return input * Tensor._make(mask)


def _random_dtype(dtype):
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


# --- attention (the Modules are in nn/attention.py) -----------------------------------------

def _masked_softmax(scores: Tensor, excluded) -> Tensor:
    """softmax over the last dim, where rows whose every entry is -inf give weights 0.

    ``excluded``: whether some row may be fully masked (False: no mask, so no row can be; on a
    GPU True whenever there is a mask). Without such a row it is the one fused softmax; with
    one, the composed form
    e = exp(s - m) / Σ e with m = max(s) replaced by 0 in the empty rows and Σ e = 0 by 1.
    """
    if not excluded:
        return scores.softmax(-1)
    xp = array_module(scores.data)
    row_max = scores.data.max(axis=-1, keepdims=True)
    row_max = xp.where(xp.isneginf(row_max), xp.zeros_like(row_max), row_max)
    e = (scores - Tensor._make(row_max)).exp()
    total = e.sum(-1, keepdim=True)
    empty = Tensor._make((total.data == 0).astype(total.data.dtype))
    return e / (total + empty)


def _attend(q, k, v, allowed=None, additive=None, dropout_p=0.0, scale=None):
    """weights = softmax(q kᵀ · scale + mask), out = weights v; returns (out, weights).

    ``allowed``: a bool array (True = take part), broadcast against the scores; ``additive``:
    a float Tensor added to them. Rows with nothing allowed get weights 0.
    """
    head_dim = q.shape[-1]
    scale = 1.0 / math.sqrt(head_dim) if scale is None else float(scale)
    scores = (q @ k.transpose(-2, -1)) * scale
    if additive is not None:
        scores = scores + additive
    fully_masked = False
    if allowed is not None:  # the mask broadcasts against the scores
        scores = scores.masked_fill(Tensor._make(~allowed), float("-inf"))
    if allowed is not None or additive is not None:
        # A row with no key left needs the safe softmax. On a GPU it is always taken: asking
        # the device whether such a row exists would copy the answer back (a sync) every call.
        fully_masked = backend.is_device_array(scores.data) or bool(
            array_module(scores.data).isneginf(scores.data).all(axis=-1).any())
    weights = _masked_softmax(scores, fully_masked)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, True)
    return weights @ v, weights


def _causal(length, source_length, xp):
    """True where query i may see key j: j ≤ i (the lower triangle, top-left aligned)."""
    return xp.tril(xp.ones((length, source_length), dtype=bool))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """softmax(Q Kᵀ · scale + M) V, as ``torch.nn.functional.scaled_dot_product_attention``.

    query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); scale defaults to
    1/√E. ``attn_mask`` broadcasts to (..., L, S): bool (True = take part) or float (added to
    the scores). ``is_causal``: query i sees keys 0..i (cannot be combined with a mask).
    ``dropout_p`` drops attention weights (always, as PyTorch does: pass 0 in eval). A query
    that may see no key gets weights 0 and output 0 (PyTorch's behaviour), not NaN.
    """
    for name, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"scaled_dot_product_attention: {name} must be a Tensor of at "
                             f"least 2 dims, got "
                             f"{tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__}")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: query {tuple(query.shape)}, key "
                         f"{tuple(key.shape)} and value {tuple(value.shape)} do not fit "
                         f"(expected (..., L, E), (..., S, E), (..., S, Ev))")
    length, source = query.shape[-2], key.shape[-2]
    xp = array_module(query.data)
    allowed = additive = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, "
                             "not both")
        allowed = _causal(length, source, xp)
    elif attn_mask is not None:
        _check_mask("scaled_dot_product_attention", "attn_mask", attn_mask,
                    query.shape[:-2] + (length, source))
        if attn_mask.dtype == np.bool_:
            allowed = attn_mask.data
        else:
            additive = attn_mask
    return _attend(query, key, value, allowed, additive, dropout_p, scale)[0]


def _check_mask(where, name, mask, scores_shape):
    if not isinstance(mask, Tensor):
        raise TypeError(f"{where}: {name} must be a Tensor, got {type(mask).__name__}")
    try:
        np.broadcast_shapes(tuple(mask.shape), tuple(scores_shape))
    except ValueError:
        raise ValueError(f"{where}: {name} of shape {tuple(mask.shape)} does not broadcast to "
                         f"the attention scores {tuple(scores_shape)}") from None


# --- multi-head attention --------------------------------------------------------------------


def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None,
               training: bool = False, momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization over every axis but the channel axis 1 of (N, C, *):

        y = (x - μ) / √(σ² + eps) · γ + β

    Training: μ and σ² are the batch mean and *biased* variance per channel, and the running
    statistics (if given) are updated in place with the *unbiased* variance (n = N · Π *):

        running_mean ← (1 - momentum) · running_mean + momentum · μ
        running_var  ← (1 - momentum) · running_var  + momentum · σ² · n / (n - 1)

    Not training: μ and σ² are running_mean and running_var.
    """
    _check_float(input, "batch_norm")
    shape = tuple(input.shape)
    if len(shape) < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {shape}")
    channels = shape[1]
    for t, name in ((running_mean, "running_mean"), (running_var, "running_var"),
                    (weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != (channels,):
            raise ValueError(f"batch_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"the {channels} channels of input {shape}")
    axes = (0,) + tuple(range(2, len(shape)))
    per_channel = (1, channels) + (1,) * (len(shape) - 2)  # broadcasts against (N, C, *)
    if training:
        count = shape[0] * math.prod(shape[2:])
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when "
                             f"training, got input of shape {shape}")
        mean, var = A.moments(input.data, axes)
        if running_mean is not None and running_var is not None:
            with no_grad():
                momentum = float(momentum)  # a NumPy float64 scalar would upcast float32
                unbiased = var.reshape(channels) * (count / (count - 1))
                running_mean.mul_(1.0 - momentum).add_(mean.reshape(channels), momentum)
                running_var.mul_(1.0 - momentum).add_(unbiased, momentum)
        y = A.Normalize.apply(input, mean=mean, var=var, axes=axes, eps=eps)
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: running_mean and running_var are needed when not "
                             "training")
        y = ((input - running_mean.reshape(per_channel))
             / (running_var.reshape(per_channel) + eps).sqrt())
    if weight is not None:
        y = y * weight.reshape(per_channel)
    if bias is not None:
        y = y + bias.reshape(per_channel)
    return y


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Normalization over the trailing ``normalized_shape`` axes of each sample:

        y = (x - μ) / √(σ² + eps) · γ + β

    μ and σ² the mean and biased variance over those axes; γ, β of shape normalized_shape.
    """
    _check_float(input, "layer_norm")
    normalized_shape = _as_shape(normalized_shape)
    k = len(normalized_shape)
    if k == 0 or input.ndim < k or tuple(input.shape[input.ndim - k:]) != normalized_shape:
        raise ValueError(f"layer_norm: input of shape {tuple(input.shape)} does not end with "
                         f"normalized_shape {normalized_shape}")
    for t, name in ((weight, "weight"), (bias, "bias")):
        if t is not None and tuple(t.shape) != normalized_shape:
            raise ValueError(f"layer_norm: {name} of shape {tuple(t.shape)} does not match "
                             f"normalized_shape {normalized_shape}")
    axes = tuple(range(input.ndim - k, input.ndim))
    mean, var = A.moments(input.data, axes)
    y = A.Normalize.apply(input, mean=mean, var=var, axes=axes, eps=eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _as_shape(shape) -> tuple:
    if isinstance(shape, (int, np.integer)):
        return (int(shape),)
    return tuple(int(n) for n in shape)


def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Row lookup: out[p] = W[input[p]], shape input.shape + (embedding_dim,).

    ``input`` holds integer indices in [0, num_embeddings). The row ``padding_idx`` gets no
    gradient (its value is returned as it is).
    """
    indices = input.data if isinstance(input, Tensor) else input
    if not hasattr(indices, "dtype"):
        indices = np.asarray(indices)
    rows = weight.shape[0] if weight.ndim == 2 else None
    if rows is None:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {tuple(weight.shape)}")
    if indices.dtype.kind not in "iu":
        raise TypeError(f"embedding: indices must be integers, got {indices.dtype}")
    indices = backend.to_device(indices, weight.device)
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= rows):
        raise IndexError(f"embedding: indices must be in [0, {rows}), got values from "
                         f"{int(indices.min())} to {int(indices.max())}")
    if padding_idx is not None:
        padding_idx = _padding_index(padding_idx, rows)
    return A.Embedding.apply(weight, indices=indices, padding_idx=padding_idx)


def _padding_index(padding_idx: int, rows: int) -> int:
    """padding_idx in [-rows, rows), negative counting from the end, as an index in [0, rows)."""
    if not -rows <= padding_idx < rows:
        raise ValueError(f"embedding: padding_idx {padding_idx} must be within "
                         f"[-{rows}, {rows})")
    return padding_idx % rows


def one_hot(tensor, num_classes: int = -1) -> Tensor:
    """int64 tensor of shape tensor.shape + (num_classes,) with a 1 at each index;
    num_classes=-1 means max index + 1."""
    indices = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if indices.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor, got {indices.dtype}")
    xp = backend.array_module(indices)
    if num_classes == -1:
        if indices.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor")
        num_classes = int(indices.max()) + 1
    if indices.size and (int(indices.min()) < 0 or int(indices.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got values "
                         f"from {int(indices.min())} to {int(indices.max())}")
    return Tensor._make((indices[..., None] == xp.arange(num_classes)).astype(np.int64))


def pad(input: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad with ``value`` (``mode='constant'``, the only mode). ``pad`` lists (before, after)
    widths starting from the *last* axis: ``(left, right)`` pads the last axis, ``(left,
    right, top, bottom)`` the last two, as in PyTorch. Negative widths crop."""
    if mode != "constant":
        raise NotImplementedError(f"pad: only mode='constant' is implemented, got {mode!r}")
    pad = tuple(pad)
    if len(pad) % 2 or len(pad) > 2 * input.ndim or not all(
            isinstance(w, (int, np.integer)) for w in pad):
        raise ValueError(f"pad: expected an even number (at most {2 * input.ndim}) of integer "
                         f"widths for an input of shape {tuple(input.shape)}, got {pad}")
    widths = [(0, 0)] * input.ndim
    for i in range(len(pad) // 2):  # pair i pads axis -(i + 1)
        widths[input.ndim - 1 - i] = (int(pad[2 * i]), int(pad[2 * i + 1]))
    for d, (lo, hi) in enumerate(widths):
        if input.shape[d] + lo + hi < 0:
            raise ValueError(f"pad: widths {pad} crop axis {d} of input {tuple(input.shape)} "
                             f"below zero length")
    return A.Pad.apply(input, widths=tuple(widths), value=value)

# --- the losses and convolution/pooling, implemented in their own modules --------------------
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits,  # noqa: E402
                     cross_entropy, hinge_loss, huber_loss, kl_div, l1_loss, mse_loss,
                     multi_margin_loss, nll_loss)
from ..functions.conv import avg_pool2d, conv2d, max_pool2d  # noqa: E402
from .distillation import distillation_loss  # noqa: E402

__all__ += ["conv2d", "max_pool2d", "avg_pool2d", "mse_loss", "l1_loss", "huber_loss",
            "cross_entropy", "nll_loss", "binary_cross_entropy",
            "binary_cross_entropy_with_logits", "hinge_loss", "multi_margin_loss", "kl_div",
            "distillation_loss"]
