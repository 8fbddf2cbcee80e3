"""Geometric image augmentation: random rotation and random affine maps (rotation, translation,
scaling), both through one bilinear resampler.

Conventions as :mod:`minigrad.data.augment`: batches ``(N, C, H, W)`` or ``(N, H, W)`` of
floating pixels, one random draw per image from the transform's own seeded generator (on the
cpu, moved to the batch's device), the whole batch resampled at once, a Tensor back for a
Tensor. Positive angles turn the content counter-clockwise on screen (rows grow downwards), about
the image centre ``((H - 1) / 2, (W - 1) / 2)``, as torchvision's ``rotate``.
"""

from __future__ import annotations

import numpy as np

from .. import backend
from ._common import like, raw
from .augment import _check_images, _device_array, _Seeded

__all__ = ["bilinear_resample", "RandomRotation", "RandomAffine"]


def bilinear_resample(images, matrices, fill: float = 0.0):
    """Resample every image at the source positions an affine map gives for each output pixel.

    ``matrices`` is ``(N, 2, 3)``: output pixel ``(i, j)`` of image ``n`` takes the input at
    ``(y, x) = M_n @ (i, j, 1)``, interpolated bilinearly from its four neighbours::

        y0 = floor(y), x0 = floor(x), a = y - y0, b = x - x0
        out = (1-a)(1-b) I[y0, x0] + (1-a) b I[y0, x0+1] + a (1-b) I[y0+1, x0] + a b I[y0+1, x0+1]

    with ``I`` = ``fill`` outside the image (computed as ``top + a (bottom - top)`` with
    ``top = I00 + b (I01 - I00)``, ``bottom = I10 + b (I11 - I10)``). All images and
    channels are gathered at once.
    """
    x = raw(images)
    _check_images(x, "bilinear_resample")
    if x.dtype.kind != "f":
        raise TypeError(f"bilinear_resample: expected floating images, got {x.dtype}; convert "
                        f"them first (e.g. uint8 pixels / 255 as float32)")
    xp = backend.array_module(x)
    planar = x if x.ndim == 4 else x[:, None]
    n, c, h, w = planar.shape
    m = xp.asarray(matrices, dtype=x.dtype)
    if m.shape != (n, 2, 3):
        raise ValueError(f"bilinear_resample: matrices must be ({n}, 2, 3) for {n} images, got "
                         f"{tuple(m.shape)}")
    # Every full-size array comes from backend.pooled_empty and is updated in place: fresh
    # multi-100-KiB temporaries cost more in page faults than the arithmetic itself.
    dt = x.dtype

    def buffer(shape, dtype=dt):
        return backend.pooled_empty(shape, dtype, xp)

    rows = xp.arange(h, dtype=dt)[None, :, None]
    cols = xp.arange(w, dtype=dt)[None, None, :]
    a, b = buffer((n, h, w)), buffer((n, h, w))                  # source y, x, then fractions
    y0, x0 = buffer((n, h, w)), buffer((n, h, w))
    for src, k in ((a, 0), (b, 1)):
        xp.multiply(m[:, k, 0, None, None], rows, out=src)
        src += m[:, k, 1, None, None] * cols
        src += m[:, k, 2, None, None]
    xp.floor(a, out=y0)
    xp.floor(b, out=x0)
    a -= y0                                                      # a = y - y0, b = x - x0
    b -= x0
    # A two-pixel border of `fill` around each image: clipping y0 to [-2, h] (x0 to [-2, w])
    # puts both corners of an outside sample on that border, so the four corners are four
    # plain gathers at offsets 0, 1, wp + 1, wp from one index (no masks).
    hp, wp = h + 4, w + 4
    padded = buffer((n, c, hp, wp))
    padded[:, :, :2] = padded[:, :, -2:] = fill
    padded[:, :, :, :2] = padded[:, :, :, -2:] = fill
    padded[:, :, 2:-2, 2:-2] = planar
    padded = padded.ravel()
    xp.clip(y0, -2, h, out=y0)
    xp.clip(x0, -2, w, out=x0)
    itype = np.int64          # take() would convert narrower indices to intp on every call
    index, column = buffer((n, 1, h, w), itype), buffer((n, h, w), itype)
    xp.copyto(index[:, 0], y0, casting="unsafe")                 # whole numbers: exact
    xp.copyto(column, x0, casting="unsafe")
    index += 2
    index *= wp
    index[:, 0] += column
    index += 2
    index += (xp.arange(n, dtype=itype) * (c * hp * wp)).reshape(n, 1, 1, 1)
    if c > 1:                                                    # each channel's own image
        index = index + (xp.arange(c, dtype=itype) * (hp * wp)).reshape(1, c, 1, 1)
    a, b = a[:, None], b[:, None]
    upper, lower, tmp = (buffer((n, c, h, w)) for _ in range(3))
    xp.take(padded, index, out=upper)                            # I[y0, x0]
    index += 1
    xp.take(padded, index, out=tmp)                              # I[y0, x0 + 1]
    tmp -= upper
    tmp *= b
    upper += tmp                                                 # top = I00 + b (I01 - I00)
    index += wp
    xp.take(padded, index, out=lower)                            # I[y0 + 1, x0 + 1]
    index -= 1
    xp.take(padded, index, out=tmp)                              # I[y0 + 1, x0]
    lower -= tmp
    lower *= b
    lower += tmp                                                 # bottom = I10 + b (I11 - I10)
    lower -= upper
    lower *= a
    out = upper + lower                                          # top + a (bottom - top)
    return like(out if x.ndim == 4 else out[:, 0], images)


def _inverse_maps(angle_deg, ty, tx, scale, h: int, w: int) -> np.ndarray:
    """``(N, 2, 3)`` output-to-input maps of ``p' = centre + t + s R(angle) (p - centre)``.

    In (row, column) coordinates a counter-clockwise turn by ``t`` sends the offset
    ``(dy, dx)`` from the centre to the source offset
    ``(cos t dy + sin t dx, -sin t dy + cos t dx) / s`` after removing the translation.
    """
    theta = np.deg2rad(angle_deg)
    cos, sin = np.cos(theta) / scale, np.sin(theta) / scale
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    oy, ox = cy + ty, cx + tx                       # where the centre lands
    m = np.empty((len(theta), 2, 3))
    m[:, 0, 0], m[:, 0, 1], m[:, 0, 2] = cos, sin, cy - (cos * oy + sin * ox)
    m[:, 1, 0], m[:, 1, 1], m[:, 1, 2] = -sin, cos, cx - (-sin * oy + cos * ox)
    return m


def _range(value, name: str, owner: str):
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"{owner}: {name} must be >= 0 when one number, got {value}")
        return (-float(value), float(value))
    lo, hi = (float(v) for v in value)
    if lo > hi:
        raise ValueError(f"{owner}: {name} range ({lo}, {hi}) needs min <= max")
    return (lo, hi)


class RandomRotation(_Seeded):
    """Rotate each image by an angle drawn uniformly from ``degrees`` (a number ``d`` for
    ``(-d, d)``, or ``(min, max)``), bilinear, pixels from outside filled with ``fill``."""

    def __init__(self, degrees, fill: float = 0.0, seed=None):
        super().__init__(seed)
        self.degrees = _range(degrees, "degrees", "RandomRotation")
        self.fill = float(fill)

    def __call__(self, images):
        x = raw(images)
        _check_images(x, "RandomRotation")
        n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
        angles = self._rng.uniform(*self.degrees, n)
        maps = _inverse_maps(angles, 0.0, 0.0, 1.0, h, w)
        return bilinear_resample(images, _device_array(maps, x), self.fill)

    def __repr__(self) -> str:
        return f"RandomRotation(degrees={self.degrees})"


class RandomAffine(_Seeded):
    """A random rotation, translation and scaling per image (torchvision's ``RandomAffine``
    without shear): ``angle ~ U(degrees)``, ``tx ~ U(-a W, a W)`` and ``ty ~ U(-b H, b H)``
    for ``translate=(a, b)`` (whole pixels, rounded), ``s ~ U(scale)``; the map is
    ``p' = centre + t + s R(angle) (p - centre)``, resampled bilinearly."""

    def __init__(self, degrees, translate=None, scale=None, fill: float = 0.0, seed=None):
        super().__init__(seed)
        self.degrees = _range(degrees, "degrees", "RandomAffine")
        if translate is not None:
            a, b = (float(v) for v in translate)
            if not (0 <= a <= 1 and 0 <= b <= 1):
                raise ValueError(f"RandomAffine: translate fractions must lie in [0, 1], got "
                                 f"{translate}")
            translate = (a, b)
        if scale is not None:
            lo, hi = (float(v) for v in scale)
            if not 0 < lo <= hi:
                raise ValueError(f"RandomAffine: scale range must be 0 < min <= max, got {scale}")
            scale = (lo, hi)
        self.translate, self.scale, self.fill = translate, scale, float(fill)

    def __call__(self, images):
        x = raw(images)
        _check_images(x, "RandomAffine")
        n, h, w = x.shape[0], x.shape[-2], x.shape[-1]
        angles = self._rng.uniform(*self.degrees, n)
        if self.translate is not None:
            tx = np.round(self._rng.uniform(-1, 1, n) * self.translate[0] * w)
            ty = np.round(self._rng.uniform(-1, 1, n) * self.translate[1] * h)
        else:
            tx = ty = np.zeros(n)
        s = self._rng.uniform(*self.scale, n) if self.scale is not None else np.ones(n)
        maps = _inverse_maps(angles, ty, tx, s, h, w)
        return bilinear_resample(images, _device_array(maps, x), self.fill)

    def __repr__(self) -> str:
        return (f"RandomAffine(degrees={self.degrees}, translate={self.translate}, "
                f"scale={self.scale})")
