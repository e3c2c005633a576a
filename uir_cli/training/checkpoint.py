"""Training checkpoints in the DiffUIR authors' format (spec section 5).

A checkpoint is ``torch.save`` of a dict::

    step    int, optimiser steps done
    model   the online weights: the 14 schedule buffers, then model.unet0.*
    opt0    torch.optim.Adam state_dict (parameters in the authors' order)
    ema     {initted, step, online_model.<model keys>, ema_model.<model keys>}
    scaler  GradScaler state_dict (fp16 runs) or None
    uir     uir's resume extras: format tag, the run's config (TOML text),
            elapsed seconds, world size, version (the authors' loader ignores it)

so the authors' ``Trainer.load`` and uir's ``load_weights`` both read it, and
everything in it loads with ``torch.load(..., weights_only=True)``.  Files are
written atomically (:func:`uir_cli.atomic.write_atomic`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from ..atomic import write_atomic
from ..errors import UsageError, WeightsError

TRAIN_FORMAT = "uir-train-v1"
MODEL_PREFIX = "model.unet0."
# The authors' U-Net registers its modules in this order (ups before the middle blocks);
# their Adam state indexes parameters in it.
_AUTHORS_MODULE_ORDER = (
    "init_conv", "time_mlp", "downs", "ups", "mid_block1", "mid_attn", "mid_block2", "final_res_block", "final_conv",
)  # fmt: skip


def schedule_buffers(num_timesteps: int = 1000, delta_end: float = 1.8e-3) -> dict[str, Tensor]:
    """The 14 float32 buffers (each shape (T,), CPU) the authors' diffusion module saves.

    Residual diffusion (RDDM) with DiffUIR's schedule, computed in float32 as
    the authors' code does, with ``prev[t]`` = value at t-1 (``1`` before t=0):

    - ``alphas_cumsum`` = 1 - sqrt(cumprod(1 - beta)), beta = linspace(1e-4, 0.02, T)
    - ``betas2_cumsum`` = 1 - cumprod(1 - beta); ``betas_cumsum`` = sqrt of it
    - ``alphas`` / ``betas2``: the one-step increments of those sums (0 at t=0); ``betas`` = sqrt(betas2)
    - ``delta`` = linspace(1e-6, delta_end, T); ``delta_cumsum`` = cumsum, clipped to [0, 1]
    - ``one_minus_alphas_cumsum`` = 1 - alphas_cumsum, its last entry set to 1e-6
    - posterior q(x_{t-1} | x_t, x_res, x0): mean = c1 x_t + c2 x_res + c3 x0 with
      c1 = prev(betas2_cumsum) / betas2_cumsum, c2 = (betas2 prev(alphas_cumsum) - prev(betas2_cumsum) alphas) / betas2_cumsum,
      c3 = betas2 / betas2_cumsum (at t=0: c1 = c2 = 0, c3 = 1); variance = betas2 prev(betas2_cumsum) / betas2_cumsum
      (0 at t=0); log variance clipped below at 1e-20.
    """
    T = num_timesteps
    f32 = torch.float32
    beta = torch.linspace(1e-4, 0.02, T, dtype=f32)
    cumprod = torch.cumprod(1.0 - beta, dim=0)
    a_bar = 1.0 - cumprod.sqrt()
    b2_bar = 1.0 - cumprod
    one = torch.ones(1, dtype=f32)
    a_prev = torch.cat((one, a_bar[:-1]))
    b2_prev = torch.cat((one, b2_bar[:-1]))
    alphas = a_bar - a_prev
    alphas[0] = 0.0
    betas2 = b2_bar - b2_prev
    betas2[0] = 0.0
    delta = torch.linspace(1e-6, delta_end, T, dtype=f32)
    d_bar = delta.cumsum(dim=0).clip(0.0, 1.0)
    variance = betas2 * b2_prev / b2_bar
    variance[0] = 0.0
    coef1 = b2_prev / b2_bar
    coef2 = (betas2 * a_prev - b2_prev * alphas) / b2_bar
    coef3 = betas2 / b2_bar
    coef1[0], coef2[0], coef3[0] = 0.0, 0.0, 1.0
    one_minus = 1.0 - a_bar
    one_minus[-1] = 1e-6
    return {
        "alphas": alphas,
        "alphas_cumsum": a_bar,
        "delta": delta,
        "delta_cumsum": d_bar,
        "one_minus_alphas_cumsum": one_minus,
        "betas2": betas2,
        "betas": betas2.sqrt(),
        "betas2_cumsum": b2_bar,
        "betas_cumsum": b2_bar.sqrt(),
        "posterior_mean_coef1": coef1,
        "posterior_mean_coef2": coef2,
        "posterior_mean_coef3": coef3,
        "posterior_variance": variance,
        "posterior_log_variance_clipped": torch.log(variance.clamp(min=1e-20)),
    }


_BUFFERS = schedule_buffers()


def _authors_rank(name: str) -> int:
    return _AUTHORS_MODULE_ORDER.index(name.split(".", 1)[0])


def authors_parameters(net: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """``net``'s named parameters in the order the authors' module registers them.

    Build the optimiser over these, so its state_dict indexes parameters as the
    authors' Adam does and their trainer can resume from it.
    """
    return sorted(net.named_parameters(), key=lambda kv: _authors_rank(kv[0]))  # sorted() is stable


def authors_model_state(bare: dict[str, Tensor]) -> dict[str, Tensor]:
    """Bare U-Net keys -> the authors' diffusion-module state: 14 buffers, then ``model.unet0.*``.

    Tensors are detached, float32, on the CPU.
    """
    ordered = sorted(bare, key=_authors_rank)
    state = {k: v.clone() for k, v in _BUFFERS.items()}
    state.update({MODEL_PREFIX + k: bare[k].detach().to("cpu", torch.float32) for k in ordered})
    return state


def bare_model_state(state: dict[str, Tensor], prefix: str = "") -> dict[str, Tensor]:
    """The U-Net weights under ``prefix + 'model.unet0.'`` with that prefix removed."""
    full = prefix + MODEL_PREFIX
    return {k[len(full):]: v for k, v in state.items() if k.startswith(full)}


@dataclass(frozen=True)
class EMAState:
    """The EMA wrapper's state: update counter, whether it started averaging, its weights (bare keys)."""

    step: int
    initted: bool
    weights: dict[str, Tensor]


@dataclass(frozen=True)
class RunState:
    """uir's extras: the config TOML text, elapsed wall seconds, the world size that wrote it."""

    config_toml: str
    elapsed: float
    world_size: int
    version: str


@dataclass(frozen=True)
class TrainCheckpoint:
    """Everything a resume needs; ``online`` and ``ema.weights`` use bare U-Net keys (float32, CPU)."""

    step: int
    online: dict[str, Tensor]
    optimizer: dict
    ema: EMAState
    scaler: dict | None
    run: RunState | None


def to_authors_dict(ckpt: TrainCheckpoint) -> dict:
    """The dict ``torch.save`` writes (see the module docstring)."""
    online = authors_model_state(ckpt.online)
    ema = {"initted": torch.tensor(bool(ckpt.ema.initted)), "step": torch.tensor(int(ckpt.ema.step), dtype=torch.int64)}
    ema.update({"online_model." + k: v for k, v in online.items()})
    ema.update({"ema_model." + k: v for k, v in authors_model_state(ckpt.ema.weights).items()})
    out = {"step": int(ckpt.step), "model": online, "opt0": ckpt.optimizer, "ema": ema, "scaler": ckpt.scaler}
    if ckpt.run is not None:
        out["uir"] = {
            "format": TRAIN_FORMAT,
            "config": ckpt.run.config_toml,
            "elapsed": float(ckpt.run.elapsed),
            "world_size": int(ckpt.run.world_size),
            "version": ckpt.run.version,
        }
    return out


def save_checkpoint(ckpt: TrainCheckpoint, *dests: Path) -> None:
    """Serialise once and write the same bytes atomically to every path in ``dests``."""
    buffer = io.BytesIO()
    torch.save(to_authors_dict(ckpt), buffer)
    data = buffer.getvalue()
    for dest in dests:
        try:
            write_atomic(dest, data)
        except OSError as exc:
            raise UsageError(f"cannot write the checkpoint: {exc.strerror or exc}", path=dest) from None


def load_checkpoint(path: Path) -> TrainCheckpoint:
    """Read a training checkpoint (uir's or the authors') with ``weights_only=True``.

    Raises :class:`WeightsError` naming the file when it is not one.
    """
    from ..engine.weights import _torch_load  # the one safe loader, with its error messages

    path = Path(path)
    if not path.is_file():
        raise UsageError("no checkpoint to resume from", path=path, hint="start without --resume, or point --out at a run folder")
    obj = _torch_load(path)
    missing = [k for k in ("step", "model", "opt0", "ema") if not isinstance(obj, dict) or k not in obj]
    if missing:
        raise WeightsError(f"not a training checkpoint: no {', '.join(missing)} entry", path=path)
    ema_raw = obj["ema"]
    if not isinstance(ema_raw, dict) or "step" not in ema_raw:
        raise WeightsError("not a training checkpoint: the ema entry has no step", path=path)
    online = bare_model_state(obj["model"])
    ema_weights = bare_model_state(ema_raw, "ema_model.")
    if not online or not ema_weights:
        raise WeightsError("not a training checkpoint: no model.unet0.* weights", path=path)
    run = None
    extra = obj.get("uir")
    if isinstance(extra, dict) and extra.get("format") == TRAIN_FORMAT:
        run = RunState(str(extra.get("config", "")), float(extra.get("elapsed", 0.0)), int(extra.get("world_size", 1)),
                       str(extra.get("version", "")))
    initted = ema_raw.get("initted", False)
    return TrainCheckpoint(
        step=int(obj["step"]),
        online={k: v.float() for k, v in online.items()},
        optimizer=obj["opt0"],
        ema=EMAState(int(torch.as_tensor(ema_raw["step"]).item()), bool(torch.as_tensor(initted).item()),
                     {k: v.float() for k, v in ema_weights.items()}),
        scaler=obj.get("scaler"),
        run=run,
    )
