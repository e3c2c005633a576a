"""A second, independent family of degradations, for validation only.

uir trains on the generators of this package (rain.py, haze.py, snow.py,
blur.py, lowlight.py).  A model can learn those generators rather than the
tasks; gains measured on images they made cannot tell the difference.  These
functions render each degradation by another method, with other parameters,
and nothing here is ever used for training:

- rain: a field of Gaussian noise thresholded to its brightest 0.3-2%,
  dilated, smeared by a straight motion-blur line of 10-40 px, and *added*
  to the photo (the training rain is stamped tapered capsules, screened);
- haze: depth from a ground plane below a random horizon (d ~ 1 / distance
  below the horizon, the sky at the far limit), colour-dependent scattering
  (beta_c ~ lambda_c^-gamma, blue thicker) and an airlight that brightens
  towards the top (the training haze: a mix of gradient, random field and
  luminance, one beta, one airlight);
- snow: discs of radius 1-6 px drawn at random positions with OpenCV,
  Gaussian-blurred by depth, plus clumps from a thresholded smooth field,
  merged with the photo by a "lighten" (per-pixel maximum) blend (the
  training snow: capsules in depth layers, alpha-composited);
- blur: one of a straight linear-motion kernel, a defocus disc (pillbox) or
  an anisotropic Gaussian (the training blur: random-walk camera shake);
- low light: darkening in sRGB itself (I = k J^g, no linear light), additive
  Gaussian noise, desaturation and 8-bit quantisation (the training low
  light: exposure in linear light with Poisson-Gaussian sensor noise).

``degrade_independent(clean, kind, rng)`` is deterministic for the rng state.
Inputs and outputs: (H, W, 3) float32 RGB in [0, 1].
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from ..vocab import TASKS
from ._common import as_rgb, finish, geometry_scale

KINDS = TASKS


def _line_kernel(length: float, angle_deg: float) -> np.ndarray:
    """A normalised straight line of ``length`` px at ``angle_deg`` from vertical (anti-aliased)."""
    size = 2 * int(math.ceil(length / 2)) + 3
    kernel = np.zeros((size, size), np.float32)
    c = size // 2
    dx, dy = math.sin(math.radians(angle_deg)), math.cos(math.radians(angle_deg))
    half = length / 2
    p0 = (int(round((c - dx * half) * 16)), int(round((c - dy * half) * 16)))
    p1 = (int(round((c + dx * half) * 16)), int(round((c + dy * half) * 16)))
    cv2.line(kernel, p0, p1, 1.0, thickness=1, lineType=cv2.LINE_AA, shift=4)
    return kernel / max(float(kernel.sum()), 1e-6)


def rain(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Streaks from thresholded noise smeared along one direction, added to the photo."""
    h, w = clean.shape[:2]
    s = geometry_scale(h, w)
    keep = float(rng.uniform(0.003, 0.02))  # share of noise pixels that become drops
    length = float(rng.uniform(10, 40)) * s
    angle = float(np.clip(rng.normal(0, 15), -35, 35))
    amount = float(rng.uniform(0.3, 0.8))
    noise = rng.standard_normal((h, w)).astype(np.float32)
    drops = (noise > np.quantile(noise, 1.0 - keep)).astype(np.float32)
    if rng.random() < 0.5:
        drops = cv2.dilate(drops, np.ones((2, 2), np.uint8))
    streaks = cv2.filter2D(drops, cv2.CV_32F, _line_kernel(length, angle), borderType=cv2.BORDER_REFLECT)
    streaks /= max(float(streaks.max()), 1e-6)
    return finish(clean + amount * streaks[..., None])


def haze(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A ground plane below a horizon, colour-dependent scattering, an airlight brighter at the top."""
    h, w = clean.shape[:2]
    horizon = float(rng.uniform(0.15, 0.6)) * h
    y = np.arange(h, dtype=np.float32)[:, None]
    below = np.maximum(y - horizon, 1.0)
    depth = np.minimum((0.12 * h) / below, 1.0)  # 1 at and above the horizon (sky), falling towards the bottom
    depth = np.broadcast_to(depth, (h, w))
    beta = float(rng.uniform(0.5, 2.0))
    gamma = float(rng.uniform(0.0, 1.3))
    wavelengths = np.array([0.62, 0.54, 0.46], np.float32)  # R, G, B in micrometres
    betas = beta * (0.54 / wavelengths) ** gamma
    t = np.exp(-depth[..., None] * betas)
    top, bottom = float(rng.uniform(0.8, 1.0)), float(rng.uniform(0.6, 0.9))
    ramp = (top + (bottom - top) * (y / max(h - 1, 1)))[..., None]
    tint = 1.0 + rng.normal(0, 0.02, 3).astype(np.float32)
    airlight = np.clip(ramp * tint, 0.0, 1.0)
    return finish(clean * t + airlight * (1.0 - t))


def snow(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Blurred discs and clumps, merged with the photo by taking the lighter value."""
    h, w = clean.shape[:2]
    s = geometry_scale(h, w)
    layer = np.zeros((h, w), np.float32)
    for depth in range(3):  # far, middle, near
        count = int(rng.integers(400, 2500) * (h * w) / 512**2 / (depth + 1) / s**2)
        radius_hi = (1.5 + 2.2 * depth) * s
        canvas = np.zeros((h, w), np.float32)
        for _ in range(count):
            cx, cy = int(rng.integers(0, w)), int(rng.integers(0, h))
            r = max(1, int(round(rng.uniform(0.6, radius_hi))))
            cv2.circle(canvas, (cx, cy), r, float(rng.uniform(0.6, 1.0)), thickness=-1, lineType=cv2.LINE_AA)
        sigma = (0.4 + 0.9 * depth) * s
        layer = np.maximum(layer, cv2.GaussianBlur(canvas, (0, 0), sigma))
    if rng.random() < 0.5:
        field = cv2.GaussianBlur(rng.random((h, w), dtype=np.float32), (0, 0), 3 * s)
        field = (field - field.mean()) / max(float(field.std()), 1e-6)
        layer = np.maximum(layer, np.clip(field - 2.2, 0.0, 0.5) * 1.5)
    colour = float(rng.uniform(0.85, 1.0))
    return finish(np.maximum(clean, colour * np.clip(layer, 0.0, 1.0)[..., None]))


def blur(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A straight motion line, a defocus disc or an anisotropic Gaussian."""
    h, w = clean.shape[:2]
    s = geometry_scale(h, w)
    choice = int(rng.integers(0, 3))
    if choice == 0:
        kernel = _line_kernel(float(rng.uniform(5, 21)) * s, float(rng.uniform(-90, 90)))
    elif choice == 1:
        radius = float(rng.uniform(1.5, 5.0)) * s
        size = 2 * int(math.ceil(radius)) + 3
        kernel = np.zeros((size, size), np.float32)
        c = size // 2
        cv2.circle(kernel, (c * 16, c * 16), int(radius * 16), 1.0, thickness=-1, lineType=cv2.LINE_AA, shift=4)
        kernel /= float(kernel.sum())
    else:
        sx, sy = float(rng.uniform(0.8, 3.5)) * s, float(rng.uniform(0.3, 1.2)) * s
        theta = float(rng.uniform(0, math.pi))
        size = 2 * int(math.ceil(3 * sx)) + 1
        c = size // 2
        yy, xx = np.mgrid[-c:c + 1, -c:c + 1].astype(np.float32)
        u = xx * math.cos(theta) + yy * math.sin(theta)
        v = -xx * math.sin(theta) + yy * math.cos(theta)
        kernel = np.exp(-0.5 * ((u / sx) ** 2 + (v / sy) ** 2)).astype(np.float32)
        kernel /= float(kernel.sum())
    return finish(cv2.filter2D(clean, cv2.CV_32F, kernel, borderType=cv2.BORDER_REFLECT))


def low_light(clean: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Darkening in sRGB (k J^g), additive Gaussian noise, desaturation, 8-bit quantisation."""
    k = float(rng.uniform(0.12, 0.35))
    g = float(rng.uniform(1.2, 2.0))
    dark = k * np.power(clean, g)
    grey = dark.mean(axis=2, keepdims=True)
    dark = grey + float(rng.uniform(0.6, 1.0)) * (dark - grey)
    dark = dark + float(rng.uniform(0.004, 0.02)) * rng.standard_normal(dark.shape).astype(np.float32)
    return finish(np.floor(np.clip(dark, 0.0, 1.0) * 255.0 + 0.5) / 255.0)


_RENDER = {"rain": rain, "haze": haze, "snow": snow, "blur": blur, "low-light": low_light}


def degrade_independent(clean: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """``clean`` (H, W, 3) float RGB in [0, 1] degraded by the independent method for ``kind``; float32."""
    if kind not in _RENDER:
        raise ValueError(f"unknown degradation {kind!r}; choose one of {', '.join(KINDS)}")
    return _RENDER[kind](as_rgb(clean), rng)
