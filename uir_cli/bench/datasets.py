"""Benchmark datasets: where they live on disk and how inputs pair with targets.

``find_dataset("Rain100L", root)`` looks for a named dataset under ``root`` in
the layouts its authors' downloads use (spec: benchmark.md), first match wins;
``pair_folders(lq_dir, gt_dir)`` pairs two folders a user points at.  Pairing is
always by file name, never by position: an input or target left without a
partner is an error, as is an empty folder or two images with the same stem.
Only image files count (png, jpg, jpeg, bmp, tif, tiff, webp); hidden files,
sub-folders and other files are skipped.  Pairs come in natural order
(``2.png`` before ``10.png``).

This module reads folder listings only (no numpy, no image decoding), so the
CLI may import it for TAB completion of dataset names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import DatasetError, UsageError
from ..vocab import IMAGE_EXTENSIONS, natural_key


RULES = ("same-name", "rain", "sots")
_RULE_TEXT = {
    "same-name": "same file name (extensions may differ)",
    "rain": "same file name, or rain-N with norain-N",
    "sots": "the hazy name up to its first '_' names the clean file (several hazy inputs may share one)",
}
_SHOWN = 5  # unmatched file names quoted in an error


@dataclass(frozen=True)
class DatasetSpec:
    """One named benchmark set.

    ``layouts``: (input folder, target folder) pairs relative to the data root,
    tried in order.  ``cited_pairs``: the size papers commonly quote (checked
    against the files, reported when it differs, never enforced).
    """

    name: str
    task: str
    layouts: tuple[tuple[str, str], ...]
    pairing: str
    cited_pairs: int | None = None
    cited_note: str = ""


@dataclass(frozen=True)
class Pair:
    """One input (``lq``) and its clean target (``gt``); ``name`` is the input's file stem."""

    name: str
    input: Path
    target: Path


@dataclass(frozen=True)
class PairedSet:
    """A paired test set.  ``pairing`` is a rule id from :data:`RULES`; ``notes`` are lines for the report."""

    name: str
    task: str
    input_dir: Path
    target_dir: Path
    pairs: tuple[Pair, ...]
    pairing: str
    notes: tuple[str, ...] = ()


def _rain(name: str, cited: int, note: str = "") -> DatasetSpec:
    layouts = (
        (f"{name}/input", f"{name}/target"),
        (f"syn_rain/test/{name}/input", f"syn_rain/test/{name}/target"),
        (f"test/{name}/input", f"test/{name}/target"),
        (f"{name}/rainy", f"{name}/norain"),
    )
    return DatasetSpec(name, "rain", layouts, "rain", cited, note)


def _blur(name: str, cited: int, aliases: tuple[str, ...] = ()) -> DatasetSpec:
    folders = (name, *aliases)
    layouts = tuple((f"{d}/input", f"{d}/target") for d in folders) + tuple(
        (f"Deblur/test/{d}/input", f"Deblur/test/{d}/target") for d in folders
    )
    return DatasetSpec(name, "blur", layouts, "same-name", cited)


def _snow(name: str) -> DatasetSpec:
    layouts = (
        (f"Snow100K/test/{name}/synthetic", f"Snow100K/test/{name}/gt"),
        (f"{name}/synthetic", f"{name}/gt"),
    )
    return DatasetSpec(name, "snow", layouts, "same-name")


_LOL = DatasetSpec(
    "LOL",
    "low-light",
    (("LOL/test/low", "LOL/test/high"), ("LOL/eval15/low", "LOL/eval15/high"), ("LOL/low", "LOL/high")),
    "same-name",
    15,
    "the LOL test set",
)
_SOTS = DatasetSpec(
    "SOTS-outdoor",
    "haze",
    (
        ("RESIDE/SOTS/outdoor/hazy", "RESIDE/SOTS/outdoor/gt"),
        ("SOTS/outdoor/hazy", "SOTS/outdoor/gt"),
        ("SOTS-outdoor/input", "SOTS-outdoor/target"),
    ),
    "sots",
    500,
)

NAMED: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        _rain("Rain100L", 100),
        _rain("Rain100H", 100),
        _rain("Test100", 100, "some copies have 98"),
        _rain("Test1200", 1200),
        _rain("Test2800", 2800),
        _blur("GoPro", 1111),
        _blur("HIDE", 2025),
        _blur("RealBlur-J", 980, ("RealBlur_J", "Reblur_J")),
        _blur("RealBlur-R", 980, ("RealBlur_R", "Reblur_R")),
        _LOL,
        _snow("Snow100K-S"),
        _snow("Snow100K-L"),
        _SOTS,
    )
}

# Papers' SOTS numbers are not made the way uir makes them; a report should say so.
_SOTS_NOTE = "published SOTS numbers come from a MATLAB script that rounds Y to integers and resizes the target"


def dataset_names() -> list[str]:
    """Canonical names of the named datasets, in the spec's order."""
    return list(NAMED)


def describe_pairing(rule: str) -> str:
    """One phrase for reports saying how a pairing rule matches files."""
    _check_rule(rule)
    return _RULE_TEXT[rule]


def find_dataset(name: str, root: Path) -> PairedSet:
    """Find the named dataset ``name`` (case-, '-' and '_'-insensitive) under ``root`` and pair it.

    Layouts are tried in the spec's order and the first whose input and target
    folders both exist wins (folder names match case-insensitively when the
    exact spelling is absent).  Raises :class:`DatasetError` for an unknown
    name, a missing root, or when no layout exists (listing every path tried),
    and whatever :func:`pair_folders` raises.
    """
    spec = lookup(name)
    root = Path(root)
    if not root.is_dir():
        raise DatasetError("data root is not a folder", path=root, hint="point --data-root at the folder holding the datasets")
    partial: list[str] = []
    for rel_input, rel_target in spec.layouts:
        input_dir, target_dir = _resolve(root, rel_input), _resolve(root, rel_target)
        if input_dir is not None and target_dir is not None:
            found = pair_folders(input_dir, target_dir, rule=spec.pairing, name=spec.name, task=spec.task)
            return _with_notes(found, _dataset_notes(spec, root, input_dir, target_dir, len(found.pairs)))
        if input_dir is not None or target_dir is not None:
            have, lack = (rel_input, rel_target) if input_dir is not None else (rel_target, rel_input)
            partial.append(f"{have} exists but {lack} does not")
    tried = ", ".join(_braced(a, b) for a, b in spec.layouts)
    extra = f" ({'; '.join(partial)})" if partial else ""
    raise DatasetError(
        f"{spec.name} not found; tried {tried}{extra}",
        path=root,
        hint="point --data-root at the folder that holds it",
    )


def pair_folders(
    input_dir: Path, target_dir: Path, *, rule: str = "same-name", name: str = "custom", task: str = "auto"
) -> PairedSet:
    """Pair every image in ``input_dir`` with one in ``target_dir`` by ``rule`` (see :data:`RULES`).

    ``same-name``: equal stems (``1.png`` with ``1.jpg``).  ``rain``: equal
    stems, else ``rain-N`` with ``norain-N`` in any case (``Rain-1`` with
    ``NoRain-1``).  ``sots``: the input stem up to its first ``_`` is the
    target stem; several inputs may share one target.
    Raises :class:`DatasetError` for a missing or empty folder, two images with
    one stem in a folder, or any input or target left unpaired (naming some and
    counting all); never pairs by position.
    """
    _check_rule(rule)
    input_dir, target_dir = Path(input_dir), Path(target_dir)
    inputs, skipped_inputs = list_images(input_dir)
    targets, skipped_targets = list_images(target_dir)
    by_stem = {path.stem: path for path in targets}
    by_folded: dict[str, str] = {}  # lower-cased stem -> stem, for the rain rule's renaming
    for stem in by_stem:
        by_folded.setdefault(stem.lower(), stem)

    pairs: list[Pair] = []
    unmatched: list[Path] = []
    renamed = 0
    for path in inputs:
        match = _target_stem(path.stem, rule, by_stem, by_folded)
        if match is None:
            unmatched.append(path)
            continue
        renamed += match != path.stem
        pairs.append(Pair(name=path.stem, input=path, target=by_stem[match]))
    used = {pair.target for pair in pairs}
    orphans = [path for path in targets if path not in used]
    if unmatched or orphans:
        raise DatasetError(
            _unmatched_message(unmatched, len(inputs), input_dir, orphans, len(targets), target_dir),
            path=input_dir if unmatched else target_dir,
            hint=f"pairing rule: {_RULE_TEXT[rule]}",
        )

    notes = []
    for folder, skipped in ((input_dir, skipped_inputs), (target_dir, skipped_targets)):
        if skipped:
            notes.append(f"skipped {skipped} non-image file(s) in {folder}")
    if rule == "rain" and renamed:
        notes.append(f"{renamed} pair(s) matched rain-N with norain-N")
    if len(used) < len(pairs):
        notes.append(f"{len(pairs)} inputs share {len(used)} targets")
    return PairedSet(name, task, input_dir, target_dir, tuple(pairs), rule, tuple(notes))


def lookup(name: str, *, known: Sequence[str] | None = None) -> DatasetSpec:
    """The named dataset ``name`` (case-, '-', '_' and space-insensitive).

    Raises :class:`DatasetError` for an unknown name, listing ``known`` (default: the named sets).
    """
    wanted = _squash(name)
    for spec in NAMED.values():
        if _squash(spec.name) == wanted:
            return spec
    raise DatasetError(f"unknown dataset {name!r}", hint=f"known: {', '.join(known or NAMED)}")


def list_images(folder: Path) -> tuple[list[Path], int]:
    """Image files of ``folder`` in natural order, and how many other visible files were skipped.

    Raises :class:`DatasetError` when ``folder`` is not a folder, holds no image, or holds two
    images with one stem.
    """
    if not folder.is_dir():
        raise DatasetError("not a folder", path=folder)
    images: list[Path] = []
    skipped = 0
    for entry in folder.iterdir():
        if entry.name.startswith(".") or not entry.is_file():
            continue
        if entry.suffix.lower() in IMAGE_EXTENSIONS:
            images.append(entry)
        else:
            skipped += 1
    if not images:
        raise DatasetError("no images in this folder", path=folder, hint=f"looked for {', '.join(sorted(IMAGE_EXTENSIONS))}")
    images.sort(key=lambda p: natural_key(p.name))
    seen: dict[str, Path] = {}
    for path in images:
        if path.stem in seen:
            raise DatasetError(f"two images share the name {path.stem!r}: {seen[path.stem].name} and {path.name}", path=folder)
        seen[path.stem] = path
    return images, skipped


# --- internals -------------------------------------------------------------


def _check_rule(rule: str) -> None:
    if rule not in RULES:
        raise UsageError(f"unknown pairing rule {rule!r}", hint=f"choose one of {', '.join(RULES)}")


def _squash(name: str) -> str:
    return re.sub(r"[-_ ]", "", name).lower()


def _resolve(root: Path, rel: str) -> Path | None:
    """``root / rel`` if it is a folder, each part matched exactly or else case-insensitively; None if absent."""
    current = root
    for part in rel.split("/"):
        exact = current / part
        if exact.is_dir():
            current = exact
            continue
        folded = [c for c in current.iterdir() if c.name.lower() == part.lower() and c.is_dir()]
        if len(folded) != 1:
            return None
        current = folded[0]
    return current


def _braced(rel_input: str, rel_target: str) -> str:
    """``a/b/input`` + ``a/b/target`` -> ``a/b/{input,target}``."""
    head_i, _, leaf_i = rel_input.rpartition("/")
    head_t, _, leaf_t = rel_target.rpartition("/")
    if head_i == head_t:
        return f"{head_i}/{{{leaf_i},{leaf_t}}}" if head_i else f"{{{leaf_i},{leaf_t}}}"
    return f"{rel_input} + {rel_target}"


def _dataset_notes(spec: DatasetSpec, root: Path, input_dir: Path, target_dir: Path, count: int) -> list[str]:
    rel_input, rel_target = input_dir.relative_to(root).as_posix(), target_dir.relative_to(root).as_posix()
    notes = [f"{spec.name} found at {_braced(rel_input, rel_target)} under {root}"]
    if spec.cited_pairs is not None and count != spec.cited_pairs:
        tail = f" ({spec.cited_note})" if spec.cited_note else ""
        notes.append(f"{count} pairs, commonly cited {spec.cited_pairs}{tail}")
    if spec.pairing == "sots":
        notes.append(_SOTS_NOTE)
    return notes


def _with_notes(found: PairedSet, notes: list[str]) -> PairedSet:
    return PairedSet(
        found.name, found.task, found.input_dir, found.target_dir, found.pairs, found.pairing, (*notes, *found.notes)
    )


def _target_stem(stem: str, rule: str, by_stem: dict[str, Path], by_folded: dict[str, str]) -> str | None:
    """The stem of the target that the input ``stem`` pairs with under ``rule``; None when there is none.

    ``by_stem``: the targets by stem; ``by_folded``: their stems by lower-cased stem.
    """
    if rule == "sots":
        wanted = stem.split("_", 1)[0]
        return wanted if wanted in by_stem else None
    if stem in by_stem:
        return stem
    if rule == "rain" and stem.lower().startswith("rain-"):
        return by_folded.get("no" + stem.lower())  # rain-N -> norain-N, in any case
    return None


def _unmatched_message(
    unmatched: list[Path], n_inputs: int, input_dir: Path, orphans: list[Path], n_targets: int, target_dir: Path
) -> str:
    def quoted(paths: list[Path]) -> str:
        shown = ", ".join(p.name for p in paths[:_SHOWN])
        return shown + (f", ... ({len(paths) - _SHOWN} more)" if len(paths) > _SHOWN else "")

    parts = []
    if unmatched:
        parts.append(f"{len(unmatched)} of {n_inputs} inputs have no target in {target_dir} ({quoted(unmatched)})")
    if orphans:
        parts.append(f"{len(orphans)} of {n_targets} targets have no input in {input_dir} ({quoted(orphans)})")
    return "; ".join(parts)
