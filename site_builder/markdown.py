"""Markdown+math stage: commentary -> HTML, with KaTeX math and highlighted code.

markdown-it-py in CommonMark mode, plus tables, raw HTML and dollarmath (`$...$`, `$$...$$`).
dollarmath turns math into tokens before emphasis runs, so `$a*b*c$` stays intact. Everything
else is render rules on token types; they also record every link and image with its file line.
"""

from dataclasses import dataclass, field
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import imagesize
from markdown_it import MarkdownIt
from markdown_it.renderer import RendererHTML
from markdown_it.rules_inline import StateInline
from mdit_py_plugins.dollarmath import dollarmath_plugin

from .highlight import highlight_block, highlight_inline
from .model import BuildError, TextOrigin
from .tex import TexError, render_tex, render_tex_many


@dataclass
class RenderedMarkdown:
    html: str
    links: list[tuple[str, int]] = field(default_factory=list)
    images: list[tuple[str, int]] = field(default_factory=list)


_DISPLAY = {
    "math_inline": False,
    "math_inline_double": True,
    "math_block": True,
    "math_block_label": True,
}


def _line(token) -> int:
    return token.meta["line"]


def _math(tex: str, display: bool, env: dict, line: int) -> str:
    try:
        return render_tex(tex, display)
    except TexError as e:
        raise BuildError(env["file"], line, f"TeX error in {tex!r}: {e.message}") from None


def _math_inline(self, tokens, idx, options, env):
    token = tokens[idx]
    return _math(token.content, _DISPLAY[token.type], env, _line(token))


def _math_block(self, tokens, idx, options, env):
    token = tokens[idx]
    html = _math(token.content, True, env, _line(token))
    label = f' id="{escape(token.info)}"' if token.type == "math_block_label" else ""
    return f'<div class="math"{label}>{html}</div>\n'


def _code_inline(self, tokens, idx, options, env):
    return highlight_inline(tokens[idx].content)


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
    env["images"].append((src, _line(token)))
    size = _intrinsic_size([Path(env["path"]).parent, *env.get("image_dirs", ())], src)
    if size and not token.attrGet("width"):
        token.attrSet("width", str(size[0]))
        token.attrSet("height", str(size[1]))
    return RendererHTML.image(self, tokens, idx, options, env)


def _intrinsic_size(folders: list[Path], src: str) -> tuple[int, int] | None:
    """Pixel size of a local image, found relative to the first of `folders` that has it (the
    page's own folder, then its place in the docs tree), so the browser reserves its box before
    the image loads (no layout shift). None for remote, missing or unreadable images."""
    parts = urlsplit(src)
    if parts.scheme or parts.netloc or not parts.path or parts.path.startswith("/"):
        return None
    for folder in folders:
        try:
            width, height = imagesize.get(folder / unquote(parts.path))
        except (OSError, ValueError):
            continue
        if width > 0 and height > 0:
            return round(width), round(height)
    return None


def _link_open(self, tokens, idx, options, env):
    token = tokens[idx]
    env["links"].append((token.attrGet("href"), _line(token)))
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
        env["images" if kind == "image" else "links"].append((url, line))
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
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    # No math across a digit ("$5 and $10") or with inner edge spaces; $$...$$ works inline too.
    md.use(dollarmath_plugin, allow_digits=False, allow_space=False, double_inline=True)
    for name in _DISPLAY:
        md.add_render_rule(name, _math_block if name.startswith("math_block") else _math_inline)
    md.add_render_rule("code_inline", _code_inline)
    md.add_render_rule("fence", _fence)
    md.add_render_rule("code_block", _code_block)
    md.add_render_rule("image", _image)
    md.add_render_rule("link_open", _link_open)
    md.add_render_rule("html_block", _html)
    md.add_render_rule("html_inline", _html)
    md.core.ruler.at("inline", _inline_positioned)  # source positions of inline tokens
    return md


_md = _build()


def _assign_lines(tokens, line_of) -> list[tuple[str, bool]]:
    """Store each token's line in the text in token.meta["offset"] (0-based) and its file line,
    `line_of(offset)`, in token.meta["line"]; return the math found, for batching.

    Inline tokens have no map of their own: their line is their block's plus the newlines in the
    block's raw inline source before their position (CommonMark hides some of those newlines,
    e.g. in code spans and link destinations, so token contents cannot be counted)."""
    math = []
    block = 0
    for token in tokens:
        if token.map:
            block = token.map[0]
        token.meta["offset"], token.meta["line"] = block, line_of(block)
        if token.type in _DISPLAY:
            math.append((token.content, _DISPLAY[token.type]))
        # Positions grow along the children: count the newlines since the previous child's (or,
        # should one go back, from the start).
        src, pos, newlines = token.content, 0, 0
        for child in token.children or []:
            last, pos = pos, child.meta.pop("pos", pos)  # none: the previous child's line
            if pos < last:
                last = newlines = 0
            newlines += src.count("\n", last, pos)
            child.meta["offset"], child.meta["line"] = block + newlines, line_of(block + newlines)
            if child.type in _DISPLAY:
                math.append((child.content, _DISPLAY[child.type]))
    return math


@dataclass
class ParsedMarkdown:
    """A text's tokens, ready to render, and the math they need: parse, batch the math of many
    texts through `tex.render_tex_many`, then `render_parsed` each."""

    tokens: list
    env: dict
    math: list[tuple[str, bool]]
    origin: TextOrigin | None = None


def parse_markdown(
    text: str,
    path: Path,
    first_line: int,
    origin: TextOrigin | None = None,
    image_dirs: tuple[Path, ...] = (),
) -> ParsedMarkdown:
    """`text` starts at line `first_line` of its page's source `path`, or, with an `origin` (a
    translation), was written there: errors and links name it. Images are looked for next to
    `path`, then in `image_dirs`."""
    line_of = origin.line if origin else lambda offset: first_line + offset
    env = {"path": path, "file": origin.path if origin else path, "line_of": line_of}
    env |= {"links": [], "images": [], "image_dirs": image_dirs}
    tokens = _md.parse(text, env)
    return ParsedMarkdown(tokens, env, _assign_lines(tokens, line_of), origin)


def render_parsed(parsed: ParsedMarkdown) -> RenderedMarkdown:
    """HTML of a parsed text; raises BuildError (file:line) for invalid TeX."""
    env = parsed.env
    render_tex_many(parsed.math)  # memoized already when the caller batched it
    html = _md.renderer.render(parsed.tokens, _md.options, env)
    return RenderedMarkdown(html, env["links"], env["images"])


def prefetch_math(texts) -> None:
    """Render the math of many texts in one batch, so the render_markdown calls that follow find
    it memoized. Invalid TeX is reported by those calls."""
    render_tex_many([m for text in texts for m in parse_markdown(text, Path(), 1).math])


def render_markdown(
    text: str, path: Path, first_line: int, origin: TextOrigin | None = None
) -> RenderedMarkdown:
    """Render commentary `text`, which starts at line `first_line` of `path`, to HTML (see
    `parse_markdown` for `origin`)."""
    return render_parsed(parse_markdown(text, path, first_line, origin))
