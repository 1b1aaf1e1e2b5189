"""Parse stage: an annotated Python file (or a Markdown page) -> Module.

Conventions, those of nn.labml.ai's annotated sources:
- the module docstring holds YAML front matter (title, summary) and then the introduction;
- a class or function docstring on lines of its own opens a "docstring" section, which takes the
  `class`/`def` header (and decorators) with it;
- a run of full-line `#` comments opens a "comment" section for the code below it; blank lines
  and bare `#` lines inside the run are paragraph breaks; a run of only bare `#` lines just
  starts a new section with no commentary; a comment after code stays in the code.
`tokenize` finds the comments and `ast` the docstrings and scopes, so `#` or quotes inside strings
never split anything. Every line that is not commentary keeps its original number.
"""

import ast
import io
import re
import tokenize
from dataclasses import dataclass, field
from inspect import cleandoc
from pathlib import Path

from .model import BuildError, Module, Section

_FRONT_MATTER_KEYS = {"title", "summary"}
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
# An odd run of backslashes before one of these letters: an escape yielding a control character.
_CONTROL_ESCAPE = re.compile(r"(?<!\\)(?:\\\\)*\\[abfnrtv]")


def read_source(path: Path) -> str:
    """The text of a Python file, decoded as Python would (PEP 263), newlines normalized to \\n."""
    data = _read_bytes(path)
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        raise BuildError(path, None, f"cannot read: {e.msg}") from None
    return _decode(path, data, encoding)


def _read_bytes(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as e:
        raise BuildError(path, None, f"cannot read: {e.strerror or e}") from None


def _decode(path: Path, data: bytes, encoding: str) -> str:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        raise BuildError(
            path, None, f"cannot read: not valid {encoding} (byte {e.start}, line {line})"
        ) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _front_matter(path: Path, lines: list[str], first_line: int) -> tuple[dict, int]:
    """Split optional `---` YAML front matter off `lines` (which start at file line `first_line`).
    Returns (metadata, index of the first line after it)."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise BuildError(path, first_line, "front matter opened with '---' is never closed")
    import yaml

    try:
        meta = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        line = first_line + 1 + mark.line if mark else first_line
        problem = getattr(e, "problem", None) or str(e)
        raise BuildError(path, line, f"invalid YAML front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise BuildError(path, first_line + 1, "front matter must be a YAML mapping")
    unknown = sorted(set(map(str, meta)) - _FRONT_MATTER_KEYS)
    if unknown:
        raise BuildError(
            path, first_line + 1, f"unknown front matter key(s) {unknown}; allowed: title, summary"
        )
    for key, value in meta.items():
        if not isinstance(value, str):
            raise BuildError(path, first_line + 1, f"front matter {key!r} must be a string")
    return meta, end + 1


def _body(lines: list[str], start: int) -> tuple[str, int]:
    """Text from lines[start:] without blank edge lines, and the index where it starts."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:]).rstrip(), start


def _default_title(path: Path) -> str:
    path = Path(path)
    return path.parent.name if path.stem == "__init__" and path.parent.name else path.stem


def parse_markdown_page(path: Path, rel_path: str) -> Module:
    """A Markdown page (readme.md, docs): optional front matter, then the whole body is the intro.
    The title falls back to the first `# ` heading, then to the file name."""
    lines = _decode(path, _read_bytes(path), "utf-8-sig").split("\n")
    meta, after = _front_matter(path, lines, 1)
    intro, start = _body(lines, after)
    title = meta.get("title")
    if title is None:
        heading = next((ln for ln in lines[start:] if re.match(r"#\s", ln)), None)
        title = heading[1:].strip() if heading else _default_title(path)
    return Module(
        path=Path(path),
        rel_path=rel_path,
        title=title,
        summary=meta.get("summary", ""),
        intro=intro,
        intro_line=start + 1 if intro else 0,
    )


@dataclass
class _Docstring:
    node: ast.Expr
    qualname: str  # "" for the module docstring
    text: str  # cleaned with inspect.cleandoc
    text_line: int  # file line of the text's first line
    header_line: int  # first line of the class/def (decorators included)


def _docstring(path: Path, lines: list[str], owner, qualname: str) -> _Docstring | None:
    body = owner.body
    if not body or not isinstance(body[0], ast.Expr):
        return None
    node = body[0]
    if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        return None
    # ast offsets count UTF-8 bytes. A docstring sharing a line with other code stays code.
    first = lines[node.lineno - 1].encode()
    last = lines[node.end_lineno - 1].encode()
    if first[: node.col_offset].strip() or last[node.end_col_offset :].strip():
        return None
    literal = "\n".join(lines[node.lineno - 1 : node.end_lineno]).encode()
    literal = literal[node.col_offset : len(literal) - len(last) + node.end_col_offset].decode()
    prefix = re.match(r"[a-zA-Z]*", literal).group()
    escape = None if "r" in prefix.lower() else _CONTROL_ESCAPE.search(literal)
    if escape:
        line = node.lineno + literal[: escape.start()].count("\n")
        raise BuildError(
            path,
            line,
            f"docstring escape \\{escape.group()[-1]} turns into a control character (TeX such "
            'as \\frac, \\beta or \\nabla is lost): make it a raw docstring, r"""..."""',
        )
    value = node.value.value
    leading = value[: len(value) - len(value.lstrip())]
    header = owner.lineno if qualname else node.lineno
    if qualname and owner.decorator_list:
        header = min(header, *(d.lineno for d in owner.decorator_list))
    return _Docstring(node, qualname, cleandoc(value), node.lineno + leading.count("\n"), header)


def _scopes_and_docstrings(path, tree, lines):
    """(start, end, qualname) of every class/def, and the docstrings by first line."""
    scopes: list[tuple[int, int, str]] = []
    docstrings: dict[int, _Docstring] = {}

    def visit(node, prefix: str):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = prefix + child.name
                scopes.append((child.lineno, child.end_lineno, qualname))
                doc = _docstring(path, lines, child, qualname)
                if doc:
                    docstrings[doc.node.lineno] = doc
                visit(child, qualname + ".")
            else:
                visit(child, prefix)

    visit(tree, "")
    return scopes, docstrings


def _comment_lines(source: str, lines: list[str]) -> dict[int, str | None]:
    """Full-line comments by line: the text after `#` and one space, or None for a bare `#`."""
    comments: dict[int, str | None] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type != tokenize.COMMENT:
            continue
        row, col = tok.start
        if lines[row - 1][:col].strip():
            continue  # after code on the same line: stays code
        if row == 1 and tok.string.startswith("#!") or row <= 2 and _CODING.match(tok.string):
            continue  # shebang and encoding declaration are code
        text = tok.string[1:]
        text = text[1:] if text.startswith(" ") else text
        comments[row] = text if text.strip() else None
    return comments


@dataclass
class _Draft:
    kind: str
    scope: str
    docs: str
    docs_line: int
    qualname: str = ""
    code: list[tuple[int, str]] = field(default_factory=list)


def parse_module(path: Path, rel_path: str) -> Module:
    """Parse an annotated Python file into front matter, introduction and sections."""
    path = Path(path)
    source = read_source(path)
    try:
        tree = ast.parse(source, filename=str(path))
    except SyntaxError as e:
        raise BuildError(path, e.lineno, f"syntax error: {e.msg}") from None
    except ValueError as e:  # e.g. null bytes
        raise BuildError(path, None, f"syntax error: {e}") from None
    lines = source.split("\n")
    if source.endswith("\n"):
        lines.pop()  # the empty remainder after the final newline is not a line
    scopes, docstrings = _scopes_and_docstrings(path, tree, lines)
    comments = _comment_lines(source, lines)
    module_doc = _docstring(path, lines, tree, "")

    def scope_of(line: int) -> str:
        inside = [s for s in scopes if s[0] <= line <= s[1]]
        return max(inside)[2] if inside else ""

    drafts = [_Draft("comment", "", "", 1)]
    line = 1
    while line <= len(lines):
        if module_doc and line == module_doc.node.lineno:
            line = module_doc.node.end_lineno + 1
        elif line in docstrings:
            doc = docstrings[line]
            header = [c for c in drafts[-1].code if c[0] >= doc.header_line]
            del drafts[-1].code[len(drafts[-1].code) - len(header) :]
            draft = _Draft("docstring", doc.qualname, doc.text, doc.text_line, doc.qualname)
            draft.code.extend(header)
            drafts.append(draft)
            line = doc.node.end_lineno + 1
        elif line in comments:
            run_end = line
            probe = line
            while probe <= len(lines) and (probe in comments or not lines[probe - 1].strip()):
                if probe in comments:
                    run_end = probe
                probe += 1
            run = range(line, run_end + 1)
            text_lines = [n for n in run if comments.get(n) is not None]
            if text_lines:
                first, last = text_lines[0], text_lines[-1]
                docs = "\n".join(comments.get(n) or "" for n in range(first, last + 1))
                drafts.append(_Draft("comment", scope_of(line), docs, first))
            else:
                drafts.append(_Draft("comment", scope_of(line), "", line))
            line = run_end + 1
        else:
            drafts[-1].code.append((line, lines[line - 1]))
            line += 1

    sections = _finish(drafts)
    meta, intro, intro_line = {}, "", 0
    if module_doc:
        doc_lines = module_doc.text.split("\n")
        meta, after = _front_matter(path, doc_lines, module_doc.text_line)
        intro, start = _body(doc_lines, after)
        intro_line = module_doc.text_line + start if intro else 0
    return Module(
        path=path,
        rel_path=rel_path,
        title=meta.get("title", _default_title(path)),
        summary=meta.get("summary", ""),
        intro=intro,
        intro_line=intro_line,
        sections=sections,
        source=source,
    )


def _finish(drafts: list[_Draft]) -> list[Section]:
    """Trim blank code lines at section edges, drop empty sections, and assign ids."""
    sections = []
    counts: dict[str, int] = {}
    seen_qualnames: dict[str, int] = {}
    for d in drafts:
        code = d.code
        while code and not code[0][1].strip():
            code = code[1:]
        while code and not code[-1][1].strip():
            code = code[:-1]
        if not d.docs and not code:
            continue
        if d.kind == "docstring":
            seen_qualnames[d.qualname] = seen_qualnames.get(d.qualname, 0) + 1
            n = seen_qualnames[d.qualname]
            section_id = d.qualname if n == 1 else f"{d.qualname}~{n}"  # redefinitions
        else:
            counts[d.scope] = counts.get(d.scope, 0) + 1
            section_id = f"{d.scope or 'section'}-{counts[d.scope]}"
        docs_line = d.docs_line if d.docs else code[0][0]
        sections.append(Section(section_id, d.kind, d.scope, d.docs, docs_line, list(code)))
    return sections
