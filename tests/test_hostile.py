"""Hostile files, paths and environments (issue 9): each must cost no data, escape no --out, hang nothing,
and fail alone with one line.  One test per finding, numbered as in the issue; tiny images in tmp folders."""

from __future__ import annotations

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from uir_cli.cli.app import app

runner = CliRunner()


def _img(path: Path, size=(24, 16), seed=0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(arr).save(path)
    return path


def _bomb(path: Path, width=100_000, height=100_000) -> Path:
    """A tiny PNG whose header declares ``width`` x ``height`` (decoding it would take gigabytes)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 1000))
                     + chunk(b"IEND", b""))
    return path


def _restore(*args, weights, env=None):
    return runner.invoke(app, ["restore", *map(str, args), "--weights", str(weights), "--device", "cpu"], env=env)


def _failed_lines(output: str) -> list[str]:
    return [ln for ln in output.splitlines() if ln.startswith("failed") or "] failed" in ln]


def _files(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file() and not p.is_symlink())


def _snapshot(root: Path, skip: list[Path]) -> dict:
    """Every entry under ``root`` but ``skip``: its kind, and a plain file's bytes and mtime."""
    state = {}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        dirs[:] = [d for d in dirs if here / d not in skip]
        for name in dirs + files:
            p = here / name
            if p in skip:
                continue
            st = os.lstat(p)
            state[str(p)] = (stat.S_IFMT(st.st_mode), p.read_bytes() if stat.S_ISREG(st.st_mode) else None,
                             st.st_mtime_ns if stat.S_ISREG(st.st_mode) else None)
    return state


class _FifoGuard:
    """Opens the FIFOs for writing after ``seconds``, so that a reader wrongly blocked on one gets EOF and the
    test fails instead of hanging."""

    def __init__(self, fifos, seconds=60.0):
        self.fifos, self.done = fifos, threading.Event()
        self.thread = threading.Thread(target=self._run, args=(seconds,), daemon=True)
        self.thread.start()
        self.unblocked = False

    def _run(self, seconds):
        if self.done.wait(seconds):
            return
        self.unblocked = True
        for f in self.fifos:
            try:
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.done.set()
        assert not self.unblocked, "a FIFO was waited on"


# --- 1. symbolic links are never written through --------------------------------------------


def test_1_links_planted_at_lock_and_temporary_names_are_never_followed(tiny_weights, tmp_path):
    from uir_cli import atomic
    from uir_cli.engine.batch.locks import lock_path

    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    outside = tmp_path / "outside"
    outside.mkdir()
    src, out = tmp_path / "in", tmp_path / "out"
    _img(src / "a.png")
    _img(src / "b.png", seed=1)
    _img(src / "sub" / "c.png", seed=2)
    out.mkdir()
    os.symlink(victim, lock_path(out / "a.png"))  # the claim of a.png
    os.symlink(victim, out / ".b.png.uirlock")  # the names earlier versions used
    os.symlink(victim, out / f".r.json.{os.getpid()}.part")
    os.symlink(outside, out / "sub")  # a folder inside --out that leads out of it
    result = _restore(src, "--out", out, "--report", out / "r.json", weights=tiny_weights)
    assert result.exit_code == 1, result.output
    assert victim.read_text() == "precious" and list(outside.iterdir()) == []
    failed = _failed_lines(result.output)
    assert len(failed) == 2, result.output
    assert any("a.png" in ln and "symbolic link" in ln for ln in failed)
    assert any("c.png" in ln and "outside --out" in ln for ln in failed)
    assert (out / "b.png").is_file() and json.loads((out / "r.json").read_text())["command"] == "restore"

    # The temporary name is unguessable; even one guessed and planted is never written through.
    os.symlink(victim, out / f".uir-{atomic.name_hash('x.json')}.{os.getpid()}.00000000.part")
    names = iter(["00000000", "11111111"])
    real = atomic.secrets.token_hex
    atomic.secrets.token_hex = lambda n: next(names)
    try:
        atomic.write_atomic(out / "x.json", "{}")
    finally:
        atomic.secrets.token_hex = real
    assert (out / "x.json").read_text() == "{}" and victim.read_text() == "precious"

    # A hard link planted as the lock file is refused too (it would truncate the other name's file).
    os.unlink(lock_path(out / "a.png"))
    os.link(victim, lock_path(out / "a.png"))
    again = _restore(src, "--out", out, weights=tiny_weights)
    assert again.exit_code == 1 and "not uir's lock file" in again.output and victim.read_text() == "precious"


# --- 2. --report never overwrites an input, an output or a foreign file ----------------------


def test_2_a_report_path_that_is_an_input_an_output_or_a_foreign_file_is_refused_at_start(tiny_weights, tmp_path):
    a = _img(tmp_path / "a.png")
    b = _img(tmp_path / "b.png", seed=1)
    before = a.read_bytes()
    out = tmp_path / "r"
    result = _restore(a, b, "--out", out, "--report", a, weights=tiny_weights)
    assert result.exit_code == 2 and "not a uir restore report; it is not overwritten" in result.output, result.output
    assert a.read_bytes() == before and not out.exists()
    result = _restore(a, "--out", out, "--report", out / "a.png", weights=tiny_weights)
    assert result.exit_code == 2 and "outputs" in result.output and not out.exists()
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes")
    result = _restore(a, "--out", out, "--report", notes, weights=tiny_weights)
    assert result.exit_code == 2 and "not a uir restore report" in result.output and notes.read_text() == "my notes"
    report = tmp_path / "run.json"
    assert _restore(a, "--out", out, "--report", report, weights=tiny_weights).exit_code == 0
    again = _restore(b, "--out", out, "--report", report, weights=tiny_weights)  # an earlier report is replaced
    assert again.exit_code == 0, again.output
    assert [f["input"] for f in json.loads(report.read_text())["files"]] == [str(b)]


# --- 3. degrade and benchmark check sizes from the header --------------------------------------


def test_3_degrade_and_benchmark_refuse_a_pixel_bomb_from_its_header_and_go_on(tmp_path):
    clean = tmp_path / "clean"
    _img(clean / "good.png", size=(32, 32))
    _bomb(clean / "bomb.png")
    result = runner.invoke(app, ["degrade", str(clean), "--out", str(tmp_path / "pairs"), "--kind", "rain"])
    assert result.exit_code == 1, result.output
    lines = [ln for ln in result.output.splitlines() if "bomb.png" in ln and ln.startswith("error")]
    assert len(lines) == 1 and "10,000,000,000 pixels" in lines[0] and "--max-pixels" in lines[0]
    assert (tmp_path / "pairs" / "rain" / "input" / "good.png").is_file()
    small = runner.invoke(app, ["degrade", str(clean / "good.png"), "--out", str(tmp_path / "p2"), "--kind", "rain",
                                "--max-pixels", "500"])
    assert small.exit_code == 1 and "more than the limit of 500" in small.output

    lq, gt = tmp_path / "lq", tmp_path / "gt"
    for name in ("1", "2"):
        _img(lq / f"{name}.png", seed=3)
        _img(gt / f"{name}.png", seed=4)
    _bomb(gt / "2.png")
    result = runner.invoke(app, ["benchmark", "--input", str(lq), "--target", str(gt), "--predictions", str(lq)])
    assert result.exit_code == 1, result.output
    line = next(ln for ln in result.output.splitlines() if "2: failed" in ln)
    assert "the target" in line and str(gt / "2.png") in line and "more than the limit" in line


# --- 4. a symbolic link loop among the inputs ---------------------------------------------------


def test_4_a_symlink_loop_among_the_inputs_fails_alone(tiny_weights, tmp_path):
    src = tmp_path / "in"
    _img(src / "a.png")
    os.symlink("loop.png", src / "loop.png")
    os.symlink(src / "ping.png", src / "pong.png")
    os.symlink(src / "pong.png", src / "ping.png")
    out = tmp_path / "out"
    for args in ([src], [src / "a.png", src / "loop.png"], [str(src / "*.png")]):
        result = _restore(*args, "--out", out, "--overwrite", weights=tiny_weights)
        assert result.exit_code == 1 and "Traceback" not in result.output, result.output
        failed = _failed_lines(result.output)
        assert failed and all("symbolic link loop" in ln for ln in failed), result.output
        assert (out / "a.png").is_file()


# --- 5. FIFOs and other special files are refused, never waited on ----------------------------


def test_5_a_fifo_named_like_an_image_or_weights_is_refused_not_waited_on(tiny_weights, tmp_path):
    from uir_cli.imageio import read_image
    from uir_cli.errors import ImageError

    src = tmp_path / "in"
    _img(src / "a.png")
    fifo, weights_fifo = src / "pipe.png", tmp_path / "w.safetensors"
    os.mkfifo(fifo)
    os.mkfifo(weights_fifo)
    with _FifoGuard([fifo, weights_fifo]):
        result = _restore(src, "--out", tmp_path / "out", weights=tiny_weights)
        assert result.exit_code == 1, result.output
        assert [ln for ln in _failed_lines(result.output)] == [f"failed  {fifo}: not a regular file: a FIFO (named pipe)"]
        assert (tmp_path / "out" / "a.png").is_file()
        with pytest.raises(ImageError, match="FIFO"):
            read_image(fifo)
        bad = _restore(src / "a.png", "--out", tmp_path / "o2", weights=weights_fifo)
        assert bad.exit_code == 3 and "FIFO" in bad.output
        info = runner.invoke(app, ["weights", "info", str(weights_fifo)])
        assert info.exit_code == 3 and "FIFO" in info.output
        deg = runner.invoke(app, ["degrade", str(src), str(fifo), "--out", str(tmp_path / "pairs"), "--kind", "blur"])
        assert deg.exit_code == 1 and deg.output.count("FIFO") == 1, deg.output


# --- 6. --shard with a name that is not UTF-8 ---------------------------------------------------


def test_6_shard_and_torchrun_shares_take_names_that_are_not_utf8(tiny_weights, tmp_path):
    from uir_cli.engine.batch.inputs import InputItem, in_shard

    src = tmp_path / "in"
    _img(src / "a.png")
    odd = os.fsdecode(os.fsencode(str(src)) + b"/caf\xe9.png")
    _img(Path(odd), seed=1)
    done = []
    for k in (1, 2):
        out = tmp_path / f"out{k}"
        result = _restore(src, "--out", out, "--shard", f"{k}/2", weights=tiny_weights)
        assert result.exit_code == 0, result.output
        done += _files(out) if out.exists() else []
    assert sorted(done) == sorted(["a.png", os.fsdecode(b"caf\xe9.png")])
    for rank in ("0", "1"):
        result = _restore(src, "--out", tmp_path / "ranks", weights=tiny_weights,
                          env={"WORLD_SIZE": "2", "RANK": rank, "LOCAL_RANK": rank})
        assert result.exit_code == 0, result.output
    assert len(_files(tmp_path / "ranks")) == 2
    # UTF-8 names keep the share they always had (shards of older runs agree).
    import hashlib

    item = InputItem(Path("x/é.png"), Path("x/é.png"))
    digest = int.from_bytes(hashlib.blake2b("x/é.png".encode("utf-8"), digest_size=8).digest(), "little")
    assert all(in_shard(item, i, 3) == (digest % 3 == i) for i in range(3))


# --- 7. earlier outputs are recognised whatever suffix or format they got --------------------------


def test_7_earlier_outputs_with_another_suffix_or_format_are_not_taken_as_inputs(tiny_weights, tmp_path):
    src = tmp_path / "photos"
    _img(src / "a.png")
    assert _restore(src, "--out", src, "--suffix", "_r", weights=tiny_weights).exit_code == 0
    result = _restore(src, "--out", src, "--suffix", "_x", "--format", "jpg", "-v", weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert _files(src) == ["a.png", "a_r.png", "a_x.jpg"]
    assert "a_r.png: it is the output of an earlier uir run" in result.output
    # Outside --out, a restored photo is an input like any other (restoring twice on purpose).
    again = _restore(src / "a_r.png", "--out", tmp_path / "twice", weights=tiny_weights)
    assert again.exit_code == 0 and _files(tmp_path / "twice") == ["a_r.png"]


# --- 8. the report path is checked at start -------------------------------------------------------


def test_8_an_unwritable_report_fails_at_start_with_exit_2(tiny_weights, tmp_path):
    a = _img(tmp_path / "a.png")
    blocker = tmp_path / "file"
    blocker.write_text("a file, not a folder")
    t0 = time.perf_counter()
    result = _restore(a, "--out", tmp_path / "out", "--report", blocker / "r.json", weights=tiny_weights)
    assert result.exit_code == 2 and "cannot write the report here" in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "out").exists()
    assert time.perf_counter() - t0 < 30
    folder = runner.invoke(app, ["restore", str(a), "--out", str(tmp_path / "out"), "--report", str(tmp_path)])
    assert folder.exit_code == 2 and not (tmp_path / "out").exists()


# --- 9. malformed registries, unwritable data directories -----------------------------------------


@pytest.mark.parametrize("text", ["[]", "{bad json", '{"weights": []}', '{"weights": {"x": 5}}',
                                  '{"weights": {"x": {"dim": "a", "dim_mults": [1]}}}',
                                  '{"weights": {"x": {"dim": 8, "dim_mults": [1, 2], "file": 5}}}',
                                  '{"weights": {"x": {"dim": 8, "dim_mults": 2}}}', "\xff\xfe"])
def test_9_a_malformed_user_registry_is_one_line_not_a_traceback(text, isolated_user_data, tmp_path):
    (isolated_user_data / "registry.json").write_bytes(text.encode("latin-1"))
    for args in (["weights", "list"], ["weights", "verify"], ["restore", str(_img(tmp_path / "a.png")), "--out",
                                                                str(tmp_path / "o"), "--model", "x"]):
        result = runner.invoke(app, args)
        assert result.exit_code == 3, (args, result.output)
        assert "Traceback" not in result.output and "registry.json" in result.output
        assert len([ln for ln in result.output.splitlines() if ln.strip()]) == 1, result.output


def test_9_weights_import_into_an_unwritable_data_directory_is_one_line(tiny_weights, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("UIR_HOME", str(blocker / "uir"))
    result = runner.invoke(app, ["weights", "import", str(tiny_weights), "--name", "tiny"])
    assert result.exit_code == 3 and "cannot store the weights" in result.output and "Traceback" not in result.output


def test_9_weights_verify_says_which_stored_file_is_unreadable(tiny_weights, isolated_user_data):
    assert runner.invoke(app, ["weights", "import", str(tiny_weights), "--name", "tiny"]).exit_code == 0
    stored = isolated_user_data / "weights" / "tiny.safetensors"
    stored.unlink()
    os.mkfifo(stored)
    with _FifoGuard([stored]):
        result = runner.invoke(app, ["weights", "verify"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = next(ln for ln in result.output.splitlines() if "tiny" in ln)
    assert "unreadable" in line and "FIFO" in line


# --- 10. signals during start-up ------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("when", ["typer", "uir_cli.cli.app"])
def test_10_a_signal_in_the_first_instants_exits_130_with_one_line(sig, when, tiny_weights, tmp_path):
    """The signal is sent as soon as `python -X importtime` reports ``when`` imported: while the CLI's own
    modules load (typer), or the instant they are loaded (before any command ran)."""
    _img(tmp_path / "a.png")
    proc = subprocess.Popen([sys.executable, "-X", "importtime", "-m", "uir_cli", "restore", str(tmp_path / "a.png"),
                             "--out", str(tmp_path / "out"), "--weights", str(tiny_weights), "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        for line in proc.stderr:
            if line.rsplit("|", 1)[-1].strip() == when:
                break
        proc.send_signal(sig)
        _, rest = proc.communicate(timeout=120)
    finally:
        proc.kill()
    said = [ln for ln in rest.splitlines() if not ln.startswith("import time:")]
    assert proc.returncode == 130, (proc.returncode, said)
    assert said == ["interrupted"], said


# --- 11. long names --------------------------------------------------------------------------------


def test_11_long_names_are_written_or_said_to_be_too_long(tiny_weights, tmp_path):
    src = tmp_path / "in"
    long_ok = _img(src / ("n" * 240 + ".png"))  # 244 bytes: fits, whatever the hidden names add
    longest = _img(src / ("m" * 251 + ".png"), seed=1)  # 255 bytes: the longest a name can be
    out = tmp_path / "out"
    result = _restore(src, "--out", out, weights=tiny_weights)
    assert result.exit_code == 0, result.output
    assert _files(out) == sorted([long_ok.name, longest.name])
    suffixed = _restore(src, "--out", tmp_path / "o2", "--suffix", "_restored", weights=tiny_weights)
    assert suffixed.exit_code == 1
    (line,) = _failed_lines(suffixed.output)
    assert longest.name in line and "264 bytes long, more than the 255 a file name can have" in line


# --- 12. bad values are usage errors (exit 2), before anything runs ------------------------------


def test_12_bad_suffix_seed_and_torchrun_variables_are_usage_errors(tiny_weights, tmp_path):
    a = _img(tmp_path / "a.png")
    out = tmp_path / "out"
    cases = [(["--suffix", "/x"], None), (["--suffix", "_a/../../b"], None), (["--seed", str(2**64)], None),
             (["--seed", "-1"], None), ([], {"WORLD_SIZE": "abc"}), ([], {"WORLD_SIZE": "2", "RANK": "7"}),
             ([], {"WORLD_SIZE": "0"}), ([], {"WORLD_SIZE": "2", "RANK": "1", "LOCAL_RANK": "x"})]
    for extra, env in cases:
        result = _restore(a, "--out", out, *extra, weights=tiny_weights, env=env)
        assert result.exit_code == 2, (extra, env, result.output)
        assert "Traceback" not in result.output and not out.exists(), (extra, env)
    for command in (["restore", str(a), "--weights", str(tiny_weights)], ["degrade", str(a), "--kind", "rain"]):
        result = runner.invoke(app, [*command, "--out", str(a)])  # --out names a file
        assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    largest = _restore(a, "--out", out, "--seed", str(2**64 - 1), weights=tiny_weights)
    assert largest.exit_code == 0, largest.output


# --- 13. non-finite weights ------------------------------------------------------------------------


def test_13_weights_with_nan_or_inf_are_refused_at_load(tmp_path):
    import torch

    from uir_cli.engine.weights import save_safetensors
    from uir_cli.nn.unet import DiffUIRNet, UNetConfig

    config = UNetConfig(8, (1, 2))
    state = DiffUIRNet(config).state_dict()
    state["init_conv.weight"][0, 0, 0, 0] = float("nan")
    state["final_conv.weight"].fill_(float("inf"))
    bad = save_safetensors(state, tmp_path / "nan.safetensors", config=config)
    torch.save({k: v.clone() for k, v in state.items()}, tmp_path / "nan.pt")
    for path in (bad, tmp_path / "nan.pt"):
        for args in (["weights", "info", str(path)], ["weights", "import", str(path), "--name", "n"],
                     ["restore", str(_img(tmp_path / "a.png")), "--out", str(tmp_path / "o"), "--weights", str(path)]):
            result = runner.invoke(app, args)
            assert result.exit_code == 3, (args, result.output)
            assert "holds NaN or infinite values (in " in result.output and "conv.weight and 1 more)" in result.output
    assert not (tmp_path / "o").exists()


# --- 14. weights messages -------------------------------------------------------------------------


def test_14_weights_that_are_not_there_or_a_folder_say_so_with_exit_3(tmp_path, monkeypatch):
    a = _img(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "somedir").mkdir()
    for name, words in (("nothere.pt", "nothere.pt: no such file"), ("somedir", "somedir: is a folder")):
        for command in (["restore", str(a), "--out", "o"], ["benchmark", "--input", ".", "--target", "."]):
            result = runner.invoke(app, [*command, "--weights", name])
            assert result.exit_code == 3 and words in result.output, (command, result.output)
            assert "no weights named" not in result.output and "╭" not in result.output
    from uir_cli.engine.models import load_model  # what train --init uses
    from uir_cli.errors import WeightsError

    with pytest.raises(WeightsError, match="nothere.pt: no such file"):
        load_model("nothere.pt")


# --- 15. smaller findings ---------------------------------------------------------------------------


def test_15a_a_newline_in_a_name_stays_on_one_quoted_line(tiny_weights, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "evil\nfailed  forged.png").write_text("not an image")
    result = _restore(src, "--out", tmp_path / "out", weights=tiny_weights)
    assert result.exit_code == 1
    assert _failed_lines(result.output) == [f"failed  '{src}/evil\\nfailed  forged.png': not an image, or not a "
                                            "format uir reads (PNG, JPEG, WebP, TIFF, BMP)"]


def test_15b_an_imported_name_may_not_end_in_a_newline(tiny_weights):
    result = runner.invoke(app, ["weights", "import", str(tiny_weights), "--name", "x\n"])
    assert result.exit_code == 3 and "invalid name 'x\\n'" in result.output


def test_15c_the_rank_prefix_is_printed_not_read_as_markup(tiny_weights, tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    (src / "bad.png").write_text("no")
    (src / "bad2.png").write_text("no")
    lines = []
    for rank in ("0", "1"):
        result = _restore(src, "--out", tmp_path / "out", weights=tiny_weights,
                          env={"WORLD_SIZE": "2", "RANK": rank, "LOCAL_RANK": rank})
        lines += _failed_lines(result.output)
    assert len(lines) == 2 and all(ln.startswith(("[rank 0] failed", "[rank 1] failed")) for ln in lines), lines


def test_15d_an_interrupted_report_lists_the_files_not_started(tiny_weights, tmp_path, monkeypatch):
    from uir_cli.cli.progress import PlainRestoreRenderer

    src = tmp_path / "in"
    for i in range(4):
        _img(src / f"{i}.png", seed=i)

    calls = []

    def interrupt_at_the_second(self, event):  # Ctrl-C as the second image starts
        calls.append(event.name)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(PlainRestoreRenderer, "started", interrupt_at_the_second)
    report = tmp_path / "r.json"
    result = _restore(src, "--out", tmp_path / "out", "--report", report, weights=tiny_weights)
    assert result.exit_code == 130, result.output
    data = json.loads(report.read_text())
    listed = {os.path.basename(f["input"]): f["status"] for f in data["files"]}
    assert sorted(listed) == ["0.png", "1.png", "2.png", "3.png"]
    assert list(listed.values()).count("not started") == data["summary"]["not_started"] >= 2
    assert listed["0.png"] == "done" and data["interrupted"]


def test_15e_a_benchmark_line_says_whether_the_input_or_the_target_is_bad(tiny_weights, tmp_path):
    lq, gt = tmp_path / "lq", tmp_path / "gt"
    for name in ("1", "2", "3"):
        _img(lq / f"{name}.png", seed=5)
        _img(gt / f"{name}.png", seed=6)
    (lq / "2.png").write_text("broken")
    (gt / "3.png").write_text("broken")
    result = runner.invoke(app, ["benchmark", "--input", str(lq), "--target", str(gt), "--weights", str(tiny_weights),
                                 "--device", "cpu"])
    assert result.exit_code == 1, result.output
    line2 = next(ln for ln in result.output.splitlines() if "] 2: failed" in ln)
    line3 = next(ln for ln in result.output.splitlines() if "] 3: failed" in ln)
    assert f"the input {lq / '2.png'}: not an image" in line2
    assert f"the target {gt / '3.png'}: not an image" in line3


def test_15f_one_identical_pair_leaves_the_set_means_finite():
    from uir_cli.bench.evaluate import ImageResult, summarize

    same = ImageResult("s", "1", "i", "t", status="done", psnr=float("inf"), ssim=1.0, input_psnr=float("inf"),
                       input_ssim=1.0)
    other = ImageResult("s", "2", "i", "t", status="done", psnr=30.0, ssim=0.9, input_psnr=20.0, input_ssim=0.5)
    s = summarize([same, other])
    assert (s.psnr, s.input_psnr, s.gain_psnr) == (30.0, 20.0, 10.0)
    assert (s.identical, s.input_identical) == (1, 1) and s.ssim == pytest.approx(0.95)
    assert summarize([same]).psnr == float("inf")


def test_15g_imported_weights_get_the_usual_file_mode(tiny_weights, isolated_user_data):
    old = os.umask(0o022)
    try:
        result = runner.invoke(app, ["weights", "import", str(tiny_weights), "--name", "tiny"])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(isolated_user_data / "weights" / "tiny.safetensors").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(isolated_user_data / "registry.json").st_mode) == 0o644


# --- 16. files another run holds are waited for, never left undone --------------------------------


def test_16_a_file_claimed_by_a_run_that_dies_is_done_by_the_run_that_waited(tiny_weights, tmp_path, monkeypatch):
    from uir_cli.cli.progress import PlainRestoreRenderer
    from uir_cli.engine.batch.locks import OutputClaim

    src, out = tmp_path / "in", tmp_path / "out"
    _img(src / "a.png")
    _img(src / "b.png", seed=1)
    claim = OutputClaim(out / "a.png")
    assert claim.acquire()
    waited = []

    def holder_dies(self, event):  # the other run stops without writing a.png: its lock goes
        waited.append(event.count)
        claim.release()

    monkeypatch.setattr(PlainRestoreRenderer, "waiting", holder_dies)
    report = tmp_path / "r.json"
    try:
        result = _restore(src, "--out", out, "--report", report, weights=tiny_weights)
    finally:
        claim.release()
    assert result.exit_code == 0, result.output
    assert waited == [1] and _files(out) == ["a.png", "b.png"] and "r.json" not in _files(out)
    assert {f["status"] for f in json.loads(report.read_text())["files"]} == {"done"}


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to lock as another user")
def test_16_a_lock_held_by_another_user_is_not_waited_for(tiny_weights, tmp_path):
    from uir_cli.engine.batch.locks import lock_path

    src, out = tmp_path / "in", tmp_path / "out"
    _img(src / "a.png")
    _img(src / "b.png", seed=1)
    out.mkdir()
    lock = lock_path(out / "a.png")
    lock.write_text("")
    os.chown(lock, 4242, 4242)
    holder = subprocess.Popen([sys.executable, "-c", "import fcntl, os, sys, time; fd = os.open(sys.argv[1], os.O_RDWR); "
                               "fcntl.flock(fd, fcntl.LOCK_EX); print('held', flush=True); time.sleep(600)", str(lock)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        result = _restore(src, "--out", out, weights=tiny_weights)
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 1, result.output
    (line,) = _failed_lines(result.output)
    assert "a.png" in line and "locked by another user (uid 4242)" in line
    assert (out / "b.png").is_file()


# --- all of it at once, as root, in a folder another user filled -----------------------------------


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root (CI runs as root)")
def test_a_root_run_over_a_hostile_folder_touches_nothing_outside_out_and_the_report(tiny_weights, tmp_path):
    from uir_cli.engine.batch.locks import lock_path

    mallory = 4242
    shared = tmp_path / "shared"
    src, out, report = shared / "in", shared / "out", shared / "report.json"
    victim = tmp_path / "etc" / "passwd"
    victim.parent.mkdir()
    victim.write_text("root:x:0:0")
    _img(src / "good.png")
    _img(src / "also-good.png", seed=1)
    os.mkfifo(src / "pipe.png")
    os.symlink("loop.png", src / "loop.png")
    _bomb(src / "bomb.png")
    (src / "line\nbreak.png").write_bytes(b"\x89PNG\r\n\x1a\n")
    out.mkdir(parents=True)
    os.symlink(victim, lock_path(out / "also-good.png"))
    os.symlink(victim, out / ".good.png.uirlock")
    os.symlink(victim.parent, out / "sub")
    _img(src / "sub" / "c.png", seed=2)
    for dirpath, dirs, files in os.walk(shared):
        for name in dirs + files:
            os.chown(Path(dirpath) / name, mallory, mallory, follow_symlinks=False)
    before = _snapshot(tmp_path, skip=[out, report])
    with _FifoGuard([src / "pipe.png"]):
        result = _restore(src, "--out", out, "--report", report, weights=tiny_weights)
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    assert _snapshot(tmp_path, skip=[out, report]) == before
    failed = _failed_lines(result.output)
    bad = ["pipe.png", "loop.png", "bomb.png", "line\\nbreak.png", "also-good.png", "c.png"]
    assert len(failed) == len(bad), result.output
    for name in bad:
        assert sum(name in ln for ln in failed) == 1, name
    assert (out / "good.png").is_file() and victim.read_text() == "root:x:0:0"
    statuses = {os.path.basename(f["input"]): f["status"] for f in json.loads(report.read_text())["files"]}
    assert statuses["good.png"] == "done" and sum(s == "failed" for s in statuses.values()) == len(bad)
