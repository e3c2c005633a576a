"""What ran and where: the software and machine a run used, and when (JSON-ready dataclasses)."""

from __future__ import annotations

import datetime as _dt
import platform
import sys
from dataclasses import dataclass

from ... import __version__


def software() -> dict:
    """uir, torch (as imported, else as installed, else None), Python, the platform and torch's threads."""
    torch = sys.modules.get("torch")  # imported only when a model was loaded
    return dict(
        uir_version=__version__, torch_version=getattr(torch, "__version__", None) or installed_version("torch"),
        python_version=platform.python_version(), platform=platform.platform(),
        threads=torch.get_num_threads() if torch is not None else None)


def installed_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


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
        return cls(**software(), device=str(restorer.device), device_name=restorer.device_name,
                   precision=restorer.place.precision)


def now_iso() -> str:
    return _dt.datetime.now(_dt.timezone.utc).astimezone().isoformat(timespec="seconds")
