#!/usr/bin/env python3
"""Find the training photos a model changes most when given them clean, and write the hard-photo list.

    python3 scripts/default-weights/mine-hard.py --weights uir-t-v6 [--weights W2 ...] [--data runs/data] [--out hard-photos.txt]

Restores every training photo (runs/data/train/photos, short side 512 as in
evaluate.py) unchanged, scores PSNR(output, photo), and lists the photos
below --below dB with a number of extra copies (more for worse photos); with
several --weights, each photo's worst score among them.
prepare-data.py links those copies into runs/data/train/hard/, a second
synthetic folder of the training config, so the run sees them more often:
as clean photos to leave alone and under every synthetic degradation.
Scores are kept per weights in runs/hard-scores-NAME.json, so an
interrupted run continues where it stopped and a list over several weights
restores only what is new.  Only training photos are read:
the held-out photos stay unseen.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import evaluate as E  # noqa: E402  (this folder's evaluate.py: the same loading and resizing)


def copies_for(psnr: float, below: float) -> int:
    """Extra copies of a photo scored ``psnr`` dB: 6 under 35 dB, 4 under 40, 2 under ``below``, else 0."""
    if psnr < 35.0:
        return 6
    if psnr < 40.0:
        return 4
    return 2 if psnr < below else 0


def mine(weights: str, photos: list[Path], root: Path, scores_path: Path, side: int) -> dict[str, list[float]]:
    """{photo path under root: [PSNR to itself, brightness change]} for ``weights``, kept in ``scores_path`` as it goes."""
    from uir_cli.bench.metrics import score
    from uir_cli.engine.restorer import load_restorer

    scores = json.loads(scores_path.read_text()) if scores_path.is_file() else {}
    restorer = None
    started = time.perf_counter()
    for i, path in enumerate(photos):
        key = path.relative_to(root).as_posix()
        if key in scores:
            continue
        restorer = restorer or load_restorer(weights, device="cpu", precision="fp32")
        clean = E.resize_short(E.load_rgb(path), side)
        out, ref = E.to_u8(restorer.restore_array(clean, seed=0, tile=0)), E.to_u8(clean)
        scores[key] = [min(score(out, ref, protocol="diffuir").psnr, 100.0), float(out.mean()) - float(ref.mean())]
        scores_path.write_text(json.dumps(scores, indent=0))
        print(f"{weights} {i + 1}/{len(photos)} {key}: {scores[key][0]:.2f} dB, {scores[key][1]:+.2f} levels "
              f"({time.perf_counter() - started:.0f} s)", flush=True)
    return {key: scores[key] for key in (p.relative_to(root).as_posix() for p in photos)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weights", required=True, action="append")
    ap.add_argument("--data", type=Path, default=HERE.parents[1] / "runs" / "data")
    ap.add_argument("--out", type=Path, default=HERE / "hard-photos.txt")
    ap.add_argument("--below", type=float, default=45.0, help="list photos under this PSNR (dB)")
    ap.add_argument("--side", type=int, default=512)
    args = ap.parse_args()
    root = args.data / "train" / "photos"
    photos = sorted(p for p in root.rglob("*") if p.suffix.lower() in E.EXT)
    worst: dict[str, list[float]] = {}
    for weights in args.weights:
        for key, value in mine(weights, photos, root, args.data.parent / f"hard-scores-{Path(weights).name}.json",
                               args.side).items():
            if key not in worst or value[0] < worst[key][0]:
                worst[key] = value
    ranked = sorted(worst.items(), key=lambda kv: kv[1][0])
    lines = [f"# training photos {', '.join(args.weights)} changed most when given clean (PSNR to itself, short side {args.side});",
             "# path under train/photos, extra copies, then the score. Made by mine-hard.py; read by prepare-data.py"]
    for key, (psnr, shift) in ranked:
        n = copies_for(psnr, args.below)
        if n:
            lines.append(f"{key} {n}  # {psnr:.2f} dB, {shift:+.2f} levels")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"{len(lines) - 2} photos in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
