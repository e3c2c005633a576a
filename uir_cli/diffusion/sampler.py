"""The deterministic DDIM sampler that ``restore`` runs (spec section 3).

:class:`Sampler` owns the step arithmetic; the caller owns the network calls,
so the engine can evaluate the network tile by tile, or for several images in
one batch, between two steps.  :func:`sample` is the plain loop for one batch.

Tensors here are float32, in [-1, 1], shape (B, 3, H, W), on any device.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from .schedule import START_NOISE_STD, Schedule, sampling_timesteps


def starting_noise(height: int, width: int, seed: int) -> Tensor:
    """eps for the starting state, drawn for the whole image as the authors do.

    Returns (1, 3, H, W) float32 on the CPU: ``torch.randn`` from a CPU
    generator seeded with ``seed``.  Tiles are cut from it, so a seed gives the
    same picture for any tile size, batch size or device.
    """
    gen = torch.Generator("cpu").manual_seed(int(seed))
    return torch.randn((1, 3, height, width), generator=gen, dtype=torch.float32)


@dataclass(frozen=True)
class Sampler:
    """S-step deterministic sampling (eta = 0) of the residual diffusion."""

    schedule: Schedule
    steps: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "pairs", sampling_timesteps(self.steps, self.schedule.num_timesteps))

    def time_input(self, k: int) -> Tensor:
        """The network's time input at step k (0-based): a_bar[t] * T, a float32 scalar tensor."""
        return self.schedule.time_input(torch.tensor(self.pairs[k][0]))

    def start(self, x_in: Tensor, noise: Tensor) -> Tensor:
        """x_T = (1 - d_bar[T-1]) * x_in + sqrt(0.01) * eps."""
        d_last = float(self.schedule.d_bar[-1])
        return (1.0 - d_last) * x_in + START_NOISE_STD * noise.to(x_in.device, x_in.dtype)

    def step(self, k: int, x: Tensor, x_in: Tensor, pred_res: Tensor, *, inplace: bool = False) -> Tensor:
        """One reverse step from pair k = (t, t_next); ``pred_res`` already clamped to [-1, 1].

        With ``inplace`` the result may be written into ``x`` or ``pred_res``
        (whichever is returned), saving two image-sized temporaries.
        """
        t, t_next = self.pairs[k]
        if t_next < 0:
            # The last step: x0_hat = clamp(x_in - pred_res).
            if inplace:
                return pred_res.neg_().add_(x_in).clamp_(-1.0, 1.0)
            return (x_in - pred_res).clamp_(-1.0, 1.0)
        a, d = self.schedule.a_bar, self.schedule.d_bar
        da = float(a[t] - a[t_next])
        dd = float(d[t] - d[t_next])
        # x_{t_next} = x_t - (a_bar[t] - a_bar[t_next]) * pred_res + (d_bar[t] - d_bar[t_next]) * x_in
        if inplace:
            return x.add_(pred_res, alpha=-da).add_(x_in, alpha=dd)
        return x - da * pred_res + dd * x_in


Predictor = Callable[[Tensor, Tensor, Tensor], Tensor]


def sample(predict: Predictor, x_in: Tensor, noise: Tensor, *, steps: int = 3, schedule: Schedule | None = None) -> Tensor:
    """Run the whole reverse process on one batch.

    - ``predict(x_t, x_in, time) -> pred_res``: the network (or a tiled wrapper),
      ``time`` a float32 scalar tensor a_bar[t] * T; the result is clamped here to [-1, 1].
    - ``x_in``: (B, 3, H, W) float32 in [-1, 1], the degraded input.
    - ``noise``: eps of the same shape (see :func:`starting_noise`).
    Returns x0 in [-1, 1], (B, 3, H, W) float32.
    """
    sampler = Sampler(schedule or Schedule.default(), steps)
    x = sampler.start(x_in, noise)
    for k in range(steps):
        pred_res = predict(x, x_in, sampler.time_input(k)).float().clamp_(-1.0, 1.0)
        x = sampler.step(k, x, x_in, pred_res)
    return x
