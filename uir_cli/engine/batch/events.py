"""What `uir restore`'s file pipeline reports while it runs (the CLI renders these; the pipeline never prints).

In a run's order: :class:`FileFinished` for each file decided before the run (skipped, failed), then
:class:`Planned`, then per file :class:`~uir_cli.engine.events.ImageStarted`,
:class:`~uir_cli.engine.events.TilesDone` (per sampler step) and :class:`FileFinished`; :class:`Waiting`
when files that other runs hold are waited for.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..events import Event, Finished

if TYPE_CHECKING:
    from .pipeline import FileResult


@dataclass(frozen=True)
class FileFinished(Finished["FileResult"]):
    """A file ended: ``result`` says done, skipped or failed, and why."""


@dataclass(frozen=True)
class Planned(Event):
    """The run's plan: ``todo`` files to restore; ``skipped`` and ``failed``: files decided before any
    started (each has had its :class:`FileFinished`)."""

    todo: int
    skipped: int
    failed: int


@dataclass(frozen=True)
class Waiting(Event):
    """The run waits for ``count`` files that other runs hold (each is done by them, or here)."""

    count: int
