"""The words every room of uir shares, each written once: tasks, variants, image file extensions,
metric protocols and the natural order of file names.

Torch-free and numpy-free: the CLI's options and TAB completion read it.
"""

from __future__ import annotations

import re

# The five degradations, in the order every listing uses (spec section 1).
TASKS = ("rain", "haze", "snow", "blur", "low-light")
AUTO = "auto"
# What --task takes: a task, or auto (equalise dark inputs, otherwise leave the input alone).
TASK_CHOICES = (AUTO, *TASKS)

# The four published variants: (dim, dim_mults) and U-Net parameter counts (spec section 4).
VARIANTS: dict[str, tuple[int, tuple[int, ...]]] = {
    "diffuir-t": (32, (1, 1, 1, 1)),
    "diffuir-s": (32, (1, 2, 2, 4)),
    "diffuir-b": (64, (1, 2, 2, 4)),
    "diffuir-l": (64, (1, 2, 4, 8)),
}
VARIANT_PARAMS = {"diffuir-t": 886_435, "diffuir-s": 3_268_643, "diffuir-b": 12_406_851, "diffuir-l": 36_261_187}
# The same shapes by their letter ("T" .. "L"), as `uir train --variant` takes them.
VARIANT_LETTERS: dict[str, tuple[int, tuple[int, ...]]] = {name[-1].upper(): shape for name, shape in VARIANTS.items()}

# How a run may compute: auto picks per device (bf16 or fp16 on CUDA, fp32 elsewhere).
PRECISIONS = ("auto", "fp32", "fp16", "bf16")

# Pixels that neighbouring tiles share, blended smoothly.  64 rather than 32: near a tile's edge
# the convolutions see zero padding instead of the neighbours, and on a 512x512 photo cut into 9
# tiles (uir-t-v4) that left bands up to 13 levels off the whole-image picture with 32 (42 dB),
# 5 levels with 64 (49 dB), for 17% more time.
TILE_OVERLAP = 64

# Training's objective (diffusion.objective implements them): which timesteps are drawn, and which loss.
T_SAMPLING = ("uniform", "inference")
OBJECTIVES = ("forward", "sampler")

# The image files uir reads and writes (by extension, lower case).
IMAGE_EXTENSIONS = frozenset({".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp"})

# The metric protocols of `uir benchmark` (bench.metrics implements them).
PROTOCOLS = ("diffuir", "basicsr", "rgb")

_DIGITS = re.compile(r"(\d+)")


def natural_key(text: str) -> tuple:
    """Sort key putting ``img2`` before ``img10``: digits compared as numbers, letters without case;
    names equal under that rule keep a fixed order (by the name itself)."""
    parts = _DIGITS.split(text)  # text, digits, text, digits, ...: the odd parts are the digits
    key = tuple((0, int(part), "") if i % 2 else (1, 0, part.casefold()) for i, part in enumerate(parts) if part)
    return key, text
