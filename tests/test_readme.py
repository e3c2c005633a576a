"""The README tells the truth: its commands are the ones CI runs, and its Python example runs."""

import re

import numpy as np
from PIL import Image

from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = "python3 -m pip install torch==2.13.0 -e '.[test]' && python3 -m pytest"
    assert command in README and command in ci.splitlines()


def test_the_first_command_restores_the_bundled_examples():
    assert "pip install torch==2.13.0 -e . && uir restore examples --out restored" in README
    examples = sorted(p.name for p in (ROOT / "examples").glob("*.png"))
    assert len(examples) >= 5


def test_the_python_example_runs(tiny_weights, tmp_path, monkeypatch):
    (code,) = _blocks("python")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (20, 28, 3), dtype=np.uint8)).save(tmp_path / "rainy.jpg")
    monkeypatch.chdir(tmp_path)
    code = code.replace('"model-300.pt"', repr(str(tiny_weights))).replace('device="auto"', 'device="cpu"')
    exec(compile(code, "README.md", "exec"), {})
    out = np.asarray(Image.open(tmp_path / "restored.png"))
    assert out.shape == (20, 28, 3) and out.dtype == np.uint8
