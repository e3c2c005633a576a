"""The config file: defaults, precedence (CLI wins), relative paths, round trip, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from tests.training.conftest import tiny_args
from uir_cli.cli.app import app
from uir_cli.errors import UsageError
from uir_cli.training.config import TrainConfig, config_from_text, dump_toml, read_toml, resolve_config


def test_defaults_are_the_authors_recipe(tmp_path):
    c = resolve_config(out=str(tmp_path))
    assert (c.batch_size, c.crop, c.lr, c.accumulate, c.ema_decay, c.ema_every, c.steps) == (10, 256, 8e-5, 2, 0.995, 10, 300_000)
    assert c.mix_weights() == {"haze": 4, "low-light": 1, "rain": 2, "snow": 2, "blur": 1}
    assert c.t_sampling == "uniform" and c.shape == (32, (1, 1, 1, 1))


def test_round_trip_through_toml(tmp_path):
    c = resolve_config(out=str(tmp_path / "run"), data=[f"{tmp_path}:rain"], synthetic=[str(tmp_path)], tasks="rain,LOL",
                       dim=16, dim_mults="1,2,2", lr=1e-4, t_sampling="inference")
    assert config_from_text(dump_toml(c)) == c
    assert c.tasks == ("rain", "low-light") and c.data == (f"{tmp_path}:rain",)


def test_the_command_line_wins_over_the_file_and_file_paths_are_relative_to_it(tmp_path, monkeypatch):
    (tmp_path / "conf").mkdir()
    cfg = tmp_path / "conf" / "train.toml"
    cfg.write_text('out = "runs/a"\nsynthetic = ["photos"]\nsteps = 50\nbatch-size = 6\nlr = 1e-3\nvariant = "S"\n')
    monkeypatch.chdir(tmp_path)
    c = resolve_config(config_file=cfg, steps=7, crop=64)
    assert c.steps == 7 and c.crop == 64  # CLI
    assert c.batch_size == 6 and c.lr == 1e-3 and c.shape == (32, (1, 2, 2, 4))  # file
    assert c.out == str(tmp_path / "conf" / "runs" / "a")
    assert c.synthetic == (str(tmp_path / "conf" / "photos"),)


def test_uir_train_saves_the_resolved_config(tmp_path, photos, monkeypatch):
    cfg = tmp_path / "train.toml"
    cfg.write_text(f'synthetic = ["{photos}"]\nsteps = 9\nlog-every = 7\nseed = 5\n')
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--config", str(cfg), "--out", str(out), *tiny_args(steps=2)])
    assert result.exit_code == 0, result.output
    saved = read_toml(out / "config.toml")
    assert saved["steps"] == 2 and saved["log_every"] == 7 and saved["seed"] == 5  # CLI beats file; file beats default
    assert saved["synthetic"] == [str(photos)] and saved["dim"] == 8 and saved["dim_mults"] == [1, 2]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("bogus = 1\n", "unknown key 'bogus'"),
        ("steps = 'many'\n", "--steps must be an integer"),
        ("dim-mults = [1, 0]\n", "--dim-mults"),
        ("steps = \n", "not valid TOML"),
    ],
)
def test_bad_files_name_the_file_and_the_key(tmp_path, text, needle):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(text)
    with pytest.raises(UsageError) as info:
        resolve_config(config_file=cfg, out=str(tmp_path))
    assert needle in info.value.one_line() and str(cfg) in info.value.one_line()


@pytest.mark.parametrize(
    "values",
    [{"dim_mults": "1,x"}, {"dim_mults": ""}, {"dim": 12}, {"steps": 0}, {"tasks": "rain,fish"}, {"mix": "haze"},
     {"variant": "XL"}, {"precision": "fp8"}, {"t_sampling": "random"}, {"objective": "magic"},
     {"light_share": 1.5}, {"cast_share": -0.1}, {"lines_share": 2}, {"lines_share": "many"}],
)
def test_bad_values_raise_usage_errors(tmp_path, values):
    with pytest.raises(UsageError):
        resolve_config(out=str(tmp_path), **values)


def test_every_field_can_come_from_a_file(tmp_path):
    lines = dump_toml(TrainConfig(out=str(tmp_path)))
    cfg = tmp_path / "all.toml"
    cfg.write_text(lines)
    assert set(read_toml(cfg)) == {f for f in TrainConfig.__dataclass_fields__ if getattr(TrainConfig(), f) is not None} | {"out"}
    assert resolve_config(config_file=cfg).out == str(tmp_path)
    assert Path(resolve_config(config_file=cfg).out).is_absolute()
