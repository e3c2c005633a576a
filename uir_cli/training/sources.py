"""Where training images come from: paired folders and clean photos (folder listings only).

``--data DIR[:TASK]`` accepts, tried in this order:

1. DIR holding a pair of folders: ``{input,target}``, ``{low,high}``,
   ``{synthetic,gt}``, ``{hazy,gt}``, ``{haze,clear}``, ``{rainy,norain}``;
2. DIR holding one more level, ``DIR/{train,our485,test,eval15}/<a pair of folders>``;
3. the authors' training layout under DIR: ``syn_rain/train``, ``Snow100K/train``,
   ``LOL/our485``, ``RESIDE/OTS_ALPHA`` (``haze/OTS`` + ``clear/clear_images``),
   ``Deblur/train/GoPro`` (or ``Deblur/train``);
4. the benchmark layouts of spec/benchmark.md (``Rain100L``, ``LOL``, ``SOTS-outdoor`` ...) under DIR.

Pairing is by file name (bench.datasets: the ``rain`` rule for rain, the SOTS
rule for haze when names differ).  Without ``:TASK`` the task comes from the
folder names (``low/high`` is low light, ``hazy`` is haze, a path with ``rain``
is rain ...); when they do not tell, the error asks for ``DIR:TASK``.
``--synthetic DIR``: every image under DIR (recursively) is a clean photo.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..bench.datasets import NAMED, PairedSet, find_dataset, pair_folders
from ..errors import DatasetError, UsageError
from ..vocab import IMAGE_EXTENSIONS, TASKS
from .config import split_spec

# (input folder, target folder, the task the names imply or None)
PAIR_FOLDERS = (
    ("input", "target", None),
    ("low", "high", "low-light"),
    ("synthetic", "gt", "snow"),
    ("hazy", "gt", "haze"),
    ("haze", "clear", "haze"),
    ("rainy", "norain", "rain"),
)
SPLITS = ("train", "our485", "test", "eval15")
AUTHORS_LAYOUT = (
    ("rain", "syn_rain/train/input", "syn_rain/train/target"),
    ("snow", "Snow100K/train/synthetic", "Snow100K/train/gt"),
    ("low-light", "LOL/our485/low", "LOL/our485/high"),
    ("haze", "RESIDE/OTS_ALPHA/haze/OTS", "RESIDE/OTS_ALPHA/clear/clear_images"),
    ("blur", "Deblur/train/GoPro/input", "Deblur/train/GoPro/target"),
    ("blur", "Deblur/train/input", "Deblur/train/target"),
)
_WORDS = (  # folder-name words that name a task, checked from the deepest folder up
    ("low-light", ("lol", "lowlight", "low-light", "low_light", "lsrw", "dark", "light")),
    ("haze", ("haze", "hazy", "fog", "dehaze", "reside", "sots", "ots", "its")),
    ("rain", ("rain", "derain", "rainy")),
    ("snow", ("snow", "snow100k", "desnow")),
    ("blur", ("blur", "deblur", "gopro", "hide", "realblur", "reblur")),
)


@dataclass(frozen=True)
class PairedSource:
    """Pairs of one task from one place: (input, target) paths, and where they were found."""

    task: str
    pairs: tuple[tuple[str, str], ...]
    origin: str
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhotoSource:
    """Clean photos to degrade on the fly."""

    photos: tuple[str, ...]
    origin: str


def infer_task(path: Path) -> str | None:
    """The task that ``path``'s folder names suggest, deepest folder first; None when none does."""
    for part in reversed(Path(path).parts):
        tokens = set(re.findall(r"[a-z]+", part.lower())) | {part.lower()}  # Rain100H -> rain, h
        for task, words in _WORDS:
            if tokens & set(words):
                return task
    return None


def _child(folder: Path, name: str) -> Path | None:
    """``folder/name`` matched exactly, else case-insensitively; None if absent."""
    exact = folder / name
    if exact.is_dir():
        return exact
    try:
        hits = [c for c in folder.iterdir() if c.is_dir() and c.name.lower() == name.lower()]
    except OSError:
        return None
    return hits[0] if len(hits) == 1 else None


def _walk(root: Path, rel: str) -> Path | None:
    current: Path | None = root
    for part in rel.split("/"):
        current = _child(current, part) if current is not None else None
    return current


def _pair(lq_dir: Path, gt_dir: Path, task: str) -> PairedSource:
    """Pair two folders for ``task``: same names first; the rain or SOTS rule when names differ."""
    rules = {"rain": ("rain",), "haze": ("same-name", "sots")}.get(task, ("same-name",))
    error: DatasetError | None = None
    for rule in rules:
        try:
            found = pair_folders(lq_dir, gt_dir, rule=rule, task=task)
        except DatasetError as exc:
            error = exc
            continue
        return _source(found, task, f"{lq_dir} + {gt_dir}")
    assert error is not None
    raise error


def _direct(folder: Path, task: str | None) -> list[PairedSource]:
    for lq_name, gt_name, implied in PAIR_FOLDERS:
        lq_dir, gt_dir = _child(folder, lq_name), _child(folder, gt_name)
        if lq_dir is None or gt_dir is None:
            continue
        chosen = task or implied or infer_task(folder)
        if chosen is None:
            raise UsageError(
                f"cannot tell which task the pairs in {lq_name}/ and {gt_name}/ are",
                path=folder,
                hint=f"write --data {folder}:TASK with TASK one of {', '.join(TASKS)}",
            )
        return [_pair(lq_dir, gt_dir, chosen)]
    return []


def _authors(root: Path, task: str | None) -> list[PairedSource]:
    found: list[PairedSource] = []
    tasks_done: set[str] = set()
    for layout_task, rel_lq, rel_gt in AUTHORS_LAYOUT:
        if (task and layout_task != task) or layout_task in tasks_done:
            continue
        lq_dir, gt_dir = _walk(root, rel_lq), _walk(root, rel_gt)
        if lq_dir is not None and gt_dir is not None:
            found.append(_pair(lq_dir, gt_dir, layout_task))
            tasks_done.add(layout_task)
    return found


def _benchmarks(root: Path, task: str | None) -> list[PairedSource]:
    found = []
    for spec in NAMED.values():
        if task and spec.task != task:
            continue
        try:
            paired = find_dataset(spec.name, root)
        except DatasetError as exc:
            if "not found" in exc.message:
                continue
            raise
        found.append(_source(paired, spec.task, f"{spec.name} under {root}"))
    return found


def _source(found: PairedSet, task: str, origin: str) -> PairedSource:
    """A paired set as training takes it: (input, target) path strings, for ``task``."""
    return PairedSource(task, tuple((str(p.input), str(p.target)) for p in found.pairs), origin, found.notes)


def discover_pairs(spec: str) -> list[PairedSource]:
    """Every paired source a ``DIR[:TASK]`` spec names (see the module docstring).

    Raises :class:`DatasetError` (one line, naming the folder) when DIR is
    missing or holds no pairs in any known layout, or its folders do not pair.
    """
    text, task = split_spec(spec)
    folder = Path(text).expanduser()
    if not folder.is_dir():
        raise DatasetError("no such folder", path=folder, hint="--data takes DIR or DIR:TASK")
    found = _direct(folder, task)
    if not found:
        for split in SPLITS:
            sub = _child(folder, split)
            if sub is not None:
                found = _direct(sub, task or infer_task(folder))
                if found:
                    break
    found = found or _authors(folder, task) or _benchmarks(folder, task)
    if not found:
        shapes = ", ".join(f"{{{a},{b}}}" for a, b, _ in PAIR_FOLDERS)
        raise DatasetError(
            f"no training pairs found: looked for {shapes}, the authors' training layout and the benchmark layouts",
            path=folder,
        )
    return found


def list_photos(folder: str | Path) -> PhotoSource:
    """Every image file under ``folder`` (recursively, hidden ones skipped), sorted by path."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise DatasetError("no such folder", path=folder, hint="--synthetic takes a folder of clean photos")
    photos = sorted(
        str(p)
        for p in folder.rglob("*")
        if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file() and not any(s.startswith(".") for s in p.relative_to(folder).parts)
    )
    if not photos:
        raise DatasetError("no images in this folder", path=folder, hint=f"looked for {', '.join(sorted(IMAGE_EXTENSIONS))}")
    return PhotoSource(tuple(photos), str(folder))
