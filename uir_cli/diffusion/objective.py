"""The forward process and the training loss (spec section 2).

    x_t = x0 + a_bar[t] * x_res + b_bar[t] * eps - d_bar[t] * x_in,   x_res = x_in - x0

The network sees [x_t, x_in] and the time input a_bar[t] * T, and predicts
x_res; the loss is the mean L1 between prediction and x_res.

That is the authors' objective (``forward``).  Its x_t carries noise of std
b_bar[t], about 1 at the timesteps the 3-step sampler visits, while the
sampler starts from noise of std 0.1 and adds none afterwards: the network is
evaluated on states it never saw in training.  The ``sampler`` objective
trains on the states the deterministic sampler itself reaches.  With perfect
predictions its steps telescope, and at timestep t it holds

    x_t = (1 - d_bar[t]) * x_in - (a_bar[T-1] - a_bar[t]) * x_res + sqrt(0.01) * eps

(t = T-1 is the sampler's starting state), for any number of sampling steps.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ..vocab import OBJECTIVES, T_SAMPLING
from .schedule import START_NOISE_STD, Schedule, sampling_timesteps

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


def sampler_state(schedule: Schedule, x0: Tensor, x_in: Tensor, t: Tensor, eps: Tensor) -> Tensor:
    """x_t as the deterministic sampler reaches timestep ``t`` with perfect predictions (see the module docstring).

    Same shapes and ranges as :func:`q_sample`.
    """
    def at(v: Tensor) -> Tensor:
        return v.to(x0.device)[t].view(-1, 1, 1, 1)

    a_last = schedule.a_bar[-1].to(x0.device)
    return (1.0 - at(schedule.d_bar)) * x_in - (a_last - at(schedule.a_bar)) * (x_in - x0) + START_NOISE_STD * eps


def training_loss(net, schedule: Schedule, x0: Tensor, x_in: Tensor, t: Tensor, eps: Tensor, *,
                  objective: str = "forward") -> Tensor:
    """Mean L1 between the network's residual prediction and x_res = x_in - x0 (a scalar).

    ``objective``: ``forward`` (the authors': x_t from the forward process) or
    ``sampler`` (x_t as the 3-step sampler builds it).
    """
    if objective == "forward":
        x_t = q_sample(schedule, x0, x_in, t, eps)
    elif objective == "sampler":
        x_t = sampler_state(schedule, x0, x_in, t, eps)
    else:
        raise ValueError(f"unknown objective {objective!r}; choose from {OBJECTIVES}")
    time = schedule.time_input(t)
    pred = net(x_t, x_in, time)
    return (pred.float() - (x_in - x0)).abs().mean()
