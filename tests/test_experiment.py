"""The ConvMixer experiment end to end: presets, command line, resume after a kill or Ctrl-C,
two-process DDP, plotting and publishing, on the real shared CIFAR-10 images."""

import errno
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

import pytest
import torch

from labml_like.conv_mixer import experiment as ex
from labml_like.experiments import trainer as tr
from labml_like.tools import cli
from labml_like.tools.publish import portable_command

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LABML_LIKE_CIFAR10") or REPO.parent / "shared/data/cifar10")
# A tiny configuration: 1,000 training images in batches of 50 (20 steps per epoch), 4 epochs.
TINY = [
    "--preset", "smoke", "--epochs", "4", "--batch-size", "50", "--log-every", "5",
    "--model.d-model", "16", "--data.train-limit", "1000", "--data.test-limit", "500",
]  # fmt: skip
TIMING_KEYS = {"images_per_s", "elapsed_s"}


def parse(argv: list[str]) -> cli.TrainArguments:
    return cli.parse_train_arguments(ex.EXPERIMENT, argv)


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "labml_like.conv_mixer.experiment", *args]


def environment() -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "LABML_LIKE_CIFAR10": str(DATA_DIR)}


def run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        command(*args), cwd=cwd, env=environment(), capture_output=True, text=True, timeout=300
    )


def start(cwd: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        command(*args),
        cwd=cwd,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, process: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert process.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def ddp_command(*args: str) -> list[str]:
    """The experiment under `torchrun` with two CPU processes talking through gloo."""
    launcher = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    return [*launcher, "-m", "labml_like.conv_mixer.experiment", "--device", "cpu", *args]


def run_ddp(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ddp_command(*args), cwd=cwd, env=environment(), capture_output=True, text=True, timeout=300
    )


def kill_with_workers(launcher: subprocess.Popen) -> None:
    """SIGKILL `torchrun` and its workers, as a crash would. The workers run in sessions of their
    own, so killing the launcher alone would leave them training."""
    tasks = Path(f"/proc/{launcher.pid}/task")
    workers = [
        int(pid) for task in tasks.iterdir() for pid in (task / "children").read_text().split()
    ]
    for pid in workers:
        os.kill(pid, signal.SIGKILL)
    launcher.kill()
    launcher.wait()
    for pid in workers:  # dead, if perhaps not yet reaped, before the test goes on
        status = Path(f"/proc/{pid}/status")
        while status.exists() and "\nState:\tZ" not in status.read_text():
            time.sleep(0.005)


def deterministic_rows(run_dir: Path) -> list[dict]:
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]


def without_timing(final_json: Path) -> dict:
    final = json.loads(final_json.read_text())
    del final["elapsed_s"]
    return final


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> Path:
    """An uninterrupted tiny run, to compare interrupted ones with."""
    cwd = tmp_path_factory.mktemp("reference")
    result = run(cwd, *TINY, "--run-name", "ref")
    assert result.returncode == 0, result.stderr
    return cwd / "runs" / "ref"


@pytest.mark.train
def test_smoke_preset_learns_well_above_chance(tmp_path, capsys):
    args = ["--preset", "smoke", "--data-dir", str(DATA_DIR), "--runs-dir", str(tmp_path)]
    assert ex.main([*args, "--run-name", "smoke"]) == 0
    final = json.loads((tmp_path / "smoke" / "final.json").read_text())
    assert final["test_accuracy"] >= 0.25  # chance is 0.10
    assert sum(map(sum, final["confusion"])) == 1000
    info = json.loads((tmp_path / "smoke" / "run.json").read_text())
    assert info["train_images"] == 5000 and info["config"]["preset"] == "smoke"
    assert "epoch 2/2: train loss" in capsys.readouterr().out  # plain lines: not a terminal


@pytest.mark.train
def test_resume_after_sigkill_reproduces_the_uninterrupted_run_exactly(tmp_path, reference):
    process = start(tmp_path, *TINY, "--run-name", "r")
    checkpoint = tmp_path / "runs" / "r" / "checkpoint.pt"
    wait_for(checkpoint.exists, process)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
    assert torch.load(checkpoint, weights_only=True)["epoch"] < 4
    result = run(tmp_path, "--run-name", "r", "--resume")
    assert result.returncode == 0, result.stderr
    assert deterministic_rows(tmp_path / "runs" / "r") == deterministic_rows(reference)
    final = json.loads((tmp_path / "runs" / "r" / "final.json").read_text())
    expected = json.loads((reference / "final.json").read_text())
    assert final["confusion"] == expected["confusion"]


@pytest.mark.train
@pytest.mark.parametrize(
    "signum, status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_ctrl_c_or_sigterm_saves_mid_epoch_and_resumes_exactly(tmp_path, reference, signum, status):
    process = start(tmp_path, *TINY, "--run-name", "r")
    metrics = tmp_path / "runs" / "r" / "metrics.jsonl"
    # Wait for the first row of epoch 2 (step 25 of 80), then press Ctrl-C (or send SIGTERM).
    wait_for(lambda: metrics.exists() and '"step": 25' in metrics.read_text(), process)
    process.send_signal(signum)
    assert process.wait(timeout=60) == status
    [line] = process.stderr.read().decode().splitlines()
    assert line.startswith(f"interrupted by {signum.name} at epoch 2, step ")
    assert line.endswith("Continue with --resume")
    state = torch.load(tmp_path / "runs" / "r" / "checkpoint.pt", weights_only=True)
    assert state["epoch"] == 1 and 0 < state["batch_in_epoch"] < 20  # saved mid-epoch
    result = run(tmp_path, "--run-name", "r", "--resume")
    assert result.returncode == 0, result.stderr
    assert deterministic_rows(tmp_path / "runs" / "r") == deterministic_rows(reference)


@pytest.mark.train
def test_two_processes_with_gloo_shard_the_data_and_only_rank_0_writes(tmp_path):
    args = [
        "--preset", "smoke", "--epochs", "1", "--batch-size", "40", "--log-every", "5",
        "--model.d-model", "16", "--data.train-limit", "400", "--data.test-limit", "200",
        "--run-name", "ddp",
    ]  # fmt: skip
    result = run_ddp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("test accuracy") == 1  # only rank 0 prints
    # On the CPU there is no SyncBatchNorm; the run says so once, at the start.
    note = (
        "BatchNorm: statistics per process, over each process's 20 of the 40 images of a step "
        "(SyncBatchNorm needs CUDA, this is cpu)"
    )
    assert result.stdout.splitlines().count(note) == 1
    rows = [
        json.loads(line) for line in (tmp_path / "runs/ddp/metrics.jsonl").read_text().splitlines()
    ]
    # 400 images, 2 processes, 20 each per step: 10 steps, all 400 images counted once.
    assert [r["step"] for r in rows if r["split"] == "train"] == [5, 10]
    assert [r["train_images"] for r in rows if r["split"] == "test"] == [400]
    final = json.loads((tmp_path / "runs/ddp/final.json").read_text())
    assert final["world_size"] == 2 and sum(map(sum, final["confusion"])) == 200


@pytest.mark.train
def test_two_processes_keep_the_last_smaller_batch(tmp_path):
    # 400 images, 2 processes of 30 (steps of 60): 200 each, 6 batches of 30 and one of 20, the
    # same on both processes, so neither waits for the other at the last step.
    args = [
        "--preset", "smoke", "--epochs", "1", "--batch-size", "60", "--log-every", "5",
        "--model.d-model", "16", "--data.train-limit", "400", "--data.test-limit", "200",
        "--no-drop-last", "--run-name", "ddp",
    ]  # fmt: skip
    result = run_ddp(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    rows = [
        json.loads(line) for line in (tmp_path / "runs/ddp/metrics.jsonl").read_text().splitlines()
    ]
    assert [r["step"] for r in rows if r["split"] == "train"] == [5, 7]
    assert [r["train_images"] for r in rows if r["split"] == "test"] == [400]


@pytest.mark.train
def test_two_processes_resume_after_sigkill_reproduce_the_uninterrupted_run_exactly(tmp_path):
    # TINY with two processes: 25 images each per step, still 20 steps per epoch. Two
    # uninterrupted gloo runs on the CPU agree bit for bit (an all-reduce over two processes is
    # one addition, whatever the order), so resuming must match exactly here too.
    (tmp_path / "reference").mkdir()
    result = run_ddp(tmp_path / "reference", *TINY, "--run-name", "ref")
    assert result.returncode == 0, result.stderr
    reference = tmp_path / "reference/runs/ref"

    work = tmp_path / "interrupted"
    work.mkdir()
    run_dir = work / "runs" / "r"
    process = subprocess.Popen(
        ddp_command(*TINY, "--run-name", "r"),
        cwd=work,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for((run_dir / "checkpoint.pt").exists, process)
    finally:
        kill_with_workers(process)
    state = torch.load(run_dir / "checkpoint.pt", weights_only=True)
    saved_epoch = state["epoch"]
    assert 1 <= saved_epoch < 4 and not (run_dir / "final.json").exists()
    assert state["step"] == 20 * saved_epoch and state["batch_in_epoch"] == 0
    assert len(state["per_process"]) == 2  # each process's augmentation generator and sums
    kept = (run_dir / "metrics.jsonl").read_text().splitlines()[: state["metrics_rows"]]

    result = run_ddp(work, "--run-name", "r", "--resume")
    assert result.returncode == 0, result.stderr
    # It went on from the checkpoint: the rows before it are untouched (timings included), and
    # it trained only the later epochs, each reported once (only rank 0 prints).
    assert (run_dir / "metrics.jsonl").read_text().splitlines()[: len(kept)] == kept
    finished = [line.split(":")[0] for line in result.stdout.splitlines() if ": train loss" in line]
    assert finished == [f"epoch {e}/4" for e in range(saved_epoch + 1, 5)]
    assert result.stdout.count("test accuracy") == 1
    assert deterministic_rows(run_dir) == deterministic_rows(reference)
    expected = without_timing(reference / "final.json")
    assert without_timing(run_dir / "final.json") == expected
    assert expected["world_size"] == 2 and expected["steps"] == 80

    # Killed during the final evaluation: the last checkpoint is complete, final.json is not
    # there. The evaluation of the resumed model must give the same final.json.
    (run_dir / "final.json").unlink()
    result = run_ddp(work, "--run-name", "r", "--resume")
    assert result.returncode == 0, result.stderr
    assert ": train loss" not in result.stdout
    assert without_timing(run_dir / "final.json") == expected
    assert deterministic_rows(run_dir) == deterministic_rows(reference)
    # Only rank 0 wrote: one copy of everything, no leftovers, nothing outside the run folder.
    assert [p.name for p in work.iterdir()] == ["runs"]
    assert [p.name for p in run_dir.parent.iterdir()] == ["r"]
    names = {p.name for p in run_dir.iterdir()} - {"tensorboard"}
    assert names == {"run.json", "metrics.jsonl", "checkpoint.pt", "final.json", "run.lock"}


@pytest.mark.train
def test_a_second_run_with_the_same_name_is_refused_while_the_first_runs(tmp_path, reference):
    first = start(tmp_path, *TINY, "--run-name", "r")
    metrics = tmp_path / "runs" / "r" / "metrics.jsonl"
    try:
        # Hold the first run in its first epoch, before any checkpoint, while the others start.
        wait_for(lambda: metrics.exists() and '"step": 5' in metrics.read_text(), first)
        first.send_signal(signal.SIGSTOP)
        written = metrics.read_text()
        second = run(tmp_path, *TINY, "--run-name", "r")
        message = f"error: {Path('runs/r')} is in use by another run with this --run-name; wait"
        assert second.returncode == 1 and second.stderr.startswith(message), second.stderr
        assert second.stderr.count("\n") == 1 and second.stdout == ""
        # Under torchrun only rank 0 writes, and so only rank 0 takes the lock; its refusal
        # stops the whole run.
        ddp = subprocess.run(
            ddp_command(*TINY, "--run-name", "r"),
            cwd=tmp_path,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert ddp.returncode != 0 and message in ddp.stderr
        assert metrics.read_text() == written
        assert not (tmp_path / "runs/r/checkpoint.pt").exists()
    finally:
        first.send_signal(signal.SIGCONT)
    assert first.wait(timeout=300) == 0
    assert deterministic_rows(tmp_path / "runs" / "r") == deterministic_rows(reference)
    # Once the first run has ended, the folder is free again: --resume opens it.
    result = run(tmp_path, "--run-name", "r", "--resume")
    assert result.returncode == 0, result.stderr
    assert deterministic_rows(tmp_path / "runs" / "r") == deterministic_rows(reference)


def test_a_garbage_checkpoint_is_one_line_naming_it(one_cycle_run, tmp_path, capsys):
    run_dir = tmp_path / "r"
    shutil.copytree(one_cycle_run, run_dir)
    (run_dir / "checkpoint.pt").write_bytes(b"garbage")
    assert ex.main(tiny(tmp_path, "--run-name", "r", "--resume")) == 1
    err = one_line_error(capsys)
    assert err == (
        f"error: {run_dir / 'checkpoint.pt'}: not a checkpoint (torch.save writes a zip archive, "
        "and this is not one)\n"
    )


def test_presets_match_the_recipes():
    paper = ex.paper()
    assert (paper.model.d_model, paper.model.n_layers, paper.model.kernel_size) == (256, 8, 5)
    assert (paper.optim.name, paper.optim.lr, paper.optim.weight_decay) == ("adamw", 0.05, 0.005)
    assert (paper.batch_size, paper.epochs, paper.optim.schedule) == (512, 25, "one_cycle")
    assert (paper.data.rand_augment_n, paper.data.rand_augment_m) == (2, 12)
    # As the authors' script runs: float16 with a gradient scaler, the last smaller batch kept,
    # their normalization constants; SyncBatchNorm on several GPUs.
    assert (paper.precision, paper.drop_last, paper.sync_bn) == ("fp16", False, True)
    assert paper.data.std == (0.2471, 0.2435, 0.2616) and paper.data.crop_padding == 0
    assert (paper.data.color_jitter, paper.data.random_erasing) == (0.0, 0.0)
    labml = ex.labml()
    assert (labml.model.kernel_size, labml.optim.name, labml.optim.lr) == (7, "adam", 2.5e-4)
    assert (labml.batch_size, labml.epochs, labml.optim.schedule) == (64, 150, "constant")
    assert labml.data.mean == labml.data.std == (0.5, 0.5, 0.5)
    # As labml's experiment runs: float32, and its DataLoader keeps the last, smaller batch.
    assert (labml.precision, labml.drop_last) == ("fp32", False)
    assert ex.fast().label_smoothing == 0.1 and ex.fast().tta


def test_command_line_overrides_every_level():
    config, args = parse(
        ["--preset", "labml", "--epochs", "10", "--model.kernel-size", "9", "--no-data.flip",
         "--optim.betas", "0.8", "0.9", "--data.mean", "0.1", "0.2", "0.3", "--tta"]
    )  # fmt: skip
    assert config.preset == "labml" and config.batch_size == 64  # untouched preset values
    assert (config.epochs, config.model.kernel_size, config.data.flip) == (10, 9, False)
    assert config.optim.betas == (0.8, 0.9) and config.data.mean == (0.1, 0.2, 0.3)
    assert config.tta and args.run_name is None
    assert (
        cli.config_from_dict(json.loads(json.dumps(asdict(config))), ex.ExperimentConfig())
        == config
    )


def test_an_older_run_json_still_resumes():
    # run.json files written before `precision`, `drop_last` and `sync_bn` existed have
    # `mixed_precision` instead; they resume as those runs ran.
    old = json.loads(json.dumps(asdict(ex.smoke())))
    for key in ("precision", "drop_last", "sync_bn"):
        del old[key]
    old["mixed_precision"] = True
    config = cli.config_from_dict(old, ex.ExperimentConfig())
    assert (config.precision, config.drop_last, config.sync_bn) == ("bf16", True, False)
    old["mixed_precision"] = False
    assert cli.config_from_dict(old, ex.ExperimentConfig()).precision == "fp32"


def test_help_lists_every_field_with_the_preset_default(capsys):
    with pytest.raises(SystemExit):
        parse(["--preset", "labml", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for flag in ["--epochs", "--batch-size", "--label-smoothing", "--compile", "--tta",
                 "--model.d-model", "--model.kernel-size", "--optim.lr", "--optim.schedule",
                 "--data.rand-augment-n", "--data.random-erasing", "--data-dir", "--device",
                 "--run-name", "--resume", "--precision", "--sync-bn", "--no-sync-bn",
                 "--drop-last"]:  # fmt: skip
        assert flag in text
    assert "the peak learning rate" in text and "(0.00025)" in text and "(150)" in text


def test_bad_input_gets_one_clear_message(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse(["--optim.name", "lamb"])
    assert exit_info.value.code == 2 and "invalid choice: 'lamb'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        parse(["--precision", "fp8"])
    assert "invalid choice: 'fp8'" in capsys.readouterr().err
    assert ex.main(["--resume"]) == 1
    assert "--resume needs the --run-name" in capsys.readouterr().err
    assert ex.main(["--resume", "--run-name", "nothing", "--runs-dir", str(tmp_path)]) == 1
    assert "run.json: not found" in capsys.readouterr().err
    missing = ["--data-dir", str(tmp_path / "none"), "--no-download", "--preset", "smoke"]
    assert ex.main([*missing, "--runs-dir", str(tmp_path), "--run-name", "x"]) == 1
    error = capsys.readouterr().err
    assert error.startswith("error: CIFAR-10 is not in") and "Traceback" not in error


@pytest.mark.train
def test_plot_and_publish(tmp_path, reference, capsys):
    assert ex.main(["plot", str(reference)]) == 0
    assert (reference / "curves.svg").read_text().startswith("<svg")
    out = tmp_path / "published"
    note = "A tiny test run."
    assert ex.main(["publish", str(reference), "--out", str(out), "--note", note]) == 0
    assert {p.name for p in out.iterdir()} == {
        "readme.md", "curves.svg", "confusion.svg", "metrics.jsonl", "final.json", "run.json"
    }  # fmt: skip
    readme = (out / "readme.md").read_text()
    final = json.loads((out / "final.json").read_text())
    assert readme.startswith("---\ntitle:") and note in readme
    assert f"{final['test_accuracy']:.2%}" in readme
    assert "python -m labml_like.conv_mixer.experiment --preset smoke --epochs 4" in readme
    assert "| true \\ predicted | airpl |" in readme and "git commit" in readme
    # The page shows the matrix once, as a table; the picture is published for other pages.
    assert "![Loss and accuracy" in readme and "](confusion.svg)" not in readme
    # The picture shows every count of the matrix, one cell each.
    svg = (out / "confusion.svg").read_text()
    counts = [int(c) for c in re.findall(r'text-anchor="middle">(\d+)</text>', svg)]
    assert counts == [v for row in final["confusion"] for v in row]
    assert ex.main(["publish", str(tmp_path)]) == 1
    assert "only a finished run can be published" in capsys.readouterr().err


def test_laptop_preset_trains_on_all_of_cifar10_with_the_published_model():
    config = ex.laptop()
    assert (config.data.train_limit, config.data.test_limit) == (0, 0)  # every image
    m = config.model
    model = ex.conv_mixer(m.d_model, m.n_layers, m.kernel_size, m.patch_size)
    assert sum(p.numel() for p in model.parameters()) == 125_322
    published = json.loads((REPO / "docs_src/results/conv_mixer/run.json").read_text())
    assert published["config"]["preset"] == "laptop"
    assert (published["train_images"], published["test_images"]) == (50_000, 10_000)
    assert published["config"]["model"] == asdict(config)["model"]
    assert published["config"]["epochs"] == config.epochs


# ## Bad input to the training command: one line, a non-zero exit, nothing half-written


def tiny(runs_dir: Path, *extra: str) -> list[str]:
    """A run of 4 steps on 256 images, evaluated on 128: a few seconds on a CPU."""
    return [
        "--preset", "smoke", "--epochs", "1", "--batch-size", "64", "--model.d-model", "16",
        "--data.train-limit", "256", "--data.test-limit", "128",
        "--data-dir", str(DATA_DIR), "--runs-dir", str(runs_dir), *extra,
    ]  # fmt: skip


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1, err
    return err


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--epochs", "-1"], "--epochs -1: must be at least 1"),
        (["--epochs", "0"], "--epochs 0: must be at least 1"),
        (["--batch-size", "0"], "--batch-size 0: must be at least 1"),
        (["--batch-size", "-5"], "--batch-size -5: must be at least 1"),
        (["--model.kernel-size", "4"], "--model.kernel-size 4: must be odd"),
        (["--model.patch-size", "64"], "--model.patch-size 64: must be a divisor of the 32-pixel"),
        (["--optim.lr", "nan"], "--optim.lr nan: must be a finite number above 0"),
        (["--data.crop-padding", "32"], "--data.crop-padding 32: must be from 0 to 31"),
    ],
)
def test_invalid_settings_stop_the_run_before_anything_is_written(tmp_path, capsys, flags, message):
    assert ex.main(tiny(tmp_path / "runs", "--run-name", "bad", *flags)) == 1
    assert message in one_line_error(capsys)
    assert not (tmp_path / "runs").exists()


def test_every_invalid_setting_is_named_in_the_one_line(tmp_path, capsys):
    flags = ["--epochs", "0", "--optim.lr", "inf", "--data.std", "0", "1", "1"]
    assert ex.main(tiny(tmp_path, *flags)) == 1
    err = one_line_error(capsys)
    assert "--epochs 0" in err and "--optim.lr inf" in err and "--data.std 0.0 1.0 1.0" in err


@pytest.mark.parametrize("name", ["../../x", "../x", "a/b", "..", ".", "", "/abs/x"])
def test_run_name_must_be_one_folder_inside_the_runs_dir(tmp_path, capsys, name):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    assert ex.main(tiny(work / "runs", "--run-name", name)) == 1
    assert f"--run-name {name!r}: must be a single folder name" in one_line_error(capsys)
    assert list(tmp_path.rglob("*")) == [tmp_path / "a", work]


def test_given_settings_are_the_typed_ones_even_with_the_preset_value():
    _, args = parse(["--preset", "paper", "--epochs", "25", "--no-data.flip"])
    assert args.given == {"preset", "epochs", "data.flip"}


@pytest.fixture(scope="module")
def one_cycle_run(tmp_path_factory) -> Path:
    """A finished 1-epoch run with the smoke preset's one-cycle schedule."""
    runs = tmp_path_factory.mktemp("one_cycle") / "runs"
    assert ex.main(tiny(runs, "--run-name", "r")) == 0
    return runs / "r"


@pytest.mark.train
def test_resume_refuses_flags_that_would_change_the_run_and_names_them(one_cycle_run, capsys):
    before = snapshot(one_cycle_run)
    resume = ["--run-name", "r", "--resume"]
    assert ex.main([*resume, "--runs-dir", str(one_cycle_run.parent), "--epochs", "5",
                    "--model.d-model", "64", "--seed", "3"]) == 1  # fmt: skip
    err = one_line_error(capsys)
    assert "--seed 3 (the run has 0), --model.d-model 64 (the run has 16)" in err
    assert "another --run-name" in err
    # --epochs alone may change, but not under a schedule laid out over the run's length.
    assert ex.main([*resume, "--runs-dir", str(one_cycle_run.parent), "--epochs", "5"]) == 1
    assert "--epochs 5: the one_cycle learning-rate schedule" in one_line_error(capsys)
    assert snapshot(one_cycle_run) == before
    # Repeating the run's own values changes nothing: the original command plus --resume works.
    assert ex.main(tiny(one_cycle_run.parent, *resume)) == 0
    assert "resuming" not in capsys.readouterr().out
    assert json.loads((one_cycle_run / "run.json").read_text()) == json.loads(before["run.json"])


@pytest.mark.train
def test_resume_applies_epochs_log_every_and_tta_and_says_so(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert ex.main(tiny(runs, "--run-name", "c", "--optim.schedule", "constant")) == 0
    capsys.readouterr()
    resume = ["--run-name", "c", "--runs-dir", str(runs), "--data-dir", str(DATA_DIR), "--resume"]
    assert ex.main([*resume, "--epochs", "2", "--tta"]) == 0
    out = capsys.readouterr().out
    assert f"resuming {runs / 'c'} with --epochs 2 (was 1), --tta (was False)" in out
    assert "epoch 2/2: train loss" in out and "with flip TTA" in out
    final = json.loads((runs / "c/final.json").read_text())
    assert final["epochs"] == 2 and final["steps"] == 8 and "tta_accuracy" in final
    info = json.loads((runs / "c/run.json").read_text())
    assert info["config"]["epochs"] == 2 and info["config"]["tta"]
    assert info["resumed_with"][0].endswith("--resume --epochs 2 --tta")
    assert ex.main(["publish", str(runs / "c"), "--out", str(tmp_path / "published")]) == 0
    readme = (tmp_path / "published/readme.md").read_text()
    commands = [portable_command(c) for c in (info["command"], info["resumed_with"][0])]
    assert "\n".join(commands) + "\n```" in readme
    # run.json now holds the new length, so a plain --resume continues the 2-epoch run.
    assert ex.main(resume) == 0
    assert ": train loss" not in capsys.readouterr().out
    assert ex.main([*resume, "--epochs", "1"]) == 1
    assert f"--epochs 1: {runs / 'c'} has already trained 2 epochs" in one_line_error(capsys)
    # A run.json edited to another model no longer fits the checkpoint: one line, not a traceback.
    info["config"]["model"]["d_model"] = 32
    (runs / "c/run.json").write_text(json.dumps(info))
    assert ex.main(resume) == 1
    assert "checkpoint.pt: does not fit this run's settings (" in one_line_error(capsys)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"{not json", "run.json: not valid JSON"),
        (b"\xff\xfe", "run.json: not valid JSON"),
        (b"[]", 'run.json: no "config" object'),
        (b'{"config": {"epochs": "many"}}', 'run.json: epochs: expected int, found "many"'),
        (b'{"config": {"model": {"d_model": 1.5}}}', "run.json: model.d_model: expected int"),
        (b'{"config": {"data": {"mean": [0.5]}}}', "run.json: data.mean: expected a list of 3"),
        (b'{"config": {"modle": {}}}', "run.json: unknown setting modle"),
        (b'{"config": {"epochs": 0}}', "run.json: --epochs 0: must be at least 1"),
    ],
)
def test_resume_reports_a_corrupt_run_json_in_one_line(tmp_path, capsys, content, message):
    (tmp_path / "r").mkdir()
    (tmp_path / "r/run.json").write_bytes(content)
    assert ex.main(["--run-name", "r", "--runs-dir", str(tmp_path), "--resume"]) == 1
    assert message in one_line_error(capsys)
    assert [p.name for p in (tmp_path / "r").iterdir()] == ["run.json"]


@pytest.mark.train
def test_full_disk_keeps_the_last_good_checkpoint_and_leaves_no_temporary_file(
    tmp_path, capsys, monkeypatch
):
    """The disk fills up while the second epoch's checkpoint is written: `torch.save` has
    written part of it when the write fails with ENOSPC, as it would on a real full disk."""
    real_save, saves = torch.save, []

    def save_until_the_disk_is_full(obj, f, *args, **kwargs):
        saves.append(obj["epoch"])
        if len(saves) == 1:
            return real_save(obj, f, *args, **kwargs)
        f.write(b"half a checkpoint")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", save_until_the_disk_is_full)
    args = tiny(tmp_path, "--run-name", "full", "--epochs", "2")
    assert ex.main(args) == 1
    err = one_line_error(capsys)
    assert f"{tmp_path / 'full/checkpoint.pt'}: cannot save (No space left on device)" in err
    assert "the last good checkpoint is kept; continue from it with --resume" in err
    run_dir = tmp_path / "full"
    left = sorted(p.name for p in run_dir.iterdir())
    assert left == ["checkpoint.pt", "metrics.jsonl", "run.json", "run.lock"]  # no .tmp file
    assert saves == [1, 2] and tr.load_checkpoint(run_dir / "checkpoint.pt")["epoch"] == 1
    monkeypatch.undo()  # space freed
    assert ex.main([*args, "--resume"]) == 0
    assert json.loads((run_dir / "final.json").read_text())["epochs"] == 2


def test_a_runs_dir_that_cannot_be_created_is_one_line(tmp_path, capsys):
    """A file where the runs folder should be: mkdir fails with ENOTDIR, whoever runs the test
    (a read-only folder would not stop root, see the next test)."""
    (tmp_path / "file").write_text("")
    assert ex.main(tiny(tmp_path / "file/runs", "--run-name", "r")) == 1
    assert f"{tmp_path / 'file/runs/r'}: Not a directory" in one_line_error(capsys)


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_runs_dir_is_one_line(tmp_path, capsys):
    runs = tmp_path / "runs"
    runs.mkdir(mode=0o555)
    try:
        assert ex.main(tiny(runs, "--run-name", "r")) == 1
        assert f"{runs / 'r'}: Permission denied" in one_line_error(capsys)
        assert list(runs.iterdir()) == []
    finally:
        runs.chmod(0o755)
