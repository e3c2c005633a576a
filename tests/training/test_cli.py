"""`uir train` from the command line: plain progress lines, warnings, and one-line errors with exit codes."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.training.conftest import tiny_args
from uir_cli.cli.app import app

runner = CliRunner()


def _train(*args):
    return runner.invoke(app, ["train", *map(str, args)])


def test_plain_progress_lines_without_a_terminal(tmp_path, pairs):
    result = _train("--out", tmp_path / "run", "--data", f"{pairs}:haze", *tiny_args(steps=2), "--log-every", 1)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("step 1/2  loss ") for line in lines)
    assert any(line.startswith("step 2/2  loss ") for line in lines)
    assert any("finished at step 2/2" in line for line in lines)
    assert (tmp_path / "run" / "model-last.pt").is_file() and (tmp_path / "run" / "ema.safetensors").is_file()


def test_a_bad_training_image_is_skipped_with_one_warning(tmp_path, photos):
    (photos / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    result = _train("--out", tmp_path / "run", "--synthetic", photos, *tiny_args(steps=3, batch_size=10))
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1 and "broken.png" in warnings[0]


@pytest.mark.parametrize(
    ("case", "code", "needle"),
    [
        ("no-data", 2, "no training data"),
        ("no-pairs", 2, "no training pairs found"),
        ("missing-folder", 2, "no such folder"),
        ("dim-mults", 2, "--dim-mults"),
        ("resume", 2, "no checkpoint"),
        ("init", 3, "not a checkpoint"),
        ("steps-done", 2, "already at step"),
        ("run-exists", 2, "already holds a run"),
    ],
)
def test_user_errors_end_in_one_line_and_an_exit_code(tmp_path, pairs, case, code, needle):
    out = tmp_path / "run"
    (tmp_path / "empty").mkdir()
    bad = tmp_path / "weights.pt"
    bad.write_text("hello")
    args = {
        "no-data": ["--out", out],
        "no-pairs": ["--out", out, "--data", tmp_path / "empty"],
        "missing-folder": ["--out", out, "--data", tmp_path / "nowhere"],
        "dim-mults": ["--out", out, "--data", f"{pairs}:haze", "--dim-mults", "1,two"],
        "resume": ["--out", out, "--resume"],
        "init": ["--out", out, "--data", f"{pairs}:haze", "--init", bad],
        "steps-done": ["--out", out, "--resume", "--steps", 1],
        "run-exists": ["--out", out, "--data", f"{pairs}:haze", *tiny_args(steps=1)],
    }[case]
    if case in ("steps-done", "run-exists"):
        assert _train("--out", out, "--data", f"{pairs}:haze", *tiny_args(steps=1)).exit_code == 0
    result = _train(*args)
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and needle in errors[0]


def test_init_fine_tunes_from_weights_and_takes_their_shape(tmp_path, pairs, tiny_weights):
    result = _train("--out", tmp_path / "run", "--data", f"{pairs}:haze", "--init", tiny_weights,
                    *[a for a in tiny_args(steps=1) if a not in ("--dim", "8", "--dim-mults", "1,2")])
    assert result.exit_code == 0, result.output
    assert "initialised from" in result.output and "dim 8, dim_mults 1,2" in result.output
    clash = _train("--out", tmp_path / "run2", "--data", f"{pairs}:haze", "--init", tiny_weights, "--variant", "S", "--steps", 1)
    assert clash.exit_code == 2 and "--init has dim 8" in clash.output


def test_init_takes_a_registered_name(tmp_path, pairs, tiny_weights):
    from typer.testing import CliRunner

    from uir_cli.cli.app import app

    assert CliRunner().invoke(app, ["weights", "import", str(tiny_weights), "--name", "tinyw"]).exit_code == 0
    result = _train("--out", tmp_path / "run", "--data", f"{pairs}:haze", "--init", "tinyw",
                    *[a for a in tiny_args(steps=1) if a not in ("--dim", "8", "--dim-mults", "1,2")])
    assert result.exit_code == 0, result.output
    assert "initialised from" in result.output and 'init = "tinyw"' in (tmp_path / "run" / "config.toml").read_text()
    unknown = _train("--out", tmp_path / "run2", "--data", f"{pairs}:haze", "--init", "nosuch", *tiny_args(steps=1))
    assert unknown.exit_code != 0 and "no weights named 'nosuch'" in unknown.output


def test_resume_needs_only_the_run_folder_and_new_options_win(tmp_path, pairs):
    out = tmp_path / "run"
    assert _train("--out", out, "--data", f"{pairs}:haze", *tiny_args(steps=1), "--lr", "1e-4").exit_code == 0
    result = _train("--out", out, "--resume", "--steps", 3, "--lr", "2e-4", "--log-every", 1)
    assert result.exit_code == 0, result.output
    assert "resuming" in result.output and "step 3/3" in result.output and "step 1/3" not in result.output
    import torch

    ckpt = torch.load(out / "model-last.pt", map_location="cpu", weights_only=True)
    assert ckpt["step"] == 3 and ckpt["opt0"]["param_groups"][0]["lr"] == 2e-4
    assert 'lr = 0.0002' in (out / "config.toml").read_text() and "dim = 8" in (out / "config.toml").read_text()
