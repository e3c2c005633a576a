"""Every coefficient of the DiffUIR process, computed once (spec section 1).

Symbols follow the paper's residual diffusion: ``a_bar`` weighs the residual
x_res = x_in - x0, ``b_bar`` is the noise's standard deviation, ``d_bar`` the
shared distribution term (SDT) that pulls the state towards the condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

NUM_TIMESTEPS = 1000
BETA_START, BETA_END = 1e-4, 0.02
DELTA_START, DELTA_END = 1e-6, 1.8e-3
START_NOISE_STD = 0.1  # sqrt(0.01): the std of eps in the sampler's starting state


@dataclass(frozen=True)
class Schedule:
    """Float32 tensors of length T on the CPU (use :meth:`to` for a device).

    - ``a_bar[t]``  = 1 - sqrt(prod_{s<=t}(1 - beta[s]))  ("alphas_cumsum")
    - ``b2_bar[t]`` = 1 - prod_{s<=t}(1 - beta[s])         ("betas2_cumsum")
    - ``b_bar[t]``  = sqrt(b2_bar[t])                       ("betas_cumsum")
    - ``d_bar[t]``  = clip(sum_{s<=t} delta[s], 0, 1)      ("delta_cumsum")
    """

    a_bar: Tensor
    b2_bar: Tensor
    b_bar: Tensor
    d_bar: Tensor

    @property
    def num_timesteps(self) -> int:
        return int(self.a_bar.shape[0])

    @classmethod
    def default(cls, num_timesteps: int = NUM_TIMESTEPS) -> "Schedule":
        T = num_timesteps
        # In float32 throughout, as the authors' code computes (and saves) these buffers.
        beta = torch.linspace(BETA_START, BETA_END, T, dtype=torch.float32)
        cumprod = torch.cumprod(1.0 - beta, dim=0)
        a_bar = 1.0 - cumprod.sqrt()
        b2_bar = 1.0 - cumprod
        delta = torch.linspace(DELTA_START, DELTA_END, T, dtype=torch.float32)
        d_bar = torch.cumsum(delta, dim=0).clamp(0.0, 1.0)
        return cls(a_bar=a_bar, b2_bar=b2_bar, b_bar=b2_bar.sqrt(), d_bar=d_bar)

    def to(self, device: torch.device | str) -> "Schedule":
        return Schedule(*(getattr(self, n).to(device) for n in ("a_bar", "b2_bar", "b_bar", "d_bar")))

    def time_input(self, t: Tensor) -> Tensor:
        """The network's time input for integer timesteps ``t``: a_bar[t] * T (float32).

        Multiplied in float32, as the authors' buffers are, so the embedding matches to the bit.
        """
        return self.a_bar.to(t.device)[t] * self.num_timesteps


def sampling_timesteps(steps: int, num_timesteps: int = NUM_TIMESTEPS) -> list[tuple[int, int]]:
    """The (t, t_next) pairs of an S-step sampler: int(linspace(-1, T-1, S+1)) reversed.

    >>> sampling_timesteps(3)
    [(999, 665), (665, 332), (332, -1)]
    """
    if steps < 1 or steps > num_timesteps:
        raise ValueError(f"steps must be between 1 and {num_timesteps}, got {steps}")
    # float32, as torch.linspace gives by default in the authors' code; int() truncates towards zero.
    times = torch.linspace(-1, num_timesteps - 1, steps + 1, dtype=torch.float32)
    times = [int(v) for v in times.tolist()][::-1]
    return list(zip(times[:-1], times[1:]))
