r"""
---
title: The training loop
summary: >
  A generic, annotated training loop for image classifiers: forward pass, loss, backward pass,
  the one-cycle learning rate and evaluation, with mixed precision and several GPUs.
---

# The training loop

This page trains any image classifier that maps a batch of $B$ images `[B, 3, H, W]` to logits
`[B, K]`, one score for each of $K$ classes. The
[ConvMixer experiment](../conv_mixer/experiment.html) uses it to train
[ConvMixer](../conv_mixer/index.html#ConvMixer) on [CIFAR-10](cifar10.html), but nothing below
knows about ConvMixer.

It is the loop of every training script: for every batch a forward pass, the loss, a backward
pass and an optimizer step at the rate the schedule gives; after every epoch an evaluation on the
test set. Read [`Trainer.fit`](#Trainer.fit) first, then the methods it calls. What a run needs
around the loop, and a learner can read later, has pages of its own: [exact
resume](../tools/resume.html), [checkpoint files](../tools/checkpoint.html), [metrics
files](../tools/metrics.html), [devices and several processes](../tools/distributed.html),
[mixed precision](../tools/precision.html) and [checking settings](../tools/settings.html).
"""

import json
import math
import signal
import time
from dataclasses import dataclass
from functools import partial
from itertools import islice
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from labml_like.experiments.cifar10 import CIFAR10, batches, steps_per_epoch
from labml_like.tools.checkpoint import write_atomically
from labml_like.tools.distributed import Distributed, place_model, share_of_batch
from labml_like.tools.errors import TrainingError
from labml_like.tools.metrics import MetricsLog, Progress, epoch_row, print_epoch, train_row
from labml_like.tools.precision import autocast_dtype
from labml_like.tools.resume import run_session, save_and_stop, save_state
from labml_like.tools.settings import optim_problems, trainer_problems, validate


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
        """The invalid fields ([the rules](../tools/settings.html#optim_problems))."""
        return optim_problems(self)


@dataclass
class TrainerConfig:
    r"""
    ## Training settings

    Experiments extend it with their own fields (model, data); the trainer reads only these.

    * `epochs` is the number of passes over the training set
    * `batch_size` is the number of images per optimizer step, over all processes together
      (each of $W$ processes takes `batch_size / W`)
    * `seed` seeds the model's initialization, the shuffling and the augmentation
    * `label_smoothing` is $\epsilon$ of [label smoothing](#Trainer.loss)
    * `precision` is `bf16`, `fp16` or `fp32`, the number format of the forward pass on CUDA
      ([mixed precision](../tools/precision.html#autocast_dtype)); `fp16` adds a gradient
      scaler. On the CPU and MPS training runs in float32 whatever this says
    * `drop_last` drops the last, smaller batch of every training epoch
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
        """The invalid fields ([the rules](../tools/settings.html#trainer_problems))."""
        return trainer_problems(self)


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
    settling. Lowering the rate lets them settle. The log the authors published for one 25-epoch
    run fits this picture. During the warm-up its test accuracy jumps by several points from one
    epoch to the next (83.3% after epoch 7, 76.6% after epoch 8, 78.9% after epoch 10), so no
    single epoch there says much. During the decay from $\eta_{max}$ to $\eta_{max}/20$ it climbs
    in eight of its ten epochs, to 92.4% after epoch 20; the last five, down to zero, end at
    92.6%. One warm-up and one decay within a fixed budget of steps is the one-cycle policy of
    Smith and Topin (2019), made for training in few epochs.

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

    PyTorch has three implementations of Adam and AdamW. The *for-loop* one updates the parameter
    tensors one at a time, each arithmetic step a kernel launch; *foreach* applies each step to a
    whole list of tensors at once, and is PyTorch's default on CUDA; *fused* also merges the steps,
    so each tensor is read and written once per update. PyTorch's documentation calls fused
    "theoretically fastest" and keeps foreach as the default because fused is newer. On CUDA we ask
    for fused. It computes the same update up to floating-point rounding; we have not measured how
    much time it saves for ConvMixer.
    """
    if config.name == "sgd":
        return torch.optim.SGD(
            params, lr=config.lr, momentum=0.9, nesterov=True, weight_decay=config.weight_decay
        )
    adam = torch.optim.Adam if config.name == "adam" else torch.optim.AdamW
    fused = True if device.type == "cuda" else None
    return adam(
        params, lr=config.lr, betas=config.betas, weight_decay=config.weight_decay, fused=fused
    )


class Trainer:
    """
    ## The trainer

    * `model` maps normalized images `[B, 3, H, W]` to logits `[B, K]`
    * `data` holds `uint8` images `[N, 3, H, W]` and `int64` labels `[N]` for training and
      testing, and the class names, like [`CIFAR10`](cifar10.html#CIFAR10)
    * `augment(images, generator)` turns a `uint8` batch on the device into an augmented,
      normalized float batch, drawing its randomness from `generator`
    * `preprocess(images)` normalizes a `uint8` batch without augmentation, for testing
    * `config` holds the [training settings](#TrainerConfig), `optim` the
      [optimizer settings](#OptimConfig); the whole `config` (with any fields an experiment added)
      is saved in every checkpoint
    * `run_dir` receives `metrics.jsonl`, `checkpoint.pt` and `final.json`
    * `distributed` is this process's place among the $W$ [processes](../tools/distributed.html)
    """

    def __init__(self, model: nn.Module, data: CIFAR10, augment, preprocess,
                 config: TrainerConfig, optim: OptimConfig, run_dir: Path, device: torch.device,
                 distributed: Distributed | None = None):  # fmt: skip
        validate(config)
        validate(optim, "optim.")
        self.config, self.optim_config, self.device = config, optim, device
        self.distributed = distributed or Distributed()
        self.run_dir, self.checkpoint_path = run_dir, run_dir / "checkpoint.pt"
        self.augment, self.preprocess, self.classes = augment, preprocess, list(data.classes)
        # **Data on the device.** CIFAR-10's 60,000 images take 184 MB as `uint8`, nothing for a
        # GPU. Moving them there once means that each step only gathers a batch with an index,
        # with no copies from the host and no data-loader worker processes.
        self.data = data.to(device)
        world = self.distributed.world_size
        self.rank_batch_size = share_of_batch(config.batch_size, world)
        n_train = len(self.data.train_images)
        self.steps_per_epoch = steps_per_epoch(n_train, config.batch_size, world, config.drop_last)
        if self.steps_per_epoch == 0:
            raise TrainingError(
                f"batch_size {config.batch_size} is larger than the {n_train} training images"
            )
        self.total_steps = self.steps_per_epoch * config.epochs
        # SyncBatchNorm, channels-last, `torch.compile` and DDP: see
        # [placing the model](../tools/distributed.html#place_model).
        self.memory_format = (
            torch.channels_last if config.channels_last else torch.contiguous_format
        )
        self.model, self.forward_model, self.network = place_model(
            model, self.distributed, device, self.memory_format,
            config.sync_bn, config.compile, config.batch_size,
        )  # fmt: skip
        self.optimizer = make_optimizer(self.model.parameters(), optim, device)
        # **Random numbers.** Augmentation draws from its own generator on the device, seeded with
        # `seed * 1000 + rank` so that processes differ (with fewer than 1,000 processes, every
        # pair of run seed and rank gets a number of its own).
        self.generator = torch.Generator(device=device)
        self.generator.manual_seed(config.seed * 1000 + self.distributed.rank)
        # **Mixed precision** ([why, and how](../tools/precision.html#autocast_dtype)): the forward
        # passes run in `self.autocast()`, that format or off. The scaler is disabled unless the
        # format is float16, and then each of its calls below passes straight through.
        self.autocast_dtype = autocast_dtype(config.precision, device)
        self.autocast = partial(
            torch.autocast, device.type, self.autocast_dtype, self.autocast_dtype is not None
        )
        fp16 = self.autocast_dtype == torch.float16
        self.scaler = torch.amp.GradScaler(device.type, enabled=fp16)
        # Where training is (global step, finished epochs, batches done in this epoch), and the
        # sums `[loss sum, correct, images]` since the last metric row and since the epoch began.
        self.step = self.epoch = self.batch_in_epoch = 0
        self.window = torch.zeros(3, device=device)
        self.epoch_sums = torch.zeros(3, device=device)
        self.elapsed = self.epoch_seconds = 0.0
        self.metrics: MetricsLog | None = None
        # Set by Ctrl-C or SIGTERM ([exact resume](../tools/resume.html#run_session));
        # `stopping` once all processes agree.
        self.stop_requested, self.stop_signal, self.stopping = False, signal.SIGINT, False

    def fit(self, resume: bool = False) -> dict:
        """
        ## The whole run

        Train for the configured number of epochs, evaluating and saving a checkpoint after each,
        then write `final.json` with the final test results, and return them. With `resume`,
        continue from the checkpoint in `run_dir`.
        """
        with run_session(self, resume):
            while self.epoch < self.config.epochs:
                start = time.perf_counter()
                self.train_epoch()
                self.epoch_seconds += time.perf_counter() - start
                self.elapsed += time.perf_counter() - start
                if self.stopping:
                    raise save_and_stop(self)
                self.end_epoch()
                save_state(self)  # the previous checkpoint survives until this one is complete
            return self.finish()

    def train_epoch(self) -> None:
        """
        ### One epoch

        The shuffling order depends only on the seed and the epoch number, and is the same in
        every process: each process then takes its own disjoint share of every batch. A resumed
        epoch recomputes the same order and skips the batches already done. The seed is
        `seed * 1_000_003 + epoch`: with fewer than 1,000,003 epochs (a prime above a million),
        no two pairs of seed and epoch share a number.

        `drop_last` (on by default) drops the last, smaller batch of every epoch: in training
        BatchNorm normalizes with the batch's own statistics, and a handful of images gives noisy
        ones. With it off (the `paper` preset, as the authors' `DataLoader`) that batch is one more
        step, its loss the mean over its own images.
        """
        shuffle = torch.Generator().manual_seed(self.config.seed * 1_000_003 + self.epoch)
        world = self.distributed
        index_batches = batches(
            self.data.train_images, self.data.train_labels, self.rank_batch_size, shuffle,
            drop_last=self.config.drop_last, rank=world.rank, world_size=world.world_size,
        )  # fmt: skip
        progress = Progress(self)
        self.model.train()
        for index in islice(index_batches, self.batch_in_epoch, None):  # skip the done ones
            self.train_step(index)
            progress.step()
            end_of_epoch = self.batch_in_epoch == self.steps_per_epoch
            if self.step % self.config.log_every == 0 or end_of_epoch:
                self.flush_window(progress)
            elif world.world_size == 1:
                self.stopping = self.stop_requested
            # Stop after a Ctrl-C. A single process can stop after any step; several processes
            # only where they have just agreed on it, in `flush_window`.
            if self.stopping:
                break
        progress.close()

    def train_step(self, index: torch.Tensor) -> None:
        """
        ### One step

        `index` picks this process's $b$ images for the step ($b$ = `batch_size` / $W$).
        """
        # The learning rate for this step. The schedule is a pure function of the step number,
        # so it has no state of its own to checkpoint.
        self.optimizer.param_groups[0]["lr"] = self.learning_rate(self.step + 1)
        # Gather the batch from the device-resident dataset and augment it there:
        # `[b, 3, H, W]` `uint8` becomes `[b, 3, H, W]` float.
        images = self.augment(self.data.train_images[index], self.generator)
        images = images.contiguous(memory_format=self.memory_format)
        labels = self.data.train_labels[index]
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
            correct = (logits.argmax(dim=1) == labels).sum().float()
            count = torch.tensor(float(len(labels)), device=self.device)
            self.window += torch.stack([loss.detach() * len(labels), correct, count])
        self.step += 1
        self.batch_in_epoch += 1

    def loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        r"""
        ### The loss

        Cross-entropy of the logits `[B, K]` against the labels `[B]`, computed in float32
        even under autocast. With label smoothing $\epsilon$ the target is not the one-hot vector
        but $(1 - \epsilon)$ on the true class plus $\epsilon / K$ spread over all $K$ classes.

        Why smooth? With hard targets the loss keeps falling as the correct logit grows without
        bound, so a network that already classifies an image correctly is still pushed to be
        *more* confident. Smoothing caps the reward for confidence: the loss is lowest when the
        correct logit leads the others by a finite amount,
        $\log\big((1 - \epsilon + \epsilon / K) / (\epsilon / K)\big)$. Szegedy et al. (2016), who
        introduced it, report about 0.2 points of accuracy on ImageNet; we have not measured what
        it gives here. The authors' CIFAR-10 script does not use it; our `fast` preset does.
        """
        return F.cross_entropy(logits.float(), labels, label_smoothing=self.config.label_smoothing)

    def learning_rate(self, step: int) -> float:
        """The learning rate at `step` (counted from 1) under the configured schedule."""
        if self.optim_config.schedule == "one_cycle":
            return self.optim_config.lr * one_cycle(step / self.total_steps)
        return self.optim_config.lr  # `constant`; `validate` allows no other

    def flush_window(self, progress: Progress) -> None:
        """
        ### Reading the metrics

        Sum the window over processes, check the loss, write a metric row and update the
        progress display.
        """
        # With several processes the stop flag travels in the same message as the sums, so
        # that all processes stop at the same step and none waits forever for the others.
        stop = torch.tensor([float(self.stop_requested)], device=self.device)
        totals = self.distributed.all_reduce(torch.cat([self.window, stop]))
        *sums, stop_votes = totals.tolist()
        self.stopping = stop_votes > 0
        self.epoch_sums += self.window
        self.window.zero_()
        # **A diverging loss.** Once the loss is `inf` or `nan` the weights are, or soon will
        # be, too, and every later step is wasted. We stop at once, before the broken weights
        # can reach a checkpoint: the last good checkpoint stays as it was.
        row = train_row(self.step, self.steps_per_epoch, sums, self.learning_rate(self.step))
        if not math.isfinite(row["loss"]):
            raise TrainingError(
                f"loss became {row['loss']} at epoch {self.epoch + 1}, step {self.step} "
                f"(learning rate {self.learning_rate(self.step):.3g}): training diverged. Lower "
                f"the learning rate (--optim.lr) or clip gradients (--optim.grad-clip); the last "
                f"good checkpoint is {self.checkpoint_path}"
            )
        if self.metrics is not None:
            self.metrics.write(row)
        progress.report(row, sums[2], self.batch_in_epoch)

    def end_epoch(self) -> None:
        """Evaluate, then write and print the epoch's row."""
        sums = self.distributed.all_reduce(self.epoch_sums.clone()).tolist()
        start = time.perf_counter()
        test = self.evaluate()
        self.elapsed += time.perf_counter() - start
        self.epoch += 1
        row = epoch_row(self.step, self.epoch, test, sums, self.epoch_seconds, self.elapsed)
        if self.metrics is not None:
            self.metrics.write(row)
        if self.distributed.is_main:
            print_epoch(row, self.config.epochs)
        self.batch_in_epoch, self.epoch_seconds = 0, 0.0
        self.epoch_sums.zero_()

    @torch.no_grad()
    def evaluate(self, tta: bool = False) -> dict:
        """
        ## Evaluation

        Test loss and accuracy, and the confusion matrix: entry $(i, j)$ counts the test images
        of class $i$ that the model put in class $j$. Its diagonal holds the correct answers;
        large entries off it show which classes the model mixes up (in our reference run, cats
        and dogs most of all).

        **Every image, with any number of processes.** Each of the $W$ processes scores its own
        share of the test set, and the sums are added up at the end. The shares need not be equal
        here ([`equal_shares=False`](cifar10.html#batches)), so all 10,000 test images are scored,
        by 3 processes as by 32; the tests check it for 3 and 7 processes.

        With `tta` we also classify the mirror image of every test image and average the two
        sets of logits. The mirror image of a photo is another plausible photo of the same
        class, it needs no padding or resampling, and the model saw flipped images in training.
        Where the two views disagree, averaging can correct some errors of either. In our one
        [reference run](../conv_mixer/experiment.html) it raised test accuracy from 81.06% to
        81.60%. It costs a second forward pass.
        """
        self.model.eval()
        self.distributed.broadcast_buffers(self.model)  # score the model that is saved
        n_classes = len(self.classes)
        loss_sum = torch.zeros(1, device=self.device)
        confusion = torch.zeros(n_classes * n_classes, dtype=torch.int64, device=self.device)
        world = self.distributed
        test_images, test_labels = self.data.test_images, self.data.test_labels
        for index in batches(
            test_images, test_labels, self.rank_batch_size, None, shuffle=False,
            rank=world.rank, world_size=world.world_size, equal_shares=False,
        ):  # fmt: skip
            images = self.preprocess(test_images[index])
            images = images.contiguous(memory_format=self.memory_format)
            labels = test_labels[index]
            with self.autocast():
                logits = self.forward_model(images).float()
                if tta:
                    logits = (logits + self.forward_model(images.flip(3)).float()) / 2
            loss_sum += F.cross_entropy(logits, labels, reduction="sum")
            # Count (true, predicted) pairs: pair $(i, j)$ is bin $i K + j$.
            pairs = labels * n_classes + logits.argmax(dim=1)
            confusion += torch.bincount(pairs, minlength=n_classes**2)
        world.all_reduce(loss_sum)
        world.all_reduce(confusion)
        confusion = confusion.view(n_classes, n_classes).cpu()
        total = confusion.sum().item()
        accuracy = confusion.diag().sum().item() / total
        return {
            "loss": loss_sum.item() / total,
            "accuracy": accuracy,
            "confusion": confusion.tolist(),
        }

    def finish(self) -> dict:
        """Final evaluation (with flip TTA when asked) and `final.json`."""
        test = self.evaluate()
        final = {"test_accuracy": test["accuracy"], "test_loss": test["loss"],
                 "confusion": test["confusion"], "classes": self.classes, "epochs": self.epoch,
                 "steps": self.step, "elapsed_s": self.elapsed,
                 "world_size": self.distributed.world_size}  # fmt: skip
        if self.config.tta:
            final["tta_accuracy"] = self.evaluate(tta=True)["accuracy"]
        if self.distributed.is_main:
            write_atomically(self.run_dir / "final.json", json.dumps(final, indent=1) + "\n")
        return final


# The experiment scripts import these names of the machinery from this page.
from labml_like.tools.checkpoint import copy_run_files, load_checkpoint, lock_run  # noqa: E402, F401
from labml_like.tools.distributed import init_distributed, pick_device  # noqa: E402, F401
from labml_like.tools.errors import Interrupted  # noqa: E402, F401
from labml_like.tools.plots import plot_run  # noqa: E402, F401
from labml_like.tools.settings import config_problems, flag, invalid  # noqa: E402, F401
