"""Finding paired training data in the layouts users have, and the task each holds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from uir_cli.errors import DatasetError, UsageError
from uir_cli.training.sources import discover_pairs, infer_task, list_photos


def _pair_dirs(root: Path, lq: str, gt: str, names=("1", "2")) -> None:
    for sub, stems in ((lq, names), (gt, names)):
        (root / sub).mkdir(parents=True, exist_ok=True)
        for stem in stems:
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(root / sub / f"{stem}.png")


def test_folder_names_give_the_task(tmp_path):
    _pair_dirs(tmp_path / "lol", "low", "high")
    (src,) = discover_pairs(str(tmp_path / "lol"))
    assert src.task == "low-light" and len(src.pairs) == 2
    assert src.pairs[0][0].endswith("low/1.png") and src.pairs[0][1].endswith("high/1.png")


def test_an_explicit_task_wins_and_input_target_needs_one(tmp_path):
    _pair_dirs(tmp_path / "mine", "input", "target")
    with pytest.raises(UsageError, match="DIR|:TASK"):
        discover_pairs(str(tmp_path / "mine"))
    (src,) = discover_pairs(f"{tmp_path / 'mine'}:blur")
    assert src.task == "blur"
    assert infer_task(tmp_path / "Rain100H") == "rain" and infer_task(tmp_path / "GoPro") == "blur"


def test_the_authors_training_layout_gives_every_task_it_holds(tmp_path):
    _pair_dirs(tmp_path / "syn_rain" / "train", "input", "target")
    _pair_dirs(tmp_path / "LOL" / "our485", "low", "high")
    haze = tmp_path / "RESIDE" / "OTS_ALPHA"
    _pair_dirs(haze, "haze/OTS", "clear/clear_images", names=())
    for stem in ("0001", "0002"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(haze / "clear" / "clear_images" / f"{stem}.jpg")
        for beta in ("0.8_0.2", "0.9_0.1"):
            Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(haze / "haze" / "OTS" / f"{stem}_{beta}.jpg")
    found = {s.task: len(s.pairs) for s in discover_pairs(str(tmp_path))}
    assert found == {"rain": 2, "low-light": 2, "haze": 4}
    assert {s.task for s in discover_pairs(f"{tmp_path}:haze")} == {"haze"}


def test_a_split_folder_one_level_down_is_found(tmp_path):
    _pair_dirs(tmp_path / "Snow100K" / "train", "synthetic", "gt")
    assert [s.task for s in discover_pairs(str(tmp_path / "Snow100K"))] == ["snow"]


def test_folders_without_pairs_fail_with_one_clear_line(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="no training pairs found"):
        discover_pairs(str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="no such folder"):
        discover_pairs(str(tmp_path / "missing"))
    _pair_dirs(tmp_path / "odd", "input", "target")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "odd" / "input" / "3.png")
    with pytest.raises(DatasetError, match="no target"):
        discover_pairs(f"{tmp_path / 'odd'}:rain")


def test_photos_are_listed_recursively_and_hidden_files_skipped(tmp_path):
    _pair_dirs(tmp_path / "p", "a", "b/c")
    (tmp_path / "p" / ".hidden").mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "p" / ".hidden" / "x.png")
    assert len(list_photos(tmp_path / "p").photos) == 4
    with pytest.raises(DatasetError):
        list_photos(tmp_path / "p" / ".hidden" / "none")
