"""CIFAR-10 loading and augmentation, on the real shared images."""

import hashlib
import io
import os
import pickle
import shutil
import tarfile
import urllib.error
import urllib.request
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labml_like.experiments import cifar10, randaugment
from labml_like.experiments.augment import (
    Augment,
    color_jitter,
    horizontal_flip,
    normalize,
    random_crop,
    random_erasing,
)
from labml_like.experiments.cifar10 import DatasetError, batches, load_cifar10
from labml_like.experiments.randaugment import rand_augment

DATA = Path(
    os.environ.get(cifar10.ENV_VAR) or Path(__file__).resolve().parents[2] / "shared/data/cifar10"
)
BATCHES = cifar10.batches_dir(DATA)
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def raw(name: str) -> dict:
    """A batch read with plain pickle: the trusted reference the loader is compared against."""
    with open(BATCHES / name, "rb") as f:
        return pickle.load(f, encoding="bytes")


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def data() -> cifar10.CIFAR10:
    return load_cifar10(DATA, download=False)


@pytest.fixture
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", refuse)


# --- loading -------------------------------------------------------------------------------------


def test_shapes_dtypes_and_counts(data):
    n_train = sum(len(raw(name)[b"labels"]) for name in cifar10.TRAIN_FILES)
    n_test = len(raw(cifar10.TEST_FILE)[b"labels"])
    if cifar10.ENV_VAR not in os.environ:
        assert (n_train, n_test) == (5000, 1000)  # the shared subset
    assert data.train_images.shape == (n_train, 3, 32, 32)
    assert data.test_images.shape == (n_test, 3, 32, 32)
    assert data.train_images.dtype == data.test_images.dtype == torch.uint8
    assert data.train_labels.shape == (n_train,) and data.test_labels.shape == (n_test,)
    assert data.train_labels.dtype == data.test_labels.dtype == torch.int64
    assert data.classes == CLASSES


def test_labels_match_files_and_are_balanced(data):
    expected = np.concatenate([raw(name)[b"labels"] for name in cifar10.TRAIN_FILES])
    assert torch.equal(data.train_labels, torch.from_numpy(expected))
    for labels in (data.train_labels, data.test_labels):
        counts = torch.bincount(labels, minlength=10)
        assert len(counts) == 10
        assert (counts - len(labels) / 10).abs().max() <= 0.2 * len(labels) / 10


def test_pixel_layout_matches_raw_bytes(data):
    first = raw("data_batch_1")[b"data"]
    second = raw("data_batch_2")[b"data"]
    # Image 7 of the first batch: each channel is one 1,024-byte plane of the row.
    row = first[7].astype(np.float64)
    for channel in range(3):
        plane = row[1024 * channel : 1024 * (channel + 1)]
        assert data.train_images[7, channel].double().mean().item() == pytest.approx(plane.mean())
    # Row-major within a plane: pixel (row 3, column 5) of the blue plane.
    assert data.train_images[7, 2, 3, 5].item() == first[7, 2048 + 3 * 32 + 5]
    # The second batch starts right after the first, whatever the batch size.
    assert torch.equal(data.train_images[len(first)].flatten(), torch.from_numpy(second[0]))


def test_accepts_batches_folder_itself_and_env_var(monkeypatch):
    direct = load_cifar10(BATCHES, download=False)
    monkeypatch.setenv(cifar10.ENV_VAR, str(DATA))
    from_env = load_cifar10(download=False)
    assert torch.equal(direct.test_images, from_env.test_images)


def test_default_folder_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.delenv(cifar10.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert cifar10.default_data_dir() == tmp_path / "labml_like" / "cifar10"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cifar10.default_data_dir() == Path.home() / ".cache" / "labml_like" / "cifar10"


# --- broken files --------------------------------------------------------------------------------


class RunsCode:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return os.mkdir, (str(self.marker),)


def batch_bytes(changes: dict) -> bytes:
    batch = raw("data_batch_2")
    batch.update(changes)
    return pickle.dumps(batch)


BROKEN = {
    "truncated": lambda good, tmp: good[: len(good) // 2],
    "garbage": lambda good, tmp: b"<html>502 Bad Gateway</html>",
    "empty": lambda good, tmp: b"",
    "not a dict": lambda good, tmp: pickle.dumps([1, 2, 3]),
    "missing key": lambda good, tmp: pickle.dumps({b"data": raw("data_batch_2")[b"data"]}),
    "wrong row size": lambda good, tmp: batch_bytes(
        {b"data": np.zeros((10, 3000), np.uint8), b"labels": [0] * 10}
    ),
    "wrong dtype": lambda good, tmp: batch_bytes(
        {b"data": np.zeros((10, 3072), np.float32), b"labels": [0] * 10}
    ),
    "label count": lambda good, tmp: batch_bytes({b"labels": [0] * 5}),
    "label range": lambda good, tmp: batch_bytes(
        {b"labels": [10] + raw("data_batch_2")[b"labels"][1:]}
    ),
    "code": lambda good, tmp: pickle.dumps({b"data": RunsCode(tmp / "pwned")}),
}


@pytest.mark.parametrize("kind", BROKEN)
def test_broken_batch_names_the_file(kind, tmp_path):
    folder = tmp_path / cifar10.DIR_NAME
    shutil.copytree(BATCHES, folder)
    broken = folder / "data_batch_2"
    broken.chmod(0o644)
    broken.write_bytes(BROKEN[kind](broken.read_bytes(), tmp_path))
    with pytest.raises(DatasetError) as error:
        load_cifar10(tmp_path, download=False)
    assert str(broken) in str(error.value)
    assert error.value.__suppress_context__ or error.value.__context__ is None
    assert not (tmp_path / "pwned").exists()
    if kind == "code":
        assert "refusing to load posix.mkdir" in str(error.value)


@pytest.mark.parametrize(
    "changes, found",
    [
        ({b"data": np.zeros((10, 3072), np.float32)}, "b'data' must be uint8 of shape [N, 3072], "
         "found float32 of shape [10, 3072]"),
        ({b"data": np.zeros((10, 3000), np.uint8)}, "found uint8 of shape [10, 3000]"),
        ({b"data": np.zeros(3072, np.uint8)}, "found uint8 of shape [3072]"),
        ({b"data": [[0] * 3072] * 10}, "found list"),
        ({b"labels": [0.0] * 10}, "b'labels' must be 10 integers, found float64 of shape [10]"),
        ({b"labels": ["cat"] * 10}, "found str96 of shape [10]"),
        ({b"labels": [0] * 5}, "found int64 of shape [5]"),
        ({b"labels": [[0], [1, 2]] + [0] * 8}, "found object of shape [10]"),
    ],
)  # fmt: skip
def test_wrong_arrays_are_named_by_dtype_and_shape(tmp_path, changes, found):
    batch = {b"data": np.zeros((10, 3072), np.uint8), b"labels": [0] * 10, **changes}
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps(batch))
    with pytest.raises(DatasetError) as error:
        cifar10.read_batch(path)
    assert str(error.value).startswith(f"{path}: b'") and str(error.value).endswith(found)


def test_missing_batch_names_the_file(tmp_path):
    folder = tmp_path / cifar10.DIR_NAME
    shutil.copytree(BATCHES, folder)
    (folder / "data_batch_3").unlink()
    with pytest.raises(DatasetError, match="data_batch_3: missing"):
        load_cifar10(tmp_path, download=False)


# --- download and extraction ---------------------------------------------------------------------


def make_tarball(tmp_path: Path, n: int = 20, numpy1_names: bool = False) -> Path:
    """A tiny archive in the official layout: the first `n` shared images of every batch.

    Written with pickle protocol 2 (Python-2-readable), so the loader meets `_codecs.encode`;
    `numpy1_names` rewrites numpy's module name the way numpy 1 wrote it.
    """
    folder = tmp_path / "tiny" / cifar10.DIR_NAME
    folder.mkdir(parents=True)
    for name in [*cifar10.TRAIN_FILES, cifar10.TEST_FILE]:
        batch = raw(name)
        batch[b"data"], batch[b"labels"] = batch[b"data"][:n], batch[b"labels"][:n]
        content = pickle.dumps(batch, protocol=2)
        if numpy1_names:
            content = content.replace(b"numpy._core.multiarray", b"numpy.core.multiarray")
        (folder / name).write_bytes(content)
    shutil.copy(BATCHES / cifar10.META_FILE, folder / cifar10.META_FILE)
    tarball = tmp_path / "upload" / cifar10.TARBALL
    tarball.parent.mkdir()
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(folder, arcname=cifar10.DIR_NAME)
    return tarball


def serve(monkeypatch, tarball: Path, md5: str | None = None) -> None:
    monkeypatch.setattr(cifar10, "URL", tarball.as_uri())
    monkeypatch.setattr(cifar10, "MD5", md5 or hashlib.md5(tarball.read_bytes()).hexdigest())


def leftovers(folder: Path) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.startswith(".") or p.suffix == ".part"]


def test_download_verify_extract(monkeypatch, tmp_path, capsys):
    tarball = make_tarball(tmp_path)
    serve(monkeypatch, tarball)
    cache = tmp_path / "cache"
    data = load_cifar10(cache)
    progress = capsys.readouterr().err
    assert "downloading file://" in progress and "(100%)" in progress
    assert len(data.train_labels) == 100 and len(data.test_labels) == 20
    first = torch.from_numpy(raw("data_batch_2")[b"data"][:20]).view(-1, 3, 32, 32)
    assert torch.equal(data.train_images[20:40], first)
    assert (cache / cifar10.DIR_NAME / cifar10.META_FILE).is_file()
    assert (cache / cifar10.TARBALL).is_file()
    assert leftovers(cache) == []
    # Once the data is there, the network is never touched again.
    monkeypatch.setattr(cifar10, "URL", "file:///nonexistent/cifar.tar.gz")
    assert torch.equal(load_cifar10(cache).test_images, data.test_images)


def test_a_tarball_in_place_is_used_offline(monkeypatch, tmp_path, no_network):
    tarball = make_tarball(tmp_path, numpy1_names=True)
    serve(monkeypatch, tarball)
    cache = tmp_path / "cache"
    cache.mkdir()
    shutil.copy(tarball, cache / cifar10.TARBALL)
    assert len(load_cifar10(cache, download=False).test_labels) == 20


def test_checksum_mismatch_is_detected(monkeypatch, tmp_path):
    serve(monkeypatch, make_tarball(tmp_path), md5="0" * 32)
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match="checksum mismatch.*expected 0{32}"):
        load_cifar10(cache)
    assert list(cache.iterdir()) == []  # nothing half-downloaded, nothing unpacked


def test_no_data_no_network_gives_manual_steps(tmp_path, no_network):
    for download in (True, False):
        with pytest.raises(DatasetError) as error:
            load_cifar10(tmp_path / "empty", download=download)
        message = str(error.value)
        for needed in (cifar10.URL, cifar10.MD5, cifar10.ENV_VAR, str(tmp_path / "empty")):
            assert needed in message
    assert "network is unreachable" not in message  # download=False never tries
    with pytest.raises(DatasetError, match="network is unreachable"):
        load_cifar10(tmp_path / "empty")


def test_failed_extraction_leaves_nothing(monkeypatch, tmp_path, no_network):
    tarball = make_tarball(tmp_path)
    cache = tmp_path / "cache"
    cache.mkdir()
    # A corrupt archive whose checksum matches (say, corrupted before the checksum was published).
    broken = cache / cifar10.TARBALL
    broken.write_bytes(tarball.read_bytes()[: tarball.stat().st_size // 2])
    serve(monkeypatch, broken)
    with pytest.raises(DatasetError, match="cannot extract"):
        load_cifar10(cache)
    assert not (cache / cifar10.DIR_NAME).exists() and leftovers(cache) == []

    # A crash in the middle of unpacking a good archive: some files are already out.
    shutil.copy(tarball, broken)
    serve(monkeypatch, broken)

    def crash(archive, path, **kwargs):
        out = Path(path) / cifar10.DIR_NAME
        out.mkdir()
        (out / cifar10.META_FILE).write_bytes(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(tarfile.TarFile, "extractall", crash)
    with pytest.raises(DatasetError, match="disk full"):
        load_cifar10(cache)
    assert not (cache / cifar10.DIR_NAME).exists() and leftovers(cache) == []
    monkeypatch.undo()
    serve(monkeypatch, broken)
    assert len(load_cifar10(cache).train_labels) == 100


def test_cli(capsys, tmp_path):
    assert cifar10.main(["--data-dir", str(DATA)]) == 0
    assert "test: " in capsys.readouterr().out
    assert cifar10.main(["--data-dir", str(tmp_path), "--no-download"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: CIFAR-10 is not in") and cifar10.MD5 in err


# --- augmentation --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def images(data) -> torch.Tensor:
    return data.train_images[:64]


def test_random_crop_shifts_content(images):
    p = 4
    out = random_crop(images, p, gen())
    assert out.shape == images.shape and out.dtype == torch.uint8
    # Reference: every possible crop of the reflect-padded image, built the plain way.
    padded = F.pad(images.float(), (p, p, p, p), mode="reflect")
    shifts = set()
    for n in range(len(images)):
        matches = [
            (dy, dx)
            for dy in range(2 * p + 1)
            for dx in range(2 * p + 1)
            if torch.equal(padded[n, :, dy : dy + 32, dx : dx + 32], out[n].float())
        ]
        assert matches, f"image {n} is not a crop of its padded original"
        shifts.add(matches[0])
    assert len(shifts) > 20  # per-image shifts, not one for the whole batch
    assert torch.equal(random_crop(images, 0, gen()), images)
    with pytest.raises(ValueError):
        random_crop(images, 32, gen())


def test_flip_twice_is_identity(images):
    once = horizontal_flip(images, gen(3))
    flipped = [n for n in range(len(images)) if not torch.equal(once[n], images[n])]
    assert 16 <= len(flipped) <= 48
    assert all(torch.equal(once[n], images[n].flip(2)) for n in flipped)
    assert torch.equal(horizontal_flip(once, gen(3)), images)


def test_same_seed_same_output(images):
    augment = Augment(rand_augment_n=2, rand_augment_m=12, color_jitter=0.2, random_erasing=0.5)
    g1, g2 = gen(7), gen(7)
    first, second = augment(images, g1), augment(images, g2)
    assert torch.equal(first, second)
    assert torch.equal(g1.get_state(), g2.get_state())
    assert not torch.equal(first, augment(images, gen(8)))
    # A generator restored from a saved state continues exactly (what resuming relies on).
    saved = g1.get_state()
    after = augment(images, g1)
    g1.set_state(saved)
    assert torch.equal(augment(images, g1), after)


def test_normalize_train_set(data):
    x = normalize(data.train_images)
    assert x.dtype == torch.float32
    assert x.mean((0, 2, 3)).abs().max() < 0.02
    assert (x.std((0, 2, 3)) - 1).abs().max() < 0.02
    assert torch.allclose(normalize(data.train_images[:8].float() / 255), x[:8])
    half = normalize(torch.tensor([0, 255], dtype=torch.uint8).view(1, 1, 1, 2), (0.5,), (0.5,))
    assert half.flatten().tolist() == [-1.0, 1.0]


def test_rand_augment_keeps_dtype_and_range_and_changes_images(images):
    out = rand_augment(images, 2, 12, gen())
    assert out.shape == images.shape and out.dtype == torch.uint8
    changed = (out != images).flatten(1).any(1).float().mean()
    assert changed > 0.8
    as_float = images.float() / 255
    out = rand_augment(as_float, 2, 30, gen())
    assert out.dtype == torch.float32 and out.min() >= 0 and out.max() <= 1
    assert torch.equal(as_float, images.float() / 255)  # the input is not modified
    assert torch.equal(rand_augment(images, 0, 12, gen()), images)
    with pytest.raises(ValueError):
        rand_augment(images, 2, 31, gen())


def test_rand_augment_draws_per_image():
    # 64 copies of one image: each copy draws its own two operations and signs, out of 23 signed
    # variants, so the copies come out in many different ways.
    same = torch.randint(0, 256, (1, 3, 32, 32), generator=gen(), dtype=torch.uint8)
    out = rand_augment(same.expand(64, -1, -1, -1), 2, 12, gen())
    assert len({tuple(image.flatten().tolist()) for image in out}) > 32


# --- RandAugment, operation by operation ---------------------------------------------------------
#
# Each expected value below is worked out by hand from the operation's definition: the Pillow
# arithmetic that torchvision's RandAugment runs on the authors' PIL images. The operations take
# bytes held in float32, `[N, 3, H, W]`, and one value per image.


def grey_image(rows: list[list[int]]) -> torch.Tensor:
    """One image with the same bytes in all three channels."""
    plane = torch.tensor(rows, dtype=torch.float32)
    return plane.expand(1, 3, *plane.shape).clone()


def per_image(*values: float) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def test_the_14_operations_and_their_strengths_at_magnitude_12():
    assert randaugment.OPS == (
        "identity", "shear_x", "shear_y", "translate_x", "translate_y", "rotate", "brightness",
        "color", "contrast", "sharpness", "posterize", "solarize", "autocontrast", "equalize",
    )  # fmt: skip
    at_12 = {op: randaugment.op_strength(op, 12) for op in randaugment.OPS}
    # Shear: linspace(0, 0.3, 31)[12] = 0.3 * 12/30.
    assert at_12["shear_x"] == at_12["shear_y"] == pytest.approx(0.12)
    # Translate: linspace(0, 150/331 * 32, 31)[12] = 14.50 * 12/30 = 5.80, truncated: 5 pixels.
    assert at_12["translate_x"] == at_12["translate_y"] == 5
    # Rotate: linspace(0, 30, 31)[12] = 12 degrees.
    assert at_12["rotate"] == pytest.approx(12)
    # Brightness, colour, contrast, sharpness: linspace(0, 0.9, 31)[12] = 0.36, factor 1 ± 0.36.
    for op in ("brightness", "color", "contrast", "sharpness"):
        assert at_12[op] == pytest.approx(0.36)
    # Posterize: 8 - round(12 / 7.5) = 8 - round(1.6) = 6 bits.
    assert at_12["posterize"] == 6
    # Solarize: linspace(255, 0, 31)[12] = 255 - 12 * 8.5 = 153.
    assert at_12["solarize"] == 153
    assert at_12["identity"] == at_12["autocontrast"] == at_12["equalize"] == 0
    # The ends of the scale, and the image size: 150/331 * 64 = 29.0 pixels at m = 30.
    assert [randaugment.op_strength("posterize", m) for m in (0, 30)] == [8, 4]
    assert [randaugment.op_strength("solarize", m) for m in (0, 30)] == [255, 0]
    assert randaugment.op_strength("translate_x", 30, height=32, width=64) == 29
    with pytest.raises(ValueError):
        randaugment.op_strength("rotate", 31)
    with pytest.raises(ValueError):
        randaugment.op_strength("invert", 12)


FOUR_BY_FOUR = [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12], [13, 14, 15, 16]]


def warped(rows: list[list[int]], matrix) -> list[list[float]]:
    x = grey_image(rows)
    out = randaugment.warp(x, torch.tensor([randaugment.fixed_point(matrix(*x.shape[2:]))]))
    assert torch.equal(out[0, 0], out[0, 2])  # the channels move together
    return out[0, 0].tolist()


def test_translate_by_hand():
    # Output column j reads input column j - t; where that is off the image, black (0) comes in.
    assert warped(FOUR_BY_FOUR, partial(randaugment.translate_x, 1)) == [
        [0, 1, 2, 3], [0, 5, 6, 7], [0, 9, 10, 11], [0, 13, 14, 15]
    ]  # fmt: skip
    assert warped(FOUR_BY_FOUR, partial(randaugment.translate_x, -2)) == [
        [3, 4, 0, 0], [7, 8, 0, 0], [11, 12, 0, 0], [15, 16, 0, 0]
    ]  # fmt: skip
    assert warped(FOUR_BY_FOUR, partial(randaugment.translate_y, 1)) == [
        [0, 0, 0, 0], [1, 2, 3, 4], [5, 6, 7, 8], [9, 10, 11, 12]
    ]  # fmt: skip


def test_shear_by_hand():
    # Shear x by 0.5: pixel (row i, column j) reads column floor(j + 0.5 + 0.5 (i + 0.5)), so
    # rows 0..3 read from 0.25, 0.75, 1.25, 1.75 columns to the right: j, j+1, j+1, j+2.
    assert warped(FOUR_BY_FOUR, partial(randaugment.shear_x, 0.5)) == [
        [1, 2, 3, 4], [6, 7, 8, 0], [10, 11, 12, 0], [15, 16, 0, 0]
    ]  # fmt: skip
    # Shear y by 0.5: column j reads row floor(i + 0.5 + 0.5 (j + 0.5)): rows i, i+1, i+1, i+2.
    assert warped(FOUR_BY_FOUR, partial(randaugment.shear_y, 0.5)) == [
        [1, 6, 7, 12], [5, 10, 11, 16], [9, 14, 15, 0], [13, 0, 0, 0]
    ]  # fmt: skip
    # Shear x by -0.5 reads to the left instead: floor(j + 0.5 - 0.25), ... -> j, j-1, j-1, j-2.
    assert warped(FOUR_BY_FOUR, partial(randaugment.shear_x, -0.5)) == [
        [1, 2, 3, 4], [0, 5, 6, 7], [0, 9, 10, 11], [0, 0, 13, 14]
    ]  # fmt: skip


def test_rotate_by_hand():
    # 90 degrees counter-clockwise about the centre (1, 1) of [[1, 2], [3, 4]]: cos = 0, sin = 1,
    # so the top-left output pixel, centre (0.5, 0.5), reads x = 2 - 0.5 = 1.5, y = 0.5: the
    # top-right input pixel, 2. The picture turns left: [[2, 4], [1, 3]].
    assert warped([[1, 2], [3, 4]], partial(randaugment.rotate, 90)) == [[2, 4], [1, 3]]
    assert warped([[1, 2], [3, 4]], partial(randaugment.rotate, -90)) == [[3, 1], [4, 2]]
    # 0 degrees changes nothing.
    assert warped(FOUR_BY_FOUR, partial(randaugment.rotate, 0)) == FOUR_BY_FOUR


def test_brightness_by_hand():
    x = grey_image([[10, 11, 151, 255]])
    # Blend with black by k and truncate: 10 * 1.36 = 13.6 -> 13, 11 * 1.36 = 14.96 -> 14,
    # 151 * 1.36 = 205.36 -> 205, 255 * 1.36 = 346.8 -> clipped to 255.
    assert randaugment.brightness(x, per_image(1.36))[0, 0].tolist() == [[13, 14, 205, 255]]
    # 10 * 0.64 = 6.4 -> 6, 11 * 0.64 = 7.04 -> 7, 151 * 0.64 = 96.64 -> 96, 255 * 0.64 = 163.2.
    assert randaugment.brightness(x, per_image(0.64))[0, 0].tolist() == [[6, 7, 96, 163]]


def test_color_by_hand():
    # Two pixels, pure red and (10, 20, 30). Pillow's grey levels:
    # (19595 * 255 + 32768) >> 16 = 76 and (19595 * 10 + 38470 * 20 + 7471 * 30 + 32768) >> 16 = 18.
    x = torch.tensor([[[[255, 10]], [[0, 20]], [[0, 30]]]], dtype=torch.float32)
    # k = 1.36: red 76 + 1.36 * 179 = 319.4 -> 255, green and blue 76 - 1.36 * 76 = -27.4 -> 0;
    # second pixel 18 - 1.36 * 8 = 7.12 -> 7, 18 + 1.36 * 2 = 20.72 -> 20,
    # 18 + 1.36 * 12 = 34.32 -> 34.
    assert randaugment.color(x, per_image(1.36)).flatten(1).tolist() == [[255, 7, 0, 20, 0, 34]]
    # k = 0.64: 76 + 0.64 * 179 = 190.56 -> 190, 76 - 0.64 * 76 = 27.36 -> 27;
    # 18 - 0.64 * 8 = 12.88 -> 12, 18 + 0.64 * 2 = 19.28 -> 19, 18 + 0.64 * 12 = 25.68 -> 25.
    assert randaugment.color(x, per_image(0.64)).flatten(1).tolist() == [[190, 12, 27, 19, 27, 25]]


def test_contrast_by_hand():
    x = grey_image([[60, 80], [101, 121]])
    # Mean grey (60 + 80 + 101 + 121) / 4 = 90.5, rounded half up to 91.
    # k = 1.36: 91 - 1.36 * 31 = 48.84 -> 48, 91 - 1.36 * 11 = 76.04 -> 76,
    # 91 + 1.36 * 10 = 104.6 -> 104, 91 + 1.36 * 30 = 131.8 -> 131.
    assert randaugment.contrast(x, per_image(1.36))[0, 0].tolist() == [[48, 76], [104, 131]]
    # k = 0.64: 91 - 19.84 = 71.16 -> 71, 91 - 7.04 = 83.96 -> 83, 91 + 6.4 = 97.4 -> 97,
    # 91 + 19.2 = 110.2 -> 110.
    assert randaugment.contrast(x, per_image(0.64))[0, 0].tolist() == [[71, 83], [97, 110]]


def test_sharpness_by_hand():
    x = grey_image([[0, 0, 0, 90], [0, 7, 13, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    # The smoothed copy of the four inner pixels, (5 * centre + the 8 neighbours) / 13, rounded:
    # (1, 1): (35 + 13) / 13 = 3.69 -> 4;   (1, 2): (65 + 7 + 90) / 13 = 12.46 -> 12;
    # (2, 1): (7 + 13) / 13 = 1.54 -> 2;    (2, 2): (7 + 13) / 13 = 1.54 -> 2.
    # The border, 90 included, is left as it is.
    # k = 1.36: 4 + 1.36 * 3 = 8.08 -> 8, 12 + 1.36 * 1 = 13.36 -> 13, 2 - 1.36 * 2 = -0.72 -> 0.
    assert randaugment.sharpness(x, per_image(1.36))[0, 0].tolist() == [
        [0, 0, 0, 90], [0, 8, 13, 0], [0, 0, 0, 0], [0, 0, 0, 0]
    ]  # fmt: skip
    # k = 0.64: 4 + 1.92 = 5.92 -> 5, 12 + 0.64 = 12.64 -> 12, 2 - 1.28 = 0.72 -> 0.
    assert randaugment.sharpness(x, per_image(0.64))[0, 0].tolist() == [
        [0, 0, 0, 90], [0, 5, 12, 0], [0, 0, 0, 0], [0, 0, 0, 0]
    ]  # fmt: skip


def test_posterize_and_solarize_by_hand():
    x = grey_image([[255, 130, 7, 3]])
    # 6 bits: clear the low 2 bits, round down to a multiple of 4: 252, 128, 4, 0.
    assert randaugment.posterize(x, per_image(6))[0, 0].tolist() == [[252, 128, 4, 0]]
    # 4 bits: multiples of 16: 240, 128, 0, 0.
    assert randaugment.posterize(x, per_image(4))[0, 0].tolist() == [[240, 128, 0, 0]]
    y = grey_image([[0, 152, 153, 200, 255]])
    # Threshold 153 (m = 12): bytes >= 153 become 255 - v: 153 -> 102, 200 -> 55, 255 -> 0.
    assert randaugment.solarize(y, per_image(153))[0, 0].tolist() == [[0, 152, 102, 55, 0]]
    # Threshold 255 (m = 0) still inverts pure white, as torchvision's table has it.
    assert randaugment.solarize(y, per_image(255))[0, 0].tolist() == [[0, 152, 153, 200, 0]]


def test_autocontrast_by_hand():
    x = torch.tensor([[[[0, 12, 25]], [[50, 100, 150]], [[7, 7, 7]]]], dtype=torch.float32)
    out = randaugment.autocontrast(x)[0, :, 0].tolist()
    # Red 0..25: scale 255 / 25 = 10.2, which is a little less than 10.2 in binary: 12 -> 122.39
    # -> 122, and 25 -> 254.99999999999997 -> 254, as Pillow has it (its brightest value is 254).
    assert out[0] == [0, 122, 254]
    # Green 50..150: scale 2.55, 100 -> 127.49999999999999 -> 127, 150 -> 255.
    assert out[1] == [0, 127, 255]
    # Blue has a single value: left alone.
    assert out[2] == [7, 7, 7]


def test_equalize_by_hand():
    # Three 32 x 32 channels (1,024 pixels each).
    first = [10] * 510 + [20] * 255 + [30] * 259
    second = [77] * 1024
    third = [10] * 512 + [20] * 256 + [30] * 256
    x = torch.tensor([first, second, third], dtype=torch.float32).view(1, 3, 32, 32)
    out = randaugment.equalize(x)[0].flatten(1)
    # First: step q = (1024 - 259) // 255 = 3, start at q // 2 = 1; value 10 has 0 pixels below,
    # (1 + 0) // 3 = 0; 20 has 510 below, (1 + 510) // 3 = 170; 30 has 765, (1 + 765) // 3 = 255.
    assert sorted(set(out[0].tolist())) == [0, 170, 255]
    assert torch.equal(out[0] == 170, torch.tensor(first) == 20)
    # Second: a single value: left alone.
    assert set(out[1].tolist()) == {77}
    # Third: q = (1024 - 256) // 255 = 3: 10 -> 0, 20 -> (1 + 512) // 3 = 171,
    # 30 -> (1 + 768) // 3 = 256, clipped to 255.
    assert torch.equal(out[2], torch.tensor([0.0] * 512 + [171.0] * 256 + [255.0] * 256))
    # Fewer than 255 pixels below the top value: the step is 0 and nothing changes.
    small = grey_image([[1, 2], [3, 4]])
    assert torch.equal(randaugment.equalize(small), small)


def test_every_operation_matches_pillow_on_real_images(images):
    # The authors' torchvision runs each operation through Pillow; run Pillow here on 64 real
    # images, at m = 12 with both signs, and compare every byte.
    image_module = pytest.importorskip("PIL.Image")
    enhance = pytest.importorskip("PIL.ImageEnhance")
    ops = pytest.importorskip("PIL.ImageOps")
    nearest = image_module.Resampling.NEAREST

    def affine(img, matrix):
        return img.transform(img.size, image_module.Transform.AFFINE, matrix, nearest, fillcolor=0)

    pillow = {
        "identity": lambda img, v: img,
        "shear_x": lambda img, v: affine(img, (1, v, 0, 0, 1, 0)),
        "shear_y": lambda img, v: affine(img, (1, 0, 0, v, 1, 0)),
        "translate_x": lambda img, v: affine(img, (1, 0, -v, 0, 1, 0)),
        "translate_y": lambda img, v: affine(img, (1, 0, 0, 0, 1, -v)),
        "rotate": lambda img, v: img.rotate(v, nearest, fillcolor=0),
        "brightness": lambda img, v: enhance.Brightness(img).enhance(1 + v),
        "color": lambda img, v: enhance.Color(img).enhance(1 + v),
        "contrast": lambda img, v: enhance.Contrast(img).enhance(1 + v),
        "sharpness": lambda img, v: enhance.Sharpness(img).enhance(1 + v),
        "posterize": lambda img, v: ops.posterize(img, int(v)),
        "solarize": lambda img, v: ops.solarize(img, v),
        "autocontrast": lambda img, v: ops.autocontrast(img),
        "equalize": lambda img, v: ops.equalize(img),
    }
    assert set(pillow) == set(randaugment.OPS)
    as_bytes = randaugment.to_bytes(images)
    signed = (*randaugment.GEOMETRIC_OPS, *randaugment.BLEND_OPS)
    for op in randaugment.OPS:
        for sign in (1, -1) if op in signed else (1,):
            v = sign * randaugment.op_strength(op, 12)
            expected = np.stack(
                [
                    np.asarray(pillow[op](image_module.fromarray(im.permute(1, 2, 0).numpy()), v))
                    for im in images
                ]
            ).transpose(0, 3, 1, 2)
            positive = torch.full((len(images),), sign > 0)
            ours = randaugment.apply_op(as_bytes, op, 12, positive).to(torch.uint8).numpy()
            assert np.array_equal(ours, expected), f"{op} with sign {sign}"


def test_color_jitter(images):
    out = color_jitter(images, 0.4, gen())
    assert out.dtype == torch.uint8 and out.shape == images.shape
    assert (out != images).flatten(1).any(1).all()
    assert torch.equal(color_jitter(images, 0.0, gen()), images)
    # Its steps are RandAugment's blends: a flat grey image keeps its grey level under contrast
    # and colour, so only brightness changes it, by a factor in [0.6, 1.4].
    flat = torch.full((64, 3, 4, 4), 100, dtype=torch.uint8)
    levels = color_jitter(flat, 0.4, gen())[:, :, 0, 0]
    assert (levels == levels[:, :1]).all() and 60 <= levels.min() < levels.max() <= 140


def test_random_erasing_erases_rectangles(images):
    x = normalize(images)
    out = random_erasing(x, 1.0, gen())
    for n in range(len(x)):
        erased = (out[n] != x[n]).any(0)
        rows, cols = erased.any(1).nonzero()[:, 0], erased.any(0).nonzero()[:, 0]
        assert 0 < len(rows) < 32 and 0 < len(cols) < 32  # smaller than the image both ways
        box = erased[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        assert box.all(), f"image {n}: the erased pixels are not one rectangle"
        assert (out[n][:, erased] == 0).all()
        # At most 33% of the area, plus what rounding height and width adds:
        # (h + 1/2)(w + 1/2) <= hw + (h + w) / 2 + 1/4, with h, w < 32.
        assert erased.sum() <= 0.33 * 32 * 32 + 32 + 0.25
    some = random_erasing(x, 0.5, gen())
    hit = (some != x).flatten(1).any(1).sum()
    assert 16 <= hit <= 48
    assert torch.equal(random_erasing(x, 0.0, gen()), x)


def test_random_erasing_area_and_shape_follow_torchvision():
    # 4,000 rectangles on a flat image. The area fraction is uniform on (0.02, 0.33): mean 0.175;
    # the aspect ratio h / w is log-uniform on (0.3, 3.3), so as many are taller as are wider.
    out = random_erasing(torch.ones(4000, 1, 32, 32), 1.0, gen(2))
    erased = out[:, 0] == 0
    fraction = erased.flatten(1).float().mean(1)
    assert fraction.mean().item() == pytest.approx(0.175, abs=0.01)
    assert fraction.min() >= 0.01 and fraction.max() <= 0.4
    height = erased.any(2).sum(1).float()
    width = erased.any(1).sum(1).float()
    assert ((height > width).float().mean() - (height < width).float().mean()).abs() < 0.05


def test_augment_defaults_and_evaluation(images):
    out = Augment()(images, gen())
    assert out.dtype == torch.float32 and out.shape == images.shape
    plain = Augment(crop_padding=0, flip=False)
    assert torch.equal(plain(images, gen()), normalize(images))
    labml = Augment(crop_padding=0, flip=False, mean=(0.5,) * 3, std=(0.5,) * 3)
    assert labml(images, gen()).abs().max() <= 1


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_augment_on_gpu_with_a_cpu_generator(images):
    augment = Augment(rand_augment_n=2, rand_augment_m=12, color_jitter=0.2, random_erasing=0.25)
    on_gpu = augment(images.cuda(), gen(5))
    on_cpu = augment(images, gen(5))
    assert on_gpu.is_cuda
    # Same random choices; pixel values may differ by float rounding on the two devices.
    assert (on_gpu.cpu() - on_cpu).abs().mean() < 1e-3
    device_gen = torch.Generator("cuda").manual_seed(5)
    assert augment(images.cuda(), device_gen).is_cuda
    assert all(b.is_cuda for b in batches(images.cuda(), images.cuda(), 16, device_gen))


# --- batches -------------------------------------------------------------------------------------


def test_batches_shard_disjoint_and_cover():
    n, world = 1000, 3
    labels = torch.zeros(n, dtype=torch.long)
    shards = [
        torch.cat(list(batches(labels, labels, 64, gen(1), rank=r, world_size=world)))
        for r in range(world)
    ]
    assert [len(s) for s in shards] == [n // world] * world
    union = torch.cat(shards)
    assert len(set(union.tolist())) == len(union)  # disjoint
    assert torch.equal(union.sort().values, torch.randperm(n, generator=gen(1))[:999].sort().values)
    assert len(set(range(n)) - set(union.tolist())) == n % world


@pytest.mark.parametrize("n", [10_000, 200, 5])
def test_evaluation_shares_cover_every_image_under_any_world_size(n):
    # Uneven shares (evaluation): every image exactly once, shares differing by at most one.
    # Equal shares (training): the same length everywhere, fewer than W images left out.
    labels = torch.arange(n)
    for world in [*range(1, 41), 64, 128]:
        for equal in (False, True):
            shares = [
                torch.cat([torch.zeros(0, dtype=torch.long), *batches(
                    labels, labels, 7, None, shuffle=False, rank=r, world_size=world,
                    equal_shares=equal,
                )])
                for r in range(world)
            ]  # fmt: skip
            seen = torch.cat(shares).tolist()
            assert len(seen) == len(set(seen))  # disjoint
            lengths = {len(s) for s in shares}
            if equal:
                assert lengths == {n // world} and n - len(seen) == n % world
            else:
                assert sorted(seen) == list(range(n)) and max(lengths) - min(lengths) <= 1


def test_batches_sizes_order_and_epochs():
    labels = torch.zeros(100, dtype=torch.long)
    in_order = list(batches(labels, labels, 32, gen(), shuffle=False))
    assert [len(b) for b in in_order] == [32, 32, 32, 4]
    assert torch.equal(torch.cat(in_order), torch.arange(100))
    assert [len(b) for b in batches(labels, labels, 32, gen(), drop_last=True)] == [32, 32, 32]
    g = gen()
    epoch1, epoch2 = (torch.cat(list(batches(labels, labels, 32, g))) for _ in range(2))
    assert not torch.equal(epoch1, epoch2)
    assert torch.equal(epoch1.sort().values, torch.arange(100))
    with pytest.raises(ValueError):
        next(batches(labels, labels[:50], 32, gen()))
    with pytest.raises(ValueError):
        next(batches(labels, labels, 32, gen(), rank=2, world_size=2))


def test_a_final_partial_batch_is_split_evenly_across_ranks():
    # 1,000 images, 4 ranks of 64 (steps of 256): 250 per rank, batches of 64, 64, 64 and 58.
    n, world = 1000, 4
    labels = torch.zeros(n, dtype=torch.long)
    ranks = [list(batches(labels, labels, 64, gen(1), rank=r, world_size=world)) for r in range(4)]
    assert [[len(b) for b in shares] for shares in ranks] == [[64, 64, 64, 58]] * world
    # Step k of the four ranks together is the k-th batch one process takes with batch size 256:
    # 256, 256, 256 and the last 232 = 4 * 58.
    alone = list(batches(labels, labels, 256, gen(1)))
    assert [len(b) for b in alone] == [256, 256, 256, 232]
    for k, batch in enumerate(alone):
        together = torch.cat([shares[k] for shares in ranks])
        assert torch.equal(together.sort().values, batch.sort().values)


def test_restricted_unpickler_allows_arrays_only():
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for protocol in (2, 4):
        stream = io.BytesIO(pickle.dumps({b"data": array}, protocol=protocol))
        loaded = cifar10.BatchUnpickler(stream, encoding="bytes").load()
        assert np.array_equal(loaded[b"data"], array)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.BatchUnpickler(io.BytesIO(pickle.dumps(print))).load()
