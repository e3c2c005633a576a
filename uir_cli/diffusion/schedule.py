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
        a_bar, b2_bar, delta = _sums(num_timesteps)
        d_bar = torch.cumsum(delta, dim=0).clamp(0.0, 1.0)
        return cls(a_bar=a_bar, b2_bar=b2_bar, b_bar=b2_bar.sqrt(), d_bar=d_bar)

    def to(self, device: torch.device | str) -> "Schedule":
        return Schedule(*(getattr(self, n).to(device) for n in ("a_bar", "b2_bar", "b_bar", "d_bar")))

    def time_input(self, t: Tensor) -> Tensor:
        """The network's time input for integer timesteps ``t``: a_bar[t] * T (float32).

        Multiplied in float32, as the authors' buffers are, so the embedding matches to the bit.
        """
        return self.a_bar.to(t.device)[t] * self.num_timesteps


def _sums(num_timesteps: int) -> tuple[Tensor, Tensor, Tensor]:
    """(a_bar, b2_bar, delta), in float32 throughout, as the authors' code computes (and saves) them."""
    beta = torch.linspace(BETA_START, BETA_END, num_timesteps, dtype=torch.float32)
    cumprod = torch.cumprod(1.0 - beta, dim=0)
    return 1.0 - cumprod.sqrt(), 1.0 - cumprod, torch.linspace(DELTA_START, DELTA_END, num_timesteps, dtype=torch.float32)


# The buffers the authors' diffusion module saves beside the network, in their state dict's order.
BUFFER_NAMES = (
    "alphas", "alphas_cumsum", "delta", "delta_cumsum", "one_minus_alphas_cumsum", "betas2", "betas",
    "betas2_cumsum", "betas_cumsum", "posterior_mean_coef1", "posterior_mean_coef2", "posterior_mean_coef3",
    "posterior_variance", "posterior_log_variance_clipped",
)  # fmt: skip


def authors_buffers(num_timesteps: int = NUM_TIMESTEPS) -> dict[str, Tensor]:
    """The 14 float32 buffers (each shape (T,), CPU) the authors' diffusion module saves.

    Residual diffusion (RDDM) with DiffUIR's schedule, computed in float32 as
    the authors' code does, with ``prev[t]`` = value at t-1 (``1`` before t=0):

    - ``alphas_cumsum`` = 1 - sqrt(cumprod(1 - beta)), beta = linspace(BETA_START, BETA_END, T)
    - ``betas2_cumsum`` = 1 - cumprod(1 - beta); ``betas_cumsum`` = sqrt of it
    - ``alphas`` / ``betas2``: the one-step increments of those sums (0 at t=0); ``betas`` = sqrt(betas2)
    - ``delta`` = linspace(DELTA_START, DELTA_END, T); ``delta_cumsum`` = cumsum, clipped to [0, 1]
    - ``one_minus_alphas_cumsum`` = 1 - alphas_cumsum, its last entry set to 1e-6
    - posterior q(x_{t-1} | x_t, x_res, x0): mean = c1 x_t + c2 x_res + c3 x0 with
      c1 = prev(betas2_cumsum) / betas2_cumsum, c2 = (betas2 prev(alphas_cumsum) - prev(betas2_cumsum) alphas) / betas2_cumsum,
      c3 = betas2 / betas2_cumsum (at t=0: c1 = c2 = 0, c3 = 1); variance = betas2 prev(betas2_cumsum) / betas2_cumsum
      (0 at t=0); log variance clipped below at 1e-20.
    """
    a_bar, b2_bar, delta = _sums(num_timesteps)
    d_bar = delta.cumsum(dim=0).clip(0.0, 1.0)
    one = torch.ones(1, dtype=torch.float32)
    a_prev = torch.cat((one, a_bar[:-1]))
    b2_prev = torch.cat((one, b2_bar[:-1]))
    alphas = a_bar - a_prev
    alphas[0] = 0.0
    betas2 = b2_bar - b2_prev
    betas2[0] = 0.0
    variance = betas2 * b2_prev / b2_bar
    variance[0] = 0.0
    coef1 = b2_prev / b2_bar
    coef2 = (betas2 * a_prev - b2_prev * alphas) / b2_bar
    coef3 = betas2 / b2_bar
    coef1[0], coef2[0], coef3[0] = 0.0, 0.0, 1.0
    one_minus = 1.0 - a_bar
    one_minus[-1] = 1e-6
    values = (alphas, a_bar, delta, d_bar, one_minus, betas2, betas2.sqrt(), b2_bar, b2_bar.sqrt(), coef1, coef2, coef3,
              variance, torch.log(variance.clamp(min=1e-20)))
    return dict(zip(BUFFER_NAMES, values))


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
