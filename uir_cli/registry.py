"""Named weights: the shipped ``weights.toml`` plus the user's imported weights.

No torch here: ``uir weights list`` and TAB completion read this module only.

- The shipped registry is ``weights.toml`` (top of the repository, packaged as
  ``uir_cli/weights.toml``).
- The user's registry is ``registry.json`` in the user's data directory:
  ``$UIR_HOME``, else ``$XDG_DATA_HOME/uir``, else ``~/.local/share/uir``.
  ``uir weights import`` writes there; a user entry shadows a shipped one of the
  same name.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .errors import RegistryError
from .vocab import VARIANTS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

PACKAGE_DIR = Path(__file__).resolve().parent
SHIPPED_REGISTRY = PACKAGE_DIR / "weights.toml"
PACKAGE_DATA = PACKAGE_DIR / "data"

CUSTOM = "custom"


def variant_id(dim: int, dim_mults: tuple[int, ...] | list[int]) -> str:
    """'diffuir-t' .. 'diffuir-l' for a published shape, else 'custom'."""
    key = (int(dim), tuple(int(m) for m in dim_mults))
    for name, shape in VARIANTS.items():
        if shape == key:
            return name
    return CUSTOM


def parse_variant(text: str) -> str:
    """Accept 'T', 't', 'diffuir-t', 'DiffUIR-T' and return 'diffuir-t'."""
    t = text.strip().lower()
    if not t.startswith("diffuir-"):
        t = "diffuir-" + t
    if t not in VARIANTS:
        raise RegistryError(f"unknown variant {text!r}", hint="choose T, S, B or L")
    return t


def data_dir() -> Path:
    """The user's data directory for uir (weights and registry.json)."""
    if os.environ.get("UIR_HOME"):
        return Path(os.environ["UIR_HOME"]).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "uir"


@dataclass(frozen=True)
class WeightsEntry:
    """One named set of weights."""

    name: str
    variant: str
    dim: int
    dim_mults: tuple[int, ...]
    steps: int = 3
    file: str = ""  # shipped: relative to uir_cli/data; user: absolute path
    page: str = ""  # where a person downloads it by hand
    filename: str = ""  # the file name on that page
    sha256: str = ""
    source: str = ""
    license: str = ""
    description: str = ""
    origin: str = "shipped"  # "shipped" or "user"
    extra: dict = field(default_factory=dict, compare=False)

    def path(self) -> Path | None:
        """Where the file is on this machine, or None when it must be downloaded first."""
        if not self.file:
            return None
        p = Path(self.file)
        if not p.is_absolute():
            p = PACKAGE_DATA / p
        return p

    def is_available(self) -> bool:
        p = self.path()
        return p is not None and p.is_file()

    def to_json(self) -> dict:
        d = asdict(self)
        d["dim_mults"] = list(self.dim_mults)
        d["path"] = str(self.path()) if self.path() else None
        d["available"] = self.is_available()
        d.pop("extra")
        return d


_FIELDS = {"variant", "dim", "dim_mults", "steps", "file", "page", "filename", "sha256", "source", "license", "description"}


_TEXT_FIELDS = ("file", "page", "filename", "sha256", "source", "license", "description", "variant")


def _entry_from_mapping(name: str, data: dict, origin: str, where: Path) -> WeightsEntry:
    if not isinstance(data, dict):
        raise RegistryError(f"entry {name!r} must be a table of fields, not {type(data).__name__}", path=where)
    unknown = set(data) - _FIELDS
    if unknown:
        raise RegistryError(f"entry {name!r} has unknown fields: {', '.join(sorted(map(str, unknown)))}", path=where)
    wrong = [k for k in _TEXT_FIELDS if k in data and not isinstance(data[k], str)]
    if wrong:
        raise RegistryError(f"entry {name!r}: {wrong[0]} must be text, not {type(data[wrong[0]]).__name__}", path=where)
    try:
        if any(isinstance(v, bool) or not isinstance(v, int) for v in (data["dim"], *data["dim_mults"], data.get("steps", 3))):
            raise TypeError("they must be whole numbers")
        dim = int(data["dim"])
        dim_mults = tuple(int(m) for m in data["dim_mults"])
        steps = int(data.get("steps", 3))
    except (KeyError, TypeError, ValueError) as exc:
        raise RegistryError(f"entry {name!r} needs integer dim, dim_mults and steps ({exc})", path=where) from None
    if dim < 1 or not dim_mults or min(dim_mults) < 1 or not 1 <= steps <= 1000:
        raise RegistryError(f"entry {name!r}: dim and dim_mults must be positive, steps from 1 to 1000", path=where)
    variant = variant_id(dim, dim_mults)
    if data.get("variant") and str(data["variant"]) != variant:
        raise RegistryError(f"entry {name!r} says variant {data['variant']!r} but dim/dim_mults make {variant!r}", path=where)
    return WeightsEntry(
        name=name,
        variant=variant,
        dim=dim,
        dim_mults=dim_mults,
        steps=steps,
        file=str(data.get("file", "")),
        page=str(data.get("page", "")),
        filename=str(data.get("filename", "")),
        sha256=str(data.get("sha256", "")).lower(),
        source=str(data.get("source", "")),
        license=str(data.get("license", "")),
        description=str(data.get("description", "")),
        origin=origin,
    )


@dataclass(frozen=True)
class Registry:
    entries: dict[str, WeightsEntry]
    default: str

    def get(self, name: str) -> WeightsEntry:
        try:
            return self.entries[name]
        except KeyError:
            known = ", ".join(sorted(self.entries)) or "none"
            raise RegistryError(f"no weights named {name!r}", hint=f"known: {known}; see `uir weights list`") from None

    def default_entry(self) -> WeightsEntry:
        if not self.default:
            raise RegistryError(
                "no default weights are set in weights.toml",
                hint="pass --weights FILE or --model NAME",
            )
        return self.get(self.default)


def _load_shipped(path: Path) -> tuple[dict[str, WeightsEntry], str]:
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise RegistryError("the shipped weights registry is missing", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(f"not valid TOML: {exc}", path=path) from None
    entries = {n: _entry_from_mapping(n, d, "shipped", path) for n, d in data.get("weights", {}).items()}
    default = str(data.get("default", ""))
    if default and default not in entries:
        raise RegistryError(f"default {default!r} is not an entry", path=path)
    return entries, default


def is_weights_name(text: str, base: Path | None = None) -> bool:
    """True when ``text`` names registered weights rather than a file: no path separator, no ``~``,
    and no such file (relative to ``base``, else the working folder)."""
    if not text or text.startswith("~") or any(sep in text for sep in ("/", "\\")):
        return False
    return not ((base or Path.cwd()) / text).exists()


def user_registry_path() -> Path:
    return data_dir() / "registry.json"


def _read_user(path: Path) -> dict:
    """The user registry's ``weights`` table (empty when there is no registry); RegistryError when malformed."""
    from .regular import open_regular

    if not os.path.lexists(path):
        return {}
    try:
        with open_regular(path) as f:
            data = json.loads(f.read().decode("utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: bad JSON or bad UTF-8
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else " ".join(str(exc).split())
        raise RegistryError(f"cannot read the user registry: {why}", hint="fix or delete the file", path=path) from None
    weights = data.get("weights", {}) if isinstance(data, dict) else None
    if not isinstance(weights, dict):
        raise RegistryError('the user registry must be a JSON object with a "weights" object of entries',
                            hint="fix or delete the file", path=path)
    return weights


def _load_user(path: Path) -> dict[str, WeightsEntry]:
    return {n: _entry_from_mapping(n, d, "user", path) for n, d in _read_user(path).items()}


def load_registry(shipped: Path = SHIPPED_REGISTRY) -> Registry:
    entries, default = _load_shipped(shipped)
    entries.update(_load_user(user_registry_path()))
    return Registry(entries=entries, default=default)


def add_user_entry(entry: WeightsEntry) -> Path:
    """Add or replace ``entry`` in the user's registry.json (written atomically; OSError when it cannot be).

    A malformed registry raises RegistryError and is left as it is."""
    from .atomic import write_atomic

    path = user_registry_path()
    current = _read_user(path)
    record = {k: v for k, v in asdict(entry).items() if k in _FIELDS}
    record["dim_mults"] = list(entry.dim_mults)
    current[entry.name] = record
    write_atomic(path, json.dumps({"weights": current}, indent=2, sort_keys=True) + "\n")
    return path
