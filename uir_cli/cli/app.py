"""The root `uir` command."""

from __future__ import annotations

import typer

from .. import __version__
from . import restore, weights

app = typer.Typer(
    name="uir",
    help="Universal image restoration with DiffUIR: rain, haze, snow, blur and low light, one model.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
    pretty_exceptions_enable=False,
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
app.add_typer(weights.app, name="weights")


def main() -> None:
    app(prog_name="uir")
