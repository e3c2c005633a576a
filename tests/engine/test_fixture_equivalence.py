"""uir reproduces the authors' code on their checkpoint format (shared/fixtures/official-format)."""

import numpy as np
import pytest
import torch
from PIL import Image

from uir_cli.engine.restorer import load_restorer
from uir_cli.engine.weights import load_weights, save_safetensors


@pytest.fixture
def fixture_files(fixtures_dir):
    return {
        "ckpt": fixtures_dir / "diffuir_t_official_format.pt",
        "input": fixtures_dir / "cat_131x97.png",
        "npy": fixtures_dir / "cat_131x97_seed0_steps3.npy",
        "png": fixtures_dir / "cat_131x97_seed0_steps3.png",
    }


def _input_tensor(path):
    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32) / 255.0
    return torch.from_numpy(rgb).permute(2, 0, 1)[None]


def test_python_api_matches_the_authors_float_output(fixture_files):
    restorer = load_restorer(fixture_files["ckpt"], device="cpu", precision="fp32")
    out = restorer.restore_tensor(_input_tensor(fixture_files["input"]), seed=0, steps=3)
    ours = out[0].permute(1, 2, 0).numpy()
    theirs = np.load(fixture_files["npy"])
    assert ours.shape == theirs.shape == (97, 131, 3)
    assert np.abs(ours - theirs).max() <= 1e-4


def test_online_weights_give_a_different_picture(fixture_files):
    """The EMA weights are the default; the online ones are really different weights."""
    ema = load_weights(fixture_files["ckpt"])
    online = load_weights(fixture_files["ckpt"], which="online")
    assert not torch.equal(ema.state_dict["init_conv.weight"], online.state_dict["init_conv.weight"])
    lq = _input_tensor(fixture_files["input"])[..., :32, :32]
    a = load_restorer(ema, device="cpu", precision="fp32").restore_tensor(lq)
    b = load_restorer(online, device="cpu", precision="fp32").restore_tensor(lq)
    assert (a - b).abs().max() > 1e-3


def test_imported_safetensors_give_the_same_output(fixture_files, tmp_path):
    st = save_safetensors(load_weights(fixture_files["ckpt"]), tmp_path / "t.safetensors")
    restorer = load_restorer(st, device="cpu", precision="fp32")
    out = restorer.restore_tensor(_input_tensor(fixture_files["input"]), seed=0)
    assert np.abs(out[0].permute(1, 2, 0).numpy() - np.load(fixture_files["npy"])).max() <= 1e-4
