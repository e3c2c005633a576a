"""Blur: camera shake during the exposure, optionally slightly out of focus.

Physical model. While the shutter is open a hand-held camera drifts and
jitters; for a distant scene every point is smeared along the same 2-D path,
so the blurred image is the sharp one convolved with a point-spread function
(PSF): the path, weighted by how long the camera lingered at each point. The
path is a random walk with momentum: a velocity that keeps most of its
direction each step, is nudged by Gaussian noise, and now and then jerks
(an impulsive shake). It is sampled densely in time, centred on its mean
(so the image does not shift against its target), scaled to fit the kernel,
splatted bilinearly into a kernel of odd size 7 to 31 and normalised to sum 1.
The image is filtered with cv2.filter2D (reflected borders), then, sometimes,
by a small Gaussian for defocus.

Random ranges (GoPro's blurs span a few to about 30 pixels):

- kernel_size: odd, uniform in {7, 9, ..., 31}
- steps: uniform in [16, 64] walk steps
- momentum: uniform in [0.5, 0.95] (higher: smoother, straighter paths)
- jerk: uniform in [0, 0.1] chance per step of a sudden velocity change
- extent: uniform in [0.5, 1.0] of the kernel's radius reached by the farthest point
- defocus: 0 two times in three, else a Gaussian sigma uniform in [0.3, 1.2] px
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ._common import as_rgb, finish

# Points sampled along the path per walk step (dense enough that the splats touch).
_SUBSTEPS = 8


@dataclass(frozen=True)
class BlurParams:
    """The random draw behind one blurred image."""

    kernel_size: int
    steps: int
    momentum: float
    jerk: float
    extent: float
    defocus: float


def sample_params(rng: np.random.Generator, height: int, width: int) -> BlurParams:
    """Draw blur parameters (the image size does not change the ranges)."""
    kernel_size = 2 * int(rng.integers(3, 16)) + 1
    steps = int(rng.integers(16, 65))
    momentum = float(rng.uniform(0.5, 0.95))
    jerk = float(rng.uniform(0.0, 0.1))
    extent = float(rng.uniform(0.5, 1.0))
    defocus = 0.0 if rng.random() < 2 / 3 else float(rng.uniform(0.3, 1.2))
    return BlurParams(kernel_size, steps, momentum, jerk, extent, defocus)


def trajectory(rng: np.random.Generator, p: BlurParams) -> np.ndarray:
    """A shake path, (N, 2) float64 (x, y) points sampled evenly in time, centred on its mean,
    its farthest point at ``p.extent`` of the kernel radius minus one pixel."""
    velocity = rng.normal(size=2)
    velocity /= np.linalg.norm(velocity) + 1e-12
    noise = rng.normal(size=(p.steps, 2))
    jerks = rng.random(p.steps) < p.jerk
    kicks = rng.normal(0.0, 3.0, size=(p.steps, 2))
    points = np.zeros((p.steps + 1, 2))
    for i in range(p.steps):
        velocity = p.momentum * velocity + (1.0 - p.momentum) * noise[i] + (kicks[i] if jerks[i] else 0.0)
        points[i + 1] = points[i] + velocity
    t = np.linspace(0.0, p.steps, p.steps * _SUBSTEPS + 1)
    path = np.stack([np.interp(t, np.arange(p.steps + 1), points[:, k]) for k in (0, 1)], axis=1)
    path -= path.mean(axis=0)
    reach = np.abs(path).max()
    radius = (p.kernel_size - 1) / 2 - 1.0
    return path * (p.extent * radius / reach) if reach > 0 else path


def psf(rng: np.random.Generator, p: BlurParams) -> np.ndarray:
    """The (k, k) float32 kernel, k = ``p.kernel_size``, non-negative, summing to 1."""
    k = p.kernel_size
    path = trajectory(rng, p) + (k - 1) / 2
    x0, y0 = np.floor(path[:, 0]).astype(int), np.floor(path[:, 1]).astype(int)
    fx, fy = path[:, 0] - x0, path[:, 1] - y0
    kernel = np.zeros(k * k)
    for dx, dy, weight in ((0, 0, (1 - fx) * (1 - fy)), (1, 0, fx * (1 - fy)), (0, 1, (1 - fx) * fy), (1, 1, fx * fy)):
        kernel += np.bincount((y0 + dy) * k + (x0 + dx), weights=weight, minlength=k * k)
    kernel = kernel.reshape(k, k)
    return (kernel / kernel.sum()).astype(np.float32)


def render(clean: np.ndarray, p: BlurParams, rng: np.random.Generator) -> np.ndarray:
    """Blur ``clean`` (H, W, 3) float in [0, 1] with parameters ``p``; float32 (H, W, 3) in [0, 1]."""
    clean = as_rgb(clean)
    out = cv2.filter2D(clean, cv2.CV_32F, psf(rng, p), borderType=cv2.BORDER_REFLECT)
    if p.defocus > 0.0:
        out = cv2.GaussianBlur(out, (0, 0), p.defocus, borderType=cv2.BORDER_REFLECT)
    return finish(out.reshape(clean.shape))
