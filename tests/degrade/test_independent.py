"""The independent degradations (validation only): deterministic, in range, and each does what it says."""

from __future__ import annotations

import numpy as np
import pytest

from uir_cli.degrade.independent import KINDS, degrade_independent


def _photo(h=96, w=128):
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    base = 0.5 + 0.3 * np.sin(x / 5.0)[..., None] * np.cos(y / 7.0)[..., None]
    return np.clip(base + 0.05 * rng.standard_normal((h, w, 3)), 0, 1).astype(np.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_deterministic_and_in_range(kind):
    clean = _photo()
    a = degrade_independent(clean, kind, np.random.default_rng(7))
    b = degrade_independent(clean, kind, np.random.default_rng(7))
    assert np.array_equal(a, b) and a.shape == clean.shape and a.dtype == np.float32
    assert 0.0 <= a.min() and a.max() <= 1.0
    assert np.abs(a - clean).mean() > 0.005  # it degrades


def test_each_kind_changes_the_photo_its_own_way():
    clean = _photo()
    rng = lambda: np.random.default_rng(3)  # noqa: E731
    hazy = degrade_independent(clean, "haze", rng())
    assert hazy.std() < clean.std() and hazy.mean() > clean.mean()  # contrast lost to a bright veil
    dark = degrade_independent(clean, "low-light", rng())
    assert dark.mean() < 0.5 * clean.mean()
    assert np.allclose(dark * 255, np.round(dark * 255), atol=1e-3)  # quantised to 8 bits
    blurred = degrade_independent(clean, "blur", rng())
    assert np.abs(np.diff(blurred, axis=1)).mean() < np.abs(np.diff(clean, axis=1)).mean()
    for kind in ("rain", "snow"):  # bright structures added, nothing darkened
        out = degrade_independent(clean, kind, rng())
        assert (out >= clean - 1e-6).all() and (out - clean).max() > 0.2


def test_unknown_kind():
    with pytest.raises(ValueError):
        degrade_independent(_photo(), "fog", np.random.default_rng(0))
