"""The committed translations are sound in every configured language (`i18n check` finds nothing
in what is translated, GNU msgfmt accepts every catalog), and complete and current in the
languages the project keeps complete (`complete_languages`): every page uses a translation for
every part (none missing, fuzzy, stale or rejected) and the site's interface is translated. A
change to the English commentary without `i18n update` and a translation fails here. A draft
language (any other) may be partly translated."""

import subprocess
from pathlib import Path

import pytest

from site_builder import i18n, progress
from site_builder.config import load_config
from site_builder.model import BuildError, Module, RenderedModule
from site_builder.page import Crumb, PageContext, PageRenderer
from site_builder.parse import parse_source
from site_builder.paths import page_stem
from site_builder.sources import find_sources
from site_builder.translate import (
    UI_DOMAIN,
    UI_LOCALE_DIR,
    read_catalog,
    translate_module,
    ui_translations,
)

REPO = Path(__file__).resolve().parents[1]
CONFIG = load_config(start=REPO)
LANGUAGES = CONFIG.languages[1:]
COMPLETE = CONFIG.complete_languages


def test_chinese_and_japanese_are_kept_complete():
    assert CONFIG.languages[0] == "en" and {"zh", "ja"} <= set(COMPLETE)


@pytest.mark.parametrize("lang", COMPLETE)
def test_every_page_is_fully_translated_against_the_current_english(lang):
    sources = find_sources(CONFIG)
    assert len(sources) >= 8
    untranslated = {}
    for source in sources:
        module = parse_source(source.path, source.rel_path)
        _, fallback_ids = translate_module(module, lang, CONFIG.locale_dir, CONFIG.languages[0])
        if fallback_ids:
            untranslated[page_stem(source.rel_path)] = fallback_ids
    assert not untranslated, f"English shown on {lang} pages: {untranslated}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_translation_passes_the_checks(lang):
    warnings: list[BuildError] = []
    problems = i18n.check(CONFIG, [lang], warnings)
    assert problems == [], "\n".join(problems)
    assert warnings == []


@pytest.mark.parametrize("lang", COMPLETE)
def test_the_catalogs_of_a_complete_language_have_nothing_fuzzy_or_missing(lang):
    warnings: list[BuildError] = []
    rows = progress.language_progress(CONFIG, lang, warnings)
    assert rows and all(row.fuzzy == 0 and row.missing == 0 for row in rows), rows
    assert lang not in progress.drafts(CONFIG, rows) and warnings == []


@pytest.mark.parametrize("lang", COMPLETE)
def test_every_template_string_is_translated(lang):
    strings = i18n.ui_strings()
    assert "Toggle theme" in strings
    folders = (UI_LOCALE_DIR, CONFIG.locale_dir)
    paths = [p for f in folders if (p := f / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po").is_file()]
    catalogs = [read_catalog(path, []) for path in paths]
    assert catalogs, f"no catalog of the site's interface in {lang}"

    def translated(string: str) -> bool:
        return any((e := c.find(string)) and e.msgstr and not e.fuzzy for c in catalogs)

    assert [s for s in strings if not translated(s)] == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_msgfmt_accepts_every_catalog(lang):
    paths = sorted((CONFIG.locale_dir / lang / "LC_MESSAGES").rglob("*.po"))
    paths += sorted((UI_LOCALE_DIR / lang / "LC_MESSAGES").glob("*.po"))
    assert paths
    for path in paths:
        command = ["msgfmt", "-c", "--check-format", "-o", "/dev/null", str(path)]
        result = subprocess.run(command, capture_output=True, text=True)
        assert result.returncode == 0 and "warning" not in result.stderr, f"{path}: {result.stderr}"


@pytest.mark.parametrize("lang", COMPLETE)
def test_a_partly_translated_page_says_so_in_its_language(lang):
    english = "This page is partly untranslated or outdated; the English text is shown instead."
    notice = ui_translations(lang, CONFIG.locale_dir, []).gettext(english)
    assert notice != english
    renderer = PageRenderer(CONFIG, lambda code: ui_translations(code, CONFIG.locale_dir, []))
    module = RenderedModule(Module(None, "x.py", "X", "", "", 0), "<p>x</p>")
    ctx = PageContext(f"{lang}/x.html", lang, module, [Crumb(None)], fallback=True)
    page = renderer.module_page(ctx)
    assert f'<html lang="{lang}">' in page and notice in page and english not in page
