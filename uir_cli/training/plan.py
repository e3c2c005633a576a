"""From a config to what the run will draw on: task pools, their mix, the validation set.

Folder listings only (plus decoding the validation images); no network, no device.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import UsageError
from ..vocab import TASKS
from .config import CLEAN, TrainConfig
from .sources import PairedSource, PhotoSource, discover_pairs, list_photos
from .stream import TASK_IDS, Item, TaskPool

_ORDER = sorted(TASK_IDS, key=TASK_IDS.get)  # haze, low-light, rain, snow, blur (the authors' batch order)


@dataclass(frozen=True)
class TaskSummary:
    """How one task is fed: images from pairs and from photos, and its share of each batch."""

    task: str
    pairs: int
    photos: int
    share: float


@dataclass(frozen=True)
class DataPlan:
    """The training pools (in the authors' task order) with their mix weights, and what validation uses."""

    pools: tuple[TaskPool, ...]
    weights: tuple[int, ...]
    summary: tuple[TaskSummary, ...]
    val_pools: tuple[TaskPool, ...]
    val_photos: tuple[str, ...]
    notes: tuple[str, ...]

    @property
    def tasks(self) -> tuple[str, ...]:
        return tuple(p.task for p in self.pools)


def _pools(paired: list[PairedSource], photos: list[PhotoSource], photo_tasks: tuple[str, ...],
           tasks: tuple[str, ...]) -> dict[str, list[Item]]:
    items: dict[str, list[Item]] = {}
    for src in paired:
        if src.task in tasks:
            items.setdefault(src.task, []).extend(Item(gt=gt, lq=lq) for lq, gt in src.pairs)
    for task in photo_tasks:
        if task in tasks:
            for src in photos:
                items.setdefault(task, []).extend(Item(gt=p) for p in src.photos)
    return items


def plan_data(config: TrainConfig) -> DataPlan:
    """Scan ``config.data`` / ``synthetic`` / ``val`` / ``val_synthetic``; raise one clear error when unusable.

    ``config.tasks`` restricts the tasks (paired data of other tasks is left
    out, with a note); without it, synthetic photos serve all five tasks.
    """
    paired = [src for spec in config.data for src in discover_pairs(spec)]
    photos = [list_photos(folder) for folder in config.synthetic]
    if not paired and not photos:
        raise UsageError("no training data", hint="give --data DIR[:TASK] (paired folders) or --synthetic DIR (clean photos)")
    mix = config.mix_weights()
    wanted = config.tasks or TASKS
    photo_tasks = tuple(wanted) if photos else ()
    notes: list[str] = [f"{src.task}: {len(src.pairs)} pairs from {src.origin}" for src in paired]
    notes += [f"{len(src.photos)} clean photos from {src.origin}" for src in photos]
    for src in paired:
        if src.task not in wanted:
            notes.append(f"left out {len(src.pairs)} {src.task} pairs from {src.origin} (not in --tasks)")
    present = {src.task for src in paired} | set(photo_tasks)
    tasks = tuple(t for t in _ORDER if t in present and t in wanted)
    unweighted = [t for t in tasks if t not in mix]
    if unweighted:
        notes.append(f"left out {', '.join(unweighted)}: no weight in --mix")
    tasks = tuple(t for t in tasks if t in mix)
    if not tasks:
        raise UsageError("none of the data's tasks is both in --tasks and in --mix",
                         hint=f"data has {', '.join(sorted(present)) or 'nothing'}; --tasks {','.join(wanted)}")
    items = _pools(paired, photos, photo_tasks, tasks)
    if CLEAN in mix:
        # clean photos as their own input; without photos, the targets of the pairs
        clean = [p for src in photos for p in src.photos] or list(dict.fromkeys(gt for src in paired for _, gt in src.pairs))
        items[CLEAN] = [Item(gt=p, lq=None) for p in clean]
        tasks = (*tasks, CLEAN)
        notes.append(f"clean: {len(clean)} {'photos' if photos else 'pair targets'} given unchanged as input and target")
    pools = tuple(TaskPool(t, tuple(items[t])) for t in tasks)
    weights = tuple(mix[t] for t in tasks)
    total = sum(weights)
    summary = tuple(
        TaskSummary(
            t,
            sum(1 for i in items[t] if i.lq is not None),
            sum(1 for i in items[t] if i.lq is None),
            w / total,
        )
        for t, w in zip(tasks, weights)
    )
    val_paired = [src for spec in config.val for src in discover_pairs(spec)]
    val_pools = tuple(TaskPool(s.task, tuple(Item(gt=gt, lq=lq) for lq, gt in s.pairs)) for s in val_paired)
    val_photos = tuple(p for folder in config.val_synthetic for p in list_photos(folder).photos)
    if not val_pools and not val_photos:
        notes.append("no validation data (--val / --val-synthetic): val.csv stays empty")
    return DataPlan(pools, weights, summary, val_pools, val_photos, tuple(notes))
