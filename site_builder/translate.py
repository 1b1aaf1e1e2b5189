"""Translate stage: replace a module's commentary with a language's gettext translations.

Each page has one PO catalog per language at `<locale_dir>/<lang>/LC_MESSAGES/<page path>.po`.
The page path is the page's site path without extension, derived from `Module.rel_path`:
`x/__init__.py` -> `x/index`, `x/y.py` -> `x/y`, `x/readme.md` -> `x/readme`.

Entries are keyed by msgctxt: "title", "summary", "intro", and each `Section.id`. An entry is used
only if it is translated, not fuzzy, its msgid is the current English text, and (Markdown entries)
it passes the sanitizer; otherwise the English stays and the key goes into `fallback_ids`. Title
and summary are plain text, which the templates escape. Code never changes.
"""

import dataclasses
import gettext
import io
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, unescape

from .model import BuildError, Module, TextOrigin
from .sanitize import parts_of, sanitize_translation

log = logging.getLogger(__name__)

UI_LOCALE_DIR = Path(__file__).parent / "locale"
UI_DOMAIN = "site_builder"
PLAIN_TEXT = frozenset({"title", "summary"})  # msgctxts shown as text, not rendered as Markdown


@dataclass(frozen=True)
class Entry:
    """One translatable text of a page: its msgctxt, English Markdown, source line and a note."""

    context: str
    text: str
    line: int
    note: str


def page_path(rel_path: str) -> str:
    """`a/__init__.py` -> `a/index`, `a/x.py` -> `a/x`, `readme.md` -> `readme`."""
    stem, _, suffix = rel_path.replace("\\", "/").rpartition(".")
    if not stem or suffix not in ("py", "md"):
        raise ValueError(f"not a page source: {rel_path!r}")
    folder, _, name = stem.rpartition("/")
    name = "index" if name == "__init__" else name
    return f"{folder}/{name}" if folder else name


def po_path(locale_dir: Path, lang: str, rel_path: str) -> Path:
    return Path(locale_dir) / lang / "LC_MESSAGES" / f"{page_path(rel_path)}.po"


def msgid_of(text: str) -> str:
    """The msgid for an English text: surrounding blank lines carry no meaning in Markdown."""
    return text.strip("\n")


def module_entries(module: Module) -> list[Entry]:
    """The page's translatable texts in page order; empty texts are skipped."""
    entries = [
        Entry("title", module.title, 1, "Page title"),
        Entry("summary", module.summary, 1, "Page summary (meta description)"),
        Entry("intro", module.intro, module.intro_line, "Page introduction"),
    ]
    for section in module.sections:
        where = f"in {section.scope}" if section.scope else "at module level"
        note = f"docstring of {section.id}" if section.kind == "docstring" else f"comment {where}"
        entries.append(Entry(section.id, section.docs, section.docs_line, note))
    return [entry for entry in entries if msgid_of(entry.text)]


_PO_LINE = re.compile(
    r'\s*(#.*|(msgctxt|msgid|msgid_plural|msgstr(\[\d+\])?)\s+"(\\.|[^"\\])*"|"(\\.|[^"\\])*")?\s*'
)


_MSGID_LINE = re.compile(r"\s*(#~\s*)?msgid\s")


def read_catalog(path: Path) -> Catalog:
    """Parse a PO file with Babel; a malformed file becomes `BuildError(path, line, ...)`.

    Babel quietly accepts some broken lines (an unterminated string reads as empty), so each line
    is first checked against the PO grammar. Babel also reads `#| msgid` lines (the English a fuzzy
    entry was translated from) as deduplicated comments, so they are collected here, keyed by the
    line of the entry's msgid, and become the entry's `previous_id`.
    """
    try:
        data = path.read_bytes()
        text = data.decode("utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise BuildError(path, None, f"cannot read: {error}") from None
    previous_at: dict[int, tuple[int, list[str]]] = {}  # msgid line -> first `#|` line, lines
    pending: list[str] = []
    first = 0
    for number, line in enumerate(text.splitlines(), 1):
        if not _PO_LINE.fullmatch(line):
            raise BuildError(path, number, f"malformed PO line: {line.strip()[:60]!r}")
        if line.lstrip().startswith(("#|", "#~|")):
            first = first if pending else number
            pending.append(line.partition("|")[2].strip())
        elif _MSGID_LINE.match(line) and pending:
            previous_at[number], pending = (first, pending), []
    # `#~|` (an obsolete entry's previous msgid) is not a keyword Babel knows: read it as `#|`.
    data = re.sub(rb"(?m)^([ \t]*)#~\|", rb"\1#|", data)
    try:
        catalog = read_po(io.BytesIO(data), abort_invalid=True)
    except Exception as error:  # Babel's PoFileError and the like
        line = getattr(error, "lineno", None)
        raise BuildError(path, line, f"invalid PO file: {error}") from None
    for message in [*catalog, *catalog.obsolete.values()]:
        message.user_comments = [c for c in message.user_comments if not c.startswith("|")]
        if message.lineno in previous_at:
            first, lines = previous_at[message.lineno]
            message.previous_id = _previous_id(lines, path, first)
    return catalog


_PREVIOUS_TOKEN = re.compile(r'\s*(?:(msgctxt|msgid_plural|msgid)\b|("(?:\\.|[^"\\])*"))')


def _previous_id(lines: list[str], path: Path, line: int) -> list[str]:
    """The msgid (and msgid_plural) written in an entry's `#|` lines.

    GNU gettext writes one quoted string per line. Babel's own writer joins them and re-wraps the
    result at spaces, so the lines are read as one stream of keywords and strings, joined with the
    space such a wrapper drops. Anything else is ignored with a warning.
    """
    stream, position, keyword = " ".join(lines), 0, None
    strings: dict[str, list[str]] = {}
    while match := _PREVIOUS_TOKEN.match(stream, position):
        position = match.end()
        if match.group(1):
            keyword = match.group(1)
        elif keyword:
            strings.setdefault(keyword, []).append(unescape(match.group(2)))
    if stream[position:].strip() or "msgid" not in strings:
        log.warning("%s:%s: ignoring the unreadable previous msgid (#|)", path, line)
        return []
    return ["".join(strings[key]) for key in ("msgid", "msgid_plural") if key in strings]


_catalogs: dict[Path, tuple[tuple[int, int], dict[str, Message], dict[int, tuple[int, ...]]]] = {}


def _load(path: Path) -> tuple[dict[str, Message], dict[int, tuple[int, ...]]]:
    """A PO file's messages by msgctxt, and `msgstr_lines`; cached per file mtime and size."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return {}, {}
    stamp = (stat.st_mtime_ns, stat.st_size)
    cached = _catalogs.get(path)
    if cached and cached[0] == stamp:
        return cached[1], cached[2]
    by_context = {message.context: message for message in read_catalog(path) if message.context}
    lines = msgstr_lines(path.read_text(encoding="utf-8"))
    _catalogs[path] = (stamp, by_context, lines)
    return by_context, lines


def load_translations(path: Path) -> dict[str, Message]:
    """Messages of a PO file by msgctxt, cached per file mtime and size; {} if there is no file."""
    return _load(path)[0]


_STRING = re.compile(r'\s*("(?:\\.|[^"\\])*")\s*')


def msgstr_lines(text: str) -> dict[int, tuple[int, ...]]:
    """For each entry of a PO file (keyed by its msgid's line, Babel's `Message.lineno`), the
    line on which each line of its msgstr starts, so problems in a translation name that line."""
    found: dict[int, tuple[int, ...]] = {}
    msgid_line, pieces = 0, None
    for number, line in enumerate([*text.split("\n"), ""], 1):  # lines as Babel counts them
        if pieces is not None:
            if string := _STRING.fullmatch(line):
                pieces.append((number, unescape(string.group(1))))
                continue
            found[msgid_line], pieces = _line_starts(pieces), None
        keyword, _, rest = line.strip().partition(" ")
        if keyword == "msgid":
            msgid_line = number
        elif keyword == "msgstr" and (string := _STRING.fullmatch(rest)):
            pieces = [(number, unescape(string.group(1)))]
    return found


def _line_starts(pieces: list[tuple[int, str]]) -> tuple[int, ...]:
    starts, at_start = [], True
    for number, piece in pieces:
        for char in piece:
            if at_start:
                starts.append(number)
            at_start = char == "\n"
    return tuple(starts)


def usable_translation(message: Message | None, english: str) -> str | None:
    """The msgstr if it is translated, not fuzzy and made from the current English; else None."""
    if message is None or message.fuzzy or not isinstance(message.string, str):
        return None
    if not message.string.strip() or message.id != msgid_of(english):
        return None
    return message.string


def translate_module(
    module: Module, lang: str, locale_dir: Path | None, source_lang: str = "en"
) -> tuple[Module, list[str]]:
    """A copy of `module` in `lang` and the keys that fell back to English (see module docs).

    Without a locale dir (no docs dir configured) every text falls back.
    """
    if lang == source_lang:
        return module, []
    path = po_path(locale_dir, lang, module.rel_path) if locale_dir else None
    messages, lines = _load(path) if path else ({}, {})
    texts, fallback, origins = {}, [], {}
    for entry in module_entries(module):
        message = messages.get(entry.context)
        text = usable_translation(message, entry.text)
        if text is not None and entry.context not in PLAIN_TEXT:
            result = sanitize_translation(text, entry.text)
            if parts_of(text).math != parts_of(entry.text).math:
                result.problems.append("its math differs from the English")
            if result.problems:
                for problem in result.problems:
                    log.warning("%s:%s: translation not used: %s", path, message.lineno, problem)
                text = None
            else:
                text = result.text
        if text is None:
            fallback.append(entry.context)
        else:
            texts[entry.context] = text
            origins[entry.context] = TextOrigin(path, lines.get(message.lineno, ()))
    sections = [
        dataclasses.replace(section, docs=texts.get(section.id, section.docs))
        for section in module.sections
    ]
    translated = dataclasses.replace(
        module,
        title=texts.get("title", module.title),
        summary=texts.get("summary", module.summary),
        intro=texts.get("intro", module.intro),
        sections=sections,
        origins=origins,
    )
    return translated, fallback


_ui_cache: dict[tuple[Path, ...], tuple[tuple, gettext.NullTranslations]] = {}


def ui_translations(lang: str, locale_dir: Path | None = None) -> gettext.NullTranslations:
    """Translations of the templates' UI strings, compiled in memory from PO catalogs.

    The catalog shipped in `site_builder/locale/<lang>/LC_MESSAGES/site_builder.po` comes first;
    a project may override or add strings with `<locale_dir>/<lang>/LC_MESSAGES/site_builder.po`.
    A language without any catalog gets null translations (the English strings).
    """
    folders = [UI_LOCALE_DIR] + ([Path(locale_dir)] if locale_dir else [])
    paths = tuple(
        path
        for folder in folders
        if (path := folder / lang / "LC_MESSAGES" / f"{UI_DOMAIN}.po").is_file()
    )
    if not paths:
        return gettext.NullTranslations()
    stamp = tuple((path.stat().st_mtime_ns, path.stat().st_size) for path in paths)
    cached = _ui_cache.get(paths)
    if cached and cached[0] == stamp:
        return cached[1]
    translations = None
    for path in reversed(paths):  # the project's catalog wins over the shipped one
        buffer = io.BytesIO()
        write_mo(buffer, read_catalog(path))
        buffer.seek(0)
        catalog = gettext.GNUTranslations(buffer)
        if translations is None:
            translations = catalog
        else:
            translations.add_fallback(catalog)
    _ui_cache[paths] = (stamp, translations)
    return translations
