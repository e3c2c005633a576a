"""Safe file writes: a short hidden temporary file beside the target, flushed, then renamed over it.

- A reader never sees a half-written file where a finished one would be, and a
  killed writer leaves only a hidden ``.uir-HASH.PID.RANDOM.part`` (the next
  write of the same target removes it, see :func:`leftover_parts`).
- The temporary file is created with ``O_EXCL | O_NOFOLLOW`` under a name no
  one can guess, so a planted symbolic link (or any file) is never written
  through; the rename replaces a link at the target itself, never what it
  points to.
- Its name is short (a hash of the target's name), so any name the file system
  takes can be written; a name it cannot take is said to be too long.
- ``within``: the folder (``--out``) the target must stay in.  The folders
  below it are opened one by one without following links, so a link planted
  inside it can never lead a write outside.

No torch import: the CLI's fast paths may use it.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import secrets
import stat
from dataclasses import fields, is_dataclass
from pathlib import Path

NAME_MAX = 255  # bytes in one file name, on every common file system
_DIR_FD = os.open in os.supports_dir_fd and os.replace in os.supports_dir_fd
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class UnsafePath(OSError):
    """A path that uir will not write through (a link inside ``within``, a name too long...).

    ``strerror`` is one line saying what is wrong, ready for a message.
    """


def name_hash(name: str) -> str:
    """16 hex digits standing for a file name (any bytes) in uir's hidden file names."""
    return hashlib.blake2b(os.fsencode(name), digest_size=8).hexdigest()


def part_name(name: str) -> str:
    """A fresh temporary name for a write of ``name``: ``.uir-HASH.PID.RANDOM.part``."""
    return f".uir-{name_hash(name)}.{os.getpid()}.{secrets.token_hex(4)}.part"


def leftover_parts(path: Path) -> re.Pattern:
    """Matches the temporary names of any write of ``path`` (to remove those a killed run left)."""
    return re.compile(rf"\.uir-{name_hash(path.name)}\.\d+\.[0-9a-f]+\.part")


def check_name(path: Path) -> None:
    """Raise :class:`UnsafePath` when ``path``'s last component is longer than a file name can be."""
    size = len(os.fsencode(path.name))
    if size > NAME_MAX:
        raise UnsafePath(errno.ENAMETOOLONG, f"the file name is too long ({size} bytes; at most {NAME_MAX})")


class Folder:
    """An open folder (a file descriptor where the system has them), to create files in it safely."""

    def __init__(self, path: Path, fd: int | None):
        self.path, self.fd = path, fd

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> "Folder":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _where(self, name: str) -> tuple[str, dict]:
        if self.fd is None:
            return str(self.path / name), {}
        return name, {"dir_fd": self.fd}

    def open(self, name: str, flags: int, mode: int = 0o666) -> int:
        where, kw = self._where(name)
        return os.open(where, flags | _O_CLOEXEC, mode, **kw)

    def lstat(self, name: str) -> os.stat_result:
        where, kw = self._where(name)
        return os.stat(where, follow_symlinks=False, **kw)

    def unlink(self, name: str) -> None:
        where, kw = self._where(name)
        try:
            os.unlink(where, **kw)
        except FileNotFoundError:
            pass

    def replace(self, src: str, dst: str) -> None:
        if self.fd is None:
            os.replace(self.path / src, self.path / dst)
        else:
            os.replace(src, dst, src_dir_fd=self.fd, dst_dir_fd=self.fd)

    def names(self) -> list[str]:
        return os.listdir(self.fd if self.fd is not None else self.path)


def open_folder(folder: str | os.PathLike, *, within: str | os.PathLike | None = None, create: bool = True) -> Folder:
    """Open ``folder`` (creating it and its parents when ``create``) to create files in it.

    Without ``within`` the path is taken as given (links in it are the user's).  With
    ``within``, ``folder`` must lie lexically inside it: ``within`` itself is opened as given,
    every folder below it without following links (:class:`UnsafePath` when one is a link).
    """
    folder = Path(folder)
    if within is None or not _DIR_FD:
        if create:
            folder.mkdir(parents=True, exist_ok=True)
        if within is not None and not _resolved_inside(folder, Path(within)):  # pragma: no cover - no dir_fd
            raise UnsafePath(errno.ELOOP, f"{folder} leads outside {within}")
        if not _DIR_FD:  # pragma: no cover - Windows
            return Folder(folder, None)
        return Folder(folder, os.open(folder, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC))
    within = Path(within)
    try:
        parts = folder.relative_to(within).parts
    except ValueError:
        raise UnsafePath(errno.EXDEV, f"{folder} is not inside {within}") from None
    if ".." in parts:
        raise UnsafePath(errno.EXDEV, f"{folder} is not inside {within}")
    if create:
        within.mkdir(parents=True, exist_ok=True)
    fd = os.open(within, os.O_RDONLY | _O_DIRECTORY | _O_CLOEXEC)
    here = within
    try:
        for part in parts:
            here = here / part
            if create:
                try:
                    os.mkdir(part, 0o777, dir_fd=fd)
                except FileExistsError:
                    pass
            try:
                sub = os.open(part, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC, dir_fd=fd)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK) and stat.S_ISLNK(os.stat(part, dir_fd=fd, follow_symlinks=False).st_mode):
                    raise UnsafePath(errno.ELOOP, f"{here} is a symbolic link; uir does not write through links inside "
                                                  f"{within}") from None
                raise
            os.close(fd)
            fd = sub
    except BaseException:
        os.close(fd)
        raise
    return Folder(folder, fd)


def _resolved_inside(path: Path, folder: Path) -> bool:  # pragma: no cover - no dir_fd
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except OSError:
        return False


def create_new(folder: Folder, name: str, mode: int = 0o666) -> int:
    """Create ``name`` in ``folder`` exclusively, never through a link; an fd open for writing."""
    return folder.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW, mode)


def _create_part(folder: Folder, name: str) -> tuple[str, int]:
    """A new temporary file for a write of ``name``: (its name, an fd open for writing)."""
    for attempt in range(5):
        tmp = part_name(name)
        try:
            return tmp, create_new(folder, tmp)
        except FileExistsError:  # someone made that name first: never use theirs
            if attempt == 4:
                raise
    raise AssertionError("unreachable")


def write_atomic(path: str | os.PathLike, data: bytes | str, *, within: str | os.PathLike | None = None) -> Path:
    """Write ``data`` (text as UTF-8) to ``path`` atomically; creates the parent folder; raises OSError.

    ``within``: a folder ``path`` must stay in, every folder below it opened without following
    links.  The new file gets the usual mode (0666 less the umask).
    """
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    check_name(path)
    with open_folder(path.parent, within=within) as folder:
        _refuse_folder_at(folder, path.name)
        tmp, fd = _create_part(folder, path.name)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(payload)
                out.flush()
                os.fsync(out.fileno())
            folder.replace(tmp, path.name)
        finally:
            folder.unlink(tmp)
    return path


def _refuse_folder_at(folder: Folder, name: str) -> None:
    try:
        st = folder.lstat(name)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(errno.EISDIR, "a folder of that name is in the way")


def check_writable(path: str | os.PathLike) -> None:
    """Raise OSError (one-line ``strerror``) unless a later :func:`write_atomic` of ``path`` can work:
    the name fits, and a file can be created in its folder (or, when that folder does not exist yet,
    in the nearest folder above it that does).  Creates nothing that stays."""
    path = Path(path)
    check_name(path)
    parent = path.parent
    while not os.path.lexists(parent) and parent != parent.parent:
        parent = parent.parent
    with open_folder(parent, create=False) as folder:
        if parent == path.parent:
            _refuse_folder_at(folder, path.name)
        tmp, fd = _create_part(folder, path.name)
        os.close(fd)
        folder.unlink(tmp)


def describe(exc: OSError) -> str:
    """One line for a failed write: what the system said, in words."""
    if isinstance(exc, UnsafePath):
        return exc.strerror
    if exc.errno == errno.ENAMETOOLONG:
        return "the file name or path is too long for this file system"
    if exc.errno == errno.ELOOP:
        return "a symbolic link is in the way (not followed)"
    return exc.strerror or " ".join(str(exc).split()) or type(exc).__name__


def plain(obj):
    """``obj`` as plain JSON values: dataclasses and dicts become objects (a dataclass with a ``to_json``
    method as that says), tuples lists, paths strings, numpy and torch scalars numbers; NaN and
    infinities become strings (JSON has none)."""
    if is_dataclass(obj) and not isinstance(obj, type):
        if callable(getattr(obj, "to_json", None)):
            return plain(obj.to_json())
        return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item):
        obj = obj.item()
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return str(obj)
    return obj


def write_json(path: Path, data) -> Path:
    """Write ``data`` (made :func:`plain`) as indented JSON, atomically."""
    return write_atomic(path, json.dumps(plain(data), indent=2) + "\n")
