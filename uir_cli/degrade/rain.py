"""Rain: bright, thin, tapered streaks falling in one dominant direction.

Physical model. A falling drop lit by the scene is seen during the exposure as
a short bright streak along its path; drops nearer the camera give longer,
wider, brighter streaks. We scatter drop positions at random (``density`` of
the pixels), stamp each with a soft capsule of length ``length`` px, half-width
``width`` px, tilted ``angle`` degrees from vertical and tapered at its ends
(which also blurs it along its direction), over one to three depth layers that
jitter the angle by a few degrees and scale length, width and brightness down
with distance. The sum, lightly blurred, is the rain layer R (peak about
``brightness``); it is composited as light added to the scene with a screen,
I = 1 - (1 - J)(1 - R), and the mist of the drops as a faint veil,
I <- (1 - v) I + v a, with v = ``veil``, a a light grey.

Random ranges (for a short side <= 512 px; on larger images, taken as the
same scene at a higher resolution, sizes grow by s = short side / 512 and
densities shrink by s^2), chosen to span Rain100L (sparse, thin streaks) to
Rain100H (dense, thick ones):

- density: log-uniform in [0.0015, 0.012] drops per pixel
- length: uniform in [12, 48] px
- angle: normal(0, 12) degrees, clipped to [-40, 40]; layers jitter by normal(0, 3)
- width: uniform in [0, 0.7] px half-width (streaks about 1 to 2.5 px wide)
- brightness: uniform in [0.35, 0.9]
- softness: uniform in [0.3, 0.6] px Gaussian blur of the layer
- veil: 0 half the time, else uniform in [0, 0.12]
- layers: 1, 2 or 3
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._common import ParticleLayers, SceneDraws, add_veil, as_rgb, finish, segment_kernel, sparse_seeds, stamp


@dataclass(frozen=True)
class RainParams(ParticleLayers):
    """The random draw behind one rainy image (sizes in pixels of that image): the streaks' shape
    (``length``, ``angle``, half-``width``), their ``brightness`` and the blur of the layer."""

    length: float
    angle: float
    width: float
    brightness: float
    softness: float


def sample_params(rng: np.random.Generator, height: int, width: int) -> RainParams:
    """Draw rain parameters for an image of ``height`` x ``width`` pixels (in the order written);
    ``density`` is shared out equally over the layers."""
    draw = SceneDraws(rng, height, width)
    return RainParams(density=draw.density(0.0015, 0.012), length=draw.size(12.0, 48.0), angle=draw.angle(12.0, 40.0),
                      width=draw.size(0.0, 0.7), brightness=draw.uniform(0.35, 0.9), softness=draw.size(0.3, 0.6),
                      veil=draw.veil(0.12), layers=draw.count(1, 3))


def rain_layer(rng: np.random.Generator, height: int, width: int, p: RainParams) -> np.ndarray:
    """The (height, width) float32 streak layer R in [0, 1] for parameters ``p``."""
    layer = np.zeros((height, width), np.float32)
    for i in range(p.layers):
        near = 1.0 if p.layers == 1 else 0.55 + 0.45 * i / (p.layers - 1)  # far layers first
        angle = p.angle + float(rng.normal(0.0, 3.0))
        length = p.length * near * float(rng.uniform(0.8, 1.2))
        kernel = segment_kernel(length, angle, p.width * near, 0.4, taper=0.6)
        pad = kernel.shape[0] // 2
        density = p.density / p.layers
        seeds = sparse_seeds(rng, height + 2 * pad, width + 2 * pad, density, 0.5 * near, near)
        layer += stamp(seeds, kernel)
    layer = cv2.GaussianBlur(layer, (0, 0), p.softness, borderType=cv2.BORDER_REFLECT)
    return np.clip(layer * p.brightness, 0.0, 1.0)


def composite(clean: np.ndarray, layer: np.ndarray, p: RainParams) -> np.ndarray:
    """Screen the streak ``layer`` onto ``clean`` (H, W, 3) float32 and add the veil."""
    r = layer[..., None]
    return finish(add_veil(1.0 - (1.0 - clean) * (1.0 - r), p.veil, 0.85))


def render(clean: np.ndarray, p: RainParams, rng: np.random.Generator) -> np.ndarray:
    """Rain on ``clean`` (H, W, 3) float in [0, 1] with parameters ``p``; float32 (H, W, 3) in [0, 1]."""
    clean = as_rgb(clean)
    return composite(clean, rain_layer(rng, clean.shape[0], clean.shape[1], p), p)
