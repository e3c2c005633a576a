"""Claiming outputs, so that two runs on the same output folder never do the same file.

A claim is an advisory lock (``flock``) on a hidden file beside the output,
``.uir-HASH.lock`` (HASH stands for the output's name, so any name the file
system takes can be claimed).  The kernel drops the lock when its process
dies, so a killed run leaves nothing that blocks the next one; a finished
claim deletes its file.  The lock file is created readable by its owner only (no
other user can open it, so none can hold it); one that belongs to another user
and is held is not waited for (see :mod:`.batch`).  It is opened without following links and
must be a plain file with no other name (a planted link or hard link to
another file is refused, never written), in a folder opened as
:func:`uir_cli.atomic.open_folder` does (``within``: no link inside ``--out``
is followed).  Where ``flock`` does not exist (Windows) the claim is the
file's exclusive creation, and a crashed run's file must be deleted by hand.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from ...atomic import Folder, UnsafePath, check_name, name_hash, open_folder

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


def lock_name(dest: Path) -> str:
    return f".uir-{name_hash(dest.name)}.lock"


def lock_path(dest: Path) -> Path:
    return dest.with_name(lock_name(dest))


class OutputClaim:
    """``with OutputClaim(dest) as claimed:`` is True when this process holds ``dest``.

    :meth:`acquire` raises OSError (:class:`~uir_cli.atomic.UnsafePath` with a one-line
    ``strerror`` for a link, a foreign file or a name too long) when the claim cannot be made.
    """

    def __init__(self, dest: Path, *, within: Path | None = None):
        self.dest = Path(dest)
        self.path = lock_path(self.dest)
        self.within = within
        self.fd: int | None = None
        self.folder: Folder | None = None
        self.holder_uid: int | None = None  # when another process holds the claim: who owns its lock file

    def acquire(self) -> bool:
        check_name(self.dest)
        folder = open_folder(self.dest.parent, within=self.within)
        try:
            held = self._acquire(folder)
        except BaseException:
            folder.close()
            raise
        if held:
            self.folder = folder
        else:
            folder.close()
        return held

    def _open(self, folder: Folder) -> int:
        name = self.path.name
        # 0600: no other user can open it, so none can hold it (flock needs only a read-only fd).
        fd = folder.open(name, os.O_RDWR | os.O_CREAT | _O_NOFOLLOW | _O_NONBLOCK, 0o600)
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1:
            os.close(fd)
            raise UnsafePath(errno.EPERM, f"{self.path} is not uir's lock file (a special file or one with other "
                                          "names); not used")
        return fd

    def _acquire(self, folder: Folder) -> bool:
        name = self.path.name
        if fcntl is None:  # pragma: no cover - Windows
            try:
                self.fd = folder.open(name, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            return True
        for _ in range(3):
            try:
                fd = self._open(folder)
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise UnsafePath(errno.ELOOP, f"{self.path} is a symbolic link; not followed") from None
                raise
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                self.holder_uid = os.fstat(fd).st_uid
                os.close(fd)
                return False
            # The holder before us may have deleted the file between our open and our lock:
            # then we hold a lock on a file nobody else can see. Try again on the current one.
            try:
                same = folder.lstat(name).st_ino == os.fstat(fd).st_ino
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
            if self.folder is not None:
                self.folder.unlink(self.path.name)
        finally:
            os.close(self.fd)
            self.fd = None
            if self.folder is not None:
                self.folder.close()
                self.folder = None

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()
