"""The translate stage: Markdown split into blocks, each found in the PO file by its English,
fallback rules (block by block, marked lang="en"), mtime cache, UI strings, and PO files read
with their lines (a malformed one is one error with its line)."""

import os
from pathlib import Path

import polib
import pytest

from site_builder.model import BuildError, Module, Section
from site_builder.paths import catalog_path
from site_builder.translate import (
    module_entries,
    msgstr_lines,
    read_catalog,
    split_blocks,
    translate_module,
    ui_translations,
)


def make_module() -> Module:
    return Module(
        path=Path("pkg/layer.py"),
        rel_path="nets/layer.py",
        title="A layer",
        summary="What a layer does.",
        intro="# A layer\n\nSome $x^2$ math.",
        intro_line=3,
        sections=[
            Section("Layer", "docstring", "Layer", "The layer class.", 10, [(11, "class Layer:")]),
            Section(
                "Layer.forward-1", "comment", "Layer.forward", "Add the input.", 20, [(21, "")]
            ),
            Section("section-1", "comment", "", "", 0, [(30, "x = 1")]),
        ],
    )


def write_catalog(path: Path, entries: dict[str, tuple[str, str, bool]]) -> None:
    """entries: msgctxt -> (msgid, msgstr, fuzzy); a msgctxt other than title and summary
    names the entry only here (the file has none: Markdown is found by its English)."""
    catalog = polib.POFile()
    catalog.metadata = {"Language": "zh", "Content-Type": "text/plain; charset=utf-8"}
    for context, (msgid, msgstr, fuzzy) in entries.items():
        flags = ["fuzzy"] if fuzzy else []
        msgctxt = context if context in ("title", "summary") else None
        catalog.append(polib.POEntry(msgctxt=msgctxt, msgid=msgid, msgstr=msgstr, flags=flags))
    path.parent.mkdir(parents=True, exist_ok=True)
    catalog.save(str(path))


@pytest.mark.parametrize(
    ("rel_path", "expected"),
    [
        ("conv_mixer/__init__.py", "conv_mixer/index"),
        ("conv_mixer/experiment.py", "conv_mixer/experiment"),
        ("__init__.py", "index"),
        ("readme.md", "readme"),
        ("a/b/notes.md", "a/b/notes"),
    ],
)
def test_a_page_has_one_catalog_per_language_named_like_its_page(rel_path, expected):
    path = catalog_path(Path("locale"), "zh", rel_path)
    assert path == Path("locale/zh/LC_MESSAGES") / f"{expected}.po"


def test_only_page_sources_have_catalogs():
    with pytest.raises(ValueError):
        catalog_path(Path("locale"), "zh", "data.json")


def test_source_language_is_unchanged(tmp_path):
    module = make_module()
    assert translate_module(module, "en", tmp_path) == (module, [])


def test_missing_catalog_falls_back_everywhere(tmp_path):
    module = make_module()
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert fallback == ["title", "summary", "intro", "Layer", "Layer.forward-1"]
    assert translated.title == "A layer"
    assert (
        translated.intro
        == '# <span lang="en">A layer</span>\n\n<span lang="en">Some $x^2$ math.</span>'
    )
    assert translate_module(module, "zh", None)[1] == fallback


def test_translated_missing_empty_fuzzy_and_stale(tmp_path):
    module = make_module()
    write_catalog(
        catalog_path(tmp_path, "zh", module.rel_path),
        {
            "title": ("A layer", "一层", False),
            "summary": ("What a layer does.", "", False),  # empty
            "heading": ("# A layer", "# 一层", False),
            "intro": ("Some $x^2$ math.", "一些 $x^2$ 数学。", False),
            "Layer": ("The layer class.", "层的类。", True),  # fuzzy
            "Layer.forward-1": ("Add the old input.", "加上输入。", False),  # English changed
        },
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert fallback == ["summary", "Layer", "Layer.forward-1"]
    assert translated.title == "一层"
    assert translated.intro == "# 一层\n\n一些 $x^2$ 数学。"
    assert translated.summary == module.summary
    assert [s.docs for s in translated.sections] == [
        '<span lang="en">The layer class.</span>',
        '<span lang="en">Add the input.</span>',
        "",
    ]
    assert [s.code for s in translated.sections] == [s.code for s in module.sections]
    assert module.title == "A layer"  # the input is not modified


def test_the_catalog_bytes_given_are_the_ones_used(tmp_path):
    """The build hands over the catalog's bytes it keyed the page by: those are parsed (with
    their lines and warnings), and the file is not read again."""
    module = make_module()
    path = catalog_path(tmp_path, "zh", module.rel_path)
    write_catalog(path, {"title": ("A layer", "一层", False)})
    given = path.read_bytes()
    path.write_text("not a catalog any more")
    translated = translate_module(module, "zh", tmp_path, "en", given)[0]
    assert translated.title == "一层" and translated.origins["title"].path == path
    assert translate_module(module, "zh", tmp_path, "en", b"")[0].title == "A layer"  # none
    hint = '#| msgid "x" "y"'  # a hint polib cannot read: a warning
    added = f'\n{hint}\nmsgctxt "summary"\nmsgid "What a layer does."\nmsgstr "做什么"\n'
    text = given.decode() + added
    translated = translate_module(module, "zh", tmp_path, "en", text.encode())[0]
    assert translated.summary == "做什么"
    line = text.splitlines().index(hint) + 1
    assert [str(w) for w in translated.warnings] == [f"{path}:{line}: {UNREADABLE_PREVIOUS}"]


def test_catalog_is_reloaded_when_it_changes(tmp_path):
    module = make_module()
    path = catalog_path(tmp_path, "zh", module.rel_path)
    write_catalog(path, {"title": ("A layer", "一层", False)})
    assert translate_module(module, "zh", tmp_path)[0].title == "一层"
    write_catalog(path, {"title": ("A layer", "一个层", False)})
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert translate_module(module, "zh", tmp_path)[0].title == "一个层"


def test_the_english_is_the_key_not_the_position(tmp_path):
    module = make_module()
    write_catalog(
        catalog_path(tmp_path, "zh", module.rel_path),
        {"Layer.forward-1": ("Add the input.", "加上输入。", False)},
    )
    module.sections.insert(0, Section("helper", "docstring", "helper", "New text.", 5))
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert translated.sections[2].docs == "加上输入。"
    assert "helper" in fallback


def test_unsafe_translation_falls_back_with_a_warning(tmp_path):
    module = make_module()
    path = catalog_path(tmp_path, "zh", module.rel_path)
    write_catalog(
        path, {"Layer": ("The layer class.", "![x](data:image/png;base64,AAAA) 层", False)}
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert "Layer" in fallback
    assert translated.sections[0].docs == '<span lang="en">The layer class.</span>'
    [warning] = translated.warnings  # a value, kept with the page (a cached page reports it too)
    assert warning.path == str(path) and "unsafe URL" in warning.message


def test_html_in_translation_is_escaped(tmp_path):
    module = make_module()
    write_catalog(
        catalog_path(tmp_path, "zh", module.rel_path),
        {"Layer": ("The layer class.", "层的<b>类</b>。", False)},
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert "Layer" not in fallback
    assert translated.sections[0].docs == "层的&lt;b>类&lt;/b>。"


def test_broken_catalog_is_a_build_error_with_its_line(tmp_path):
    module = make_module()
    path = catalog_path(tmp_path, "zh", module.rel_path)
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n\nmsgctxt "title"\nmsgid "A layer"\nmsgstr "x\n')
    with pytest.raises(BuildError) as error:
        translate_module(module, "zh", tmp_path)
    assert str(error.value).startswith(f"{path}:6: malformed PO line")


def test_ui_translations():
    warnings: list[BuildError] = []
    zh = ui_translations("zh", None, warnings)
    assert zh.gettext("Home") == "首页"
    assert zh.gettext("Not a UI string") == "Not a UI string"
    assert ui_translations("en", None, warnings).gettext("Home") == "Home"
    assert warnings == []


def test_ui_catalog_warnings_are_collected(tmp_path):
    path = tmp_path / "fr" / "LC_MESSAGES" / "site_builder.po"
    path.parent.mkdir(parents=True)
    path.write_text(UNREADABLE_PREVIOUS_UI)
    warnings: list[BuildError] = []
    assert ui_translations("fr", tmp_path, warnings).gettext("Home") == "Accueil"
    assert [str(w) for w in warnings] == [f"{path}:4: {UNREADABLE_PREVIOUS}"]


def test_project_catalog_overrides_shipped_ui_strings(tmp_path):
    catalog = polib.POFile()
    catalog.metadata = {"Content-Type": "text/plain; charset=utf-8"}
    catalog.append(polib.POEntry(msgid="Home", msgstr="主页"))
    path = tmp_path / "zh" / "LC_MESSAGES" / "site_builder.po"
    path.parent.mkdir(parents=True)
    catalog.save(str(path))
    zh = ui_translations("zh", tmp_path, [])
    assert zh.gettext("Home") == "主页"
    assert zh.gettext("View code") == "查看代码"  # still from the shipped catalog


def test_an_unterminated_string_anywhere_is_a_build_error_with_its_line(tmp_path):
    path = tmp_path / "p.po"
    for broken, line in [
        ('msgctxt "t"\nmsgid "A"\nmsgstr ""\n"x\\"\n', 7),  # ends in an escaped quote
        ('msgctxt "t\nmsgid "A"\nmsgstr "x"\n', 4),
        ('#~ msgid "A"\n#~ msgstr "x\n', 5),
    ]:
        path.write_text(f'msgid ""\nmsgstr "Language: zh\\n"\n\n{broken}')
        with pytest.raises(BuildError) as error:
            read_catalog(path, [])
        assert str(error.value).startswith(f"{path}:{line}: malformed PO line"), error.value


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('msgid "A"\nfoo bar\nmsgstr "x"\n', 5),  # no such keyword
        ('msgid "A" x\nmsgstr "x"\n', 4),  # text after the string
        ('msgid "A"\n\nmsgid "B"\nmsgstr "x"\n', 6),  # an entry without msgstr
    ],
)
def test_a_malformed_catalog_is_one_error_with_its_line(tmp_path, text, line):
    path = tmp_path / "p.po"
    path.write_text(f'msgid ""\nmsgstr "Language: zh\\n"\n\n{text}')
    with pytest.raises(BuildError) as error:
        read_catalog(path, [])
    assert str(error.value).startswith(f"{path}:{line}: "), error.value


def test_an_unreadable_file_is_a_build_error(tmp_path):
    path = tmp_path / "p.po"
    path.write_bytes(b'msgid ""\nmsgstr "\xff"\n')
    with pytest.raises(BuildError) as error:
        read_catalog(path, [])
    assert str(error.value).startswith(f"{path}: cannot read")


PREVIOUS_FORMS = """\
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\\n"

#, fuzzy
#| msgctxt "gnu"
#| msgid ""
#| "## Old\\n"
#| "\\n"
#| "Same  \\"text\\"\\n"
#| "\\n"
msgctxt "gnu"
msgid "New"
msgstr "新"

#, fuzzy
#| msgid "" "## Old\\n" "\\n" "Same  \\"text\\"\\n"
#| "\\n"
msgctxt "babel"
msgid "New"
msgstr "新"

#, fuzzy
#| msgid "unterminated
msgctxt "broken"
msgid "New"
msgstr "新"

#~| msgid "Older"
#~ msgctxt "gone"
#~ msgid "Old"
#~ msgstr "旧"
"""


UNREADABLE_PREVIOUS = "ignoring the unreadable previous msgid (#|)"
UNREADABLE_PREVIOUS_UI = """\
msgid ""
msgstr "Content-Type: text/plain; charset=UTF-8\\n"

#| msgid "Home" "page"
msgid "Home"
msgstr "Accueil"
"""


def test_previous_msgids_are_read_and_unreadable_ones_left_out(tmp_path):
    """GNU gettext's `#|` lines are read; lines polib cannot read (Babel's several strings on a
    line, an unterminated string) only lose the hint, with a warning."""
    path = tmp_path / "p.po"
    path.write_text(PREVIOUS_FORMS)
    warnings: list[BuildError] = []
    catalog = read_catalog(path, warnings)
    entries = {entry.msgctxt: entry for entry in catalog}
    assert entries["gnu"].previous_msgid == '## Old\n\nSame  "text"\n\n'  # "\n" lines kept
    assert entries["gnu"].previous_msgctxt == "gnu"
    assert entries["babel"].previous_msgid is None and entries["broken"].previous_msgid is None
    assert all(entries[key].fuzzy and entries[key].msgstr == "新" for key in ("babel", "broken"))
    assert [(w.line, w.message) for w in warnings] == [(16, UNREADABLE_PREVIOUS)] + [
        (23, UNREADABLE_PREVIOUS)
    ]
    assert entries["gone"].obsolete and entries["gone"].msgstr == "旧"


def test_msgstr_lines_map_each_line_of_a_translation_to_its_po_line(tmp_path):
    path = tmp_path / "p.po"
    path.write_text(
        'msgid ""\nmsgstr "Language: zh\\n"\n\n'  # the header: lines 1-2
        'msgctxt "a"\nmsgid "One."\nmsgstr "一 \\"引\\"。"\n\n'  # msgstr on line 6
        '#. a note\nmsgctxt "b"\nmsgid ""\n"x\\n"\n"y"\nmsgstr ""\n"第一行，"\n"折行。\\n"\n"\\n"\n'
        '"第三行 [x](y.html)"\n\n'  # the entry starts on line 8, its msgstr on 13
        '#~ msgctxt "old"\n#~ msgid "Old."\n#~ msgstr "旧。"\n'
    )
    lines = path.read_text().splitlines()
    found = {entry.msgctxt: msgstr_lines(lines, entry) for entry in read_catalog(path, [])}
    assert found == {"a": (6,), "b": (14, 16, 17), "old": ()}


def all_commentary() -> list[str]:
    """Every Markdown text of the project's pages: intros and commentary."""
    from site_builder.config import load_config
    from site_builder.parse import parse_source
    from site_builder.sources import find_sources

    config = load_config(start=Path(__file__).resolve().parents[1])
    texts = []
    for source in find_sources(config):
        module = parse_source(source.path, source.rel_path)
        texts += [module.intro, *(section.docs for section in module.sections)]
    return [text for text in texts if text.strip()]


def test_blocks_put_together_again_are_the_text():
    texts = all_commentary()
    assert len(texts) > 100
    for text in texts:
        blocks = split_blocks(text)
        assert "\n".join(line for b in blocks for line in b.lines(b.text)) == text
        for block in blocks:  # display math and code are not translated, but code comments are
            if block.translatable and block.text.startswith("```"):
                assert "# " in block.text and not block.text.startswith("```python notebook")
            assert not block.translatable or not block.text.startswith("$$")


LIST_PAGE = """\
## Steps

Two steps, each
on its own line:

* **patches in**: a strided convolution,
  one per patch;
* **mixing**: depth-wise, then point-wise.

  More about mixing.
10. numbered

```python notebook
x = 1
```

```bash
make test  # the tests
```

$$
y = x
$$"""


def test_blocks_are_headings_paragraphs_list_items_and_verbatim_code():
    blocks = [(b.translatable, b.marker, b.text) for b in split_blocks(LIST_PAGE) if b.text]
    assert blocks == [
        (True, "", "## Steps"),
        (True, "", "Two steps, each\non its own line:"),
        (True, "* ", "**patches in**: a strided convolution,\none per patch;"),
        (True, "* ", "**mixing**: depth-wise, then point-wise.\n\nMore about mixing."),
        (True, "10. ", "numbered"),
        (False, "", "```python notebook\nx = 1\n```"),
        (True, "", "```bash\nmake test  # the tests\n```"),
        (False, "", "$$\ny = x\n$$"),
    ]


def test_one_changed_block_falls_back_alone_marked_english(tmp_path):
    module = Module(Path("p.md"), "p.md", "", "", LIST_PAGE, 1)
    write_catalog(
        catalog_path(tmp_path, "zh", module.rel_path),
        {
            "1": ("## Steps", "## 步骤", False),
            "2": ("Two steps, each\non its own line:", "两步，\n各占一行：", False),
            "3": (
                "**patches in**: a strided convolution,\none per patch;",
                "**输入**：\n卷积；",
                False,
            ),
            "4": ("**mixing**: old English.\n\nMore about mixing.", "**混合**。\n\n更多。", False),
            "5": ("numbered", "编号", False),
            "6": ("```bash\nmake test  # the tests\n```", "```bash\nmake test  # 测试\n```", False),
        },
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert fallback == ["intro"]
    assert translated.intro == LIST_PAGE.replace(
        "## Steps\n\nTwo steps, each\non its own line:", "## 步骤\n\n两步，\n各占一行："
    ).replace(
        "* **patches in**: a strided convolution,\n  one per patch;", "* **输入**：\n  卷积；"
    ).replace(
        "* **mixing**: depth-wise, then point-wise.\n\n  More about mixing.",
        '* <div lang="en">\n\n  **mixing**: depth-wise, then point-wise.\n\n  More about mixing.'
        "\n\n  </div>",
    ).replace("10. numbered", "10. 编号").replace("# the tests", "# 测试")
    # Warnings about the English lines are blamed on the nearest translation's PO line.
    assert len(translated.origins["intro"].lines) == translated.intro.count("\n") + 1


def test_the_same_english_twice_is_one_key():
    module = Module(Path("p.md"), "p.md", "T", "", "Same.\n\nOther.\n\nSame.", 3)
    entries = module_entries(module)
    assert [(e.key, e.line) for e in entries] == [
        (("title", "T"), 1),
        ((None, "Same."), 3),
        ((None, "Other."), 5),
        ((None, "Same."), 7),
    ]
