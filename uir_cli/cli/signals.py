"""Signals: Ctrl-C and `kill` end any command with one line and exit 130, from the first instant.

- While the CLI's modules are imported (typer, Rich: a few tenths of a second)
  nothing has started, so SIGINT and SIGTERM print ``interrupted`` and exit 130
  at once (:func:`startup_guard`, installed when this module is imported),
  instead of a traceback or a silent 143.
- Then :func:`install` makes SIGTERM raise KeyboardInterrupt, as Ctrl-C does,
  so a command ends as cleanly after `kill` (cron's timeout, a scheduler) as
  after Ctrl-C: files being written are finished, the report is written.
Only the main thread can install handlers; elsewhere (tests) nothing changes.
"""

from __future__ import annotations

import os
import signal

EXIT_INTERRUPTED = 130  # as uir_cli.errors.EXIT_INTERRUPTED (not imported: this runs before anything else)
_said = False  # whether the run already said it was interrupted (main() says it otherwise)
_SIGNALS = tuple(s for s in (getattr(signal, "SIGINT", None), getattr(signal, "SIGTERM", None)) if s is not None)


def _exit_now(signum, frame) -> None:  # noqa: ARG001 - a signal handler's signature
    try:
        os.write(2, b"interrupted\n")
    finally:
        os._exit(EXIT_INTERRUPTED)


def startup_guard() -> dict:
    """Exit 130 with one line on SIGINT or SIGTERM; returns the handlers it replaced."""
    previous = {}
    for sig in _SIGNALS:
        try:
            previous[sig] = signal.signal(sig, _exit_now)
        except (ValueError, OSError):  # not the main thread
            pass
    return previous


def _raise_interrupt(signum, frame) -> None:  # noqa: ARG001
    raise KeyboardInterrupt


def said() -> None:
    """Record that the interruption was reported to the user (a line with "interrupted")."""
    global _said
    _said = True


def was_said() -> bool:
    return _said


def install() -> None:
    """SIGINT and SIGTERM raise KeyboardInterrupt (the commands turn it into a clean exit 130)."""
    handlers = {getattr(signal, "SIGINT", None): signal.default_int_handler,
                getattr(signal, "SIGTERM", None): _raise_interrupt}
    for sig, handler in handlers.items():
        if sig is None:
            continue
        try:
            signal.signal(sig, handler)
        except (ValueError, OSError):  # not the main thread (tests)
            pass


def run_as_the_command() -> bool:
    """Whether this process is `uir` itself (its script, or ``python -m uir_cli``), not a program importing it."""
    import sys

    first = (sys.argv[0] if sys.argv and sys.argv[0] else "").replace("\\", "/")
    return first.rsplit("/", 1)[-1] in ("uir", "uir.exe") or first.endswith("uir_cli/__main__.py")


# Installed as this module is imported, the first thing `uir` does (uir_cli.cli.app imports it before
# typer and Rich); a program that imports the CLI's modules (tests) keeps its own handlers.
if run_as_the_command():
    startup_guard()
