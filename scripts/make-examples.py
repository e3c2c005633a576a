"""Writes examples/: one degraded photo per task, from the photos shipped in uir_cli/data/photos.

    python scripts/make-examples.py

Deterministic (fixed seeds); the photos are held out from the default weights' training.
"""

from pathlib import Path

import numpy as np

from uir_cli.degrade import degrade
from uir_cli.imageio import read_image, write_image
from uir_cli.registry import PACKAGE_DATA

EXAMPLES = {  # output name: (photo, task, seed)
    "rain-chelsea.png": ("chelsea.png", "rain", 1),
    "haze-rocket.png": ("rocket.png", "haze", 2),
    "snow-astronaut.png": ("astronaut.png", "snow", 3),
    "blur-coffee.png": ("coffee.png", "blur", 4),
    "dark-chelsea.png": ("chelsea.png", "low-light", 5),
}


def main() -> None:
    out = Path(__file__).resolve().parents[1] / "examples"
    out.mkdir(exist_ok=True)
    for name, (photo, task, seed) in EXAMPLES.items():
        clean = read_image(PACKAGE_DATA / "photos" / photo).rgb
        write_image(out / name, degrade(clean, task, np.random.default_rng(seed)))
        print(out / name)


if __name__ == "__main__":
    main()
