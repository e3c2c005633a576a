"""The batch engine's guarantees, at the engine level (no CLI)."""

import threading

import numpy as np
import pytest
from PIL import Image

from uir_cli.engine.batch import pipeline as batch_module
from uir_cli.engine.batch import BatchOptions, plan_outputs, run_batch
from uir_cli.engine.batch.events import FileFinished
from uir_cli.engine.events import ImageStarted
from uir_cli.engine.batch.inputs import discover
from uir_cli.engine.restorer import load_restorer


@pytest.fixture
def restorer(tiny_weights):
    return load_restorer(tiny_weights, device="cpu", precision="fp32")


def _folder(tmp_path, n=4, size=(24, 20)):
    src = tmp_path / "in"
    src.mkdir()
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(src / f"{i}.png")
    return src


def _todo(src, out, **kw):
    opts = BatchOptions(out_dir=out, **kw)
    items, missing = discover([src])
    todo, known = plan_outputs(items, missing, opts)
    return todo, opts


def _left_behind(out):
    return sorted(p.name for p in out.rglob(".*") if p.is_file())


def test_a_tiny_in_flight_limit_still_finishes_every_file(restorer, tmp_path):
    src = _folder(tmp_path)
    todo, opts = _todo(src, tmp_path / "out", in_flight_pixels=1)  # each image alone
    results = run_batch(restorer, todo, opts)
    assert sorted(r.status for r in results) == ["done"] * 4
    assert _left_behind(tmp_path / "out") == []


def test_an_unexpected_encoder_error_fails_that_file_only(restorer, tmp_path, monkeypatch):
    src = _folder(tmp_path)
    real = batch_module.write_like

    def flaky(path, *a, **kw):
        if path.name == "2.png":
            raise MemoryError("simulated")
        return real(path, *a, **kw)

    monkeypatch.setattr(batch_module, "write_like", flaky)
    todo, opts = _todo(src, tmp_path / "out")
    results = {r.input.rsplit("/", 1)[-1]: r for r in run_batch(restorer, todo, opts)}
    assert results["2.png"].status == "failed" and "MemoryError" in results["2.png"].reason
    assert [results[f"{i}.png"].status for i in (0, 1, 3)] == ["done"] * 3
    assert _left_behind(tmp_path / "out") == []


def test_stopping_mid_run_leaves_no_claim_and_no_partial_file(restorer, tmp_path):
    src = _folder(tmp_path, n=6)
    todo, opts = _todo(src, tmp_path / "out")
    stop = threading.Event()

    def stop_after_first(event):
        if isinstance(event, FileFinished):
            stop.set()

    results = run_batch(restorer, todo, opts, stop_after_first, stop)
    done = [r for r in results if r.status == "done"]
    assert 1 <= len(done) < 6
    out = tmp_path / "out"
    assert _left_behind(out) == [], "claims and temporary files must be gone"
    assert sorted(p.name for p in out.glob("*.png")) == sorted(r.output.rsplit("/", 1)[-1] for r in done)


def test_keyboard_interrupt_releases_claims(restorer, tmp_path):
    src = _folder(tmp_path, n=3)
    todo, opts = _todo(src, tmp_path / "out")

    def interrupt(event):
        if isinstance(event, ImageStarted):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(restorer, todo, opts, interrupt)
    assert _left_behind(tmp_path / "out") == []


def test_an_interrupt_keeps_the_results_of_the_files_done_before_it(restorer, tmp_path):
    src = _folder(tmp_path, n=4)
    todo, opts = _todo(src, tmp_path / "out", in_flight_pixels=1)  # one image at a time

    started = []

    def interrupt_second(event):
        if isinstance(event, ImageStarted):
            started.append(event.name)
            if len(started) == 2:
                raise KeyboardInterrupt

    results = []
    with pytest.raises(KeyboardInterrupt):
        run_batch(restorer, todo, opts, interrupt_second, results=results)
    assert [r.status for r in results] == ["done"]
    assert (tmp_path / "out" / results[0].output.rsplit("/", 1)[-1]).is_file()
    assert _left_behind(tmp_path / "out") == []


def test_the_run_reports_typed_events_in_order(restorer, tmp_path):
    from uir_cli.engine.batch.events import Planned
    from uir_cli.engine.events import TilesDone

    src = _folder(tmp_path, n=2)
    opts = BatchOptions(out_dir=tmp_path / "out", in_flight_pixels=1)
    items, missing = discover([src, str(tmp_path / "nothere.png")])
    todo, known = plan_outputs(items, missing, opts)
    events = []
    run_batch(restorer, todo, opts, events.append, known=known)
    kinds = [type(e).__name__ for e in events]
    assert kinds[:2] == ["FileFinished", "Planned"] and events[1] == Planned(2, 0, 1)
    assert events[0].result.status == "failed"  # the missing input, decided before the run
    started = [e for e in events if isinstance(e, ImageStarted)]
    assert [e.name for e in started] == [str(src / "0.png"), str(src / "1.png")] and started[0].tiles == 1
    assert sum(e.count for e in events if isinstance(e, TilesDone)) == 2 * opts.steps  # one tile, every step
    assert sum(isinstance(e, FileFinished) and e.result.status == "done" for e in events) == 2
