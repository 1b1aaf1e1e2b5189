"""
---
title: Checkpoint files
summary: >-
  Atomic writes, safe loading with one-line errors, and a lock that keeps two runs out of one
  folder.
---

# Checkpoint files

A run writes its state to `runs/<name>/checkpoint.pt` at the end of every epoch and when it is
stopped. What goes *into* a checkpoint is on the [resume](resume.html) page; this page is about the
file itself: written so that a crash never leaves a half-written one, read so that a damaged or
hostile one fails with one line, and guarded so that two runs never write into the same folder.
"""

import contextlib
import os
import pickle
import sys
import zipfile
from pathlib import Path
from typing import IO

import torch

from labml_like.tools.errors import TrainingError

if sys.platform != "win32":
    import fcntl


def save_checkpoint(state: dict, path: Path) -> None:
    """
    ## Atomic writes

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
    Load a checkpoint onto the CPU. A checkpoint is a pickle, and a plain pickle can name any
    function for the loader to call (see [reading the batches
    safely](../experiments/cifar10.html#read_batch)). `weights_only=True` makes PyTorch's loader
    refuse everything but tensors and plain Python values, so a checkpoint from elsewhere cannot
    call code on the way in, short of a bug in that restricted loader.
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


def copy_run_files(run_dir: Path, out_dir: Path, names: list[str]) -> None:
    """Copy the named files from a run directory, each replaced atomically."""
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in names:
        write_atomically(out_dir / name, (run_dir / name).read_bytes())
