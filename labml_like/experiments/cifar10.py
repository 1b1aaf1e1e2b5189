r"""
---
title: CIFAR-10 without torchvision
summary: >-
  Download, verify and load CIFAR-10 with plain PyTorch, keep it on the training device as bytes,
  and deal out shuffled batches of indices across GPUs.
---

# CIFAR-10, from a tarball to a normalized batch

CIFAR-10 (Krizhevsky, 2009) is 60,000 colour images of $32 \times 32$ pixels in ten classes:
airplane, automobile, bird, cat, deer, dog, frog, horse, ship and truck. 50,000 are for training and
10,000 for testing, with exactly 6,000 per class overall. It is small enough that a good network
trains in minutes on a GPU (the ConvMixer authors publish a 25-epoch run at about 43 seconds an
epoch on an RTX 2080 Ti), and hard enough that the difference between a good and a bad recipe shows.

Most tutorials load it with `torchvision.datasets.CIFAR10` and augment it with
`torchvision.transforms`, one PIL image at a time in DataLoader worker processes. That is the right
tool for ImageNet-sized images streamed from disk, but a poor fit here:

* **The whole dataset fits on the GPU.** 50,000 images of $3 \times 32 \times 32$ bytes are 154 MB
  as `uint8`. Copy them to the device once, and an epoch never touches the disk or the CPU again.
* **Per-image augmentation can become the bottleneck.** A few CPU worker processes augment one
  PIL image at a time, while the GPU runs the model on hundreds of images at once.
  Here every augmentation works on a whole batch with tensor operations, on the same device as the
  model.
* **Reproducibility needs one source of randomness.** Every random choice below is drawn from a
  `torch.Generator` that the caller passes in. Save its state in a checkpoint, and a run resumed
  on the same machine makes exactly the same choices as an uninterrupted one.
* **One dependency less.** Each torchvision release is built for one torch release; we only need a
  few hundred lines of it.

This page goes in the order the data flows: find or [download](#prepare) the archive,
[read](#read_batch) its batches safely and [load](#load_cifar10) them, then deal out the shuffled
indices, split across GPUs, with [`batches`](#batches). The augmentation has two pages of its own:
[crop, flip, colour jitter, normalization and random erasing](augment.html), and
[RandAugment's 14 operations](randaugment.html). The [training loop](trainer.html) calls exactly
these functions.

Run `python -m labml_like.experiments.cifar10` to download the data ahead of time and print a
summary.
"""

import argparse
import codecs
import http.client
import math
import os
import pickle
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from labml_like.tools.download import download, extract, file_md5
from labml_like.tools.errors import DatasetError

# ## Where the data comes from
#
# The official archive, and the MD5 checksum its authors publish next to it. We check every download
# against the checksum: a truncated transfer or a proxy's error page would otherwise be unpacked and
# fail much later with a confusing message (or, worse, silently train on less data).
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
TARBALL = "cifar-10-python.tar.gz"
# The archive unpacks into this one folder, holding five training batches, one test batch and
# `batches.meta` with the class names.
DIR_NAME = "cifar-10-batches-py"
TRAIN_FILES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_FILE = "test_batch"
META_FILE = "batches.meta"
# Where to look when the caller gives no folder: this environment variable first, then the user's
# cache.
ENV_VAR = "LABML_LIKE_CIFAR10"
N_CLASSES = 10
IMAGE_SHAPE = (3, 32, 32)


@dataclass
class CIFAR10:
    """
    The loaded dataset. Images are `uint8` tensors of shape `[N, 3, 32, 32]` (channels first, as
    PyTorch's convolutions expect) and labels are `int64` tensors of shape `[N]`. We keep bytes, not
    floats: four times less memory, and the conversion to floats happens per batch inside
    [`Augment`](augment.html#Augment), where it is needed anyway.
    """

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    classes: list[str] = field(default_factory=list)

    def to(self, device: torch.device | str) -> "CIFAR10":
        """Move all four tensors to `device` (for example the GPU), once, before training starts."""
        return CIFAR10(
            self.train_images.to(device),
            self.train_labels.to(device),
            self.test_images.to(device),
            self.test_labels.to(device),
            list(self.classes),
        )


def default_data_dir() -> Path:
    """
    The folder used when the caller names none: `$LABML_LIKE_CIFAR10` if it is set, otherwise
    `labml_like/cifar10` in the XDG cache directory (`~/.cache` unless `$XDG_CACHE_HOME` says
    otherwise), the place Linux desktops expect programs to keep data they can download again.
    """
    if os.environ.get(ENV_VAR):
        return Path(os.environ[ENV_VAR]).expanduser()
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "labml_like" / "cifar10"


def batches_dir(root: Path) -> Path:
    """
    People point at the data in two ways: at the `cifar-10-batches-py` folder itself, or at the
    folder that holds it (where the tarball was unpacked). We accept both, as they are. A folder
    that already has `batches.meta` is the batches folder whatever its name; one *named*
    `cifar-10-batches-py` is where the batches go; anything else is a parent folder.
    """
    if (root / META_FILE).is_file() or root.name == DIR_NAME:
        return root
    return root / DIR_NAME


def manual_steps(target: Path, reason: str) -> str:
    """
    The message for "no data and no way to get it". It must be enough on its own to fix the problem
    on a machine with no internet access: where to get the file, how to check it, where to put it.
    """
    return (
        f"CIFAR-10 is not in {target} and could not be downloaded ({reason}).\n"
        f"To install it by hand:\n"
        f"  1. download {URL} on a machine with internet access;\n"
        f"  2. check that its MD5 is {MD5} (`md5sum {TARBALL}`);\n"
        f"  3. extract it with `tar xzf {TARBALL} -C {target.parent}` so that "
        f"{target / TRAIN_FILES[0]} exists\n"
        f"     (or copy {TARBALL} to {target.parent / TARBALL} and run again);\n"
        f"or pass --data-dir, or set {ENV_VAR}, to a folder that is or contains {DIR_NAME}."
    )


def prepare(root: Path, allow_download: bool) -> Path:
    """
    ## Download

    Return the batches folder under `root`, downloading and unpacking the archive first if it is
    missing. An archive already sitting next to the target (copied there by hand, or kept from an
    earlier download) is used without touching the network, after its checksum is checked like a
    fresh download's. [Downloading and unpacking](../tools/download.html) are careful that an
    interrupted or corrupt download, or a crash while unpacking, never looks like finished data.
    """
    target = batches_dir(root)
    if target.is_dir():
        return target
    tarball = target.parent / TARBALL
    if not tarball.is_file():
        if not allow_download:
            raise DatasetError(manual_steps(target, "downloading is turned off"))
        target.parent.mkdir(parents=True, exist_ok=True)
        # Any network or file-system failure becomes the manual-steps message, reason included.
        try:
            download(URL, tarball, MD5)
        except (OSError, ValueError, http.client.HTTPException) as error:
            raise DatasetError(manual_steps(target, f"{type(error).__name__}: {error}")) from None
    elif (actual := file_md5(tarball)) != MD5:
        raise DatasetError(
            f"{tarball}: checksum mismatch: MD5 is {actual}, expected {MD5}; "
            "delete the file and run again"
        )
    extract(tarball, target, DIR_NAME, META_FILE)
    return target


# ## Reading the batches safely
#
# Each batch is a Python pickle. Unpickling is running a small program: a pickle can name *any*
# importable function and call it, so loading a file from the internet with plain `pickle.load` lets
# whoever wrote the file run code on your machine. The batches only need numpy arrays, so our
# unpickler resolves exactly the names that rebuild an array (`ndarray`, `dtype` and numpy's
# `_reconstruct` helper, under the module name numpy 1 and numpy 2 each write). The official files
# need nothing more. Copies re-pickled by Python 3 in the old protocol 2 also spell a bytes value as
# a call to `_codecs.encode` or `bytes`, so those two are allowed too. Anything else is refused
# before it runs.
_reconstruct = np.empty(0).__reduce__()[0]
SAFE_GLOBALS = {
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("_codecs", "encode"): codecs.encode,
    ("__builtin__", "bytes"): bytes,
    ("builtins", "bytes"): bytes,
}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that can build dicts, lists, bytes and numpy arrays, and nothing else."""

    def find_class(self, module: str, name: str):
        if (module, name) not in SAFE_GLOBALS:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return SAFE_GLOBALS[module, name]


def unpickle(path: Path) -> dict:
    """
    Load one pickled dict. The batches were written by Python 2, whose strings are bytes, so we ask
    for `encoding="bytes"` and get keys like `b"data"`. Whatever goes wrong (a missing file, a
    truncated or garbled pickle, a forbidden name) becomes a `DatasetError` naming the file.
    """
    try:
        with open(path, "rb") as f:
            content = BatchUnpickler(f, encoding="bytes").load()
    except FileNotFoundError:
        raise DatasetError(
            f"{path}: missing; the folder is incomplete, delete it to download again"
        ) from None
    except Exception as error:
        reason = f"{type(error).__name__}: {error}"
        raise DatasetError(f"{path}: not a readable CIFAR-10 batch ({reason})") from None
    if not isinstance(content, dict):
        raise DatasetError(f"{path}: expected a pickled dict, found {type(content).__name__}")
    return content


def read_batch(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """
    Read one batch into `uint8` images `[N, 3, 32, 32]` and `int64` labels `[N]`.

    The batch holds `b"data"`, an `[N, 3072]` array with one image per row, and `b"labels"`, a list
    of $N$ class indices. We check everything we rely on, because a wrong size here would otherwise
    surface as a shape error deep inside training. $N$ itself is read from the file: the official
    batches have 10,000 images, but trimmed copies (like the one our tests use, 1,000 images a
    batch) are just as valid.
    """
    batch = unpickle(path)
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if data is None or labels is None:
        raise DatasetError(f"{path}: expected keys b'data' and b'labels', found {sorted(batch)}")
    row = math.prod(IMAGE_SHAPE)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape[1:] != (row,):
        raise DatasetError(f"{path}: b'data' must be uint8 of shape [N, {row}], found {kind(data)}")
    try:
        labels = np.asarray(labels)
    except ValueError:  # a ragged list
        labels = np.asarray(labels, dtype=object)
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: b'labels' must be {len(data)} integers, found {kind(labels)}")
    if len(labels) and not (labels.min() >= 0 and labels.max() < N_CLASSES):
        raise DatasetError(
            f"{path}: labels must be in 0..{N_CLASSES - 1}, found {labels.min()}..{labels.max()}"
        )
    # Each row is the red plane, then the green plane, then the blue plane, each $32 \times 32$ in
    # row-major order: 1,024 reds, 1,024 greens, 1,024 blues. That is already channels-first, so a
    # reshape (no copy, no transpose) gives `[N, 3, 32, 32]`.
    images = torch.from_numpy(np.ascontiguousarray(data).reshape(-1, *IMAGE_SHAPE))
    return images, torch.from_numpy(labels.astype(np.int64))


def kind(value: object) -> str:
    """An array's dtype and shape (`float32 of shape [10, 3072]`), or the type of anything else."""
    if isinstance(value, np.ndarray):
        return f"{value.dtype.name} of shape {list(value.shape)}"
    return type(value).__name__


def read_classes(path: Path) -> list[str]:
    """The ten class names, in label order, from `batches.meta`."""
    names = unpickle(path).get(b"label_names")
    if not isinstance(names, list) or len(names) != N_CLASSES:
        raise DatasetError(f"{path}: b'label_names' must list {N_CLASSES} class names")
    return [n.decode() if isinstance(n, bytes) else str(n) for n in names]


def load_cifar10(data_dir: str | Path | None = None, download: bool = True) -> CIFAR10:
    """
    ## Load

    The one entry point: find the data (in `data_dir`, else `$LABML_LIKE_CIFAR10`, else the cache
    folder), download it if it is missing and `download` is true, and read all six batches into
    memory once. The five training batches are concatenated into one tensor.
    """
    root = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    folder = prepare(root, download)
    train = [read_batch(folder / name) for name in TRAIN_FILES]
    test_images, test_labels = read_batch(folder / TEST_FILE)
    return CIFAR10(
        train_images=torch.cat([images for images, _ in train]),
        train_labels=torch.cat([labels for _, labels in train]),
        test_images=test_images,
        test_labels=test_labels,
        classes=read_classes(folder / META_FILE),
    )


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    gen: torch.Generator | None,
    shuffle: bool = True,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
    equal_shares: bool = True,
) -> Iterator[torch.Tensor]:
    r"""
    ## Batches of indices, shared out across GPUs

    Yield `int64` index tensors (on the images' device); the caller takes `images[idx]` and
    `labels[idx]`. Handing out indices rather than copies keeps the dataset in one place and makes a
    batch a single gather.

    **Shuffling** draws one random permutation per call (per epoch) from `gen`, so the order of an
    epoch is reproducible and resumes exactly from a saved generator state.

    **Several GPUs** (data-parallel training with $W$ = `world_size` processes): every process draws
    *the same* permutation, which requires every rank to pass a generator in the same state, e.g.
    seeded identically. Rank $r$ then keeps positions $r, r + W, r + 2W, \dots$ of it, so the shares
    are disjoint and together cover the permutation. For the augmentation, by contrast, give each
    rank its own generator, so the ranks do not all crop their images the same way.

    **Equal shares for training.** In DDP every rank must run the same number of steps, or the
    gradient all-reduce waits forever. With `equal_shares` (the default) the permutation is first
    cut to a multiple of $W$, so that the shares have equal length; the fewer than $W$ images cut
    off differ from epoch to epoch when shuffling. Evaluation passes `equal_shares=False`: there the
    ranks exchange only their sums, once at the end, so a rank may take one image more than another,
    and every image is scored whatever $W$ is.

    With equal shares, the ranks' $k$-th batches together hold exactly positions $kBW$ to
    $(k + 1)BW - 1$ of the permutation ($B$ = `batch_size`, each rank's share of a step): the batch
    one process would take with `batch_size` $BW$. That holds for a final, smaller batch too. It is
    equally small on every rank: 50,000 images in steps of 512 are 97 full steps and one of 336,
    which four ranks split into four batches of 84.

    `drop_last` drops that final smaller batch, so that every step has the same size (BatchNorm
    statistics of a batch of 3 are noise). Here it is off unless asked for. The
    [trainer](trainer.html#Trainer.train_epoch) asks for it in training by default
    (`TrainerConfig.drop_last` is true) and never in evaluation, which must see every image.
    """
    n = len(images)
    if len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels")
    if batch_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"need batch_size >= 1 and 0 <= rank < world_size, got {batch_size}, {rank}"
        )
    if shuffle:
        order = torch.randperm(n, generator=gen, device=gen.device if gen is not None else None)
    else:
        order = torch.arange(n)
    end = n - n % world_size if equal_shares else n
    mine = order[rank:end:world_size].to(images.device)
    stop = len(mine) - len(mine) % batch_size if drop_last else len(mine)
    for start in range(0, stop, batch_size):
        yield mine[start : start + batch_size]


def steps_per_epoch(n_images: int, batch_size: int, world_size: int, drop_last: bool) -> int:
    """
    Optimizer steps in one epoch of training. Each of the `world_size` processes gets an equal
    share of the images (the few left over are skipped, see [`batches`](#batches)) and takes
    `batch_size / world_size` of them per step; the last, smaller batch is a step too unless
    `drop_last`. 50,000 images in steps of 512 make 98 steps, the last of 336 images, or 97 with
    `drop_last`.
    """
    share, per_process = n_images // world_size, batch_size // world_size
    return share // per_process if drop_last else math.ceil(share / per_process)


# The augmentation has pages of its own; the experiment scripts import these names from here.
from labml_like.experiments.augment import MEAN, STD, Augment, normalize  # noqa: E402, F401
from labml_like.experiments.randaugment import MAX_MAGNITUDE  # noqa: E402, F401


# ## From the command line
#
# `python -m labml_like.experiments.cifar10 [--data-dir DIR] [--no-download]` fetches the data ahead
# of time (useful before going offline, or on a cluster's login node) and prints what it found.
# Problems are one line of explanation on standard error and exit status 1.
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Download (if needed), verify and summarize CIFAR-10."
    )
    parser.add_argument("--data-dir", help=f"folder that is or contains {DIR_NAME}")
    parser.add_argument("--no-download", action="store_true", help="fail instead of downloading")
    args = parser.parse_args(argv)
    try:
        data = load_cifar10(args.data_dir, download=not args.no_download)
    except DatasetError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    counts = torch.bincount(data.train_labels, minlength=N_CLASSES).tolist()
    print(f"train: {len(data.train_labels)} images, test: {len(data.test_labels)} images")
    for name, count in zip(data.classes, counts, strict=True):
        print(f"  {name:<12} {count} training images")
    return 0


if __name__ == "__main__":
    sys.exit(main())
