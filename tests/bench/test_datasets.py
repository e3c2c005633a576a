"""Finding named benchmark sets in their published layouts, and pairing folders by name."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from uir_cli.bench import datasets
from uir_cli.bench.datasets import find_dataset, pair_folders
from uir_cli.errors import DatasetError, UsageError

def _png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (1, 1), (10, 20, 30)).save(buffer, format="PNG")
    return buffer.getvalue()


_PNG = _png_bytes()


def _touch(folder: Path, *names: str) -> None:
    """Write 1x1 images named ``names`` (the bytes are a PNG whatever the extension says)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / name).write_bytes(_PNG)


def _names(found: datasets.PairedSet) -> list[tuple[str, str]]:
    return [(p.input.name, p.target.name) for p in found.pairs]


# --- named datasets in each layout of the spec -------------------------------------------


@pytest.mark.parametrize(
    ("name", "input_rel", "target_rel"),
    [
        ("Rain100L", "Rain100L/input", "Rain100L/target"),
        ("Rain100H", "syn_rain/test/Rain100H/input", "syn_rain/test/Rain100H/target"),
        ("Test100", "test/Test100/input", "test/Test100/target"),
        ("Test1200", "Test1200/input", "Test1200/target"),
        ("Test2800", "syn_rain/test/Test2800/input", "syn_rain/test/Test2800/target"),
        ("GoPro", "GoPro/input", "GoPro/target"),
        ("HIDE", "Deblur/test/HIDE/input", "Deblur/test/HIDE/target"),
        ("RealBlur-J", "RealBlur_J/input", "RealBlur_J/target"),
        ("RealBlur-J", "Deblur/test/Reblur_J/input", "Deblur/test/Reblur_J/target"),
        ("RealBlur-R", "Deblur/test/RealBlur-R/input", "Deblur/test/RealBlur-R/target"),
        ("LOL", "LOL/eval15/low", "LOL/eval15/high"),
        ("LOL", "LOL/test/low", "LOL/test/high"),
        ("LOL", "LOL/low", "LOL/high"),
        ("Snow100K-S", "Snow100K/test/Snow100K-S/synthetic", "Snow100K/test/Snow100K-S/gt"),
        ("Snow100K-L", "Snow100K-L/synthetic", "Snow100K-L/gt"),
        ("SOTS-outdoor", "SOTS-outdoor/input", "SOTS-outdoor/target"),
    ],
)
def test_named_dataset_is_found_in_each_published_layout(tmp_path, name, input_rel, target_rel):
    _touch(tmp_path / input_rel, "1.png", "2.png")
    _touch(tmp_path / target_rel, "1.png", "2.png")
    found = find_dataset(name, tmp_path)
    assert found.name == name
    assert found.input_dir == tmp_path / input_rel and found.target_dir == tmp_path / target_rel
    assert _names(found) == [("1.png", "1.png"), ("2.png", "2.png")]
    assert found.task == datasets.NAMED[name].task
    assert any("found at" in note for note in found.notes)


def test_every_named_dataset_has_a_task_layouts_and_a_known_rule():
    assert datasets.dataset_names() == list(datasets.NAMED)
    assert {"Rain100L", "Test1200", "GoPro", "RealBlur-R", "LOL", "Snow100K-L", "SOTS-outdoor"} <= set(datasets.NAMED)
    for spec in datasets.NAMED.values():
        assert spec.task in {"rain", "haze", "snow", "blur", "low-light"}
        assert spec.layouts and spec.pairing in datasets.RULES


def test_first_layout_that_exists_wins(tmp_path):
    for rel in ("Rain100L", "syn_rain/test/Rain100L"):
        _touch(tmp_path / rel / "input", "a.png")
        _touch(tmp_path / rel / "target", "a.png")
    assert find_dataset("Rain100L", tmp_path).input_dir == tmp_path / "Rain100L" / "input"


def test_lol_prefers_test_then_eval15_and_says_where_it_was_found(tmp_path):
    _touch(tmp_path / "LOL/eval15/low", "1.png")
    _touch(tmp_path / "LOL/eval15/high", "1.png")
    found = find_dataset("LOL", tmp_path)
    assert found.task == "low-light"
    assert found.notes[0].startswith("LOL found at LOL/eval15/{low,high}")
    assert "1 pairs, commonly cited 15 (the LOL test set)" in found.notes


def test_rain_rule_pairs_rain_n_with_norain_n(tmp_path):
    _touch(tmp_path / "Rain100H/rainy", "rain-1.png", "rain-2.png", "rain-10.png")
    _touch(tmp_path / "Rain100H/norain", "norain-1.png", "norain-2.png", "norain-10.png")
    found = find_dataset("Rain100H", tmp_path)
    assert found.pairing == "rain"
    assert _names(found) == [("rain-1.png", "norain-1.png"), ("rain-2.png", "norain-2.png"), ("rain-10.png", "norain-10.png")]
    assert [p.name for p in found.pairs] == ["rain-1", "rain-2", "rain-10"]


def test_rain_rule_matches_norain_n_in_any_case(tmp_path):
    _touch(tmp_path / "lq", "Rain-1.png", "rain-2.png", "RAIN-3.png")
    _touch(tmp_path / "gt", "NoRain-1.png", "norain-2.png", "NORAIN-3.png")
    found = pair_folders(tmp_path / "lq", tmp_path / "gt", rule="rain")
    assert _names(found) == [("Rain-1.png", "NoRain-1.png"), ("rain-2.png", "norain-2.png"), ("RAIN-3.png", "NORAIN-3.png")]
    assert "3 pair(s) matched rain-N with norain-N" in found.notes


@pytest.mark.parametrize("base", ["RESIDE/SOTS/outdoor", "SOTS/outdoor"])
def test_sots_pairs_several_hazy_inputs_with_one_clean_target(tmp_path, base):
    _touch(tmp_path / base / "hazy", "0001_0.8_0.2.jpg", "0001_0.9_0.1.jpg", "0002_0.8_0.2.jpg")
    _touch(tmp_path / base / "gt", "0001.png", "0002.png")
    found = find_dataset("sots-outdoor", tmp_path)
    assert found.task == "haze" and found.pairing == "sots"
    assert _names(found) == [
        ("0001_0.8_0.2.jpg", "0001.png"),
        ("0001_0.9_0.1.jpg", "0001.png"),
        ("0002_0.8_0.2.jpg", "0002.png"),
    ]
    assert "3 inputs share 2 targets" in found.notes
    assert "3 pairs, commonly cited 500" in found.notes
    assert any("MATLAB" in note for note in found.notes)


def test_count_differing_from_the_cited_size_is_noted_not_fatal(tmp_path):
    names = [f"{i}.png" for i in range(1, 99)]
    _touch(tmp_path / "Test100/input", *names)
    _touch(tmp_path / "Test100/target", *names)
    found = find_dataset("Test100", tmp_path)
    assert len(found.pairs) == 98
    assert "98 pairs, commonly cited 100 (some copies have 98)" in found.notes


def test_matching_size_adds_no_count_note(tmp_path):
    names = [f"{i}.png" for i in range(15)]
    _touch(tmp_path / "LOL/low", *names)
    _touch(tmp_path / "LOL/high", *names)
    assert not any("commonly cited" in note for note in find_dataset("LOL", tmp_path).notes)


@pytest.mark.parametrize("spelling", ["rain100l", "RAIN100L", "Rain100L", "rain_100l"])
def test_dataset_names_are_case_insensitive(tmp_path, spelling):
    _touch(tmp_path / "Rain100L/input", "1.png")
    _touch(tmp_path / "Rain100L/target", "1.png")
    assert find_dataset(spelling, tmp_path).name == "Rain100L"


def test_folder_spelling_on_disk_may_differ_in_case(tmp_path):
    _touch(tmp_path / "rain100l/Input", "1.png")
    _touch(tmp_path / "rain100l/Target", "1.png")
    assert find_dataset("Rain100L", tmp_path).input_dir == tmp_path / "rain100l" / "Input"


def test_missing_dataset_error_lists_every_path_tried(tmp_path):
    _touch(tmp_path / "Snow100K-S/synthetic", "1.png")  # half a layout
    with pytest.raises(DatasetError) as caught:
        find_dataset("Snow100K-S", tmp_path)
    message = str(caught.value)
    assert str(tmp_path) in message
    assert "Snow100K/test/Snow100K-S/{synthetic,gt}" in message and "Snow100K-S/{synthetic,gt}" in message
    assert "Snow100K-S/synthetic exists but Snow100K-S/gt does not" in message
    assert "\n" not in message

    with pytest.raises(DatasetError) as caught:
        find_dataset("RealBlur-J", tmp_path)
    for tried in ("RealBlur-J/{input,target}", "RealBlur_J/{input,target}", "Deblur/test/Reblur_J/{input,target}"):
        assert tried in str(caught.value)


def test_unknown_name_and_missing_root_raise(tmp_path):
    with pytest.raises(DatasetError, match="unknown dataset 'Rain200'") as caught:
        find_dataset("Rain200", tmp_path)
    assert "Rain100L" in str(caught.value)
    with pytest.raises(DatasetError, match="not a folder"):
        find_dataset("Rain100L", tmp_path / "nowhere")


# --- custom folders -------------------------------------------------------------------------


def test_same_name_pairs_across_extensions_in_natural_order(tmp_path):
    _touch(tmp_path / "lq", "10.png", "2.png", "1.jpg", "img9.bmp", "img10.webp")
    _touch(tmp_path / "gt", "1.png", "2.tif", "10.jpeg", "img9.png", "img10.png")
    found = pair_folders(tmp_path / "lq", tmp_path / "gt")
    assert found.name == "custom" and found.task == "auto" and found.pairing == "same-name"
    assert _names(found) == [
        ("1.jpg", "1.png"),
        ("2.png", "2.tif"),
        ("10.png", "10.jpeg"),
        ("img9.bmp", "img9.png"),
        ("img10.webp", "img10.png"),
    ]


def test_hidden_and_non_image_files_are_skipped(tmp_path):
    _touch(tmp_path / "lq", "1.png", ".2.png")
    _touch(tmp_path / "gt", "1.png")
    (tmp_path / "lq" / "notes.txt").write_text("hi")
    (tmp_path / "lq" / "sub.png").mkdir()
    found = pair_folders(tmp_path / "lq", tmp_path / "gt")
    assert _names(found) == [("1.png", "1.png")]
    assert any("skipped 1 non-image file" in note for note in found.notes)


def test_unmatched_inputs_raise_naming_the_file_and_count(tmp_path):
    _touch(tmp_path / "lq", "1.png", "2.png", "3.png")
    _touch(tmp_path / "gt", "1.png", "2.png")
    with pytest.raises(DatasetError, match=r"1 of 3 inputs have no target .*\(3\.png\)") as caught:
        pair_folders(tmp_path / "lq", tmp_path / "gt")
    assert caught.value.path == tmp_path / "lq"


def test_unmatched_targets_raise_too_never_pairing_by_position(tmp_path):
    _touch(tmp_path / "lq", "a.png")
    _touch(tmp_path / "gt", "a.png", "b.png", *[f"extra{i}.png" for i in range(7)])
    with pytest.raises(DatasetError) as caught:
        pair_folders(tmp_path / "lq", tmp_path / "gt")
    message = str(caught.value)
    assert "8 of 9 targets have no input" in message and "b.png" in message and "(3 more)" in message
    assert caught.value.path == tmp_path / "gt"

    _touch(tmp_path / "lq2", "x.png")
    _touch(tmp_path / "gt2", "y.png")
    with pytest.raises(DatasetError, match="x.png.*y.png"):
        pair_folders(tmp_path / "lq2", tmp_path / "gt2")


def test_empty_folder_duplicate_stem_and_bad_rule_raise(tmp_path):
    (tmp_path / "empty").mkdir()
    _touch(tmp_path / "gt", "1.png")
    with pytest.raises(DatasetError, match="no images") as caught:
        pair_folders(tmp_path / "empty", tmp_path / "gt")
    assert caught.value.path == tmp_path / "empty"

    _touch(tmp_path / "dup", "a.png", "a.jpg")
    with pytest.raises(DatasetError, match="share the name 'a'"):
        pair_folders(tmp_path / "dup", tmp_path / "gt")

    with pytest.raises(DatasetError, match="not a folder"):
        pair_folders(tmp_path / "missing", tmp_path / "gt")
    with pytest.raises(UsageError, match="unknown pairing rule"):
        pair_folders(tmp_path / "gt", tmp_path / "gt", rule="by-position")


def test_same_name_rule_does_not_apply_the_rain_renaming(tmp_path):
    _touch(tmp_path / "lq", "rain-1.png")
    _touch(tmp_path / "gt", "norain-1.png")
    with pytest.raises(DatasetError, match="rain-1.png"):
        pair_folders(tmp_path / "lq", tmp_path / "gt")
    assert len(pair_folders(tmp_path / "lq", tmp_path / "gt", rule="rain").pairs) == 1
