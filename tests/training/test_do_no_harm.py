"""What teaches a model to leave photos alone: clean pairs, lightened degradations, equalisation as restore does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from uir_cli.degrade import degrade, lighten
from uir_cli.errors import UsageError
from uir_cli.training.config import parse_mix
from uir_cli.training.plan import plan_data
from uir_cli.training.stream import TASK_IDS, Item, StreamSpec, TaskPool, TrainStream, colour_cast, scene_lines, LINE_MIN_LENGTH
from uir_cli.training.validation import build_val_set, evaluate

from tests.training.conftest import smooth_image, tiny_config


def _stream(photos, tasks, weights, **spec):
    items = tuple(Item(gt=str(p)) for p in sorted(photos.iterdir()))
    return TrainStream(StreamSpec(tuple(TaskPool(t, items) for t in tasks), weights, 32, 0, **spec))


def test_mix_takes_clean_beside_the_tasks():
    assert parse_mix("haze:2,clean:1,LOL:3") == {"haze": 2, "clean": 1, "low-light": 3}
    with pytest.raises(UsageError):
        parse_mix("cleaner:1")


def test_clean_samples_are_their_own_target(photos):
    stream = _stream(photos, ("clean",), (1,))
    for g in range(4):
        lq, gt, task, _ = stream[g]
        assert task == TASK_IDS["clean"] and torch.equal(lq, gt)


def test_the_plan_adds_a_clean_pool_from_the_photos_or_else_the_pair_targets(tmp_path, photos, pairs):
    plan = plan_data(tiny_config(tmp_path / "run", synthetic=[str(photos)], mix="haze:1,clean:1", tasks="haze"))
    assert plan.tasks == ("haze", "clean")
    clean = plan.pools[1]
    assert len(clean.items) == 3 and all(i.lq is None for i in clean.items)
    plan = plan_data(tiny_config(tmp_path / "run2", data=[f"{pairs}:haze"], mix="haze:1,clean:1"))
    assert plan.tasks == ("haze", "clean")
    assert sorted(i.gt for i in plan.pools[1].items) == sorted(str(p) for p in (pairs / "target").iterdir())
    # without clean in the mix nothing changes
    assert plan_data(tiny_config(tmp_path / "run3", data=[f"{pairs}:haze"])).tasks == ("haze",)


def test_lighten_is_the_same_composite_at_a_lower_strength():
    rng = np.random.default_rng(3)
    clean = smooth_image(rng, 48, 48).astype(np.float32) / 255.0
    hazy = degrade(clean, "haze", np.random.default_rng(4))
    assert np.array_equal(lighten(clean, hazy, 0.0), clean)
    assert np.allclose(lighten(clean, hazy, 1.0), hazy)
    half = lighten(clean, hazy, 0.5)
    err_full, err_half = np.abs(hazy - clean).mean(), np.abs(half - clean).mean()
    assert err_half == pytest.approx(err_full / 2, rel=0.02)


def test_light_share_makes_some_samples_lighter_and_zero_keeps_the_old_stream(photos):
    old = _stream(photos, ("rain",), (1,))
    same = _stream(photos, ("rain",), (1,), light_share=0.0)
    light = _stream(photos, ("rain",), (1,), light_share=1.0)
    errors_old, errors_light = [], []
    for g in range(12):
        lq, gt, _, _ = old[g]
        assert torch.equal(lq, same[g][0])
        errors_old.append(float((lq - gt).abs().mean()))
        lq_l, gt_l, _, _ = light[g]
        assert torch.equal(gt_l, gt)  # same crop: only the degradation's strength differs
        errors_light.append(float((lq_l - gt_l).abs().mean()))
    assert all(l <= o + 1e-6 for l, o in zip(errors_light, errors_old))
    assert np.mean(errors_light) < 0.8 * np.mean(errors_old)


def test_colour_cast_keeps_luma_and_moves_red_against_blue():
    rng = np.random.default_rng(3)
    grey = np.full((8, 8, 3), 0.5, np.float32)
    luma = np.array([0.299, 0.587, 0.114], np.float32)
    warm = cool = 0
    for _ in range(40):
        out = colour_cast(grey, rng)
        assert out.dtype == np.float32 and out.shape == grey.shape
        assert float(out[0, 0] @ luma) == pytest.approx(0.5, abs=1e-5)  # brightness kept
        r, g, b = out[0, 0]
        assert abs(np.log(r / b)) <= 0.6 + 1e-4 and abs(np.log(g / np.sqrt(r * b))) < 0.07  # within the stated ranges
        warm += r > b + 0.05
        cool += b > r + 0.05
    assert warm > 5 and cool > 5  # both directions drawn


def test_cast_share_casts_input_and_target_alike_and_zero_keeps_the_old_stream(photos):
    old = _stream(photos, ("rain", "clean"), (1, 1))
    same = _stream(photos, ("rain", "clean"), (1, 1), cast_share=0.0)
    cast = _stream(photos, ("rain", "clean"), (1, 1), cast_share=1.0)
    moved = 0
    for g in range(12):
        lq, gt, task, _ = old[g]
        assert torch.equal(lq, same[g][0]) and torch.equal(gt, same[g][1])
        lq_c, gt_c, task_c, _ = cast[g]
        assert task_c == task
        if task == TASK_IDS["clean"]:
            assert torch.equal(lq_c, gt_c)  # the cast is in the scene: kept in the target
        # the ratio of red to blue means changes in the target: the cast is there, not only in the input
        ratio = float(gt[0].mean() / gt[2].mean())
        ratio_c = float(gt_c[0].mean() / gt_c[2].mean())
        moved += abs(np.log(ratio_c / ratio)) > 0.02
    assert moved >= 8


def test_scene_lines_are_longer_than_any_rain_streak():
    import cv2

    rng = np.random.default_rng(0)
    grey = np.full((256, 256, 3), 0.5, np.float32)
    inner = 0
    for _ in range(30):
        out = scene_lines(grey, rng)
        assert out.dtype == np.float32 and out.shape == grey.shape and 0 <= out.min() and out.max() <= 1
        changed = (np.abs(out - grey).max(axis=2) > 0.002).astype(np.uint8)
        assert changed.any()
        assert changed.mean() < 0.6  # lines, not a repaint
        n, _, stats, _ = cv2.connectedComponentsWithStats(changed, connectivity=8)
        for x, y, bw, bh, _area in stats[1:n]:
            if x > 0 and y > 0 and x + bw < 256 and y + bh < 256:  # wholly inside the crop: its length shows
                inner += 1
                assert np.hypot(bw, bh) >= LINE_MIN_LENGTH - 3
    assert inner > 0  # the length check above ran


def test_lines_share_draws_lines_in_input_and_target_alike_and_zero_keeps_the_old_stream(photos):
    old = _stream(photos, ("rain", "clean"), (1, 1))
    same = _stream(photos, ("rain", "clean"), (1, 1), lines_share=0.0)
    lined = _stream(photos, ("rain", "clean"), (1, 1), lines_share=1.0)
    for g in range(8):
        lq, gt, task, _ = old[g]
        assert torch.equal(lq, same[g][0]) and torch.equal(gt, same[g][1])
        lq_l, gt_l, task_l, _ = lined[g]
        assert task_l == task and not torch.equal(gt_l, gt)  # the lines are in the target
        if task == TASK_IDS["clean"]:
            assert torch.equal(lq_l, gt_l)


def _dark_pairs(tmp_path, mean):
    folder = tmp_path / f"pairs{mean}"
    (folder / "input").mkdir(parents=True)
    (folder / "target").mkdir()
    rng = np.random.default_rng(5)
    gt = smooth_image(rng, 32, 32)  # the crop is the whole image
    lq = np.clip(gt.astype(np.float32) * (mean / max(gt.mean() / 255.0, 1e-3)), 0, 255).astype(np.uint8)
    Image.fromarray(gt).save(folder / "target" / "a.png")
    Image.fromarray(lq).save(folder / "input" / "a.png")
    return folder


@pytest.mark.parametrize("mean, equalised", [(0.1, True), (0.4, False)])
def test_auto_equalisation_follows_restore_not_the_task_label(tmp_path, mean, equalised):
    folder = _dark_pairs(tmp_path, mean)
    item = Item(gt=str(folder / "target" / "a.png"), lq=str(folder / "input" / "a.png"))
    for task in ("low-light", "haze"):
        stream = TrainStream(StreamSpec((TaskPool(task, (item,)),), (1,), 32, 0, equalize="auto"))
        lq = stream[0][0].numpy()
        stretched = bool(np.allclose(lq.reshape(3, -1).max(axis=1), 1.0, atol=1 / 255))
        assert stretched == equalised, (task, mean)
    # the authors' rule: every low-light input is equalised, a bright one too
    stream = TrainStream(StreamSpec((TaskPool("low-light", (item,)),), (1,), 32, 0, equalize="task"))
    assert np.allclose(stream[0][0].numpy().reshape(3, -1).max(axis=1), 1.0)


def test_validation_reports_a_clean_row_with_the_brightness_shift(photos):
    paths = [str(p) for p in sorted(photos.iterdir())]
    val = build_val_set([], paths, ("haze", "clean"), count=2, size=32)
    clean = next(t for t in val.tasks if t.task == "clean")
    assert torch.equal(clean.lq, clean.gt)

    class Darken(torch.nn.Module):  # predicts a residual that darkens everything by 0.1 (in [-1, 1] units)
        def forward(self, x_t, x_in, time):
            return torch.full_like(x_in, 0.1)

    scores = {s.task: s for s in evaluate(Darken(), val, device=torch.device("cpu"), steps=1)}
    assert scores["clean"].psnr_in == 100.0  # identical input: capped, not inf
    # x0 = x_in - residual: 0.1 in [-1, 1] is 0.05 of the range, about 12.75 levels
    assert scores["clean"].shift == pytest.approx(12.75, abs=1.0)
    assert scores["clean"].psnr_out < 40


def test_a_dark_clean_photo_is_never_equalised(tmp_path):
    folder = tmp_path / "dark"
    folder.mkdir()
    dark = (smooth_image(np.random.default_rng(2), 32, 32).astype(np.float32) * 0.15).astype(np.uint8)
    Image.fromarray(dark).save(folder / "night.png")
    stream = _stream(folder, ("clean",), (1,), equalize="auto")
    lq, gt, _, _ = stream[0]
    assert float(gt.mean()) < 0.2 and torch.equal(lq, gt)


def test_validation_never_equalises_a_dark_clean_photo(tmp_path):
    folder = tmp_path / "dark"
    folder.mkdir()
    dark = (smooth_image(np.random.default_rng(2), 32, 32).astype(np.float32) * 0.15).astype(np.uint8)
    Image.fromarray(dark).save(folder / "night.png")
    val = build_val_set([], [str(folder / "night.png")], ("clean",), count=1, size=32, equalize="auto")
    clean = val.tasks[0]
    assert torch.equal(clean.x_in, clean.gt)
