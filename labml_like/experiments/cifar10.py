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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

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


def to_bytes(x: torch.Tensor) -> torch.Tensor:
    """
    A batch as bytes $0..255$ held in `float32`: `uint8` is converted, floats in $[0, 1]$ are scaled
    and rounded. Either way the result is a new tensor, sparing the caller's data.
    """
    if x.dtype == torch.uint8:
        return x.float()
    return (x.float() * 255).round_().clamp_(0, 255)


def from_bytes(y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Give the bytes `y` the kind of the original batch `x`: `uint8`, or floats in $[0, 1]$."""
    if x.dtype == torch.uint8:
        return y.to(torch.uint8)
    return (y / 255).to(x.dtype)


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
# operations, each chosen uniformly at random from a fixed list, all at one magnitude $m$. The
# ConvMixer authors' CIFAR-10 script calls torchvision's `RandAugment(num_ops=2, magnitude=12)` on
# PIL images, so that is the transform we reproduce, operation by operation: the same 14
# operations, the same strengths, the same black fill and the same arithmetic on bytes.
#
# torchvision's magnitude scale has 31 steps, $m = 0, \dots, 30$. Each operation's strength rises
# linearly from nothing at $m = 0$ to its maximum at $m = 30$; with $f = m / 30$:
#
# | operation | what it does to the image | strength | at $m = 12$ | sign |
# |---|---|---|---|---|
# | identity | nothing | | | |
# | shear x | slides row $y$ sideways by $s \cdot y$ pixels | $s = 0.3 f$ | 0.12 | ± |
# | shear y | slides column $x$ up or down by $s \cdot x$ pixels | $s = 0.3 f$ | 0.12 | ± |
# | translate x | shifts it sideways by $t$ pixels | $t = \lfloor 150 W f / 331 \rfloor$ | 5 | ± |
# | translate y | shifts it up or down by $t$ pixels | $t = \lfloor 150 H f / 331 \rfloor$ | 5 | ± |
# | rotate | turns it about its centre by $\theta$ degrees | $\theta = 30 f$ | 12 | ± |
# | brightness | blends with black by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
# | color | blends with its own grey version by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
# | contrast | blends with its mean grey level by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
# | sharpness | blends with a smoothed copy by $1 + a$ | $a = 0.9 f$ | 0.36 | ± |
# | posterize | keeps the top $b$ bits of every byte | $b = 8 - \mathrm{round}(4 f)$ | 6 | |
# | solarize | inverts every byte $\ge \tau$: $v \mapsto 255 - v$ | $\tau = 255 (1 - f)$ | 153 | |
# | autocontrast | stretches each channel to the full range $0..255$ | | | |
# | equalize | spreads each channel's values evenly over $0..255$ | | | |
#
# A blend "by $k$" computes $\text{base} + k (x - \text{base})$: $k = 1$ leaves the image alone,
# $k < 1$ moves it toward the base, $k > 1$ pushes it away (brightness $1.36$ brightens by 36%,
# colour $0.64$ washes the colours out toward grey). The operations marked ± get a random sign per
# image, each with probability ½: a shear to the left or to the right, a brighter or a darker image.
#
# Why these operations? Each one changes the picture in a way that keeps its class: the geometric
# five move the object a little (a cat slightly turned, slanted or off-centre is still a cat), and
# the other eight change its tones and detail, from changes that other light or another camera
# could cause (brightness, contrast, colour, sharpness) to ones no camera makes (solarize,
# posterize), so that the network cannot rely on exact intensities. Identity lets some images
# through unchanged.
#
# **Bytes, rounded where Pillow rounds.** For a PIL image, torchvision calls Pillow (its
# `ImageEnhance`, `ImageOps` and affine transform), which stores 8-bit channels and rounds after
# every operation: a blend is clipped to $0..255$ and then truncated, the smoothing filter rounds
# to the nearest integer, the grey image uses Pillow's integer weights. Each rounding moves a value
# by less than one level, but they add up over two operations, and a few decide more: Pillow's
# autocontrast, for instance, sends the brightest value of some channels to 254 instead of 255. We
# keep the bytes in `float32` tensors (every integer below $2^{24}$ is exact there) and round at the
# same places, so every operation below gives the bytes Pillow gives. The tests check this on real
# images, operation by operation.
#
# **Batching.** Each image needs its own operation, which looks like a per-image loop. Instead, at
# every one of the $n$ steps we draw an operation and a sign for every image, then run each
# operation once, on the group of images that drew it: at most 14 groups per step, whatever the
# batch size.
MAX_MAGNITUDE = 30
OPS = (
    "identity",
    "shear_x",
    "shear_y",
    "translate_x",
    "translate_y",
    "rotate",
    "brightness",
    "color",
    "contrast",
    "sharpness",
    "posterize",
    "solarize",
    "autocontrast",
    "equalize",
)
GEOMETRIC_OPS = ("shear_x", "shear_y", "translate_x", "translate_y", "rotate")
BLEND_OPS = ("brightness", "color", "contrast", "sharpness")


def op_strength(op: str, m: int, height: int = 32, width: int = 32) -> float:
    r"""
    The strength of operation `op` at magnitude `m`, before its sign, for an image of the given
    size: entry $m$ of torchvision's 31-entry table. The tables are evenly spaced `float32` values
    (`torch.linspace`), so we build them the same way and get the very same numbers. A translation
    is a whole number of pixels: torchvision truncates it with `int`.
    """
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"RandAugment magnitude must be in 0..{MAX_MAGNITUDE}, got {m}")

    def entry(start: float, end: float) -> float:
        return torch.linspace(start, end, MAX_MAGNITUDE + 1)[m].item()

    if op in ("shear_x", "shear_y"):
        return entry(0.0, 0.3)
    if op == "translate_x":
        return float(int(entry(0.0, 150 / 331 * width)))
    if op == "translate_y":
        return float(int(entry(0.0, 150 / 331 * height)))
    if op == "rotate":
        return entry(0.0, 30.0)
    if op in BLEND_OPS:
        return entry(0.0, 0.9)
    if op == "posterize":
        return float(8 - round(4 * m / MAX_MAGNITUDE))
    if op == "solarize":
        return entry(255.0, 0.0)
    if op in OPS:
        return 0.0
    raise ValueError(f"unknown RandAugment operation {op!r}")


# ### The colour operations
#
# Each takes a batch of bytes `[N, 3, H, W]` held in `float32` and one value per image `[N]`: the
# blend factor $k$, the number of bits, or the threshold.


def blend(base: torch.Tensor, x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""
    Pillow's `Image.blend` on bytes: $\text{base} + k (x - \text{base})$ computed in `float32`,
    clipped to $0..255$ and truncated to an integer.
    """
    return (base + k.view(-1, 1, 1, 1) * (x - base)).clamp(0, 255).floor()


def grey(x: torch.Tensor) -> torch.Tensor:
    r"""
    The grey level `[N, 1, H, W]` of each pixel, as Pillow converts RGB to its "L" mode: the ITU-R
    601 luma $0.299 R + 0.587 G + 0.114 B$ in fixed point, with weights out of $2^{16}$ and rounding
    to the nearest integer. Every intermediate is an integer below $2^{24}$, exact in `float32`.
    """
    weighted = 19595 * x[:, 0] + 38470 * x[:, 1] + 7471 * x[:, 2] + 32768
    return (weighted / 65536).floor()[:, None]


def brightness(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    return blend(torch.zeros_like(x), x, k)


def color(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # The base is the image's own grey version, so $k$ scales each pixel's distance from grey: its
    # saturation.
    return blend(grey(x), x, k)


def contrast(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    # The base is one flat grey: the mean grey level of the image, rounded half up (Pillow's
    # `int(mean + 0.5)`). Integer arithmetic gives that rounding exactly:
    # $\lfloor \frac{2 S + n}{2 n} \rfloor$ for a sum $S$ over $n$ pixels.
    levels = grey(x).long().sum((1, 2, 3), keepdim=True)
    count = x.shape[2] * x.shape[3]
    mean = torch.div(2 * levels + count, 2 * count, rounding_mode="floor")
    return blend(mean.to(x.dtype), x, k)


def sharpness(x: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    r"""
    The base is a smoothed copy: Pillow's "smooth" filter, a $3 \times 3$ kernel with weight 5 in
    the centre and 1 around it, divided by 13 and rounded. Pillow leaves the outermost rows and
    columns as they are, so there the smoothed copy equals the image and the blend changes
    nothing.
    """
    h, w = x.shape[-2:]
    total = 4 * x[..., 1:-1, 1:-1]  # the centre counts 4 times here and once more in the loop
    for dy in range(3):
        for dx in range(3):
            total = total + x[..., dy : h - 2 + dy, dx : w - 2 + dx]
    # Round $S / 13$ to the nearest integer: $\lfloor (2S + 13) / 26 \rfloor$. $S / 13$ is never
    # exactly halfway between two integers, as 13 is odd, so `float32` cannot tip the result.
    smoothed = x.clone()
    smoothed[..., 1:-1, 1:-1] = torch.div(2 * total + 13, 26, rounding_mode="floor")
    return blend(smoothed, x, k)


def posterize(x: torch.Tensor, bits: torch.Tensor) -> torch.Tensor:
    # Keeping the top $b$ bits clears the low $8 - b$: round down to a multiple of $2^{8 - b}$.
    step = (2.0 ** (8 - bits)).view(-1, 1, 1, 1)
    return torch.div(x, step, rounding_mode="floor") * step


def solarize(x: torch.Tensor, threshold: torch.Tensor) -> torch.Tensor:
    return torch.where(x >= threshold.view(-1, 1, 1, 1), 255 - x, x)


def autocontrast(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    r"""
    Map each channel's darkest value $lo$ to 0 and its brightest $hi$ to 255 through the line
    $v \mapsto \lfloor v \cdot s - lo \cdot s \rfloor$ with $s = 255 / (hi - lo)$; a channel with a
    single value is left alone. Pillow computes $s$ and the line in double precision, where
    $255 / (hi - lo)$ is rounded, and for some ranges the brightest value then lands just below 255
    and truncates to 254. We evaluate the same expression in `float64` (on the CPU for Apple's MPS,
    which has no `float64`), and so land on the same byte.
    """
    work = x.cpu() if x.device.type == "mps" else x
    values = work.double()
    low, high = values.amin((2, 3), keepdim=True), values.amax((2, 3), keepdim=True)
    # `255 / t` would be computed as `255 * (1 / t)`, rounded twice; dividing tensors rounds once.
    scale = torch.full_like(high, 255.0) / (high - low).clamp_min(1)
    stretched = (values * scale + -low * scale).floor().clamp(0, 255)
    return torch.where(high > low, stretched, values).to(x.dtype).to(x.device)


def equalize(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    r"""
    Histogram equalization, per channel, as Pillow's `ImageOps.equalize` does it. With $h_i$
    pixels of value $i$, $n$ pixels in all and $h_{last}$ of them at the highest value present, the
    step is $q = \lfloor (n - h_{last}) / 255 \rfloor$ and value $i$ becomes
    $\min(255, \lfloor (\lfloor q / 2 \rfloor + \sum_{j < i} h_j) / q \rfloor)$: each value moves to
    about 255 times the fraction of pixels darker than it, so that the values end up spread
    evenly. With $q = 0$ (fewer than 255 pixels below the top value, as with a single value) the
    channel is left alone.
    """
    n, c, h, w = x.shape
    values = x.long().reshape(n * c, h * w)
    counts = torch.zeros(n * c, 256, dtype=torch.long, device=x.device)
    counts.scatter_add_(1, values, torch.ones_like(values))
    top = counts.gather(1, values.amax(1, keepdim=True))
    step = torch.div(h * w - top, 255, rounding_mode="floor")
    below = counts.cumsum(1) - counts  # $\sum_{j < i} h_j$ for every $i$
    table = torch.div(step // 2 + below, step.clamp_min(1), rounding_mode="floor").clamp(max=255)
    table = torch.where(step > 0, table, torch.arange(256, device=x.device))
    return table.gather(1, values).view(n, c, h, w).to(x.dtype)


def identity(x: torch.Tensor, unused: torch.Tensor | None = None) -> torch.Tensor:
    return x


COLOUR_OPS: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "identity": identity,
    "brightness": brightness,
    "color": color,
    "contrast": contrast,
    "sharpness": sharpness,
    "posterize": posterize,
    "solarize": solarize,
    "autocontrast": autocontrast,
    "equalize": equalize,
}


# ### The geometric operations
#
# Pillow moves pixels by asking, for every *output* pixel, which input pixel to read. Its affine
# transform takes six numbers $(a, b, c, d, e, f)$ and reads the input at
#
# $$x_{in} = a x + b y + c, \qquad y_{in} = d x + e y + f$$
#
# where $(x, y)$ is the centre of the output pixel, $(j + ½, i + ½)$ for row $i$ and column $j$.
# With nearest-neighbour sampling (torchvision's default) the pixel read is
# $(\lfloor y_{in} \rfloor, \lfloor x_{in} \rfloor)$, and an output pixel whose source falls
# outside the image gets the fill: black, torchvision's default. Each function below returns these
# six numbers, for shift or strength `v` and an image of `height` by `width` pixels.


def shear_x(v: float, height: int, width: int) -> tuple[float, ...]:
    # Shear about the top-left corner (torchvision moved the centre there from the image centre in
    # pull request #5285 to match Pillow-based reference implementations): row $y$ reads from
    # $v \cdot y$ pixels to its right.
    return (1.0, v, 0.0, 0.0, 1.0, 0.0)


def shear_y(v: float, height: int, width: int) -> tuple[float, ...]:
    return (1.0, 0.0, 0.0, v, 1.0, 0.0)


def translate_x(v: float, height: int, width: int) -> tuple[float, ...]:
    # Output column $x$ reads input column $x - v$: the content moves $v$ pixels to the right.
    return (1.0, 0.0, -v, 0.0, 1.0, 0.0)


def translate_y(v: float, height: int, width: int) -> tuple[float, ...]:
    return (1.0, 0.0, 0.0, 0.0, 1.0, -v)


def rotate(v: float, height: int, width: int) -> tuple[float, ...]:
    r"""
    Counter-clockwise by `v` degrees about the image centre $c = (W/2, H/2)$, as Pillow's
    `Image.rotate` builds it: output point $p$ reads the input at $c + R_\theta (p - c)$, with the
    usual rotation matrix $R_\theta = \begin{pmatrix}\cos\theta & -\sin\theta\\ \sin\theta &
    \cos\theta\end{pmatrix}$. With $y$ pointing down, $R_\theta$ turns points clockwise on the
    screen, so the picture turns counter-clockwise. Pillow rounds $\cos$ and $\sin$ to 15
    decimals first; so do we.
    """
    angle = -math.radians(v % 360)  # Pillow first brings the angle into [0, 360)
    cos, sin = round(math.cos(angle), 15), round(math.sin(angle), 15)
    cx, cy = width / 2, height / 2
    return (cos, sin, cos * -cx + sin * -cy + cx, -sin, cos, -sin * -cx + cos * -cy + cy)


GEOMETRIC_MATRICES = {
    "shear_x": shear_x,
    "shear_y": shear_y,
    "translate_x": translate_x,
    "translate_y": translate_y,
    "rotate": rotate,
}


def fixed_point(matrix: tuple[float, ...]) -> list[int]:
    r"""
    Pillow evaluates the map in 16.16 fixed point: each coefficient becomes the nearest multiple of
    $2^{-16}$, and the offsets absorb the half-pixel shift to pixel centres, so that input column
    $\lfloor x_{in} \rfloor$ is an integer division by $2^{16}$. Doing the same in integers lands on
    the very same pixel even where $x_{in}$ is within a rounding error of a pixel boundary.
    (Pillow uses floating point for pure translations; with whole-pixel shifts the two agree.)
    """
    a, b, c, d, e, f = matrix

    def fix(value: float) -> int:
        return math.floor(value * 65536 + 0.5)

    return [fix(a), fix(b), fix(c + a * 0.5 + b * 0.5), fix(d), fix(e), fix(f + d * 0.5 + e * 0.5)]


def warp(x: torch.Tensor, matrices: torch.Tensor) -> torch.Tensor:
    """
    Resample each image of `x` `[N, 3, H, W]` through its own fixed-point matrix (`matrices`,
    `int64` `[N, 6]`), nearest neighbour, with black where the source is outside the image.
    """
    n, _, h, w = x.shape
    m = matrices.to(x.device).view(n, 6, 1, 1).unbind(1)
    col = torch.arange(w, device=x.device).view(1, 1, w)
    row = torch.arange(h, device=x.device).view(1, h, 1)
    src_col = torch.div(m[2] + m[0] * col + m[1] * row, 65536, rounding_mode="floor")  # [N, H, W]
    src_row = torch.div(m[5] + m[3] * col + m[4] * row, 65536, rounding_mode="floor")
    inside = (src_col >= 0) & (src_col < w) & (src_row >= 0) & (src_row < h)
    # One gather picks every pixel of every image, as in `random_crop`; outside pixels read pixel
    # $(0, 0)$ and are then blacked out.
    batch = torch.arange(n, device=x.device).view(n, 1, 1)
    picked = x.permute(0, 2, 3, 1)[batch, src_row * inside, src_col * inside]  # [N, H, W, 3]
    return (picked * inside[..., None]).permute(0, 3, 1, 2)


def apply_op(x: torch.Tensor, op: str, m: int, positive: torch.Tensor) -> torch.Tensor:
    """
    Apply RandAugment operation `op` at magnitude `m` to every image of the byte batch `x`, with the
    sign + where `positive` (a boolean `[N]`) is true and - elsewhere.
    """
    h, w = x.shape[-2:]
    v = op_strength(op, m, h, w)
    sign = (~positive).long()  # 0 picks the first entry (+v), 1 the second (-v)
    if op in GEOMETRIC_OPS:
        matrices = [fixed_point(GEOMETRIC_MATRICES[op](value, h, w)) for value in (v, -v)]
        return warp(x, torch.tensor(matrices, device=x.device)[sign])
    # The blend factor $1 \pm a$ is worked out in double precision, as torchvision does before
    # handing it to Pillow, which then uses it as a `float32`.
    values = (1.0 + v, 1.0 - v) if op in BLEND_OPS else (v, v)
    return COLOUR_OPS[op](x, torch.tensor(values, dtype=x.dtype, device=x.device)[sign])


def rand_augment(x: torch.Tensor, n: int, m: int, gen: torch.Generator) -> torch.Tensor:
    r"""
    Apply $n$ randomly chosen operations at magnitude $m \in 0..30$ to every image of the batch.
    """
    if not 0 <= m <= MAX_MAGNITUDE:
        raise ValueError(f"RandAugment magnitude must be in 0..{MAX_MAGNITUDE}, got {m}")
    if n == 0:
        return x
    images = to_bytes(x)
    size = x.shape[0]
    for _ in range(n):
        # One operation per image, and a sign per image (used only by the signed operations).
        op = integers(gen, len(OPS), (size,), x.device)
        positive = uniform(gen, (size,), x.device) < 0.5
        for k, name in enumerate(OPS):
            group = (op == k).nonzero()[:, 0]
            if group.numel() and name != "identity":
                images[group] = apply_op(images[group], name, m, positive[group])
    return from_bytes(images, x)


def color_jitter(x: torch.Tensor, strength: float, gen: torch.Generator) -> torch.Tensor:
    r"""
    ## Colour jitter

    Change the brightness, contrast and saturation of each image by independent random factors in
    $[\max(0, 1 - s), 1 + s]$. Photos of the same class come under different light and from
    different cameras; jitter keeps the network from leaning on exact colours. Unlike RandAugment
    this touches every image, but gently. This is torchvision's `ColorJitter(s, s, s)` on a PIL
    image, which the authors' longer CIFAR-10 run uses with $s = 0.2$: the same three Pillow blends
    as RandAugment's brightness, contrast and colour, applied in a random order drawn per image.
    """
    if strength == 0:
        return x
    images = to_bytes(x)
    size = x.shape[0]
    low = max(0.0, 1 - strength)
    factors = low + (1 + strength - low) * uniform(gen, (3, size), x.device).to(images.dtype)
    # Sorting three uniform numbers gives a uniformly random order of the three steps.
    order = uniform(gen, (size, 3), x.device).argsort(dim=1)
    for position in range(3):
        for k, step in enumerate((brightness, contrast, color)):
            group = (order[:, position] == k).nonzero()[:, 0]
            if group.numel():
                images[group] = step(images[group], factors[k, group])
    return from_bytes(images, x)


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


def random_erasing(
    x: torch.Tensor,
    p: float,
    gen: torch.Generator,
    scale: tuple[float, float] = (0.02, 0.33),
    ratio: tuple[float, float] = (0.3, 3.3),
    attempts: int = 10,
) -> torch.Tensor:
    r"""
    ## Random erasing

    With probability $p$, blank out one random rectangle of each image (Zhong et al., 2020). The
    network can no longer rely on a single telltale part, the wheel of a car or the ears of a cat,
    because that part is sometimes missing: it learns to use all of the evidence, which also helps
    with occluded objects.

    We draw the rectangle as torchvision's `RandomErasing` does with its defaults, which the
    authors' script keeps: an area drawn uniformly between `scale` = 2% and 33% of the image (the
    paper's upper bound is 40%), and an aspect ratio (height over width) between 0.3 and 3.3, drawn
    uniformly on a log scale so that tall and wide are equally likely. Height and width are the
    rounded $\sqrt{\text{area} \cdot \text{ratio}}$ and $\sqrt{\text{area} / \text{ratio}}$. A
    rectangle must be smaller than the image in both directions; torchvision draws up to 10 times
    until one is, and leaves the image alone if none is. We draw all 10 candidates for every image
    at once and take the first that fits. The position is uniform over the places where the
    rectangle fits.

    The rectangle is filled with 0. This function runs *after* [normalization](#normalize), where 0
    is the dataset's mean colour: an unremarkable grey rectangle, not a black hole.
    """
    if p == 0:
        return x
    n, _, h, w = x.shape
    erase = uniform(gen, (n,), x.device) < p
    low, high = scale
    area = h * w * (low + (high - low) * uniform(gen, (n, attempts), x.device))
    log_low, log_high = math.log(ratio[0]), math.log(ratio[1])
    aspect = torch.exp(log_low + (log_high - log_low) * uniform(gen, (n, attempts), x.device))
    # `round` rounds halves to even, like Python's `round` that torchvision uses.
    heights = (area * aspect).sqrt().round()
    widths = (area / aspect).sqrt().round()
    fits = (heights < h) & (widths < w)
    first = fits.int().argmax(dim=1, keepdim=True)  # the first candidate that fits (0 if none)
    height, width = heights.gather(1, first)[:, 0], widths.gather(1, first)[:, 0]
    erase &= fits.any(dim=1)
    top = (uniform(gen, (n,), x.device) * (h - height + 1)).floor()
    left = (uniform(gen, (n,), x.device) * (w - width + 1)).floor()
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

    1. crop and flip first: they only move pixels, and moving bytes is cheapest;
    2. RandAugment and colour jitter next, on bytes rounded as Pillow rounds them, in the order of
       the authors' torchvision pipeline (which runs them on PIL images, before `ToTensor`);
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
        x = rand_augment(x, self.rand_augment_n, self.rand_augment_m, gen)
        x = color_jitter(x, self.color_jitter, gen)
        x = normalize(x, self.mean, self.std)
        return random_erasing(x, self.random_erasing, gen)


def batches(
    images: torch.Tensor,
    labels: torch.Tensor,
    batch_size: int,
    gen: torch.Generator | None,
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

    Together, the ranks' $k$-th batches hold exactly positions $kBW$ to $(k + 1)BW - 1$ of the
    permutation ($B$ = `batch_size`, each rank's share of a step): the batch one process would
    take with `batch_size` $BW$. That holds for a final, smaller batch too. It is equally small on
    every rank, since the shares have equal length: 50,000 images in steps of 512 are 97 full
    steps and one of 336, which four ranks split into four batches of 84.

    `drop_last` drops that final smaller batch, so that every training step has the same size
    (BatchNorm statistics of a batch of 3 are noise). It is off by default, so that evaluation
    sees every image, and so that training matches a PyTorch `DataLoader` with its default
    `drop_last=False`, as in the ConvMixer authors' script.
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
