"""The stream of training crops: a pure function of (seed, sample index).

Sample ``g`` of the global stream is made from nothing but ``g`` and the
seed, so a resumed run (which knows only its step counter), any number of
loader workers, and any rank of a distributed run all see exactly the same
crops:

- its task: slot ``g mod P`` of a fixed pattern that interleaves the tasks in
  the mix's proportions (P = sum of the weights; the authors' mix haze 4,
  low light 1, rain 2, snow 2, blur 1 puts exactly that mix in every batch of 10);
- its image: the k-th draw of that task walks the task's images in a
  permutation seeded by (seed, task, epoch), epoch by epoch;
- its crop, flip and synthetic degradation: numpy's generator seeded with (seed, g).

Micro-batch ``u`` of rank ``r`` in a world of ``W`` holds samples
``(u * W + r) * B ... + B - 1``: ranks take turns over one global stream.

Images are decoded once per worker and kept (as uint8) in a cache bounded in
bytes; clean photos for synthetic data are downscaled so their short side is at
most ``max_side``.  An image that cannot be read is skipped (its path and the
reason travel with the batch so the trainer warns once) and the draw moves on
to the next image of the permutation, deterministically.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from ..errors import DatasetError, UirError

TASK_IDS = {"haze": 0, "low-light": 1, "rain": 2, "snow": 3, "blur": 4, "clean": 5}
LIGHT_STRENGTH = (0.05, 1.0)  # --light-share: a lightened sample's strength is uniform in this range
_PERM_SALT = 7_1771  # keeps permutation seeds apart from sample seeds


@dataclass(frozen=True)
class Item:
    """One training image: the clean ``gt`` path, and the degraded ``lq`` path (None: synthesise)."""

    gt: str
    lq: str | None = None


@dataclass(frozen=True)
class TaskPool:
    """All images of one task."""

    task: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class StreamSpec:
    """What the stream draws from, and how (see the module docstring)."""

    pools: tuple[TaskPool, ...]
    weights: tuple[int, ...]
    crop: int
    seed: int
    max_side: int = 1024
    cache_bytes: int = 1 << 30
    light_share: float = 0.0
    cast_share: float = 0.0
    lines_share: float = 0.0
    equalize: str = "task"
    max_pixels: int = 0


@dataclass
class TrainBatch:
    """One micro-batch.

    - ``lq``: (B, 3, C, C) float32 in [0, 1], the degraded input the network sees
      (histogram-equalised for low light);
    - ``gt``: (B, 3, C, C) float32 in [0, 1], the clean target;
    - ``tasks``: (B,) int64 task ids (:data:`TASK_IDS`);
    - ``skipped``: 'path: reason' for each image that could not be used.
    """

    lq: torch.Tensor
    gt: torch.Tensor
    tasks: torch.Tensor
    skipped: tuple[str, ...]

    def pin_memory(self) -> "TrainBatch":
        return TrainBatch(self.lq.pin_memory(), self.gt.pin_memory(), self.tasks.pin_memory(), self.skipped)


def mix_pattern(weights: tuple[int, ...]) -> tuple[int, ...]:
    """Pool indices in an evenly interleaved cycle of length sum(weights) (smooth weighted round robin).

    >>> mix_pattern((4, 1, 2, 2, 1))
    (0, 2, 3, 0, 1, 4, 0, 2, 3, 0)
    """
    total = sum(weights)
    current = [0] * len(weights)
    out = []
    for _ in range(total):
        current = [c + w for c, w in zip(current, weights)]
        pick = max(range(len(weights)), key=lambda i: (current[i], -i))
        current[pick] -= total
        out.append(pick)
    return tuple(out)


class ImageCache:
    """Decoded images as uint8 (H, W, 3), least recently used dropped beyond ``max_bytes``.

    ``max_pixels``: larger images (by their header) are refused before decoding; 0: no limit.
    """

    def __init__(self, max_bytes: int, max_pixels: int = 0):
        self.max_bytes = max_bytes
        self.max_pixels = max_pixels
        self._items: OrderedDict[tuple[str, int], np.ndarray] = OrderedDict()
        self._bytes = 0

    def get(self, path: str, max_side: int) -> np.ndarray:
        """(H, W, 3) uint8 RGB of ``path`` (short side at most ``max_side``, 0: as stored); decodes on a miss."""
        key = (path, max_side)
        hit = self._items.get(key)
        if hit is not None:
            self._items.move_to_end(key)
            return hit
        img = decode_training_image(path, max_side, self.max_pixels)
        self._items[key] = img
        self._bytes += img.nbytes
        while self._bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self._bytes -= old.nbytes
        return img


def decode_training_image(path: str, max_side: int, max_pixels: int = 0) -> np.ndarray:
    """(H, W, 3) uint8 RGB; short side reduced to ``max_side`` (0: never).

    Raises ImageError (one line naming the file) for anything unreadable, not a
    regular file, or over ``max_pixels`` pixels by its header (0: no limit).
    """
    import cv2

    from ..imageio import read_image

    rgb = read_image(path, max_pixels=max_pixels or None).rgb
    img = np.floor(rgb * 255.0 + 0.5).astype(np.uint8)
    h, w = img.shape[:2]
    if max_side and min(h, w) > max_side:
        scale = max_side / min(h, w)
        img = cv2.resize(img, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return img


def _fit(img: np.ndarray, crop: int) -> np.ndarray:
    """Upscale (bicubic) so the short side is at least ``crop``, as the authors do for small images."""
    import cv2

    h, w = img.shape[:2]
    if min(h, w) >= crop:
        return img
    scale = crop / min(h, w)
    size = (max(crop, int(np.ceil(w * scale))), max(crop, int(np.ceil(h * scale))))
    return cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)


class TrainStream(Dataset):
    """Map-style dataset: ``stream[g]`` is sample g, a tuple (lq, gt, task id, skipped)."""

    def __init__(self, spec: StreamSpec):
        if not spec.pools or any(not p.items for p in spec.pools):
            raise DatasetError("no training images")
        self.spec = spec
        self.pattern = mix_pattern(spec.weights)
        occurrence = []
        seen = [0] * len(spec.pools)
        for pool in self.pattern:
            occurrence.append(seen[pool])
            seen[pool] += 1
        self.occurrence = tuple(occurrence)
        self._perms: dict[int, tuple[int, np.ndarray]] = {}
        self._bad: dict[str, str] = {}
        self.cache = ImageCache(spec.cache_bytes, spec.max_pixels)

    def __len__(self) -> int:  # an endless stream; the sampler decides which indices to read
        return 2**62

    def _permutation(self, pool: int, epoch: int) -> np.ndarray:
        cached = self._perms.get(pool)
        if cached is not None and cached[0] == epoch:
            return cached[1]
        n = len(self.spec.pools[pool].items)
        perm = np.random.default_rng([self.spec.seed, _PERM_SALT, pool, epoch]).permutation(n)
        self._perms[pool] = (epoch, perm)
        return perm

    def locate(self, g: int) -> tuple[int, int, int]:
        """(pool index, epoch, position in that epoch's permutation) of sample ``g``."""
        period = len(self.pattern)
        pool = self.pattern[g % period]
        k = (g // period) * self.spec.weights[pool] + self.occurrence[g % period]
        epoch, pos = divmod(k, len(self.spec.pools[pool].items))
        return pool, epoch, pos

    def _load(self, item: Item) -> tuple[np.ndarray, np.ndarray | None]:
        """(gt, lq or None) as uint8, equal sizes; raises UirError/OSError/ValueError when unusable."""
        if item.lq is None:
            return self.cache.get(item.gt, self.spec.max_side), None
        gt = self.cache.get(item.gt, 0)
        lq = self.cache.get(item.lq, 0)
        if gt.shape != lq.shape:
            raise ValueError(f"input is {lq.shape[1]}x{lq.shape[0]} but its target {item.gt} is {gt.shape[1]}x{gt.shape[0]}")
        return gt, lq

    def __getitem__(self, g: int):
        pool_i, epoch, pos = self.locate(int(g))
        pool = self.spec.pools[pool_i]
        skipped: list[str] = []
        n = len(pool.items)
        for attempt in range(n):
            p = pos + attempt
            item = pool.items[int(self._permutation(pool_i, epoch + p // n)[p % n])]
            key = item.lq or item.gt
            if key in self._bad:
                continue
            try:
                gt, lq = self._load(item)
                break
            except (UirError, OSError, ValueError, MemoryError) as exc:
                reason = exc.one_line() if isinstance(exc, UirError) else f"{key}: {exc or type(exc).__name__}"
                self._bad[key] = reason
                skipped.append(reason)
        else:
            raise DatasetError(f"none of the {n} {pool.task} images could be read", hint="; ".join(self._bad.values())[:300])
        rng = np.random.default_rng([self.spec.seed, int(g)])
        lq_crop, gt_crop = self._crop(gt, lq, pool.task, rng)
        return (torch.from_numpy(lq_crop).permute(2, 0, 1), torch.from_numpy(gt_crop).permute(2, 0, 1),
                TASK_IDS[pool.task], tuple(skipped))

    def _crop(self, gt: np.ndarray, lq: np.ndarray | None, task: str, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Random crop and horizontal flip; synthesise lq for photos (unchanged for ``clean``); equalise.

        Equalisation follows ``spec.equalize``: ``task`` equalises every
        low-light crop (the authors'); ``auto`` equalises an input whose mean
        luma is below 0.2, as ``uir restore --task auto`` does: a paired input
        is judged and equalised whole, before cropping, as at inference; a
        synthetic one is judged on its crop, the image the degradation made;
        a ``clean`` sample is never equalised.
        """
        from ..engine.preprocess import equalize_histogram, needs_equalizing

        c = self.spec.crop
        auto = self.spec.equalize == "auto"
        if lq is not None and auto and needs_equalizing(lq):
            lq = np.floor(equalize_histogram(lq.astype(np.float32) / 255.0) * 255.0 + 0.5).astype(np.uint8)
        gt = _fit(gt, c)
        lq = _fit(lq, c) if lq is not None else None
        h, w = gt.shape[:2]
        y = int(rng.integers(0, h - c + 1))
        x = int(rng.integers(0, w - c + 1))
        flip = bool(rng.integers(0, 2))
        gt_crop = gt[y : y + c, x : x + c].astype(np.float32) / 255.0
        if flip:
            gt_crop = gt_crop[:, ::-1]
        gt_crop = np.ascontiguousarray(gt_crop)
        if lq is None:
            if self.spec.cast_share > 0 and rng.random() < self.spec.cast_share:  # no draw at 0: old streams unchanged
                gt_crop = colour_cast(gt_crop, rng)
            if self.spec.lines_share > 0 and rng.random() < self.spec.lines_share:  # no draw at 0, as above
                gt_crop = scene_lines(gt_crop, rng)
            lq_crop = self._synthesise(gt_crop, task, rng)
            # a clean sample is never equalised: an equalised dark photo with the dark photo as target
            # would teach the network to undo the equalisation that low light relies on
            if task != "clean" and ((auto and needs_equalizing(lq_crop)) or (not auto and task == "low-light")):
                lq_crop = equalize_histogram(lq_crop)
        else:
            lq_crop = lq[y : y + c, x : x + c].astype(np.float32) / 255.0
            if flip:
                lq_crop = lq_crop[:, ::-1]
            if not auto and task == "low-light":
                lq_crop = equalize_histogram(lq_crop)
        return np.ascontiguousarray(lq_crop, dtype=np.float32), gt_crop

    def _synthesise(self, gt_crop: np.ndarray, task: str, rng: np.random.Generator) -> np.ndarray:
        """The degraded crop for a clean photo crop: ``clean`` unchanged; with chance ``light_share`` lightened."""
        if task == "clean":
            return gt_crop.copy()
        from ..degrade import degrade, lighten

        lq_crop = np.clip(degrade(gt_crop, task, rng), 0.0, 1.0).astype(np.float32)
        if self.spec.light_share > 0 and rng.random() < self.spec.light_share:  # no draw at 0: old streams unchanged
            lq_crop = lighten(gt_crop, lq_crop, float(rng.uniform(*LIGHT_STRENGTH)))
        return lq_crop


CAST_RANGE = 0.3  # --cast-share: log red/blue gain uniform in +-this (warm to cool light)
TINT_RANGE = 0.06  # and log green gain in +-this (a green or magenta tint)


def colour_cast(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` (H, W, 3) float32 in [0, 1] under a random light colour, its luma kept; float32, clipped.

    Red and blue gains move in opposite directions (warm lamp light to cool
    shade), green by a smaller tint; the gains are scaled so that the luma
    weights (0.299, 0.587, 0.114) sum to the same, so brightness stays put.
    """
    warm = float(rng.uniform(-CAST_RANGE, CAST_RANGE))
    tint = float(rng.uniform(-TINT_RANGE, TINT_RANGE))
    gains = np.exp(np.array([warm, tint, -warm]))
    gains /= gains @ np.array([0.299, 0.587, 0.114])
    return np.ascontiguousarray(np.clip(img * gains.astype(np.float32), 0.0, 1.0), dtype=np.float32)


LINE_MIN_LENGTH = 120.0  # --lines-share: px; the rain generator's streaks are at most 58 px at max-side 512


def scene_lines(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """``img`` (H, W, 3) float32 in [0, 1] with long, thin, straight lines drawn into the scene; float32.

    The lines of buildings and interiors (window mullions, ceiling grids,
    columns, cables) look locally like rain streaks: thin, bright, near
    vertical. What tells them apart is length: a streak is a short capsule
    (12-48 px at a short side of 512), a line runs on for hundreds. So lines
    here are at least :data:`LINE_MIN_LENGTH` px long or cross the whole
    crop, near vertical as the rain generator's streaks are (a crossing set
    of a grid runs across), bright in three draws of four, else dark; half
    the time they come as a set of parallel lines at a regular spacing of 8
    to 48 px (a grid, with a crossing set a third of those times).
    Each line is 0.6 to 3 px wide with anti-aliased edges, opacity 0.5 to 1.
    """
    h, w = img.shape[:2]
    span = float(np.hypot(h, w))
    lines: list[tuple[float, float, float, float]] = []  # centre x, y, angle from vertical (rad), length

    def length() -> float:
        return span * 2 if rng.random() < 0.6 else float(rng.uniform(LINE_MIN_LENGTH, max(LINE_MIN_LENGTH, span)))

    def angle() -> float:
        return float(np.radians(np.clip(rng.normal(0.0, 12.0), -40.0, 40.0)))

    if rng.random() < 0.5:  # parallel sets: a grid's lines share angle, spacing and length
        sets = 2 if rng.random() < 1 / 3 else 1
        theta = angle()
        for k in range(sets):
            a = theta + k * np.pi / 2 + float(rng.normal(0.0, 0.02))
            spacing = float(rng.uniform(8.0, 48.0))
            n = int(span // spacing) + 2
            offset = float(rng.uniform(0.0, spacing))
            ln = length()
            for i in range(n):
                d = offset + (i - n / 2) * spacing  # distance across the lines from the crop's centre
                lines.append((w / 2 + d * np.cos(a), h / 2 - d * np.sin(a), a, ln))
    else:
        for _ in range(int(rng.integers(1, 7))):
            lines.append((float(rng.uniform(0, w)), float(rng.uniform(0, h)), angle(), length()))
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = img.copy()
    bright = rng.random() < 0.75
    for cx, cy, a, ln in lines:
        ux, uy = float(np.sin(a)), float(np.cos(a))  # along the line (angle measured from vertical)
        along = (xx - cx) * ux + (yy - cy) * uy
        across = np.abs((xx - cx) * uy - (yy - cy) * ux)
        half = float(rng.uniform(0.3, 1.5))
        cover = np.clip(half + 0.5 - across, 0.0, 1.0) * np.clip(ln / 2 + 0.5 - np.abs(along), 0.0, 1.0)
        if not cover.any():
            continue
        level = rng.uniform(0.7, 1.0) if bright else rng.uniform(0.0, 0.25)
        colour = np.clip(level + rng.normal(0.0, 0.04, 3), 0.0, 1.0).astype(np.float32)
        alpha = (cover * float(rng.uniform(0.5, 1.0)))[..., None]
        out = out * (1.0 - alpha) + colour * alpha
    return np.ascontiguousarray(np.clip(out, 0.0, 1.0), dtype=np.float32)


def collate(samples: list) -> TrainBatch:
    """Stack samples from :class:`TrainStream` into a :class:`TrainBatch`."""
    lq = torch.stack([s[0] for s in samples])
    gt = torch.stack([s[1] for s in samples])
    tasks = torch.tensor([s[2] for s in samples], dtype=torch.int64)
    skipped = tuple(r for s in samples for r in s[3])
    return TrainBatch(lq, gt, tasks, skipped)


class MicroBatches(Sampler):
    """Endless lists of sample indices: micro-batch u of this rank is (u * world + rank) * B + 0..B-1."""

    def __init__(self, batch_size: int, *, start: int = 0, rank: int = 0, world: int = 1):
        self.batch_size, self.start, self.rank, self.world = batch_size, start, rank, world

    def __iter__(self) -> Iterator[list[int]]:
        u = self.start
        while True:
            base = (u * self.world + self.rank) * self.batch_size
            yield list(range(base, base + self.batch_size))
            u += 1


def _worker_init(_: int) -> None:
    import signal

    import cv2

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C stops the trainer, which then stops the workers
    torch.set_num_threads(1)
    cv2.setNumThreads(1)


def make_loader(stream: TrainStream, batch_size: int, *, start_micro: int, rank: int, world: int, workers: int,
                pin: bool) -> torch.utils.data.DataLoader:
    """A DataLoader yielding :class:`TrainBatch` from micro-batch ``start_micro`` on, in order."""
    # One endless iterator per run, so persistent workers would buy nothing; they stop when it is dropped.
    # Workers start from a clean forkserver (spawn where there is none), never by forking this process:
    # a fork copies the locks other threads hold (OpenMP, logging, uir's own I/O threads) and can hang.
    extra = {}
    if workers > 0:
        import multiprocessing

        context = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        extra = {"prefetch_factor": 4, "worker_init_fn": _worker_init, "multiprocessing_context": context}
    return torch.utils.data.DataLoader(
        stream,
        batch_sampler=MicroBatches(batch_size, start=start_micro, rank=rank, world=world),
        num_workers=workers,
        collate_fn=collate,
        pin_memory=pin,
        **extra,
    )
