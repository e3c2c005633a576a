"""PSNR/SSIM protocols checked against independent computations (scikit-image, direct loops)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from uir_cli.bench import metrics
from uir_cli.errors import UsageError


def _pair(height: int = 48, width: int = 56, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A textured target and a noisy, slightly shifted restoration of it, both uint8 RGB."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width]
    base = 128 + 60 * np.sin(xx / 4.0)[..., None] * np.cos(yy / 6.0)[..., None] * np.array([1.0, 0.7, -0.5])
    target = np.clip(base + rng.normal(0, 25, (height, width, 3)), 0, 255).astype(np.uint8)
    restored = np.clip(target.astype(np.int16) + rng.integers(-30, 31, target.shape) + 3, 0, 255).astype(np.uint8)
    return restored, target


def _skimage_ssim(x: np.ndarray, y: np.ndarray) -> float:
    # scikit-image filters with mode="reflect" and then drops (11 - 1) // 2 = 5 pixels on each side
    # before averaging, so its borders never enter the mean: the same "valid" region as basicsr.
    return structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=255)


def _direct_ssim_replicate(x: np.ndarray, y: np.ndarray) -> float:
    """SSIM with edge-replicated borders, whole-map mean, written as a plain window loop."""
    offsets = np.arange(11) - 5.0
    g = np.exp(-(offsets**2) / (2 * 1.5**2))
    window = np.outer(g, g) / np.outer(g, g).sum()
    px, py = np.pad(x, 5, mode="edge"), np.pad(y, 5, mode="edge")
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    values = []
    for i in range(x.shape[0]):
        for j in range(x.shape[1]):
            wx, wy = px[i : i + 11, j : j + 11], py[i : i + 11, j : j + 11]
            mx, my = (window * wx).sum(), (window * wy).sum()
            vx = (window * wx * wx).sum() - mx * mx
            vy = (window * wy * wy).sum() - my * my
            cxy = (window * wx * wy).sum() - mx * my
            values.append(((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2)))
    return float(np.mean(values))


def test_y_channel_matches_bt601_limited_range_and_is_not_rounded():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [10, 20, 30]]], dtype=np.uint8)
    y = metrics.rgb_to_y(rgb)
    assert y.dtype == np.float64 and y.shape == (1, 4)
    assert y[0, 0] == pytest.approx(16.0)
    assert y[0, 1] == pytest.approx(235.0)
    assert y[0, 2] == pytest.approx(16 + 65.481)
    expected = 16 + (65.481 * 10 + 128.553 * 20 + 24.966 * 30) / 255
    assert y[0, 3] == pytest.approx(expected, abs=1e-12)
    assert y[0, 3] != round(y[0, 3])


def test_basicsr_ssim_and_psnr_equal_scikit_image_on_y_planes():
    restored, target = _pair()
    y_restored, y_target = metrics.rgb_to_y(restored), metrics.rgb_to_y(target)
    assert metrics.ssim(restored, target, protocol="basicsr") == pytest.approx(
        _skimage_ssim(y_restored, y_target), abs=1e-6
    )
    expected_psnr = peak_signal_noise_ratio(y_target, y_restored, data_range=255)
    for protocol in ("basicsr", "diffuir"):
        assert metrics.psnr(restored, target, protocol=protocol) == pytest.approx(expected_psnr, abs=1e-9)


def test_rgb_protocol_is_per_channel_scikit_image_averaged():
    restored, target = _pair(seed=1)
    planes = [(restored[..., c].astype(np.float64), target[..., c].astype(np.float64)) for c in range(3)]
    expected_ssim = np.mean([_skimage_ssim(x, y) for x, y in planes])
    assert metrics.ssim(restored, target, protocol="rgb") == pytest.approx(expected_ssim, abs=1e-6)
    expected_psnr = peak_signal_noise_ratio(target.astype(np.float64), restored.astype(np.float64), data_range=255)
    assert metrics.psnr(restored, target, protocol="rgb") == pytest.approx(expected_psnr, abs=1e-9)


def test_diffuir_ssim_equals_a_direct_replicated_border_implementation():
    restored, target = _pair(height=17, width=21, seed=2)
    expected = _direct_ssim_replicate(metrics.rgb_to_y(restored), metrics.rgb_to_y(target))
    assert metrics.ssim(restored, target, protocol="diffuir") == pytest.approx(expected, abs=1e-9)


def test_diffuir_and_basicsr_differ_when_the_borders_carry_structure():
    target = np.full((32, 32, 3), 128, dtype=np.uint8)
    restored = target.copy()
    restored[:3, :, :] = 250  # damage only the outermost rows: outside basicsr's valid region
    basicsr = metrics.ssim(restored, target, protocol="basicsr")
    diffuir = metrics.ssim(restored, target, protocol="diffuir")
    assert diffuir < basicsr - 0.05


@pytest.mark.parametrize("protocol", metrics.PROTOCOLS)
def test_identical_images_give_infinite_psnr_and_ssim_one(protocol):
    _, target = _pair(seed=3)
    scores = metrics.score(target, target.copy(), protocol=protocol)
    assert scores.psnr == math.inf
    assert scores.ssim == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("d", [1, 5, 40])
def test_constant_offset_gives_the_psnr_worked_out_by_hand(d):
    # Grey images: Y = 16 + 219 v / 255 for R = G = B = v, so shifting v by k moves Y by 219 k / 255.
    target = np.full((20, 20, 3), 100, dtype=np.uint8)
    restored = target + np.uint8(d)
    dy = 219.0 * d / 255.0
    assert metrics.psnr(restored, target) == pytest.approx(10 * math.log10(255**2 / dy**2), abs=1e-9)
    assert metrics.psnr(restored, target, protocol="rgb") == pytest.approx(10 * math.log10(255**2 / d**2), abs=1e-9)


def test_score_matches_the_separate_functions():
    restored, target = _pair(seed=4)
    for protocol in metrics.PROTOCOLS:
        scores = metrics.score(restored, target, protocol=protocol, crop_border=2)
        assert scores == metrics.Scores(
            psnr=metrics.psnr(restored, target, protocol=protocol, crop_border=2),
            ssim=metrics.ssim(restored, target, protocol=protocol, crop_border=2),
        )


def test_crop_border_removes_pixels_from_each_side_of_both_images():
    restored, target = _pair(seed=5)
    n = 4
    inner_r, inner_t = restored[n:-n, n:-n], target[n:-n, n:-n]
    for protocol in metrics.PROTOCOLS:
        assert metrics.score(restored, target, protocol=protocol, crop_border=n) == metrics.score(
            inner_r, inner_t, protocol=protocol
        )
    # Damage confined to the cropped frame disappears from the scores.
    damaged = target.copy()
    damaged[:n] = 0
    damaged[:, -n:] = 255
    assert metrics.psnr(damaged, target, crop_border=n) == math.inf
    assert metrics.psnr(damaged, target) < 30


@pytest.mark.parametrize(
    ("restored", "target", "message"),
    [
        (np.zeros((8, 8, 3), np.uint8), np.zeros((8, 9, 3), np.uint8), "must match"),
        (np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.uint8), "uint8"),
        (np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.uint8), "(H, W, 3)"),
    ],
)
def test_mismatched_or_wrong_inputs_raise_clear_usage_errors(restored, target, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        metrics.score(restored, target)


def test_bad_protocol_crop_or_size_raise_usage_errors():
    restored, target = _pair(height=12, width=12)
    with pytest.raises(UsageError, match="unknown metric protocol"):
        metrics.psnr(restored, target, protocol="matlab")
    with pytest.raises(UsageError, match="crop border"):
        metrics.psnr(restored, target, crop_border=-1)
    with pytest.raises(UsageError, match="leaves nothing"):
        metrics.psnr(restored, target, crop_border=6)
    with pytest.raises(UsageError, match="at least 11x11"):
        metrics.ssim(restored, target, protocol="basicsr", crop_border=1)
    assert 0 < metrics.ssim(restored, target, protocol="diffuir", crop_border=1) < 1


def test_describe_names_channel_borders_window_constants_and_crop():
    text = metrics.describe("diffuir", 0)
    for part in ("Y channel", "replicated borders", "11x11", "sigma 1.5", "(0.01*255)^2", "no border crop"):
        assert part in text
    assert "R, G and B" in metrics.describe("rgb", 4) and "4 pixels cropped" in metrics.describe("rgb", 4)
    assert "5 pixels in from each side" in metrics.describe("basicsr", 0)
    with pytest.raises(UsageError):
        metrics.describe("nope", 0)
