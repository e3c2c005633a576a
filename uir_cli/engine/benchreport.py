"""Benchmark reports: report.json (complete), report.csv (per image), report.md, report.html; comparing reports.

All writers take the :class:`~uir_cli.engine.evaluate.BenchmarkRun` that
:func:`~uir_cli.engine.evaluate.evaluate` returned and write atomically.
The HTML page is self-contained: its images are base64 thumbnails inside it.
:func:`compare_reports` reads several report.json files into one
:class:`Comparison` (rows per dataset, differences to the first report, and
warnings when the numbers were not made the same way).
"""

from __future__ import annotations

import base64
import csv
import html
import io
import json
import math
import os
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..atomic import write_atomic, write_json
from ..errors import UsageError
from .evaluate import BenchmarkRun, DatasetResult, Images, ImageResult

FORMAT = "uir-benchmark-report/1"
CSV_COLUMNS = ("dataset", "name", "status", "reason", "psnr", "ssim", "input_psnr", "input_ssim", "seconds",
               "width", "height", "megapixels", "input", "target", "output", "notes")


@dataclass(frozen=True)
class ReportFiles:
    """The files written; ``html`` is None unless asked for."""

    json: Path
    csv: Path
    md: Path
    html: Path | None = None


@dataclass(frozen=True)
class Thumbnails:
    """``data:`` URIs (JPEG) of one pair's input, output and target; None where unavailable."""

    input: str | None
    output: str | None
    target: str | None


@dataclass(frozen=True)
class SummaryRow:
    """One line of the summary table (means; None where nothing was scored)."""

    dataset: str
    task: str
    pairs: int
    scored: int
    failed: int
    input_psnr: float | None
    input_ssim: float | None
    psnr: float | None
    ssim: float | None
    gain: float | None
    seconds_per_image: float | None
    megapixels_per_second: float | None

    @property
    def pairs_text(self) -> str:
        """The pairs column: "2 of 3" when a run stopped before reaching every pair."""
        reached = self.scored + self.failed
        return str(self.pairs) if reached >= self.pairs else f"{reached} of {self.pairs}"


# --- numbers as text ---------------------------------------------------------------------


def fmt_psnr(value: float | None) -> str:
    """PSNR in dB with 2 decimals, ``inf`` for identical images, ``-`` when absent."""
    if value is None:
        return "-"
    return "inf" if math.isinf(value) else f"{value:.2f}"


def fmt_ssim(value: float | None) -> str:
    """SSIM with 4 decimals, ``-`` when absent."""
    return "-" if value is None else f"{value:.4f}"


def fmt_delta(value: float | None, digits: int) -> str:
    """A signed difference (``+0.12``), ``-`` when absent."""
    if value is None or math.isnan(value):
        return "-"
    return "inf" if math.isinf(value) else f"{value:+.{digits}f}"


def summary_rows(run: BenchmarkRun) -> list[SummaryRow]:
    """The summary table: one row per dataset, in run order."""
    rows = []
    for d in run.datasets:
        s = d.summary
        rows.append(SummaryRow(d.name, d.task, d.pairs_used, s.scored, s.failed, s.input_psnr, s.input_ssim, s.psnr,
                               s.ssim, s.gain_psnr, s.seconds_per_image, s.megapixels_per_second))
    return rows


def settings_lines(run: BenchmarkRun) -> list[tuple[str, str]]:
    """(label, value) pairs saying how the numbers were made, for the Markdown and HTML reports."""
    s, m, e = run.settings, run.model, run.environment
    lines = [("protocol", f"{s.protocol}: {s.protocol_description}"), ("crop border", str(s.crop_border)),
             ("pairs", f"first {s.limit} of each dataset (--limit)" if s.limit else "all")]
    if m is None:
        lines.append(("outputs", s.source))
    else:
        lines += [("model", f"{m.name} ({m.variant}, {m.which} weights), sha256 {m.sha256}"), ("weights file", m.path),
                  ("steps", str(s.steps)), ("seed", str(s.seed)),
                  ("tile", f"{s.tile} (overlap {s.tile_overlap})" if s.tile not in ("0", "auto")
                   else ("whole images" if s.tile == "0" else "auto (whole images when they fit in memory)")),
                  ("batch size", f"{s.batch_size} tile(s) per network call"),
                  ("device", f"{s.device} ({s.device_name}), precision {s.precision}")]
    if s.save_dir:
        lines.append(("outputs saved in", s.save_dir))
    lines += [("software", f"uir {e.uir_version}, torch {e.torch_version or '-'}, Python {e.python_version}"),
              ("platform", e.platform), ("date", f"{run.started} to {run.finished}"),
              ("time", f"{run.seconds:.1f} s")]
    if run.peak_memory:
        lines.append(("peak memory", f"{run.peak_memory.bytes / 2**20:.0f} MiB ({run.peak_memory.what})"))
    lines.append(("command", run.command_line or "-"))
    return lines


# --- writing -----------------------------------------------------------------------------


def write_reports(run: BenchmarkRun, folder: Path, *, thumbnails: dict[tuple[str, str], Thumbnails] | None = None) -> ReportFiles:
    """Write report.json, report.csv and report.md (and report.html when ``thumbnails`` is given) in ``folder``."""
    folder = Path(folder)
    json_path = write_json(folder / "report.json", to_json(run))
    csv_path = write_atomic(folder / "report.csv", to_csv(run))
    md_path = write_atomic(folder / "report.md", to_markdown(run))
    html_path = write_atomic(folder / "report.html", to_html(run, thumbnails)) if thumbnails is not None else None
    return ReportFiles(json_path, csv_path, md_path, html_path)


def to_json(run: BenchmarkRun) -> dict:
    """The complete report as JSON-ready data (``inf`` PSNR is written as the string "inf")."""
    totals = {
        "images": sum(len(d.images) for d in run.datasets),
        "scored": sum(d.summary.scored for d in run.datasets),
        "failed": run.failed,
        "model_seconds": sum(d.summary.seconds for d in run.datasets),
        "megapixels": sum(d.summary.megapixels for d in run.datasets),
    }
    totals["megapixels_per_second"] = totals["megapixels"] / totals["model_seconds"] if totals["model_seconds"] else None
    return {"format": FORMAT, **{f.name: getattr(run, f.name) for f in fields(run)}, "totals": totals}


def to_csv(run: BenchmarkRun) -> str:
    """One row per image (columns :data:`CSV_COLUMNS`; numbers at full precision, empty when absent)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for d in run.datasets:
        for r in d.images:
            row = {c: getattr(r, c, None) for c in CSV_COLUMNS}
            row["notes"] = "; ".join(r.notes)
            writer.writerow(["" if row[c] is None else (repr(row[c]) if isinstance(row[c], float) else row[c])
                             for c in CSV_COLUMNS])
    return buffer.getvalue()


def to_markdown(run: BenchmarkRun) -> str:
    """A readable report: the summary table, the settings, each dataset's folders and notes, failures."""
    out = ["# uir benchmark", ""]
    if run.interrupted:
        out += ["**Interrupted**: these numbers cover only the images scored before Ctrl-C.", ""]
    out += ["| dataset | pairs | input PSNR | input SSIM | PSNR | SSIM | gain (dB) | failed | s / image | MP/s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in summary_rows(run):
        out.append(f"| {r.dataset} | {r.pairs_text} | {fmt_psnr(r.input_psnr)} | {fmt_ssim(r.input_ssim)} | "
                   f"{fmt_psnr(r.psnr)} | {fmt_ssim(r.ssim)} | {fmt_delta(r.gain, 2)} | {r.failed} | "
                   f"{_num(r.seconds_per_image, 3)} | {_num(r.megapixels_per_second, 3)} |")
    out += ["", "## Settings", ""]
    out += [f"- **{label}**: {_md(value)}" for label, value in settings_lines(run)]
    for name, why in run.absent:
        out.append(f"- **absent**: {name} ({_md(why)})")
    out += [f"- **note**: {_md(n)}" for n in run.notes]
    for d in run.datasets:
        out += ["", f"## {d.name}", ""] + [f"- **{k}**: {_md(v)}" for k, v in _dataset_lines(d)]
        failed = [r for r in d.images if r.status != "done"]
        if failed:
            out += ["", "| failed image | reason |", "|---|---|"]
            out += [f"| {_md(r.name)} | {_md(r.reason)} |" for r in failed]
    return "\n".join(out) + "\n"


def _dataset_lines(d: DatasetResult) -> list[tuple[str, str]]:
    lines = [("task", d.task), ("inputs", d.input_dir or "none (predictions paired with targets)"),
             ("targets", d.target_dir), ("pairing", f"{d.pairing}: {d.pairing_description}"),
             ("pairs", f"{d.pairs_used} used of {d.pairs_found} found"), ("preprocessing", d.preprocessing)]
    return lines + [("note", n) for n in d.notes]


def _num(value: float | None, digits: int) -> str:
    """``digits`` significant digits (plain notation for everyday magnitudes), ``-`` when absent."""
    return "-" if value is None else f"{value:.{digits}g}"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")




# --- HTML --------------------------------------------------------------------------------


def thumbnail(rgb_u8: np.ndarray | None, max_side: int = 256, quality: int = 85) -> str | None:
    """A ``data:image/jpeg;base64,...`` URI of ``rgb_u8`` ((H, W, 3) uint8) shrunk to ``max_side``; None for None."""
    if rgb_u8 is None:
        return None
    from PIL import Image

    im = Image.fromarray(np.ascontiguousarray(rgb_u8), "RGB")
    im.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    im.save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def thumbnails_of(images: Images, max_side: int = 256) -> Thumbnails:
    """:class:`Thumbnails` of one pair's 8-bit images."""
    return Thumbnails(thumbnail(images.input, max_side), thumbnail(images.output, max_side),
                      thumbnail(images.target, max_side))


_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}th{background:#f3f3f3}td.l,th.l{text-align:left}
.pairs td{vertical-align:top;text-align:center}.pairs img{max-width:256px;display:block;margin:auto}
.failed{color:#b00}.warn{background:#fff3cd;padding:.5em 1em}dl{display:grid;grid-template-columns:max-content auto;gap:2px 1em}
dt{font-weight:bold}dd{margin:0}"""


def to_html(run: BenchmarkRun, thumbnails: dict[tuple[str, str], Thumbnails] | None) -> str:
    """One self-contained page: summary, settings, then each image's input, output and target with scores."""
    thumbnails = thumbnails or {}
    e = html.escape
    parts = ["<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>uir benchmark</title>",
             f"<style>{_CSS}</style></head><body><h1>uir benchmark</h1>"]
    if run.interrupted:
        parts.append("<p class='warn'>Interrupted: these numbers cover only the images scored before Ctrl-C.</p>")
    parts.append("<table><tr><th class='l'>dataset</th><th>pairs</th><th>input PSNR</th><th>input SSIM</th>"
                 "<th>PSNR</th><th>SSIM</th><th>gain (dB)</th><th>failed</th><th>s / image</th></tr>")
    for r in summary_rows(run):
        parts.append(f"<tr><td class='l'>{e(r.dataset)}</td><td>{r.pairs_text}</td><td>{fmt_psnr(r.input_psnr)}</td>"
                     f"<td>{fmt_ssim(r.input_ssim)}</td><td>{fmt_psnr(r.psnr)}</td><td>{fmt_ssim(r.ssim)}</td>"
                     f"<td>{fmt_delta(r.gain, 2)}</td><td>{r.failed}</td><td>{_num(r.seconds_per_image, 3)}</td></tr>")
    parts.append("</table><h2>Settings</h2><dl>")
    items = settings_lines(run) + [("absent", f"{n} ({why})") for n, why in run.absent] + [("note", n) for n in run.notes]
    parts += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in items]
    parts.append("</dl>")
    for d in run.datasets:
        parts.append(f"<h2>{e(d.name)}</h2><dl>")
        parts += [f"<dt>{e(k)}</dt><dd>{e(v)}</dd>" for k, v in _dataset_lines(d)]
        parts.append("</dl><table class='pairs'><tr><th>input</th><th>output</th><th>target</th></tr>")
        parts += [_html_pair(r, thumbnails.get((d.name, r.name))) for r in d.images]
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _html_pair(r: ImageResult, thumbs: Thumbnails | None) -> str:
    e = html.escape
    thumbs = thumbs or Thumbnails(None, None, None)

    def cell(uri: str | None, caption: str) -> str:
        img = f"<img alt='' src='{uri}'>" if uri and uri.startswith("data:") else "<em>no image</em>"
        return f"<td>{img}<div>{caption}</div></td>"

    status = f"PSNR {fmt_psnr(r.psnr)} dB, SSIM {fmt_ssim(r.ssim)}" if r.status == "done" else \
        f"<span class='failed'>failed: {e(r.reason)}</span>"
    name = f"<tr><td class='l' colspan='3'><b>{e(r.name)}</b>" + (f" ({e('; '.join(r.notes))})" if r.notes else "") + "</td></tr>"
    return name + "<tr>" + cell(thumbs.input, f"PSNR {fmt_psnr(r.input_psnr)} dB, SSIM {fmt_ssim(r.input_ssim)}") + \
        cell(thumbs.output, status) + cell(thumbs.target, "target") + "</tr>"


# --- comparing reports -------------------------------------------------------------------


@dataclass(frozen=True)
class ReportColumn:
    """One report being compared."""

    label: str
    path: str
    protocol: str
    crop_border: int
    model: str
    interrupted: bool


@dataclass(frozen=True)
class CompareCell:
    """One report's means on one dataset; ``d_*`` are differences to the first report (None for the first)."""

    pairs: int
    psnr: float | None
    ssim: float | None
    d_psnr: float | None = None
    d_ssim: float | None = None


@dataclass(frozen=True)
class CompareRow:
    """A dataset's cells, one per report (None where a report lacks the dataset); ``note`` when not comparable."""

    dataset: str
    cells: tuple[CompareCell | None, ...]
    comparable: bool
    note: str = ""


@dataclass(frozen=True)
class Comparison:
    """Several reports side by side: their columns, a row per dataset, and why numbers are not comparable."""

    columns: tuple[ReportColumn, ...]
    rows: tuple[CompareRow, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class _Loaded:
    column: ReportColumn
    datasets: dict[str, tuple[CompareCell, frozenset[str]]]


def _number(value) -> float | None:
    if value is None:
        return None
    return float(value)  # "inf" (how JSON holds infinity) parses too


def load_report(path: Path) -> _Loaded:
    """Read a report.json written by :func:`write_reports`; UsageError naming the file when it is not one."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the report ({exc})", path=path) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise UsageError("not a uir benchmark report.json", path=path)
    try:
        settings, model = data["settings"], data.get("model") or {}
        label = path.parent.name if path.name == "report.json" and path.parent.name else path.stem
        column = ReportColumn(label, str(path), settings["protocol"], int(settings["crop_border"]),
                              model.get("name") or settings.get("source", "?"), bool(data.get("interrupted")))
        sets = {}
        for d in data["datasets"]:
            s = d["summary"]
            names = frozenset(i["name"] for i in d["images"] if i.get("status") == "done")  # what the means cover
            sets[d["name"]] = (CompareCell(len(names), _number(s["psnr"]), _number(s["ssim"])), names)
    except (KeyError, TypeError, ValueError) as exc:
        raise UsageError(f"the report lacks a field ({exc})", path=path) from None
    return _Loaded(column, sets)


def compare_reports(paths: list[Path]) -> Comparison:
    """Compare report.json files: one row per dataset, cells per report, differences to the first.

    Rows are not comparable when the protocols or crop borders differ, or when the pairs
    scored differ (another count, or other file names); warnings say why.
    """
    if len(paths) < 2:
        raise UsageError("give at least two report.json files to compare")
    loaded = [load_report(p) for p in paths]
    first = loaded[0].column
    warnings = []
    global_note = ""
    for other in loaded[1:]:
        c = other.column
        if c.protocol != first.protocol:
            warnings.append(f"{c.label} uses protocol {c.protocol!r}, {first.label} {first.protocol!r}: not comparable")
            global_note = "protocols differ"
        if c.crop_border != first.crop_border:
            warnings.append(f"{c.label} crops {c.crop_border} px, {first.label} {first.crop_border} px: not comparable")
            global_note = global_note or "crop borders differ"
    warnings += [f"{item.column.label} was interrupted: its numbers cover part of the pairs" for item in loaded
                 if item.column.interrupted]
    names: list[str] = []
    for item in loaded:
        names += [n for n in item.datasets if n not in names]
    rows = []
    for name in names:
        base = loaded[0].datasets.get(name)
        cells, notes = [], [global_note] if global_note else []
        for i, item in enumerate(loaded):
            entry = item.datasets.get(name)
            if entry is None:
                cells.append(None)
                continue
            cell, pair_names = entry
            if i and base is not None:
                cell = CompareCell(cell.pairs, cell.psnr, cell.ssim, _diff(cell.psnr, base[0].psnr),
                                   _diff(cell.ssim, base[0].ssim))
                if pair_names != base[1]:
                    notes.append(f"pairs differ ({item.column.label}: {cell.pairs}, {first.label}: {base[0].pairs})")
            cells.append(cell)
        if notes and not global_note:
            warnings.append(f"{name}: {'; '.join(notes)}: not comparable")
        rows.append(CompareRow(name, tuple(cells), not notes, "; ".join(dict.fromkeys(notes))))
    return Comparison(tuple(item.column for item in loaded), tuple(rows), tuple(warnings))


def _diff(value: float | None, base: float | None) -> float | None:
    if value is None or base is None or (math.isinf(value) and math.isinf(base)):
        return None
    return value - base
