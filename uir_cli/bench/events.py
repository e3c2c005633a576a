"""What `uir benchmark`'s evaluation reports while it runs (the CLI renders these; the evaluation never prints).

Per set :class:`DatasetStarted`, then per pair :class:`~uir_cli.engine.events.ImageStarted` (when a
model runs), :class:`~uir_cli.engine.events.TilesDone` (per sampler step) and :class:`ImageFinished`, then
:class:`DatasetFinished`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..engine.events import Event, Finished

if TYPE_CHECKING:
    from .evaluate import DatasetResult, ImageResult, Images


@dataclass(frozen=True)
class DatasetStarted(Event):
    """A set begins: its name, its task, and how many of its pairs were selected."""

    name: str
    task: str
    pairs: int


@dataclass(frozen=True)
class ImageFinished(Finished["ImageResult"]):
    """A pair was scored, or failed (``result.reason``); ``images``: its 8-bit input, output and target."""

    images: Images


@dataclass(frozen=True)
class DatasetFinished(Finished["DatasetResult"]):
    """A set ended; ``result.summary`` holds its means."""
