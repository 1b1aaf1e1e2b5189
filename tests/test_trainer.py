"""The generic training loop, in process, on a slice of the real shared CIFAR-10 images."""

import errno
import json
import os
import xml.etree.ElementTree as ET
from dataclasses import asdict
from functools import partial
from pathlib import Path

import pytest
import torch
from torch import nn

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments import trainer as tr
from labml_like.experiments.augment import Augment, normalize
from labml_like.experiments.cifar10 import CIFAR10, load_cifar10, steps_per_epoch
from labml_like.tools.checkpoint import load_checkpoint
from labml_like.tools.distributed import Distributed
from labml_like.tools.plots import plot_run
from labml_like.tools.resume import load_state_dict, save_state

DATA_DIR = Path(
    os.environ.get("LABML_LIKE_CIFAR10")
    or Path(__file__).resolve().parents[2] / "shared/data/cifar10"
)


@pytest.fixture(scope="module")
def data():
    full = load_cifar10(DATA_DIR, download=False)
    full.train_images, full.train_labels = full.train_images[:256], full.train_labels[:256]
    full.test_images, full.test_labels = full.test_images[:200], full.test_labels[:200]
    return full


def make_trainer(
    data, run_dir: Path, lr: float = 0.01, model=None, device: str = "cpu", **changes
) -> tr.Trainer:
    config = tr.TrainerConfig(**{"epochs": 2, "batch_size": 64, "log_every": 2, **changes})
    torch.manual_seed(config.seed)
    model = model or conv_mixer(d_model=16, n_layers=1, kernel_size=3, patch_size=4)
    optim = tr.OptimConfig(name="adamw", lr=lr, schedule="one_cycle")
    return tr.Trainer(
        model, data, Augment(), partial(normalize), config, optim, run_dir, torch.device(device)
    )


def read_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def test_one_cycle_hits_its_knots_and_is_linear_between():
    assert [tr.one_cycle(t) for t in (0.0, 0.4, 0.8, 1.0)] == pytest.approx([0, 1, 0.05, 0])
    assert tr.one_cycle(0.2) == pytest.approx(0.5)
    assert tr.one_cycle(0.6) == pytest.approx((1 + 0.05) / 2)
    assert tr.one_cycle(0.9) == pytest.approx(0.025)
    assert tr.one_cycle(-1) == 0 and tr.one_cycle(2) == 0


def test_trainer_refuses_invalid_settings_naming_the_flags(data, tmp_path):
    with pytest.raises(tr.TrainingError, match=r"^--epochs 0: must be at least 1$"):
        make_trainer(data, tmp_path, epochs=0)
    with pytest.raises(tr.TrainingError, match=r"--batch-size 0: .*; --log-every -1: "):
        make_trainer(data, tmp_path, batch_size=0, log_every=-1)
    with pytest.raises(tr.TrainingError, match=r"^--optim.lr nan: must be a finite number"):
        make_trainer(data, tmp_path, lr=float("nan"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.train
def test_first_checkpoint_on_a_full_disk_then_a_fresh_run_starts_clean(data, tmp_path, monkeypatch):
    def disk_full(obj, f):
        f.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    run_dir = tmp_path / "run"
    monkeypatch.setattr(torch, "save", disk_full)
    message = r"checkpoint.pt: cannot save \(No space left on device\); no checkpoint was saved"
    with pytest.raises(tr.TrainingError, match=message):
        make_trainer(data, run_dir, epochs=1).fit()
    assert [p.name for p in run_dir.iterdir()] == ["metrics.jsonl"]
    monkeypatch.undo()
    make_trainer(data, run_dir, epochs=1).fit()
    # The rows of the failed attempt are gone: 4 steps, a row every 2, then the epoch's row.
    assert [(r["split"], r["step"]) for r in read_rows(run_dir)] == [
        ("train", 2), ("train", 4), ("test", 4)
    ]  # fmt: skip


@pytest.mark.train
def test_fit_trains_logs_checkpoints_and_evaluates(data, tmp_path):
    trainer = make_trainer(data, tmp_path / "run", tta=True)
    final = trainer.fit()
    rows = read_rows(tmp_path / "run")
    train_rows = [r for r in rows if r["split"] == "train"]
    test_rows = [r for r in rows if r["split"] == "test"]
    # 256 images in batches of 64: 4 steps per epoch, a row every 2 steps.
    assert [r["step"] for r in train_rows] == [2, 4, 6, 8]
    assert [(r["epoch"], r["train_images"]) for r in test_rows] == [(1, 256), (2, 256)]
    assert train_rows[-1]["lr"] == 0  # the one-cycle schedule ends at zero
    confusion = torch.tensor(final["confusion"])
    assert confusion.shape == (10, 10) and confusion.sum() == 200
    assert final["test_accuracy"] == pytest.approx(confusion.trace().item() / 200)
    assert final["test_accuracy"] == pytest.approx(test_rows[-1]["accuracy"])
    assert 0 <= final["tta_accuracy"] <= 1
    saved = json.loads((tmp_path / "run" / "final.json").read_text())
    assert saved["confusion"] == final["confusion"]
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert (state["epoch"], state["step"], state["metrics_rows"]) == (2, 8, 6)
    assert state["config"] == asdict(trainer.config)


@pytest.mark.train
def test_stop_request_saves_and_diverging_loss_keeps_that_checkpoint(data, tmp_path):
    run_dir = tmp_path / "run"
    trainer = make_trainer(data, run_dir)
    trainer.stop_requested = True  # as if Ctrl-C came during the first step
    with pytest.raises(tr.Interrupted, match="interrupted by SIGINT at epoch 1, step 1; saved"):
        trainer.fit()
    before = (run_dir / "checkpoint.pt").read_bytes()
    assert load_checkpoint(run_dir / "checkpoint.pt")["batch_in_epoch"] == 1
    # Resume with an absurd learning rate: the loss explodes within a few steps.
    with pytest.raises(tr.TrainingError, match=r"loss became (nan|inf) .*training diverged"):
        make_trainer(data, run_dir, lr=1e30).fit(resume=True)
    assert (run_dir / "checkpoint.pt").read_bytes() == before


@pytest.mark.train
def test_existing_run_is_not_overwritten(data, tmp_path):
    make_trainer(data, tmp_path / "run").fit()
    with pytest.raises(tr.TrainingError, match="already holds a run; pass --resume"):
        make_trainer(data, tmp_path / "run").fit()


@pytest.mark.train
def test_resume_rejects_a_different_schedule_length(data, tmp_path):
    make_trainer(data, tmp_path / "run").fit()
    with pytest.raises(tr.TrainingError, match="saved for 8 steps, but this configuration has 12"):
        make_trainer(data, tmp_path / "run", epochs=3).fit(resume=True)


def test_batch_size_must_fit(data, tmp_path):
    with pytest.raises(tr.TrainingError, match="larger than the 256 training images"):
        make_trainer(data, tmp_path, batch_size=512)


def without_timing(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("images_per_s", "elapsed_s")} for r in rows]


def test_steps_per_epoch_keep_or_drop_the_last_batch():
    # 50,000 images in steps of 512: 97 full steps and one of 50,000 - 97 * 512 = 336.
    assert steps_per_epoch(50_000, 512, 1, drop_last=False) == 98
    assert steps_per_epoch(50_000, 512, 1, drop_last=True) == 97
    # 4 processes: 12,500 images each in batches of 128: 97 of 128 and one of 84.
    assert steps_per_epoch(50_000, 512, 4, drop_last=False) == 98
    assert steps_per_epoch(50_000, 512, 4, drop_last=True) == 97
    assert steps_per_epoch(1000, 50, 2, drop_last=False) == 20  # nothing left over


@pytest.mark.train
def test_the_last_smaller_batch_is_trained_and_resumes_exactly(data, tmp_path):
    # 256 images in batches of 60: 4 steps of 60 and one of 16 per epoch.
    final = make_trainer(data, tmp_path / "a", batch_size=60, drop_last=False).fit()
    rows = read_rows(tmp_path / "a")
    assert [r["train_images"] for r in rows if r["split"] == "test"] == [256, 256]
    assert final["steps"] == 10
    dropped = make_trainer(data, tmp_path / "b", batch_size=60).fit()  # the default drops it
    assert dropped["steps"] == 8
    assert [r["train_images"] for r in read_rows(tmp_path / "b") if r["split"] == "test"] == [
        240,
        240,
    ]
    # Stopped after the first step and resumed: the same numbers as the uninterrupted run.
    stopped = make_trainer(data, tmp_path / "c", batch_size=60, drop_last=False)
    stopped.stop_requested = True
    with pytest.raises(tr.Interrupted):
        stopped.fit()
    resumed = make_trainer(data, tmp_path / "c", batch_size=60, drop_last=False).fit(resume=True)
    assert resumed["confusion"] == final["confusion"]
    assert without_timing(read_rows(tmp_path / "c")) == without_timing(rows)


@pytest.mark.train
def test_the_gradient_scaler_is_checkpointed_and_restored(data, tmp_path):
    # On the CPU, fp16 leaves autocast and the scaler off.
    trainer = make_trainer(data, tmp_path / "off", precision="fp16")
    assert trainer.autocast_dtype is None and not trainer.scaler.is_enabled()
    trainer.fit()
    assert load_checkpoint(tmp_path / "off" / "checkpoint.pt")["scaler"] == {}

    # The scaler's own logic runs on the CPU as well: give the trainer an enabled one that
    # starts at 2^10 and doubles after every 3 steps without an overflow.
    def with_scaler(trainer: tr.Trainer, init_scale: float) -> tr.Trainer:
        trainer.scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=3)
        return trainer

    final = with_scaler(make_trainer(data, tmp_path / "a"), 2.0**10).fit()
    saved = load_checkpoint(tmp_path / "a" / "checkpoint.pt")["scaler"]
    # 8 steps: doubled after steps 3 and 6, and 2 steps since.
    assert saved["scale"] == 2.0**12 and saved["_growth_tracker"] == 2
    assert saved["growth_interval"] == 3

    # Stopped after step 1, then resumed with a scaler that starts elsewhere: the checkpoint's
    # scale and count take over, and the run ends exactly as the uninterrupted one.
    stopped = with_scaler(make_trainer(data, tmp_path / "b"), 2.0**10)
    stopped.stop_requested = True
    with pytest.raises(tr.Interrupted):
        stopped.fit()
    resumed = with_scaler(make_trainer(data, tmp_path / "b"), 1.0).fit(resume=True)
    assert load_checkpoint(tmp_path / "b" / "checkpoint.pt")["scaler"] == saved
    assert resumed["confusion"] == final["confusion"]
    assert without_timing(read_rows(tmp_path / "b")) == without_timing(read_rows(tmp_path / "a"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.train
def test_fp16_on_cuda_runs_under_autocast_with_the_scaler(data, tmp_path):
    trainer = make_trainer(data, tmp_path / "run", device="cuda", precision="fp16")
    assert trainer.autocast_dtype == torch.float16 and trainer.scaler.is_enabled()
    with trainer.autocast():
        logits = trainer.model(normalize(data.test_images[:8].cuda()))
    assert logits.dtype == torch.float16
    final = trainer.fit()
    assert 0 <= final["test_accuracy"] <= 1
    state = load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["scaler"]["scale"] > 0
    bf16 = make_trainer(data, tmp_path / "bf16", device="cuda")
    assert bf16.autocast_dtype == torch.bfloat16 and not bf16.scaler.is_enabled()


@pytest.mark.train
def test_a_checkpoint_saved_with_sync_batchnorm_loads_into_one_process(data, tmp_path):
    # A model as several GPUs train it: SyncBatchNorm layers, with statistics of their own.
    torch.manual_seed(1)
    model = conv_mixer(d_model=16, n_layers=1, kernel_size=3, patch_size=4)
    for layer in model.modules():
        if isinstance(layer, nn.BatchNorm2d):
            layer.running_mean.uniform_(-1, 1)
            layer.running_var.uniform_(0.5, 2)
            layer.num_batches_tracked.fill_(7)
    synced = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    run = tmp_path / "run"
    run.mkdir()
    save_state(make_trainer(data, run, model=synced))
    saved = load_checkpoint(run / "checkpoint.pt")
    # One process with plain BatchNorm takes the checkpoint, names and values alike...
    plain = make_trainer(data, run)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in plain.model.modules())
    load_state_dict(plain, saved)
    loaded = plain.model.state_dict()
    assert loaded.keys() == synced.state_dict().keys()
    assert all(torch.equal(loaded[k], v) for k, v in synced.state_dict().items())
    # ...and trains on from it to the end.
    final = make_trainer(data, run).fit(resume=True)
    assert final["epochs"] == 2 and 0 <= final["test_accuracy"] <= 1


@pytest.mark.train
def test_plot_writes_an_svg_with_both_panels(data, tmp_path):
    make_trainer(data, tmp_path / "run").fit()
    svg = plot_run(tmp_path / "run")
    root = ET.parse(svg).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall("s:polyline", ns)) == 4  # train and test, loss and accuracy
    texts = {t.text for t in root.findall("s:text", ns)}
    assert {"loss", "accuracy", "train", "test", "epoch"} <= texts


def evaluate_in_process(rank: int, world_size: int, init_file: str, out: str) -> None:
    """One of `world_size` gloo processes: build the trainer, evaluate, rank 0 writes the result."""
    torch.distributed.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=world_size
    )
    try:
        trainer = make_evaluation_trainer(Path(out).parent / f"run{rank}", world_size, rank)
        result = trainer.evaluate()
        if rank == 0:
            Path(out).write_text(json.dumps(result))
    finally:
        torch.distributed.destroy_process_group()


def make_evaluation_trainer(run_dir: Path, world_size: int = 1, rank: int = 0) -> tr.Trainer:
    """A small untrained model on random images: 200 test images, which 3 and 7 do not divide."""
    g = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (264, 3, 32, 32), dtype=torch.uint8, generator=g)
    labels = torch.randint(0, 10, (264,), generator=g)
    data = CIFAR10(images[:64], labels[:64], images[64:], labels[64:], [str(k) for k in range(10)])
    config = tr.TrainerConfig(epochs=1, batch_size=21, log_every=1)
    torch.manual_seed(0)
    model = conv_mixer(d_model=8, n_layers=1, kernel_size=3, patch_size=4)
    optim = tr.OptimConfig()
    return tr.Trainer(
        model, data, Augment(), partial(normalize), config, optim, run_dir, torch.device("cpu"),
        Distributed(rank, world_size),
    )  # fmt: skip


@pytest.mark.slow  # starts 3 and 7 processes
@pytest.mark.parametrize("world_size", [3, 7])
def test_evaluation_scores_every_test_image_under_any_world_size(tmp_path, world_size):
    alone = make_evaluation_trainer(tmp_path / "alone").evaluate()
    out = tmp_path / "result.json"
    torch.multiprocessing.spawn(
        evaluate_in_process,
        args=(world_size, str(tmp_path / "init"), str(out)),
        nprocs=world_size,
    )
    together = json.loads(out.read_text())
    assert sum(map(sum, together["confusion"])) == 200  # not 198 (3) or 196 (7)
    assert together["confusion"] == alone["confusion"]
    assert together["loss"] == pytest.approx(alone["loss"], rel=1e-5)
