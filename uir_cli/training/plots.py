"""``loss.png`` and ``val.png``: plain line charts drawn with Pillow (no matplotlib).

Each chart has a title, labelled axes with round tick values, light grid lines
and a legend.  Points outside the y range are clipped to the plot area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from .logs import TrainRow, ValRow

WIDTH, HEIGHT = 960, 560
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 90, 30, 50, 70
TASK_COLORS = {
    "haze": (31, 119, 180), "low-light": (214, 39, 40), "rain": (44, 160, 44), "snow": (148, 103, 189),
    "blur": (255, 127, 14),
}  # fmt: skip
GRID = (225, 225, 225)
AXIS = (60, 60, 60)


@dataclass(frozen=True)
class Series:
    """One line: ``xs``/``ys`` of equal length; ``dashed`` lines and ``markers`` are optional."""

    label: str
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    color: tuple[int, int, int]
    width: int = 2
    dashed: bool = False
    markers: bool = False


def nice_ticks(lo: float, hi: float, count: int = 6, *, integer: bool = False) -> list[float]:
    """Round tick values (1, 2, 5 times a power of ten; whole numbers if ``integer``) covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count - 1, 1)
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    if integer:
        step = max(1.0, round(step))
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = first
    while v <= hi + step * 1e-9:
        ticks.append(round(v, 12))
        v += step
    return ticks


def _fmt(v: float) -> str:
    if v == 0:
        return "0"
    if abs(v) >= 10000 or abs(v) < 1e-3:
        return f"{v:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{v:g}"


def _font(size: int):
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one bitmap size only
        return ImageFont.load_default()


def _dashed(draw, points, color, width, dash=8, gap=6) -> None:
    for (x0, y0), (x1, y1) in zip(points[:-1], points[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        if length == 0:
            continue
        t = 0.0
        while t < length:
            t1 = min(t + dash, length)
            draw.line([(x0 + (x1 - x0) * t / length, y0 + (y1 - y0) * t / length),
                       (x0 + (x1 - x0) * t1 / length, y0 + (y1 - y0) * t1 / length)], fill=color, width=width)
            t = t1 + gap


def line_chart(series: list[Series], *, title: str, xlabel: str, ylabel: str, ylim: tuple[float, float] | None = None,
               note: str = ""):
    """A PIL RGB image of ``series`` on shared axes."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(img)
    small, normal = _font(13), _font(16)
    left, top, right, bottom = MARGIN_LEFT, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM
    xs = [x for s in series for x in s.xs]
    ys = [y for s in series for y in s.ys if math.isfinite(y)]
    x_lo, x_hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    if x_hi <= x_lo:
        x_lo, x_hi = x_lo - 1, x_hi + 1
    y_lo, y_hi = ylim if ylim else ((min(ys), max(ys)) if ys else (0.0, 1.0))
    if y_hi <= y_lo:
        y_lo, y_hi = y_lo - 1, y_hi + 1
    pad = (y_hi - y_lo) * 0.05
    y_lo, y_hi = y_lo - pad, y_hi + pad

    def px(x: float) -> float:
        return left + (x - x_lo) / (x_hi - x_lo) * (right - left)

    def py(y: float) -> float:
        return bottom - (min(max(y, y_lo), y_hi) - y_lo) / (y_hi - y_lo) * (bottom - top)

    for t in nice_ticks(y_lo, y_hi, 7):
        if y_lo <= t <= y_hi:
            draw.line([(left, py(t)), (right, py(t))], fill=GRID)
            draw.text((left - 8, py(t)), _fmt(t), fill=AXIS, font=small, anchor="rm")
    for t in nice_ticks(x_lo, x_hi, 8, integer=True):
        if x_lo <= t <= x_hi:
            draw.line([(px(t), top), (px(t), bottom)], fill=GRID)
            draw.text((px(t), bottom + 8), _fmt(t), fill=AXIS, font=small, anchor="mt")
    draw.rectangle([left, top, right, bottom], outline=AXIS)
    draw.text(((left + right) / 2, 18), title, fill=(0, 0, 0), font=normal, anchor="mm")
    draw.text(((left + right) / 2, HEIGHT - 22), xlabel, fill=(0, 0, 0), font=normal, anchor="mm")
    label = Image.new("RGB", (bottom - top, 24), "white")
    ImageDraw.Draw(label).text(((bottom - top) / 2, 12), ylabel, fill=(0, 0, 0), font=normal, anchor="mm")
    img.paste(label.rotate(90, expand=True), (12, top))

    for s in series:
        points = [(px(x), py(y)) for x, y in zip(s.xs, s.ys) if math.isfinite(y)]
        if len(points) > 1:
            (_dashed(draw, points, s.color, s.width) if s.dashed else draw.line(points, fill=s.color, width=s.width, joint="curve"))
        if s.markers or len(points) == 1:
            for x, y in points:
                draw.ellipse([x - 3, y - 3, x + 3, y + 3], fill=s.color)

    labelled = [s for s in series if s.label]
    if labelled:
        draw.rectangle([right - 180, top + 4, right - 6, top + 24 + 20 * (len(labelled) - 1)], fill="white", outline=GRID)
    for i, s in enumerate(labelled):
        y = top + 14 + 20 * i
        x = right - 170
        if s.dashed:
            _dashed(draw, [(x, y), (x + 30, y)], s.color, s.width, dash=6, gap=4)
        else:
            draw.line([(x, y), (x + 30, y)], fill=s.color, width=max(s.width, 2))
        draw.text((x + 38, y), s.label, fill=(0, 0, 0), font=small, anchor="lm")
    if note:
        draw.text((left + 8, top + 8), note, fill=(90, 90, 90), font=small)
    return img


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


def plot_loss(rows: list[TrainRow], dest: Path) -> Path:
    """Write ``dest`` (PNG): the training loss per step, raw (light) and smoothed."""
    steps = tuple(float(r.step) for r in rows)
    losses = [r.loss for r in rows]
    smoothed = smooth(losses, max(1, len(losses) // 50))
    finite = sorted(v for v in losses if math.isfinite(v))
    top = max(finite[int(0.98 * (len(finite) - 1))] if finite else 1.0, max(smoothed, default=1.0))
    series = [
        Series("loss", steps, tuple(losses), (170, 200, 230), width=1),
        Series("smoothed", steps, tuple(smoothed), (31, 119, 180), width=3),
    ]
    img = line_chart(series, title="Training loss", xlabel="step", ylabel="L1 loss (residual)", ylim=(0.0, top))
    dest = Path(dest)
    img.save(dest)
    return dest


def plot_val(rows: list[ValRow], dest: Path) -> Path:
    """Write ``dest`` (PNG): validation PSNR per task, output solid, degraded input dashed."""
    series = []
    tasks = list(dict.fromkeys(r.score.task for r in rows))
    for task in tasks:
        mine = [r for r in rows if r.score.task == task]
        xs = tuple(float(r.step) for r in mine)
        color = TASK_COLORS.get(task.removesuffix("-synthetic"), (90, 90, 90))
        series.append(Series(task, xs, tuple(r.score.psnr_out for r in mine), color, width=3, markers=True))
        if task != "clean":  # a clean photo's "input" is the target itself (infinite PSNR)
            series.append(Series("", xs, tuple(r.score.psnr_in for r in mine), color, width=1, dashed=True))
    img = line_chart(series, title="Validation PSNR (EMA weights)", xlabel="step", ylabel="PSNR (dB, Y channel)",
                     note="solid: restored    dashed: degraded input")
    dest = Path(dest)
    img.save(dest)
    return dest
