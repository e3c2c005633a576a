"""scripts/default-weights/prepare-data.py: the fixed split, and the hard photos linked again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "default-weights" / "prepare-data.py"
PAIR_SETS = {"low-light": ("lol-v1-our485", [f"lol_{i:04d}.png" for i in range(1, 21)]),
             "blur": ("gopro-train-GOPR0372_07_00", [f"g_{i:06d}.png" for i in (90, 91, 92, 93)]),
             "haze": ("reside-its-v2", ["its_1_1.png", "its_2_1.png"])}


def fake_shared(root: Path) -> Path:
    for s in ("setA", "setB"):
        for i in range(7):
            (root / "photos" / s).mkdir(parents=True, exist_ok=True)
            (root / "photos" / s / f"p{i}.jpg").write_bytes(b"x")
    for task, (name, files) in PAIR_SETS.items():
        for side in ("input", "target"):
            d = root / "train-pairs" / task / name / side
            d.mkdir(parents=True)
            for f in files:
                (d / f).write_bytes(b"x")
    return root


def run(shared: Path, dest: Path, hard: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), "--shared", str(shared), "--dest", str(dest), "--hard", str(hard)],
                          capture_output=True, text=True)


def test_split_and_hard_links(tmp_path):
    shared = fake_shared(tmp_path / "shared")
    hard = tmp_path / "hard.txt"
    hard.write_text("# comment\nsetA/p0.jpg 3  # 23 dB\n\nsetB/p4.jpg 1\n")
    done = run(shared, tmp_path / "data", hard)
    assert done.returncode == 0, done.stderr
    data = tmp_path / "data"
    # every fifth photo (positions 2, 7, ...) held out
    assert sorted(p.name for p in (data / "val" / "photos" / "setA").iterdir()) == ["p2.jpg"]
    assert len(list((data / "train" / "photos" / "setA").iterdir())) == 6
    assert sorted(p.name for p in (data / "val" / "pairs" / "low-light" / "input").iterdir()) == ["lol_0019.png", "lol_0020.png"]
    assert sorted(p.name for p in (data / "val" / "pairs" / "blur" / "target").iterdir()) == ["g_000092.png", "g_000093.png"]
    assert [p.name for p in (data / "val" / "pairs" / "haze" / "input").iterdir()] == ["its_2_1.png"]
    links = sorted(p.relative_to(data / "train" / "hard").as_posix() for p in (data / "train" / "hard").rglob("*.jpg"))
    assert links == ["1/setA/p0.jpg", "1/setB/p4.jpg", "2/setA/p0.jpg", "3/setA/p0.jpg"]
    assert (data / "train" / "hard" / "2" / "setA" / "p0.jpg").resolve() == (shared / "photos" / "setA" / "p0.jpg").resolve()
    assert "4 extra links to hard training photos" in done.stdout


@pytest.mark.parametrize("entry, says", [("setA/p2.jpg 2", "is not a training photo"),
                                         ("setA/nothing.jpg 1", "is not a training photo"),
                                         ("setA/p0.jpg two", "is not 'PATH COPIES'"), ("setA/p0.jpg", "is not 'PATH COPIES'")])
def test_hard_list_names_only_training_photos(tmp_path, entry, says):
    shared = fake_shared(tmp_path / "shared")
    hard = tmp_path / "hard.txt"
    hard.write_text(entry + "\n")
    done = run(shared, tmp_path / "data", hard)
    assert done.returncode == 2
    assert says in done.stderr and entry.split()[0] in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_shipped_hard_list_is_well_formed():
    listed = (SCRIPT.parent / "hard-photos.txt").read_text().splitlines()
    rows = [line.split("#", 1)[0].split() for line in listed]
    rows = [r for r in rows if r]
    assert rows, "hard-photos.txt lists no photo"
    for rel, copies in rows:
        assert rel.count("/") == 1 and int(copies) >= 1
    shared = SCRIPT.parents[2].parent / "shared" / "photos"
    if not shared.is_dir():
        pytest.skip(f"{shared} is absent: cannot check that the listed photos are training photos")
    for rel, _ in rows:  # prepare-data holds out positions 2, 7, 12, ... of each set
        folder = shared / rel.split("/")[0]
        names = sorted(p.name for p in folder.iterdir())
        assert names.index(rel.split("/")[1]) % 5 != 2, f"{rel} is a held-out photo"
