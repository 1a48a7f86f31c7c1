"""Data-parallel GNN training over ``torch.distributed``: gloo on CPU, NCCL on GPUs.

``mmreason train-gnn --nproc N`` starts N processes through ``torchrun``
(``torch.distributed.run --standalone``); each calls :func:`join` and trains on
its share of every batch. After each backward pass the gradients are summed
across processes, each weighted by its share of the batch, so every process
takes the step one process would take on the whole batch, and the parameters
stay identical everywhere (same seed, same averaged gradients, same Adam).

This is the synchronous gradient all-reduce that ``DistributedDataParallel``
performs. The wrapper itself is not used: it synchronises only through its
``forward``, while a link predictor's training step scores through the encoder
and the interaction's own methods, and its overlap of communication with the
backward pass buys nothing for models of a few megabytes.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import torch

__all__ = ["all_reduce_sum", "average_gradients", "is_launched", "join", "process_group"]


def process_group() -> tuple[int, int]:
    """``(rank, world size)`` of this process; ``(0, 1)`` outside a process group."""
    dist = torch.distributed
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def is_launched() -> bool:
    """Whether this process was started by torchrun as one of several."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def average_gradients(module: torch.nn.Module, share: float) -> None:
    """Sum ``share × gradient`` over all processes, in place (one flat all-reduce)."""
    params = [p for p in module.parameters() if p.requires_grad]
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.reshape(-1) for g in grads]) * share
    torch.distributed.all_reduce(flat)
    offset = 0
    for p in params:
        n = p.numel()
        p.grad = flat[offset : offset + n].view_as(p).clone()
        offset += n


def all_reduce_sum(value: float) -> float:
    tensor = torch.tensor([value], dtype=torch.float64)
    if torch.distributed.get_backend() == "nccl":
        tensor = tensor.cuda()
    torch.distributed.all_reduce(tensor)
    return float(tensor.item())


@contextmanager
def join(device: str = "auto") -> Iterator[tuple[int, int, str]]:
    """Join the process group torchrun set up; yields ``(rank, world size, device)``.

    CUDA (when ``device`` allows it and there is one GPU per local rank) uses NCCL and the
    local rank's GPU; otherwise gloo on CPU, with the CPU's threads shared among the processes.
    """
    dist = torch.distributed
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", os.environ.get("WORLD_SIZE", "1")))
    cuda = device != "cpu" and torch.cuda.is_available() and torch.cuda.device_count() >= local_world
    if cuda:
        torch.cuda.set_device(local_rank)
        chosen = f"cuda:{local_rank}"
    else:
        chosen = "cpu"
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    dist.init_process_group(backend="nccl" if cuda else "gloo")
    try:
        yield dist.get_rank(), dist.get_world_size(), chosen
    finally:
        dist.destroy_process_group()
