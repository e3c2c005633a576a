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
from ..diffusion.schedule import authors_buffers
from ..errors import UsageError, WeightsError

TRAIN_FORMAT = "uir-train-v1"
MODEL_PREFIX = "model.unet0."
# The authors' U-Net registers its modules in this order (ups before the middle blocks);
# their Adam state indexes parameters in it.
_AUTHORS_MODULE_ORDER = (
    "init_conv", "time_mlp", "downs", "ups", "mid_block1", "mid_attn", "mid_block2", "final_res_block", "final_conv",
)  # fmt: skip


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
    state = authors_buffers()
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
    from ..engine.weights import torch_load  # the one safe loader, with its error messages

    path = Path(path)
    if not path.is_file():
        raise UsageError("no checkpoint to resume from", path=path, hint="start without --resume, or point --out at a run folder")
    obj = torch_load(path)
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
