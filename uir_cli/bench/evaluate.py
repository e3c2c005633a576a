"""Evaluating a restorer, or another method's saved outputs, on paired test sets.

::

    from uir_cli.bench.selection import plan_work, select_datasets
    work = plan_work(select_datasets("Rain100L,LOL", root))
    run = evaluate(work, restorer=restorer, options=EvalOptions(protocol="diffuir"))

Every number is made the way the protocol says (:mod:`.metrics`): the restored
output is rounded to 8 bits (floor(v * 255 + 0.5), as a saved PNG) and scored
against the 8-bit target.  Inputs of low-light sets are histogram-equalised
before the model (spec section 6).  An output whose size differs from its
target fails that image with the reason, except on SOTS, whose MATLAB protocol
resizes the target to the output (done here with OpenCV's bicubic, and noted).

The engine prints nothing: it sends typed events (:mod:`.events`) to one callback and returns a
:class:`BenchmarkRun`.  Ctrl-C (a KeyboardInterrupt, even one raised from an
event) ends the run early: the images scored so far are returned, marked
``interrupted``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..vocab import TILE_OVERLAP
from ..errors import ImageError, UirError, UsageError, shown
from . import metrics
from ..engine.events import ImageStarted, Progress, TilesDone, ignore
from .events import DatasetFinished, DatasetStarted, ImageFinished
from .selection import Selection, Work
from .datasets import Pair, describe_pairing
from .metrics import size_text  # "WxH", as the metrics' own errors write sizes

if TYPE_CHECKING:  # torch loads only when a model runs
    from ..engine.descriptor import ModelDescriptor


# --- results -----------------------------------------------------------------------------


@dataclass(frozen=True)
class EvalOptions:
    """How to score and run.  ``tile``: None automatic, 0 whole images, N tiles of at most N x N.
    ``save_dir``: when set, outputs are written to ``save_dir/DATASET/NAME.png``."""

    protocol: str = "diffuir"
    crop_border: int = 0
    limit: int | None = None
    seed: int = 0
    tile: int | None = 0
    tile_overlap: int = TILE_OVERLAP
    batch_size: int = 1
    save_dir: Path | None = None
    predictions: Path | None = None
    max_pixels: int | None = None  # refuse larger images from their header (--max-pixels); None: no limit


@dataclass
class ImageResult:
    """One pair.  ``status`` is "done" (scored) or "failed" (``reason`` says why).

    PSNR in dB (inf for identical images), SSIM at most 1; ``input_*`` score the degraded
    input against the target (None when sizes differ or there is no input).  ``seconds``:
    model time (None when predictions were scored).  ``output``: the saved or given output file.
    """

    dataset: str
    name: str
    input: str | None
    target: str
    output: str | None = None
    status: str = "failed"
    reason: str = ""
    psnr: float | None = None
    ssim: float | None = None
    input_psnr: float | None = None
    input_ssim: float | None = None
    width: int | None = None
    height: int | None = None
    seconds: float | None = None
    megapixels: float = 0.0
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Images:
    """The 8-bit images of one pair as scored, (H, W, 3) uint8 each (None when unavailable)."""

    input: np.ndarray | None
    output: np.ndarray | None
    target: np.ndarray | None


@dataclass(frozen=True)
class DatasetSummary:
    """Means over the scored images (None when none was scored); timings over model runs.

    A pair identical to its target has an infinite PSNR, which would make any mean infinite:
    PSNR means are over the finite values (``inf`` only when every value is), and
    ``identical`` / ``input_identical`` count the pairs left out.
    """

    scored: int
    failed: int
    psnr: float | None
    ssim: float | None
    input_psnr: float | None
    input_ssim: float | None
    gain_psnr: float | None
    seconds: float
    seconds_per_image: float | None
    megapixels: float
    megapixels_per_second: float | None
    identical: int = 0  # outputs identical to their target (PSNR inf), not in the PSNR mean
    input_identical: int = 0  # inputs identical to their target, not in the input PSNR mean


@dataclass
class DatasetResult:
    """One set's results and everything needed to find its files again."""

    name: str
    task: str
    input_dir: str | None
    target_dir: str
    pairing: str
    pairing_description: str
    pairs_found: int
    pairs_used: int
    limit: int | None
    preprocessing: str
    notes: list[str]
    images: list[ImageResult] = field(default_factory=list)
    summary: DatasetSummary | None = None


@dataclass(frozen=True)
class RunSettings:
    """How the numbers were made (with the model and environment, enough to reproduce them)."""

    protocol: str
    protocol_description: str
    crop_border: int
    limit: int | None
    source: str  # "model" or "predictions from DIR, no model run"
    predictions: str | None
    seed: int | None
    steps: int | None
    tile: str | None  # as --tile takes it: "auto", "0" (whole images) or the largest tile side
    tile_overlap: int | None
    batch_size: int | None
    precision: str | None
    device: str | None
    device_name: str | None
    save_dir: str | None


@dataclass(frozen=True)
class RunEnvironment:
    """The software and machine the run used (``torch_version`` as installed, also when no model ran)."""

    uir_version: str
    torch_version: str | None
    python_version: str
    platform: str
    threads: int | None


@dataclass(frozen=True)
class PeakMemory:
    """``bytes`` at its peak; ``what`` says which (CUDA memory allocated by torch, or the process's max RSS)."""

    bytes: int
    what: str


@dataclass
class BenchmarkRun:
    """A whole benchmark run: settings, model, environment, per-set results; JSON-ready."""

    settings: RunSettings
    model: ModelDescriptor | None  # without its weights; None when predictions were scored
    environment: RunEnvironment
    datasets: list[DatasetResult]
    absent: list[tuple[str, str]]
    notes: list[str]
    started: str
    finished: str = ""
    seconds: float = 0.0
    interrupted: bool = False
    command_line: str = ""
    peak_memory: PeakMemory | None = None
    process_max_rss_bytes: int | None = None

    @property
    def failed(self) -> int:
        return sum(d.summary.failed for d in self.datasets if d.summary)


# --- the run -----------------------------------------------------------------------------


def evaluate(work: Sequence[Work], *, restorer=None, options: EvalOptions = EvalOptions(), events: Progress = ignore,
             selection: Selection | None = None, command_line: str = "") -> BenchmarkRun:
    """Score every pair of ``work`` and return the run (``interrupted`` when Ctrl-C ended it).

    ``restorer`` (a :class:`~uir_cli.engine.restorer.Restorer`) is required unless every
    ``Work`` carries predictions.  Nothing is printed; ``events`` is called with each step's event.
    """
    from ..engine.batch.report import now_iso, software

    if restorer is None and any(w.predictions is None for w in work):
        raise UsageError("a model is needed to restore the inputs (or pass --predictions)")
    t0 = time.perf_counter()
    run = BenchmarkRun(
        settings=_settings(options, restorer), model=restorer.info if restorer is not None else None, environment=RunEnvironment(**software()),
        datasets=[], absent=list(selection.absent) if selection else [],
        notes=list(selection.notes) if selection else [], started=now_iso(), command_line=command_line)
    _reset_peak(restorer)
    try:
        for item in work:
            result = _dataset_result(item, options)
            run.datasets.append(result)
            events(DatasetStarted(item.dataset.name, item.dataset.task, len(item.pairs)))
            for pair in item.pairs:
                image, images = _evaluate_pair(item, pair, restorer, options, events)
                result.images.append(image)
                events(ImageFinished(image, images))
            result.summary = summarize(result.images)
            events(DatasetFinished(result))
    except KeyboardInterrupt:
        run.interrupted = True
        done = {d.name for d in run.datasets}
        left = [w.dataset.name for w in work if w.dataset.name not in done]
        run.notes.append("interrupted (Ctrl-C): the numbers cover only the images listed"
                         + (f"; not started: {', '.join(left)}" if left else ""))
    for result in run.datasets:
        if result.summary is None or run.interrupted:
            result.summary = summarize(result.images)
        s = result.summary
        for count, what in ((s.input_identical, "input"), (s.identical, "output")):
            if count and count < s.scored:
                result.notes.append(f"{count} {what}(s) identical to the target (PSNR inf) left out of the mean "
                                    f"{'input ' if what == 'input' else ''}PSNR")
    run.finished = now_iso()
    run.seconds = time.perf_counter() - t0
    run.peak_memory, run.process_max_rss_bytes = _peak_memory(restorer)
    return run


def summarize(images: Sequence[ImageResult]) -> DatasetSummary:
    """Arithmetic means of PSNR and SSIM over the scored images.

    PSNR means leave out the infinite values of identical pairs (one such pair would make the
    mean infinite); they are ``inf`` only when every value is.  The gain is the mean of
    (PSNR - input PSNR) over the pairs where both are finite.
    """
    done = [r for r in images if r.status == "done"]
    base = [r for r in done if r.input_psnr is not None]

    def mean(values: list[float]) -> float | None:
        return float(np.mean(values)) if values else None

    def psnr_mean(values: list[float]) -> float | None:
        finite = [v for v in values if np.isfinite(v)]
        return float(np.mean(finite)) if finite else (float("inf") if values else None)

    psnr, ssim = psnr_mean([r.psnr for r in done]), mean([r.ssim for r in done])
    in_psnr, in_ssim = psnr_mean([r.input_psnr for r in base]), mean([r.input_ssim for r in base])
    both = [r for r in base if np.isfinite(r.psnr) and np.isfinite(r.input_psnr)]
    gain = float(np.mean([r.psnr - r.input_psnr for r in both])) if both else None
    timed = [r for r in done if r.seconds is not None]
    seconds = float(sum(r.seconds for r in timed))
    mp = float(sum(r.megapixels for r in timed))
    return DatasetSummary(
        scored=len(done), failed=len(images) - len(done), psnr=psnr, ssim=ssim, input_psnr=in_psnr,
        input_ssim=in_ssim, gain_psnr=gain, seconds=seconds,
        seconds_per_image=seconds / len(timed) if timed else None, megapixels=mp,
        megapixels_per_second=mp / seconds if seconds > 0 else None,
        identical=sum(not np.isfinite(r.psnr) for r in done),
        input_identical=sum(not np.isfinite(r.input_psnr) for r in base))


def _preprocessing(item: Work) -> str:
    if item.predictions is not None:
        return "none: predictions are scored as given (no model run)"
    if item.dataset.task == "low-light":
        return "histogram equalisation of each input channel (8-bit, OpenCV equalizeHist), as the authors test low light"
    if item.dataset.task == "auto":
        return "task auto: dark inputs are histogram-equalised, as `uir restore` does; see each image's notes"
    return "none"


def _dataset_result(item: Work, options: EvalOptions) -> DatasetResult:
    ds = item.dataset
    notes = list(ds.notes)
    if options.limit and len(item.pairs) < len(ds.pairs):
        notes.append(f"--limit {options.limit}: the first {len(item.pairs)} of {len(ds.pairs)} pairs")
    if not item.has_inputs:
        notes.append(f"predictions in {ds.input_dir} paired with the targets; no inputs, so no input baseline")
    return DatasetResult(
        name=ds.name, task=ds.task, input_dir=str(ds.input_dir) if item.has_inputs else None,
        target_dir=str(ds.target_dir), pairing=ds.pairing, pairing_description=describe_pairing(ds.pairing),
        pairs_found=len(ds.pairs), pairs_used=len(item.pairs), limit=options.limit,
        preprocessing=_preprocessing(item), notes=notes)


def _read_u8(path: Path, notes: list[str], what: str, max_pixels: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(float32 RGB as read, its 8-bit rounding); notes when a 16-bit file was rounded.

    A file that cannot be read raises an ImageError whose message says which of the pair it is
    (input, target or prediction) and its path.
    """
    from ..imageio import read_image, to_uint

    try:
        image = read_image(path, max_pixels=max_pixels)
    except ImageError as error:
        raise ImageError(f"the {what} {shown(path)}: {error.message}") from None
    if image.bit_depth != 8:
        notes.append(f"the {what} has {image.bit_depth} bits per channel; rounded to 8 for scoring")
    return image.rgb, to_uint(image.rgb, 8)


def _evaluate_pair(item: Work, pair: Pair, restorer, options: EvalOptions, events: Progress) -> tuple[ImageResult, Images]:
    """Restore (or read the prediction of) one pair and score it; failures end in ``reason``.

    With predictions, an input that cannot be read only loses the input baseline (noted).
    """
    sots = item.dataset.pairing == "sots"
    result = ImageResult(item.dataset.name, pair.name, str(pair.input) if item.has_inputs else None, str(pair.target))
    lq_u8 = out_u8 = gt_u8 = None
    try:
        _, gt_u8 = _read_u8(pair.target, result.notes, "target", options.max_pixels)
        if item.has_inputs:
            try:
                lq_rgb, lq_u8 = _read_u8(pair.input, result.notes, "input", options.max_pixels)
            except UirError as error:
                if item.predictions is None:  # the model needs the input
                    raise
                result.notes.append(f"the input could not be read ({error.message}): no input baseline")
            else:
                result.height, result.width = lq_u8.shape[:2]
                baseline_gt = _matched_target(lq_u8, gt_u8, sots, result.notes, "input")
                if baseline_gt is not None:
                    s = metrics.score(lq_u8, baseline_gt, protocol=options.protocol, crop_border=options.crop_border)
                    result.input_psnr, result.input_ssim = s.psnr, s.ssim
        if item.predictions is not None:
            path = item.predictions[pair.name]
            result.output = str(path)
            _, out_u8 = _read_u8(path, result.notes, "prediction", options.max_pixels)
        else:
            from ..imageio import to_uint, write_image

            out_rgb = _restore(restorer, lq_rgb, item.dataset.task, pair.name, options, events, result)
            out_u8 = to_uint(out_rgb, 8)
            if options.save_dir is not None:
                saved = write_image(Path(options.save_dir) / item.dataset.name / f"{pair.name}.png", out_rgb,
                                    within=options.save_dir)
                result.output = str(saved.path)
        result.height, result.width = out_u8.shape[:2]
        result.megapixels = result.width * result.height / 1e6
        target = _matched_target(out_u8, gt_u8, sots, result.notes, "output")
        if target is None:
            result.reason = (f"output is {size_text(out_u8)} but the target is {size_text(gt_u8)}; "
                             "not resized (only SOTS's protocol resizes the target)")
            return result, Images(lq_u8, out_u8, gt_u8)
        s = metrics.score(out_u8, target, protocol=options.protocol, crop_border=options.crop_border)
        result.psnr, result.ssim, result.status = s.psnr, s.ssim, "done"
    except UirError as error:
        result.reason = error.message
    except (RuntimeError, MemoryError) as error:  # the model failed on this image; go on with the others
        result.reason = f"the model failed: {str(error).splitlines()[0][:200] if str(error) else type(error).__name__}"
    except Exception as error:  # noqa: BLE001 - an unforeseen error fails this pair, not the run
        result.reason = f"unexpected error: {type(error).__name__}: {' '.join(str(error).split())[:200]}"
    return result, Images(lq_u8, out_u8, gt_u8)


def _matched_target(image: np.ndarray, target: np.ndarray, sots: bool, notes: list[str], what: str) -> np.ndarray | None:
    """The target to score ``image`` against: itself when sizes match, resized on SOTS, else None."""
    if image.shape == target.shape:
        return target
    if not sots:
        if what == "input":
            notes.append(f"input is {size_text(image)} but the target is {size_text(target)}: no input baseline")
        return None
    import cv2

    resized = cv2.resize(target, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_CUBIC)
    note = (f"target resized from {size_text(target)} to {size_text(image)} (bicubic, OpenCV) to score the {what}, "
            "as SOTS's MATLAB protocol does (MATLAB's imresize may differ slightly)")
    notes.append(note)
    return resized


def _restore(restorer, lq_rgb: np.ndarray, task: str, name: str, options: EvalOptions, events: Progress,
             result: ImageResult) -> np.ndarray:
    """The model's output, (H, W, 3) float32 in [0, 1]; sets ``result.seconds`` (model time)."""
    import torch

    from ..engine.oom import with_smaller_tiles
    from ..engine.preprocess import DARK_MEAN_LUMA, prepare_input
    from ..engine.tiled import ImageJob, restore_jobs

    model_in, applied = prepare_input(lq_rgb, task)  # as `uir restore` does: auto equalises dark inputs
    if applied == "low-light" and task == "auto":
        result.notes.append(f"dark input (mean luma below {DARK_MEAN_LUMA}): histogram-equalised first, as --task auto does")
    h, w = model_in.shape[:2]
    x_in = torch.from_numpy(np.ascontiguousarray(model_in, dtype=np.float32)).permute(2, 0, 1)
    plan = restorer.plan(h, w, tile=options.tile, overlap=options.tile_overlap, batch=options.batch_size)

    def attempt(plans: list) -> tuple:
        job = ImageJob(key=name, x_in=x_in.to(restorer.device) * 2.0 - 1.0, plan=plans[0], seed=options.seed)
        events(ImageStarted(name, w, h, plans[0].count))
        t0 = time.perf_counter()
        restore_jobs(restorer, [job], steps=restorer.steps, batch_size=options.batch_size,
                     progress=lambda n, px: events(TilesDone(n, px)))
        out = job.result()
        result.seconds = time.perf_counter() - t0
        return job, out

    job, out = with_smaller_tiles(
        restorer, [plan], options.tile_overlap, attempt,
        on_retry=lambda plans: result.notes.append(f"out of memory: retried with {plans[0].count} tiles"))
    if job.fallback_tiles:
        result.notes.append(f"{job.fallback_tiles} tile evaluation(s) redone in fp32 (non-finite output)")
    # C-contiguous, as a decoded file is: metrics then sum in the same order as on the saved PNG.
    return np.ascontiguousarray(out.permute(1, 2, 0).numpy())




# --- settings, environment, memory -------------------------------------------------------


def _settings(options: EvalOptions, restorer) -> RunSettings:
    model_run = restorer is not None and options.predictions is None
    return RunSettings(
        protocol=options.protocol, protocol_description=metrics.describe(options.protocol, options.crop_border),
        crop_border=options.crop_border, limit=options.limit,
        source="model" if model_run else f"predictions from {options.predictions}, no model run",
        predictions=str(options.predictions) if options.predictions else None,
        seed=options.seed if model_run else None, steps=restorer.steps if model_run else None,
        tile=_tile_text(options.tile) if model_run else None, tile_overlap=options.tile_overlap if model_run else None,
        batch_size=options.batch_size if model_run else None,
        precision=restorer.place.precision if model_run else None,
        device=str(restorer.device) if model_run else None,
        device_name=restorer.device_name if model_run else None,
        save_dir=str(options.save_dir) if options.save_dir else None)


def _tile_text(tile: int | None) -> str:
    return "auto" if tile is None else str(tile)


def _reset_peak(restorer) -> None:
    if restorer is not None and restorer.device.type == "cuda":
        import torch

        torch.cuda.reset_peak_memory_stats(restorer.device)


def _max_rss() -> int | None:
    try:
        import resource
        import sys
    except ImportError:  # pragma: no cover - Windows
        return None
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss if sys.platform == "darwin" else rss * 1024)  # bytes on macOS, KiB on Linux


def _peak_memory(restorer) -> tuple[PeakMemory | None, int | None]:
    rss = _max_rss()
    if restorer is not None and restorer.device.type == "cuda":
        import torch

        return PeakMemory(int(torch.cuda.max_memory_allocated(restorer.device)),
                          "CUDA memory allocated by torch (torch.cuda.max_memory_allocated)"), rss
    if rss is None:
        return None, None
    return PeakMemory(rss, "the process's peak resident memory (getrusage ru_maxrss)"), rss
