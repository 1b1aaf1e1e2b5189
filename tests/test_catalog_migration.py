"""The move to paragraph-sized entries (issue 18) lost and changed no translation.

tests/fixtures/catalogs_before_paragraphs keeps the zh and ja catalogs as they were: one entry per
page part (title, summary, introduction, each block of commentary), keyed by msgctxt.
tests/fixtures/catalogs_after_paragraphs.json keeps what the migration made of them: each
catalog's translated entries as [msgctxt, msgid, msgstr], at commit 76ccdb9 (the migration).
Each old translation splits into the same blocks as its English, the pieces put together again
are the old translation, and the migrated catalogs hold every piece, unchanged, as the entry of
its English block. The catalogs have moved on since (the English changed, translations were
improved); that the current ones are complete and correct is tests/test_catalogs.py's job.
"""

import json
import re
from pathlib import Path

import polib
import pytest

from site_builder.translate import PLAIN_TEXT, split_blocks

REPO = Path(__file__).resolve().parents[1]
BEFORE = REPO / "tests" / "fixtures" / "catalogs_before_paragraphs"
AFTER = REPO / "tests" / "fixtures" / "catalogs_after_paragraphs.json"
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


def test_the_old_catalogs_are_all_there():
    assert {path.parts[0] for path in OLD_CATALOGS} == {"zh", "ja"}
    assert len(OLD_CATALOGS) == 18


MIGRATED = json.loads(AFTER.read_text(encoding="utf-8"))


@pytest.mark.parametrize("relative", OLD_CATALOGS, ids=str)
def test_every_old_translation_is_in_the_migrated_catalog_block_by_block(relative):
    old = polib.pofile(str(BEFORE / relative), encoding="utf-8")
    new = {(context, msgid): msgstr for context, msgid, msgstr in MIGRATED[relative.as_posix()]}
    pairs = [e for e in old if e.msgstr and not e.fuzzy and not e.obsolete]
    assert pairs
    for entry in pairs:
        split = dict(pieces(entry))
        if entry.msgctxt not in PLAIN_TEXT:  # the pieces laid out as the English: the old text
            lines = []
            for block in split_blocks(entry.msgid):
                text = split[None, block.text] if block.translatable else block.text
                lines += block.lines(text)
            assert same_blocks("\n".join(lines)) == same_blocks(entry.msgstr), entry.msgctxt
        for key, translation in split.items():
            assert new.get(key) == translation, key
