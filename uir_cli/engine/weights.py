"""Loading weights safely, recognising the variant, and writing uir's safetensors.

Accepted files:
- the authors' trainer checkpoints (``step``, ``model``, ``opt0``, ``ema``,
  ``scaler``): the EMA weights by default, the online weights on request;
- bare state dicts, with or without ``model.unet0.``, ``module.``,
  ``ema_model.`` prefixes, or under a ``state_dict`` key;
- safetensors files (uir's own, or any with the same keys).

Only ``torch.load(..., weights_only=True)`` and safetensors are used: a file
that needs to unpickle anything else is refused before any of it runs.
"""

from __future__ import annotations

import json
import os
import pickle
import warnings
import zipfile
from pathlib import Path
from typing import BinaryIO

import torch
from torch import Tensor

from ..atomic import describe, write_atomic
from ..diffusion.schedule import BUFFER_NAMES
from ..errors import WeightsError
from ..regular import NotRegular, open_regular, sha256_of
from ..nn.unet import DiffUIRNet, UNetConfig
from .descriptor import ModelDescriptor

# Schedule buffers the authors save beside the network; uir recomputes them.
SCHEDULE_BUFFERS = frozenset(BUFFER_NAMES)
_PREFIXES = ("module.", "_orig_mod.", "ema_model.", "online_model.", "model.", "unet0.")
FORMAT_TAG = "uir-diffuir-v1"


def _open_weights(path: Path) -> BinaryIO:
    """``path`` opened for reading; one-line WeightsErrors for a missing file, a folder, a FIFO..."""
    try:
        return open_regular(path)
    except FileNotFoundError:
        raise WeightsError("no such file", path=path) from None
    except NotRegular as exc:
        what = "is a folder, not a weights file" if exc.strerror == "not a regular file: a folder" else exc.strerror
        raise WeightsError(what, path=path) from None
    except OSError as exc:
        raise WeightsError(f"cannot read: {describe(exc)}", path=path) from None


def _sniff(head: bytes, path: Path) -> str:
    """'zip' (torch.save), 'pickle' (legacy torch.save), 'safetensors', or 'unknown', from the first 16 bytes."""
    if not head:
        raise WeightsError("the file is empty", path=path)
    if head[:4] == b"PK\x03\x04":
        return "zip"
    if len(head) >= 9:  # before pickle's 0x80: a header of 128 + 256k bytes starts with 0x80 too
        n = int.from_bytes(head[:8], "little")
        if head[8:9] == b"{" and 0 < n < 100 * (1 << 20):
            return "safetensors"
    if head[:1] == b"\x80":
        return "pickle"
    return "unknown"


def torch_load(path: Path, f: BinaryIO | None = None) -> object:
    """``torch.load(..., weights_only=True)`` of ``path`` (read from ``f`` when given, else opened as a
    regular file), with one-line WeightsErrors."""
    if f is None:
        with _open_weights(path) as opened:
            return torch_load(path, opened)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols are not the user's business
            f.seek(0)
            return torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        # weights_only refuses any global that is not a tensor or a plain container.
        first = str(exc).strip().splitlines()
        what = next((ln for ln in first if "Unsupported global" in ln or "global" in ln.lower()), "")
        raise WeightsError(
            "refused: the file needs to unpickle objects other than tensors, which could run code"
            + (f" ({what.strip()[:160]})" if what else ""),
            hint="uir only loads weights_only checkpoints and safetensors",
            path=path,
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, ValueError, OSError) as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"not a readable checkpoint: truncated or corrupt ({msg[:160]})", path=path) from None


def _safetensors_load(data: bytes, path: Path) -> tuple[dict[str, Tensor], dict[str, str]]:
    """Tensors and metadata of safetensors file bytes (read once, from the regular file opened)."""
    from safetensors import SafetensorError
    from safetensors.torch import load

    try:
        size = int.from_bytes(data[:8], "little")
        header = json.loads(data[8:8 + size])
        meta = header.get("__metadata__") if isinstance(header, dict) else None
        metadata = {str(k): str(v) for k, v in meta.items()} if isinstance(meta, dict) else {}
        return load(data), metadata
    except (SafetensorError, ValueError, OSError, KeyError, TypeError) as exc:
        raise WeightsError(f"not a readable safetensors file ({str(exc)[:160]})", path=path) from None


def strip_prefixes(state: dict[str, Tensor]) -> dict[str, Tensor]:
    """Remove wrapper prefixes and the schedule buffers, leaving bare U-Net keys."""
    out = {}
    for key, value in state.items():
        k = key
        changed = True
        while changed:
            changed = False
            for p in _PREFIXES:
                if k.startswith(p):
                    k, changed = k[len(p) :], True
        if k in SCHEDULE_BUFFERS:
            continue
        out[k] = value
    return out


def _is_tensor_dict(d: object) -> bool:
    return isinstance(d, dict) and bool(d) and all(isinstance(v, Tensor) for v in d.values())


def _pick(obj: object, which: str, path: Path) -> tuple[dict[str, Tensor], str, tuple[str, ...], str, int | None]:
    """From a loaded object, choose the state dict: (state, which, available, format, step)."""
    if not isinstance(obj, dict):
        raise WeightsError(f"not a checkpoint: holds a {type(obj).__name__}, expected a dict of tensors", path=path)
    step = obj.get("step") if isinstance(obj.get("step"), int) else None
    ema = obj.get("ema")
    if isinstance(ema, dict) and any(str(k).startswith("ema_model.") for k in ema):
        ema_sd = {k: v for k, v in ema.items() if str(k).startswith("ema_model.") and isinstance(v, Tensor)}
        online = obj.get("model") if _is_tensor_dict(obj.get("model")) else None
        available = ("ema", "online") if online is not None else ("ema",)
        if which == "online":
            if online is None:
                raise WeightsError("the checkpoint holds no online weights (no 'model' entry)", path=path)
            return online, "online", available, "authors-checkpoint", step
        return ema_sd, "ema", available, "authors-checkpoint", step
    for key in ("model", "state_dict"):
        if _is_tensor_dict(obj.get(key)):
            if which == "ema":
                raise WeightsError("the checkpoint holds no EMA weights", hint="use the online weights", path=path)
            return obj[key], "online", ("online",), "authors-checkpoint" if key == "model" else "state-dict", step
    tensors = {k: v for k, v in obj.items() if isinstance(v, Tensor)}
    if not tensors:
        keys = ", ".join(map(str, list(obj)[:6]))
        raise WeightsError(f"not a checkpoint: no tensors found (top-level keys: {keys})", path=path)
    return tensors, "unknown", ("unknown",), "state-dict", step


def detect_config(state: dict[str, Tensor], path: Path) -> UNetConfig:
    """Recognise (dim, dim_mults) from tensor shapes alone."""
    init = state.get("init_conv.weight")
    if init is None or init.ndim != 4 or init.shape[1] != 6:
        found = ", ".join(list(state)[:4])
        raise WeightsError(
            "not DiffUIR weights: no init_conv.weight of shape (dim, 6, 7, 7)" + (f" (found keys like {found})" if found else ""),
            path=path,
        )
    dim = int(init.shape[0])
    widths = []
    i = 0
    while f"downs.{i}.0.block1.proj.weight" in state:
        widths.append(int(state[f"downs.{i}.0.block1.proj.weight"].shape[0]))
        i += 1
    if not widths:
        raise WeightsError("not DiffUIR weights: no down path (downs.0.*) found", path=path)
    last_down = state.get(f"downs.{i - 1}.3.weight")
    if last_down is None:
        raise WeightsError(f"missing key downs.{i - 1}.3.weight", path=path)
    widths.append(int(last_down.shape[0]))
    if any(w % dim for w in widths):
        raise WeightsError(f"widths {widths} are not multiples of dim {dim}", path=path)
    try:
        return UNetConfig(dim, tuple(w // dim for w in widths[1:]))
    except ValueError as exc:
        raise WeightsError(f"not DiffUIR weights: {exc}", path=path) from None


def check_against(config: UNetConfig, state: dict[str, Tensor], path: Path) -> None:
    """Compare keys and shapes with the network ``config`` builds; raise one clear error."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in DiffUIRNet(config).state_dict().items()}
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise WeightsError(f"missing keys: {', '.join(missing[:3])}{more}", hint="a truncated or different network", path=path)
    if unexpected:
        more = f" and {len(unexpected) - 3} more" if len(unexpected) > 3 else ""
        raise WeightsError(f"unexpected keys: {', '.join(unexpected[:3])}{more}", path=path)
    for k, shape in expected.items():
        if tuple(state[k].shape) != shape:
            raise WeightsError(f"shape mismatch at {k}: file has {tuple(state[k].shape)}, the network needs {shape}", path=path)
        if not state[k].is_floating_point():
            raise WeightsError(f"{k} is not a float tensor ({state[k].dtype})", path=path)


def check_finite(state: dict[str, Tensor], path: Path) -> None:
    """Refuse weights holding NaN or infinity: every output would be NaN (a diverged or damaged file)."""
    bad = [k for k, v in state.items() if not bool(torch.isfinite(v).all())]
    if bad:
        more = f" and {len(bad) - 1} more" if len(bad) > 1 else ""
        raise WeightsError(f"holds NaN or infinite values (in {bad[0]}{more})",
                           hint="the file is damaged or comes from a training run that diverged", path=path)


def load_weights(path: str | os.PathLike, *, which: str = "auto") -> ModelDescriptor:
    """Read weights from ``path`` safely; ``which`` is 'auto' (EMA if present), 'ema' or 'online'.

    Returns the model's descriptor, holding the weights, named after the file."""
    if which not in ("auto", "ema", "online"):
        raise ValueError(f"which must be auto, ema or online, not {which!r}")
    path = Path(path).expanduser()
    with _open_weights(path) as f:  # one open: what is checked, loaded and hashed is the same file
        kind = _sniff(f.read(16), path)
        metadata: dict[str, str] = {}
        step = None
        if kind == "safetensors":
            f.seek(0)
            raw, metadata = _safetensors_load(f.read(), path)
        elif kind in ("zip", "pickle"):
            raw = torch_load(path, f)
        else:
            raise WeightsError("not a checkpoint: neither a torch file nor safetensors", path=path)
        digest = sha256_of(f)
    if kind == "safetensors":
        stored = metadata.get("which", "unknown")
        if which != "auto" and stored not in (which, "unknown"):
            raise WeightsError(f"the file holds {stored} weights only, not {which}", path=path)
        state, chosen, available, fmt = raw, stored, (stored,), "safetensors"
        step = int(metadata["step"]) if metadata.get("step", "").isdigit() else None
    else:
        state, chosen, available, fmt, step = _pick(raw, which, path)
    state = strip_prefixes(state)
    config = detect_config(state, path)
    check_against(config, state, path)
    state = {k: v.float().contiguous() for k, v in state.items()}
    check_finite(state, path)
    return ModelDescriptor(name=path.name, config=config, path=path, sha256=digest, which=chosen, available=available,
                           file_format=fmt, parameters=sum(t.numel() for t in state.values()), step=step,
                           metadata=metadata, state_dict=state)


def save_safetensors(weights: ModelDescriptor | dict[str, Tensor], dest: Path, *, config: UNetConfig | None = None,
                     which: str | None = None, extra: dict[str, str] | None = None) -> Path:
    """Write bare U-Net weights (a loaded model's, or a state dict of ``config``) as safetensors (float32),
    atomically. Returns ``dest``."""
    from safetensors.torch import save

    if isinstance(weights, ModelDescriptor):
        state, config, which = weights.state_dict, weights.config, which or weights.which
        extra = {"source_sha256": weights.sha256, **({"step": str(weights.step)} if weights.step is not None else {}), **(extra or {})}
    else:
        state = weights
    if config is None or state is None:
        raise ValueError("config is required for a plain state dict" if config is None else "the descriptor holds no weights")
    metadata = {
        "format": FORMAT_TAG,
        "dim": str(config.dim),
        "dim_mults": ",".join(map(str, config.dim_mults)),
        "which": which or "unknown",
        **(extra or {}),
    }
    dest = Path(dest)
    # One safe write (no link followed, the usual file mode), as every other file uir writes.
    write_atomic(dest, save({k: v.detach().float().contiguous().cpu() for k, v in state.items()}, metadata=metadata))
    return dest
