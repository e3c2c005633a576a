"""The EMA follows ema_pytorch's documented schedule (warm-up copies, then a ramped decay)."""

from __future__ import annotations

import pytest
import torch

from uir_cli.training.ema import ModelEMA


def _net(value: float) -> torch.nn.Linear:
    net = torch.nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        net.weight.fill_(value)
    return net


def test_copies_during_warm_up_then_averages_with_the_ramped_decay():
    online = _net(0.0)
    ema = ModelEMA(online, beta=0.995, update_every=2, update_after_step=4)
    seen = []
    for step in range(1, 11):
        with torch.no_grad():
            online.weight.fill_(float(step))
        ema.update()
        seen.append(float(ema.model.weight))
    # update() calls n = 0..9: only even n act; n <= 4 copy (n = 0, 2, 4 -> weights 1, 3, 5)
    assert seen[:6] == [1.0, 1.0, 3.0, 3.0, 5.0, 5.0]
    # n = 6 (weight 7): the first update after warm-up copies once more, then averages (with itself)
    assert seen[6] == 7.0 and ema.initted
    # n = 8 (weight 9): counter 9 -> e = 4
    decay = 1 - (1 + 4) ** (-2 / 3)
    assert seen[8] == pytest.approx(7.0 * decay + 9.0 * (1 - decay))
    assert seen[9] == seen[8]


def test_the_decay_is_capped_at_beta_and_the_counter_is_kept():
    ema = ModelEMA(_net(1.0), beta=0.995, update_every=10, update_after_step=100)
    ema.step = 100_000
    assert ema.current_decay() == 0.995
    ema.step = 1000
    assert ema.current_decay() == pytest.approx(1 - 900 ** (-2 / 3))
    ema.step = 101
    assert ema.current_decay() == 0.0


def test_load_restores_weights_counter_and_flag():
    online = _net(2.0)
    ema = ModelEMA(online)
    ema.load(123, True, {"weight": torch.full((1, 1), 5.0)})
    assert (ema.step, ema.initted, float(ema.model.weight)) == (123, True, 5.0)
    assert float(online.weight.detach()) == 2.0
