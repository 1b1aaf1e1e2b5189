r"""
---
title: Training ConvMixer on CIFAR-10
summary: >
  The runnable CIFAR-10 experiment for ConvMixer: four presets (the labml original, the paper's
  25-epoch recipe, our fast recipe, and a CPU smoke test), a command line generated from the
  configuration, plots, and publishing a run's results.
---

# Training ConvMixer on CIFAR-10

This page trains the [ConvMixer](index.html#ConvMixer) model on CIFAR-10, 60,000 colour images of
$32 \times 32$ pixels in ten classes. It puts three pieces together:

* the model from the [previous page](index.html): [patch embeddings](index.html#PatchEmbeddings),
  $d$ [ConvMixer layers](index.html#ConvMixerLayer) and a
  [classification head](index.html#ClassificationHead);
* the [CIFAR-10 data](../experiments/cifar10.html), kept on the device and augmented in batches;
* the generic [training loop](../experiments/trainer.html), which handles devices, mixed precision,
  checkpoints, resuming and several GPUs.

## Running it

```bash
pip install -e ".[experiment]"                    # torch, numpy, tqdm
python -m labml_like.conv_mixer.experiment --preset smoke          # about half a minute on a CPU
python -m labml_like.conv_mixer.experiment --preset paper --run-name paper
python -m labml_like.conv_mixer.experiment --preset paper --epochs 10 --model.kernel-size 9
python -m labml_like.conv_mixer.experiment --run-name paper --resume   # after a crash or Ctrl-C
torchrun --nproc_per_node 4 -m labml_like.conv_mixer.experiment --preset paper
python -m labml_like.conv_mixer.experiment plot runs/paper       # writes runs/paper/curves.svg
python -m labml_like.conv_mixer.experiment publish runs/paper    # to docs_src/results/conv_mixer/
```

`--help` lists every setting with its value in the chosen preset. Each run writes
`runs/<name>/`: `run.json` (the command, the machine, the configuration), `metrics.jsonl`,
`checkpoint.pt` and, at the end, `final.json`.

## Our reference run

![Loss and accuracy of the published reference run, by epoch](../results/conv_mixer/curves.svg)

These curves come from the run published on [its own page](../results/conv_mixer/readme.html),
which gives the exact command, the machine, the wall time, the git commit and the confusion
matrix. Read that page before comparing numbers: it is a *small* run on a two-core CPU, on the
5,000 training and 1,000 test images of our shared subset. It uses the `smoke` recipe with a
wider, deeper model and more epochs: ConvMixer-64/4 for 16 epochs instead of ConvMixer-32/2 for 2
(`--model.d-model 64 --model.n-layers 4 --epochs 16` added to `--preset smoke`). It shows the
whole pipeline working and learning; it is not a result to compare with the paper's, whose recipe
needs a GPU (see [the presets](#paper) below).
"""

import argparse
import inspect
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass, field, fields, is_dataclass, replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments.cifar10 import MEAN, STD, Augment, DatasetError, load_cifar10, normalize
from labml_like.experiments.trainer import (
    Interrupted,
    OptimConfig,
    Trainer,
    TrainerConfig,
    TrainingError,
    copy_run_files,
    init_distributed,
    plot_run,
)


@dataclass
class ModelConfig:
    r"""
    ## Settings

    The model: ConvMixer-$h$/$d$ with kernel size $k$ and patch size $p$.

    * `d_model` is the width $h$, the number of channels of every layer
    * `n_layers` is the depth $d$
    * `kernel_size` is $k$, the size of the depth-wise convolution
    * `patch_size` is $p$; the image becomes a grid of $32/p \times 32/p$ patches
    """

    d_model: int = 256
    n_layers: int = 8
    kernel_size: int = 5
    patch_size: int = 2


@dataclass
class DataConfig(Augment):
    r"""
    The data and its [augmentation](../experiments/cifar10.html#Augment).

    * `crop_padding` pads each image by this many pixels and crops a random $32 \times 32$ window
    * `flip` mirrors half of the images left to right
    * `rand_augment_n` is the number of RandAugment operations per image
    * `rand_augment_m` is the RandAugment magnitude (0 to 30)
    * `color_jitter` is the strength of random brightness, contrast and saturation changes
    * `random_erasing` is the probability of blanking a random rectangle
    * `mean` and `std` normalize each colour channel
    * `train_limit` and `test_limit` use only the first so many images; `0` uses all
    """

    mean: tuple[float, float, float] = MEAN
    std: tuple[float, float, float] = STD
    train_limit: int = 0
    test_limit: int = 0


@dataclass
class ExperimentConfig(TrainerConfig):
    """
    Everything about a run: the [training settings](../experiments/trainer.html#TrainerConfig)
    it inherits (epochs, batch size, seed, precision...), plus the model, the
    [optimizer](../experiments/trainer.html#OptimConfig) and the data.
    """

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)


# ## Presets
#
# A preset is a complete, named recipe; any field can then be changed on the command line. We
# write them as functions that return a fresh config, so no two runs share (and mutate) one object.


def labml() -> ExperimentConfig:
    r"""
    ### labml

    The settings of the original [labml.ai](https://nn.labml.ai/conv_mixer/experiment.html)
    ConvMixer experiment: ConvMixer-256/8 with a $7 \times 7$ kernel, plain Adam at a small
    constant learning rate, batches of 64, the classic crop-and-flip augmentation, and inputs mapped
    to $[-1, 1]$ with mean and standard deviation 0.5. With no schedule and a small rate it needs
    many epochs (150): each step is cautious, and nothing anneals the rate at the end.
    """
    return ExperimentConfig(
        preset="labml",
        epochs=150,
        batch_size=64,
        model=ModelConfig(d_model=256, n_layers=8, kernel_size=7, patch_size=2),
        optim=OptimConfig(name="adam", lr=2.5e-4, weight_decay=0.0, schedule="constant"),
        data=DataConfig(crop_padding=4, flip=True, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )


def paper() -> ExperimentConfig:
    r"""
    ### paper

    The recipe of the authors' CIFAR-10 script, which they report reaches about 92.5% test
    accuracy after 25 epochs: ConvMixer-256/8, $k = 5$, $p = 2$, AdamW with peak learning rate
    0.05 and weight decay 0.005, batches of 512, the
    [one-cycle schedule](../experiments/trainer.html#one_cycle), RandAugment with 2 operations
    at magnitude 12, and mixed precision. They report over 94% after 100 epochs with colour
    jitter 0.2 and random erasing 0.2 added:
    `--epochs 100 --data.color-jitter 0.2 --data.random-erasing 0.2`.

    Their script crops with `RandomResizedCrop` at scale 1.0 and aspect ratio 1, which keeps the
    whole image, so the crop does nothing: we set `crop_padding` to 0. The shifts come from
    RandAugment's translations instead.

    Why is a learning rate of 0.05 safe for Adam, when $10^{-3}$ is the usual advice? Adam's step
    is about the learning rate in size whatever the gradient, so 0.05 is a big step. But almost
    every weight in ConvMixer feeds into a BatchNorm, which divides out the scale of its input:
    growing those weights changes nothing, and a bigger weight makes the same step a smaller
    relative change. Weight decay keeps the weights from drifting large, so the effective step
    stays in range. The warm-up does the rest.
    """
    return ExperimentConfig(
        preset="paper",
        epochs=25,
        batch_size=512,
        model=ModelConfig(d_model=256, n_layers=8, kernel_size=5, patch_size=2),
        optim=OptimConfig(name="adamw", lr=0.05, weight_decay=0.005, schedule="one_cycle"),
        data=DataConfig(crop_padding=0, flip=True, rand_augment_n=2, rand_augment_m=12),
    )


def fast() -> ExperimentConfig:
    r"""
    ### fast

    Our attempt at the shortest time to 94% on one GPU. **Its GPU timing and accuracy are not
    measured yet** (we had no GPU while writing it); treat it as a hypothesis to test, and see
    [the benchmarks](https://github.com/labml-like/labml_like/blob/main/benchmarks/RESULTS.md).

    The reasoning. The paper's recipe reaches 94% only after 100 epochs of ConvMixer-256/8. We
    trade epochs for width: ConvMixer-384/8 costs about $(384/256)^2 = 2.25$ times as much per
    epoch (the point-wise convolutions dominate), but a wider network fits faster, so 40 epochs
    should cost less than 100 narrow ones. A $7 \times 7$ kernel widens every layer's view of the
    image at little cost, since depth-wise convolutions are cheap next to point-wise ones; the
    authors found larger kernels more accurate. We keep their tuned optimizer, schedule and
    RandAugment, add light random erasing, and add two things their script lacks: label smoothing
    0.1 (a regularizer that helps most in short runs) and flip test-time augmentation (a second
    forward pass on the mirrored test images, only at the end). `torch.compile` fuses the
    element-wise work around the convolutions, worth it over 40 epochs.
    """
    return ExperimentConfig(
        preset="fast",
        epochs=40,
        batch_size=512,
        label_smoothing=0.1,
        compile=True,
        tta=True,
        model=ModelConfig(d_model=384, n_layers=8, kernel_size=7, patch_size=2),
        optim=OptimConfig(name="adamw", lr=0.05, weight_decay=0.005, schedule="one_cycle"),
        data=DataConfig(crop_padding=0, rand_augment_n=2, rand_augment_m=12, random_erasing=0.1),
    )


def smoke() -> ExperimentConfig:
    """
    ### smoke

    A tiny run that proves the pipeline works end to end on any laptop CPU in well under a
    minute: ConvMixer-32/2 on 5,000 training images for 2 epochs. It reaches roughly 35% test
    accuracy (chance is 10%). A large learning rate with the one-cycle schedule makes the most of
    so few steps; with such a small model, crop and flip are all the augmentation it can use.
    """
    return ExperimentConfig(
        preset="smoke",
        epochs=2,
        batch_size=128,
        log_every=10,
        model=ModelConfig(d_model=32, n_layers=2, kernel_size=5, patch_size=2),
        optim=OptimConfig(name="adamw", lr=0.01, weight_decay=0.005, schedule="one_cycle"),
        data=DataConfig(train_limit=5000, test_limit=1000),
    )


PRESETS = {"labml": labml, "paper": paper, "fast": fast, "smoke": smoke}

# Fields whose values come from a fixed list; argparse then rejects anything else.
CHOICES = {"optim.name": ("adam", "adamw", "sgd"), "optim.schedule": ("constant", "one_cycle")}


# ## The command line
#
# Every field of the configuration becomes a flag, generated from the dataclasses so that the two
# can never disagree: `epochs` is `--epochs`, `model.kernel_size` is `--model.kernel-size`,
# booleans get `--flag` and `--no-flag`, tuples take one value per element. The help text of each
# flag is its line in the dataclass's docstring, and its default is the preset's value.


def field_help(cls) -> dict[str, str]:
    """The ``* `name` text`` lines of a dataclass docstring, as `{name: text}`, in plain text."""
    doc = "\n\n".join(c.__doc__ or "" for c in cls.__mro__ if c is not object)
    items = re.findall(
        r"^\s*\* `(\w+)`(?: and `(\w+)`)? (.+?)(?=^\s*\*|\n\s*\n|\Z)", doc, re.M | re.S
    )
    helps = {}
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
        flag = "--" + name.replace("_", "-")
        help_text = f"{helps.get(f.name, '')} (%(default)s)"
        kwargs = {"dest": name, "default": value, "help": help_text, "metavar": f.name.upper()}
        if isinstance(value, bool):
            del kwargs["metavar"]
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif isinstance(value, tuple):
            parser.add_argument(flag, nargs=len(value), type=type(value[0]), **kwargs)
        else:
            parser.add_argument(flag, type=type(value), choices=CHOICES.get(name), **kwargs)


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


def config_from_dict(values: dict) -> ExperimentConfig:
    """Rebuild a configuration saved with `asdict` (as in `run.json`)."""
    nested = {"model": ModelConfig, "optim": OptimConfig, "data": DataConfig}
    kwargs = {}
    for f in fields(ExperimentConfig):
        value = values[f.name]
        if f.name in nested:
            inner = {k: tuple(v) if isinstance(v, list) else v for k, v in value.items()}
            value = nested[f.name](**inner)
        kwargs[f.name] = value
    return ExperimentConfig(**kwargs)


def build_parser(config: ExperimentConfig) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m labml_like.conv_mixer.experiment",
        description="Train ConvMixer on CIFAR-10. Also: `plot RUN_DIR`, `publish RUN_DIR`.",
    )
    parser.add_argument(
        "--preset",
        choices=PRESETS,
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


def parse_train_arguments(argv: list[str]) -> tuple[ExperimentConfig, argparse.Namespace]:
    """
    Two passes: the first only looks for `--preset`, so that the second can show and start from
    that preset's values.
    """
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--preset", choices=PRESETS, default="paper")
    known, _ = first.parse_known_args(argv)
    config = PRESETS[known.preset]()
    args = build_parser(config).parse_args(argv)
    return apply_arguments(config, args), args


# ## Training


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
    root = Path(inspect.getfile(conv_mixer)).resolve().parents[2]

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


def train(config: ExperimentConfig, args: argparse.Namespace, argv: list[str]) -> dict:
    """
    Build the pieces from the configuration and hand them to the
    [trainer](../experiments/trainer.html#Trainer).
    """
    distributed, device = init_distributed(args.device)
    run_dir = Path(args.runs_dir) / args.run_name
    try:
        data = load_cifar10(args.data_dir, download=not args.no_download)
        # `train_limit` and `test_limit` keep the first images only: the smoke preset uses them so
        # that it trains on the same 5,000 images whether the full dataset is there or not.
        limit = config.data
        if limit.train_limit:
            data.train_images = data.train_images[: limit.train_limit]
            data.train_labels = data.train_labels[: limit.train_limit]
        if limit.test_limit:
            data.test_images = data.test_images[: limit.test_limit]
            data.test_labels = data.test_labels[: limit.test_limit]
        # Seed before building the model: the initial weights are the first random numbers the
        # run draws, and with the seed fixed, the same command gives the same network.
        torch.manual_seed(config.seed)
        m = config.model
        model = conv_mixer(m.d_model, m.n_layers, m.kernel_size, m.patch_size, len(data.classes))
        d = config.data
        augment = Augment(**{f.name: getattr(d, f.name) for f in fields(Augment)})
        preprocess = partial(normalize, mean=d.mean, std=d.std)
        trainer = Trainer(
            model, data, augment, preprocess, config, config.optim, run_dir, device, distributed
        )
        if distributed.is_main and not args.resume:
            run_dir.mkdir(parents=True, exist_ok=True)
            info = {
                "command": shlex.join(["python", "-m", "labml_like.conv_mixer.experiment", *argv]),
                "hardware": describe_device(device),
                "processes": distributed.world_size,
                "torch": torch.__version__,
                "git_commit": git_commit(),
                "started": datetime.now(UTC).isoformat(timespec="seconds"),
                "train_images": len(data.train_images),
                "test_images": len(data.test_images),
                "parameters": sum(p.numel() for p in model.parameters()),
                "config": asdict(config),
            }
            if (run_dir / "checkpoint.pt").exists():
                raise TrainingError(
                    f"{run_dir} already holds a run; pass --resume to continue "
                    "it, or choose another --run-name"
                )
            (run_dir / "run.json").write_text(json.dumps(info, indent=1) + "\n")
        return trainer.fit(resume=args.resume)
    finally:
        if distributed.world_size > 1:
            dist.destroy_process_group()


def read_run_config(run_dir: Path) -> ExperimentConfig:
    """The configuration a run was started with, from its `run.json`."""
    path = run_dir / "run.json"
    if not path.is_file():
        raise TrainingError(f"{path}: not found; nothing to resume under this --run-name")
    return config_from_dict(json.loads(path.read_text())["config"])


# ## Publishing a run
#
# `publish` turns a finished run into a page of the site: the curves, the metrics, a confusion
# matrix and a `readme.md` that says exactly how the numbers were made. A number without its
# command, hardware and commit cannot be checked, so those are not optional.


def confusion_table(confusion: list[list[int]], classes: list[str]) -> str:
    """A Markdown table: one row per true class, one column per predicted class."""
    short = [c[:5] for c in classes]
    lines = [
        "| true \\ predicted | " + " | ".join(short) + " | correct |",
        "|---" * (len(classes) + 2) + "|",
    ]
    for name, row in zip(classes, confusion, strict=True):
        right = row[classes.index(name)]
        cells = [f"**{v}**" if j == classes.index(name) else str(v) for j, v in enumerate(row)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {right / max(sum(row), 1):.0%} |")
    return "\n".join(lines)


def results_readme(info: dict, final: dict, note: str) -> str:
    config = info["config"]
    m = config["model"]
    model = (
        f"ConvMixer-{m['d_model']}/{m['n_layers']}, kernel {m['kernel_size']}, patch "
        f"{m['patch_size']} ({info['parameters']:,} parameters)"
    )
    minutes, seconds = divmod(round(final["elapsed_s"]), 60)
    rows = [
        ("test accuracy", f"{final['test_accuracy']:.2%}"),
        *([("with flip TTA", f"{final['tta_accuracy']:.2%}")] if "tta_accuracy" in final else []),
        ("test loss", f"{final['test_loss']:.4f}"),
        ("model", model),
        ("preset", config["preset"]),
        ("data", f"{info['train_images']:,} training and {info['test_images']:,} test images"),
        ("epochs / steps", f"{final['epochs']} / {final['steps']}"),
        ("wall time", f"{minutes} min {seconds} s (training and evaluation)"),
        ("hardware", f"{info['hardware']}, {info['processes']} process(es)"),
        ("torch", info["torch"]),
        ("git commit", info["git_commit"]),
        ("started", info["started"]),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    return f"""---
title: "ConvMixer on CIFAR-10: reference run"
summary: The published reference run of the ConvMixer experiment, with its exact command.
---

# ConvMixer on CIFAR-10: reference run

{note}

| | |
|---|---|
{table}

Reproduce it with:

```bash
{info["command"]}
```

![Loss and accuracy by epoch, training and test](curves.svg)

## Confusion matrix

Rows are the true classes, columns the predicted ones (first five letters); the diagonal, in
bold, counts correct answers.

{confusion_table(final["confusion"], final["classes"])}

Raw data: [metrics.jsonl](metrics.jsonl) (one row per logged step and per epoch),
[final.json](final.json) and [run.json](run.json) (the full configuration).
"""


def publish(run_dir: Path, out_dir: Path, note: str) -> Path:
    for name in ("run.json", "final.json", "metrics.jsonl"):
        if not (run_dir / name).is_file():
            raise TrainingError(
                f"{run_dir / name}: not found; only a finished run can be published"
            )
    info = json.loads((run_dir / "run.json").read_text())
    final = json.loads((run_dir / "final.json").read_text())
    plot_run(run_dir)
    copy_run_files(run_dir, out_dir, ["metrics.jsonl", "curves.svg", "final.json", "run.json"])
    readme = out_dir / "readme.md"
    readme.write_text(results_readme(info, final, note))
    return readme


def main(argv: list[str] | None = None) -> int:
    """
    ## Entry point

    `train` is the default command; `plot` and `publish` take a run folder. Errors in the input
    are one line on standard error and exit status 1; Ctrl-C saves and exits with status 130, the
    shell's convention for "stopped by SIGINT".
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv.pop(0) if argv and argv[0] in ("train", "plot", "publish") else "train"
    try:
        if command == "plot":
            parser = argparse.ArgumentParser(prog="experiment plot")
            parser.add_argument("run_dir", type=Path)
            print(plot_run(parser.parse_args(argv).run_dir))
        elif command == "publish":
            parser = argparse.ArgumentParser(prog="experiment publish")
            parser.add_argument("run_dir", type=Path)
            parser.add_argument("--out", type=Path, default=Path("docs_src/results/conv_mixer"))
            parser.add_argument("--note", default="", help="what this run is, in a sentence or two")
            args = parser.parse_args(argv)
            print(publish(args.run_dir, args.out, args.note))
        else:
            config, args = parse_train_arguments(argv)
            if args.resume:
                if not args.run_name:
                    raise TrainingError("--resume needs the --run-name of the run to continue")
                config = read_run_config(Path(args.runs_dir) / args.run_name)
            args.run_name = args.run_name or (
                f"{config.preset}-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
            )
            final = train(config, args, argv)
            summary = f"test accuracy {final['test_accuracy']:.2%}"
            if "tta_accuracy" in final:
                summary += f", with flip TTA {final['tta_accuracy']:.2%}"
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"{summary}; results in {Path(args.runs_dir) / args.run_name}")
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        return 130
    except (TrainingError, DatasetError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


# ### Leaving a multi-process run
#
# Each process of a multi-process run leaves without Python's usual shutdown. The communication
# library runs each all-reduce on worker threads of its own, and such a thread may still be
# letting go of the last all-reduce's tensors, which needs Python's interpreter lock, when the
# main thread has already finished. If Python is shutting down at that moment, the thread is
# stopped halfway and the whole process aborts (`SIGABRT`), and `torchrun` reports a run that
# wrote all its results as failed. By the time `main` returns, every result is on disk and the
# process group is shut down, so once the output is flushed nothing is lost by `os._exit`, which
# ends the process at once.
if __name__ == "__main__":
    status = main()
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(status)
    sys.exit(status)


# ## Training from the notebook
#
# This page's notebook ends by training the `smoke` preset, the run that
# `python -m labml_like.conv_mixer.experiment --preset smoke --no-download` starts, and drawing
# its curves. It finds the images as the command line does: in the `--data-dir` folder if you add
# one to `argv`, else in the folder named by `$LABML_LIKE_CIFAR10`, else in the cache folder.
# `--no-download` keeps it offline: when the images are in none of those places, it stops and
# says how to install them by hand; leave the flag out to download them (about 170 MB). The run
# is written to `runs/` in the notebook's working folder, under a name made from the time, so
# running the cell again starts a new run instead of refusing to overwrite the last one.
#
# ```python notebook
# from IPython.display import SVG
#
# argv = ["--preset", "smoke", "--no-download"]
# config, args = parse_train_arguments(argv)
# args.run_name = f"notebook-{datetime.now():%Y%m%d-%H%M%S}"
# final = train(config, args, argv)
# print(f"test accuracy {final['test_accuracy']:.2%}")
# SVG(filename=plot_run(Path(args.runs_dir) / args.run_name))
# ```
