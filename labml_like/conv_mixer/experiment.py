r"""
---
title: Training ConvMixer on CIFAR-10
summary: >
  The runnable CIFAR-10 experiment for ConvMixer: five presets (the labml original, the 25-epoch
  recipe of the authors' CIFAR-10 script, our fast recipe, a full run for a laptop CPU, and a
  smoke test), a command line generated from the configuration, plots, and publishing a run's
  results.
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
pip install torch numpy tqdm      # then, from the repository root:
python -m labml_like.conv_mixer.experiment --preset smoke          # 2 epochs of a tiny model
python -m labml_like.conv_mixer.experiment --preset paper --run-name paper
python -m labml_like.conv_mixer.experiment --preset paper --epochs 10 --model.kernel-size 9
python -m labml_like.conv_mixer.experiment --run-name paper --resume   # after a crash or Ctrl-C
torchrun --nproc_per_node 4 -m labml_like.conv_mixer.experiment --preset paper
python -m labml_like.conv_mixer.experiment plot runs/paper       # writes runs/paper/curves.svg
python -m labml_like.conv_mixer.experiment publish runs/paper    # to docs_src/results/conv_mixer/
```

`--help` lists every setting with its value in the chosen preset. Each run writes
`runs/<name>/`: `run.json` (the command, the machine, the configuration), `metrics.jsonl`,
`checkpoint.pt`, `run.lock` (which turns away a second run of the same name while this one
runs) and, at the end, `final.json`.

## Our reference run

![Loss and accuracy of the published reference run, by epoch](../results/conv_mixer/curves.svg)

This is a run on the whole of CIFAR-10 that you can repeat on a laptop: the [`laptop`
preset](#laptop), ConvMixer-128/6 (kernel 5, patch 2, 125,322 parameters), trained for 5 epochs on
all 50,000 training images and tested on all 10,000 test images. It reached **81.06%** test accuracy
(81.60% with [flip test-time augmentation](../experiments/trainer.html#Trainer.evaluate)), in 37
minutes of training and evaluation on two cores of an AMD EPYC server, at about 118 images a second
in the last epoch. The machine was a shared virtual machine that was running other, lower-priority
work at the same time, so a quiet laptop may well be faster.

![Confusion matrix of the reference run](../results/conv_mixer/confusion.svg)

The confusion matrix (true classes in rows, predicted ones in columns) shows where the errors are:
the two largest numbers off the diagonal are cats taken for dogs and dogs taken for cats, while
cars, ships and trucks are the classes it gets right most often.

The images are not quite the official ones. Our machines cannot download CIFAR-10, so the run used a
copy whose images were stored as JPEG at quality 75 and rebuilt into the standard layout, in the
original order; each pixel differs from the original by about 5.8 grey levels on average. Accuracy
on the official images will be close to this but not the same. The command, with `DATA` the folder
that holds `cifar-10-batches-py` (leave `--data-dir` out to download the official archive):

```bash
python -m labml_like.conv_mixer.experiment --preset laptop --data-dir DATA --run-name laptop
```

[Its own page](../results/conv_mixer/readme.html) gives the exact command as it ran, the git commit,
the metrics of every logged step and the confusion matrix as a table. This is not a result to
compare with the paper's or with those of the authors' CIFAR-10 script (see [the presets](#paper)
below), whose recipe trains a model almost five times larger for 25 epochs on a GPU."""

import argparse
import inspect
import json
import math
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
from typing import NamedTuple

import torch
import torch.distributed as dist

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments.cifar10 import (
    IMAGE_SHAPE,
    MAX_MAGNITUDE,
    MEAN,
    STD,
    Augment,
    DatasetError,
    load_cifar10,
    normalize,
)
from labml_like.experiments.trainer import (
    Interrupted,
    OptimConfig,
    Trainer,
    TrainerConfig,
    TrainingError,
    config_problems,
    copy_run_files,
    flag,
    init_distributed,
    invalid,
    load_checkpoint,
    lock_run,
    plot_run,
    validate,
    write_atomically,
)

# The side of a CIFAR-10 image in pixels.
SIDE = IMAGE_SHAPE[-1]


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

    def problems(self) -> dict[str, str]:
        """
        The invalid fields, checked the [same way](../experiments/trainer.html#invalid) as the
        training settings. The kernel needs a centre pixel, so that padding $(k-1)/2$ keeps the
        grid in place, and the patches must tile the image exactly.
        """
        divisors = [p for p in range(1, SIDE + 1) if SIDE % p == 0]
        return invalid(
            d_model=(self.d_model >= 1, "at least 1"),
            n_layers=(self.n_layers >= 1, "at least 1"),
            kernel_size=(
                self.kernel_size >= 1 and self.kernel_size % 2 == 1,
                "odd: an even kernel has no centre, and 'same' padding would shift the grid",
            ),
            patch_size=(
                self.patch_size in divisors,
                f"a divisor of the {SIDE}-pixel image side ({', '.join(map(str, divisors))})",
            ),
        )


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

    def problems(self) -> dict[str, str]:
        """The invalid fields."""
        return invalid(
            crop_padding=(0 <= self.crop_padding < SIDE, f"from 0 to {SIDE - 1}"),
            rand_augment_n=(self.rand_augment_n >= 0, "0 (off) or more"),
            rand_augment_m=(0 <= self.rand_augment_m <= MAX_MAGNITUDE, f"0 to {MAX_MAGNITUDE}"),
            color_jitter=(0 <= self.color_jitter <= 1, "from 0 to 1"),
            random_erasing=(0 <= self.random_erasing <= 1, "a probability, from 0 to 1"),
            mean=(all(math.isfinite(v) for v in self.mean), "three finite numbers"),
            std=(all(0 < v < math.inf for v in self.std), "three numbers above 0"),
            train_limit=(self.train_limit >= 0, "0 (all images) or more"),
            test_limit=(self.test_limit >= 0, "0 (all images) or more"),
        )


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
    to $[-1, 1]$ with mean and standard deviation 0.5. It trains for 150 epochs: with a small,
    constant rate every step moves the weights only a little, and no schedule lowers the rate at
    the end. One detail differs: their crop pads the image with black (torchvision's
    `RandomCrop(32, padding=4)`), ours with a reflection of the border (see
    [the crop](../experiments/cifar10.html#random_crop)).
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

    The recipe of the authors' separate CIFAR-10 script,
    [convmixer-cifar10](https://github.com/locuslab/convmixer-cifar10): ConvMixer-256/8,
    $k = 5$, $p = 2$, AdamW with peak learning rate 0.05 and weight decay 0.005, batches of 512,
    the [one-cycle schedule](../experiments/trainer.html#one_cycle), RandAugment with 2
    operations at magnitude 12, and mixed precision. The script's README reports about 92.5% test
    accuracy after these 25 epochs, and over 94% after 100 epochs with colour jitter 0.2 and
    random erasing 0.2 added: `--epochs 100 --data.color-jitter 0.2 --data.random-erasing 0.2`.

    Those are the script's numbers, not the paper's. The paper reports over 96% on CIFAR-10, with
    models trained in the timm library. The same README says the script does not set out to
    reproduce the paper: torchvision's RandAugment and random erasing differ slightly from timm's,
    and the script leaves out Mixup and CutMix.

    Their script crops with `RandomResizedCrop` at scale 1.0 and aspect ratio 1, which keeps the
    whole image, so the crop does nothing: we set `crop_padding` to 0. The shifts come from
    RandAugment's translations instead.

    The rest follows their script as it runs. Our
    [RandAugment](../experiments/cifar10.html#rand_augment) is torchvision's, operation by
    operation: the same 14 operations at the same strengths, black fill, and the bytes Pillow
    computes (the tests compare every operation with Pillow on real images).
    [Random erasing](../experiments/cifar10.html#random_erasing) and
    [colour jitter](../experiments/cifar10.html#color_jitter), off here, follow torchvision's
    defaults too. An epoch keeps its last, smaller batch, as their `DataLoader` does: 50,000 images
    make 97 steps of 512 and one of 336, 98 steps in all. The forward pass runs in float16 with a
    gradient scaler, as theirs does ([why a scaler](../experiments/trainer.html#autocast_dtype)),
    and inputs are normalized with their constants, whose red standard deviation is 0.2471 where
    our default has 0.2470. On several GPUs, BatchNorm shares its statistics across them
    ([SyncBatchNorm](../experiments/trainer.html#use_sync_batchnorm)), so that 4 GPUs normalize
    over all 512 images of a step, as their run on one GPU did.

    **Remaining differences from the authors' script.**

    * *Where and how the augmentation runs.* Theirs applies torchvision transforms to one PIL
      image at a time in `DataLoader` worker processes; ours applies the same operations to whole
      batches, on the training device. Each operation gives the same bytes; we checked against
      Pillow 13.0, and the Pillow version they used is not recorded.
    * *The random numbers.* Every choice is drawn from the same distribution, but from other
      generators and in another order (our sign is drawn for every image, torchvision's only for
      the signed operations; our random erasing draws its ten candidate rectangles at once). The
      initial weights and the shuffling come from our seed; their script sets none. No run of ours
      sees the same augmented images as one of theirs.
    * *The torchvision version.* Their script does not pin one, and torchvision's RandAugment has
      changed since it was added: earlier versions sheared about the image centre (pull request
      #5285 moved the centre to the top-left corner in 2022), by an angle of $v$ radians, a
      factor of $\tan v$, rather than by the factor $v$, and started the solarize thresholds at
      256 instead of 255. We follow the current definitions.
    * *Several GPUs.* Their script wraps the model in `nn.DataParallel`, which on several GPUs
      runs a replica per GPU on its slice of the batch, so BatchNorm there normalizes per GPU
      (their published log is from one GPU). With SyncBatchNorm, our default, several GPUs
      normalize as one does; `--no-sync-bn` gives per-GPU statistics instead.
    * *The optimizer's kernel.* On CUDA we use PyTorch's fused AdamW; their `AdamW` uses
      PyTorch's default implementation. The update rule is the same; the rounding may differ.
    * *The schedule's knots with other epoch counts.* Their learning rate peaks at epoch
      `epochs * 2 // 5` and drops to $\eta_{max}/20$ at `epochs * 4 // 5`, whole epochs; ours at
      40% and 80% of the steps. For 25 epochs these are the same points; for an `--epochs` that is
      not a multiple of 5 they are not.
    * *The memory layout.* Our images and activations are stored channels-last, which changes
      which convolution kernels run (and their rounding), not what they compute.
    * *The data.* Their script downloads the official archive, as ours does; on a copy rebuilt
      from JPEG files the images are not the same.

    Why can Adam take a learning rate of 0.05, when $10^{-3}$ is PyTorch's default? We have no
    proof that it is safe; it is the rate the authors chose, and their published log trains
    without diverging. Two things keep it in check. Adam divides each gradient by a running
    estimate of its size, so each weight moves by roughly the learning rate per step, however
    large the gradient (Kingma and Ba, 2015, section 2.1); a huge gradient cannot cause a huge
    step. And the rate reaches 0.05 only at the end of a linear warm-up over the first 40% of
    training.

    A common argument does *not* carry over. When a BatchNorm directly follows a convolution,
    scaling the convolution's weights changes nothing, and a larger weight makes the same step a
    smaller relative change. In ConvMixer a GELU sits between every convolution and its
    BatchNorm, and $\mathrm{GELU}(3x) \ne 3\,\mathrm{GELU}(x)$. We measured it on a freshly
    initialized ConvMixer-256/8 in training mode, with 256 CIFAR-10 images: multiplying the weight
    and bias of the first layer's point-wise convolution by 3 changes that layer's output by 12%
    (relative L2 norm of the difference; 11% for the fourth layer). With ReLU in GELU's place the
    change is $2 \times 10^{-5}$: $\mathrm{ReLU}(3x) = 3\,\mathrm{ReLU}(x)$, and BatchNorm
    divides the 3 out; only its small $\epsilon$ does not scale. (`benchmarks/note_figures.py`
    prints these figures.)
    """
    return ExperimentConfig(
        preset="paper",
        epochs=25,
        batch_size=512,
        model=ModelConfig(d_model=256, n_layers=8, kernel_size=5, patch_size=2),
        precision="fp16",
        drop_last=False,
        optim=OptimConfig(name="adamw", lr=0.05, weight_decay=0.005, schedule="one_cycle"),
        data=DataConfig(
            crop_padding=0,
            flip=True,
            rand_augment_n=2,
            rand_augment_m=12,
            mean=(0.4914, 0.4822, 0.4465),
            std=(0.2471, 0.2435, 0.2616),
        ),
    )


def fast() -> ExperimentConfig:
    r"""
    ### fast

    Our attempt at the shortest time to 94% on one GPU. **Its GPU timing and accuracy are not
    measured yet** (we had no GPU while writing it); treat it as a hypothesis to test, and see
    [the benchmarks](https://github.com/labml-like/labml_like/blob/main/benchmarks/RESULTS.md).

    The idea. The README of the authors' CIFAR-10 script reports over 94% only after 100 epochs
    of ConvMixer-256/8 with $k = 5$. We trade epochs for width and kernel size, betting that a
    wider network needs fewer epochs. Counted from the layer shapes, ConvMixer-384/8 with
    $k = 7$ does 342 million multiply-adds per image in a forward pass, against 148 million for
    ConvMixer-256/8 with $k = 5$: 2.31 times as many. 40 such epochs are then about 92% of the
    multiply-adds of the 100 narrow ones, a saving of only about 8%. What it saves in wall time
    we have not measured, and multiply-adds are only a rough guide to it: a depth-wise
    convolution does $k^2$ multiply-adds for each value it reads, against $h$ for a point-wise
    one, so it moves far more memory per multiply-add, and its share of the time can be larger
    than its share of the multiply-adds (11% at $k = 7$). The paper favours large kernels
    ($k = 7$ or $9$).

    We keep the authors' optimizer, schedule and RandAugment, add light random erasing, and add
    two things their script lacks: label smoothing 0.1 and flip test-time augmentation (a second
    forward pass on the mirrored test images, only at the end). `torch.compile` generates fused
    kernels for the element-wise work around the convolutions; compiling costs time once, at the
    start.
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

    A tiny run that checks the pipeline end to end on a CPU: ConvMixer-32/2 on 5,000 training
    images for 2 epochs, 78 steps. In our run on the shared subset it reached 37.7% test
    accuracy (chance is 10%), in about 2 minutes on a two-core CPU shared with other work. The
    learning rate, 0.01, is ten times PyTorch's default for AdamW, and the one-cycle schedule
    warms up to it and anneals it within those few steps. The model does not overfit in two
    epochs (35.1% training accuracy against 37.7% on the test images in that run), so the
    classic crop and flip are all the augmentation we give it.
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


def laptop() -> ExperimentConfig:
    r"""
    ### laptop

    A full CIFAR-10 run for a laptop CPU: all 50,000 training images, scored on all 10,000 test
    images, in under 45 minutes on two cores. The [reference run](../results/conv_mixer/readme.html)
    on this page uses it.

    The budget sets the model. ConvMixer-256/8 trains at under 70 images a second on two cores
    (we measured 70 at batch 64 and 29 at batch 128, on different days), so the paper recipe's 25
    epochs would take about five hours. Most of its cost is in the point-wise convolutions,
    $h^2$ multiply-adds per patch per layer, so halving the width to
    $h = 128$ cuts that cost by four, and six layers instead of eight cut a quarter more. We keep
    $p = 2$: a $16 \times 16$ grid of patches keeps the detail that small images need, and six
    layers of $5 \times 5$ kernels already see $1 + 6 \cdot 4 = 25$ patches across, more than
    the grid. ConvMixer-128/6 has 125,322 parameters, a fifth of ConvMixer-256/8's.

    Five epochs at batch 128 make 1,950 steps (the last 80 images of each shuffled epoch are left
    out). A run this short cannot use heavy augmentation:
    the crop and flip of the classic recipe are enough. The one-cycle schedule and AdamW are the
    authors', with a smaller peak rate for the smaller batch.
    """
    return ExperimentConfig(
        preset="laptop",
        epochs=5,
        batch_size=128,
        tta=True,
        log_every=50,
        model=ModelConfig(d_model=128, n_layers=6, kernel_size=5, patch_size=2),
        optim=OptimConfig(name="adamw", lr=0.01, weight_decay=0.005, schedule="one_cycle"),
        data=DataConfig(crop_padding=4, flip=True),
    )


PRESETS = {"labml": labml, "paper": paper, "fast": fast, "laptop": laptop, "smoke": smoke}

# Fields whose values come from a fixed list; argparse then rejects anything else.
CHOICES = {
    "optim.name": ("adam", "adamw", "sgd"),
    "optim.schedule": ("constant", "one_cycle"),
    "precision": ("bf16", "fp16", "fp32"),
}


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


def config_from_dict(values: dict, defaults=None, prefix: str = ""):
    """
    Rebuild a configuration saved with `asdict` (as in `run.json`). Every value must have the
    type of its field, or `ValueError` names it. A field the file lacks, because an older
    version wrote it, keeps its default, except where another value reproduces what that run
    did: `mixed_precision` (true or false) becomes `precision` `bf16` or `fp32`, and such runs
    kept plain BatchNorm and dropped each epoch's last, smaller batch.
    """
    defaults = ExperimentConfig() if defaults is None else defaults
    if not isinstance(values, dict):
        raise ValueError(f"{prefix.rstrip('.') or 'config'}: expected an object")
    if not prefix and "mixed_precision" in values:
        values = dict(values)
        values.setdefault("precision", "bf16" if values.pop("mixed_precision") else "fp32")
        values.setdefault("sync_bn", False)
        values.setdefault("drop_last", True)
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


class TrainArguments(NamedTuple):
    """A parsed training command: the run's configuration, and every parsed flag."""

    config: ExperimentConfig
    args: argparse.Namespace


def parse_train_arguments(argv: list[str]) -> TrainArguments:
    """
    Two passes: the first only looks for `--preset`, so that the second can show and start from
    that preset's values.
    """
    first = argparse.ArgumentParser(add_help=False)
    first.add_argument("--preset", choices=PRESETS, default="paper")
    known, _ = first.parse_known_args(argv)
    config = PRESETS[known.preset]()
    args = build_parser(config).parse_args(argv)
    # `args.given` is the set of settings typed on the command line. Parsing again into a
    # namespace whose every attribute is already set keeps argparse from filling in defaults,
    # so what changed is what was typed, even where it equals the preset's value.
    unset = object()
    typed_only = argparse.Namespace(**dict.fromkeys(vars(args), unset))
    build_parser(config).parse_args(argv, typed_only)
    args.given = {name for name, value in vars(typed_only).items() if value is not unset}
    return TrainArguments(apply_arguments(config, args), args)


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


def command_line(argv: list[str]) -> str:
    return shlex.join(["python", "-m", "labml_like.conv_mixer.experiment", *argv])


def train(
    config: ExperimentConfig,
    args: argparse.Namespace,
    argv: list[str],
    changes: list[str] | None = None,
) -> dict:
    """
    Build the pieces from the configuration and hand them to the
    [trainer](../experiments/trainer.html#Trainer).
    """
    distributed, device = init_distributed(args.device)
    run_dir = Path(args.runs_dir) / args.run_name
    lock = None
    try:
        data = load_cifar10(args.data_dir, download=not args.no_download)
        # `train_limit` and `test_limit` keep the first images only, in file order (the five
        # training batches one after the other). The smoke preset uses them to stay small, and
        # what it trains on depends on the data folder. On our shared subset, which holds the
        # first 1,000 images of each of the five batches, its 5,000 images are the whole subset;
        # on the full dataset they are the first 5,000 images of `data_batch_1` alone, other
        # images with a slightly different class balance. Its 1,000 test images are the first
        # 1,000 of `test_batch` in both.
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
        if distributed.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            lock = lock_run(run_dir)
        if distributed.is_main and args.resume and changes:
            record_resume(run_dir, config, argv)
            print(f"resuming {run_dir} with " + ", ".join(changes), flush=True)
        if distributed.is_main and not args.resume:
            info = {
                "command": command_line(argv),
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
            write_atomically(run_dir / "run.json", json.dumps(info, indent=1) + "\n")
        return trainer.fit(resume=args.resume)
    finally:
        if lock is not None:
            lock.close()
        if distributed.world_size > 1:
            dist.destroy_process_group()


def read_run_config(run_dir: Path) -> ExperimentConfig:
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
        config = config_from_dict(info["config"])
    except ValueError as e:
        raise TrainingError(f"{path}: {e}") from None
    problems = config_problems(config)
    if problems:
        raise TrainingError(f"{path}: " + "; ".join(problems))
    return config


# ### Resuming with flags
#
# `--resume` continues a run with the settings in its `run.json`, and compares every flag typed
# next to it with them. A flag that repeats the run's value changes nothing, so the original
# command with `--resume` added works. `--epochs`, `--log-every` and `--tta` may change: they
# do not alter what the weights saved so far mean. Any other change is refused, naming the
# flags: a run whose first epochs followed one recipe and the rest another is a result of
# neither.
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


def resume_config(
    run_dir: Path, asked: ExperimentConfig, given: set[str]
) -> tuple[ExperimentConfig, list[str]]:
    """
    The run's configuration with the changes that the `given` flags of `asked` may make, and
    those changes, described one per flag.
    """
    saved = read_run_config(run_dir)
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


def record_resume(run_dir: Path, config: ExperimentConfig, argv: list[str]) -> None:
    """Keep `run.json` true to a run resumed with changes: its settings now, and the command."""
    path = run_dir / "run.json"
    info = json.loads(path.read_text())
    info["config"] = asdict(config)
    info.setdefault("resumed_with", []).append(command_line(argv))
    write_atomically(path, json.dumps(info, indent=1) + "\n")


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


def confusion_svg(confusion: list[list[int]], classes: list[str], cell: int = 34) -> str:
    """
    The same matrix as a picture: each cell is shaded by the share of its row, so the diagonal
    stands out and the common mistakes (cats taken for dogs, say) show as darker cells off it.
    """
    left, top = 84, 84
    size = cell * len(classes)
    parts = [
        f'<text x="{left + size / 2}" y="14" text-anchor="middle">predicted</text>',
        f'<text x="12" y="{top + size / 2}" text-anchor="middle" '
        f'transform="rotate(-90 12 {top + size / 2})">true</text>',
    ]
    for i, name in enumerate(classes):
        y = top + i * cell + cell / 2 + 4
        x = left + i * cell + cell / 2
        parts.append(f'<text x="{left - 6}" y="{y}" text-anchor="end">{name}</text>')
        parts.append(
            f'<text x="{x}" y="{top - 6}" transform="rotate(-45 {x} {top - 6})">{name}</text>'
        )
    for i, row in enumerate(confusion):
        total = max(sum(row), 1)
        for j, count in enumerate(row):
            share = count / total
            x, y = left + j * cell, top + i * cell
            ink = "#fff" if share > 0.5 else "#222"
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell}" height="{cell}" '
                f'fill="rgb(31,111,178)" fill-opacity="{share:.3f}" stroke="#ccc"/>'
                f'<text x="{x + cell / 2}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'fill="{ink}">{count}</text>'
            )
    width, height = left + size + 8, top + size + 8
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" font-family="sans-serif" font-size="11" '
        'role="img" aria-label="Confusion matrix: true classes in rows, predicted classes in '
        'columns">\n<rect width="100%" height="100%" fill="#fff"/>\n'
        + "\n".join(parts)
        + "\n</svg>\n"
    )


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
    # A run resumed with changes (more epochs, say) is reproduced by its commands in order.
    commands = "\n".join([info["command"], *info.get("resumed_with", [])])
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
{commands}
```

![Loss and accuracy by epoch, training and test](curves.svg)

## Confusion matrix

Rows are the true classes, columns the predicted ones (first five letters); the diagonal, in
bold, counts correct answers.

{confusion_table(final["confusion"], final["classes"])}

![The same confusion matrix, each cell shaded by the share of its row](confusion.svg)

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
    svg = confusion_svg(final["confusion"], final["classes"])
    (run_dir / "confusion.svg").write_text(svg)
    names = ["metrics.jsonl", "curves.svg", "confusion.svg", "final.json", "run.json"]
    copy_run_files(run_dir, out_dir, names)
    readme = out_dir / "readme.md"
    readme.write_text(results_readme(info, final, note))
    return readme


def main(argv: list[str] | None = None) -> int:
    """
    ## Entry point

    `train` is the default command; `plot` and `publish` take a run folder. Errors in the input
    are one line on standard error and exit status 1. Ctrl-C saves and exits with status 130, the
    shell's convention for "stopped by SIGINT"; SIGTERM saves and exits with status 143.
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
            final = train(config, args, argv, changes)
            summary = f"test accuracy {final['test_accuracy']:.2%}"
            if "tta_accuracy" in final:
                summary += f", with flip TTA {final['tta_accuracy']:.2%}"
            if int(os.environ.get("RANK", "0")) == 0:
                print(f"{summary}; results in {Path(args.runs_dir) / args.run_name}")
    except Interrupted as stop:
        if int(os.environ.get("RANK", "0")) == 0:
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
