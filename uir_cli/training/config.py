"""The resolved configuration of a training run, and its TOML file.

Precedence, lowest first: the defaults below (the authors' recipe, spec
section 6), the run's saved ``config.toml`` when resuming, a ``--config``
file, then options given on the command line.  Keys in a file are the long
option names (``batch-size`` or ``batch_size``).  Relative paths in a file are
read relative to that file's folder, on the command line relative to the
current folder; the resolved config holds absolute paths, so the copy saved in
``RUN_DIR/config.toml`` works from anywhere.

No torch here: the CLI imports this module to parse options.
"""

from __future__ import annotations

import json
import math
import sys
from dataclasses import dataclass, fields, replace
from pathlib import Path

from ..atomic import write_atomic
from ..errors import UsageError
from ..registry import is_weights_name
from ..vocab import OBJECTIVES, PRECISIONS, T_SAMPLING, TASKS, VARIANT_LETTERS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 only
    import tomli as tomllib

TASK_ALIASES = {
    "rain": "rain", "derain": "rain",
    "haze": "haze", "hazy": "haze", "fog": "haze", "dehaze": "haze",
    "snow": "snow", "desnow": "snow",
    "blur": "blur", "deblur": "blur", "motion-blur": "blur",
    "low-light": "low-light", "lowlight": "low-light", "low_light": "low-light", "light": "low-light", "lol": "low-light",
}  # fmt: skip
# The authors' mix of tasks in one batch (spec section 6).
DEFAULT_MIX = "haze:4,low-light:1,rain:2,snow:2,blur:1"
VARIANTS = VARIANT_LETTERS  # by letter, as --variant takes them
# --mix may also weigh "clean": photos given unchanged as input and target, so the network learns to
# leave alone what needs no restoration (uir's own addition to the authors' recipe).
CLEAN = "clean"
MIX_KEYS = (*TASKS, CLEAN)
# Which inputs are histogram-equalised before the network: "task" every low-light input (the authors'),
# "auto" any input whose mean luma is below 0.2, as `uir restore --task auto` decides.
EQUALIZE = ("task", "auto")
SHARES = ("light_share", "cast_share", "lines_share")  # shares of the training samples: numbers in [0, 1]
CONFIG_NAME = "config.toml"
_GROUPS = 8  # the network's GroupNorm groups (nn.unet.GROUPS): dim must be a multiple


@dataclass(frozen=True)
class TrainConfig:
    """Every setting of ``uir train``; see ``uir train --help`` for each one's meaning.

    ``data`` / ``val``: ``DIR`` or ``DIR:TASK`` strings (absolute once resolved);
    ``synthetic`` / ``val_synthetic``: folders of clean photos; ``tasks``: empty
    means every task the data provides (all five for synthetic data);
    ``variant``: empty means T, or the shape of the ``init`` weights;
    ``workers``: -1 picks automatically; ``max_pixels``: images with more
    pixels (read from the header) are skipped, 0 for no limit; ``light_share``: the share of
    synthetic samples whose degradation is weakened towards the clean photo
    (strength uniform in [0.05, 1]); ``cast_share``: the share of photo crops
    given a random colour cast (warm to cool light, a slight green or magenta
    tint) in both input and target, before any degradation, so that a cast
    is learnt as part of the scene; ``lines_share``: the share of photo crops
    given long thin straight lines (grids, mullions, cables) in both input and
    target, before any degradation, so that lines longer than any rain streak
    are learnt as part of the scene; ``equalize``: one of :data:`EQUALIZE`.
    """

    out: str = ""
    data: tuple[str, ...] = ()
    synthetic: tuple[str, ...] = ()
    tasks: tuple[str, ...] = ()
    val: tuple[str, ...] = ()
    val_synthetic: tuple[str, ...] = ()
    variant: str = ""
    dim: int | None = None
    dim_mults: tuple[int, ...] | None = None
    init: str = ""
    steps: int = 300_000
    batch_size: int = 10
    crop: int = 256
    lr: float = 8e-5
    accumulate: int = 2
    ema_decay: float = 0.995
    ema_every: int = 10
    ema_after: int = 100
    t_sampling: str = "uniform"
    objective: str = "forward"
    precision: str = "auto"
    val_every: int = 1000
    val_count: int = 8
    val_size: int = 128
    val_steps: int = 3
    save_every: int = 1000
    log_every: int = 50
    seed: int = 0
    device: str = "auto"
    workers: int = -1
    mix: str = DEFAULT_MIX
    max_side: int = 1024
    light_share: float = 0.0
    cast_share: float = 0.0
    lines_share: float = 0.0
    equalize: str = "task"
    max_pixels: int = 50_000_000

    @property
    def run_dir(self) -> Path:
        """The run folder (``out``)."""
        return Path(self.out)

    @property
    def shape(self) -> tuple[int, tuple[int, ...]]:
        """(dim, dim_mults) of the network: the variant's (T by default), with --dim / --dim-mults on top."""
        dim, mults = VARIANTS[self.variant or "T"]
        return (self.dim if self.dim is not None else dim, self.dim_mults if self.dim_mults is not None else mults)

    def mix_weights(self) -> dict[str, int]:
        """Task -> relative share of each batch, parsed from ``mix``."""
        return parse_mix(self.mix)


_FIELDS = {f.name: f for f in fields(TrainConfig)}
_PATH_LISTS = ("data", "val", "synthetic", "val_synthetic")
_PATHS = ("out", "init")


# --- parsing single values ---------------------------------------------------------------


def normalize_task(text: str, *, where: str = "") -> str:
    """'Low_Light', 'lol', 'fog' ... -> one of :data:`TASKS`; UsageError otherwise."""
    key = text.strip().lower().replace(" ", "-")
    if key not in TASK_ALIASES:
        raise UsageError(f"unknown task {text!r}{where}", hint=f"choose from {', '.join(TASKS)}")
    return TASK_ALIASES[key]


def split_spec(spec: str) -> tuple[str, str | None]:
    """'DIR:TASK' -> (DIR, task); 'DIR' -> (DIR, None).  Only a known task name after the last ':' counts."""
    head, sep, tail = spec.rpartition(":")
    if sep and head and tail.strip().lower().replace(" ", "-") in TASK_ALIASES:
        return head, normalize_task(tail)
    return spec, None


def parse_dim_mults(value: object) -> tuple[int, ...]:
    """'1,2,2,4' or [1, 2, 2, 4] -> (1, 2, 2, 4); UsageError for anything else."""
    items = value.replace(" ", "").split(",") if isinstance(value, str) else value
    bad = UsageError(f"--dim-mults must be 1 to 6 positive integers like 1,2,2,4, not {value!r}")
    if not isinstance(items, (list, tuple)) or not 1 <= len(items) <= 6:
        raise bad
    mults = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, str)) or (isinstance(item, str) and not item.isdigit()):
            raise bad
        mults.append(int(item))
    if any(m <= 0 for m in mults):
        raise bad
    return tuple(mults)


def parse_mix(text: str) -> dict[str, int]:
    """'haze:4,rain:2,clean:1' -> {'haze': 4, 'rain': 2, 'clean': 1}; weights are positive integers.

    Keys are tasks (any alias) or ``clean`` (unchanged photos as input and target).
    """
    out: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        name, sep, weight = part.rpartition(":")
        if not sep:
            raise UsageError(f"--mix entries are TASK:WEIGHT, not {part!r}", hint=f"e.g. {DEFAULT_MIX}")
        try:
            w = int(weight)
        except ValueError:
            raise UsageError(f"--mix weight must be an integer, not {weight!r}") from None
        if w <= 0:
            raise UsageError(f"--mix weight must be positive, not {w}")
        key = CLEAN if name.strip().lower() == CLEAN else normalize_task(name, where=" in --mix")
        out[key] = w
    if not out:
        raise UsageError("--mix is empty", hint=f"e.g. {DEFAULT_MIX}")
    return out


def _as_list(value: object, name: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise UsageError(f"{name} must be a string or a list of strings, not {value!r}")


def _absolute(path: str, base: Path) -> str:
    p = Path(path).expanduser()
    return str(p if p.is_absolute() else (base / p).absolute())


def _coerce(name: str, value: object, base: Path) -> object:
    """One option's value, from a file or the command line, to the field's type."""
    if name in _PATH_LISTS:
        out = []
        for spec in _as_list(value, name):
            path, task = split_spec(spec)
            out.append(_absolute(path, base) + (f":{task}" if task else ""))
        return tuple(out)
    if name == "init" and is_weights_name(str(value), base):
        return str(value)  # a registered name (`uir weights list`), looked up when the run starts
    if name in _PATHS:
        return _absolute(str(value), base) if str(value) else ""
    if name == "tasks":
        items = value.split(",") if isinstance(value, str) else _as_list(value, name)
        tasks = tuple(dict.fromkeys(normalize_task(t, where=" in --tasks") for t in items if t.strip()))
        return tasks
    if name == "dim_mults":
        return parse_dim_mults(value)
    if name == "variant":
        if not str(value).strip():
            return ""
        v = str(value).strip().upper().removeprefix("DIFFUIR-")
        if v not in VARIANTS:
            raise UsageError(f"unknown variant {value!r}", hint="choose T, S, B or L")
        return v
    if name == "mix":
        parse_mix(str(value))
        return str(value)
    if name in ("t_sampling", "objective", "precision", "device", "equalize"):
        v = str(value).strip().lower()
        allowed = {"t_sampling": T_SAMPLING, "objective": OBJECTIVES, "precision": PRECISIONS, "equalize": EQUALIZE}.get(name)
        if allowed and v not in allowed:
            raise UsageError(f"--{name.replace('_', '-')} must be one of {', '.join(allowed)}, not {value!r}")
        return v
    if name in ("lr", "ema_decay") + SHARES:
        try:
            v = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise UsageError(f"--{name.replace('_', '-')} must be a number, not {value!r}") from None
        if not math.isfinite(v):
            raise UsageError(f"--{name.replace('_', '-')} must be finite")
        return v
    # the rest are integers
    if isinstance(value, bool) or (isinstance(value, float) and value != int(value)):
        raise UsageError(f"--{name.replace('_', '-')} must be an integer, not {value!r}")
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise UsageError(f"--{name.replace('_', '-')} must be an integer, not {value!r}") from None


def _check(config: TrainConfig) -> TrainConfig:
    """Ranges and combinations; raises UsageError with the option's name."""
    positive = ("steps", "batch_size", "accumulate", "ema_every", "val_every", "save_every", "log_every", "val_count", "val_steps")
    for name in positive:
        if getattr(config, name) < 1:
            raise UsageError(f"--{name.replace('_', '-')} must be at least 1, not {getattr(config, name)}")
    if config.crop < 8:
        raise UsageError(f"--crop must be at least 8 pixels, not {config.crop}")
    if config.val_size < 8:
        raise UsageError(f"--val-size must be at least 8 pixels, not {config.val_size}")
    if config.max_side < config.crop:
        raise UsageError(f"max-side ({config.max_side}) must be at least --crop ({config.crop})")
    if not 0 < config.lr < 1:
        raise UsageError(f"--lr must be between 0 and 1, not {config.lr}")
    for name in SHARES:
        if not 0 <= getattr(config, name) <= 1:
            raise UsageError(f"--{name.replace('_', '-')} must be between 0 and 1, not {getattr(config, name)}")
    if not 0 <= config.ema_decay < 1:
        raise UsageError(f"--ema-decay must be in [0, 1), not {config.ema_decay}")
    if config.ema_after < 0:
        raise UsageError(f"--ema-after must be 0 or more, not {config.ema_after}")
    if config.max_pixels < 0:
        raise UsageError(f"--max-pixels must be 0 (no limit) or more, not {config.max_pixels}")
    if config.workers < -1:
        raise UsageError(f"--workers must be 0 or more (or -1 for automatic), not {config.workers}")
    if config.val_steps > 1000:
        raise UsageError("--val-steps must be at most 1000")
    dim, _ = config.shape
    if dim <= 0 or dim % _GROUPS:
        raise UsageError(f"--dim must be a positive multiple of {_GROUPS}, not {dim}")
    if not config.out:
        raise UsageError("--out is required: the folder for checkpoints, logs and plots")
    return config


# --- files -------------------------------------------------------------------------------


def read_toml(path: Path) -> dict[str, object]:
    """The top-level table of a TOML file, keys normalised to field names; errors name the file."""
    path = Path(path).expanduser()
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("no such config file", path=path) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the config file: {exc}", path=path) from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"not valid TOML: {exc}", path=path) from None
    out: dict[str, object] = {}
    for key, value in raw.items():
        name = key.replace("-", "_")
        if name not in _FIELDS:
            raise UsageError(f"unknown key {key!r}", path=path, hint="keys are the long option names of `uir train`")
        out[name] = value
    return out


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a TOML basic string (same escapes)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(f"cannot write {value!r} to TOML")


def dump_toml(config: TrainConfig) -> str:
    """The config as TOML text, one key per field (fields that are None are left out)."""
    lines = ["# uir train: the resolved configuration of this run (edit and pass with --config, or --resume)"]
    for f in fields(TrainConfig):
        value = getattr(config, f.name)
        if value is None:
            continue
        lines.append(f"{f.name.replace('_', '-')} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def save_config(config: TrainConfig, path: Path) -> Path:
    """Write :func:`dump_toml` atomically to ``path``; raises OSError."""
    return write_atomic(path, dump_toml(config))


def config_from_text(text: str) -> TrainConfig:
    """Parse :func:`dump_toml` output (already absolute) back into a config."""
    raw = tomllib.loads(text)
    values = {k.replace("-", "_"): v for k, v in raw.items()}
    return replace(TrainConfig(), **{k: _coerce(k, v, Path.cwd()) for k, v in values.items() if k in _FIELDS})


def resolve_config(*, config_file: Path | None = None, resume: bool = False, cwd: Path | None = None,
                   **cli: object) -> TrainConfig:
    """Merge defaults, the run's saved config (when ``resume``), ``config_file`` and ``cli`` values.

    ``cli``: field name -> value for the options given on the command line
    (None means not given).  With ``resume`` the run folder (``out`` from the
    command line, else from the file) contributes its ``config.toml`` beneath
    the file and the command line.  Returns a checked, absolute-path config;
    raises :class:`UsageError` naming the option (and file) on any bad value.
    """
    cwd = Path(cwd or Path.cwd())
    from_file: dict[str, object] = {}
    if config_file is not None:
        path = Path(config_file).expanduser()
        base = path.absolute().parent
        for key, value in read_toml(path).items():
            try:
                from_file[key] = _coerce(key, value, base)
            except UsageError as exc:
                raise UsageError(exc.message, hint=exc.hint, path=path) from None
    from_cli: dict[str, object] = {}
    for key, value in cli.items():
        if key not in _FIELDS:
            raise TypeError(f"unknown config field {key!r}")
        if value is None or (isinstance(value, (list, tuple)) and not value and key in _PATH_LISTS):
            continue
        from_cli[key] = _coerce(key, value, cwd)
    values: dict[str, object] = {}
    out = from_cli.get("out") or from_file.get("out")
    if resume and out:
        saved = Path(str(out)) / CONFIG_NAME
        if saved.is_file():
            values.update({k: _coerce(k, v, saved.parent) for k, v in read_toml(saved).items()})
    values.update(from_file)
    values.update(from_cli)
    if out:
        values["out"] = out
    return _check(replace(TrainConfig(), **values))
