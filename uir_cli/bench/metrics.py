"""PSNR and SSIM under named, reproducible protocols (spec: benchmark.md).

Every function compares two 8-bit RGB images of equal shape, (H, W, 3)
uint8 (round float outputs to 8 bits first, as a saved PNG would be), and
computes in float64.  A protocol fixes the compared channel(s) and how SSIM
treats the image borders:

- ``diffuir`` (default): Y channel; SSIM filters with replicated borders and
  averages the whole map (DiffUIR's published numbers).
- ``basicsr``: Y channel; SSIM filters, then drops 5 pixels on each side (the
  "valid" region) before averaging (BasicSR, most super-resolution papers).
  This equals scikit-image's ``structural_similarity(..., gaussian_weights=True,
  sigma=1.5, use_sample_covariance=False, data_range=255)`` on the Y planes.
- ``rgb``: R, G and B, each as ``basicsr``; SSIM is the mean of the three,
  PSNR uses the MSE over all three channels.

``crop_border=N`` removes N pixels on each side of both images before
anything else.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import UsageError
from ..vocab import PROTOCOLS


# ITU-R BT.601 limited range, as MATLAB's rgb2ycbcr, from RGB in [0, 1].
_Y_OFFSET = 16.0
_Y_WEIGHTS = np.array([65.481, 128.553, 24.966], dtype=np.float64)

# SSIM (Wang et al. 2004): 11x11 Gaussian window, sigma 1.5, dynamic range L = 255.
_WINDOW = 11
_SIGMA = 1.5
_C1 = (0.01 * 255.0) ** 2
_C2 = (0.03 * 255.0) ** 2
_VALID_MARGIN = _WINDOW // 2  # pixels dropped on each side by the "valid" protocols

_PEAK = 255.0


@dataclass(frozen=True)
class Scores:
    """PSNR in dB (``inf`` for identical images) and SSIM (at most 1) of one image pair."""

    psnr: float
    ssim: float


def rgb_to_y(rgb: np.ndarray) -> np.ndarray:
    """Luma of an 8-bit RGB image, BT.601 limited range (MATLAB's rgb2ycbcr).

    ``rgb``: (H, W, 3) uint8 RGB.  Returns (H, W) float64
    ``Y = 16 + 65.481 R + 128.553 G + 24.966 B`` with R, G, B in [0, 1], so Y
    lies in [16, 235]; it is not rounded.
    """
    _check_image(rgb, "image")
    return rgb.astype(np.float64) @ (_Y_WEIGHTS / 255.0) + _Y_OFFSET


def psnr(restored: np.ndarray, target: np.ndarray, *, protocol: str = "diffuir", crop_border: int = 0) -> float:
    """Peak signal-to-noise ratio in dB, ``10 log10(255^2 / MSE)``.

    ``restored``, ``target``: (H, W, 3) uint8 RGB of equal shape.  The MSE is
    taken in float64 over the Y plane (``diffuir``, ``basicsr``; Y in [16, 235],
    not rounded) or over all of R, G, B (``rgb``; values in [0, 255]), after
    removing ``crop_border`` pixels on each side.  Returns ``inf`` for
    identical compared planes.
    """
    return _psnr(_planes(restored, target, protocol, crop_border))


def ssim(restored: np.ndarray, target: np.ndarray, *, protocol: str = "diffuir", crop_border: int = 0) -> float:
    """Structural similarity, in [-1, 1] (1 for identical images).

    ``restored``, ``target``: (H, W, 3) uint8 RGB of equal shape, compared in
    float64 on Y (``diffuir``, ``basicsr``) or per R, G, B channel, averaged
    (``rgb``), after removing ``crop_border`` pixels on each side.  Window:
    OpenCV's getGaussianKernel(11, 1.5) outer product; C1 = (0.01*255)^2,
    C2 = (0.03*255)^2; population variances.  Borders: ``diffuir`` filters
    with replicated borders and averages the whole map; ``basicsr`` and ``rgb``
    average only the map 5 pixels in from each side, which needs images of
    at least 11x11 after cropping.
    """
    planes = _planes(restored, target, protocol, crop_border)
    return _ssim(planes, protocol)


def score(restored: np.ndarray, target: np.ndarray, *, protocol: str = "diffuir", crop_border: int = 0) -> Scores:
    """Both :func:`psnr` and :func:`ssim` of one pair (same inputs and rules), computing Y once."""
    planes = _planes(restored, target, protocol, crop_border)
    return Scores(psnr=_psnr(planes), ssim=_ssim(planes, protocol))


def describe(protocol: str, crop_border: int) -> str:
    """One sentence for reports saying exactly how the numbers were made."""
    _check_protocol(protocol)
    _check_crop(crop_border)
    if protocol == "rgb":
        channel = "on R, G and B of 8-bit images in float64 (PSNR over all three channels' MSE, SSIM averaged over channels)"
    else:
        channel = (
            "on the Y channel (BT.601 limited range, Y = 16 + 65.481 R + 128.553 G + 24.966 B "
            "with RGB in [0, 1], not rounded) of 8-bit images in float64"
        )
    if protocol == "diffuir":
        borders = "filtered with replicated borders and the whole SSIM map averaged"
    else:
        borders = "the SSIM map averaged over the valid region 5 pixels in from each side"
    crop = f"{crop_border} pixels cropped from each side first" if crop_border else "no border crop"
    return (
        f"Protocol '{protocol}': PSNR = 10 log10(255^2 / MSE) and SSIM {channel}; SSIM with an 11x11 Gaussian "
        f"window (sigma 1.5), C1 = (0.01*255)^2, C2 = (0.03*255)^2 and population variances, {borders}; {crop}."
    )


# --- internals -------------------------------------------------------------


def _check_protocol(protocol: str) -> None:
    if protocol not in PROTOCOLS:
        raise UsageError(f"unknown metric protocol {protocol!r}", hint=f"choose one of {', '.join(PROTOCOLS)}")


def _check_crop(crop_border: int) -> None:
    if isinstance(crop_border, bool) or not isinstance(crop_border, (int, np.integer)) or crop_border < 0:
        raise UsageError(f"crop border must be a whole number >= 0, got {crop_border!r}")


def _check_image(image: np.ndarray, what: str) -> None:
    if not isinstance(image, np.ndarray):
        raise UsageError(f"{what} must be a numpy array, got {type(image).__name__}")
    if image.dtype != np.uint8:
        raise UsageError(f"{what} must be uint8 (round to 8 bits first), got {image.dtype}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise UsageError(f"{what} must be (H, W, 3) RGB, got shape {image.shape}")


def _planes(restored: np.ndarray, target: np.ndarray, protocol: str, crop_border: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Validate, crop, and return the compared (restored, target) float64 planes."""
    _check_protocol(protocol)
    _check_crop(crop_border)
    _check_image(restored, "restored image")
    _check_image(target, "target image")
    if restored.shape != target.shape:
        raise UsageError(f"restored image is {size_text(restored)} but target is {size_text(target)}; they must match")
    height, width = restored.shape[:2]
    if crop_border and (height <= 2 * crop_border or width <= 2 * crop_border):
        raise UsageError(f"crop border {crop_border} leaves nothing of a {size_text(restored)} image")
    if crop_border:
        restored = restored[crop_border:-crop_border, crop_border:-crop_border]
        target = target[crop_border:-crop_border, crop_border:-crop_border]
    if protocol == "rgb":
        return [(restored[..., c].astype(np.float64), target[..., c].astype(np.float64)) for c in range(3)]
    return [(rgb_to_y(restored), rgb_to_y(target))]


def size_text(image: np.ndarray) -> str:
    return f"{image.shape[1]}x{image.shape[0]}"


def _psnr(planes: list[tuple[np.ndarray, np.ndarray]]) -> float:
    mse = float(np.mean([np.mean((x - y) ** 2) for x, y in planes]))
    if mse == 0.0:
        return float("inf")
    return float(10.0 * np.log10(_PEAK**2 / mse))


def _ssim(planes: list[tuple[np.ndarray, np.ndarray]], protocol: str) -> float:
    return float(np.mean([_ssim_plane(x, y, replicate=protocol == "diffuir") for x, y in planes]))


def _gaussian_1d() -> np.ndarray:
    """(11, 1) float64, sums to 1; the same taps as cv2.getGaussianKernel(11, 1.5)."""
    offsets = np.arange(_WINDOW, dtype=np.float64) - (_WINDOW - 1) / 2
    taps = np.exp(-(offsets**2) / (2.0 * _SIGMA**2))
    return (taps / taps.sum()).reshape(-1, 1)


_KERNEL = _gaussian_1d()


def _ssim_plane(x: np.ndarray, y: np.ndarray, *, replicate: bool) -> float:
    """Mean SSIM of two (H, W) float64 planes; ``replicate`` picks the diffuir border rule."""
    import cv2

    if replicate:
        border, margin = cv2.BORDER_REPLICATE, 0
    else:
        # The border mode does not matter: the margin removes every pixel it reaches.
        border, margin = cv2.BORDER_REFLECT_101, _VALID_MARGIN
        if min(x.shape) < 2 * margin + 1:
            raise UsageError(
                f"SSIM's valid region needs images of at least {2 * margin + 1}x{2 * margin + 1} "
                f"(after any crop), got {x.shape[1]}x{x.shape[0]}"
            )

    def window_mean(plane: np.ndarray) -> np.ndarray:  # w * plane (the window is separable)
        return cv2.sepFilter2D(np.ascontiguousarray(plane), cv2.CV_64F, _KERNEL, _KERNEL, borderType=border)

    mu_x, mu_y = window_mean(x), window_mean(y)
    sigma_x2 = window_mean(x * x) - mu_x**2
    sigma_y2 = window_mean(y * y) - mu_y**2
    sigma_xy = window_mean(x * y) - mu_x * mu_y
    ssim_map = ((2 * mu_x * mu_y + _C1) * (2 * sigma_xy + _C2)) / (
        (mu_x**2 + mu_y**2 + _C1) * (sigma_x2 + sigma_y2 + _C2)
    )
    if margin:
        ssim_map = ssim_map[margin:-margin, margin:-margin]
    return float(ssim_map.mean())
