"""The options `uir restore` and `uir benchmark` share, declared once, and their parsing.

Each declaration takes the help panel it shows in (the commands group their options differently).
Choices come from :mod:`uir_cli.vocab`; nothing here imports numpy or torch.
"""

from __future__ import annotations

import os
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Optional

import typer

from ..errors import UsageError, WeightsError
from ..vocab import PRECISIONS, TASK_CHOICES
from .weights import complete_weight_names

# --task's choices (Task.auto, Task.rain ... Task.low_light), from the one list of tasks.
Task = Enum("Task", {name.replace("-", "_"): name for name in TASK_CHOICES}, type=str)
Precision = Enum("Precision", {name: name for name in PRECISIONS}, type=str)


class Which(str, Enum):
    auto = "auto"
    ema = "ema"
    online = "online"


SEED_MAX = 2**64 - 1  # torch's generators take seeds from 0 to 2**64 - 1


def complete_devices(incomplete: str) -> list[str]:
    return [d for d in ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps") if d.startswith(incomplete)]


def model_option(panel: str) -> Any:
    return Annotated[Optional[str], typer.Option(
        "--model", "-m", help="Registered weights (see `uir weights list`); default: weights.toml's default.",
        autocompletion=complete_weight_names, rich_help_panel=panel, show_default=False)]


def weights_option(panel: str) -> Any:
    return Annotated[Optional[Path], typer.Option(
        "--weights", "-w", help="A weights file: the authors' checkpoint, a state dict or safetensors.",
        rich_help_panel=panel, show_default=False)]


def which_option(panel: str) -> Any:
    return Annotated[Which, typer.Option(
        help="Which weights of a training checkpoint: auto (EMA if present), ema or online.", rich_help_panel=panel)]


def steps_option(panel: str) -> Any:
    return Annotated[Optional[int], typer.Option(
        help="Sampling steps (default: the weights' own, usually 3).", min=1, max=1000, rich_help_panel=panel,
        show_default=False)]


def seed_option(panel: str) -> Any:
    return Annotated[int, typer.Option(
        help="Seed of the starting noise (drawn per image, whole).", min=0, max=SEED_MAX, rich_help_panel=panel)]


def tile_overlap_option(panel: str) -> Any:
    return Annotated[int, typer.Option(
        help="Overlap of neighbouring tiles, blended smoothly.", min=0, max=512, rich_help_panel=panel)]


def batch_size_option(panel: str) -> Any:
    return Annotated[str, typer.Option(
        help="Tiles per network call: auto (1 on the CPU, as many as fit on a GPU) or N.",
        autocompletion=lambda incomplete: ["auto", "1", "2", "4", "8", "16"], rich_help_panel=panel)]


def device_option(panel: str) -> Any:
    return Annotated[str, typer.Option(
        help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.", autocompletion=complete_devices,
        rich_help_panel=panel)]


def precision_option(panel: str) -> Any:
    return Annotated[Precision, typer.Option(
        help="auto: bf16 (or fp16) on CUDA, bf16 on CPUs with bf16 units (avx512_bf16, amx_bf16), fp32 elsewhere; "
             "fp32 gives the authors' exact picture. Tiles that come out non-finite are redone in fp32.",
        rich_help_panel=panel)]


def parse_tile(text: str) -> int | None:
    """'auto' -> None, '0' -> 0 (whole images), 'N' -> N."""
    t = text.strip().lower()
    if t == "auto":
        return None
    if t.isdigit():
        return int(t)
    raise UsageError(f"--tile must be auto, 0 or a number of pixels, not {text!r}")


def parse_batch(text: str) -> int | None:
    t = text.strip().lower()
    if t == "auto":
        return None
    if t.isdigit() and int(t) > 0:
        return int(t)
    raise UsageError(f"--batch-size must be auto or a positive number, not {text!r}")


def weights_spec(model: str | None, weights: Path | None) -> str:
    """What to load: --weights is always a file (never looked up as a name), else --model or the default."""
    if model and weights:
        raise UsageError("give --model or --weights, not both")
    if weights is not None:
        path = weights.expanduser()
        if not os.path.lexists(path):
            raise WeightsError("no such file", path=weights)
        text = str(path)
        return text if os.sep in text else os.path.join(os.curdir, text)  # a path, never taken for a name
    from ..registry import load_registry

    return model or load_registry().default_entry().name


def auto_batch_size(restorer, tile: int | None) -> int:
    """--batch-size auto: as many tiles of ``tile`` pixels a side (512 when not tiling) as fit the device."""
    from ..engine.memory import auto_batch

    side = tile or 512
    return auto_batch(side * side, restorer.net.config, restorer.place.precision, restorer.device)
