"""The package's rooms import one way, and no module takes another's private names.

    cli -> training -> bench -> engine -> {imageio, diffusion, nn, degrade} -> {vocab, registry, errors, atomic, regular}

A room may import its own modules and any room below it; never a room above it, nor a room beside it
(imageio, diffusion, nn and degrade do not import each other; the bottom modules may).  Imports are read
with ``ast``, at module level and inside functions alike.
"""

from __future__ import annotations

import ast
from pathlib import Path

import uir_cli

PACKAGE = Path(uir_cli.__file__).resolve().parent
RANKS = {"__main__": 0, "cli": 1, "training": 2, "bench": 3, "engine": 4,
         "imageio": 5, "diffusion": 5, "nn": 5, "degrade": 5,
         "vocab": 6, "registry": 6, "errors": 6, "atomic": 6, "regular": 6, "": 6}
BOTTOM = 6



def _modules() -> dict[str, Path]:
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(["uir_cli", *parts])] = path
    return found


MODULES = _modules()


def _is_package(module: str) -> bool:
    return MODULES[module].name == "__init__.py"


def _imports(module: str, path: Path, is_package: bool):
    """(imported module, name or None, line) for every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if is_package else module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                full = f"{source}.{alias.name}"
                yield (full, None, node.lineno) if full in MODULES else (source, alias.name, node.lineno)


def _room(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _check(module: str, path: Path, rel: str) -> list[str]:
    """What ``module`` (the file ``path``, shown as ``rel``) imports against the rules."""
    found = []
    room = _room(module)
    is_package = path.name == "__init__.py"
    own_package = module if is_package else module.rsplit(".", 1)[0]
    for target, name, line in _imports(module, path, is_package):
        if target != "uir_cli" and not target.startswith("uir_cli."):
            continue
        where = f"{rel}:{line} imports {target}{'.' + name if name else ''}"
        other = _room(target)
        if other != room and not (RANKS[other] > RANKS[room] or RANKS[room] == RANKS[other] == BOTTOM):
            found.append(f"{where}: {room or 'uir_cli'} may not import {other or 'uir_cli'}")
        if any(_private(p) for p in target.split(".")) and not target.startswith(own_package + "."):
            found.append(f"{where}: a private module of another package")
        if name and _private(name) and target != module:
            found.append(f"{where}: a private name of another module")
    return found


def test_imports_run_one_way_and_take_no_private_names():
    problems = []
    for module, path in MODULES.items():
        problems += _check(module, path, path.relative_to(PACKAGE).as_posix())
    assert problems == []


def test_every_room_has_a_rank():
    assert {_room(m) for m in MODULES} <= set(RANKS)


def test_the_rules_catch_an_upward_import_and_a_private_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from ...cli.app import main\n\n\nfrom uir_cli.engine.weights import _PREFIXES\n"
                   "from uir_cli.degrade._common import as_rgb\n")
    problems = _check("uir_cli.engine.batch.bad", bad, "bad.py")
    assert len(problems) == 3
    assert "bad.py:2 imports uir_cli.cli.app.main: engine may not import cli" in problems
    assert any("bad.py:5" in p and "private name" in p for p in problems)
    assert any("bad.py:6" in p and "private module" in p for p in problems)
