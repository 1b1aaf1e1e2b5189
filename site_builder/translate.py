"""Translate stage: replace a module's commentary with a language's gettext translations.

Each page has one PO catalog per language, at `paths.catalog_path`:
`<locale_dir>/<lang>/LC_MESSAGES/<page stem>.po`, read with polib.

Entries are keyed by msgctxt: "title", "summary", "intro", and each `Section.id`. An entry is used
only if it is translated, not fuzzy, its msgid is the current English text, and (Markdown entries)
it passes the sanitizer; otherwise the English stays and the key goes into `fallback_ids`. Title
and summary are plain text, which the templates escape. Code never changes, in any language: a
translation whose notebook fences (```` ```python notebook ````, code cells of the notebook) are
not the English's, verbatim, is not used. A translated text
keeps its origin (`TextOrigin`): the PO file line each of its lines starts on, so problems found
in it later are blamed on the translation.
"""

import dataclasses
import gettext
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import polib

from .lazy import lazy_module
from .model import BuildError, Module, TextOrigin
from .notebook import NOTEBOOK_FENCE
from .paths import catalog_path

if TYPE_CHECKING:
    from . import commonmark, sanitize
else:  # only translating a page needs markdown-it; reading the UI catalogs does not
    commonmark = lazy_module("site_builder.commonmark")
    sanitize = lazy_module("site_builder.sanitize")

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


# A line that opens a string: a keyword or a continuation line, also of an obsolete entry (`#~`)
# or of the English a fuzzy entry was translated from (`#|`). It must hold exactly one string:
# polib reads an unterminated string as a shorter one, and several strings on a `#|` line (as
# Babel writes them) as one.
_OPENS_STRING = re.compile(r'(?P<prefix>#~\|?|#\|)?\s*(msg\w+(\[\d+\])?\s+)?"')
_ONE_STRING = re.compile(r'(#~\|?|#\|)?\s*(msg\w+(\[\d+\])?\s+)?"(\\.|[^"\\])*"')
_POLIB_LINE = re.compile(r"\(line (\d+)\)")
_LINE_END = re.compile(r"\r\n|\r|\n")


def po_lines(text: str) -> list[str]:
    """The lines of a PO file, as gettext reads them: only `\n` and `\r` end one. (A string in
    a PO file may hold U+2028, U+0085, U+001E, a form feed... as they are, and str.splitlines
    ends a line at each.)"""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


class _PoText(str):
    """PO text that polib (which calls `splitlines()`, never with `keepends`) reads line by line
    as gettext does."""

    def splitlines(self, keepends: bool = False) -> list[str]:
        return po_lines(self)


def notebook_code(markdown: str) -> list[str]:
    """The code of each notebook fence in commentary, at any depth (the notebook runs those at
    the top level): what a translation must keep verbatim."""
    if "notebook" not in markdown:  # most commentary: no need to parse it
        return []
    return [
        token.content
        for token in sanitize.walk(commonmark.PARSER.parse(markdown))
        if token.type == "fence" and tuple(token.info.split()) == NOTEBOOK_FENCE
    ]


def read_catalog(path: Path, warnings: list[BuildError]) -> polib.POFile:
    """A PO file, read once with polib (see `parse_catalog`)."""
    return parse_catalog(path, read_po_bytes(path), warnings)


def parse_catalog(path: Path, data: bytes, warnings: list[BuildError]) -> polib.POFile:
    """The PO file `path`, from its bytes `data`, as polib reads it; a malformed file is one
    `BuildError(path, line, ...)`.

    An entry's `linenum` is the line it starts on. An unreadable `#|` string (the English a fuzzy
    entry was translated from, a hint for translators) is left out, with a warning in
    `warnings`."""
    return _parse(path, _decode(path, data), warnings)


def read_po_bytes(path: Path) -> bytes:
    """A PO file's bytes; one `BuildError` when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError as error:
        raise BuildError(path, None, f"cannot read: {error.strerror or error}") from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BuildError(path, None, f"cannot read: {error}") from None


def _parse(path: Path, text: str, warnings: list[BuildError]) -> polib.POFile:
    unreadable_previous = []
    for number, line in enumerate(po_lines(text), 1):  # lines as polib counts them
        line = line.strip()
        if (start := _OPENS_STRING.match(line)) and not _ONE_STRING.fullmatch(line):
            if "|" not in (start["prefix"] or ""):
                raise BuildError(path, number, f"malformed PO line: {line[:60]!r}")
            warnings.append(BuildError(path, number, "ignoring the unreadable previous msgid (#|)"))
            unreadable_previous.append(number)
    try:
        catalog = polib.pofile(_PoText(text), encoding="utf-8")
    except OSError as error:  # polib's "Syntax error in po file (line N)"
        found = _POLIB_LINE.search(str(error))
        raise BuildError(path, found and int(found[1]), f"invalid PO file: {error}") from None
    for number in unreadable_previous:  # its entry: the last one to start before it
        for entry in [e for e in catalog if (e.linenum or 0) <= number][-1:]:
            entry.previous_msgctxt = entry.previous_msgid = entry.previous_msgid_plural = None
    return catalog


class PageCatalog(NamedTuple):
    """A page's PO file: its current entries by msgctxt, and the lines of their msgstrs (see
    `msgstr_lines`)."""

    entries: dict[str, polib.POEntry]
    lines: dict[str, tuple[int, ...]]


def _load(path: Path, warnings: list[BuildError], data: bytes | None = None) -> PageCatalog:
    """The page catalog `path`, from `data` (its bytes as read already, b"" when there is no
    file), or else read here, once; empty when there is no file."""
    if data is None:
        data = read_po_bytes(path) if path.is_file() else b""
    if not data:
        return PageCatalog({}, {})
    text = _decode(path, data)
    catalog = _parse(path, text, warnings)
    entries = {e.msgctxt: e for e in catalog if e.msgctxt and not e.obsolete}
    lines = po_lines(text)
    return PageCatalog(entries, {context: msgstr_lines(lines, e) for context, e in entries.items()})


def load_translations(path: Path, warnings: list[BuildError]) -> dict[str, polib.POEntry]:
    """Entries of a PO file by msgctxt; {} if there is no file."""
    return _load(path, warnings).entries


def msgstr_lines(lines: list[str], entry: polib.POEntry) -> tuple[int, ...]:
    """The line of the PO file (given as `lines`) on which each line of the entry's msgstr
    starts, so problems in a translation name that line, however the editor folded it."""
    numbers = range(entry.linenum or 1, len(lines) + 1)
    first = next((n for n in numbers if lines[n - 1].lstrip().startswith("msgstr")), None)
    if first is None:
        return ()
    starts, at_start = [], True
    for number in range(first, len(lines) + 1):
        string = lines[number - 1].strip()
        if number == first:
            string = string.removeprefix("msgstr").lstrip()
        if not string.startswith('"'):
            break
        for char in polib.unescape(string[1:-1]):
            if at_start:
                starts.append(number)
            at_start = char == "\n"
    return tuple(starts)


def usable_translation(entry: polib.POEntry | None, english: str) -> str | None:
    """The msgstr if it is translated, not fuzzy and made from the current English; else None."""
    if entry is None or entry.fuzzy or not entry.msgstr.strip():
        return None
    return entry.msgstr if entry.msgid == msgid_of(english) else None


def translate_module(
    module: Module,
    lang: str,
    locale_dir: Path | None,
    source_lang: str = "en",
    catalog: bytes | None = None,
) -> tuple[Module, list[str]]:
    """A copy of `module` in `lang` and the keys that fell back to English (see module docs).
    A translation not used, and any other problem of the catalog, is a warning in the copy's
    `warnings` (after the module's own). `catalog` is the bytes of the page's catalog, as the
    sources stage read them for the page's key (b"" when it has none), so that the page is made
    from what its key names; without them the catalog is read here.

    Without a locale dir (no docs dir configured) every text falls back.
    """
    if lang == source_lang:
        return module, []
    if locale_dir is None:
        return dataclasses.replace(module, origins={}), [e.context for e in module_entries(module)]
    path = catalog_path(locale_dir, lang, module.rel_path)
    warnings: list[BuildError] = []
    messages, lines = _load(path, warnings, catalog)
    texts: dict[str, str] = {}
    fallback: list[str] = []
    origins: dict[str, TextOrigin] = {}
    for entry in module_entries(module):
        message = messages.get(entry.context)
        text = usable_translation(message, entry.text)
        if text is not None and message is not None and entry.context not in PLAIN_TEXT:
            result = sanitize.sanitize_translation(text, entry.text)
            if sanitize.parts_of(text).math != sanitize.parts_of(entry.text).math:
                result.problems.append("its math differs from the English")
            if notebook_code(text) != notebook_code(entry.text):
                result.problems.append(
                    "its notebook code differs from the English (code is never translated)"
                )
            if result.problems:
                line = (lines[entry.context] or (message.linenum,))[0]
                for problem in result.problems:
                    warnings.append(BuildError(path, line, f"translation not used: {problem}"))
                text = None
            else:
                text = result.text
        if text is None:
            fallback.append(entry.context)
        else:
            texts[entry.context] = text
            origins[entry.context] = TextOrigin(path, lines[entry.context])
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
        warnings=[*module.warnings, *warnings],
    )
    return translated, fallback


def ui_translations(
    lang: str, locale_dir: Path | None, warnings: list[BuildError]
) -> gettext.NullTranslations:
    """Translations of the templates' UI strings, compiled in memory from PO catalogs (their
    warnings added to `warnings`).

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
    # The project's catalog wins over the shipped one.
    first, *others = [
        gettext.GNUTranslations(io.BytesIO(read_catalog(path, warnings).to_binary()))
        for path in reversed(paths)
    ]
    for catalog in others:
        first.add_fallback(catalog)
    return first
