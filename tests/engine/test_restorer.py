"""The restorer: precision fallback, tiling consistency, the Python API."""

import numpy as np
import pytest
import torch

from uir_cli.engine.restorer import load_restorer
from uir_cli.errors import DeviceError, UsageError


def test_non_finite_tiles_are_redone_in_fp32(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="bf16")
    forward_shared = restorer.net.forward_shared

    def unstable(x_t, x_in, time, owner, store=None):  # what an fp16 overflow looks like: NaN under reduced precision only
        out = yield from forward_shared(x_t, x_in, time, owner, store)
        return torch.full_like(out, float("nan")) if torch.is_autocast_enabled("cpu") else out

    restorer.net.forward_shared = unstable
    lq = torch.rand(1, 3, 24, 32)
    out = restorer.restore_tensor(lq, tile=16, overlap=4)
    assert torch.isfinite(out).all()
    assert restorer.fallbacks == 3 * restorer.plan(24, 32, tile=16, overlap=4).count  # every tile, every step

    reference = load_restorer(tiny_weights, device="cpu", precision="fp32").restore_tensor(lq, tile=16, overlap=4)
    assert torch.allclose(out, reference, atol=1e-6), "the redone tiles are the fp32 result"


def test_bf16_on_the_cpu_stays_close_to_fp32(tiny_weights):
    lq = torch.rand(1, 3, 32, 32)
    a = load_restorer(tiny_weights, device="cpu", precision="fp32").restore_tensor(lq)
    b = load_restorer(tiny_weights, device="cpu", precision="bf16").restore_tensor(lq)
    assert (a - b).abs().mean() < 0.02


def test_whole_image_equals_a_single_tile_and_batches_do_not_change_tiles(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    lq = torch.rand(1, 3, 40, 56)
    whole = restorer.restore_tensor(lq, tile=0)
    assert torch.equal(whole, restorer.restore_tensor(lq, tile=64))  # the tile covers the image
    one = restorer.restore_tensor(lq, tile=32, overlap=8, batch_size=1)
    many = restorer.restore_tensor(lq, tile=32, overlap=8, batch_size=6)
    assert (one - many).abs().max() < 1e-5


def test_explicit_noise_is_used_and_seed_noise_is_the_default(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    lq = torch.rand(1, 3, 16, 16)
    from uir_cli.diffusion.sampler import starting_noise

    assert torch.equal(restorer.restore_tensor(lq, seed=7), restorer.restore_tensor(lq, noise=starting_noise(16, 16, 7)))
    assert not torch.equal(restorer.restore_tensor(lq, seed=7), restorer.restore_tensor(lq, seed=8))


def test_restore_array_low_light_equalises_first(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    dark = (np.random.default_rng(0).random((16, 16, 3)) * 0.1).astype(np.float32)
    from uir_cli.engine.preprocess import equalize_histogram

    expected = restorer.restore_array(equalize_histogram(dark), task="rain")
    assert np.array_equal(restorer.restore_array(dark, task="low-light"), expected)
    assert np.array_equal(restorer.restore_array(dark, task="auto"), expected)  # dark, so auto equalises


def test_bad_arguments(tiny_weights):
    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    with pytest.raises(UsageError):
        restorer.restore_tensor(torch.rand(3, 8, 8))
    with pytest.raises(DeviceError):
        load_restorer(tiny_weights, device="cpu", precision="fp16")


def test_automatic_tiles_fit_the_batch_and_are_planned_from_one_memory_reading(tiny_weights, monkeypatch):
    from uir_cli.engine import restorer as restorer_module

    restorer = load_restorer(tiny_weights, device="cpu", precision="fp32")
    readings = iter([4 << 30, 1 << 30])  # the free memory shrinks once the model runs
    monkeypatch.setattr(restorer_module, "free_memory", lambda device: next(readings))
    one = restorer.plan(3000, 4000, tile=None)
    assert restorer.plan(3000, 4000, tile=None) == one  # the same tiles for the same image, read once
    four = restorer.plan(3000, 4000, tile=None, batch=4)
    assert four.tile_shape[0] * four.tile_shape[1] < one.tile_shape[0] * one.tile_shape[1]


def test_auto_precision_on_the_cpu_is_bf16_only_with_bf16_units(monkeypatch):
    import torch

    from uir_cli.engine import device as device_module

    cpu = torch.device("cpu")
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: True)
    assert device_module.resolve_precision("auto", cpu) == "bf16"
    assert device_module.resolve_precision("fp32", cpu) == "fp32"
    monkeypatch.setattr(device_module, "cpu_has_bf16", lambda: False)
    assert device_module.resolve_precision("auto", cpu) == "fp32"
    assert device_module.resolve_precision("bf16", cpu) == "bf16", "bf16 on request, emulated or not"
