"""`uir benchmark`: PSNR/SSIM on paired test sets, with reports that say how every number was made;
`uir benchmark compare`: several reports in one table."""

from __future__ import annotations

import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..vocab import PROTOCOLS, TILE_OVERLAP
from ..errors import EXIT_INTERRUPTED, EXIT_OK, EXIT_SOME_FAILED, UsageError, shown
from . import signals
from .commands import Command, Group
from .console import err, handle_errors, is_interactive, out
from .options import (
    Precision, Task, Which, auto_batch_size, batch_size_option, device_option, model_option, parse_batch, parse_tile,
    precision_option, seed_option, steps_option, tile_overlap_option, weights_option, which_option, weights_spec,
)


# --protocol's choices: the metric protocols (vocab is numpy-free, as the CLI must stay).
Protocol = Enum("Protocol", {name: name for name in PROTOCOLS}, type=str)


def complete_datasets(incomplete: str) -> list[str]:
    from ..bench.selection import dataset_choices  # folder listings only: no numpy, no torch

    return [n for n in dataset_choices() if n.lower().startswith(incomplete.lower())]


app = typer.Typer(
    cls=Group,
    help="Measure PSNR/SSIM on paired test sets (named benchmarks, the synthetic set, or any folders); compare reports.\n\n"
    "Outputs are rounded to 8 bits (as a saved PNG) and scored against the 8-bit targets under a named protocol. "
    "Exit codes: 0 every pair scored; 1 some failed; 2 usage error or dataset not found; 3 could not start "
    "(weights, device); 130 interrupted (the report of the images done is still written).",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)

_DATA, _SCORE, _OUT, _MODEL = "Data", "Scoring", "Reports", "Model (ignored with --predictions)"


@app.callback(invoke_without_command=True)
@handle_errors
def benchmark(
    ctx: typer.Context,
    dataset: Annotated[Optional[str], typer.Option("--dataset", "-d", help="Named sets, comma-separated: Rain100L, LOL, SOTS-outdoor ..., synthetic (built once from the shipped photos), synthetic-TASK, or all (every named set under --data-root; not synthetic).", autocompletion=complete_datasets, rich_help_panel=_DATA, show_default=False)] = None,
    data_root: Annotated[Optional[Path], typer.Option("--data-root", help="Folder holding the named sets (default: $UIR_DATA, else ~/datasets).", file_okay=False, rich_help_panel=_DATA, show_default=False)] = None,
    input: Annotated[Optional[Path], typer.Option("--input", "-i", help="Folder of degraded inputs, paired with --target by file name.", file_okay=False, rich_help_panel=_DATA, show_default=False)] = None,
    target: Annotated[Optional[Path], typer.Option("--target", "-t", help="Folder of clean targets.", file_okay=False, rich_help_panel=_DATA, show_default=False)] = None,
    task: Annotated[Task, typer.Option(help="Task of --input/--target; low-light equalises the inputs' histograms first (as the authors test LOL). Named sets know their task.", rich_help_panel=_DATA)] = Task.auto,
    predictions: Annotated[Optional[Path], typer.Option("--predictions", help="Score the outputs in this folder (another method's, or a saved run's: DIR or DIR/DATASET), matched by file name; no model runs.", file_okay=False, rich_help_panel=_DATA, show_default=False)] = None,
    limit: Annotated[Optional[int], typer.Option(help="Only the first N pairs of each set (natural order).", min=1, rich_help_panel=_DATA, show_default=False)] = None,
    protocol: Annotated[Protocol, typer.Option(help="diffuir: Y channel, SSIM over the whole image (DiffUIR's numbers); basicsr: Y, SSIM's valid region; rgb: R, G, B.", rich_help_panel=_SCORE)] = Protocol.diffuir,
    crop_border: Annotated[int, typer.Option(help="Pixels removed from each side before scoring.", min=0, rich_help_panel=_SCORE)] = 0,
    report_dir: Annotated[Optional[Path], typer.Option("--report-dir", "-o", help="Write report.json, report.csv and report.md here.", file_okay=False, rich_help_panel=_OUT, show_default=False)] = None,
    save_images: Annotated[bool, typer.Option("--save-images", help="Keep the outputs: REPORT_DIR/images/DATASET/NAME.png.", rich_help_panel=_OUT)] = False,
    html: Annotated[bool, typer.Option("--html", help="Also write REPORT_DIR/report.html: one self-contained page with every input, output and target.", rich_help_panel=_OUT)] = False,
    model: model_option(_MODEL) = None,
    weights: weights_option(_MODEL) = None,
    which: which_option(_MODEL) = Which.auto,
    steps: steps_option(_MODEL) = None,
    seed: seed_option(_MODEL) = 0,
    tile: Annotated[str, typer.Option(help="0: whole images (the published protocol); auto: whole when they fit in memory; N: tiles of at most N x N.", autocompletion=lambda incomplete: ["0", "auto", "256", "512", "1024"], rich_help_panel=_MODEL)] = "0",
    tile_overlap: tile_overlap_option(_MODEL) = TILE_OVERLAP,
    batch_size: batch_size_option(_MODEL) = "auto",
    device: device_option(_MODEL) = "auto",
    precision: precision_option(_MODEL) = Precision.auto,
    max_pixels: Annotated[int, typer.Option(help="Refuse inputs, targets and predictions with more pixels, from their header (0: no limit).", min=0, rich_help_panel=_DATA)] = 200_000_000,
) -> None:
    """Measure PSNR/SSIM of restored outputs against clean targets (the help text is the app's)."""
    if ctx.invoked_subcommand is not None:
        if dataset or input or target or predictions:
            raise UsageError(f"options of `uir benchmark` do not go with `{ctx.invoked_subcommand}`")
        return
    signals.install()  # `kill` ends a run as cleanly as Ctrl-C
    _check_options(dataset, input, target, task, predictions, report_dir, save_images, html, model, weights)

    tile_px, batch = parse_tile(tile), parse_batch(batch_size)
    input, target, predictions, data_root, report_dir = (
        p.expanduser().resolve() if p is not None else None for p in (input, target, predictions, data_root, report_dir))
    if report_dir is not None:  # now, not after the run
        _check_report_dir(report_dir)
    from ..bench import evaluate as ev
    from ..bench.selection import custom_selection, plan_work, select_datasets

    if dataset:
        root = (data_root or Path(os.environ.get("UIR_DATA") or "~/datasets")).expanduser()
        selection = select_datasets(dataset, root)
    else:
        selection = custom_selection(input, target, task=task.value, predictions=predictions)
    work = plan_work(selection, limit=limit, predictions=predictions, inputs_given=bool(dataset or input))

    restorer = None
    if predictions is None:
        from ..engine.restorer import load_restorer

        restorer = load_restorer(weights_spec(model, weights), device=device, precision=precision.value,
                                 which=which.value, steps=steps)
        batch = batch or auto_batch_size(restorer, tile_px)
    options = ev.EvalOptions(
        protocol=protocol.value, crop_border=crop_border, limit=limit, seed=seed, tile=tile_px,
        tile_overlap=tile_overlap, batch_size=batch or 1, predictions=predictions, max_pixels=max_pixels or None,
        save_dir=report_dir / "images" if save_images and report_dir else None)
    for line in selection.notes:
        err.print(line, markup=False)
    for name, why in selection.absent:
        err.print(f"absent: {name} ({why})", markup=False)

    events = _events(sum(len(w.pairs) for w in work), html, restorer.steps if restorer else 1)
    try:
        run = ev.evaluate(work, restorer=restorer, options=options, events=events, selection=selection,
                          command_line=_command_line(ctx))
    finally:
        events.close()
    report_failed = report_dir is not None and not _write_reports(run, report_dir, events.thumbs if html else None)
    _print_summary(run)
    if run.interrupted:
        err.print("interrupted: the report covers the images done so far", style="yellow")
        signals.said()
        raise typer.Exit(EXIT_INTERRUPTED)
    raise typer.Exit(EXIT_SOME_FAILED if run.failed or report_failed else EXIT_OK)


def _check_report_dir(report_dir: Path) -> None:
    from ..atomic import check_writable, describe

    try:
        check_writable(report_dir / "report.json")
    except OSError as exc:
        raise UsageError(f"cannot write the reports here: {describe(exc)}", path=report_dir) from None


def _write_reports(run, report_dir: Path, thumbnails) -> bool:
    """Write the reports and name them on stderr; False, said there, when they cannot be written."""
    from ..atomic import describe
    from ..bench.report import write_reports

    try:
        files = write_reports(run, report_dir, thumbnails=thumbnails)
    except OSError as exc:
        err.print(f"error: {shown(report_dir)}: cannot write the reports: {describe(exc)}", markup=False)
        return False
    err.print(f"report: {shown(files.json)}, {shown(files.csv.name)}, {shown(files.md.name)}"
              + (f", {files.html.name}" if files.html else ""), markup=False)
    return True


def _check_options(dataset, input, target, task, predictions, report_dir, save_images, html, model, weights) -> None:
    if dataset and (input or target):
        raise UsageError("give --dataset, or --input and --target, not both")
    if input and not target:
        raise UsageError("--input needs --target")
    if not dataset and not target:
        raise UsageError("give --dataset NAME, or --input DIR --target DIR", hint="see `uir benchmark --help`")
    if target and not input and not predictions:
        raise UsageError("--target needs --input (or --predictions, to score outputs alone)")
    if dataset and task != Task.auto:
        raise UsageError("--task applies to --input/--target; named datasets know their task")
    if (save_images or html) and report_dir is None:
        raise UsageError(f"{'--save-images' if save_images else '--html'} needs --report-dir")
    if model and weights:
        raise UsageError("give --model or --weights, not both")
    if predictions and (model or weights or save_images):
        raise UsageError("--predictions scores outputs that exist: no model runs, so --model, --weights and "
                         "--save-images do not apply")


def _command_line(ctx: typer.Context) -> str:
    """The options given on the command line (not defaults), as a runnable `uir benchmark ...`."""
    import shlex

    words = ["uir", "benchmark"]
    for param in ctx.command.params:
        source = ctx.get_parameter_source(param.name)  # typer's own click: compare by name
        if not param.opts or getattr(source, "name", "") not in ("COMMANDLINE", "ENVIRONMENT"):
            continue
        value = ctx.params.get(param.name)
        flag = max(param.opts, key=len)
        if isinstance(value, bool):
            words += [flag] if value else []
        elif value is not None:
            words += [flag, str(value.value if isinstance(value, Enum) else value)]
    return shlex.join(words)


# --- progress ----------------------------------------------------------------------------


def _events(total: int, keep_thumbnails: bool, steps: int):
    """The renderer of the run's events (:mod:`.progress`): a live bar on a terminal, lines otherwise."""
    from .progress import PlainBenchmarkRenderer, RichBenchmarkRenderer

    return RichBenchmarkRenderer(total, keep_thumbnails, steps) if is_interactive() else PlainBenchmarkRenderer(keep_thumbnails)


# --- tables ------------------------------------------------------------------------------


def _print_table(title: str, header: list[str], rows: list[list[str]], caption: str = "") -> None:
    """A Rich table on a terminal, aligned plain text otherwise; on stdout."""
    if sys.stdout.isatty():
        from rich.table import Table

        table = Table(title=title, caption=caption or None)
        for i, h in enumerate(header):
            if h == "note":
                table.add_column(h, justify="left", min_width=16, overflow="fold")
            else:
                table.add_column(h, justify="left" if i == 0 else "right", no_wrap=True)
        for row in rows:
            table.add_row(*row)
        out.print(table)
        return
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = [title] if title else []
    for row in [header, *rows]:
        cells = [str(c).ljust(w) if i == 0 or header[i] == "note" else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    if caption:
        lines.append(caption)
    typer.echo("\n".join(lines))


def _print_summary(run) -> None:
    from ..bench.report import fmt_delta, fmt_psnr, fmt_ssim, summary_rows

    rows = summary_rows(run)
    failed = any(r.failed for r in rows)
    header = ["dataset", "pairs", "input PSNR", "input SSIM", "PSNR", "SSIM", "gain (dB)"] + (["failed"] if failed else [])
    body = [[r.dataset, r.pairs_text, fmt_psnr(r.input_psnr), fmt_ssim(r.input_ssim), fmt_psnr(r.psnr),
             fmt_ssim(r.ssim), fmt_delta(r.gain, 2)] + ([str(r.failed)] if failed else []) for r in rows]
    source = run.model.name if run.model else "predictions"
    caption = f"protocol {run.settings.protocol}, crop border {run.settings.crop_border}; {source}"
    if run.interrupted:
        caption += "; INTERRUPTED: partial"
    _print_table("", header, body, caption)


@app.command("compare", no_args_is_help=True, cls=Command)
@handle_errors
def compare(
    reports: Annotated[list[Path], typer.Argument(help="report.json files of `uir benchmark --report-dir`; differences are to the first.", dir_okay=False, show_default=False)],
) -> None:
    """One table of several benchmark reports, with each report's difference to the first."""
    from ..bench.compare import compare_reports
    from ..bench.report import fmt_delta, fmt_psnr, fmt_ssim

    cmp = compare_reports(list(reports))
    header = ["dataset"]
    for i, c in enumerate(cmp.columns):
        header += [f"{c.label} PSNR", f"{c.label} SSIM"] + (["ΔPSNR", "ΔSSIM"] if i else [])
    header.append("note")
    rows = []
    for row in cmp.rows:
        cells = [row.dataset]
        for i, cell in enumerate(row.cells):
            width = 4 if i else 2
            if cell is None:
                cells += ["-"] * width
                continue
            cells += [fmt_psnr(cell.psnr), fmt_ssim(cell.ssim)]
            if i:
                cells += [fmt_delta(cell.d_psnr, 2), fmt_delta(cell.d_ssim, 4)]
        cells.append("" if row.comparable else f"NOT COMPARABLE: {row.note}")
        rows.append(cells)
    for w in cmp.warnings:
        err.print(f"warning: {w}", style="yellow", markup=False)
    protocols = sorted({c.protocol for c in cmp.columns})
    _print_table("", header, rows, f"protocol {', '.join(protocols)}; differences to {cmp.columns[0].label}")
