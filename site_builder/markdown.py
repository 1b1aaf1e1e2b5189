"""Markdown+math stage: commentary -> HTML, with KaTeX math and highlighted code.

The site's dialect (`commonmark`) with render rules on token types; they also record every link
and image with its file line. Rendering takes the things a page shares: the KaTeX renderer, the
page's names (a `highlight.Linker`: an inline code that is one name it resolves becomes a link,
unless it is already inside one) and the formulas that occur more than once on the page
(`repeated_formulas`, counted on math tokens): only those keep their `data-tex-key`, by which the
page highlights a formula's other occurrences.

To render many texts: `parse_markdown` each, render their math in one batch
(`KatexRenderer.render_many` of all their `math`), then `render_parsed` each.
"""

from dataclasses import dataclass
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import imagesize
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline

from .commonmark import MATH_DISPLAY, markdown_parser
from .highlight import Linker, attribute_name, highlight_block, highlight_inline, single_name
from .images import beside, find_image
from .mathtext import tex_as_text
from .model import BuildError, ImageSearch, RenderedMarkdown, TextOrigin, Written
from .paths import source_link_to_page
from .tex import Formula, KatexRenderer, TexError, tex_key


def _line(token) -> int:
    return token.meta["line"]


class TexBuildError(BuildError):
    """A formula KaTeX cannot render, at its file line (with --keep-going, shown in its place)."""


_SHOWN_TEX_CHARS = 60  # of a formula, in its error message


def _math(tex: str, display: bool, env: dict, line: int) -> str:
    try:
        html = env["katex"].render(tex, display)
    except TexError as e:
        shown = tex if len(tex) <= _SHOWN_TEX_CHARS else tex[: _SHOWN_TEX_CHARS - 1] + "…"
        problem = " ".join(e.message.split("\n"))
        raise TexBuildError(env["file"], line, f"TeX error in {shown!r}: {problem}") from None
    if tex.strip() in env["repeated"]:
        return html
    return html.replace(f' data-tex-key="{tex_key(tex)}"', "", 1)


def _math_inline(self, tokens, idx, options, env):
    token = tokens[idx]
    return _math(token.content, MATH_DISPLAY[token.type], env, _line(token))


def _math_block(self, tokens, idx, options, env):
    token = tokens[idx]
    html = _math(token.content, True, env, _line(token))
    label = f' id="{escape(token.info)}"' if token.type == "math_block_label" else ""
    return f'<div class="math"{label}>{html}</div>\n'


def _code_inline(self, tokens, idx, options, env):
    code, names = tokens[idx].content, env["names"]
    if names is None:
        return highlight_inline(code)
    name = None if env["in_link"] else single_name(code) or attribute_name(code)
    href = names.prose_href(name) if name else None
    if name and href:
        return (
            f'<a class="xref" href="{escape(href)}">{highlight_inline(code, mark_names=True)}</a>'
        )
    return highlight_inline(code, mark_names=True)


def _table_open(self, tokens, idx, options, env):
    """A table is a Tab stop: on a narrow screen it scrolls sideways within itself, and the
    keyboard must reach it (knowing which tables do would mean laying out the whole page)."""
    tokens[idx].attrSet("tabindex", "0")
    return self.renderToken(tokens, idx, options, env)


def _fence(self, tokens, idx, options, env):
    token = tokens[idx]
    language = token.info.split()[0] if token.info.strip() else ""
    try:
        return highlight_block(token.content, language)
    except ValueError as e:
        raise BuildError(env["file"], _line(token), str(e)) from None


def _code_block(self, tokens, idx, options, env):
    return highlight_block(tokens[idx].content, "")


def _image(self, tokens, idx, options, env):
    token = tokens[idx]
    src = token.attrGet("src")
    env["images"].append(Written(src, _line(token)))
    size = _intrinsic_size(find_image(env["image_search"], src).path)
    if size and not token.attrGet("width"):
        token.attrSet("width", str(size[0]))
        token.attrSet("height", str(size[1]))
    return RendererHTML.image(self, tokens, idx, options, env)


def _intrinsic_size(image: Path | None) -> tuple[int, int] | None:
    """Pixel size of a local image (the file `images.find_image` found), so the browser reserves
    its box before the image loads (no layout shift). None for a missing or unreadable image."""
    if image is None:
        return None
    try:
        width, height = imagesize.get(image)
    except (OSError, ValueError):
        return None
    return (round(width), round(height)) if width > 0 and height > 0 else None


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    href = token.attrGet("href")
    env["links"].append(Written(href, _line(token)))  # as written: the check stage says so
    names = env["names"]
    token.attrSet("href", names.link_href(href or "") if names else source_link_to_page(href or ""))
    env["in_link"] = True
    return self.renderToken(tokens, idx, options, env)


def _link_close(self, tokens, idx, options, env):
    env["in_link"] = False
    return self.renderToken(tokens, idx, options, env)


class _HtmlRefs(HTMLParser):
    """Collects href and src attributes from raw HTML, with the line each tag starts on."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, int]] = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("href", "src") and value is not None:
                kind = "image" if tag == "img" and name == "src" else "link"
                self.found.append((kind, value, self.getpos()[0] - 1))

    handle_startendtag = handle_starttag


def _html(self, tokens, idx, options, env):
    token = tokens[idx]
    parser = _HtmlRefs()
    parser.feed(token.content)
    parser.close()
    for kind, url, offset in parser.found:
        line = env["line_of"](token.meta["offset"] + offset)
        env["images" if kind == "image" else "links"].append(Written(url, line))
    opened, closed = token.content.rfind("<a "), token.content.rfind("</a>")
    if opened != closed:  # raw HTML that opens (or closes) a link
        env["in_link"] = opened > closed
    return token.content


class _PositionedInline(StateInline):
    """Inline parser state that notes in token.meta["pos"] where in the inline source each token
    is pushed: where its construct starts (a code span's backtick, a link's label), or for a run
    of text, where it ends (text is flushed when the next token starts, and never spans a line)."""

    # StateInline.x(self) rather than super().x(): this runs for every token, and is faster.
    def pushPending(self):
        token = StateInline.pushPending(self)
        token.meta["pos"] = self.pos
        return token

    def push(self, ttype, tag, nesting):
        token = StateInline.push(self, ttype, tag, nesting)
        token.meta["pos"] = self.pos
        return token


def _inline_positioned(state) -> None:
    """markdown-it's core "inline" rule, parsing each inline token with `_PositionedInline`."""
    inline = state.md.inline
    for token in state.tokens:
        if token.type == "inline":
            if token.children is None:
                token.children = []
            inline_state = _PositionedInline(token.content, state.md, state.env, token.children)
            inline.tokenize(inline_state)
            for rule in inline.ruler2.getRules(""):
                rule(inline_state)


def _build() -> MarkdownIt:
    md = markdown_parser()
    for name in MATH_DISPLAY:
        md.add_render_rule(name, _math_block if name.startswith("math_block") else _math_inline)
    md.add_render_rule("table_open", _table_open)
    md.add_render_rule("code_inline", _code_inline)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("link_close", _link_close)
    md.add_render_rule("html_block", _html)
    md.add_render_rule("html_inline", _html)
    md.core.ruler.at("inline", _inline_positioned)  # source positions of inline tokens
    return md


_md = _build()


def _assign_lines(tokens, line_of) -> list[Formula]:
    """Store each token's line in the text in token.meta["offset"] (0-based) and its file line,
    `line_of(offset)`, in token.meta["line"]; return the math found, for batching.

    Inline tokens have no map of their own: their line is their block's plus the newlines in the
    block's raw inline source before their position (CommonMark hides some of those newlines,
    e.g. in code spans and link destinations, so token contents cannot be counted)."""
    math: list[Formula] = []
    block = 0
    for token in tokens:
        if token.map:
            block = token.map[0]
        token.meta["offset"], token.meta["line"] = block, line_of(block)
        if token.type in MATH_DISPLAY:
            math.append(Formula(token.content, MATH_DISPLAY[token.type]))
        # Positions grow along the children: count the newlines since the previous child's (or,
        # should one go back, from the start).
        src, pos, newlines = token.content, 0, 0
        for child in token.children or []:
            last, pos = pos, child.meta.pop("pos", pos)  # none: the previous child's line
            if pos < last:
                last = newlines = 0
            newlines += src.count("\n", last, pos)
            child.meta["offset"], child.meta["line"] = block + newlines, line_of(block + newlines)
            if child.type in MATH_DISPLAY:
                math.append(Formula(child.content, MATH_DISPLAY[child.type]))
    return math


@dataclass
class ParsedMarkdown:
    """A text's tokens, ready to render, and the math they need (see the module's notes)."""

    tokens: list
    env: dict
    math: list[Formula]
    origin: TextOrigin | None = None


def parse_markdown(
    text: str,
    path: Path,
    first_line: int,
    origin: TextOrigin | None = None,
    images: ImageSearch | None = None,
) -> ParsedMarkdown:
    """`text` starts at line `first_line` of its page's source `path`, or, with an `origin` (a
    translation), was written there: errors and links name it. Images are found where `images`
    says (see `images.find_image`; None: next to `path`)."""
    line_of = origin.line if origin else lambda offset: first_line + offset
    env: dict[str, object] = {"file": origin.path if origin else path}
    env |= {"line_of": line_of, "image_search": images or beside(path)}
    tokens = _md.parse(text, env)
    return ParsedMarkdown(tokens, env, _assign_lines(tokens, line_of), origin)


def repeated_formulas(texts, katex: KatexRenderer) -> frozenset[str]:
    """The formulas (their TeX, trimmed) that occur more than once in `texts` (ParsedMarkdown,
    a page's): those keep their `data-tex-key`. A text with invalid TeX counts none: it cannot
    be shown with its math."""
    counts: dict[str, int] = {}
    for parsed in texts:
        katex.render_many(parsed.math)  # memoized already when the caller batched it
        try:
            for tex, display in parsed.math:
                katex.render(tex, display)
        except TexError:
            continue
        for tex, _ in parsed.math:
            counts[tex.strip()] = counts.get(tex.strip(), 0) + 1
    return frozenset(tex for tex, count in counts.items() if count > 1)


def _child_text(token) -> str:
    if token.type in ("text", "code_inline"):
        return token.content
    if token.type in MATH_DISPLAY:
        return tex_as_text(token.content)
    return " " if token.type in ("softbreak", "hardbreak") else ""


def plain_text(parsed: ParsedMarkdown) -> str:
    """The words of a parsed text, for the search index: its text and code, one line per block,
    without markup or raw HTML; math as readable text (`mathtext.tex_as_text`)."""
    lines = []
    for token in parsed.tokens:
        if token.type in ("fence", "code_block"):
            lines.append(token.content.rstrip("\n"))
        elif token.type in MATH_DISPLAY:
            lines.append(tex_as_text(token.content))
        elif token.type == "inline":
            words = [_child_text(child) for child in token.children or ()]
            lines.append("".join(words))
    return "\n".join(line for line in lines if line.strip())


def render_parsed(
    parsed: ParsedMarkdown,
    katex: KatexRenderer,
    names: Linker | None = None,
    repeated_math: frozenset[str] = frozenset(),
    lead_heading: bool = False,
) -> RenderedMarkdown:
    """HTML of a parsed text, its math rendered by `katex`, inline code linked by `names`, and
    `data-tex-key` kept on the formulas in `repeated_math`; raises BuildError (file:line) for
    invalid TeX. With `lead_heading`, a level-1 heading that opens the text is rendered apart
    (`heading`, its inline HTML): a page's introduction may name the page that way."""
    env = parsed.env | {"links": [], "images": [], "in_link": False}
    env |= {"katex": katex, "names": names, "repeated": repeated_math}
    katex.render_many(parsed.math)  # memoized already when the caller batched it
    tokens, heading = parsed.tokens, None
    if lead_heading and tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        assert isinstance(_md.renderer, RendererHTML)  # the renderer `_md` was made with
        heading = _md.renderer.renderInline(tokens[1].children or [], _md.options, env)
        tokens = tokens[3:]  # heading_open, inline, heading_close
    html = _md.renderer.render(tokens, _md.options, env)
    return RenderedMarkdown(html, env["links"], env["images"], heading)


def render_markdown(
    text: str,
    path: Path,
    first_line: int,
    katex: KatexRenderer,
    origin: TextOrigin | None = None,
    names: Linker | None = None,
    repeated_math: frozenset[str] = frozenset(),
    images: ImageSearch | None = None,
) -> RenderedMarkdown:
    """Render commentary `text`, which starts at line `first_line` of `path`, to HTML (see
    `parse_markdown` and `render_parsed`)."""
    parsed = parse_markdown(text, path, first_line, origin, images)
    return render_parsed(parsed, katex, names, repeated_math)
