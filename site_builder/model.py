"""The records that pass between the stages (see `build`), in one place.

A module is a list of sections; a section is commentary plus code. The sources stage makes an
`Input` per page and language, the parse and translate stages a `Translated` module, the symbols
stage `ModuleSymbols`, the render stage a `RenderedPage`, the notebook stage a `PageNotebook`, the
page stage a `PageRecord` (what the cache keeps of a page), the check stage `SiteImages` and the
search stage a `SearchIndex`; every stage reports problems as `BuildError`s.
"""

import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .files import Blob  # which imports this module


@dataclass
class Section:
    """Commentary (Markdown) and the code it explains, with the code's original line numbers.

    `kind` is "docstring" for class/function docstrings and "comment" for runs of `#` lines.
    `scope` is the qualified name of the enclosing class/function ("" at module level), and
    `id` is a stable, unique anchor for the section built from scope and position within it,
    never from line numbers (it is also the gettext msgctxt).
    """

    id: str
    kind: str
    scope: str
    docs: str
    docs_line: int
    code: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TextOrigin:
    """Where a text was written when not in its page's source (a translation: its PO file), with
    the file line on which each line of the text starts."""

    path: Path
    lines: tuple[int, ...]

    def line(self, offset: int) -> int | None:
        """The file line of the text's line `offset` (0-based)."""
        return self.lines[min(offset, len(self.lines) - 1)] if self.lines else None


@dataclass(frozen=True)
class Definition:
    """A name a Python module binds at its top level, as the parse stage read it: `kind` "top" is
    a class, a function or an UPPER_CASE constant, "field" an annotated field of a top-level
    dataclass, "import" a name bound by `from <source> import <original>` (`source` as written,
    with its leading dots), "module" a name bound to a module by `import <source>` (`import a.b`
    binds `a` to `a`; `import a.b as c` binds `c` to `a.b`)."""

    kind: str
    name: str
    line: int
    source: str = ""
    original: str = ""


@dataclass
class Module:
    """One source file: front matter, introduction, then sections in source order."""

    path: Path
    rel_path: str
    title: str
    summary: str
    intro: str
    intro_line: int
    sections: list[Section] = field(default_factory=list)
    source: str = ""  # the decoded text the sections' line numbers refer to
    warnings: list["BuildError"] = field(default_factory=list)  # from parsing; never fatal
    origins: dict[str, TextOrigin] = field(default_factory=dict)  # translated texts, by msgctxt
    definitions: list[Definition] = field(default_factory=list)  # Python modules only


@dataclass(frozen=True)
class RenderedModule:
    """A module as the render stage returns it: the module, its HTML (the introduction, and
    each section's commentary and code, by section id), and its words for the search index
    ("intro" and each section's id -> its commentary's words and its code)."""

    module: Module
    intro_html: str = ""
    docs_html: dict[str, str] = field(default_factory=dict)
    code_html: dict[str, str] = field(default_factory=dict)
    words: dict[str, str] = field(default_factory=dict)
    heading_html: str | None = None  # the introduction's leading `# heading`, if it has one


class BuildError(Exception):
    """A problem in the input, reported as `file:line: message`. `detail`, for a bug met while
    building one file (`internal_error`), is its traceback, printed only when asked for."""

    def __init__(self, path, line, message, detail: str | None = None):
        self.path, self.line, self.message, self.detail = str(path), line, message, detail
        location = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{location}: {message}")

    def __reduce__(self):  # pickled with its parts (worker processes, the build cache)
        return type(self), (self.path, self.line, self.message, self.detail)


class BuildErrors(BuildError):
    """Every error a build found (without --keep-going, it stops before writing): it reads as
    the first, and `errors` holds them all, each reported on its own line."""

    def __init__(self, errors: list[BuildError]):
        first = errors[0]
        super().__init__(first.path, first.line, first.message, first.detail)
        self.errors = errors

    def __reduce__(self):
        return type(self), (self.errors,)


def one_line(text: str) -> str:
    """`text` with each character that would break or hide a line of the terminal (a newline, a
    tab, U+2028, a control character, a lone surrogate from a file name that is not UTF-8)
    written as its escape, so that a message stays on one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def internal_error(path: str | Path | None, error: BaseException) -> BuildError:
    """A bug of site-builder's, as one line: `file: internal error (Type: message); please report
    it` when met while reading, parsing, translating, rendering or writing the file `path`, the
    same without the file (`path` None) elsewhere. The message is cut to 300 characters; the
    traceback is kept for `--debug` (see `report.print_problem`)."""
    message = f"internal error ({type(error).__name__}: {one_line(str(error))[:300]}); "
    detail = "".join(traceback.format_exception(error))
    return BuildError("" if path is None else path, None, message + "please report it", detail)


def fail_or_skip(error: BuildError, skipped: list[BuildError] | None) -> None:
    """Raise `error`, or with --keep-going (a `skipped` list) keep it: its page is left out."""
    if skipped is None:
        raise error
    skipped.append(error)


# -------------------------------------------------------------- sources, parse, translate, symbols


@dataclass(frozen=True)
class Source:
    """One input page: `rel_path` is relative to its tree (package or docs), `url` its site path."""

    path: Path
    rel_path: str
    url: str
    tree: str


@dataclass
class Input:
    """One page in one language: the key of everything its content depends on, and the bytes of
    the source and of the page's catalog in that language (b"" when it has none), read once, by
    the sources stage, for the key and for the parse and translate stages."""

    source: Source
    lang: str
    url: str
    key: str
    data: bytes = field(default=b"", repr=False, compare=False)
    catalog: bytes = field(default=b"", repr=False, compare=False)


class Parsed(NamedTuple):
    """The parse stage's answer for one source: its module, or the problem that stopped it."""

    module: Module | None
    problem: BuildError | None


@dataclass
class Meta:
    """What the site knows of a page without rendering it, kept per input key: its title and
    summary, the warnings of its parse and translation (reported on every build), and whether it
    shows any code (a page of text only has no notebook)."""

    title: str
    summary: str
    warnings: list[BuildError] = field(default_factory=list)
    has_code: bool = True


@dataclass
class Translated:
    """A page's module in its language, whether any part fell back to English, what the site
    knows of it, and the module it was translated from (whose code every language shares)."""

    module: Module
    fallback: bool
    meta: Meta
    source_module: Module


@dataclass
class ModuleSymbols:
    """One Python module's names for cross-references (see `xref`): its definitions (name ->
    section id), its imports and where each definition is."""

    url: str
    dotted: str
    top: dict[str, str] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    imports: dict[str, "Import"] = field(default_factory=dict)  # by local name
    modules: dict[str, str] = field(default_factory=dict)  # `import a.b as c`: c -> a.b
    sites: set[tuple[str, int]] = field(default_factory=set)  # (name, line) where defined


class Import(NamedTuple):
    """A name a module imports: `from <module> import <name>`."""

    module: str
    name: str


class Anchor(NamedTuple):
    """Where a name is defined: a page (site path) and the id on it."""

    page: str
    id: str


# ---------------------------------------------------------------------- render, notebook, page


class Link(NamedTuple):
    """A link to check, with where it was written (`file:line`, or the page for template links).
    A tuple: the cache keeps thousands of them, and tuples pickle fastest."""

    href: str
    file: str
    line: int | None = None


class Written(NamedTuple):
    """A link's href or an image's src as a text holds it, and the file line it was written on
    (in a page's commentary, or in the notebook written in its place)."""

    href: str
    line: int


@dataclass
class RenderedMarkdown:
    """One text's HTML (see `markdown.render_parsed`), and the links and images it holds."""

    html: str
    links: list[Written] = field(default_factory=list)
    images: list[Written] = field(default_factory=list)
    heading: str | None = None  # a leading `# heading`'s inline HTML, taken out of `html`


class ImageSearch(NamedTuple):
    """Where the images of the page at site path `page` (without a language prefix) are looked
    for (see `images.find_image`): `trees`, in that order, under the site path an image's src
    resolves to; `base`, the site's path on its host, resolves a root-absolute src."""

    page: str
    trees: tuple[Path, ...]
    base: str = "/"


class FoundImage(NamedTuple):
    """An image as `images.find_image` finds it: its site path (None: remote, or outside the
    site), and the file published there (None: none in the trees), or the file it links to
    when that lies outside them (`outside`, never published)."""

    target: str | None
    path: Path | None = None
    outside: Path | None = None


@dataclass
class Commentary:
    """What rendering a page's commentary found: its links and images (where each was written),
    and, with --keep-going, the TeX errors shown in place of the text they broke."""

    links: list[Link] = field(default_factory=list)
    images: list[Link] = field(default_factory=list)
    problems: list[BuildError] = field(default_factory=list)


class RenderedCommentary(NamedTuple):
    """One module's commentary as HTML: its introduction and the heading that opens it (or None;
    see `markdown.render_parsed`), each section's by id, the words of each ("intro" or a section
    id; see `markdown.plain_text`) and what it holds."""

    intro_html: str
    heading_html: str | None
    docs_html: dict[str, str]
    words: dict[str, str]
    found: Commentary


class RenderedPage(NamedTuple):
    """The render stage's answer for one language of a source: the page rendered, and what its
    commentary holds."""

    page: RenderedModule
    found: Commentary


@dataclass
class Notebook:
    """A notebook's bytes (see `notebook.module_notebook`), and the links it writes in place of
    its page's."""

    data: bytes
    links: list[Written] = field(default_factory=list)


class NotebookLink(NamedTuple):
    """A link of a page's notebook and the site path it lands on (None: outside the site)."""

    target: str | None
    link: Link


@dataclass
class PageNotebook:
    """The notebook stage's answer for a page: its notebook's bytes, and its links to other
    notebooks (resolved once, when the notebook is made, so a rebuild checks them cheaply)."""

    data: bytes
    links: list[NotebookLink]


@dataclass
class PageRecord:
    """A rendered page as the cache keeps it: its HTML, notebook and search document (blob
    digests), and what the check stage needs of it."""

    meta: Meta
    html_digest: str
    ids: set[str]
    links: list[Link]
    images: list[Link]
    problems: list[BuildError]  # found while rendering (TeX errors, with --keep-going)
    notebook: str = ""  # digest of the page's notebook
    notebook_links: list[NotebookLink] = field(default_factory=list)
    search: str = ""  # digest of the page's search document (`search.search_document`)

    def blobs(self) -> list[str]:
        return [d for d in (self.html_digest, self.notebook, self.search) if d]


class MadePages(NamedTuple):
    """What making one source's pages (every language) returns from a worker: their records (or
    the problem that stopped them), the seconds per stage, and the math KaTeX rendered."""

    records: list[PageRecord]
    seconds: dict[str, float]
    problem: BuildError | None
    math: dict


@dataclass
class StoredFiles:
    """Files kept in the cache: site path -> blob digest."""

    digests: dict[str, str]

    def blobs(self) -> list[str]:
        return list(self.digests.values())


# ---------------------------------------------------------------------- check, search


class SiteImages(NamedTuple):
    """The image files the site publishes (site path -> blob), and the images not found."""

    files: dict[str, "Blob"]
    problems: list[BuildError]


class SearchIndex(NamedTuple):
    """The search stage's answer: the index files, and the search documents of the pages they
    lack (None when they index every page)."""

    files: dict[str, "Blob"]
    unindexed: dict[str, "Blob"] | None
