"""Make untrusted translated Markdown safe for a renderer that passes raw HTML through.

The English source is trusted; a translation is not. Two steps:
1. Escape: every `<` outside code and math becomes `&lt;`, unless it starts a tag (or autolink)
   that appears, character for character, as raw HTML in the English text.
2. Verify on markdown-it tokens: every raw HTML token may hold only those English tags, and every
   link href and image src must be relative, http(s) or mailto (or used by the English).
Step 2 catches whatever step 1's scanner reads differently from markdown-it; a translation that
fails it is reported and must not be used.
Both steps read Markdown with the renderer's dialect (`commonmark.PARSER`).
"""

import re
from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass, field

from markdown_it.token import Token

from .commonmark import PARSER

SAFE_SCHEMES = frozenset({"http", "https", "mailto"})

_ATTRIBUTE = r"""\s+[A-Za-z_:][\w.:-]*(?:\s*=\s*(?:[^\s"'=<>`]+|'[^']*'|"[^"]*"))?"""
TAG_RE = re.compile(
    rf"""<[A-Za-z][A-Za-z0-9-]*(?:{_ATTRIBUTE})*\s*/?>"""  # open tag
    r"|</[A-Za-z][A-Za-z0-9-]*\s*>"  # closing tag
    r"|<!--.*?-->|<\?.*?\?>|<![A-Za-z][^>]*>|<!\[CDATA\[.*?\]\]>"  # comment, PI, declarations
    r"|<[A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*>"  # URI autolink
    r"|<[\w.!#$%&'*+/=?^`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?>",  # email autolink
    re.DOTALL,
)
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n")
_PROTECTED_BLOCKS = {"fence", "code_block", "math_block", "math_block_label"}


@dataclass
class Sanitized:
    """The escaped text, and problems that forbid using it (empty when it is safe)."""

    text: str
    problems: list[str] = field(default_factory=list)


def walk(tokens: list[Token]):
    """Every token, children included, in order."""
    for token in tokens:
        yield token
        if token.children:
            yield from walk(token.children)


def url_is_safe(url: str) -> bool:
    """Relative URLs and http(s)/mailto only; browsers drop whitespace and controls in schemes."""
    squeezed = re.sub(r"[\x00-\x20\x7f]+", "", url)
    scheme = _SCHEME_RE.match(squeezed)
    return scheme is None or scheme.group(1).lower() in SAFE_SCHEMES


def raw_html(tokens: list[Token]) -> list[str]:
    """The content of html_inline and html_block tokens."""
    return [token.content for token in walk(tokens) if token.type in ("html_inline", "html_block")]


def allowed_tags(english: str) -> frozenset[str]:
    """Tags and autolinks the English uses as raw HTML: the only ones a translation may use."""
    tokens = PARSER.parse(english)
    tags = {match.group() for piece in raw_html(tokens) for match in TAG_RE.finditer(piece)}
    flat = list(walk(tokens))
    for token, text in zip(flat, flat[1:], strict=False):  # autolinks lose their brackets
        if token.type == "link_open" and token.markup == "autolink":
            tags.add(f"<{text.content}>")
    return frozenset(tags)


def urls(tokens: list[Token]) -> list[str]:
    """Link hrefs and image srcs, in order."""
    found = []
    for token in walk(tokens):
        if token.type == "link_open":
            found.append(str(token.attrGet("href") or ""))
        elif token.type == "image":
            found.append(str(token.attrGet("src") or ""))
    return found


def _protected_lines(tokens: list[Token]) -> set[int]:
    """0-based line numbers inside code and math blocks (no HTML is possible there)."""
    lines: set[int] = set()
    for token in tokens:
        if token.type in _PROTECTED_BLOCKS and token.map:
            lines.update(range(*token.map))
    return lines


def _is_escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes > 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _span_end(text: str, start: int) -> int | None:
    """End of the code span or inline math opening at `start`, within its paragraph."""
    stop = _BLANK_LINE_RE.search(text, start)
    limit = stop.start() if stop else len(text)
    if text[start] == "`":
        run = len(_run(text, start))
        closing = re.compile(rf"(?<!`){'`' * run}(?!`)")
        match = closing.search(text, start + run, limit)
        return match.end() if match else None
    if text.startswith("$$", start):
        end = text.find("$$", start + 2, limit)
        return end + 2 if end >= 0 else None
    # The renderer's dollarmath options: no space inside the dollars, no digit outside them.
    if text[start + 1 : start + 2].isspace() or text[start - 1 : start].isdigit():
        return None
    index = start + 1
    while (index := text.find("$", index, limit)) >= 0 and _is_escaped(text, index):
        index += 1
    if index < 0 or text[index - 1].isspace() or text[index + 1 : index + 2].isdigit():
        return None
    return index + 1


def escape_html(translation: str, allowed: frozenset[str]) -> str:
    """Replace `<` by `&lt;` outside code and math unless it opens an allowed tag."""
    protected = _protected_lines(PARSER.parse(translation))
    line_starts = [0] + [match.end() for match in re.finditer("\n", translation)]
    out, index, length = [], 0, len(translation)
    while index < length:
        line = bisect_right(line_starts, index) - 1
        if line in protected:
            end = line_starts[line + 1] if line + 1 < len(line_starts) else length
            out.append(translation[index:end])
            index = end
            continue
        piece, end = translation[index], index + 1
        if piece in "`$" and not _is_escaped(translation, index):
            end = _span_end(translation, index) or index + len(_run(translation, index))
            piece = translation[index:end]
        elif piece == "<":
            tag = TAG_RE.match(translation, index)
            if tag and tag.group() in allowed:
                piece, end = tag.group(), tag.end()
            else:
                piece = "&lt;"
        out.append(piece)
        index = end
    return "".join(out)


def _run(text: str, index: int) -> str:
    """The run of identical characters starting at `index`."""
    end = index
    while end < len(text) and text[end] == text[index]:
        end += 1
    return text[index:end]


def problems_in(text: str, english: str, allowed: frozenset[str] | None = None) -> list[str]:
    """Why `text` (a translation of `english`) is unsafe to render; [] if it is safe."""
    allowed = allowed_tags(english) if allowed is None else allowed
    tokens = PARSER.parse(text)
    english_urls = set(urls(PARSER.parse(english)))
    problems = []
    for piece in raw_html(tokens):
        position = 0
        while (position := piece.find("<", position)) >= 0:
            tag = TAG_RE.match(piece, position)
            if not tag or tag.group() not in allowed:
                snippet = piece[position : position + 40]
                problems.append(f"raw HTML not in the English text: {snippet!r}")
                break
            position = tag.end()
    for url in urls(tokens):
        if not url_is_safe(url) and url not in english_urls:
            problems.append(f"unsafe URL {url[:60]!r}")
    return problems


def sanitize_translation(translation: str, english: str) -> Sanitized:
    """Escape disallowed HTML in `translation`, then verify the result (see module docs)."""
    allowed = allowed_tags(english)
    text = escape_html(translation, allowed)
    return Sanitized(text, problems_in(text, english, allowed))


@dataclass
class Parts:
    """What a translation must keep from its English, and its prose for glossary checks."""

    math: Counter
    code: Counter
    links: Counter
    images: Counter
    prose: str
    blocks: list[str]  # headings (h1...h6), lists, tables, quotes, fences, display math: in order


_STRUCTURE = {
    "bullet_list_open": "list",
    "ordered_list_open": "numbered list",
    "table_open": "table",
    "blockquote_open": "quote",
    "fence": "code block",
    "code_block": "code block",
    "math_block": "display math",
    "math_block_label": "display math",
    "hr": "rule",
}


def parts_of(markdown: str) -> Parts:
    math: Counter[str] = Counter()
    code: Counter[str] = Counter()
    links: Counter[str] = Counter()
    images: Counter[str] = Counter()
    prose: list[str] = []
    blocks: list[str] = []
    for token in walk(PARSER.parse(markdown)):
        if token.type == "heading_open":
            blocks.append(token.tag)
        elif token.type in _STRUCTURE:
            blocks.append(_STRUCTURE[token.type])
        if token.type.startswith("math_"):
            math[token.content.strip()] += 1
        elif token.type == "code_inline":
            code[token.content] += 1
        elif token.type == "link_open":
            links[token.attrGet("href")] += 1
        elif token.type == "image":
            images[token.attrGet("src")] += 1
        elif token.type == "text":
            prose.append(token.content)
    return Parts(math, code, links, images, "\n".join(prose), blocks)
