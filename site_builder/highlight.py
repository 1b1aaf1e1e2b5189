"""Highlight stage: code -> HTML with Pygments' short CSS classes and the original line numbers.

A module's source is lexed once as a whole (a string spanning two sections still lexes as one
string), cut into per-line HTML, and each section takes its own lines from that list.
"""

import functools
from html import escape

from pygments.lexer import RegexLexer
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token, _TokenType
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


# ----------------------------------------------------------------------------------- stylesheet

CSS_LANGUAGES = ("python", "bash", "toml")  # fenced blocks in other languages show plain text
_PROPERTIES = {  # Pygments style key -> (CSS property, value when set, value when unset)
    "color": ("color", None, "inherit"),
    "bgcolor": ("background-color", None, "transparent"),
    "bold": ("font-weight", "700", "inherit"),
    "italic": ("font-style", "italic", "inherit"),
    "underline": ("text-decoration", "underline", "none"),
}


def _token_types(lexer, seen: set) -> set:
    """Token types a RegexLexer can yield: its rule table, including `bygroups` and `using`
    callbacks (read from their closures), plus Error for text no rule matches."""
    if type(lexer) in seen:
        return set()
    seen.add(type(lexer))
    found = {Token.Error}

    def visit(action) -> None:
        if isinstance(action, _TokenType):
            found.add(action)
        elif isinstance(action, tuple | list):
            for item in action:
                visit(item)
        elif isinstance(action, type) and issubclass(action, RegexLexer):
            found.update(_token_types(action(), seen))
        elif callable(action):
            for cell in action.__closure__ or ():
                visit(cell.cell_contents)

    for rules in lexer._tokens.values():
        for _, action, _ in rules:
            visit(action)
    return found


def emitted_classes(languages=CSS_LANGUAGES) -> set[str]:
    """The short CSS classes our highlighting can give tokens of these languages."""
    classes = set()
    for language in languages:
        classes |= {_css_class(t) for t in _token_types(_lexer(language), set())}
    return classes - {""}


def _theme(style_name: str, classes: set[str]) -> tuple[dict, dict[str, dict[str, str]]]:
    """A style's base (`.code` colours) and each class's own properties (those set)."""
    style = get_style_by_name(style_name)
    text = style.style_for_token(Token)["color"]
    base = {"color": f"#{text}" if text else "inherit", "background-color": style.background_color}
    by_class = {}
    for ttype, css in STANDARD_TYPES.items():
        if css in classes:
            rule = style.style_for_token(ttype)
            by_class[css] = {key: rule[key] for key in _PROPERTIES if rule[key]}
    return base, by_class


def _declarations(own: dict, keys: list[str]) -> str:
    parts = []
    for key in keys:
        prop, on, off = _PROPERTIES[key]
        value = (f"#{own[key]}" if on is None else on) if key in own else off
        parts.append(f"{prop}:{value}")
    return ";".join(parts)


def _rules(scope: str, base: dict, declarations: dict[str, str]) -> list[str]:
    """One rule per distinct declaration block, its classes joined in one `:is()` (which counts
    as one class, so `scope .code .k` and `scope .code :is(.k,.kc)` weigh the same)."""
    groups: dict[str, list[str]] = {}
    for css in sorted(declarations):
        if declarations[css]:
            groups.setdefault(declarations[css], []).append("." + css)
    rules = [f"{scope}.code{{{';'.join(f'{k}:{v}' for k, v in base.items())}}}"]
    for block, selectors in groups.items():
        target = selectors[0] if len(selectors) == 1 else f":is({','.join(selectors)})"
        rules.append(f"{scope}.code {target}{{{block}}}")
    return rules


def pygments_css(style_light: str, style_dark: str, languages=CSS_LANGUAGES) -> str:
    """Compact CSS for the classes our highlighting emits for `languages`, in both themes:
    light by default, dark under [data-theme=dark] and under prefers-color-scheme: dark unless
    the page is explicitly light. Classes that look like plain text in both themes get no rule;
    a property either theme sets is set by both, so one theme never leaks into the other.
    Raises pygments.util.ClassNotFound for an unknown style name."""
    classes = emitted_classes(languages)
    light_base, light = _theme(style_light, classes)
    dark_base, dark = _theme(style_dark, classes)
    keys = {css: [k for k in _PROPERTIES if k in light[css] or k in dark[css]] for css in classes}
    light_css = _rules(":root ", light_base, {c: _declarations(light[c], keys[c]) for c in classes})
    dark_blocks = {c: _declarations(dark[c], keys[c]) for c in classes}
    dark_css = _rules("[data-theme=dark] ", dark_base, dark_blocks)
    auto_css = _rules(":root:not([data-theme=light]) ", dark_base, dark_blocks)
    return "\n".join(
        [
            f"/* Pygments: light {style_light!r}, dark {style_dark!r} */",
            *light_css,
            *dark_css,
            "@media (prefers-color-scheme:dark){",
            *auto_css,
            "}",
            "",
        ]
    )
