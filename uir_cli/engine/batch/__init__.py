"""The file pipeline of `uir restore`: find the inputs, claim each output, decode, restore, write, report.

- ``inputs``: files, folders and globs to :class:`InputItem` (natural order), output paths, shards
- ``locks``: one claim per output, so concurrent runs never write the same file
- ``pipeline``: :func:`plan_outputs` and :func:`run_batch` (decoding overlaps the model)
- ``events``: what a run reports, typed (:class:`~.events.Planned`, :class:`~.events.FileFinished` ...)
- ``report``: the environment a run used, and when

The names below load on first use: ``inputs`` alone imports no torch (``uir degrade`` takes it).
"""

from __future__ import annotations

_PIPELINE = ("BatchOptions", "FileResult", "plan_outputs", "run_batch")

__all__ = list(_PIPELINE)


def __getattr__(name: str):
    if name in _PIPELINE:
        from . import pipeline

        return getattr(pipeline, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
