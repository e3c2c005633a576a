"""Synthetic degradations of clean photos: rain, haze, snow, blur, low light.

They make the (lq, gt) pairs that ``uir`` trains on, on the fly, and that
``uir degrade`` writes to disk::

    from uir_cli.degrade import KINDS, degrade
    lq = degrade(gt, "rain", np.random.default_rng(0))

One module per kind documents its physical model and random ranges; each has
a frozen ``*Params`` dataclass, ``sample_params(rng, height, width)`` and
``render(clean, params, rng)``. The same input and the same rng state give the
same output, bit for bit.

This module imports nothing heavy itself, so the CLI can read ``KINDS`` at
start-up; the kind modules (numpy, OpenCV) load on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..vocab import TASKS

if TYPE_CHECKING:
    import numpy as np

KINDS = TASKS  # what can be degraded is what can be restored

_MODULES = {"rain": "rain", "haze": "haze", "snow": "snow", "blur": "blur", "low-light": "lowlight"}


@dataclass(frozen=True)
class Degraded:
    """A degraded image and the parameters drawn for it.

    - ``lq``: (H, W, 3) float32 in [0, 1]
    - ``params``: the kind's frozen ``*Params`` dataclass (e.g. ``RainParams``)
    """

    kind: str
    lq: np.ndarray
    params: Any


def degrade_with_params(clean: np.ndarray, kind: str, rng: np.random.Generator) -> Degraded:
    """Degrade ``clean`` (H, W, 3) float32 RGB in [0, 1] by ``kind`` (one of KINDS).

    Draws the parameters from ``rng``, then the rest of the randomness
    (positions, noise) from the same ``rng``; ``degrade`` gives the same image
    for the same rng state. Raises UsageError for an unknown kind.
    """
    import importlib

    name = _MODULES.get(kind)
    if name is None:
        raise UsageError(f"unknown degradation {kind!r}; choose one of {', '.join(KINDS)}")
    from ._common import as_rgb

    module = importlib.import_module(f"{__name__}.{name}")
    clean = as_rgb(clean)
    params = module.sample_params(rng, clean.shape[0], clean.shape[1])
    return Degraded(kind, module.render(clean, params, rng), params)


def degrade(clean: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """clean (H, W, 3) float32 RGB in [0, 1] -> degraded, same shape, float32 in [0, 1]."""
    return degrade_with_params(clean, kind, rng).lq


def lighten(clean: np.ndarray, degraded: np.ndarray, strength: float) -> np.ndarray:
    """A lighter version of ``degraded``: clean + strength * (degraded - clean), float32 in [0, 1].

    ``clean`` and ``degraded``: (H, W, 3) float in [0, 1]; ``strength`` in
    [0, 1] (0: the clean photo, 1: ``degraded``).  For the compositing models
    this is the same degradation at a lower opacity: rain's screen layer and
    veil, snow's coverage and haze's 1 - t all scale by ``strength`` (haze
    with transmission 1 - s (1 - t)).  For blur it is a point-spread function
    with a sharp central peak (a camera that mostly held still); for low light
    an exposure between the two, its noise scaled down with it.
    """
    import numpy as np

    out = clean + np.float32(strength) * (degraded - clean)
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


__all__ = ["KINDS", "Degraded", "degrade", "degrade_with_params", "lighten"]
