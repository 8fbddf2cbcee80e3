"""Attention with ``torch.nn``'s names and semantics: ``scaled_dot_product_attention``,
``MultiheadAttention``, ``TransformerEncoderLayer``, ``TransformerEncoder`` and the sinusoidal
positional encoding of Vaswani et al. (2017).

Masks, as PyTorch has them (two opposite conventions for booleans):

- ``scaled_dot_product_attention(attn_mask=...)``: a bool mask says who **takes part**
  (True = attend); a float mask is **added** to the scores (use -inf to exclude).
- ``MultiheadAttention(key_padding_mask=..., attn_mask=...)`` and the Transformer layers: a
  bool mask says who is **left out** (True = ignore, e.g. padding); a float mask is added.

Rows where every key is excluded (a fully padded sequence, say) get attention weights of 0
and so an output of 0 before the output projection, never NaN: the behaviour of PyTorch's
``scaled_dot_product_attention`` (its "safe softmax"). PyTorch's ``MultiheadAttention`` gives
NaN there when ``need_weights=True`` and in its inference fast path; minigrad gives the zeros
everywhere.
"""

from __future__ import annotations

import copy
import math

import numpy as np

from .. import creation
from ..backend import array_module
from ..tensor import Tensor, tensor
from . import functional as F
from . import init
from .layers import Dropout, LayerNorm, Linear
from .module import Module, ModuleList, Parameter

# The functional form lives in nn.functional (as PyTorch's); the Modules below build on it.
scaled_dot_product_attention = F.scaled_dot_product_attention

__all__ = ["scaled_dot_product_attention", "MultiheadAttention", "TransformerEncoderLayer",
           "TransformerEncoder", "sinusoidal_positional_encoding", "PositionalEncoding"]


# --- scaled dot-product attention ------------------------------------------------------------


class MultiheadAttention(Module):
    """Multi-head attention (Vaswani et al. 2017), PyTorch's layout:

        Q = q W_qᵀ + b_q,  K = k W_kᵀ + b_k,  V = v W_vᵀ + b_v      (split into h heads)
        head_j = softmax(Q_j K_jᵀ / √d + M) V_j,  d = embed_dim / h
        out = concat(head_1 .. head_h) W_oᵀ + b_o

    Parameters: ``in_proj_weight`` (3E, E) = [W_q; W_k; W_v] (or ``q_proj_weight`` (E, E),
    ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim) when kdim/vdim differ from E),
    ``in_proj_bias`` (3E,), ``out_proj`` (a Linear E -> E); weights xavier_uniform_, biases 0.

    forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False) -> (output, weights or None). Shapes (L, N, E)
    ((N, L, E) with ``batch_first``; unbatched (L, E)); key_padding_mask (N, S), attn_mask
    (L, S) or (N·h, L, S): bool True = left out, float = added. weights (N, L, S) averaged
    over heads, else (N, h, L, S). ``is_causal`` without attn_mask makes the causal mask.
    Dropout on the weights while training. ``add_bias_kv``/``add_zero_attn`` unsupported.
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0 or embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be a positive "
                             f"multiple of num_heads ({num_heads})")
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: add_bias_kv and add_zero_attn are "
                                      "not supported by minigrad")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first = float(dropout), batch_first

        def empty(*shape):
            return Parameter(creation.zeros(shape, dtype=dtype, device=device))

        if self._qkv_same_embed_dim:
            self.in_proj_weight = empty(3 * embed_dim, embed_dim)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = empty(embed_dim, embed_dim)
            self.k_proj_weight = empty(embed_dim, self.kdim)
            self.v_proj_weight = empty(embed_dim, self.vdim)
        if bias:
            self.in_proj_bias = empty(3 * embed_dim)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for p in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(p)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)

    def _projections(self, query, key, value):
        """Q, K, V (N, L or S, E): one matmul when query, key and value are one tensor."""
        b = self.in_proj_bias
        if self._qkv_same_embed_dim and query is key and key is value:
            return F.linear(query, self.in_proj_weight, b).chunk(3, dim=-1)
        if self._qkv_same_embed_dim:
            w_q, w_k, w_v = self.in_proj_weight.chunk(3, dim=0)
        else:
            w_q, w_k, w_v = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight
        b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3, dim=0)
        return F.linear(query, w_q, b_q), F.linear(key, w_k, b_k), F.linear(value, w_v, b_v)

    def _check(self, query, key, value):
        name = "MultiheadAttention"
        for what, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim),
                              ("value", value, self.vdim)):
            if not isinstance(t, Tensor) or t.ndim not in (2, 3) or t.shape[-1] != size:
                got = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
                raise ValueError(f"{name}: expected {what} of 2 or 3 dims with {size} features, "
                                 f"got {got}")
        if not query.ndim == key.ndim == value.ndim or key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"{name}: query {tuple(query.shape)}, key {tuple(key.shape)} and "
                             f"value {tuple(value.shape)} do not fit (key and value need the "
                             f"same length and batch)")

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        self._check(query, key, value)
        batched = query.ndim == 3

        def batch_major(t):  # (N, L, E); unbatched (L, E) -> (1, L, E)
            if not batched:
                return t.unsqueeze(0)
            return t if self.batch_first else t.transpose(0, 1)

        # Self-attention (one tensor as query, key and value) keeps `is`: one matmul for Q, K, V.
        q_in = batch_major(query)
        k_in = q_in if key is query else batch_major(key)
        v_in = k_in if value is key else (q_in if value is query else batch_major(value))
        n, length, source = q_in.shape[0], q_in.shape[1], k_in.shape[1]
        h, d = self.num_heads, self.head_dim
        q, k, v = self._projections(q_in, k_in, v_in)
        q = q.reshape(n, length, h, d).transpose(1, 2)  # (N, h, L, d)
        k = k.reshape(n, source, h, d).transpose(1, 2)
        v = v.reshape(n, source, h, d).transpose(1, 2)
        allowed, additive = self._masks(key_padding_mask, attn_mask, is_causal, n, length,
                                        source, batched, q)
        out, weights = F._attend(q, k, v, allowed, additive,
                               self.dropout if self.training else 0.0)
        out = self.out_proj(out.transpose(1, 2).reshape(n, length, self.embed_dim))
        if not batched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(1)
        return out, (weights if batched else weights.squeeze(0))

    def _masks(self, key_padding_mask, attn_mask, is_causal, n, length, source, batched, q):
        """The masks as (allowed: bool array or None, additive: float Tensor or None), both
        broadcasting to the scores (N, h, L, S)."""
        name = "MultiheadAttention"
        xp = array_module(q.data)
        allowed, additive = None, None
        if attn_mask is None and is_causal:
            allowed = F._causal(length, source, xp)
        if attn_mask is not None:
            shapes = [(length, source), (n * self.num_heads, length, source)]
            if not isinstance(attn_mask, Tensor) or tuple(attn_mask.shape) not in shapes:
                got = tuple(attn_mask.shape) if isinstance(attn_mask, Tensor) else attn_mask
                raise ValueError(f"{name}: attn_mask must have shape {shapes[0]} or "
                                 f"{shapes[1]}, got {got}")
            mask = attn_mask if attn_mask.ndim == 2 else attn_mask.reshape(
                n, self.num_heads, length, source)
            if mask.dtype == np.bool_:
                allowed = ~mask.data
            else:
                additive = mask
        if key_padding_mask is not None:
            expected = (n, source) if batched else (source,)
            if not isinstance(key_padding_mask, Tensor) or \
                    tuple(key_padding_mask.shape) != expected:
                got = (tuple(key_padding_mask.shape) if isinstance(key_padding_mask, Tensor)
                       else key_padding_mask)
                raise ValueError(f"{name}: key_padding_mask must have shape {expected} "
                                 f"(batch, source length), got {got}")
            padding = key_padding_mask.reshape(n, 1, 1, source)
            if padding.dtype == np.bool_:
                keep = ~padding.data
                allowed = keep if allowed is None else allowed & keep
            else:
                additive = padding if additive is None else additive + padding
        return allowed, additive

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.dropout}, batch_first={self.batch_first}")


# --- the Transformer encoder -----------------------------------------------------------------


_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class TransformerEncoderLayer(Module):
    """One encoder block of Vaswani et al. (2017), PyTorch's names and order:

        post-norm (default):  x = norm1(x + SA(x));        x = norm2(x + FF(x))
        norm_first=True:      x = x + SA(norm1(x));        x = x + FF(norm2(x))
        SA(x) = dropout1(self_attn(x, x, x)),  FF(x) = dropout2(linear2(dropout(act(linear1(x)))))

    activation 'relu', 'gelu' or a callable. forward(src, src_mask=None,
    src_key_padding_mask=None, is_causal=False), masks as in :class:`MultiheadAttention`.
    """

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        if isinstance(activation, str):
            if activation not in _ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation must be 'relu' or "
                                 f"'gelu' (or a callable), got {activation!r}")
            activation = _ACTIVATIONS[activation]
        kw = dict(device=device, dtype=dtype)
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                            batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.batch_first = batch_first

    def _sa_block(self, x, attn_mask, key_padding_mask, is_causal):
        x = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                           need_weights=False, is_causal=is_causal)[0]
        return self.dropout1(x)

    def _ff_block(self, x):
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` (``layers.0``, ``layers.1``, ... as in
    PyTorch, each with its own parameters, all starting equal to encoder_layer's), then
    ``norm`` if given. forward(src, mask=None, src_key_padding_mask=None, is_causal=False)."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        if not isinstance(encoder_layer, Module) or num_layers <= 0:
            raise ValueError(f"TransformerEncoder: expected a layer Module and a positive "
                             f"num_layers, got {type(encoder_layer).__name__} and {num_layers}")
        self.layers = ModuleList([copy.deepcopy(encoder_layer) for _ in range(num_layers)])
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


# --- positional encoding ---------------------------------------------------------------------


def sinusoidal_positional_encoding(length, d_model, dtype=None, device=None) -> Tensor:
    """PE (length, d_model) of Vaswani et al. (2017):

        PE[p, 2i] = sin(p / 10000^(2i / d_model)),   PE[p, 2i+1] = cos(p / 10000^(2i / d_model))
    """
    if length < 0 or d_model <= 0:
        raise ValueError(f"sinusoidal_positional_encoding: need length ≥ 0 and d_model > 0, got "
                         f"{length} and {d_model}")
    # Built on the host (a small constant table), then moved to the device once.
    position = np.arange(length, dtype=np.float64)[:, None]
    frequency = np.exp(np.arange(0, d_model, 2, dtype=np.float64) * (-math.log(10000.0) / d_model))
    table = np.zeros((length, d_model))
    table[:, 0::2] = np.sin(position * frequency)
    table[:, 1::2] = np.cos(position * frequency)[:, :d_model // 2]
    return tensor(table, dtype=dtype or creation.get_default_dtype(), device=device)


class PositionalEncoding(Module):
    """x + PE[:L] (then dropout), x (L, N, d_model) or (N, L, d_model) with ``batch_first``;
    PE is a non-persistent buffer of ``max_len`` rows (:func:`sinusoidal_positional_encoding`)."""

    def __init__(self, d_model, max_len=5000, dropout=0.0, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        self.batch_first = batch_first
        self.dropout = Dropout(dropout)
        self.register_buffer("pe", sinusoidal_positional_encoding(max_len, d_model, dtype,
                                                                  device), persistent=False)

    def forward(self, x):
        length = x.shape[1] if self.batch_first else x.shape[0]
        if length > self.pe.shape[0] or x.shape[-1] != self.pe.shape[1]:
            raise ValueError(f"PositionalEncoding: input {tuple(x.shape)} is longer than "
                             f"max_len {self.pe.shape[0]} or has not {self.pe.shape[1]} features")
        pe = self.pe[:length]
        return self.dropout(x + (pe if self.batch_first else pe.unsqueeze(1)))
