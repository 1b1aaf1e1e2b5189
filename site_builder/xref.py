"""Cross-reference stage: names in code and commentary, and where the site defines them.

A symbol table maps each module's definitions (classes, functions, UPPER_CASE constants, dataclass
fields) to an anchor: the section a definition opens, else its own code line. Fields link only as
attributes of a config-like name (`config.lr`). Highlighted HTML gets `data-name` on every name
span, and a link on names the table resolves: a definition on the same page first, then the
module the page imports the name from, then (capitalised names in code, any name in commentary)
the one definition of that name in the site; a name defined twice, or imported from outside, is not
linked. Repeated math keeps its `data-tex-key` (its TeX source), so a page can highlight it as a
group.
"""

import ast
import html
import os
import pickle
import posixpath
import re
from dataclasses import dataclass, field

from .model import Module
from .parse import python_ast

NAME_CLASSES = {"n", "nf", "nc", "fm", "nd", "nb", "bp", "nn"}
_SPAN = re.compile(r'<span class="([a-z0-9]+)">([^<]*)</span>')
_LINE = re.compile(r'<span class="line" id="L(\d+)">')
_INLINE_CODE = re.compile(r'<code class="code">(.*?)</code>', re.S)
_KATEX = re.compile(r'<span class="katex" data-tex-key="([^"]*)">')
_CONFIG_NAME = re.compile(r"(?:^|_)(?:config|cfg|conf)$", re.I)
_IDENT = re.compile(r"[A-Za-z_]\w*\Z")


@dataclass
class ModuleSymbols:
    """One module's definitions (name -> section id), imports and definition sites."""

    url: str
    dotted: str
    top: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    imports: dict[str, tuple[str, str]] = field(default_factory=dict)  # local -> (module, name)
    sites: set[tuple[str, int]] = field(default_factory=set)  # (name, line) where defined


def dotted_name(package: str, rel_path: str) -> str:
    """`conv_mixer/__init__.py` in package `labml_like` -> `labml_like.conv_mixer`."""
    parts = [package, *rel_path.removesuffix(".py").split("/")]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_dataclass(node: ast.ClassDef) -> bool:
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "dataclass":
            return True
    return False


def module_symbols(module: Module, source: str, url: str, dotted: str) -> ModuleSymbols:
    """Definitions of one parsed module (`source` is its text, already known to parse)."""
    found = ModuleSymbols(url, dotted)
    section_of = {n: s.id for s in module.sections for n, _ in s.code}
    is_package = module.rel_path.endswith("__init__.py")

    def define(table: dict, name: str, line: int) -> None:
        if line in section_of:  # the section it opens, else its own line
            table[name] = name if section_of[line] == name else f"L{line}"
            found.sites.add((name, line))

    for node in python_ast(source).body:
        if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            define(found.top, node.name, node.lineno)
            if isinstance(node, ast.ClassDef) and _is_dataclass(node):
                for item in node.body:
                    if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        define(found.fields, item.target.id, item.lineno)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if isinstance(target, ast.Name) and target.id.isupper():
                    define(found.top, target.id, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = dotted.split(".")
                keep = len(parts) - node.level + (1 if is_package else 0)
                base = ".".join(parts[:keep] + ([base] if base else []))
            for alias in node.names:
                found.imports[alias.asname or alias.name] = (base, alias.name)
    return found


class SymbolTable:
    """Every module's symbols, and the rules that resolve a name used on a page."""

    def __init__(self, modules: list[ModuleSymbols]):
        self.by_url = {m.url: m for m in modules}
        self.by_dotted = {m.dotted: m for m in modules}
        self.top: dict[str, list[str]] = {}
        self.fields: dict[str, list[str]] = {}
        for m in sorted(modules, key=lambda m: m.url):
            for name in m.top:
                self.top.setdefault(name, []).append(m.url)
            for name in m.fields:
                self.fields.setdefault(name, []).append(m.url)

    def key(self) -> tuple:
        """Everything links depend on, for cache keys."""
        return tuple(
            (m.url, sorted(m.top.items()), sorted(m.fields.items()), sorted(m.imports.items()))
            for m in sorted(self.by_url.values(), key=lambda m: m.url)
        )

    def resolve(self, url: str, name: str, prose: bool = False) -> tuple[str, str] | None:
        """(page url, section id) defining top-level `name` as used on page `url`, or None."""
        here = self.by_url.get(url)
        if here and name in here.top:
            return url, here.top[name]
        if here and name in here.imports:
            dotted, original = here.imports[name]
            target = self.by_dotted.get(dotted)
            if target and original in target.top:
                return target.url, target.top[original]
            return None
        owners = self.top.get(name, [])
        if len(owners) == 1 and (prose or name[:1].isupper()):
            return owners[0], self.by_url[owners[0]].top[name]
        return None

    def holds_config(self, owner: str) -> bool:
        """Whether `owner.x` reads a config field: `config.x`, `train_cfg.x`."""
        return bool(_CONFIG_NAME.search(owner))

    def resolve_field(self, url: str, name: str) -> tuple[str, str] | None:
        here = self.by_url.get(url)
        if here and name in here.fields:
            return url, here.fields[name]
        owners = self.fields.get(name, [])
        if len(owners) == 1:
            return owners[0], self.by_url[owners[0]].fields[name]
        return None


def _href(url: str, target: tuple[str, str]) -> str:
    page, anchor = target
    if page == url:
        return "#" + anchor
    return posixpath.relpath(page, posixpath.dirname(url) or ".") + "#" + anchor


def _name_span(css: str, name: str, href: str | None) -> str:
    if href:
        return f'<a class="{css} xref" data-name="{name}" href="{html.escape(href)}">{name}</a>'
    return f'<span class="{css}" data-name="{name}">{name}</span>'


def annotate_code(code_html: str, url: str, table: SymbolTable) -> str:
    """Mark every name span of highlighted module code; link names the table resolves."""
    here = table.by_url.get(url)
    sites = here.sites if here else set()
    out, last, line = [], 0, 0
    lines = {m.start(): int(m.group(1)) for m in _LINE.finditer(code_html)}
    line_starts = sorted(lines)
    previous: list[tuple[int, int, str, str]] = []  # (start, end, css, text) of the last spans
    next_line = 0
    for match in _SPAN.finditer(code_html):
        while next_line < len(line_starts) and line_starts[next_line] < match.start():
            line = lines[line_starts[next_line]]
            next_line += 1
        css, text = match.groups()
        dot = previous[-1] if previous and previous[-1][1] == match.start() else None
        after_dot = dot is not None and dot[2:] == ("o", ".")
        owner = previous[-2] if after_dot and len(previous) > 1 else None
        previous = [*previous[-1:], (match.start(), match.end(), css, text)]
        if css not in NAME_CLASSES or not _IDENT.match(text):
            continue
        target = None
        if css == "n" and (text, line) not in sites:
            if not after_dot:
                target = table.resolve(url, text)
            elif owner and owner[2] == "n" and owner[1] == dot[0] and table.holds_config(owner[3]):
                target = table.resolve_field(url, text)
        out += [
            code_html[last : match.start()],
            _name_span(css, text, target and _href(url, target)),
        ]
        last = match.end()
    out.append(code_html[last:])
    return "".join(out)


def annotate_prose(docs_html: str, url: str, table: SymbolTable) -> str:
    """Mark names in inline code; an inline code that is one resolvable name becomes a link
    (unless the commentary already links it)."""

    def inline(match: re.Match) -> str:
        body = match.group(1)
        if body.count("<span") == 1:
            single = _SPAN.fullmatch(body)
            before = docs_html[: match.start()]
            inside_link = before.rfind("<a ") > before.rfind("</a>")
            if single and single.group(1) == "n" and not inside_link:
                target = table.resolve(url, single.group(2), prose=True)
                if target:
                    name = single.group(2)
                    href = html.escape(_href(url, target))
                    return f'<a class="xref" data-name="{name}" href="{href}">{match.group(0)}</a>'
        names = _SPAN.sub(
            lambda s: (
                _name_span(s.group(1), s.group(2), None)
                if s.group(1) in NAME_CLASSES and _IDENT.match(s.group(2))
                else s.group(0)
            ),
            body,
        )
        return f'<code class="code">{names}</code>'

    return _INLINE_CODE.sub(inline, docs_html)


def _tex_keys(fragments: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for fragment in fragments:
        for formula in _KATEX.finditer(fragment):
            counts[formula.group(1)] = counts.get(formula.group(1), 0) + 1
    return counts


def _group_math(fragment: str, repeated: set[str]) -> str:
    """Keep `data-tex-key` (set by the math stage) on repeated formulas only."""

    def mark(formula: re.Match) -> str:
        return formula.group(0) if formula.group(1) in repeated else '<span class="katex">'

    return _KATEX.sub(mark, fragment)


def annotate_module(module: Module, url: str, table: SymbolTable) -> None:
    """Annotate one page in place: names in code and commentary, and repeated math."""
    module.intro_html = annotate_prose(module.intro_html, url, table)
    for section in module.sections:
        section.docs_html = annotate_prose(section.docs_html, url, table)
        section.code_html = annotate_code(section.code_html, url, table)
    counts = _tex_keys([module.intro_html, *(s.docs_html for s in module.sections)])
    repeated = {tex for tex, n in counts.items() if n > 1}
    module.intro_html = _group_math(module.intro_html, repeated)
    for section in module.sections:
        section.docs_html = _group_math(section.docs_html, repeated)


def site_symbols(config, inputs, translated: dict, builder: str) -> SymbolTable:
    """The symbol table of every Python page (first language), each module's symbols memoized
    in the cache folder by its input key, so unchanged modules are not parsed again."""
    from . import parse

    memo_path = config.cache_dir / "xref.pickle"
    try:
        saved_builder, memo = pickle.loads(memo_path.read_bytes())
    except Exception:  # missing or damaged: rebuilt below
        saved_builder, memo = None, {}
    memo = memo if saved_builder == builder else {}
    current = {}
    for item in inputs:
        source = item.source
        if item.lang != config.languages[0] or source.tree != "package":
            continue
        if source.path.suffix != ".py":
            continue
        symbols = memo.get(item.key)
        if symbols is None:
            page = translated.get(item.key)
            module = (
                page.source_module if page else parse.parse_module(source.path, source.rel_path)
            )
            dotted = dotted_name(config.source.name, source.rel_path)
            symbols = module_symbols(module, module.source, source.url, dotted)
        current[item.key] = symbols
    if current.keys() != memo.keys():
        config.cache_dir.mkdir(parents=True, exist_ok=True)
        temp = memo_path.with_suffix(f".tmp{os.getpid()}")
        temp.write_bytes(pickle.dumps((builder, current), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, memo_path)
    return SymbolTable(list(current.values()))
