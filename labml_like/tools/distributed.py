"""
---
title: Devices and several processes
summary: >-
  Choosing the device, the process group under torchrun, SyncBatchNorm, channels-last,
  torch.compile and DistributedDataParallel: how the model is placed before the loop starts.
---

# Devices and several processes

The [trainer](../experiments/trainer.html) runs the same loop in one process or in many. What
changes with the number of processes, and with the device, is set up here once, before the loop
starts: which device each process uses, how the processes talk, how BatchNorm shares its
statistics, and how the model is wrapped.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.distributed as dist
from torch import nn

from labml_like.tools.errors import TrainingError


def pick_device(name: str = "auto") -> torch.device:
    """
    ## Choosing a device

    `auto` takes a CUDA GPU if this machine has one, else Apple's MPS, else the CPU.
    Any other name (`cpu`, `cuda`, `cuda:1`, `mps`) is used as given, after checking that it
    exists, so that a typo fails here with a clear message and not deep inside the first
    convolution.
    """
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as e:
        raise TrainingError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from e
    if device.type == "cuda" and not torch.cuda.is_available():
        raise TrainingError(f"device {name!r} requested but CUDA is not available here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise TrainingError(f"device {name!r} requested but MPS is not available here")
    return device


@dataclass
class Distributed:
    """
    ## Several processes

    `torchrun --nnodes M --nproc_per_node N` starts $N$ copies of the program on each of $M$
    machines, $W = M N$ processes in all, and tells each three numbers through environment
    variables: `WORLD_SIZE` $W$; `RANK`, its place among all $W$ processes, from 0 to $W - 1$
    and never the same for two processes; and `LOCAL_RANK`, its place among the $N$ processes of
    its own machine, from 0 to $N - 1$, which picks its GPU there. On one machine ($M = 1$) the
    two ranks are equal. A plain `python` run has none of these variables and is the world of one
    process.
    """

    rank: int = 0
    world_size: int = 1

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) prints, writes metrics and saves checkpoints."""
        return self.rank == 0

    def gather(self, value) -> list:
        """The `value` of every process, as a list indexed by rank."""
        if self.world_size == 1:
            return [value]
        values = [None] * self.world_size
        dist.all_gather_object(values, value)
        return values

    def all_reduce(self, t: torch.Tensor) -> torch.Tensor:
        """Sum `t` over all processes, in place."""
        if self.world_size > 1:
            dist.all_reduce(t)
        return t

    def broadcast_buffers(self, model: nn.Module) -> None:
        """
        Copy rank 0's buffers, BatchNorm's running mean and variance, to every process.

        `DistributedDataParallel` keeps the replicas' *weights* identical, but buffers are not
        weights: no gradient flows to them, so they are not averaged. With plain BatchNorm each
        process updates its own from its own share of the batch (with SyncBatchNorm they all
        see the whole batch). DDP copies rank 0's buffers to the others at the start of every
        training step, which keeps training in step, but after the last step of an epoch every
        process holds the statistics of a different last batch. Each process
        scores its own share of the test set, so each share would be scored by a slightly
        different model, and only rank 0's is the one saved in the checkpoint: a run resumed
        from that checkpoint would report other numbers than the run that saved it. Evaluation
        therefore starts with this copy, and every share is scored by the model that is saved.
        """
        if self.world_size > 1:
            for buffer in model.buffers():
                dist.broadcast(buffer, src=0)


class Placement(NamedTuple):
    """Where this process trains: its place among the processes, and its device."""

    distributed: Distributed
    device: torch.device


def init_distributed(device_name: str = "auto") -> Placement:
    """
    Set up the process group when started by `torchrun`, and choose this process's device.
    GPUs talk through NCCL; CPUs through gloo, which is what lets the tests check the
    multi-process code on a machine without GPUs.
    """
    device = pick_device(device_name)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Placement(Distributed(), device)
    if device.type == "cuda":
        device = torch.device("cuda", int(os.environ["LOCAL_RANK"]))
        torch.cuda.set_device(device)
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Placement(Distributed(dist.get_rank(), dist.get_world_size()), device)


def use_sync_batchnorm(sync_bn: bool, world_size: int, device: torch.device) -> bool:
    r"""
    ## BatchNorm across processes

    BatchNorm normalizes each channel with the mean and variance of the current batch. Under
    `torchrun` each process runs its own replica on its own share of the batch, and plain
    BatchNorm only sees that share: with batches of 512 on 4 GPUs, each replica computes its
    statistics from 128 images. Those are a quarter of the data, so they are noisier estimates of
    the batch's statistics, and they differ from replica to replica. The normalization, and the
    noise it adds to training, then depend on the number of GPUs, and a recipe tuned on one GPU
    is not quite the same recipe on four.

    `SyncBatchNorm` has the processes exchange their per-channel statistics (count, mean and
    inverse standard deviation) in every BatchNorm layer, and two per-channel sums in the backward
    pass, so that each replica normalizes with the statistics of all 512 images, as a single GPU
    would. The price is one small exchange per layer and pass. We use it whenever several CUDA
    processes train together, unless `--no-sync-bn` says otherwise.

    PyTorch's `SyncBatchNorm` runs on CUDA only (and a few other accelerators, not the CPU). On the
    CPU, where processes talk through gloo, we keep plain BatchNorm: the statistics are then per
    process, and the run says so in one line at the start.
    """
    return sync_bn and world_size > 1 and device.type == "cuda"


def prepare_batchnorm(
    model: nn.Module, sync_bn: bool, world_size: int, device: torch.device, batch_size: int
) -> tuple[nn.Module, str | None]:
    """
    The model with its BatchNorm layers converted to `SyncBatchNorm` when
    [`use_sync_batchnorm`](#use_sync_batchnorm) says so, and the line to log about it (`None` for
    a single process). `SyncBatchNorm` keeps the same parameters and buffers under the same names,
    so a checkpoint saved with it loads into plain BatchNorm and back.
    """
    norms = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.SyncBatchNorm)
    if world_size == 1 or not any(isinstance(m, norms) for m in model.modules()):
        return model, None
    if use_sync_batchnorm(sync_bn, world_size, device):
        return nn.SyncBatchNorm.convert_sync_batchnorm(model), (
            f"BatchNorm: SyncBatchNorm, statistics over all {batch_size} images of a step, "
            f"across the {world_size} processes"
        )
    reason = "--no-sync-bn" if not sync_bn else f"SyncBatchNorm needs CUDA, this is {device.type}"
    return model, (
        f"BatchNorm: statistics per process, over each process's {batch_size // world_size} of "
        f"the {batch_size} images of a step ({reason})"
    )


def share_of_batch(batch_size: int, world_size: int) -> int:
    """Each process's part of a step's `batch_size` images; they must divide evenly."""
    if batch_size % world_size:
        raise TrainingError(
            f"batch_size {batch_size} is not divisible by the {world_size} processes"
        )
    return batch_size // world_size


class PlacedModel(NamedTuple):
    """
    The model three ways: `model` holds the weights (what a checkpoint saves), `forward` runs it
    (compiled or not), and `network` is what training calls (wrapped in DDP with several
    processes).
    """

    model: nn.Module
    forward: Callable[..., torch.Tensor]
    network: Callable[..., torch.Tensor]


def place_model(
    model: nn.Module,
    distributed: Distributed,
    device: torch.device,
    memory_format: torch.memory_format,
    sync_bn: bool,
    compile: bool,
    batch_size: int,
) -> PlacedModel:
    """
    ## Placing the model

    **SyncBatchNorm first.** Convert before anything else holds the model's parameters (the
    optimizer, DDP): the conversion builds new layers. See
    [`use_sync_batchnorm`](#use_sync_batchnorm) for why.
    """
    model, batchnorm_note = prepare_batchnorm(
        model, sync_bn, distributed.world_size, device, batch_size
    )
    if batchnorm_note and distributed.is_main:
        print(batchnorm_note, flush=True)
    # **Channels-last.** PyTorch stores a batch as `[B, C, H, W]` by default: one whole image
    # plane per channel. In *channels-last* order, `[B, H, W, C]` in memory (the tensor's shape
    # does not change), the $C$ values of one pixel sit side by side. That is what a
    # $1 \times 1$ convolution reads, a matrix product over channels. NVIDIA's guide to
    # convolution performance recommends this layout (NHWC) where possible, so that tensor-core
    # convolutions need not transpose their inputs and outputs. Whether a given convolution in
    # the default layout is transposed depends on the algorithm cuDNN picks for it; we have not
    # measured the gain for ConvMixer.
    model = model.to(  # type: ignore[call-overload]  # stubs lack memory_format
        device, memory_format=memory_format
    )
    # **Compiling.** `torch.compile` traces the model into a graph and generates fused kernels:
    # a chain of element-wise operations, such as BatchNorm's normalization followed by the
    # residual addition, runs in a single fused kernel that reads its input from memory once and
    # writes its output once, instead of once per operation. PyTorch's documentation calls this
    # fusion the most important optimization of TorchInductor, the compiler behind
    # `torch.compile`. BatchNorm in training mode cannot be folded into one such pass: it must
    # first reduce the whole batch to each channel's mean and variance before it can normalize
    # any value, so it takes at least one pass to compute the statistics and another to apply
    # them. The first steps are slow (they compile), so compiling pays off in long runs.
    forward = torch.compile(model) if compile else model
    # **Data parallel.** With several processes, `DistributedDataParallel` keeps one replica of
    # the model per process. Each computes gradients on its own share of the batch, and during
    # the backward pass the gradients are averaged across processes, so every replica takes the
    # same step and the replicas stay identical. Rank 0's initial weights are copied to the
    # others at construction.
    network = forward
    if distributed.world_size > 1:
        ids = [device.index] if device.type == "cuda" else None
        network = nn.parallel.DistributedDataParallel(forward, device_ids=ids)
    return PlacedModel(model, forward, network)
