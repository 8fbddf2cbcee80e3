"""Photometric image augmentation and normalization: colour jitter, random erasing, per-channel
normalization.

Conventions as :mod:`minigrad.data.augment`: batches ``(N, C, H, W)`` or ``(N, H, W)`` (one
channel), floating pixels (ColorJitter expects them in [0, 1], as torchvision's float images),
one random draw per image from the transform's own generator, moved to the batch's device.
"""

from __future__ import annotations

import math

import numpy as np

from .. import backend
from ._common import like, raw
from .augment import _check_images, _device_array, _Seeded

__all__ = ["ColorJitter", "RandomErasing", "Normalize"]

_GRAY = (0.2989, 0.587, 0.114)  # ITU-R 601-2 luma, as torchvision's rgb_to_grayscale


def _planar(x, owner: str):
    _check_images(x, owner)
    if x.dtype.kind != "f":
        raise TypeError(f"{owner}: expected floating images, got {x.dtype}; convert them first "
                        f"(e.g. uint8 pixels / 255 as float32)")
    return x if x.ndim == 4 else x[:, None]


def _factor_range(value, name: str):
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"ColorJitter: {name} must be >= 0, got {value}")
        return (max(0.0, 1.0 - value), 1.0 + value) if value else None
    lo, hi = (float(v) for v in value)
    if not 0 <= lo <= hi:
        raise ValueError(f"ColorJitter: {name} range must be 0 <= min <= max, got {value}")
    return (lo, hi)


class ColorJitter(_Seeded):
    """Random brightness, contrast and saturation per image (torchvision's formulas), applied
    in that order, each followed by clipping to [0, 1]::

        brightness  f ~ U[max(0, 1 - b), 1 + b]:  x <- f x
        contrast    f ~ U[max(0, 1 - c), 1 + c]:  x <- f x + (1 - f) mean(gray(x))
        saturation  f ~ U[max(0, 1 - s), 1 + s]:  x <- f x + (1 - f) gray(x)

    with ``gray = 0.2989 R + 0.587 G + 0.114 B`` for 3 channels and the image itself for one
    (so saturation leaves 1-channel images unchanged). A ``(min, max)`` pair gives the factor
    range directly. torchvision also shuffles the order and offers hue; neither is done here.
    """

    def __init__(self, brightness=0.0, contrast=0.0, saturation=0.0, seed=None):
        super().__init__(seed)
        self.brightness = _factor_range(brightness, "brightness")
        self.contrast = _factor_range(contrast, "contrast")
        self.saturation = _factor_range(saturation, "saturation")

    def __call__(self, images):
        x = raw(images)
        planar = _planar(x, "ColorJitter")
        if planar.shape[1] not in (1, 3):
            raise ValueError(f"ColorJitter: expected 1 or 3 channels, got shape {tuple(x.shape)}")
        xp = backend.array_module(planar)
        n = planar.shape[0]

        def gray(img):
            if img.shape[1] == 1:
                return img
            r, g, b = img[:, 0:1], img[:, 1:2], img[:, 2:3]
            return _GRAY[0] * r + _GRAY[1] * g + _GRAY[2] * b

        def factors(bounds):
            draw = self._rng.uniform(*bounds, n).astype(x.dtype).reshape(n, 1, 1, 1)
            return _device_array(draw, x)

        out = planar.copy()                         # then updated in place: one allocation
        if self.brightness:
            out *= factors(self.brightness)
            xp.clip(out, 0, 1, out=out)
        if self.contrast:
            f = factors(self.contrast)
            mean = gray(out).mean(axis=(1, 2, 3), keepdims=True)
            out *= f
            out += (1 - f) * mean
            xp.clip(out, 0, 1, out=out)
        if self.saturation and out.shape[1] == 3:     # grey images have no saturation
            f = factors(self.saturation)
            g = gray(out)
            out *= f
            out += (1 - f) * g
            xp.clip(out, 0, 1, out=out)
        return like(out if x.ndim == 4 else out[:, 0], images)

    def __repr__(self) -> str:
        return (f"ColorJitter(brightness={self.brightness}, contrast={self.contrast}, "
                f"saturation={self.saturation})")


class RandomErasing(_Seeded):
    """With probability ``p`` per image, set a random rectangle to ``value`` (torchvision's
    ``RandomErasing``, Zhong et al. 2017)::

        area   = H W * U(scale),   aspect = exp(U(log ratio_min, log ratio_max))
        h = round(sqrt(area aspect)),   w = round(sqrt(area / aspect))
        top ~ U{0..H-h}, left ~ U{0..W-w}

    The first of 10 candidate rectangles that fits (``h < H`` and ``w < W``) is used; with
    none, the image is left unchanged. The same rectangle covers every channel.
    """

    _ATTEMPTS = 10

    def __init__(self, p: float = 0.5, scale=(0.02, 0.33), ratio=(0.3, 3.3), value: float = 0.0,
                 seed=None):
        super().__init__(seed)
        if not 0 <= p <= 1:
            raise ValueError(f"RandomErasing: p must lie in [0, 1], got {p}")
        s0, s1 = (float(v) for v in scale)
        r0, r1 = (float(v) for v in ratio)
        if not (0 < s0 <= s1 <= 1 and 0 < r0 <= r1):
            raise ValueError(f"RandomErasing: needs 0 < scale min <= max <= 1 and 0 < ratio min "
                             f"<= max, got scale={scale}, ratio={ratio}")
        self.p, self.scale, self.ratio, self.value = float(p), (s0, s1), (r0, r1), float(value)

    def __call__(self, images):
        x = raw(images)
        planar = _planar(x, "RandomErasing")
        xp = backend.array_module(planar)
        n, _, H, W = planar.shape
        k = self._ATTEMPTS
        area = H * W * self._rng.uniform(*self.scale, (n, k))
        aspect = np.exp(self._rng.uniform(math.log(self.ratio[0]), math.log(self.ratio[1]),
                                          (n, k)))
        h = np.round(np.sqrt(area * aspect)).astype(np.int64)
        w = np.round(np.sqrt(area / aspect)).astype(np.int64)
        fits = (h < H) & (w < W)
        first = np.argmax(fits, axis=1)                    # the first candidate that fits
        rows = np.arange(n)
        h, w = h[rows, first], w[rows, first]
        apply = fits[rows, first] & (self._rng.random(n) < self.p)
        top = np.floor(self._rng.random(n) * (H - h + 1)).astype(np.int64)
        left = np.floor(self._rng.random(n) * (W - w + 1)).astype(np.int64)
        r = np.arange(H)[None, :]
        c = np.arange(W)[None, :]
        in_rows = (r >= top[:, None]) & (r < (top + h)[:, None]) & apply[:, None]
        in_cols = (c >= left[:, None]) & (c < (left + w)[:, None])
        mask = _device_array((in_rows[:, :, None] & in_cols[:, None, :])[:, None], x)
        out = xp.where(mask, x.dtype.type(self.value), planar)
        return like(out if x.ndim == 4 else out[:, 0], images)

    def __repr__(self) -> str:
        return f"RandomErasing(p={self.p}, scale={self.scale}, ratio={self.ratio})"


class Normalize:
    """Per-channel normalization ``out[:, c] = (x[:, c] - mean[c]) / std[c]`` (torchvision's
    ``Normalize``, on batches). One number each for ``(N, H, W)`` batches. Deterministic: fit
    ``mean``/``std`` on the training images (e.g. MNIST's 0.1307 and 0.3081)."""

    def __init__(self, mean, std):
        self.mean = np.atleast_1d(np.asarray(mean, dtype=np.float64))
        self.std = np.atleast_1d(np.asarray(std, dtype=np.float64))
        if self.mean.ndim != 1 or self.mean.shape != self.std.shape or (self.std <= 0).any():
            raise ValueError(f"Normalize: mean and std must be equal-length 1-D with std > 0, "
                             f"got {self.mean.tolist()} and {self.std.tolist()}")

    def __call__(self, images):
        x = raw(images)
        planar = _planar(x, "Normalize")
        if self.mean.size not in (1, planar.shape[1]):
            raise ValueError(f"Normalize: {self.mean.size} means for {planar.shape[1]} channels "
                             f"(shape {tuple(x.shape)})")
        mean = _device_array(self.mean.astype(x.dtype).reshape(1, -1, 1, 1), x)
        std = _device_array(self.std.astype(x.dtype).reshape(1, -1, 1, 1), x)
        out = (planar - mean) / std
        return like(out if x.ndim == 4 else out[:, 0], images)

    def __repr__(self) -> str:
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"
