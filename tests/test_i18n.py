"""`site-builder i18n`: catalogs per page, entries found by their English as msgmerge finds them,
status, check, new languages."""

import subprocess
import textwrap
from pathlib import Path

import polib
import pytest
from babel.messages.plurals import get_plural

from site_builder import i18n
from site_builder.build import build_site
from site_builder.cli import main
from site_builder.config import load_config
from site_builder.model import BuildError
from site_builder.parse import parse_markdown_page, parse_module
from site_builder.paths import catalog_path
from site_builder.progress import site_progress, totals
from site_builder.translate import (
    load_translations,
    module_entries,
    msgstr_lines,
    read_catalog,
    translate_module,
)


def without_warnings(function):
    """`function`, called with a warnings list that must stay empty."""

    def call(*args):
        warnings: list[BuildError] = []
        result = function(*args, warnings)
        assert warnings == []
        return result

    return call


update, check = map(without_warnings, (i18n.update, i18n.check))


def status(config, langs: list[str]):
    """What `i18n status` counts: the catalogs' entries, page by page."""
    warnings: list[BuildError] = []
    rows = site_progress(config, warnings, langs)
    assert warnings == []
    return rows


catalog_of, translations_of = map(without_warnings, (read_catalog, load_translations))

PYPROJECT = """\
[project]
name = "demo"
version = "1.0"

[tool.site_builder]
source = "pkg"
title = "Demo"
# the first language is the source
languages = ["en", "zh"]
docs = "docs"
out = "site"
"""

INIT = '''\
"""
---
title: Demo net
summary: A tiny network.
---

# Demo

Uses $x^2$ and a [link](https://example.org/).
"""


def helper():
    """Cuts the image into patches."""
    return 1


class Net:
    def forward(self, x):
        # Add the residual connection: $y = x + f(x)$.
        return x
'''

# The page's entries, by a name: the title and summary have a msgctxt, Markdown is one entry per
# block, found by its English.
EN = {
    "title": "Demo net",
    "summary": "A tiny network.",
    "heading": "# Demo",
    "intro": "Uses $x^2$ and a [link](https://example.org/).",
    "helper": "Cuts the image into patches.",
    "Net.forward-1": "Add the residual connection: $y = x + f(x)$.",
}
ZH = {
    "title": "演示网络",
    "summary": "一个很小的网络。",
    "heading": "# 演示",
    "intro": "使用 $x^2$ 和一个[链接](https://example.org/)。",
    "helper": "把图像切成图像块。",
    "Net.forward-1": "加上残差连接：$y = x + f(x)$。",
}


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text(INIT)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("---\ntitle: Guide\n---\n\nRun `make`.\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config():
    return load_config(start=Path.cwd())


def index_po(project: Path) -> Path:
    return catalog_path(project / "docs" / "locale", "zh", "__init__.py")


def named(entry: polib.POEntry, name: str) -> bool:
    """Whether `entry` is the one `name` (a key of EN) names: by msgctxt, by its English, or
    by the English it was translated from (a fuzzy entry)."""
    english = EN.get(name, name)
    return name == entry.msgctxt or english in (entry.msgid, entry.previous_msgid)


def set_translations(path: Path, translations: dict[str, str]) -> None:
    """What a translator does in Poedit: fill in msgstr and clear the fuzzy flag (the entries
    named as in EN)."""
    catalog = catalog_of(path)
    for entry in catalog:
        if name := next((name for name in translations if named(entry, name)), None):
            entry.msgstr = translations[name]
            entry.flags = [flag for flag in entry.flags if flag != "fuzzy"]
            entry.previous_msgid = None
    catalog.save(str(path))


def translation_line(path: Path, name: str) -> int:
    """The line on which the msgstr of the entry `name` starts (after `msgstr ""`)."""
    [entry] = [entry for entry in catalog_of(path) if named(entry, name) and not entry.obsolete]
    return msgstr_lines(path.read_text().split("\n"), entry)[0]


def page_module(project: Path):
    return parse_module(project / "pkg" / "__init__.py", "__init__.py")


def test_update_writes_a_template_and_a_catalog_per_page(project):
    assert main(["i18n", "update"]) == 0
    locale = project / "docs" / "locale"
    assert (locale / "templates" / "index.pot").is_file()
    assert (locale / "templates" / "guide.pot").is_file()
    catalog = catalog_of(index_po(project))
    assert [entry.msgctxt or entry.msgid for entry in catalog] == [
        "title",
        "summary",
        *list(EN.values())[2:],
    ]
    helper = catalog.find("Cuts the image into patches.")
    assert helper.occurrences == [("pkg/__init__.py", "14")]
    assert helper.comment == "docstring of helper"
    assert catalog.metadata["Language"] == "zh"
    text = index_po(project).read_text()
    assert catalog.metadata["Plural-Forms"] == get_plural("zh").plural_forms
    assert '"Content-Type: text/plain; charset=utf-8\\n"' in text
    assert "python-format" not in text
    assert update(config(), ["zh"]) == []  # nothing changed, nothing written


def test_msgfmt_accepts_generated_and_translated_catalogs(project):
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Add the", "Now add the"))
    update(config(), ["zh"])  # a fuzzy entry with #| msgid
    files = sorted((project / "docs" / "locale").rglob("*.po*"))
    assert len(files) == 4
    for path in files:
        result = subprocess.run(
            ["msgfmt", "-c", "--check-format", "-o", "/dev/null", str(path)],
            capture_output=True,
            text=True,
        )
        assert result.returncode == 0, result.stderr
        if path.suffix == ".po":
            assert "warning" not in result.stderr, result.stderr


def test_changed_english_turns_fuzzy_falls_back_and_recovers(project):
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    assert translate_module(page_module(project), "zh", project / "docs" / "locale")[1] == []

    (project / "pkg" / "__init__.py").write_text(
        INIT.replace("Add the residual connection", "Add the skip (residual) connection")
    )
    update(config(), ["zh"])
    text = index_po(project).read_text()
    assert '#, fuzzy\n#| msgid "Add the residual connection' in text
    assert "#~" not in text  # similar English: fuzzy, not obsolete + new
    new_english = EN["Net.forward-1"].replace("the residual", "the skip (residual)")
    message = translations_of(index_po(project))[None, new_english]
    assert message.fuzzy and message.msgstr == ZH["Net.forward-1"]

    module = page_module(project)
    translated, fallback = translate_module(module, "zh", project / "docs" / "locale")
    assert fallback == ["Net.forward-1"]
    assert translated.sections[-1].docs == f'<span lang="en">{new_english}</span>'
    assert translated.title == ZH["title"]
    assert status(config(), ["zh"])[1].fuzzy == 1

    # The English changes again before anyone translates: #| keeps the text that was translated.
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Add the residual", "Add a residual"))
    update(config(), ["zh"])
    text = index_po(project).read_text()
    assert '#| msgid "Add the residual connection' in text
    assert "# |" not in text  # Babel alone would turn `#|` lines into comments

    set_translations(index_po(project), {"Net.forward-1": "加上一个残差连接：$y = x + f(x)$。"})
    translated, fallback = translate_module(page_module(project), "zh", project / "docs" / "locale")
    assert fallback == []
    assert translated.sections[-1].docs == "加上一个残差连接：$y = x + f(x)$。"


def test_the_built_page_shows_the_notice_only_while_something_falls_back(project):
    notice = "本页部分内容尚未翻译或译文已过时"
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    build_site(config())
    page = (project / "site" / "zh" / "index.html").read_text()
    assert ZH["helper"] in page and notice not in page

    (project / "pkg" / "__init__.py").write_text(INIT.replace("Cuts the", "Cuts up the"))
    update(config(), ["zh"])
    build_site(config())
    page = (project / "site" / "zh" / "index.html").read_text()
    assert (
        notice in page and '<p><span lang="en">Cuts up the image into patches.</span></p>' in page
    )
    assert "加上残差连接" in page  # the rest stays translated


def test_unrelated_code_moving_keeps_every_translation(project):
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    before = {entry.msgctxt: entry.msgid for entry in catalog_of(index_po(project))}
    moved = INIT.replace("def helper():", "def other(a, b):\n    return a + b\n\n\ndef helper():")
    (project / "pkg" / "__init__.py").write_text(moved)
    update(config(), ["zh"])
    catalog = catalog_of(index_po(project))
    assert {entry.msgctxt: entry.msgid for entry in catalog} == before
    assert not any(entry.fuzzy for entry in catalog)
    assert catalog.find(EN["helper"]).occurrences[0][1] == "18"
    assert translate_module(page_module(project), "zh", project / "docs" / "locale")[1] == []


def test_status_counts_and_fail_under(project, capsys):
    update(config(), ["zh"])
    set_translations(index_po(project), {"title": ZH["title"], "helper": ZH["helper"]})
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Cuts the", "Cuts up the"))
    update(config(), ["zh"])  # the changed English: fuzzy
    rows = {row.page: row for row in status(config(), ["zh"])}
    assert (rows["index"].translated, rows["index"].fuzzy, rows["index"].missing) == (1, 1, 4)
    assert (rows["guide"].translated, rows["guide"].fuzzy, rows["guide"].missing) == (0, 0, 2)
    total = totals(list(rows.values()))["zh"]
    assert (total.translated, total.entries) == (1, 8)
    # `i18n status` counts the catalogs (entries and English words), which `update` brings up
    # to date.
    assert main(["i18n", "update"]) == 0
    capsys.readouterr()
    assert main(["i18n", "status", "zh", "--fail-under", "6"]) == 0
    assert main(["i18n", "status", "--fail-under", "7"]) == 1
    output = capsys.readouterr().out
    total = [line.split() for line in output.splitlines() if line.startswith("total")][-1]
    # The pages' 8 entries (31 words), and the site's title in _site.po (site_texts)
    assert total == ["total", "zh", "1", "1", "7", "11.1%", "32", "6.2%"]
    assert "zh: 6.2% of the words translated, under 7.0%" in output


GLOSSARY = """\
forbidden = ["补丁"]

[terms]
"patch" = "图像块"
"residual connection" = "残差连接"
"""


@pytest.mark.parametrize(
    ("context", "translation", "message"),
    [
        ("intro", "使用 $x^3$ 和[链接](https://example.org/)。", "math spans differ"),
        ("intro", "使用 $x^2$ 和[链接](https://example.com/)。", "link targets differ"),
        ("intro", "$x^2$ ![图](https://example.org/)。", "image sources differ"),
        ("helper", "把图像切成图像块 `x`。", "inline code spans differ"),
        ("helper", "把图像切成小块。", "glossary: 'patch' should be translated as '图像块'"),
        ("helper", "把图像切成图像块（补丁）。", "glossary: '补丁' is not used"),
        ("Net.forward-1", "加上残差连接：$y = x + f(x)$\n。", "'。' starts a line"),
        ("Net.forward-1", "加上残差连接：$y = x + f(x)$\n\n。", "'。' starts a line"),
        ("helper", "把图像切成<b>图像块</b>。", "raw HTML that the English does not have"),
        ("helper", "图像块 ![x](data:image/png;base64,AAAA)", "unsafe: unsafe URL"),
    ],
)
def test_check_reports_each_problem_with_file_and_line(
    project, capsys, context, translation, message
):
    (project / "docs" / "locale" / "zh").mkdir(parents=True)
    (project / "docs" / "locale" / "zh" / "glossary.toml").write_text(GLOSSARY)
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    assert check(config(), ["zh"]) == []

    set_translations(index_po(project), {context: translation})
    line = translation_line(index_po(project), context)
    problems = check(config(), ["zh"])
    assert len(problems) >= 1
    assert all(p.startswith(f"{index_po(project)}:{line}: ") for p in problems), problems
    assert any(message in p for p in problems), problems
    assert main(["i18n", "check", "zh"]) == 1
    assert f"{index_po(project)}:{line}: " in capsys.readouterr().err


def test_titles_and_summaries_are_plain_text_to_the_check(project):
    """`<` and `&` in a title are just characters (the page escapes them once), not raw HTML."""
    update(config(), ["zh"])
    set_translations(index_po(project), {**ZH, "title": "演示 a < b & c", "summary": "x <b> y"})
    assert check(config(), ["zh"]) == []
    set_translations(index_po(project), {"helper": "把图像切成 a < b 的图像块。"})
    assert any("will show as text" in p for p in check(config(), ["zh"]))


def test_check_reports_duplicate_entries_as_msgfmt_does(project):
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    path = index_po(project)
    text = path.read_text()
    entry = text[text.index("#. docstring of helper") :].split("\n\n")[0]
    other = entry.replace("把图像切成图像块。", "把图像切成小的图像块。")
    path.write_text(f"{text.rstrip()}\n\n{other}\n")
    lines = path.read_text().split("\n")
    first, again = [n for n, line in enumerate(lines, 1) if line == "#. docstring of helper"]
    assert check(config(), ["zh"]) == [
        f"{path}:{again}: duplicate entry (msgid 'Cuts the image into patches.' is already at "
        f"line {first}): msgfmt rejects the file; keep one",
    ]
    result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(path)], capture_output=True)
    assert result.returncode != 0 and b"duplicate message definition" in result.stderr


def test_duplicate_entries_without_msgctxt_and_obsolete_ones(tmp_path):
    path = tmp_path / "p.po"
    path.write_text(
        'msgid ""\nmsgstr "Language: zh\\n"\n\n'
        'msgid "A"\nmsgstr "甲"\n\nmsgid "B"\nmsgstr "乙"\n\n'  # msgids on lines 4, 7
        'msgid ""\n"A"\nmsgstr "甲"\n\n'  # the same msgid, folded: line 10
        '#~ msgctxt "x"\n#~ msgid "A"\n#~ msgstr "甲"\n'
    )
    assert i18n.duplicate_entries(catalog_of(path)) == [
        (10, "duplicate entry (msgid 'A' is already at line 4): msgfmt rejects the file; keep one")
    ]


def test_fuzzy_entries_are_not_checked(project):
    update(config(), ["zh"])
    set_translations(index_po(project), {"helper": "错误的 `代码`"})
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Cuts the", "Cuts up the"))
    update(config(), ["zh"])
    assert check(config(), ["zh"]) == []


def test_new_language_creates_catalogs_and_edits_only_the_languages_line(project, capsys):
    assert main(["i18n", "new", "fr"]) == 0
    assert (project / "pyproject.toml").read_text() == PYPROJECT.replace(
        'languages = ["en", "zh"]', 'languages = ["en", "zh", "fr"]'
    )
    assert catalog_path(project / "docs" / "locale", "fr", "guide.md").is_file()
    french = catalog_path(project / "docs" / "locale", "fr", "__init__.py")
    header = catalog_of(french).metadata
    assert header["Language"] == "fr"
    assert header["Plural-Forms"] == get_plural("fr").plural_forms  # French's rule, as Babel has it
    result = subprocess.run(["msgfmt", "-c", "-o", "/dev/null", str(french)], capture_output=True)
    assert result.returncode == 0, result.stderr.decode()  # make installs gettext
    assert main(["i18n", "new", "xx"]) == 1
    assert "unknown language code 'xx'" in capsys.readouterr().err


def test_new_language_starts_a_glossary_from_the_others(project, capsys):
    zh = project / "docs" / "locale" / "zh"
    zh.mkdir(parents=True)
    kernel = (
        '[terms.kernel]\ntarget = "卷积核"\nexcept = ["GPU kernel", "CUDA kernel", "kernel launch"]'
    )
    (zh / "glossary.toml").write_text(f'{GLOSSARY}"ViT" = "ViT"\n\n{kernel}\n')
    assert main(["i18n", "new", "fr"]) == 0
    assert "docs/locale/fr/glossary.toml" in capsys.readouterr().out
    path = project / "docs" / "locale" / "fr" / "glossary.toml"
    text = path.read_text()
    assert '\nViT = "ViT"\n' in text  # a name every language keeps is enforced at once
    assert '\n# "residual connection" = ""  # zh: 残差连接\n' in text
    assert '# "kernel" = ""  # zh: 卷积核; except GPU kernel, CUDA kernel, kernel launch' in text
    assert i18n.load_glossary(path).terms == {"ViT": "ViT"}
    uncommented = text.replace('# "residual connection" = ""', '"residual connection" = "résiduel"')
    path.write_text(uncommented)
    assert i18n.load_glossary(path).terms["residual connection"] == "résiduel"
    path.write_text("# ours\n")
    assert main(["i18n", "new", "fr"]) == 0  # again: an existing glossary is kept
    assert path.read_text() == "# ours\n"


def test_a_multi_line_languages_list_gets_the_new_language(project):
    multi = 'languages = [\n    "en",  # the source\n    "zh",\n]'
    text = PYPROJECT.replace('languages = ["en", "zh"]', multi)
    (project / "pyproject.toml").write_text(text)
    assert i18n.add_language(project / "pyproject.toml", "ja") is None
    edited = (project / "pyproject.toml").read_text()
    assert "# the source" in edited and "# the first language is the source" in edited
    assert edited.replace("\n", "").replace(" ", "").count('"zh","ja"') == 1
    assert config().languages == ("en", "zh", "ja")
    assert i18n.add_language(project / "pyproject.toml", "ja") is None  # already there
    assert (project / "pyproject.toml").read_text() == edited


def ui_po(project: Path, lang: str) -> Path:
    return project / "docs" / "locale" / lang / "LC_MESSAGES" / "site_builder.po"


def test_a_new_language_gets_the_site_interface_to_translate(project, capsys, monkeypatch):
    assert main(["i18n", "new", "fr"]) == 0
    strings = i18n.ui_strings()
    catalog = catalog_of(ui_po(project, "fr"))
    assert catalog.metadata["Language"] == "fr"
    assert {entry.msgid: entry.msgstr for entry in catalog} == dict.fromkeys(strings, "")
    assert not ui_po(project, "zh").exists()  # site_builder ships the Chinese one
    rows = {(row.page, row.lang): row for row in status(config(), ["zh", "fr"])}
    assert ("site interface", "zh") not in rows
    assert rows["site interface", "fr"].missing == len(strings)

    # A translator translates two strings; a template string that went away is dropped again.
    catalog = catalog_of(ui_po(project, "fr"))
    catalog.find("Home").msgstr, catalog.find("Search").msgstr = "Accueil", "Recherche"
    catalog.find("Search").flags.append("fuzzy")
    catalog.remove(catalog.find("Copy"))
    catalog.append(polib.POEntry(msgid="Gone from the templates", msgstr="Disparu"))
    catalog.save(str(ui_po(project, "fr")))
    assert main(["i18n", "update", "fr"]) == 0
    catalog = catalog_of(ui_po(project, "fr"))
    assert catalog.find("Home").msgstr == "Accueil" and catalog.find("Copy").msgstr == ""
    assert catalog.find("Gone from the templates") is None
    assert catalog.find("Gone from the templates", include_obsolete_entries=True).obsolete
    row = {row.page: row for row in status(config(), ["fr"])}["site interface"]
    assert (row.translated, row.fuzzy, row.missing) == (1, 1, len(strings) - 2)
    capsys.readouterr()
    assert main(["i18n", "status"]) == 0
    assert "site interface" in capsys.readouterr().out

    # The built site uses it, and a changed translation re-renders the pages that show it.
    build_site(config(), index_search=False)
    assert ">Accueil<" in (project / "site" / "fr" / "index.html").read_text()
    catalog.find("Home").msgstr = "Début"
    catalog.save(str(ui_po(project, "fr")))
    assert "fr/index.html" in build_site(config(), index_search=False).pages_rendered
    assert ">Début<" in (project / "site" / "fr" / "index.html").read_text()


def test_new_language_without_a_languages_key_prints_the_line(project, capsys):
    text = PYPROJECT.replace('languages = ["en", "zh"]\n', "").replace("[tool.site_builder]\n", "")
    (project / "pyproject.toml").write_text(text + '[tool.site_builder]\nsource = "pkg"\n')
    assert i18n.add_language(project / "pyproject.toml", "zh") is None
    assert 'languages = ["en", "zh"]' in (project / "pyproject.toml").read_text()
    assert i18n.add_language(project / "missing.toml", "zh") == 'languages = ["en", "zh"]'


def test_update_of_an_unconfigured_language_is_refused(project, capsys):
    assert main(["i18n", "update", "de"]) == 1
    assert "i18n new de" in capsys.readouterr().err


def test_a_parse_error_writes_no_catalog(project, capsys):
    (project / "pkg" / "broken.py").write_text("def f(:\n")
    assert main(["i18n", "update"]) == 1
    assert "broken.py:1" in capsys.readouterr().err
    assert not (project / "docs" / "locale").exists()


def test_a_malformed_catalog_stops_the_update_before_anything_is_written(project, capsys):
    update(config(), ["zh"])
    locale = project / "docs" / "locale"
    guide = catalog_path(locale, "zh", "guide.md")
    guide.write_text(guide.read_text() + '\nmsgctxt "x"\nmsgid "y"\nmsgstr "unterminated\n')
    broken_line = guide.read_text().count("\n")
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Cuts the", "Cuts up the"))
    before = {path: path.read_bytes() for path in locale.rglob("*.po*")}
    assert main(["i18n", "update"]) == 1
    assert f"{guide.name}:{broken_line}: malformed PO line" in capsys.readouterr().err
    assert {path: path.read_bytes() for path in locale.rglob("*.po*")} == before


def test_the_real_glossary_loads():
    glossary = i18n.load_glossary(Path(__file__).parents[1] / "docs_src/locale/zh/glossary.toml")
    assert glossary.terms["depth-wise convolution"] == "逐通道卷积"
    assert glossary.terms["kernel"] == "卷积核" and "GPU kernel" in glossary.exceptions["kernel"]
    assert "深度卷积" in glossary.forbidden
    assert glossary.term_pattern("depth-wise convolution").search("Depthwise convolutions mix")


EXCEPT_GLOSSARY = """\
[terms]
"patch" = "图像块"

[terms.kernel]
target = "卷积核"
except = ["GPU kernel", "CUDA kernel", "kernel launch"]
"""


@pytest.mark.parametrize(
    ("english", "translation", "flagged"),
    [
        ("One GPU kernel per step.", "每步一个 GPU 内核。", False),
        ("Fused CUDA kernels, one kernel launch.", "融合的 CUDA 内核，一次内核启动。", False),
        ("Gpu-kernels are fast.", "GPU 内核很快。", False),  # any case, hyphen and plural
        ("A $3 \\times 3$ kernel.", "一个 $3 \\times 3$ 的核。", True),
        ("A GPU kernel applies the kernel.", "GPU 内核应用这个核。", True),  # one real use
        ("A GPU kernel applies the kernel.", "GPU 内核应用这个卷积核。", False),
        ("The kernels of the layer.", "该层的卷积核。", False),
    ],
)
def test_glossary_exceptions_do_not_count_as_the_term(tmp_path, english, translation, flagged):
    (tmp_path / "glossary.toml").write_text(EXCEPT_GLOSSARY)
    glossary = i18n.load_glossary(tmp_path / "glossary.toml")
    assert glossary.terms == {"patch": "图像块", "kernel": "卷积核"}
    problems = i18n.check_translation(english, translation, glossary)
    expected = ["glossary: 'kernel' should be translated as '卷积核'"] if flagged else []
    assert problems == expected


@pytest.mark.parametrize(
    ("toml", "line", "message"),
    [
        ('[terms]\n"a" = "b"\n"kernel" = 3\n', 3, "'kernel': expected a translation or a table"),
        ('[terms.kernel]\ntarget = "卷积核"\nexcept = "GPU kernel"\n', 1, "except must be a list"),
        ('[terms.kernel]\ntarget = "x"\nexcept = ["GPU"]\n', 1, "'GPU' does not contain the term"),
        ('[terms.kernel]\ntarget = "x"\nunless = []\n', 1, "unknown key(s) unless"),
        ('forbidden = "补丁"\n', 1, "forbidden must be a list of strings"),
        ('[terms]\n"a" = \n', 2, "Invalid value"),
    ],
)
def test_a_bad_glossary_is_reported_with_its_line(tmp_path, toml, line, message):
    (tmp_path / "glossary.toml").write_text(toml)
    with pytest.raises(BuildError) as error:
        i18n.load_glossary(tmp_path / "glossary.toml")
    assert str(error.value).startswith(f"{tmp_path / 'glossary.toml'}:{line}: ")
    assert message in str(error.value)


def test_docs_page_text(tmp_path):
    """The docs dir's Markdown pages are translatable too (see the guide page above)."""
    text = textwrap.dedent("---\ntitle: T\n---\n\nBody.\n")
    (tmp_path / "p.md").write_text(text)

    entries = module_entries(parse_markdown_page(tmp_path / "p.md", "p.md"))
    assert [(e.context, e.text.strip()) for e in entries] == [("title", "T"), (None, "Body.")]


LONG_DOCS = """\
    ## Old heading

    A paragraph long enough to wrap in a PO file, with math $\\\\frac{a}{b} = c$, a "quoted"
    word, two  spaces, a hyphenated well-known term and a backslash \\\\ in the middle of it.

    $$
    y = \\\\sum_{i=1}^{n} x_i
    $$
    """


def test_a_multi_line_previous_msgid_round_trips_exactly(project):
    source = INIT.replace('"""Cuts the image into patches."""', f'"""\n{LONG_DOCS}"""')
    (project / "pkg" / "__init__.py").write_text(source)
    update(config(), ["zh"])
    entries = [e.msgid for e in catalog_of(index_po(project))]
    assert "## Old heading" in entries and not any("\\sum" in msgid for msgid in entries)
    [old] = [msgid for msgid in entries if msgid.startswith("A paragraph")]
    assert "\\frac{a}{b}" in old and old.count("\n") == 1
    set_translations(index_po(project), {"## Old heading": "## 旧标题", old: "一段话。"})

    changed = source.replace("two  spaces", "two  blanks")
    (project / "pkg" / "__init__.py").write_text(changed)
    for _ in range(2):  # a second update must leave the file exactly as the first wrote it
        update(config(), ["zh"])
        text = index_po(project).read_text()
        catalog = catalog_of(index_po(project))
        paragraph = next(e for e in catalog if e.msgid.startswith("A paragraph"))
        assert paragraph.fuzzy and paragraph.previous_msgid == old
        assert not catalog.find("## Old heading").fuzzy
        assert '#| msgid ""\n#| "A paragraph long enough' in text
    assert update(config(), ["zh"]) == []
    result = subprocess.run(
        ["msgfmt", "-c", "--check-format", "-o", "/dev/null", str(index_po(project))],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0 and "warning" not in result.stderr, result.stderr
    # GNU gettext reads the same previous English back (msgattrib keeps `#|` as it is).
    result = subprocess.run(
        ["msgattrib", "--only-fuzzy", str(index_po(project))], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    fuzzy_entry = text[text.index("#, fuzzy\n#| msgid") :].split("\n\n")[0]
    assert fuzzy_entry in result.stdout  # laid out as GNU gettext lays it out


@pytest.mark.parametrize(
    ("translation", "problem"),
    [
        ("### 退出\n\n段落。\n\n- 一\n- 二", None),
        # An escaped "\n" in the PO file: the heading swallows the paragraph, the list is gone.
        ("### 退出\\n\\n段落。- 一 - 二", "the English has h3, list; this has h3"),
        ("## 退出\n\n段落。\n\n- 一\n- 二", "the English has h3, list; this has h2, list"),
        ("退出\n\n段落。\n\n- 一\n- 二", "the English has h3, list; this has list"),
    ],
)
def test_check_compares_the_block_structure(tmp_path, translation, problem):
    (tmp_path / "glossary.toml").write_text("[terms]\n")
    glossary = i18n.load_glossary(tmp_path / "glossary.toml")
    english = "### Leaving\n\nA paragraph.\n\n- one\n- two"
    problems = i18n.check_translation(english, translation, glossary)
    assert problems == ([f"structure differs: {problem}"] if problem else [])


# Characters that str.splitlines() ends a line at, and PO files hold as they are.
LINE_LIKE = ["\u2028", "\u2029", "\x85", "\x1e", "\x1c", "\x0c", "\x0b"]


@pytest.mark.parametrize("char", LINE_LIKE, ids=[f"U+{ord(c):04X}" for c in LINE_LIKE])
def test_catalogs_round_trip_comments_holding_line_separator_characters(project, char):
    source = project / "pkg" / "__init__.py"
    english = f"Add the residual{char}connection: $y = x + f(x)$."
    source.write_text(INIT.replace("Add the residual connection: $y = x + f(x)$.", english))
    update(config(), ["zh"])
    path = catalog_path(project / "docs" / "locale", "zh", "__init__.py")
    catalog = catalog_of(path)  # a malformed line would be a BuildError
    entry = catalog.find(english)
    assert entry is not None and entry.msgid == english
    entry.msgstr = f"加上残差{char}连接：$y = x + f(x)$。"
    catalog.save(str(path))
    assert update(config(), ["zh"]) == []  # read back the same: nothing to write
    assert check(config(), ["zh"]) == []
    build_site(config(), index_search=False)
    page = (project / "site" / "zh" / "index.html").read_text(encoding="utf-8")
    assert f"加上残差{char}连接" in page


def test_new_language_and_the_config_agree_on_language_codes(project, capsys):
    """A code `i18n new` refuses is refused before anything is written; one it adds, every
    command accepts."""
    before = (project / "pyproject.toml").read_text()
    assert main(["i18n", "new", "sr@latin"]) == 1
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "'sr@latin'" in error and "'sr_Latn'" in error
    assert (project / "pyproject.toml").read_text() == before
    assert not (project / "docs" / "locale").exists()
    assert main(["i18n", "new", "sr_Latn"]) == 0
    assert config().languages == ("en", "zh", "sr_Latn")
    assert main(["i18n", "status"]) == 0 and main(["build"]) == 0
    (project / "pyproject.toml").write_text(before.replace('"zh"]', '"zh", "sr@latin"]'))
    with pytest.raises(BuildError, match="gettext modifier"):
        config()


@pytest.mark.parametrize("command", [["update"], ["status"], ["check", "zh"]])
def test_catalog_warnings_print_as_warning_lines(project, capsys, command):
    """A problem that stops nothing (a `#|` hint polib cannot read) is one `warning: file:line:`
    line on stderr, like the build's warnings."""
    update(config(), ["zh"])
    path = index_po(project)
    lines = path.read_text(encoding="utf-8").split("\n")
    at = lines.index('msgid "Cuts the image into patches."')
    lines.insert(at, '#| msgid "Cuts" "the image"')
    path.write_text("\n".join(lines), encoding="utf-8")
    main(["i18n", *command])
    rel = path.relative_to(project)
    warning = f"warning: {rel}:{at + 1}: ignoring the unreadable previous msgid (#|)"
    assert warning in capsys.readouterr().err.splitlines()


def translations(path: Path) -> dict[tuple[str | None, str], tuple[str, bool]]:
    """(msgctxt, msgid) -> (msgstr, fuzzy) of a catalog's current entries."""
    catalog = polib.pofile(str(path), encoding="utf-8")
    return {(e.msgctxt, e.msgid): (e.msgstr, e.fuzzy) for e in catalog if not e.obsolete}


def gnu(*command: str) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result


def test_a_comment_inserted_above_moves_no_translation_as_with_gnu_msgmerge(project, tmp_path):
    """The report that started issue 18: one comment line inserted above a section shifted the
    section ids, and with them the translations. Entries follow their English, as msgmerge's."""
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    old = tmp_path / "old.po"
    old.write_bytes(index_po(project).read_bytes())
    inserted = "        # Nothing to set up first.\n        x = x\n"
    source = INIT.replace("        # Add the residual", inserted + "        # Add the residual")
    (project / "pkg" / "__init__.py").write_text(source)
    update(config(), ["zh"])
    ours = translations(index_po(project))
    assert ours[None, EN["Net.forward-1"]] == (ZH["Net.forward-1"], False)
    assert ours[None, "Nothing to set up first."] == ("", False)
    template = project / "docs" / "locale" / "templates" / "index.pot"
    merged = tmp_path / "merged.po"
    gnu("msgmerge", "--quiet", "-o", str(merged), str(old), str(template))
    assert translations(merged) == ours
    module = page_module(project)
    translated, fallback = translate_module(module, "zh", project / "docs" / "locale")
    assert fallback == ["Net.forward-1"]  # the new comment only
    assert translated.sections[-1].docs == ZH["Net.forward-1"]


def test_a_paragraph_moved_to_another_page_keeps_its_translation(project):
    """A language's other catalogs are the compendium (msgmerge --compendium) of each one."""
    update(config(), ["zh"])
    set_translations(index_po(project), ZH)
    (project / "pkg" / "__init__.py").write_text(INIT.replace(EN["intro"], "Moved away."))
    guide = project / "docs" / "guide.md"
    guide.write_text(guide.read_text() + f"\n{EN['intro']}\n")
    update(config(), ["zh"])
    guide_po = catalog_path(project / "docs" / "locale", "zh", "guide.md")
    assert translations(guide_po)[None, EN["intro"]] == (ZH["intro"], False)
    assert "#~ msgid" in index_po(project).read_text()  # kept as obsolete where it was


def test_an_editors_save_and_update_leave_each_other_alone(project):
    """Poedit saves as msgcat writes: `msgcat` (or msgmerge) then `i18n update` changes no byte,
    and what `i18n update` writes is already what msgcat writes, Chinese included."""
    update(config(), ["zh"])
    set_translations(
        index_po(project),
        {**ZH, "intro": "使用" * 40 + "（$x^2$）、[链接](https://example.org/)。"},
    )
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Cuts the", "Cuts up the"))
    update(config(), ["zh"])  # a fuzzy entry and its #| msgid
    paths = sorted((project / "docs" / "locale").rglob("*.pot"))
    paths += sorted((project / "docs" / "locale").rglob("*.po"))
    for path in paths:  # written afresh (an entry's layout in the file replaced would stay)
        catalog = catalog_of(path)
        path.unlink()
        assert i18n.write_if_changed(path, catalog)
        assert gnu("msgcat", str(path)).stdout == path.read_text(encoding="utf-8"), path
    before = {path: path.read_bytes() for path in paths}
    locale = project / "docs" / "locale"
    for path in paths:  # an editor's save
        gnu("msgcat", "-o", str(path), str(path))
    assert {path: path.read_bytes() for path in paths} == before
    for path in [path for path in paths if path.suffix == ".po"]:  # "update from POT"
        template = locale / "templates" / path.relative_to(locale / "zh" / "LC_MESSAGES")
        pot = str(template.with_suffix(".pot"))
        gnu("msgmerge", "--quiet", "--update", "--backup=off", str(path), pot)
    saved = {path: path.read_bytes() for path in paths}
    assert update(config(), ["zh"]) == []
    assert {path: path.read_bytes() for path in paths} == saved


def test_an_editors_layout_of_an_entry_is_kept(project):
    """An entry laid out differently by an editor (here polib, which does not break Chinese)
    keeps its bytes while its content stays the same."""
    update(config(), ["zh"])
    long = "把图像切成图像块" * 12
    set_translations(index_po(project), {"helper": long})  # polib: one long line
    edited = index_po(project).read_text(encoding="utf-8")
    assert f'"{long}"' in edited
    (project / "pkg" / "__init__.py").write_text(INIT.replace("Demo net", "Demo network"))
    update(config(), ["zh"])
    assert f'"{long}"' in index_po(project).read_text(encoding="utf-8")
