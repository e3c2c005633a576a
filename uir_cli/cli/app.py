"""The root `uir` command."""

from __future__ import annotations

from . import signals  # its import installs the start-up guard: Ctrl-C or kill while modules load, exit 130

import os  # noqa: E402
import sys  # noqa: E402
from enum import Enum  # noqa: E402

import typer  # noqa: E402

from .. import __version__  # noqa: E402
from . import benchmark, degrade, restore, train, weights  # noqa: E402
from .commands import Command, Group  # noqa: E402


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


app = typer.Typer(
    name="uir",
    cls=Group,
    help="Universal image restoration with DiffUIR: rain, haze, snow, blur and low light, one model.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
    add_completion=False,  # `uir completion SHELL` prints static scripts instead (no Python at TAB time)
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"uir {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Universal image restoration with DiffUIR."""


app.command("restore", no_args_is_help=True, cls=Command)(restore.restore)
app.add_typer(benchmark.app, name="benchmark")
app.command("train", no_args_is_help=True, cls=Command)(train.train)
app.command("degrade", no_args_is_help=True, cls=Command)(degrade.degrade)
app.add_typer(weights.app, name="weights")


@app.command("completion", cls=Command)
def completion(shell: Shell = typer.Argument(..., help="bash, zsh or fish.")) -> None:
    """Print the TAB-completion script for a shell (see the README to install it)."""
    from .completion import script_for

    typer.echo(script_for(shell.value), nl=False)


def main() -> None:
    signals.install()  # before anything runs: SIGTERM ends a command as Ctrl-C does
    try:
        app(prog_name="uir")
    except KeyboardInterrupt:  # outside a command's own handling
        pass
    except SystemExit as exc:
        if exc.code != signals.EXIT_INTERRUPTED:
            raise
    else:
        return
    # Interrupted (typer turns an interrupt while parsing into a silent exit 130): say so once, and exit
    # 130 for sure. Python would otherwise end by SIGINT itself (-2) when the interrupt had passed
    # through an exec() of a string (dataclasses, namedtuples being defined) before it was caught.
    if not signals.was_said():
        sys.stderr.write("interrupted\n")
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(signals.EXIT_INTERRUPTED)


# main() replaces the start-up guard with the run's handlers, leaving no instant without one.
