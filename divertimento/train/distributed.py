"""Data-parallel training under ``torchrun`` (gloo on CPU, nccl on GPU).

Gradients are all-reduced explicitly after each phase's backward, as StyleGAN3's trainer does, rather than
through DistributedDataParallel's hooks: a GAN step runs D forward on real and fake batches before one
backward, and R1/gradient penalties need double backward, which DDP's reducer does not support.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_from_env() -> DistInfo:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        dist.init_process_group(backend)
    return DistInfo(dist.get_rank(), dist.get_world_size())


def broadcast_module(module: torch.nn.Module, info: DistInfo) -> None:
    """Every process starts from rank 0's weights."""
    if info.world > 1:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, src=0)


def average_gradients(module: torch.nn.Module, info: DistInfo) -> None:
    if info.world <= 1:
        return
    params = [p for p in module.parameters() if p.grad is not None]
    if not params:
        return
    flat = torch.cat([p.grad.flatten() for p in params])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for p in params:
        n = p.numel()
        p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
        offset += n


def shutdown(info: DistInfo) -> None:
    if info.world > 1 and dist.is_initialized():
        dist.destroy_process_group()


def in_sync(modules: list[torch.nn.Module], info: DistInfo) -> bool:
    """True when every process holds bit-identical weights (checked by gathering each rank's parameters)."""
    if info.world <= 1:
        return True
    flat = torch.cat([p.detach().flatten().double() for m in modules for p in m.parameters()])
    gathered = [torch.empty_like(flat) for _ in range(info.world)]
    dist.all_gather(gathered, flat)
    return all(torch.equal(gathered[0], g) for g in gathered[1:])
