"""The options `uir restore` and `uir benchmark` share are one declaration; flags show no value type."""

import click
import typer
from typer.testing import CliRunner

from uir_cli.cli.app import app

SHARED = ("model", "weights", "which", "steps", "seed", "tile_overlap", "batch_size", "device", "precision")


def _params(*path: str) -> dict[str, click.Parameter]:
    command = typer.main.get_command(app)
    ctx = click.Context(command)
    for name in path:
        command = command.get_command(ctx, name)
    return {p.name: p for p in command.params}


def test_restore_and_benchmark_share_their_model_options():
    restore, benchmark = _params("restore"), _params("benchmark")
    for name in SHARED:
        a, b = restore[name], benchmark[name]
        assert (a.opts, a.help, a.default, a.type_descriptor.choices) == (
            b.opts, b.help, b.default, b.type_descriptor.choices), name


def test_flags_are_shown_as_flags():
    commands = [(), ("restore",), ("benchmark",), ("benchmark", "compare"), ("train",), ("degrade",), ("completion",),
                ("weights",), ("weights", "list"), ("weights", "info"), ("weights", "import"), ("weights", "verify")]
    for path in commands:
        result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "200"})
        assert result.exit_code == 0, path
        assert "<bool>" not in result.output and "BOOLEAN" not in result.output, path
        (help_line,) = [line for line in result.output.splitlines() if "--help" in line]
        assert help_line.split("--help")[1].split()[:2] == ["-h", "Show"], help_line  # no value type between


def test_train_shows_its_defaults_and_takes_precision_from_a_list():
    train = _params("train")
    assert [c.value for c in train["precision"].type_descriptor.choices] == ["auto", "fp32", "fp16", "bf16"]
    assert train["steps"].default is None and train["steps"].show_default == "300000"
    assert all("[default:" not in (p.help or "") for p in train.values() if p.name in ("steps", "lr", "crop"))
