"""The forward process and the training loss (spec section 2).

    x_t = x0 + a_bar[t] * x_res + b_bar[t] * eps - d_bar[t] * x_in,   x_res = x_in - x0

The network sees [x_t, x_in] and the time input a_bar[t] * T, and predicts
x_res; the loss is the mean L1 between prediction and x_res.
"""

from __future__ import annotations

import torch
from torch import Tensor

from .schedule import Schedule, sampling_timesteps

T_SAMPLING = ("uniform", "inference")
INFERENCE_JITTER = 50  # "inference": t = one of the sampler's timesteps minus 0..49


def draw_timesteps(batch: int, *, mode: str = "uniform", num_timesteps: int = 1000, inference_steps: int = 3,
                   generator: torch.Generator | None = None, device: torch.device | str = "cpu") -> Tensor:
    """Integer timesteps (B,) int64.

    - ``uniform``: t ~ U{0 .. T-1}, the authors' recipe.
    - ``inference``: t near the timesteps an ``inference_steps``-step sampler
      evaluates (t_k - U{0 .. 49}); learns the 3-step sampler's work faster on
      short runs (see shared/notes/training-calibration.md).
    """
    if mode == "uniform":
        return torch.randint(0, num_timesteps, (batch,), generator=generator).to(device)
    if mode == "inference":
        ts = torch.tensor([t for t, _ in sampling_timesteps(inference_steps, num_timesteps)])
        pick = ts[torch.randint(0, len(ts), (batch,), generator=generator)]
        jitter = torch.randint(0, INFERENCE_JITTER, (batch,), generator=generator)
        return (pick - jitter).clamp_(0, num_timesteps - 1).to(device)
    raise ValueError(f"unknown timestep sampling {mode!r}; choose from {T_SAMPLING}")


def q_sample(schedule: Schedule, x0: Tensor, x_in: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """x_t for clean ``x0`` and degraded ``x_in`` (B, 3, H, W) in [-1, 1], timesteps ``t`` (B,)."""
    def at(v: Tensor) -> Tensor:
        return v.to(x0.device)[t].view(-1, 1, 1, 1)

    x_res = x_in - x0
    return x0 + at(schedule.a_bar) * x_res + at(schedule.b_bar) * eps - at(schedule.d_bar) * x_in


def training_loss(net, schedule: Schedule, x0: Tensor, x_in: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """Mean L1 between the network's residual prediction and x_res = x_in - x0 (a scalar)."""
    x_t = q_sample(schedule, x0, x_in, t, eps)
    time = schedule.time_input(t)
    pred = net(x_t, x_in, time)
    return (pred.float() - (x_in - x0)).abs().mean()
