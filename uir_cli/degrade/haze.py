"""Haze: the atmospheric scattering model with a depth proxy.

Physical model (Koschmieder; the model behind RESIDE/SOTS):
I(x) = J(x) t(x) + A (1 - t(x)),  t(x) = exp(-beta d(x)),
with J the clean image, A the airlight (the colour of the sky at the
horizon) and d a scene depth. A single photo carries no depth, so d is a
proxy in [near, 1] mixing three cues, each normalised to [0, 1]:

- a vertical gradient, far at the top (ground recedes towards the horizon),
  slightly tilted and bent by an exponent;
- a smooth random field (terrain and objects at varied distances);
- the image's heavily blurred luminance (bright, flat regions such as sky
  and distant walls tend to be far), the "inverted luminance" cue, which
  is what keeps haze thickest in the sky and thinner on dark foreground.

Random ranges (SOTS outdoor has beta 0.04 to 0.2 on real depth in metres,
transmissions from about 0.1 to 0.9, airlight 0.8 to 1.0):

- beta: uniform in [0.6, 2.5] (transmission at the farthest point 0.08 to 0.55)
- near: uniform in [0, 0.3] (depth proxy at the nearest point)
- airlight: grey level uniform in [0.75, 1.0], each channel tinted by
  normal(0, 0.025) around it, plus a shared tint towards blue or yellow
  uniform in [-0.04, 0.04]; clipped to [0.6, 1]
- cue weights: a random convex mix, vertical 0.3 to 0.6, field and luminance
  sharing the rest
- gradient: tilt normal(0, 0.15) (fraction of the height across the width),
  exponent log-uniform in [0.6, 1.8]
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._common import as_rgb, finish, log_uniform, smooth_field

# The luminance cue is computed on a thumbnail of at most this many pixels on its long side.
_THUMB = 64


@dataclass(frozen=True)
class HazeParams:
    """The random draw behind one hazy image."""

    beta: float
    near: float
    airlight: tuple[float, float, float]
    vertical_weight: float
    field_weight: float
    luminance_weight: float
    tilt: float
    exponent: float


def sample_params(rng: np.random.Generator, height: int, width: int) -> HazeParams:
    """Draw haze parameters (the image size does not change the ranges)."""
    beta = float(rng.uniform(0.6, 2.5))
    near = float(rng.uniform(0.0, 0.3))
    grey = float(rng.uniform(0.75, 1.0))
    warm = float(rng.uniform(-0.04, 0.04))  # > 0 yellowish, < 0 bluish
    tint = rng.normal(0.0, 0.025, size=3) + np.array([warm, 0.0, -warm])
    airlight = tuple(float(a) for a in np.clip(grey * (1.0 + tint), 0.6, 1.0))
    vertical = float(rng.uniform(0.3, 0.6))
    split = float(rng.uniform(0.2, 0.8))
    tilt = float(rng.normal(0.0, 0.15))
    exponent = log_uniform(rng, 0.6, 1.8)
    return HazeParams(beta, near, airlight, vertical, (1 - vertical) * split, (1 - vertical) * (1 - split),
                      tilt, exponent)


def _normalise(v: np.ndarray) -> np.ndarray:
    lo, hi = float(v.min()), float(v.max())
    return (v - lo) / (hi - lo) if hi > lo else np.zeros_like(v)


def depth_proxy(clean: np.ndarray, p: HazeParams, rng: np.random.Generator) -> np.ndarray:
    """(H, W) float32 relative depth in [p.near, 1] for ``clean`` (H, W, 3) float32 in [0, 1]."""
    h, w = clean.shape[:2]
    scale = min(1.0, _THUMB / max(h, w))
    th, tw = max(1, round(h * scale)), max(1, round(w * scale))
    thumb = cv2.resize(clean, (tw, th), interpolation=cv2.INTER_AREA).reshape(th, tw, 3)
    y, x = np.mgrid[0:th, 0:tw].astype(np.float32)
    rows = y / max(th - 1, 1) + p.tilt * (x / max(tw - 1, 1) - 0.5)
    vertical = _normalise(1.0 - rows) ** p.exponent
    field = smooth_field(rng, th, tw, cells=3.0)
    luma = thumb @ np.array([0.299, 0.587, 0.114], np.float32)
    luma = _normalise(cv2.GaussianBlur(luma, (0, 0), max(th, tw) / 16, borderType=cv2.BORDER_REFLECT))
    mix = p.vertical_weight * vertical + p.field_weight * field + p.luminance_weight * luma
    depth = p.near + (1.0 - p.near) * _normalise(mix.astype(np.float32))
    return cv2.resize(depth, (w, h), interpolation=cv2.INTER_LINEAR).reshape(h, w)


def render(clean: np.ndarray, p: HazeParams, rng: np.random.Generator) -> np.ndarray:
    """Haze on ``clean`` (H, W, 3) float in [0, 1] with parameters ``p``; float32 (H, W, 3) in [0, 1]."""
    clean = as_rgb(clean)
    t = np.exp(-p.beta * depth_proxy(clean, p, rng))[..., None]  # transmission t = exp(-beta d)
    airlight = np.asarray(p.airlight, np.float32)
    return finish(clean * t + airlight * (1.0 - t))  # I = J t + A (1 - t)
