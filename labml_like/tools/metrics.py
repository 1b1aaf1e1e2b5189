"""
---
title: Metrics files and progress
summary: >-
  metrics.jsonl, one JSON object per line, truncated on resume; TensorBoard when installed; a
  progress bar on a terminal and plain lines in a log.
---

# Metrics files and progress

Every `log_every` steps the [trainer](../experiments/trainer.html#Trainer.flush_window) writes a
row `{"split": "train", "step", "epoch", "loss", "accuracy", "lr"}`, and after every epoch a row
with `"split": "test"` and the epoch's training and test results. This page builds those rows,
writes them, reads them back, and shows the run's progress while it trains; the
[curves](plots.html#plot_run) are drawn from them.
"""

import contextlib
import json
import sys
import time
from pathlib import Path

from tqdm import tqdm

from labml_like.tools.errors import TrainingError


class MetricsLog:
    """
    ## The metrics file

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


def read_metrics(run_dir: Path) -> list[dict]:
    """The rows of `run_dir/metrics.jsonl`, with a clear error for a missing or broken file."""
    path = run_dir / "metrics.jsonl"
    if not path.is_file():
        raise TrainingError(f"{path}: no metrics; is {run_dir} a training run?")
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise TrainingError(f"{path}:{number}: not a JSON object ({e.msg})") from e
        if not isinstance(row, dict) or not {"split", "epoch"} <= row.keys():
            raise TrainingError(f"{path}:{number}: not a metrics row (no split and epoch)")
        rows.append(row)
    return rows


class Progress:
    """
    ## Progress

    A progress bar when the main process writes to a terminal, and plain lines when its output
    is a file or a pipe (a log, CI), where a bar would be a mess of carriage returns. The other
    processes show nothing. `report` gets the all-processes totals of the last `log_every` steps
    and shows their loss, accuracy and speed in images per second, with the seconds the epoch has
    left at that speed.
    """

    def __init__(self, trainer):
        is_main = trainer.distributed.is_main
        self.is_main, self.epoch, self.epochs = is_main, trainer.epoch, trainer.config.epochs
        self.steps, self.batch_size = trainer.steps_per_epoch, trainer.config.batch_size
        self.bar = None
        if is_main and sys.stdout.isatty():
            self.bar = tqdm(
                total=self.steps,
                initial=trainer.batch_in_epoch,
                desc=f"epoch {self.epoch + 1}/{self.epochs}",
                unit="step",
                dynamic_ncols=True,
                leave=False,
            )
        self.start = time.perf_counter()

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def report(self, row: dict, images: float, done: int) -> None:
        now = time.perf_counter()
        rate = images / max(now - self.start, 1e-9)
        self.start = now
        if self.bar is not None:
            self.bar.set_postfix(
                loss=f"{row['loss']:.3f}", acc=f"{row['accuracy']:.1%}", img_s=f"{rate:.0f}"
            )
        elif self.is_main:
            left = (self.steps - done) * self.batch_size / rate
            print(
                f"epoch {self.epoch + 1}/{self.epochs} step {done}/{self.steps} "
                f"loss {row['loss']:.3f} acc {row['accuracy']:.1%} {rate:.0f} img/s "
                f"eta {left:.0f}s",
                flush=True,
            )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def print_epoch(row: dict, epochs: int) -> None:
    """The one line the main process prints at the end of every epoch."""
    print(
        f"epoch {row['epoch']}/{epochs}: train loss {row['train_loss']:.3f}"
        f" acc {row['train_accuracy']:.1%} | test loss {row['loss']:.3f} acc "
        f"{row['accuracy']:.1%} | {row['images_per_s']:.0f} img/s",
        flush=True,
    )


def train_row(step: int, steps_per_epoch: int, sums: list[float], lr: float) -> dict:
    """The row of the last `log_every` steps, from their sums `[loss sum, correct, images]`."""
    loss_sum, correct, count = sums
    epoch = round(step / steps_per_epoch, 4)
    return {"split": "train", "step": step, "epoch": epoch, "loss": loss_sum / count,
            "accuracy": correct / count, "lr": lr}  # fmt: skip


def epoch_row(
    step: int, epoch: int, test: dict, sums: list[float], seconds: float, elapsed: float
) -> dict:
    """
    The row of a finished epoch: the test results, and the epoch's training loss, accuracy and
    speed from its sums `[loss sum, correct, images]` over all processes and its `seconds` of
    training; `elapsed` counts the seconds of the whole run so far.
    """
    loss_sum, correct, count = sums
    return {"split": "test", "step": step, "epoch": epoch, "loss": test["loss"],
            "accuracy": test["accuracy"], "train_loss": loss_sum / count,
            "train_accuracy": correct / count, "train_images": int(count),
            "images_per_s": count / seconds, "elapsed_s": elapsed}  # fmt: skip
