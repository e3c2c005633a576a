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


# --task auto treats an image as low light when its mean luminance is below this.
DARK_MEAN_LUMA = 0.2


def mean_luma(rgb: np.ndarray) -> float:
    """Mean Rec. 601 luma of (H, W, 3) float [0, 1] RGB (subsampled for speed)."""
    step = max(1, int((rgb.shape[0] * rgb.shape[1] / 250_000) ** 0.5))
    s = rgb[::step, ::step]
    return float((0.299 * s[..., 0] + 0.587 * s[..., 1] + 0.114 * s[..., 2]).mean())


def needs_equalizing(rgb: np.ndarray) -> bool:
    """Whether ``--task auto`` treats (H, W, 3) RGB as low light: float in [0, 1], or uint8."""
    luma = mean_luma(rgb)
    return (luma / 255.0 if rgb.dtype == np.uint8 else luma) < DARK_MEAN_LUMA


def resolve_task(rgb: np.ndarray, task: str) -> str:
    """The task an input is treated as: ``auto`` becomes ``low-light`` for dark images, else ``auto``."""
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; choose from {', '.join(TASKS)}")
    if task == "auto" and needs_equalizing(rgb):
        return "low-light"
    return task


def prepare_input(rgb: np.ndarray, task: str) -> tuple[np.ndarray, str]:
    """(the model's input, the task applied): low light is histogram-equalised, the rest unchanged."""
    applied = resolve_task(rgb, task)
    if applied == "low-light":
        return equalize_histogram(rgb), applied
    return rgb, applied
