"""`uir weights`: list, inspect, import and verify named weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from ..errors import RegistryError, UirError, shown
from ..registry import load_registry, user_registry_path
from .commands import Command, Group
from .console import err, handle_errors, out

app = typer.Typer(help="List, inspect, import and verify weights.", no_args_is_help=True, cls=Group)


def complete_weight_names(incomplete: str) -> list[str]:
    """TAB completion of registered names (reads the registry only: no torch)."""
    try:
        return [n for n in load_registry().entries if n.startswith(incomplete)]
    except UirError:
        return []


@app.command("list", cls=Command)
@handle_errors
def list_weights(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
    names: Annotated[bool, typer.Option("--names", help="Print the names only, one a line (for scripts).")] = False,
) -> None:
    """List the named weights: shipped, downloadable and imported."""
    reg = load_registry()
    if names:
        for name in reg.entries:
            typer.echo(name)
        return
    rows = [e.to_json() | {"default": e.name == reg.default} for e in reg.entries.values()]
    if as_json:
        out.print_json(json.dumps(rows))
        return
    from rich.table import Table

    table = Table(title="uir weights", title_justify="left")
    for col in ("name", "variant", "dim", "dim_mults", "steps", "status", "description"):
        table.add_column(col)
    for e in reg.entries.values():
        status = "[green]ready[/]" if e.is_available() else ("download by hand" if e.page else "[red]missing[/]")
        name = f"{e.name} [bold](default)[/]" if e.name == reg.default else e.name
        table.add_row(name, e.variant, str(e.dim), ",".join(map(str, e.dim_mults)), str(e.steps), status, e.description)
    out.print(table)
    out.print(f"imported weights live in {user_registry_path().parent}", style="dim")


@app.command("info", cls=Command)
@handle_errors
def info(
    target: Annotated[str, typer.Argument(help="A registered name or a weights file.", autocompletion=complete_weight_names)],
    which: Annotated[str, typer.Option(help="Which weights of a trainer checkpoint: auto (EMA if present), ema, online.")] = "auto",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show a weights file's variant, shape, parameter count, sha256 and contents."""
    from ..engine.models import resolve_named
    from ..engine.weights import load_weights

    path = Path(target).expanduser()
    named = not path.exists()
    if not named:
        model = load_weights(path, which=which)
    else:
        try:
            model = resolve_named(target, which=which)
        except RegistryError:
            if "/" in target or "." in Path(target).name:
                raise UirError("no such file or registered name", path=target) from None
            raise
    record = {
        "name": model.name if named else None,
        "path": str(model.path),
        "variant": model.variant,
        "dim": model.config.dim,
        "dim_mults": list(model.config.dim_mults),
        "parameters": model.parameters,
        "sha256": model.sha256,
        "format": model.file_format,
        "holds": list(model.available),
        "loaded": model.which,
        "step": model.step,
        "size_multiple": model.size_multiple,
        "metadata": model.metadata,
    }
    if as_json:
        out.print_json(json.dumps(record))
        return
    for key, value in record.items():
        if value in (None, {}, ""):
            continue
        if isinstance(value, list):
            value = ", ".join(map(str, value))
        if key == "parameters":
            value = f"{value:,}"
        out.print(f"[bold]{key:>13}[/]  {escape(str(value))}")


@app.command("import", cls=Command)
@handle_errors
def import_(
    path: Annotated[Path, typer.Argument(help="A checkpoint (.pt/.pth) or safetensors file.", exists=False)],
    name: Annotated[str, typer.Option("--name", help="The name --model will use.")],
    which: Annotated[str, typer.Option(help="auto (EMA if present), ema or online.")] = "auto",
    steps: Annotated[int, typer.Option(help="Default sampling steps for these weights.", min=1, max=1000)] = 3,
    description: Annotated[str, typer.Option(help="A one-line description.")] = "",
) -> None:
    """Validate a file, store it as safetensors in the user's data directory and register it."""
    from ..engine.models import import_weights

    entry = import_weights(path, name, which=which, description=description, steps=steps)
    err.print(f"imported [bold]{escape(entry.name)}[/] ({entry.variant}) -> {escape(shown(entry.file))}")
    err.print(f"use it with: uir restore INPUT --out DIR --model {entry.name}", style="dim")


@app.command("verify", cls=Command)
@handle_errors
def verify(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Re-check the sha256 of every stored weights file; exit 1 on a mismatch, a missing or an unreadable file."""
    from ..engine.models import verify_all

    results = verify_all()
    if as_json:
        out.print_json(json.dumps([r.__dict__ for r in results]))
    else:
        style = {"ok": "green", "mismatch": "bold red", "missing": "bold red", "unreadable": "bold red", "unpinned": "yellow",
                 "not-downloaded": "dim"}
        for r in results:
            where = f"{shown(r.path)}: {r.detail}" if r.status == "unreadable" else shown(r.path or r.detail)
            out.print(f"[{style[r.status]}]{r.status:>14}[/]  {escape(r.name)}  {escape(where)}")
    if any(r.status in ("mismatch", "missing", "unreadable") for r in results):
        raise typer.Exit(1)
