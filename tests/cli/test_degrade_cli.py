"""`uir degrade`: paired sets on disk, named for pairing, reproducible, robust to a bad file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from uir_cli.cli.app import app

runner = CliRunner()
skimage_data = pytest.importorskip("skimage.data")


def _png(path: Path, source: np.ndarray, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(source).resize(size, Image.BILINEAR).save(path)
    return path


@pytest.fixture
def clean_folder(tmp_path) -> Path:
    """photos/{img2, img10}.png, photos/more/img2.png, a hidden file, a text file."""
    folder = tmp_path / "photos"
    _png(folder / "img2.png", skimage_data.astronaut(), (48, 40))
    _png(folder / "img10.png", skimage_data.chelsea(), (40, 48))
    _png(folder / "more" / "img2.png", skimage_data.coffee(), (44, 44))
    _png(folder / ".thumbs" / "img2.png", skimage_data.coffee(), (8, 8))
    (folder / "notes.txt").write_text("not an image")
    return folder


def _run(*args) -> object:
    return runner.invoke(app, ["degrade", *map(str, args)])


def _pixels(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_writes_pairs_with_matching_names_and_a_manifest(clean_folder, tmp_path):
    out = tmp_path / "out"
    result = _run(clean_folder, "--out", out, "--kind", "rain", "--seed", "3")
    assert result.exit_code == 0, result.output
    inputs = sorted(p.name for p in (out / "rain" / "input").iterdir())
    targets = sorted(p.name for p in (out / "rain" / "target").iterdir())
    assert inputs == targets == ["img10.png", "img2.png", "more__img2.png"]
    # the target is the clean photo itself; the input is the same scene, rained on
    assert np.array_equal(_pixels(out / "rain" / "target" / "img10.png"), _pixels(clean_folder / "img10.png"))
    lq, gt = _pixels(out / "rain" / "input" / "img10.png"), _pixels(out / "rain" / "target" / "img10.png")
    assert lq.shape == gt.shape and not np.array_equal(lq, gt)
    manifest = json.loads((out / "rain" / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["kind"] == "rain" and manifest["failed"] == []
    assert [(p["name"], p["relative"]) for p in manifest["pairs"]] == [
        ("img2.png", "img2.png"), ("img10.png", "img10.png"), ("more__img2.png", "more/img2.png")]
    assert {"density", "length", "angle"} <= set(manifest["pairs"][0]["params"])


def test_same_command_same_bytes_and_new_files_change_nothing_else(clean_folder, tmp_path):
    assert _run(clean_folder, "--out", tmp_path / "a", "--kind", "all", "--per-image", "2").exit_code == 0
    assert _run(clean_folder, "--out", tmp_path / "b", "--kind", "all", "--per-image", "2").exit_code == 0
    first = _tree(tmp_path / "a")
    assert first == _tree(tmp_path / "b")
    assert {name.split("/")[0] for name in first} == {"rain", "haze", "snow", "blur", "low-light"}
    assert "snow/input/img2_1.png" in first and "snow/target/img2_1.png" in first
    assert first["snow/input/img2_0.png"] != first["snow/input/img2_1.png"]

    _png(clean_folder / "img1.png", skimage_data.rocket(), (40, 40))
    assert _run(clean_folder, "--out", tmp_path / "c", "--kind", "all", "--per-image", "2").exit_code == 0
    after = _tree(tmp_path / "c")
    assert "haze/input/img1_0.png" in after
    assert all(after[name] == data for name, data in first.items() if name.endswith(".png"))


def test_another_seed_gives_other_inputs_but_the_same_targets(clean_folder, tmp_path):
    assert _run(clean_folder / "img2.png", "--out", tmp_path / "a", "--kind", "haze", "--seed", "0").exit_code == 0
    assert _run(clean_folder / "img2.png", "--out", tmp_path / "b", "--kind", "haze", "--seed", "1").exit_code == 0
    a, b = _tree(tmp_path / "a"), _tree(tmp_path / "b")
    assert a["haze/target/img2.png"] == b["haze/target/img2.png"]
    assert a["haze/input/img2.png"] != b["haze/input/img2.png"]


def test_a_corrupt_image_fails_alone(clean_folder, tmp_path):
    (clean_folder / "broken.jpg").write_bytes(b"\xff\xd8 this is not a jpeg")
    out = tmp_path / "out"
    result = _run(clean_folder, "--out", out, "--kind", "low-light")
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "broken.jpg" in errors[0]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in (out / "low-light" / "input").iterdir()) == ["img10.png", "img2.png", "more__img2.png"]
    manifest = json.loads((out / "low-light" / "manifest.json").read_text())
    assert len(manifest["pairs"]) == 3 and manifest["failed"][0]["source"].endswith("broken.jpg")


def test_same_stem_in_two_folders_and_files_given_directly(tmp_path):
    one = _png(tmp_path / "one" / "x.png", skimage_data.astronaut(), (32, 32))
    two = _png(tmp_path / "two" / "x.png", skimage_data.chelsea(), (32, 32))
    out = tmp_path / "out"
    assert _run(one, two, one, "--out", out, "--kind", "blur").exit_code == 0  # one given twice: written once
    names = sorted(p.name for p in (out / "blur" / "target").iterdir())
    assert len(names) == 2 and len(set(names)) == 2
    assert {_pixels(out / "blur" / "target" / n).tobytes() for n in names} == {_pixels(one).tobytes(), _pixels(two).tobytes()}


def test_a_missing_path_or_no_images_is_a_usage_error(tmp_path):
    result = _run(tmp_path / "nowhere", "--out", tmp_path / "out", "--kind", "rain")
    assert result.exit_code == 2 and "nowhere" in result.output and "Traceback" not in result.output
    (tmp_path / "empty").mkdir()
    result = _run(tmp_path / "empty", "--out", tmp_path / "out", "--kind", "rain")
    assert result.exit_code == 2 and "no images" in result.output
    assert _run(tmp_path / "empty", "--out", tmp_path / "out", "--kind", "fog").exit_code == 2


def test_a_failed_write_fails_that_kind_only(clean_folder, tmp_path):
    out = tmp_path / "out"
    (out / "haze").mkdir(parents=True)
    (out / "haze" / "input").write_text("a file where the folder should be")
    result = _run(clean_folder, "--out", out, "--kind", "all")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert sorted(p.name for p in (out / "rain" / "input").iterdir()) == ["img10.png", "img2.png", "more__img2.png"]
    rain = json.loads((out / "rain" / "manifest.json").read_text())
    assert len(rain["pairs"]) == 3 and not rain["failed"]
    haze = json.loads((out / "haze" / "manifest.json").read_text())
    assert not haze["pairs"] and len(haze["failed"]) == 3
