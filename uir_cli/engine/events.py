"""Typed events: how long jobs say what they are doing, without printing.

The file pipeline of `uir restore` (:mod:`.batch.events`), the benchmark (:mod:`uir_cli.bench.events`)
and the trainer (:mod:`uir_cli.training.events`) each report through one callback, a :data:`Progress`,
called with frozen dataclasses that derive from :class:`Event`.  The CLI renders them
(:mod:`uir_cli.cli.progress`); a caller that wants nothing shown passes :func:`ignore`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar


@dataclass(frozen=True)
class Event:
    """The base of every event (none is sent as it is)."""


Progress = Callable[[Event], None]
R = TypeVar("R")


def ignore(_: Event) -> None:
    """A progress callback that shows nothing."""


@dataclass(frozen=True)
class ImageStarted(Event):
    """The model starts on an image (``name``: the input file as given, or the pair's name in a
    benchmark): its size, and the tiles it is cut into."""

    name: str
    width: int
    height: int
    tiles: int


@dataclass(frozen=True)
class TilesDone(Event):
    """Tiles went through the network for one sampler step: ``count`` of them (a half for each of
    the two passes of tiles that do not fit together), ``pixels`` their area."""

    count: float
    pixels: float


@dataclass(frozen=True)
class Finished(Event, Generic[R]):
    """An item ended (a file of `uir restore`, a pair or a set of `uir benchmark`); ``result`` says how,
    as its room records it.  Each room names its own subclass."""

    result: R
