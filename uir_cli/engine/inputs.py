"""phase 2: the old path of :mod:`uir_cli.engine.batch.inputs`, for benchmarks/restore_speed.py (held by
another change); removed once it imports it there."""

from .batch.inputs import discover

__all__ = ["discover"]
