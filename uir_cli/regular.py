"""Reading only regular files.

Opening a FIFO blocks until someone writes to it, a device may never end, and
a symbolic link loop cannot be opened at all: every file uir reads (images,
weights, registries) is opened here, and anything but a regular file is
refused with one line saying what it is, before a byte is read.  The check is
made on the opened file itself (``fstat``), so swapping the file after a look
at its name changes nothing.  No torch import.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path
from typing import BinaryIO

_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


class NotRegular(OSError):
    """Not a regular file (a FIFO, device, socket, folder or link loop); ``strerror`` says which."""


def kind_of(mode: int) -> str:
    """What a file of ``st_mode`` is, in words ("a FIFO (named pipe)", "a folder"...)."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def _refuse(mode: int) -> NotRegular:
    what = kind_of(mode)
    text = what if what == "not a regular file" else f"not a regular file: {what}"
    return NotRegular(errno.EISDIR if stat.S_ISDIR(mode) else errno.EINVAL, text)


def _loop(exc: OSError) -> OSError:
    if exc.errno == errno.ELOOP:
        return NotRegular(errno.ELOOP, "a symbolic link loop (or too many links in a row)")
    return exc


def check_regular(path: str | os.PathLike) -> None:
    """Raise :class:`NotRegular` (or the system's OSError, e.g. FileNotFoundError) unless ``path`` is a
    regular file, following links.  Opens nothing."""
    try:
        st = os.stat(path)
    except OSError as exc:
        raise _loop(exc) from None
    if not stat.S_ISREG(st.st_mode):
        raise _refuse(st.st_mode)


def open_regular(path: str | os.PathLike) -> BinaryIO:
    """``path`` opened for reading in binary, only if it is a regular file (links followed).

    Raises :class:`NotRegular` for anything else, the system's OSError otherwise (missing,
    permission denied...).  A FIFO is never waited on.
    """
    check_regular(path)  # before opening: opening a device may itself do something
    try:
        fd = os.open(Path(path), os.O_RDONLY | _O_NONBLOCK | _O_CLOEXEC | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        raise _loop(exc) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):  # swapped since the look
            raise _refuse(st.st_mode)
        if _O_NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def resolved(path: Path) -> Path:
    """``path`` with links resolved as far as they go; the absolute path where they cannot (a loop)."""
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return Path(os.path.abspath(path))


def sha256_of(path: Path | BinaryIO, chunk: int = 1 << 20) -> str:
    """The sha256 of a regular file (a path, or an open file read from its start)."""
    h = hashlib.sha256()
    if isinstance(path, (str, os.PathLike)):
        with open_regular(path) as f:
            return sha256_of(f, chunk)
    path.seek(0)
    while block := path.read(chunk):
        h.update(block)
    return h.hexdigest()
