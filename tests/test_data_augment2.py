"""minigrad.data.geometric and minigrad.data.photometric: the bilinear resampler against a
per-pixel loop, rotations against exact quarter turns, each random transform against a NumPy
transcription of its formula with the same draws, devices, dtypes and loader resumption."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad
from minigrad import data
from minigrad.data._common import make_rng


def _images(n=4, c=3, h=7, w=9, seed=0):
    return np.random.default_rng(seed).random((n, c, h, w)).astype(np.float32)


def _bilinear_loop(img, m, fill):
    """Per-pixel transcription: sample img (C, H, W) at M @ (i, j, 1)."""
    c, h, w = img.shape
    out = np.empty_like(img, dtype=np.float64)
    for i in range(h):
        for j in range(w):
            y, x = m @ np.array([i, j, 1.0])
            y0, x0 = int(np.floor(y)), int(np.floor(x))
            a, b = y - y0, x - x0
            acc = np.zeros(c)
            for yy, xx, wt in ((y0, x0, (1 - a) * (1 - b)), (y0, x0 + 1, (1 - a) * b),
                               (y0 + 1, x0, a * (1 - b)), (y0 + 1, x0 + 1, a * b)):
                inside = 0 <= yy < h and 0 <= xx < w
                acc += wt * (img[:, yy, xx] if inside else fill)
            out[:, i, j] = acc
    return out


@given(st.integers(0, 10_000), st.floats(-1.5, 1.5), st.floats(0.5, 1.5))
@settings(max_examples=25)
def test_bilinear_resample_against_loop(seed, angle, s):
    rng = np.random.default_rng(seed)
    img = rng.random((2, 2, 5, 6))
    m = np.stack([[[np.cos(angle) / s, np.sin(angle) / s, rng.uniform(-2, 2)],
                   [-np.sin(angle) / s, np.cos(angle) / s, rng.uniform(-2, 2)]]] * 2)
    got = data.bilinear_resample(img, m, fill=0.25)
    for n in range(2):
        np.testing.assert_allclose(got[n], _bilinear_loop(img[n], m[n], 0.25), atol=1e-12)


def test_rotation_quarter_turns_and_identity(device):
    img = minigrad.tensor(_images(2, 1, 6, 6), device=device)
    quarter = data.RandomRotation((90, 90), seed=0)(img)
    assert quarter.device == minigrad.device(device) and quarter.dtype == np.float32
    np.testing.assert_allclose(quarter.cpu().numpy(), np.rot90(img.cpu().numpy(), 1, (2, 3)),
                               atol=1e-5)          # counter-clockwise, as np.rot90
    same = data.RandomAffine(0)(img)
    np.testing.assert_allclose(same.cpu().numpy(), img.cpu().numpy(), atol=1e-6)


def test_affine_translation_and_scale_against_transcription():
    x = _images(3, 2, 8, 10).astype(np.float64)
    aff = data.RandomAffine(20, translate=(0.2, 0.1), scale=(0.8, 1.2), fill=0.5, seed=7)
    got = aff(x)
    rng = make_rng(7)                               # the same draws, in the documented order
    angle = np.deg2rad(rng.uniform(-20, 20, 3))
    tx = np.round(rng.uniform(-1, 1, 3) * 0.2 * 10)
    ty = np.round(rng.uniform(-1, 1, 3) * 0.1 * 8)
    s = rng.uniform(0.8, 1.2, 3)
    cy, cx = 3.5, 4.5
    for n in range(3):
        # invert p' = c + t + s R p: p = c + R^-1 (p' - c - t) / s, as a matrix on (i, j, 1)
        cos, sin = np.cos(angle[n]), np.sin(angle[n])
        inv = np.array([[cos, sin], [-sin, cos]]) / s[n]
        shift = np.array([cy, cx]) - inv @ np.array([cy + ty[n], cx + tx[n]])
        m = np.concatenate([inv, shift[:, None]], axis=1)
        np.testing.assert_allclose(got[n], _bilinear_loop(x[n], m, 0.5), atol=1e-12)


def test_color_jitter_against_formulas(device):
    x = _images(5, 3, 4, 4)
    jitter = data.ColorJitter(brightness=0.4, contrast=0.5, saturation=0.6, seed=3)
    got = jitter(minigrad.tensor(x, device=device))
    assert got.dtype == np.float32 and got.device == minigrad.device(device)
    rng = make_rng(3)
    out = x.astype(np.float64)
    gray = lambda img: (0.2989 * img[:, 0] + 0.587 * img[:, 1] + 0.114 * img[:, 2])[:, None]
    f = rng.uniform(0.6, 1.4, 5).astype(np.float32).reshape(-1, 1, 1, 1)
    out = np.clip(f * out, 0, 1)
    f = rng.uniform(0.5, 1.5, 5).astype(np.float32).reshape(-1, 1, 1, 1)
    out = np.clip(f * out + (1 - f) * gray(out).mean(axis=(1, 2, 3), keepdims=True), 0, 1)
    f = rng.uniform(0.4, 1.6, 5).astype(np.float32).reshape(-1, 1, 1, 1)
    out = np.clip(f * out + (1 - f) * gray(out), 0, 1)
    np.testing.assert_allclose(got.cpu().numpy(), out, atol=1e-5)
    single = data.ColorJitter(saturation=0.9, seed=0)(x[:, :1])
    np.testing.assert_array_equal(single, x[:, :1])      # saturation: no-op on one channel
    with pytest.raises(ValueError, match=r"ColorJitter: expected 1 or 3 channels, got shape "
                                         r"\(5, 2, 4, 4\)"):
        jitter(x[:, :2])


def test_random_erasing_rectangles():
    x = np.ones((400, 2, 16, 16), dtype=np.float32)
    out = data.RandomErasing(p=0.5, value=0.0, seed=1)(x)
    erased = (out == 0)
    assert (erased[:, 0] == erased[:, 1]).all()                    # same box on every channel
    hit = erased.reshape(400, -1).any(1)
    assert 0.4 < hit.mean() < 0.6
    for mask in erased[hit, 0]:
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        assert mask.sum() == len(rows) * len(cols)                 # a full rectangle
        assert (np.diff(rows) == 1).all() and (np.diff(cols) == 1).all()
        assert 0.02 * 256 * 0.5 <= mask.sum() <= 0.33 * 256 * 1.6  # area within scale (rounding)
    with pytest.raises(TypeError, match="RandomErasing: expected floating images"):
        data.RandomErasing()(np.zeros((1, 4, 4), dtype=np.uint8))


def test_normalize(device):
    x = _images(2, 3, 3, 3)
    norm = data.Normalize([0.5, 0.4, 0.3], [0.2, 0.25, 0.5])
    got = norm(minigrad.tensor(x, device=device)).cpu().numpy()
    expected = (x - np.array([0.5, 0.4, 0.3])[:, None, None]) / \
        np.array([0.2, 0.25, 0.5])[:, None, None]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    gray = data.Normalize(0.1307, 0.3081)(x[:, 0])
    np.testing.assert_allclose(gray, (x[:, 0] - 0.1307) / 0.3081, rtol=1e-5)
    with pytest.raises(ValueError, match=r"Normalize: 3 means for 1 channels"):
        norm(x[:, :1])


def test_augmentations_in_a_loader_resume_exactly():
    images = _images(12, 1, 8, 8)
    def make():
        aug = data.Compose([data.RandomAffine(15, translate=(0.1, 0.1), scale=(0.9, 1.1), seed=4),
                            data.ColorJitter(0.3, 0.3, seed=5),
                            data.RandomErasing(seed=6), data.Normalize(0.5, 0.25)])
        return data.DataLoader(data.TensorDataset(images), batch_size=4, shuffle=True, seed=1,
                               transform=aug)
    loader = make()
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    rest = [b[0].numpy().copy() for b in it]
    again = make()
    again.load_state_dict(state)
    resumed = [b[0].numpy().copy() for b in again]
    assert len(resumed) == 2 and all(np.array_equal(a, b) for a, b in zip(rest, resumed))
