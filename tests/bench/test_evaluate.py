"""Benchmark evaluation: exact scores, predictions, low light, shapes, limits, interruption, reports, the synthetic set."""

from __future__ import annotations

import csv
import io
import json
import math
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from uir_cli.bench import compare, metrics, synthetic
from uir_cli.bench import report as benchreport
from uir_cli.bench.selection import Selection, custom_selection, dataset_choices, plan_work, select_datasets
from uir_cli.bench.evaluate import EvalOptions, evaluate
from uir_cli.bench.events import ImageFinished
from uir_cli.imageio import read_image, to_uint
from uir_cli.errors import DatasetError

SIZE = (32, 24)  # (width, height): tiny, so the tiny model runs in a blink


def _save(path: Path, arr: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path)
    return path


def _pairs(lq_dir: Path, gt_dir: Path, names=("1", "2", "10"), *, dark: bool = False, seed: int = 0) -> None:
    """Write targets with values in [20, 200] and noisy (or darkened) inputs with the same names."""
    rng = np.random.default_rng(seed)
    for name in names:
        gt = rng.integers(20, 201, (SIZE[1], SIZE[0], 3), dtype=np.uint8)
        lq = (gt // 5) if dark else np.clip(gt.astype(int) + rng.integers(-15, 16, gt.shape), 0, 255).astype(np.uint8)
        _save(gt_dir / f"{name}.png", gt)
        _save(lq_dir / f"{name}.png", lq)


def _u8(path) -> np.ndarray:
    return to_uint(read_image(path).rgb, 8)


@pytest.fixture
def restorer(tiny_weights):
    from uir_cli.engine.restorer import load_restorer

    return load_restorer(tiny_weights, device="cpu", precision="fp32")


# --- exact scores ------------------------------------------------------------------------


def test_scores_equal_metrics_on_the_saved_outputs(restorer, tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt", task="rain")
    options = EvalOptions(protocol="basicsr", save_dir=tmp_path / "out")
    run = evaluate(plan_work(selection), restorer=restorer, options=options)

    (result,) = run.datasets
    assert [r.name for r in result.images] == ["1", "2", "10"]  # natural order
    for r in result.images:
        assert r.status == "done"
        saved = _u8(r.output)
        expected = metrics.score(saved, _u8(r.target), protocol="basicsr")
        assert (r.psnr, r.ssim) == (expected.psnr, expected.ssim)
        baseline = metrics.score(_u8(r.input), _u8(r.target), protocol="basicsr")
        assert (r.input_psnr, r.input_ssim) == (baseline.psnr, baseline.ssim)
        assert r.seconds > 0 and r.megapixels == pytest.approx(SIZE[0] * SIZE[1] / 1e6)
    assert result.summary.psnr == pytest.approx(np.mean([r.psnr for r in result.images]), abs=1e-12)
    assert result.summary.input_ssim == pytest.approx(np.mean([r.input_ssim for r in result.images]), abs=1e-12)
    assert result.preprocessing == "none"
    assert run.settings.protocol_description == metrics.describe("basicsr", 0)
    assert run.model.sha256 == restorer.info.sha256 and run.settings.steps == restorer.steps


def test_outputs_are_what_the_restorer_gives_for_the_same_seed(restorer, tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a",))
    run = evaluate(plan_work(custom_selection(tmp_path / "in", tmp_path / "gt", task="rain")), restorer=restorer,
                   options=EvalOptions(seed=7, save_dir=tmp_path / "out"))
    direct = restorer.restore_array(read_image(tmp_path / "in" / "a.png").rgb, seed=7, task="rain", tile=0)
    np.testing.assert_array_equal(_u8(run.datasets[0].images[0].output), to_uint(direct, 8))


# --- predictions -------------------------------------------------------------------------


def test_predictions_that_copy_the_targets_score_inf_and_one(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    run = evaluate(plan_work(selection, predictions=tmp_path / "gt"), options=EvalOptions(predictions=tmp_path / "gt"))
    images = run.datasets[0].images
    assert all(math.isinf(r.psnr) and r.ssim == 1.0 for r in images)
    assert run.model is None and run.settings.source == f"predictions from {tmp_path / 'gt'}, no model run"
    assert all(r.seconds is None for r in images)
    assert run.datasets[0].preprocessing.startswith("none: predictions")


def test_a_known_offset_gives_the_known_psnr(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("x",))
    gt = _u8(tmp_path / "gt" / "x.png")
    _save(tmp_path / "pred" / "x.png", gt + 10)  # targets are <= 200: no clipping
    run = evaluate(plan_work(custom_selection(tmp_path / "in", tmp_path / "gt"), predictions=tmp_path / "pred"),
                   options=EvalOptions(predictions=tmp_path / "pred"))
    # Every channel +10 moves Y by 10 * (65.481 + 128.553 + 24.966) / 255 = 10 * 219 / 255.
    expected = 10 * math.log10(255**2 / (10 * 219 / 255) ** 2)
    assert run.datasets[0].images[0].psnr == pytest.approx(expected, abs=1e-9)


def test_predictions_alone_pair_with_the_targets_without_a_baseline(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(None, tmp_path / "gt", predictions=tmp_path / "gt")
    run = evaluate(plan_work(selection, predictions=tmp_path / "gt", inputs_given=False),
                   options=EvalOptions(predictions=tmp_path / "gt"))
    assert all(r.input is None and r.input_psnr is None and math.isinf(r.psnr) for r in run.datasets[0].images)


def test_missing_predictions_are_named(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    _save(tmp_path / "pred" / "1.png", _u8(tmp_path / "gt" / "1.png"))
    with pytest.raises(DatasetError, match=r"2 of 3 custom pairs have no prediction \(2, 10\)"):
        plan_work(custom_selection(tmp_path / "in", tmp_path / "gt"), predictions=tmp_path / "pred")


# --- named datasets, low light, shapes ---------------------------------------------------


def test_lol_inputs_are_equalised_before_the_model_and_the_report_says_so(restorer, tmp_path):
    root = tmp_path / "data"
    _pairs(root / "LOL" / "eval15" / "low", root / "LOL" / "eval15" / "high", names=("1",), dark=True)
    selection = select_datasets("lol", root)
    (found,) = selection.sets
    assert (found.name, found.task) == ("LOL", "low-light")
    run = evaluate(plan_work(selection), restorer=restorer, options=EvalOptions(save_dir=tmp_path / "out"))
    result = run.datasets[0]
    assert "histogram equalisation" in result.preprocessing
    lq = read_image(root / "LOL" / "eval15" / "low" / "1.png").rgb
    with_eq = to_uint(restorer.restore_array(lq, task="low-light"), 8)
    without = to_uint(restorer.restore_array(lq, task="rain"), 8)
    saved = _u8(result.images[0].output)
    np.testing.assert_array_equal(saved, with_eq)
    assert not np.array_equal(saved, without)
    assert "histogram equalisation" in benchreport.to_markdown(run)


def test_custom_pairs_with_task_auto_equalise_dark_inputs_as_restore_does(restorer, tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("1",), dark=True)
    selection = custom_selection(tmp_path / "in", tmp_path / "gt", task="auto")
    run = evaluate(plan_work(selection), restorer=restorer, options=EvalOptions(save_dir=tmp_path / "out"))
    result = run.datasets[0]
    lq = read_image(tmp_path / "in" / "1.png").rgb
    np.testing.assert_array_equal(_u8(result.images[0].output), to_uint(restorer.restore_array(lq, task="auto"), 8))
    assert not np.array_equal(_u8(result.images[0].output), to_uint(restorer.restore_array(lq, task="rain"), 8))
    assert "task auto" in result.preprocessing and "histogram-equalised" in " ".join(result.images[0].notes)


def test_a_named_dataset_is_found_under_the_root(tmp_path):
    _pairs(tmp_path / "syn_rain" / "test" / "Rain100L" / "input", tmp_path / "syn_rain" / "test" / "Rain100L" / "target")
    (found,) = select_datasets("Rain100L", tmp_path).sets
    assert found.name == "Rain100L" and found.input_dir == tmp_path / "syn_rain" / "test" / "Rain100L" / "input"


def test_a_missing_dataset_lists_the_paths_tried(tmp_path):
    with pytest.raises(DatasetError) as info:
        select_datasets("Rain100H", tmp_path)
    message = info.value.one_line()
    for tried in ("Rain100H/{input,target}", "syn_rain/test/Rain100H/{input,target}", "Rain100H/{rainy,norain}"):
        assert tried in message
    with pytest.raises(DatasetError, match="unknown dataset 'Rain9'.*synthetic"):
        select_datasets("Rain9", tmp_path)


def test_all_runs_what_is_there_and_lists_what_is_absent(tmp_path):
    _pairs(tmp_path / "GoPro" / "input", tmp_path / "GoPro" / "target", names=("a",))
    selection = select_datasets("all", tmp_path)
    assert [s.name for s in selection.sets] == ["GoPro"]
    absent = dict(selection.absent)
    assert "LOL" in absent and "Rain100L" in absent and "GoPro" not in absent
    with pytest.raises(DatasetError, match="none of the named datasets"):
        select_datasets("all", tmp_path / "empty")


def test_an_unreadable_input_loses_only_its_baseline_when_predictions_are_scored(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a", "b"))
    (tmp_path / "in" / "b.png").write_text("not an image")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    run = evaluate(plan_work(selection, predictions=tmp_path / "gt"), options=EvalOptions(predictions=tmp_path / "gt"))
    a, b = run.datasets[0].images
    assert a.status == b.status == "done" and math.isinf(b.psnr) and b.ssim == 1.0
    assert a.input_psnr is not None and b.input_psnr is None and b.input_ssim is None
    assert any("the input could not be read" in n and "no input baseline" in n for n in b.notes)
    summary = run.datasets[0].summary
    assert summary.scored == 2 and summary.input_psnr == a.input_psnr and run.failed == 0


def test_an_unreadable_input_fails_its_image_when_the_model_runs(restorer, tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a",))
    (tmp_path / "in" / "a.png").write_text("not an image")
    run = evaluate(plan_work(custom_selection(tmp_path / "in", tmp_path / "gt")), restorer=restorer)
    (a,) = run.datasets[0].images
    assert a.status == "failed" and "not an image" in a.reason and run.failed == 1


def test_a_size_mismatch_fails_that_image_with_a_reason(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a", "b"))
    _save(tmp_path / "pred" / "a.png", _u8(tmp_path / "gt" / "a.png"))
    _save(tmp_path / "pred" / "b.png", np.zeros((SIZE[1] + 2, SIZE[0], 3), np.uint8))
    run = evaluate(plan_work(custom_selection(tmp_path / "in", tmp_path / "gt"), predictions=tmp_path / "pred"),
                   options=EvalOptions(predictions=tmp_path / "pred"))
    a, b = run.datasets[0].images
    assert a.status == "done" and b.status == "failed"
    assert "output is 32x26 but the target is 32x24" in b.reason and "not resized" in b.reason
    assert run.failed == 1 and run.datasets[0].summary.scored == 1


def _sots(root: Path, target_shape: tuple[int, int], rng: np.random.Generator) -> Path:
    """SOTS-outdoor with one clean 0001.png of ``target_shape`` and two 32x24 hazy inputs of it; returns the hazy folder."""
    _save(root / "SOTS" / "outdoor" / "gt" / "0001.png", rng.integers(0, 256, (*target_shape, 3), dtype=np.uint8))
    for name in ("0001_0.8_0.2", "0001_0.9_0.1"):
        _save(root / "SOTS" / "outdoor" / "hazy" / f"{name}.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    return root / "SOTS" / "outdoor" / "hazy"


def test_sots_resizes_the_target_and_notes_it(tmp_path):
    root = tmp_path / "data"
    _sots(root, (26, 34), np.random.default_rng(1))
    selection = select_datasets("SOTS-outdoor", root)
    hazy = root / "SOTS" / "outdoor" / "hazy"
    run = evaluate(plan_work(selection, predictions=hazy), options=EvalOptions(predictions=hazy))
    images = run.datasets[0].images
    assert [r.status for r in images] == ["done", "done"]
    assert all(any("target resized from 34x26 to 32x24" in n for n in r.notes) for r in images)
    assert any("MATLAB" in n for n in run.datasets[0].notes)


def test_one_sots_prediction_is_never_scored_for_several_hazy_inputs(tmp_path):
    root = tmp_path / "data"
    rng = np.random.default_rng(1)
    _sots(root, (24, 32), rng)
    _save(tmp_path / "pred" / "0001.png", rng.integers(0, 256, (24, 32, 3), dtype=np.uint8))
    with pytest.raises(DatasetError, match="2 of 2 SOTS-outdoor pairs have no prediction"):
        plan_work(select_datasets("SOTS-outdoor", root), predictions=tmp_path / "pred")


# --- limit and interruption --------------------------------------------------------------


def test_limit_takes_the_first_pairs_and_is_recorded(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    work = plan_work(selection, limit=2, predictions=tmp_path / "gt")
    run = evaluate(work, options=EvalOptions(limit=2, predictions=tmp_path / "gt"))
    result = run.datasets[0]
    assert [r.name for r in result.images] == ["1", "2"]
    assert (result.pairs_used, result.pairs_found, result.limit, run.settings.limit) == (2, 3, 2, 2)
    assert any("--limit 2" in n for n in result.notes)


class _StopAfter:
    """Ctrl-C after the ``n``-th image is scored."""

    def __init__(self, n: int):
        self.n = 0
        self.stop = n

    def __call__(self, event) -> None:
        if isinstance(event, ImageFinished):
            self.n += 1
            if self.n == self.stop:
                raise KeyboardInterrupt


def test_ctrl_c_returns_a_partial_run_that_reports_write(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    work = plan_work(custom_selection(tmp_path / "in", tmp_path / "gt"), predictions=tmp_path / "gt")
    run = evaluate(work, options=EvalOptions(predictions=tmp_path / "gt"), events=_StopAfter(2))
    assert run.interrupted and [r.name for r in run.datasets[0].images] == ["1", "2"]
    assert run.datasets[0].summary.scored == 2
    files = benchreport.write_reports(run, tmp_path / "report")
    data = json.loads(files.json.read_text())
    assert data["interrupted"] is True and len(data["datasets"][0]["images"]) == 2
    assert "Interrupted" in files.md.read_text()
    assert "| custom | 2 of 3 |" in files.md.read_text()  # the means cover 2 of the 3 pairs


# --- reports -----------------------------------------------------------------------------


def _model_run(restorer, tmp_path, **options):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt", task="rain")
    thumbs = {}

    def keep(event) -> None:
        if isinstance(event, ImageFinished):
            thumbs[(event.result.dataset, event.result.name)] = benchreport.thumbnails_of(event.images)

    run = evaluate(plan_work(selection), restorer=restorer, options=EvalOptions(**options), events=keep,
                   command_line="uir benchmark --input in --target gt")
    return run, thumbs


def test_reports_hold_what_reproduces_the_numbers(restorer, tmp_path):
    run, thumbs = _model_run(restorer, tmp_path, seed=3, tile=None, tile_overlap=16)
    files = benchreport.write_reports(run, tmp_path / "report", thumbnails=thumbs)

    data = json.loads(files.json.read_text())
    s, m, e = data["settings"], data["model"], data["environment"]
    assert s["protocol"] == "diffuir" and s["protocol_description"] == metrics.describe("diffuir", 0)
    assert (s["crop_border"], s["seed"], s["steps"], s["tile"], s["tile_overlap"]) == (0, 3, 3, "auto", 16)
    assert s["precision"] == "fp32" and s["device"] == "cpu" and s["device_name"]
    assert m["sha256"] == restorer.info.sha256 and m["variant"] and m["name"]
    assert e["uir_version"] and e["torch_version"]
    assert data["command_line"] == "uir benchmark --input in --target gt" and data["started"] and data["finished"]
    assert data["peak_memory"]["bytes"] > 0 and data["totals"]["megapixels_per_second"] > 0
    d = data["datasets"][0]
    assert d["pairing"] == "same-name" and d["pairs_used"] == 3 and d["input_dir"] == str(tmp_path / "in")
    assert d["summary"]["psnr"] == pytest.approx(np.mean([i["psnr"] for i in d["images"]]))
    assert set(d["images"][0]) >= {"name", "input", "target", "psnr", "ssim", "seconds", "megapixels", "status"}

    rows = list(csv.DictReader(io.StringIO(files.csv.read_text())))
    assert [r["name"] for r in rows] == ["1", "2", "10"]
    assert float(rows[0]["psnr"]) == d["images"][0]["psnr"]  # full precision

    md = files.md.read_text()
    for needle in ("| custom | 3 |", restorer.info.sha256, "Protocol 'diffuir'", "crop border", "seed**: 3",
                   "fp32", "uir 0.1.0", "same-name"):
        assert needle in md


def test_html_is_one_self_contained_file(restorer, tmp_path):
    run, thumbs = _model_run(restorer, tmp_path)
    files = benchreport.write_reports(run, tmp_path / "report", thumbnails=thumbs)
    page = files.html.read_text()
    sources = re.findall(r"src=['\"]([^'\"]*)", page)
    assert len(sources) == 9  # input, output and target of 3 pairs
    assert all(src.startswith("data:image/jpeg;base64,") for src in sources)
    assert "href=" not in page and "<link" not in page and "http" not in page
    assert page.index("PSNR") < page.index("<img")  # the summary table comes first


def test_compare_gives_differences_and_warns_on_protocol_mismatch(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    _save(tmp_path / "pred" / "1.png", _u8(tmp_path / "gt" / "1.png") + 10)
    for name in ("2", "10"):
        _save(tmp_path / "pred" / f"{name}.png", _u8(tmp_path / "gt" / f"{name}.png") + 5)
    paths = []
    for label, protocol, pred in (("a", "diffuir", "in"), ("b", "diffuir", "pred"), ("c", "rgb", "pred")):
        options = EvalOptions(protocol=protocol, predictions=tmp_path / pred)
        run = evaluate(plan_work(selection, predictions=tmp_path / pred), options=options)
        paths.append(benchreport.write_reports(run, tmp_path / label).json)

    same = compare.compare_reports(paths[:2])
    (row,) = same.rows
    a, b = row.cells
    assert row.comparable and not same.warnings
    assert b.d_psnr == pytest.approx(b.psnr - a.psnr) and b.d_ssim == pytest.approx(b.ssim - a.ssim)

    mixed = compare.compare_reports(paths)
    assert not mixed.rows[0].comparable and "protocols differ" in mixed.rows[0].note
    assert any("protocol 'rgb'" in w for w in mixed.warnings)


def test_compare_flags_different_pairs(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    paths = []
    for label, limit in (("all", None), ("two", 2)):
        run = evaluate(plan_work(selection, limit=limit, predictions=tmp_path / "in"),
                       options=EvalOptions(limit=limit, predictions=tmp_path / "in"))
        paths.append(benchreport.write_reports(run, tmp_path / label).json)
    cmp = compare.compare_reports(paths)
    assert not cmp.rows[0].comparable and "pairs differ (two: 2, all: 3)" in cmp.rows[0].note


def test_compare_counts_only_the_images_scored(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt")
    selection = custom_selection(tmp_path / "in", tmp_path / "gt")
    good = evaluate(plan_work(selection, predictions=tmp_path / "in"), options=EvalOptions(predictions=tmp_path / "in"))
    (tmp_path / "bad").mkdir()
    for name in ("1", "2"):
        (tmp_path / "bad" / f"{name}.png").write_bytes((tmp_path / "in" / f"{name}.png").read_bytes())
    (tmp_path / "bad" / "10.png").write_text("not an image")
    bad = evaluate(plan_work(selection, predictions=tmp_path / "bad"), options=EvalOptions(predictions=tmp_path / "bad"))
    assert [r.status for r in bad.datasets[0].images] == ["done", "done", "failed"]
    paths = [benchreport.write_reports(run, tmp_path / label).json for label, run in (("good", good), ("bad", bad))]
    cmp = compare.compare_reports(paths)
    assert not cmp.rows[0].comparable and "pairs differ" in cmp.rows[0].note


# --- the synthetic set -------------------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture
def small_photos(tmp_path) -> Path:
    """Two 64x48 crops of the shipped photos (the build logic is the same, the test is quicker)."""
    folder = tmp_path / "photos"
    for path in sorted(synthetic.PHOTOS.glob("*.png"))[:2]:
        _save(folder / path.name, np.asarray(Image.open(path).convert("RGB"))[:48, :64])
    return folder


def test_the_synthetic_set_builds_deterministically_and_heals(tmp_path, small_photos, monkeypatch):
    sets = tmp_path / "sets"
    first = synthetic.ensure_synthetic(sets / "a", photos=small_photos)
    second = synthetic.ensure_synthetic(sets / "b", photos=small_photos)
    assert first.built and second.built
    a, b = _tree(sets / "a"), _tree(sets / "b")
    assert a == b
    stem = sorted(p.stem for p in small_photos.glob("*.png"))[0]
    for task in synthetic.TASKS:
        assert f"synthetic-{task}/input/{stem}.png" in a and f"synthetic-{task}/target/{stem}.png" in a
    assert len(a) == 2 * 2 * len(synthetic.TASKS) + 1  # inputs, targets, manifest
    assert not synthetic.ensure_synthetic(sets / "a", photos=small_photos).built  # sound: left alone

    damaged = sets / "a" / f"synthetic-haze/input/{stem}.png"
    damaged.write_bytes(damaged.read_bytes()[:100])
    healed = synthetic.ensure_synthetic(sets / "a", photos=small_photos)
    assert healed.built and "damaged" in healed.reason
    assert _tree(sets / "a") == b

    (sets / "a" / "manifest.json").unlink()  # as a build killed before its end would leave it
    assert "half-built" in synthetic.ensure_synthetic(sets / "a", photos=small_photos).reason

    monkeypatch.setattr(synthetic, "__version__", "9.9.9")
    stale = synthetic.ensure_synthetic(sets / "a", photos=small_photos)
    assert stale.built and "9.9.9" in stale.reason
    assert json.loads((sets / "a" / "manifest.json").read_text())["uir_version"] == "9.9.9"
    assert sorted(p.name for p in sets.iterdir()) == ["a", "b"]  # no staging folder left behind


def test_synthetic_is_a_dataset_name_built_in_the_user_data_dir(isolated_user_data):
    assert {"synthetic", "synthetic-haze", "all", "LOL"} <= set(dataset_choices())
    selection = select_datasets("synthetic", Path("/nonexistent"))
    assert [s.name for s in selection.sets] == [f"synthetic-{t}" for t in synthetic.TASKS]
    assert selection.sets[0].input_dir == isolated_user_data / "datasets" / "synthetic-v1" / "synthetic-rain" / "input"
    assert selection.notes and "built the synthetic set" in selection.notes[0]
    assert any(f"seed {synthetic.SEED}" in n and "manifest.json" in n for n in selection.sets[0].notes)
    assert [s.task for s in select_datasets("synthetic-low-light", Path("/x")).sets] == ["low-light"]
    assert select_datasets("synthetic-haze", Path("/x")).notes == ()  # already built


def test_selection_keeps_notes_and_absent_in_the_run(tmp_path):
    _pairs(tmp_path / "in", tmp_path / "gt", names=("a",))
    base = custom_selection(tmp_path / "in", tmp_path / "gt")
    selection = Selection(base.sets, (("LOL", "not found"),), ("a note",))
    run = evaluate(plan_work(selection, predictions=tmp_path / "gt"), options=EvalOptions(predictions=tmp_path / "gt"),
                   selection=selection)
    assert run.absent == [("LOL", "not found")] and "a note" in run.notes


def test_the_evaluation_reports_typed_events_in_order(restorer, tmp_path):
    from uir_cli.bench.events import DatasetFinished, DatasetStarted
    from uir_cli.engine.events import ImageStarted, TilesDone

    _pairs(tmp_path / "in", tmp_path / "gt", names=("a", "b"))
    events = []
    evaluate(plan_work(custom_selection(tmp_path / "in", tmp_path / "gt", task="rain")), restorer=restorer,
             events=events.append)
    steps = [e for e in events if not isinstance(e, TilesDone)]
    assert [type(e) for e in steps] == [DatasetStarted, ImageStarted, ImageFinished, ImageStarted, ImageFinished,
                                        DatasetFinished]
    assert steps[0] == DatasetStarted("custom", "rain", 2)
    assert steps[1] == ImageStarted("a", SIZE[0], SIZE[1], 1)
    assert steps[-1].result.summary.scored == 2 and steps[2].images.output.shape == (SIZE[1], SIZE[0], 3)
    assert sum(e.count for e in events if isinstance(e, TilesDone)) == 2 * restorer.steps
