"""torchrun's variables (WORLD_SIZE, RANK, LOCAL_RANK), read and checked once for every command.

No torch import: the CLI reads them before anything heavy loads.
"""

from __future__ import annotations

import os

from ..errors import UsageError, shown


def distributed_share() -> tuple[int, int, int]:
    """(rank, world size, local rank) under torchrun; (0, 1, 0) otherwise.

    Values that torchrun would never set (not a number, RANK outside 0..WORLD_SIZE-1) are a
    usage error, not a silent run of nothing.
    """
    def number(name: str, default: int) -> int:
        text = os.environ.get(name, "").strip()
        if not text:
            return default
        try:
            return int(text)
        except ValueError:
            raise UsageError(f"{name}={shown(text)} is not a whole number", hint="torchrun sets it; unset it to run alone") from None

    world = number("WORLD_SIZE", 1)
    rank = number("RANK", 0)
    local = number("LOCAL_RANK", rank)
    if world < 1:
        raise UsageError(f"WORLD_SIZE={world}: must be 1 or more")
    if not 0 <= rank < world:
        raise UsageError(f"RANK={rank} is not between 0 and WORLD_SIZE - 1 ({world - 1})", hint="torchrun sets both")
    if local < 0:
        raise UsageError(f"LOCAL_RANK={local}: must be 0 or more")
    return rank, world, local
