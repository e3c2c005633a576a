"""The foundation end to end: `uir restore` and `uir weights` on the authors' checkpoint format."""

import json
import subprocess
import sys

import numpy as np
from PIL import Image
from typer.testing import CliRunner

from uir_cli.cli.app import app

runner = CliRunner()


def _max_png_diff(a, b) -> int:
    x = np.asarray(Image.open(a).convert("RGB")).astype(int)
    y = np.asarray(Image.open(b).convert("RGB")).astype(int)
    assert x.shape == y.shape
    return int(np.abs(x - y).max())


def _restore(args):
    result = runner.invoke(app, ["restore", *map(str, args)])
    assert result.exit_code == 0, result.output
    return result


def test_restore_writes_the_authors_png_within_one_level(fixtures_dir, tmp_path):
    _restore([fixtures_dir / "cat_131x97.png", "--out", tmp_path, "--weights", fixtures_dir / "diffuir_t_official_format.pt",
              "--steps", 3, "--seed", 0, "--tile", 0, "--device", "cpu", "--precision", "fp32"])
    assert _max_png_diff(tmp_path / "cat_131x97.png", fixtures_dir / "cat_131x97_seed0_steps3.png") <= 1


def test_weights_import_then_restore_by_name_gives_the_same_png(fixtures_dir, tmp_path, isolated_user_data):
    result = runner.invoke(app, ["weights", "import", str(fixtures_dir / "diffuir_t_official_format.pt"), "--name", "fixture-t"])
    assert result.exit_code == 0, result.output
    stored = isolated_user_data / "weights" / "fixture-t.safetensors"
    assert stored.is_file()
    _restore([fixtures_dir / "cat_131x97.png", "--out", tmp_path, "--model", "fixture-t", "--tile", 0, "--device", "cpu", "--precision", "fp32"])
    assert _max_png_diff(tmp_path / "cat_131x97.png", fixtures_dir / "cat_131x97_seed0_steps3.png") <= 1

    listed = json.loads(runner.invoke(app, ["weights", "list", "--json"]).stdout)
    entry = next(e for e in listed if e["name"] == "fixture-t")
    assert entry["available"] and entry["variant"] == "diffuir-t" and entry["origin"] == "user"

    info = json.loads(runner.invoke(app, ["weights", "info", "fixture-t", "--json"]).stdout)
    assert info["parameters"] == 886_435 and info["holds"] == ["ema"] and info["dim_mults"] == [1, 1, 1, 1]


def test_weights_verify_catches_a_changed_file(tiny_weights, isolated_user_data):
    assert runner.invoke(app, ["weights", "import", str(tiny_weights), "--name", "tiny"]).exit_code == 0
    ok = runner.invoke(app, ["weights", "verify", "--json"])
    assert ok.exit_code == 0
    assert {r["name"]: r["status"] for r in json.loads(ok.stdout)}["tiny"] == "ok"
    stored = isolated_user_data / "weights" / "tiny.safetensors"
    data = bytearray(stored.read_bytes())
    data[-1] ^= 0xFF
    stored.write_bytes(bytes(data))
    bad = runner.invoke(app, ["weights", "verify", "--json"])
    assert bad.exit_code == 1
    assert {r["name"]: r["status"] for r in json.loads(bad.stdout)}["tiny"] == "mismatch"


def test_weights_info_on_the_authors_checkpoint(fixtures_dir):
    result = runner.invoke(app, ["weights", "info", str(fixtures_dir / "diffuir_t_official_format.pt"), "--json"])
    info = json.loads(result.stdout)
    assert info["variant"] == "diffuir-t" and info["holds"] == ["ema", "online"] and info["loaded"] == "ema"
    assert info["sha256"] == "5e93caf702b7fd19d024858826a518ff058155cf43f4b281821b5f21604ae409"


def test_bad_weights_end_in_one_line_and_exit_3(tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"")
    img = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(img)
    result = runner.invoke(app, ["restore", str(img), "--out", str(tmp_path / "o"), "--weights", str(bad)])
    assert result.exit_code == 3
    lines = [ln for ln in result.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and "bad.pt" in lines[0] and "empty" in lines[0]
    assert "Traceback" not in result.output


def test_unknown_model_name_says_what_is_known(tmp_path):
    img = tmp_path / "x.png"
    Image.new("RGB", (8, 8)).save(img)
    result = runner.invoke(app, ["restore", str(img), "--out", str(tmp_path / "o"), "--model", "nope"])
    assert result.exit_code == 3 and "no weights named 'nope'" in result.output


def test_help_and_completion_do_not_import_torch():
    code = (
        "import sys, os\n"
        "from uir_cli.cli.app import app\n"
        "from typer.testing import CliRunner\n"
        "r = CliRunner()\n"
        "for args in (['--help'], ['restore', '--help'], ['weights', 'list', '--help']):\n"
        "    assert r.invoke(app, args).exit_code == 0\n"
        "heavy = [m for m in ('torch', 'cv2', 'numpy', 'safetensors') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "", f"imported at --help: {result.stdout}"
