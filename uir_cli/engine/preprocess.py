"""Input preprocessing that depends on the task (spec section 6)."""

from __future__ import annotations

import numpy as np

TASKS = ("auto", "rain", "haze", "snow", "blur", "low-light")


def equalize_histogram(rgb: np.ndarray) -> np.ndarray:
    """Per-channel histogram equalisation, as the authors apply to low-light inputs.

    ``rgb``: (H, W, 3) float32 in [0, 1]; it is rounded to 8 bits
    (floor(v * 255 + 0.5)), each channel equalised with OpenCV's equalizeHist,
    and returned as float32 in [0, 1].
    """
    import cv2

    u8 = np.floor(np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    out = np.stack([cv2.equalizeHist(np.ascontiguousarray(u8[..., c])) for c in range(3)], axis=-1)
    return out.astype(np.float32) / 255.0


def needs_equalization(task: str) -> bool:
    return task == "low-light"
