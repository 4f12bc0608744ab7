"""Data-parallel training under ``torchrun``: one process per device, set up from torchrun's environment.

``torchrun --nproc_per_node=N -m img2img train ...`` sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT; without
them (plain ``img2img train``) everything here is a no-op and the trainer runs exactly as before.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """Rank 0 alone writes checkpoints, logs, samples and weights."""
        return self.rank == 0

    def device(self, device: torch.device) -> torch.device:
        """One GPU per process: ``cuda`` becomes ``cuda:LOCAL_RANK``."""
        return torch.device("cuda", self.local_rank) if self.enabled and device.type == "cuda" else device

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def wrap(self, module: nn.Module, device: torch.device, broadcast_buffers: bool = True) -> nn.Module:
        """DDP around ``module`` (gradients averaged over ranks); the module itself is returned unwrapped
        when not distributed. BatchNorm layers become SyncBatchNorm on CUDA (torch has no CPU SyncBatchNorm,
        so with gloo on the CPU each rank normalises over its own part of the batch)."""
        if not self.enabled:
            return module
        ids = [device.index] if device.type == "cuda" else None
        ddp = nn.parallel.DistributedDataParallel
        # torch >= 2.13 renamed the option (both still sync buffers once at construction, which is harmless here).
        key = "forward_sync_buffers" if "forward_sync_buffers" in inspect.signature(ddp).parameters else "broadcast_buffers"
        return ddp(module, device_ids=ids, **{key: broadcast_buffers})

    def sync_batchnorm(self, module: nn.Module, device: torch.device) -> nn.Module:
        if self.enabled and device.type == "cuda":
            return nn.SyncBatchNorm.convert_sync_batchnorm(module)
        return module

    def mean(self, scalars: dict[str, float]) -> dict[str, float]:
        """Average logged scalars over ranks, so rank 0 logs the loss of the global batch."""
        if not self.enabled or not scalars:
            return scalars
        keys = sorted(scalars)
        values = torch.tensor([float(scalars[k]) for k in keys], dtype=torch.float64)
        if dist.get_backend() == "nccl":
            values = values.cuda()
        dist.all_reduce(values)
        return {k: float(v) / self.world_size for k, v in zip(keys, values.tolist())}


def init_from_env(device: torch.device) -> Dist:
    """Join the process group torchrun describes (gloo on the CPU, nccl on CUDA); Dist() when alone."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return Dist()
    info = Dist(int(os.environ["RANK"]), world_size, int(os.environ.get("LOCAL_RANK", "0")))
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(info.local_rank)
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return info


class NullLogger:
    """Stands in for RunLogger on ranks other than 0."""

    def accumulate(self, scalars: dict[str, float]) -> None:
        pass

    def write(self, step: int, extra: dict[str, Any] | None = None) -> dict[str, float]:
        return {}

    def truncate_after(self, step: int) -> None:
        pass

    def close(self) -> None:
        pass
