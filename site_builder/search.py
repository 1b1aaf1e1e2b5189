"""Search stage: a Pagefind index of the built pages, served from the site (`pagefind/`).

Pagefind splits the index by each page's `<html lang>`, so a page searches its own language. We run
the npm package's extended binary (pinned in package.json): it segments Chinese with ICU4X, as the
browser's `Intl.Segmenter` segments the query, so a search for 逐点卷积 finds the pages that use the
term; Japanese is segmented too (tests/test_reader.py searches for 残差接続 and パッチ埋め込み).
The index is kept in the cache folder, keyed by the digests of the pages, so a build that changed
no page reuses it without starting Pagefind. `serve` writes pages with the newest index
it has (`latest_outputs`) and refreshes it off the rebuild's path (`build_index`).
"""

import hashlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .model import BuildError
from .write import Blob

FOLDER = "pagefind"
PAGEFIND_ENV = "SITE_BUILDER_PAGEFIND"
# Indexed: the article; left out: math (its TeX source reads as noise), line numbers, permalinks.
ROOT_SELECTOR = "main"
EXCLUDE_SELECTORS = (".katex", ".ln", ".permalink")
NOT_INDEXED = {"404.html"}


def pagefind_binary() -> Path:
    """`node_modules/.bin/pagefind`, found like KaTeX: $SITE_BUILDER_PAGEFIND, else by walking up
    from the current directory and from this file's directory."""
    override = os.environ.get(PAGEFIND_ENV)
    if override:
        candidates = [Path(override)]
    else:
        starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
        candidates = [
            d / "node_modules" / ".bin" / "pagefind" for s in starts for d in (s, *s.parents)
        ]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise BuildError(
        "package.json",
        None,
        "Pagefind not found: run `npm ci` in the project root (or point "
        f"${PAGEFIND_ENV} at a pagefind executable)",
    )


def index_key(pages: dict[str, Blob]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for rel in sorted(pages):
        hasher.update(f"{rel}\0{pages[rel].digest}\0".encode())
    hasher.update(repr((ROOT_SELECTOR, EXCLUDE_SELECTORS, "keep-index-url")).encode())
    return hasher.hexdigest()


def pages_to_index(outputs: dict[str, Blob]) -> dict[str, Blob]:
    return {
        rel: b for rel, b in outputs.items() if rel.endswith(".html") and rel not in NOT_INDEXED
    }


def search_outputs(cache_dir: Path, outputs: dict[str, Blob]) -> dict[str, Blob]:
    """The index files for the site's HTML pages, as `pagefind/...` blobs (runs Pagefind when
    the cache has no index for these pages)."""
    key = build_index(cache_dir, pages_to_index(outputs))
    _prune(cache_dir / "search", keep=key)
    return _index_files(cache_dir / "search" / key)


def latest_outputs(cache_dir: Path, outputs: dict[str, Blob]) -> tuple[dict[str, Blob], bool]:
    """Never runs Pagefind: the index of these pages if the cache has it (others are pruned), else
    the newest index it has (or none). Returns (index files, whether they index these pages)."""
    root = cache_dir / "search"
    key = index_key(pages_to_index(outputs))
    if not (root / key / ".complete").is_file():
        indexes = root.glob("*/.complete") if root.is_dir() else []
        newest = max(indexes, key=lambda p: p.stat().st_mtime_ns, default=None)
        return (_index_files(newest.parent) if newest else {}), False
    _prune(root, keep=key)
    return _index_files(root / key), True


def build_index(cache_dir: Path, pages: dict[str, Blob]) -> str:
    """Index `pages` into `cache_dir/search/<key>` unless it is there already; returns the key.
    The folder appears complete or not at all; other indexes are left alone."""
    key = index_key(pages)
    root = cache_dir / "search"
    folder = root / key
    if (folder / ".complete").is_file():
        return key
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".index-") as scratch:
        site, bundle = Path(scratch, "site"), Path(scratch, "bundle")
        for rel, blob in pages.items():
            (site / rel).parent.mkdir(parents=True, exist_ok=True)
            _place(blob, site / rel)
        run_pagefind(site, bundle)
        (bundle / ".complete").write_text(key)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(bundle, folder)
    return key


def _place(blob: Blob, path: Path) -> None:
    """A hard link to the blob's file where it has one (Pagefind only reads it), else a copy.
    The file is checked against its digest first: a damaged cache file is never indexed."""
    if blob.path is not None:
        blob.content()
        try:
            os.link(blob.path, path)
            return
        except OSError:
            pass
    path.write_bytes(blob.content())


def _prune(root: Path, keep: str) -> None:
    for old in root.iterdir() if root.is_dir() else []:
        if old.name != keep and not old.name.startswith(".index-"):
            shutil.rmtree(old, ignore_errors=True)


def _index_files(folder: Path) -> dict[str, Blob]:
    return {
        f"{FOLDER}/{path.relative_to(folder).as_posix()}": Blob.of_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".complete"
    }


def run_pagefind(site: Path, bundle: Path) -> None:
    command = [str(pagefind_binary()), "--site", str(site), "--output-path", str(bundle)]
    command += ["--root-selector", ROOT_SELECTOR, "--keep-index-url", "--quiet"]
    for selector in EXCLUDE_SELECTORS:
        command += ["--exclude-selectors", selector]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        message = detail[-1] if detail else f"exit status {done.returncode}"
        raise BuildError("pagefind", None, f"search index failed: {message}")
