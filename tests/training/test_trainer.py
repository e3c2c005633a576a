"""Training end to end on a tiny model: it learns, and a resumed run equals an uninterrupted one."""

from __future__ import annotations

import numpy as np
import torch

from tests.training.conftest import tiny_config
from uir_cli.training.logs import read_train_csv
from uir_cli.training.trainer import train


def test_a_tiny_model_overfits_a_tiny_set(tmp_path, pairs):
    config = tiny_config(tmp_path / "run", data=[f"{pairs}:haze"], steps=30, lr=2e-3)
    finished = train(config)
    losses = [row.loss for row in read_train_csv(tmp_path / "run" / "train.csv")]
    assert len(losses) == 30 and finished.step == 30
    assert np.mean(losses[-5:]) < 0.5 * np.mean(losses[:5])


def _state(run):
    return torch.load(run / "model-last.pt", map_location="cpu", weights_only=True)


def test_resume_reproduces_an_uninterrupted_run_exactly(tmp_path, pairs, photos):
    common = dict(data=[f"{pairs}:haze"], synthetic=[str(photos)], tasks="haze,rain,low-light", accumulate=2,
                  ema_every=1, ema_after=1, save_every=1000)
    straight = tiny_config(tmp_path / "straight", steps=6, **common)
    train(straight)
    first = tiny_config(tmp_path / "split", steps=3, **common)
    train(first)
    train(tiny_config(tmp_path / "split", steps=6, **common), resume=True)

    a, b = _state(tmp_path / "straight"), _state(tmp_path / "split")
    assert a["step"] == b["step"] == 6
    for key in a["model"]:
        assert torch.equal(a["model"][key], b["model"][key]), key
    for key in a["ema"]:
        assert torch.equal(a["ema"][key], b["ema"][key]), key
    for index, state in a["opt0"]["state"].items():
        for name, value in state.items():
            assert torch.equal(value, b["opt0"]["state"][index][name]), (index, name)
    rows_a = read_train_csv(tmp_path / "straight" / "train.csv")
    rows_b = read_train_csv(tmp_path / "split" / "train.csv")
    assert [r.step for r in rows_b] == list(range(1, 7))
    assert [r.loss for r in rows_a] == [r.loss for r in rows_b]


def test_validation_logs_every_task_and_plots_are_written(tmp_path, pairs, photos):
    from PIL import Image

    config = tiny_config(tmp_path / "run", data=[f"{pairs}:haze"], synthetic=[str(photos)], val=[f"{pairs}:haze"],
                         val_synthetic=[str(photos)], tasks="haze,blur", steps=2, val_every=1, val_count=2, val_size=32)
    seen = []
    train(config, progress=seen.append)
    from uir_cli.training.events import Validated
    from uir_cli.training.logs import read_val_csv

    rows = read_val_csv(tmp_path / "run" / "val.csv")
    groups = ["haze", "haze-synthetic", "blur"]
    assert [(r.step, r.score.task) for r in rows] == [(1, g) for g in groups] + [(2, g) for g in groups]
    # the fixed set gives the same input scores at every validation
    assert rows[0].score.psnr_in == rows[3].score.psnr_in and rows[0].score.psnr_in > 5
    assert sum(isinstance(e, Validated) for e in seen) == 2
    for name in ("loss.png", "val.png"):
        with Image.open(tmp_path / "run" / name) as im:
            assert im.size == (960, 560) and len(np.unique(np.asarray(im.convert("L")))) > 10


def test_without_matplotlib_the_run_says_so_once_and_goes_on(tmp_path, pairs, monkeypatch):
    from uir_cli.training import plots
    from uir_cli.training.events import Warned

    monkeypatch.setattr(plots, "available", lambda: False)
    seen = []
    config = tiny_config(tmp_path / "run", data=[f"{pairs}:haze"], steps=2, save_every=1)
    finished = train(config, progress=seen.append)
    said = [e.message for e in seen if isinstance(e, Warned) and "matplotlib" in e.message]
    assert len(said) == 1 and "uir-cli[plots]" in said[0]
    assert finished.step == 2 and finished.plots == ()
    assert not (tmp_path / "run" / "loss.png").exists()


def test_tensorboard_logs_the_loss(tmp_path, pairs):
    config = tiny_config(tmp_path / "run", data=[f"{pairs}:haze"], steps=2)
    train(config, tensorboard=True)
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(tmp_path / "run" / "tensorboard"))
    events.Reload()
    assert [e.step for e in events.Scalars("train/loss")] == [1, 2]
