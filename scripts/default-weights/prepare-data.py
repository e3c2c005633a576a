#!/usr/bin/env python3
"""Split ../shared's training material into what uir's default weights train on and what they never see.

    python3 scripts/default-weights/prepare-data.py [--shared ../shared] [--dest runs/data]

Writes DEST/train and DEST/val as folders of symbolic links into SHARED (no
copies), by fixed rules on the file names, so every session and every user
gets the same split:

- photos/<set>/: every fifth photo of each set (sorted by name, positions 2,
  7, 12, ...) is held out for validation, the rest train;
- pairs/low-light (LOL "our485"): the 10% with the highest numbers are held
  out (LOL shoots each scene several times under adjacent numbers, so a
  block of numbers rather than every tenth pair keeps scenes apart; at most
  the one scene at the block's edge can be on both sides);
- pairs/blur (GoPro GOPR0372_07_00, one sequence): frames 92-99 are held out
  (consecutive frames of one scene: this checks fitting, not generalisation);
- pairs/haze (RESIDE ITS): scene 2 (two hazy versions) is held out, scene 1 trains;
- hard/<k>/<set>/: extra links to the training photos listed in
  hard-photos.txt (made by mine-hard.py: those a model changed most when
  given them clean), copy k = 1 .. n of each, so that a run drawing from
  photos/ and hard/ sees them n + 1 times as often.  Only training photos
  can be listed.

Where to get the same data without ../shared: shared/photos/SOURCES.md and
shared/train-pairs/SOURCES.md name each source repository, commit and path
(Kodak24 and McMaster from cszn/FFDNet, Urban100, Sun-Hays80; LOL, GoPro and
RESIDE ITS from the repositories listed there).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sys
from pathlib import Path

PAIR_SETS = {  # task -> set folder under shared/train-pairs/<task>/
    "low-light": "lol-v1-our485",
    "blur": "gopro-train-GOPR0372_07_00",
    "haze": "reside-its-v2",
}
IMAGE = re.compile(r"\.(jpe?g|png|tiff?|webp|bmp)$", re.IGNORECASE)


def number(name: str) -> int:
    """The last run of digits in a file name (lol_0123.jpg -> 123)."""
    found = re.findall(r"\d+", Path(name).stem)
    return int(found[-1]) if found else -1


def held_out_pair(task: str, name: str, names: list[str]) -> bool:
    """Whether pair ``name`` of ``task`` is held out (see the module docstring)."""
    if task == "low-light":
        ranked = sorted(names, key=number)
        return name in ranked[len(ranked) - max(1, len(ranked) // 10):]
    if task == "blur":
        return number(name) >= 92
    if task == "haze":
        return name.startswith("its_2_")
    raise ValueError(task)


def link(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(src.resolve(), dest)


def main() -> int:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=here.parents[2] / "shared")
    ap.add_argument("--dest", type=Path, default=here.parents[1] / "runs" / "data")
    ap.add_argument("--hard", type=Path, default=here / "hard-photos.txt",
                    help="the list of training photos to link again into DEST/train/hard (absent: none)")
    args = ap.parse_args()
    photos, pairs = args.shared / "photos", args.shared / "train-pairs"
    if not photos.is_dir() or not pairs.is_dir():
        print(f"prepare-data: {args.shared} has no photos/ and train-pairs/", file=sys.stderr)
        return 2
    if args.dest.exists():
        shutil.rmtree(args.dest)
    counts: dict[str, int] = {}
    for set_dir in sorted(p for p in photos.iterdir() if p.is_dir()):
        files = sorted(p for p in set_dir.iterdir() if IMAGE.search(p.name))
        for i, f in enumerate(files):
            split = "val" if i % 5 == 2 else "train"
            link(f, args.dest / split / "photos" / set_dir.name / f.name)
            counts[f"{split} photos"] = counts.get(f"{split} photos", 0) + 1
    for task, set_name in PAIR_SETS.items():
        root = pairs / task / set_name
        names = sorted(p.name for p in (root / "input").iterdir() if IMAGE.search(p.name))
        for name in names:
            split = "val" if held_out_pair(task, name, names) else "train"
            for side in ("input", "target"):
                link(root / side / name, args.dest / split / "pairs" / task / side / name)
            counts[f"{split} {task} pairs"] = counts.get(f"{split} {task} pairs", 0) + 1
    if args.hard.is_file():
        for line in args.hard.read_text().splitlines():
            fields = line.split("#", 1)[0].split()
            if not fields:
                continue
            rel, copies = fields[0], fields[1] if len(fields) == 2 else ""
            src = args.dest / "train" / "photos" / rel
            if not copies.isdigit():
                print(f"prepare-data: {args.hard}: {line.strip()!r} is not 'PATH COPIES'", file=sys.stderr)
                return 2
            if not src.is_symlink():
                print(f"prepare-data: {args.hard}: {rel} is not a training photo", file=sys.stderr)
                return 2
            n = int(copies)
            for k in range(1, n + 1):
                link(src, args.dest / "train" / "hard" / str(k) / rel)
            counts["extra links to hard training photos"] = counts.get("extra links to hard training photos", 0) + n
    for key in sorted(counts):
        print(f"{counts[key]:5d} {key}")
    print(f"in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
