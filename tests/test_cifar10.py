"""CIFAR-10 loading and augmentation, on the real shared images."""

import hashlib
import io
import os
import pickle
import shutil
import tarfile
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from labml_like.experiments import cifar10
from labml_like.experiments.cifar10 import (
    Augment,
    DatasetError,
    batches,
    color_jitter,
    horizontal_flip,
    load_cifar10,
    normalize,
    rand_augment,
    random_crop,
    random_erasing,
)

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

    monkeypatch.setattr(cifar10.urllib.request, "urlopen", refuse)


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
    out = rand_augment(images, 2, 15, gen())
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


def test_rand_augment_operations(images):
    x = images.float() / 255
    zero, full = torch.zeros(len(x)), torch.ones(len(x))
    for name, op in cifar10.COLOUR_OPS.items():
        if name != "autocontrast":  # magnitude 0 leaves the image alone
            assert torch.allclose(op(x, zero), x, atol=1e-6), name
    for name, matrix in cifar10.GEOMETRIC_OPS.items():
        assert torch.allclose(cifar10.warp(x, matrix(zero)), x, atol=1e-5), name
    posterized = (cifar10.posterize(x, full) * 255).round().long()
    assert (posterized % 16 == 0).all()
    assert torch.allclose(cifar10.solarize(x, full), 1 - x)
    stretched = cifar10.autocontrast(x, zero)
    assert torch.allclose(stretched.amin((2, 3)), torch.zeros(1)) and stretched.amax() == 1
    # A translation of exactly 4 pixels moves the content by 4 columns, grey comes in at one edge.
    moved = cifar10.warp(x, cifar10.translate_x(torch.full((len(x),), 4 / (0.45 * 32))))
    assert torch.allclose(moved[..., :-4], x[..., 4:], atol=1e-5)
    assert torch.allclose(moved[..., -4:], torch.full_like(moved[..., -4:], 0.5))


def test_color_jitter(images):
    out = color_jitter(images, 0.4, gen())
    assert out.dtype == torch.uint8 and out.shape == images.shape
    assert (out != images).flatten(1).any(1).all()
    assert torch.equal(color_jitter(images, 0.0, gen()), images)


def test_random_erasing_erases_rectangles(images):
    x = normalize(images)
    out = random_erasing(x, 1.0, gen())
    for n in range(len(x)):
        erased = (out[n] != x[n]).any(0)
        rows, cols = erased.any(1).nonzero()[:, 0], erased.any(0).nonzero()[:, 0]
        assert len(rows) and len(cols)
        box = erased[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
        assert box.all(), f"image {n}: the erased pixels are not one rectangle"
        assert (out[n][:, erased] == 0).all()
        assert erased.sum() <= 0.4 * 32 * 32 * 1.2  # area fraction up to 0.4, plus rounding
    some = random_erasing(x, 0.5, gen())
    hit = (some != x).flatten(1).any(1).sum()
    assert 16 <= hit <= 48
    assert torch.equal(random_erasing(x, 0.0, gen()), x)


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


def test_restricted_unpickler_allows_arrays_only():
    array = np.arange(6, dtype=np.uint8).reshape(2, 3)
    for protocol in (2, 4):
        stream = io.BytesIO(pickle.dumps({b"data": array}, protocol=protocol))
        loaded = cifar10.BatchUnpickler(stream, encoding="bytes").load()
        assert np.array_equal(loaded[b"data"], array)
    with pytest.raises(pickle.UnpicklingError, match="refusing"):
        cifar10.BatchUnpickler(io.BytesIO(pickle.dumps(print))).load()
