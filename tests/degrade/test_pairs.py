"""Planning a paired set: sources, unique names and per-output seeds, without any pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from uir_cli.degrade.pairs import PairJob, Source, collect_sources, output_stems, plan
from uir_cli.errors import UsageError


def _is_png(path: Path) -> bool:
    return path.suffix == ".png"


def test_folders_are_searched_in_natural_order_skipping_hidden_and_other_files(tmp_path):
    for name in ["b/img10.png", "b/img9.png", "a.png", ".hidden.png", ".cache/c.png", "notes.txt"]:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    sources = collect_sources([tmp_path], _is_png)
    assert [s.relative for s in sources] == ["a.png", "b/img9.png", "b/img10.png"]
    with pytest.raises(UsageError, match="no such file"):
        collect_sources([tmp_path / "missing"], _is_png)


def test_stems_are_the_file_stems_unless_they_clash():
    sources = [Source(Path("r/a/x.png"), "a/x.png"), Source(Path("r/b/x.png"), "b/x.png"),
               Source(Path("r/y.png"), "y.png"), Source(Path("r/y.jpg"), "y.jpg"),
               Source(Path("s/y.jpg"), "y.jpg"), Source(Path("r/z.png"), "z.png")]
    stems = output_stems(sources)
    assert stems == ["a__x", "b__x", "y_png", "y_jpg", "y_jpg-2", "z"]


def test_plan_names_variants_and_seeds_depend_only_on_their_own_file():
    x, y = Source(Path("x.png"), "x.png"), Source(Path("y.png"), "y.png")
    jobs = plan([x, y], ["rain", "haze"], per_image=2)
    assert [(j.source.relative, j.kind, j.name) for j in jobs[:4]] == [
        ("x.png", "rain", "x_0.png"), ("x.png", "rain", "x_1.png"), ("x.png", "haze", "x_0.png"), ("x.png", "haze", "x_1.png")]
    assert [j.name for j in plan([x], ["rain"], per_image=1)] == ["x.png"]

    def draw(job: PairJob, seed: int = 0) -> float:
        return float(job.rng(seed).random())

    alone = plan([y], ["rain"], per_image=2)
    assert [draw(j) for j in alone] == [draw(j) for j in jobs if j.source == y and j.kind == "rain"]
    assert len({draw(j) for j in jobs}) == len(jobs)  # every output has its own stream
    assert draw(jobs[0], seed=1) != draw(jobs[0], seed=0)
    assert isinstance(jobs[0].rng(0), np.random.Generator)


def test_a_link_loop_among_the_sources_does_not_crash_the_listing(tmp_path):
    from uir_cli.degrade.pairs import collect_sources

    (tmp_path / "loop.png").symlink_to(tmp_path / "loop.png")
    (tmp_path / "a.png").write_bytes(b"x")
    names = [s.relative for s in collect_sources([tmp_path], lambda p: p.suffix == ".png")]
    assert "a.png" in names
