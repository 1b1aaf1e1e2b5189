r"""
---
title: The training loop
summary: >
  A generic, annotated training loop for image classifiers: device choice, mixed precision
  (bfloat16, or float16 with a gradient scaler), channels-last, one-cycle learning rates, atomic
  checkpoints with exact resume, Ctrl-C handling,
  several GPUs with DDP, and evaluation with a confusion matrix.
---

# The training loop

This page trains any image classifier that maps `[B, 3, H, W]` images to `[B, n_classes]` logits.
The [ConvMixer experiment](../conv_mixer/experiment.html) uses it to train
[ConvMixer](../conv_mixer/index.html#ConvMixer) on CIFAR-10, but nothing below knows about
ConvMixer.

A training loop is short when nothing goes wrong. Most of this page is about the things that do go
wrong, and about making a run something you can trust:

* **speed**: the whole dataset lives on the device as `uint8`, augmentation runs on whole batches
  there, matrix multiplications run in 16-bit floats on CUDA GPUs, and tensors use the channels-last
  layout;
* **reproducibility**: every random number comes from a seeded generator whose state is saved, so a
  run that was killed and resumed on a CPU produces *exactly* the same numbers as one that was not;
* **safety**: checkpoints are written atomically, a diverging loss stops the run with a clear
  message, and Ctrl-C saves before it exits;
* **scale**: the same code runs on several GPUs under `torchrun`, each process training on its own
  share of every batch, with BatchNorm statistics shared across them.

Metrics go to `runs/<name>/metrics.jsonl`, one JSON object per line, which the
[plotting code](#plot_run) at the end of this page turns into the curves you see on the experiment
page.
"""

import contextlib
import json
import math
import os
import pickle
import signal
import sys
import time
import zipfile
from dataclasses import asdict, dataclass, fields, is_dataclass
from pathlib import Path
from types import FrameType
from typing import IO, NamedTuple

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from labml_like.experiments.cifar10 import CIFAR10, batches

if sys.platform != "win32":
    import fcntl


class TrainingError(Exception):
    """A problem that stops training, reported as one clear message."""


class Interrupted(Exception):
    """Ctrl-C or SIGTERM stopped the run; the state is saved in the checkpoint the message names."""

    def __init__(self, message: str, signum: int = signal.SIGINT):
        super().__init__(message)
        self.signum = signum


@dataclass
class OptimConfig:
    r"""
    ## Optimizer settings

    * `name` is `adam`, `adamw` or `sgd`
    * `lr` is the peak learning rate $\eta_{max}$ (the constant rate when `schedule` is `constant`)
    * `weight_decay` is $\lambda$; with `adamw` it is decoupled from the gradient, with `adam` and
      `sgd` it is added to the gradient as an L2 penalty
    * `schedule` is `constant` or `one_cycle`
    * `betas` are Adam's moment decay rates $\beta_1, \beta_2$
    * `grad_clip` clips the gradients' global norm to this value; `0` turns it off
    """

    name: str = "adamw"
    lr: float = 0.05
    weight_decay: float = 0.005
    schedule: str = "one_cycle"
    betas: tuple[float, float] = (0.9, 0.999)
    grad_clip: float = 0.0

    def problems(self) -> dict[str, str]:
        """The invalid fields, as `{name: what it must be}` (see [checking settings](#invalid))."""
        return invalid(
            name=(self.name in ("adam", "adamw", "sgd"), "adam, adamw or sgd"),
            lr=(0 < self.lr < math.inf, "a finite number above 0"),
            weight_decay=(0 <= self.weight_decay < math.inf, "a finite number, 0 or more"),
            schedule=(self.schedule in ("constant", "one_cycle"), "constant or one_cycle"),
            betas=(all(0 <= b < 1 for b in self.betas), "two numbers from 0 up to (not) 1"),
            grad_clip=(0 <= self.grad_clip < math.inf, "0 (off) or a finite number above 0"),
        )


@dataclass
class TrainerConfig:
    r"""
    ## Training settings

    Experiments extend this dataclass with their own fields (model and data settings); the
    trainer only reads these.

    * `epochs` is the number of passes over the training set
    * `batch_size` is the number of images per optimizer step, over all processes together
      (each of $W$ processes takes `batch_size / W`)
    * `seed` seeds the model's initialization, the shuffling and the augmentation
    * `label_smoothing` is $\epsilon$ of [label smoothing](#Trainer.loss)
    * `precision` is `bf16`, `fp16` or `fp32`, the number format of the forward pass on CUDA
      ([mixed precision](#autocast_dtype)); `fp16` adds a gradient scaler. On the CPU and MPS
      training runs in float32 whatever this says
    * `drop_last` drops the last, smaller batch of every epoch
    * `sync_bn` uses SyncBatchNorm when several CUDA processes train together
    * `channels_last` stores images and activations as `[B, H, W, C]` in memory
    * `compile` runs the model through `torch.compile`
    * `tta` also reports test accuracy with flip test-time augmentation
    * `log_every` is the number of steps between metric rows and progress updates
    """

    epochs: int = 25
    batch_size: int = 512
    seed: int = 0
    label_smoothing: float = 0.0
    precision: str = "bf16"
    drop_last: bool = True
    sync_bn: bool = True
    channels_last: bool = True
    compile: bool = False
    tta: bool = False
    log_every: int = 20

    def problems(self) -> dict[str, str]:
        """The invalid fields, as `{name: what it must be}`."""
        return invalid(
            epochs=(self.epochs >= 1, "at least 1"),
            batch_size=(self.batch_size >= 1, "at least 1"),
            seed=(0 <= self.seed < 2**32, "from 0 to 2**32 - 1"),
            label_smoothing=(0 <= self.label_smoothing <= 1, "from 0 to 1"),
            log_every=(self.log_every >= 1, "at least 1"),
        )


# ## Checking settings
#
# Every settings dataclass lists its invalid fields in a `problems` method, and
# `config_problems` collects them into messages that name the command-line flag. A bad value
# then stops the run in its first second with one line, instead of a traceback from deep inside
# PyTorch after the data has loaded, or, worse, no error at all: `--epochs 0` used to write
# the test accuracy of an untrained network to `final.json`, a number that looks like a result.
# The comparisons are written so that `nan` fails every one of them.


def invalid(**checks: tuple[bool, str]) -> dict[str, str]:
    """`{name: rule}` for each check `name=(passed, rule)` that failed."""
    return {name: rule for name, (passed, rule) in checks.items() if not passed}


def flag(name: str, value=None) -> str:
    """
    The command-line form of setting `name` (`optim.grad_clip` is `--optim.grad-clip`), with
    `value` as one would type it.
    """
    option = "--" + name.replace("_", "-")
    if isinstance(value, bool):
        return option if value else "--no-" + option[2:]
    if isinstance(value, tuple):
        return " ".join([option, *map(str, value)])
    return option if value is None else f"{option} {value}"


def config_problems(config, prefix: str = "") -> list[str]:
    """One message per invalid value of `config` and of the settings groups nested in it."""
    rules = config.problems() if hasattr(config, "problems") else {}
    found = []
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            found += config_problems(value, f"{prefix}{f.name}.")
        elif f.name in rules:
            found.append(f"{flag(prefix + f.name, value)}: must be {rules[f.name]}")
    return found


def validate(config, prefix: str = "") -> None:
    """Raise one `TrainingError` that lists every invalid value of `config`."""
    problems = config_problems(config, prefix)
    if problems:
        raise TrainingError("; ".join(problems))


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

    `torchrun --nproc_per_node N` starts $N$ copies of the program and tells each its `RANK`
    (0 to $N-1$ over all machines), its `LOCAL_RANK` (its GPU on this machine) and the
    `WORLD_SIZE` $N$ through environment variables. A plain `python` run has none of them and
    is the world of one process.
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


PRECISIONS = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": None}


def autocast_dtype(precision: str, device: torch.device) -> torch.dtype | None:
    r"""
    ## Mixed precision

    The number format autocast runs the forward pass in, or `None` for plain float32. With `bf16`
    or `fp16` on CUDA, autocast runs matrix products and convolutions in that 16-bit format,
    which halves the bytes each activation takes, and keeps in float32 the operations PyTorch's
    autocast lists as needing float32's range, such as softmax and the losses. Weights, gradients
    and the optimizer's state stay float32.

    The two 16-bit formats split their 16 bits differently:

    | format | exponent bits | mantissa bits | largest value | smallest normal value |
    |---|---|---|---|---|
    | float32 | 8 | 23 | $3.4 \cdot 10^{38}$ | $1.2 \cdot 10^{-38}$ |
    | bfloat16 | 8 | 7 | $3.4 \cdot 10^{38}$ | $1.2 \cdot 10^{-38}$ |
    | float16 | 5 | 10 | 65,504 | $6.1 \cdot 10^{-5}$ |

    bfloat16 keeps float32's exponent, and so its range, and gives up precision. float16 keeps
    more precision but has a narrow range: below $2^{-14} \approx 6.1 \cdot 10^{-5}$ it starts
    losing bits, the smallest value it holds at all is $2^{-24} \approx 6 \cdot 10^{-8}$, and
    anything below half of that rounds to zero.

    **Why float16 needs a gradient scaler.** Micikevicius et al. (2018, *Mixed Precision Training*)
    found that in some networks many of the gradients of the backward pass lie below float16's
    range: in float16 they become zero, and the weights they lead to stop learning. Their fix,
    loss scaling, multiplies the loss by a large factor $S$ before the backward pass.
    Backpropagation is linear in the loss, so every gradient comes out $S$ times larger, lifted
    into float16's range; the float32 gradients are divided by $S$ again before the optimizer uses
    them. PyTorch's `GradScaler` chooses $S$ as it goes: it starts at $2^{16}$, and whenever a
    gradient holds an `inf` or a NaN (an overflow: $S$ is too large) it skips that optimizer step
    and halves $S$; after 2,000 steps without one it doubles $S$. The scale is part of the
    training state, so it goes into the checkpoint.

    bfloat16 needs none of this, since its range is float32's. It is the default here; the `paper`
    preset uses `fp16` with the scaler, because the ConvMixer authors' script does
    (`torch.cuda.amp.autocast` and `GradScaler`).

    **On the CPU and MPS autocast is off**, whatever `precision` says: we train in float32 there.
    Our CPU runs are the ones whose exact reproduction the tests check, and we have not measured
    what 16-bit formats would do to them.
    """
    if precision not in PRECISIONS:
        raise TrainingError(f"unknown precision {precision!r}; use bf16, fp16 or fp32")
    return PRECISIONS[precision] if device.type == "cuda" else None


def steps_per_epoch(n_images: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    """
    Optimizer steps in one epoch. Each of the `world_size` processes gets an equal share of the
    images (the few left over are skipped, see [`batches`](cifar10.html#batches)) and takes
    `batch_size / world_size` of them per step; the last, smaller batch is a step too unless
    `drop_last`. 50,000 images in steps of 512 make 98 steps, the last of 336 images, or 97 with
    `drop_last`.
    """
    share, per_process = n_images // world_size, batch_size // world_size
    return share // per_process if drop_last else math.ceil(share / per_process)


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


def one_cycle(progress: float) -> float:
    r"""
    ## The one-cycle learning rate

    The learning rate, as a fraction of $\eta_{max}$, after a fraction `progress` $t \in [0, 1]$
    of all training steps. It is the piecewise-linear schedule of the ConvMixer authors' CIFAR-10
    script:

    $$\eta(t) / \eta_{max} = \begin{cases}
    t / 0.4 & 0 \le t \le 0.4 \\
    1 - \frac{19}{20} \cdot \frac{t - 0.4}{0.4} & 0.4 < t \le 0.8 \\
    \frac{1}{20} \cdot \frac{1 - t}{0.2} & 0.8 < t \le 1
    \end{cases}$$

    **Why warm up?** Adam scales each weight's step by the inverse square root of a running
    average of its squared gradients. In the first steps that average rests on a handful of
    gradients, so the size of the steps is poorly estimated; Liu et al. (2020, the RAdam paper)
    argue that this early variance is why Adam needs a warm-up. A small rate keeps those first,
    badly scaled steps small, and the rate grows as the average settles.

    **Why end near zero?** A large rate moves the weights fast, but near the bottom of a valley
    a step that is too large overshoots it, and the weights bounce from side to side instead of
    settling. Lowering the rate lets them settle. The log the authors published for a 25-epoch
    run shows where the accuracy comes from: 78.9% test accuracy at the end of the warm-up
    (epoch 10), 92.4% at the end of the long decay from $\eta_{max}$ to $\eta_{max}/20$
    (epoch 20), and 92.6% at the end; the last stretch to zero adds only 0.2 points. One
    warm-up and one decay within a fixed budget of steps is the one-cycle policy of Smith and
    Topin's super-convergence paper (2019), made for training in few epochs.

    **The knots.** The authors' script puts the knots at whole epochs, `epochs*2//5` and
    `epochs*4//5` (integer division), and interpolates between them with the fractional epoch
    of each step. We put them at exactly 0.4 and 0.8 of all steps. The two agree when the number
    of epochs is a multiple of 5, as in the `paper` (25) and `fast` (40) presets; for 16 epochs,
    theirs fall at epochs 6 and 12, at 0.375 and 0.75 of the run.

    The rate is evaluated at every step, not every epoch, so it changes smoothly, as in their
    script.
    """
    knots = [(0.0, 0.0), (0.4, 1.0), (0.8, 1 / 20), (1.0, 0.0)]
    progress = min(max(progress, 0.0), 1.0)
    for (t0, v0), (t1, v1) in zip(knots, knots[1:], strict=False):
        if progress <= t1:
            return v0 + (v1 - v0) * (progress - t0) / (t1 - t0)
    return knots[-1][1]


def make_optimizer(params, config: OptimConfig, device: torch.device) -> torch.optim.Optimizer:
    """
    ## The optimizer

    PyTorch has three implementations of Adam and AdamW. The *for-loop* one updates the
    parameter tensors one at a time, each arithmetic step a separate kernel launch. The
    *foreach* (multi-tensor) one applies each arithmetic step to a whole list of tensors at once,
    which saves most of those launches; it is what PyTorch picks on CUDA when neither option is
    given. The *fused* one also merges the arithmetic steps of the update, so each tensor is
    read and written once per step rather than once per arithmetic step. PyTorch's
    documentation calls fused "theoretically fastest" and keeps foreach as the default only
    because fused is newer. On CUDA we ask for fused. It computes the same update, up to
    floating-point rounding; we have not measured how much time it saves over foreach for
    ConvMixer.
    """
    fused = True if device.type == "cuda" else None
    if config.name == "adam":
        return torch.optim.Adam(
            params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, fused=fused
        )
    if config.name == "adamw":
        return torch.optim.AdamW(
            params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, fused=fused
        )
    if config.name == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
    raise TrainingError(f"unknown optimizer {config.name!r}; use adam, adamw or sgd")


def save_checkpoint(state: dict, path: Path) -> None:
    """
    ## Atomic checkpoints

    A checkpoint written in place is destroyed by a crash halfway through the write, and the run
    then has *no* good checkpoint. So we write to a temporary file next to it, force the bytes to
    disk with `fsync` (otherwise the operating system may still hold them in memory when the
    power goes), and only then `os.replace` it over the old one. On POSIX systems the rename is
    atomic (Python's documentation of `os.replace` notes that POSIX requires it): anyone opening
    the path sees either the complete old checkpoint or the complete new one, never a mixture.
    Finally we `fsync` the directory so that the rename itself is on disk.
    """
    replace_atomically(path, lambda f: torch.save(state, f))
    if hasattr(os, "O_DIRECTORY"):
        fd = os.open(path.parent, os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def replace_atomically(path: Path, write) -> None:
    """
    Call `write(f)` on a new temporary file next to `path`, put its bytes on disk, and move it
    over `path`. If anything fails, a full disk or Ctrl-C halfway, the temporary file is
    removed and `path` keeps its old content: a failed save leaves nothing half-written behind.
    """
    tmp = path.with_name(path.name + ".tmp")
    try:
        with open(tmp, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink(missing_ok=True)
        raise


def write_atomically(path: Path, content: str | bytes) -> None:
    """Replace `path` with `content` (text is written as UTF-8), atomically."""
    data = content.encode() if isinstance(content, str) else content
    replace_atomically(path, lambda f: f.write(data))


def load_checkpoint(path: Path) -> dict:
    """
    Load a checkpoint onto the CPU. `weights_only=True` refuses anything but tensors and plain
    Python values, so opening a checkpoint cannot run code hidden in it.
    """
    if not path.is_file():
        raise TrainingError(f"{path}: no checkpoint to resume from")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise TrainingError(f"{path}: cannot read ({e.strerror or e})") from None
    except Exception as e:
        raise TrainingError(f"{path}: {checkpoint_problem(path, e)}") from None
    if not isinstance(state, dict):
        raise TrainingError(f"{path}: not a checkpoint (it holds a {type(state).__name__})")
    return state


def checkpoint_problem(path: Path, error: Exception) -> str:
    """What is wrong with a checkpoint `torch.load` refused, in words (not torch's advice)."""
    if not zipfile.is_zipfile(path):
        return "not a checkpoint (torch.save writes a zip archive, and this is not one)"
    if isinstance(error, pickle.UnpicklingError):
        return "refused: it holds objects other than tensors and plain Python values"
    return f"damaged checkpoint ({type(error).__name__}); resume from a good copy or start anew"


def lock_run(run_dir: Path) -> IO[str]:
    """
    Hold `run_dir/run.lock` until the returned file is closed or the process ends, so that a
    second run with the same name stops at once instead of writing into the same files.
    """
    lock = open(run_dir / "run.lock", "a")  # noqa: SIM115 (held for the whole run)
    if sys.platform != "win32":
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise TrainingError(
                f"{run_dir} is in use by another run with this --run-name; wait for it to end, "
                "or choose another --run-name"
            ) from None
    return lock


class MetricsLog:
    """
    ## Metrics

    One JSON object per line in `metrics.jsonl`. JSON lines are easy to append to, survive a crash
    (at most the last line is lost), and load with one line of Python. When TensorBoard is
    installed the same numbers also go there.

    `keep_rows` truncates the file when resuming: rows written after the checkpoint was saved
    describe steps that will now be run again, and keeping them would duplicate them.
    """

    def __init__(self, path: Path, keep_rows: int | None = None):
        self.path = path
        lines = path.read_text().splitlines(keepends=True) if path.exists() else []
        if keep_rows is not None and len(lines) != keep_rows:
            path.write_text("".join(lines[:keep_rows]))
        self.rows = len(lines) if keep_rows is None else min(keep_rows, len(lines))
        self.file = open(path, "a")  # noqa: SIM115 (kept open for the whole run)
        self.tensorboard = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tensorboard = SummaryWriter(str(path.parent / "tensorboard"))
        except ImportError:
            pass

    def write(self, row: dict) -> None:
        try:
            self.file.write(json.dumps(row) + "\n")
            self.file.flush()
        except OSError as e:
            raise TrainingError(f"{self.path}: cannot write metrics ({e.strerror or e})") from e
        self.rows += 1
        if self.tensorboard is not None:
            for key, value in row.items():
                if key not in ("split", "step", "epoch") and isinstance(value, (int, float)):
                    self.tensorboard.add_scalar(f"{row['split']}/{key}", value, row["step"])

    def close(self) -> None:
        # After a failed write (a full disk) the unwritten row is still buffered, and closing
        # would fail again; the error has already been reported.
        with contextlib.suppress(OSError):
            self.file.close()
        if self.tensorboard is not None:
            self.tensorboard.close()


class Trainer:
    """
    ## The trainer

    * `model` maps normalized images `[B, 3, H, W]` to logits `[B, n_classes]`
    * `data` holds `uint8` images `[N, 3, H, W]` and `int64` labels `[N]` for training and
      testing, and the class names, like [`CIFAR10`](cifar10.html#CIFAR10)
    * `augment(images, generator)` turns a `uint8` batch on the device into an augmented,
      normalized float batch, drawing its randomness from `generator`
    * `preprocess(images)` normalizes a `uint8` batch without augmentation, for testing
    * `config` holds the [training settings](#TrainerConfig), `optim` the
      [optimizer settings](#OptimConfig); the whole `config` (with any fields an experiment added)
      is saved in every checkpoint
    * `run_dir` receives `metrics.jsonl`, `checkpoint.pt` and `final.json`
    """

    def __init__(
        self,
        model: nn.Module,
        data: CIFAR10,
        augment,
        preprocess,
        config: TrainerConfig,
        optim: OptimConfig,
        run_dir: Path,
        device: torch.device,
        distributed: Distributed | None = None,
    ):
        validate(config)
        validate(optim, "optim.")
        self.config, self.optim_config, self.device = config, optim, device
        self.distributed = distributed or Distributed()
        self.run_dir = run_dir
        self.checkpoint_path = run_dir / "checkpoint.pt"
        self.augment, self.preprocess = augment, preprocess
        self.classes = list(data.classes)
        world = self.distributed.world_size
        if config.batch_size % world:
            raise TrainingError(
                f"batch_size {config.batch_size} is not divisible by the {world} processes"
            )
        # ### Data on the device
        #
        # CIFAR-10's 60,000 images take 184 MB as `uint8`, nothing for a GPU. Moving them there
        # once means that each step only gathers a batch with an index, with no copies from the
        # host and no data-loader worker processes. Keeping them as `uint8` (not float) uses a
        # quarter of the memory; the augmentation converts each batch to float on the fly.
        self.train_images = data.train_images.to(device)
        self.train_labels = data.train_labels.to(device)
        self.test_images = data.test_images.to(device)
        self.test_labels = data.test_labels.to(device)
        self.rank_batch_size = config.batch_size // world
        self.steps_per_epoch = steps_per_epoch(
            len(self.train_images), config.batch_size, world, config.drop_last
        )
        if self.steps_per_epoch == 0:
            raise TrainingError(
                f"batch_size {config.batch_size} is larger than the "
                f"{len(self.train_images)} training images"
            )
        self.total_steps = self.steps_per_epoch * config.epochs
        # ### Channels-last
        #
        # PyTorch stores a batch as `[B, C, H, W]` by default: one whole image plane per
        # channel. In *channels-last* order, `[B, H, W, C]` in memory (the tensor's shape does not
        # change), the $C$ values of one pixel sit side by side. That is what a $1 \times 1$
        # convolution reads, a matrix product over channels. NVIDIA's guide to convolution
        # performance recommends this layout (NHWC) where possible, so that tensor-core
        # convolutions need not transpose their inputs and outputs. Whether a given convolution
        # in the default layout is transposed depends on the algorithm cuDNN picks for it; we
        # have not measured the gain for ConvMixer.
        self.memory_format = (
            torch.channels_last if config.channels_last else torch.contiguous_format
        )
        # ### SyncBatchNorm
        #
        # Convert before anything else holds the model's parameters (the optimizer, DDP): the
        # conversion builds new layers. See [`use_sync_batchnorm`](#use_sync_batchnorm) for why.
        model, batchnorm_note = prepare_batchnorm(
            model, config.sync_bn, world, device, config.batch_size
        )
        if batchnorm_note and self.distributed.is_main:
            print(batchnorm_note, flush=True)
        self.model = model.to(  # type: ignore[call-overload]  # stubs lack memory_format
            device, memory_format=self.memory_format
        )
        self.optimizer = make_optimizer(self.model.parameters(), optim, device)
        # ### Compiling
        #
        # `torch.compile` traces the model into a graph and generates fused kernels: a chain of
        # element-wise operations, such as BatchNorm's normalization followed by the residual
        # addition, runs in a single fused kernel that reads its input from memory once and
        # writes its output once, instead of once per operation. PyTorch's documentation calls
        # this fusion the most important optimization of TorchInductor, the compiler behind
        # `torch.compile`. BatchNorm in training mode cannot be folded into one such pass: it
        # must first reduce the whole batch to each channel's mean and variance before it can
        # normalize any value, so it takes at least one pass to compute the statistics and
        # another to apply them. The first steps are slow (they compile), so compiling pays off
        # in long runs.
        self.forward_model = torch.compile(self.model) if config.compile else self.model
        # ### Data parallel
        #
        # With several processes, `DistributedDataParallel` keeps one replica of the model per
        # process. Each computes gradients on its own share of the batch, and during the
        # backward pass the gradients are averaged across processes, so every replica takes
        # the same step and the replicas stay identical. Rank 0's initial weights are copied to
        # the others at construction.
        self.network = self.forward_model
        if world > 1:
            ids = [device.index] if device.type == "cuda" else None
            self.network = nn.parallel.DistributedDataParallel(self.forward_model, device_ids=ids)
        # ### Random numbers
        #
        # Augmentation draws from its own generator on the device. Each process gets a different
        # seed, or all of them would apply the same crops and flips. The seed is
        # `seed * 1000 + rank`: as long as a run has fewer than 1,000 processes, every pair of
        # run seed and rank gets a number of its own, so no two ranks of a run, and no two runs
        # with different seeds, draw the same augmentations. The generator's state goes into
        # every checkpoint; that, and the per-epoch shuffling seed below, is what makes resuming
        # exact.
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(config.seed * 1000 + self.distributed.rank)
        # ### Mixed precision
        #
        # The forward pass runs under autocast in the configured 16-bit format on CUDA, in
        # float32 elsewhere ([why, and how](#autocast_dtype)). float16 comes with a
        # `GradScaler`; for the other formats the scaler is created disabled, and then each of
        # its calls below passes straight through.
        self.autocast_dtype = autocast_dtype(config.precision, device)
        self.scaler = torch.amp.GradScaler(
            device.type, enabled=self.autocast_dtype == torch.float16
        )
        # Progress through training: global step, finished epochs and batches done in the
        # current epoch. These, with the accumulators, are what a checkpoint must restore.
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        # Per-step sums kept on the device, `[loss sum, correct, images]`, since the last metric
        # row (`window`) and since the start of the epoch (`epoch_sums`).
        self.window = torch.zeros(3, device=device)
        self.epoch_sums = torch.zeros(3, device=device)
        self.elapsed = 0.0
        self.epoch_seconds = 0.0
        self.window_start = time.perf_counter()
        self.metrics: MetricsLog | None = None
        # `stop_requested` is set by Ctrl-C or SIGTERM in this process; `stopping` once all
        # processes agree.
        self.stop_requested = False
        self.stop_signal: int = signal.SIGINT
        self.stopping = False

    def autocast(self) -> torch.autocast:
        """The autocast context of the forward passes: the configured format, or off."""
        return torch.autocast(
            self.device.type, dtype=self.autocast_dtype, enabled=self.autocast_dtype is not None
        )

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        r"""
        ### The loss

        Cross-entropy of the logits `[B, n_classes]` against the labels `[B]`, computed in float32
        even under autocast. With label smoothing $\epsilon$ the target is not the one-hot vector
        but $(1 - \epsilon)$ on the true class plus $\epsilon / K$ spread over all $K$ classes.

        Why smooth? With hard targets the loss keeps falling as the correct logit grows without
        bound, so a network that already classifies an image correctly is still pushed to be
        *more* confident. Smoothing caps the reward for confidence: the loss is lowest when the
        correct logit leads the others by a finite amount,
        $\log\big((1 - \epsilon + \epsilon / K) / (\epsilon / K)\big)$. Szegedy et al. (2016), who
        introduced it, report about 0.2 points of accuracy on ImageNet; we have not measured
        what it gives here. The authors' CIFAR-10 script does not use it; our `fast` preset
        does.
        """
        return F.cross_entropy(logits.float(), labels, label_smoothing=self.config.label_smoothing)

    def train_step(self, index: torch.Tensor) -> None:
        """
        ### One step

        `index` picks this process's images for the step.
        """
        # The learning rate for this step. The schedule is a pure function of the step number,
        # so it has no state of its own to checkpoint.
        self.optimizer.param_groups[0]["lr"] = self.learning_rate(self.step + 1)
        # Gather the batch from the device-resident dataset and augment it there.
        # `[b, 3, H, W]` `uint8` becomes `[b, 3, H, W]` float.
        index = index.to(self.device)
        images = self.augment(self.train_images[index], self.generator)
        images = images.contiguous(memory_format=self.memory_format)
        labels = self.train_labels[index]
        with self.autocast():
            logits = self.network(images)
        loss = self.loss(logits, labels)
        # `set_to_none` frees the gradient tensors instead of filling them with zeros; the
        # backward pass then writes rather than adds.
        self.optimizer.zero_grad(set_to_none=True)
        # With float16 the loss is multiplied by the scale $S$ before the backward pass.
        self.scaler.scale(loss).backward()
        if self.optim_config.grad_clip > 0:
            # Clipping compares gradient norms with a threshold, so it needs the true gradients:
            # divide by $S$ first (the scaler then does not divide again in `step`).
            self.scaler.unscale_(self.optimizer)
            nn.utils.clip_grad_norm_(self.model.parameters(), self.optim_config.grad_clip)
        # `step` unscales the gradients and updates the weights, or skips the update if a
        # gradient overflowed; `update` then adjusts $S$.
        self.scaler.step(self.optimizer)
        self.scaler.update()
        # Accumulate on the device. Calling `.item()` here would make the CPU wait for the GPU
        # at every step and leave it idle while Python prepares the next one; we read the sums
        # only every `log_every` steps.
        with torch.no_grad():
            correct = (logits.argmax(dim=1) == labels).sum()
            self.window += torch.stack(
                [
                    loss.detach() * len(labels),
                    correct.float(),
                    torch.tensor(float(len(labels)), device=self.device),
                ]
            )
        self.step += 1
        self.batch_in_epoch += 1

    def learning_rate(self, step: int) -> float:
        """The learning rate at `step` (counted from 1) under the configured schedule."""
        lr = self.optim_config.lr
        if self.optim_config.schedule == "constant":
            return lr
        if self.optim_config.schedule == "one_cycle":
            return lr * one_cycle(step / self.total_steps)
        raise TrainingError(
            f"unknown schedule {self.optim_config.schedule!r}; use constant or one_cycle"
        )

    def flush_window(self, bar) -> None:
        """
        ### Reading the metrics

        Sum the window over processes, check the loss, write a metric row and update the
        progress display.
        """
        # With several processes the stop flag travels in the same message as the sums, so
        # that all processes stop at the same step and none waits forever for the others.
        stop = torch.tensor([float(self.stop_requested)], device=self.device)
        totals = self.distributed.all_reduce(torch.cat([self.window, stop]))
        loss_sum, correct, count, stop = totals.tolist()
        self.stopping = stop > 0
        self.epoch_sums += self.window
        self.window.zero_()
        # **A diverging loss.** Once the loss is `inf` or `nan` the weights are, or soon will
        # be, too, and every later step is wasted. We stop at once, before the broken weights
        # can reach a checkpoint: the last good checkpoint stays as it was.
        if not math.isfinite(loss_sum):
            raise TrainingError(
                f"loss became {loss_sum / count} at epoch {self.epoch + 1}, step {self.step} "
                f"(learning rate {self.learning_rate(self.step):.3g}): training diverged. Lower "
                f"the learning rate (--optim.lr) or clip gradients (--optim.grad-clip); the last "
                f"good checkpoint is {self.checkpoint_path}"
            )
        row = {
            "split": "train",
            "step": self.step,
            "epoch": round(self.step / self.steps_per_epoch, 4),
            "loss": loss_sum / count,
            "accuracy": correct / count,
            "lr": self.learning_rate(self.step),
        }
        if self.metrics is not None:
            self.metrics.write(row)
        now = time.perf_counter()
        rate = count / max(now - self.window_start, 1e-9)
        self.window_start = now
        if bar is not None:
            bar.set_postfix(
                loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.1%}", img_s=f"{rate:.0f}"
            )
        elif self.distributed.is_main:
            # Plain lines when the output is a file or a pipe (a log, CI), where a progress bar
            # would be a mess of carriage returns.
            left = (self.steps_per_epoch - self.batch_in_epoch) * self.config.batch_size / rate
            print(
                f"epoch {self.epoch + 1}/{self.config.epochs} "
                f"step {self.batch_in_epoch}/{self.steps_per_epoch} "
                f"loss {row['loss']:.3f} acc {row['accuracy']:.1%} {rate:.0f} img/s "
                f"eta {left:.0f}s",
                flush=True,
            )

    def train_epoch(self) -> None:
        """
        ### One epoch

        The shuffling order depends only on the seed and the epoch number, and is the same in
        every process: each process then takes its own disjoint share of every batch. A resumed
        epoch recomputes the same order and skips the batches already done.

        The shuffling generator is seeded with `seed * 1_000_003 + epoch`, so that each epoch
        gets a new order and each run seed its own series of orders: as long as a run has fewer
        than 1,000,003 epochs, no two pairs of seed and epoch share a number. Any multiplier
        larger than the number of epochs would do; 1,000,003 is simply a prime above a million.
        """
        shuffle = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.epoch)
        index_batches = batches(
            self.train_images,
            self.train_labels,
            self.rank_batch_size,
            shuffle,
            shuffle=True,
            drop_last=self.config.drop_last,
            rank=self.distributed.rank,
            world_size=self.distributed.world_size,
        )
        # BatchNorm uses batch statistics in training mode, so by default we drop the last,
        # incomplete batch: a batch of a handful of images gives noisy statistics and a noisy
        # step. With `drop_last` off (the `paper` preset, as the authors' `DataLoader` does) it is
        # one more, smaller step; its loss is the mean over its own images, like every step's.
        show_bar = self.distributed.is_main and sys.stdout.isatty()
        bar = None
        if show_bar:
            bar = tqdm(
                total=self.steps_per_epoch,
                initial=self.batch_in_epoch,
                desc=f"epoch {self.epoch + 1}/{self.config.epochs}",
                unit="step",
                dynamic_ncols=True,
                leave=False,
            )
        self.model.train()
        self.window_start = time.perf_counter()
        for i, index in enumerate(index_batches):
            if i < self.batch_in_epoch:
                continue
            self.train_step(index)
            if bar is not None:
                bar.update(1)
            end_of_epoch = self.batch_in_epoch == self.steps_per_epoch
            if self.step % self.config.log_every == 0 or end_of_epoch:
                self.flush_window(bar)
            elif self.distributed.world_size == 1:
                self.stopping = self.stop_requested
            # Stop after a Ctrl-C. A single process can stop after any step; several processes
            # only where they have just agreed on it, in `flush_window`.
            if self.stopping:
                break
        if bar is not None:
            bar.close()

    @torch.no_grad()
    def evaluate(self, tta: bool = False) -> dict:
        """
        ## Evaluation

        Test loss and accuracy, and the confusion matrix: entry $(i, j)$ counts the test images
        of class $i$ that the model put in class $j$. Its diagonal holds the correct answers;
        large entries off it show which classes the model mixes up (in our reference run, cats
        and dogs most of all).

        With `tta` we also classify the mirror image of every test image and average the two
        sets of logits. The mirror image of a photo is another plausible photo of the same
        class, it needs no padding or resampling, and the model saw flipped images in training.
        Where the two views disagree, averaging can correct some errors of either. In our
        reference run on all of CIFAR-10 it raised test accuracy from 81.06% to 81.60%. It costs
        a second forward pass.
        """
        self.model.eval()
        self.distributed.broadcast_buffers(self.model)  # score the model that is saved
        n_classes = len(self.classes)
        loss_sum = torch.zeros(1, device=self.device)
        confusion = torch.zeros(n_classes * n_classes, dtype=torch.int64, device=self.device)
        for index in batches(
            self.test_images,
            self.test_labels,
            self.rank_batch_size,
            None,
            shuffle=False,
            drop_last=False,
            rank=self.distributed.rank,
            world_size=self.distributed.world_size,
        ):
            index = index.to(self.device)
            images = self.preprocess(self.test_images[index])
            images = images.contiguous(memory_format=self.memory_format)
            labels = self.test_labels[index]
            with self.autocast():
                logits = self.forward_model(images).float()
                if tta:
                    logits = (logits + self.forward_model(images.flip(3)).float()) / 2
            loss_sum += F.cross_entropy(logits, labels, reduction="sum")
            # Count (true, predicted) pairs: pair $(i, j)$ is bin $i K + j$.
            confusion += torch.bincount(
                labels * n_classes + logits.argmax(dim=1), minlength=n_classes**2
            )
        # Each process saw its own share of the test set; sum the counts.
        self.distributed.all_reduce(loss_sum)
        self.distributed.all_reduce(confusion)
        confusion = confusion.view(n_classes, n_classes).cpu()
        total = confusion.sum().item()
        return {
            "loss": loss_sum.item() / total,
            "accuracy": confusion.diag().sum().item() / total,
            "confusion": confusion.tolist(),
        }

    def state_dict(self) -> dict:
        """
        ## What a checkpoint holds

        Everything needed to continue as if nothing had happened: the weights, the optimizer's
        moment estimates, where we are (epoch, step, batch within the epoch), the partial sums
        of the current metric window and epoch, every random generator's state, the number of
        metric rows written, and the configuration.
        """
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "schedule": {"name": self.optim_config.schedule, "total_steps": self.total_steps},
            # The gradient scaler's $S$ and its count of steps since the last overflow; empty
            # unless training in float16.
            "scaler": self.scaler.state_dict(),
            "epoch": self.epoch,
            "step": self.step,
            "batch_in_epoch": self.batch_in_epoch,
            # Each process has its own augmentation generator and partial sums; rank 0 collects
            # them all, and on resume each process takes back its own.
            "per_process": self.distributed.gather(
                {
                    "augment": self.generator.get_state(),
                    "window": self.window.cpu(),
                    "epoch_sums": self.epoch_sums.cpu(),
                }
            ),
            "elapsed": self.elapsed,
            "epoch_seconds": self.epoch_seconds,
            "metrics_rows": self.metrics.rows if self.metrics else 0,
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state(self.device)
                if self.device.type == "cuda"
                else None,
            },
            "config": asdict(self.config),
        }

    def load_state_dict(self, state: dict) -> None:
        """Restore the state saved by `state_dict`."""
        # A constant rate does not depend on the run's length, so such a run may be given more
        # epochs; the one-cycle schedule is laid out over the whole run and may not.
        length_matters = self.optim_config.schedule != "constant"
        if length_matters and state["schedule"]["total_steps"] != self.total_steps:
            raise TrainingError(
                f"{self.checkpoint_path}: saved for {state['schedule']['total_steps']} steps, "
                f"but this configuration has {self.total_steps}; resume with the same settings"
            )
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if state.get("scaler"):  # older checkpoints have none
            self.scaler.load_state_dict(state["scaler"])
        self.epoch, self.step = state["epoch"], state["step"]
        self.batch_in_epoch = state["batch_in_epoch"]
        if len(state["per_process"]) != self.distributed.world_size:
            raise TrainingError(
                f"{self.checkpoint_path}: saved by {len(state['per_process'])} process(es); "
                f"resume with the same number, not {self.distributed.world_size}"
            )
        mine = state["per_process"][self.distributed.rank]
        self.window.copy_(mine["window"])
        self.epoch_sums.copy_(mine["epoch_sums"])
        self.generator.set_state(mine["augment"])
        self.elapsed, self.epoch_seconds = state["elapsed"], state["epoch_seconds"]
        torch.set_rng_state(state["rng"]["torch"])
        if state["rng"]["cuda"] is not None and self.device.type == "cuda":
            torch.cuda.set_rng_state(state["rng"]["cuda"], self.device)

    def save(self) -> None:
        """Only rank 0 writes: all replicas hold the same weights."""
        state = self.state_dict()  # every process takes part in gathering it
        if self.distributed.is_main:
            try:
                save_checkpoint(state, self.checkpoint_path)
            except OSError as e:
                kept = (
                    "the last good checkpoint is kept; continue from it with --resume"
                    if self.checkpoint_path.exists()
                    else "no checkpoint was saved"
                )
                raise TrainingError(
                    f"{self.checkpoint_path}: cannot save ({e.strerror or e}); {kept}"
                ) from e

    def fit(self, resume: bool = False) -> dict:
        """
        ## The whole run

        Train for the configured number of epochs, evaluating and saving a checkpoint after each,
        then write `final.json` with the final test results. Returns those results.
        """
        keep_rows = 0  # a fresh run drops rows left by one that failed before its first checkpoint
        if resume:
            state = load_checkpoint(self.checkpoint_path)
            try:
                self.load_state_dict(state)
            except (KeyError, RuntimeError, ValueError) as e:
                # A checkpoint of another model (its run.json edited since) or of another program.
                reason = " ".join(str(e).split())[:200]
                raise TrainingError(
                    f"{self.checkpoint_path}: does not fit this run's settings ({reason})"
                ) from e
            keep_rows = state["metrics_rows"]
        elif self.checkpoint_path.exists():
            raise TrainingError(
                f"{self.run_dir} already holds a run; pass --resume to continue it, or choose "
                "another --run-name"
            )
        if self.distributed.is_main:
            self.run_dir.mkdir(parents=True, exist_ok=True)
            self.metrics = MetricsLog(self.run_dir / "metrics.jsonl", keep_rows)

        # ### Ctrl-C
        #
        # The default reaction to Ctrl-C, a `KeyboardInterrupt` raised wherever Python happens
        # to be, could land in the middle of an optimizer step. Instead we only note the
        # request, finish the step, save and exit. A second Ctrl-C restores the default and
        # stops at once. SIGTERM, the signal of `kill`, job schedulers and `torchrun`, is
        # handled the same way.
        def request_stop(signum: int, frame: FrameType | None) -> None:
            self.stop_requested, self.stop_signal = True, signum
            signal.signal(signum, previous[signal.Signals(signum)])

        previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            return self._run()
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
            if self.metrics is not None:
                self.metrics.close()

    def _run(self) -> dict:
        while self.epoch < self.config.epochs:
            start = time.perf_counter()
            self.train_epoch()
            self.epoch_seconds += time.perf_counter() - start
            self.elapsed += time.perf_counter() - start
            if self.stopping:
                self.save()
                raise Interrupted(
                    f"interrupted by {signal.Signals(self.stop_signal).name} at epoch "
                    f"{self.epoch + 1}, step {self.step}; saved {self.checkpoint_path}. "
                    "Continue with --resume",
                    self.stop_signal,
                )
            train_loss, train_correct, train_count = self.distributed.all_reduce(
                self.epoch_sums.clone()
            ).tolist()
            evaluation_start = time.perf_counter()
            test = self.evaluate()
            self.elapsed += time.perf_counter() - evaluation_start
            self.epoch += 1
            row = {
                "split": "test",
                "step": self.step,
                "epoch": self.epoch,
                "loss": test["loss"],
                "accuracy": test["accuracy"],
                "train_loss": train_loss / train_count,
                "train_accuracy": train_correct / train_count,
                "train_images": int(train_count),
                "images_per_s": train_count / self.epoch_seconds,
                "elapsed_s": self.elapsed,
            }
            if self.metrics is not None:
                self.metrics.write(row)
            if self.distributed.is_main:
                print(
                    f"epoch {self.epoch}/{self.config.epochs}: train loss {row['train_loss']:.3f}"
                    f" acc {row['train_accuracy']:.1%} | test loss {row['loss']:.3f} acc "
                    f"{row['accuracy']:.1%} | {row['images_per_s']:.0f} img/s",
                    flush=True,
                )
            self.batch_in_epoch = 0
            self.epoch_seconds = 0.0
            self.epoch_sums.zero_()
            # Checkpoint at the end of every epoch. With the atomic write above, the previous
            # checkpoint survives until this one is complete.
            self.save()
        return self.finish()

    def finish(self) -> dict:
        """Final evaluation (with flip TTA when asked) and `final.json`."""
        test = self.evaluate()
        final = {
            "test_accuracy": test["accuracy"],
            "test_loss": test["loss"],
            "confusion": test["confusion"],
            "classes": self.classes,
            "epochs": self.epoch,
            "steps": self.step,
            "elapsed_s": self.elapsed,
            "world_size": self.distributed.world_size,
        }
        if self.config.tta:
            final["tta_accuracy"] = self.evaluate(tta=True)["accuracy"]
        if self.distributed.is_main:
            write_atomically(self.run_dir / "final.json", json.dumps(final, indent=1) + "\n")
        return final


def read_metrics(run_dir: Path) -> list[dict]:
    """The rows of `run_dir/metrics.jsonl`, with a clear error for a missing or broken file."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise TrainingError(f"{path}: no metrics; is {run_dir} a training run?")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            raise TrainingError(f"{path}:{number}: not a JSON object ({e.msg})") from e
    return rows


def plot_run(run_dir: Path, out: Path | None = None) -> Path:
    """
    ## Plotting the curves

    Draw the loss and the accuracy against epochs, for training (every metric row) and for the
    test set (every epoch), as one SVG file, `curves.svg` in the run directory unless `out`
    is given. We write the SVG by hand: it is a few lines of text, and the experiment then
    needs no plotting library.
    """
    rows = read_metrics(run_dir)
    train = [r for r in rows if r["split"] == "train"]
    test = [r for r in rows if r["split"] == "test"]
    if not train:
        raise TrainingError(f"{run_dir / 'metrics.jsonl'}: no training rows to plot")
    panels = [
        ("loss", [("train", train, "loss"), ("test", test, "loss")]),
        ("accuracy", [("train", train, "accuracy"), ("test", test, "accuracy")]),
    ]
    svg = _svg_chart(panels, title=f"Training curves: {run_dir.name}")
    out = out or run_dir / "curves.svg"
    out.write_text(svg)
    return out


_COLORS = {"train": "#1f6fb2", "test": "#d1495b"}


def _svg_chart(panels, title: str, width: int = 360, height: int = 240) -> str:
    """Side-by-side line charts; each panel is `(y label, [(series name, rows, key)])`."""
    margin = {"left": 52, "right": 12, "top": 28, "bottom": 40}
    parts = []
    for p, (label, series) in enumerate(panels):
        x0 = p * width + margin["left"]
        w = width - margin["left"] - margin["right"]
        h = height - margin["top"] - margin["bottom"]
        points = [(r["epoch"], r[key]) for _, rows, key in series for r in rows]
        x_max = max(x for x, _ in points) or 1
        y_lo, y_hi = min(y for _, y in points), max(y for _, y in points)
        if label == "accuracy":
            y_lo, y_hi = 0.0, max(y_hi, 0.1)
        y_lo, y_hi = (y_lo, y_hi) if y_hi > y_lo else (y_lo - 0.5, y_hi + 0.5)

        def sx(x, x0=x0, w=w, x_max=x_max):
            return x0 + w * x / x_max

        def sy(y, h=h, y_lo=y_lo, y_hi=y_hi):
            return margin["top"] + h * (1 - (y - y_lo) / (y_hi - y_lo))

        parts.append(
            f'<rect x="{x0}" y="{margin["top"]}" width="{w}" height="{h}" '
            'fill="none" stroke="#888"/>'
        )
        for i in range(5):
            y = y_lo + (y_hi - y_lo) * i / 4
            text = f"{y:.0%}" if label == "accuracy" else f"{y:.2f}"
            parts.append(f'<text x="{x0 - 6}" y="{sy(y) + 4:.1f}" text-anchor="end">{text}</text>')
        for i in range(5):
            x = x_max * i / 4
            parts.append(
                f'<text x="{sx(x):.1f}" y="{margin["top"] + h + 16}" '
                f'text-anchor="middle">{x:g}</text>'
            )
        parts.append(f'<text x="{x0 + w / 2}" y="{height - 6}" text-anchor="middle">epoch</text>')
        parts.append(f'<text x="{x0}" y="{margin["top"] - 10}">{label}</text>')
        for name, rows, key in series:
            if not rows:
                continue
            coords = " ".join(f"{sx(r['epoch']):.1f},{sy(r[key]):.1f}" for r in rows)
            parts.append(
                f'<polyline points="{coords}" fill="none" stroke="{_COLORS[name]}" '
                'stroke-width="1.5"/>'
            )
            if len(rows) < 30:
                parts.extend(
                    f'<circle cx="{sx(r["epoch"]):.1f}" cy="{sy(r[key]):.1f}" r="2.5" '
                    f'fill="{_COLORS[name]}"/>'
                    for r in rows
                )
        for i, name in enumerate(_COLORS):
            # The legend goes where the curves are not: top right for the falling loss, bottom
            # right for the rising accuracy.
            top = margin["top"] + 14 if label == "loss" else margin["top"] + h - 22
            lx, ly = x0 + w - 60, top + 14 * i
            parts.append(
                f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 14}" y2="{ly - 4}" '
                f'stroke="{_COLORS[name]}" stroke-width="2"/>'
            )
            parts.append(f'<text x="{lx + 18}" y="{ly}">{name}</text>')
    total_width = width * len(panels)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total_width}" height="{height}" '
        f'viewBox="0 0 {total_width} {height}" role="img" aria-labelledby="title" '
        'font-family="sans-serif" font-size="11">\n'
        f'<title id="title">{title}</title>\n'
        f'<rect width="{total_width}" height="{height}" fill="#fff"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )


def copy_run_files(run_dir: Path, out_dir: Path, names: list[str]) -> None:
    """Copy the named files from a run directory, each replaced atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_atomically(out_dir / name, (run_dir / name).read_bytes())
