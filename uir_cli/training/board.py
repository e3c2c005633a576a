"""TensorBoard logging of a run, in RUN_DIR/tensorboard (the ``tensorboard`` extra:
``pip install 'uir-cli[tensorboard]'``); ``tensorboard --logdir RUN_DIR`` shows it."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from .validation import ValScore

FOLDER = "tensorboard"
EXTRA_HINT = "pip install 'uir-cli[tensorboard]'"


def available() -> bool:
    """Whether the tensorboard package is installed (checked without importing it)."""
    return importlib.util.find_spec("tensorboard") is not None


class Board:
    """Scalars per step (loss, learning rate) and per validation (PSNR and SSIM by task)."""

    def __init__(self, run_dir: Path, *, start_step: int = 0):
        from torch.utils.tensorboard import SummaryWriter

        self.writer = SummaryWriter(log_dir=str(Path(run_dir) / FOLDER), purge_step=start_step + 1 if start_step else None)

    def step(self, step: int, loss: float, lr: float) -> None:
        self.writer.add_scalar("train/loss", loss, step)
        self.writer.add_scalar("train/lr", lr, step)

    def validated(self, step: int, scores: list[ValScore]) -> None:
        for s in scores:
            self.writer.add_scalar(f"val/psnr/{s.task}", s.psnr_out, step)
            self.writer.add_scalar(f"val/ssim/{s.task}", s.ssim_out, step)

    def close(self) -> None:
        self.writer.close()
