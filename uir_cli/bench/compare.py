"""Comparing benchmark reports: :func:`compare_reports` reads several report.json files into one
:class:`Comparison` (rows per dataset, differences to the first report, and warnings when the numbers
were not made the same way)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from .report import FORMAT


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
