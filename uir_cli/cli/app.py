"""The root `uir` command."""

from __future__ import annotations

from . import signals

_before_import = signals.startup_guard()  # Ctrl-C or kill while the modules load: one line, exit 130

import sys  # noqa: E402
from enum import Enum  # noqa: E402

import typer  # noqa: E402

from .. import __version__  # noqa: E402
from . import benchmark, degrade, restore, train, weights  # noqa: E402


class Shell(str, Enum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


app = typer.Typer(
    name="uir",
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


app.command("restore", no_args_is_help=True)(restore.restore)
app.add_typer(benchmark.app, name="benchmark")
app.command("train", no_args_is_help=True)(train.train)
app.command("degrade", no_args_is_help=True)(degrade.degrade)
app.add_typer(weights.app, name="weights")


@app.command("completion")
def completion(shell: Shell = typer.Argument(..., help="bash, zsh or fish.")) -> None:
    """Print the TAB-completion script for a shell (see the README to install it)."""
    from .completion import script_for

    typer.echo(script_for(shell.value), nl=False)


def main() -> None:
    signals.install()  # before anything runs: SIGTERM ends a command as Ctrl-C does
    try:
        app(prog_name="uir")
    except KeyboardInterrupt:  # outside a command's own handling (while parsing, say)
        sys.stderr.write("interrupted\n")
        sys.exit(130)


def _run_as_the_command() -> bool:
    """Whether this process is `uir` itself (the script, or ``python -m uir_cli``), not a program importing it."""
    first = sys.argv[0] if sys.argv and sys.argv[0] else ""
    name = first.replace("\\", "/").rsplit("/", 1)[-1]
    return name in ("uir", "uir.exe") or first.replace("\\", "/").endswith("uir_cli/__main__.py")


if not _run_as_the_command():  # imported (tests, another program): give the handlers back
    signals.restore(_before_import)
# else main() replaces the guard with the run's handlers, leaving no instant without one
