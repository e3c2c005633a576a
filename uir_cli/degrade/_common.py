"""Building blocks shared by the degradations: input checks, sparse seeds,
soft line-segment kernels, smooth random fields and sRGB <-> linear light.

Everything is deterministic: randomness comes only from the ``rng`` passed in,
drawn in a fixed order; OpenCV is used only for filters whose result does not
depend on its thread count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Geometry (streak lengths, flake sizes) is tuned for images of about this
# many pixels on the short side (Rain100, Snow100K, 256-pixel training crops);
# larger images get proportionally larger structures.
REFERENCE_SIDE = 512


def as_rgb(clean: np.ndarray) -> np.ndarray:
    """Check ``clean`` is (H, W, 3) and return it as C-contiguous float32 (values untouched)."""
    if clean.ndim != 3 or clean.shape[2] != 3 or clean.shape[0] < 1 or clean.shape[1] < 1:
        raise ValueError(f"expected an (H, W, 3) RGB array, got shape {clean.shape}")
    if not np.issubdtype(clean.dtype, np.floating):
        raise ValueError(f"expected float RGB in [0, 1], got dtype {clean.dtype}")
    return np.ascontiguousarray(clean, dtype=np.float32)


def finish(rgb: np.ndarray) -> np.ndarray:
    """Clip to [0, 1] and return C-contiguous float32 (H, W, 3)."""
    return np.ascontiguousarray(np.clip(rgb, 0.0, 1.0), dtype=np.float32)


@dataclass(frozen=True)
class ParticleLayers:
    """What rain and snow draw alike: particles stamped in ``layers`` depth layers, ``density`` of
    the pixels seeded (per layer or in the farthest, as each kind says), and a ``veil``: the share of
    a flat light tone mixed into the image for the particles too small to resolve (0: none)."""

    layers: int
    density: float
    veil: float


class SceneDraws:
    """The draws of rain and snow for an image of ``height`` x ``width`` pixels, taken from ``rng`` in
    the order they are called.  Ranges are for a short side up to :data:`REFERENCE_SIDE`; a larger
    image is the same scene at a higher resolution: sizes grow by s = short side / 512 and densities
    shrink by s^2 (:func:`geometry_scale`)."""

    def __init__(self, rng: np.random.Generator, height: int, width: int):
        self.rng, self.scale = rng, geometry_scale(height, width)

    def density(self, low: float, high: float) -> float:
        """Particles per pixel: log-uniform in [low, high], over s^2."""
        return log_uniform(self.rng, low, high) / self.scale ** 2

    def size(self, low: float, high: float) -> float:
        """A length in pixels: uniform in [low, high], times s."""
        return float(self.rng.uniform(low, high)) * self.scale

    def angle(self, sd: float, limit: float) -> float:
        """Degrees from vertical: normal(0, sd), clipped to [-limit, limit]."""
        return float(np.clip(self.rng.normal(0.0, sd), -limit, limit))

    def uniform(self, low: float, high: float) -> float:
        return float(self.rng.uniform(low, high))

    def count(self, low: int, high: int) -> int:
        """A whole number from ``low`` to ``high``, both included."""
        return int(self.rng.integers(low, high + 1))

    def veil(self, high: float) -> float:
        """None half the time, else uniform in [0, ``high``]."""
        return 0.0 if self.rng.random() < 0.5 else float(self.rng.uniform(0.0, high))


def add_veil(rgb: np.ndarray, veil: float, tone: float) -> np.ndarray:
    """``rgb`` (H, W, 3) float32 mixed with the flat grey ``tone``: (1 - veil) rgb + veil tone."""
    return rgb * (1.0 - veil) + veil * tone if veil > 0.0 else rgb


def geometry_scale(height: int, width: int) -> float:
    """Factor (>= 1) by which pixel sizes grow for images larger than the reference."""
    return max(1.0, min(height, width) / REFERENCE_SIDE)


def log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """One draw, uniform in log space between ``low`` and ``high`` (both > 0)."""
    return float(math.exp(rng.uniform(math.log(low), math.log(high))))


def sparse_seeds(rng: np.random.Generator, height: int, width: int, density: float,
                 low: float, high: float) -> np.ndarray:
    """A (height, width) float32 canvas, zero except about ``density`` of the
    pixels, which hold values uniform in [``low``, ``high``)."""
    canvas = np.zeros(height * width, dtype=np.float32)
    count = int(rng.binomial(height * width, min(max(density, 0.0), 1.0)))
    where = rng.integers(0, height * width, size=count)
    canvas[where] = rng.uniform(low, high, size=count).astype(np.float32)
    return canvas.reshape(height, width)


def segment_kernel(length: float, angle_deg: float, radius: float, softness: float,
                   taper: float = 0.0) -> np.ndarray:
    """A soft capsule: the points within ``radius`` px of a centred segment of
    ``length`` px, tilted ``angle_deg`` from vertical (positive leans right
    going down), with a Gaussian edge of ``softness`` px.

    ``taper`` in [0, 1] fades the weight towards the segment's ends (a rain
    streak's thin tips). Returns a square, odd-sized float32 kernel whose peak
    is 1 (not normalised to sum 1: a seed of value v stamps a shape of peak v).
    """
    half = max(length, 0.0) / 2.0
    softness = max(softness, 0.3)
    reach = half + radius + 3.0 * softness
    size = 2 * int(math.ceil(reach)) + 1
    c = size // 2
    theta = math.radians(angle_deg)
    dx, dy = math.sin(theta), math.cos(theta)  # unit direction, y pointing down
    y, x = np.mgrid[-c:c + 1, -c:c + 1].astype(np.float32)
    along = x * dx + y * dy
    across = np.abs(-x * dy + y * dx)
    beyond = np.maximum(np.abs(along) - half, 0.0)
    dist = np.maximum(np.hypot(beyond, across) - radius, 0.0)
    kernel = np.exp(-0.5 * (dist / softness) ** 2)
    if taper > 0.0 and half > 0.0:
        u = np.clip(np.abs(along) / (half + radius + 1e-6), 0.0, 1.0)
        kernel *= 1.0 - taper * u ** 2
    return (kernel / kernel.max()).astype(np.float32)


def stamp(seeds: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Place ``kernel`` at every non-zero seed, scaled by its value, summing overlaps.

    ``seeds`` is a (H + 2p, W + 2p) canvas, p = kernel.shape[0] // 2, so that
    shapes entering from outside the frame are not lost; returns the (H, W)
    float32 middle.
    """
    p = kernel.shape[0] // 2
    layer = cv2.filter2D(seeds, cv2.CV_32F, kernel, borderType=cv2.BORDER_CONSTANT)
    return layer[p:layer.shape[0] - p, p:layer.shape[1] - p]


def smooth_field(rng: np.random.Generator, height: int, width: int, cells: float) -> np.ndarray:
    """A smooth random (height, width) float32 field in [0, 1]: about ``cells``
    random values across the long side, interpolated bicubically."""
    long_side = max(height, width)
    gh = max(2, int(round(cells * height / long_side)) + 1)
    gw = max(2, int(round(cells * width / long_side)) + 1)
    grid = rng.random((gh, gw), dtype=np.float32)
    field = cv2.resize(grid, (width, height), interpolation=cv2.INTER_CUBIC)
    lo, hi = float(field.min()), float(field.max())
    return (field - lo) / (hi - lo) if hi > lo else np.full((height, width), 0.5, np.float32)


def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """The sRGB transfer function, inverted: [0, 1] sRGB -> [0, 1] linear light (float32)."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """[0, 1] linear light -> [0, 1] sRGB (float32)."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1.0 / 2.4) - 0.055).astype(np.float32)
