"""The run's plots and its published page (`labml_like.tools.plots`, `labml_like.tools.publish`),
on the published reference run's own files."""

import json
import re
import shlex
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from labml_like.experiments.trainer import TrainingError
from labml_like.tools.plots import confusion_svg, nice_ticks, plot_run, tick_label
from labml_like.tools.publish import portable_command, publish

REPO = Path(__file__).resolve().parents[1]
PUBLISHED = REPO / "docs_src/results/conv_mixer"
SVG = "{http://www.w3.org/2000/svg}"


def texts(svg: str) -> list[str]:
    """The words of every `<text>`; each must be a plain element, with no markup inside."""
    root = ET.fromstring(svg)
    found = []
    for element in root.iter(f"{SVG}text"):
        assert len(element) == 0, "a <text> with elements inside cannot be translated as a whole"
        found.append(element.text or "")
    return found


@pytest.mark.parametrize(
    "lo, hi, expected",
    [
        (0.51, 2.10, [0.5, 1.0, 1.5, 2.0, 2.5]),
        (0.0, 0.8106, [0.0, 0.25, 0.5, 0.75, 1.0]),
        (0, 5, [0, 1, 2, 3, 4, 5]),
        (0, 2, [0.0, 0.5, 1.0, 1.5, 2.0]),
        (3.0, 3.0, [2.5, 2.75, 3.0, 3.25, 3.5]),  # a flat line gets a range around it
    ],
)
def test_ticks_are_round_and_cover_the_range(lo, hi, expected):
    ticks = nice_ticks(lo, hi, count=6 if hi == 5 else 5)
    assert ticks == expected
    assert ticks[0] <= lo and ticks[-1] >= hi


def test_tick_labels_have_the_decimals_their_step_needs():
    assert [tick_label(v, 0.5, False) for v in (0.5, 1.0, 2.5)] == ["0.5", "1.0", "2.5"]
    assert [tick_label(v, 0.25, True) for v in (0.0, 0.75, 1.0)] == ["0%", "75%", "100%"]
    assert tick_label(0.75, 0.25, False) == "0.75" and tick_label(3, 1, False) == "3"


def test_curves_have_round_ticks_and_follow_the_page_colour(tmp_path):
    svg = plot_run(PUBLISHED, tmp_path / "curves.svg").read_text()
    words = texts(svg)
    # The loss of the reference run goes from 2.10 down to 0.51; its accuracy up to 81%.
    assert [w for w in words if re.fullmatch(r"\d\.\d", w)] == ["0.5", "1.0", "1.5", "2.0", "2.5"]
    assert [w for w in words if w.endswith("%")] == ["0%", "25%", "50%", "75%", "100%"]
    assert words.count("epoch") == 2 and {"loss", "accuracy", "train", "test"} <= set(words)
    # No painted background and no fixed text colour: the page's theme shows through.
    assert "#fff" not in svg.lower() and 'fill="white"' not in svg
    assert 'fill="currentColor"' in svg.split(">")[0]
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == "Loss and accuracy by epoch, for training and test"


def test_the_confusion_picture_shows_every_count_in_the_page_colour():
    final = json.loads((PUBLISHED / "final.json").read_text())
    svg = confusion_svg(final["confusion"], final["classes"])
    counts = [int(w) for w in texts(svg) if w.isdigit()]
    assert counts == [v for row in final["confusion"] for v in row]
    assert "#fff" not in svg.lower() and "#222" not in svg


def test_a_broken_metrics_file_is_named_with_its_line(tmp_path):
    (tmp_path / "metrics.jsonl").write_text('{"split": "train", "epoch": 1}\n{oops\n')
    with pytest.raises(TrainingError, match=r"metrics.jsonl:2: not a JSON object"):
        plot_run(tmp_path)


def test_the_shown_command_is_portable_and_fits_the_code_column():
    ran = (
        "python -m labml_like.conv_mixer.experiment --preset laptop --data-dir /work/data "
        "--runs-dir=/work/runs --run-name laptop --data.mean 0.5 -0.5 0.5 --optim.lr 0.01"
    )
    shown = portable_command(ran)
    assert "/work" not in shown and "--runs-dir" not in shown
    assert all(len(line) <= 76 for line in shown.splitlines())
    assert shlex.split(shown.replace("\\\n", " ")) == [
        "python", "-m", "labml_like.conv_mixer.experiment", "--preset", "laptop",
        "--data-dir", "$CIFAR10_DIR", "--run-name", "laptop", "--data.mean", "0.5", "-0.5",
        "0.5", "--optim.lr", "0.01",
    ]  # fmt: skip


def test_publishing_the_stored_run_again_gives_the_published_page(tmp_path):
    """The page in the repository is what the code makes of the run's stored files."""
    run = tmp_path / "run"
    shutil.copytree(PUBLISHED, run)
    readme = (PUBLISHED / "readme.md").read_text()
    note = readme.split("\n\n")[2]  # the paragraph after the title
    publish(run, tmp_path / "out", note)
    for name in ("readme.md", "curves.svg", "confusion.svg", "run.json", "final.json"):
        assert (tmp_path / "out" / name).read_bytes() == (PUBLISHED / name).read_bytes(), name
    # In place, as the repository's page is made: the run's own files stay as they were.
    before = {p.name: p.read_bytes() for p in run.iterdir()}
    publish(run, run, note)
    assert {p.name: p.read_bytes() for p in run.iterdir()} == before


def test_the_published_page_has_a_real_header_and_the_matrix_once():
    readme = (PUBLISHED / "readme.md").read_text()
    headers = [line for line in readme.splitlines() if line.startswith("| ") and "---" not in line]
    assert "| property | value |" in headers and "| | |" not in readme
    assert readme.count("| true \\ predicted |") == 1 and "](confusion.svg)" not in readme
    assert "/work/" not in readme and '--data-dir "$CIFAR10_DIR"' in readme
    code = readme.split("```bash\n")[1].split("```")[0]
    assert all(len(line) <= 76 for line in code.splitlines())


def test_publishing_an_unfinished_run_names_the_missing_file(tmp_path):
    (tmp_path / "run.json").write_text("{}")
    (tmp_path / "metrics.jsonl").write_text("")
    with pytest.raises(TrainingError, match=r"final.json: not found; only a finished run"):
        publish(tmp_path, tmp_path / "out", "")
