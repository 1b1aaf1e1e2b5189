"""Cross-reference stage: where the site defines names, and where a page's names link.

A symbol table maps each module's definitions (classes, functions, UPPER_CASE constants, dataclass
fields, which the parse stage records in `Module.definitions`) to an anchor: the section a
definition opens, else its name for a top-level class or function (see `definition_anchors`),
else its own code line. `PageLinker` answers, for one page, where a name links:
the highlight stage asks it for every name token of the module's code, the markdown stage for
inline code that is one name. A name links to a definition on the same page first, then to the
module the page imports it from, then (capitalised names in code, any name in commentary) to the
one definition of that name in the site; a name defined twice, or imported from outside, is not
linked. `module.name` links where `module` is one of the site's modules (`import model`). Fields
link only as attributes of a config-like name (`config.lr`), and no definition links to itself.

A folder of scripts (no `__init__.py`, as in many research repositories) imports its modules by
their plain names (`from model import GPT`): a script's import finds the module next to it, then
the one at the source's root (see `SymbolTable.module`).
"""

import posixpath
import re
from urllib.parse import unquote, urlsplit, urlunsplit

from .model import Anchor, Import, Module, ModuleSymbols
from .paths import anchor_href, page_url, relative_href, source_link_to_page

_CONFIG_NAME = re.compile(r"(?:^|_)(?:config|cfg|conf)$", re.I)


def definition_anchors(module: Module) -> dict[int, str]:
    """The named anchors a page adds for its top-level classes and functions that open no
    section of their own name (an undocumented one, say): line -> name, so that `#Name` lands
    on the definition's line whether or not it is documented."""
    ids = {section.id for section in module.sections}
    code = {n: text for section in module.sections for n, text in section.code}
    found: dict[int, str] = {}
    for definition in module.definitions:
        name, line = definition.name, definition.line
        if definition.kind != "top" or name in ids:
            continue
        if code.get(line, "").lstrip().startswith(("class ", "def ", "async def ")):
            ids.add(name)
            found[line] = name
    return found


def module_symbols(module: Module, dotted: str) -> ModuleSymbols:
    """The symbols of a parsed Python module whose import name is `dotted`."""
    found = ModuleSymbols(page_url(module.rel_path), dotted)
    section_of = {n: s.id for s in module.sections for n, _ in s.code}
    named = definition_anchors(module)
    package = dotted.split(".") + ([""] if module.rel_path.endswith("__init__.py") else [])
    for definition in module.definitions:
        name, line = definition.name, definition.line
        if definition.kind == "import":
            base = definition.source.lstrip(".")
            level = len(definition.source) - len(base)
            if level:  # relative to the package: `.x` in pkg/a/b.py is pkg.a.x
                base = ".".join(package[: len(package) - level] + ([base] if base else []))
            found.imports[name] = Import(base, definition.original)
        elif definition.kind == "module":
            found.modules[name] = definition.source
        elif line in section_of:  # the section it opens, else its own line
            table = found.top if definition.kind == "top" else found.fields
            own = section_of[line] == name or named.get(line) == name
            table[name] = name if own else f"L{line}"
            found.sites.add((name, line))
    return found


class SymbolTable:
    """Every module's symbols, and the rules that resolve a name used on a page."""

    def __init__(self, modules: list[ModuleSymbols]):
        self.by_url = {m.url: m for m in modules}
        self.by_dotted = {m.dotted: m for m in modules}
        self.top: dict[str, list[str]] = {}
        self.fields: dict[str, list[str]] = {}
        # The import name of the source's root (`pkg` for a package), from any module's:
        # `pkg.a.b` is `a/b.html`, `pkg.a` is `a/index.html`.
        self._root: list[str] = []
        for m in modules[:1]:
            depth = m.url.count("/") + (0 if m.url.endswith("index.html") else 1)
            self._root = m.dotted.split(".")[: m.dotted.count(".") + 1 - depth]
        for m in sorted(modules, key=lambda m: m.url):
            for name in m.top:
                self.top.setdefault(name, []).append(m.url)
            for name in m.fields:
                self.fields.setdefault(name, []).append(m.url)

    def key(self) -> tuple:
        """Everything links depend on, for cache keys."""
        return tuple(
            (
                m.url,
                sorted(m.top.items()),
                sorted(m.fields.items()),
                sorted(m.imports.items()),
                sorted(m.modules.items()),
            )
            for m in sorted(self.by_url.values(), key=lambda m: m.url)
        )

    def module(self, url: str, dotted: str) -> ModuleSymbols | None:
        """The site's module that `import <dotted>` loads on page `url`: the one of that import
        name, else, from a script (a page whose folder is no package), the one next to it, then
        the one at the source's root, as Python finds them when a script runs (its folder first
        on the path) or when it runs from the root."""
        found = self.by_dotted.get(dotted)
        folder = url.rpartition("/")[0]
        if found or (f"{folder}/index.html" if folder else "index.html") in self.by_url:
            return found  # in a package, imports are absolute
        for prefix in (self._root + folder.split("/") if folder else self._root, self._root):
            found = self.by_dotted.get(".".join([*prefix, dotted]))
            if found:
                return found
        return None

    def module_named(self, url: str, name: str, prose: bool = False) -> ModuleSymbols | None:
        """The site's module that `name` stands for on page `url`: `import a.b as name`, or
        `from a import name` where `a.name` is a module; in commentary, also a module the page
        could import as `name`."""
        here = self.by_url.get(url)
        if here and name in here.modules:
            return self.module(url, here.modules[name])
        if here and name in here.imports:
            package, original = here.imports[name]
            return self.module(url, f"{package}.{original}" if package else original)
        return self.module(url, name) if prose else None

    def resolve(self, url: str, name: str, prose: bool = False) -> Anchor | None:
        """The anchor defining top-level `name` as used on page `url`, or None."""
        here = self.by_url.get(url)
        if here and name in here.top:
            return Anchor(url, here.top[name])
        if here and name in here.imports:
            dotted, original = here.imports[name]
            target = self.module(url, dotted)
            if target and original in target.top:
                return Anchor(target.url, target.top[original])
            return None
        owners = self.top.get(name, [])
        if len(owners) == 1 and (prose or name[:1].isupper()):
            return Anchor(owners[0], self.by_url[owners[0]].top[name])
        return None

    def resolve_attribute(
        self, url: str, owner: str, name: str, prose: bool = False
    ) -> Anchor | None:
        """The anchor of `owner.name` on page `url` where `owner` is one of the site's modules
        (`import model` then `model.GPT`), or None."""
        target = self.module_named(url, owner, prose)
        if target and name in target.top:
            return Anchor(target.url, target.top[name])
        return None

    def holds_config(self, owner: str) -> bool:
        """Whether `owner.x` reads a config field: `config.x`, `train_cfg.x`."""
        return bool(_CONFIG_NAME.search(owner))

    def resolve_field(self, url: str, name: str) -> Anchor | None:
        here = self.by_url.get(url)
        if here and name in here.fields:
            return Anchor(url, here.fields[name])
        owners = self.fields.get(name, [])
        if len(owners) == 1:
            return Anchor(owners[0], self.by_url[owners[0]].fields[name])
        return None


class PageLinker:
    """Where the names on page `url` link, by `table`'s rules (a `highlight.Linker`)."""

    def __init__(self, table: SymbolTable, url: str, moved: dict[str, str] | None = None):
        """`moved`: the pages not at their source's own path (see `site.SiteIndex.moved`)."""
        self.table, self.url, self.moved = table, url, moved or {}
        here = table.by_url.get(url)
        self._sites = here.sites if here else set()

    def link_href(self, href: str) -> str:
        """A link in commentary: to a source file, to its page (`README.md` -> `index.html`
        when the README is the home page)."""
        href = source_link_to_page(href)
        parts = urlsplit(href)
        if not self.moved or parts.scheme or parts.netloc or not parts.path:
            return href
        folder = posixpath.dirname(self.url)
        target = posixpath.normpath(posixpath.join(folder, unquote(parts.path)))
        if target not in self.moved:
            return href
        moved = relative_href(self.url, self.moved[target])
        return urlunsplit(("", "", moved, parts.query, parts.fragment))

    def code_href(self, css: str, name: str, line: int, owner: str | None) -> str | None:
        """A plain name (Pygments' class "n") in the page's code, unless it is the definition
        itself; after a dot, only a definition of a module `owner` names, or a field of a
        config-like `owner`."""
        if css != "n" or (name, line) in self._sites:
            return None
        if owner is None:
            target = self.table.resolve(self.url, name)
        elif owner:
            target = self.table.resolve_attribute(self.url, owner, name)
            if target is None and self.table.holds_config(owner):
                target = self.table.resolve_field(self.url, name)
        else:
            return None
        return anchor_href(self.url, target.page, target.id) if target else None

    def prose_href(self, name: str) -> str | None:
        """Inline code in commentary: a name, or `module.name` for one of the site's modules."""
        owner, _, attribute = name.rpartition(".")
        if owner:
            target = self.table.resolve_attribute(self.url, owner, attribute, prose=True)
        else:
            target = self.table.resolve(self.url, name, prose=True)
        return anchor_href(self.url, target.page, target.id) if target else None
