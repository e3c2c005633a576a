"""The default weights that ship with uir: registered, intact, used when nothing is named, and useful."""

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

from tests.conftest import SHARED, need_shared
from uir_cli.cli.app import app
from uir_cli.errors import RegistryError
from uir_cli.registry import PACKAGE_DATA, SHIPPED_REGISTRY, load_registry

runner = CliRunner()


def _default():
    return load_registry().default_entry()


def test_the_default_is_shipped_in_the_package_with_its_sha256():
    entry = _default()
    path = entry.path()
    assert path is not None and path.is_file() and path.parent == PACKAGE_DATA
    assert entry.sha256 and hashlib.sha256(path.read_bytes()).hexdigest() == entry.sha256
    assert path.stat().st_size < 8 << 20  # a few MB, fine to ship


def test_the_default_loads_as_the_variant_it_claims():
    from uir_cli.engine.weights import load_weights

    entry = _default()
    loaded = load_weights(entry.path())
    assert loaded.config.dim == entry.dim and tuple(loaded.config.dim_mults) == tuple(entry.dim_mults)
    assert loaded.variant == entry.variant


def test_restore_without_weights_uses_the_default(tmp_path):
    from PIL import Image

    src = tmp_path / "in" / "a.png"
    src.parent.mkdir()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (24, 40, 3), dtype=np.uint8)).save(src)
    report = tmp_path / "r.json"
    result = runner.invoke(app, ["restore", str(src), "--out", str(tmp_path / "out"), "--device", "cpu",
                                 "--report", str(report)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.png").is_file()
    model = json.loads(report.read_text())["model"]
    assert model["name"] == _default().name and model["sha256"] == _default().sha256


SHIPPED_PHOTOS = ("chelsea.png", "coffee.png", "astronaut.png", "rocket.png")  # never trained on


def _to8(a):
    return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)


@pytest.fixture(scope="module")
def held_out():
    """Centre crops (192 px) of the shipped photos, and the default weights restoring them as `uir restore` does."""
    from uir_cli.imageio import read_image
    from uir_cli.engine.restorer import load_restorer

    crops = []
    for name in SHIPPED_PHOTOS:
        img = read_image(PACKAGE_DATA / "photos" / name).rgb.astype(np.float32)
        h, w = img.shape[:2]
        crops.append((name, np.ascontiguousarray(img[(h - 192) // 2:(h + 192) // 2, (w - 192) // 2:(w + 192) // 2])))
    restorer = load_restorer(_default().path(), device="cpu", precision="fp32")
    return crops, lambda rgb: restorer.restore_array(rgb, seed=0, tile=0)  # task auto, as uir restore


def test_the_default_weights_leave_a_clean_photo_alone(held_out):
    """A photo that needs nothing comes back as it was: >= 33 dB to itself, brightness within 3 levels."""
    from uir_cli.bench.metrics import psnr

    crops, restore = held_out
    for name, clean in crops:
        out = _to8(restore(clean))
        assert psnr(out, _to8(clean)) >= 33.0, name
        assert abs(float(out.mean()) - float(_to8(clean).mean())) <= 3.0, name


def _mean_gain(held_out, task) -> float:
    """Mean PSNR gain (dB) over the 4 shipped crops, each degraded with seeds 3 and 4 (light to heavy draws)."""
    from uir_cli.degrade import degrade
    from uir_cli.bench.metrics import psnr

    crops, restore = held_out
    gains = []
    for _, clean in crops:
        for seed in (3, 4):
            lq = degrade(clean, task, np.random.default_rng(seed))
            gains.append(psnr(_to8(restore(lq)), _to8(clean)) - psnr(_to8(lq), _to8(clean)))
    return float(np.mean(gains))


@pytest.mark.parametrize("task, at_least", [("rain", 1.0), ("haze", 1.0), ("snow", 0.5), ("low-light", 3.0)])
def test_the_default_weights_restore_held_out_photos(held_out, task, at_least):
    """Photos never trained on, degraded synthetically: the outputs are closer to the clean photos."""
    gain = _mean_gain(held_out, task)
    assert gain > at_least, f"{task}: {gain:+.2f} dB"


@pytest.mark.xfail(strict=True, reason="uir-t-v6 leaves synthetic blur as it was (0.00 dB on these crops, +0.06 "
                   "on whole held-out photos): training continues (issue 11); strict, so this fails once it does and "
                   "the test is promoted")
def test_the_default_weights_remove_blur(held_out):
    assert _mean_gain(held_out, "blur") > 0.5


def test_bf16_restores_as_float32_does(held_out):
    """The bf16 path (--precision auto on CPUs with bf16 units) gives float32's picture within its stated
    bound: >= 35 dB between the two 8-bit outputs, for every task (measured 40-56 dB on the examples)."""
    from uir_cli.degrade import degrade
    from uir_cli.bench.metrics import psnr
    from uir_cli.engine.restorer import load_restorer

    crops, restore32 = held_out
    bf16 = load_restorer(_default().path(), device="cpu", precision="bf16")
    _, clean = crops[0]
    for task in ("rain", "haze", "snow", "blur", "low-light"):
        lq = degrade(clean, task, np.random.default_rng(3))
        assert psnr(_to8(bf16.restore_array(lq, seed=0, tile=0)), _to8(restore32(lq))) >= 35.0, task


@pytest.fixture(scope="module")
def real_low_light():
    """PSNR (restored, equalised only, degraded) on a real LOL pair held out from training (../shared)."""
    from uir_cli.imageio import read_image
    from uir_cli.bench.metrics import psnr
    from uir_cli.engine.preprocess import equalize_histogram
    from uir_cli.engine.restorer import load_restorer

    lol = need_shared(SHARED / "train-pairs" / "low-light" / "lol-v1-our485")
    name = "lol_0750.jpg"  # among the 10% of LOL numbers that scripts/default-weights/prepare-data.py holds out
    lq = read_image(lol / "input" / name).rgb.astype(np.float32)
    gt = _to8(read_image(lol / "target" / name).rgb)
    out = load_restorer(_default().path(), device="cpu", precision="fp32").restore_array(lq, seed=0, tile=0)
    return psnr(_to8(out), gt), psnr(_to8(equalize_histogram(lq)), gt), psnr(_to8(lq), gt)


def test_the_default_weights_brighten_a_held_out_real_low_light_photo(real_low_light):
    restored, _, degraded = real_low_light
    assert restored > degraded + 3, real_low_light


def test_the_default_weights_beat_equalisation_alone_on_real_low_light(real_low_light):
    """Issue 11's bar: on real low light at least 2 dB above histogram equalisation alone (uir-t-v6 on
    lol_0750: 21.1 dB against 14.1; the input 10.2)."""
    restored, equalised, _ = real_low_light
    assert restored > equalised + 2, real_low_light


def test_a_registry_without_a_default_says_what_to_pass(tmp_path):
    text = SHIPPED_REGISTRY.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("default =")]
    shipped = tmp_path / "weights.toml"
    shipped.write_text('default = ""\n' + "\n".join(lines) + "\n")
    with pytest.raises(RegistryError, match="no default weights") as info:
        load_registry(shipped).default_entry()
    assert "--weights FILE or --model NAME" in str(info.value.hint)
