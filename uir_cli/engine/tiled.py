"""Restoring several images at once, tile by tile, in lockstep through the sampler.

Each image in flight is an :class:`ImageJob`: its condition x_in, its sampler
state x, and a :class:`~uir_cli.engine.tiling.TilePlan`.  At every sampler
step the tiles of all jobs are evaluated by the network in batches (tiles of
one shape stacked together), each tile's prediction is blended into its
image with the plan's window, and then every image takes the step.  The
starting noise is drawn for the whole image (spec section 3) and tiles are cut
from the state, so a seed gives the same picture for any tile or batch size up
to the blending of overlaps, and exactly the whole-image result with one tile.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from ..diffusion.sampler import starting_noise
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
    """Run the whole sampler for ``jobs`` together; afterwards ``job.result()`` gives each image."""
    sampler = restorer.sampler(steps)
    for job in jobs:
        _start(job, sampler)
    work = [(job, i, box) for job in jobs for i, box in enumerate(job.plan.boxes)]
    by_shape: dict[tuple[int, int], list] = {}
    for item in work:
        by_shape.setdefault(item[2].shape, []).append(item)
    for k in range(sampler.steps):
        time = sampler.time_input(k).to(restorer.device)
        whole_pred: dict[int, Tensor] = {}
        for group in by_shape.values():
            for s in range(0, len(group), max(1, batch_size)):
                chunk = group[s : s + batch_size]
                if len(chunk) == 1:
                    xt, xin = (t[None] for t in chunk[0][0].tile(chunk[0][2]))
                else:
                    pairs = [job.tile(box) for job, _, box in chunk]
                    xt = torch.stack([p[0] for p in pairs])
                    xin = torch.stack([p[1] for p in pairs])
                pred, redone = restorer.predict_checked(xt, xin, time)
                del xt, xin
                for j, (job, i, box) in enumerate(chunk):
                    job.fallback_tiles += int(redone[j])
                    if job.plan.whole:
                        whole_pred[id(job)] = pred[j]
                    else:
                        job.acc[:, box.y0 : box.y1, box.x0 : box.x1].addcmul_(pred[j], job.plan.window(i, pred.device))
                if progress is not None:
                    progress(len(chunk), sum(b.shape[0] * b.shape[1] for _, _, b in chunk))
        for job in jobs:
            if job.plan.whole:
                pred = whole_pred.pop(id(job))
            else:
                pred = job.acc.div_(job.wsum)
            job.x = sampler.step(k, job.x, job.x_in, pred, inplace=True)
            if not job.plan.whole:
                if k + 1 < sampler.steps:
                    job.acc.zero_()
                else:
                    job.acc = None  # the last step wrote x0 into it, and it is now job.x
