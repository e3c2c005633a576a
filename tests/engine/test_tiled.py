"""Tiles that agree with the whole image: tiles of one image share their statistics."""

import torch

from uir_cli.engine.restorer import load_restorer
from uir_cli.engine.tiling import plan_tiles


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(10 * torch.log10(1 / ((a - b) ** 2).mean()))


def test_every_pixel_is_owned_by_exactly_one_tile():
    plan = plan_tiles(100, 150, 64, overlap=24, multiple=8)
    count = torch.zeros(100, 150)
    for i, box in enumerate(plan.boxes):
        count[box.y0 : box.y1, box.x0 : box.x1] += plan.owner(i)
    assert plan.count == 8 and torch.equal(count, torch.ones(100, 150))


def test_tiles_with_shared_statistics_reproduce_the_whole_image(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    torch.manual_seed(1)
    lq = torch.rand(1, 3, 96, 128)
    whole = restorer.restore_tensor(lq, tile=0)
    tiled = restorer.restore_tensor(lq, tile=64, overlap=32)
    assert restorer.plan(96, 128, tile=64, overlap=32).count == 6
    # What remains is the tiles' borders: a convolution near a tile's edge sees zero padding.
    assert _psnr(tiled, whole) > 45
    assert _psnr(restorer.restore_tensor(lq, tile=96, overlap=32), whole) > 50  # fewer borders, closer


def test_tiles_of_several_images_in_one_batch_keep_to_their_own_image(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    from uir_cli.engine.tiled import ImageJob, restore_jobs

    torch.manual_seed(2)
    a, b = torch.rand(3, 64, 96), torch.rand(3, 64, 96) * 0.3  # different statistics
    alone = []
    for x in (a, b):
        job = ImageJob(key=0, x_in=x * 2 - 1, plan=restorer.plan(64, 96, tile=64, overlap=16))
        restore_jobs(restorer, [job], steps=3)
        alone.append(job.result())
    jobs = [ImageJob(key=i, x_in=x * 2 - 1, plan=restorer.plan(64, 96, tile=64, overlap=16)) for i, x in enumerate((a, b))]
    restore_jobs(restorer, jobs, steps=3, batch_size=4)
    for job, expected in zip(jobs, alone):
        assert (job.result() - expected).abs().max() < 1e-5


def test_tiles_too_many_for_lockstep_take_two_passes_and_stay_close(tiny_weights):
    import dataclasses

    from uir_cli.engine.tiled import ImageJob, restore_jobs

    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    torch.manual_seed(1)
    lq = torch.rand(1, 3, 96, 128)
    whole = restorer.restore_tensor(lq, tile=0)
    plan = restorer.plan(96, 128, tile=64, overlap=32)
    assert plan.lockstep  # a small image: its tiles fit the memory together
    job = ImageJob(key=0, x_in=lq[0] * 2 - 1, plan=dataclasses.replace(plan, lockstep=False))
    restore_jobs(restorer, [job], steps=3)
    assert _psnr(job.result()[None], whole) > 40


def test_an_image_whose_tiles_do_not_fit_together_is_planned_one_tile_at_a_time(tiny_weights, monkeypatch):
    from uir_cli.engine import restorer as restorer_module

    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    monkeypatch.setattr(restorer_module, "free_memory", lambda device: 4 << 30)
    assert restorer.plan(1000, 1000, tile=256).lockstep
    assert not restorer.plan(6000, 8000, tile=None).lockstep  # 48 MP: bounded memory, two passes
    assert not restorer.plan_with_limit(restorer.plan(1000, 1000, tile=256), 128 * 128).lockstep  # after running out


def test_compact_tiles_hold_float16_and_stay_as_close(tiny_weights):
    import dataclasses

    from uir_cli.engine.tiled import ImageJob, restore_jobs

    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    torch.manual_seed(1)
    lq = torch.rand(1, 3, 96, 128)
    plan = restorer.plan(96, 128, tile=64, overlap=32)
    job = ImageJob(key=0, x_in=lq[0] * 2 - 1, plan=dataclasses.replace(plan, compact=True))
    restore_jobs(restorer, [job], steps=3)
    compact = job.result()[None]
    full = restorer.restore_tensor(lq, tile=64, overlap=32)
    assert 0 < (compact - full).abs().max() < 0.01
    assert _psnr(compact, restorer.restore_tensor(lq, tile=0)) > 45
