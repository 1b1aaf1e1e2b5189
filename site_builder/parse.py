r"""Parse stage: an annotated Python file (or a Markdown page) -> Module.

Conventions, those of nn.labml.ai's annotated sources:
- the module docstring holds YAML front matter (title, summary) and then the introduction;
- a class or function docstring on lines of its own opens a "docstring" section, which takes the
  `class`/`def` header (and decorators) with it;
- a run of full-line `#` comments opens a "comment" section for the code below it; blank lines
  and bare `#` lines inside the run are paragraph breaks; a run of only bare `#` lines just
  starts a new section with no commentary; a comment after code stays in the code.
`tokenize` finds the comments and `ast` the docstrings and scopes, so `#` or quotes inside strings
never split anything. Every line that is not commentary keeps its original number. The module
also records the names it binds at its top level (`Module.definitions`, for cross-references).

A docstring is read as written in the file, as its author reads it, not as Python's `__doc__`:
TeX such as `\frac` or `\beta` in a plain (not raw) docstring stays TeX. The exception is a
docstring that escapes its backslashes for Python (`\\frac`, and no escape that only makes sense
unescaped): it is read as Python reads it, so it renders as the raw docstring with `\frac` would.
Wherever the two readings differ, the module gets a warning with `file:line`.
"""

import ast
import io
import re
import tokenize
from codecs import decode
from dataclasses import dataclass, field
from inspect import cleandoc
from pathlib import Path
from warnings import catch_warnings, simplefilter

from .lazy import lazy_module
from .model import BuildError, Definition, Module, Section

yaml = lazy_module("yaml")

_FRONT_MATTER_KEYS = {"title", "summary"}
_CODING = re.compile(r"^[ \t\f]*#.*?coding[:=]")
# One backslash escape of a string literal, left to right. Those of the first group mean one
# character to Python and nothing to TeX (a plain literal with `\x`, `\u` or `\N` not followed by
# what Python needs does not compile): both readings resolve them, as they do escaped quotes.
_ESCAPE = re.compile(
    r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|N\{[^}]*\}|[0-7]{1,3}|['\"])|\\(.)", re.S
)
_CONTROL = {
    "a": "a bell",
    "b": "a backspace",
    "f": "a form feed",
    "n": "a line break",
    "r": "a carriage return",
    "t": "a tab",
    "v": "a vertical tab",
}
_OTHER_EFFECTS = {"\\": "one backslash", "\n": "a line join"}


def read_source(path: Path, data: bytes | None = None) -> str:
    """The text of a Python file (its bytes `data`, when they have been read), decoded as Python
    would (PEP 263), newlines normalized to \\n."""
    data = _read_bytes(path) if data is None else data
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as e:
        _decode(path, data, "utf-8")  # bytes that are not UTF-8, without a declaration: where
        raise BuildError(path, _declaration_line(data), f"cannot read: {e.msg}") from None
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
        message = f"cannot read: not valid {encoding} (byte {e.start})"
        raise BuildError(path, line, message) from None
    except LookupError:  # a declared codec that is not a text encoding (rot13, hex, zlib)
        message = f"cannot read: the declared encoding {encoding!r} is not a text encoding"
        raise BuildError(path, _declaration_line(data), message) from None
    except UnicodeError:  # a codec that fails without a position (punycode, undefined)
        message = f"cannot read: not valid {encoding}, the declared encoding"
        raise BuildError(path, _declaration_line(data), message) from None
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _declaration_line(data: bytes) -> int | None:
    """The line of a PEP 263 encoding declaration (the first or second), if there is one."""
    for number, line in enumerate(data.split(b"\n", 2)[:2], start=1):
        if _CODING.match(line.decode("latin-1")):
            return number
    return None


def _front_matter(
    path: Path, lines: list[str], first_line: int, warnings: list[BuildError]
) -> tuple[dict, int]:
    """Split optional `---` YAML front matter off `lines` (which start at file line `first_line`).
    Returns (metadata, index of the first line after it). Keys other than title and summary are
    left out with a warning: other tools' keys (`redirect:`) must not stop a build."""
    if not lines or lines[0].strip() != "---":
        return {}, 0
    end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), None)
    if end is None:
        raise BuildError(path, first_line, "front matter opened with '---' is never closed")
    text = "\n".join(lines[1:end])
    try:
        # libyaml's safe loader where PyYAML has it (it reads the same YAML, several times faster)
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
        meta = yaml.load(text, Loader=loader) or {}  # noqa: S506 (safe)
    except yaml.YAMLError as e:
        line, problem = _yaml_problem(e, text)
        where = first_line + 1 + line if line is not None else first_line
        raise BuildError(path, where, f"invalid YAML front matter: {problem}") from None
    if not isinstance(meta, dict):
        raise BuildError(path, first_line + 1, "front matter must be a YAML mapping")

    def line_of(key) -> int:
        pattern = re.compile(rf"['\"]?{re.escape(str(key))}['\"]?\s*:")  # a top-level key
        found = (i for i in range(1, end) if pattern.match(lines[i]))
        return first_line + next(found, 1)

    for key in [key for key in meta if key not in _FRONT_MATTER_KEYS]:
        message = f"front matter key {str(key)!r} is not used (only title and summary are)"
        warnings.append(BuildError(path, line_of(key), message))
        del meta[key]
    for key, value in meta.items():
        if not isinstance(value, str):
            raise BuildError(path, line_of(key), f"front matter {key!r} must be a string")
    return meta, end + 1


def _yaml_problem(error: Exception, text: str) -> tuple[int | None, str]:
    """A YAML error's line in `text` (0-based, None if unknown) and its problem, on one line (not
    PyYAML's message, which adds lines that show where)."""
    if isinstance(error, yaml.reader.ReaderError):  # a character YAML does not allow
        line = text[: error.position].count("\n")
        return line, f"character U+{error.character:04X}: {error.reason}"
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or str(error).strip().split("\n")[0]
    return (mark.line if mark else None), problem


def _body(lines: list[str], start: int) -> tuple[str, int]:
    """Text from lines[start:] without blank edge lines, and the index where it starts."""
    while start < len(lines) and not lines[start].strip():
        start += 1
    return "\n".join(lines[start:]).rstrip(), start


def _default_title(path: Path) -> str:
    path = Path(path)
    return path.parent.name if path.stem == "__init__" and path.parent.name else path.stem


def parse_markdown_page(path: Path, rel_path: str, data: bytes | None = None) -> Module:
    """A Markdown page (readme.md, docs): optional front matter, then the whole body is the intro.
    The title falls back to the first `# ` heading, then to the file name."""
    data = _read_bytes(path) if data is None else data
    lines = _decode(path, data, "utf-8-sig").split("\n")
    warnings: list[BuildError] = []
    meta, after = _front_matter(path, lines, 1, warnings)
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
        warnings=warnings,
    )


@dataclass
class _Docstring:
    node: ast.Expr
    qualname: str  # "" for the module docstring
    text: str  # cleaned with inspect.cleandoc
    text_line: int  # file line of the text's first line
    header_line: int  # first line of the class/def (decorators included)


def _docstring(path: Path, lines: list[str], strings: dict, owner, qualname: str, warnings: list):
    """The docstring of `owner` (a module, class or function) read as written in the file (see
    the module's notes), or None. `strings` holds the file's string tokens by line."""
    body = owner.body
    if not body or not isinstance(body[0], ast.Expr):
        return None
    node = body[0]
    if not (isinstance(node.value, ast.Constant) and isinstance(node.value.value, str)):
        return None
    assert node.end_lineno is not None and node.end_col_offset is not None  # set by ast.parse
    # ast offsets count UTF-8 bytes. A docstring sharing a line with other code stays code.
    first = lines[node.lineno - 1].encode()
    last = lines[node.end_lineno - 1].encode()
    if first[: node.col_offset].strip() or last[node.end_col_offset :].strip():
        return None
    pieces = [tok for n in range(node.lineno, node.end_lineno + 1) for tok in strings.get(n, ())]
    text, warning = _as_written(path, pieces, node.value.value)
    if warning:
        warnings.append(warning)
    leading = text[: len(text) - len(text.lstrip())]
    header = owner.lineno if qualname else node.lineno
    if qualname and owner.decorator_list:
        header = min(header, *(d.lineno for d in owner.decorator_list))
    return _Docstring(node, qualname, cleandoc(text), node.lineno + leading.count("\n"), header)


def _as_written(path: Path, pieces: list[tokenize.TokenInfo], value: str):
    r"""A string literal's text as its author reads it, and a warning when Python reads it
    differently. `pieces` are its string tokens (more than one for implicit concatenation).

    The text between the quotes is taken as it stands, but for escapes that only Python can mean
    (`\"`, `\u00e9`, `\N{DEGREE SIGN}`): plain docstrings in annotated corpora hold TeX with single
    backslashes (`\frac`, `\beta`), which Python turns into control characters. Python's value
    is taken instead when the literal escapes its backslashes (`\\frac`) and holds no escape
    that only makes sense unescaped: a TeX command that starts with a control escape (`\frac`),
    or an escape Python keeps as written (`\sum`, `\_`; deprecated since Python 3.6)."""
    parts, doubled, unescaped, changed = [], False, False, None
    for token in pieces:
        prefix = _letters(token.string, 0)
        quote = 3 if token.string[len(prefix) : len(prefix) + 3] in ('"""', "'''") else 1
        content = token.string[len(prefix) + quote : len(token.string) - quote]
        if "r" in prefix.lower():
            parts.append(content)
            continue
        done = 0
        for escape in _ESCAPE.finditer(content):
            if escape.group(1):
                parts += [content[done : escape.start()], decode(escape.group(), "unicode_escape")]
                done = escape.end()
                continue
            char = escape.group(2)
            python_escape = char in _CONTROL or char in _OTHER_EFFECTS
            tex_command = char in _CONTROL and content[escape.end() : escape.end() + 1].isalpha()
            unescaped = unescaped or tex_command or not python_escape  # `\sum`: kept by Python
            if python_escape:
                doubled = doubled or char == "\\"
                if changed is None:
                    line = token.start[0] + content[: escape.start()].count("\n")
                    word = escape.group() + _letters(content, escape.end())
                    changed = (line, char, word)
        parts.append(content[done:])
    text = "".join(parts)
    if text == value or changed is None:
        return text, None
    line, char, word = changed
    if char == "\n":  # the escape is a line break: the message must stay on one line
        word = "a backslash at the end of a line"
    as_written = unescaped or not doubled
    if as_written:
        effect = _CONTROL.get(char) or _OTHER_EFFECTS[char]
        where = f"the {word[:2]} of {word}" if len(word) > 2 and char != "\n" else word
        reading = f"as written in the file: Python reads {where} as {effect}"
    else:
        python = {"\\": word[1:], "\n": "a line join"}.get(char, f"the escape in {word}")
        reading = f"as Python reads it ({word} as {python}): it escapes backslashes for Python"
    message = f'docstring read {reading}; a raw docstring r"""...""" reads the same both ways'
    return (text if as_written else value), BuildError(path, line, message)


def _letters(text: str, start: int) -> str:
    """The run of ASCII letters at `text[start:]` (maybe none)."""
    end = start
    while end < len(text) and text[end].isascii() and text[end].isalpha():
        end += 1
    return text[start:end]


def _scopes_and_docstrings(path, tree, lines, strings, warnings):
    """(start, end, qualname) of every class/def, and the docstrings by first line. Classes and
    functions are statements: the walk goes through statement bodies only, without recursion (an
    expression can nest deeper than Python's recursion limit: `a + a + ... + a`)."""
    scopes: list[tuple[int, int, str]] = []
    docstrings: dict[int, _Docstring] = {}
    bodies: list[tuple[list[ast.stmt], str]] = [(tree.body, "")]
    while bodies:
        body, prefix = bodies.pop()
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                qualname = prefix + node.name
                scopes.append((node.lineno, node.end_lineno or node.lineno, qualname))
                doc = _docstring(path, lines, strings, node, qualname, warnings)
                if doc:
                    docstrings[doc.node.lineno] = doc
                bodies.append((node.body, qualname + "."))
                continue
            for name in ("body", "orelse", "finalbody"):
                inner = getattr(node, name, None)
                if isinstance(inner, list):
                    bodies.append((inner, prefix))
            for clause in getattr(node, "handlers", []) + getattr(node, "cases", []):
                bodies.append((clause.body, prefix))
    return scopes, docstrings


def _tokens(source: str, lines: list[str]) -> tuple[dict[int, str | None], dict[int, list]]:
    """Full-line comments by line (the text after `#` and one space, or None for a bare `#`),
    and the string tokens by their first line."""
    comments: dict[int, str | None] = {}
    strings: dict[int, list[tokenize.TokenInfo]] = {}
    for tok in tokenize.generate_tokens(io.StringIO(source).readline):
        if tok.type == tokenize.STRING:
            strings.setdefault(tok.start[0], []).append(tok)
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
    return comments, strings


def python_ast(source: str, filename: str = "<unknown>") -> ast.Module:
    """`ast.parse` without Python's warnings about invalid escapes: docstrings are read as
    written (see above), and a file is not ours to fix."""
    with catch_warnings():
        simplefilter("ignore")
        return ast.parse(source, filename=filename)


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def _definitions(tree: ast.Module) -> list[Definition]:
    """The names the module binds at its top level (see `Definition`), in source order."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            found.append(Definition("top", node.name, node.lineno))
            if isinstance(node, ast.ClassDef) and _is_dataclass(node):
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        found.append(Definition("field", item.target.id, item.lineno))
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    found.append(Definition("top", target.id, node.lineno))
        elif isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            for alias in node.names:
                local = alias.asname or alias.name
                found.append(Definition("import", local, node.lineno, source, alias.name))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                module = alias.name if alias.asname else alias.name.split(".")[0]
                found.append(Definition("module", alias.asname or module, node.lineno, module))
    return found


@dataclass
class _Draft:
    kind: str
    scope: str
    docs: str
    docs_line: int
    qualname: str = ""
    code: list[tuple[int, str]] = field(default_factory=list)


def parse_module(path: Path, rel_path: str, data: bytes | None = None) -> Module:
    """Parse an annotated Python file into front matter, introduction and sections."""
    path = Path(path)
    source = read_source(path, data)
    try:
        tree = python_ast(source, str(path))
    except SyntaxError as e:
        raise BuildError(path, e.lineno, f"syntax error: {e.msg}") from None
    except ValueError as e:  # e.g. null bytes
        raise BuildError(path, None, f"syntax error: {e}") from None
    lines = source.split("\n")
    if source.endswith("\n"):
        lines.pop()  # the empty remainder after the final newline is not a line
    comments, strings = _tokens(source, lines)
    warnings: list[BuildError] = []
    module_doc = _docstring(path, lines, strings, tree, "", warnings)
    scopes, docstrings = _scopes_and_docstrings(path, tree, lines, strings, warnings)

    def scope_of(line: int) -> str:
        inside = [s for s in scopes if s[0] <= line <= s[1]]
        return max(inside)[2] if inside else ""

    # A comment inside a class/def header (between its decorators, in its parameters, or an old
    # `# type:` comment before its docstring) is code: the docstring's section takes the header.
    for doc in docstrings.values():
        for n in range(doc.header_line, doc.node.lineno):
            comments.pop(n, None)

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
    meta: dict[str, str] = {}
    intro, intro_line = "", 0
    if module_doc:
        doc_lines = module_doc.text.split("\n")
        meta, after = _front_matter(path, doc_lines, module_doc.text_line, warnings)
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
        warnings=sorted(warnings, key=lambda w: w.line or 0),
        definitions=_definitions(tree),
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


def parse_source(path: Path, rel_path: str, data: bytes | None = None) -> Module:
    """A page source: a `.py` module, or a Markdown page (its bytes `data`, when they have been
    read)."""
    reader = parse_module if Path(path).suffix == ".py" else parse_markdown_page
    return reader(path, rel_path, data)
