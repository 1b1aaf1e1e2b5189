"""Search stage: a Pagefind index of the built pages, served from the site (`pagefind/`).

Pagefind splits the index by each page's `<html lang>`, so a page searches its own language (the
extended build segments Chinese into words). The index is kept in the cache folder, keyed by the
digests of the pages, so a build that changed no page reuses it without starting Pagefind.
"""

import asyncio
import hashlib
import os
import shutil
from pathlib import Path

from .model import BuildError
from .write import Blob

FOLDER = "pagefind"
# Indexed: the article; left out: math (its TeX source reads as noise), line numbers.
INDEX_CONFIG = {"root_selector": "main", "exclude_selectors": [".katex", ".ln", ".permalink"]}
NOT_INDEXED = {"404.html"}


def index_key(pages: dict[str, Blob]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for rel in sorted(pages):
        hasher.update(f"{rel}\0{pages[rel].digest}\0".encode())
    hasher.update(repr(INDEX_CONFIG).encode())
    return hasher.hexdigest()


def search_outputs(cache_dir: Path, outputs: dict[str, Blob]) -> dict[str, Blob]:
    """The index files for the site's HTML pages, as `pagefind/...` blobs."""
    pages = {
        rel: b for rel, b in outputs.items() if rel.endswith(".html") and rel not in NOT_INDEXED
    }
    key = index_key(pages)
    root = cache_dir / "search"
    folder = root / key
    if not (folder / ".complete").is_file():
        staging = root / f"{key}.tmp{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        try:
            asyncio.run(_index(pages, staging))
        except Exception as error:  # the Pagefind service failed to start or to index
            shutil.rmtree(staging, ignore_errors=True)
            raise BuildError(cache_dir, None, f"search index failed: {error}") from None
        (staging / ".complete").write_text(key)
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(staging, folder)
    for old in root.iterdir():
        if old.name != key:
            shutil.rmtree(old, ignore_errors=True)
    return {
        f"{FOLDER}/{path.relative_to(folder).as_posix()}": Blob.of_file(path)
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name != ".complete"
    }


async def _index(pages: dict[str, Blob], out: Path) -> None:
    from pagefind.index import PagefindIndex

    async with PagefindIndex(config=dict(INDEX_CONFIG)) as index:
        for rel, blob in sorted(pages.items()):
            await index.add_html_file(content=blob.content().decode(), url="/" + rel)
        await index.write_files(output_path=str(out.resolve()))
