"""Statistics that the tiles of one image share (the network's non-local operations).

The DiffUIR U-Net is convolutional except for three kinds of operation that
look at the whole image: GroupNorm (a mean and variance per group), the
linear attention (a small context, a softmax over positions of k times v)
and the middle attention (every query against every key).  Run tile by tile,
each of them sees only its tile, and tiles of one image come out normalised
differently.  Here each of them is split into

- a *partial*: what one batch of tiles contributes, over the pixels each tile
  *owns* (a weight per pixel, 1 inside the tile's share of the image, 0 in
  the overlap that a neighbour owns, so every pixel of the image counts once);
- a merge of partials, exact for any split of the image (Chan's parallel
  variance, log-sum-exp rescaling, concatenated keys);
- a *shared* value made from the merged partials, which every tile then uses
  in place of its own.

:meth:`uir_cli.nn.unet.DiffUIRNet.forward_shared` is a generator that yields a
partial at each such operation and receives the merged partial back.  The
engine runs the generators of all tiles of an image in lockstep
(:mod:`uir_cli.engine.tiled`), so every tile is normalised with the statistics
of the whole image as this network call computes them: the numbers the
whole-image forward uses, up to float rounding and the tiles' borders (near a
tile's edge the convolutions see zero padding instead of the neighbouring
pixels; the overlap keeps that away from the owned pixels).
"""

from __future__ import annotations

import math
from collections.abc import Generator
from dataclasses import dataclass

import torch
from torch import Tensor

# At most this many keys per image in the middle attention's shared key set; beyond it the
# keys are subsampled evenly (each kept key standing for its neighbours).  At the lowest
# resolution (1/8 of each side for DiffUIR) this is the whole key set up to about 4 MP.
MAX_SHARED_KEYS = 65536


@dataclass
class GroupPartial:
    """One GroupNorm over a batch of tiles: per sample and group, owned count, mean, sum of squared deviations.

    ``count`` (B,), ``mean`` and ``m2`` (B, G); float64 on the tiles' device.
    """

    count: Tensor
    mean: Tensor
    m2: Tensor

    @staticmethod
    def of(y: Tensor, owner: Tensor, groups: int) -> "GroupPartial":
        """``y`` (B, C, H, W) any float dtype; ``owner`` (B, 1, H, W) float32 weights in [0, 1]."""
        b, c, h, w = y.shape
        per = c // groups
        wt = owner.reshape(b, h * w).float()
        count = wt.sum(dim=1) * per  # (B,)
        safe = count.clamp_min(1e-12)
        # Weighted sums as matrix products along the memory order of y (positions x channels when
        # it is channels-last), so the only image-sized temporary is the deviation.
        if y.is_contiguous(memory_format=torch.channels_last) and not y.is_contiguous():
            yp = y.permute(0, 2, 3, 1).reshape(b, h * w, c).float()  # (B, N, C)
            weigh = lambda t: torch.bmm(wt[:, None, :], t).reshape(b, groups, per).sum(dim=2)  # noqa: E731
            centre = lambda m: m.repeat_interleave(per, dim=1)[:, None, :]  # noqa: E731
        else:
            yp = y.float().reshape(b, c, h * w)  # (B, C, N)
            weigh = lambda t: torch.bmm(t, wt[:, :, None]).reshape(b, groups, per).sum(dim=2)  # noqa: E731
            centre = lambda m: m.repeat_interleave(per, dim=1)[:, :, None]  # noqa: E731
        mean = weigh(yp) / safe[:, None]  # (B, G)
        m2 = weigh((yp - centre(mean)).square_())
        return GroupPartial(count.double(), mean.double(), m2.double())

    def sample(self, j: int) -> "GroupPartial":
        return GroupPartial(self.count[j : j + 1], self.mean[j : j + 1], self.m2[j : j + 1])

    def merge(self, other: "GroupPartial") -> "GroupPartial":
        n = self.count + other.count
        safe = n.clamp_min(1e-12)[:, None]
        delta = other.mean - self.mean
        mean = self.mean + delta * (other.count[:, None] / safe)
        m2 = self.m2 + other.m2 + delta * delta * (self.count[:, None] * other.count[:, None] / safe)
        return GroupPartial(n, mean, m2)

    def shared(self) -> tuple[Tensor, Tensor]:
        """(mean, variance) per sample and group, float32: the population statistics of the owned pixels."""
        var = self.m2 / self.count.clamp_min(1e-12)[:, None]
        return self.mean.float(), var.float()


@dataclass
class ContextPartial:
    """One linear attention over a batch of tiles: its context before the softmax's normalisation.

    With k's softmax over positions n of the whole image, the context is
    sum_n exp(k[d, n] - kmax[d]) v[e, n] / z[d], z[d] = sum_n exp(k[d, n] - kmax[d]).
    ``count`` (B,) owned positions; ``kmax`` and ``z`` (B, heads, d); ``kv`` (B, heads, d, e); float64.
    """

    count: Tensor
    kmax: Tensor
    z: Tensor
    kv: Tensor

    @staticmethod
    def of(k: Tensor, v: Tensor, owner: Tensor) -> "ContextPartial":
        """``k``, ``v`` (B, heads, d, n) any float dtype; ``owner`` (B, ..., n) weights of the n positions."""
        b = k.shape[0]
        wt = owner.reshape(b, 1, 1, -1).float()
        kf = k.float()
        kmax = kf.amax(dim=-1)
        e = (kf - kmax[..., None]).exp_().mul_(wt)
        z = e.sum(dim=-1)
        kv = torch.matmul(e, v.float().transpose(-1, -2))
        return ContextPartial(wt.sum(dim=(1, 2, 3)).double(), kmax.double(), z.double(), kv.double())

    def sample(self, j: int) -> "ContextPartial":
        return ContextPartial(self.count[j : j + 1], self.kmax[j : j + 1], self.z[j : j + 1], self.kv[j : j + 1])

    def merge(self, other: "ContextPartial") -> "ContextPartial":
        kmax = torch.maximum(self.kmax, other.kmax)
        a, b = torch.exp(self.kmax - kmax), torch.exp(other.kmax - kmax)
        return ContextPartial(self.count + other.count, kmax, self.z * a + other.z * b,
                              self.kv * a[..., None] + other.kv * b[..., None])

    def shared(self, scale: float) -> Tensor:
        """The context times ``scale`` / (positions of the image): (B, heads, d, e) float32."""
        ctx = self.kv / self.z.clamp_min(1e-300)[..., None]
        return (ctx * (scale / self.count.clamp_min(1e-12))[:, None, None, None]).float()


@dataclass
class KeysPartial:
    """The middle attention over a batch of tiles: the keys and values of the owned positions.

    Per sample: ``keys`` and ``values`` (heads, d, n_j) float32, ``logw`` (n_j,) the log of each
    key's weight (its share of the pixel, times how many keys it stands for).
    """

    keys: list[Tensor]
    values: list[Tensor]
    logw: list[Tensor]

    @staticmethod
    def of(k: Tensor, v: Tensor, owner: Tensor) -> "KeysPartial":
        """``k``, ``v`` (B, heads, d, n); ``owner`` (B, 1, H, W) with H * W = n."""
        keys, values, logw = [], [], []
        for j in range(k.shape[0]):
            wt = owner[j].reshape(-1).float()
            idx = (wt > 0).nonzero().flatten()
            keys.append(k[j][:, :, idx].float())
            values.append(v[j][:, :, idx].float())
            logw.append(wt[idx].log())
        return KeysPartial(keys, values, logw)

    def sample(self, j: int) -> "KeysPartial":
        return KeysPartial(self.keys[j : j + 1], self.values[j : j + 1], self.logw[j : j + 1])

    def thinned(self, stride: int) -> "KeysPartial":
        """Every ``stride``-th key (each then standing for ``stride`` keys)."""
        if stride <= 1:
            return self
        bump = math.log(stride)
        return KeysPartial([k[:, :, ::stride] for k in self.keys], [v[:, :, ::stride] for v in self.values],
                           [w[::stride] + bump for w in self.logw])

    def merge(self, other: "KeysPartial") -> "KeysPartial":
        cat = lambda a, b, dim: [torch.cat((x, y), dim=dim) for x, y in zip(a, b)]  # noqa: E731
        return KeysPartial(cat(self.keys, other.keys, -1), cat(self.values, other.values, -1),
                           cat(self.logw, other.logw, 0))

    def shared(self) -> "KeysPartial":
        return self


Partial = GroupPartial | ContextPartial | KeysPartial


def merge(parts: list[Partial], key_stride: int = 1) -> Partial:
    """The partials of one operation from all tiles of an image (each a batch of one), merged.

    ``key_stride``: keep every n-th key of the middle attention (see :func:`key_stride`).
    """
    if isinstance(parts[0], KeysPartial):
        parts = [p.thinned(key_stride) for p in parts]
    out = parts[0]
    for p in parts[1:]:
        out = out.merge(p)
    return out


def key_stride(positions: int) -> int:
    """The subsampling of the middle attention's keys for an image with ``positions`` at that level."""
    return max(1, math.ceil(positions / MAX_SHARED_KEYS))


def run_alone(gen: Generator) -> Tensor:
    """Run a :meth:`~uir_cli.nn.unet.DiffUIRNet.forward_shared` generator, each sample with its own statistics."""
    try:
        partial = next(gen)
        while True:
            partial = gen.send([partial.sample(j) for j in range(_batch(partial))])
    except StopIteration as stop:
        return stop.value


def _batch(partial: Partial) -> int:
    return len(partial.keys) if isinstance(partial, KeysPartial) else partial.count.shape[0]
