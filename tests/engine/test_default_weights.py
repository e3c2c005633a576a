"""The default weights that ship with uir: registered, intact, used when nothing is named, and useful."""

import hashlib
import json

import numpy as np
import pytest
from typer.testing import CliRunner

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


@pytest.mark.parametrize("task", ["rain", "snow", "haze", "low-light"])
def test_the_default_weights_restore_a_held_out_photo(task):
    """A crop of a photo never trained on, degraded synthetically: the output is closer to the clean photo."""
    from uir_cli.degrade import degrade
    from uir_cli.engine.imageio import read_image
    from uir_cli.engine.metrics import psnr
    from uir_cli.engine.restorer import load_restorer

    clean = read_image(PACKAGE_DATA / "photos" / "chelsea.png").rgb[60:252, 120:312].astype(np.float32)
    lq = degrade(clean, task, np.random.default_rng(3))
    restorer = load_restorer(_default().path(), device="cpu")
    out = restorer.restore_array(lq, seed=0, task=task, tile=0)  # low light: equalised first

    def to8(a):
        return (np.clip(a, 0, 1) * 255 + 0.5).astype(np.uint8)

    gain = psnr(to8(out), to8(clean)) - psnr(to8(lq), to8(clean))
    assert gain > 1.0, f"{task}: {gain:+.2f} dB"


def test_a_registry_without_a_default_says_what_to_pass(tmp_path):
    text = SHIPPED_REGISTRY.read_text()
    lines = [ln for ln in text.splitlines() if not ln.startswith("default =")]
    shipped = tmp_path / "weights.toml"
    shipped.write_text('default = ""\n' + "\n".join(lines) + "\n")
    with pytest.raises(RegistryError, match="no default weights") as info:
        load_registry(shipped).default_entry()
    assert "--weights FILE or --model NAME" in str(info.value.hint)
