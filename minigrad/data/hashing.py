"""Feature hashing: named features to a fixed number of columns by a hash (scikit-learn's
``FeatureHasher``), with MurmurHash3 (x86, 32-bit) written out from its published definition.

Tokens are Python strings, so hashing runs on the host; the hash itself is vectorized over all
tokens of a call (one pass per 4-byte block position, not one per token).
"""

from __future__ import annotations

import numbers

import numpy as np

from ._estimator import Estimator

__all__ = ["FeatureHasher", "murmurhash3_32"]

_C1, _C2 = 0xCC9E2D51, 0x1B873593
_MASK = 0xFFFFFFFF
_DENSE_LIMIT = 2 ** 28  # output elements (2 GiB of float64): beyond this, ask for fewer features


def _rotl(x, r: int):
    """32-bit rotate left of a uint32 array."""
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def _murmur3_array(keys: list, seed: int) -> np.ndarray:
    """MurmurHash3_x86_32 of each byte string in ``keys`` (uint32 array).

    The definition (Austin Appleby), for ``len`` bytes read as little-endian 32-bit blocks::

        h = seed
        each full block k:  k *= c1; k = rotl(k, 15); k *= c2
                            h ^= k;  h = rotl(h, 13); h = h * 5 + 0xe6546b64
        the 1-3 tail bytes: k = tail[0] | tail[1] << 8 | tail[2] << 16
                            k *= c1; k = rotl(k, 15); k *= c2; h ^= k
        h ^= len
        finalize (fmix32):  h ^= h >> 16; h *= 0x85ebca6b; h ^= h >> 13;
                            h *= 0xc2b2ae35; h ^= h >> 16

    all arithmetic mod 2^32, with c1 = 0xcc9e2d51, c2 = 0x1b873593. Every key is laid in a
    zero-padded row of one uint8 matrix; the padding makes the word after the last full block
    exactly the tail ``k`` above.
    """
    lengths = np.fromiter((len(k) for k in keys), dtype=np.int64, count=len(keys))
    n_blocks = lengths // 4
    width = (int(n_blocks.max(initial=0)) + 1) * 4
    buf = np.zeros((len(keys), width), dtype=np.uint8)
    flat = np.frombuffer(b"".join(keys), dtype=np.uint8)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    rows = np.repeat(np.arange(len(keys)), lengths)
    buf[rows, np.arange(flat.size) - np.repeat(starts, lengths)] = flat
    words = buf.view("<u4")                                   # (keys, width / 4)
    h = np.full(len(keys), seed & _MASK, dtype=np.uint32)
    for j in range(width // 4 - 1):
        k = words[:, j] * np.uint32(_C1)
        k = _rotl(k, 15) * np.uint32(_C2)
        mixed = _rotl(h ^ k, 13) * np.uint32(5) + np.uint32(0xE6546B64)
        h = np.where(j < n_blocks, mixed, h)                  # only keys that have block j
    tail = words[np.arange(len(keys)), n_blocks]
    k = _rotl(tail * np.uint32(_C1), 15) * np.uint32(_C2)
    h = np.where(lengths % 4 > 0, h ^ k, h)
    h ^= lengths.astype(np.uint32)
    h ^= h >> np.uint32(16)
    h *= np.uint32(0x85EBCA6B)
    h ^= h >> np.uint32(13)
    h *= np.uint32(0xC2B2AE35)
    h ^= h >> np.uint32(16)
    return h


def _as_bytes(key, owner: str) -> bytes:
    if isinstance(key, str):
        return key.encode("utf-8")
    if isinstance(key, bytes):
        return key
    raise TypeError(f"{owner}: keys must be str or bytes, got {type(key).__name__}")


def murmurhash3_32(key, seed: int = 0, positive: bool = False):
    """MurmurHash3_x86_32 of a string (UTF-8) or bytes, or of each item of a list/array of
    them, as scikit-learn's ``sklearn.utils.murmurhash3_32``: a signed int32 (or, with
    ``positive=True``, the unsigned value) for one key, an array for many."""
    many = not isinstance(key, (str, bytes))
    keys = [_as_bytes(k, "murmurhash3_32") for k in (key if many else [key])]
    h = _murmur3_array(keys, int(seed))
    out = h.astype(np.int64) if positive else h.view(np.int32)
    return out if many else int(out[0])


class FeatureHasher(Estimator):
    """Hash named features into ``n_features`` columns (no vocabulary to fit or store).

    For each (name, value) of a sample: ``h = murmurhash3_32(name, seed=0)`` (signed),
    ``column = |h| mod n_features`` and ``x[column] += sign * value`` with ``sign = +1`` if
    ``h >= 0`` else ``-1`` when ``alternate_sign`` (so collisions cancel on average and inner
    products are preserved in expectation), as scikit-learn, so the same tokens land in the
    same columns with the same signs.

    ``input_type``: ``'dict'`` (each sample a dict ``{name: value}``; a string value ``v``
    becomes the name ``'name=v'`` with value 1), ``'pair'`` (an iterable of ``(name, value)``)
    or ``'string'`` (an iterable of names, each with value 1). The output is a dense
    ``(n_samples, n_features)`` array of ``dtype`` (scikit-learn returns a sparse matrix of
    the same values), built on the host: move it with ``minigrad.tensor(..., device=...)``.
    """

    _config = ("n_features", "input_type", "dtype", "alternate_sign")

    def __init__(self, n_features: int = 2 ** 20, input_type: str = "dict",
                 dtype=np.float64, alternate_sign: bool = True):
        if isinstance(n_features, bool) or not isinstance(n_features, numbers.Integral) or \
                not 1 <= n_features < 2 ** 31:
            raise ValueError(f"FeatureHasher: n_features must be an int in 1..2**31-1, got "
                             f"{n_features!r}")
        if input_type not in ("dict", "pair", "string"):
            raise ValueError(f"FeatureHasher: input_type must be 'dict', 'pair' or 'string', "
                             f"got {input_type!r}")
        self.n_features = int(n_features)
        self.input_type = input_type
        self.dtype = np.dtype(dtype).name
        self.alternate_sign = bool(alternate_sign)

    @property
    def fitted(self) -> bool:
        return True  # stateless: nothing is learned

    def fit(self, X=None, y=None) -> "FeatureHasher":
        """Nothing to learn (kept for the fit/transform contract)."""
        return self

    def _pairs(self, sample, i: int):
        owner = "FeatureHasher.transform"
        if self.input_type == "string":
            if isinstance(sample, (str, bytes)):
                raise ValueError(f"{owner}: sample {i} is a single string; with "
                                 f"input_type='string' each sample is an iterable of strings")
            return [(name, 1.0) for name in sample]
        items = sample.items() if self.input_type == "dict" else sample
        pairs = []
        for name, value in items:
            if isinstance(value, str):
                name, value = f"{name}={value}", 1.0
            pairs.append((name, float(value)))
        return pairs

    def transform(self, raw_X):
        """The ``(n_samples, n_features)`` hashed feature matrix of the samples ``raw_X``."""
        rows, names, values = [], [], []
        n_samples = 0
        for i, sample in enumerate(raw_X):
            n_samples = i + 1
            for name, value in self._pairs(sample, i):
                rows.append(i)
                names.append(_as_bytes(name, "FeatureHasher.transform"))
                values.append(value)
        if n_samples == 0:
            raise ValueError("FeatureHasher.transform: cannot vectorize an empty sequence")
        if n_samples * self.n_features > _DENSE_LIMIT:
            raise ValueError(f"FeatureHasher.transform: a dense ({n_samples}, {self.n_features})"
                             f" output is too large; choose a smaller n_features")
        h = _murmur3_array(names, 0).view(np.int32).astype(np.int64) if names else \
            np.zeros(0, np.int64)
        n = self.n_features
        # |h| mod n, with scikit-learn's value for h = -2^31 (whose |h| overflows int32)
        columns = np.where(h == -2 ** 31, (2 ** 31 - 1 - (n - 1)) % n, np.abs(h) % n)
        weights = np.asarray(values, dtype=np.float64)
        if self.alternate_sign:
            weights = np.where(h >= 0, weights, -weights)
        flat = np.asarray(rows, dtype=np.int64) * n + columns
        out = np.bincount(flat, weights=weights, minlength=n_samples * n)
        return out.reshape(n_samples, n).astype(self.dtype)
