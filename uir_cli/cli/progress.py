"""Rendering the engine's progress events: Rich on a terminal, plain lines otherwise."""

from __future__ import annotations

import time
from pathlib import Path

from rich.markup import escape
from rich.text import Text

from ..errors import shown
from .console import err


class PlainRestoreEvents:
    """One line per file (for cron and logs); skipped files only when verbose.

    Names are printed as they are, quoted when they hold a newline or other unprintable
    characters (:func:`uir_cli.errors.shown`), never read as Rich markup; so is the prefix
    (``[rank N] `` under torchrun).
    """

    def __init__(self, *, quiet: bool = False, verbose: bool = False, prefix: str = ""):
        self.quiet, self.verbose, self.prefix = quiet, verbose, prefix
        self.pixels = 0
        self.done_mp = 0.0
        self.t0 = time.perf_counter()

    def planned(self, todo: int, skipped: int, failed: int) -> None:
        if self.verbose:
            err.print(f"{self.prefix}{todo} to restore, {skipped} skipped, {failed} failed before starting", highlight=False,
                      markup=False)

    def waiting(self, count: int) -> None:
        if not self.quiet:
            err.print(f"{self.prefix}waiting for {count} file(s) another uir run is working on (each is done by it, "
                      "or here if that run stops)", highlight=False, markup=False)

    def started(self, path: Path, width: int, height: int, tiles: int) -> None:
        if self.verbose:
            err.print(f"{self.prefix}start   {shown(path)} ({width}x{height}, {tiles} tile{'s' * (tiles != 1)})", highlight=False, markup=False)

    def tiles(self, count: int, pixels: int) -> None:
        self.pixels += pixels

    def finished(self, r) -> None:
        if r.status == "failed":
            err.print(Text.assemble(self.prefix, ("failed", "red"), f"  {shown(r.input)}: {r.reason}"), highlight=False)
        elif r.status == "skipped":
            if self.verbose:
                err.print(f"{self.prefix}skipped {shown(r.input)}: {r.reason}", highlight=False, markup=False)
        elif not self.quiet:
            secs = r.decode_s + r.model_s + r.encode_s
            note = f", {r.fallback_tiles} tile(s) redone in fp32" if r.fallback_tiles else ""
            task = f", {r.task}" if r.task and r.task != "auto" else ""
            err.print(f"{self.prefix}done    {shown(r.input)} -> {shown(r.output)} ({r.megapixels:.1f} MP, {secs:.1f} s{task}{note})",
                      highlight=False, markup=False)
            for w in r.warnings:
                err.print(f"{self.prefix}        note: {w}", highlight=False, markup=False)

    def close(self) -> None:
        pass


class RichRestoreEvents(PlainRestoreEvents):
    """A live progress display on stderr: images, tiles, megapixels per second, ETA."""

    def __init__(self, total: int, *, steps: int = 3, **kw):
        super().__init__(**kw)
        self.steps = steps
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("eta"),
            TimeRemainingColumn(),
            console=err,
            transient=False,
        )
        self.images = self.progress.add_task("images", total=total, rate="")
        self.tile_task = self.progress.add_task("tiles", total=None, rate="", visible=False)
        self.progress.start()

    def _rate(self) -> str:
        """Megapixels of restored images per second, over the files finished so far."""
        dt = time.perf_counter() - self.t0
        return f"{self.done_mp / dt:.3f} MP/s" if dt > 0 and self.done_mp else ""

    def started(self, path: Path, width: int, height: int, tiles: int) -> None:
        self.progress.update(self.tile_task, description=escape(f"{shown(path.name)} ({width}x{height})"), total=tiles * self.steps,
                             completed=0, visible=True)

    def tiles(self, count: int, pixels: int) -> None:
        super().tiles(count, pixels)
        self.progress.advance(self.tile_task, count)

    def finished(self, r) -> None:
        if r.status == "done":
            self.done_mp += r.megapixels
        self.progress.advance(self.images)
        self.progress.update(self.images, rate=self._rate())
        super().finished(r)

    def close(self) -> None:
        self.progress.stop()
