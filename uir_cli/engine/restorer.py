"""The restorer: a loaded network plus the sampler, on a device, at a precision.

This is the Python API::

    from uir_cli import load_restorer
    restorer = load_restorer("model-300.pt", device="cpu")
    restored = restorer.restore_tensor(lq, seed=0)     # lq: (1, 3, H, W) float in [0, 1]
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from ..diffusion.sampler import Sampler
from ..diffusion.schedule import Schedule
from ..errors import UsageError
from ..nn.shared import merge
from ..nn.unet import DiffUIRNet
from .descriptor import ModelDescriptor
from .device import Placement, device_name, placement, tune_cpu_allocator
from .memory import free_memory, lockstep_fits, max_tile_pixels
from .preprocess import prepare_input
from .tiled import ImageJob, restore_jobs
from .tiling import TilePlan, plan_tiles, plan_tiles_by_area
from ..vocab import TILE_OVERLAP


# What compact tiles in lockstep hold while they wait for each other (skips, residuals,
# convolution outputs): float16 halves the memory; on a 512 x 512 hazy photo in 9 tiles with the
# default weights the picture moved by 0.01 dB (59.54 against 59.55 dB from the whole image).
COMPACT_STORE = torch.float16


class Restorer:
    """Restores images with one network; holds no per-image state.

    ``info``: the model's descriptor, without its weights (the network holds them), with the steps
    this restorer samples with."""

    def __init__(self, net: DiffUIRNet, info: ModelDescriptor, place: Placement):
        self.net = net
        self.info = info
        self.place = place
        self.steps = info.steps
        self.schedule = Schedule.default()
        self.fallbacks = 0  # network calls redone in fp32 because the output was not finite
        self._free: int | None = None  # free memory when the first image was planned

    @property
    def device(self) -> torch.device:
        return self.place.device

    @property
    def device_name(self) -> str:
        return device_name(self.place.device)

    def sampler(self, steps: int | None = None) -> Sampler:
        return Sampler(self.schedule, steps or self.steps)

    def _autocast(self, dtype: torch.dtype):
        if dtype == torch.float32:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=dtype)

    @torch.inference_mode()
    def predict_checked(self, x_t: Tensor, x_in: Tensor, time: Tensor) -> tuple[Tensor, list[bool]]:
        """The network's residual prediction, float32, clamped to [-1, 1], and which samples were redone.

        Inputs (B, 3, h, w) float32 on the device.  At reduced precision a
        sample whose result is not finite is recomputed in float32.
        """
        with self._autocast(self.place.dtype):
            out = self.net(x_t, x_in, time).float()
        redone = [False] * out.shape[0]
        if self.place.dtype != torch.float32:
            bad = ~torch.isfinite(out).flatten(1).all(dim=1)
            if bool(bad.any()):
                idx = bad.nonzero().flatten()
                out[idx] = self.net(x_t[idx], x_in[idx], time).float()
                redone = bad.tolist()
                self.fallbacks += len(idx)
        return out.clamp_(-1.0, 1.0), redone

    @torch.inference_mode()
    def predict_shared(self, batches: list[tuple[Tensor, Tensor, Tensor, list]], time: Tensor,
                       key_strides: dict | None = None, compact: bool = False) -> tuple[list[Tensor], bool]:
        """The network on the tiles of some images at once, the tiles of each image sharing statistics.

        ``batches``: (x_t, x_in, owner, images): tiles (B, 3, h, w) float32 on the device, the
        pixels each owns (B, 1, h, w) (see :meth:`TilePlan.owner`), and per sample a key naming
        its image.  All batches run in lockstep through the network; at every GroupNorm, linear
        attention and middle attention the tiles of one image use the statistics of all of them
        (:mod:`uir_cli.nn.shared`).  ``key_strides``: per image, the thinning of the middle
        attention's keys; ``compact``: hold waiting tiles in float16.  Returns each batch's prediction, float32 clamped to [-1, 1], and
        whether the call was redone in float32 (when any output was not finite, which the
        reduced precision or the float16 that waiting tiles are held in can cause: all tiles
        together, since they share their statistics).
        """
        outs = self._lockstep(batches, time, key_strides or {}, self.place.dtype, COMPACT_STORE if compact else None)
        if not all(bool(torch.isfinite(o).all()) for o in outs):
            outs = self._lockstep(batches, time, key_strides or {}, torch.float32, None)
            self.fallbacks += sum(b[0].shape[0] for b in batches)
            return outs, True
        return outs, False

    @torch.inference_mode()
    def predict_gathering(self, x_t: Tensor, x_in: Tensor, time: Tensor, owner: Tensor,
                          uses: list[list | None]) -> tuple[Tensor, list[bool], list[list]]:
        """One batch of tiles on its own, normalised with statistics gathered before.

        ``uses``: per sample, the merged partials of its image from an earlier pass (one per
        non-local operation, in order), or None for the tile's own statistics.  Returns the
        prediction (float32, clamped to [-1, 1]), which samples were redone in float32, and per
        sample the partials it contributes (to merge for the next pass).
        """
        out, parts = self._gathering(x_t, x_in, time, owner, uses, self.place.dtype)
        samples = [[p.sample(j) for p in parts] for j in range(out.shape[0])]
        redone = [False] * out.shape[0]
        if self.place.dtype != torch.float32:
            bad = ~torch.isfinite(out).flatten(1).all(dim=1)
            if bool(bad.any()):
                idx = bad.nonzero().flatten()
                again, parts = self._gathering(x_t[idx], x_in[idx], time, owner[idx], [uses[i] for i in idx.tolist()],
                                               torch.float32)
                out[idx] = again
                for j, i in enumerate(idx.tolist()):
                    samples[i] = [p.sample(j) for p in parts]
                    redone[i] = True
                self.fallbacks += len(idx)
        return out, redone, samples

    def _gathering(self, x_t, x_in, time, owner, uses, dtype: torch.dtype):
        seen = []
        with self._autocast(dtype):
            gen = self.net.forward_shared(x_t, x_in, time, owner)
            try:
                part = next(gen)
                while True:
                    seen.append(part)
                    part = gen.send([part.sample(j) if use is None else use[len(seen) - 1] for j, use in enumerate(uses)])
            except StopIteration as stop:
                return stop.value.float().clamp_(-1.0, 1.0), seen

    def _lockstep(self, batches, time, key_strides: dict, dtype: torch.dtype, store: torch.dtype | None) -> list[Tensor]:
        with self._autocast(dtype):
            gens = [self.net.forward_shared(x_t, x_in, time, owner, store) for x_t, x_in, owner, _ in batches]
            parts = [next(g) for g in gens]
            while True:
                by_image: dict = {}
                for (_, _, _, images), part in zip(batches, parts):
                    for j, image in enumerate(images):
                        by_image.setdefault(image, []).append(part.sample(j))
                merged = {image: merge(ps, key_strides.get(image, 1)) for image, ps in by_image.items()}
                del by_image
                parts, outs = [], []
                for g, (_, _, _, images) in zip(gens, batches):
                    try:
                        parts.append(g.send([merged[image] for image in images]))
                    except StopIteration as stop:  # every generator ends at the same point
                        outs.append(stop.value.float().clamp_(-1.0, 1.0))
                if outs:
                    return outs

    def plan(self, height: int, width: int, *, tile: int | None = None, overlap: int = TILE_OVERLAP, batch: int = 1) -> TilePlan:
        """Tiles for an image: ``tile`` None = automatic (whole when ``batch`` such tiles fit), 0 = whole, else max side."""
        multiple = self.info.size_multiple
        if self._free is None:  # measured once, before the model holds memory: the same tiles for every image
            self._free = free_memory(self.device)
        if tile is None:
            fits = dict(image_pixels=height * width, batch=batch, free=self._free)
            if height * width <= max_tile_pixels(self.net.config, self.place.precision, self.device, whole=True, **fits):
                return plan_tiles(height, width, 0, overlap, multiple)
            limit = max_tile_pixels(self.net.config, self.place.precision, self.device, **fits)
            plan = plan_tiles_by_area(height, width, limit, overlap, multiple)
        else:
            plan = plan_tiles(height, width, tile, overlap, multiple)
        if plan.whole:
            return plan
        # Tiles in lockstep when they fit; automatic tiles may shrink for it (less work held per tile).
        candidates = [plan]
        if tile is None:
            area = plan.tile_shape[0] * plan.tile_shape[1]
            candidates += [plan_tiles_by_area(height, width, area // d, overlap, multiple) for d in (2, 4)]
        for compact in (False, True):
            for c in candidates:
                th, tw = c.tile_shape
                if lockstep_fits(self.net.config, self.place.precision, self.device, image_pixels=height * width,
                                 tiled_pixels=c.tiled_pixels, tile_pixels=th * tw, batch=batch, free=self._free,
                                 compact=compact):
                    return dataclasses.replace(c, compact=compact)
        return dataclasses.replace(plan, lockstep=False)

    def plan_with_limit(self, plan: TilePlan, max_pixels: int, overlap: int = TILE_OVERLAP) -> TilePlan:
        """Re-plan an image with tiles of at most ``max_pixels`` (after running out of memory), one tile at a time."""
        smaller = plan_tiles_by_area(plan.height, plan.width, max_pixels, overlap, self.info.size_multiple)
        return smaller if smaller.whole else dataclasses.replace(smaller, lockstep=False)

    @torch.inference_mode()
    def restore_tensor(self, lq: Tensor, *, seed: int = 0, steps: int | None = None, noise: Tensor | None = None,
                       tile: int | None = 0, overlap: int = TILE_OVERLAP, batch_size: int = 1) -> Tensor:
        """Restore one image.

        - ``lq``: (1, 3, H, W) float in [0, 1], any device.
        - ``noise``: eps of shape (1, 3, H, W); by default drawn from ``seed`` for the whole image.
        - ``tile``: 0 runs the whole image, N tiles of at most N x N, None chooses by memory.
        Returns (1, 3, H, W) float32 in [0, 1] on the CPU.
        """
        if lq.ndim != 4 or lq.shape[:2] != (1, 3):
            raise UsageError(f"expected a (1, 3, H, W) tensor, got {tuple(lq.shape)}")
        h, w = lq.shape[-2:]
        job = ImageJob(
            key=0,
            x_in=lq[0].to(self.device, torch.float32) * 2.0 - 1.0,
            plan=self.plan(h, w, tile=tile, overlap=overlap),
            seed=seed,
            noise=None if noise is None else noise.reshape(3, h, w),
        )
        restore_jobs(self, [job], steps=steps or self.steps, batch_size=batch_size)
        return job.result()[None]

    def restore_array(self, rgb: np.ndarray, *, seed: int = 0, steps: int | None = None, task: str = "auto",
                      tile: int | None = 0) -> np.ndarray:
        """(H, W, 3) float32 [0, 1] in, the same out; ``task='low-light'`` equalises the input first."""
        rgb, _ = prepare_input(rgb, task)
        lq = torch.from_numpy(np.ascontiguousarray(rgb, dtype=np.float32)).permute(2, 0, 1)[None]
        return self.restore_tensor(lq, seed=seed, steps=steps, tile=tile)[0].permute(1, 2, 0).numpy()


def load_restorer(weights: str | Path | ModelDescriptor, *, device: str = "auto", precision: str = "auto",
                  which: str = "auto", steps: int | None = None, name: str | None = None) -> Restorer:
    """Load weights (a path, a registered name, or a loaded :class:`ModelDescriptor`) into a :class:`Restorer`.

    ``steps``: the sampling steps (default: the weights' own); ``name``: the model's name in reports."""
    if isinstance(weights, ModelDescriptor):
        model = weights
    else:
        from .models import load_model

        model = load_model(weights, which=which)
    place = placement(device, precision)
    if place.precision not in model.precisions:
        raise UsageError(f"{model.name} does not run in {place.precision}", hint=f"use {', '.join(model.precisions)}")
    net = model.build(place.device)
    if place.device.type == "cpu":
        net.set_channels_last()  # oneDNN's fast layout (DiffUIRNet.set_channels_last)
        tune_cpu_allocator()
    return Restorer(net, model.described(name=name or model.name, steps=steps or model.steps), place)
