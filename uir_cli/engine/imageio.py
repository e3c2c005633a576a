"""phase 2: the old path of :mod:`uir_cli.imageio`, for files another change holds (benchmarks/, scripts/,
tests/engine/test_default_weights.py); removed once they import uir_cli.imageio."""

from ..imageio import read_image, write_image

__all__ = ["read_image", "write_image"]
