#!/usr/bin/env python3
"""Quality of uir's default weights on held-out material, beside the classical baselines.

    python3 scripts/default-weights/prepare-data.py        # once: the split (links into ../shared)
    python3 scripts/default-weights/evaluate.py --weights uir-t-synth --weights scripts/default-weights/run/ema.safetensors

Every image here is held out from training (scripts/default-weights/prepare-data.py):

- clean: whole held-out photos (short side at least 512, resized to 512),
  given unchanged: PSNR of the restored photo to itself, and its brightness
  change (mean absolute difference of the image mean, 8-bit levels);
- own-TASK: the same photos degraded by uir's training generator
  (uir_cli.degrade, full strength), a fixed seed per image;
- light-TASK: the own generator's degradation at a quarter of its strength
  (uir_cli.degrade.lighten, 0.25): light rain, thin haze, a few flakes, a
  small shake, where a restorer has little to gain and much to lose;
  ``--light 0.25,0.5`` adds light0.5-TASK at half strength, and so on;
- independent-TASK: degraded by the validation-only family
  (uir_cli.degrade.independent), which no training ever used;
- real-TASK: the held-out real pairs (LOL low light, GoPro blur, RESIDE ITS haze).

Methods: the degraded input itself, per-channel histogram equalisation,
CLAHE, the dark-channel dehazer (uir_cli.engine.baselines), and each
--weights (`uir restore` defaults: --task auto, seed 0, 3 steps, whole
images, fp32).  Metrics: PSNR and SSIM on Y (the `diffuir` protocol of
`uir benchmark`).  Outputs of each method are cached under --out by the
weights' sha256, so adding a model later computes only that model.
Writes OUT/report.md and OUT/results.json and prints the report.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

from uir_cli.atomic import write_atomic
from uir_cli.bench.metrics import score
from uir_cli.degrade import degrade, lighten
from uir_cli.degrade.independent import degrade_independent
from uir_cli.engine.baselines import BASELINES, run_baseline
from uir_cli.imageio import read_image

TASKS = ("rain", "haze", "snow", "blur", "low-light")
TASK_SEED = {t: i for i, t in enumerate(TASKS)}
EXT = (".jpg", ".jpeg", ".png")


def load_rgb(path: Path) -> np.ndarray:
    return np.ascontiguousarray(read_image(path).rgb, dtype=np.float32)


def to_u8(rgb: np.ndarray) -> np.ndarray:
    return np.floor(np.clip(rgb, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def resize_short(rgb: np.ndarray, side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = side / min(h, w)
    if scale >= 1.0:
        return rgb
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def evenly(items: list, count: int) -> list:
    if len(items) <= count:
        return list(items)
    return [items[int(i)] for i in np.linspace(0, len(items) - 1, count).round().astype(int)]


def light_set(strength: float) -> str:
    """The name prefix of the lightened sets at ``strength``: ``light`` at 0.25, else e.g. ``light0.5``."""
    return "light" if strength == 0.25 else f"light{strength:g}"


def build_sets(data: Path, side: int, clean_count: int, count: int, real_counts: dict[str, int],
               light: tuple[float, ...] = (0.25,)) -> dict[str, list]:
    """set name -> [(image name, lq float32, gt float32)]."""
    photos = sorted(p for p in (data / "val" / "photos").rglob("*") if p.suffix.lower() in EXT)
    eligible = []
    for p in photos:
        img = load_rgb(p)
        if min(img.shape[:2]) >= side:
            eligible.append((f"{p.parent.name}/{p.stem}", resize_short(img, side)))
    sets: dict[str, list] = {"clean": [(n, g, g) for n, g in evenly(eligible, clean_count)]}
    for family, render, family_id in (("own", degrade, 1), ("independent", degrade_independent, 2)):
        for task in TASKS:
            rows = []
            for j in range(count):
                name, gt = eligible[(j * 7 + 3 * TASK_SEED[task] + family_id) % len(eligible)]
                if any(row[0] == name for row in rows):  # a photo drawn again (another seed): its own cache entry
                    name = f"{name}~{j}"
                rng = np.random.default_rng([2026, family_id, TASK_SEED[task], j])
                rows.append((name, np.clip(render(gt, task, rng), 0, 1).astype(np.float32), gt))
            sets[f"{family}-{task}"] = rows
    for strength in light:
        prefix = light_set(strength)
        for task in ("rain", "haze", "snow", "blur"):
            sets[f"{prefix}-{task}"] = [(name, lighten(gt, lq, strength), gt) for name, lq, gt in sets[f"own-{task}"]]
    for task, n in real_counts.items():
        folder = data / "val" / "pairs" / task
        names = sorted(p.name for p in (folder / "input").iterdir() if p.suffix.lower() in EXT)
        sets[f"real-{task}"] = [(Path(nm).stem, load_rgb(folder / "input" / nm), load_rgb(folder / "target" / nm))
                                for nm in evenly(names, n)]
    return sets


def methods(weights: list[str]) -> list[tuple[str, str, object]]:
    """(label, cache key, callable rgb -> rgb)."""
    out = [(b, b, (lambda name: lambda rgb: run_baseline(name, rgb))(b)) for b in BASELINES]
    for w in weights:
        from uir_cli.engine.restorer import load_restorer
        from uir_cli.engine.weights import sha256_of

        restorer = load_restorer(w, device="cpu", precision="fp32")
        digest = restorer.info.sha256 or sha256_of(Path(restorer.info.path))
        label = restorer.info.name or Path(w).name
        out.append((label, f"model-{digest[:16]}", lambda rgb, r=restorer: r.restore_array(rgb, seed=0, tile=0)))
    return out


def evaluate(sets: dict[str, list], todo: list, cache: Path) -> dict:
    results: dict = {}
    for label, key, run in todo:
        started = time.perf_counter()
        for set_name, rows in sets.items():
            for name, lq, gt in rows:
                path = cache / key / set_name / (name.replace("/", "_") + ".png")
                if path.is_file():
                    out_u8 = cv2.cvtColor(cv2.imread(str(path), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
                else:
                    out_u8 = to_u8(run(lq))
                    path.parent.mkdir(parents=True, exist_ok=True)
                    # whole or not at all: another evaluation may read the cache meanwhile
                    write_atomic(path, cv2.imencode(".png", cv2.cvtColor(out_u8, cv2.COLOR_RGB2BGR))[1].tobytes())
                gt_u8 = to_u8(gt)
                s = score(out_u8, gt_u8, protocol="diffuir")
                shift = abs(float(out_u8.mean()) - float(gt_u8.mean()))
                results.setdefault(set_name, {}).setdefault(label, []).append(
                    {"image": name, "psnr": min(s.psnr, 100.0), "ssim": s.ssim, "shift": shift})
        print(f"  {label}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
    return results


def report(results: dict, labels: list[str], sets: dict[str, list]) -> str:
    def mean(rows, key):
        return float(np.mean([r[key] for r in rows]))

    lines = ["Mean PSNR in dB (SSIM) on the Y channel; higher is better. 'identity' is the degraded input itself.", ""]
    lines.append("| set | images | " + " | ".join(labels) + " |")
    lines.append("|---|---|" + "---|" * len(labels))
    for set_name in sets:
        cells = [f"{mean(results[set_name][m], 'psnr'):.2f} ({mean(results[set_name][m], 'ssim'):.3f})" for m in labels]
        lines.append(f"| {set_name} | {len(sets[set_name])} | " + " | ".join(cells) + " |")
    lines += ["", "Clean photos given unchanged: PSNR of the output to the photo (mean / worst) and the mean absolute "
              "change of brightness (8-bit levels).", ""]
    lines.append("| method | mean PSNR | worst PSNR (image) | brightness change |")
    lines.append("|---|---|---|---|")
    for m in labels:
        rows = results["clean"][m]
        worst = min(rows, key=lambda r: r["psnr"])
        lines.append(f"| {m} | {mean(rows, 'psnr'):.2f} | {worst['psnr']:.2f} ({worst['image']}) | {mean(rows, 'shift'):.2f} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", action="append", default=[], help="a registered name or a file (repeatable)")
    ap.add_argument("--data", type=Path, default=here.parents[1] / "runs" / "data")
    ap.add_argument("--out", type=Path, default=here.parents[1] / "runs" / "eval")
    ap.add_argument("--side", type=int, default=512, help="short side of the held-out photos")
    ap.add_argument("--clean", type=int, default=12, help="clean photos")
    ap.add_argument("--count", type=int, default=5, help="images per synthetic task and family")
    ap.add_argument("--real", default="low-light:10,blur:4,haze:2", help="held-out real pairs per task")
    ap.add_argument("--light", default="0.25", help="strengths of the lightened sets (comma-separated, each in (0, 1)): "
                    "light-TASK at 0.25, lightS-TASK at any other S")
    ap.add_argument("--sets", default="", help="only the sets whose names start with one of these (comma-separated, "
                    "e.g. clean,light: the harm check); default all")
    args = ap.parse_args()
    if not (args.data / "val").is_dir():
        print(f"evaluate: no split in {args.data}; run scripts/default-weights/prepare-data.py first", file=sys.stderr)
        return 2
    real = {k: int(v) for k, v in (part.split(":") for part in args.real.split(","))}
    try:
        light = tuple(float(part) for part in args.light.split(",") if part.strip())
    except ValueError:
        light = ()
    if not light or not all(0.0 < v < 1.0 for v in light):
        print(f"evaluate: --light {args.light!r}: give strengths between 0 and 1, e.g. 0.25,0.5", file=sys.stderr)
        return 2
    sets = build_sets(args.data, args.side, args.clean, args.count, real, light)
    if args.sets:
        keep = tuple(part.strip() for part in args.sets.split(",") if part.strip())
        sets = {name: rows for name, rows in sets.items() if name == "clean" or name.startswith(keep)}
    todo = methods(args.weights)
    results = evaluate(sets, todo, args.out / "cache")
    text = report(results, [label for label, _, _ in todo], sets)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "report.md").write_text(text, encoding="utf-8")
    (args.out / "results.json").write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
