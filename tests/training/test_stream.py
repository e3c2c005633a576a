"""The sample stream: the authors' task mix in every batch, and samples that depend only on (seed, index)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import torch

from uir_cli.training.stream import TASK_IDS, Item, MicroBatches, StreamSpec, TaskPool, TrainStream, make_loader, mix_pattern


def _stream(photos, seed=0, crop=32, tasks=("haze", "low-light", "rain", "snow", "blur"), weights=(4, 1, 2, 2, 1)):
    items = tuple(Item(gt=str(p)) for p in sorted(photos.iterdir()))
    return TrainStream(StreamSpec(tuple(TaskPool(t, items) for t in tasks), weights, crop, seed))


def test_every_batch_of_ten_holds_the_authors_mix():
    pattern = mix_pattern((4, 1, 2, 2, 1))
    assert Counter(pattern) == {0: 4, 1: 1, 2: 2, 3: 2, 4: 1}
    assert Counter(mix_pattern((1, 3))) == {0: 1, 1: 3}
    # consecutive slots spread the tasks out: haze never comes three times in a row
    assert all(pattern[i : i + 3] != (0, 0, 0) for i in range(len(pattern) - 2))


def test_batches_mix_tasks_and_ranks_take_turns(photos):
    stream = _stream(photos)
    tasks = [stream[g][2] for g in range(10)]
    assert Counter(tasks) == {TASK_IDS["haze"]: 4, TASK_IDS["low-light"]: 1, TASK_IDS["rain"]: 2, TASK_IDS["snow"]: 2, TASK_IDS["blur"]: 1}
    first = iter(MicroBatches(3, start=2, rank=1, world=2))
    assert next(first) == [15, 16, 17] and next(first) == [21, 22, 23]


def test_a_sample_is_a_pure_function_of_seed_and_index(photos):
    a, b = _stream(photos), _stream(photos)
    for g in (0, 7, 1234):
        for x, y in zip(a[g][:2], b[g][:2]):
            assert torch.equal(x, y)
    assert not torch.equal(a[5][0], _stream(photos, seed=1)[5][0])
    lq, gt, task, skipped = a[3]
    assert lq.shape == gt.shape == (3, 32, 32) and lq.dtype == torch.float32 and skipped == ()
    assert 0.0 <= float(lq.min()) and float(lq.max()) <= 1.0


def test_epochs_visit_every_image_once(photos):
    stream = _stream(photos, tasks=("rain",), weights=(1,))
    picks = [stream.locate(g) for g in range(6)]
    assert [(p, e) for p, e, _ in picks] == [(0, 0)] * 3 + [(0, 1)] * 3
    assert sorted(pos for _, _, pos in picks[:3]) == [0, 1, 2]


def test_low_light_inputs_are_histogram_equalised(photos):
    stream = _stream(photos, tasks=("low-light",), weights=(1,))
    lq = stream[0][0].numpy()
    # equalisation stretches every channel to the full range; the darkened input alone would stay dim
    assert np.allclose(lq.reshape(3, -1).max(axis=1), 1.0)


def test_workers_give_the_same_batches_as_the_main_process(photos):
    stream = _stream(photos)
    plain = iter(make_loader(stream, 4, start_micro=3, rank=0, world=1, workers=0, pin=False))
    pooled = iter(make_loader(_stream(photos), 4, start_micro=3, rank=0, world=1, workers=2, pin=False))
    try:
        for _ in range(3):
            a, b = next(plain), next(pooled)
            assert torch.equal(a.lq, b.lq) and torch.equal(a.gt, b.gt) and torch.equal(a.tasks, b.tasks)
    finally:
        pooled._shutdown_workers()  # no worker may outlive the test


def test_an_unreadable_image_is_skipped_with_its_reason(photos):
    (photos / "photo1.png").write_bytes(b"not a png")
    stream = _stream(photos, tasks=("rain",), weights=(1,))
    samples = [stream[g] for g in range(6)]
    reasons = [r for s in samples for r in s[3]]
    assert len(reasons) == 1 and "photo1.png" in reasons[0]
    assert all(s[0].shape == (3, 32, 32) for s in samples)
