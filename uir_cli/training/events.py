"""What the trainer reports while it runs (the CLI renders these; the trainer never prints)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..engine.events import Event
from .plan import TaskSummary
from .validation import ValScore


@dataclass(frozen=True)
class RunStarted(Event):
    """Sent once, before the first step."""

    run_dir: Path
    device: str
    device_name: str
    precision: str
    world: int
    variant: str
    dim: int
    dim_mults: tuple[int, ...]
    parameters: int
    tasks: tuple[TaskSummary, ...]
    workers: int
    start_step: int
    total_steps: int
    batch_size: int
    accumulate: int
    crop: int
    val_crops: int
    notes: tuple[str, ...]


@dataclass(frozen=True)
class StepDone(Event):
    """After every optimiser step: ``loss`` is the mean L1 over the step's micro-batches (and ranks)."""

    step: int
    total: int
    loss: float
    lr: float
    elapsed: float  # wall seconds of this run so far, across resumes


@dataclass(frozen=True)
class Validated(Event):
    step: int
    scores: tuple[ValScore, ...]
    seconds: float


@dataclass(frozen=True)
class Saved(Event):
    step: int
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class Warned(Event):
    """Something the user should see once (a skipped image, a resume mismatch)."""

    message: str


@dataclass(frozen=True)
class RunFinished(Event):
    """The run's outcome; ``interrupted`` when it stopped early on Ctrl-C / SIGTERM (after saving)."""

    run_dir: Path
    step: int
    total: int
    elapsed: float
    last_loss: float | None
    checkpoint: Path | None
    ema_weights: Path | None
    plots: tuple[Path, ...]
    interrupted: bool = False
