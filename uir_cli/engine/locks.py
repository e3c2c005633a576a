"""Claiming outputs, so that two runs on the same output folder never do the same file.

A claim is an advisory lock (``flock``) on a hidden file beside the output,
``.NAME.uirlock``.  The kernel drops the lock when its process dies, so a killed
run leaves nothing that blocks the next one; a finished claim deletes its file.
Where ``flock`` does not exist (Windows) the claim is the file's exclusive
creation, and a crashed run's file must be deleted by hand.
"""

from __future__ import annotations

import os
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None


def lock_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.uirlock")


class OutputClaim:
    """``with OutputClaim(dest) as claimed:`` is True when this process holds ``dest``."""

    def __init__(self, dest: Path):
        self.path = lock_path(dest)
        self.fd: int | None = None

    def acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            try:
                self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            return True
        for _ in range(3):
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                return False
            # The holder before us may have deleted the file between our open and our lock:
            # then we hold a lock on a file nobody else can see. Try again on the current one.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                self.fd = fd
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
                return True
            os.close(fd)
        return False

    def release(self) -> None:
        if self.fd is None:
            return
        try:
            self.path.unlink(missing_ok=True)
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
