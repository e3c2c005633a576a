"""An exponential moving average of the network's weights, as the authors' trainer keeps it.

The authors wrap their model in ``ema_pytorch.EMA(model, beta=0.995,
update_every=10)`` and call ``update()`` once after every optimiser step.  Its
documented behaviour, which this class reproduces (own code, same numbers):

- a counter ``step`` counts ``update()`` calls; call n (n = the counter before
  it is incremented) does something only when n % update_every == 0;
- while n <= update_after_step (default 100) it copies the online weights into
  the average (a warm start), and does not set ``initted``;
- the first update after that copies once more, sets ``initted``, then averages;
- averaging: ema <- ema + (1 - decay) (online - ema), with the warm-up decay
  decay = 1 - (1 + e / inv_gamma) ** -power, e = step - update_after_step - 1
  (step already incremented; inv_gamma 1, power 2/3), 0 when e <= 0, and
  clamped to [min_value, beta] (min_value 0, beta = --ema-decay).

So the decay ramps up and reaches 0.995 only after about 2,900 steps.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn


class ModelEMA:
    """Holds ``model``, a frozen copy of ``online`` that trails it (same device and dtype)."""

    def __init__(self, online: nn.Module, *, beta: float = 0.995, update_every: int = 10, update_after_step: int = 100,
                 inv_gamma: float = 1.0, power: float = 2 / 3, min_value: float = 0.0):
        self.online = online
        self.model = copy.deepcopy(online).requires_grad_(False).eval()
        self.beta = beta
        self.update_every = update_every
        self.update_after_step = update_after_step
        self.inv_gamma = inv_gamma
        self.power = power
        self.min_value = min_value
        self.step = 0
        self.initted = False
        self._pairs = self._pair_tensors()

    def _pair_tensors(self) -> list[tuple[Tensor, Tensor]]:
        """(ema tensor, online tensor) for every float parameter and persistent float buffer."""
        online = dict(self.online.named_parameters())
        online.update({k: v for k, v in self.online.state_dict(keep_vars=True).items() if k not in online})
        pairs = []
        for name, ema_t in self.model.state_dict(keep_vars=True).items():
            if ema_t.is_floating_point():
                pairs.append((ema_t, online[name]))
        return pairs

    def current_decay(self) -> float:
        """The decay the next average uses (see the module docstring)."""
        epoch = max(self.step - self.update_after_step - 1, 0)
        if epoch <= 0:
            return 0.0
        value = 1.0 - (1.0 + epoch / self.inv_gamma) ** -self.power
        return min(max(value, self.min_value), self.beta)

    @torch.no_grad()
    def copy_from_online(self) -> None:
        for ema_t, online_t in self._pairs:
            ema_t.copy_(online_t)

    @torch.no_grad()
    def update(self) -> None:
        """Call once after every optimiser step."""
        n = self.step
        self.step += 1
        if n % self.update_every:
            return
        if n <= self.update_after_step:
            self.copy_from_online()
            return
        if not self.initted:
            self.copy_from_online()
            self.initted = True
        weight = 1.0 - self.current_decay()
        for ema_t, online_t in self._pairs:
            ema_t.lerp_(online_t, weight)

    def load(self, step: int, initted: bool, weights: dict[str, Tensor]) -> None:
        """Restore the counter, the flag and the averaged weights (bare keys, any device)."""
        self.model.load_state_dict(weights, strict=True)
        self.step = int(step)
        self.initted = bool(initted)
