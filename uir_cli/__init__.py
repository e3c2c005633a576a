"""uir: universal image restoration with DiffUIR.

The package imports nothing heavy at import time, so that ``uir --help`` and
TAB completion stay fast.  The Python API is reached through lazy attributes::

    from uir_cli import load_restorer
    restorer = load_restorer("model-300.pt")            # or a registered name
    restored = restorer.restore_tensor(lq)               # (1, 3, H, W) in [0, 1]
"""

from __future__ import annotations

import os

# PyTorch's CPU allocator: back tensors of 2 MiB and more with transparent huge pages where
# the kernel gives them only on request (THP "madvise", the common default).  A fresh image-sized
# tensor then costs a few page faults instead of one per 4 KiB: a network call on a 512x512
# image was 1.2 (NCHW) to 1.5 (channels-last) times as fast on the CPU here.  Read by torch at its
# first large allocation, so it is set before torch is imported; a user's own setting wins.
os.environ.setdefault("THP_MEM_ALLOC_ENABLE", "1")

__version__ = "0.1.0"

_LAZY = {
    "load_restorer": ("uir_cli.engine.restorer", "load_restorer"),
    "Restorer": ("uir_cli.engine.restorer", "Restorer"),
    "load_weights": ("uir_cli.engine.weights", "load_weights"),
    "ModelDescriptor": ("uir_cli.engine.descriptor", "ModelDescriptor"),
    "DiffUIRNet": ("uir_cli.nn.unet", "DiffUIRNet"),
    "Schedule": ("uir_cli.diffusion.schedule", "Schedule"),
    "sample": ("uir_cli.diffusion.sampler", "sample"),
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'uir_cli' has no attribute {name!r}")
