"""phase 2: the old path of :mod:`uir_cli.bench.metrics`, for files another change holds (scripts/,
tests/engine/test_default_weights.py); removed once they import it there."""

from ..bench.metrics import psnr, score

__all__ = ["psnr", "score"]
