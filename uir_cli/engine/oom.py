"""Out of memory while restoring: free the device's cache, halve the tiles' area, try again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from .memory import is_oom
from .tiling import TilePlan

RETRIES = 3  # halvings tried before the error stands
_R = TypeVar("_R")


def free_cache(device) -> None:
    """Hand the device's cached blocks back (CUDA only)."""
    if device.type == "cuda":
        import torch

        torch.cuda.empty_cache()


def halved(restorer, plan: TilePlan, overlap: int) -> TilePlan:
    """``plan`` again with tiles of at most half its tiles' area."""
    return restorer.plan_with_limit(plan, max(1, plan.tile_shape[0] * plan.tile_shape[1] // 2), overlap)


def with_smaller_tiles(restorer, plans: list[TilePlan], overlap: int, attempt: Callable[[list[TilePlan]], _R],
                       on_retry: Callable[[list[TilePlan]], None] | None = None) -> _R:
    """``attempt(plans)``; when it runs out of memory, again with every plan :func:`halved`
    (up to :data:`RETRIES` times); any other error, or the last one, is raised."""
    for tries in range(RETRIES + 1):
        try:
            return attempt(plans)
        except (RuntimeError, MemoryError) as exc:
            if not is_oom(exc) or tries == RETRIES:
                raise
            free_cache(restorer.device)
        plans = [halved(restorer, p, overlap) for p in plans]
        if on_retry is not None:
            on_retry(plans)
    raise AssertionError("unreachable")
