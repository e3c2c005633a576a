"""Restoring several images at once, tile by tile, in lockstep through the sampler.

Each image in flight is an :class:`ImageJob`: its condition x_in, its sampler
state x, and a :class:`~uir_cli.engine.tiling.TilePlan`.  At every sampler
step the tiles of all tiled jobs go through the network together (tiles of
one shape stacked in batches), in lockstep: at each GroupNorm, linear attention
and middle attention the tiles of one image share the statistics of all of
them (:mod:`uir_cli.nn.shared`), so the tiles are normalised as the whole
image is.  Each tile's prediction is blended into its image with the plan's
window, and then every image takes the step.  The starting noise is drawn for
the whole image (spec section 3) and tiles are cut from the state, so a seed
gives the same picture for any tile or batch size up to float rounding and the
tiles' borders (a convolution near a tile's edge sees zero padding instead of
the neighbouring pixels), and exactly the whole-image result with one tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..diffusion.sampler import starting_noise
from ..nn.shared import key_stride, merge
from .tiling import Box, TilePlan


@dataclass
class ImageJob:
    """One image being restored.

    ``x_in``: (3, H, W) float32 in [-1, 1] on the restorer's device.
    """

    key: object
    x_in: Tensor
    plan: TilePlan
    seed: int = 0
    noise: Tensor | None = None  # (3, H, W) eps; drawn from the seed when None
    x: Tensor | None = None
    acc: Tensor | None = None
    wsum: Tensor | None = None
    fallback_tiles: int = 0

    @property
    def pixels(self) -> int:
        return self.plan.height * self.plan.width

    def tile(self, box: Box) -> tuple[Tensor, Tensor]:
        return self.x[:, box.y0 : box.y1, box.x0 : box.x1], self.x_in[:, box.y0 : box.y1, box.x0 : box.x1]

    @torch.inference_mode()
    def result(self) -> Tensor:
        """The restored image, (3, H, W) float32 in [0, 1] on the CPU (frees the state)."""
        out = self.x.add_(1.0).mul_(0.5).clamp_(0.0, 1.0).cpu()
        self.x = self.acc = self.wsum = self.x_in = None
        return out


Progress = Callable[[int, int], None]  # (tiles evaluated, pixels evaluated) since the last call


def _start(job: ImageJob, sampler) -> None:
    h, w = job.plan.height, job.plan.width
    noise = job.noise if job.noise is not None else starting_noise(h, w, job.seed)[0]
    job.x = sampler.start(job.x_in, noise.to(job.x_in.device))
    job.noise = None
    if not job.plan.whole:
        job.acc = torch.zeros_like(job.x_in)
        job.wsum = torch.zeros((1, h, w), dtype=torch.float32, device=job.x_in.device)
        for i, box in enumerate(job.plan.boxes):
            job.wsum[:, box.y0 : box.y1, box.x0 : box.x1] += job.plan.window(i, job.x_in.device)


@torch.inference_mode()
def restore_jobs(restorer, jobs: list[ImageJob], *, steps: int, batch_size: int = 1, progress: Progress | None = None) -> None:
    """Run the whole sampler for ``jobs`` together; afterwards ``job.result()`` gives each image.

    At every step the tiles of all tiled images run through the network in lockstep, the
    tiles of each image sharing their normalisation statistics and attention contexts
    (:meth:`Restorer.predict_shared`), so a tiled image gets the whole image's picture up to
    float rounding and the tiles' borders.
    """
    sampler = restorer.sampler(steps)
    for job in jobs:
        _start(job, sampler)
    whole = [(job, 0, job.plan.boxes[0]) for job in jobs if job.plan.whole]
    lockstep = [job for job in jobs if not job.plan.whole and job.plan.lockstep]
    apart = [(job, i, box) for job in jobs if not job.plan.whole and not job.plan.lockstep
             for i, box in enumerate(job.plan.boxes)]
    strides = {id(job): key_stride(_lowest_positions(restorer, job)) for job in jobs if not job.plan.whole}
    for k in range(sampler.steps):
        time = sampler.time_input(k).to(restorer.device)
        preds: dict[int, Tensor] = {}
        for chunk in _batches(whole, batch_size):
            xt, xin = _stack(chunk)
            pred, redone = restorer.predict_checked(xt, xin, time)
            del xt, xin
            for j, (job, _, _) in enumerate(chunk):
                job.fallback_tiles += int(redone[j])
                preds[id(job)] = pred[j]
            _report(progress, chunk)
        for job in lockstep:  # one image at a time: its tiles' activations are all held at once
            chunks = _batches([(job, i, box) for i, box in enumerate(job.plan.boxes)], batch_size)
            batches = [(*_stack(chunk), _owners(chunk), [id(job)] * len(chunk)) for chunk in chunks]
            outs, redone = restorer.predict_shared(batches, time, strides, compact=job.plan.compact)
            del batches
            for chunk, pred in zip(chunks, outs):
                job.fallback_tiles += len(chunk) * int(redone)
                for j, (_, i, box) in enumerate(chunk):
                    job.acc[:, box.y0 : box.y1, box.x0 : box.x1].addcmul_(pred[j], job.plan.window(i, pred.device))
                _report(progress, chunk)
            del outs
        if apart:
            _two_passes(restorer, apart, time, batch_size, strides, progress)
        for job in jobs:
            pred = preds.pop(id(job)) if job.plan.whole else job.acc.div_(job.wsum)
            job.x = sampler.step(k, job.x, job.x_in, pred, inplace=True)
            if not job.plan.whole:
                if k + 1 < sampler.steps:
                    job.acc.zero_()
                else:
                    job.acc = None  # the last step wrote x0 into it, and it is now job.x


def _two_passes(restorer, items: list, time: Tensor, batch_size: int, strides: dict, progress: Progress | None) -> None:
    """Tiles one batch at a time: a first pass gathers each image's statistics, the second uses them.

    Bounded memory (one batch of tiles), twice the work.  The statistics of the first pass
    come from tiles normalised with their own, so they are close to the whole image's but not
    the same; with all tiles in one pass they would be.
    """
    gathered: dict[int, list] = {}
    for last in (False, True):
        uses = gathered
        gathered = {}
        for chunk in _batches(items, batch_size):
            xt, xin = _stack(chunk)
            pred, redone, samples = restorer.predict_gathering(xt, xin, time, _owners(chunk),
                                                               [uses.get(id(job)) for job, _, _ in chunk])
            del xt, xin
            if not last:  # merged as they come: the middle attention's keys thinned first, so memory stays bounded
                for (job, _, _), parts in zip(chunk, samples):
                    parts = [merge([p], strides.get(id(job), 1)) for p in parts]
                    old = gathered.get(id(job))
                    gathered[id(job)] = parts if old is None else [a.merge(b) for a, b in zip(old, parts)]
            else:
                for j, (job, i, box) in enumerate(chunk):
                    job.fallback_tiles += int(redone[j])
                    job.acc[:, box.y0 : box.y1, box.x0 : box.x1].addcmul_(pred[j], job.plan.window(i, pred.device))
            del samples, pred
            if progress is not None:  # each pass is half of the tiles' work
                progress(len(chunk) / 2, sum(b.shape[0] * b.shape[1] for _, _, b in chunk) / 2)


def _owners(chunk: list) -> Tensor:
    return torch.stack([job.plan.owner(i, job.x_in.device)[None] for job, i, _ in chunk])


def _batches(items: list, batch_size: int) -> list[list]:
    """Items grouped by tile shape, at most ``batch_size`` in a group."""
    by_shape: dict[tuple[int, int], list] = {}
    for item in items:
        by_shape.setdefault(item[2].shape, []).append(item)
    n = max(1, batch_size)
    return [group[s : s + n] for group in by_shape.values() for s in range(0, len(group), n)]


def _stack(chunk: list) -> tuple[Tensor, Tensor]:
    if len(chunk) == 1:
        return tuple(t[None] for t in chunk[0][0].tile(chunk[0][2]))
    pairs = [job.tile(box) for job, _, box in chunk]
    return torch.stack([p[0] for p in pairs]), torch.stack([p[1] for p in pairs])


def _report(progress: Progress | None, chunk: list) -> None:
    if progress is not None:
        progress(len(chunk), sum(b.shape[0] * b.shape[1] for _, _, b in chunk))


def _lowest_positions(restorer, job: ImageJob) -> int:
    """Positions of the image at the network's lowest resolution (where the middle attention is)."""
    m = restorer.net.config.size_multiple // 2
    return -(-job.plan.height // m) * -(-job.plan.width // m)
