"""The shell completion scripts in completions/ are current and work."""

import shutil
import subprocess
from pathlib import Path

import pytest

from uir_cli.cli.completion import scripts

COMPLETIONS = Path(__file__).resolve().parents[2] / "completions"


def test_committed_scripts_equal_the_generated_ones():
    for name, text in scripts().items():
        committed = (COMPLETIONS / name).read_text(encoding="utf-8")
        assert committed == text, f"completions/{name} is stale: run `python -m uir_cli.cli.completion completions`"


def _bash_complete(*words: str) -> list[str]:
    line = " ".join(f"'{w}'" for w in words)
    script = f"source '{COMPLETIONS / 'uir.bash'}'; COMP_WORDS=({line}); COMP_CWORD={len(words) - 1}; _uir; printf '%s\\n' \"${{COMPREPLY[@]}}\""
    out = subprocess.run(["bash", "-c", script], capture_output=True, text=True, check=True, cwd="/")
    return [w for w in out.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completes_commands_options_and_choices():
    assert _bash_complete("uir", "res") == ["restore"]
    assert set(_bash_complete("uir", "weights", "")) == {"import", "info", "list", "verify"}
    assert "--precision" in _bash_complete("uir", "restore", "--pre")
    assert _bash_complete("uir", "weights", "list", "--j") == ["--json"]


@pytest.mark.parametrize("shell,name", [("bash", "uir.bash"), ("zsh", "_uir"), ("fish", "uir.fish")])
def test_scripts_parse(shell, name):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    subprocess.run([shell, "-n", str(COMPLETIONS / name)], check=True)
