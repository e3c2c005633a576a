"""The synthetic degradations: deterministic, in range, and each doing what its weather does."""

from __future__ import annotations

import dataclasses
import json
import math

import cv2
import numpy as np
import pytest

from uir_cli.degrade import KINDS, degrade, degrade_with_params
from uir_cli.errors import UsageError

skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A natural photo, 160 x 192, float32 RGB in [0, 1]."""
    rgb = cv2.resize(skimage_data.astronaut(), (192, 160), interpolation=cv2.INTER_AREA)
    return rgb.astype(np.float32) / 255.0


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _laplacian_variance(rgb: np.ndarray) -> float:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def _dark_channel(rgb: np.ndarray) -> float:
    """Mean of the dark channel (min over colours, then over 15 x 15 patches)."""
    return float(cv2.erode(rgb.min(axis=2), np.ones((15, 15), np.uint8)).mean())


@pytest.mark.parametrize("kind", KINDS)
def test_keeps_shape_dtype_and_range_and_leaves_the_input_alone(photo, kind):
    before = photo.copy()
    lq = degrade(photo, kind, _rng(0))
    assert lq.shape == photo.shape and lq.dtype == np.float32
    assert lq.min() >= 0.0 and lq.max() <= 1.0
    assert np.array_equal(photo, before)
    assert np.abs(lq - photo).mean() > 0.01  # it did something visible


@pytest.mark.parametrize("kind", KINDS)
def test_same_seed_same_bits_other_seed_other_image(photo, kind):
    a = degrade(photo, kind, _rng(7))
    b = degrade(photo, kind, _rng(7))
    c = degrade(photo, kind, _rng(8))
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


@pytest.mark.parametrize("kind", KINDS)
def test_params_are_recorded_and_match_degrade(photo, kind):
    result = degrade_with_params(photo, kind, _rng(3))
    assert np.array_equal(result.lq, degrade(photo, kind, _rng(3)))
    recorded = json.loads(json.dumps(dataclasses.asdict(result.params)))
    assert recorded and all(isinstance(v, (int, float, list)) for v in recorded.values())


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("shape", [(1, 1, 3), (5, 3, 3), (40, 300, 3)])
def test_odd_and_tiny_sizes_work(kind, shape):
    lq = degrade(np.full(shape, 0.5, np.float32), kind, _rng(1))
    assert lq.shape == shape and lq.dtype == np.float32 and np.isfinite(lq).all()


def test_unknown_kind_and_wrong_shape_are_refused(photo):
    with pytest.raises(UsageError, match="fog"):
        degrade(photo, "fog", _rng(0))
    with pytest.raises(ValueError, match="shape"):
        degrade(photo[..., 0], "rain", _rng(0))


@pytest.mark.parametrize("seed", range(4))
def test_haze_lowers_contrast_and_raises_the_dark_channel(photo, seed):
    lq = degrade(photo, "haze", _rng(seed))
    assert lq.std() < 0.85 * photo.std()
    assert _dark_channel(lq) > _dark_channel(photo) + 0.1


def test_haze_is_thicker_at_the_top_than_at_the_bottom():
    scene = np.zeros((128, 128, 3), np.float32)  # a black scene shows the haze alone
    for seed in range(4):
        lq = degrade(scene, "haze", _rng(seed))
        assert lq[:32].mean() > lq[-32:].mean()


@pytest.mark.parametrize("seed", range(4))
def test_low_light_is_as_dark_as_lol(photo, seed):
    lq = degrade(photo, "low-light", _rng(seed))
    assert 0.02 < lq.mean() < 0.22
    assert lq.mean() < 0.5 * photo.mean()


def test_low_light_adds_more_noise_where_there_is_more_light():
    # Flat dark and bright halves: the bright half's pixel spread in linear light must be larger.
    scene = np.concatenate([np.full((64, 64, 3), 0.1, np.float32), np.full((64, 64, 3), 0.9, np.float32)], axis=1)
    lq = degrade(scene, "low-light", _rng(2))
    linear = np.where(lq <= 0.04045, lq / 12.92, ((lq + 0.055) / 1.055) ** 2.4)
    assert linear[:, 64:].std() > 1.2 * linear[:, :64].std()


@pytest.mark.parametrize("seed", range(4))
def test_blur_removes_fine_detail(photo, seed):
    lq = degrade(photo, "blur", _rng(seed))
    assert _laplacian_variance(lq) < 0.5 * _laplacian_variance(photo)
    assert abs(lq.mean() - photo.mean()) < 0.01  # the kernel sums to 1: no brightness change


def test_blur_does_not_shift_the_image():
    # A centred white square: the blurred square's centre of mass stays within a pixel.
    scene = np.zeros((96, 96, 3), np.float32)
    scene[40:56, 40:56] = 1.0
    for seed in range(4):
        grey = degrade(scene, "blur", _rng(seed)).mean(axis=2)
        y, x = np.mgrid[0:96, 0:96]
        assert abs((grey * y).sum() / grey.sum() - 47.5) < 1.0
        assert abs((grey * x).sum() / grey.sum() - 47.5) < 1.0


@pytest.mark.parametrize("kind", ["rain", "snow"])
@pytest.mark.parametrize("seed", range(4))
def test_rain_and_snow_add_sparse_bright_structures(photo, kind, seed):
    lq = degrade(photo, kind, _rng(seed))
    change = (lq - photo).mean(axis=2)
    change -= np.median(change)  # ignore a uniform veil
    assert lq.mean() > photo.mean()
    assert (change < -0.05).mean() < 0.02  # nothing gets darker (but a veil may dull highlights)
    assert 0.005 < (change > 0.05).mean() < 0.6  # bright marks, not a wash over everything


def test_rain_streaks_run_along_their_direction():
    scene = np.full((192, 192, 3), 0.3, np.float32)
    for seed in range(4):
        result = degrade_with_params(scene, "rain", _rng(seed))
        layer = result.lq.mean(axis=2) - 0.3
        layer -= layer.mean()
        a = math.radians(result.params.angle)
        along = (round(4 * math.cos(a)), round(4 * math.sin(a)))  # (rows, cols)
        across = (round(-2 * math.sin(a)), round(2 * math.cos(a)))

        def correlation(shift):
            return float((layer * np.roll(layer, shift, axis=(0, 1))).mean() / layer.var())

        assert correlation(along) > 0.4  # a streak continues 4 px down its path
        assert correlation(along) > correlation(across) + 0.2  # but is thin across it


def test_snow_has_flakes_of_several_sizes():
    scene = np.zeros((256, 256, 3), np.float32)
    sizes = []
    for seed in range(3):
        alpha = (degrade(scene, "snow", _rng(seed)).mean(axis=2) > 0.2).astype(np.uint8)
        count, _, stats, _ = cv2.connectedComponentsWithStats(alpha)
        sizes.extend(stats[1:, cv2.CC_STAT_AREA].tolist())
    sizes = np.array(sizes)
    assert len(sizes) > 50
    assert (sizes <= 4).any() and (sizes >= 30).any()
