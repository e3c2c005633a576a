"""Which pairs a benchmark evaluates: named sets, the synthetic set, custom folders, and predictions.

::

    selection = select_datasets("Rain100L,LOL", root)          # or custom_selection(lq_dir, gt_dir)
    work = plan_work(selection, limit=10, predictions=None)    # what evaluate.evaluate() takes

Only folder listings are read here (no pixels).  Errors a user can cause (an
unknown or missing dataset, files without a partner, missing predictions) raise
:class:`~uir_cli.errors.DatasetError` naming the folder and what was tried.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import DatasetError
from . import synthetic
from .datasets import NAMED, Pair, PairedSet, find_dataset, list_images, lookup, pair_folders

_SHOWN = 5  # file names quoted in an error


@dataclass(frozen=True)
class Selection:
    """The sets to evaluate, the named sets that were asked for but not usable (name, why), and notes."""

    sets: tuple[PairedSet, ...]
    absent: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Work:
    """One set as it will be evaluated: the pairs used (after ``--limit``), their predictions.

    ``predictions``: pair name -> file of another method's output (None: run the model).
    ``has_inputs``: False when only predictions and targets were given (no input baseline).
    """

    dataset: PairedSet
    pairs: tuple[Pair, ...]
    predictions: dict[str, Path] | None = None
    has_inputs: bool = True


def dataset_choices() -> list[str]:
    """Every name ``--dataset`` accepts: the named sets, ``synthetic`` and its tasks, and ``all``."""
    return [*NAMED, synthetic.NAME, *synthetic.set_names(), "all"]


def select_datasets(names: str, root: Path, *, synthetic_root: Path | None = None) -> Selection:
    """Resolve ``--dataset`` (comma-separated names, ``all``, ``synthetic``, ``synthetic-TASK``).

    Named sets are found under ``root`` (:func:`.datasets.find_dataset`, first layout wins).
    ``all`` takes every named set found under ``root`` and lists the others as absent (it does
    not include ``synthetic``); it is an error only when none is found.  ``synthetic`` builds the
    synthetic set when needed (:func:`.synthetic.ensure_synthetic`).  Raises :class:`DatasetError`
    for an unknown name, or an explicitly named set that is missing or cannot be paired.
    """
    wanted = [n.strip() for n in names.split(",") if n.strip()]
    if not wanted:
        raise DatasetError("no dataset named", hint=f"choose from {', '.join(dataset_choices())}")
    sets: dict[str, PairedSet] = {}
    absent: list[tuple[str, str]] = []
    notes: list[str] = []
    for name in wanted:
        if name.lower() == "all":
            for spec_name in NAMED:
                try:
                    found = find_dataset(spec_name, root)
                except DatasetError as error:
                    absent.append((spec_name, error.one_line()))
                    continue
                sets.setdefault(found.name, found)
            continue
        tasks = synthetic.tasks_for(name)
        if tasks is not None:
            built = synthetic.ensure_synthetic(synthetic_root)
            if built.built:
                notes.append(f"built the synthetic set in {built.root} ({built.reason})")
            for task in tasks:
                lq_dir, gt_dir = built.folders(task)
                found = pair_folders(lq_dir, gt_dir, name=synthetic.set_name(task), task=task)
                origin = (f"made by uir.degrade from the shipped photos, seed {synthetic.SEED}; files, sha256 and "
                          f"parameters in {built.root / synthetic.MANIFEST}")
                sets.setdefault(found.name, replace(found, notes=(origin, *found.notes)))
            continue
        spec = lookup(name, known=dataset_choices())  # an unknown name's error lists every choice
        found = find_dataset(spec.name, root)
        sets.setdefault(found.name, found)
    absent = [(n, why) for n, why in absent if n not in sets]
    if not sets:
        raise DatasetError(
            f"none of the named datasets is under {root}: " + "; ".join(why for _, why in absent),
            path=root, hint="point --data-root (or $UIR_DATA) at the folder that holds them")
    return Selection(tuple(sets.values()), tuple(absent), tuple(notes))


def custom_selection(input_dir: Path | None, target_dir: Path, *, task: str = "auto",
                     predictions: Path | None = None) -> Selection:
    """Pair ``--input`` with ``--target`` by file name (``same-name`` rule).

    With ``input_dir`` None the ``predictions`` folder is paired with the targets instead
    (the set then has no inputs).  Raises :class:`DatasetError` for unmatched files.
    """
    if input_dir is None:
        if predictions is None:
            raise DatasetError("give --input with --target (or --predictions to score outputs alone)")
        return Selection((pair_folders(predictions, target_dir, name="custom", task=task),))
    return Selection((pair_folders(input_dir, target_dir, name="custom", task=task),))


def plan_work(selection: Selection, *, limit: int | None = None, predictions: Path | None = None,
              inputs_given: bool = True) -> list[Work]:
    """Apply ``--limit`` (the first N pairs of each set, natural order) and pair ``--predictions``.

    Predictions for a set are looked for in ``predictions/SETNAME/`` (the layout ``--save-images``
    writes), which several sets require; one set may also use ``predictions/`` itself.  A
    pair's prediction has its input's name, or else its target's.  Raises :class:`DatasetError`
    naming the pairs that have no prediction, and for a predictions folder with no image or
    two images of one name.
    """
    work = []
    several = len(selection.sets) > 1
    for dataset in selection.sets:
        pairs = dataset.pairs[:limit] if limit else dataset.pairs
        found = None
        if predictions is not None:
            found = ({p.name: p.input for p in pairs} if not inputs_given
                     else _match_predictions(dataset.name, pairs, predictions, several))
        work.append(Work(dataset, tuple(pairs), found, inputs_given))
    return work


def _match_predictions(name: str, pairs: Sequence[Pair], root: Path, several: bool) -> dict[str, Path]:
    folder = root / name if (root / name).is_dir() or several else root
    if not folder.is_dir():
        hint = "with several datasets, each one's predictions go in DIR/DATASET" if several else None
        raise DatasetError("the predictions folder does not exist", path=folder, hint=hint)
    images, _ = list_images(folder)
    by_stem = {path.stem: path for path in images}
    found, missing = {}, []
    shared = Counter(pair.target.stem for pair in pairs)
    for pair in pairs:
        # By the input's name; by the target's only where no other input shares that target (SOTS), so
        # one prediction is never scored for several inputs.
        path = by_stem.get(pair.name) or (by_stem.get(pair.target.stem) if shared[pair.target.stem] == 1 else None)
        if path is None:
            missing.append(pair.name)
        else:
            found[pair.name] = path
    if missing:
        shown = ", ".join(missing[:_SHOWN]) + (f", ... ({len(missing) - _SHOWN} more)" if len(missing) > _SHOWN else "")
        raise DatasetError(f"{len(missing)} of {len(pairs)} {name} pairs have no prediction ({shown})", path=folder,
                           hint="predictions are matched by the input's (or the target's) file name")
    return found
