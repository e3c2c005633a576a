"""`uir degrade`: write degraded/clean training pairs from clean photos."""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..atomic import write_atomic
from ..degrade import KINDS
from ..errors import EXIT_SOME_FAILED, ImageError, UsageError
from .console import err, handle_errors, is_interactive

# The --kind choices: the five degradations and "all".
Kind = Enum("Kind", {name.replace("-", "_"): name for name in (*KINDS, "all")}, type=str)


@handle_errors
def degrade(
    clean: Annotated[list[Path], typer.Argument(metavar="CLEAN", help="Clean images, or folders (searched recursively).", show_default=False)],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder: pairs go to OUT/KIND/input and OUT/KIND/target.", show_default=False)],
    kind: Annotated[Kind, typer.Option("--kind", "-k", help="The degradation, or all five.", show_default=False)],
    per_image: Annotated[int, typer.Option("--per-image", "-n", min=1, help="Degraded variants per clean image (named NAME_k).")] = 1,
    seed: Annotated[int, typer.Option(min=0, help="Seed; each output's own comes from it, the kind, the file's name and k.")] = 0,
) -> None:
    """Write synthetic degraded/clean pairs from clean photos, with a manifest of the parameters used."""
    from ..degrade import degrade_with_params
    from ..degrade.pairs import Manifest, PairRecord, collect_sources, plan
    from ..engine.imageio import is_image_path, read_image, write_image

    kinds = list(KINDS) if kind.value == "all" else [kind.value]
    sources = collect_sources(clean, is_image_path)
    if not sources:
        raise UsageError("no images found", path=clean[0] if len(clean) == 1 else None)
    manifests = {k: Manifest(k, seed, per_image) for k in kinds}
    failed = written = 0
    try:
        with _progress(len(sources)) as done:
            for source, jobs in itertools.groupby(plan(sources, kinds, per_image), key=lambda job: job.source):
                jobs = list(jobs)
                try:
                    rgb = read_image(source.path).rgb
                except ImageError as error:  # unreadable: every kind of this photo fails
                    failed += 1
                    err.print(Text.assemble(("error: ", "bold red"), error.one_line()))
                    for kind in dict.fromkeys(job.kind for job in jobs):
                        manifests[kind].failed.append((source, error.message))
                    done(source.path)
                    continue
                ok = True
                for job in jobs:  # a failed write fails that pair only
                    try:
                        result = degrade_with_params(rgb, job.kind, job.rng(seed))
                        write_image(out / job.kind / "input" / job.name, result.lq)
                        write_image(out / job.kind / "target" / job.name, rgb)
                    except ImageError as error:
                        ok = False
                        err.print(Text.assemble(("error: ", "bold red"), error.one_line()))
                        manifests[job.kind].failed.append((source, error.message))
                        continue
                    manifests[job.kind].pairs.append(PairRecord(job, result.params))
                    written += 1
                failed += not ok
                done(source.path)
    finally:
        for manifest in manifests.values():
            if manifest.pairs or manifest.failed:
                _write_json(out / manifest.kind / "manifest.json", manifest.to_json())
    err.print(Text(f"{written} pair(s) in {out}" + (f", {failed} image(s) failed" if failed else "")))
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Path], None]]:
    """Yield a callback to call after each clean file: a bar on a terminal, else one line per file."""
    if not is_interactive():
        yield lambda path: err.print(Text(f"{path}"))
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("degrading", total=total)
        yield lambda path: bar.advance(task)


def _write_json(path: Path, data: dict) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    try:
        write_atomic(path, json.dumps(data, indent=2) + "\n")
    except OSError as exc:
        raise ImageError(f"cannot write: {exc.strerror or exc}", path=path) from None
