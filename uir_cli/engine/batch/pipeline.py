"""Restoring a batch of files: decode, restore and encode overlap; every file ends done, skipped or failed.

- Outputs are planned first: the mirrored path, inside the output folder, never
  over an input, not twice, with a name the file system takes; an existing
  output is skipped before anything is decoded (unless ``overwrite``).  An
  input in the output folder that uir wrote (its EXIF Software says so) is an
  earlier run's output, not an input, whatever suffix or format it got.
- A reader thread claims each output (:mod:`.locks`) just before decoding it,
  a few files ahead of the model.  A file another run holds is come back to
  once the rest is done, and waited for: it ends done by that run (skipped
  here), or done here when that run stops without it.  Writes go through
  :func:`uir_cli.atomic.write_atomic` inside the output folder: no link there is
  followed.  The reader decodes the file and
  prepares the model's input; the calling thread runs the
  model on groups of images (tiles of several images share a batch); writer
  threads encode and write atomically.  Memory stays bounded: at most
  ``prefetch`` decoded images wait, at most ``writers`` results, and the
  pixels decoded but not yet written stay under ``in_flight_pixels`` (one
  image may always go on, so a huge image runs alone).
- A file that cannot be read, is too large, or cannot be written fails alone
  with one line; the rest goes on.  Out of device memory, a group is retried
  with smaller tiles.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from ... import __version__
from ...atomic import NAME_MAX, describe, leftover_parts
from ...errors import UirError
from ...vocab import TILE_OVERLAP
from ...regular import resolved
from ...imageio import UIR_SOFTWARE, Image, made_by_uir, probe_image, read_image, write_like
from ..events import ImageStarted, Progress, TilesDone, ignore
from .events import FileFinished, Planned, Waiting
from .inputs import InputItem, Missing, in_shard, inside, output_path
from .locks import OutputClaim
from ..memory import is_oom
from ..oom import free_cache, with_smaller_tiles
from ..preprocess import prepare_input
from ..tiled import ImageJob, restore_jobs
from ..tiling import TilePlan


@dataclass(frozen=True)
class BatchOptions:
    out_dir: Path
    steps: int = 3
    seed: int = 0
    task: str = "auto"
    tile: int | None = None  # None: automatic, 0: whole images, N: tiles of at most N x N
    tile_overlap: int = TILE_OVERLAP
    batch_size: int | None = None  # None: automatic
    fmt: str = "same"
    quality: int | None = None
    suffix: str = ""
    overwrite: bool = False
    max_pixels: int | None = None
    shard: tuple[int, int] = (0, 1)  # (index from 0, count)
    prefetch: int = 2
    writers: int = 2
    in_flight_pixels: int | None = None  # decoded but not yet written; None: 16 MP on the CPU, 64 MP otherwise


@dataclass
class FileResult:
    """What happened to one input."""

    input: str
    output: str | None
    status: str  # "done", "skipped" or "failed" ("not started" in an interrupted run's report)
    reason: str = ""
    task: str | None = None
    width: int | None = None
    height: int | None = None
    tiles: int | None = None
    fallback_tiles: int = 0
    decode_s: float = 0.0
    model_s: float = 0.0
    encode_s: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def megapixels(self) -> float:
        return (self.width or 0) * (self.height or 0) / 1e6


@dataclass
class _Decoded:
    item: InputItem
    dest: Path
    claim: OutputClaim
    image: Image
    x_in: torch.Tensor  # (3, H, W) float32 in [-1, 1], CPU
    width: int
    height: int
    task: str
    plan: TilePlan
    decode_s: float
    budget: "_PixelBudget"
    released: bool = False

    @property
    def pixels(self) -> int:
        return self.width * self.height

    def release(self) -> None:
        """Give back the output's claim and the pixels this file holds of the budget (once)."""
        if not self.released:
            self.released = True
            self.claim.release()
            self.budget.release(self.pixels)

    def __enter__(self) -> "_Decoded":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


@dataclass
class _Done:
    """A file finished before the model (skipped or failed in the reader)."""

    result: FileResult


SOFTWARE = f"{UIR_SOFTWARE} {__version__} (DiffUIR)"  # the EXIF Software of every output: made_by_uir() knows it
_END = object()
_BUSY = object()  # another run holds the file's claim


@dataclass
class _Waiting:
    """The reader waits for ``count`` files that other runs hold (sent on as a :class:`.events.Waiting`)."""

    count: int


class _PixelBudget:
    """Bounds the pixels decoded but not yet written, so memory stays bounded for huge images.

    One image may always proceed, whatever its size; more join it only while
    the total stays under the limit.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self.used = 0
        self.cond = threading.Condition()

    def acquire(self, pixels: int, stop: threading.Event) -> bool:
        with self.cond:
            while self.used and self.used + pixels > self.limit:
                if stop.is_set():
                    return False
                self.cond.wait(0.1)
            self.used += pixels
            return True

    def release(self, pixels: int) -> None:
        with self.cond:
            self.used -= pixels
            self.cond.notify_all()


def plan_outputs(items: list[InputItem], missing: list[Missing], opts: BatchOptions) -> tuple[list[tuple[InputItem, Path]], list[FileResult]]:
    """(inputs to do with their outputs, results already known: failed arguments, skips, clashes)."""
    known = [FileResult(m.arg, None, "failed", m.reason) for m in missing]
    dests = {id(it): output_path(it, opts.out_dir, fmt=opts.fmt, suffix=opts.suffix) for it in items}
    # An input that is another input's output (a previous run's result in the same folder) is not an input.
    outputs = {resolved(d): it for it in items for d in [dests[id(it)]]}
    # So is a file in the output folder that an earlier run wrote with another --suffix or --format:
    # its metadata says uir restored it (looked at only inside --out, where earlier outputs lie).
    out_root = resolved(opts.out_dir)
    real = []
    for item in items:
        key = resolved(item.path)
        source = outputs.get(key)
        if source is not None and source is not item:
            known.append(FileResult(str(item.path), None, "skipped", f"it is the output of {source.path}"))
        elif key.is_relative_to(out_root) and made_by_uir(item.path):
            known.append(FileResult(str(item.path), None, "skipped", "it is the output of an earlier uir run "
                                    "(its metadata says so)"))
        else:
            real.append(item)
    inputs = {resolved(it.path) for it in real}
    every_input = {resolved(it.path) for it in items}  # including those taken for a previous run's outputs
    taken: dict[Path, str] = {}
    todo = []
    index, count = opts.shard
    for item in real:
        if not in_shard(item, index, count):
            continue
        dest = dests[id(item)]
        key = resolved(dest)
        if not inside(dest, opts.out_dir):
            known.append(FileResult(str(item.path), str(dest), "failed", "its output would fall outside --out"))
        elif key in inputs or (opts.overwrite and key in every_input):
            known.append(FileResult(str(item.path), str(dest), "failed", "its output would overwrite an input (use --suffix or another --out)"))
        elif len(os.fsencode(dest.name)) > NAME_MAX:
            known.append(FileResult(str(item.path), str(dest), "failed",
                                    f"its output's name would be {len(os.fsencode(dest.name))} bytes long, more than the "
                                    f"{NAME_MAX} a file name can have (shorten the name or the --suffix)"))
        elif key in taken:
            known.append(FileResult(str(item.path), str(dest), "failed", f"same output as {taken[key]} (use separate runs or --suffix)"))
        elif dest.exists() and not opts.overwrite:
            taken[key] = str(item.path)
            known.append(FileResult(str(item.path), str(dest), "skipped", "output exists"))
        else:
            taken[key] = str(item.path)
            todo.append((item, dest))
    return todo, known


def _to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """(H, W, 3) float32 [0, 1] -> (3, H, W) float32 [-1, 1]."""
    return torch.from_numpy(rgb).permute(2, 0, 1).mul(2.0).sub_(1.0).contiguous()


class _Reader(threading.Thread):
    def __init__(self, todo, restorer, opts: BatchOptions, out: queue.Queue, stop: threading.Event, budget: _PixelBudget):
        super().__init__(name="uir-reader", daemon=True)
        self.todo, self.restorer, self.opts, self.out, self.stop = todo, restorer, opts, out, stop
        self.budget = budget

    def _put(self, obj) -> None:
        while not self.stop.is_set():
            try:
                self.out.put(obj, timeout=0.1)
                return
            except queue.Full:
                continue
        if isinstance(obj, _Decoded):
            obj.release()

    def run(self) -> None:
        try:
            waiting = []
            for item, dest in self.todo:
                if self.stop.is_set():
                    break
                got = self._one(item, dest)
                if got is _BUSY:  # another run holds it: come back to it once the rest is done
                    waiting.append((item, dest))
                else:
                    self._put(got)
            if waiting and not self.stop.is_set():
                self._put(_Waiting(len(waiting)))
            # Wait for the files other runs hold: each ends done by them (its output exists), or
            # released without an output (that run died or was stopped) and then done here.
            while waiting and not self.stop.is_set():
                still = []
                for item, dest in waiting:
                    got = self._one(item, dest)
                    if got is _BUSY:
                        still.append((item, dest))
                    else:
                        self._put(got)
                waiting = still
                if waiting:
                    self.stop.wait(0.5)
        finally:
            self._put(_END)

    def _one(self, item: InputItem, dest: Path):
        try:
            return self._decode(item, dest)
        except Exception as exc:  # noqa: BLE001 - an unforeseen error fails this file, not the batch
            return _Done(FileResult(str(item.path), str(dest), "failed", f"unexpected error: {type(exc).__name__}: {exc}"))

    def _decode(self, item: InputItem, dest: Path):
        claim = OutputClaim(dest, within=self.opts.out_dir)
        try:
            claimed = claim.acquire()
        except OSError as exc:
            return _Done(FileResult(str(item.path), str(dest), "failed", f"cannot claim its output: {describe(exc)}"))
        if not claimed:
            uid = claim.holder_uid
            if uid is not None and hasattr(os, "geteuid") and uid != os.geteuid():
                # Another user's process holds it: that may be no uir run at all, and could hold it forever.
                return _Done(FileResult(str(item.path), str(dest), "failed",
                                        f"its output is locked by another user (uid {uid}); not waited for"))
            return _BUSY
        if dest.exists() and not self.opts.overwrite:  # finished by another run meanwhile
            claim.release()
            return _Done(FileResult(str(item.path), str(dest), "skipped", "output exists (written by another uir run)"))
        _remove_leftovers(claim, dest)
        try:
            w, h = probe_image(item.path)
        except UirError as exc:
            claim.release()
            return _Done(FileResult(str(item.path), str(dest), "failed", exc.message))
        if not self.budget.acquire(w * h, self.stop):
            claim.release()
            return _Done(FileResult(str(item.path), str(dest), "skipped", "interrupted before it started"))
        t0 = time.perf_counter()
        try:
            image = read_image(item.path, max_pixels=self.opts.max_pixels)
            height, width = image.height, image.width
            rgb, task = prepare_input(image.rgb, self.opts.task)
            x_in = _to_tensor(rgb)
            image.rgb = rgb = None  # the model's copy is x_in; keep only the metadata
            plan = self.restorer.plan(height, width, tile=self.opts.tile, overlap=self.opts.tile_overlap,
                                      batch=self.opts.batch_size or 1)
        except (UirError, MemoryError) as exc:
            claim.release()
            self.budget.release(w * h)
            reason = exc.message if isinstance(exc, UirError) else "not enough memory to decode it (see --max-pixels)"
            return _Done(FileResult(str(item.path), str(dest), "failed", reason))
        except BaseException:
            claim.release()
            self.budget.release(w * h)
            raise
        if (w, h) != (width, height):  # the header and the pixels disagree: count the pixels
            self.budget.release(w * h)
            self.budget.acquire(width * height, threading.Event())
        return _Decoded(item, dest, claim, image, x_in, width, height, task, plan, time.perf_counter() - t0, self.budget)


def _remove_leftovers(claim: OutputClaim, dest: Path) -> None:
    """Delete temporary files a killed run left for ``dest`` (we hold its claim: nobody writes it now)."""
    own = leftover_parts(dest)  # .uir-HASH.PID.RANDOM.part of this output's name, not another output's
    try:
        for name in claim.folder.names():
            if own.fullmatch(name):
                claim.folder.unlink(name)
    except OSError:
        pass  # a leftover is hidden and harmless; the write does not need it gone


def run_batch(restorer, todo: list[tuple[InputItem, Path]], opts: BatchOptions, events: Progress = ignore,
              stop: threading.Event | None = None, results: list[FileResult] | None = None,
              known: Sequence[FileResult] = ()) -> list[FileResult]:
    """Restore ``todo`` (from :func:`plan_outputs`); returns one result per file, in completion order.

    ``known``: the results :func:`plan_outputs` decided before any file started (skips, failures),
    reported first, as finished files, then the plan (:class:`.events.Planned`); not returned.
    Ctrl-C (KeyboardInterrupt) or ``stop`` ends the run after the files being
    written; claims are released and no partial file is left.  Results are
    appended to ``results`` as files finish, so a caller that catches the
    interrupt still has those of the files done before it.
    """
    for result in known:
        events(FileFinished(result))
    events(Planned(len(todo), sum(r.status == "skipped" for r in known), sum(r.status == "failed" for r in known)))
    run = _Run(restorer, opts, events, stop or threading.Event(), [] if results is None else results)
    run.run(todo)
    return run.results


class _Run:
    """One batch: a reader thread decodes ahead, this thread runs the model on groups of files, writer
    threads encode.  Each decoded file holds its output's claim and its pixels of the budget until a
    ``with`` block over it ends (written, failed, or the run stopped)."""

    def __init__(self, restorer, opts: BatchOptions, events: Progress, stop: threading.Event, results: list[FileResult]):
        self.restorer, self.opts, self.events, self.stop, self.results = restorer, opts, events, stop, results
        self.decoded: queue.Queue = queue.Queue(maxsize=max(1, opts.prefetch))
        limit = opts.in_flight_pixels or (16_000_000 if restorer.device.type == "cpu" else 64_000_000)
        self.budget = _PixelBudget(limit)
        self.lock = threading.Lock()
        self.pending: list[Future] = []
        self.ended = False

    def finish(self, result: FileResult) -> None:
        with self.lock:
            self.results.append(result)
        self.events(FileFinished(result))

    def write(self, d: _Decoded, restored: torch.Tensor, base: FileResult) -> None:
        t0 = time.perf_counter()
        with d:
            try:
                rgb = restored.permute(1, 2, 0).numpy()
                written = write_like(d.dest, rgb, d.image, quality=self.opts.quality, within=self.opts.out_dir,
                                     software=SOFTWARE)
                base.status, base.warnings = "done", list(d.image.warnings) + list(written.warnings)
            except UirError as exc:
                base.status, base.reason = "failed", exc.message
            except Exception as exc:  # noqa: BLE001 - an unforeseen error fails this file, not the batch
                base.status, base.reason = "failed", f"cannot write: {type(exc).__name__}: {exc}"
        base.encode_s = time.perf_counter() - t0
        self.finish(base)

    def run(self, todo: list[tuple[InputItem, Path]]) -> None:
        reader = _Reader(todo, self.restorer, self.opts, self.decoded, self.stop, self.budget)
        self.writers = ThreadPoolExecutor(max_workers=max(1, self.opts.writers), thread_name_prefix="uir-writer")
        reader.start()
        try:
            while not self.ended and not self.stop.is_set():
                group = self._next_group()
                if group:
                    self._restore(group)
        finally:
            self.stop.set()
            self.writers.shutdown(wait=True)
            _drain(self.decoded)  # unblocks a reader waiting to put
            reader.join(timeout=30)  # at most the decoding of the image in hand
            _drain(self.decoded)  # what it put after the first drain

    def _take(self, item) -> _Decoded | None:
        """A decoded file from the reader's queue; the others (ends, early results, waits) handled here."""
        if item is _END:
            self.ended = True
        elif isinstance(item, _Done):
            self.finish(item.result)
        elif isinstance(item, _Waiting):
            self.events(Waiting(item.count))
        else:
            return item
        return None

    def _next_group(self) -> list[_Decoded]:
        """The next files to restore together: up to --batch-size tiles' worth of what is decoded."""
        first = self._take(self.decoded.get())
        if first is None:
            return []
        group = [first]
        limit = max(1, self.opts.batch_size or 1)
        while not self.ended and sum(g.plan.count for g in group) < limit:
            try:
                nxt = self._take(self.decoded.get_nowait())
            except queue.Empty:
                break
            if nxt is not None:
                group.append(nxt)
        return group

    def _restore(self, group: list[_Decoded]) -> None:
        with ExitStack() as held:
            for d in group:
                held.enter_context(d)  # released if the model fails or Ctrl-C comes
            outputs = _restore_group(self.restorer, group, self.opts, self.events)
            held.pop_all()  # from here each file is released where it ends
        for d, (restored, base) in zip(group, outputs):
            if restored is None:
                with d:
                    self.finish(base)
                continue
            self.pending[:] = [f for f in self.pending if not f.done()]
            while len(self.pending) >= max(1, self.opts.writers):  # bound the results waiting to be written
                self.pending[0].result()
                self.pending[:] = [f for f in self.pending if not f.done()]
            self.pending.append(self.writers.submit(self.write, d, restored, base))


def _drain(decoded: queue.Queue) -> None:
    """Release what the reader had claimed but the model never took."""
    while True:
        try:
            left = decoded.get_nowait()
        except queue.Empty:
            return
        if isinstance(left, _Decoded):
            left.release()


def _restore_group(restorer, group: list[_Decoded], opts: BatchOptions, events: Progress) -> list[tuple[torch.Tensor | None, FileResult]]:
    """Run the model on a group; (restored (3, H, W) in [0, 1] or None, the file's result so far)."""
    bases = [
        FileResult(str(d.item.path), str(d.dest), "failed", task=d.task, width=d.width, height=d.height,
                   tiles=d.plan.count, decode_s=d.decode_s)
        for d in group
    ]

    def attempt(plans: list[TilePlan]) -> tuple[list[ImageJob], float]:
        jobs = [ImageJob(key=i, x_in=d.x_in.to(restorer.device), plan=plans[i], seed=opts.seed) for i, d in enumerate(group)]
        for d, job in zip(group, jobs):
            events(ImageStarted(str(d.item.path), d.width, d.height, job.plan.count))
        t0 = time.perf_counter()
        restore_jobs(restorer, jobs, steps=opts.steps, batch_size=opts.batch_size or 1,
                     progress=lambda n, px: events(TilesDone(n, px)))
        return jobs, time.perf_counter() - t0

    try:
        jobs, elapsed = with_smaller_tiles(restorer, [d.plan for d in group], opts.tile_overlap, attempt)
    except Exception as exc:  # noqa: BLE001 - one bad group must not end the batch
        free_cache(restorer.device)
        reason = "out of memory, even with small tiles" if is_oom(exc) else f"the model failed: {str(exc).splitlines()[0][:200]}"
        for b in bases:
            b.reason = reason
        return [(None, b) for b in bases]
    total_px = sum(j.pixels for j in jobs) or 1
    out = []
    for job, b in zip(jobs, bases):
        b.model_s = elapsed * job.pixels / total_px
        b.fallback_tiles = job.fallback_tiles
        b.tiles = job.plan.count
        out.append((job.result(), b))
    return out
