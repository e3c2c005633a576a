"""User-facing errors.

Every error a user can cause (a bad path, a bad file, wrong weights, a device
that is not there) is raised as a :class:`UirError`.  The CLI prints its
``message`` as one line, with the ``hint`` when there is one, and exits with
``exit_code``; it never shows a traceback for these.
"""

from __future__ import annotations

from pathlib import Path

# Exit codes shared by every command.
EXIT_OK = 0
EXIT_SOME_FAILED = 1
EXIT_USAGE = 2
EXIT_CANNOT_START = 3
EXIT_INTERRUPTED = 130


def shown(path: Path | str) -> str:
    """``path`` as one safe line: as it is when every character prints, else quoted with escapes.

    A newline or escape sequence in a file name must not split or forge a line of output,
    and a name that is not valid UTF-8 shows its bytes as ``\\xNN``.
    """
    text = str(path)
    if text.isprintable():
        return text
    out = []
    for ch in text:
        code = ord(ch)
        if 0xDC80 <= code <= 0xDCFF:  # a byte that is not UTF-8, as os.fsdecode keeps it
            out.append(f"\\x{code - 0xDC00:02x}")
        elif ch in "'\\":
            out.append("\\" + ch)
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(repr(ch)[1:-1])
    return "'" + "".join(out) + "'"


class UirError(Exception):
    """An error with a one-line message meant for the user."""

    exit_code = EXIT_CANNOT_START

    def __init__(self, message: str, *, hint: str | None = None, path: Path | str | None = None):
        self.message = message
        self.hint = hint
        self.path = Path(path) if path is not None else None
        super().__init__(self.one_line())

    def one_line(self) -> str:
        where = f"{shown(self.path)}: " if self.path is not None else ""
        tail = f" ({self.hint})" if self.hint else ""
        return f"{where}{self.message}{tail}"


class UsageError(UirError):
    """Options that cannot work together, or a value out of range."""

    exit_code = EXIT_USAGE


class WeightsError(UirError):
    """A weights file that is missing, unsafe, truncated, foreign or of the wrong shape."""


class RegistryError(UirError):
    """weights.toml or the user's registry is malformed, or a name is unknown."""


class DeviceError(UirError):
    """A device or precision that is not available here."""


class ImageError(UirError):
    """An input image that cannot be read, or an output that cannot be written."""

    exit_code = EXIT_SOME_FAILED


class DatasetError(UirError):
    """A benchmark dataset that cannot be found or paired."""

    exit_code = EXIT_USAGE
