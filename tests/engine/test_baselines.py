"""The classical baselines of the quality tables do what their names say."""

from __future__ import annotations

import numpy as np
import pytest

from uir_cli.engine.baselines import BASELINES, run_baseline
from uir_cli.bench.metrics import score


def _scene(h=96, w=128):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.45 + 0.35 * np.sin(x / 6.0)[..., None] * np.cos(y / 9.0)[..., None] * np.array([1.0, 0.8, 0.6], np.float32)
    return np.clip(base + 0.03 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


def _psnr(a, b):
    u8 = lambda v: np.floor(np.clip(v, 0, 1) * 255 + 0.5).astype(np.uint8)  # noqa: E731
    return score(u8(a), u8(b)).psnr


@pytest.mark.parametrize("name", BASELINES)
def test_shape_range_and_identity(name):
    img = _scene()
    out = run_baseline(name, img)
    assert out.shape == img.shape and out.dtype == np.float32 and 0 <= out.min() and out.max() <= 1
    if name == "identity":
        assert np.array_equal(out, img)


def test_dark_channel_removes_uniform_haze():
    clean = _scene()
    t, airlight = 0.45, np.array([0.92, 0.93, 0.95], np.float32)
    hazy = clean * t + airlight * (1 - t)
    assert _psnr(run_baseline("dark_channel", hazy), clean) > _psnr(hazy, clean) + 3


def test_equalisation_and_clahe_brighten_a_dark_photo():
    dark = _scene() * 0.15
    assert run_baseline("equalize", dark).mean() > 5 * dark.mean()
    assert run_baseline("clahe", dark).mean() > 1.5 * dark.mean()  # contrast-limited: brightens far less


def test_unsharp_sharpens_a_softened_photo_and_keeps_flat_areas():
    import cv2

    clean = _scene()
    soft = cv2.GaussianBlur(clean, (0, 0), 1.5)
    assert _psnr(run_baseline("unsharp", soft), clean) > _psnr(soft, clean) + 0.5
    flat = np.full((32, 32, 3), 0.4, np.float32)
    assert np.allclose(run_baseline("unsharp", flat), flat, atol=1e-6)


def test_unknown_baseline():
    with pytest.raises(ValueError):
        run_baseline("magic", _scene())
