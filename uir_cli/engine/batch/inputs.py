"""Finding the inputs of a batch and naming their outputs.

Inputs are files, folders (recursed) or glob patterns.  Each input gets a
relative path that the output tree mirrors: a file's own name, a file's path
below the folder given, or below the fixed part of a glob.  Hidden files and
folders and files that are not images are skipped in folders; the order is a
natural sort (``img2`` before ``img10``).  Outputs are always inside the
output folder and never over an input.
"""

from __future__ import annotations

import glob
import os
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from ...regular import check_regular, resolved
from ...vocab import natural_key
from ...imageio import is_image_path

FORMATS = {"png": ".png", "jpg": ".jpg", "webp": ".webp", "tiff": ".tiff"}
_MAGIC = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class InputItem:
    path: Path  # as found (not resolved, for messages)
    rel: Path  # the relative path the output mirrors


@dataclass(frozen=True)
class Missing:
    """An input argument that names nothing usable."""

    arg: str
    reason: str


def _hidden(rel: Path) -> bool:
    return any(part.startswith(".") for part in rel.parts)


def not_regular(path: Path) -> str | None:
    """Why ``path`` cannot be read as an input (a FIFO, a device, a link loop, gone...), or None."""
    try:
        check_regular(path)
    except FileNotFoundError:
        return "no such file (a dangling symbolic link?)" if os.path.islink(path) else "no such file"
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def _walk_folder(folder: Path, exclude: list[Path], missing: list[Missing]) -> list[InputItem]:
    items = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        root_path = Path(root)
        dirs[:] = [d for d in dirs if not d.startswith(".") and not _is_excluded(root_path / d, exclude)]
        for name in files:
            p = root_path / name
            if name.startswith(".") or not is_image_path(p):
                continue
            why = not_regular(p)
            if why:  # read only regular files: a FIFO would hang the run, a loop cannot be opened
                missing.append(Missing(str(p), why))
                continue
            items.append(InputItem(p, p.relative_to(folder)))
    return items


def _is_excluded(path: Path, exclude: list[Path]) -> bool:
    return any(resolved(path) == e for e in exclude)


def _glob_base(pattern: str) -> Path:
    parts = Path(pattern).parts
    fixed = []
    for part in parts:
        if _MAGIC.search(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def discover(args: list[str | os.PathLike], *, exclude: list[Path] = ()) -> tuple[list[InputItem], list[Missing]]:
    """Expand ``args`` into input items (natural order within each argument) and the arguments that failed.

    ``exclude``: folders never to descend into (the output folder, when it lies
    inside an input folder).
    """
    exclude = [resolved(Path(e)) for e in exclude]
    items: list[InputItem] = []
    missing: list[Missing] = []
    seen: set[Path] = set()

    def add(found: list[InputItem]) -> None:
        for it in sorted(found, key=lambda i: natural_key(i.rel.as_posix())):
            key = resolved(it.path)
            if key not in seen:
                seen.add(key)
                items.append(it)

    for arg in args:
        text = os.fspath(arg)
        p = Path(text).expanduser()
        if p.is_dir():
            before = len(missing)
            found = _walk_folder(p, exclude, missing)
            if not found and len(missing) == before:
                missing.append(Missing(text, "no images in this folder"))
            add(found)
        elif p.is_file():
            add([InputItem(p, Path(p.name))])
        elif _MAGIC.search(text):
            base = _glob_base(os.path.expanduser(text))
            before = len(missing)
            found = []
            for m in map(Path, glob.glob(os.path.expanduser(text), recursive=True)):
                rel = m.relative_to(base) if m.is_relative_to(base) else Path(m.name)
                if not is_image_path(m) or _hidden(rel) or m.is_dir():
                    continue
                why = not_regular(m)
                if why:
                    missing.append(Missing(str(m), why))
                else:
                    found.append(InputItem(m, rel))
            if not found and len(missing) == before:
                missing.append(Missing(text, "no images match this pattern"))
            add(found)
        else:
            missing.append(Missing(text, not_regular(p) or "not a regular file or folder"))
    return items, missing


def output_path(item: InputItem, out_dir: Path, *, fmt: str = "same", suffix: str = "") -> Path:
    """Where ``item``'s result goes: the mirrored relative path, the suffix, the format's extension."""
    ext = item.path.suffix if fmt == "same" else FORMATS[fmt]  # as it is: IMG.JPG -> IMG.jpg could be the input on a case-folding disk
    rel = item.rel.with_name(item.rel.stem + suffix + ext)
    return out_dir / rel


def inside(path: Path, folder: Path) -> bool:
    """True when ``path`` (after resolving links of its existing parents) lies within ``folder``."""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return False


def in_shard(item: InputItem, index: int, count: int) -> bool:
    """Whether ``item`` belongs to shard ``index`` (0-based) of ``count``.

    The share is a hash of the relative path, so every shard agrees on it even
    when the folder changes between their starts.
    """
    if count <= 1:
        return True
    # The name's bytes as the system has them (a name need not be UTF-8): fsencode, not encode.
    digest = hashlib.blake2b(os.fsencode(item.rel.as_posix()), digest_size=8).digest()
    return int.from_bytes(digest, "little") % count == index
