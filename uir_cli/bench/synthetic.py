"""The synthetic benchmark: the shipped clean photos, degraded once per task, kept on disk.

``uir benchmark --dataset synthetic`` needs no download.  The first run builds
``data_dir()/datasets/synthetic-v1`` from the photos in ``uir_cli/data/photos``
(held out from training)::

    synthetic-v1/
      manifest.json                      uir version, seed, sha256 of every file, parameters drawn
      synthetic-rain/{input,target}/NAME.png
      synthetic-haze/...  synthetic-snow/...  synthetic-blur/...  synthetic-low-light/...

Each input is ``uir_cli.degrade.degrade(photo, task, rng)`` with the generator
seeded from (``SEED``, task, photo name) alone, so a build is the same bytes every
time on the same software.  A build goes to a hidden sibling folder and is
renamed into place when complete; the manifest is checked on every use (format,
uir version, source photos and the sha256 of every file), and a missing,
half-built, damaged or stale set is rebuilt.
"""

from __future__ import annotations

import json
import os
import shutil
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .. import __version__
from ..atomic import plain
from ..errors import DatasetError
from ..registry import PACKAGE_DATA, data_dir
from ..regular import sha256_of
from ..vocab import TASKS

NAME = "synthetic"
VERSION_DIR = "synthetic-v1"
FORMAT = "uir-synthetic-v1"
SEED = 2024
PHOTOS = PACKAGE_DATA / "photos"
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class SyntheticSet:
    """A verified synthetic set on disk.

    ``root``: the ``synthetic-v1`` folder; ``built``: True when this call (re)built it,
    ``reason``: why it was (re)built (empty when it was already sound).
    """

    root: Path
    built: bool
    reason: str = ""

    def folders(self, task: str) -> tuple[Path, Path]:
        """(input folder, target folder) of one task."""
        base = self.root / set_name(task)
        return base / "input", base / "target"


def set_name(task: str) -> str:
    """``rain`` -> ``synthetic-rain``."""
    return f"{NAME}-{task}"


def set_names() -> list[str]:
    """The per-task set names, in KINDS order."""
    return [set_name(task) for task in TASKS]


def default_root() -> Path:
    """Where the set lives: ``uir_cli.registry.data_dir() / "datasets" / "synthetic-v1"``."""
    return data_dir() / "datasets" / VERSION_DIR


def tasks_for(name: str) -> list[str] | None:
    """The tasks a dataset name selects (``synthetic`` -> all five, ``synthetic-haze`` -> [haze]), else None."""
    key = name.strip().lower().replace("_", "-")
    if key == NAME:
        return list(TASKS)
    for task in TASKS:
        if key in (set_name(task), set_name(task).replace("-", "")):
            return [task]
    return None


def ensure_synthetic(root: Path | None = None, *, photos: Path = PHOTOS,
                     progress: Callable[[str], None] | None = None) -> SyntheticSet:
    """Return the synthetic set at ``root`` (default :func:`default_root`), building it if needed.

    ``progress`` is called with each file's relative path as it is written.
    Raises :class:`DatasetError` when the photos are missing or the folder cannot be written.
    """
    root = Path(root) if root is not None else default_root()
    sources = _sources(photos)
    problem = _check(root, sources)
    if problem is None:
        return SyntheticSet(root, built=False)
    _build(root, sources, progress)
    after = _check(root, sources)
    if after is not None:  # pragma: no cover - only when something else writes there at the same time
        raise DatasetError(f"the synthetic set is still unsound after a rebuild: {after}", path=root)
    return SyntheticSet(root, built=True, reason=problem)


# --- internals -------------------------------------------------------------


def _sources(photos: Path) -> dict[str, Path]:
    found = {p.stem: p for p in sorted(Path(photos).glob("*.png")) if not p.name.startswith(".")}
    if not found:
        raise DatasetError("no clean photos to build the synthetic set from", path=photos,
                           hint="the uir installation is incomplete; reinstall it")
    return found


def _rng(task: str, stem: str):
    import numpy as np

    crc = lambda text: zlib.crc32(text.encode("utf-8"))  # noqa: E731
    return np.random.default_rng([SEED, crc(task), crc(stem)])


def _expected_files(sources: dict[str, Path]) -> set[str]:
    return {f"{set_name(t)}/{side}/{stem}.png" for t in TASKS for side in ("input", "target") for stem in sources}


def _check(root: Path, sources: dict[str, Path]) -> str | None:
    """None when the set at ``root`` is complete and current, else why not (one phrase)."""
    path = root / MANIFEST
    if not path.is_file():
        return "not built yet" if not root.exists() else "no manifest (half-built)"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "the manifest is unreadable"
    if manifest.get("format") != FORMAT or manifest.get("seed") != SEED:
        return "built by another format"
    if manifest.get("uir_version") != __version__:
        return f"built by uir {manifest.get('uir_version')}, this is {__version__}"
    if manifest.get("photos") != {stem: sha256_of(p) for stem, p in sources.items()}:
        return "the source photos changed"
    files = manifest.get("files", {})
    if set(files) != _expected_files(sources):
        return "the manifest lists other files"
    for rel, digest in sorted(files.items()):
        file = root / rel
        if not file.is_file():
            return f"{rel} is missing"
        if sha256_of(file) != digest:
            return f"{rel} is damaged (sha256 differs)"
    return None


def _build(root: Path, sources: dict[str, Path], progress: Callable[[str], None] | None) -> None:
    from ..degrade import degrade_with_params
    from ..imageio import read_image, write_image

    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.build-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    files: dict[str, str] = {}
    params: dict[str, dict] = {}
    try:
        for stem, photo in sources.items():
            clean = read_image(photo).rgb
            for task in TASKS:
                result = degrade_with_params(clean, task, _rng(task, stem))
                for side, rgb in (("input", result.lq), ("target", clean)):
                    rel = f"{set_name(task)}/{side}/{stem}.png"
                    write_image(staging / rel, rgb)
                    files[rel] = sha256_of(staging / rel)
                    if progress is not None:
                        progress(rel)
                params[f"{set_name(task)}/{stem}"] = plain(result.params)
        manifest = {
            "format": FORMAT,
            "uir_version": __version__,
            "seed": SEED,
            "seeding": "numpy default_rng([seed, crc32(task), crc32(photo stem)])",
            "photos": {stem: sha256_of(p) for stem, p in sources.items()},
            "files": dict(sorted(files.items())),
            "params": params,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        _swap_in(staging, root)
    except OSError as exc:
        raise DatasetError(f"cannot build the synthetic set: {exc.strerror or exc}", path=root) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _swap_in(staging: Path, root: Path) -> None:
    """Replace ``root`` by the complete ``staging`` folder (the old one is removed after the rename)."""
    old = root.parent / f".{root.name}.old-{os.getpid()}"
    if root.exists():
        os.replace(root, old)
    try:
        os.replace(staging, root)
    except OSError:
        if not root.is_dir():  # else another process put its build there first: keep that one
            raise
    shutil.rmtree(old, ignore_errors=True)

