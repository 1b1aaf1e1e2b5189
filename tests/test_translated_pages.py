"""Translated pages built end to end: plain-text fields escaped once, and problems in a
translation reported at the line of its PO file."""

import builtins
import html
import io
import json
import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po
from conftest import make_config

from site_builder.build import build_site
from site_builder.model import BuildError
from site_builder.parse import parse_markdown_page, parse_module
from site_builder.paths import catalog_path
from site_builder.translate import msgid_of, split_blocks


def translate(config, rel_path: str, texts: dict[str, str], whole: bool = False) -> Path:
    """Write the zh catalog of one page: its parts' translations ("title", "summary", "intro" or
    a section id -> translation), an entry per block of the parsed English; a part whose English
    is one block, `whole` or not of the same blocks, is one entry translated as given."""
    path = config.source / rel_path
    reader = parse_module if path.suffix == ".py" else parse_markdown_page
    module = reader(path, rel_path)
    english = {"title": module.title, "summary": module.summary, "intro": module.intro}
    english |= {section.id: section.docs for section in module.sections}
    catalog = Catalog(locale="zh", fuzzy=False)
    for context, text in texts.items():
        if context in ("title", "summary"):
            catalog.add(msgid_of(english[context]), text, context=context)
            continue
        blocks = [b.text for b in split_blocks(english[context]) if b.translatable]
        translated = [b.text for b in split_blocks(text) if b.translatable]
        if whole or len(blocks) != len(translated):
            [block] = blocks
            catalog.add(block, text)
            continue
        for msgid, msgstr in zip(blocks, translated, strict=True):  # one entry per block
            catalog.add(msgid, msgstr)
    po = catalog_path(config.locale_dir, "zh", rel_path)
    po.parent.mkdir(parents=True, exist_ok=True)
    with open(po, "wb") as file:
        write_po(file, catalog, width=76)
    return po


@pytest.fixture
def zh(tiny):
    return make_config(tiny.root, languages=("en", "zh"))


def test_translated_titles_and_summaries_are_escaped_once(zh):
    translate(zh, "models/__init__.py", {"title": "模型 <i> & 层", "summary": "全部 a < b & c"})
    translate(zh, "models/layer.py", {"title": "模块 a < b & c", "summary": '一层 "x" < y & z'})
    build_site(zh, index_search=False)
    page = (zh.out / "zh/models/layer.html").read_text()
    head = page[: page.index("</head>")]
    assert "<title>模块 a &lt; b &amp; c · Tiny Papers</title>" in head
    assert '<meta name="description" content="一层 &#34;x&#34; &lt; y &amp; z">' in head
    assert '<meta property="og:title" content="模块 a &lt; b &amp; c · Tiny Papers">' in head
    assert '<meta property="og:description" content="一层 &#34;x&#34; &lt; y &amp; z">' in head
    crumbs = page[page.index('<nav class="breadcrumbs"') : page.index("</nav>")]
    assert '<a href="index.html">模型 &lt;i&gt; &amp; 层</a>' in crumbs
    assert '<span aria-current="page">模块 a &lt; b &amp; c</span>' in crumbs
    assert "<h1>模块 a &lt; b &amp; c</h1>" in page
    home = (zh.out / "zh/index.html").read_text()
    assert '<a href="models/index.html">模型 &lt;i&gt; &amp; 层</a>' in home
    assert "<p>全部 a &lt; b &amp; c</p>" in home
    assert '<a href="models/layer.html">模块 a &lt; b &amp; c</a>' in home
    assert "<p>一层 &#34;x&#34; &lt; y &amp; z</p>" in home
    for text in (page, home):
        assert "&amp;lt;" not in text and "&amp;amp;" not in text and "&amp;#" not in text
        # What a reader sees (and a search engine reads) is the translator's text.
        assert "模块 a < b & c" in html.unescape(re.sub(r"<[^>]+>", "", text))


def line_with(path: Path, text: str) -> int:
    lines = path.read_text(encoding="utf-8").split("\n")
    return next(number for number, line in enumerate(lines, 1) if text in line)


# The first paragraph has spaces where the PO writer folds it, so PO lines and text lines differ.
LAYER_ZH = (
    "带权重 $W$ 和偏置 $b$ 的层。"
    + " 这一句很长，PO 文件会把它折成好几行。" * 6
    + "\n\n另见[别处](nowhere.html)。\n\n还有[没有的锚点](notes.html#nope)和 ![图](missing.png)。"
)


def test_problems_in_a_translation_name_the_po_file_and_line(zh):
    po = translate(zh, "models/layer.py", {"Layer": LAYER_ZH})
    assert line_with(po, "nowhere.html") > line_with(po, 'msgstr ""') + 3  # folded
    with pytest.raises(BuildError) as error:
        build_site(zh, index_search=False)
    assert str(error.value).startswith(f"{po}:{line_with(po, 'nowhere.html')}: broken link")

    report = build_site(zh, keep_going=True, index_search=False)
    found = sorted((w.path, w.line, w.message.split(":")[0]) for w in report.warnings)
    assert found == [
        (str(po), line_with(po, "nowhere.html"), "broken link 'nowhere.html'"),
        (str(po), line_with(po, "notes.html#nope"), "broken link 'notes.html#nope'"),
        (str(po), line_with(po, "missing.png"), "missing image 'missing.png'"),
    ], found
    # A link in the English is blamed on the English file. The changed English makes the
    # translation stale, so the zh page shows it too; the same file:line problem is listed once.
    layer = zh.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("a bias $b$.", "a bias $b$. [x](nowhere.html)"))
    report = build_site(zh, keep_going=True, index_search=False)
    line = line_with(layer, "nowhere.html")
    assert [(w.path, w.line) for w in report.warnings] == [(str(layer), line)]


INJECTED = "import os\nos.system('touch pwned')"


def test_a_translation_that_adds_notebook_code_is_not_used(zh):
    """Code comes from the English in every language: a translation may not add a notebook
    fence (a code cell that "Run all" executes), nor change one the English has."""
    layer_docs = f"带权重 $W$ 和偏置 $b$ 的层。\n\n```python notebook\n{INJECTED}\n```"
    po = translate(zh, "models/layer.py", {"Layer": layer_docs, "title": "一层"}, whole=True)
    report = build_site(zh, keep_going=True, index_search=False)
    notebook = json.loads((zh.out / "zh/models/layer.ipynb").read_text(encoding="utf-8"))
    code = ["".join(cell["source"]) for cell in notebook["cells"] if cell["cell_type"] == "code"]
    assert code and not [source for source in code if "pwned" in source]
    page = (zh.out / "zh/models/layer.html").read_text(encoding="utf-8")
    assert "pwned" not in page and "A layer with a weight" in page and "<h1>一层</h1>" in page
    line = line_with(po, "带权重")
    warnings = [str(warning) for warning in report.warnings]  # the entry's file and line
    assert any(
        w.startswith(f"{po}:{line}: translation not used: its notebook code differs")
        for w in warnings
    ), warnings


def test_a_translation_keeps_the_english_notebook_code_verbatim(zh):
    """A notebook fence is no entry (its code is the English's in every language), and an entry
    that carries one is not used."""
    notes = zh.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\n```python notebook\nprint('hi')\n```\n")
    kept = "回到[层](layer.html#Layer.forward-1)。\n\n```python notebook\nprint('hi')\n```"
    changed = kept.replace("print('hi')", "print('hi')\n" + INJECTED)
    for intro, used in ((kept, True), (changed, False)):
        po = translate(zh, "models/notes.md", {"intro": intro}, whole=not used)
        assert ("print" in po.read_text(encoding="utf-8")) is not used
        build_site(zh, keep_going=True, index_search=False)
        page = (zh.out / "zh/models/notes.html").read_text(encoding="utf-8")
        notebook = (zh.out / "zh/models/notes.ipynb").read_text(encoding="utf-8")
        assert ("回到" in page) is used and "pwned" not in page + notebook
        assert "print(&#39;hi&#39;)" in notebook or "print('hi')" in notebook


def test_a_page_catalog_is_read_once_per_build(zh, monkeypatch):
    """The catalog bytes that key the page are the ones translated: an edit while the site is
    built (serve rebuilding as a translator saves) cannot cache a page under another key."""
    po = translate(zh, "models/layer.py", {"title": "一层"})
    opened = []

    def counting(real):
        def open_file(file, *args, **kwargs):
            if isinstance(file, (str, Path)) and Path(file) == po:
                opened.append(file)
            return real(file, *args, **kwargs)

        return open_file

    monkeypatch.setattr(io, "open", counting(io.open))
    monkeypatch.setattr(builtins, "open", counting(builtins.open))
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "1")
    build_site(zh, index_search=False)
    assert len(opened) == 1
    assert "<h1>一层</h1>" in (zh.out / "zh/models/layer.html").read_text(encoding="utf-8")


UNREADABLE_HINT = """\
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\\n"

#| msgid "Home" "page"
msgid "Home"
msgstr "首页!"
"""


def test_ui_catalog_warnings_are_in_every_build_report(zh):
    """The site's interface catalog warns through the build report, like every other problem,
    also when every page comes from the cache."""
    ui_po = zh.locale_dir / "zh/LC_MESSAGES/site_builder.po"
    ui_po.parent.mkdir(parents=True, exist_ok=True)
    ui_po.write_text(UNREADABLE_HINT, encoding="utf-8")
    expected = f"{ui_po}:4: ignoring the unreadable previous msgid (#|)"
    for _ in range(2):
        report = build_site(zh, index_search=False)
        assert expected in [str(warning) for warning in report.warnings]
    assert report.pages_rendered == []
    assert "首页!" in (zh.out / "zh/index.html").read_text(encoding="utf-8")
