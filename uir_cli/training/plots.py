"""``loss.png`` and ``val.png``, drawn with matplotlib (the ``plots`` extra: ``pip install 'uir-cli[plots]'``).

:func:`available` says whether matplotlib is installed; the trainer goes on without charts when it is not.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

from .logs import TrainRow, ValRow

SIZE_PX = (960, 560)
DPI = 100
TASK_COLORS = {"haze": "tab:blue", "low-light": "tab:red", "rain": "tab:green", "snow": "tab:purple", "blur": "tab:orange"}
EXTRA_HINT = "pip install 'uir-cli[plots]'"


def available() -> bool:
    """Whether matplotlib is installed (checked without importing it)."""
    return importlib.util.find_spec("matplotlib") is not None


def smooth(values: list[float], span: int) -> list[float]:
    """Exponential moving average with the given span (1 = unchanged)."""
    if span <= 1 or not values:
        return list(values)
    alpha = 2.0 / (span + 1.0)
    out, acc = [], values[0]
    for v in values:
        acc = alpha * v + (1 - alpha) * acc
        out.append(acc)
    return out


def _figure(title: str, xlabel: str, ylabel: str):
    from matplotlib.figure import Figure  # no pyplot: no GUI backend, no global state

    fig = Figure(figsize=(SIZE_PX[0] / DPI, SIZE_PX[1] / DPI), dpi=DPI, layout="constrained")
    ax = fig.add_subplot()
    ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    ax.grid(True, color="0.88")
    return fig, ax


def _save(fig, dest: Path) -> Path:
    dest = Path(dest)
    fig.savefig(dest, dpi=DPI, format="png")
    return dest


def plot_loss(rows: list[TrainRow], dest: Path) -> Path:
    """Write ``dest`` (PNG): the training loss per step, raw (light) and smoothed."""
    steps = [r.step for r in rows]
    losses = [r.loss for r in rows]
    smoothed = smooth(losses, max(1, len(losses) // 50))
    finite = sorted(v for v in losses if math.isfinite(v))
    top = max(finite[int(0.98 * (len(finite) - 1))] if finite else 1.0, max(smoothed, default=1.0))
    fig, ax = _figure("Training loss", "step", "L1 loss (residual)")
    ax.plot(steps, losses, color="#aac8e6", linewidth=1, label="loss")
    ax.plot(steps, smoothed, color="tab:blue", linewidth=2.5, label="smoothed")
    ax.set_ylim(0.0, top * 1.05 if top > 0 else 1.0)
    ax.legend(loc="upper right")
    return _save(fig, dest)


def plot_val(rows: list[ValRow], dest: Path) -> Path:
    """Write ``dest`` (PNG): validation PSNR per task, output solid, degraded input dashed."""
    fig, ax = _figure("Validation PSNR (EMA weights)", "step", "PSNR (dB, Y channel)")
    for task in dict.fromkeys(r.score.task for r in rows):
        mine = [r for r in rows if r.score.task == task]
        xs = [r.step for r in mine]
        color = TASK_COLORS.get(task.removesuffix("-synthetic"), "0.35")
        ax.plot(xs, [r.score.psnr_out for r in mine], color=color, linewidth=2.5, marker="o", label=task)
        if task != "clean":  # a clean photo's "input" is the target itself (infinite PSNR)
            ax.plot(xs, [r.score.psnr_in for r in mine], color=color, linewidth=1, linestyle="--")
    ax.text(0.01, 0.99, "solid: restored    dashed: degraded input", transform=ax.transAxes, va="top", color="0.35")
    ax.legend(loc="lower right")
    return _save(fig, dest)
