"""The command classes of every `uir` command: --help shows a flag as a flag.

Typer shows a bool option's type as ``<bool>``, as if it took a value (``--quiet <bool>``); here
every flag without a metavar of its own (``--help`` and ``--version`` included) shows none.
"""

from __future__ import annotations

from typer.core import TyperCommand, TyperGroup


def _flags_as_flags(params: list) -> list:
    for param in params:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    return params


class Command(TyperCommand):
    """A command whose flags show no value type in --help."""

    def get_params(self, ctx) -> list:
        return _flags_as_flags(super().get_params(ctx))


class Group(TyperGroup):
    """A group of commands whose own flags show no value type in --help."""

    def get_params(self, ctx) -> list:
        return _flags_as_flags(super().get_params(ctx))
