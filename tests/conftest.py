"""Shared test helpers: the ../shared fixtures, tiny random-weight models, isolated user data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("UIR_SHARED", ROOT.parent / "shared"))
FIXTURES = SHARED / "fixtures" / "official-format"
SPEC_STATE_DICT = SHARED / "spec" / "official_state_dict.json"


def need_shared(path: Path = FIXTURES) -> Path:
    """Skip the calling test, with a reason, when ../shared is not beside the checkout."""
    if not path.exists():
        pytest.skip(f"{path} is absent (../shared is only beside the project's own checkouts and CI)")
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    return need_shared(FIXTURES)


@pytest.fixture(autouse=True)
def isolated_user_data(tmp_path_factory, monkeypatch):
    """Every test gets its own empty UIR_HOME, so nothing touches the real user's registry."""
    home = tmp_path_factory.mktemp("uir_home")
    monkeypatch.setenv("UIR_HOME", str(home))
    return home


@pytest.fixture
def tiny_weights(tmp_path):
    """A safetensors file with a tiny random DiffUIR (dim 8, dim_mults (1, 2)); returns its path."""
    import torch

    from uir_cli.engine.weights import save_safetensors
    from uir_cli.nn.unet import DiffUIRNet, UNetConfig

    torch.manual_seed(0)
    config = UNetConfig(8, (1, 2))
    net = DiffUIRNet(config)
    return save_safetensors(net.state_dict(), tmp_path / "tiny.safetensors", config=config, which="ema")
