"""Valid Python that nobody annotated, made by hypothesmith, goes through every stage a page goes
through (parse, translate, render, notebook, page) without an exception: bad commentary may be a
`BuildError`, one line naming the file, never anything else.

Generated code has few comments and docstrings, so a second strategy adds them in the shapes
annotated files use: comment runs before statements (math, links, tables, notebook fences, bare
`#` breaks), docstrings (with front matter, raw, with TeX), old `# type:` comments before a
docstring and comments after one, and arbitrary text."""

import ast
import os
import tempfile
import textwrap
from pathlib import Path

import hypothesmith
import nbformat
import pytest
from conftest import make_config
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder import xref
from site_builder.model import BuildError
from site_builder.notebook import module_notebook
from site_builder.page import Crumb, PageContext, PageRenderer
from site_builder.parse import parse_source
from site_builder.render import render_source
from site_builder.tex import KatexRenderer
from site_builder.translate import translate_module

# Examples per test: together the two take under a minute on a loaded 2-core machine. Set
# GENERATED_EXAMPLES to search longer.
EXAMPLES = int(os.environ.get("GENERATED_EXAMPLES", "40"))
# hypothesmith's `from_node` throws away the trees that do not compile: in one CI run it kept 8
# of 58, and hypothesis failed the test for filtering too much. The filter is the library's.
SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
    ],
)

COMMENTARY = [
    "Plain words.",
    "Math $x^2 + \\frac{a}{b}$ inline and\n\n$$\\sum_{i=1}^n a_i$$",
    "A [link](other.html#Name), a [missing one](nowhere.py) and ![a picture](pic.png).",
    "`name` in a code span, `a.b`, and **bold** _words_.",
    "## A heading\n\nand a paragraph under it",
    "| a | b |\n|---|---|\n| $1$ | `2` |",
    "```python notebook\nprint('run in the notebook only')\n```",
    "```python\ndef shown(): pass\n```",
    "<b>raw html</b> <script>alert(1)</script>",
    "- a list\n- of items\n\n1. and\n2. numbers",
    "中文 é \u00a0 emoji \U0001f600",
    "$unclosed math and a $ sign",
    "$\\frac{$",
    "$$\n\\begin{aligned} a &= b \\\\ c &= d \\end{aligned}\n$$",
]

_free_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"), max_size=40
)
_commentary = st.sampled_from(COMMENTARY) | _free_text.map(lambda s: s.replace('"""', ""))


def _comment_lines(text: str, indent: str) -> list[str]:
    return [f"{indent}# {line}".rstrip() if line else f"{indent}#" for line in text.split("\n")]


def _docstring_lines(text: str, indent: str, raw: bool) -> list[str]:
    text = text.replace("\\", "\\\\") if not raw else text.rstrip("\\")
    body = textwrap.indent(text, indent).split("\n")
    return [f'{indent}{"r" if raw else ""}"""', *body, f'{indent}"""']


def _compiles(source: str) -> bool:
    try:
        compile(source, "<generated>", "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def _statement_starts(tree: ast.Module, lines: list[str]) -> list[tuple[int, str]]:
    """(line, indentation) of every statement that starts its line."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            text = lines[first - 1].encode()
            col = node.col_offset if first == node.lineno else len(text) - len(text.lstrip())
            if not text[:col].strip():
                found.append((first, text[:col].decode()))
    return sorted(set(found))


def _bodies(tree: ast.Module, lines: list[str]) -> list[tuple[int, str]]:
    """(line, indentation) of the first statement of every class/def body on a line of its own."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0]
            text = lines[first.lineno - 1].encode()
            if first.lineno > node.lineno and not text[: first.col_offset].strip():
                found.append((first.lineno, text[: first.col_offset].decode()))
    return found


# Drawn several times an example, so not targeted (hypothesis allows one target per label).
PIECES = hypothesmith.from_grammar(auto_target=False) | hypothesmith.from_node(auto_target=False)
_WRAPPERS = [
    "{code}",
    "def function_{n}(a, b=1):\n{body}",
    "class Holder{n}:\n    width: int = 1\n\n    def method(self):\n{body8}",
    "@decorator\n@other(1)\nasync def coroutine_{n}(\n    a,\n    b,\n):\n{body}",
    'if __name__ == "__main__":\n{body}',
]


@st.composite
def structured(draw, code: st.SearchStrategy[str]) -> str:
    """Generated code in the places annotated modules have code: module level, function and
    method bodies, a decorated coroutine with a multi-line header, the `__main__` block. A piece
    that does not compile where it was put (`from x import *` in a function) stays at the top."""
    pieces = []
    for n in range(draw(st.integers(1, 4))):
        chunk = draw(code).rstrip("\n") or "pass"
        body = textwrap.indent(chunk, "    ", lambda line: True)
        body8 = textwrap.indent(chunk, "        ", lambda line: True)
        piece = draw(st.sampled_from(_WRAPPERS)).format(code=chunk, n=n, body=body, body8=body8)
        pieces.append(piece if _compiles(piece) else chunk)
    return "\n\n\n".join(pieces) + "\n"


@st.composite
def annotated(draw, code: st.SearchStrategy[str]) -> str:
    """Generated code with comments and docstrings added where annotated files have them; an
    addition that would not compile (after a line continuation, say) is left out."""
    # One line end, as Python reads "\r" and "\r\n" too: the lines below then are ast's lines.
    source = draw(code).replace("\r\n", "\n").replace("\r", "\n")
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return source
    lines = source.split("\n")
    additions: list[tuple[int, list[str]]] = []  # (insert before this line, new lines)
    for line, indent in _statement_starts(tree, lines):
        if draw(st.integers(0, 3)) == 0:
            texts = draw(st.lists(_commentary, min_size=1, max_size=3))
            blank = draw(st.sampled_from(["", "#"]))
            run = [ln for text in texts for ln in [*_comment_lines(text, indent), indent + blank]]
            additions.append((line, run[:-1]))
    for line, indent in _bodies(tree, lines):
        shape = draw(st.sampled_from(["none", "doc", "typed", "raw", "after"]))
        if shape == "none":
            continue
        doc = _docstring_lines(draw(_commentary), indent, raw=shape == "raw")
        if shape == "typed":
            doc = [f"{indent}# type: (int) -> None", *doc, f"{indent}# {draw(_commentary)}"]
        elif shape == "after":
            doc += _comment_lines(draw(_commentary), indent)
        additions.append((line, doc))
    if draw(st.booleans()):
        title = draw(st.sampled_from(["A", "Ä", "'Ä: b'", "a: b"]))  # the last: a YAML error
        intro = f"---\ntitle: {title}\nsummary: s\n---\n"
        intro += draw(_commentary)
        additions.append((1, _docstring_lines(intro, "", raw=True)))
    for line, new in sorted(additions, key=lambda a: a[0], reverse=True):
        changed = lines[: line - 1] + new + lines[line - 1 :]
        if _compiles("\n".join(changed)):
            lines = changed
    return "\n".join(lines)


@pytest.fixture(scope="module")
def stages(tmp_path_factory):
    """What the stages share across examples: a KaTeX renderer and a page renderer."""
    katex = KatexRenderer()
    config = make_config(tmp_path_factory.mktemp("site"), languages=("en", "fr"))
    yield katex, PageRenderer(config)
    katex.close()


def every_stage(source: str, katex: KatexRenderer, pages: PageRenderer) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "gen.py"
        path.write_text(source, encoding="utf-8")
        try:
            module = parse_source(path, "models/gen.py")
            french, _ = translate_module(module, "fr", None)  # no catalog: all English
            modules = [module, french]
            symbols = xref.SymbolTable([xref.module_symbols(module, "pkg.models.gen")])
            linkers = [xref.PageLinker(symbols, "models/gen.html") for _ in modules]
            rendered = render_source(module, modules, katex, linkers, keep_going=True)
            for lang, (page, found) in zip(["en", "fr"], rendered, strict=True):
                destinations = {link.href for link in found.links + found.images}
                book = module_notebook(
                    page.module, lambda href: None, "pkg", "gen.py", destinations
                )
                nbformat.validate(nbformat.reads(book.data.decode(), as_version=4))
                url = ("fr/" if lang == "fr" else "") + "models/gen.html"
                context = PageContext(url=url, lang=lang, page=page, crumbs=[Crumb(None)])
                assert "</html>" in pages.module_page(context)
        except BuildError as error:  # bad commentary: one line, naming the file
            assert str(error).startswith(str(path)) and "\n" not in str(error), str(error)


@SETTINGS
@given(hypothesmith.from_grammar())
def test_generated_modules_go_through_every_stage(stages, source):
    every_stage(source, *stages)


@SETTINGS
@given(annotated(structured(PIECES)))
def test_annotated_generated_modules_go_through_every_stage(stages, source):
    every_stage(source, *stages)
