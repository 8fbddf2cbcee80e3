"""Image augmentation applied to whole batches: random crop with padding, horizontal flip,
Gaussian noise.

Batches are ``(N, C, H, W)`` (NCHW) or ``(N, H, W)`` (NHW); each transform draws one random
choice per image from its own seeded generator and applies them all at once (no Python loop per
image). A Tensor comes back as a Tensor, an array as an array, on the same device and dtype.
The random draws are made on the cpu (the generator is NumPy's) and moved to the batch's device.

Each transform has ``state_dict()``/``load_state_dict()`` (its generator state), so a resumed
run draws the same augmentations; a :class:`~minigrad.data.DataLoader` given one as
``transform`` saves and restores it with its own state.
"""

from __future__ import annotations


import numpy as np

from .. import backend
from ._common import like, make_rng, raw, rng_state, set_rng_state

__all__ = ["RandomCrop", "RandomHorizontalFlip", "GaussianNoise", "Compose"]


def _check_images(x, owner: str):
    if x.ndim not in (3, 4):
        raise ValueError(f"{owner}: expected a batch of images (N, C, H, W) or (N, H, W), got "
                         f"shape {tuple(x.shape)}")


def _device_array(array: np.ndarray, like_array):
    """A cpu draw on the device of ``like_array``."""
    if type(like_array) is np.ndarray:
        return array
    return backend.to_device(array, backend.device_of(like_array))


class _Seeded:
    """A transform with its own generator (seeded by ``seed``, or from minigrad's cpu
    generator when ``seed`` is None)."""

    def __init__(self, seed=None):
        self._rng = make_rng(seed)

    def state_dict(self) -> dict:
        return {"rng": rng_state(self._rng)}

    def load_state_dict(self, state: dict) -> None:
        set_rng_state(self._rng, state.get("rng"), f"{type(self).__name__}.load_state_dict")


class RandomCrop(_Seeded):
    """Pad each image by ``padding`` zeros on every side, then cut a ``size`` window at a random
    position (uniform over all positions, drawn per image).

    For an image padded to ``(Hp, Wp) = (H + 2p, W + 2p)`` and output ``(h, w)``, the offsets
    are ``oy ~ U{0..Hp-h}``, ``ox ~ U{0..Wp-w}`` and ``out[n, c, i, j] = padded[n, c, oy[n] + i,
    ox[n] + j]``. Done as one gather of whole windows: a stride-trick view
    ``windows[n, c, y, x] = padded[n, c, y:y+h, x:x+w]`` (no copy) indexed by ``(n, oy[n],
    ox[n])``.
    """

    def __init__(self, size, padding: int = 0, fill: float = 0.0, seed=None):
        super().__init__(seed)
        h, w = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
        if h < 1 or w < 1:
            raise ValueError(f"RandomCrop: size must be positive, got {size}")
        if padding < 0:
            raise ValueError(f"RandomCrop: padding must be >= 0, got {padding}")
        self.size = (int(h), int(w))
        self.padding = int(padding)
        self.fill = fill

    def __call__(self, images):
        x = raw(images)
        _check_images(x, "RandomCrop")
        xp = backend.array_module(x)
        p, (h, w) = self.padding, self.size
        pad = [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)]
        padded = xp.pad(x, pad, mode="constant", constant_values=self.fill) if p else x
        n, hp, wp = x.shape[0], padded.shape[-2], padded.shape[-1]
        if h > hp or w > wp:
            raise ValueError(f"RandomCrop: crop {self.size} is larger than the padded image "
                             f"({hp}, {wp})")
        oy = self._rng.integers(0, hp - h + 1, n)                    # one offset per image
        ox = self._rng.integers(0, wp - w + 1, n)
        # windows[n, ..., y, x, i, j] = padded[n, ..., y + i, x + j]: every h x w window, a view
        sy, sx = padded.strides[-2:]
        windows = xp.lib.stride_tricks.as_strided(
            padded, shape=padded.shape[:-2] + (hp - h + 1, wp - w + 1, h, w),
            strides=padded.strides[:-2] + (sy, sx, sy, sx))
        batch = xp.arange(n)
        oy, ox = _device_array(oy, x), _device_array(ox, x)
        if x.ndim == 4:
            out = windows[batch, :, oy, ox]   # advanced indices around a slice: (N, C, h, w)
        else:
            out = windows[batch, oy, ox]      # (N, h, w)
        return like(out, images)

    def __repr__(self) -> str:
        return f"RandomCrop(size={self.size}, padding={self.padding})"


class RandomHorizontalFlip(_Seeded):
    """Mirror each image left-right with probability ``p`` (drawn per image):
    ``out[n, ..., j] = x[n, ..., W-1-j]`` where ``u[n] < p``, ``u ~ U[0, 1)``."""

    def __init__(self, p: float = 0.5, seed=None):
        super().__init__(seed)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must lie in [0, 1], got {p}")
        self.p = float(p)

    def __call__(self, images):
        x = raw(images)
        _check_images(x, "RandomHorizontalFlip")
        xp = backend.array_module(x)
        flip = self._rng.random(x.shape[0]) < self.p                 # one coin per image
        mask = _device_array(flip.reshape((-1,) + (1,) * (x.ndim - 1)), x)
        return like(xp.where(mask, x[..., ::-1], x), images)

    def __repr__(self) -> str:
        return f"RandomHorizontalFlip(p={self.p})"


class GaussianNoise(_Seeded):
    """Add independent Gaussian noise to every pixel: ``out = x + mean + std * eps``,
    ``eps ~ N(0, 1)``, drawn in the batch's floating dtype (float32 stays float32)."""

    def __init__(self, std: float = 0.1, mean: float = 0.0, seed=None):
        super().__init__(seed)
        if std < 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std}")
        self.std = float(std)
        self.mean = float(mean)

    def __call__(self, images):
        x = raw(images)
        if x.dtype.kind != "f":
            raise TypeError(f"GaussianNoise: expected floating images, got {x.dtype}; convert "
                            f"them first (e.g. uint8 pixels / 255 as float32)")
        eps = _device_array(self._rng.standard_normal(x.shape, dtype=x.dtype), x)
        return like(x + self.mean + self.std * eps, images)

    def __repr__(self) -> str:
        return f"GaussianNoise(std={self.std}, mean={self.mean})"


class Compose:
    """Apply transforms in order; its state is the list of theirs."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, images):
        for t in self.transforms:
            images = t(images)
        return images

    def state_dict(self) -> dict:
        return {"transforms": [t.state_dict() if hasattr(t, "state_dict") else None
                               for t in self.transforms]}

    def load_state_dict(self, state: dict) -> None:
        states = state.get("transforms")
        if not isinstance(states, list) or len(states) != len(self.transforms):
            raise ValueError(f"Compose.load_state_dict: expected {len(self.transforms)} "
                             f"transform states")
        for t, s in zip(self.transforms, states):
            if s is not None:
                t.load_state_dict(s)

    def __repr__(self) -> str:
        return "Compose([" + ", ".join(map(repr, self.transforms)) + "])"
