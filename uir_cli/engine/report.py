"""Reports: what ran, where, with what, and what came of it (JSON-ready dataclasses)."""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
from dataclasses import asdict, dataclass, is_dataclass
from pathlib import Path

from .. import __version__
from ..atomic import write_atomic


@dataclass(frozen=True)
class Environment:
    uir_version: str
    torch_version: str
    python_version: str
    platform: str
    device: str
    device_name: str
    precision: str
    threads: int

    @classmethod
    def capture(cls, restorer) -> "Environment":
        import torch

        return cls(
            uir_version=__version__,
            torch_version=torch.__version__,
            python_version=platform.python_version(),
            platform=platform.platform(),
            device=str(restorer.device),
            device_name=restorer.device_name,
            precision=restorer.place.precision,
            threads=torch.get_num_threads(),
        )


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")


def _plain(obj):
    if is_dataclass(obj) and not isinstance(obj, type):
        return {k: _plain(v) for k, v in asdict(obj).items()}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, float) and (obj != obj or obj in (float("inf"), float("-inf"))):
        return str(obj)  # JSON has no NaN or infinity
    return obj


def write_json(path: Path, data) -> Path:
    """Write ``data`` (dataclasses, dicts, lists) as indented JSON, atomically."""
    return write_atomic(path, json.dumps(_plain(data), indent=2) + "\n")
