"""`uir restore`: restore folders of degraded photos."""

from __future__ import annotations

import os
import time
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..engine.torchrun import distributed_share
from ..vocab import TASK_CHOICES
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, UsageError, WeightsError, shown
from . import signals
from .console import err, handle_errors, is_interactive
from .weights import complete_weight_names


# --task's choices (Task.auto, Task.rain ... Task.low_light), from the one list of tasks.
Task = Enum("Task", {name.replace("-", "_"): name for name in TASK_CHOICES}, type=str)


class Which(str, Enum):
    auto = "auto"
    ema = "ema"
    online = "online"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    fp16 = "fp16"
    bf16 = "bf16"


class Format(str, Enum):
    same = "same"
    png = "png"
    jpg = "jpg"
    webp = "webp"
    tiff = "tiff"


def complete_devices(incomplete: str) -> list[str]:
    return [d for d in ("auto", "cpu", "cuda", "cuda:0", "cuda:1", "mps") if d.startswith(incomplete)]


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


SEED_MAX = 2**64 - 1  # torch's generators take seeds from 0 to 2**64 - 1


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


def _sigterm_as_interrupt() -> None:
    """Let `kill` (cron's timeout, a scheduler) end a run as cleanly as Ctrl-C."""
    signals.install()


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
    return model or _default_model()


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


@handle_errors
def restore(
    inputs: Annotated[list[str], typer.Argument(help="Image files, folders (recursed) or glob patterns.", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder; the input tree is mirrored inside it.", file_okay=False)],
    model: Annotated[Optional[str], typer.Option("--model", "-m", help="Registered weights (see `uir weights list`); default: weights.toml's default.", autocompletion=complete_weight_names, rich_help_panel="Model")] = None,
    weights: Annotated[Optional[Path], typer.Option("--weights", "-w", help="A weights file: the authors' checkpoint, a state dict or safetensors.", rich_help_panel="Model")] = None,
    which: Annotated[Which, typer.Option(help="Which weights of a training checkpoint: auto (EMA if present), ema or online.", rich_help_panel="Model")] = Which.auto,
    task: Annotated[Task, typer.Option(help="Degradation. low-light equalises the histogram first; auto does so for dark images (mean luma < 0.2) and nothing otherwise.", rich_help_panel="Sampling")] = Task.auto,
    steps: Annotated[Optional[int], typer.Option(help="Sampling steps (default: the weights' own, usually 3).", min=1, max=1000, rich_help_panel="Sampling")] = None,
    seed: Annotated[int, typer.Option(help="Seed of the starting noise (drawn per image, whole).", min=0, max=SEED_MAX, rich_help_panel="Sampling")] = 0,
    tile: Annotated[str, typer.Option(help="auto: whole images when they fit in memory, else the largest tiles that do; 0: always whole; N: tiles of at most N x N.", autocompletion=lambda incomplete: ["auto", "0", "256", "512", "1024"], rich_help_panel="Tiling and device")] = "auto",
    tile_overlap: Annotated[int, typer.Option(help="Overlap of neighbouring tiles, blended smoothly.", min=0, max=512, rich_help_panel="Tiling and device")] = 32,
    batch_size: Annotated[str, typer.Option(help="Tiles per network call: auto (1 on the CPU, as many as fit on a GPU) or N.", autocompletion=lambda incomplete: ["auto", "1", "2", "4", "8", "16"], rich_help_panel="Tiling and device")] = "auto",
    device: Annotated[str, typer.Option(help="auto (CUDA, then MPS, then CPU), cpu, cuda, cuda:N or mps.", autocompletion=complete_devices, rich_help_panel="Tiling and device")] = "auto",
    precision: Annotated[Precision, typer.Option(help="auto: bf16 (or fp16) on CUDA, fp32 elsewhere. Tiles that come out non-finite are redone in fp32.", rich_help_panel="Tiling and device")] = Precision.auto,
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
    _sigterm_as_interrupt()
    if model and weights:
        raise UsageError("give --model or --weights, not both")
    tile_px = parse_tile(tile)
    batch = parse_batch(batch_size)
    suffix = parse_suffix(suffix)
    check_out_folder(out)
    shard_index, shard_count = parse_shard(shard)
    rank, world, local_rank = distributed_share()
    if world > 1:  # under torchrun: each rank takes its own share and its own GPU
        shard_index, shard_count = shard_index * world + rank, shard_count * world
    prefix = f"[rank {rank}] " if world > 1 else ""
    if report:
        if world > 1:
            report = report.with_name(f"{report.stem}.rank{rank}{report.suffix}")
        check_report(report)  # now, not after the run
    spec = weights_spec(model, weights)

    from ..engine.batch import BatchOptions, FileResult, plan_outputs, run_batch
    from ..engine.inputs import discover
    from ..atomic import write_json
    from ..engine.report import Environment, now_iso
    from ..engine.restorer import load_restorer

    if device == "auto" and world > 1:
        import torch

        if torch.cuda.is_available():
            device = f"cuda:{local_rank % torch.cuda.device_count()}"
    started = now_iso()
    t0 = time.perf_counter()
    restorer = load_restorer(spec, device=device, precision=precision.value,
                             which=which.value, steps=steps)
    if tile_px and tile_px < restorer.info.size_multiple:
        raise UsageError(f"--tile {tile_px} is smaller than this network's size multiple ({restorer.info.size_multiple} pixels)",
                         hint="use --tile auto, 0 or a larger size")
    opts = BatchOptions(
        out_dir=out, steps=restorer.steps, seed=seed, task=task.value, tile=tile_px, tile_overlap=tile_overlap,
        batch_size=batch, fmt=format.value, quality=quality, suffix=suffix, overwrite=overwrite,
        max_pixels=max_pixels or None, shard=(shard_index, shard_count),
    )
    if batch is None:
        from ..engine.memory import auto_batch

        opts = _with_batch(opts, restorer, auto_batch)
    items, missing = discover(inputs, exclude=[out])
    todo, known = plan_outputs(items, missing, opts)
    if report:
        check_report_against(report, items, todo, known)
    if verbose:
        info = restorer.info
        err.print(f"{prefix}model {info.name} ({info.variant}, sha256 {info.sha256[:12]}…) on {restorer.device_name} "
                  f"[{restorer.device}, {restorer.place.precision}], {opts.steps} steps, seed {seed}, tile {tile}, "
                  f"batch {opts.batch_size}", highlight=False, markup=False)

    use_rich = is_interactive() and not quiet and world == 1
    if use_rich:
        from .progress import RichRestoreEvents

        events = RichRestoreEvents(len(todo) + len(known), steps=opts.steps, quiet=quiet, verbose=verbose)  # skips count as reached
    else:
        from .progress import PlainRestoreEvents

        events = PlainRestoreEvents(quiet=quiet, verbose=verbose, prefix=prefix)
    for r in known:
        events.finished(r)
    events.planned(len(todo), sum(r.status == "skipped" for r in known), sum(r.status == "failed" for r in known))

    interrupted = False
    done_results: list = []  # filled as files finish, so an interrupt keeps those done before it
    try:
        run_batch(restorer, todo, opts, events, results=done_results)
    except KeyboardInterrupt:
        interrupted = True
    finally:
        events.close()
    results = list(known) + done_results
    elapsed = time.perf_counter() - t0
    summary = _summary(results, elapsed, interrupted, len(todo) - len(done_results))
    err.print(f"{prefix}{summary['line']}", highlight=False, markup=False)
    if interrupted:
        signals.said()  # the summary says "(interrupted; N not started)"
    report_failed = False
    if report:
        reached = {r.input for r in done_results}
        not_started = [FileResult(str(item.path), str(dest), "not started", "interrupted before it started")
                       for item, dest in todo if str(item.path) not in reached]
        try:
            write_json(report, {
                "command": "restore",
                "started": started,
                "finished": now_iso(),
                "interrupted": interrupted,
                "settings": {"inputs": inputs, **{k: (str(v) if isinstance(v, Path) else v) for k, v in opts.__dict__.items()}},
                "model": restorer.info,
                "environment": Environment.capture(restorer),
                "summary": {k: v for k, v in summary.items() if k != "line"},
                "files": results + not_started,  # every file the run planned, the ones not started too
            })
        except OSError as exc:
            from ..atomic import describe

            report_failed = True
            err.print(f"{prefix}error: {shown(report)}: cannot write the report: {describe(exc)}", highlight=False, markup=False)
    if interrupted:
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_SOME_FAILED if summary["failed"] or report_failed else EXIT_OK)


def _with_batch(opts, restorer, auto_batch):
    from dataclasses import replace

    tile = opts.tile or 512
    return replace(opts, batch_size=auto_batch(tile * tile, restorer.net.config, restorer.place.precision, restorer.device))


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


def _default_model() -> str:
    from ..registry import load_registry

    return load_registry().default_entry().name
