import torch

from tests.conftest import FIXTURES, need_shared
from uir_cli.diffusion.sampler import Sampler, sample, starting_noise
from uir_cli.diffusion.schedule import Schedule, sampling_timesteps


def test_three_steps_visit_the_authors_timesteps():
    assert sampling_timesteps(3) == [(999, 665), (665, 332), (332, -1)]
    assert sampling_timesteps(1) == [(999, -1)]
    assert [t for t, _ in sampling_timesteps(4)] == [999, 749, 499, 249]


def test_schedule_endpoints_from_the_spec():
    s = Schedule.default()
    assert abs(float(s.d_bar[-1]) - 0.9005) < 1e-6
    assert abs(float(s.b_bar[-1]) - 1.0) < 1e-4
    assert float(s.a_bar[0]) > 0 and float(s.a_bar[-1]) < 1


def test_schedule_equals_the_buffers_in_an_authors_checkpoint():
    ck = torch.load(need_shared(FIXTURES) / "diffuir_t_official_format.pt", map_location="cpu", weights_only=True)
    s = Schedule.default()
    for ours, theirs in [("a_bar", "alphas_cumsum"), ("b2_bar", "betas2_cumsum"), ("b_bar", "betas_cumsum"), ("d_bar", "delta_cumsum")]:
        assert torch.allclose(getattr(s, ours), ck["model"][theirs], atol=2e-6), ours


def test_starting_noise_is_the_cpu_generator_draw_for_the_whole_image():
    eps = starting_noise(7, 5, 123)
    expected = torch.randn((1, 3, 7, 5), generator=torch.Generator("cpu").manual_seed(123))
    assert torch.equal(eps, expected)


def test_a_perfect_predictor_recovers_the_clean_image():
    torch.manual_seed(0)
    x0 = torch.rand(1, 3, 8, 8) * 2 - 1
    x_in = (x0 + 0.3 * torch.randn_like(x0)).clamp(-1, 1)
    x_in = x0 + (x_in - x0).clamp(-1, 1)  # the sampler clamps the residual to [-1, 1]
    out = sample(lambda x, c, t: x_in - x0, x_in, starting_noise(8, 8, 0), steps=3)
    assert torch.allclose(out, x0, atol=1e-6)


def test_sampler_time_input_is_a_bar_times_T():
    s = Sampler(Schedule.default(), 3)
    assert torch.equal(s.time_input(0), Schedule.default().a_bar[999] * 1000)
