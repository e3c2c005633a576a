"""The DiffUIR U-Net (spec section 4).

Module and parameter names match the authors' checkpoints with the prefix
``model.unet0.`` removed, so ``DiffUIRNet.load_state_dict`` takes their
weights once that prefix is stripped (see :mod:`uir_cli.engine.weights`).

The network only maps ``(x_t, x_in, time)`` to a prediction of the residual;
schedules and sampling live in :mod:`uir_cli.diffusion`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .shared import ContextPartial, GroupPartial, KeysPartial

HEADS = 4
DIM_HEAD = 32
GROUPS = 8
# At most this many attention scores at once (32M floats = 128 MiB in float32).
ATTENTION_CHUNK = 32 * 1024 * 1024
# Positions at a time in the shared linear attention of tiles (bounds its hidden channels' memory).
SHARED_CHUNK = 64 * 1024
# Positions at a time in the channels-last linear attention (its projections stay in the cache).
LINEAR_CHUNK = 4096


@dataclass(frozen=True)
class UNetConfig:
    """The two numbers that fix a DiffUIR network's shape."""

    dim: int = 32
    dim_mults: tuple[int, ...] = (1, 1, 1, 1)

    def __post_init__(self) -> None:
        if self.dim <= 0 or self.dim % GROUPS:
            raise ValueError(f"dim must be a positive multiple of {GROUPS}, got {self.dim}")
        if self.dim % 2:
            raise ValueError(f"dim must be even, got {self.dim}")
        if not self.dim_mults or any(m <= 0 for m in self.dim_mults):
            raise ValueError(f"dim_mults must be positive integers, got {self.dim_mults}")
        object.__setattr__(self, "dim_mults", tuple(int(m) for m in self.dim_mults))

    @property
    def widths(self) -> list[int]:
        return [self.dim] + [self.dim * m for m in self.dim_mults]

    @property
    def size_multiple(self) -> int:
        """Inputs are reflect-padded to a multiple of this (2 ** depth)."""
        return 2 ** len(self.dim_mults)


def _eps_for(dtype: torch.dtype) -> float:
    # The authors' rule: a tighter epsilon in float32, a looser one otherwise.
    return 1e-5 if dtype == torch.float32 else 1e-3


def standardize_weight(w: Tensor) -> Tensor:
    """Weight standardisation: per output channel, (w - mean) / sqrt(var + eps).

    ``w``: (out, in, kh, kw), any float dtype; population variance over (in, kh, kw).
    """
    eps = _eps_for(w.dtype)
    mean = w.mean(dim=(1, 2, 3), keepdim=True)
    var = w.var(dim=(1, 2, 3), keepdim=True, unbiased=False)
    return (w - mean) * torch.rsqrt(var + eps)


class WSConv2d(nn.Conv2d):
    """A 3x3 convolution with weight standardisation.

    In training the standardised weight is recomputed every call (it depends on
    the parameter), from the parameter in its own dtype: under bf16/fp16
    autocast that is float32 with float32's epsilon, so mixed-precision training
    learns the network that float32 inference runs.  :meth:`DiffUIRNet.freeze`
    computes it once, the same way, and stores it; forward then uses the stored copy.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__(cin, cout, 3, padding=1)
        # A non-persistent buffer: it follows .to() but never enters a state dict.
        self.register_buffer("frozen_weight", None, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        if self.frozen_weight is not None:
            w = self.frozen_weight
        else:
            w = standardize_weight(self.weight)
        return F.conv2d(x, w.to(x.dtype), self.bias.to(x.dtype), 1, 1)


def is_channels_last(x: Tensor) -> bool:
    """Whether ``x`` (B, C, H, W) is laid out channels-last (NHWC) and not also plain NCHW."""
    return x.shape[1] > 1 and x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()


def positions(x: Tensor) -> Tensor:
    """A channels-last (B, C, H, W) tensor as its (B, H*W, C) matrix of positions (a view, no copy)."""
    b, c, h, w = x.shape
    return x.permute(0, 2, 3, 1).reshape(b, h * w, c)


def from_positions(y: Tensor, h: int, w: int) -> Tensor:
    """The inverse of :func:`positions`: (B, H*W, C) -> channels-last (B, C, H, W), a view."""
    return y.reshape(y.shape[0], h, w, y.shape[-1]).permute(0, 3, 1, 2)


def conv1x1(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """A 1x1 convolution: (B, Cin, H, W) -> (B, Cout, H, W).

    Channels-last inputs (the inference layout on the CPU) are one matrix
    product over the positions, any batch size, and stay channels-last.  For
    one NCHW image it is one matrix product the other way round (the same sums
    as ``F.conv2d``), 1.4 to 4 times faster on the CPU here, where oneDNN's
    1x1 path spends its time reordering layouts.  NCHW batches (training)
    take the usual convolution, which measured no slower there.
    """
    b, cin, h, w = x.shape
    if is_channels_last(x):
        w2 = weight.reshape(weight.shape[0], cin).to(x.dtype).t()
        x2 = positions(x)
        y = torch.matmul(x2, w2) if bias is None else torch.baddbmm(bias.to(x.dtype).expand(b, 1, -1), x2, w2.expand(b, -1, -1))
        return from_positions(y, h, w)
    if b != 1:
        return F.conv2d(x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype))
    w2 = weight.reshape(weight.shape[0], cin).to(x.dtype)
    x2 = x.reshape(cin, h * w)
    y = torch.mm(w2, x2) if bias is None else torch.addmm(bias.to(x.dtype)[:, None], w2, x2)
    return y.reshape(1, -1, h, w)


class Conv1x1(nn.Conv2d):
    """``nn.Conv2d(cin, cout, 1)`` (same parameters and names) computed by :func:`conv1x1`."""

    def __init__(self, cin: int, cout: int, bias: bool = True):
        super().__init__(cin, cout, 1, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return conv1x1(x, self.weight, self.bias)


# Which source row (or column) of a nearest-upsampled map each 3x3 kernel row (column) reads, for the
# two output phases: phase 0 reads source rows (i-1, i, i), phase 1 reads (i, i, i+1).  Row p of
# _PHASE_TAPS[a] sums the kernel rows that land on the p-th of the phase's two source rows.
_PHASE_TAPS = (((1.0, 0.0, 0.0), (0.0, 1.0, 1.0)),
               ((1.0, 1.0, 0.0), (0.0, 0.0, 1.0)))


class UpsampleConv(nn.Sequential):
    """Nearest 2x upsampling, then a 3x3 convolution: the authors' ``Sequential(Upsample, Conv2d)``,
    with the same parameter names.

    Once frozen it computes the same sums at the low resolution at inference: each of the four
    output phases (row and column parity) of a 3x3 convolution over a nearest-upsampled map is a
    2x2 convolution of the map itself, its taps the kernel's rows and columns summed where two of
    them read one source pixel.  One 2x2 convolution with four times the output channels and an
    interleave replace the upsampled map and take 4/9 of the multiply-adds.
    """

    def __init__(self, cin: int, cout: int):
        super().__init__(nn.Upsample(scale_factor=2, mode="nearest"), nn.Conv2d(cin, cout, 3, padding=1))
        # Non-persistent buffers: they follow .to() but never enter a state dict.
        self.register_buffer("phase_weight", None, persistent=False)
        self.register_buffer("phase_bias", None, persistent=False)

    def freeze_phases(self, memory_format: torch.memory_format) -> None:
        """Compute the four phases' 2x2 kernels, (4 Cout, Cin, 2, 2), phase-major, from the weights."""
        conv = self[1]
        w = conv.weight.detach().float()
        taps = torch.tensor(_PHASE_TAPS, dtype=torch.float32, device=w.device)
        k = torch.einsum("apk,oikl,bql->aboipq", taps, w, taps)  # (2, 2, Cout, Cin, 2, 2)
        weight = k.reshape(-1, *k.shape[3:]).to(conv.weight.dtype)
        self.phase_weight = weight.contiguous(memory_format=memory_format)
        self.phase_bias = None if conv.bias is None else conv.bias.detach().repeat(4)

    def unfreeze_phases(self) -> None:
        self.phase_weight = self.phase_bias = None

    def forward(self, x: Tensor) -> Tensor:
        if self.phase_weight is None or torch.is_grad_enabled():
            return super().forward(x)
        return upsample_conv_phases(x, self.phase_weight, self.phase_bias)


def upsample_conv_phases(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
    """(B, Cin, H, W) -> (B, Cout, 2H, 2W) in ``x``'s layout: :class:`UpsampleConv` from its phase kernels.

    The 2x2 convolution over ``x`` zero-padded by one gives (H+1) x (W+1) positions per phase;
    phase (a, b) is its window starting at (a, b), and lands on the output pixels (2i+a, 2j+b).
    """
    b, _, h, w = x.shape
    cout = weight.shape[0] // 4
    o = F.conv2d(x, weight.to(x.dtype), None if bias is None else bias.to(x.dtype), padding=1)
    if is_channels_last(x):  # stored (B, H, 2, W, 2, C), seen as (B, C, H, 2, W, 2)
        store = torch.empty((b, h, 2, w, 2, cout), dtype=o.dtype, device=o.device)
        phases, out = store.permute(0, 5, 1, 2, 3, 4), store.view(b, 2 * h, 2 * w, cout).permute(0, 3, 1, 2)
    else:
        phases = torch.empty((b, cout, h, 2, w, 2), dtype=o.dtype, device=o.device)
        out = phases.view(b, cout, 2 * h, 2 * w)
    for a in range(2):
        for c in range(2):
            k = 2 * a + c
            phases[:, :, :, a, :, c] = o[:, k * cout:(k + 1) * cout, a:a + h, c:c + w]
    return out


class Block(nn.Module):
    """WS conv, GroupNorm(8), optional FiLM (x * (scale + 1) + shift), SiLU."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.proj = WSConv2d(cin, cout)
        self.norm = nn.GroupNorm(GROUPS, cout)

    def forward(self, x: Tensor, scale_shift: tuple[Tensor, Tensor] | None = None) -> Tensor:
        x = self.proj(x)
        if not torch.is_grad_enabled() and x.shape[0] == 1:
            return self._norm_act_inplace(x, scale_shift)
        x = self.norm(x)
        if scale_shift is not None:
            scale, shift = scale_shift
            x = torch.addcmul(shift, x, scale + 1)
        return F.silu(x)

    def _norm_act_inplace(self, x: Tensor, scale_shift: tuple[Tensor, Tensor] | None) -> Tensor:
        """The same at inference: GroupNorm's affine and the FiLM as one per-channel a * x + b, in place.

        (x_hat * g + beta) * (scale + 1) + shift = x_hat * a + b, a = g (scale + 1),
        b = beta (scale + 1) + shift: one pass over the image instead of two new tensors.
        """
        x = F.group_norm(x, GROUPS, None, None, self.norm.eps)
        a, b = self.norm.weight.to(x.dtype), self.norm.bias.to(x.dtype)
        if scale_shift is not None:
            scale, shift = scale_shift
            scale = scale.reshape(-1).to(x.dtype) + 1
            a, b = a * scale, torch.addcmul(shift.reshape(-1).to(x.dtype), b, scale)
        x = torch.addcmul(b[:, None, None], x, a[:, None, None], out=x) if x.dtype == a.dtype else x.mul_(a[:, None, None]).add_(b[:, None, None])
        return F.silu(x, inplace=True)


class ResnetBlock(nn.Module):
    def __init__(self, cin: int, cout: int, time_dim: int):
        super().__init__()
        # Index 0 of the authors' Sequential is a SiLU, so the Linear sits at "mlp.1".
        self.mlp = nn.Sequential(nn.SiLU(), nn.Linear(time_dim, cout * 2))
        self.block1 = Block(cin, cout)
        self.block2 = Block(cout, cout)
        self.res_conv = Conv1x1(cin, cout) if cin != cout else nn.Identity()

    def forward(self, x: Tensor, t_emb: Tensor) -> Tensor:
        scale, shift = self.mlp(t_emb)[:, :, None, None].chunk(2, dim=1)
        h = self.block1(x, (scale, shift))
        h = self.block2(h)
        return _sum_into(h, self.res_conv(x))


class ChannelLayerNorm(nn.Module):
    """LayerNorm over channels only: (x - mean_c) / sqrt(var_c + eps) * g.

    Computed with ``F.layer_norm`` on a channels-last view (the same formula:
    biased variance, eps inside the root), about three times faster on the CPU
    than reducing over the strided channel axis.

    eps follows the authors' rule (1e-5 in float32, 1e-3 in half precision) by the
    precision the norm is computed in: under autocast that is float32 (autocast runs
    layer norms in float32), so mixed-precision training and bf16 inference use the
    eps of float32 inference.  (Taking it from the bf16 input instead had made
    weights trained under bf16 autocast lose 0.1-0.3 dB when run in float32.)
    """

    def __init__(self, dim: int):
        super().__init__()
        self.g = nn.Parameter(torch.ones(1, dim, 1, 1))

    def forward(self, x: Tensor) -> Tensor:
        c = x.shape[1]
        computed = torch.float32 if torch.is_autocast_enabled(x.device.type) else x.dtype
        y = F.layer_norm(x.permute(0, 2, 3, 1), (c,), self.g.reshape(c).to(x.dtype), None, _eps_for(computed))
        y = y.permute(0, 3, 1, 2)
        # Keep the input's memory layout (a no-op copy-free view for channels-last inputs).
        return y if x.is_contiguous(memory_format=torch.channels_last) else y.contiguous()


class PreNorm(nn.Module):
    def __init__(self, dim: int, fn: nn.Module):
        super().__init__()
        self.fn = fn
        self.norm = ChannelLayerNorm(dim)

    def forward(self, x: Tensor) -> Tensor:
        return self.fn(self.norm(x))


class Residual(nn.Module):
    def __init__(self, fn: nn.Module):
        super().__init__()
        self.fn = fn

    def forward(self, x: Tensor) -> Tensor:
        return _sum_into(self.fn(x), x)


def _sum_into(fresh: Tensor, other: Tensor) -> Tensor:
    """``fresh + other``, at inference written into ``fresh`` (a tensor its caller made and owns).

    In place only where that gives the same result (no autograd, and ``fresh`` already has
    the promoted dtype, which under autocast it may not): one image-sized tensor fewer.
    """
    if torch.is_grad_enabled() or fresh.dtype != torch.promote_types(fresh.dtype, other.dtype):
        return fresh + other
    return fresh.add_(other)


class LinearAttention(nn.Module):
    """Linear attention: q softmax over a head's channels, k softmax over positions.

    out = (context^T q) with context = softmax_n(k) v^T, q scaled by 32 ** -0.5 and
    v divided by H*W, as the authors define it.  The two scalings are applied to
    the small (d x d) context instead of the large q and v, and k/v are computed
    before q, so the full-resolution peak memory is about half of the direct way.
    """

    def __init__(self, dim: int):
        super().__init__()
        hidden = HEADS * DIM_HEAD
        self.to_qkv = Conv1x1(dim, hidden * 3, bias=False)
        self.to_out = nn.Sequential(Conv1x1(hidden, dim), ChannelLayerNorm(dim))

    def forward(self, x: Tensor) -> Tensor:
        if is_channels_last(x) and not torch.is_grad_enabled():  # runs in place and out=: inference only
            return self._forward_positions(x)
        b, _, h, w = x.shape
        n = h * w
        hidden = HEADS * DIM_HEAD
        weight = self.to_qkv.weight
        # k and v first (channels hidden..3*hidden of to_qkv), reduced to the small context.
        kv = conv1x1(x, weight[hidden:])
        k, v = (t.reshape(b, HEADS, DIM_HEAD, n) for t in kv.chunk(2, dim=1))
        context = torch.matmul(k.softmax(dim=-1), v.transpose(-1, -2))  # (b, h, d, e) = sum_n k[d, n] v[e, n]
        del kv, k, v
        context = context * (DIM_HEAD**-0.5 / n)  # the q scale and the 1/(H*W) of v, folded in
        q = conv1x1(x, weight[:hidden]).reshape(b, HEADS, DIM_HEAD, n).softmax(dim=-2)
        out = torch.matmul(context.transpose(-1, -2), q)  # (b, h, e, n) = sum_d context[d, e] q[d, n]
        return self.to_out(out.reshape(b, hidden, h, w))

    def _forward_positions(self, x: Tensor) -> Tensor:
        """The same sums on a channels-last input, in runs of positions that stay in the cache.

        Rows of the (B, N, C) position matrix are taken ``LINEAR_CHUNK`` at a time, twice: first
        k and v, whose softmax over positions is accumulated into the small context with a
        running maximum (log-sum-exp rescaling, exact for any split); then q, with ``to_out``'s
        1x1 convolution folded into the context (:meth:`_queries_out`).  Neither the (N x 3
        hidden) projections nor the (N x hidden) attention output ever exist whole: memory is
        the input and output only, and every softmax and product runs along contiguous memory.
        """
        b, c, h, w = x.shape
        n = h * w
        hidden = HEADS * DIM_HEAD
        w_kv = self.to_qkv.weight[hidden:].reshape(2 * hidden, c).to(x.dtype).t()
        xp = positions(x)
        y = None
        for j in range(b):
            ctx, z, _ = _context_in_runs(xp[j], w_kv)
            # 1/z, the q scale and the 1/(H*W) of v, folded into the context
            y = self._queries_out(xp, j, ctx * ((DIM_HEAD**-0.5 / n) / z.reshape(HEADS, DIM_HEAD, 1)), y)
        return self.to_out[1](from_positions(y, h, w))

    def _queries_out(self, xp: Tensor, j: int, context: Tensor, y: Tensor | None) -> Tensor:
        """``to_out``'s 1x1 convolution of (context^T q) for sample ``j`` of ``xp`` (B, N, C), written into ``y``.

        ``context`` (heads, d, e) float32, already scaled; q = softmax over each head's d of
        x W_q.  ``to_out``'s convolution is folded into the context (out = q @ M, M = per head
        context_h @ W_out_h^T, a (hidden x C) matrix), and runs of ``LINEAR_CHUNK`` positions
        are written straight into ``y`` (B, N, C), allocated at the first call in q's dtype.
        """
        b, n, c = xp.shape
        hidden = HEADS * DIM_HEAD
        w_q = self.to_qkv.weight[:hidden].reshape(hidden, c).to(xp.dtype).t()
        out_w = self.to_out[0].weight.reshape(c, HEADS, DIM_HEAD).permute(1, 2, 0).float()  # (heads, e, c)
        fold = torch.bmm(context, out_w).reshape(hidden, c)
        for s in range(0, n, LINEAR_CHUNK):
            q = torch.mm(xp[j, s : s + LINEAR_CHUNK], w_q).reshape(-1, HEADS, DIM_HEAD).softmax(dim=-1)
            if y is None:
                y = torch.empty((b, n, c), dtype=q.dtype, device=xp.device)
            # out= (no autocast there, so the operands are cast by hand): no temporary per run
            torch.addmm(self.to_out[0].bias.to(q.dtype), q.reshape(-1, hidden), fold.to(q.dtype),
                        out=y[j, s : s + LINEAR_CHUNK])
        return y


def _context_in_runs(xp: Tensor, w_kv: Tensor, weight: Tensor | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """sum_n w[n] exp(k[n, d] - kmax[d]) v[n, e] per head, z[d] = sum_n w[n] exp(k[n, d] - kmax[d]), kmax.

    ``xp`` (N, C) one image's positions, ``w_kv`` (C, 2 hidden); ``weight`` (N,) float32 weights
    of the positions (the pixels a tile owns), None for all ones.  Returns the context (heads, d,
    e), z and kmax (hidden,), float32, accumulated over runs of ``LINEAR_CHUNK`` positions
    (kmax is the maximum over all positions, weighted or not).  v = x W_v is linear, so
    sum_n e[n, d] v[n, e] = (sum_n e[n, d] x[n, :]) W_v[:, e]: the positions are summed against
    x (C channels) and W_v applied once to the small result, and v itself is never computed.
    """
    hidden = HEADS * DIM_HEAD
    n, c = xp.shape
    ex = torch.zeros((hidden, c), dtype=torch.float32, device=xp.device)  # sum_n e[n, d] x[n, :]
    z = torch.zeros(hidden, dtype=torch.float32, device=xp.device)
    w_k, w_v = w_kv[:, :hidden], w_kv[:, hidden:]
    kmax = None
    for s in range(0, n, LINEAR_CHUNK):
        rows = xp[s : s + LINEAR_CHUNK]
        k = torch.mm(rows, w_k)  # (m, hidden)
        top = k.amax(dim=0).float()
        if kmax is None:
            kmax = top
        else:
            new = torch.maximum(kmax, top)
            shrink = (kmax - new).exp_()
            kmax = new
            z.mul_(shrink)
            ex.mul_(shrink[:, None])
        k.sub_(kmax.to(k.dtype)).exp_()
        if weight is not None:
            k.mul_(weight[s : s + LINEAR_CHUNK, None].to(k.dtype))
        z.add_(k.sum(dim=0, dtype=torch.float32))
        ex.add_(torch.mm(k.t(), rows).float())
    wv = w_v.float().reshape(c, HEADS, DIM_HEAD).transpose(0, 1)  # (heads, C, e)
    return torch.bmm(ex.reshape(HEADS, DIM_HEAD, c), wv), z, kmax


class Attention(nn.Module):
    """Full softmax attention over all positions (used once, at the lowest resolution).

    The authors' sums (q scaled by 32 ** -0.5, softmax of q^T k over the keys, times v),
    by :func:`_attend`, which never holds the whole (n x n) score matrix.
    """

    def __init__(self, dim: int):
        super().__init__()
        hidden = HEADS * DIM_HEAD
        self.to_qkv = Conv1x1(dim, hidden * 3, bias=False)
        self.to_out = Conv1x1(hidden, dim)

    def forward(self, x: Tensor) -> Tensor:
        b, _, h, w = x.shape
        n = h * w
        if is_channels_last(x):
            qkv = conv1x1(x, self.to_qkv.weight)
            q, k, v = (t.reshape(b, n, HEADS, DIM_HEAD).transpose(1, 2) for t in positions(qkv).chunk(3, dim=-1))
            out = _attend(q, k, v)  # (b, heads, n, d)
            return self.to_out(from_positions(out.transpose(1, 2).reshape(b, n, HEADS * DIM_HEAD), h, w))
        # (b, heads, n, d) with d contiguous: the fused kernels need it (else the n x n scores exist)
        q, k, v = (t.reshape(b, HEADS, DIM_HEAD, n).transpose(-1, -2).contiguous() for t in self.to_qkv(x).chunk(3, dim=1))
        out = _attend(q, k, v)  # (b, heads, n, d)
        return self.to_out(out.transpose(-1, -2).reshape(b, HEADS * DIM_HEAD, h, w))


def _attend(q: Tensor, k: Tensor, v: Tensor) -> Tensor:
    """softmax(q k^T / sqrt(d)) v for (b, heads, n, d) inputs.

    PyTorch's fused attention (on the CPU a blocked, memory-efficient kernel, 3.5 times the
    speed of score matrix, softmax and product here; the same sums up to float rounding).
    On MPS in chunks of query rows, so the (n x n) score matrix never has more than
    ``ATTENTION_CHUNK`` elements at once (each row's softmax is independent, so chunking
    changes nothing but the memory used).
    """
    if q.device.type != "mps":
        return F.scaled_dot_product_attention(q, k, v)
    b, heads, n, _ = q.shape
    q = q * DIM_HEAD**-0.5
    k_t = k.transpose(-1, -2)
    rows = max(1, ATTENTION_CHUNK // (b * heads * n))
    parts = [torch.matmul(torch.matmul(q[:, :, i : i + rows], k_t).softmax(dim=-1), v) for i in range(0, n, rows)]
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=2)


class SinusoidalPosEmb(nn.Module):
    """Sinusoidal embedding of a float time input; width ``dim`` ([sin, cos])."""

    def __init__(self, dim: int):
        super().__init__()
        self.dim = dim

    def forward(self, t: Tensor) -> Tensor:
        half = self.dim // 2
        freqs = torch.exp(torch.arange(half, device=t.device, dtype=torch.float32) * (-math.log(10000) / (half - 1)))
        args = t.float()[:, None] * freqs[None, :]
        return torch.cat((args.sin(), args.cos()), dim=-1)


class DiffUIRNet(nn.Module):
    """The DiffUIR U-Net for any (dim, dim_mults).

    ``forward(x_t, x_in, time)``:
      - ``x_t``, ``x_in``: (B, 3, H, W), float, in about [-1, 1], any H and W;
      - ``time``: (B,) or a scalar, float, the time input a_bar[t] * T (not the integer t);
      - returns (B, 3, H, W), the predicted residual x_in - x0, same dtype as the input.
    The input is reflect-padded on the right and bottom to a multiple of
    2 ** depth and the output cropped back.
    """

    def __init__(self, config: UNetConfig = UNetConfig()):
        super().__init__()
        self.config = config
        dim = config.dim
        time_dim = dim * 4
        widths = config.widths
        levels = list(zip(widths[:-1], widths[1:]))
        depth = len(levels)

        self.init_conv = nn.Conv2d(6, dim, 7, padding=3)
        self.time_mlp = nn.Sequential(
            SinusoidalPosEmb(dim), nn.Linear(dim, time_dim), nn.GELU(), nn.Linear(time_dim, time_dim)
        )

        self.downs = nn.ModuleList()
        for i, (w_in, w_out) in enumerate(levels):
            last = i == depth - 1
            self.downs.append(
                nn.ModuleList(
                    [
                        ResnetBlock(w_in, w_in, time_dim),
                        ResnetBlock(w_in, w_in, time_dim),
                        Residual(PreNorm(w_in, LinearAttention(w_in))),
                        nn.Conv2d(w_in, w_out, 3, padding=1) if last else nn.Conv2d(w_in, w_out, 4, 2, 1),
                    ]
                )
            )

        mid = widths[-1]
        self.mid_block1 = ResnetBlock(mid, mid, time_dim)
        self.mid_attn = Residual(PreNorm(mid, Attention(mid)))
        self.mid_block2 = ResnetBlock(mid, mid, time_dim)

        self.ups = nn.ModuleList()
        for i, (w_in, w_out) in enumerate(reversed(levels)):
            last = i == depth - 1
            self.ups.append(
                nn.ModuleList(
                    [
                        ResnetBlock(w_out + w_in, w_out, time_dim),
                        ResnetBlock(w_out + w_in, w_out, time_dim),
                        Residual(PreNorm(w_out, LinearAttention(w_out))),
                        nn.Conv2d(w_out, w_in, 3, padding=1)
                        if last
                        else UpsampleConv(w_out, w_in),
                    ]
                )
            )

        self.final_res_block = ResnetBlock(dim * 2, dim, time_dim)
        self.final_conv = Conv1x1(dim, 3)
        # Compute in the channels-last layout (see set_channels_last); a setting, not a weight.
        self.channels_last = False

    # -- inference helpers -------------------------------------------------------------------

    def freeze(self) -> "DiffUIRNet":
        """Prepare for inference: eval mode, no gradients, standardised weights computed once.

        Call again after changing the weights.  :meth:`unfreeze` undoes it.
        """
        self.eval()
        self.requires_grad_(False)
        for m in self.modules():
            if isinstance(m, WSConv2d):
                with torch.no_grad():
                    w = standardize_weight(m.weight.float()).to(m.weight.dtype)
                    m.frozen_weight = w.contiguous(memory_format=self._weight_format())
            elif isinstance(m, UpsampleConv):
                m.freeze_phases(self._weight_format())
        return self

    def set_channels_last(self, on: bool = True) -> "DiffUIRNet":
        """Compute :meth:`forward` in the channels-last (NHWC) layout.

        On the CPU, oneDNN's 3x3 convolutions run about 1.8 times as fast on NHWC as on
        NCHW tensors, and the 1x1 convolutions, layer norms and attention then work on
        contiguous (positions x channels) matrices with no transposing copies.  The sums
        are the same up to float rounding; the output is a channels-last tensor.
        """
        self.channels_last = bool(on)
        for m in self.modules():
            if isinstance(m, WSConv2d) and m.frozen_weight is not None:
                m.frozen_weight = m.frozen_weight.contiguous(memory_format=self._weight_format())
            elif isinstance(m, UpsampleConv) and m.phase_weight is not None:
                m.phase_weight = m.phase_weight.contiguous(memory_format=self._weight_format())
        return self

    def _weight_format(self) -> torch.memory_format:
        return torch.channels_last if self.channels_last else torch.contiguous_format

    def unfreeze(self) -> "DiffUIRNet":
        for m in self.modules():
            if isinstance(m, WSConv2d):
                m.frozen_weight = None
            elif isinstance(m, UpsampleConv):
                m.unfreeze_phases()
        self.requires_grad_(True)
        return self

    # -- forward -----------------------------------------------------------------------------

    def forward(self, x_t: Tensor, x_in: Tensor, time: Tensor) -> Tensor:
        h, w = x_t.shape[-2:]
        x, pad_h, pad_w = self._padded_input(x_t, x_in)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)

        x = self.init_conv(x)
        r = x
        t = self._time_embedding(time, x)

        skips = []
        for block1, block2, attn, down in self.downs:
            x = block1(x, t)
            skips.append(x)
            x = block2(x, t)
            x = attn(x)
            skips.append(x)
            x = down(x)

        x = self.mid_block1(x, t)
        x = self.mid_attn(x)
        x = self.mid_block2(x, t)

        for block1, block2, attn, up in self.ups:
            x = block1(torch.cat((x, skips.pop()), dim=1), t)
            x = block2(torch.cat((x, skips.pop()), dim=1), t)
            x = attn(x)
            x = up(x)

        x = self.final_res_block(torch.cat((x, r), dim=1), t)
        x = self.final_conv(x)
        return x[..., :h, :w]


    def _padded_input(self, x_t: Tensor, x_in: Tensor) -> tuple[Tensor, int, int]:
        """The 6-channel input, reflect-padded on the right and bottom to the size multiple; the padding."""
        h, w = x_t.shape[-2:]
        m = self.config.size_multiple
        pad_h, pad_w = (-h) % m, (-w) % m
        x = torch.cat((x_t, x_in), dim=1)
        if pad_h or pad_w:
            x = _reflect_pad(x, pad_w, pad_h)
        return x, pad_h, pad_w

    def _time_embedding(self, time: Tensor, x: Tensor) -> Tensor:
        """The time MLP on ``time`` (a scalar or one per sample), in ``x``'s dtype."""
        time = torch.as_tensor(time, dtype=torch.float32, device=x.device)
        if time.ndim == 0:
            time = time.expand(x.shape[0])
        return self.time_mlp(time).to(x.dtype)

    # -- tiles that share statistics (see uir_cli.nn.shared) ----------------------------------

    def _owner_levels(self, owner: Tensor, pad_h: int, pad_w: int) -> list[Tensor]:
        """The owned share of each pixel at every resolution of the down path (padding owned by nobody)."""
        owner = owner.float()
        if pad_h or pad_w:  # padded pixels are nobody's: they count in no statistic
            owner = F.pad(owner, (0, pad_w, 0, pad_h))
        owners = [owner]
        for _ in range(len(self.downs) - 1):
            owners.append(F.avg_pool2d(owners[-1], 2))
        return owners

    def forward_shared(self, x_t: Tensor, x_in: Tensor, time: Tensor, owner: Tensor, store: torch.dtype | None = None):
        """:meth:`forward` for tiles of an image, as a generator that asks for shared statistics.

        ``owner``: (B, 1, H, W) float32 in [0, 1], the share of each pixel that the tile owns.
        At each non-local operation (every GroupNorm, every linear attention's context, the
        middle attention's keys) the generator yields a partial (:mod:`uir_cli.nn.shared`) over
        the owned pixels, and must be sent back, per sample of the batch, the merged partial to
        normalise with.  It returns what :meth:`forward` returns; with each sample's own partial
        sent back (:func:`uir_cli.nn.shared.run_alone`) and ``owner`` all ones, that is
        :meth:`forward` up to float rounding, on inputs that need no padding.

        ``store``: the dtype of what a tile holds while it waits (skips, residuals, the
        convolution outputs waiting for their statistics), e.g. ``torch.float16`` to halve the
        memory of tiles in lockstep at the cost of rounding them; None keeps them as computed.
        """
        h, w = x_t.shape[-2:]
        x, pad_h, pad_w = self._padded_input(x_t, x_in)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        owners = self._owner_levels(owner, pad_h, pad_w)

        # All tiles of an image wait at each yield, so what a tile holds across a yield is held
        # for the whole image: hand inputs over in lists that the callee empties, and keep the
        # 6-channel input instead of the init_conv output r (computed again at the end).
        inp = x
        x = self.init_conv(inp)
        t = self._time_embedding(time, x)

        skips = []
        for level, (block1, block2, attn, down) in enumerate(self.downs):
            own = owners[level]
            held = [x]
            del x
            x = yield from _resnet_shared(block1, held, t, own, store)
            skips.append(_keep(x, store))
            held = [x]
            del x
            x = yield from _resnet_shared(block2, held, t, own, store)
            held = [x]
            del x
            x = yield from _linear_attention_shared(attn.fn, held, own, store)
            skips.append(_keep(x, store))
            x = down(x)

        own = owners[-1]
        held = [x]
        del x
        x = yield from _resnet_shared(self.mid_block1, held, t, own, store)
        x = x + (yield from _attention_shared(self.mid_attn.fn, x, own))
        held = [x]
        del x
        x = yield from _resnet_shared(self.mid_block2, held, t, own, store)

        for level, (block1, block2, attn, up) in zip(reversed(range(len(self.ups))), self.ups):
            own = owners[level]
            held = [x, skips.pop()]
            del x
            x = yield from _resnet_shared(block1, held, t, own, store)
            held = [x, skips.pop()]
            del x
            x = yield from _resnet_shared(block2, held, t, own, store)
            held = [x]
            del x
            x = yield from _linear_attention_shared(attn.fn, held, own, store)
            x = up(x)

        held = [x, self.init_conv(inp)]
        del x, inp
        x = yield from _resnet_shared(self.final_res_block, held, t, owners[0], store)
        x = self.final_conv(x)
        return x[..., :h, :w]


def _keep(x: Tensor, store: torch.dtype | None) -> Tensor:
    """``x`` as held while tiles wait for each other (see ``forward_shared``'s ``store``)."""
    return x if store is None or x.dtype == store else x.to(store)


def _norm_act(block: Block, held: list[Tensor], owner: Tensor, scale_shift: tuple[Tensor, Tensor] | None = None,
              store: torch.dtype | None = None):
    """The rest of :meth:`Block.forward` after its convolution (``held``, emptied), GroupNorm statistics asked for."""
    y = held.pop()
    dtype = y.dtype
    partial = GroupPartial.of(y, owner, GROUPS)
    y = _keep(y, store)
    parts = yield partial
    y = y.to(dtype)
    stats = [p.shared() for p in parts]
    mean = torch.cat([s[0] for s in stats]).to(y.device)  # (B, G)
    var = torch.cat([s[1] for s in stats]).to(y.device)
    c = y.shape[1]
    norm = block.norm
    inv = torch.rsqrt(var + norm.eps).repeat_interleave(c // GROUPS, dim=1)  # (B, C)
    scale = inv * norm.weight.float()[None]
    shift = norm.bias.float()[None] - mean.repeat_interleave(c // GROUPS, dim=1) * scale
    # In place: the convolution's output is this block's own (the same arithmetic as Block.forward).
    y = y.mul_(scale[:, :, None, None].to(y.dtype)).add_(shift[:, :, None, None].to(y.dtype))
    if scale_shift is not None:
        s, sh = scale_shift
        y = y.mul_(s + 1).add_(sh) if y.dtype == sh.dtype else torch.addcmul(sh, y, s + 1)
    return F.silu(y, inplace=True)


def _resnet_shared(block: ResnetBlock, held: list[Tensor], t_emb: Tensor, owner: Tensor,
                   store: torch.dtype | None = None):
    """:meth:`ResnetBlock.forward` on the channel concatenation of ``held`` (emptied), as a generator."""
    x = held[0] if len(held) == 1 else torch.cat([h.to(held[0].dtype) for h in held], dim=1)
    held.clear()
    scale, shift = block.mlp(t_emb)[:, :, None, None].chunk(2, dim=1)
    res = _keep(block.res_conv(x), store)
    held = [block.block1.proj(x)]
    del x
    y = yield from _norm_act(block.block1, held, owner, (scale, shift), store)
    held = [block.block2.proj(y)]
    del y
    y = yield from _norm_act(block.block2, held, owner, None, store)
    return y.add_(res) if y.dtype == res.dtype or store is not None else y + res


def _linear_attention_shared(prenorm: PreNorm, held: list[Tensor], owner: Tensor, store: torch.dtype | None = None):
    """``Residual(PreNorm(LinearAttention))`` on ``held`` (emptied), the context summed over the whole image.

    Computed in runs of ``SHARED_CHUNK`` positions, so its 384 hidden channels never exist
    for the whole tile at once.
    """
    la: LinearAttention = prenorm.fn
    x = held.pop()
    if is_channels_last(x):
        return (yield from _linear_attention_shared_positions(prenorm, x, owner, store))
    dtype = x.dtype
    b, c, h, w = x.shape
    n = h * w
    hidden = HEADS * DIM_HEAD
    weight = la.to_qkv.weight.reshape(3 * hidden, c).to(x.dtype)
    xn = prenorm.norm(x).reshape(b, c, n)
    own = owner.reshape(b, 1, n)
    partial = None
    for s in range(0, n, SHARED_CHUNK):
        kv = torch.matmul(weight[hidden:], xn[:, :, s : s + SHARED_CHUNK])  # (b, 2 hidden, m)
        k, v = (t.reshape(b, HEADS, DIM_HEAD, -1) for t in kv.chunk(2, dim=1))
        part = ContextPartial.of(k, v, own[:, :, s : s + SHARED_CHUNK])
        partial = part if partial is None else partial.merge(part)
        del kv, k, v
    del xn
    x = _keep(x, store)
    parts = yield partial
    x = x.to(dtype)
    context = torch.cat([p.shared(DIM_HEAD**-0.5) for p in parts]).to(x.device, x.dtype)  # (b, heads, d, e)
    xn = prenorm.norm(x).reshape(b, c, n)
    out_w = la.to_out[0].weight.reshape(c, hidden).to(x.dtype)
    out_b = la.to_out[0].bias.to(x.dtype)[:, None]
    out = torch.empty((b, c, n), dtype=x.dtype, device=x.device)
    for s in range(0, n, SHARED_CHUNK):
        q = torch.matmul(weight[:hidden], xn[:, :, s : s + SHARED_CHUNK]).reshape(b, HEADS, DIM_HEAD, -1).softmax(dim=-2)
        o = torch.matmul(context.transpose(-1, -2), q).reshape(b, hidden, -1)  # sum_d context[d, e] q[d, n]
        out[:, :, s : s + SHARED_CHUNK] = torch.matmul(out_w, o) + out_b
        del q, o
    return la.to_out[1](out.reshape(b, c, h, w)).add_(x)


def _linear_attention_shared_positions(prenorm: PreNorm, x: Tensor, owner: Tensor, store: torch.dtype | None):
    """:func:`_linear_attention_shared` on a channels-last ``x``: the runs of :meth:`LinearAttention._forward_positions`."""
    la: LinearAttention = prenorm.fn
    dtype = x.dtype
    b, c, h, w = x.shape
    hidden = HEADS * DIM_HEAD
    w_kv = la.to_qkv.weight[hidden:].reshape(2 * hidden, c).to(x.dtype).t()
    own = owner.reshape(b, h * w).float()
    xp = positions(prenorm.norm(x))
    runs = [_context_in_runs(xp[j], w_kv, own[j]) for j in range(b)]
    del xp
    partial = ContextPartial(own.sum(dim=1).double(), torch.stack([r[2] for r in runs]).reshape(b, HEADS, DIM_HEAD).double(),
                             torch.stack([r[1] for r in runs]).reshape(b, HEADS, DIM_HEAD).double(),
                             torch.stack([r[0] for r in runs]).double())
    del runs
    x = _keep(x, store)
    parts = yield partial
    x = x.to(dtype)
    context = torch.cat([p.shared(DIM_HEAD**-0.5) for p in parts]).to(x.device)  # (b, heads, d, e) float32
    xp = positions(prenorm.norm(x))
    y = None
    for j in range(b):
        y = la._queries_out(xp, j, context[j], y)
    del xp
    return la.to_out[1](from_positions(y, h, w)).add_(x)


def _attention_shared(prenorm: PreNorm, x: Tensor, owner: Tensor):
    """``PreNorm(Attention)`` whose queries attend to the keys of the whole image (a generator step)."""
    att: Attention = prenorm.fn
    b, _, h, w = x.shape
    n = h * w
    qkv = att.to_qkv(prenorm.norm(x))
    if is_channels_last(x):  # (b, heads, d, n) views of the (b, n, 3 hidden) positions
        q, k, v = (t.reshape(b, n, HEADS, DIM_HEAD).permute(0, 2, 3, 1) for t in positions(qkv).chunk(3, dim=-1))
    else:
        q, k, v = (t.reshape(b, HEADS, DIM_HEAD, n) for t in qkv.chunk(3, dim=1))
    del qkv
    partial = KeysPartial.of(k, v, owner)
    del k, v
    parts = yield partial
    outs = []
    for j, part in enumerate(parts):
        keys, values, logw = part.keys[0].to(q.dtype), part.values[0].to(q.dtype), part.logw[0].to(q.dtype)
        q_t = (q[j] * DIM_HEAD**-0.5).transpose(-1, -2)  # (heads, n, d)
        v_t = values.transpose(-1, -2)  # (heads, m, d)
        rows = max(1, ATTENTION_CHUNK // (HEADS * keys.shape[-1]))
        chunks = [torch.matmul((torch.matmul(q_t[:, i : i + rows], keys) + logw).softmax(dim=-1), v_t)
                  for i in range(0, n, rows)]
        outs.append(torch.cat(chunks, dim=1))  # (heads, n, d)
    out = torch.stack(outs)  # (b, heads, n, d)
    if is_channels_last(x):
        return att.to_out(from_positions(out.transpose(1, 2).reshape(b, n, HEADS * DIM_HEAD), h, w))
    return att.to_out(out.transpose(-1, -2).reshape(b, HEADS * DIM_HEAD, h, w))


def _reflect_pad(x: Tensor, pad_w: int, pad_h: int) -> Tensor:
    """Reflect-pad on the right and bottom; falls back to repeated reflection for tiny inputs."""
    h, w = x.shape[-2:]
    if pad_w < w and pad_h < h:
        return F.pad(x, (0, pad_w, 0, pad_h), mode="reflect")
    # Reflection needs pad < size; pad in steps for inputs smaller than the multiple.
    while pad_w or pad_h:
        sw = min(pad_w, x.shape[-1] - 1)
        sh = min(pad_h, x.shape[-2] - 1)
        if sw == 0 and sh == 0:  # a 1-pixel dimension: replicate instead
            return F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        x = F.pad(x, (0, sw, 0, sh), mode="reflect")
        pad_w -= sw
        pad_h -= sh
    return x


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
