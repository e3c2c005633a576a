import pytest
import torch

from uir_cli.diffusion.objective import draw_timesteps, q_sample, sampler_state, training_loss
from uir_cli.diffusion.sampler import Sampler
from uir_cli.diffusion.schedule import Schedule


@pytest.mark.parametrize("steps", [1, 3, 5])
def test_sampler_state_is_where_the_sampler_is_with_perfect_predictions(steps):
    torch.manual_seed(0)
    schedule = Schedule.default()
    x0 = torch.rand(2, 3, 8, 8) * 1.6 - 0.8
    x_in = (x0 + 0.2 * torch.randn_like(x0)).clamp(-1, 1)
    eps = torch.randn_like(x0)
    sampler = Sampler(schedule, steps)
    x = sampler.start(x_in, eps)
    for k, (t, _) in enumerate(sampler.pairs):
        expected = sampler_state(schedule, x0, x_in, torch.full((2,), t), eps)
        assert torch.allclose(x, expected, atol=1e-5), (steps, k)
        x = sampler.step(k, x, x_in, x_in - x0)


def test_forward_process_matches_the_spec_formula():
    schedule = Schedule.default()
    x0, x_in, eps = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    t = torch.tensor([500])
    expected = float(schedule.a_bar[500]) - float(schedule.d_bar[500])  # x0 + a*x_res - d*x_in with x0 = 0
    assert torch.allclose(q_sample(schedule, x0, x_in, t, eps), torch.full_like(x0, expected))


def test_both_objectives_give_a_finite_loss_and_bad_names_are_refused():
    from uir_cli.nn.unet import DiffUIRNet, UNetConfig

    torch.manual_seed(0)
    net = DiffUIRNet(UNetConfig(8, (1, 2)))
    x0 = torch.rand(2, 3, 16, 16) * 2 - 1
    x_in = x0.flip(-1)
    t = draw_timesteps(2, mode="inference")
    eps = torch.randn_like(x0)
    for objective in ("forward", "sampler"):
        loss = training_loss(net, Schedule.default(), x0, x_in, t, eps, objective=objective)
        assert torch.isfinite(loss) and loss > 0
    with pytest.raises(ValueError):
        training_loss(net, Schedule.default(), x0, x_in, t, eps, objective="nope")
