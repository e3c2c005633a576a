"""`uir degrade`: write degraded/clean training pairs from clean photos."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
from collections.abc import Callable, Iterator
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.text import Text

from ..atomic import describe, write_atomic
from ..degrade import KINDS
from ..errors import EXIT_SOME_FAILED, ImageError, UsageError, shown
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
    max_pixels: Annotated[int, typer.Option(help="Refuse clean images with more pixels, from their header (0: no limit); degrading takes up to about 100 bytes a pixel (5 GB at the default).", min=0)] = 50_000_000,
) -> None:
    """Write synthetic degraded/clean pairs from clean photos, with a manifest of the parameters used.

    Exit codes: 0 every pair written; 1 some images failed (one line each: unreadable, not a
    regular file, too large, a write that failed), the others were written; 2 usage error; 130
    interrupted.
    """
    from ..degrade.pairs import Manifest, plan

    from .restore import check_out_folder

    check_out_folder(out)
    kinds = list(KINDS) if kind.value == "all" else [kind.value]
    sources, refused = _find_sources(clean)
    manifests = {k: Manifest(k, seed, per_image) for k in kinds}
    failed, written = len(refused), 0
    try:
        with _progress(len(sources)) as done:
            for source, jobs in itertools.groupby(plan(sources, kinds, per_image), key=lambda job: job.source):
                pairs, ok = _degrade_photo(source, list(jobs), manifests, out, seed, max_pixels)
                written, failed = written + pairs, failed + (not ok)
                done(source.path)
    finally:
        for manifest in manifests.values():
            if manifest.pairs or manifest.failed:
                _write_json(out / manifest.kind / "manifest.json", manifest.to_json(), out)
    err.print(Text(f"{written} pair(s) in {shown(out)}" + (f", {failed} image(s) failed" if failed else "")))
    if failed:
        raise typer.Exit(EXIT_SOME_FAILED)


@contextlib.contextmanager
def _progress(total: int) -> Iterator[Callable[[Path], None]]:
    """Yield a callback to call after each clean file: a bar on a terminal, else one line per file."""
    if not is_interactive():
        yield lambda path: err.print(Text(shown(path)))
        return
    from rich.progress import Progress

    with Progress(console=err, transient=True) as bar:
        task = bar.add_task("degrading", total=total)
        yield lambda path: bar.advance(task)


def _find_sources(clean: list[Path]) -> tuple[list, list[tuple[Path, str]]]:
    """The clean images to degrade, and the paths refused (not regular files), each said on stderr.

    Only regular files are read: a FIFO would hang, a link loop cannot open.  Exits 1 when everything
    was refused; a usage error when nothing was found."""
    from ..degrade.pairs import collect_sources
    from ..engine.batch.inputs import not_regular
    from ..imageio import is_image_path

    refused: dict[str, tuple[Path, str]] = {}

    def regular_image(path: Path) -> bool:
        if not is_image_path(path):
            return False
        why = not_regular(path)
        if why:
            refused.setdefault(os.path.abspath(path), (path, why))
        return not why

    given = []
    for path in clean:
        why = None if path.is_dir() or not os.path.lexists(path) else not_regular(path)  # missing: a usage error
        if why:
            refused.setdefault(os.path.abspath(path), (path, why))
        else:
            given.append(path)
    sources = collect_sources(given, regular_image)
    for path, why in refused.values():
        err.print(Text.assemble(("error: ", "bold red"), f"{shown(path)}: {why}"))
    if not sources:
        if refused:
            raise typer.Exit(EXIT_SOME_FAILED)
        raise UsageError("no images found", path=clean[0] if len(clean) == 1 else None)
    return sources, list(refused.values())


def _failure(exc: BaseException) -> str:
    if isinstance(exc, ImageError):
        return exc.message
    if isinstance(exc, MemoryError):
        return "not enough memory for this image (see --max-pixels)"
    return f"unexpected error: {type(exc).__name__}: {' '.join(str(exc).split())[:200]}"


def _degrade_photo(source, jobs: list, manifests: dict, out: Path, seed: int, max_pixels: int) -> tuple[int, bool]:
    """Write every pair of one clean photo: (pairs written, whether all were)."""
    from ..degrade import degrade_with_params
    from ..degrade.pairs import PairRecord
    from ..imageio import read_image, write_image

    try:
        rgb = read_image(source.path, max_pixels=max_pixels or None).rgb
    except Exception as error:  # noqa: BLE001 - unreadable: every kind of this photo fails, not the run
        reason = _failure(error)
        err.print(Text.assemble(("error: ", "bold red"), f"{shown(source.path)}: {reason}"))
        for kind in dict.fromkeys(job.kind for job in jobs):
            manifests[kind].failed.append((source, reason))
        return 0, False
    written, ok = 0, True
    for job in jobs:  # a failed write fails that pair only
        try:
            result = degrade_with_params(rgb, job.kind, job.rng(seed))
            write_image(out / job.kind / "input" / job.name, result.lq, within=out)
            write_image(out / job.kind / "target" / job.name, rgb, within=out)
        except Exception as error:  # noqa: BLE001 - this pair fails, the others go on
            ok = False
            reason = _failure(error)
            err.print(Text.assemble(("error: ", "bold red"), f"{shown(source.path)} ({job.kind}): {reason}"))
            manifests[job.kind].failed.append((source, reason))
            continue
        manifests[job.kind].pairs.append(PairRecord(job, result.params))
        written += 1
    return written, ok


def _write_json(path: Path, data: dict, within: Path) -> None:
    """Write ``data`` as JSON to ``path`` atomically (a temporary file, then a rename)."""
    try:
        write_atomic(path, json.dumps(data, indent=2) + "\n", within=within)
    except OSError as exc:
        raise ImageError(f"cannot write: {describe(exc)}", path=path) from None
