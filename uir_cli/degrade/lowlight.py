"""Low light: an under-exposed, noisy, colour-shifted capture.

Physical model, in linear light (the sRGB curve undone first):

1. Exposure and tone: L = k J^gamma. J is the clean image's linear radiance,
   gamma >= 1 deepens the shadows (a flatter, compressed look once the
   display curve is reapplied), and the exposure k is chosen so that the
   result's mean sRGB brightness lands near ``target_mean``, the way a short
   exposure in a dim room does (k from the power law sRGB(k x) ~ k^(1/2.2)
   sRGB(x), refined once, on a subsample; at most ``_MAX_EXPOSURE`` so even
   dark inputs get darker).
2. Sensor noise, Poisson-Gaussian: photon shot noise has a variance
   proportional to the signal and read noise a constant one, so
   L <- L + sqrt(shot L + read^2) n, n ~ N(0, 1) independent per pixel and
   channel (the Gaussian limit of the Poisson count, which is what the
   sensor sees at these levels; it also keeps the draw fast).
3. White balance off in the dark: per-channel gains g (mean 1) multiply L.

Then the sRGB curve is reapplied and values clipped to [0, 1]. The LOL
dataset's low images have a mean of about 0.05 to 0.2; outputs land there.

Random ranges:

- target_mean: uniform in [0.04, 0.18] (sRGB)
- gamma: uniform in [1.0, 1.4]
- shot: log-uniform in [5e-5, 6e-4] (variance per unit of linear signal)
- read: log-uniform in [3e-4, 2e-3] (standard deviation, linear units)
- gains: 1 + normal(0, 0.05) per channel, then divided by their mean
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._common import as_rgb, finish, linear_to_srgb, log_uniform, srgb_to_linear

# Exposure never exceeds this, so an already dark input still loses most of its light.
_MAX_EXPOSURE = 0.3


@dataclass(frozen=True)
class LowLightParams:
    """The random draw behind one low-light image."""

    target_mean: float
    gamma: float
    shot: float
    read: float
    gains: tuple[float, float, float]


def sample_params(rng: np.random.Generator, height: int, width: int) -> LowLightParams:
    """Draw low-light parameters (the image size does not change the ranges)."""
    target_mean = float(rng.uniform(0.04, 0.18))
    gamma = float(rng.uniform(1.0, 1.4))
    shot = log_uniform(rng, 5e-5, 6e-4)
    read = log_uniform(rng, 3e-4, 2e-3)
    gains = 1.0 + rng.normal(0.0, 0.05, size=3)
    gains = np.clip(gains, 0.8, 1.2)
    gains /= gains.mean()
    return LowLightParams(target_mean, gamma, shot, read, tuple(float(g) for g in gains))


def exposure(linear: np.ndarray, target_mean: float) -> float:
    """The factor k in (0, _MAX_EXPOSURE] that brings the sRGB mean of ``k * linear`` near
    ``target_mean``, for ``linear`` (H, W, 3) float32 in [0, 1]: two power-law steps,
    sRGB(k x) ~ k^(1/2.2) sRGB(x), on a subsample of about 4096 pixels."""
    step = max(1, int(np.sqrt(linear.shape[0] * linear.shape[1] / 4096)))
    sample = linear[::step, ::step]
    k = 1.0
    for _ in range(2):
        mean = float(linear_to_srgb(sample * np.float32(k)).mean())
        if mean <= 0.0:
            return _MAX_EXPOSURE
        k *= (target_mean / mean) ** 2.2
    return float(min(_MAX_EXPOSURE, k))


def render(clean: np.ndarray, p: LowLightParams, rng: np.random.Generator) -> np.ndarray:
    """Low light on ``clean`` (H, W, 3) float in [0, 1] with parameters ``p``; float32 (H, W, 3) in [0, 1]."""
    linear = srgb_to_linear(as_rgb(clean))
    if p.gamma != 1.0:
        linear = linear ** np.float32(p.gamma)
    signal = linear * np.float32(exposure(linear, p.target_mean))  # L = k J^gamma
    noise = rng.standard_normal(signal.shape, dtype=np.float32)
    signal = signal + np.sqrt(p.shot * signal + p.read ** 2) * noise  # Poisson-Gaussian
    signal = signal * np.asarray(p.gains, np.float32)
    return finish(linear_to_srgb(signal))
