"""The batch engine's guarantees, at the engine level (no CLI)."""

import threading

import numpy as np
import pytest
from PIL import Image

from uir_cli.engine.batch import pipeline as batch_module
from uir_cli.engine.batch import BatchOptions, Events, plan_outputs, run_batch
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

    class StopAfterFirst(Events):
        def finished(self, result):
            stop.set()

    results = run_batch(restorer, todo, opts, StopAfterFirst(), stop)
    done = [r for r in results if r.status == "done"]
    assert 1 <= len(done) < 6
    out = tmp_path / "out"
    assert _left_behind(out) == [], "claims and temporary files must be gone"
    assert sorted(p.name for p in out.glob("*.png")) == sorted(r.output.rsplit("/", 1)[-1] for r in done)


def test_keyboard_interrupt_releases_claims(restorer, tmp_path):
    src = _folder(tmp_path, n=3)
    todo, opts = _todo(src, tmp_path / "out")

    class Interrupt(Events):
        def started(self, *a):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(restorer, todo, opts, Interrupt())
    assert _left_behind(tmp_path / "out") == []


def test_an_interrupt_keeps_the_results_of_the_files_done_before_it(restorer, tmp_path):
    src = _folder(tmp_path, n=4)
    todo, opts = _todo(src, tmp_path / "out", in_flight_pixels=1)  # one image at a time

    class InterruptSecond(Events):
        calls = 0

        def started(self, *a):
            InterruptSecond.calls += 1
            if InterruptSecond.calls == 2:
                raise KeyboardInterrupt

    results = []
    with pytest.raises(KeyboardInterrupt):
        run_batch(restorer, todo, opts, InterruptSecond(), results=results)
    assert [r.status for r in results] == ["done"]
    assert (tmp_path / "out" / results[0].output.rsplit("/", 1)[-1]).is_file()
    assert _left_behind(tmp_path / "out") == []
