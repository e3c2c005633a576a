"""`uir restore` as a user sees it: folders, names, skips, failures, formats, reports, exit codes."""

import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from uir_cli.cli.app import app
from uir_cli.engine.batch.locks import OutputClaim

runner = CliRunner()


def _img(path, size=(40, 24), mode="RGB", seed=0, **save):
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8)
    Image.fromarray(arr[..., 0] if channels == 1 else arr, mode).save(path, **save)
    return path


def _run(*args, weights):
    result = runner.invoke(app, ["restore", *map(str, args), "--weights", str(weights), "--device", "cpu"])
    return result


def _files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())


def test_folders_are_mirrored_and_hidden_and_non_images_skipped(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "a.png")
    _img(src / "sub" / "b.jpg")
    _img(src / "sub" / "deeper" / "c.webp")
    _img(src / ".hidden.png")
    _img(src / ".cache" / "d.png")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    result = _run(src, "--out", out, weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert _files(out) == ["a.png", "sub/b.jpg", "sub/deeper/c.webp"]
    assert "3 done, 0 skipped, 0 failed" in result.output


def test_existing_outputs_are_skipped_before_decoding(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "good.png")
    (src / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    out = tmp_path / "out"
    out.mkdir()
    (out / "broken.png").write_bytes(b"already done")  # a finished output: the broken input is never read
    result = _run(src, "--out", out, weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert "1 done, 1 skipped, 0 failed" in result.output
    assert (out / "broken.png").read_bytes() == b"already done"


def test_bad_inputs_fail_alone_with_one_line_each(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "ok1.png")
    good = _img(tmp_path / "full.png", size=(64, 64))
    (src / "truncated.png").write_bytes(good.read_bytes()[:200])
    (src / "empty.jpg").write_bytes(b"")
    (src / "text.png").write_text("hello")
    _img(src / "huge.png", size=(100, 100))
    _img(src / "ok2.png")
    out = tmp_path / "out"
    result = _run(src, tmp_path / "missing.png", "--out", out, "--max-pixels", 5000, weights=tiny_weights)
    assert result.exit_code == 1
    assert _files(out) == ["ok1.png", "ok2.png"]
    failed = [ln for ln in result.output.splitlines() if ln.startswith("failed")]
    assert len(failed) == 5, result.output
    for name in ("truncated.png", "empty.jpg", "text.png", "huge.png", "missing.png"):
        assert sum(name in ln for ln in failed) == 1, name
    assert "more than the limit of 5,000 (--max-pixels)" in result.output
    assert "Traceback" not in result.output


def test_an_output_never_overwrites_an_input(tiny_weights, tmp_path):
    src = tmp_path / "photos"
    _img(src / "a.png")
    before = (src / "a.png").read_bytes()
    result = _run(src, "--out", src, weights=tiny_weights)
    assert result.exit_code == 1 and "overwrite an input" in result.output
    assert (src / "a.png").read_bytes() == before
    result = _run(src, "--out", src, "--suffix", "_restored", weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert (src / "a_restored.png").is_file()
    again = _run(src, "--out", src, "--suffix", "_restored", weights=tiny_weights)
    assert again.exit_code == 0, again.output
    assert _files(src) == ["a.png", "a_restored.png"], "a previous output must not be taken as a new input"


def test_an_output_folder_inside_the_input_folder_is_not_read_back(tiny_weights, tmp_path):
    src = tmp_path / "photos"
    _img(src / "a.png")
    out = src / "restored"
    assert _run(src, "--out", out, weights=tiny_weights).exit_code == 0
    second = _run(src, "--out", out, weights=tiny_weights)
    assert second.exit_code == 0 and "0 done, 1 skipped" in second.output
    assert _files(out) == ["a.png"]


def test_formats_suffix_alpha_and_sixteen_bits(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "rgba.png", mode="RGBA")
    deep = np.random.default_rng(1).integers(0, 65536, (24, 40, 3), dtype=np.uint16)
    import cv2

    cv2.imwrite(str(src / "deep.png"), deep)
    out = tmp_path / "out"
    assert _run(src, "--out", out, weights=tiny_weights).exit_code == 0
    with Image.open(src / "rgba.png") as a, Image.open(out / "rgba.png") as b:
        assert b.mode == "RGBA"
        assert np.array_equal(np.asarray(a)[..., 3], np.asarray(b)[..., 3]), "alpha must pass through untouched"
    assert cv2.imread(str(out / "deep.png"), cv2.IMREAD_UNCHANGED).dtype == np.uint16
    jpg = tmp_path / "jpg"
    result = _run(src, "--out", jpg, "--format", "jpg", "--suffix", "_r", "--quality", 80, weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert _files(jpg) == ["deep_r.jpg", "rgba_r.jpg"]


def test_same_seed_same_picture_for_any_batch_size(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(3):
        _img(src / f"{i}.png", size=(48, 40), seed=i)
    outs = []
    for batch in ("1", "3"):
        out = tmp_path / f"out{batch}"
        assert _run(src, "--out", out, "--tile", "32", "--tile-overlap", "8", "--batch-size", batch, weights=tiny_weights).exit_code == 0
        outs.append([np.asarray(Image.open(out / f"{i}.png")).astype(int) for i in range(3)])
    for a, b in zip(*outs):
        assert np.abs(a - b).max() <= 1


def test_report_records_every_file_and_the_weights(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "a.png")
    (src / "b.png").write_text("nope")
    rep = tmp_path / "r.json"
    result = _run(src, "--out", tmp_path / "out", "--report", rep, weights=tiny_weights)
    assert result.exit_code == 1
    data = json.loads(rep.read_text())
    status = {os.path.basename(f["input"]): f["status"] for f in data["files"]}
    assert status == {"a.png": "done", "b.png": "failed"}
    assert data["model"]["sha256"] and data["model"]["variant"] == "custom"
    assert data["summary"]["done"] == 1 and data["summary"]["failed"] == 1
    assert data["environment"]["uir_version"] and data["settings"]["steps"] == 3


def test_a_claimed_file_is_waited_for_and_left_to_the_run_that_finishes_it(tiny_weights, tmp_path, monkeypatch):
    from uir_cli.cli.progress import PlainRestoreRenderer

    src = tmp_path / "in"
    _img(src / "a.png")
    _img(src / "b.png")
    out = tmp_path / "out"
    claim = OutputClaim(out / "a.png")
    assert claim.acquire()
    waited = []

    def other_run_finishes(self, event):  # the holder writes its output and lets go while we wait
        waited.append(event.count)
        (out / "a.png").write_bytes(b"written by the other run")
        claim.release()

    monkeypatch.setattr(PlainRestoreRenderer, "waiting", other_run_finishes)
    try:
        result = _run(src, "--out", out, "-v", weights=tiny_weights)
    finally:
        claim.release()
    assert result.exit_code == 0, result.output
    assert waited == [1]
    assert (out / "a.png").read_bytes() == b"written by the other run"
    assert "output exists (written by another uir run)" in result.output


def test_shards_split_the_work_without_overlap(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(8):
        _img(src / f"{i}.png", size=(16, 16), seed=i)
    done = []
    for k in (1, 2, 3):
        out = tmp_path / f"out{k}"
        assert _run(src, "--out", out, "--shard", f"{k}/3", weights=tiny_weights).exit_code == 0
        done.append(set(_files(out)) if out.exists() else set())
    assert set().union(*done) == {f"{i}.png" for i in range(8)}
    assert sum(len(d) for d in done) == 8
    assert _run(src, "--out", tmp_path / "x", "--shard", "4/3", weights=tiny_weights).exit_code == 2


def test_usage_errors_exit_2_and_bad_weights_exit_3(tiny_weights, tmp_path):
    img = _img(tmp_path / "a.png")
    assert _run(img, "--out", tmp_path / "o", "--tile", "big", weights=tiny_weights).exit_code == 2
    no_gpu = runner.invoke(app, ["restore", str(img), "--out", str(tmp_path / "o"), "--weights", str(tiny_weights), "--device", "cuda:7"])
    assert no_gpu.exit_code == 3 and "cuda" in no_gpu.output.lower()
    bad = tmp_path / "w.pt"
    bad.write_bytes(b"junk")
    assert _run(img, "--out", tmp_path / "o", weights=bad).exit_code == 3


def _cli(*args, env=None, **kw):
    return subprocess.run([sys.executable, "-m", "uir_cli", *map(str, args)], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, **kw)


def test_two_runs_at_once_never_do_the_same_file(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(10):
        _img(src / f"{i}.png", size=(64, 48), seed=i)
    out = tmp_path / "out"
    procs = [
        subprocess.Popen([sys.executable, "-m", "uir_cli", "restore", str(src), "--out", str(out), "--weights", str(tiny_weights),
                          "--device", "cpu", "--report", str(tmp_path / f"r{i}.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        for i in range(2)
    ]
    for p in procs:
        p.communicate(timeout=300)
        assert p.returncode == 0
    done = [{f["input"] for f in json.loads((tmp_path / f"r{i}.json").read_text())["files"] if f["status"] == "done"} for i in range(2)]
    assert not (done[0] & done[1]), "a file was restored twice"
    assert len(done[0] | done[1]) == 10
    assert _files(out) == sorted(f"{i}.png" for i in range(10))


def test_a_killed_run_leaves_no_partial_output_and_the_next_run_finishes(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(6):
        _img(src / f"{i}.png", size=(96, 96), seed=i)
    out = tmp_path / "out"
    p = subprocess.Popen([sys.executable, "-m", "uir_cli", "restore", str(src), "--out", str(out), "--weights", str(tiny_weights),
                          "--device", "cpu"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and not (out.exists() and any(out.glob("*.png"))):
        time.sleep(0.05)
    p.kill()
    p.wait()
    for f in out.glob("*.png"):  # whatever exists is complete
        with Image.open(f) as im:
            im.load()
    result = _cli("restore", src, "--out", out, "--weights", tiny_weights, "--device", "cpu")
    assert result.returncode == 0, result.stderr
    assert _files(out) == sorted(f"{i}.png" for i in range(6)), "no lock or partial file may remain"


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun is not installed")
def test_under_torchrun_each_rank_takes_its_own_share(tiny_weights, tmp_path):
    src = tmp_path / "in"
    for i in range(6):
        _img(src / f"{i}.png", size=(16, 16), seed=i)
    out = tmp_path / "out"
    result = subprocess.run(["torchrun", "--standalone", "--nproc_per_node", "2", "-m", "uir_cli", "restore", str(src),
                             "--out", str(out), "--weights", str(tiny_weights), "--device", "auto", "--report", str(tmp_path / "r.json")],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    reports = [json.loads((tmp_path / f"r.rank{r}.json").read_text()) for r in (0, 1)]
    done = [{f["input"] for f in rep["files"] if f["status"] == "done"} for rep in reports]
    assert done[0] and done[1] and not (done[0] & done[1])
    assert _files(out) == sorted(f"{i}.png" for i in range(6))


def test_a_tile_below_the_size_multiple_is_a_usage_error(tiny_weights, tmp_path):
    _img(tmp_path / "in" / "a.png")
    result = _run(tmp_path / "in", "--out", tmp_path / "out", "--tile", "2", weights=tiny_weights)
    assert result.exit_code == 2 and "smaller than this network's size multiple" in result.output


def test_overwrite_never_replaces_an_input_that_another_input_maps_to(tiny_weights, tmp_path):
    src = tmp_path / "s"
    original = _img(src / "b.png", seed=1).read_bytes()
    _img(src / "b.tif", seed=2)
    for extra in ([], ["--overwrite"]):
        result = _run(src, "--out", src, "--format", "png", *extra, weights=tiny_weights)
        assert (src / "b.png").read_bytes() == original, extra
        assert result.exit_code in (0, 1)


def test_format_same_keeps_the_extension_as_written(tiny_weights, tmp_path):
    _img(tmp_path / "in" / "IMG.PNG")
    result = _run(tmp_path / "in", "--out", tmp_path / "out", weights=tiny_weights)
    assert result.exit_code == 0 and _files(tmp_path / "out") == ["IMG.PNG"]


def test_file_names_with_brackets_are_printed_as_they_are(tiny_weights, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "[old] bad.png").write_text("not an image")
    result = _run(tmp_path / "in", "--out", tmp_path / "out", weights=tiny_weights)
    assert result.exit_code == 1 and "[old] bad.png" in result.output


def test_a_quoted_home_glob_keeps_the_folder_tree(tiny_weights, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    _img(tmp_path / "p" / "a.png")
    _img(tmp_path / "p" / "sub" / "a.png")
    result = _run("~/p/**/*.png", "--out", tmp_path / "out", weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert _files(tmp_path / "out") == ["a.png", "sub/a.png"]
