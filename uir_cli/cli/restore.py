"""`uir restore`: restore images."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import UsageError
from .console import err, handle_errors
from .weights import complete_weight_names


@handle_errors
def restore(
    inputs: Annotated[list[Path], typer.Argument(help="Image files.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="A registered weights name.", autocompletion=complete_weight_names)] = None,
    weights: Annotated[Optional[Path], typer.Option("--weights", "-w", help="A weights file.")] = None,
    steps: Annotated[Optional[int], typer.Option(help="Sampling steps (default: the weights' own, 3).", min=1, max=1000)] = None,
    seed: Annotated[int, typer.Option(help="Seed of the starting noise.")] = 0,
    tile: Annotated[str, typer.Option(help="0: whole images.")] = "0",
    device: Annotated[str, typer.Option(help="auto, cpu, cuda, cuda:N or mps.")] = "auto",
    precision: Annotated[str, typer.Option(help="auto, fp32, fp16 or bf16.")] = "auto",
) -> None:
    """Restore degraded images (rain, haze, snow, blur, low light)."""
    from ..engine.imageio import read_image, write_image
    from ..engine.restorer import load_restorer

    if model and weights:
        raise UsageError("give --model or --weights, not both")
    if tile != "0":
        raise UsageError("only --tile 0 is supported yet")
    restorer = load_restorer(weights or model or _default_model(), device=device, precision=precision, steps=steps)
    for path in inputs:
        img = read_image(path)
        restored = restorer.restore_array(img.rgb, seed=seed)
        dest = write_image(out / (path.stem + ".png"), restored)
        err.print(f"{path} -> {dest}")


def _default_model() -> str:
    from ..registry import load_registry

    return load_registry().default_entry().name
