"""Every page as a notebook: made from the same source as the page, valid nbformat 4, the same
bytes from the same source, written only when it changes, linked from its page, and runnable."""

import ast
import json
import os
import posixpath
import re
from pathlib import Path

import nbformat
import pytest
from conftest import make_config, write_tree
from nbclient import NotebookClient

from site_builder.build import PageRecord, build_site
from site_builder.links import Link, check_notebook_links
from site_builder.model import BuildError
from site_builder.notebook import module_notebook
from site_builder.parse import parse_module
from site_builder.site import Meta

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("LABML_LIKE_CIFAR10") or REPO.parent / "shared/data/cifar10")

# A module with what a notebook must treat apart: relative imports, a body that is only a
# docstring, commentary inside a class, a `python notebook` fence and the script's entry point.
ODD = '''"""
---
title: Odd Corners
summary: What a notebook treats apart.
---
Uses [the layer](layer.html#Layer), [the notes](notes.html) and ![a diagram](diagram.png).
"""

from . import layer as layer_module
from .layer import Layer


def declared():
    """
    Only a docstring: in the notebook the body would be empty.
    """


class Holder:
    """
    Holds a [layer](layer.html).
    """

    def __init__(self):
        # Four features, as in $d = 4$.
        self.layer = Layer(4)


# ## Trying it
#
# The cell below runs only in the notebook.
#
# ```python notebook
# print("scaled", Holder().layer.forward(8.0), declared(), layer_module.Layer is Layer)
# ```

# The command line: shown in the notebook, never run there.
if __name__ == "__main__":
    raise SystemExit("the command line ran")
'''


def read(path: Path) -> nbformat.NotebookNode:
    notebook = nbformat.reads(path.read_text(encoding="utf-8"), as_version=nbformat.NO_CONVERT)
    nbformat.validate(notebook)
    return notebook


def sources(notebook, kind: str) -> list[str]:
    return [cell.source for cell in notebook.cells if cell.cell_type == kind]


def without_comments(code: str) -> str:
    return "\n".join(line for line in code.split("\n") if not line.strip().startswith("#"))


def run(path: Path, cwd: Path, timeout: int) -> nbformat.NotebookNode:
    """Execute a notebook top to bottom in a fresh kernel started in `cwd`."""
    notebook = nbformat.read(path, as_version=4)
    client = NotebookClient(
        notebook, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}
    )
    client.execute()
    return notebook


def output_text(cell) -> str:
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.fixture
def odd(tiny):
    write_tree(tiny.root, {"pkg/models/odd.py": ODD})
    return tiny


WITH_CODE = ["models/deep/inner/module.html", "models/layer.html", "models/odd.html"]


def test_every_page_with_code_has_a_valid_notebook_made_from_its_sections(odd):
    build_site(odd)
    pages = sorted(p.relative_to(odd.out).as_posix() for p in odd.out.rglob("*.html"))
    pages = [p for p in pages if p != "404.html"]
    assert len(pages) == 7
    notebooks = sorted(p.relative_to(odd.out).as_posix() for p in odd.out.rglob("*.ipynb"))
    assert notebooks == [page.replace(".html", ".ipynb") for page in WITH_CODE]
    for page in pages:  # a page of text only offers no notebook
        has_link = ".ipynb" in (odd.out / page).read_text(encoding="utf-8")
        assert has_link == (page in WITH_CODE), page
    for page in WITH_CODE:
        notebook = read((odd.out / page).with_suffix(".ipynb"))
        assert notebook.nbformat == 4 and notebook.nbformat_minor >= 5
        assert notebook.metadata.kernelspec.name == "python3"
        ids = [cell.id for cell in notebook.cells]
        assert len(set(ids)) == len(ids)
        for cell in notebook.cells:
            if cell.cell_type == "code":
                assert cell.execution_count is None and cell.outputs == []
                ast.parse(cell.source)  # every code cell is whole Python
            assert cell.source.strip()

    layer = read(odd.out / "models/layer.ipynb")
    markdown = sources(layer, "markdown")
    assert markdown[0].startswith("# A Layer\n\nThe layer computes $y = W x + b$.")
    assert markdown[1] == '<a id="Layer"></a>\nA layer with a weight $W$ and a bias $b$.'
    assert [cell.cell_type for cell in layer.cells] == ["markdown", "code", "markdown", "code"]
    assert sources(layer, "code") == [
        "import math",
        "class Layer:\n"
        "    def __init__(self, width: int):\n"
        "        # Keep the width: $d$ features.\n"
        "        self.width = width\n"
        "\n"
        "    def forward(self, x):\n"
        "        # Scale by $\\frac{1}{\\sqrt{d}}$.\n"
        "        return x / math.sqrt(self.width)",
    ]
    assert layer.metadata.site_builder.generated_from == "pkg/models/layer.py"


def test_a_comment_before_a_docstring_and_one_after_it(tmp_path):
    """The shape of `asyncio/tasks.py` (an old `# type:` comment before the docstring, a comment
    after it): the method's cell keeps the first as code and both texts as comments."""
    path = tmp_path / "typed.py"
    path.write_text(
        "class Task:\n"
        "    def wait(self, timeout=None):\n"
        "        # type: (float) -> bool\n"
        '        """Wait."""\n'
        "        # Poll once.\n"
        "        return True\n"
    )
    notebook = nbformat.reads(
        module_notebook(parse_module(path, "typed.py"), lambda href: None).data.decode(), 4
    )
    nbformat.validate(notebook)
    assert sources(notebook, "code") == [
        "class Task:\n"
        "    # Wait.\n"
        "    def wait(self, timeout=None):\n"
        "        # type: (float) -> bool\n"
        "        # Poll once.\n"
        "        return True"
    ]


def test_a_title_is_text_in_the_notebook(tmp_path):
    """A title (a translator's too) is shown as text: HTML in it is escaped, never run."""
    path = tmp_path / "hostile.py"
    path.write_text('"""\n---\ntitle: <img src=x onerror=alert(1)> & co\n---\n\nIntro.\n"""\n')
    notebook = nbformat.reads(
        module_notebook(parse_module(path, "hostile.py"), lambda href: None).data.decode(), 4
    )
    [heading, *_] = sources(notebook, "markdown")
    assert heading.startswith("# &lt;img src=x onerror=alert(1)&gt; &amp; co")


def test_links_go_to_notebooks_and_other_files_to_the_site(odd):
    build_site(odd)
    out = odd.out
    layer = "\n".join(sources(read(out / "models/layer.ipynb"), "markdown"))
    # Pages of text only have no notebook: a link to one goes to the page on the site.
    assert "[the notes](https://tiny.example.org/models/notes.html)" in layer
    assert "[home](https://tiny.example.org/)" in layer
    deep = "\n".join(sources(read(out / "models/deep/inner/module.ipynb"), "markdown"))
    assert "[the layer](../../layer.ipynb)" in deep
    # An image has no notebook: it comes from the site, so it shows wherever the notebook is.
    odd_notebook = read(out / "models/odd.ipynb")
    text = "\n".join(sources(odd_notebook, "markdown"))
    assert "[the layer](layer.ipynb#Layer)" in text
    assert "[the notes](https://tiny.example.org/models/notes.html)" in text
    assert "Holds a [layer](layer.ipynb)." in text
    assert "![a diagram](https://tiny.example.org/models/diagram.png)" in text


def test_the_notebook_runs_what_the_module_defines_and_not_its_command_line(odd, monkeypatch):
    build_site(odd)
    notebook = read(odd.out / "models/odd.ipynb")
    code = sources(notebook, "code")
    assert code[0].split("\n") == [
        "from pkg.models import layer as layer_module",
        "from pkg.models.layer import Layer",
    ]
    assert code[1].startswith("def declared():\n    ...")
    assert "        # Four features, as in $d = 4$.\n        self.layer = Layer(4)" in code[2]
    assert code[-1].startswith('print("scaled"')  # the fence, as a cell of its own
    assert not any("__main__" in cell for cell in code)
    markdown = sources(notebook, "markdown")[-1]
    assert '```python\nif __name__ == "__main__":\n    raise SystemExit' in markdown

    monkeypatch.setenv("PYTHONPATH", str(odd.root))  # where `pkg` is
    executed = run(odd.out / "models/odd.ipynb", odd.root, timeout=300)
    last = [cell for cell in executed.cells if cell.cell_type == "code"][-1]
    assert output_text(last) == "scaled 4.0 None True\n"


def test_the_same_source_gives_the_same_bytes(odd, tmp_path):
    first = make_config(odd.root, out=tmp_path / "a" / "site", languages=("en", "zh"))
    second = make_config(odd.root, out=tmp_path / "b" / "site", languages=("en", "zh"))
    build_site(first)
    build_site(second)
    notebooks = sorted(p.relative_to(first.out) for p in first.out.rglob("*.ipynb"))
    assert len(notebooks) == 2 * len(WITH_CODE)
    for rel in notebooks:
        assert (first.out / rel).read_bytes() == (second.out / rel).read_bytes(), rel
        read(first.out / rel)  # valid nbformat 4 (the build does not validate them itself)
    text = (first.out / "models/layer.ipynb").read_text()
    assert '"execution_count": null' in text and '"outputs": []' in text
    assert not re.search(r"20\d\d-\d\d-\d\d", text)  # no timestamps


def test_an_unchanged_module_does_not_rewrite_its_notebook(odd):
    build_site(odd)
    notebook = odd.out / "models/layer.ipynb"
    before = notebook.stat()
    odd_module = odd.source / "models/odd.py"
    odd_module.write_text(odd_module.read_text().replace("# The command line", "# The CLI"))
    report = build_site(odd)
    assert "models/odd.ipynb" in report.written
    assert "models/layer.ipynb" not in report.written
    after = notebook.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)

    layer = odd.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    report = build_site(odd)
    assert "models/layer.ipynb" in report.written
    assert "Remember the width" in notebook.read_text()
    assert build_site(odd).written == []


def test_every_page_links_its_notebook_for_download_without_javascript(odd):
    write_tree(odd.root, {"docs/contributing.md": "---\ntitle: Contributing\n---\nHelp.\n"})
    build_site(odd)
    layer = (odd.out / "models/layer.html").read_text()
    link = re.search(r'<a href="layer\.ipynb"[^>]*>Notebook</a>', layer)
    assert link and ' download="layer.ipynb"' in link.group(0)
    assert 'type="application/x-ipynb+json"' in link.group(0)
    header = re.search(r'<p class="view-code">(.*?)</p>', layer).group(1)
    assert header.index("View code") < header.index("Notebook")
    module = (odd.out / "models/deep/inner/module.html").read_text()
    assert '<a href="module.ipynb" download="module.ipynb"' in module
    for page in WITH_CODE:
        notebook = posixpath.basename(page).replace(".html", ".ipynb")
        assert f'<a href="{notebook}" download=' in (odd.out / page).read_text(), page


def test_a_page_link_to_a_missing_notebook_fails_the_build(odd):
    notes = odd.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nGet [the notebook](nowhere.ipynb).\n")
    with pytest.raises(BuildError, match=r"notes\.md:7: broken link 'nowhere\.ipynb'"):
        build_site(odd)


def test_notebook_links_are_checked_and_not_reported_twice():
    record = PageRecord(Meta("t", ""), "d", set(), [], [], [], notebook="n")
    record.notebook_links = [
        ("gone.ipynb", Link("gone.ipynb#x", "pkg/a.py", 3)),
        ("b.ipynb", Link("b.ipynb", "pkg/a.py", 4)),
    ]
    outputs = {"a.html": None, "a.ipynb": None, "b.ipynb": None}
    problems = check_notebook_links({"a.html": record}, outputs, [])
    assert [(p.path, p.line, p.message) for p in problems] == [
        ("pkg/a.py", 3, "broken link 'gone.ipynb#x': no notebook at that path")
    ]
    already = [BuildError("pkg/a.py", 3, "broken link 'gone.html': no page or file at that path")]
    assert check_notebook_links({"a.html": record}, outputs, already) == []


# ------------------------------------------------------------------------- the real notebooks


def test_every_page_of_the_real_site_with_code_has_a_valid_notebook(site_dir):
    pages = [p for p in site_dir.rglob("*.html") if p.name != "404.html"]
    pages = [p for p in pages if "pagefind" not in p.parts]
    code_column = re.compile(r'<div class="code[ "][^>]*><pre')
    with_code = [p for p in pages if code_column.search(p.read_text(encoding="utf-8"))]
    assert len(with_code) >= 12 and len(pages) >= 18
    assert {p.with_suffix(".ipynb") for p in with_code} == set(site_dir.rglob("*.ipynb"))
    for page in with_code:
        notebook = read(page.with_suffix(".ipynb"))
        for code in sources(notebook, "code"):
            ast.parse(code)


def test_a_translated_notebook_has_the_same_code_and_translated_commentary(site_dir):
    english = read(site_dir / "conv_mixer/index.ipynb")
    chinese = read(site_dir / "zh/conv_mixer/index.ipynb")
    assert [c.cell_type for c in english.cells] == [c.cell_type for c in chinese.cells]
    assert [c.id for c in english.cells] == [c.id for c in chinese.cells]
    code_en, code_zh = sources(english, "code"), sources(chinese, "code")
    assert list(map(without_comments, code_en)) == list(map(without_comments, code_zh))
    assert code_en != code_zh  # the comments in the cells are translated too
    assert "# * `d_model` is $h$" in code_en[1] and "# * `d_model` 即 $h$" in code_zh[1]
    markdown_zh = sources(chinese, "markdown")
    assert markdown_zh[0].startswith("# ConvMixer：")
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in markdown_zh)
    assert "$$z'_l = \\mathrm{BN}" in markdown_zh[1]  # math stays TeX, for Jupyter to render
    assert "](../experiments/trainer.ipynb)" in "\n".join(markdown_zh)


@pytest.mark.browser
def test_the_notebook_link_downloads_the_notebook_with_javascript_off(browser, site_url):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    try:
        page = context.new_page()
        page.goto(site_url + "zh/conv_mixer/index.html")
        link = page.get_by_role("link", name="Jupyter 笔记本")
        assert link.get_attribute("title") == "将本页下载为 Jupyter 笔记本"
        with page.expect_download() as started:
            link.click()
        download = started.value
        assert download.suggested_filename == "conv_mixer.ipynb"
        notebook = nbformat.reads(Path(download.path()).read_text(encoding="utf-8"), as_version=4)
        nbformat.validate(notebook)
        assert notebook.cells[0].source.startswith("# ConvMixer：")
    finally:
        context.close()


@pytest.mark.slow
def test_the_model_notebook_runs_and_ends_with_convmixer_256_8(site_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    notebook = run(site_dir / "conv_mixer/index.ipynb", tmp_path, timeout=600)
    last = notebook.cells[-1]
    assert last.cell_type == "code" and last.source.startswith("torch.manual_seed(0)")
    printed = output_text(last)
    # Each part's output shape and parameter count, as in the page's table.
    assert re.search(r"images +\[4, 3, 32, 32\]", printed)
    assert re.search(r"patch embeddings +\[4, 256, 16, 16\] +3,840\n", printed)
    assert len(re.findall(r"layer \d +\[4, 256, 16, 16\] +73,472\n", printed)) == 8
    assert re.search(r"head +\[4, 10\] +2,570\n", printed)
    assert re.search(r"ConvMixer-256/8 +594,186 parameters", printed)
    # The receptive field map: a 9 x 9 window of non-zero gradients on a 16 x 16 grid.
    window_row = ". " * 4 + "# " * 9 + ". " * 2 + "."
    assert printed.count(window_row + "\n") == 9
    assert "gradient non-zero exactly in the predicted window: True" in printed


@pytest.mark.train
def test_the_experiment_notebook_trains_the_smoke_preset_offline(site_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    monkeypatch.setenv("LABML_LIKE_CIFAR10", str(DATA_DIR))
    # The smoke run takes about half a minute on an idle laptop; the limit is for a busy machine.
    notebook = run(site_dir / "conv_mixer/experiment.ipynb", tmp_path, timeout=1800)
    last = notebook.cells[-1]
    assert "--no-download" in last.source and "parse_train_arguments" in last.source
    accuracy = re.search(r"test accuracy (\d+\.\d+)%", output_text(last))
    assert accuracy and float(accuracy.group(1)) > 10  # better than chance
    shown = [o for o in last.outputs if o.output_type == "execute_result"]
    assert shown and "<svg" in shown[0].data["image/svg+xml"]
    (run_dir,) = (tmp_path / "runs").iterdir()
    run_info = json.loads((run_dir / "run.json").read_text())
    assert run_info["config"]["preset"] == "smoke" and run_info["train_images"] == 5000
    assert (run_dir / "curves.svg").is_file()
