"""
---
title: Exact resume
summary: >-
  What a checkpoint holds, how a run continues from it exactly where it stopped, and how Ctrl-C
  and SIGTERM stop a run between two steps.
---

# Exact resume

A run that is killed, by Ctrl-C, by a job scheduler or by a crash, continues with `--resume` from
its last checkpoint. *Exactly* means: the resumed run computes the same numbers as a run that was
never stopped, on the same machine with the same software. The tests check this on the CPU: a run
killed with SIGKILL after a checkpoint, and runs stopped by Ctrl-C or SIGTERM in the middle of an
epoch, once resumed, write the same metric rows and the same confusion matrix as an uninterrupted
run. (On another machine, or with another PyTorch build, floating-point operations may be carried
out in another order, so the last bits of a sum differ, and the difference grows as training goes
on: there no two runs agree exactly, stopped or not.)

Three things make it exact:

* the checkpoint holds *all* the state the next step reads: the weights, the optimizer's moments,
  the gradient scaler, the position in the epoch, the partial sums of the metrics, and the state of
  every random generator;
* the shuffling order of an epoch is a function of the seed and the epoch number alone, so a
  resumed epoch recomputes it and skips the batches already done;
* the learning rate is a function of the step number alone, so the schedule has no state.

The [checkpoint file](checkpoint.html) itself is written atomically.
"""

import contextlib
import signal
from collections.abc import Iterator
from dataclasses import asdict
from types import FrameType
from typing import Any

import torch

from labml_like.tools.checkpoint import load_checkpoint, save_checkpoint
from labml_like.tools.errors import Interrupted, TrainingError
from labml_like.tools.metrics import MetricsLog

# The trainer, from [the training loop](../experiments/trainer.html#Trainer). It is not imported
# here, since it imports this page.
Trainer = Any


def state_dict(trainer: Trainer) -> dict:
    """
    ## What a checkpoint holds

    Everything needed to continue as if nothing had happened: the weights, the optimizer's
    moment estimates, where we are (epoch, step, batch within the epoch), the partial sums
    of the current metric window and epoch, every random generator's state, the number of
    metric rows written, and the configuration.
    """
    return {
        "model": trainer.model.state_dict(),
        "optimizer": trainer.optimizer.state_dict(),
        "schedule": {"name": trainer.optim_config.schedule, "total_steps": trainer.total_steps},
        # The gradient scaler's $S$ and its count of steps since the last overflow; empty
        # unless training in float16.
        "scaler": trainer.scaler.state_dict(),
        "epoch": trainer.epoch,
        "step": trainer.step,
        "batch_in_epoch": trainer.batch_in_epoch,
        # Each process has its own augmentation generator and partial sums; rank 0 collects
        # them all, and on resume each process takes back its own.
        "per_process": trainer.distributed.gather(
            {
                "augment": trainer.generator.get_state(),
                "window": trainer.window.cpu(),
                "epoch_sums": trainer.epoch_sums.cpu(),
            }
        ),
        "elapsed": trainer.elapsed,
        "epoch_seconds": trainer.epoch_seconds,
        "metrics_rows": trainer.metrics.rows if trainer.metrics else 0,
        "rng": {
            "torch": torch.get_rng_state(),
            "cuda": torch.cuda.get_rng_state(trainer.device)
            if trainer.device.type == "cuda"
            else None,
        },
        "config": asdict(trainer.config),
    }


def load_state_dict(trainer: Trainer, state: dict) -> None:
    """Restore the state saved by `state_dict`."""
    # A constant rate does not depend on the run's length, so such a run may be given more
    # epochs; the one-cycle schedule is laid out over the whole run and may not.
    length_matters = trainer.optim_config.schedule != "constant"
    if length_matters and state["schedule"]["total_steps"] != trainer.total_steps:
        raise TrainingError(
            f"{trainer.checkpoint_path}: saved for {state['schedule']['total_steps']} steps, "
            f"but this configuration has {trainer.total_steps}; resume with the same settings"
        )
    trainer.model.load_state_dict(state["model"])
    trainer.optimizer.load_state_dict(state["optimizer"])
    if state.get("scaler"):  # older checkpoints have none
        trainer.scaler.load_state_dict(state["scaler"])
    trainer.epoch, trainer.step = state["epoch"], state["step"]
    trainer.batch_in_epoch = state["batch_in_epoch"]
    world_size = trainer.distributed.world_size
    if len(state["per_process"]) != world_size:
        raise TrainingError(
            f"{trainer.checkpoint_path}: saved by {len(state['per_process'])} process(es); "
            f"resume with the same number, not {world_size}"
        )
    mine = state["per_process"][trainer.distributed.rank]
    trainer.window.copy_(mine["window"])
    trainer.epoch_sums.copy_(mine["epoch_sums"])
    trainer.generator.set_state(mine["augment"])
    trainer.elapsed, trainer.epoch_seconds = state["elapsed"], state["epoch_seconds"]
    torch.set_rng_state(state["rng"]["torch"])
    if state["rng"]["cuda"] is not None and trainer.device.type == "cuda":
        torch.cuda.set_rng_state(state["rng"]["cuda"], trainer.device)


def save_state(trainer: Trainer) -> None:
    """Save the trainer's state. Only rank 0 writes: all replicas hold the same weights."""
    state = state_dict(trainer)  # every process takes part in gathering it
    if trainer.distributed.is_main:
        path = trainer.checkpoint_path
        try:
            save_checkpoint(state, path)
        except OSError as e:
            kept = (
                "the last good checkpoint is kept; continue from it with --resume"
                if path.exists()
                else "no checkpoint was saved"
            )
            raise TrainingError(f"{path}: cannot save ({e.strerror or e}); {kept}") from e


def save_and_stop(trainer: Trainer) -> Interrupted:
    """Save, and the exception that ends a run stopped by Ctrl-C or SIGTERM."""
    save_state(trainer)
    return Interrupted(
        f"interrupted by {signal.Signals(trainer.stop_signal).name} at epoch "
        f"{trainer.epoch + 1}, step {trainer.step}; saved {trainer.checkpoint_path}. "
        "Continue with --resume",
        trainer.stop_signal,
    )


@contextlib.contextmanager
def run_session(trainer: Trainer, resume: bool) -> Iterator[None]:
    """
    ## Starting or continuing a run

    With `resume`, load the checkpoint into `trainer`; without, refuse a folder that already
    holds a run. Then open the metrics file, keeping only the rows the checkpoint has seen, and
    catch Ctrl-C and SIGTERM for the length of the run.
    """
    keep_rows = 0  # a fresh run drops rows left by one that failed before its first checkpoint
    if resume:
        state = load_checkpoint(trainer.checkpoint_path)
        try:
            load_state_dict(trainer, state)
        except (KeyError, RuntimeError, ValueError) as e:
            # A checkpoint of another model (its run.json edited since) or of another program.
            reason = " ".join(str(e).split())[:200]
            raise TrainingError(
                f"{trainer.checkpoint_path}: does not fit this run's settings ({reason})"
            ) from e
        keep_rows = state["metrics_rows"]
    elif trainer.checkpoint_path.exists():
        raise TrainingError(
            f"{trainer.run_dir} already holds a run; pass --resume to continue it, or choose "
            "another --run-name"
        )
    if trainer.distributed.is_main:
        trainer.run_dir.mkdir(parents=True, exist_ok=True)
        trainer.metrics = MetricsLog(trainer.run_dir / "metrics.jsonl", keep_rows)

    # ### Ctrl-C
    #
    # The default reaction to Ctrl-C, a `KeyboardInterrupt` raised wherever Python happens
    # to be, could land in the middle of an optimizer step. Instead we only note the
    # request, finish the step, save and exit. A second Ctrl-C restores the default and
    # stops at once. SIGTERM, the signal of `kill`, job schedulers and `torchrun`, is
    # handled the same way. The trainer checks `stop_requested` after every step; with several
    # processes, the processes first agree on it (in
    # [`flush_window`](../experiments/trainer.html#Trainer.flush_window)).
    def request_stop(signum: int, frame: FrameType | None) -> None:
        trainer.stop_requested, trainer.stop_signal = True, signum
        signal.signal(signum, previous[signal.Signals(signum)])

    previous = {s: signal.signal(s, request_stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if trainer.metrics is not None:
            trainer.metrics.close()
