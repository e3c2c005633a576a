"""`uir restore`: restore folders of degraded photos."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..vocab import TILE_OVERLAP
from ..engine.torchrun import distributed_share
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, UsageError, shown
from . import signals
from .console import err, handle_errors, is_interactive
from .options import (
    Precision, Task, Which, auto_batch_size, batch_size_option, device_option, model_option, parse_batch, parse_tile,
    precision_option, seed_option, steps_option, tile_overlap_option, weights_option, which_option, weights_spec,
)


class Format(str, Enum):
    same = "same"
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"


def parse_shard(text: str | None) -> tuple[int, int]:
    """'K/N' (K from 1 to N) -> (K - 1, N)."""
    if not text:
        return (0, 1)
    try:
        k, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise UsageError(f"--shard must look like K/N (e.g. 2/8), not {text!r}") from None
    if n < 1 or not 1 <= k <= n:
        raise UsageError(f"--shard {text}: K must be between 1 and N")
    return (k - 1, n)


def parse_suffix(text: str) -> str:
    """The --suffix, refused when it would make a path rather than a name ('/x', '_a/../b')."""
    bad = [c for c in ("/", "\\", "\0", os.sep, os.altsep) if c and c in text]
    if bad:
        raise UsageError(f"--suffix {shown(text)}: a suffix is added to a file name and may not hold "
                         f"{shown(bad[0])!s}", hint="e.g. --suffix _restored")
    return text


def check_out_folder(out: Path) -> None:
    """--out must be a folder, or not exist yet (exit 2 for a file or anything else in the way)."""
    if os.path.lexists(out) and not out.is_dir():
        raise UsageError("--out names something that is not a folder", hint="give a folder, new or existing", path=out)


def check_report(report: Path) -> None:
    """At start: refuse a --report that exists and is not a uir report (exit 2), or that cannot be written."""
    from ..atomic import check_writable, describe

    if report.is_dir():
        raise UsageError("--report names a folder; give a file name", path=report)
    if os.path.lexists(report) and not _is_restore_report(report):
        raise UsageError("--report names a file that exists and is not a uir restore report; it is not overwritten",
                         hint="give a new name, or delete the file", path=report)
    try:
        check_writable(report)
    except OSError as exc:
        raise UsageError(f"cannot write the report here: {describe(exc)}", path=report) from None


def _is_restore_report(path: Path) -> bool:
    import json

    from ..regular import open_regular

    try:
        with open_regular(path) as f:
            data = json.loads(f.read(256 * 1024 * 1024))
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and data.get("command") == "restore" and isinstance(data.get("files"), list)


def check_report_against(report: Path, items, todo, known) -> None:
    """Refuse a --report that is one of the run's inputs or outputs (exit 2)."""
    from ..regular import resolved

    key = resolved(report)
    if any(resolved(it.path) == key for it in items):
        raise UsageError("--report is one of the inputs; it would be overwritten with JSON", path=report)
    outputs = [dest for _, dest in todo] + [Path(r.output) for r in known if r.output]
    if any(resolved(Path(d)) == key for d in outputs):
        raise UsageError("--report is one of this run's outputs; give another name", path=report)


_MODEL, _SAMPLING, _TILING = "Model", "Sampling", "Tiling and device"


@handle_errors
def restore(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders (recursed) or glob patterns.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; the input tree is mirrored inside it.", file_okay=False)],
    model: model_option(_MODEL) = None,
    weights: weights_option(_MODEL) = None,
    which: which_option(_MODEL) = Which.auto,
    task: Annotated[Task, typer.Option(help="Degradation. low-light equalises the histogram first; auto does so for dark images (mean luma < 0.2) and nothing otherwise.", rich_help_panel="Sampling")] = Task.auto,
    steps: steps_option(_SAMPLING) = None,
    seed: seed_option(_SAMPLING) = 0,
    tile: Annotated[str, typer.Option(help="auto: whole images when they fit in memory, else the largest tiles that do; 0: always whole; N: tiles of at most N x N.", autocompletion=lambda incomplete: ["auto", "0", "256", "512", "1024"], rich_help_panel="Tiling and device")] = "auto",
    tile_overlap: tile_overlap_option(_TILING) = TILE_OVERLAP,
    batch_size: batch_size_option(_TILING) = "auto",
    device: device_option(_TILING) = "auto",
    precision: precision_option(_TILING) = Precision.auto,
    format: Annotated[Format, typer.Option("--format", help="Output format; same keeps each input's.", rich_help_panel="Output")] = Format.same,
    quality: Annotated[Optional[int], typer.Option(help="JPEG/WebP quality (default 95/90).", min=1, max=100, rich_help_panel="Output")] = None,
    suffix: Annotated[str, typer.Option(help="Added to each output's name, e.g. _restored.", rich_help_panel="Output")] = "",
    overwrite: Annotated[bool, typer.Option("--overwrite/--skip-existing", help="Redo outputs that exist (default: skip them, before decoding anything).", rich_help_panel="Output")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write a JSON report: every file's status, reason, timings and sizes; the settings; the weights' sha256.", dir_okay=False, rich_help_panel="Output")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and the summary.", rich_help_panel="Run")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Also settings, skipped files and each start.", rich_help_panel="Run")] = False,
    shard: Annotated[Optional[str], typer.Option(help="K/N: do only this job's share (K from 1 to N), for job arrays.", rich_help_panel="Run")] = None,
    max_pixels: Annotated[int, typer.Option(help="Refuse images with more pixels (0: no limit).", min=0, rich_help_panel="Run")] = 200_000_000,
) -> None:
    """Restore degraded photos (rain, haze, snow, blur, low light) with DiffUIR.

    Exit codes: 0 every input done or skipped; 1 some inputs failed (the others
    were done); 2 usage error; 3 could not start (weights, device).
    """
    signals.install()  # `kill` (cron's timeout, a scheduler) ends a run as cleanly as Ctrl-C
    if model and weights:
        raise UsageError("give --model or --weights, not both")
    tile_px, batch, suffix = parse_tile(tile), parse_batch(batch_size), parse_suffix(suffix)
    check_out_folder(out)
    share = _Share.of(parse_shard(shard))
    if report:
        report = share.report_name(report)
        check_report(report)  # now, not after the run
    spec = weights_spec(model, weights)

    from ..engine.batch import BatchOptions, plan_outputs
    from ..engine.batch.inputs import discover
    from ..engine.batch.report import Environment, now_iso

    started, t0 = now_iso(), time.perf_counter()
    restorer = _load(spec, share.device(device), precision.value, which.value, steps, tile_px)
    opts = BatchOptions(
        out_dir=out, steps=restorer.steps, seed=seed, task=task.value, tile=tile_px, tile_overlap=tile_overlap,
        batch_size=batch or auto_batch_size(restorer, tile_px), fmt=format.value, quality=quality, suffix=suffix,
        overwrite=overwrite, max_pixels=max_pixels or None, shard=share.shard,
    )
    items, missing = discover(inputs, exclude=[out])
    todo, known = plan_outputs(items, missing, opts)
    if report:
        check_report_against(report, items, todo, known)
    if verbose:
        info = restorer.info
        err.print(f"{share.prefix}model {info.name} ({info.variant}, sha256 {info.sha256[:12]}…) on {restorer.device_name} "
                  f"[{restorer.device}, {restorer.place.precision}], {opts.steps} steps, seed {seed}, tile {tile}, "
                  f"batch {opts.batch_size}", highlight=False, markup=False)
    done, interrupted = _run(restorer, todo, known, opts, share, quiet=quiet, verbose=verbose)
    results = list(known) + done
    summary = _summary(results, time.perf_counter() - t0, interrupted, len(todo) - len(done))
    err.print(f"{share.prefix}{summary['line']}", highlight=False, markup=False)
    if interrupted:
        signals.said()  # the summary says "(interrupted; N not started)"
    report_failed = bool(report) and not _write_report(report, share.prefix, {
        "command": "restore", "started": started, "finished": now_iso(), "interrupted": interrupted,
        "settings": {"inputs": inputs, **{k: (str(v) if isinstance(v, Path) else v) for k, v in opts.__dict__.items()}},
        "model": restorer.info, "environment": Environment.capture(restorer),
        "summary": {k: v for k, v in summary.items() if k != "line"},
        "files": results + _not_started(todo, done),  # every file the run planned, the ones not started too
    })
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_SOME_FAILED if summary["failed"] or report_failed else EXIT_OK)


@dataclass(frozen=True)
class _Share:
    """This process's share of the inputs: --shard K/N, split again between torchrun's ranks."""

    shard: tuple[int, int]
    rank: int
    world: int
    local_rank: int

    @classmethod
    def of(cls, shard: tuple[int, int]) -> "_Share":
        rank, world, local_rank = distributed_share()
        if world > 1:  # under torchrun: each rank takes its own share and its own GPU
            shard = (shard[0] * world + rank, shard[1] * world)
        return cls(shard, rank, world, local_rank)

    @property
    def prefix(self) -> str:
        return f"[rank {self.rank}] " if self.world > 1 else ""

    def report_name(self, report: Path) -> Path:
        return report.with_name(f"{report.stem}.rank{self.rank}{report.suffix}") if self.world > 1 else report

    def device(self, device: str) -> str:
        if device == "auto" and self.world > 1:
            import torch

            if torch.cuda.is_available():
                return f"cuda:{self.local_rank % torch.cuda.device_count()}"
        return device


def _load(spec: str, device: str, precision: str, which: str, steps: int | None, tile_px: int | None):
    from ..engine.restorer import load_restorer

    restorer = load_restorer(spec, device=device, precision=precision, which=which, steps=steps)
    if tile_px and tile_px < restorer.info.size_multiple:
        raise UsageError(f"--tile {tile_px} is smaller than this network's size multiple ({restorer.info.size_multiple} pixels)",
                         hint="use --tile auto, 0 or a larger size")
    return restorer


def _run(restorer, todo, known, opts, share: _Share, *, quiet: bool, verbose: bool) -> tuple[list, bool]:
    """Restore ``todo`` with progress on stderr: (the results of the files reached, whether Ctrl-C ended it)."""
    from ..engine.batch import run_batch

    if is_interactive() and not quiet and share.world == 1:
        from .progress import RichRestoreRenderer

        events = RichRestoreRenderer(len(todo) + len(known), steps=opts.steps, quiet=quiet, verbose=verbose)  # skips count as reached
    else:
        from .progress import PlainRestoreRenderer

        events = PlainRestoreRenderer(quiet=quiet, verbose=verbose, prefix=share.prefix)
    done: list = []  # filled as files finish, so an interrupt keeps those done before it
    try:
        run_batch(restorer, todo, opts, events, results=done, known=known)
    except KeyboardInterrupt:
        return done, True
    finally:
        events.close()
    return done, False


def _not_started(todo, done) -> list:
    from ..engine.batch import FileResult

    reached = {r.input for r in done}
    return [FileResult(str(item.path), str(dest), "not started", "interrupted before it started")
            for item, dest in todo if str(item.path) not in reached]


def _write_report(report: Path, prefix: str, data: dict) -> bool:
    """Write the JSON report; False, said on stderr, when it cannot."""
    from ..atomic import describe, write_json

    try:
        write_json(report, data)
    except OSError as exc:
        err.print(f"{prefix}error: {shown(report)}: cannot write the report: {describe(exc)}", highlight=False, markup=False)
        return False
    return True


def _summary(results, elapsed: float, interrupted: bool, not_started: int) -> dict:
    done = [r for r in results if r.status == "done"]
    mp = sum(r.megapixels for r in done)
    model_s = sum(r.model_s for r in done)
    counts = {s: sum(r.status == s for r in results) for s in ("done", "skipped", "failed")}
    line = f"{counts['done']} done, {counts['skipped']} skipped, {counts['failed']} failed"
    if interrupted:
        line += f" (interrupted; {not_started} not started)"
    line += f" in {elapsed:.1f} s"
    if mp:
        line += f"; {mp:.2f} MP restored, {mp / elapsed:.3f} MP/s overall"
    return {**counts, "not_started": not_started, "megapixels": round(mp, 4), "seconds": round(elapsed, 3), "model_seconds": round(model_s, 3),
            "megapixels_per_second": round(mp / elapsed, 5) if elapsed else None,
            "fallback_tiles": sum(r.fallback_tiles for r in done), "line": line}

