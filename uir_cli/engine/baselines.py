"""Classical restorations a user could run instead of a network: the baselines of uir's quality tables.

Each takes (H, W, 3) float32 RGB in [0, 1] and returns the same shape, float32 in [0, 1]:

- ``identity``: the degraded input unchanged;
- ``equalize``: per-channel histogram equalisation (OpenCV's equalizeHist on
  8-bit values), the authors' low-light preprocessing;
- ``clahe``: contrast-limited adaptive histogram equalisation of the L
  channel of CIE Lab (clip limit 2, 8x8 tiles), colours kept;
- ``dark_channel``: the dark-channel-prior dehazer (He, Sun and Tang, CVPR
  2009): the dark channel over 15x15 patches, the airlight from its
  brightest 0.1% of pixels, transmission t = 1 - 0.95 dark(I / A) refined by
  a guided filter on the grey image (He et al., ECCV 2010), then
  J = (I - A) / max(t, 0.1) + A;
- ``unsharp``: unsharp masking, the sharpening every photo editor has:
  I + 0.5 (I - G_2 * I), G_2 a Gaussian of sigma 2 px, clipped.

Numpy and OpenCV only; nothing here needs torch.
"""

from __future__ import annotations

import cv2
import numpy as np

BASELINES = ("identity", "equalize", "clahe", "dark_channel", "unsharp")


def identity(rgb: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(rgb, dtype=np.float32)


def equalize(rgb: np.ndarray) -> np.ndarray:
    from .preprocess import equalize_histogram

    return equalize_histogram(rgb)


def _u8(rgb: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def clahe(rgb: np.ndarray, *, clip_limit: float = 2.0, tiles: int = 8) -> np.ndarray:
    lab = cv2.cvtColor(_u8(rgb), cv2.COLOR_RGB2LAB)
    op = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    lab[..., 0] = op.apply(np.ascontiguousarray(lab[..., 0]))
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB).astype(np.float32) / 255.0


def _dark(rgb: np.ndarray, patch: int) -> np.ndarray:
    """min over channels, then over a patch x patch window: (H, W) float32."""
    return cv2.erode(rgb.min(axis=2), cv2.getStructuringElement(cv2.MORPH_RECT, (patch, patch)))


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-preserving smoothing of ``src`` (H, W) by the grey ``guide`` (H, W), both float32."""
    def box(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, (2 * radius + 1, 2 * radius + 1), borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = box(guide), box(src)
    cov_ip = box(guide * src) - mean_i * mean_p
    var_i = box(guide * guide) - mean_i * mean_i
    a = cov_ip / (var_i + eps)
    b = mean_p - a * mean_i
    return box(a) * guide + box(b)


def dark_channel(rgb: np.ndarray, *, patch: int = 15, omega: float = 0.95, t_min: float = 0.1) -> np.ndarray:
    img = np.ascontiguousarray(rgb, dtype=np.float32)
    h, w = img.shape[:2]
    dark = _dark(img, patch)
    count = max(1, int(h * w * 0.001))
    brightest = np.argpartition(dark.ravel(), -count)[-count:]
    airlight = np.maximum(img.reshape(-1, 3)[brightest].mean(axis=0), 1e-3)
    t = 1.0 - omega * _dark(img / airlight, patch)
    grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
    t = guided_filter(grey, t.astype(np.float32), max(8, round(min(h, w) / 12)), 1e-3)
    t = np.maximum(t, t_min)[..., None]
    return np.clip((img - airlight) / t + airlight, 0.0, 1.0).astype(np.float32)


def unsharp(rgb: np.ndarray, *, sigma: float = 2.0, amount: float = 0.5) -> np.ndarray:
    img = np.ascontiguousarray(rgb, dtype=np.float32)
    soft = cv2.GaussianBlur(img, (0, 0), sigma, borderType=cv2.BORDER_REFLECT)
    return np.clip(img + amount * (img - soft), 0.0, 1.0).astype(np.float32)


def run_baseline(name: str, rgb: np.ndarray) -> np.ndarray:
    """Apply the baseline ``name`` (one of :data:`BASELINES`)."""
    funcs = {"identity": identity, "equalize": equalize, "clahe": clahe, "dark_channel": dark_channel, "unsharp": unsharp}
    if name not in funcs:
        raise ValueError(f"unknown baseline {name!r}; choose from {', '.join(BASELINES)}")
    return funcs[name](rgb)
