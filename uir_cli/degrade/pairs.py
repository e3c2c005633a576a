"""Planning a paired set: which clean files, what each output is called, and its seed.

``uir degrade`` writes ``DIR/<kind>/input/NAME.png`` (degraded) beside
``DIR/<kind>/target/NAME.png`` (clean). This module decides the sources,
the names and the random generators; it reads no pixels, so it is plain and
fast to test. The command does the image I/O.

Naming: NAME is the clean file's stem (``_k`` appended for variant k when
more than one variant is made per image). Where two sources share a stem
(``a/x.png`` and ``b/x.png``, or ``x.png`` and ``x.jpg``), each of them is
named by its relative path instead (``a__x``, ``b__x``), then with its
extension (``x_png``), and any that still clash take ``-2``, ``-3``... in order.

Seeding: each output's generator is seeded from (seed, kind, the clean
file's relative name, k) alone, so adding files never changes other outputs.
"""

from __future__ import annotations

import os
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import UsageError
from ..regular import resolved
from ..vocab import natural_key

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class Source:
    """A clean image file and its name relative to the folder it was found in
    (posix separators; its bare file name when it was given as a file)."""

    path: Path
    relative: str


@dataclass(frozen=True)
class PairJob:
    """One degraded/clean pair to write: ``name`` (with ``.png``) under ``kind``/input and ``kind``/target."""

    source: Source
    kind: str
    variant: int
    name: str

    def rng(self, seed: int) -> np.random.Generator:
        """The generator for this output, from (seed, kind, relative name, variant) only."""
        import numpy as np

        return np.random.default_rng([seed, _crc(self.kind), _crc(self.source.relative), self.variant])


@dataclass(frozen=True)
class PairRecord:
    """A written pair: the job and the kind's ``*Params`` dataclass drawn for it."""

    job: PairJob
    params: Any


@dataclass
class Manifest:
    """What ``DIR/<kind>/manifest.json`` records: the seed, and per pair its source and parameters."""

    kind: str
    seed: int
    per_image: int
    pairs: list[PairRecord] = field(default_factory=list)
    failed: list[tuple[Source, str]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the file's content)."""
        import dataclasses

        return {
            "kind": self.kind, "seed": self.seed, "per_image": self.per_image,
            "pairs": [{"name": r.job.name, "source": str(r.job.source.path), "relative": r.job.source.relative,
                       "variant": r.job.variant, "params": dataclasses.asdict(r.params)} for r in self.pairs],
            "failed": [{"source": str(source.path), "error": message} for source, message in self.failed],
        }


def _crc(text: str) -> int:
    return zlib.crc32(text.encode("utf-8"))


def collect_sources(paths: Iterable[Path], is_image: Callable[[Path], bool]) -> list[Source]:
    """The clean images named by ``paths``: files as given, folders searched recursively
    (hidden files and folders skipped, files ``is_image`` rejects skipped), each folder's
    files in natural order of their relative names; a file named twice counts once.
    Raises UsageError for a missing path."""
    found: list[Source] = []
    for path in paths:
        if path.is_dir():
            inside = [Source(f, f.relative_to(path).as_posix()) for f in _walk(path) if is_image(f)]
            found.extend(sorted(inside, key=lambda s: natural_key(s.relative)))
        elif path.is_file():
            found.append(Source(path, path.name))
        else:
            raise UsageError("no such file or folder", path=path)
    seen: set[Path] = set()
    sources = []
    for source in found:
        key = resolved(source.path)  # a link loop stays itself, never a crash
        if key not in seen:
            seen.add(key)
            sources.append(source)
    return sources


def _walk(folder: Path) -> Iterable[Path]:
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(root) / f for f in files if not f.startswith("."))


def output_stems(sources: Sequence[Source]) -> list[str]:
    """A unique output stem per source, in the same order (see the module docstring)."""
    counts = Counter(s.path.stem for s in sources)
    stems = [s.path.stem if counts[s.path.stem] == 1 else _flat(s.relative) for s in sources]
    counts = Counter(stems)
    stems = [stem if counts[stem] == 1 else _flat(s.relative, keep_suffix=True) for stem, s in zip(stems, sources)]
    used: set[str] = set()
    unique = []
    for stem in stems:
        candidate, n = stem, 1
        while candidate in used:
            n += 1
            candidate = f"{stem}-{n}"
        used.add(candidate)
        unique.append(candidate)
    return unique


def _flat(relative: str, keep_suffix: bool = False) -> str:
    path = Path(relative)
    last = f"{path.stem}_{path.suffix.lstrip('.')}" if keep_suffix and path.suffix else path.stem
    return "__".join([*path.parent.parts, last]) if path.parent.parts else last


def plan(sources: Sequence[Source], kinds: Sequence[str], per_image: int) -> list[PairJob]:
    """Every pair to write, source by source, then kind by kind, then variant by variant."""
    jobs = []
    for source, stem in zip(sources, output_stems(sources)):
        for kind in kinds:
            for k in range(per_image):
                name = f"{stem}_{k}.png" if per_image > 1 else f"{stem}.png"
                jobs.append(PairJob(source, kind, k, name))
    return jobs
