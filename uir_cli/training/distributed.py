"""Distributed data parallel under ``torchrun``: who am I, on which device, and the process group.

``torchrun --nproc_per_node N $(which uir) train ...`` (or ``python -m
torch.distributed.run ... -m uir_cli train ...``) sets WORLD_SIZE, RANK and
LOCAL_RANK; each process then trains on its own shard of the sample stream
and DistributedDataParallel averages the gradients.  Rank 0 alone writes
checkpoints, logs and plots and runs validation.  Without those variables
everything here is a no-op (world size 1).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..engine.torchrun import distributed_share
from ..errors import DeviceError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the run; ``device`` is where its model lives."""

    rank: int
    local_rank: int
    world: int
    device: torch.device

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def setup(device: torch.device) -> DistInfo:
    """Read torchrun's variables and join the process group (nccl on CUDA, gloo otherwise).

    ``device``: the device the user asked for; on CUDA each process takes
    ``cuda:LOCAL_RANK`` instead.
    """
    rank, world, local_rank = distributed_share()  # a usage error for values torchrun never sets
    if world <= 1:
        return DistInfo(0, 0, 1, device)
    import torch.distributed as dist

    if device.type == "cuda":
        if local_rank >= torch.cuda.device_count():
            raise DeviceError(f"LOCAL_RANK {local_rank} but only {torch.cuda.device_count()} CUDA devices")
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
        backend = "nccl"
    else:
        backend = "gloo"
    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistInfo(rank, local_rank, world, device)


def barrier(info: DistInfo) -> None:
    """Wait until every rank gets here (nothing with one process)."""
    if info.enabled:
        import torch.distributed as dist

        dist.barrier()


def mean_scalar(value: torch.Tensor, info: DistInfo) -> float:
    """The mean over ranks of a scalar tensor (itself with one process)."""
    if not info.enabled:
        return float(value)
    import torch.distributed as dist

    t = value.detach().float().reshape(1).clone()
    dist.all_reduce(t)
    return float(t) / info.world


def any_rank(flag: bool, info: DistInfo) -> bool:
    """True on every rank when ``flag`` is true on at least one."""
    if not info.enabled:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0], device=info.device if info.device.type == "cuda" else "cpu")
    dist.all_reduce(t)
    return bool(t.item() > 0)


def teardown(info: DistInfo) -> None:
    """Leave the process group (nothing with one process)."""
    if info.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
