"""Atomic file writes: a hidden ``.NAME.PID.part`` beside the target, flushed, then renamed over it.

A reader never sees a half-written file where a finished one would be, and a
killed writer leaves only the hidden part file (which the next write replaces).
No torch import: the CLI's fast paths may use it.
"""

from __future__ import annotations

import os
from pathlib import Path


def part_path(path: Path) -> Path:
    """The temporary file a write of ``path`` goes through."""
    return path.with_name(f".{path.name}.{os.getpid()}.part")


def write_atomic(path: str | os.PathLike, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; creates the parent folder; raises OSError."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = part_path(path)
    try:
        with open(tmp, "wb") as out:
            out.write(data.encode("utf-8") if isinstance(data, str) else data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    finally:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
    return path
