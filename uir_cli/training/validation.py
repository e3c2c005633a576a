"""Held-out validation: a fixed set of crops, restored with the EMA weights, scored per task.

The set is built once and never changes during a run (nor across a resume):

- from ``--val`` pairs: up to ``count`` pairs per task, evenly spaced through
  the sorted list, each centre-cropped to ``size`` (smaller if an image is);
- from ``--val-synthetic`` photos: ``count`` crops per task, the photo, the
  crop position and the degradation drawn from a generator seeded with
  (seed, task, j) only.

Inputs are histogram-equalised before the network as in training (every
low-light input, or with ``equalize="auto"`` those with mean luma < 0.2);
``psnr_in`` / ``ssim_in`` score the degraded input the user has (not
equalised) against the target, ``psnr_out`` / ``ssim_out`` the restored crop,
``shift`` the mean absolute change of each crop's mean brightness (8-bit
levels) from its target.  A ``clean`` group (when the mix has clean photos)
gives held-out photos unchanged: it measures the harm done to a photo that
needs nothing.
Metrics follow the ``diffuir`` protocol (Y channel, 8-bit), averaged per task.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch
from torch import Tensor

from ..errors import UirError
from .stream import Item, TaskPool, decode_training_image

VAL_SEED = 20240314  # fixed: the validation crops do not depend on the training seed
_PSNR_CAP = 100.0  # identical images have infinite PSNR; logs and plots show this instead


@dataclass(frozen=True)
class ValTask:
    """One task's crops, all (N, 3, S, S) float32 in [0, 1] on the CPU.

    ``lq``: the degraded input as given; ``x_in``: what the network sees
    (equalised for low light); ``gt``: the clean target; ``noise``: the
    sampler's starting eps, fixed for the run; ``name``: the label in logs.
    """

    task: str
    lq: Tensor
    x_in: Tensor
    gt: Tensor
    noise: Tensor
    name: str = ""

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", self.task)


@dataclass(frozen=True)
class ValSet:
    tasks: tuple[ValTask, ...]
    skipped: tuple[str, ...] = ()

    @property
    def num_crops(self) -> int:
        return sum(int(t.lq.shape[0]) for t in self.tasks)


@dataclass(frozen=True)
class ValScore:
    """Mean PSNR (dB) and SSIM over one group's crops, of the degraded input and of the output.

    ``task`` names the group: the task, or ``TASK-synthetic`` for photo crops of a
    task that also has validation pairs.
    """

    task: str
    psnr_in: float
    psnr_out: float
    ssim_in: float
    ssim_out: float
    shift: float = float("nan")


def _to_tensor(crops: list[np.ndarray]) -> Tensor:
    return torch.from_numpy(np.stack(crops)).permute(0, 3, 1, 2).contiguous()


def _center(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = (h - size) // 2, (w - size) // 2
    return img[y : y + size, x : x + size]


def _make_task(task: str, lqs: list[np.ndarray], gts: list[np.ndarray], task_index: int, equalize: str) -> ValTask:
    from ..engine.preprocess import equalize_histogram, needs_equalizing

    def equalized(c: np.ndarray) -> bool:  # as in training: a clean photo is never equalised
        return task != "clean" and (needs_equalizing(c) if equalize == "auto" else task == "low-light")

    x_in = [equalize_histogram(c) if equalized(c) else c for c in lqs]
    lq, gt = _to_tensor(lqs), _to_tensor(gts)
    gen = torch.Generator("cpu").manual_seed(VAL_SEED + task_index)
    noise = torch.randn(lq.shape, generator=gen, dtype=torch.float32)
    return ValTask(task, lq, _to_tensor(x_in), gt, noise)


def _paired_task(pool: TaskPool, count: int, size: int, index: int, skipped: list[str], equalize: str,
                 max_pixels: int) -> ValTask | None:
    n = len(pool.items)
    chosen = [pool.items[int(i)] for i in np.unique(np.linspace(0, n - 1, min(count, n)).round().astype(int))]
    images = []
    for item in chosen:
        try:
            gt = decode_training_image(item.gt, 0, max_pixels)
            lq = decode_training_image(item.lq or item.gt, 0, max_pixels)
        except (UirError, OSError, ValueError) as exc:
            skipped.append(exc.one_line() if isinstance(exc, UirError) else f"{item.lq}: {exc}")
            continue
        if gt.shape != lq.shape:
            skipped.append(f"{item.lq}: input and target sizes differ")
            continue
        images.append((lq, gt))
    if not images:
        return None
    side = min(size, *(min(g.shape[:2]) for _, g in images))
    lqs = [_center(lq, side).astype(np.float32) / 255.0 for lq, _ in images]
    gts = [_center(gt, side).astype(np.float32) / 255.0 for _, gt in images]
    return _make_task(pool.task, lqs, gts, index, equalize)


def _synthetic_task(task: str, photos: list[np.ndarray], count: int, size: int, index: int, equalize: str) -> ValTask:
    from ..degrade import degrade

    side = min(size, *(min(p.shape[:2]) for p in photos))
    lqs, gts = [], []
    for j in range(count):
        rng = np.random.default_rng([VAL_SEED, index, j])
        photo = photos[j % len(photos)]
        h, w = photo.shape[:2]
        y, x = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        gt = np.ascontiguousarray(photo[y : y + side, x : x + side], dtype=np.float32) / 255.0
        lqs.append(gt.copy() if task == "clean" else np.clip(degrade(gt, task, rng), 0.0, 1.0).astype(np.float32))
        gts.append(gt)
    return _make_task(task, lqs, gts, index, equalize)


def build_val_set(pools: list[TaskPool], photos: list[str], tasks: tuple[str, ...], *, count: int = 8, size: int = 128,
                  max_side: int = 1024, equalize: str = "task", max_pixels: int = 0) -> ValSet:
    """The fixed validation set: paired ``pools`` first, then synthetic crops of ``photos`` for ``tasks``.

    ``tasks`` may include ``clean`` (photo crops given unchanged).

    Unreadable images are skipped and reported in ``ValSet.skipped``.
    """
    from .stream import TASK_IDS

    skipped: list[str] = []
    out: list[ValTask] = []
    for pool in pools:
        task = _paired_task(pool, count, size, TASK_IDS[pool.task], skipped, equalize, max_pixels)
        if task is not None:
            out.append(task)
    decoded = []
    for path in photos:
        try:
            decoded.append(decode_training_image(path, max_side, max_pixels))
        except (UirError, OSError, ValueError) as exc:
            skipped.append(exc.one_line() if isinstance(exc, UirError) else f"{path}: {exc}")
    if decoded:
        paired = {t.task for t in out}
        for task in tasks:
            made = _synthetic_task(task, decoded, count, size, 10 + TASK_IDS[task], equalize)
            # a task validated on both pairs and photos reports the photos as "TASK-synthetic"
            out.append(replace(made, name=f"{task}-synthetic") if task in paired else made)
    return ValSet(tuple(out), tuple(skipped))


def _u8(batch: Tensor) -> list[np.ndarray]:
    """(N, 3, H, W) float [0, 1] -> N arrays (H, W, 3) uint8, rounded as floor(v * 255 + 0.5)."""
    arr = batch.clamp(0, 1).permute(0, 2, 3, 1).numpy()
    return list(np.floor(arr * 255.0 + 0.5).astype(np.uint8))


def _mean_shift(outs: list[np.ndarray], gts: list[np.ndarray]) -> float:
    """Mean over images of |mean(out) - mean(gt)|, in 8-bit levels."""
    return float(np.mean([abs(float(o.mean()) - float(g.mean())) for o, g in zip(outs, gts)]))


def _mean_scores(outs: list[np.ndarray], gts: list[np.ndarray]) -> tuple[float, float]:
    from ..bench.metrics import score

    scores = [score(o, g, protocol="diffuir") for o, g in zip(outs, gts)]
    psnr = float(np.mean([min(s.psnr, _PSNR_CAP) for s in scores]))
    return psnr, float(np.mean([s.ssim for s in scores]))


@torch.inference_mode()
def evaluate(net: torch.nn.Module, val: ValSet, *, device: torch.device, steps: int = 3) -> list[ValScore]:
    """Restore every task's crops with ``net`` (the EMA network, frozen) by the ``steps``-step sampler.

    Runs in float32 on ``device``; returns one :class:`ValScore` per task.
    """
    from ..diffusion.sampler import sample
    from ..diffusion.schedule import Schedule

    schedule = Schedule.default()
    results = []
    for task in val.tasks:
        x_in = task.x_in.to(device) * 2.0 - 1.0
        x0 = sample(net, x_in, task.noise.to(device), steps=steps, schedule=schedule)
        restored = ((x0 + 1.0) * 0.5).clamp(0.0, 1.0).cpu()
        gts = _u8(task.gt)
        psnr_in, ssim_in = _mean_scores(_u8(task.lq), gts)
        outs = _u8(restored)
        psnr_out, ssim_out = _mean_scores(outs, gts)
        results.append(ValScore(task.name, psnr_in, psnr_out, ssim_in, ssim_out, _mean_shift(outs, gts)))
    return results
