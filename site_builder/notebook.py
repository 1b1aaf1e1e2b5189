"""Notebook stage: a page's Module -> a Jupyter notebook (nbformat 4), as reproducible bytes.

The notebook is the page read top to bottom: commentary becomes Markdown cells and code becomes
code cells, in source order, opened by the page's title. A code cell must be whole Python, so each
top-level statement (an import block, a class, a function, an assignment) starts a cell, and the
sections inside it (a method's docstring, the comments in a body) go back into that cell as `#`
comments, in the notebook's language, where the source had them. Two things differ from the page:
- a ```` ```python notebook ```` fence in module-level commentary becomes a code cell of its own,
  so a page can end with cells that only its notebook runs;
- the script's `if __name__ == "__main__":` block is shown, not run (a kernel's `__name__` is
  `"__main__"` too, and the block would parse the kernel's arguments).
Relative imports become absolute, since a kernel has no package. Links go where `link` sends
them (the build sends pages to their notebooks and other files to the site). No outputs,
execution counts or times, and cell ids come from section ids: the same module gives the same
bytes.
"""

import ast
import html
import importlib.util
import posixpath
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser

from .lazy import lazy_module
from .model import Module, Notebook, Section, Written
from .parse import python_ast

nbformat = lazy_module("nbformat")
markdown_it = lazy_module("markdown_it")
commonmark = lazy_module("site_builder.commonmark")  # the page's Markdown dialect

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
NOTEBOOK_FENCE = ("python", "notebook")  # the info string of a fence that becomes a code cell

# Where a Markdown link or image names its destination: `](dest`, `[label]: dest`, and raw HTML.
_INLINE_DEST = re.compile(r"(\]\(\s*)(<[^<>\n]*>|(?:[^\s()\\]|\\.|\((?:[^\s()\\]|\\.)*\))+)")
_REFERENCE_DEST = re.compile(r"^( {0,3}\[(?:[^\]\\\n]|\\.)+\]:[ \t]*)(<[^<>\n]*>|\S+)", re.M)
_HTML_DEST = re.compile(r"""(\s(?:href|src)\s*=\s*)("[^"]*"|'[^']*')""", re.I)
_RELATIVE_IMPORT = re.compile(r"^(\s*from\s+)(\.+)([\w.]*)(\s+import\b)")
_CELL_ID_CHARS = re.compile(r"[^A-Za-z0-9_-]+")
# Cheap tests that spare parsing Markdown where it cannot matter.
_NOTEBOOK_FENCE_LINE = re.compile(r"^ {0,3}(?:`{3,}|~{3,})[ \t]*python[ \t]+notebook[ \t]*$", re.M)
_MAY_OPEN_WITH_H1 = re.compile(r"\s*(?: {0,3}#|[^\n]*\n {0,3}=+[ \t]*(?:\n|$))")


def has_code(module: Module) -> bool:
    """Whether `module` shows code: a section with code, or a ```` ```python notebook ```` fence
    in its module-level commentary (a page of text only gets no notebook)."""
    if any(line.strip() for section in module.sections for _, line in section.code):
        return True
    texts = [module.intro, *(s.docs for s in module.sections if not s.scope)]
    return any(_NOTEBOOK_FENCE_LINE.search(text) for text in texts)


def module_notebook(
    module: Module,
    link: Callable[[str], str | None],
    root_package: str | None = None,
    source: str = "",
    destinations: set[str] | None = None,
) -> Notebook:
    """The notebook of `module` (already in its language). `link(href)` gives the href a notebook
    writes for a page's link, or None to keep it; `root_package` is the import name of the tree
    `module.rel_path` is in, for relative imports; `source`, the source file's path, goes in the
    metadata. `destinations`, the hrefs and srcs of the page's links and images as its Markdown
    parser found them, spares parsing the commentary again (a `](x)` in a code span is no link);
    without it, each text with a link to change is parsed."""
    cells = _Cells(link, destinations)
    folder = posixpath.dirname(module.rel_path)
    package = ".".join([root_package, *filter(None, folder.split("/"))]) if root_package else None
    heading, intro = _opening(module)
    cells.commentary(intro, module.intro_line, "title", prefix=heading and heading + "\n\n")
    if module.sections:
        in_code = frozenset(number for s in module.sections for number, _ in s.code)
        code = _Code.of(module.source, in_code, package)
        for group in _groups(module.sections, code):
            cells.group(group, code)
    metadata = {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}}
    if source:
        metadata["site_builder"] = {"generated_from": source}
    # Made as plain data and written by nbformat's v4 writer. Their shape is always the same, so
    # the tests validate them against nbformat's schema, not every build (nbformat.writes would:
    # it is a third of the time a notebook takes).
    made: list[dict[str, object]] = [
        {"cell_type": cell.kind, "id": cell.id, "metadata": {}, "source": cell.source}
        | ({"execution_count": None, "outputs": []} if cell.kind == "code" else {})
        for cell in cells.cells
    ]
    notebook = nbformat.from_dict(
        {"nbformat": 4, "nbformat_minor": 5, "metadata": metadata, "cells": made}
    )
    text = nbformat.v4.writes(notebook)
    return Notebook((text + "\n").encode(), cells.links)


def _opening(module: Module) -> tuple[str, str]:
    """The notebook's heading and the intro under it: as on the page, the intro's own leading
    `# ` heading when it has one, else the front matter's title."""
    intro = module.intro
    if _MAY_OPEN_WITH_H1.match(intro):
        tokens = commonmark.PARSER.parse(intro.lstrip("\n").split("\n\n", 1)[0])  # its first block
        if tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
            return "", intro
    return f"# {html.escape(module.title, quote=False)}", intro  # the title is text, not HTML


# ------------------------------------------------------------------------------- the source code


class _Code:
    """What the module's syntax tree says about its sections' code: where top-level statements
    start and end, the `__main__` block, docstring-only bodies and relative imports."""

    @staticmethod
    @lru_cache(maxsize=16)
    def of(source: str, in_code: frozenset[int], package: str | None) -> "_Code":
        """One analysis per source, shared by its languages (a page's languages are made one
        after the other)."""
        return _Code(source, in_code, package)

    def __init__(self, source: str, in_code: frozenset[int], package: str | None):
        """`in_code`: the lines of the sections' code (the rest is commentary)."""
        self.lines = source.split("\n")
        tree = python_ast(source)
        self.starts: set[int] = set()
        self.spans: list[tuple[int, int]] = []
        self.main_start = 0
        for node in tree.body:
            first = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            self.starts.add(first)
            self.spans.append((first, node.end_lineno or node.lineno))
            if _is_main_guard(node):
                self.main_start = first
        self.placeholders = {}  # header line -> (line, "...") for a body that was only a docstring
        self.imports = {}  # line -> absolute form of a relative import on it
        for node in _statements(tree.body):
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                doc = node.body[0]
                if len(node.body) == 1 and _is_docstring(doc) and doc.lineno not in in_code:
                    header = min([node.lineno] + [d.lineno for d in node.decorator_list])
                    self.placeholders[header] = (doc.lineno, self._indent(doc.lineno) + "...")
            elif isinstance(node, ast.ImportFrom) and node.level and package:
                absolute = self._absolute(node, package)
                if absolute:
                    self.imports[node.lineno] = absolute

    def _indent(self, line: int) -> str:
        text = self.lines[line - 1]
        return text[: len(text) - len(text.lstrip())]

    def _absolute(self, node: ast.ImportFrom, package: str) -> str | None:
        text = self.lines[node.lineno - 1]
        match = _RELATIVE_IMPORT.match(text)
        try:
            name = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
        except ImportError:  # beyond the top-level package: left as written
            return None
        if not match:
            return None
        return match.group(1) + name + match.group(4) + text[match.end() :]

    def is_top(self, line: int) -> bool:
        """A line where a top-level statement starts, or one outside every statement."""
        return line in self.starts or not any(a <= line <= b for a, b in self.spans)

    def blank_between(self, after: int, before: int) -> bool:
        return any(not self.lines[n - 1].strip() for n in range(after + 1, before))

    def comment_indent(self, section: Section) -> str:
        """Where a section's commentary goes as comments: at its comment's indentation, or at
        its header's for a docstring."""
        header = section.kind == "docstring" and section.code
        return self._indent(section.code[0][0] if header else section.docs_line)

    def code_lines(self, section: Section) -> list[str]:
        """The section's code; where a docstring was taken out, the blank lines after it go too,
        and a body that was only the docstring gets `...`."""
        lines = list(section.code)
        if section.kind == "docstring":
            header = [line for line in lines if line[0] < section.docs_line]
            body = [line for line in lines if line[0] > section.docs_line]
            while body and not body[0][1].strip():
                body.pop(0)
            lines = header + body
            if lines and lines[0][0] in self.placeholders:
                lines = sorted(lines + [self.placeholders[lines[0][0]]])
        return [self.imports.get(number, text) for number, text in lines]


def _statements(body: list):
    """Every statement in `body`, nested ones too; unlike `ast.walk`, expressions are skipped,
    which is most of a tree."""
    for node in body:
        yield node
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            inner = getattr(node, name, None)
            if isinstance(inner, list):
                yield from _statements(inner)


def _is_docstring(node: ast.stmt) -> bool:
    return (
        isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
    )


def _is_main_guard(node: ast.stmt) -> bool:
    """`if __name__ == "__main__":`, either way round."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, test.comparators[0]]
    names = [s.id for s in sides if isinstance(s, ast.Name)]
    values = [s.value for s in sides if isinstance(s, ast.Constant)]
    return names == ["__name__"] and values == ["__main__"]


def _first_line(section: Section) -> int:
    """The section's first source line: its comment, else its code."""
    if section.kind == "comment" and section.docs.strip() or not section.code:
        return section.docs_line
    return section.code[0][0]


def _last_line(section: Section, code: _Code) -> int:
    """The section's last source line: its code's, else its comment's (found in the source, so
    that a translation, with lines of its own, changes nothing in the code cells)."""
    if section.code:
        return section.code[-1][0]
    line = section.docs_line
    while line < len(code.lines) and code.lines[line].lstrip().startswith("#"):
        line += 1
    return line


def _groups(sections: list[Section], code: _Code) -> list[list[Section]]:
    """Sections grouped by top-level statement: a group opens where one starts (or with module-
    level commentary between statements), and holds the sections inside that statement."""
    groups: list[list[Section]] = []
    for section in sections:
        line = section.code[0][0] if section.code else section.docs_line
        if not groups or code.is_top(line):
            groups.append([section])
        else:
            groups[-1].append(section)
    return groups


# ------------------------------------------------------------------------------------- the cells


@dataclass
class _Cell:
    kind: str  # "markdown" or "code"
    source: str
    id: str


class _Cells:
    """The notebook's cells as they are made: Markdown next to Markdown joins one cell, and so
    does code with no commentary of its own next to code."""

    def __init__(self, link: Callable[[str], str | None], destinations: set[str] | None):
        self.link, self.destinations = link, destinations
        self.cells: list[_Cell] = []
        self.links: list[Written] = []
        self._ids: set[str] = set()
        self._joinable_code = False

    def _cell_id(self, hint: str) -> str:
        base = _CELL_ID_CHARS.sub("-", hint).strip("-")[:56] or "cell"
        cell_id, n = base, 1
        while cell_id in self._ids:
            n += 1
            cell_id = f"{base}-{n}"
        self._ids.add(cell_id)
        return cell_id

    def markdown(self, text: str, hint: str) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        if self.cells and self.cells[-1].kind == "markdown":
            self.cells[-1].source += "\n\n" + text
        else:
            self.cells.append(_Cell("markdown", text, self._cell_id(hint)))
        self._joinable_code = False

    def code(self, text: str, hint: str, joinable: bool) -> None:
        text = text.strip("\n")
        if not text.strip():
            return
        if joinable and self._joinable_code:
            self.cells[-1].source += "\n\n" + text
        else:
            self.cells.append(_Cell("code", text, self._cell_id(hint)))
        self._joinable_code = True

    def commentary(self, text: str, line: int, hint: str, prefix: str = "") -> None:
        """Markdown cells for commentary, with a code cell for each notebook fence in it;
        `prefix` (a heading, an anchor, with what separates it) opens the first Markdown cell."""
        parts = _split_fences(text)
        if prefix and (not parts or parts[0][0] != "markdown"):
            self.markdown(prefix, hint)
            prefix = ""
        runs = 0
        for kind, part, offset in parts:
            if kind == "markdown":
                linked = self.linked(part, line + offset)
                self.markdown(prefix + linked, hint)
                prefix = ""
            else:
                runs += 1
                self.code(part, f"{hint}-run-{runs}", joinable=False)
                self._joinable_code = False

    def linked(self, text: str, line: int) -> str:
        text, found = rewrite_links(text, self.link, self.destinations)
        self.links += [Written(href, line + offset) for href, offset in found]
        return text

    def group(self, group: list[Section], code: _Code) -> None:
        head = group[0]
        source = self._group_source(group, code)
        anchor = f'<a id="{html.escape(head.id)}"></a>\n' if head.kind == "docstring" else ""
        docs = head.docs.strip("\n")
        if docs.strip() or anchor:
            self.commentary(docs, head.docs_line, head.id, prefix=anchor)
        if head.code and head.code[0][0] == code.main_start:  # shown, not run
            fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`+", source))])
            self.markdown(f"{fence}python\n{source}\n{fence}", f"{head.id}-code")
        else:
            self.code(source, f"{head.id}-code", joinable=not docs.strip())

    def _group_source(self, group: list[Section], code: _Code) -> str:
        """The group's code, with the commentary of every section after the first as comments."""
        out: list[str] = []
        previous = None
        for section in group:
            start = _first_line(section)
            opens_block = out and out[-1].endswith(":")  # a docstring was here: no gap
            if previous is not None and code.blank_between(previous, start) and not opens_block:
                out.append("")
            if section is not group[0] and section.docs.strip():
                indent = code.comment_indent(section)
                docs = self.linked(section.docs.strip("\n"), section.docs_line)
                out += [f"{indent}# {ln}".rstrip() for ln in docs.split("\n")]
            if section.code:
                out += code.code_lines(section)
            previous = _last_line(section, code)
        return "\n".join(out)


def _split_fences(text: str) -> list[tuple[str, str, int]]:
    """Commentary cut at its top-level notebook fences: ("markdown" or "code", text, the line
    offset of the text in `text`)."""
    if not _NOTEBOOK_FENCE_LINE.search(text):  # most commentary: no need to parse it
        return [("markdown", text, 0)] if text.strip() else []
    lines = text.split("\n")
    parts, position = [], 0
    for token in commonmark.PARSER.parse(text):
        if token.type != "fence" or token.level or tuple(token.info.split()) != NOTEBOOK_FENCE:
            continue
        start, end = token.map
        parts.append(("markdown", "\n".join(lines[position:start]), position))
        parts.append(("code", token.content.rstrip("\n"), start + 1))
        position = end
    parts.append(("markdown", "\n".join(lines[position:]), position))
    return [part for part in parts if part[1].strip()]


# ------------------------------------------------------------------------------------- the links


class _HtmlRefs(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: set[str] = set()

    def handle_starttag(self, tag, attrs):
        self.found |= {value for name, value in attrs if name in ("href", "src") and value}

    handle_startendtag = handle_starttag


def _destinations(text: str) -> tuple[set[str], set[str]]:
    """The destinations of the text's real links and images (as markdown-it normalizes them),
    and the href/src values of its raw HTML: a `](x)` in a code span is neither."""
    links, html_refs = set(), _HtmlRefs()
    stack = list(commonmark.PARSER.parse(text))
    while stack:
        token = stack.pop()
        stack += token.children or []
        if token.type == "link_open":
            links.add(token.attrGet("href"))
        elif token.type == "image":
            links.add(token.attrGet("src"))
        elif token.type in ("html_inline", "html_block"):
            html_refs.feed(token.content)
    html_refs.close()
    return links, html_refs.found


def rewrite_links(
    text: str, link: Callable[[str], str | None], destinations: set[str] | None = None
) -> tuple[str, list[tuple[str, int]]]:
    """`text` with each link and image destination replaced by `link(destination)` (None keeps
    it), and the (new href, line offset) of each one replaced. Only real destinations change:
    those in `destinations`, else those found by parsing the text (when one would change)."""
    original = text
    found = [destinations, destinations] if destinations is not None else []
    replaced: list[tuple[str, int]] = []

    def real(href: str, kind: int) -> bool:
        """Whether the text has a link or image (kind 0), or raw HTML (kind 1), to `href`."""
        if not found:
            found.extend(_destinations(original))
        known = found[kind]
        return (
            href in known
            or kind == 0
            and markdown_it.common.normalize_url.normalizeLink(href) in known
        )

    def swap(match: re.Match, kind: int, unwrap, wrap) -> str:
        written = match.group(2)
        href = unwrap(written)
        new = link(href)
        if new is None or new == href or not real(href, kind):
            return match.group(0)
        replaced.append((new, match.string.count("\n", 0, match.start(2))))
        return match.group(1) + wrap(written, new)

    def markdown_href(written: str) -> str:
        return markdown_it.common.utils.unescapeAll(
            written[1:-1] if written.startswith("<") else written
        )

    def markdown_wrap(written: str, new: str) -> str:
        return f"<{new}>" if written.startswith("<") or re.search(r"[\s()]", new) else new

    def html_wrap(written: str, new: str) -> str:
        return written[0] + html.escape(new, quote=True) + written[0]

    text = _INLINE_DEST.sub(lambda m: swap(m, 0, markdown_href, markdown_wrap), text)
    text = _REFERENCE_DEST.sub(lambda m: swap(m, 0, markdown_href, markdown_wrap), text)
    text = _HTML_DEST.sub(lambda m: swap(m, 1, lambda w: html.unescape(w[1:-1]), html_wrap), text)
    return text, replaced
