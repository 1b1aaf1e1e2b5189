"""The move to paragraph-sized entries (issue 18) lost and changed no translation.

tests/fixtures/catalogs_before_paragraphs keeps the zh and ja catalogs as they were: one entry per
page part (title, summary, introduction, each block of commentary), keyed by msgctxt. Each old
translation splits into the same blocks as its English, the pieces put together again are the old
translation, and the catalogs hold every piece as the entry of its English block, unless that
English has changed since (then `i18n update` made it fuzzy or obsolete, as for any change). A
translation improved on purpose later changes here too: update its old entry in the fixture.
"""

import re
from pathlib import Path

import polib
import pytest

from site_builder.config import load_config
from site_builder.parse import parse_source
from site_builder.paths import catalog_path
from site_builder.sources import find_sources
from site_builder.translate import PLAIN_TEXT, module_entries, split_blocks

REPO = Path(__file__).resolve().parents[1]
BEFORE = REPO / "tests" / "fixtures" / "catalogs_before_paragraphs"
CONFIG = load_config(start=REPO)
OLD_CATALOGS = sorted(path.relative_to(BEFORE) for path in BEFORE.rglob("*.po"))


def same_blocks(text: str) -> str:
    """`text` with the blank lines between its blocks made alike."""
    return re.sub(r"\n[ \t]*(\n[ \t]*)+", "\n\n", text.strip("\n"))


def pieces(entry: polib.POEntry) -> list[tuple[tuple[str | None, str], str]]:
    """An old entry as new ones: ((msgctxt, English), translation), block by block."""
    if entry.msgctxt in PLAIN_TEXT:
        return [((entry.msgctxt, entry.msgid), entry.msgstr)]
    english = [b.text for b in split_blocks(entry.msgid) if b.translatable]
    translated = [b.text for b in split_blocks(entry.msgstr) if b.translatable]
    assert len(english) == len(translated), f"{entry.msgctxt}: the blocks do not pair up"
    return [((None, msgid), msgstr) for msgid, msgstr in zip(english, translated, strict=True)]


def current_keys() -> dict[Path, set]:
    """Each page's catalog path (relative to the locale dir, as for zh) and its entries' keys."""
    keys = {}
    for source in find_sources(CONFIG):
        entries = module_entries(parse_source(source.path, source.rel_path))
        path = catalog_path(CONFIG.locale_dir, "zh", source.rel_path)
        keys[path.relative_to(CONFIG.locale_dir / "zh")] = {entry.key for entry in entries}
    return keys


CURRENT = current_keys()


def test_the_old_catalogs_are_all_there():
    assert {path.parts[0] for path in OLD_CATALOGS} == {"zh", "ja"}
    assert len(OLD_CATALOGS) == 18


@pytest.mark.parametrize("relative", OLD_CATALOGS, ids=str)
def test_every_old_translation_is_in_the_new_catalog_block_by_block(relative):
    old = polib.pofile(str(BEFORE / relative), encoding="utf-8")
    new = {
        (entry.msgctxt, entry.msgid): entry
        for entry in polib.pofile(str(CONFIG.locale_dir / relative), encoding="utf-8")
        if not entry.obsolete
    }
    current = CURRENT[Path(*relative.parts[1:])]
    pairs = [e for e in old if e.msgstr and not e.fuzzy and not e.obsolete]
    assert pairs
    kept = 0
    for entry in pairs:
        split = dict(pieces(entry))
        if entry.msgctxt not in PLAIN_TEXT:  # the pieces laid out as the English: the old text
            lines = []
            for block in split_blocks(entry.msgid):
                text = split[None, block.text] if block.translatable else block.text
                lines += block.lines(text)
            assert same_blocks("\n".join(lines)) == same_blocks(entry.msgstr), entry.msgctxt
        for key, translation in split.items():
            if key in current:
                assert (new[key].msgstr, new[key].fuzzy) == (translation, False), key
                kept += 1
    assert kept >= len(pairs)  # most of the English is still there
