"""Checkpoints in the authors' format: schedule buffers, key order, loading with uir and the fixture."""

from __future__ import annotations

import pytest
import torch
from PIL import Image
from typer.testing import CliRunner

from tests.conftest import FIXTURES, need_shared
from tests.training.conftest import tiny_config
from uir_cli.cli.app import app
from uir_cli.diffusion.schedule import authors_buffers
from uir_cli.engine.weights import load_weights
from uir_cli.nn.unet import DiffUIRNet, UNetConfig
from uir_cli.training.checkpoint import (
    authors_model_state,
    authors_parameters,
    load_checkpoint,
)
from uir_cli.training.trainer import train

FIXTURE = FIXTURES / "diffuir_t_official_format.pt"


@pytest.fixture(scope="module")
def fixture_ckpt():
    need_shared(FIXTURE)
    return torch.load(FIXTURE, map_location="cpu", weights_only=True)


@pytest.fixture
def run(tmp_path, pairs):
    """A 3-step tiny run whose EMA has started averaging (so EMA and online weights differ)."""
    config = tiny_config(tmp_path / "run", data=[f"{pairs}:haze"], ema_every=1, ema_after=0)
    train(config)
    return config.run_dir


def test_the_14_schedule_buffers_match_the_authors_checkpoint(fixture_ckpt):
    ours = authors_buffers()
    theirs = {k: v for k, v in fixture_ckpt["model"].items() if not k.startswith("model.")}
    assert list(ours) == list(theirs)
    for name, value in ours.items():
        assert value.dtype == torch.float32 and value.shape == (1000,)
        # Within a few float32 ulps (the authors' file was computed on other hardware); the
        # near-zero posterior_mean_coef2 is a difference of nearly equal products.
        torch.testing.assert_close(value, theirs[name], rtol=2e-6, atol=2e-7, msg=name)


def test_keys_come_in_the_authors_order(fixture_ckpt):
    net = DiffUIRNet(UNetConfig(32, (1, 1, 1, 1)))
    state = authors_model_state(net.state_dict())
    assert list(state) == list(fixture_ckpt["model"])
    names = [n for n, _ in authors_parameters(net)]
    assert ["model.unet0." + n for n in names] == [k for k in fixture_ckpt["model"] if k.startswith("model.unet0.")]
    assert len(names) == len(fixture_ckpt["opt0"]["param_groups"][0]["params"])


def test_the_checkpoint_has_the_authors_keys_and_shapes(run):
    ckpt = torch.load(run / "model-last.pt", map_location="cpu", weights_only=True)
    assert {"step", "model", "opt0", "ema", "scaler"} <= set(ckpt)
    assert ckpt["step"] == 3 and ckpt["scaler"] is None
    net_shapes = {k: tuple(v.shape) for k, v in DiffUIRNet(UNetConfig(8, (1, 2))).state_dict().items()}
    model = ckpt["model"]
    buffers = [k for k in model if not k.startswith("model.unet0.")]
    assert buffers == list(authors_buffers())
    assert all(model[k].shape == (1000,) for k in buffers)
    assert {k[len("model.unet0."):]: tuple(v.shape) for k, v in model.items() if k in set(model) - set(buffers)} == net_shapes
    ema = ckpt["ema"]
    assert ema["initted"].dtype == torch.bool and ema["initted"].ndim == 0 and bool(ema["initted"])
    assert ema["step"].dtype == torch.int64 and int(ema["step"]) == 3
    assert {k for k in ema if k.startswith("online_model.")} == {"online_model." + k for k in model}
    assert {k for k in ema if k.startswith("ema_model.")} == {"ema_model." + k for k in model}
    assert set(ema) == {"initted", "step"} | {"online_model." + k for k in model} | {"ema_model." + k for k in model}
    group = ckpt["opt0"]["param_groups"][0]
    assert group["lr"] == pytest.approx(8e-5) and tuple(group["betas"]) == (0.9, 0.99)
    assert group["params"] == list(range(len(net_shapes)))
    assert len(ckpt["opt0"]["state"]) == len(net_shapes)
    assert (run / "model-3.pt").read_bytes() == (run / "model-last.pt").read_bytes()


def test_load_weights_takes_the_ema_and_the_online_weights(run):
    ckpt = torch.load(run / "model-last.pt", map_location="cpu", weights_only=True)
    ema = load_weights(run / "model-last.pt")
    online = load_weights(run / "model-last.pt", which="online")
    assert ema.which == "ema" and online.which == "online" and ema.step == 3
    for k, v in ema.state_dict.items():
        assert torch.equal(v, ckpt["ema"]["ema_model.model.unet0." + k])
        assert torch.equal(online.state_dict[k], ckpt["model"]["model.unet0." + k])
    assert any(not torch.equal(v, online.state_dict[k]) for k, v in ema.state_dict.items())
    exported = load_weights(run / "ema.safetensors")
    assert exported.which == "ema" and exported.step == 3
    assert all(torch.equal(v, ema.state_dict[k]) for k, v in exported.state_dict.items())
    resumed = load_checkpoint(run / "model-last.pt")
    assert resumed.step == 3 and resumed.ema.initted and resumed.run is not None and "steps = 3" in resumed.run.config_toml


def test_uir_restore_takes_the_checkpoint_and_the_ema_export(run, pairs, tmp_path):
    runner = CliRunner()
    for weights in ("model-last.pt", "ema.safetensors"):
        out = tmp_path / weights
        result = runner.invoke(app, ["restore", str(pairs / "input" / "0.png"), "--out", str(out), "--weights",
                                     str(run / weights), "--device", "cpu"])
        assert result.exit_code == 0, result.output
        (written,) = list(out.rglob("*.png"))
        with Image.open(written) as im:
            assert im.size == (32, 32)


def test_a_checkpoint_resumes_from_the_authors_file_format(fixture_ckpt, tmp_path):
    """load_checkpoint reads the authors' own file (no uir extras) as a training state."""
    ckpt = load_checkpoint(FIXTURE)
    assert ckpt.step == 300000 and ckpt.run is None and not ckpt.ema.initted
    assert set(ckpt.online) == set(DiffUIRNet(UNetConfig(32, (1, 1, 1, 1))).state_dict())
