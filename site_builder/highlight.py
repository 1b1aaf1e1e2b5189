"""Highlight stage: code -> HTML with Pygments' short CSS classes and the original line numbers.

A module's source is lexed once as a whole (a string spanning two sections still lexes as one
string), cut into per-line HTML, and each section takes its own lines from that list.
"""

import functools
from html import escape

from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token
from pygments.util import ClassNotFound

from .model import Section

_python = PythonLexer(stripnl=False, ensurenl=False)


@functools.cache
def _css_class(ttype) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    css = STANDARD_TYPES[ttype]
    # Whitespace and plain text need no span: less markup, same rendering.
    return "" if css == "w" else css


def _html_lines(code: str, lexer) -> list[str]:
    """One HTML string per line of `code` (split at "\\n"); spans never cross a line break."""
    lines: list[str] = []
    parts: list[str] = []
    for _, ttype, value in lexer.get_tokens_unprocessed(code):
        css = _css_class(ttype)
        pieces = value.split("\n") if "\n" in value else (value,)
        for i, piece in enumerate(pieces):
            if i:
                lines.append("".join(parts))
                parts = []
            if piece:
                text = escape(piece, quote=False)
                parts.append(f'<span class="{css}">{text}</span>' if css else text)
    lines.append("".join(parts))
    return lines


def _newlines(code: str) -> str:
    return code.replace("\r\n", "\n").replace("\r", "\n") if "\r" in code else code


@functools.cache
def _lexer(language: str):
    return get_lexer_by_name(language, stripnl=False, ensurenl=False)


@functools.lru_cache(maxsize=8192)
def highlight_inline(code: str) -> str:
    """Inline code in prose, highlighted as Python: `<code class="code">...</code>`."""
    return f'<code class="code">{"".join(_html_lines(_newlines(code), _python))}</code>'


def highlight_block(code: str, language: str) -> str:
    """A fenced code block; `language` "" means plain text. Raises ValueError if unknown."""
    if not language:
        body = escape(code, quote=False)
    else:
        try:
            lexer = _lexer(language.lower())
        except ClassNotFound:
            raise ValueError(f"unknown code language {language!r}") from None
        body = "\n".join(_html_lines(_newlines(code), lexer))
    body = body.removesuffix("\n")
    css = f' class="language-{escape(language)}"' if language else ""
    return f'<pre class="code"><code{css}>{body}</code></pre>\n'


def highlight_module(source: str, sections: list[Section]) -> None:
    """Fill each section's `code_html`, lexing `source` (the whole module) once."""
    lines = _html_lines(_newlines(source), _python)
    for section in sections:
        if not section.code:
            section.code_html = ""
            continue
        rows = [
            f'<span class="line" id="L{n}"><span class="ln" aria-hidden="true">{n}</span>'
            f"{lines[n - 1]}</span>"
            for n, _ in section.code
        ]
        section.code_html = '<pre class="code"><code>' + "\n".join(rows) + "</code></pre>"


def _declarations(style, ttype) -> str:
    rule = style.style_for_token(ttype)
    # Every property is set for every class, so one theme's colours never leak into the other.
    parts = [
        f"color: #{rule['color']}" if rule["color"] else "color: inherit",
        f"background-color: #{rule['bgcolor']}"
        if rule["bgcolor"]
        else "background-color: transparent",
        "font-weight: bold" if rule["bold"] else "font-weight: inherit",
        "font-style: italic" if rule["italic"] else "font-style: inherit",
        "text-decoration: underline" if rule["underline"] else "text-decoration: none",
    ]
    return "; ".join(parts)


def _theme_rules(style_name: str, scope: str) -> list[str]:
    style = get_style_by_name(style_name)
    base = style.style_for_token(Token)
    text_color = f"#{base['color']}" if base["color"] else "inherit"
    rules = [
        f"{scope} .code {{ color: {text_color}; background-color: {style.background_color}; }}",
        f"{scope} .code .ln {{ color: {style.line_number_color}; }}",
    ]
    seen = set()
    for ttype, css in sorted(STANDARD_TYPES.items(), key=lambda item: item[1]):
        if css and css not in seen:
            seen.add(css)
            rules.append(f"{scope} .code .{css} {{ {_declarations(style, ttype)}; }}")
    return rules


def pygments_css(style_light: str, style_dark: str) -> str:
    """CSS for highlighted code in both themes: light by default and under [data-theme=light],
    dark under [data-theme=dark] and under prefers-color-scheme: dark unless the page is
    explicitly light. Raises pygments.util.ClassNotFound for an unknown style name."""
    light = _theme_rules(style_light, ":root")
    light_explicit = _theme_rules(style_light, "[data-theme=light]")
    dark = _theme_rules(style_dark, "[data-theme=dark]")
    dark_auto = _theme_rules(style_dark, ":root:not([data-theme=light])")
    auto = "\n".join("  " + rule for rule in dark_auto)
    return "\n".join(
        [
            f"/* Pygments: light {style_light!r}, dark {style_dark!r} */",
            *light,
            *light_explicit,
            *dark,
            "@media (prefers-color-scheme: dark) {",
            auto,
            "}",
            "",
        ]
    )
