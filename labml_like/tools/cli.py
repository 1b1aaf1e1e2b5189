"""
---
title: The experiment's command line
summary: >
  Flags generated from the settings dataclasses, run folders with their record of how a run was
  made, resuming with flags, reading old run files, and the exit statuses of a run.
---

# The experiment's command line

An experiment page defines its settings as dataclasses and its recipes as presets; this page turns
them into a command line, so that the lesson does not have to:

* every field becomes a flag, with the preset's value as its default and its line of the
  dataclass's docstring as its help;
* a run folder records the command, the machine and the commit (`run.json`), and is locked while a
  run writes to it;
* `--resume` continues a run with its own settings;
* a `run.json` written by an older version still reads;
* bad input is one line on standard error and exit status 1, never a traceback.
"""

import argparse
import contextlib
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import asdict, fields, is_dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import torch

from labml_like.experiments.cifar10 import DatasetError
from labml_like.experiments.trainer import (
    Interrupted,
    TrainingError,
    config_problems,
    flag,
    load_checkpoint,
    lock_run,
    validate,
    write_atomically,
)
from labml_like.tools.plots import plot_run
from labml_like.tools.publish import publish

# Fields whose values come from a fixed list; argparse then rejects anything else.
CHOICES = {
    "optim.name": ("adam", "adamw", "sgd"),
    "optim.schedule": ("constant", "one_cycle"),
    "precision": ("bf16", "fp16", "fp32"),
}


class Experiment(NamedTuple):
    """What the command line needs from an experiment page."""

    prog: str  # how the experiment is started: `python -m labml_like.conv_mixer.experiment`
    presets: dict[str, Callable[[], Any]]  # name -> a function returning a fresh configuration
    default_preset: str
    train: Callable[..., dict]  # train(config, args, argv, changes) -> the final results
    results: Path  # where `publish` writes by default


# ## Flags from the dataclasses
#
# `epochs` is `--epochs`, `model.kernel_size` is `--model.kernel-size`, booleans get `--flag` and
# `--no-flag`, tuples take one value per element. Generated, the flags and the settings can never
# disagree.


def field_help(cls) -> dict[str, str]:
    """The ``* `name` text`` lines of a dataclass docstring, as `{name: text}`, in plain text."""
    doc = "\n\n".join(c.__doc__ or "" for c in cls.__mro__ if c is not object)
    items = re.findall(
        r"^\s*\* `(\w+)`(?: and `(\w+)`)? (.+?)(?=^\s*\*|\n\s*\n|\Z)", doc, re.M | re.S
    )
    helps: dict[str, str] = {}
    for first, second, text in items:
        text = re.sub(r"^(is|are) ", "", " ".join(text.split()))
        text = re.sub(r"\[([^]]*)\]\([^)]*\)", r"\1", text)  # [link](url) -> link
        text = re.sub(r"\\(\w+)", r"\1", text).replace("$", "").replace("`", "")
        helps.setdefault(first, text)
        if second:
            helps.setdefault(second, text)
    return helps


def add_arguments(parser, config, prefix: str = "") -> None:
    """Add a flag for every field of the dataclass instance `config`, recursing into groups."""
    helps = field_help(type(config))
    for f in fields(config):
        value, name = getattr(config, f.name), prefix + f.name
        if name == "preset":
            continue
        if is_dataclass(value):
            group = parser.add_argument_group(f"{name} settings")
            add_arguments(group, value, name + ".")
            continue
        option = flag(name)
        help_text = f"{helps.get(f.name, '')} (%(default)s)"
        kwargs = {"dest": name, "default": value, "help": help_text, "metavar": f.name.upper()}
        if isinstance(value, bool):
            del kwargs["metavar"]
            parser.add_argument(option, action=argparse.BooleanOptionalAction, **kwargs)
        elif isinstance(value, tuple):
            parser.add_argument(option, nargs=len(value), type=type(value[0]), **kwargs)
        else:
            parser.add_argument(option, type=type(value), choices=CHOICES.get(name), **kwargs)


def apply_arguments(config, args: argparse.Namespace, prefix: str = ""):
    """A copy of `config` with every field set from the parsed `args`."""
    changes = {}
    for f in fields(config):
        value, name = getattr(config, f.name), prefix + f.name
        if is_dataclass(value):
            changes[f.name] = apply_arguments(value, args, name + ".")
        elif name != "preset":
            new = getattr(args, name)
            changes[f.name] = tuple(new) if isinstance(value, tuple) else new
    return replace(config, **changes)


def build_parser(experiment: Experiment, config) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=experiment.prog,
        description="Train on CIFAR-10. Also: `plot RUN_DIR`, `publish RUN_DIR`.",
    )
    parser.add_argument(
        "--preset",
        choices=experiment.presets,
        default=config.preset,
        help="the recipe every other flag starts from (%(default)s)",
    )
    parser.add_argument(
        "--data-dir",
        help="folder with cifar-10-batches-py (default: "
        "$LABML_LIKE_CIFAR10, else the cache folder, downloading if needed)",
    )
    parser.add_argument("--no-download", action="store_true", help="fail if the data is missing")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:N or mps (auto)")
    parser.add_argument("--run-name", help="name of the run folder (default: preset and time)")
    parser.add_argument("--runs-dir", default="runs", help="where run folders go (runs)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run --run-name from its checkpoint, with its settings",
    )
    add_arguments(parser, config)
    return parser


class TrainArguments(NamedTuple):
    """A parsed training command: the run's configuration, and every parsed flag."""

    config: Any
    args: argparse.Namespace


def parse_train_arguments(experiment: Experiment, argv: list[str]) -> TrainArguments:
    """
    Two passes: the first only looks for `--preset`, so that the second can show and start from
    that preset's values.
    """
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--preset", choices=experiment.presets, default=experiment.default_preset)
    known, _ = first.parse_known_args(argv)
    config = experiment.presets[known.preset]()
    args = build_parser(experiment, config).parse_args(argv)
    # `args.given` is the set of settings typed on the command line. Parsing again into a
    # namespace whose every attribute is already set keeps argparse from filling in defaults,
    # so what changed is what was typed, even where it equals the preset's value.
    unset = object()
    typed_only = argparse.Namespace(**dict.fromkeys(vars(args), unset))
    build_parser(experiment, config).parse_args(argv, typed_only)
    args.given = {name for name, value in vars(typed_only).items() if value is not unset}
    return TrainArguments(apply_arguments(config, args), args)


# ## Reading a saved configuration


def config_from_dict(values: dict, defaults, prefix: str = ""):
    """
    Rebuild a configuration saved with `asdict` (as in `run.json`) on top of `defaults`. Every
    value must have the type of its field, or `ValueError` names it; a field the file lacks keeps
    its default.
    """
    if not isinstance(values, dict):
        raise ValueError(f"{prefix.rstrip('.') or 'config'}: expected an object")
    if not prefix:
        values = migrate(values)
    names = {f.name for f in fields(defaults)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"unknown setting {prefix}{unknown[0]}")
    changes = {}
    for name, value in values.items():
        default = getattr(defaults, name)
        if is_dataclass(default):
            changes[name] = config_from_dict(value, default, f"{prefix}{name}.")
        else:
            changes[name] = typed(value, default, prefix + name)
    return replace(defaults, **changes)


def migrate(values: dict) -> dict:
    """
    Settings as an older version wrote them, in today's names. Before `precision`, `drop_last`
    and `sync_bn` existed, `run.json` had `mixed_precision` (true or false); such runs used
    `bf16` or `fp32`, kept plain BatchNorm and dropped each epoch's last, smaller batch.
    """
    if "mixed_precision" not in values:
        return values
    values = dict(values)
    values.setdefault("precision", "bf16" if values.pop("mixed_precision") else "fp32")
    values.setdefault("sync_bn", False)
    values.setdefault("drop_last", True)
    return values


def typed(value, default, name: str):
    """A value read from JSON, checked against the type of the field's `default`."""
    if isinstance(default, tuple):
        if isinstance(value, list | tuple) and len(value) == len(default):
            return tuple(typed(v, d, name) for v, d in zip(value, default, strict=True))
        expected = f"a list of {len(default)}"
    elif isinstance(default, float) and type(value) in (int, float):
        return float(value)
    elif type(value) is type(default):
        return value
    else:
        expected = type(default).__name__
    raise ValueError(f"{name}: expected {expected}, found {json.dumps(value)[:40]}")


def read_run_config(run_dir: Path, defaults):
    """The configuration of a run, from its `run.json`, checked like a new one."""
    path = run_dir / "run.json"
    if not path.is_file():
        raise TrainingError(f"{path}: not found; nothing to resume under this --run-name")
    try:
        info = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise TrainingError(f"{path}: not valid JSON ({e})") from None
    if not isinstance(info, dict) or "config" not in info:
        raise TrainingError(f'{path}: no "config" object')
    try:
        config = config_from_dict(info["config"], defaults)
    except ValueError as e:
        raise TrainingError(f"{path}: {e}") from None
    problems = config_problems(config)
    if problems:
        raise TrainingError(f"{path}: " + "; ".join(problems))
    return config


# ## Resuming with flags
#
# `--resume` continues a run with the settings in its `run.json`, and compares every flag typed
# next to it with them. A flag that repeats the run's value changes nothing, so the original
# command with `--resume` added works. `--epochs`, `--log-every` and `--tta` may change: they do
# not alter what the weights saved so far mean. Any other change is refused, naming the flags: a
# run whose first epochs followed one recipe and the rest another is a result of neither.
RESUMABLE = ("epochs", "log_every", "tta")


def settings(config, prefix: str = "") -> dict:
    """Every field of `config` by its dotted name (`model.d_model`), nested groups included."""
    flat = {}
    for f in fields(config):
        value = getattr(config, f.name)
        if is_dataclass(value):
            flat.update(settings(value, f"{prefix}{f.name}."))
        else:
            flat[prefix + f.name] = value
    return flat


def resume_config(run_dir: Path, asked, given: set[str]) -> tuple[Any, list[str]]:
    """
    The run's configuration with the changes that the `given` flags of `asked` may make, and
    those changes, described one per flag.
    """
    saved = read_run_config(run_dir, type(asked)())
    old, new = settings(saved), settings(asked)
    changed = [name for name in old if name in given and new[name] != old[name]]
    refused = [name for name in changed if name not in RESUMABLE]
    if refused:
        flags = ", ".join(f"{flag(n, new[n])} (the run has {old[n]})" for n in refused)
        raise TrainingError(
            f"--resume continues {run_dir} with its own settings, and these flags would change "
            f"them: {flags}; drop them, or start a new run with another --run-name"
        )
    if "epochs" in changed:
        # The one-cycle schedule is laid out over the whole run; a constant rate is not.
        if saved.optim.schedule != "constant":
            raise TrainingError(
                f"{flag('epochs', new['epochs'])}: the {saved.optim.schedule} learning-rate "
                f"schedule of {run_dir} is laid out over its {old['epochs']} epochs, so the "
                "length of the run cannot change (with --optim.schedule constant it could)"
            )
        trained = load_checkpoint(run_dir / "checkpoint.pt")["epoch"]
        if new["epochs"] < trained:
            raise TrainingError(
                f"{flag('epochs', new['epochs'])}: {run_dir} has already trained {trained} epochs"
            )
    config = replace(saved, **{name: new[name] for name in changed})
    return config, [f"{flag(n, new[n])} (was {old[n]})" for n in changed]


# ## The run folder and its record


def check_run_name(name: str | None) -> None:
    """
    A run writes to `runs_dir/name`, so `name` must be one plain folder name: with a `/` or
    `..` in it, `--run-name ../../x` would write outside `--runs-dir`.
    """
    if name is None:
        return
    plain = name not in ("", ".", "..") and Path(name).name == name
    if not plain or "/" in name or "\0" in name:
        raise TrainingError(
            f"--run-name {name!r}: must be a single folder name, without '/' or '..'"
        )


def describe_device(device: torch.device) -> str:
    """A human description of the hardware, for `run.json` and the published results."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return f"Apple MPS ({platform.machine()})"
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        names = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.M)
        cpu = names[0] if names else cpu
    return f"CPU: {cpu}, {os.cpu_count()} cores, {torch.get_num_threads()} torch threads"


def git_commit() -> str:
    """The source's git commit, with `-dirty` if tracked files have changed since."""
    root = Path(__file__).resolve().parents[2]

    def git(*words):
        return subprocess.run(["git", *words], cwd=root, capture_output=True, text=True, timeout=10)

    try:
        head = git("rev-parse", "--short=12", "HEAD")
        if head.returncode:
            return "unknown (not a git checkout with commits)"
        dirty = git("status", "--porcelain", "--untracked-files=no").stdout.strip()
        return head.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"


@contextlib.contextmanager
def run_folder(
    experiment: Experiment, config, args, argv: list[str], changes: list[str], pieces: dict
) -> Iterator[None]:
    """
    Claim `runs_dir/run_name` for the run that the body trains: lock it against a second run of
    the same name, and write `run.json` for a new run, or record the changes a resume made.
    `pieces` holds `device`, `distributed`, `data` and `model`. Only the main process writes.
    """
    distributed, device = pieces["distributed"], pieces["device"]
    run_dir = Path(args.runs_dir) / args.run_name
    command = shlex.join([*experiment.prog.split(), *argv])
    lock = None
    try:
        if distributed.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = lock_run(run_dir)
            if args.resume and changes:
                # Keep run.json true to a run resumed with changes: its settings now, and how.
                info = json.loads((run_dir / "run.json").read_text())
                info["config"] = asdict(config)
                info.setdefault("resumed_with", []).append(command)
                write_atomically(run_dir / "run.json", json.dumps(info, indent=1) + "\n")
                print(f"resuming {run_dir} with " + ", ".join(changes), flush=True)
            if not args.resume:
                if (run_dir / "checkpoint.pt").exists():
                    raise TrainingError(
                        f"{run_dir} already holds a run; pass --resume to continue it, or "
                        "choose another --run-name"
                    )
                info = {
                    "command": command,
                    "hardware": describe_device(device),
                    "processes": distributed.world_size,
                    "torch": torch.__version__,
                    "git_commit": git_commit(),
                    "started": datetime.now(UTC).isoformat(timespec="seconds"),
                    "train_images": len(pieces["data"].train_images),
                    "test_images": len(pieces["data"].test_images),
                    "parameters": sum(p.numel() for p in pieces["model"].parameters()),
                    "config": asdict(config),
                }
                write_atomically(run_dir / "run.json", json.dumps(info, indent=1) + "\n")
        yield
    finally:
        if lock is not None:
            lock.close()


# ## The commands
#
# `train` is the default command; `plot` and `publish` take a run folder. Errors in the input are
# one line on standard error and exit status 1. Ctrl-C saves and exits with status 130, the
# shell's convention for "stopped by SIGINT"; SIGTERM saves and exits with status 143.


def main(experiment: Experiment, argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("train", "plot", "publish") else "train"
    is_main = int(os.environ.get("RANK", "0")) == 0
    try:
        if command == "plot":
            parser = argparse.ArgumentParser(prog=f"{experiment.prog} plot")
            parser.add_argument("run_dir", type=Path)
            print(plot_run(parser.parse_args(argv).run_dir))
        elif command == "publish":
            parser = argparse.ArgumentParser(prog=f"{experiment.prog} publish")
            parser.add_argument("run_dir", type=Path)
            parser.add_argument("--out", type=Path, default=experiment.results)
            parser.add_argument("--note", default="", help="what this run is, in a sentence or two")
            args = parser.parse_args(argv)
            print(publish(args.run_dir, args.out, args.note))
        else:
            config, args = parse_train_arguments(experiment, argv)
            changes: list[str] = []
            check_run_name(args.run_name)
            validate(config)
            if args.resume:
                if not args.run_name:
                    raise TrainingError("--resume needs the --run-name of the run to continue")
                run_dir = Path(args.runs_dir) / args.run_name
                config, changes = resume_config(run_dir, config, args.given)
            args.run_name = args.run_name or (
                f"{config.preset}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
            )
            final = experiment.train(config, args, argv, changes)
            summary = f"test accuracy {final['test_accuracy']:.2%}"
            if "tta_accuracy" in final:
                summary += f", with flip TTA {final['tta_accuracy']:.2%}"
            if is_main:
                print(f"{summary}; results in {Path(args.runs_dir) / args.run_name}")
    except Interrupted as stop:
        if is_main:
            print(stop, file=sys.stderr)
        return 128 + stop.signum
    except (TrainingError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except OSError as error:
        # A folder we may not write to, a full disk, a file where a folder should be.
        where = f"{error.filename}: " if error.filename else ""
        print(f"error: {where}{error.strerror or error}", file=sys.stderr)
        return 1
    return 0


def exit_process(status: int) -> None:
    """
    ### Leaving a multi-process run

    Each process of a multi-process run leaves without Python's usual shutdown. The
    communication library runs each all-reduce on worker threads of its own, and such a thread
    may still be letting go of the last all-reduce's tensors, which needs Python's interpreter
    lock, when the main thread has already finished. If Python is shutting down at that moment,
    the thread is stopped halfway and the whole process aborts (`SIGABRT`), and `torchrun`
    reports a run that wrote all its results as failed. By the time `main` returns, every result
    is on disk and the process group is shut down, so once the output is flushed nothing is lost
    by `os._exit`, which ends the process at once.
    """
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)
