"""Highlight stage: code -> HTML with Pygments' short CSS classes and the original line numbers.

A module's source is lexed once as a whole (a string spanning two sections still lexes as one
string), cut into per-line HTML, and each section takes its own lines from that list.

Cross-references are made here, on Pygments' tokens: given a `Linker` (the xref stage's, for one
page), every name token is marked: it keeps an element of its class (`<span class="n">`) even
where that class looks like plain text and would otherwise need no span, so that site.js can
highlight a name's occurrences together (same class family, same text), and a name the linker
resolves becomes a link (`<a class="n xref">`). Inline code in commentary marks its names the
same way (`highlight_inline(code, mark_names=True)`); the markdown stage links an inline code
that is one name (`single_name`) or one attribute of a name (`attribute_name`). A line's
number is its `data-ln`, which CSS shows.
"""

import ast
import functools
import re
import warnings
from html import escape
from typing import Protocol

from pygments.lexer import RegexLexer
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token, _TokenType
from pygments.util import ClassNotFound

from .config import PYGMENTS_STYLES
from .lexing import lex
from .model import Section
from .paths import source_link_to_page

_python = PythonLexer(stripnl=False, ensurenl=False)
NAME_CLASSES = frozenset({"n", "nf", "nc", "fm", "nd", "nb", "bp", "nn"})  # names of things
_IDENT = re.compile(r"[A-Za-z_]\w*\Z")


class Linker(Protocol):
    """Where the names on one page link (see xref.PageLinker)."""

    def code_href(self, css: str, name: str, line: int, owner: str | None) -> str | None:
        """The href of a name token of class `css` on source line `line`, or None. `owner` is
        None unless the name follows a dot: then the plain name right before the dot
        (`config` in `config.lr`), or "" when something else is."""

    def prose_href(self, name: str) -> str | None:
        """The href of an inline code in commentary that is just `name`, or None."""

    def link_href(self, href: str) -> str:
        """Where a link written in commentary goes (a source file's link to its page)."""


class _MarkNames:
    """Marks names without linking any."""

    def code_href(self, css: str, name: str, line: int, owner: str | None) -> None:
        return None

    def prose_href(self, name: str) -> None:
        return None

    def link_href(self, href: str) -> str:
        return source_link_to_page(href)


@functools.cache
def _css_class(ttype) -> str:
    while ttype not in STANDARD_TYPES:
        ttype = ttype.parent
    css = STANDARD_TYPES[ttype]
    # Whitespace and plain text need no span: less markup, same rendering.
    return "" if css == "w" else css


def _name_html(css: str, name: str, href: str | None) -> str:
    """A name token: always in an element of its class (site.js groups names by class and
    text), a link when it resolves."""
    if href:
        return f'<a class="{css} xref" href="{escape(href)}">{name}</a>'
    return f'<span class="{css}">{name}</span>'


def _tokens(code: str, lexer) -> list[tuple]:
    return [(ttype, value) for _, ttype, value in lex(lexer, _newlines(code))]


def _html_lines(tokens, linker: Linker | None = None) -> list[str]:
    """One HTML string per line of lexed code ((token type, text) pairs, lines split at "\\n");
    spans never cross a line break. With a `linker`, name tokens are marked and linked (see the
    module's notes)."""
    lines: list[str] = []
    parts: list[str] = []
    plain = plain_classes()
    last = before = None  # with a linker: the last two (css, text) pieces on this line
    for ttype, value in tokens:
        css = _css_class(ttype)
        pieces = value.split("\n") if "\n" in value else (value,)
        for i, piece in enumerate(pieces):
            if i:
                lines.append("".join(parts))
                parts = []
                last = before = None
            if not piece:
                continue
            text = escape(piece, quote=False)
            is_name = linker is not None and css in NAME_CLASSES and _IDENT.match(piece)
            if not css or (css in plain and not is_name):
                parts.append(text)
            elif is_name and linker is not None:
                owner = None
                if last == ("o", "."):
                    owner = before[1] if before is not None and before[0] == "n" else ""
                href = linker.code_href(css, piece, len(lines) + 1, owner)
                parts.append(_name_html(css, text, href))
            else:
                parts.append(f'<span class="{css}">{text}</span>')
            if linker is not None:
                before, last = last, (css, piece)
    lines.append("".join(parts))
    return lines


def _newlines(code: str) -> str:
    return code.replace("\r\n", "\n").replace("\r", "\n") if "\r" in code else code


@functools.cache
def _lexer(language: str):
    return get_lexer_by_name(language, stripnl=False, ensurenl=False)


@functools.lru_cache(maxsize=8192)
def _inline_tokens(code: str) -> tuple:
    """Inline code lexed as Python, once for both `highlight_inline` and `single_name`."""
    return tuple(_tokens(code, _python))


# Inline code that parses as Python but is not: a path (`runs/<name>/`, `data/cifar-10`), a file
# name (`pyproject.toml` would be an attribute) or a command-line option (`--epochs`).
_PATH = re.compile(r"[\w.~<>-]*(?:/[\w.~<>-]*)+")
_FILE = re.compile(
    r"[\w.-]+\.(?:py|pyi|md|txt|json|jsonl|toml|cfg|ini|yml|yaml|html|css|js|mjs|ipynb|po|pot|svg"
    r"|png|jpe?g|csv|pt|pth|lock|gz|zip|tar|sh)"
)
_OPTION = re.compile(r"-{1,2}[A-Za-z]")


@functools.lru_cache(maxsize=8192)
def reads_as_python(code: str) -> bool:
    """Whether inline `code` in prose is Python (an expression or statement), not a path, a
    file name, a shell command or an option, which are shown as they are."""
    text = code.strip()
    if not text or _PATH.fullmatch(text) or _FILE.fullmatch(text) or _OPTION.match(text):
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SyntaxWarning: an invalid escape in a string
        try:
            ast.parse(text)
        except (SyntaxError, ValueError):
            return False
    return True


def highlight_inline(code: str, mark_names: bool = False) -> str:
    """Inline code in prose, highlighted as Python when it reads as Python (`reads_as_python`),
    else shown as it is: `<code class="code">...</code>`; with `mark_names`, its names are
    marked (see the module's notes)."""
    if not reads_as_python(code):
        return f'<code class="code">{escape(code, quote=False)}</code>'
    lines = _html_lines(_inline_tokens(code), _MarkNames() if mark_names else None)
    return f'<code class="code">{"".join(lines)}</code>'


def single_name(code: str) -> str | None:
    """The name that inline `code` consists of (one plain-name token, nothing else), or None."""
    tokens = [(t, v) for t, v in _inline_tokens(code) if v]
    if len(tokens) == 1 and _css_class(tokens[0][0]) == "n":
        return escape(tokens[0][1], quote=False)
    return None


def attribute_name(code: str) -> str | None:
    """`owner.name` when inline `code` is one name after another and a dot, else None."""
    tokens = [(_css_class(t), v) for t, v in _inline_tokens(code) if v]
    if (
        [css for css, _ in tokens] == ["n", "o", "n"]
        and tokens[1][1] == "."
        and reads_as_python(code)
    ):
        return escape(tokens[0][1] + "." + tokens[2][1], quote=False)
    return None


def highlight_block(code: str, language: str) -> str:
    """A fenced code block; `language` "" means plain text. Raises ValueError if unknown."""
    if not language:
        body = escape(code, quote=False)
    else:
        try:
            lexer = _lexer(language.lower())
        except ClassNotFound:
            raise ValueError(f"unknown code language {language!r}") from None
        body = "\n".join(_html_lines(_tokens(code, lexer)))
    body = body.removesuffix("\n")
    css = f' class="language-{escape(language)}"' if language else ""
    return f'<pre class="code"><code{css}>{body}</code></pre>\n'


def highlight_module(
    source: str,
    sections: list[Section],
    linker: Linker | None = None,
    anchors: dict[int, str] | None = None,
) -> dict[str, str]:
    """Each section's code as HTML, by section id ("" for a section without code), lexing
    `source` (the whole module) once; with a `linker`, names are marked and linked. `anchors`
    (line -> name) adds a named anchor to those lines (see `xref.definition_anchors`)."""
    lines = _html_lines(_tokens(source, _python), linker)
    anchors = anchors or {}
    found = {}
    for section in sections:
        rows = [
            f'<span class="line" id="L{n}" data-ln="{n}">{_anchor(anchors.get(n))}'
            f"{lines[n - 1]}</span>"
            for n, _ in section.code
        ]
        found[section.id] = (
            # A Tab stop, for narrow screens where code scrolls sideways in its pane (site.js
            # drops it where code wraps instead).
            '<pre class="code" tabindex="0"><code>' + "\n".join(rows) + "</code></pre>"
            if rows
            else ""
        )
    return found


def _anchor(name: str | None) -> str:
    return f'<span class="anchor" id="{escape(name)}"></span>' if name else ""


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


def _theme(style_name: str, classes: set[str]) -> tuple[dict, dict[str, dict[str, object]]]:
    """A style's base (`.code` colours) and each class's own properties (those set, but not a
    colour that is the base text colour: such a class looks like plain text)."""
    style = get_style_by_name(style_name)
    text = style.style_for_token(Token)["color"]
    base = {"color": f"#{text}" if text else "inherit", "background-color": style.background_color}
    by_class = {}
    for ttype, css in STANDARD_TYPES.items():
        if css in classes:
            rule = style.style_for_token(ttype)
            set_in_rule = {key: value for key, value in rule.items() if key in _PROPERTIES}
            by_class[css] = {
                key: value
                for key, value in set_in_rule.items()
                if value and not (key == "color" and value == text)
            }
    return base, by_class


@functools.cache
def plain_classes(styles: tuple[str, str] = PYGMENTS_STYLES) -> frozenset[str]:
    """The token classes that look like plain text in both styles: they get no rule in
    `pygments_css`, so their tokens need no span (marked names still get one)."""
    classes = emitted_classes()
    themes = [_theme(style, classes)[1] for style in styles]
    return frozenset(css for css in classes if not any(theme[css] for theme in themes))


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


def pygments_css(
    style_light: str = PYGMENTS_STYLES[0],
    style_dark: str = PYGMENTS_STYLES[1],
    languages=CSS_LANGUAGES,
) -> str:
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
