"""`uir train`: train or fine-tune DiffUIR on paired folders and/or clean photos.

Progress goes to stderr: a live bar on a terminal, one plain line every
--log-every steps otherwise (nohup, cron, CI).  Nothing here imports torch at
module level; the training package loads when the command runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from ..training.config import TrainConfig
from .console import err, handle_errors, is_interactive
from .commands import Command
from .options import Precision

_DATA = "Data"
_MODEL = "Model"
_RECIPE = "Recipe (defaults: the authors')"
_RUN = "Run"
_DEFAULTS = TrainConfig()


def _shown(name: str) -> str:
    """The default of a training option as --help shows it (the options default to None: a --config file may set them)."""
    return str(getattr(_DEFAULTS, name))


@handle_errors
def train(
    out: Annotated[Optional[Path], typer.Option("--out", "-o", help="Run folder: checkpoints, logs, plots, config.toml.", show_default=False)] = None,
    data: Annotated[Optional[list[str]], typer.Option("--data", help="Paired data DIR or DIR:TASK (repeatable): DIR/{input,target} and similar, the authors' training layout, or a benchmark layout.", rich_help_panel=_DATA, show_default=False)] = None,
    synthetic: Annotated[Optional[list[str]], typer.Option("--synthetic", help="A folder of clean photos, degraded on the fly (repeatable).", rich_help_panel=_DATA, show_default=False)] = None,
    tasks: Annotated[Optional[str], typer.Option("--tasks", help="Tasks to train, comma-separated \\[default: every task the data has; all five for --synthetic].", rich_help_panel=_DATA, show_default=False)] = None,
    mix: Annotated[Optional[str], typer.Option("--mix", help="Share of each task in a batch; 'clean:N' adds photos given unchanged as input and target.", rich_help_panel=_DATA, show_default=_shown('mix'))] = None,
    light_share: Annotated[Optional[float], typer.Option("--light-share", help="Share of synthetic samples made lighter: blended with the clean photo at a strength uniform in [0.05, 1].", rich_help_panel=_DATA, show_default=_shown('light_share'))] = None,
    cast_share: Annotated[Optional[float], typer.Option("--cast-share", help="Share of photo crops given a random colour cast (warm to cool light) in input and target alike, so that a cast is kept.", rich_help_panel=_DATA, show_default=_shown('cast_share'))] = None,
    lines_share: Annotated[Optional[float], typer.Option("--lines-share", help="Share of photo crops given long thin straight lines (grids, mullions, cables) in input and target alike, so that lines longer than a rain streak are kept.", rich_help_panel=_DATA, show_default=_shown('lines_share'))] = None,
    equalize: Annotated[Optional[str], typer.Option("--equalize", help="Which inputs are histogram-equalised: task (every low-light input, the authors') or auto (inputs with mean luma < 0.2, as `uir restore --task auto`).", rich_help_panel=_DATA, show_default=_shown('equalize'))] = None,
    max_pixels: Annotated[Optional[int], typer.Option("--max-pixels", help="Skip images with more pixels, read from their header, with one warning (0: no limit).", rich_help_panel=_DATA, show_default=_shown('max_pixels'))] = None,
    val: Annotated[Optional[list[str]], typer.Option("--val", help="Held-out pairs DIR or DIR:TASK for validation (repeatable).", rich_help_panel=_DATA, show_default=False)] = None,
    val_synthetic: Annotated[Optional[list[str]], typer.Option("--val-synthetic", help="Held-out clean photos for validation crops (repeatable).", rich_help_panel=_DATA, show_default=False)] = None,
    variant: Annotated[Optional[str], typer.Option("--variant", help="T, S, B or L \\[default: T, or the shape of --init].", rich_help_panel=_MODEL, show_default=False)] = None,
    dim: Annotated[Optional[int], typer.Option("--dim", help="Base width (a multiple of 8), instead of a variant's.", rich_help_panel=_MODEL, show_default=False)] = None,
    dim_mults: Annotated[Optional[str], typer.Option("--dim-mults", help="Width multipliers per level, e.g. 1,2,2,4.", rich_help_panel=_MODEL, show_default=False)] = None,
    init: Annotated[Optional[Path], typer.Option("--init", help="Start from these weights (any file `uir restore` loads; EMA weights preferred).", rich_help_panel=_MODEL, show_default=False)] = None,
    steps: Annotated[Optional[int], typer.Option("--steps", help="Optimiser steps to reach.", rich_help_panel=_RECIPE, show_default=_shown('steps'))] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Crops per micro-batch.", rich_help_panel=_RECIPE, show_default=_shown('batch_size'))] = None,
    crop: Annotated[Optional[int], typer.Option("--crop", help="Crop size in pixels.", rich_help_panel=_RECIPE, show_default=_shown('crop'))] = None,
    lr: Annotated[Optional[float], typer.Option("--lr", help="Adam learning rate, betas (0.9, 0.99).", rich_help_panel=_RECIPE, show_default=_shown('lr'))] = None,
    accumulate: Annotated[Optional[int], typer.Option("--accumulate", help="Micro-batches per optimiser step.", rich_help_panel=_RECIPE, show_default=_shown('accumulate'))] = None,
    ema_decay: Annotated[Optional[float], typer.Option("--ema-decay", help="EMA decay, reached after a warm-up.", rich_help_panel=_RECIPE, show_default=_shown('ema_decay'))] = None,
    ema_every: Annotated[Optional[int], typer.Option("--ema-every", help="Update the EMA every N steps.", rich_help_panel=_RECIPE, show_default=_shown('ema_every'))] = None,
    ema_after: Annotated[Optional[int], typer.Option("--ema-after", help="Copy the weights (no averaging) for the first N steps.", rich_help_panel=_RECIPE, show_default=_shown('ema_after'))] = None,
    t_sampling: Annotated[Optional[str], typer.Option("--t-sampling", help="uniform: t ~ U{0..999} (the authors'); inference: t near the 3-step sampler's timesteps (learns faster on short runs).", rich_help_panel=_RECIPE, show_default=_shown('t_sampling'))] = None,
    objective: Annotated[Optional[str], typer.Option("--objective", help="forward: x_t from the forward process (the authors'); sampler: x_t as the deterministic 3-step sampler builds it (start noise 0.1, none after), the inputs the network sees when restoring.", rich_help_panel=_RECIPE, show_default=_shown('objective'))] = None,
    precision: Annotated[Optional[Precision], typer.Option("--precision", help="auto (bf16 on recent GPUs and on CPUs with bf16 units, else fp32), fp32, bf16 (autocast) or fp16 (autocast + GradScaler).", rich_help_panel=_RECIPE, show_default=_shown('precision'))] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the initial weights and the whole data stream.", rich_help_panel=_RECIPE, show_default=_shown('seed'))] = None,
    val_every: Annotated[Optional[int], typer.Option("--val-every", help="Validate every N steps.", rich_help_panel=_RUN, show_default=_shown('val_every'))] = None,
    val_count: Annotated[Optional[int], typer.Option("--val-count", help="Validation crops per task.", rich_help_panel=_RUN, show_default=_shown('val_count'))] = None,
    val_size: Annotated[Optional[int], typer.Option("--val-size", help="Validation crop size.", rich_help_panel=_RUN, show_default=_shown('val_size'))] = None,
    save_every: Annotated[Optional[int], typer.Option("--save-every", help="Write model-STEP.pt, model-last.pt and ema.safetensors every N steps.", rich_help_panel=_RUN, show_default=_shown('save_every'))] = None,
    log_every: Annotated[Optional[int], typer.Option("--log-every", help="Without a terminal, print a line every N steps.", rich_help_panel=_RUN, show_default=_shown('log_every'))] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --out exactly where model-last.pt left it.", rich_help_panel=_RUN)] = False,
    device: Annotated[Optional[str], typer.Option("--device", help="auto, cpu, cuda, cuda:N or mps.", rich_help_panel=_RUN, show_default=_shown('device'))] = None,
    workers: Annotated[Optional[int], typer.Option("--workers", help="Data loading processes \\[default: 0 on 2 cores or fewer, else min(4, cores - 1)].", rich_help_panel=_RUN, show_default=False)] = None,
    tensorboard: Annotated[bool, typer.Option("--tensorboard", help="Also log the loss, learning rate and validation scores for TensorBoard, in RUN_DIR/tensorboard (needs the tensorboard extra).", rich_help_panel=_RUN)] = False,
    config: Annotated[Optional[Path], typer.Option("--config", help="A TOML file with any of these options (long names as keys); the command line wins.", rich_help_panel=_RUN, show_default=False)] = None,
) -> None:
    """Train or fine-tune DiffUIR (the authors' recipe by default).

    Every option can also come from --config FILE.toml; the resolved
    configuration is saved as RUN_DIR/config.toml.  Under torchrun each
    process trains on its own shard:
    torchrun --nproc_per_node N $(which uir) train ...
    """
    from ..errors import UsageError
    from ..training.config import resolve_config

    if out is None and config is None:
        raise UsageError("--out is required: the folder for checkpoints, logs and plots")
    cfg = resolve_config(
        config_file=config,
        resume=resume,
        out=str(out) if out is not None else None,
        data=data, synthetic=synthetic, tasks=tasks, mix=mix, val=val, val_synthetic=val_synthetic,
        light_share=light_share, cast_share=cast_share, lines_share=lines_share, equalize=equalize, max_pixels=max_pixels,
        variant=variant, dim=dim, dim_mults=dim_mults, init=str(init) if init is not None else None,
        steps=steps, batch_size=batch_size, crop=crop, lr=lr, accumulate=accumulate, ema_decay=ema_decay,
        ema_every=ema_every, ema_after=ema_after, t_sampling=t_sampling, objective=objective, precision=precision.value if precision else None, seed=seed,
        val_every=val_every, val_count=val_count, val_size=val_size, save_every=save_every, log_every=log_every,
        device=device, workers=workers,
    )  # fmt: skip
    from ..training.trainer import train as run_training

    from .progress import TrainRenderer

    with TrainRenderer(cfg.log_every, live=is_interactive()) as display:
        finished = run_training(cfg, progress=display, resume=resume, tensorboard=tensorboard)
    if finished.interrupted:
        err.print(f"stopped at step {finished.step}; continue with: uir train --out {cfg.out} --resume", style="yellow")
        raise typer.Exit(130)


if __name__ == "__main__":  # `python -m uir_cli.cli.train ...`, e.g. under torchrun -m
    _app = typer.Typer(add_completion=False)
    _app.command(cls=Command)(train)
    _app()
