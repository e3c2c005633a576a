"""Benchmark reports: report.json (complete), report.csv (per image), report.md, report.html.

All writers take the :class:`~uir_cli.bench.evaluate.BenchmarkRun` that
:func:`~uir_cli.bench.evaluate.evaluate` returned and write atomically.
The HTML page is self-contained: its images are base64 thumbnails inside it.
:mod:`.compare` reads the report.json files back.
"""

from __future__ import annotations

import base64
import csv
import html
import io
import math
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from ..atomic import write_atomic, write_json
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
        lines += [("model", f"{m.name} ({m.variant}, {m.which} weights), sha256 {m.sha256}"), ("weights file", str(Path(m.path).resolve())),
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
