"""Sources stage: the pages of the package and docs trees, read once, each keyed per language.

A page's key is a digest of everything its translated module depends on: its site path and tree,
the language, the source's bytes and the bytes of its catalog for that language. The bytes travel
with the page (`Input.data`, `Input.catalog`) to the parse and translate stages, which do not read
the files again.
"""

import dataclasses
import functools
import os
import stat
from collections.abc import Callable
from pathlib import Path

import pathspec

from .config import SiteConfig
from .files import digest
from .model import BuildError, Input, Source, fail_or_skip, internal_error
from .paths import catalog_path, language_prefix, page_url

# Files of the docs tree published as they are: images, data, documents, media and styles.
ASSET_SUFFIXES = {
    ".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".avif", ".ico", ".json", ".jsonl", ".csv",
    ".pdf", ".txt", ".zip", ".gz", ".mp4", ".webm", ".mp3", ".css", ".js",
}  # fmt: skip
SKIPPED_DIRS = {"__pycache__", "node_modules"}


def find_sources(
    config: SiteConfig,
    warnings: list[BuildError] | None = None,
    skipped: list[BuildError] | None = None,
) -> list[Source]:
    """Pages of the package tree (`.py`, `.md`) and of the docs tree (`.md`), by site path.
    Files that cannot be pages (see `_readable`) are skipped with a warning. Two sources of one
    page are an error, or with a `skipped` list, the second is left out. A README at the
    package tree's root is the home page when no other source is (see `_readmes`)."""
    skip = {config.out, config.cache_dir}
    found: dict[str, Source] = {}
    readmes: list[Source] = []
    trees: list[tuple[str, Path, tuple[str, ...]]] = [("package", config.source, (".py", ".md"))]
    if config.docs:
        trees.append(("docs", config.docs, (".md",)))
    left_out = excluded(config)
    for tree, root, suffixes in trees:
        # the docs tree is not also the package's (`source = "."`, `docs = "docs"`)
        own = {root / "locale"} if tree == "docs" else {config.docs} if config.docs else set()
        for path in _walk(root, skip | own, left_out):
            if path.suffix not in suffixes or not _readable(path, config, warnings):
                continue
            rel = path.relative_to(root).as_posix()
            source = Source(path, rel, page_url(rel), tree)
            if tree == "package" and rel.lower() == "readme.md":
                readmes.append(source)  # placed once every other page is known
            else:
                _add(found, source, skipped)
    for source in _readmes(readmes, found.get("index.html"), warnings):
        _add(found, source, skipped)
    return [found[url] for url in sorted(found)]


def _add(found: dict[str, Source], source: Source, skipped: list[BuildError] | None) -> None:
    if source.url in found:
        other = found[source.url].path
        message = f"maps to '{source.url}', the same page as {other}; rename one of them"
        fail_or_skip(BuildError(source.path, None, message), skipped)
    else:
        found[source.url] = source


def _readmes(
    readmes: list[Source], home: Source | None, warnings: list[BuildError] | None
) -> list[Source]:
    """The package tree's root READMEs (`README.md` in any case), the first of them the home
    page, `index.html`, unless another source is (`home`: a root `__init__.py` or `index.md`);
    the others keep their own pages, with a warning."""
    if not readmes:
        return []
    problems = []
    if home is None:
        first = readmes[0]  # README.md before Readme.md before readme.md
        readmes = [dataclasses.replace(first, url="index.html"), *readmes[1:]]
        for other in readmes[1:]:
            message = f"{first.rel_path} is the home page; this one is published as {other.url}"
            problems.append(BuildError(other.path, None, message))
    else:
        message = f"not the home page: {home.path.name} is (index.html); published as "
        problems.append(BuildError(readmes[0].path, None, message + readmes[0].url))
    if warnings is not None:
        warnings += problems
    return readmes


def excluded(config: SiteConfig) -> Callable[[Path, bool], bool]:
    """Whether a file or folder (path, is it a folder) is left out of the inputs: it matches the
    config's `exclude` patterns or the project root's `.gitignore` (gitignore rules, relative to
    the root; a folder is matched with a trailing slash, so `venv/` matches the folder)."""
    return _excluded(config.root, config.exclude, _gitignore_lines(config.root))


def _gitignore_lines(root: Path) -> tuple[str, ...]:
    try:
        return tuple((root / ".gitignore").read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        return ()


@functools.lru_cache(maxsize=8)
def _excluded(
    root: Path, patterns: tuple[str, ...], gitignore: tuple[str, ...]
) -> Callable[[Path, bool], bool]:
    lines = [line for line in (*gitignore, *patterns) if line.strip() and line[0] != "#"]
    if not lines:
        return lambda _, __: False
    spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def matches(path: Path, folder: bool) -> bool:
        if not path.is_relative_to(root):
            return False
        rel = path.relative_to(root).as_posix()
        return spec.match_file(rel + "/" if folder else rel)

    return matches


def _walk(
    root: Path, skip: set[Path], left_out: Callable[[Path, bool], bool] = lambda _, __: False
):
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".")
            and d not in SKIPPED_DIRS
            and Path(folder, d) not in skip
            and not left_out(Path(folder, d), True)
        )
        for name in sorted(names):
            if not name.startswith(".") and not left_out(Path(folder, name), False):
                yield Path(folder, name)


def input_trees(config: SiteConfig) -> list[Path]:
    return [tree for tree in (config.source, config.docs) if tree]


def _readable(path: Path, config: SiteConfig, warnings: list[BuildError] | None) -> bool:
    """Whether an input file may be read: a regular file, or a link to one inside the package or
    docs tree, whose name is UTF-8. A link leading out of them is not followed (it would publish
    a file the author did not put in the tree), a FIFO, socket or device is not read (it can
    block forever), and a name that is not UTF-8 has no URL. A broken link passes: reading it
    reports the error."""
    problem = None
    if not _utf8(str(path)):
        problem = "the file name is not UTF-8; skipped (rename the file to publish it)"
    elif path.is_symlink():
        target = path.resolve()
        if not any(target.is_relative_to(tree) for tree in input_trees(config)):
            problem = f"links outside the source tree (to {target}); not followed, skipped"
    if problem is None:
        try:
            mode = path.stat().st_mode
        except OSError:
            return True
        if not stat.S_ISREG(mode):
            problem = "not a regular file (a FIFO, socket or device); skipped"
    if problem and warnings is not None:
        warnings.append(BuildError(path, None, problem))
    return problem is None


def _utf8(name: str) -> bool:
    """Whether a name read from the disk is UTF-8 (Python keeps other bytes as lone surrogates)."""
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def docs_assets(config: SiteConfig, warnings: list[BuildError] | None = None) -> dict[str, Path]:
    if not config.docs:
        return {}
    skip = {config.out, config.cache_dir, config.docs / "locale"}
    return {
        path.relative_to(config.docs).as_posix(): path
        for path in _walk(config.docs, skip, excluded(config))
        if path.suffix.lower() in ASSET_SUFFIXES and _readable(path, config, warnings)
    }


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise BuildError(path, None, f"cannot read: {error.strerror or error}") from None


def read_inputs(
    config: SiteConfig, sources: list[Source], skipped: list[BuildError] | None = None
) -> list[Input]:
    """One input per page and language, keyed by the source bytes and the page's catalog, and
    holding those bytes. An unreadable file is an error, or with a `skipped` list, its pages are
    left out."""
    inputs = []
    for source in sources:
        try:
            inputs += _source_inputs(config, source, skipped)
        except BuildError as error:
            fail_or_skip(error, skipped)
        except Exception as error:  # a bug: one line naming the file (see `internal_error`)
            fail_or_skip(internal_error(source.path, error), skipped)
    return inputs


def _source_inputs(
    config: SiteConfig, source: Source, skipped: list[BuildError] | None
) -> list[Input]:
    data = _read(source.path)
    inputs = []
    for lang in config.languages:
        catalog = (
            catalog_path(config.locale_dir, lang, source.rel_path)
            if lang != config.languages[0] and config.locale_dir
            else None
        )
        try:
            catalog_bytes = _read(catalog) if catalog and catalog.is_file() else b""
        except BuildError as error:
            fail_or_skip(error, skipped)
            continue
        key = digest(source.url, source.tree, lang, data, catalog_bytes)
        url = language_prefix(config, lang) + source.url
        inputs.append(Input(source, lang, url, key, data, catalog_bytes))
    return inputs
