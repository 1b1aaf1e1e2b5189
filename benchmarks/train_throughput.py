"""Training throughput (images/s) of ConvMixer-256/8: our loop against a plain reference loop.

Ours: the whole dataset on the device as uint8, crop and flip on whole batches there, channels-last,
bf16 autocast and fused AdamW on CUDA (what labml_like.experiments.trainer does). Reference: fp32,
contiguous layout, per-sample crop and flip in a torch DataLoader, the way the original labml
experiment fed data. Same model, same batch size, same optimizer, in one run.

    python benchmarks/train_throughput.py --kernel-size 5 --batch-size 512 --steps 30
"""

import argparse
import os
import random
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments.cifar10 import MEAN, STD, Augment, batches, load_cifar10
from labml_like.experiments.trainer import pick_device

SHARED = Path(__file__).resolve().parents[2] / "shared/data/cifar10"


class PerSampleCifar(Dataset):
    """One image at a time: zero-pad 4, random 32x32 crop, random flip, to float, normalize."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor):
        self.images, self.labels = images, labels
        self.mean = torch.tensor(MEAN).view(3, 1, 1)
        self.std = torch.tensor(STD).view(3, 1, 1)

    def __len__(self):
        return len(self.images)

    def __getitem__(self, i):
        padded = F.pad(self.images[i], (4, 4, 4, 4))
        top, left = random.randint(0, 8), random.randint(0, 8)
        image = padded[:, top : top + 32, left : left + 32]
        if random.random() < 0.5:
            image = image.flip(2)
        return (image.float() / 255 - self.mean) / self.std, self.labels[i]


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed(step, batch_iterator, args, device) -> float:
    """Images per second over `args.steps` steps, after `args.warmup` untimed ones."""
    for _ in range(args.warmup):
        step(*next(batch_iterator))
    sync(device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step(*next(batch_iterator))
    sync(device)
    return args.steps * args.batch_size / (time.perf_counter() - start)


def ours(data, args, device) -> float:
    model = conv_mixer(256, 8, args.kernel_size, 2)
    model = model.to(device, memory_format=torch.channels_last)  # type: ignore[call-overload]
    network = torch.compile(model) if args.compile else model
    fused = True if device.type == "cuda" else None
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=fused)
    images, labels = data.train_images.to(device), data.train_labels.to(device)
    augment, gen = Augment(), torch.Generator(device=device).manual_seed(0)
    use_bf16 = device.type == "cuda"

    def forever():
        shuffle = torch.Generator().manual_seed(0)
        while True:
            for index in batches(images, labels, args.batch_size, shuffle, drop_last=True):
                yield (index,)

    def step(index):
        x = augment(images[index], gen).contiguous(memory_format=torch.channels_last)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
            logits = network(x)
        loss = F.cross_entropy(logits.float(), labels[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    model.train()
    return timed(step, forever(), args, device)


def reference(data, args, device) -> float:
    model = conv_mixer(256, 8, args.kernel_size, 2).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loader = DataLoader(
        PerSampleCifar(data.train_images, data.train_labels),
        batch_size=args.batch_size,
        shuffle=True,
        drop_last=True,
        num_workers=args.workers,
        pin_memory=device.type == "cuda",
        persistent_workers=args.workers > 0,
    )

    def forever():
        while True:
            yield from loader

    def step(x, y):
        x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
        loss = F.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    model.train()
    return timed(step, forever(), args, device)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kernel-size", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--steps", type=int, default=30, help="timed steps per loop")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--compile", action="store_true", help="torch.compile our model")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data-dir", default=os.environ.get("LABML_LIKE_CIFAR10") or SHARED)
    args = parser.parse_args()
    device = pick_device(args.device)
    data = load_cifar10(args.data_dir, download=False)
    print(
        f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"ConvMixer-256/8 k={args.kernel_size} p=2, batch {args.batch_size}, {args.steps} "
        f"timed steps after {args.warmup}, reference workers {args.workers}"
    )
    ours_rate = ours(data, args, device)
    print(f"ours:      {ours_rate:9.1f} images/s")
    reference_rate = reference(data, args, device)
    print(f"reference: {reference_rate:9.1f} images/s")
    print(f"ratio:     {ours_rate / reference_rate:9.2f}x")


if __name__ == "__main__":
    main()
