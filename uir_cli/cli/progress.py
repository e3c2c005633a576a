"""Rendering the typed events of `uir restore`, `uir benchmark` and `uir train` on stderr.

The engine, the benchmark and the trainer print nothing: they call one callback with frozen
dataclasses (:mod:`uir_cli.engine.events`).  The renderers here are those callbacks, one family:
:class:`Renderer` sends each event to the method its subclass names for the event's type (other
events are not shown); on a terminal a Rich live display, one plain line per item otherwise (cron,
``nohup``, CI).  Nothing here imports torch: the event types load when a renderer first runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from rich.text import Text

from ..errors import shown
from .console import err


class Renderer:
    """The base of the renderers: called with an event, runs the method :meth:`handlers` maps its type
    to.  ``live`` is the Rich display when one runs; :meth:`close` (or the end of a ``with``) stops it."""

    live = None
    _table: dict[type, Callable] | None = None

    def handlers(self) -> dict[type, Callable]:
        """Event type -> the method that shows it."""
        return {}

    def __call__(self, event) -> None:
        if self._table is None:
            self._table = self.handlers()
        handler = self._table.get(type(event))
        if handler is not None:
            handler(event)

    def start_live(self, *columns, transient: bool) -> None:
        """Start a live display on stderr with Rich progress ``columns``."""
        from rich.progress import Progress

        self.live = Progress(*columns, console=err, transient=transient)
        self.live.start()

    def close(self) -> None:
        if self.live is not None:
            self.live.stop()
            self.live = None

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _columns(with_rate: bool) -> list:
    """The live bar's columns: label, bar, done/total, [rate,] elapsed, ETA."""
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    rate = [TextColumn("{task.fields[rate]}")] if with_rate else []
    eta = [TextColumn("eta")] if with_rate else []
    return [TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), *rate, TimeElapsedColumn(),
            *eta, TimeRemainingColumn()]


# --- uir restore -------------------------------------------------------------------------


class PlainRestoreRenderer(Renderer):
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

    def handlers(self) -> dict[type, Callable]:
        from ..engine.batch.events import FileFinished, Planned, Waiting
        from ..engine.events import ImageStarted, TilesDone

        return {Planned: self.planned, Waiting: self.waiting, ImageStarted: self.started, TilesDone: self.tiles,
                FileFinished: self.finished}

    def _line(self, text: str) -> None:
        err.print(f"{self.prefix}{text}", highlight=False, markup=False)

    def planned(self, e) -> None:
        if self.verbose:
            self._line(f"{e.todo} to restore, {e.skipped} skipped, {e.failed} failed before starting")

    def waiting(self, e) -> None:
        if not self.quiet:
            self._line(f"waiting for {e.count} file(s) another uir run is working on (each is done by it, "
                       "or here if that run stops)")

    def started(self, e) -> None:
        if self.verbose:
            self._line(f"start   {shown(e.name)} ({e.width}x{e.height}, {e.tiles} tile{'s' * (e.tiles != 1)})")

    def tiles(self, e) -> None:
        self.pixels += e.pixels

    def finished(self, e) -> None:
        r = e.result
        if r.status == "failed":
            err.print(Text.assemble(self.prefix, ("failed", "red"), f"  {shown(r.input)}: {r.reason}"), highlight=False)
        elif r.status == "skipped":
            if self.verbose:
                self._line(f"skipped {shown(r.input)}: {r.reason}")
        elif not self.quiet:
            secs = r.decode_s + r.model_s + r.encode_s
            note = f", {r.fallback_tiles} tile(s) redone in fp32" if r.fallback_tiles else ""
            task = f", {r.task}" if r.task and r.task != "auto" else ""
            self._line(f"done    {shown(r.input)} -> {shown(r.output)} ({r.megapixels:.1f} MP, {secs:.1f} s{task}{note})")
            for w in r.warnings:
                self._line(f"        note: {w}")


class RichRestoreRenderer(PlainRestoreRenderer):
    """A live progress display on stderr: images, tiles, megapixels per second, ETA."""

    def __init__(self, total: int, *, steps: int = 3, **kw):
        super().__init__(**kw)
        self.steps = steps
        self.start_live(*_columns(with_rate=True), transient=False)
        self.images = self.live.add_task("images", total=total, rate="")
        self.tile_task = self.live.add_task("tiles", total=None, rate="", visible=False)

    def _rate(self) -> str:
        """Megapixels of restored images per second, over the files finished so far."""
        dt = time.perf_counter() - self.t0
        return f"{self.done_mp / dt:.3f} MP/s" if dt > 0 and self.done_mp else ""

    def started(self, e) -> None:
        self.live.update(self.tile_task, description=escape(f"{shown(Path(e.name).name)} ({e.width}x{e.height})"),
                         total=e.tiles * self.steps, completed=0, visible=True)

    def tiles(self, e) -> None:
        super().tiles(e)
        self.live.advance(self.tile_task, e.count)

    def finished(self, e) -> None:
        if e.result.status == "done":
            self.done_mp += e.result.megapixels
        self.live.advance(self.images)
        self.live.update(self.images, rate=self._rate())
        super().finished(e)


# --- uir benchmark -----------------------------------------------------------------------


class PlainBenchmarkRenderer(Renderer):
    """A line per image on stderr; keeps thumbnails for the HTML report when asked (``thumbs``)."""

    def __init__(self, keep_thumbnails: bool):
        self.thumbs: dict | None = {} if keep_thumbnails else None
        self.count = self.total_in_set = 0

    def handlers(self) -> dict[type, Callable]:
        from ..bench.events import DatasetStarted, ImageFinished
        from ..engine.events import ImageStarted, TilesDone

        return {DatasetStarted: self.dataset_started, ImageStarted: self.started, TilesDone: self.tiles,
                ImageFinished: self.finished}

    def dataset_started(self, e) -> None:
        self.count, self.total_in_set = 0, e.pairs
        self._say(f"{e.name}: {e.pairs} pair(s), task {e.task}")

    def started(self, e) -> None: ...

    def tiles(self, e) -> None: ...

    def finished(self, e) -> None:
        from ..bench.report import thumbnails_of

        self.count += 1
        if self.thumbs is not None:
            self.thumbs[(e.result.dataset, e.result.name)] = thumbnails_of(e.images)
        self._show(e.result)

    def _show(self, result) -> None:
        """The line of one finished image."""
        from ..bench.report import fmt_psnr, fmt_ssim

        where = f"[{result.dataset} {self.count}/{self.total_in_set}] {shown(result.name)}"
        if result.status != "done":
            self._say(f"{where}: failed: {result.reason}", style="red")
            return
        base = f" (input {fmt_psnr(result.input_psnr)} / {fmt_ssim(result.input_ssim)})" if result.input_psnr is not None else ""
        secs = f", {result.seconds:.2f} s" if result.seconds is not None else ""
        self._say(f"{where}: PSNR {fmt_psnr(result.psnr)} dB, SSIM {fmt_ssim(result.ssim)}{base}{secs}")

    def _say(self, text: str, style: str | None = None) -> None:
        err.print(text, markup=False, style=style)


class RichBenchmarkRenderer(PlainBenchmarkRenderer):
    """A live bar on stderr: images of all sets, and the tiles of the image being restored; only
    failures are printed."""

    def __init__(self, total: int, keep_thumbnails: bool, steps: int):
        super().__init__(keep_thumbnails)
        self.steps = steps  # each tile is evaluated once per sampler step
        self.start_live(*_columns(with_rate=False), transient=True)
        self.images = self.live.add_task("images", total=total)
        self.tile_task = self.live.add_task("tiles", total=None, visible=False)

    def dataset_started(self, e) -> None:
        self.count, self.total_in_set = 0, e.pairs
        self.live.update(self.images, description=escape(e.name))

    def started(self, e) -> None:
        self.live.update(self.tile_task, description=escape(f"{e.name} ({e.width}x{e.height})"),
                         total=e.tiles * self.steps, completed=0, visible=True)

    def tiles(self, e) -> None:
        self.live.advance(self.tile_task, e.count)

    def finished(self, e) -> None:
        self.live.advance(self.images)
        super().finished(e)

    def _show(self, result) -> None:
        if result.status != "done":
            super()._show(result)  # failures stay on screen; the bar shows the rest


# --- uir train ---------------------------------------------------------------------------


def duration(seconds: float) -> str:
    """'m:ss', or 'h:mm:ss' from an hour."""
    seconds = int(max(seconds, 0))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class TrainRenderer(Renderer):
    """The trainer's events: a live bar on a terminal (``live``), a plain line every ``log_every`` steps
    otherwise."""

    def __init__(self, log_every: int, *, live: bool):
        self.log_every = log_every
        self.wants_live = live
        self.task = None
        self.window: list[tuple[int, float]] = []  # (step, elapsed) of recent steps, for the rate
        self.loss_avg: float | None = None

    def handlers(self) -> dict[type, Callable]:
        from ..training import events

        return {events.RunStarted: self.started, events.StepDone: self.step, events.Validated: self.validated,
                events.Saved: self.saved, events.Warned: self.warned, events.RunFinished: self.finished}

    def _print(self, text: str) -> None:
        err.print(text, highlight=False)

    def started(self, e) -> None:
        mults = ",".join(map(str, e.dim_mults))
        head = "resuming" if e.start_step else "training"
        self._print(
            f"{head} {e.variant} (dim {e.dim}, dim_mults {mults}; {e.parameters:,} parameters) on {e.device} "
            f"({e.device_name}), {e.precision}, {e.world} process{'es' if e.world > 1 else ''}, {e.workers} loader workers"
        )
        self._print(f"  steps {e.start_step} -> {e.total_steps}, {e.batch_size} crops of {e.crop}px x {e.accumulate} "
                    f"per step; validation: {e.val_crops} crops; run folder {e.run_dir}")
        for t in e.tasks:
            parts = [f"{t.pairs} pairs"] if t.pairs else []
            parts += [f"{t.photos} photos (synthetic)"] if t.photos else []
            self._print(f"  {t.task:<9} {t.share:>4.0%} of each batch: {' + '.join(parts)}")
        for note in e.notes:
            self._print(f"  [dim]{note}[/]")
        if self.wants_live:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

            self.start_live(TextColumn("step"), MofNCompleteColumn(), BarColumn(),
                            TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[rate]}"),
                            TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn(), transient=False)
            self.task = self.live.add_task("train", total=e.total_steps, completed=e.start_step, loss="-", rate="")

    def _rate(self, step: int, elapsed: float) -> float | None:
        self.window.append((step, elapsed))
        self.window = self.window[-50:]
        (s0, t0), (s1, t1) = self.window[0], self.window[-1]
        return (t1 - t0) / (s1 - s0) if s1 > s0 and t1 > t0 else None

    def step(self, e) -> None:
        self.loss_avg = e.loss if self.loss_avg is None else 0.98 * self.loss_avg + 0.02 * e.loss
        per_step = self._rate(e.step, e.elapsed)
        rate = "" if per_step is None else (f"{per_step:.2f} s/step" if per_step >= 1 else f"{1 / per_step:.1f} steps/s")
        if self.live is not None:
            self.live.update(self.task, completed=e.step, loss=f"{e.loss:.4f} (avg {self.loss_avg:.4f})", rate=rate)
            return
        if e.step % self.log_every == 0 or e.step == e.total:
            eta = f", eta {duration(per_step * (e.total - e.step))}" if per_step else ""
            self._print(f"step {e.step}/{e.total}  loss {e.loss:.4f} (avg {self.loss_avg:.4f})  {rate}  "
                        f"elapsed {duration(e.elapsed)}{eta}  {time.strftime('%H:%M:%S')}")

    def validated(self, e) -> None:
        parts = [f"{s.task} {s.psnr_out:.2f} dB / {s.ssim_out:.3f} (input {s.psnr_in:.2f} / {s.ssim_in:.3f})"
                 + (f", brightness {s.shift:.1f} levels off" if s.task == "clean" else "") for s in e.scores]
        self._print(f"val @ {e.step} ({e.seconds:.0f}s): " + "; ".join(parts))

    def saved(self, e) -> None:
        self._print(f"[dim]saved {', '.join(p.name for p in e.paths)}[/]")

    def warned(self, e) -> None:
        self._print(f"[yellow]warning:[/] {escape(e.message)}")

    def finished(self, e) -> None:
        self.close()
        loss = f", last loss {e.last_loss:.4f}" if e.last_loss is not None else ""
        self._print(f"finished at step {e.step}/{e.total} in {duration(e.elapsed)}{loss}")
        if e.checkpoint is not None:
            self._print(f"  checkpoint (authors' format): {e.checkpoint}")
        if e.ema_weights is not None:
            self._print(f"  EMA weights: {e.ema_weights}  ->  uir restore --weights {e.ema_weights} IMAGE --out DIR")
        for plot in e.plots:
            self._print(f"  plot: {plot}")
