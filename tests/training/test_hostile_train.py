"""`uir train` against hostile files and environments: one line, the run goes on or stops with exit 2."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.test_hostile import _bomb
from tests.training.conftest import tiny_args
from uir_cli.cli.app import app

runner = CliRunner()


def _train(*args, env=None):
    return runner.invoke(app, ["train", *map(str, args)], env=env)


def test_an_out_that_is_a_file_is_a_usage_error(tmp_path, photos):
    out = tmp_path / "run.txt"
    out.write_text("keep me")
    result = _train("--out", out, "--synthetic", photos, *tiny_args(steps=1))
    assert result.exit_code == 2, result.output
    assert "not a folder" in result.output and "Traceback" not in result.output
    assert out.read_text() == "keep me"


def test_a_pixel_bomb_among_the_photos_is_skipped_from_its_header(tmp_path, photos):
    _bomb(photos / "bomb.png")
    result = _train("--out", tmp_path / "run", "--synthetic", photos, "--val-synthetic", photos,
                    *tiny_args(steps=3, batch_size=10), "--val-every", 3, "--val-count", 1)
    assert result.exit_code == 0, result.output
    warnings = [ln for ln in result.output.splitlines() if "bomb.png" in ln]
    assert warnings and all("pixels" in ln and "--max-pixels" in ln for ln in warnings)
    assert any(ln.startswith("warning: skipped") for ln in warnings)  # training
    assert any("validation: skipped" in ln for ln in warnings)  # and validation
    assert "finished at step 3/3" in result.output


def test_max_pixels_is_an_option_with_a_limit_of_ours(tmp_path, photos):
    # the 96x72 photos are 6,912 pixels: a limit below that skips them all, and the run says so
    result = _train("--out", tmp_path / "run", "--synthetic", photos, *tiny_args(steps=1), "--max-pixels", 5000)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "could be read" in result.output
    assert _train("--out", tmp_path / "r2", "--synthetic", photos, *tiny_args(steps=1), "--max-pixels", -1).exit_code == 2


@pytest.mark.parametrize("env, needle", [({"WORLD_SIZE": "abc"}, "WORLD_SIZE"), ({"WORLD_SIZE": "2", "RANK": "7"}, "RANK=7")])
def test_torchrun_variables_torchrun_never_sets_are_usage_errors(tmp_path, photos, env, needle):
    result = _train("--out", tmp_path / "run", "--synthetic", photos, *tiny_args(steps=1), env=env)
    assert result.exit_code == 2, result.output
    assert needle in result.output and "Traceback" not in result.output
    assert not (tmp_path / "run" / "model-last.pt").exists()
