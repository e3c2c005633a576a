"""Snow: opaque flakes of several sizes in depth layers, streaked by the wind.

Physical model. Flakes are small, nearly white, partly opaque particles. Seen
through a lens they form layers by distance: far flakes are many, tiny, faint
and sharp; near flakes are few, large, and blurred because they are out of
focus. During the exposure every flake moves along the same wind direction,
the nearer ones farther across the frame, so each is stamped as a soft capsule
(a disc of its radius swept along a segment of its motion length). Layers are
composited far to near as coverage, I <- I (1 - alpha) + c alpha, with c the
flakes' near-white colour; a faint whitening veil stands for the flakes too
small to resolve.

Random ranges (for a short side <= 512 px; on larger images, taken as the
same scene at a higher resolution, sizes grow by s = short side / 512 and
densities shrink by s^2), spanning Snow100K-S (small, sparse flakes) to
Snow100K-L (large, dense ones):

- layers: 2, 3 or 4, from far (index 0) to near
- density: log-uniform in [0.002, 0.015] flakes per pixel in the farthest
  layer, falling to a tenth of that in the nearest
- radius: 0.4 px in the farthest layer up to ``max_radius`` uniform in
  [1.5, 5] px in the nearest; edge blur from 0.5 px up to half the radius
- wind: angle normal(0, 25) degrees from vertical, clipped to [-60, 60];
  motion length of the nearest layer uniform in [0, 14] px, scaled by nearness
- opacity: peak of the nearest flakes uniform in [0.7, 1.0] (farthest 0.6 of
  that), each flake's own opacity uniform in [0.4, 1] of its layer's
- colour: grey uniform in [0.88, 1.0]
- veil: 0 half the time, else uniform in [0, 0.1]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import ParticleLayers, SceneDraws, add_veil, as_rgb, finish, segment_kernel, sparse_seeds, stamp


@dataclass(frozen=True)
class SnowParams(ParticleLayers):
    """The random draw behind one snowy image (sizes in pixels of that image): the nearest flakes'
    ``max_radius``, the wind's angle and ``streak`` length, the flakes' ``opacity`` and ``colour``."""

    max_radius: float
    wind_angle: float
    streak: float
    opacity: float
    colour: float
    """Grey tone of the flakes and of the veil (1: white)."""


def sample_params(rng: np.random.Generator, height: int, width: int) -> SnowParams:
    """Draw snow parameters for an image of ``height`` x ``width`` pixels (in the order written).

    ``density`` seeds the farthest layer; it falls geometrically with nearness to a tenth of that in
    the nearest layer, so most flakes are small and far."""
    draw = SceneDraws(rng, height, width)
    return SnowParams(layers=draw.count(2, 4), density=draw.density(0.002, 0.015), max_radius=draw.size(1.5, 5.0),
                      wind_angle=draw.angle(25.0, 60.0), streak=draw.size(0.0, 14.0), opacity=draw.uniform(0.7, 1.0),
                      colour=draw.uniform(0.88, 1.0), veil=draw.veil(0.1))


def flake_layer(rng: np.random.Generator, height: int, width: int, p: SnowParams, index: int) -> np.ndarray:
    """Coverage alpha (height, width) float32 in [0, 1] of layer ``index`` (0 = farthest)."""
    z = index / (p.layers - 1)  # nearness in [0, 1]
    radius = 0.4 + (p.max_radius - 0.4) * z ** 1.5
    softness = 0.5 + 0.5 * radius * z
    kernel = segment_kernel(p.streak * (0.15 + 0.85 * z), p.wind_angle, radius, softness)
    pad = kernel.shape[0] // 2
    peak = p.opacity * (0.6 + 0.4 * z)
    seeds = sparse_seeds(rng, height + 2 * pad, width + 2 * pad, p.density * 0.1 ** z, 0.4 * peak, peak)
    return np.clip(stamp(seeds, kernel), 0.0, 1.0)


def render(clean: np.ndarray, p: SnowParams, rng: np.random.Generator) -> np.ndarray:
    """Snow on ``clean`` (H, W, 3) float in [0, 1] with parameters ``p``; float32 (H, W, 3) in [0, 1]."""
    out = add_veil(as_rgb(clean), p.veil, p.colour)
    h, w = out.shape[:2]
    for index in range(p.layers):
        alpha = flake_layer(rng, h, w, p, index)[..., None]
        out = out * (1.0 - alpha) + p.colour * alpha
    return finish(out)
