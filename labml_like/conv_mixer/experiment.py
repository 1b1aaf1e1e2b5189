r"""
---
title: Training ConvMixer on CIFAR-10
summary: >
  The runnable CIFAR-10 experiment for ConvMixer: five presets, from a two-minute check on a CPU to
  the recipe of the authors' CIFAR-10 script, what each needs, and what we measured.
---

# Training ConvMixer on CIFAR-10

This page trains the [ConvMixer](index.html#ConvMixer) model on CIFAR-10, 60,000 colour images of
$32 \times 32$ pixels in ten classes (50,000 to train on, 10,000 to test). It puts together the
model from the [previous page](index.html), the [CIFAR-10 data](../experiments/cifar10.html) and
the [training loop](../experiments/trainer.html). A *preset* is a complete recipe:

| preset | [labml](#labml) | [paper](#paper) | [fast](#fast) | [laptop](#laptop) | [smoke](#smoke) |
|---|---|---|---|---|---|
| model | ConvMixer-256/8 | ConvMixer-256/8 | ConvMixer-384/8 | ConvMixer-128/6 | ConvMixer-32/2 |
| kernel $k$ | 7 | 5 | 7 | 5 | 5 |
| parameters | 643,338 | 594,186 | 1,358,218 | 125,322 | 4,842 |
| epochs | 150 | 25 | 40 | 5 | 2 |
| batch | 64 | 512 | 512 | 128 | 128 |
| optimizer | Adam | AdamW | AdamW | AdamW | AdamW |
| schedule | constant | one-cycle | one-cycle | one-cycle | one-cycle |
| peak rate | 0.00025 | 0.05 | 0.05 | 0.01 | 0.01 |
| augmentation | crop | RandAugment | RandAugment, erasing | crop | crop |
| hardware | GPU | GPU | GPU | CPU | CPU |
| our result | not measured | not measured | untested | 81.06% in 37 min | 37.7% in 2 min |

All use patches of $p = 2$ pixels and flip half the training images. **What we measured** is the
last row, on two cores of a shared server's CPU: `laptop` on all of CIFAR-10 re-encoded as JPEG (see
below), `smoke` on 5,000 of the original training images. No GPU run of any preset exists yet.
**What others report** is kept apart, in each preset's note: for the `paper` recipe, the authors'
CIFAR-10 script reports about 92.5%.

## Running it

```bash
pip install torch numpy tqdm      # then, from the repository root:
python -m labml_like.conv_mixer.experiment --preset smoke
python -m labml_like.conv_mixer.experiment --preset laptop
python -m labml_like.conv_mixer.experiment --preset paper  # GPU
python -m labml_like.conv_mixer.experiment --run-name NAME --resume
torchrun --nproc_per_node 4 -m labml_like.conv_mixer.experiment  # 4 GPUs
python -m labml_like.conv_mixer.experiment plot runs/NAME
python -m labml_like.conv_mixer.experiment publish runs/NAME
```

`smoke` and `laptop` are made for a CPU; the table gives their times on two cores of a shared server
(we have no laptop measurement). The other presets need a GPU. We have not run them on a CPU, but at
the speeds we measured for ConvMixer-256/8 on two cores (29 and 70 images a second, in two
measurements that disagree; see `benchmarks/RESULTS.md`), the `paper` preset's 25 epochs (1.25
million images) would take 5 to 12 hours, and `labml`'s 150 epochs about six times as long.
`torchrun` starts one process per GPU (without `--preset`, a run uses `paper`). `--resume` continues
a run after a crash or Ctrl-C; `--help` lists every setting with its value in the chosen preset, and
any of them can be changed, as in `--epochs 10 --model.kernel-size 9`. Each run writes
`runs/<name>/`: `run.json` (the command, the machine, the settings), `metrics.jsonl`,
`checkpoint.pt` and, at the end, `final.json`.

The [command line](../tools/cli.html), [plots](../tools/plots.html) and
[publishing](../tools/publish.html) are machinery, on pages of their own.

## Our reference run

![Loss and accuracy of the published reference run, by epoch](../results/conv_mixer/curves.svg)

The [`laptop` preset](#laptop) on all of CIFAR-10: ConvMixer-128/6 trained for 5 epochs on the
50,000 training images reached **81.06%** on the 10,000 test images (81.60% with
[flip test-time augmentation](../experiments/trainer.html)), in 37 minutes of training and
evaluation on two cores of a shared AMD EPYC server that was running other work at lower priority,
at about 118 images a second in the last epoch.

The images are not quite the official ones: the run read a copy of CIFAR-10 stored as JPEG at
quality 75 and rebuilt into the standard layout, in the original order. Each pixel differs from
the original by about 5.8 grey levels on average, so accuracy on the official images will be close
to this, not the same.

![Confusion matrix of the reference run: true classes in rows, predicted in
columns](../results/conv_mixer/confusion.svg)

In the confusion matrix, the two largest numbers off the diagonal are cats taken for dogs (148)
and dogs taken for cats (128); cars, ships and trucks are the classes it gets right most often.
[Its own page](../results/conv_mixer/readme.html) gives the command, the commit, every logged
metric and the matrix as a table. It is not a result to compare with the authors' script, whose
`paper` recipe trains a model almost five times larger for 25 epochs on a GPU.
"""

import math
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path

import torch
import torch.distributed as dist

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments.cifar10 import (
    IMAGE_SHAPE,
    MAX_MAGNITUDE,
    MEAN,
    STD,
    Augment,
    load_cifar10,
    normalize,
)
from labml_like.experiments.trainer import (
    OptimConfig,
    Trainer,
    TrainerConfig,
    init_distributed,
    invalid,
)
from labml_like.tools import cli

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
        The invalid fields, checked like the [training settings](../experiments/trainer.html).
        The kernel needs a centre pixel, so that padding $(k-1)/2$ keeps the grid in place, and
        the patches must tile the image exactly.
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
    The data and its [augmentation](../experiments/cifar10.html).

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
    Everything about a run: the [training settings](../experiments/trainer.html) it inherits
    (epochs, batch size, seed, precision...), plus the model, the optimizer and the data.
    """

    preset: str = "paper"
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    data: DataConfig = field(default_factory=DataConfig)


# ## Presets
#
# Each preset is a function that returns a fresh configuration, so no two runs share (and
# mutate) one object. How they differ from their sources is listed after them.


def labml() -> ExperimentConfig:
    r"""
    ### labml

    The original [labml.ai](https://nn.labml.ai/conv_mixer/experiment.html) experiment:
    ConvMixer-256/8 with a $7 \times 7$ kernel, plain Adam at a small constant rate, batches of
    64, crop and flip, inputs mapped to $[-1, 1]$ (mean and standard deviation 0.5), in float32,
    keeping each epoch's last, smaller batch as its `DataLoader` does. With a small constant rate
    each step moves the weights only a little, and no schedule lowers it at the end, hence the 150
    epochs. Four things still differ from it; they are listed after the presets.
    """
    return ExperimentConfig(
        preset="labml",
        epochs=150,
        batch_size=64,
        precision="fp32",
        drop_last=False,
        model=ModelConfig(d_model=256, n_layers=8, kernel_size=7, patch_size=2),
        optim=OptimConfig(name="adam", lr=2.5e-4, weight_decay=0.0, schedule="constant"),
        data=DataConfig(crop_padding=4, flip=True, mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
    )


def paper() -> ExperimentConfig:
    r"""
    ### paper

    The recipe of the authors' CIFAR-10 script,
    [convmixer-cifar10](https://github.com/locuslab/convmixer-cifar10): ConvMixer-256/8 with
    $k = 5$, AdamW at peak rate 0.05 with weight decay 0.005, the
    [one-cycle schedule](../experiments/trainer.html), batches of 512, RandAugment with 2
    operations at magnitude 12, flips, and float16 with a gradient scaler. Their crop keeps the
    whole image, so ours is off (`crop_padding` 0); an epoch keeps its last, smaller batch
    (97 steps of 512 and one of 336); the normalization constants are theirs.

    *Reported, not measured by us:* the script's README gives about 92.5% test accuracy after
    these 25 epochs, and over 94% after 100 epochs with `--epochs 100 --data.color-jitter 0.2
    --data.random-erasing 0.2`. The paper's own CIFAR-10 figure, over 96%, comes from training
    with the timm library, not from this script.
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

    **Untested:** no run of it exists, so its time and accuracy are not measured. It is our guess at
    a shorter way to 94% on one GPU: trade epochs for width and kernel size. Counted from the layer
    shapes, ConvMixer-384/8 with $k = 7$ does 342 million multiply-adds per image in a forward pass,
    2.31 times the 148 million of ConvMixer-256/8 with $k = 5$, so its 40 epochs do about 92% of the
    multiply-adds of the script's 100, a saving of only 8% before any wall-clock measurement. It
    keeps the `paper` recipe's optimizer, schedule and RandAugment, adds label smoothing 0.1, light
    random erasing, flip test-time augmentation and `torch.compile`, and otherwise takes the
    trainer's defaults (bfloat16, each epoch's last smaller batch dropped).
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

    A tiny run that checks the pipeline end to end on a CPU: ConvMixer-32/2 on the first 5,000
    training images for 2 epochs (78 steps), scored on the first 1,000 test images. We ran it on a
    5,000-image subset of CIFAR-10 (the first 1,000 images of each training file; with the full
    files in the data folder, the 5,000 are the first of `data_batch_1`): 37.7% test accuracy,
    chance being 10%, in 1 min 48 s on two cores busy with other work. The rate, 0.01, is ten times
    PyTorch's default for AdamW; the one-cycle schedule warms up to it and anneals it within those
    few steps.
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

    All of CIFAR-10 on a CPU: the [reference run](../results/conv_mixer/readme.html) took 37 minutes
    on two cores of a shared server. The budget sets the model. Most of ConvMixer's cost is in the
    point-wise convolutions, $h^2$ multiply-adds per patch per layer, so halving the width to
    $h = 128$ cuts it by four, and six layers instead of eight cut a quarter more: ConvMixer-128/6
    has 125,322 parameters, about a fifth of ConvMixer-256/8's. We keep $p = 2$, as the authors'
    script does, for a $16 \times 16$ grid of patches. Six layers of $5 \times 5$ kernels reach
    $6 \cdot 2 = 12$ patches each way, so a corner patch does not quite see the opposite corner, 15
    patches away ([the model page's test](index.html)); eight layers would. Five epochs at batch 128
    make 1,950 steps (the last 80 images of each shuffled epoch are left out). The augmentation is
    the classic crop and flip; we have not tried heavier augmentation in so short a run.
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


# ## How the presets differ from their sources
#
# **`labml`**, against [labml.ai's experiment](https://nn.labml.ai/conv_mixer/experiment.html):
#
# * its 8 layers are deep copies of one, so all start with the same weights; ours are drawn
#   afresh for each layer (see [the model](index.html#ConvMixer));
# * its Adam is labml's own, which adds $\epsilon$ to $\sqrt{v_t}$ before the bias correction
#   instead of after it; ours is PyTorch's;
# * its crop pads with black (`RandomCrop(32, padding=4)`), ours with a reflection of the border;
# * its augmentation runs image by image in `DataLoader` workers, ours on whole batches, from
#   other random numbers.
#
# **`paper`**, against the authors' script:
#
# * *The random numbers.* Every augmentation is drawn from the same distribution as
#   torchvision's, and each operation gives the same bytes as Pillow (the tests compare them),
#   but from other generators, in another order, on whole batches; their script sets no seed.
# * *The torchvision version.* Theirs is not pinned. Earlier versions of its RandAugment sheared
#   about the image centre (pull request #5285 moved it to the corner in 2022), by an angle
#   rather than a factor, and started the solarize thresholds at 256 instead of 255. We follow
#   the current definitions.
# * *Several GPUs.* Their `nn.DataParallel` normalizes BatchNorm per GPU; our default,
#   SyncBatchNorm, normalizes over the whole batch, as their one-GPU run did (`--no-sync-bn`
#   gives per-GPU statistics).
# * *Smaller things.* We use PyTorch's fused AdamW on CUDA (same rule, other rounding), the
#   channels-last layout (other kernels, other rounding), and put the schedule's knots at 40%
#   and 80% of the steps, where theirs are at whole epochs: the same for 25 epochs, not for an
#   `--epochs` that is not a multiple of 5.
#
# **Why Adam can take a rate of 0.05**, fifty times PyTorch's default: we have no proof; it is
# the authors' choice, and their published log trains without diverging. Adam divides each
# gradient by a running estimate of its size, so a weight moves by about the learning rate per
# step however large the gradient (Kingma and Ba, 2015, section 2.1), and the rate reaches 0.05
# only after a warm-up over 40% of training. BatchNorm helps too, approximately. When it directly
# follows a convolution, scaling the convolution's weights changes nothing, so a larger weight
# makes the same step a smaller relative change. In ConvMixer a GELU sits between them, and
# $\mathrm{GELU}(3x) \ne 3\,\mathrm{GELU}(x)$, so the scale cancels only in part. In a freshly
# initialized ConvMixer-256/8 in training mode, on 256 CIFAR-10 images, multiplying the first
# layer's point-wise weights and bias by 3 changes that layer's output by 12% (11% in the fourth
# layer), where a linear layer with nothing after it would change by 200%; with ReLU in GELU's
# place the change is $2 \times 10^{-5}$.
# `benchmarks/note_figures.py` prints these figures.
PRESETS = {"labml": labml, "paper": paper, "fast": fast, "laptop": laptop, "smoke": smoke}


def train(
    config: ExperimentConfig, args, argv: list[str], changes: list[str] | None = None
) -> dict:
    """
    ## Training

    Build the pieces from the configuration, in order, and hand them to the
    [trainer](../experiments/trainer.html). `args` holds the command line's other flags (data
    folder, device, run name); `changes` are what a `--resume` changed.
    """
    # One process per GPU under `torchrun`, else one process on the best device there is.
    distributed, device = init_distributed(args.device)
    try:
        data = load_cifar10(args.data_dir, download=not args.no_download)
        # `train_limit` and `test_limit` keep the first images, in file order (the five
        # training files one after the other).
        if config.data.train_limit:
            data.train_images = data.train_images[: config.data.train_limit]
            data.train_labels = data.train_labels[: config.data.train_limit]
        if config.data.test_limit:
            data.test_images = data.test_images[: config.data.test_limit]
            data.test_labels = data.test_labels[: config.data.test_limit]
        # Seed before building the model: the initial weights are the first random numbers the
        # run draws, so the same command gives the same network.
        torch.manual_seed(config.seed)
        m = config.model
        model = conv_mixer(m.d_model, m.n_layers, m.kernel_size, m.patch_size, len(data.classes))
        # Augmentation runs on whole batches of `uint8` images on the device; normalization
        # comes after it, in the trainer.
        d = config.data
        augment = Augment(**{f.name: getattr(d, f.name) for f in fields(Augment)})
        preprocess = partial(normalize, mean=d.mean, std=d.std)
        run_dir = Path(args.runs_dir) / args.run_name
        trainer = Trainer(
            model, data, augment, preprocess, config, config.optim, run_dir, device, distributed
        )
        pieces = {"device": device, "distributed": distributed, "data": data, "model": model}
        # Lock the run folder and record the run in it (`run.json`), then train.
        with cli.run_folder(EXPERIMENT, config, args, argv, changes or [], pieces):
            return trainer.fit(resume=args.resume)
    finally:
        if distributed.world_size > 1:
            dist.destroy_process_group()


EXPERIMENT = cli.Experiment(
    prog="python -m labml_like.conv_mixer.experiment",
    presets=PRESETS,
    default_preset="paper",
    train=train,
    results=Path("docs_src/results/conv_mixer"),
)


def main(argv: list[str] | None = None) -> int:
    """The [command line](../tools/cli.html): `train` (the default), `plot` or `publish`."""
    return cli.main(EXPERIMENT, argv)


# Run as a script, the page reads its command line; a multi-process run then ends as
# [`exit_process`](../tools/cli.html#exit_process) explains.
if __name__ == "__main__":
    cli.exit_process(main())


# ## Training from the notebook
#
# This page's notebook ends by training the `smoke` preset and drawing its curves. It finds the
# images as the command line does: in the `--data-dir` folder if you add one to `argv`, else in
# the folder named by `$LABML_LIKE_CIFAR10`, else in the cache folder. `--no-download` keeps it
# offline: when the images are in none of those places, it stops and says how to install them by
# hand; leave the flag out to download them (about 170 MB).
#
# ```python notebook
# from datetime import datetime
#
# from IPython.display import SVG
#
# from labml_like.tools.plots import plot_run
#
# argv = ["--preset", "smoke", "--no-download"]
# config, args = cli.parse_train_arguments(EXPERIMENT, argv)
# args.run_name = f"notebook-{datetime.now():%Y%m%d-%H%M%S}"
# final = train(config, args, argv)
# print(f"test accuracy {final['test_accuracy']:.2%}")
# SVG(filename=plot_run(Path(args.runs_dir) / args.run_name))
# ```
