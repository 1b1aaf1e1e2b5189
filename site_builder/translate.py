"""Translate stage: replace a module's commentary with a language's gettext translations.

Each page has one PO catalog per language, at `paths.catalog_path`:
`<locale_dir>/<lang>/LC_MESSAGES/<page stem>.po`, read with polib.

An entry is found by its English (msgid), as gettext finds it: the plain-text title and summary
(msgctxt "title", "summary"), and each block of the Markdown texts (the intro, each section's
commentary; see `split_blocks`). A block's translation is used only if it is translated, not
fuzzy and passes the sanitizer; otherwise that block stays English, marked `lang="en"`, and the
text's key ("intro" or the `Section.id`) goes into `fallback_ids`. Title
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
from .pofile import PoText, po_lines

if TYPE_CHECKING:
    from markdown_it.token import Token

    from . import commonmark, sanitize
else:  # only translating a page needs markdown-it; reading the UI catalogs does not
    commonmark = lazy_module("site_builder.commonmark")
    sanitize = lazy_module("site_builder.sanitize")

UI_LOCALE_DIR = Path(__file__).parent / "locale"
UI_DOMAIN = "site_builder"
PLAIN_TEXT = frozenset({"title", "summary"})  # msgctxts shown as text, not rendered as Markdown


@dataclass(frozen=True)
class Entry:
    """One translatable text of a page: its msgctxt (only the plain-text title and summary have
    one), English Markdown, source line and a note for translators."""

    context: str | None
    text: str
    line: int
    note: str

    @property
    def key(self) -> tuple[str | None, str]:
        """What finds its translation in a catalog: (msgctxt, msgid), as gettext does."""
        return self.context, msgid_of(self.text)


def msgid_of(text: str) -> str:
    """The msgid for an English text: surrounding blank lines carry no meaning in Markdown."""
    return text.strip("\n")


@dataclass(frozen=True)
class Block:
    """A top-level piece of Markdown: a translatable block (a paragraph, a heading, one list
    item, a whole table, a block quote, an HTML block, a code fence with comments) or lines kept
    as they are (blank lines, other code, display math, rules). A list item's `text` is its
    content without its `marker`; its other lines are indented by `indent`. `first` is the
    block's line in the whole text."""

    text: str
    first: int
    translatable: bool
    marker: str = ""
    indent: str = ""

    def lines(self, text: str) -> list[str]:
        """`text` (this block's text, or its translation) laid out as the block is."""
        lines = text.split("\n")
        if not self.marker:
            return lines
        rest = [self.indent + line if line.strip() else "" for line in lines[1:]]
        return [self.marker + lines[0], *rest]


_LIST_MARKER = re.compile(r"( {0,3}(?:[*+-]|\d{1,9}[.)]))( *)")
_VERBATIM_TOKENS = frozenset({"fence", "code_block", "math_block", "math_block_label", "hr"})


def split_blocks(markdown: str) -> list[Block]:
    """`markdown` as blocks (see `Block`) whose lines, joined, are `markdown` again."""
    lines = markdown.split("\n")
    found: list[tuple[int, int, str]] = []  # (first line, end line, "item", "text" or "verbatim")
    tokens = commonmark.PARSER.parse(markdown)
    for index, token in enumerate(tokens):
        if token.level != 0 or token.map is None or token.type.endswith("_close"):
            continue
        if token.type in ("bullet_list_open", "ordered_list_open"):
            depth = 0
            for item in tokens[index + 1 :]:
                if item.type == "list_item_open" and depth == 0 and item.map:
                    found.append((item.map[0], item.map[1], "item"))
                depth += item.nesting if item.type.startswith("list_item") else 0
                if item.level == 0 and item.type.endswith("list_close"):
                    break
        else:
            verbatim = token.type in _VERBATIM_TOKENS and not _has_comments(token)
            kind = "verbatim" if verbatim else "text"
            found.append((token.map[0], token.map[1], kind))
    blocks: list[Block] = []
    at = 0
    for first, end, kind in found:
        while end > first + 1 and not lines[end - 1].strip():  # trailing blank lines
            end -= 1
        if first > at:
            blocks.append(Block("\n".join(lines[at:first]), at, False))
        if kind == "item":
            blocks.append(_item(lines[first:end], first))
        else:
            blocks.append(Block("\n".join(lines[first:end]), first, kind == "text"))
        at = end
    if at < len(lines):
        blocks.append(Block("\n".join(lines[at:]), at, False))
    return blocks


_COMMENT = re.compile(r"(?:^|\s)(?:#|//)\s*[^\W\d_]", re.MULTILINE)


def _has_comments(token: "Token") -> bool:
    """Whether a code block holds prose to translate: comments, outside notebook fences (whose
    code the notebook runs, see `notebook_code`)."""
    if token.type != "fence" or tuple(token.info.split()) == NOTEBOOK_FENCE:
        return False
    return bool(_COMMENT.search(token.content))


def _item(lines: list[str], first: int) -> Block:
    """A list item's block: its content, and the marker and indent to lay a translation out."""
    marker = _LIST_MARKER.match(lines[0])
    if marker is None:  # a list item starts with its marker: not reached
        return Block("\n".join(lines), first, True)
    prefix = marker[0] if 1 <= len(marker[2]) <= 4 else marker[1] + " "
    width = len(prefix)
    rest = [line[min(width, len(line) - len(line.lstrip(" "))) :] for line in lines[1:]]
    text = "\n".join([lines[0][len(prefix) :], *rest])
    return Block(text, first, True, prefix, " " * width)


def text_entries(text: str, first_line: int, note: str) -> list[Entry]:
    """The entries of a Markdown text starting at source line `first_line`: one per block."""
    return [
        Entry(None, block.text, first_line + block.first, note)
        for block in split_blocks(text)
        if block.translatable and msgid_of(block.text)
    ]


def module_entries(module: Module) -> list[Entry]:
    """The page's translatable texts in page order, a Markdown text block by block; empty texts
    are skipped. The same English twice is two entries with one key."""
    entries = [
        Entry("title", module.title, 1, "Page title"),
        Entry("summary", module.summary, 1, "Page summary (meta description)"),
    ]
    entries = [entry for entry in entries if msgid_of(entry.text)]
    entries += text_entries(module.intro, module.intro_line, "Page introduction")
    for section in module.sections:
        where = f"in {section.scope}" if section.scope else "at module level"
        note = f"docstring of {section.id}" if section.kind == "docstring" else f"comment {where}"
        entries += text_entries(section.docs, section.docs_line, note)
    return entries


# A line that opens a string: a keyword or a continuation line, also of an obsolete entry (`#~`)
# or of the English a fuzzy entry was translated from (`#|`). It must hold exactly one string:
# polib reads an unterminated string as a shorter one, and several strings on a `#|` line (as
# Babel writes them) as one.
_OPENS_STRING = re.compile(r'(?P<prefix>#~\|?|#\|)?\s*(msg\w+(\[\d+\])?\s+)?"')
_ONE_STRING = re.compile(r'(#~\|?|#\|)?\s*(msg\w+(\[\d+\])?\s+)?"(\\.|[^"\\])*"')
_POLIB_LINE = re.compile(r"\(line (\d+)\)")


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
        catalog = polib.pofile(PoText(text), encoding="utf-8")
    except OSError as error:  # polib's "Syntax error in po file (line N)"
        found = _POLIB_LINE.search(str(error))
        raise BuildError(path, found and int(found[1]), f"invalid PO file: {error}") from None
    for number in unreadable_previous:  # its entry: the last one to start before it
        for entry in [e for e in catalog if (e.linenum or 0) <= number][-1:]:
            entry.previous_msgctxt = entry.previous_msgid = entry.previous_msgid_plural = None
    return catalog


Key = tuple[str | None, str]  # (msgctxt, msgid)


class PageCatalog(NamedTuple):
    """A page's PO file: its current entries by (msgctxt, msgid), and the lines of their msgstrs
    (see `msgstr_lines`)."""

    entries: dict[Key, polib.POEntry]
    lines: dict[Key, tuple[int, ...]]


def _load(path: Path, warnings: list[BuildError], data: bytes | None = None) -> PageCatalog:
    """The page catalog `path`, from `data` (its bytes as read already, b"" when there is no
    file), or else read here, once; empty when there is no file."""
    if data is None:
        data = read_po_bytes(path) if path.is_file() else b""
    if not data:
        return PageCatalog({}, {})
    text = _decode(path, data)
    catalog = _parse(path, text, warnings)
    entries: dict[Key, polib.POEntry] = {
        (e.msgctxt, e.msgid): e for e in catalog if e.msgid and not e.obsolete
    }
    lines = po_lines(text)
    return PageCatalog(entries, {key: msgstr_lines(lines, e) for key, e in entries.items()})


def load_translations(path: Path, warnings: list[BuildError]) -> dict[Key, polib.POEntry]:
    """Entries of a PO file by (msgctxt, msgid), see `Entry.key`; {} if there is no file."""
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


# How a block that stays English says so: a span around the text of a paragraph, a heading or
# a one-paragraph list item (no line added), else a div around the block.
_SPAN, _DIV = '<span lang="{lang}">', '<div lang="{lang}">'
_ATX_HEADING = re.compile(r" {0,3}#{1,6}(?: +|$)")


def _marked_english(block: Block, lang: str) -> tuple[list[str], list[int]]:
    """The English lines of `block`, marked as being in `lang` (see `_SPAN`), and the line of
    the block's text that each comes from."""
    text, count = block.text, block.text.count("\n") + 1
    heading = _ATX_HEADING.match(text)
    if heading and count == 1:
        start, span = heading.end(), bool(text[heading.end() :].strip())
    else:
        start = len(text) - len(text.lstrip())
        tokens = [t.type for t in commonmark.PARSER.parse(text) if t.level == 0]
        span = tokens == ["paragraph_open", "paragraph_close"]
    if span:
        marked = text[:start] + _SPAN.format(lang=lang) + text[start:].rstrip() + "</span>"
        return block.lines(marked), list(range(count))
    marked = _DIV.format(lang=lang) + "\n\n" + text + "\n\n</div>"
    return block.lines(marked), [0, 0, *range(count), count - 1, count - 1]


class _Text(NamedTuple):
    text: str
    fell_back: bool
    lines: tuple[int, ...]  # the source line, or where `translated` the PO line, of each line
    translated: bool  # some of it is


def _translate_text(
    english: str,
    first_line: int,
    source_lang: str,
    catalog: PageCatalog,
    path: Path,
    warnings: list[BuildError],
) -> _Text:
    """`english` (starting at source line `first_line`) with each block's usable translation;
    the others stay English, marked so (see `_marked_english`)."""
    lines: list[str] = []
    source_lines: list[int] = []
    po_lines: list[int | None] = []  # None: an English line
    fell_back = False
    for block in split_blocks(english):
        key = (None, block.text)
        text = usable_translation(catalog.entries.get(key), block.text)
        if block.translatable and text is not None:
            result = sanitize.sanitize_translation(text, block.text)
            if sanitize.parts_of(text).math != sanitize.parts_of(block.text).math:
                result.problems.append("its math differs from the English")
            if notebook_code(text) != notebook_code(block.text):
                result.problems.append(
                    "its notebook code differs from the English (code is never translated)"
                )
            starts = catalog.lines[key] or (catalog.entries[key].linenum or 1,)
            for problem in result.problems:
                warnings.append(BuildError(path, starts[0], f"translation not used: {problem}"))
            if not result.problems:
                laid_out = block.lines(result.text)
                lines += laid_out
                source_lines += [first_line + block.first] * len(laid_out)
                po_lines += [starts[min(n, len(starts) - 1)] for n in range(len(laid_out))]
                continue
        if block.translatable:
            fell_back = True
            laid_out, offsets = _marked_english(block, source_lang)
        else:
            laid_out = block.lines(block.text)
            offsets = list(range(len(laid_out)))
        lines += laid_out
        source_lines += [first_line + block.first + offset for offset in offsets]
        po_lines += [None] * len(laid_out)
    known = [line for line in po_lines if line is not None]
    if not known:
        return _Text("\n".join(lines), fell_back, tuple(source_lines), False)
    blamed, last = [], known[0]  # an English line in a translated text: its nearest translation
    for line in po_lines:
        last = last if line is None else line
        blamed.append(last)
    return _Text("\n".join(lines), fell_back, tuple(blamed), True)


def translate_module(
    module: Module,
    lang: str,
    locale_dir: Path | None,
    source_lang: str = "en",
    catalog: bytes | None = None,
) -> tuple[Module, list[str]]:
    """A copy of `module` in `lang` and the texts ("title", "summary", "intro", section ids)
    of which some part fell back to English (see module docs). A translation not used, and any
    other problem of the catalog, is a warning in the copy's `warnings` (after the module's
    own). `catalog` is the bytes of the page's catalog, as the sources stage read them for the
    page's key (b"" when it has none), so that the page is made from what its key names;
    without them the catalog is read here.

    Without a locale dir (no docs dir configured) every text falls back.
    """
    if lang == source_lang:
        return module, []
    if locale_dir is None:
        keys = ["title", "summary", "intro", *(s.id for s in module.sections)]
        all_texts = [module.title, module.summary, module.intro]
        all_texts += [s.docs for s in module.sections]
        return dataclasses.replace(module, origins={}), [
            key for key, text in zip(keys, all_texts, strict=True) if msgid_of(text)
        ]
    path = catalog_path(locale_dir, lang, module.rel_path)
    warnings: list[BuildError] = []
    loaded = _load(path, warnings, catalog)
    fallback: list[str] = []
    plain: dict[str, str] = {}
    origins: dict[str, TextOrigin] = {}
    for context, english in (("title", module.title), ("summary", module.summary)):
        if not msgid_of(english):
            continue
        found = (context, msgid_of(english))
        text = usable_translation(loaded.entries.get(found), english)
        if text is None:
            fallback.append(context)
        else:
            origins[context] = TextOrigin(path, loaded.lines[found])
        plain[context] = english if text is None else text
    texts: dict[str, str] = {}
    parts = [("intro", module.intro, module.intro_line)]
    parts += [(s.id, s.docs, s.docs_line) for s in module.sections]
    for key, english, first_line in parts:
        if not msgid_of(english):
            continue
        done = _translate_text(english, first_line, source_lang, loaded, path, warnings)
        texts[key] = done.text
        origins[key] = TextOrigin(path if done.translated else module.path, done.lines)
        if done.fell_back:
            fallback.append(key)
    sections = [
        dataclasses.replace(section, docs=texts.get(section.id, section.docs))
        for section in module.sections
    ]
    translated = dataclasses.replace(
        module,
        title=plain.get("title", module.title),
        summary=plain.get("summary", module.summary),
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
