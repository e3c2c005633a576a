"""Where the CLI writes: results on stdout, progress, tables and errors on stderr."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from typing import TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from ..errors import EXIT_INTERRUPTED, UirError
from . import signals

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable)


def fail(error: UirError) -> typer.Exit:
    """Print the error as one line and return the Exit to raise."""
    err.print(f"[bold red]error:[/] {escape(error.one_line())}", markup=True, highlight=False, emoji=False)
    return typer.Exit(error.exit_code)


def handle_errors(fn: F) -> F:
    """Turn UirError into one line on stderr and its exit code; Ctrl-C into exit 130."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except UirError as e:
            raise fail(e) from None
        except KeyboardInterrupt:
            err.print("interrupted", style="yellow")
            signals.said()
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def is_interactive() -> bool:
    return sys.stderr.isatty()
