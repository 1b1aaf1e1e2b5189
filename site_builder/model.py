"""The one data model: a module is a list of sections; a section is commentary plus code."""

from dataclasses import dataclass, field
from pathlib import Path


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
    with its leading dots)."""

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
    each section's commentary and code, by section id), and its words for the search index."""

    module: Module
    intro_html: str = ""
    docs_html: dict[str, str] = field(default_factory=dict)
    code_html: dict[str, str] = field(default_factory=dict)
    text: str = ""
    heading_html: str | None = None  # the introduction's leading `# heading`, if it has one


class BuildError(Exception):
    """A problem in the input, reported as `file:line: message`."""

    def __init__(self, path, line, message):
        self.path, self.line, self.message = str(path), line, message
        location = f"{self.path}:{line}" if line else self.path
        super().__init__(f"{location}: {message}")

    def __reduce__(self):  # pickled with its parts (worker processes, the build cache)
        return type(self), (self.path, self.line, self.message)


def fail_or_skip(error: BuildError, skipped: list[BuildError] | None) -> None:
    """Raise `error`, or with --keep-going (a `skipped` list) keep it: its page is left out."""
    if skipped is None:
        raise error
    skipped.append(error)
