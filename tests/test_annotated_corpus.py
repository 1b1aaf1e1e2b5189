"""A package written the way large annotated corpora are (tests/fixtures/annotated_corpus): plain
docstrings full of TeX, other tools' front-matter keys, readme.md pages, images in a separate docs
tree, deep nesting, links between pages and three broken ones. See the fixture's README.md."""

import contextlib
import io
import re
from pathlib import Path

import nbformat
import pytest
from conftest import snapshot

from site_builder.cli import main
from site_builder.paths import page_url
from site_builder.tex import KatexRenderer

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "annotated_corpus"
PACKAGE = FIXTURE / "papers"
BROKEN = [
    "activations/soft_bins/experiment.py:12: missing image 'loss_curve.png'",
    "optimizers/adam.py:49: broken link '#BiasCorrection': no id 'BiasCorrection' in this page",
    "transformers/attention/rotary/__init__.py:20: broken link 'benchmark.html'",
]
CONTROL_CHARACTERS = re.compile("[\x07\x08\x0b\x0c]")


def build(out: Path) -> list[str]:
    return ["build", "--source", str(PACKAGE), "--docs", str(FIXTURE / "docs"), "--out", str(out)]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The corpus built once with --keep-going: (site folder, exit status, stderr lines)."""
    folder = tmp_path_factory.mktemp("annotated")
    before = snapshot(FIXTURE)
    err = io.StringIO()
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
    ):
        patch.chdir(folder)
        code = main([*build(folder / "site"), "--keep-going"])
    assert snapshot(FIXTURE) == before, "the build wrote into its source"
    return folder / "site", code, err.getvalue().splitlines()


def pages() -> list[str]:
    return sorted(
        page_url(p.relative_to(PACKAGE).as_posix())
        for p in PACKAGE.rglob("*")
        if p.suffix in (".py", ".md")
    )


def test_keep_going_builds_every_page_and_exits_zero_with_warnings(built):
    site, code, err = built
    assert code == 0, err
    assert len(pages()) == 13 and max(url.count("/") for url in pages()) == 3
    for url in pages():
        assert (site / url).is_file(), url
        if '<div class="code"><pre' in (site / url).read_text(encoding="utf-8"):
            assert (site / url).with_suffix(".ipynb").is_file(), url  # text only: none
    notebooks = sorted(site.rglob("*.ipynb"))
    assert len(notebooks) >= 5
    for path in notebooks:
        notebook = path.read_text(encoding="utf-8")
        nbformat.validate(nbformat.reads(notebook, as_version=nbformat.NO_CONVERT))
    assert not any(line.startswith("error:") or "Traceback" in line for line in err), err
    assert err[-1] == f"{len(err) - 1} warning(s)"


def test_broken_links_are_warnings_with_file_and_line(built):
    _, _, err = built
    problems = [line for line in err if "broken link" in line or "missing image" in line]
    assert len(problems) == len(BROKEN), problems
    for expected, line in zip(BROKEN, problems, strict=True):
        assert line.startswith(f"warning: {PACKAGE}/{expected}"), line


def test_other_tools_front_matter_keys_are_warnings(built):
    site, _, err = built
    for where, key in [
        ("activations/__init__.py:5", "redirect"),
        ("optimizers/adam.py:5", "redirect"),
        ("activations/soft_bins/__init__.py:7", "tags"),
        ("optimizers/readme.md:4", "weight"),
    ]:
        assert f"warning: {PACKAGE}/{where}: front matter key '{key}' is not used" in "\n".join(err)
    page = (site / "optimizers/adam.html").read_text()
    assert "<title>Adam optimizer" in page and "redirect" not in page


def test_tex_in_plain_docstrings_renders_as_katex(built):
    site, _, err = built
    for url in pages():
        page = (site / url).read_text(encoding="utf-8")
        assert not CONTROL_CHARACTERS.search(page), url
        assert "katex-error" not in page and "build-error" not in page, url
    bins = _without_keys((site / "activations/soft_bins/index.html").read_text())
    katex = KatexRenderer()
    for tex, display in [
        (r"k = \frac{u - l}{\delta}", False),
        (r"\mathbf{c} = \big(l, l + \delta, \dots, u - \delta\big)", True),
        (r"\beta = \frac{1}{\eta}", False),
        (r"d \times k", False),
        (r"\nabla_z s_\eta", False),
        (r"s_\eta(x) = \begin{cases} x & x \le \eta \\ 1 & x > \eta \end{cases}", True),
    ]:
        assert _without_keys(katex.render(tex, display)) in bins, tex
    assert "<mfrac>" in bins and 'class="katex-display"' in bins
    adam = (site / "optimizers/adam.html").read_text()
    assert "<mtable" in adam  # the aligned moment updates
    warned = "\n".join(err)
    assert f"{PACKAGE}/activations/soft_bins/__init__.py:13: docstring read as written" in warned
    assert "Python reads the \\f of \\frac as a form feed" in warned


def _without_keys(katex_html: str) -> str:
    """KaTeX's HTML without the `data-tex-key` the site keeps on repeated formulas only."""
    return re.sub(r' data-tex-key="[^"]*"', "", katex_html)


def docs_of(page: str, section_id: str) -> str:
    found = re.search(rf'id="{section_id}">\s*<div class="docs">(.*?)</div>', page, re.S)
    assert found, section_id
    return found.group(1).replace(f"#{section_id}", "#")


def test_docstring_escaped_for_python_renders_like_the_raw_one(built):
    site, _, err = built
    page = (site / "optimizers/index.html").read_text()
    escaped, raw = docs_of(page, "learning_rate_ratio"), docs_of(page, "learning_rate_ratio_raw")
    assert escaped == raw and "<mfrac>" in raw
    assert any(
        line.startswith(f"warning: {PACKAGE}/optimizers/__init__.py:16: docstring read as Python")
        for line in err
    )


def test_images_from_the_docs_tree_are_published_with_their_size(built):
    site, _, _ = built
    for url, image, size in [
        ("activations/soft_bins/index.html", "bins.svg", (160, 60)),
        ("optimizers/adam.html", "adam_steps.png", (12, 6)),
        ("transformers/attention/rotary/index.html", "rotation.svg", (80, 80)),
    ]:
        where = Path(url).parent / image
        assert (site / where).read_bytes() == (FIXTURE / "docs" / where).read_bytes()
        tag = re.search(rf'<img src="{image}"[^>]*>', (site / url).read_text()).group()
        assert f'width="{size[0]}" height="{size[1]}"' in tag


def test_links_between_pages_resolve(built):
    site, _, _ = built
    home = (site / "index.html").read_text()
    assert 'href="optimizers/adam.html#Adam.step"' in home
    rotary = (site / "transformers/attention/rotary/index.html").read_text()
    assert 'href="../../../optimizers/adam.html#Adam"' in rotary
    assert 'id="Adam.step"' in (site / "optimizers/adam.html").read_text()


def test_without_keep_going_a_broken_link_fails_and_keeps_the_previous_site(
    built, tmp_path, monkeypatch, capsys
):
    site, _, _ = built
    monkeypatch.chdir(site.parent)
    before = snapshot(site)
    capsys.readouterr()
    assert main(build(site)) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    # Every error is listed, each on its line, then what became of the site.
    assert (
        len(lines) == len(BROKEN) + 1 and lines[-1] == f"{len(BROKEN)} errors; nothing was written"
    )
    for line, expected in zip(lines, BROKEN, strict=False):
        assert line.startswith(f"{PACKAGE}/{expected}")
    assert snapshot(site) == before
