"""The experiment's machinery in labml_like.tools: checkpoint files, metrics, devices, precision."""

import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from labml_like.conv_mixer import conv_mixer
from labml_like.experiments.trainer import OptimConfig, TrainerConfig
from labml_like.tools import checkpoint, distributed, metrics, plots, precision, settings
from labml_like.tools.errors import TrainingError


def test_pick_device():
    assert distributed.pick_device("cpu") == torch.device("cpu")
    assert distributed.pick_device("auto").type in ("cpu", "cuda", "mps")
    with pytest.raises(TrainingError, match="unknown device 'gpu0'"):
        distributed.pick_device("gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(TrainingError, match="CUDA is not available"):
            distributed.pick_device("cuda")


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "checkpoint.pt"
    checkpoint.save_checkpoint({"step": 1, "w": torch.ones(3)}, path)

    def crash_midway(obj, f):
        f.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash_midway)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save_checkpoint({"step": 2, "w": torch.zeros(3)}, path)
    state = checkpoint.load_checkpoint(path)
    assert state["step"] == 1 and torch.equal(state["w"], torch.ones(3))
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]  # no checkpoint.pt.tmp


def test_ctrl_c_during_a_checkpoint_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    def interrupted_midway(obj, f):
        f.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted_midway)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_checkpoint({"step": 1}, tmp_path / "checkpoint.pt")
    assert list(tmp_path.iterdir()) == []


def test_load_checkpoint_errors_are_one_line_naming_the_file(tmp_path):
    with pytest.raises(TrainingError, match="no checkpoint to resume from"):
        checkpoint.load_checkpoint(tmp_path / "missing.pt")
    good = tmp_path / "good.pt"
    checkpoint.save_checkpoint({"step": 1, "w": torch.ones(1000)}, good)
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
        with pytest.raises(TrainingError) as error:
            checkpoint.load_checkpoint(tmp_path / name)
        assert str(error.value) == f"{tmp_path / name}: {reason}"


def test_a_damaged_zip_checkpoint_is_one_line(tmp_path):
    path = tmp_path / "checkpoint.pt"
    checkpoint.save_checkpoint({"w": torch.arange(1000.0)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(b"PK\x03\x04", data.index(b"data.pkl") + 1)  # the tensor's entry
    data[start + 40 : start + 240] = bytes(200)  # zeroed in the middle, the zip index intact
    path.write_bytes(bytes(data))
    with pytest.raises(TrainingError) as error:
        checkpoint.load_checkpoint(path)
    message = str(error.value)
    assert message.startswith(f"{path}: damaged checkpoint (") and "\n" not in message
    assert "weights_only" not in message


def test_metrics_log_truncates_rows_written_after_the_checkpoint(tmp_path):
    path = tmp_path / "metrics.jsonl"
    log = metrics.MetricsLog(path)
    for step in range(5):
        log.write({"split": "train", "step": step})
    log.close()
    log = metrics.MetricsLog(path, keep_rows=3)
    log.write({"split": "train", "step": 3})
    log.close()
    assert [json.loads(line)["step"] for line in path.read_text().splitlines()] == [0, 1, 2, 3]


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs Linux's /dev/full")
def test_metrics_on_a_full_disk_is_one_clear_error(tmp_path):
    log = metrics.MetricsLog(tmp_path / "metrics.jsonl")
    log.file.close()
    log.file = open("/dev/full", "a")  # noqa: SIM115 (every write to it fails with ENOSPC)
    with pytest.raises(TrainingError, match=r"metrics.jsonl: cannot write metrics \(No space"):
        log.write({"split": "train", "step": 1})
    log.close()  # the unwritten row is not reported a second time


def test_precision_chooses_the_autocast_format():
    cuda, cpu, mps = torch.device("cuda"), torch.device("cpu"), torch.device("mps")
    assert precision.autocast_dtype("bf16", cuda) == torch.bfloat16
    assert precision.autocast_dtype("fp16", cuda) == torch.float16
    assert precision.autocast_dtype("fp32", cuda) is None
    # On the CPU and MPS autocast is off, whatever the setting.
    for name in ("bf16", "fp16", "fp32"):
        assert precision.autocast_dtype(name, cpu) is None
        assert precision.autocast_dtype(name, mps) is None
    with pytest.raises(TrainingError, match="unknown precision 'fp8'"):
        precision.autocast_dtype("fp8", cuda)


def test_sync_batchnorm_is_used_exactly_with_several_cuda_processes():
    cuda, cpu = torch.device("cuda"), torch.device("cpu")
    assert distributed.use_sync_batchnorm(True, 4, cuda)
    assert not distributed.use_sync_batchnorm(False, 4, cuda)  # --no-sync-bn
    assert not distributed.use_sync_batchnorm(True, 1, cuda)  # one process: nothing to share
    assert not distributed.use_sync_batchnorm(
        True, 2, cpu
    )  # gloo: PyTorch's SyncBatchNorm needs CUDA

    def norms(model):
        return {type(m).__name__ for m in model.modules() if "Norm" in type(m).__name__}

    def build():
        return conv_mixer(d_model=16, n_layers=2, kernel_size=3, patch_size=4)

    # The conversion itself touches no device, so it can be checked here for CUDA too.
    model, note = distributed.prepare_batchnorm(build(), True, 4, cuda, 512)
    assert norms(model) == {"SyncBatchNorm"}
    assert note == (
        "BatchNorm: SyncBatchNorm, statistics over all 512 images of a step, across the 4 processes"
    )
    model, note = distributed.prepare_batchnorm(build(), True, 2, cpu, 512)
    assert norms(model) == {"BatchNorm2d"}
    assert "statistics per process, over each process's 256 of the 512 images" in note
    assert "SyncBatchNorm needs CUDA, this is cpu" in note
    model, note = distributed.prepare_batchnorm(build(), False, 4, cuda, 512)
    assert norms(model) == {"BatchNorm2d"} and note.endswith("(--no-sync-bn)")
    model, note = distributed.prepare_batchnorm(build(), True, 1, cuda, 512)
    assert norms(model) == {"BatchNorm2d"} and note is None


def test_plot_reports_broken_metrics(tmp_path):
    with pytest.raises(TrainingError, match="no metrics"):
        plots.plot_run(tmp_path)
    (tmp_path / "metrics.jsonl").write_text('{"split": "train", "epoch": 1}\nnot json\n')
    with pytest.raises(TrainingError, match=r"metrics.jsonl:2: not a JSON object"):
        plots.plot_run(tmp_path)


def test_a_run_folder_is_held_by_one_run_at_a_time(tmp_path):
    first = checkpoint.lock_run(tmp_path)
    with pytest.raises(TrainingError) as error:
        checkpoint.lock_run(tmp_path)
    assert str(error.value) == (
        f"{tmp_path} is in use by another run with this --run-name; wait for it to end, or "
        "choose another --run-name"
    )
    first.close()  # the first run ends
    checkpoint.lock_run(tmp_path).close()


@dataclass
class RunConfig(TrainerConfig):
    """Training settings with a nested group, as experiments extend them."""

    optim: OptimConfig = field(default_factory=OptimConfig)


def test_settings_are_named_by_their_flags():
    assert settings.flag("optim.grad_clip", 0.5) == "--optim.grad-clip 0.5"
    assert settings.flag("sync_bn", False) == "--no-sync-bn"
    assert settings.flag("optim.betas", (0.9, 0.99)) == "--optim.betas 0.9 0.99"
    config = RunConfig(epochs=0, log_every=0, optim=OptimConfig(lr=float("inf")))
    assert settings.config_problems(config) == [
        "--epochs 0: must be at least 1",
        "--log-every 0: must be at least 1",
        "--optim.lr inf: must be a finite number above 0",
    ]
    with pytest.raises(TrainingError, match="^--epochs 0: must be at least 1; --log-every 0"):
        settings.validate(TrainerConfig(epochs=0, log_every=0))


def test_a_batch_is_shared_evenly_or_refused():
    assert distributed.share_of_batch(512, 4) == 128
    with pytest.raises(TrainingError, match="batch_size 512 is not divisible by the 3 processes"):
        distributed.share_of_batch(512, 3)


def test_a_plain_run_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    placement = distributed.init_distributed("cpu")
    assert placement.device == torch.device("cpu")
    assert (placement.distributed.rank, placement.distributed.world_size) == (0, 1)
    assert placement.distributed.is_main


def test_progress_prints_plain_lines_when_not_on_a_terminal(capsys):
    trainer = SimpleNamespace(
        distributed=distributed.Distributed(),
        epoch=0,
        batch_in_epoch=0,
        steps_per_epoch=10,
        config=SimpleNamespace(epochs=3, batch_size=100),
    )
    progress = metrics.Progress(trainer)
    row = metrics.train_row(step=4, steps_per_epoch=10, sums=[8.0, 300.0, 400.0], lr=0.5)
    assert row == {
        "split": "train", "step": 4, "epoch": 0.4, "loss": 0.02, "accuracy": 0.75, "lr": 0.5
    }  # fmt: skip
    progress.report(row, images=400, done=4)
    progress.close()
    line = capsys.readouterr().out
    assert line.startswith("epoch 1/3 step 4/10 loss 0.020 acc 75.0% ") and "eta " in line
    # Another process shows nothing.
    trainer.distributed = distributed.Distributed(rank=1, world_size=2)
    metrics.Progress(trainer).report(row, images=400, done=4)
    assert capsys.readouterr().out == ""
