"""Sources stage: the pages of the package and docs trees, read once, each keyed per language.

A page's key is a digest of everything its translated module depends on: its site path and tree,
the language, the source's bytes and the bytes of its catalog for that language.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .config import SiteConfig
from .files import digest
from .model import BuildError, fail_or_skip
from .paths import catalog_path, language_prefix, page_url

ASSET_SUFFIXES = {".svg", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".json", ".jsonl", ".csv"}
SKIPPED_DIRS = {"__pycache__", "node_modules"}


@dataclass(frozen=True)
class Source:
    """One input page: `rel_path` is relative to its tree (package or docs), `url` its site path."""

    path: Path
    rel_path: str
    url: str
    tree: str


@dataclass
class Input:
    """One page in one language, with the key of everything its content depends on."""

    source: Source
    lang: str
    url: str
    key: str


def find_sources(
    config: SiteConfig,
    warnings: list[BuildError] | None = None,
    skipped: list[BuildError] | None = None,
) -> list[Source]:
    """Pages of the package tree (`.py`, `.md`) and of the docs tree (`.md`), by site path.
    Files that cannot be pages (see `_readable`) are skipped with a warning. Two sources of one
    page are an error, or with a `skipped` list, the second is left out."""
    skip = {config.out, config.cache_dir}
    found: dict[str, Source] = {}
    trees = [("package", config.source, (".py", ".md"))]
    if config.docs:
        trees.append(("docs", config.docs, (".md",)))
    for tree, root, suffixes in trees:
        for path in _walk(root, skip | ({root / "locale"} if tree == "docs" else set())):
            if path.suffix not in suffixes or not _readable(path, config, warnings):
                continue
            rel = path.relative_to(root).as_posix()
            url = page_url(rel)
            if url in found:
                other = found[url].path
                message = f"maps to '{url}', the same page as {other}; rename one of them"
                fail_or_skip(BuildError(path, None, message), skipped)
                continue
            found[url] = Source(path, rel, url, tree)
    return [found[url] for url in sorted(found)]


def _walk(root: Path, skip: set[Path]):
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if not d.startswith(".") and d not in SKIPPED_DIRS and Path(folder, d) not in skip
        )
        for name in sorted(names):
            if not name.startswith("."):
                yield Path(folder, name)


def input_trees(config: SiteConfig) -> list[Path]:
    return [tree for tree in (config.source, config.docs) if tree]


def _readable(path: Path, config: SiteConfig, warnings: list[BuildError] | None) -> bool:
    """Whether an input file may be read: a regular file, or a link to one inside the package or
    docs tree. A link leading out of them is not followed (it would publish a file the author
    did not put in the tree), and a FIFO, socket or device is not read (it can block forever).
    A broken link passes: reading it reports the error."""
    problem = None
    if path.is_symlink():
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


def docs_assets(config: SiteConfig, warnings: list[BuildError] | None = None) -> dict[str, Path]:
    if not config.docs:
        return {}
    skip = {config.out, config.cache_dir, config.docs / "locale"}
    return {
        path.relative_to(config.docs).as_posix(): path
        for path in _walk(config.docs, skip)
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
    """One input per page and language, keyed by the source bytes and the page's catalog. An
    unreadable file is an error, or with a `skipped` list, its pages are left out."""
    inputs = []
    for source in sources:
        try:
            data = _read(source.path)
        except BuildError as error:
            fail_or_skip(error, skipped)
            continue
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
            inputs.append(Input(source, lang, language_prefix(config, lang) + source.url, key))
    return inputs
