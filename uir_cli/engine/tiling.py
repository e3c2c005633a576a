"""Overlapping tiles and their blending weights.

A :class:`TilePlan` cuts an H x W image into equal tiles that overlap by at
least ``overlap`` pixels.  The grid is chosen first (the fewest tiles no larger
than the limit), then the tile size that covers the image with it, so little
work is wasted on overlap.  Each tile's prediction is weighted by a window that
is 1 in its interior and falls smoothly to near 0 across the overlap with a
neighbour (never at the image border); the blended result is
sum(w * pred) / sum(w), so no seam shows.

Tiles know nothing of the network; the network's only requirement is that a
tile is a multiple of ``multiple`` pixels when it is smaller than the image.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from ..vocab import TILE_OVERLAP


@dataclass(frozen=True)
class Box:
    """A tile's place in the image: rows y0:y1, columns x0:x1."""

    y0: int
    y1: int
    x0: int
    x1: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.y1 - self.y0, self.x1 - self.x0)


def segments(length: int, count: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """``count`` equal segments (start, end) covering [0, length), neighbours overlapping >= overlap.

    The size is the smallest multiple of ``multiple`` that covers the axis; the
    starts are spread evenly and the last segment ends at the border.
    """
    if count <= 1:
        return [(0, length)]
    size = math.ceil((length + (count - 1) * overlap) / count)
    size = min(length, math.ceil(size / multiple) * multiple)
    starts = [round(i * (length - size) / (count - 1)) for i in range(count)]
    return [(s, s + size) for s in starts]


def plan_axis(length: int, max_tile: int, overlap: int, multiple: int) -> list[tuple[int, int]]:
    """The fewest segments of at most ``max_tile`` (0: one segment) covering the axis."""
    if max_tile <= 0 or length <= max_tile:
        return [(0, length)]
    overlap = max(0, min(overlap, max_tile // 2))
    count = max(2, math.ceil((length - overlap) / max(1, max_tile - overlap)))
    return segments(length, count, overlap, multiple)


def _ramp(n: int, device=None) -> Tensor:
    """n weights rising smoothly from near 0 to near 1 (raised cosine, never exactly 0)."""
    i = torch.arange(n, dtype=torch.float32, device=device)
    return 0.5 - 0.5 * torch.cos(math.pi * (i + 0.5) / n)


def _axis_weights(segments: list[tuple[int, int]], k: int, device=None) -> Tensor:
    start, end = segments[k]
    w = torch.ones(end - start, dtype=torch.float32, device=device)
    if k > 0:  # ramp up across the overlap with the previous tile
        n = segments[k - 1][1] - start
        if n > 0:
            w[:n] = torch.minimum(w[:n], _ramp(n, device))
    if k < len(segments) - 1:  # ramp down across the overlap with the next tile
        n = end - segments[k + 1][0]
        if n > 0:
            w[-n:] = torch.minimum(w[-n:], _ramp(n, device).flip(0))
    return w


def _axis_owned(segments: list[tuple[int, int]], k: int) -> tuple[int, int]:
    """The part of segment k (relative to its start) that it owns: up to the middle of each overlap."""
    start, end = segments[k]
    lo = 0 if k == 0 else (segments[k - 1][1] + start) // 2 - start
    hi = end - start if k == len(segments) - 1 else (end + segments[k + 1][0]) // 2 - start
    return lo, hi


@dataclass(frozen=True)
class TilePlan:
    """Tiles of an image.

    ``lockstep``: the tiles go through the network together, sharing every statistic as
    it is computed (the whole image's result up to the tiles' borders; memory for the
    whole image's activations between two layers); ``compact``: what waiting tiles hold is
    kept in float16, half the memory for a rounding of it.  Otherwise one tile at a time,
    twice per network call: the first pass gathers the statistics that the second uses
    (bounded memory, statistics close to the whole image's but not the same).
    """

    height: int
    width: int
    rows: tuple[tuple[int, int], ...]
    cols: tuple[tuple[int, int], ...]
    lockstep: bool = True
    compact: bool = False

    @property
    def boxes(self) -> list[Box]:
        return [Box(y0, y1, x0, x1) for (y0, y1) in self.rows for (x0, x1) in self.cols]

    @property
    def count(self) -> int:
        return len(self.rows) * len(self.cols)

    @property
    def tile_shape(self) -> tuple[int, int]:
        return (self.rows[0][1] - self.rows[0][0], self.cols[0][1] - self.cols[0][0])

    @property
    def whole(self) -> bool:
        return self.count == 1

    @property
    def tiled_pixels(self) -> int:
        """The pixels of all tiles together (overlaps counted once per tile)."""
        return self.count * self.tile_shape[0] * self.tile_shape[1]

    def window(self, index: int, device=None) -> Tensor:
        """The blending weights of tile ``index`` (in :attr:`boxes` order): (th, tw) float32."""
        r, c = divmod(index, len(self.cols))
        return _axis_weights(list(self.rows), r, device)[:, None] * _axis_weights(list(self.cols), c, device)[None, :]

    def owner(self, index: int, device=None) -> Tensor:
        """Which pixels of tile ``index`` it owns: (th, tw) float32, 1 or 0.

        The overlap of two tiles is split in its middle, so every pixel of the image
        is owned by exactly one tile: the pixels over which the tiles' shared
        statistics are taken (see :mod:`uir_cli.nn.shared`).
        """
        r, c = divmod(index, len(self.cols))
        (y0, y1), (x0, x1) = _axis_owned(list(self.rows), r), _axis_owned(list(self.cols), c)
        th, tw = self.tile_shape
        mask = torch.zeros((th, tw), dtype=torch.float32, device=device)
        mask[y0:y1, x0:x1] = 1.0
        return mask


def plan_tiles_by_area(height: int, width: int, max_pixels: int, overlap: int = TILE_OVERLAP, multiple: int = 16) -> TilePlan:
    """Tiles of at most ``max_pixels`` each (any aspect), wasting the least work on overlap.

    Among the grids whose tiles fit, picks the one that computes the fewest
    pixels in all (ties: fewer tiles), so a 1000 x 1000 image under a 0.6 MP
    limit becomes 1 x 2 tiles of 1000 x 528, not 2 x 2 squares.
    """
    if height * width <= max_pixels:
        return TilePlan(height, width, ((0, height),), ((0, width),))
    best = None
    max_count = 256
    for nr in range(1, min(max_count, height // multiple + 1) + 1):
        rows = segments(height, nr, overlap, multiple)
        th = rows[0][1] - rows[0][0]
        for nc in range(1, min(max_count, width // multiple + 1) + 1):
            cols = segments(width, nc, overlap, multiple)
            tw = cols[0][1] - cols[0][0]
            if th * tw > max_pixels:
                continue
            key = (nr * nc * th * tw, nr * nc)
            if best is None or key < best[0]:
                best = (key, rows, cols)
            break  # more columns only add work for this row count
    if best is None:  # even the smallest tiles are too big: fall back to minimum-size squares
        side = max(multiple, int(max_pixels**0.5) // multiple * multiple)
        return plan_tiles(height, width, side, overlap, multiple)
    _, rows, cols = best
    return TilePlan(height, width, tuple(rows), tuple(cols))


def plan_tiles(height: int, width: int, tile: int, overlap: int = TILE_OVERLAP, multiple: int = 16) -> TilePlan:
    """Plan tiles of at most ``tile`` x ``tile`` pixels (0: the whole image as one tile)."""
    if tile and tile < multiple:
        raise ValueError(f"tile size {tile} is smaller than the network's size multiple {multiple}")
    tile = (tile // multiple) * multiple if tile else 0
    return TilePlan(
        height,
        width,
        tuple(plan_axis(height, tile, overlap, multiple)),
        tuple(plan_axis(width, tile, overlap, multiple)),
    )
