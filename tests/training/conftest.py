"""Tiny training data (a few small images written on the fly) and a tiny-run helper."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """(H, W, 3) uint8: a smooth random picture (bicubic upsampling of a 4x4 grid)."""
    small = (rng.random((4, 4, 3)) * 255).astype(np.uint8)
    return np.asarray(Image.fromarray(small).resize((width, height), Image.BICUBIC))


@pytest.fixture
def photos(tmp_path) -> Path:
    """Three clean 96x72 photos."""
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        Image.fromarray(smooth_image(rng, 72, 96)).save(folder / f"photo{i}.png")
    return folder


@pytest.fixture
def pairs(tmp_path) -> Path:
    """DIR/{input,target} with two hazy-looking 32x32 pairs."""
    folder = tmp_path / "pairs"
    (folder / "input").mkdir(parents=True)
    (folder / "target").mkdir()
    rng = np.random.default_rng(1)
    for i in range(2):
        gt = smooth_image(rng, 32, 32).astype(np.float32) / 255.0
        lq = gt * 0.5 + 0.45
        Image.fromarray(np.round(gt * 255).astype(np.uint8)).save(folder / "target" / f"{i}.png")
        Image.fromarray(np.round(lq * 255).astype(np.uint8)).save(folder / "input" / f"{i}.png")
    return folder


TINY = dict(dim=8, dim_mults="1,2", crop=32, workers=0, device="cpu", precision="fp32")


def tiny_config(out: Path, **overrides):
    """A resolved config for a tiny CPU run (dim 8, dim_mults (1, 2), 32 px crops)."""
    from uir_cli.training.config import resolve_config

    values = {**TINY, "steps": 3, "batch_size": 4, "accumulate": 1, "save_every": 1000, "val_every": 1000, **overrides}
    return resolve_config(out=str(out), **values)


def tiny_args(**overrides) -> list[str]:
    """The same tiny settings as `uir train` options."""
    values = {**TINY, "steps": 3, "batch_size": 4, "accumulate": 1, **overrides}
    args = []
    for key, value in values.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    return args
