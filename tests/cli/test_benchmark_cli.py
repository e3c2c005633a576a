"""`uir benchmark` as a user sees it: tables, reports, errors, exit codes, compare, Ctrl-C."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from uir_cli.cli.app import app

runner = CliRunner()


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _pairs(lq_dir: Path, gt_dir: Path, names=("1", "2", "3"), seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    for name in names:
        gt = rng.integers(20, 201, (24, 32, 3), dtype=np.uint8)
        _save(gt_dir / f"{name}.png", gt)
        _save(lq_dir / f"{name}.png", np.clip(gt.astype(int) + rng.integers(-15, 16, gt.shape), 0, 255).astype(np.uint8))


def _bench(*args) -> "object":
    return runner.invoke(app, ["benchmark", *map(str, args)])


def test_help_lists_the_options_and_compare():
    result = _bench("--help")
    assert result.exit_code == 0
    for needle in ("--dataset", "--predictions", "--protocol", "--report-dir", "--html", "compare"):
        assert needle in result.output


def test_a_model_run_prints_the_table_and_writes_every_report(tiny_weights, tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    report = tmp_path / "report"
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--weights", tiny_weights,
                    "--device", "cpu", "--report-dir", report, "--save-images", "--html", "--limit", "2")
    assert result.exit_code == 0, result.output
    assert re.search(r"custom\s+2\s+\d+\.\d\d\s+0\.\d{4}\s+\d+\.\d\d\s+0\.\d{4}", result.stdout)
    assert "protocol diffuir" in result.stdout
    assert "[custom 1/2] 1: PSNR" in result.output  # a line per image without a terminal
    assert sorted(p.name for p in (report / "images" / "custom").iterdir()) == ["1.png", "2.png"]
    data = json.loads((report / "report.json").read_text())
    assert data["command_line"].startswith("uir benchmark --input") and "--limit 2" in data["command_line"]
    assert data["settings"]["limit"] == 2 and data["datasets"][0]["pairs_used"] == 2
    assert data["model"]["sha256"] and data["settings"]["save_dir"] == str(report / "images")
    page = (report / "report.html").read_text()
    assert all(src.startswith("data:") for src in re.findall(r"src='([^']*)'", page))
    assert (report / "report.csv").read_text().count("\n") == 3 and (report / "report.md").is_file()


def test_predictions_run_no_model(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--predictions", tmp_path / "gt",
                    "--report-dir", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert re.search(r"custom\s+3\s+\S+\s+\S+\s+inf\s+1\.0000", result.stdout)
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["model"] is None and "no model run" in data["settings"]["source"]


def test_predictions_with_targets_alone(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    result = _bench("--target", tmp_path / "gt", "--predictions", tmp_path / "in")
    assert result.exit_code == 0, result.output
    assert re.search(r"custom\s+3\s+-\s+-\s+\d+\.\d\d", result.stdout)


def test_a_missing_dataset_exits_2_listing_the_paths_tried(tmp_path):
    result = _bench("--dataset", "Rain100L", "--data-root", tmp_path, "--predictions", tmp_path)
    assert result.exit_code == 2
    assert "Rain100L not found" in result.output and "syn_rain/test/Rain100L/{input,target}" in result.output
    assert "Traceback" not in result.output


def test_a_named_dataset_under_the_data_root(tmp_path, monkeypatch):
    _pairs(tmp_path / "LOL" / "eval15" / "low", tmp_path / "LOL" / "eval15" / "high")
    monkeypatch.setenv("UIR_DATA", str(tmp_path))
    result = _bench("--dataset", "LOL", "--predictions", tmp_path / "LOL" / "eval15" / "high", "-o", tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert re.search(r"LOL\s+3\s", result.stdout)
    assert json.loads((tmp_path / "r" / "report.json").read_text())["datasets"][0]["target_dir"].endswith("eval15/high")


def test_a_failed_pair_exits_1_and_says_why(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a", "b"))
    _save(tmp_path / "pred" / "a.png", np.asarray(Image.open(tmp_path / "gt" / "a.png")))
    _save(tmp_path / "pred" / "b.png", np.zeros((10, 10, 3), np.uint8))
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--predictions", tmp_path / "pred")
    assert result.exit_code == 1
    assert "b: failed: output is 10x10 but the target is 32x24" in result.output
    assert re.search(r"custom\s+2\s.*\s1$", result.stdout.splitlines()[1])  # the "failed" column


def test_the_live_bar_keeps_every_thumbnail_and_prints_only_failures(tmp_path, monkeypatch):
    from uir_cli.cli import benchmark

    monkeypatch.setattr(benchmark, "is_interactive", lambda: True)  # the live bar, as on a terminal
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a", "b"))
    _save(tmp_path / "pred" / "a.png", np.asarray(Image.open(tmp_path / "gt" / "a.png")))
    _save(tmp_path / "pred" / "b.png", np.zeros((10, 10, 3), np.uint8))
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--predictions", tmp_path / "pred",
                    "-o", tmp_path / "r", "--html")
    assert result.exit_code == 1
    assert "[custom 2/2] b: failed: output is 10x10" in result.output and "a: PSNR" not in result.output
    page = (tmp_path / "r" / "report.html").read_text()
    assert len(re.findall(r"src='data:", page)) == 6  # input, output and target of both pairs


def test_dataset_names_complete_from_the_benchmark_choices():
    from uir_cli.cli.benchmark import complete_datasets
    from uir_cli.bench.selection import dataset_choices

    assert complete_datasets("") == dataset_choices()
    assert complete_datasets("rain1") == ["Rain100L", "Rain100H"]
    assert complete_datasets("SYN")[0] == "synthetic" and "synthetic-haze" in complete_datasets("syn")


@pytest.mark.parametrize("args,message", [
    ([], "Usage"),
    (["--input", "x"], "--input needs --target"),
    (["--dataset", "LOL", "--input", "x", "--target", "y"], "not both"),
    (["--dataset", "LOL", "--task", "rain"], "named datasets know their task"),
    (["--dataset", "LOL", "--html"], "--html needs --report-dir"),
    (["--dataset", "LOL", "--predictions", "p", "--weights", "w.pt"], "no model runs"),
    (["--dataset", "LOL", "--tile", "big"], "--tile must be"),
])
def test_usage_errors_exit_2(args, message):
    result = _bench(*args)
    assert result.exit_code == 2 and message in result.output


def test_without_weights_the_default_weights_run(tmp_path):
    from uir_cli.registry import load_registry

    _pairs(tmp_path / "in", tmp_path / "gt")
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--device", "cpu",
                    "--report-dir", tmp_path / "rep")
    assert result.exit_code == 0, result.output
    model = json.loads((tmp_path / "rep" / "report.json").read_text())["model"]
    assert model["name"] == load_registry().default and model["variant"] == "diffuir-t"


def test_synthetic_works_out_of_the_box(isolated_user_data):
    # The set is built (in the user's data dir) before predictions are looked for, so its own
    # targets can serve as perfect predictions here: no model is needed to test the building.
    target = isolated_user_data / "datasets" / "synthetic-v1" / "synthetic-blur" / "target"
    result = _bench("--dataset", "synthetic-blur", "--predictions", target)
    assert result.exit_code == 0, result.output
    assert f"built the synthetic set in {target.parents[1]} (not built yet)" in result.output
    assert re.search(r"synthetic-blur\s+4\s+\d+\.\d\d\s+0\.\d{4}\s+inf\s+1\.0000", result.stdout)
    result = _bench("--dataset", "synthetic-blur", "--predictions", target, "--limit", "1")
    assert result.exit_code == 0, result.output
    assert "built the synthetic set" not in result.output  # built once


def test_ctrl_c_writes_the_partial_report_and_exits_130(tmp_path, monkeypatch):
    from uir_cli.cli.progress import PlainBenchmarkRenderer

    calls = []
    original = PlainBenchmarkRenderer.finished

    def interrupting(self, event):
        calls.append(event.result.name)
        original(self, event)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(PlainBenchmarkRenderer, "finished", interrupting)
    _pairs(tmp_path / "in", tmp_path / "gt")
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "--predictions", tmp_path / "gt",
                    "-o", tmp_path / "r")
    assert result.exit_code == 130
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["interrupted"] is True and [i["name"] for i in data["datasets"][0]["images"]] == ["1", "2"]
    assert "INTERRUPTED" in result.stdout


def _report(tmp_path: Path, label: str, *args) -> Path:
    result = _bench("--input", tmp_path / "in", "--target", tmp_path / "gt", "-o", tmp_path / label, *args)
    assert result.exit_code == 0, result.output
    return tmp_path / label / "report.json"


def test_compare_shows_differences_and_warns_when_protocols_differ(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    for name in ("1", "2", "3"):
        gt = np.asarray(Image.open(tmp_path / "gt" / f"{name}.png"))
        _save(tmp_path / "pred" / f"{name}.png", gt + 10)
    a = _report(tmp_path, "inputs", "--predictions", tmp_path / "in")
    b = _report(tmp_path, "offset", "--predictions", tmp_path / "pred")
    c = _report(tmp_path, "rgb", "--predictions", tmp_path / "pred", "--protocol", "rgb")

    result = runner.invoke(app, ["benchmark", "compare", str(a), str(b)])
    assert result.exit_code == 0, result.output
    header, row = result.stdout.splitlines()[:2]
    assert "inputs PSNR" in header and "offset PSNR" in header and "ΔPSNR" in header
    a_psnr = json.loads(a.read_text())["datasets"][0]["summary"]["psnr"]
    delta = 10 * np.log10(255**2 / (10 * 219 / 255) ** 2) - a_psnr
    assert f"{delta:+.2f}" in row and "NOT COMPARABLE" not in row

    result = runner.invoke(app, ["benchmark", "compare", str(a), str(c)])
    assert result.exit_code == 0
    assert "warning: rgb uses protocol 'rgb'" in result.output
    assert "NOT COMPARABLE: protocols differ" in result.stdout


def test_compare_needs_reports(tmp_path):
    (tmp_path / "x.json").write_text("{}")
    result = runner.invoke(app, ["benchmark", "compare", str(tmp_path / "x.json"), str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "not a uir benchmark report.json" in result.output


def test_the_cli_module_imports_no_torch_or_numpy():
    code = "import sys, uir_cli.cli.app; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]
