"""PO files written the way GNU gettext writes them (msgcat, msgmerge, and so Poedit), so that an
editor's save and `site-builder i18n update` leave each other's output alone.

`format_catalog` lays out each entry as GNU gettext 0.21 does: comments in the order translator
(`#`), extracted (`#.`), locations (`#:`), flags (`#,`), previous strings (`#|`); strings wrapped
to 79 columns at the places where Unicode line breaking (UAX #14) allows a break, after each
`\\n`, with `msgid ""` first when a string does not fit on its keyword's line or has a newline
before its end; obsolete entries as `#~`. An entry that the file being replaced already holds,
with the same content, keeps its bytes as they are there, however the editor laid it out.
"""

import re
import unicodedata

import polib

WIDTH = 79
_LINE_END = re.compile(r"\r\n|\r|\n")


def po_lines(text: str) -> list[str]:
    """The lines of a PO file, as gettext reads them: only `\n` and `\r` end one. (A string in
    a PO file may hold U+2028, U+0085, U+001E, a form feed... as they are, and str.splitlines
    ends a line at each.)"""
    lines = _LINE_END.split(text)
    return lines[:-1] if lines and not lines[-1] else lines


class PoText(str):
    """PO text that polib (which calls `splitlines()`, never with `keepends`) reads line by line
    as gettext does."""

    def splitlines(self, keepends: bool = False) -> list[str]:
        return po_lines(self)


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r", "\a": "\\a"}
_ESCAPES |= {"\b": "\\b", "\f": "\\f", "\v": "\\v"}

# Unicode line breaking (UAX #14, the pair table of Unicode 5.2 that GNU gettext's libunistring
# follows) for the classes that occur in our texts: "_" a break is allowed between the two
# classes, "%" only after spaces, "^" never.
_CLASSES = [
    "OP",
    "CL",
    "CP",
    "QU",
    "GL",
    "NS",
    "EX",
    "SY",
    "IS",
    "PR",
    "PO",
    "NU",
    "AL",
    "ID",
    "IN",
    "HY",
    "BA",
    "BB",
    "B2",
]
_PAIRS = {
    before: dict(zip(_CLASSES, row.split(), strict=True))
    for before, row in (
        ("OP", "^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^ ^"),
        ("CL", "_ ^ ^ % % ^ ^ ^ ^ % % _ _ _ _ % % _ _"),
        ("CP", "_ ^ ^ % % ^ ^ ^ ^ % % % % _ _ % % _ _"),
        ("QU", "^ ^ ^ % % % ^ ^ ^ % % % % % % % % % %"),
        ("GL", "% ^ ^ % % % ^ ^ ^ % % % % % % % % % %"),
        ("NS", "_ ^ ^ % % % ^ ^ ^ _ _ _ _ _ _ % % _ _"),
        ("EX", "_ ^ ^ % % % ^ ^ ^ _ _ _ _ _ _ % % _ _"),
        ("SY", "_ ^ ^ % % % ^ ^ ^ _ _ % _ _ _ % % _ _"),
        ("IS", "_ ^ ^ % % % ^ ^ ^ _ _ % _ _ _ % % _ _"),
        ("PR", "% ^ ^ % % % ^ ^ ^ _ _ % % % _ % % _ _"),
        ("PO", "% ^ ^ % % % ^ ^ ^ _ _ % % _ _ % % _ _"),
        ("NU", "% ^ ^ % % % ^ ^ ^ % % % % _ % % % _ _"),
        ("AL", "% ^ ^ % % % ^ ^ ^ % % % % _ % % % _ _"),
        ("ID", "_ ^ ^ % % % ^ ^ ^ _ % _ _ _ % % % _ _"),
        ("IN", "_ ^ ^ % % % ^ ^ ^ _ _ _ _ _ % % % _ _"),
        ("HY", "_ ^ ^ % % % ^ ^ ^ _ _ % _ _ _ % % _ _"),
        ("BA", "_ ^ ^ % % % ^ ^ ^ _ _ _ _ _ _ % % _ _"),
        ("BB", "% ^ ^ % % % ^ ^ ^ % % % % % % % % % %"),
        ("B2", "_ ^ ^ % % % ^ ^ ^ _ _ _ _ _ _ % % _ ^"),
    )
}
_CLASS_OF = {
    **dict.fromkeys("([{（［｛「『【《〈〔〖", "OP"),
    **dict.fromkeys("}、。，．」』】》〉〕〗｝）］", "CL"),
    **dict.fromkeys(")]", "CP"),
    **dict.fromkeys("\"'‘’“”«»", "QU"),
    **dict.fromkeys("\u00a0\u2007\u202f\u2060", "GL"),
    **dict.fromkeys("々〻ー・ゝゞヽヾ〜：；ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ", "NS"),
    **dict.fromkeys("!?！？", "EX"),
    **dict.fromkeys("/", "SY"),
    **dict.fromkeys(",.:;", "IS"),
    **dict.fromkeys("$+\\£¥€", "PR"),
    **dict.fromkeys("%°‰′″", "PO"),
    **dict.fromkeys("…‥", "IN"),
    **dict.fromkeys("-", "HY"),
    **dict.fromkeys("|\t\u3000\u2010\u2013", "BA"),
    **dict.fromkeys("—", "B2"),
}


def _line_class(char: str) -> str:
    if char == " ":
        return "SP"
    if found := _CLASS_OF.get(char):
        return found
    if char.isdigit() and char.isascii():
        return "NU"
    return "ID" if unicodedata.east_asian_width(char) in ("W", "F") else "AL"


def _width(char: str) -> int:
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def escape(text: str) -> str:
    return "".join(_ESCAPES.get(char, char) for char in text)


def _break_points(text: str) -> set[int]:
    """The indexes of `text` before which a line may break."""
    points, before, spaces = set(), "", False
    for index, char in enumerate(text):
        cls = _line_class(char)
        if cls == "SP":
            spaces = bool(before)
            continue
        if before:
            rule = _PAIRS[before].get(cls, "%")
            if cls == "OP" and before in ("AL", "NU", "CP") and _width(char) == 2:
                rule = "_"  # only a narrow bracket sticks to a word (LB30)
            if rule == "_" or rule == "%" and spaces:
                points.add(index)
        before, spaces = cls, False
    return points


def _portions(text: str) -> list[str]:
    """`text` cut after each newline."""
    parts = re.findall(r"[^\n]*\n|[^\n]+$", text)
    return parts or [""]


def _wrap_portion(portion: str, width: int) -> list[str]:
    """One portion's escaped lines, each with its quotes at most `width` columns wide where a
    break allows."""
    points = _break_points(portion.rstrip("\n"))
    lines: list[str] = []
    current: list[str] = []  # escaped characters
    columns = 2  # the quotes
    last_break = None  # index into `current` where a break is allowed
    for index, char in enumerate(portion):
        if index in points:
            last_break = len(current)
        escaped = _ESCAPES.get(char, char)
        size = len(escaped) if escaped != char else _width(char)
        if columns + size > width and last_break:
            lines.append("".join(current[:last_break]))
            current = current[last_break:]
            columns = 2 + sum(_columns(piece) for piece in current)
            last_break = None
        current.append(escaped)
        columns += size
    lines.append("".join(current))
    return lines


def _columns(piece: str) -> int:
    return len(piece) if piece.startswith("\\") else sum(_width(c) for c in piece)


def format_string(keyword: str, text: str, prefix: str = "") -> list[str]:
    """The lines of `keyword "text"` (a string of a `prefix` comment such as `#| `)."""
    escaped = escape(text)
    first = f'{prefix}{keyword} "{escaped}"'
    if "\n" not in text[:-1] and _columns_of(first) <= WIDTH:
        return [first]
    lines = [f'{prefix}{keyword} ""']
    for portion in _portions(text):
        lines += [f'{prefix}"{line}"' for line in _wrap_portion(portion, WIDTH - len(prefix))]
    return lines


def _columns_of(line: str) -> int:
    return sum(_width(char) for char in line)


def _comment_lines(marker: str, text: str) -> list[str]:
    return [f"{marker} {line}".rstrip() if line else marker for line in text.split("\n")]


def _locations(occurrences: list[tuple[str, str]]) -> list[str]:
    lines: list[str] = []
    current = "#:"
    for file, line in occurrences:
        item = f"{file}:{line}" if line else file
        if current != "#:" and len(current) + 1 + len(item) > WIDTH:
            lines.append(current)
            current = "#:"
        current += " " + item
    return [*lines, current] if current != "#:" else lines


def format_entry(entry: polib.POEntry) -> list[str]:
    """The lines of one entry (see module docs)."""
    lines: list[str] = []
    if entry.tcomment:
        lines += _comment_lines("#", entry.tcomment)
    if entry.comment and not entry.obsolete:
        lines += _comment_lines("#.", entry.comment)
    if entry.occurrences and not entry.obsolete:
        lines += _locations(entry.occurrences)
    if entry.flags:
        lines.append("#, " + ", ".join(entry.flags))
    obsolete = "#~ " if entry.obsolete else ""
    for keyword, value in (("msgctxt", entry.previous_msgctxt), ("msgid", entry.previous_msgid)):
        if value is not None:
            lines += format_string(keyword, value, f"{obsolete}#| " if not obsolete else "#~| ")
    if entry.msgctxt is not None:
        lines += format_string("msgctxt", entry.msgctxt, obsolete)
    lines += format_string("msgid", entry.msgid, obsolete)
    if entry.msgid_plural:
        lines += format_string("msgid_plural", entry.msgid_plural, obsolete)
        for index in sorted(entry.msgstr_plural):
            lines += format_string(f"msgstr[{index}]", entry.msgstr_plural[index], obsolete)
    else:
        lines += format_string("msgstr", entry.msgstr, obsolete)
    return lines


def _content(entry: polib.POEntry) -> tuple:
    """Everything about an entry that its lines show."""
    return (
        entry.obsolete,
        entry.tcomment,
        None if entry.obsolete else entry.comment,
        None if entry.obsolete else tuple(map(tuple, entry.occurrences)),
        tuple(entry.flags),
        entry.previous_msgctxt,
        entry.previous_msgid,
        entry.msgctxt,
        entry.msgid,
        entry.msgid_plural,
        entry.msgstr,
        tuple(sorted(entry.msgstr_plural.items())),
    )


def _header(catalog: polib.POFile) -> polib.POEntry:
    header = polib.POEntry(
        msgid="", msgstr="".join(f"{k}: {v}\n" for k, v in catalog.metadata.items())
    )
    header.tcomment = catalog.header
    header.flags = ["fuzzy"] if catalog.metadata_is_fuzzy else []
    return header


def _chunks(text: str) -> dict[tuple, str]:
    """The entries of a PO file's text by their content (see `_content`), as they are written."""
    found: dict[tuple, str] = {}
    for chunk in re.split(r"\n(?:[ \t]*\n)+", text.strip("\n")):
        try:
            catalog = polib.pofile(PoText(chunk + "\n"), encoding="utf-8")
        except (OSError, ValueError):
            continue
        entries = list(catalog)
        if chunk.lstrip().startswith(("#", "msg")) and len(entries) == 1:
            found.setdefault(_content(entries[0]), chunk)
        elif not entries and catalog.metadata:  # the header alone
            found.setdefault(_content(_header(catalog)), chunk)
    return found


def format_catalog(catalog: polib.POFile, previous: str | None = None) -> str:
    """The text of `catalog`'s PO file; entries that `previous` (the text of the file it
    replaces) holds with the same content keep their lines from it."""
    kept = _chunks(previous) if previous else {}
    chunks = []
    for entry in [_header(catalog), *catalog]:
        content = _content(entry)
        chunks.append(kept.get(content) or "\n".join(format_entry(entry)))
    return "\n\n".join(chunks) + "\n"
