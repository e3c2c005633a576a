"""How much memory the network needs, and the tiles that fit.

Activation memory grows with the pixels of a batch of tiles.  Measured on the
CPU (peak resident memory of one forward pass on a 1 MP image, minus the
model): in the channels-last layout that the CPU runs (DiffUIRNet.set_channels_last),
1130 bytes per pixel for DiffUIR-T, 1224 for -S, 2175 for -B in float32, 731 (T)
and 1265 (B) under bf16 autocast; in the plain NCHW layout (other devices) about
2.1 KB for T, 3.4 KB for L.  The estimates below are fits of those figures
plus a 10% margin.

On the CPU an image runs whole when it fits its share of the available memory
(exact, and the fastest); else it is tiled within a fixed cap that also leaves
room for the image's own state (the sampler's x, the blended prediction and its
weights, the input: about 40 bytes per pixel), so that a 24 MP image stays under
3 GiB in all.
"""

from __future__ import annotations

import os

import torch

from ..nn.unet import UNetConfig

GiB = 1 << 30
CPU_TOTAL_CAP = int(2.75 * GiB)  # the whole process, for the default tiles
CPU_OVERHEAD = GiB // 2  # interpreter, libraries, model, decode and encode buffers
CPU_BUDGET_SHARE = 0.4  # of the memory available now
GPU_BUDGET_SHARE = 0.6  # of the device's free memory
STATE_BYTES_PER_PIXEL = 40
MIN_TILE_PIXELS = 128 * 128


def bytes_per_pixel(config: UNetConfig, precision: str, device: torch.device | None = None) -> float:
    """Peak activation bytes per input pixel of one forward pass (with a 10% margin).

    ``device``: the CPU computes in the channels-last layout, which needs about half the memory.
    """
    if device is not None and device.type == "cpu":
        fp32 = 150.0 + 34.0 * config.dim
        scale = 1.0 if precision == "fp32" else 0.65  # autocast keeps some tensors in float32
    else:
        fp32 = 1900.0 + 24.0 * config.dim
        scale = 1.0 if precision == "fp32" else 0.6
    return 1.1 * fp32 * scale


def _available_ram() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * GiB


def free_memory(device: torch.device) -> int:
    """Bytes free now: the device's free memory on CUDA, the available RAM elsewhere."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return _available_ram()


def memory_budget(device: torch.device, image_pixels: int = 0, *, free: int | None = None, whole: bool = False) -> int:
    """Bytes the network's activations may use on ``device`` for an image of ``image_pixels``.

    ``free``: the free memory to plan with (see :func:`free_memory`); measured now when None.
    A run measures it once, before its model runs, so that every image gets the same tiles.
    ``whole``: the budget for running the image whole on the CPU: its share of the available
    memory, not the fixed cap that bounds tiled images (whole images are exact and, on the CPU
    here, about three times as fast as two tiles of a 4 MP photo).
    """
    free = free_memory(device) if free is None else free
    if device.type == "cuda":
        return int(free * GPU_BUDGET_SHARE)
    share = int(free * CPU_BUDGET_SHARE)
    if device.type == "mps":
        return min(share, 8 * GiB)
    if whole:
        return max(0, share - CPU_OVERHEAD - STATE_BYTES_PER_PIXEL * image_pixels)
    room = CPU_TOTAL_CAP - CPU_OVERHEAD - STATE_BYTES_PER_PIXEL * image_pixels
    return max(MIN_TILE_PIXELS * 4096, min(share, room))


def max_tile_pixels(config: UNetConfig, precision: str, device: torch.device, *, image_pixels: int = 0, batch: int = 1,
                    free: int | None = None, whole: bool = False) -> int:
    """The most pixels one tile may have so that ``batch`` tiles fit the budget.

    ``whole``: for a whole image, which the CPU runs channels-last (about half the memory);
    tiles run the plain layout of the tiles' shared-statistics forward.
    """
    budget = memory_budget(device, image_pixels, free=free, whole=whole)
    per_pixel = bytes_per_pixel(config, precision, device if whole else None)
    return max(MIN_TILE_PIXELS, int(budget / (per_pixel * max(1, batch))))


def lockstep_bytes(config: UNetConfig, precision: str, tiled_pixels: int, tile_pixels: int, batch: int = 1, *,
                   compact: bool = False) -> int:
    """Peak activation bytes of running all tiles of an image in lockstep (tiles sharing statistics).

    Every tile waits at each GroupNorm for the others, so what a tile holds between two of
    them is held for all: at most three full-resolution tensors of ``dim`` channels (in
    float16 when ``compact``), plus the skips of the lower levels, its input and the owner masks
    (``tiled_pixels``: the pixels of all tiles, overlaps counted once per tile).  One batch of
    tiles at a time does the work between two of them (``tile_pixels`` x ``batch``).  Measured
    on the CPU (DiffUIR-T, 512 x 512 in 9 tiles of 192, compact: 0.23 GiB above the model, 949
    bytes per image pixel), about twice the tensors' own size: the allocator keeps the holes
    that tiles of different lifetimes leave.
    """
    widths = config.widths
    held = 3 * config.dim + sum(4 * w / 4**level for level, w in enumerate(widths[1:-1], start=1))
    live = ((2.0 if compact else 4.0) * held + 24 + 6) * 2.1 * tiled_pixels
    scale = 1.0 if precision == "fp32" else 0.6
    work = 32.0 * config.dim * scale * tile_pixels * max(1, batch)
    return int(live + work)


def lockstep_fits(config: UNetConfig, precision: str, device: torch.device, *, image_pixels: int, tiled_pixels: int,
                  tile_pixels: int, batch: int = 1, free: int | None = None, compact: bool = False) -> bool:
    """Whether the tiles of an image, ``batch`` at a time, fit the memory budget in lockstep."""
    need = lockstep_bytes(config, precision, tiled_pixels, tile_pixels, batch, compact=compact)
    return need <= memory_budget(device, image_pixels, free=free)


def auto_batch(tile_pixels: int, config: UNetConfig, precision: str, device: torch.device, cap: int = 16) -> int:
    """How many tiles of ``tile_pixels`` to run at once: 1 on the CPU, as many as fit elsewhere."""
    if device.type == "cpu":
        return 1  # a bigger batch gives no speed on the CPU, only memory
    return max(1, min(cap, max_tile_pixels(config, precision, device) // max(1, tile_pixels)))


def is_oom(exc: BaseException) -> bool:
    """True when ``exc`` says the device (or the CPU allocator) ran out of memory."""
    text = str(exc).lower()
    return (isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "out of memory" in text
            or "can't allocate memory" in text)  # the CPU allocator's RuntimeError
