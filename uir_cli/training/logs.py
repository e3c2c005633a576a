"""The run's CSV logs: ``train.csv`` (step, loss, lr, seconds) and ``val.csv``.

Rows are appended and flushed as they come, so ``tail -f`` and a plot made
mid-run see them.  On resume, rows after the resumed step are dropped first:
the logs then read as if the run had never stopped.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from ..atomic import write_atomic
from .validation import ValScore

T = TypeVar("T")
TRAIN_COLUMNS = ("step", "loss", "lr", "seconds")
VAL_COLUMNS = ("step", "task", "psnr_in", "psnr_out", "ssim_in", "ssim_out", "shift")


@dataclass(frozen=True)
class TrainRow:
    step: int
    loss: float
    lr: float
    seconds: float


@dataclass(frozen=True)
class ValRow:
    step: int
    score: ValScore


def _truncate(path: Path, columns: tuple[str, ...], keep_until: int) -> None:
    """Rewrite ``path`` keeping the header and rows with step <= keep_until (a fresh header if absent)."""
    rows: list[list[str]] = []
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.reader(f)
            next(reader, None)
            for row in reader:
                try:
                    if row and int(row[0]) <= keep_until:
                        rows.append(row)
                except ValueError:
                    continue
    text = io.StringIO(newline="")
    writer = csv.writer(text)
    writer.writerow(columns)
    writer.writerows(rows)
    write_atomic(path, text.getvalue())


class RunLogs:
    """Appends rows to ``RUN_DIR/train.csv`` and ``RUN_DIR/val.csv``."""

    def __init__(self, run_dir: Path, *, start_step: int = 0):
        self.train_path = Path(run_dir) / "train.csv"
        self.val_path = Path(run_dir) / "val.csv"
        _truncate(self.train_path, TRAIN_COLUMNS, start_step)
        _truncate(self.val_path, VAL_COLUMNS, start_step)
        self._train = open(self.train_path, "a", newline="", encoding="utf-8")
        self._val = open(self.val_path, "a", newline="", encoding="utf-8")

    def train(self, row: TrainRow) -> None:
        csv.writer(self._train).writerow([row.step, f"{row.loss:.6g}", f"{row.lr:.6g}", f"{row.seconds:.2f}"])
        self._train.flush()

    def val(self, step: int, scores: list[ValScore]) -> None:
        w = csv.writer(self._val)
        for s in scores:
            w.writerow([step, s.task, f"{s.psnr_in:.4f}", f"{s.psnr_out:.4f}", f"{s.ssim_in:.5f}", f"{s.ssim_out:.5f}",
                        f"{s.shift:.3f}"])
        self._val.flush()

    def close(self) -> None:
        self._train.close()
        self._val.close()


def _read_csv(path: Path, make: Callable[[dict[str, str]], T]) -> list[T]:
    """``make(record)`` for each row of a CSV file; rows it cannot read (malformed lines) are skipped."""
    rows: list[T] = []
    if not Path(path).is_file():
        return rows
    with open(path, newline="", encoding="utf-8") as f:
        for rec in csv.DictReader(f):
            try:
                rows.append(make(rec))
            except (KeyError, TypeError, ValueError):
                continue
    return rows


def read_train_csv(path: Path) -> list[TrainRow]:
    """Rows of a ``train.csv``; malformed lines are skipped."""
    return _read_csv(path, lambda r: TrainRow(int(r["step"]), float(r["loss"]), float(r["lr"]), float(r["seconds"])))


def read_val_csv(path: Path) -> list[ValRow]:
    """Rows of a ``val.csv``; malformed lines are skipped."""
    return _read_csv(path, lambda r: ValRow(int(r["step"]), ValScore(
        r["task"], float(r["psnr_in"]), float(r["psnr_out"]), float(r["ssim_in"]), float(r["ssim_out"]),
        float(r.get("shift") or "nan"))))
