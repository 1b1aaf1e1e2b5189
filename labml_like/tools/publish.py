"""
---
title: Publishing a run
summary: >
  Turn a finished run into a page of the site: its curves, its numbers, the confusion matrix and a
  command that reproduces it.
---

# Publishing a run

`publish RUN_DIR` turns a finished run into a page of the site: the curves, the metrics, the
confusion matrix and a `readme.md` that says how the numbers were made. A number without its
command, hardware and commit cannot be checked, so those are not optional. The run's own files
are copied unchanged, so the page can always be made again from them:

```bash
python -m labml_like.conv_mixer.experiment publish docs_src/results/conv_mixer --note "..."
```
"""

import json
import shlex
from pathlib import Path

from labml_like.experiments.trainer import TrainingError, write_atomically
from labml_like.tools.plots import confusion_svg, plot_run

RUN_FILES = ["metrics.jsonl", "final.json", "run.json"]


def confusion_table(confusion: list[list[int]], classes: list[str]) -> str:
    """A Markdown table: one row per true class, one column per predicted class."""
    short = [c[:5] for c in classes]
    lines = [
        "| true \\ predicted | " + " | ".join(short) + " | correct |",
        "|---" * (len(classes) + 2) + "|",
    ]
    for i, (name, row) in enumerate(zip(classes, confusion, strict=True)):
        cells = [f"**{v}**" if j == i else str(v) for j, v in enumerate(row)]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {row[i] / max(sum(row), 1):.0%} |")
    return "\n".join(lines)


# The recorded command names folders of the machine it ran on. The page shows it with the data
# folder as `$CIFAR10_DIR` and without `--runs-dir`, which changes where the files go, not what
# they hold; `run.json` keeps the command exactly as it ran.
DATA_FLAG, DROPPED_FLAGS = "--data-dir", ("--runs-dir",)


def portable_command(command: str, width: int = 72) -> str:
    r"""`command` without this machine's folders, wrapped with `\` to lines of about `width`."""
    words, kept = shlex.split(command), []
    while words:
        word = words.pop(0)
        name, has_value, _ = word.partition("=")
        if name in DROPPED_FLAGS or name == DATA_FLAG:
            if not has_value and words:
                words.pop(0)  # the flag's value
            if name == DATA_FLAG:
                kept += [DATA_FLAG, '"$CIFAR10_DIR"']
            continue
        kept.append(shlex.quote(word))
    # A flag (`--name`) and its values stay on one line; lines break between flags.
    groups: list[list[str]] = []
    for word in kept:
        if word.startswith("--") or not groups:
            groups.append([word])
        else:
            groups[-1].append(word)
    lines, line = [], ""
    for group in map(" ".join, groups):
        if line and len(line) + len(group) + 1 > width:
            lines.append(line)
            line = "    " + group
        else:
            line = f"{line} {group}" if line else group
    return " \\\n".join([*lines, line])


def results_readme(info: dict, final: dict, note: str) -> str:
    """The page: the note, a table of the run, the command, the curves and the matrix."""
    config = info["config"]
    m = config["model"]
    model = (
        f"ConvMixer-{m['d_model']}/{m['n_layers']}, kernel {m['kernel_size']}, patch "
        f"{m['patch_size']} ({info['parameters']:,} parameters)"
    )
    minutes, seconds = divmod(round(final["elapsed_s"]), 60)
    processes = info["processes"]
    rows = [
        ("test accuracy", f"{final['test_accuracy']:.2%}"),
        *([("with flip TTA", f"{final['tta_accuracy']:.2%}")] if "tta_accuracy" in final else []),
        ("test loss", f"{final['test_loss']:.4f}"),
        ("model", model),
        ("preset", config["preset"]),
        ("data", f"{info['train_images']:,} training and {info['test_images']:,} test images"),
        ("epochs / steps", f"{final['epochs']} / {final['steps']:,}"),
        ("wall time", f"{minutes} min {seconds} s (training and evaluation)"),
        ("hardware", f"{info['hardware']}; {processes} process{'es' * (processes != 1)}"),
        ("torch", info["torch"]),
        ("git commit", info["git_commit"]),
        ("started", info["started"]),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    # A run resumed with changes (more epochs, say) is reproduced by its commands in order.
    commands = "\n".join(map(portable_command, [info["command"], *info.get("resumed_with", [])]))
    return f"""---
title: "ConvMixer on CIFAR-10: reference run"
summary: The published reference run of the ConvMixer experiment, with its exact command.
---

# ConvMixer on CIFAR-10: reference run

{note}

| property | value |
|---|---|
{table}

Reproduce it with the command below, where `$CIFAR10_DIR` is the folder that holds
`cifar-10-batches-py`; without `--data-dir`, the data comes from `$LABML_LIKE_CIFAR10` or is
downloaded. [run.json](run.json) has the command exactly as it ran.

```bash
{commands}
```

![Loss and accuracy by epoch, training and test](curves.svg)

## Confusion matrix

Rows are the true classes, columns the predicted ones (first five letters); the diagonal, in
bold, counts correct answers.

{confusion_table(final["confusion"], final["classes"])}

Raw data: [metrics.jsonl](metrics.jsonl) (one row per logged step and per epoch),
[final.json](final.json) and [run.json](run.json) (the full configuration).
"""


def publish(run_dir: Path, out_dir: Path, note: str) -> Path:
    """
    Copy the run's files to `out_dir` and write the page there. The curves and the confusion
    matrix are drawn again from the metrics, so a run folder that is itself a published page
    (`out_dir` = `run_dir`) publishes in place.
    """
    for name in RUN_FILES:
        if not (run_dir / name).is_file():
            raise TrainingError(
                f"{run_dir / name}: not found; only a finished run can be published"
            )
    info = json.loads((run_dir / "run.json").read_text())
    final = json.loads((run_dir / "final.json").read_text())
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        if (out_dir / name).resolve() != (run_dir / name).resolve():
            write_atomically(out_dir / name, (run_dir / name).read_bytes())
    plot_run(run_dir, out_dir / "curves.svg")
    write_atomically(out_dir / "confusion.svg", confusion_svg(final["confusion"], final["classes"]))
    readme = out_dir / "readme.md"
    write_atomically(readme, results_readme(info, final, note))
    return readme
