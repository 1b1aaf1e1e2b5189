r"""
---
title: CIFAR-10 without torchvision
summary: >-
  Download, verify, load, augment and normalize CIFAR-10 with plain PyTorch, whole batches at a time
  on the training device, driven by a seeded generator.
---

# CIFAR-10, from a tarball to a normalized batch

CIFAR-10 (Krizhevsky, 2009) is 60,000 colour images of $32 \times 32$ pixels in ten classes:
airplane, automobile, bird, cat, deer, dog, frog, horse, ship and truck. 50,000 are for training and
10,000 for testing, with exactly 6,000 per class overall. It is small enough that a good network
trains in minutes on a GPU (the ConvMixer authors publish a 25-epoch run at 43 seconds an epoch on
an RTX 2080 Ti), and hard enough that the difference between a good and a bad recipe shows.

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
  `torch.Generator` that the caller passes in. Save its state in a checkpoint and a resumed run
  makes exactly the same choices as an uninterrupted one.
* **One dependency less.** torchvision must match the torch build exactly; we only need a few
  hundred lines of it.

The page goes in the order the data flows: find or [download](#download) the archive,
[read](#read_batch) its batches safely, then [crop](#random_crop), [flip](#horizontal_flip),
[RandAugment](#rand_augment), [colour jitter](#color_jitter), [normalize](#normalize) and
[erase](#random_erasing), all bundled in [`Augment`](#Augment); [`batches`](#batches) deals out the
shuffled indices, split across GPUs. The [training loop](trainer.html) calls exactly these
functions.

Run `python -m labml_like.experiments.cifar10` to download the data ahead of time and print a
summary.
"""

import argparse
import codecs
import hashlib
import http.client
import math
import os
import pickle
import shutil
import sys
import tarfile
import tempfile
import urllib.request
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

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


class DatasetError(Exception):
    """
    Everything that can go wrong with the data on disk ends up as this one exception, with one
    message that says which file is at fault and what to do about it. Command-line tools print the
    message and exit with a non-zero status; nobody has to read a pickle traceback.
    """


@dataclass
class CIFAR10:
    """
    The loaded dataset. Images are `uint8` tensors of shape `[N, 3, 32, 32]` (channels first, as
    PyTorch's convolutions expect) and labels are `int64` tensors of shape `[N]`. We keep bytes, not
    floats: four times less memory, and the conversion to floats happens per batch inside
    [`Augment`](#Augment), where it is needed anyway.
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


def file_md5(path: Path) -> str:
    """MD5 of a file read 1 MiB at a time, not the whole archive (about 170 MB, 163 MiB) at once."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, md5: str) -> None:
    """
    ## Download

    Fetch `url` into `dest` with a progress line on standard error, and keep it only if its checksum
    is right. The bytes go to `dest.part` first and are renamed to `dest` only after the checksum
    matches, so an interrupted or corrupt download never looks like a finished one.
    """
    part = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as response, open(part, "wb") as out:
            # The server normally tells us the size up front, so the progress line can show a
            # percentage. We redraw it (with a carriage return) only when the whole percentage
            # changes: a hundred updates, which keeps log files of non-interactive runs short.
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -1
            while chunk := response.read(1 << 20):
                out.write(chunk)
                done += len(chunk)
                step = 100 * done // total if total else done >> 20  # percent, or MiB
                if step != shown:
                    shown = step
                    size = f"{done / 2**20:.1f}" + (
                        f"/{total / 2**20:.1f} MiB" if total else " MiB"
                    )
                    line = f"{size} ({step}%)" if total else size
                    print(f"\rdownloading {url}: {line}", end="", file=sys.stderr)
            print(file=sys.stderr)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    # The checksum decides. A mismatch is not retried: it means the file on the server or the
    # network path is not what we expect, and a human should look.
    actual = file_md5(part)
    if actual != md5:
        part.unlink()
        raise DatasetError(
            f"{url}: checksum mismatch: the download has MD5 {actual}, expected {md5}; "
            f"it was deleted. Retry, or install the data by hand ({URL})."
        )
    os.replace(part, dest)


def extract(tarball: Path, target: Path) -> None:
    """
    ## Extract atomically

    Unpack `tarball` so that its `cifar-10-batches-py` folder becomes `target`. A half-unpacked
    folder would be worse than none: the next run would find `target`, skip the download and fail on
    a missing or truncated batch. So we unpack into a temporary folder *next to* `target` (same file
    system, so the final rename is a single atomic step), and rename only when everything is out.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".cifar10-extract-", dir=target.parent))
    try:
        # `filter="data"` makes `tarfile` refuse absolute paths, `..` components, links out of the
        # folder and device files: an archive can only create files, folders and links inside
        # `scratch`.
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                archive.extractall(scratch, filter="data")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
            raise DatasetError(f"{tarball}: cannot extract ({error})") from None
        unpacked = scratch / DIR_NAME
        if not (unpacked / META_FILE).is_file():
            raise DatasetError(f"{tarball}: the archive has no {DIR_NAME}/{META_FILE}")
        # Another process may have finished the same job while we were unpacking; its copy is as
        # good as ours, so we keep it rather than fail.
        try:
            os.rename(unpacked, target)
        except OSError as error:
            if not (target / META_FILE).is_file():
                raise DatasetError(f"{target}: cannot create ({error})") from None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def prepare(root: Path, allow_download: bool) -> Path:
    """
    Return the batches folder under `root`, downloading and unpacking the archive first if it is
    missing. An archive already sitting next to the target (copied there by hand, or kept from an
    earlier download) is used without touching the network, after its checksum is checked like a
    fresh download's.
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
    extract(tarball, target)
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
    batches have 10,000 images, but trimmed copies (like the 1,000-image subset our tests use) are
    just as valid.
    """
    batch = unpickle(path)
    data, labels = batch.get(b"data"), batch.get(b"labels")
    if data is None or labels is None:
        raise DatasetError(f"{path}: expected keys b'data' and b'labels', found {sorted(batch)}")
    row = math.prod(IMAGE_SHAPE)
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.shape[1:] != (row,):
        shape = getattr(data, "shape", None)
        raise DatasetError(f"{path}: b'data' must be uint8 of shape [N, {row}], found {shape}")
    labels = np.asarray(labels)
    if labels.shape != (len(data),) or labels.dtype.kind not in "iu":
        raise DatasetError(f"{path}: b'labels' must be {len(data)} integers, found {labels.shape}")
    if len(labels) and not (labels.min() >= 0 and labels.max() < N_CLASSES):
        raise DatasetError(
            f"{path}: labels must be in 0..{N_CLASSES - 1}, found {labels.min()}..{labels.max()}"
        )
    # Each row is the red plane, then the green plane, then the blue plane, each $32 \times 32$ in
    # row-major order: 1,024 reds, 1,024 greens, 1,024 blues. That is already channels-first, so a
    # reshape (no copy, no transpose) gives `[N, 3, 32, 32]`.
    images = torch.from_numpy(np.ascontiguousarray(data).reshape(-1, *IMAGE_SHAPE))
    return images, torch.from_numpy(labels.astype(np.int64))


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


# ## Augmentation on the device
#
# A network that sees the same 50,000 pictures every epoch can memorize them: Zhang et al. (2017)
# showed that common CIFAR-10 networks fit even randomly shuffled labels. Augmentation shows
# it a slightly different version each time (shifted, mirrored, recoloured) that a person would
# still label the same way, so the network has to learn what the classes look like rather than the
# exact pixels.
#
# Every function below takes a whole batch `[N, 3, H, W]`, either `uint8` in $0..255$ or floating
# point in $[0, 1]$, and returns the same kind. Random choices are made *per image* but drawn for
# the whole batch in one call, from the generator `gen`. The numbers are drawn on the generator's
# device and then moved to the batch's, so a CPU generator works with a GPU batch too, and the
# choices depend only on the generator's state.


def uniform(gen: torch.Generator, shape: tuple[int, ...], device: torch.device) -> torch.Tensor:
    """Uniform numbers in $[0, 1)$ drawn from `gen`, delivered on `device`."""
    return torch.rand(shape, generator=gen, device=gen.device).to(device)


def integers(gen: torch.Generator, high: int, shape: tuple[int, ...], device) -> torch.Tensor:
    r"""Integers in $0..\text{high}-1$ drawn from `gen`, delivered on `device`."""
    return torch.randint(high, shape, generator=gen, device=gen.device).to(device)


def to_float(x: torch.Tensor) -> torch.Tensor:
    """Bytes $0..255$ to floats in $[0, 1]$; a float batch is copied, sparing the caller's data."""
    return x.float() / 255 if x.dtype == torch.uint8 else x.clone()


def like(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Give `y` (floats in $[0, 1]$) the dtype of the original batch `x`, rounding back to bytes."""
    if x.dtype == torch.uint8:
        return (y * 255).round_().clamp_(0, 255).to(torch.uint8)
    return y.to(x.dtype)


def random_crop(x: torch.Tensor, padding: int, gen: torch.Generator) -> torch.Tensor:
    """
    ## Random crop

    Pad each image by `padding` pixels on every side and cut out a window of the original size at a
    random position: the content shifts by up to `padding` pixels in each direction, independently
    per image. This is the classic CIFAR augmentation (4 pixels, from the ResNet paper's CIFAR
    recipe). Objects are rarely centred the same way twice, and this teaches the network that a
    shifted cat is still a cat.

    **Reflect, not zeros.** The ResNet recipe pads with zeros, which shows black bars at the edges:
    after normalization, black is 1.7 to 2 standard deviations below each channel's mean, in a
    straight band with a hard edge that the photo never had. Wide ResNets (Zagoruyko and Komodakis,
    2016) fill the padding with a reflection of the image instead, and so do we: the border is
    mirrored without repeating the edge pixel (`abcd|cba`), at no extra cost.
    """
    if padding == 0:
        return x
    n, _, h, w = x.shape
    if not 0 < padding < min(h, w):
        raise ValueError(f"crop padding must be in 0..{min(h, w) - 1}, got {padding}")
    # A shift $(d_y, d_x)$ in $-p..p$ per image, for rows and columns.
    shift = integers(gen, 2 * padding + 1, (2, n), x.device) - padding
    # Instead of padding the batch and slicing (which would need a different slice per image), we
    # compute which source pixel each output pixel reads. Output row $i$ reads row $i + d_y$; a row
    # index that falls outside $0..H-1$ is reflected back:
    # $-k \mapsto k$ and $H - 1 + k \mapsto H - 1 - k$.
    rows = reflect(torch.arange(h, device=x.device) + shift[0, :, None], h)  # [N, H]
    cols = reflect(torch.arange(w, device=x.device) + shift[1, :, None], w)  # [N, W]
    # One gather with broadcast indices `[N, 1, 1]`, `[N, H, 1]`, `[N, 1, W]` picks every pixel of
    # every image at once. Indexing the channels-last view gives `[N, H, W, 3]`, and the final
    # permute returns `[N, 3, H, W]` stored channels-last, the layout the trainer prefers anyway.
    batch = torch.arange(n, device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


def reflect(index: torch.Tensor, size: int) -> torch.Tensor:
    r"""Mirror indices that fall off either end of $0..\text{size}-1$ back inside."""
    index = index.abs()
    return torch.where(index >= size, 2 * (size - 1) - index, index)


def horizontal_flip(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """
    ## Horizontal flip

    Mirror each image left-to-right with probability ½. A mirrored truck is still a truck, so this
    doubles the variety of the training set for free. (Vertical flips would not be safe: an
    upside-down horse is rare in test photos.) We compute the flipped batch once and pick per image
    with `where`.
    """
    flip = uniform(gen, (x.shape[0],), x.device) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(3), x)


# ## RandAugment
#
# RandAugment (Cubuk et al., 2020) replaces AutoAugment's learned policy with two numbers: apply $n$
# operations chosen uniformly at random from a fixed list, all at one magnitude $m$. ConvMixer's
# CIFAR-10 runs use $n = 2$, $m = 12$. We use an integer magnitude scale $0..30$; $v = m / 30$ is
# the fraction of each operation's strongest setting, and the strongest settings are AutoAugment's:
#
# | operation | effect at magnitude fraction $v$ | sign |
# |---|---|---|
# | identity | nothing | |
# | brightness | multiply by $1 \pm 0.9v$ | random |
# | contrast | blend with the image's mean grey by $1 \pm 0.9v$ | random |
# | color | blend with the grey image by $1 \pm 0.9v$ (saturation) | random |
# | sharpness | blend with a blurred copy by $1 \pm 0.9v$ | random |
# | posterize | keep $8 - \lfloor 4v \rfloor$ bits per channel | |
# | solarize | invert values at or above $256(1 - v)$ | |
# | autocontrast | stretch each channel to the full range | |
# | rotate | $\pm 30v$ degrees | random |
# | shear x, shear y | shear factor $\pm 0.3v$ | random |
# | translate x, translate y | $\pm 0.45v$ of the image size | random |
#
# A blend "by $f$" computes $\text{base} + f(x - \text{base})$: $f = 1$ leaves the image alone,
# $f < 1$ moves it toward the base, $f > 1$ away from it. Operations with a direction pick a random
# sign per image.
#
# **Batching.** Each image needs its own operation, which looks like a per-image loop. Instead, at
# every one of the $n$ steps we draw an operation for every image, then run each operation once on
# the group of images that drew it. That is at most 14 small tensor calls per step, whatever the
# batch size. The five geometric operations are all affine maps, so they share a single
# `grid_sample` call: each image gets its own $2 \times 3$ matrix, the identity if it drew a colour
# operation.
MAX_MAGNITUDE = 30
GREY = (0.299, 0.587, 0.114)  # ITU-R 601 luma weights, as PIL's "L" conversion uses


def grey(x: torch.Tensor) -> torch.Tensor:
    """Luminance `[N, 1, H, W]` of a float batch."""
    return torch.einsum("nchw,c->nhw", x, x.new_tensor(GREY))[:, None]


def blend(base: torch.Tensor, x: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    r"""$\text{base} + f(x - \text{base})$ with one factor per image, clamped to $[0, 1]$."""
    return (base + factor.view(-1, 1, 1, 1) * (x - base)).clamp(0, 1)


def brightness(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return blend(torch.zeros_like(x), x, 1 + 0.9 * v)


def contrast(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return blend(grey(x).mean((1, 2, 3), keepdim=True), x, 1 + 0.9 * v)


def color(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return blend(grey(x), x, 1 + 0.9 * v)


def sharpness(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # The blurred copy uses a $3 \times 3$ kernel with weight 5 in the centre and 1 around it (PIL's
    # "smooth" filter), applied to each channel separately (`groups=3`); the border is replicated so
    # the image edges do not darken.
    kernel = x.new_tensor([[1, 1, 1], [1, 5, 1], [1, 1, 1]]) / 13
    blurred = F.conv2d(
        F.pad(x, (1, 1, 1, 1), mode="replicate"), kernel.expand(3, 1, 3, 3), groups=3
    )
    return blend(blurred, x, 1 + 0.9 * v)


def posterize(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # Keeping the top $b$ bits of each byte is a bitwise AND with a mask of $b$ ones then $8 - b$
    # zeros.
    bits = 8 - (4 * v.abs()).floor().long()
    mask = (0xFF << (8 - bits)) & 0xFF
    pixels = (x * 255).round().to(torch.uint8)
    return (pixels & mask.to(torch.uint8).view(-1, 1, 1, 1)).to(x.dtype) / 255


def solarize(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # At $v = 0$ the threshold is 256, above every byte, so nothing changes.
    threshold = (256 * (1 - v.abs())).view(-1, 1, 1, 1)
    return torch.where(x * 255 >= threshold, 1 - x, x)


def autocontrast(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    # Map each channel's darkest value to 0 and brightest to 1; a flat channel is left alone.
    low, high = x.amin((2, 3), keepdim=True), x.amax((2, 3), keepdim=True)
    flat = high <= low
    scale = torch.where(flat, torch.ones_like(high), 1 / (high - low).clamp_min(1e-6))
    return ((x - torch.where(flat, torch.zeros_like(low), low)) * scale).clamp(0, 1)


def identity(x: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    return x


# The geometric operations return the affine matrix $\theta$ that `affine_grid` expects: it maps
# each *output* pixel's coordinates, scaled to $[-1, 1]$, to the input coordinates to sample from.
# The sign of $v$ is random, so whether a matrix turns the picture one way or the other does not
# matter. A shift of $t$ of the image size is $2t$ in these coordinates, as the image spans a width
# of 2.
def affine(a, b, c, d, e, f) -> torch.Tensor:
    r"""
    Stack per-image entries into matrices `[N, 2, 3]`,
    $\begin{pmatrix}a & b & c\\ d & e & f\end{pmatrix}$.
    """
    return torch.stack([a, b, c, d, e, f], dim=1).view(-1, 2, 3)


def rotate(v: torch.Tensor) -> torch.Tensor:
    angle = torch.deg2rad(30 * v)
    cos, sin, zero = angle.cos(), angle.sin(), torch.zeros_like(v)
    return affine(cos, -sin, zero, sin, cos, zero)


def shear_x(v: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(v), torch.zeros_like(v)
    return affine(one, 0.3 * v, zero, zero, one, zero)


def shear_y(v: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(v), torch.zeros_like(v)
    return affine(one, zero, zero, 0.3 * v, one, zero)


def translate_x(v: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(v), torch.zeros_like(v)
    return affine(one, zero, 2 * 0.45 * v, zero, one, zero)


def translate_y(v: torch.Tensor) -> torch.Tensor:
    one, zero = torch.ones_like(v), torch.zeros_like(v)
    return affine(one, zero, zero, zero, one, 2 * 0.45 * v)


def warp(x: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    r"""
    Resample each image through its own affine matrix with bilinear interpolation (smoother than
    nearest neighbour at $32 \times 32$, where jagged edges are a large part of the picture).
    Pixels that come from outside the image are filled with mid-grey rather than black:
    `grid_sample` fills with zeros, so we shift the image by ½ before sampling and back after, which
    turns the zeros into 0.5.
    """
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x - 0.5, grid, mode="bilinear", align_corners=False) + 0.5


COLOUR_OPS = {
    "identity": identity,
    "brightness": brightness,
    "contrast": contrast,
    "color": color,
    "sharpness": sharpness,
    "posterize": posterize,
    "solarize": solarize,
    "autocontrast": autocontrast,
}
GEOMETRIC_OPS = {
    "rotate": rotate,
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
}
OP_NAMES = [*COLOUR_OPS, *GEOMETRIC_OPS]


def rand_augment(x: torch.Tensor, n: int, m: int, gen: torch.Generator) -> torch.Tensor:
    r"""
    Apply $n$ randomly chosen operations at magnitude $m \in 0..30$ to every image of the batch.
    """
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"RandAugment magnitude must be in 0..{MAX_MAGNITUDE}, got {m}")
    if n == 0:
        return x
    images = to_float(x)
    size = x.shape[0]
    for _ in range(n):
        # One operation per image, and a signed strength $\pm v$ per image.
        op = integers(gen, len(OP_NAMES), (size,), x.device)
        sign = torch.where(uniform(gen, (size,), x.device) < 0.5, -1.0, 1.0)
        v = (sign * m / MAX_MAGNITUDE).to(images.dtype)
        # All start with the identity matrix; images that drew a geometric operation get theirs.
        theta = torch.eye(2, 3, dtype=images.dtype, device=x.device).repeat(size, 1, 1)
        moved = torch.zeros(size, dtype=torch.bool, device=x.device)
        for k, name in enumerate(OP_NAMES):
            group = (op == k).nonzero()[:, 0]
            if group.numel() == 0:
                continue
            if name in GEOMETRIC_OPS:
                theta[group] = GEOMETRIC_OPS[name](v[group])
                moved[group] = True
            else:
                images[group] = COLOUR_OPS[name](images[group], v[group])
        group = moved.nonzero()[:, 0]
        if group.numel():
            images[group] = warp(images[group], theta[group]).clamp(0, 1)
    return like(images, x)


def color_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    """
    ## Colour jitter

    Scale brightness, contrast and saturation of each image by independent random factors in
    $[1 - s, 1 + s]$. Photos of the same class come under different light and from different
    cameras; jitter keeps the network from leaning on exact colours. Unlike RandAugment this touches
    every image, but gently (the 100-epoch command of the authors' CIFAR-10 script uses $s = 0.2$).
    All three steps are whole-batch operations, applied in a fixed order; the factors are what is
    random.
    """
    if strength == 0:
        return x
    images = to_float(x)
    low, span = max(0.0, 1 - strength), 1 + strength - max(0.0, 1 - strength)
    factors = low + span * uniform(gen, (3, x.shape[0]), x.device).to(images.dtype)
    images = blend(torch.zeros_like(images), images, factors[0])
    images = blend(grey(images).mean((1, 2, 3), keepdim=True), images, factors[1])
    images = blend(grey(images), images, factors[2])
    return like(images, x)


# ## Normalization
#
# Networks train more easily when their inputs are centred on zero with similar spread
# (LeCun et al., 1998, "Efficient BackProp"): the first layer's weights then start in a sensible
# range, and no channel dominates the gradients just because its values are larger. We subtract
# each channel's mean over the training set and divide by its standard deviation:
#
# $$\hat{x}_c = \frac{x_c / 255 - \mu_c}{\sigma_c}$$
#
# The constants are the per-channel mean and standard deviation of all pixels of the 50,000 original
# training images, on the $[0, 1]$ scale. We measured them on the copies we have: on the
# 5,000-image subset our tests use they come out within 0.003 of these, and on all 50,000 images
# rebuilt from JPEG the means are within 0.0002 and the standard deviations within 0.002. The
# `labml` preset uses $\mu = \sigma = 0.5$ instead, as the labml experiment does, which maps
# $[0, 1]$ to $[-1, 1]$: simpler, and with these statistics the channel means land within 0.11 of
# zero, but the standard deviations are about 0.5 rather than 1.
MEAN = (0.4914, 0.4822, 0.4465)
STD = (0.2470, 0.2435, 0.2616)


def normalize(
    x: torch.Tensor, mean: tuple[float, ...] = MEAN, std: tuple[float, ...] = STD
) -> torch.Tensor:
    """
    Bytes (or floats in $[0, 1]$) to normalized `float32`, per channel.
    """
    images = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    mean_ = images.new_tensor(mean).view(1, -1, 1, 1)
    std_ = images.new_tensor(std).view(1, -1, 1, 1)
    return (images - mean_) / std_


def random_erasing(x: torch.Tensor, p: float, gen: torch.Generator) -> torch.Tensor:
    """
    ## Random erasing

    With probability $p$, blank out one random rectangle of each image (Zhong et al., 2020). The
    network can no longer rely on a single telltale part, the wheel of a car or the ears of a cat,
    because that part is sometimes missing: it learns to use all of the evidence, which also helps
    with occluded objects.

    Following the paper, the rectangle covers a fraction of the image drawn uniformly from
    $[0.02, 0.4]$, with aspect ratio between 0.3 and $1/0.3$ (drawn uniformly on a log scale, so
    tall and wide are equally likely). Where the paper redraws a rectangle that does not fit, we
    clip it to the image, which keeps the batch in one pass.

    The rectangle is filled with 0. This function runs *after* [normalization](#normalize), where 0
    is the dataset's mean colour: an unremarkable grey rectangle, not a black hole.
    """
    if p == 0:
        return x
    n, _, h, w = x.shape
    area = h * w * (0.02 + 0.38 * uniform(gen, (n,), x.device))
    ratio = torch.exp(math.log(0.3) * (1 - 2 * uniform(gen, (n,), x.device)))
    height = (area * ratio).sqrt().round().clamp(1, h)
    width = (area / ratio).sqrt().round().clamp(1, w)
    top = (uniform(gen, (n,), x.device) * (h - height + 1)).floor()
    left = (uniform(gen, (n,), x.device) * (w - width + 1)).floor()
    erase = uniform(gen, (n,), x.device) < p
    # The rectangle as a mask: a row is inside if $\text{top} \le i < \text{top} + \text{height}$, a
    # column likewise, and a pixel if both are. `[N, H, 1] & [N, 1, W]` broadcasts to `[N, H, W]`.
    i = torch.arange(h, device=x.device)
    j = torch.arange(w, device=x.device)
    in_rows = (i >= top[:, None]) & (i < (top + height)[:, None])
    in_cols = (j >= left[:, None]) & (j < (left + width)[:, None])
    mask = in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None]
    return x.masked_fill(mask[:, None], 0)


@dataclass
class Augment:
    """
    ## The whole pipeline

    One configuration object for everything above, called on a `uint8` batch already on the training
    device and returning a normalized `float32` batch ready for the model. The defaults are the
    classic CIFAR recipe, a 4-pixel crop and a flip (our crop reflects the border where the classic
    one pads with zeros). The order matters:

    1. crop and flip first, on bytes: they only move pixels, and moving bytes is cheapest;
    2. RandAugment and colour jitter next, on floats in $[0, 1]$: their operations are defined on
       image intensities;
    3. normalize;
    4. random erasing last, so its zeros mean "average colour".

    Use `Augment(crop_padding=0, flip=False)` for evaluation: it only normalizes.
    """

    crop_padding: int = 4
    flip: bool = True
    rand_augment_n: int = 0
    rand_augment_m: int = 0
    color_jitter: float = 0.0
    random_erasing: float = 0.0
    mean: tuple[float, ...] = MEAN
    std: tuple[float, ...] = STD

    def __call__(self, images: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        x = random_crop(images, self.crop_padding, gen)
        if self.flip:
            x = horizontal_flip(x, gen)
        if self.rand_augment_n or self.color_jitter:
            x = to_float(x)
            x = rand_augment(x, self.rand_augment_n, self.rand_augment_m, gen)
            x = color_jitter(x, self.color_jitter, gen)
        x = normalize(x, self.mean, self.std)
        return random_erasing(x, self.random_erasing, gen)


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    gen: torch.Generator,
    shuffle: bool = True,
    drop_last: bool = False,
    rank: int = 0,
    world_size: int = 1,
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
    seeded identically. Rank $r$ then keeps positions $r, r + W, r + 2W, \dots$ of it. The shares
    are disjoint, together cover the permutation, and have equal length, because the permutation is
    first cut to a multiple of $W$. Equal length matters: in DDP every rank must run the same number
    of steps or the gradient all-reduce waits forever. The few (fewer than $W$) images cut off
    differ from epoch to epoch when shuffling. For the augmentation, by contrast, give each rank its
    own generator, so the ranks do not all crop their images the same way.

    `drop_last` drops a final batch smaller than `batch_size`, so that every training step has the
    same size (BatchNorm statistics of a batch of 3 are noise). It is off by default so that
    evaluation sees every image.
    """
    n = len(images)
    if len(labels) != n:
        raise ValueError(f"{n} images but {len(labels)} labels")
    if batch_size < 1 or not 0 <= rank < world_size:
        raise ValueError(
            f"need batch_size >= 1 and 0 <= rank < world_size, got {batch_size}, {rank}"
        )
    order = torch.randperm(n, generator=gen, device=gen.device) if shuffle else torch.arange(n)
    share = n // world_size
    mine = order[rank : share * world_size : world_size].to(images.device)
    stop = share - share % batch_size if drop_last else share
    for start in range(0, stop, batch_size):
        yield mine[start : start + batch_size]


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
