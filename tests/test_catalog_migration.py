"""The move to paragraph-sized entries (issue 18) lost and changed no translation: every English ->
translation pair of the zh and ja catalogs as they were (kept in tests/fixtures/
catalogs_before_paragraphs, one entry per page part, keyed by msgctxt) is in today's catalogs, one
entry per block of its English, and those entries' translations put together are the old one."""

import re
from pathlib import Path

import polib
import pytest

from site_builder.translate import PLAIN_TEXT, split_blocks

REPO = Path(__file__).resolve().parents[1]
BEFORE = REPO / "tests" / "fixtures" / "catalogs_before_paragraphs"
NOW = REPO / "docs_src" / "locale"
OLD_CATALOGS = sorted(path.relative_to(BEFORE) for path in BEFORE.rglob("*.po"))


def same_blocks(text: str) -> str:
    """`text` with the blank lines between its blocks made alike."""
    return re.sub(r"\n[ \t]*(\n[ \t]*)+", "\n\n", text.strip("\n"))


def test_the_old_catalogs_are_all_there():
    assert {path.parts[0] for path in OLD_CATALOGS} == {"zh", "ja"}
    assert len(OLD_CATALOGS) == 18


@pytest.mark.parametrize("relative", OLD_CATALOGS, ids=str)
def test_every_old_translation_is_in_the_new_catalog_block_by_block(relative):
    old = polib.pofile(str(BEFORE / relative), encoding="utf-8")
    new = {
        (entry.msgctxt, entry.msgid): entry
        for entry in polib.pofile(str(NOW / relative), encoding="utf-8")
        if not entry.obsolete
    }
    pairs = [e for e in old if e.msgstr and not e.fuzzy and not e.obsolete]
    assert pairs
    for entry in pairs:
        if entry.msgctxt in PLAIN_TEXT:
            found = new[entry.msgctxt, entry.msgid]
            assert (found.msgstr, found.fuzzy) == (entry.msgstr, False)
            continue
        blocks = split_blocks(entry.msgid)
        lines = []
        for block in blocks:
            if not block.translatable:
                lines += block.lines(block.text)
                continue
            found = new[None, block.text]  # every block of the English has its entry...
            assert not found.fuzzy and found.msgstr
            lines += block.lines(found.msgstr)
        # ... and their translations, laid out as the English is, are the old translation.
        assert same_blocks("\n".join(lines)) == same_blocks(entry.msgstr), entry.msgctxt
