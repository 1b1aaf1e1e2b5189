"""PO files written as GNU gettext writes them: what `msgcat` (and so Poedit) makes of a file that
site_builder wrote is that file, byte for byte."""

import shutil
import subprocess
from pathlib import Path

import polib
import pytest

from site_builder.pofile import format_catalog

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("msgcat") is None, reason="GNU gettext not installed")


def msgcat(path: Path) -> str:
    result = subprocess.run(["msgcat", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout


def committed_catalogs() -> list[Path]:
    found = sorted((REPO / "docs_src" / "locale").rglob("*.po*"))
    return found + sorted((REPO / "site_builder" / "locale").rglob("*.po"))


@pytest.mark.parametrize("path", committed_catalogs(), ids=lambda p: str(p.relative_to(REPO)))
def test_committed_catalogs_are_as_msgcat_writes_them(path):
    assert msgcat(path) == path.read_text(encoding="utf-8")


def awkward_catalog() -> polib.POFile:
    catalog = polib.POFile()
    catalog.header = "A header comment.\nOn two lines."
    catalog.metadata = {
        "Project-Id-Version": "demo 1.0",
        "Language": "zh",
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
    }
    url = "https://example.org/a/rather/long/path/to/somewhere/with-a-hyphenated-name.html"
    texts = [
        f"See [the page]({url}) and [another one](../other/page.html#anchor), or `a/b/c.d`.",
        'Tabs\tand "quotes" and a backslash \\ and $\\frac{a}{b}$ in a string that is long.',
        "本页是论文 [Patches Are All You Need?](https://arxiv.org/abs/2201.09792) 的 PyTorch 实现，"
        "每一步都配有注解（$p \\times p$ 的图像块、`Conv2d`）。一边读注解，一边看代码。" * 2,
        "このページは、論文を PyTorch で実装したもので、すべてのステップに解説を付けています。"
        "「チャネル」と『パッチ』：ー々ぁっャ、。" * 2,
        "A list:\n\n* one item that is long enough to need wrapping at the end of the line here;\n"
        "* two\n",
    ]
    for number, text in enumerate(texts):
        occurrences = [
            (f"labml_like/some/rather/long/module_{n}.py", str(n * 100)) for n in range(5)
        ]
        catalog.append(
            polib.POEntry(
                msgid=text,
                msgstr=texts[-1 - number],
                comment=f"docstring of Something.method_{number}",
                tcomment="A translator's note\nover two lines." if number == 1 else "",
                occurrences=occurrences,
                flags=["fuzzy"] if number == 2 else [],
                previous_msgid=texts[0] if number == 2 else None,
            )
        )
    catalog.append(polib.POEntry(msgctxt="title", msgid="Short", msgstr="短"))
    gone = polib.POEntry(msgid=texts[1] + " Gone.", msgstr=texts[2], flags=["fuzzy"])
    gone.previous_msgid, gone.obsolete = texts[0], True
    catalog.append(gone)
    return catalog


def test_the_writer_lays_out_awkward_strings_as_msgcat_does(tmp_path):
    path = tmp_path / "awkward.po"
    path.write_text(format_catalog(awkward_catalog()), encoding="utf-8")
    assert msgcat(path) == path.read_text(encoding="utf-8")


def test_entries_keep_the_layout_of_the_file_they_replace(tmp_path):
    catalog = awkward_catalog()
    ours = format_catalog(catalog)
    folded = ours.replace('msgstr "短"', 'msgstr ""\n"短"')  # how another editor may write it
    catalog.append(polib.POEntry(msgid="New.", msgstr="新。"))
    assert format_catalog(catalog, folded) == folded + '\nmsgid "New."\nmsgstr "新。"\n'
