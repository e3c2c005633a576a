"""Named weights on disk: resolving a registry name, importing and verifying files."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..atomic import describe
from ..errors import RegistryError, WeightsError, shown
from ..registry import WeightsEntry, add_user_entry, data_dir, is_weights_name, load_registry, user_registry_path
from .descriptor import ModelDescriptor
from .weights import load_weights, save_safetensors, sha256_of

_FILE_SUFFIXES = frozenset({".pt", ".pth", ".ckpt", ".bin", ".safetensors"})
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def load_model(spec: str | Path, *, which: str = "auto") -> ModelDescriptor:
    """The model of a registered name (named so, with the registry's steps) or of a file."""
    if is_weights_name(str(spec)):
        name = str(spec)
        if Path(name).suffix.lower() in _FILE_SUFFIXES and name not in load_registry().entries:
            # "model.pt": meant as a file that is not there, not as a name
            raise WeightsError("no such file (nor registered weights of that name)", path=name)
        return resolve_named(name, which=which)
    return load_weights(Path(spec).expanduser(), which=which)


def resolve_named(name: str, *, which: str = "auto") -> ModelDescriptor:
    """Load the weights registered as ``name`` (the model is named so, with the entry's steps); clear errors
    when absent or altered."""
    entry = load_registry().get(name)
    path = entry.path()
    if path is None or not path.is_file():
        if entry.page:
            hint = f"download {entry.filename or 'the checkpoint'} from {entry.page}, then run `uir weights import FILE --name {entry.name}`"
        else:
            hint = "the file is gone; import it again with `uir weights import`"
        where = f" (expected at {path})" if path else ""
        raise RegistryError(f"weights {name!r} are not on this machine{where}", hint=hint)
    model = load_weights(path, which=which)
    if entry.sha256 and model.sha256 != entry.sha256:
        raise WeightsError(
            f"sha256 mismatch for {name!r}: file has {model.sha256[:12]}…, registry says {entry.sha256[:12]}…",
            hint="the file was changed or replaced; import it again",
            path=path,
        )
    return replace(model, name=entry.name, steps=entry.steps)


def weights_store() -> Path:
    return data_dir() / "weights"


def import_weights(source: Path, name: str, *, which: str = "auto", description: str = "", steps: int = 3) -> WeightsEntry:
    """Validate ``source``, write the weights restore uses as safetensors into the store, register it."""
    if not _NAME.fullmatch(name):  # fullmatch: `$` would let a name end in a newline
        raise RegistryError(f"invalid name {shown(name)}", hint="letters, digits, '.', '_' and '-' (at most 64)")
    model = load_weights(source, which=which)
    dest = weights_store() / f"{name}.safetensors"
    try:
        save_safetensors(model, dest, extra={"name": name, "source_file": Path(source).name})
    except OSError as exc:
        raise RegistryError(f"cannot store the weights: {describe(exc)}", path=dest,
                            hint="the data directory is $UIR_HOME, else $XDG_DATA_HOME/uir") from None
    entry = WeightsEntry(
        name=name,
        variant=model.variant,
        dim=model.config.dim,
        dim_mults=model.config.dim_mults,
        steps=steps,
        file=str(dest.resolve()),
        sha256=sha256_of(dest),
        source=f"imported from {Path(source).resolve()} (sha256 {model.sha256}, {model.which} weights)",
        license="",
        description=description or f"{model.variant} imported from {Path(source).name}",
        origin="user",
    )
    try:
        add_user_entry(entry)
    except OSError as exc:
        dest.unlink(missing_ok=True)
        raise RegistryError(f"cannot update the user registry: {describe(exc)}", path=user_registry_path()) from None
    return entry


@dataclass(frozen=True)
class VerifyResult:
    name: str
    path: str
    status: str  # "ok", "mismatch", "missing", "unreadable", "unpinned", "not-downloaded"
    detail: str = ""


def verify_all() -> list[VerifyResult]:
    """Re-check the sha256 of every stored file against the registry."""
    results = []
    for entry in load_registry().entries.values():
        path = entry.path()
        if path is None:
            results.append(VerifyResult(entry.name, "", "not-downloaded", entry.page))
            continue
        if not os.path.lexists(path):
            results.append(VerifyResult(entry.name, str(path), "missing"))
            continue
        try:
            digest = sha256_of(path)
        except OSError as exc:  # a FIFO, a loop, permission denied: one line, never a hang or a traceback
            results.append(VerifyResult(entry.name, str(path), "unreadable", describe(exc)))
            continue
        if not entry.sha256:
            results.append(VerifyResult(entry.name, str(path), "unpinned", digest))
        elif digest == entry.sha256:
            results.append(VerifyResult(entry.name, str(path), "ok", digest))
        else:
            results.append(VerifyResult(entry.name, str(path), "mismatch", f"file {digest}, expected {entry.sha256}"))
    return results
