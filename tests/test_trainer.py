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
from labml_like.experiments.cifar10 import Augment, load_cifar10, normalize

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


def test_pick_device():
    assert tr.pick_device("cpu") == torch.device("cpu")
    assert tr.pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(tr.TrainingError, match="unknown device 'gpu0'"):
        tr.pick_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(tr.TrainingError, match="CUDA is not available"):
            tr.pick_device("cuda")


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    tr.save_checkpoint({"step": 1, "w": torch.ones(3)}, path)

    def crash_midway(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        tr.save_checkpoint({"step": 2, "w": torch.zeros(3)}, path)
    state = tr.load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no checkpoint.pt.tmp


def test_ctrl_c_during_a_checkpoint_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted_midway(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted_midway)
    with pytest.raises(KeyboardInterrupt):
        tr.save_checkpoint({"step": 1}, tmp_path / "checkpoint.pt")
    assert list(tmp_path.iterdir()) == []


def test_trainer_refuses_invalid_settings_naming_the_flags(data, tmp_path):
    with pytest.raises(tr.TrainingError, match=r"^--epochs 0: must be at least 1$"):
        make_trainer(data, tmp_path, epochs=0)
    with pytest.raises(tr.TrainingError, match=r"--batch-size 0: .*; --log-every -1: "):
        make_trainer(data, tmp_path, batch_size=0, log_every=-1)
    with pytest.raises(tr.TrainingError, match=r"^--optim.lr nan: must be a finite number"):
        make_trainer(data, tmp_path, lr=float("nan"))
    assert list(tmp_path.iterdir()) == []


def test_load_checkpoint_errors_are_one_line_naming_the_file(tmp_path):
    with pytest.raises(tr.TrainingError, match="no checkpoint to resume from"):
        tr.load_checkpoint(tmp_path / "missing.pt")
    good = tmp_path / "good.pt"
    tr.save_checkpoint({"step": 1, "w": torch.ones(1000)}, good)
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "truncated.pt").write_bytes(good.read_bytes()[:300])
    torch.save([1, 2], tmp_path / "list.pt")
    torch.save({"model": nn.Linear(2, 2)}, tmp_path / "module.pt")  # loading it would run code
    expected = {
        "garbage.pt": "not a checkpoint (torch.save writes a zip archive, and this is not one)",
        "empty.pt": "not a checkpoint (torch.save writes a zip archive, and this is not one)",
        "truncated.pt": "not a checkpoint (torch.save writes a zip archive, and this is not one)",
        "list.pt": "not a checkpoint (it holds a list)",
        "module.pt": "refused: it holds objects other than tensors and plain Python values",
    }
    for name, reason in expected.items():
        with pytest.raises(tr.TrainingError) as error:
            tr.load_checkpoint(tmp_path / name)
        assert str(error.value) == f"{tmp_path / name}: {reason}"


def test_a_damaged_zip_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "checkpoint.pt"
    tr.save_checkpoint({"w": torch.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x03\x04", data.index(b"data.pkl") + 1)  # the tensor's entry
    data[start + 40 : start + 240] = bytes(200)  # zeroed in the middle, the zip index intact
    path.write_bytes(bytes(data))
    with pytest.raises(tr.TrainingError) as error:
        tr.load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"{path}: damaged checkpoint (") and "\n" not in message
    assert "weights_only" not in message


def test_metrics_log_truncates_rows_written_after_the_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = tr.MetricsLog(path)
    for step in range(5):
        log.write({"split": "train", "step": step})
    log.close()
    log = tr.MetricsLog(path, keep_rows=3)
    log.write({"split": "train", "step": 3})
    log.close()
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [0, 1, 2, 3]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_metrics_on_a_full_disk_is_one_clear_error(tmp_path):
    log = tr.MetricsLog(tmp_path / "metrics.jsonl")
    log.file.close()
    log.file = open("/dev/full", "a")  # noqa: SIM115 (every write to it fails with ENOSPC)
    with pytest.raises(tr.TrainingError, match=r"metrics.jsonl: cannot write metrics \(No space"):
        log.write({"split": "train", "step": 1})
    log.close()  # the unwritten row is not reported a second time


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
    state = tr.load_checkpoint(tmp_path / "run" / "checkpoint.pt")
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
    assert tr.load_checkpoint(run_dir / "checkpoint.pt")["batch_in_epoch"] == 1
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
    assert tr.steps_per_epoch(50_000, 512, 1, drop_last=False) == 98
    assert tr.steps_per_epoch(50_000, 512, 1, drop_last=True) == 97
    # 4 processes: 12,500 images each in batches of 128: 97 of 128 and one of 84.
    assert tr.steps_per_epoch(50_000, 512, 4, drop_last=False) == 98
    assert tr.steps_per_epoch(50_000, 512, 4, drop_last=True) == 97
    assert tr.steps_per_epoch(1000, 50, 2, drop_last=False) == 20  # nothing left over


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


def test_precision_chooses_the_autocast_format():
    cuda, cpu, mps = torch.device("cuda"), torch.device("cpu"), torch.device("mps")
    assert tr.autocast_dtype("bf16", cuda) == torch.bfloat16
    assert tr.autocast_dtype("fp16", cuda) == torch.float16
    assert tr.autocast_dtype("fp32", cuda) is None
    # On the CPU and MPS autocast is off, whatever the setting.
    for precision in ("bf16", "fp16", "fp32"):
        assert tr.autocast_dtype(precision, cpu) is None
        assert tr.autocast_dtype(precision, mps) is None
    with pytest.raises(tr.TrainingError, match="unknown precision 'fp8'"):
        tr.autocast_dtype("fp8", cuda)


@pytest.mark.train
def test_the_gradient_scaler_is_checkpointed_and_restored(data, tmp_path):
    # On the CPU, fp16 leaves autocast and the scaler off.
    trainer = make_trainer(data, tmp_path / "off", precision="fp16")
    assert trainer.autocast_dtype is None and not trainer.scaler.is_enabled()
    trainer.fit()
    assert tr.load_checkpoint(tmp_path / "off" / "checkpoint.pt")["scaler"] == {}

    # The scaler's own logic runs on the CPU as well: give the trainer an enabled one that
    # starts at 2^10 and doubles after every 3 steps without an overflow.
    def with_scaler(trainer: tr.Trainer, init_scale: float) -> tr.Trainer:
        trainer.scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_interval=3)
        return trainer

    final = with_scaler(make_trainer(data, tmp_path / "a"), 2.0**10).fit()
    saved = tr.load_checkpoint(tmp_path / "a" / "checkpoint.pt")["scaler"]
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
    assert tr.load_checkpoint(tmp_path / "b" / "checkpoint.pt")["scaler"] == saved
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
    state = tr.load_checkpoint(tmp_path / "run" / "checkpoint.pt")
    assert state["scaler"]["scale"] > 0
    bf16 = make_trainer(data, tmp_path / "bf16", device="cuda")
    assert bf16.autocast_dtype == torch.bfloat16 and not bf16.scaler.is_enabled()


def test_sync_batchnorm_is_used_exactly_with_several_cuda_processes():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert tr.use_sync_batchnorm(True, 4, cuda)
    assert not tr.use_sync_batchnorm(False, 4, cuda)  # --no-sync-bn
    assert not tr.use_sync_batchnorm(True, 1, cuda)  # one process: nothing to share
    assert not tr.use_sync_batchnorm(True, 2, cpu)  # gloo: PyTorch's SyncBatchNorm needs CUDA

    def norms(model):
        return {type(m).__name__ for m in model.modules() if "Norm" in type(m).__name__}

    def build():
        return conv_mixer(d_model=16, n_layers=2, kernel_size=3, patch_size=4)

    # The conversion itself touches no device, so it can be checked here for CUDA too.
    model, note = tr.prepare_batchnorm(build(), True, 4, cuda, 512)
    assert norms(model) == {"SyncBatchNorm"}
    assert note == (
        "BatchNorm: SyncBatchNorm, statistics over all 512 images of a step, across the 4 processes"
    )
    model, note = tr.prepare_batchnorm(build(), True, 2, cpu, 512)
    assert norms(model) == {"BatchNorm2d"}
    assert "statistics per process, over each process's 256 of the 512 images" in note
    assert "SyncBatchNorm needs CUDA, this is cpu" in note
    model, note = tr.prepare_batchnorm(build(), False, 4, cuda, 512)
    assert norms(model) == {"BatchNorm2d"} and note.endswith("(--no-sync-bn)")
    model, note = tr.prepare_batchnorm(build(), True, 1, cuda, 512)
    assert norms(model) == {"BatchNorm2d"} and note is None


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
    make_trainer(data, run, model=synced).save()
    saved = tr.load_checkpoint(run / "checkpoint.pt")
    # One process with plain BatchNorm takes the checkpoint, names and values alike...
    plain = make_trainer(data, run)
    assert not any(isinstance(m, nn.SyncBatchNorm) for m in plain.model.modules())
    plain.load_state_dict(saved)
    loaded = plain.model.state_dict()
    assert loaded.keys() == synced.state_dict().keys()
    assert all(torch.equal(loaded[k], v) for k, v in synced.state_dict().items())
    # ...and trains on from it to the end.
    final = make_trainer(data, run).fit(resume=True)
    assert final["epochs"] == 2 and 0 <= final["test_accuracy"] <= 1


@pytest.mark.train
def test_plot_writes_an_svg_with_both_panels(data, tmp_path):
    make_trainer(data, tmp_path / "run").fit()
    svg = tr.plot_run(tmp_path / "run")
    root = ET.parse(svg).getroot()
    ns = {"s": "http://www.w3.org/2000/svg"}
    assert len(root.findall("s:polyline", ns)) == 4  # train and test, loss and accuracy
    texts = {t.text for t in root.findall("s:text", ns)}
    assert {"loss", "accuracy", "train", "test", "epoch"} <= texts


def test_plot_reports_broken_metrics(tmp_path):
    with pytest.raises(tr.TrainingError, match="no metrics"):
        tr.plot_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"split": "train"}\nnot json\n')
    with pytest.raises(tr.TrainingError, match=r"metrics.jsonl:2: not a JSON object"):
        tr.plot_run(tmp_path)


def test_a_run_folder_is_held_by_one_run_at_a_time(tmp_path):
    first = tr.lock_run(tmp_path)
    with pytest.raises(tr.TrainingError) as error:
        tr.lock_run(tmp_path)
    assert str(error.value) == (
        f"{tmp_path} is in use by another run with this --run-name; wait for it to end, or "
        "choose another --run-name"
    )
    first.close()  # the first run ends
    tr.lock_run(tmp_path).close()
