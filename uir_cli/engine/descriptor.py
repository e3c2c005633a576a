"""The model descriptor: the one record of a loaded model, for restore, benchmark reports and training.

As in chaiNNer's spandrel, loaded weights come wrapped in a small descriptor holding what callers
need: the name and variant, the network's shape, the file and its sha256, the size inputs are padded
to, the precisions the network runs in, and whether tiling changes its picture.  The registry's
entries (:class:`uir_cli.registry.WeightsEntry`) say what ``weights.toml`` promises; a descriptor says
what was read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import torch
from torch import Tensor

from ..nn.unet import DiffUIRNet, UNetConfig
from ..registry import variant_id
from ..vocab import PRECISIONS

RUNS_IN = tuple(p for p in PRECISIONS if p != "auto")  # DiffUIR runs in float32, and under bf16/fp16 autocast


@dataclass(frozen=True)
class ModelDescriptor:
    """A loaded DiffUIR model.

    - ``name``: the registered name, else the file's name; ``steps``: its default sampling steps
      (the registry's; 3 for a file).  A restorer's descriptor holds the steps it samples with.
    - ``config``: the network's shape; ``path`` and ``sha256``: the file read and its digest.
    - ``which``: the weights taken, "ema", "online" or "unknown"; ``available``: those the file holds;
      ``file_format``: "authors-checkpoint", "state-dict" or "safetensors"; ``step``: the training
      step the file records; ``metadata``: a safetensors file's own.
    - ``precisions``: what the network runs in; ``tiling_changes_picture``: tiles give the whole
      image's picture only up to rounding and seams, since GroupNorm and attention see the whole
      image (the tiles share those statistics, see :mod:`uir_cli.nn.shared`).
    - ``state_dict``: bare U-Net keys, float32 tensors on the CPU; None in a descriptor that only
      describes (:meth:`described`: what a restorer keeps once the network is built).
    """

    name: str
    config: UNetConfig
    path: Path
    sha256: str
    which: str
    available: tuple[str, ...]
    file_format: str
    parameters: int
    step: int | None = None
    steps: int = 3
    precisions: tuple[str, ...] = RUNS_IN
    tiling_changes_picture: bool = True
    metadata: dict[str, str] = field(default_factory=dict, compare=False)
    state_dict: dict[str, Tensor] | None = field(default=None, repr=False, compare=False)

    @property
    def variant(self) -> str:
        """'diffuir-t' .. 'diffuir-l', or 'custom'."""
        return variant_id(self.config.dim, self.config.dim_mults)

    @property
    def size_multiple(self) -> int:
        """Inputs are padded to a multiple of this many pixels."""
        return self.config.size_multiple

    def build(self, device: torch.device | str = "cpu") -> DiffUIRNet:
        """A network with these weights, frozen for inference, on ``device``."""
        return self.network().to(device).freeze()

    def network(self) -> DiffUIRNet:
        """A network with these weights, on the CPU, as loaded (trainable)."""
        if self.state_dict is None:
            raise ValueError(f"the descriptor of {self.name} holds no weights (it was made to describe only)")
        net = DiffUIRNet(self.config)
        net.load_state_dict(self.state_dict, strict=True)
        return net

    def described(self, **changes) -> "ModelDescriptor":
        """This descriptor without the weights (and with ``changes``), for reports and restorers."""
        return replace(self, state_dict=None, **changes)

    def to_json(self) -> dict:
        """The record reports write (``uir restore --report``, ``uir benchmark``'s report.json)."""
        return {
            "name": self.name, "variant": self.variant, "dim": self.config.dim, "dim_mults": list(self.config.dim_mults),
            "parameters": self.parameters, "sha256": self.sha256, "path": str(Path(self.path).resolve()),
            "which": self.which, "steps": self.steps, "size_multiple": self.size_multiple,
            "precisions": list(self.precisions), "tiling_changes_picture": self.tiling_changes_picture,
        }
