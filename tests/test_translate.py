"""The translate stage: PO lookup by msgctxt, fallback rules, mtime cache, UI strings."""

import logging
import os
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import write_po

from site_builder.model import BuildError, Module, Section
from site_builder.translate import (
    msgstr_lines,
    page_path,
    po_path,
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
    """entries: msgctxt -> (msgid, msgstr, fuzzy)."""
    catalog = Catalog(locale="zh", fuzzy=False)
    for context, (msgid, msgstr, fuzzy) in entries.items():
        catalog.add(msgid, msgstr, context=context, flags=["fuzzy"] if fuzzy else [])
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as file:
        write_po(file, catalog)


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
def test_page_path(rel_path, expected):
    assert page_path(rel_path) == expected


def test_page_path_rejects_other_files():
    with pytest.raises(ValueError):
        page_path("data.json")


def test_source_language_is_unchanged(tmp_path):
    module = make_module()
    assert translate_module(module, "en", tmp_path) == (module, [])


def test_missing_catalog_falls_back_everywhere(tmp_path):
    module = make_module()
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert fallback == ["title", "summary", "intro", "Layer", "Layer.forward-1"]
    assert translated.title == "A layer"
    assert translate_module(module, "zh", None)[1] == fallback


def test_translated_missing_empty_fuzzy_and_stale(tmp_path):
    module = make_module()
    write_catalog(
        po_path(tmp_path, "zh", module.rel_path),
        {
            "title": ("A layer", "一层", False),
            "summary": ("What a layer does.", "", False),  # empty
            "intro": ("# A layer\n\nSome $x^2$ math.", "# 一层\n\n一些 $x^2$ 数学。", False),
            "Layer": ("The layer class.", "层的类。", True),  # fuzzy
            "Layer.forward-1": ("Add the old input.", "加上输入。", False),  # English changed
        },
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert fallback == ["summary", "Layer", "Layer.forward-1"]
    assert translated.title == "一层"
    assert translated.intro == "# 一层\n\n一些 $x^2$ 数学。"
    assert translated.summary == module.summary
    assert [s.docs for s in translated.sections] == [s.docs for s in module.sections]
    assert [s.code for s in translated.sections] == [s.code for s in module.sections]
    assert module.title == "A layer"  # the input is not modified


def test_catalog_is_reloaded_when_it_changes(tmp_path):
    module = make_module()
    path = po_path(tmp_path, "zh", module.rel_path)
    write_catalog(path, {"title": ("A layer", "一层", False)})
    assert translate_module(module, "zh", tmp_path)[0].title == "一层"
    write_catalog(path, {"title": ("A layer", "一个层", False)})
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert translate_module(module, "zh", tmp_path)[0].title == "一个层"


def test_section_ids_are_the_keys_not_positions(tmp_path):
    module = make_module()
    write_catalog(
        po_path(tmp_path, "zh", module.rel_path),
        {"Layer.forward-1": ("Add the input.", "加上输入。", False)},
    )
    module.sections.insert(0, Section("helper", "docstring", "helper", "New text.", 5))
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert translated.sections[2].docs == "加上输入。"
    assert "helper" in fallback


def test_unsafe_translation_falls_back_with_a_warning(tmp_path, caplog):
    module = make_module()
    path = po_path(tmp_path, "zh", module.rel_path)
    write_catalog(
        path, {"Layer": ("The layer class.", "![x](data:image/png;base64,AAAA) 层", False)}
    )
    with caplog.at_level(logging.WARNING):
        translated, fallback = translate_module(module, "zh", tmp_path)
    assert "Layer" in fallback
    assert translated.sections[0].docs == "The layer class."
    assert f"{path}:" in caplog.text and "unsafe URL" in caplog.text


def test_html_in_translation_is_escaped(tmp_path):
    module = make_module()
    write_catalog(
        po_path(tmp_path, "zh", module.rel_path),
        {"Layer": ("The layer class.", "层的<b>类</b>。", False)},
    )
    translated, fallback = translate_module(module, "zh", tmp_path)
    assert "Layer" not in fallback
    assert translated.sections[0].docs == "层的&lt;b>类&lt;/b>。"


def test_broken_catalog_is_a_build_error_with_its_line(tmp_path):
    module = make_module()
    path = po_path(tmp_path, "zh", module.rel_path)
    path.parent.mkdir(parents=True)
    path.write_text('msgid ""\nmsgstr ""\n\nmsgctxt "title"\nmsgid "A layer"\nmsgstr "x\n')
    with pytest.raises(BuildError) as error:
        translate_module(module, "zh", tmp_path)
    assert str(error.value).startswith(f"{path}:6: malformed PO line")


def test_ui_translations():
    zh = ui_translations("zh")
    assert zh.gettext("Home") == "首页"
    assert zh.gettext("Not a UI string") == "Not a UI string"
    assert ui_translations("en").gettext("Home") == "Home"


def test_project_catalog_overrides_shipped_ui_strings(tmp_path):
    catalog = Catalog(locale="zh", fuzzy=False)
    catalog.add("Home", "主页")
    path = tmp_path / "zh" / "LC_MESSAGES" / "site_builder.po"
    path.parent.mkdir(parents=True)
    with open(path, "wb") as file:
        write_po(file, catalog)
    zh = ui_translations("zh", tmp_path)
    assert zh.gettext("Home") == "主页"
    assert zh.gettext("View code") == "查看代码"  # still from the shipped catalog


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


def test_previous_msgids_in_gnu_and_babel_layouts(tmp_path, caplog):
    path = tmp_path / "p.po"
    path.write_text(PREVIOUS_FORMS)
    from site_builder.translate import read_catalog

    with caplog.at_level(logging.WARNING, logger="site_builder.translate"):
        catalog = read_catalog(path)
    old = '## Old\n\nSame  "text"\n\n'  # the repeated "\n" lines are kept (Babel dedupes comments)
    assert catalog.get("New", context="gnu").previous_id == [old]
    assert catalog.get("New", context="babel").previous_id == [old]
    assert catalog.get("New", context="broken").previous_id == []
    assert f"{path}:23: ignoring the unreadable previous msgid" in caplog.text
    assert catalog.obsolete[("Old", "gone")].previous_id == ["Older"]
    assert not any(m.user_comments for m in [*catalog, *catalog.obsolete.values()])


def test_msgstr_lines_map_each_line_of_a_translation_to_its_po_line():
    po = (
        'msgid ""\nmsgstr "Language: zh\\n"\n\n'  # the header: lines 1-2
        'msgctxt "a"\nmsgid "One."\nmsgstr "一 \\"引\\"。"\n\n'  # msgid on line 5
        'msgctxt "b"\nmsgid ""\n"x\\n"\n"y"\nmsgstr ""\n"第一行，"\n"折行。\\n"\n"\\n"\n'
        '"第三行 [x](y.html)"\n\n'  # msgid on line 9, msgstr on 12
        '#~ msgctxt "old"\n#~ msgid "Old."\n#~ msgstr "旧。"\n'
    )
    assert msgstr_lines(po) == {1: (2,), 5: (6,), 9: (13, 15, 16)}
