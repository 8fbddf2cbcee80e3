"""Sequence data: padding variable-length sequences into a batch (``pad_sequence``, as
``torch.nn.utils.rnn.pad_sequence``), a collate that also returns the lengths and the padding
mask, a character or word ``Vocabulary``, and ``TextDataset``, fixed-length windows of a
token stream for language modelling.

The padding mask is True at padding positions, the convention of
``MultiheadAttention(key_padding_mask=...)`` and the Transformer layers, so a batch goes there
unchanged.
"""

from __future__ import annotations

import json
import os
from collections import Counter, namedtuple

import numpy as np

from ..tensor import Tensor, cat, stack, tensor
from .dataset import Dataset, _check_indices

__all__ = ["pad_sequence", "pad_collate", "PaddedBatch", "PaddedSequenceDataset", "Vocabulary",
           "TextDataset"]


def _as_tensor(x, where):
    if isinstance(x, Tensor):
        return x
    try:
        return tensor(x)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{where}: cannot make a tensor of a {type(x).__name__}") from exc


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Sequences of shapes (L_i, *) -> one Tensor (L_max, B, *) ((B, L_max, *) with
    ``batch_first``), each padded with ``padding_value`` after its end (``padding_side=
    'left'``: before its start). Differentiable: the gradient of each sequence is its part."""
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    seqs = [_as_tensor(s, "pad_sequence") for s in sequences]
    if not seqs:
        raise ValueError("pad_sequence: no sequences to pad")
    trailing = {tuple(s.shape[1:]) for s in seqs}
    if any(s.ndim == 0 for s in seqs) or len(trailing) > 1:
        raise ValueError(f"pad_sequence: sequences must share their trailing dims, got shapes "
                         f"{[tuple(s.shape) for s in seqs]}")
    longest = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        missing = longest - s.shape[0]
        if missing:
            fill = s.new_full((missing,) + tuple(s.shape[1:]), padding_value)
            s = cat([s, fill] if padding_side == "right" else [fill, s], dim=0)
        padded.append(s)
    return stack(padded, dim=0 if batch_first else 1)


PaddedBatch = namedtuple("PaddedBatch", ["inputs", "lengths", "padding_mask", "targets"])
PaddedBatch.__doc__ = """A padded batch: inputs (B, L_max, *) (or (L_max, B, *)), lengths
(B,) int64, padding_mask (B, L_max) bool (True = padding), targets (stacked) or None."""


def pad_collate(samples, batch_first=True, padding_value=0):
    """Batch samples ``sequence`` or ``(sequence, target)`` of varying lengths:
    a :class:`PaddedBatch` (inputs, lengths, padding_mask, targets)."""
    if not samples:
        raise ValueError("pad_collate: no samples to batch")
    with_targets = isinstance(samples[0], (tuple, list))
    seqs = [s[0] if with_targets else s for s in samples]
    seqs = [_as_tensor(s, "pad_collate") for s in seqs]
    # Lengths and mask are host metadata (Python ints), built with NumPy, then made tensors.
    lengths = np.array([s.shape[0] for s in seqs], dtype=np.int64)
    mask = np.arange(int(lengths.max()))[None, :] >= lengths[:, None]
    device = seqs[0].device
    inputs = pad_sequence(seqs, batch_first=batch_first, padding_value=padding_value)
    targets = None
    if with_targets:
        from .loader import collate
        targets = collate([s[1] for s in samples])
    return PaddedBatch(inputs, tensor(lengths, device=device), tensor(mask, device=device),
                       targets)


class PaddedSequenceDataset(Dataset):
    """Sequences of different lengths (and optional targets); a batch from the DataLoader is a
    :class:`PaddedBatch` made by :func:`pad_collate` (its ``get_batch``)."""

    def __init__(self, sequences, targets=None, batch_first=True, padding_value=0):
        self.sequences = [_as_tensor(s, "PaddedSequenceDataset") for s in sequences]
        if targets is not None and len(targets) != len(self.sequences):
            raise ValueError(f"PaddedSequenceDataset: {len(self.sequences)} sequences but "
                             f"{len(targets)} targets")
        self.targets = targets
        self.batch_first, self.padding_value = batch_first, padding_value

    def __len__(self):
        return len(self.sequences)

    def __getitem__(self, index):
        if self.targets is None:
            return self.sequences[index]
        return self.sequences[index], self.targets[index]

    def get_batch(self, indices):
        idx = _check_indices(indices, len(self), "PaddedSequenceDataset")
        return pad_collate([self[int(i)] for i in idx], self.batch_first, self.padding_value)


# --- vocabulary ------------------------------------------------------------------------------


class Vocabulary:
    """Tokens <-> indices. ``level='char'`` (every character a token) or ``'word'``
    (whitespace-separated words, or a ``tokenizer`` callable). Built by
    :meth:`from_text`: the special tokens first (``<unk>`` always, for tokens not in the
    vocabulary), then tokens by decreasing count (ties: first appearance), keeping those seen
    at least ``min_freq`` times, at most ``max_size`` in all.

    ``encode(text) -> list of int``, ``decode(ids) -> str`` (words joined by a space),
    ``len(vocab)``, ``vocab[token]``, ``vocab.itos`` (index to token), ``vocab.stoi``;
    ``save(path)``/``load(path)`` as JSON.
    """

    def __init__(self, tokens, level="char", unk_token="<unk>", tokenizer=None):
        if level not in ("char", "word"):
            raise ValueError(f"Vocabulary: level must be 'char' or 'word', got {level!r}")
        self.level, self.unk_token, self.tokenizer = level, unk_token, tokenizer
        self.itos = list(tokens)
        if unk_token not in self.itos:
            self.itos.insert(0, unk_token)
        self.stoi = {t: i for i, t in enumerate(self.itos)}
        if len(self.stoi) != len(self.itos):
            raise ValueError("Vocabulary: tokens must be distinct")
        self.unk_index = self.stoi[unk_token]

    @classmethod
    def from_text(cls, text, level="char", min_freq=1, max_size=None, specials=("<unk>",),
                  unk_token="<unk>", tokenizer=None):
        vocab = cls((), level, unk_token, tokenizer)
        if unk_token not in specials:
            specials = (unk_token,) + tuple(specials)
        counts = Counter(vocab.tokenize(text))
        first_seen = {}
        for i, token in enumerate(vocab.tokenize(text)):
            first_seen.setdefault(token, i)
        ranked = sorted((t for t, c in counts.items() if c >= min_freq and t not in specials),
                        key=lambda t: (-counts[t], first_seen[t]))
        tokens = list(specials) + ranked
        if max_size is not None:
            tokens = tokens[:max_size]
        return cls(tokens, level, unk_token, tokenizer)

    def tokenize(self, text):
        if self.level == "char":
            return list(text)
        return self.tokenizer(text) if self.tokenizer else text.split()

    def __len__(self):
        return len(self.itos)

    def __getitem__(self, token):
        return self.stoi.get(token, self.unk_index)

    def __contains__(self, token):
        return token in self.stoi

    def encode(self, text):
        return [self.stoi.get(t, self.unk_index) for t in self.tokenize(text)]

    def decode(self, ids):
        if isinstance(ids, Tensor):
            ids = ids.tolist()
        n = len(self.itos)
        bad = [i for i in ids if not 0 <= int(i) < n]
        if bad:
            raise IndexError(f"Vocabulary.decode: indices {bad[:5]} outside [0, {n})")
        tokens = [self.itos[int(i)] for i in ids]
        return "".join(tokens) if self.level == "char" else " ".join(tokens)

    def save(self, path):
        """JSON ``{"level", "unk_token", "itos"}``, written atomically."""
        from ..files import atomic_write_text
        atomic_write_text(os.fspath(path), json.dumps(
            {"level": self.level, "unk_token": self.unk_token, "itos": self.itos}), "Vocabulary")

    @classmethod
    def load(cls, path):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        return cls(d["itos"], d["level"], d["unk_token"])

    def __repr__(self):
        return f"Vocabulary({len(self)} {self.level} tokens)"


# --- language-modelling windows --------------------------------------------------------------


class TextDataset(Dataset):
    """Fixed-length windows of a token stream ``ids`` for next-token prediction: sample i is
    (ids[s : s + seq_len], ids[s + 1 : s + seq_len + 1]) with s = i · stride (stride defaults
    to seq_len: windows that do not overlap), both int64 (seq_len,). ``get_batch`` gathers a
    batch with one fancy index."""

    def __init__(self, ids, seq_len, stride=None):
        self.ids = np.asarray(ids.tolist() if isinstance(ids, Tensor) else ids, dtype=np.int64)
        if self.ids.ndim != 1:
            raise ValueError(f"TextDataset: expected a 1-D stream of token ids, got shape "
                             f"{self.ids.shape}")
        self.seq_len = int(seq_len)
        self.stride = self.seq_len if stride is None else int(stride)
        if self.seq_len < 1 or self.stride < 1:
            raise ValueError(f"TextDataset: seq_len ({seq_len}) and stride ({stride}) must be "
                             f"positive")
        if len(self.ids) < self.seq_len + 1:
            raise ValueError(f"TextDataset: {len(self.ids)} tokens are too few for one window "
                             f"of seq_len {self.seq_len} (need seq_len + 1)")
        self._offsets = np.arange(self.seq_len)

    def __len__(self):
        return (len(self.ids) - self.seq_len - 1) // self.stride + 1

    def __getitem__(self, index):
        if isinstance(index, (int, np.integer)):
            x, y = self.get_batch(np.array([index]))
            return x[0], y[0]
        return self.get_batch(index)

    def get_batch(self, indices):
        idx = _check_indices(np.asarray(indices), len(self), "TextDataset")
        starts = idx[:, None] * self.stride + self._offsets[None, :]
        return Tensor._make(self.ids[starts]), Tensor._make(self.ids[starts + 1])
