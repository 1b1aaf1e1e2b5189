"""Search stage: a Pagefind index of the site's pages, served from the site (`pagefind/`).

A page is indexed from its search document (`search_document`): its URL, and a small HTML
document of its title and words, one heading per section carrying the section's id, so that a
result names and links to the section that matches (Pagefind's sub-results; site.js picks the
best one). The words come from the render stage's tokens (commentary with its math as readable
text, and the code), not from the finished page, whose KaTeX markup would lose the math and which
Pagefind would have to parse at length (measured on the benchmark corpus: 3.1 CPU-s for the HTML
pages, 1.4 for their words). `Indexer` hands Pagefind each document as the build makes its page,
through Pagefind's Node API (`search_index.mjs`, which runs the npm package's binary in its own
process), so Pagefind indexes while the build renders; `finish` returns the index files from
memory. Pagefind splits the index by language, so a page searches its own language. The binary is
the extended one (pinned in package.json): it segments Chinese with ICU4X, as the browser's
`Intl.Segmenter` segments the query, so a search for 逐点卷积 finds the pages that use the term;
Japanese is segmented too (tests/test_reader.py searches for 残差接続 and パッチ埋め込み).

The index is kept in the cache folder, keyed by the digests of the documents: a build that
changed no page reuses it and never starts Pagefind. `serve` writes pages with the newest index it
has (`latest_outputs`) and refreshes it off the rebuild's path (`build_index`).
"""

import contextlib
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from html import escape
from pathlib import Path
from typing import IO, NamedTuple

from .cache import FileSets
from .files import Blob
from .model import BuildError, Module, SearchIndex
from .paths import url_path

FOLDER = "pagefind"
PAGEFIND_ENV = "SITE_BUILDER_PAGEFIND"  # a pagefind_extended binary to run instead of npm's
NOT_INDEXED = {"404.html"}
CONFIG = {"keepIndexUrl": True}  # a result's URL is the page's site path, as given
DRIVER = Path(__file__).with_name("search_index.mjs")


def pagefind_package() -> Path:
    """`node_modules/pagefind` (the Node API), found like KaTeX: by walking up from the current
    directory and from this file's directory."""
    starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
    for folder in (d / "node_modules" / "pagefind" for s in starts for d in (s, *s.parents)):
        if (folder / "lib" / "index.js").is_file():
            return folder
    raise BuildError("package.json", None, "Pagefind not found: run `npm ci` in the project root")


def pagefind_binary() -> Path:
    """The extended Pagefind binary: $SITE_BUILDER_PAGEFIND, else the one npm installed next to
    the Node API for this platform."""
    override = os.environ.get(PAGEFIND_ENV)
    if override:
        binary = Path(override)
    else:
        machine = platform.machine().lower()  # npm's names: linux-x64, darwin-arm64, ...
        arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
        system = "windows" if sys.platform == "win32" else sys.platform.rstrip("0123456789")
        name = "pagefind_extended.exe" if system == "windows" else "pagefind_extended"
        package = f"@pagefind/{system}-{arch}"
        binary = pagefind_package().parent / package / "bin" / name
    if not binary.is_file():
        where = f"${PAGEFIND_ENV}={override}" if override else binary
        raise BuildError("package.json", None, f"Pagefind's binary not found ({where})")
    return binary


def kept_indexes(cache_dir: Path) -> FileSets:
    """The search indexes kept in the cache folder `cache_dir`."""
    return FileSets(Path(cache_dir) / "search")


def index_key(pages: dict[str, Blob]) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for rel in sorted(pages):
        hasher.update(f"{rel}\0{pages[rel].digest}\0".encode())
    hasher.update(repr(CONFIG).encode())
    return hasher.hexdigest()


def indexed(rel: str) -> bool:
    return rel.endswith(".html") and rel not in NOT_INDEXED


class SearchPart(NamedTuple):
    """A part of a page for search: its anchor ("" for the part above the first section), the
    title a result shows for it, whether that title is the reader's own heading (else a name
    made for it, which weighs nothing in the ranking), and its words."""

    anchor: str
    title: str
    heading: bool
    words: str


def page_parts(module: Module, words: dict[str, str]) -> list[SearchPart]:
    """The parts of a page for search: its introduction, then each section (see
    `RenderedModule.words`). A section is titled by the heading its commentary opens with, else
    by the definition it documents or belongs to, else by the page's title."""
    parts = [SearchPart("", module.title, True, words.get("intro", ""))]
    for section in module.sections:
        text = words.get(section.id, "")
        if section.docs.lstrip().startswith("#") and text:
            title, _, text = text.partition("\n")
            parts.append(SearchPart(section.id, title, True, text))
            continue
        name = section.id if section.kind == "docstring" else section.scope
        parts.append(SearchPart(section.id, name or module.title, False, text))
    return parts


def search_document(url: str, lang: str, title: str, parts: list[SearchPart]) -> bytes:
    """What Pagefind indexes of a page: its site path, and a small HTML document of its title
    and words, one heading with the section's id per section, so that a result can name the
    section that matches and link to it (Pagefind's sub-results). Math is in it as readable
    text; the page's own HTML, KaTeX's glyph boxes and all, is not."""
    body = [f"<h1>{escape(title)}</h1>"]
    for part in parts:
        if part.anchor:
            weight = "" if part.heading else ' data-pagefind-weight="0"'
            body.append(f'<h2 id="{escape(part.anchor)}"{weight}>{escape(part.title)}</h2>')
        body += [f"<p>{escape(line)}</p>" for line in part.words.splitlines() if line.strip()]
    html = (
        f'<!doctype html><html lang="{escape(lang)}"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body>{''.join(body)}</body></html>"
    )
    record = {"url": "/" + url_path(url), "content": html}
    return json.dumps(record, ensure_ascii=False, sort_keys=True).encode()


def documents_to_index(documents: dict[str, Blob]) -> dict[str, Blob]:
    return {rel: blob for rel, blob in documents.items() if indexed(rel)}


class Indexer:
    """One index, fed page by page: each page's search document (`search_document`), by the
    page's site path. `add` hands a document over and returns (Pagefind, started with the first,
    indexes it in its own process); `finish` adds the documents not added yet and returns the
    index files, or the cache's index for exactly these documents, in which case Pagefind is
    stopped, or never started. Documents are indexed in the order they are added (the index's
    bytes follow that order; the build adds them in a fixed order). Use it as a context manager,
    so that Pagefind stops when the build fails."""

    def __init__(self, kept: FileSets):
        self.kept = kept  # indexes by key (the cache's `search/`)
        self._process: subprocess.Popen | None = None
        self._stderr: IO[bytes] | None = None
        self._added: dict[str, str] = {}  # site path -> digest of the document given to Pagefind

    def __enter__(self) -> "Indexer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def add(self, rel: str, document: Blob) -> None:
        if not indexed(rel):
            return
        if self._process is None:
            self._start()
        self._added[rel] = document.digest
        self._send({"record": rel}, document.content())

    def finish(self, documents: dict[str, Blob]) -> dict[str, Blob]:
        """The index files of the pages' `documents` (site path -> search document), as
        `pagefind/...` blobs; the cache keeps them, and no other index."""
        key, files = self.index(documents)
        self.kept.keep_only(key)
        return files

    def index(self, documents: dict[str, Blob]) -> tuple[str, dict[str, Blob]]:
        """Index `documents` into the cache unless it has their index already (other indexes are
        left alone): their key, and the index files."""
        pages = documents_to_index(documents)
        key = index_key(pages)
        stored = self.kept.get(key)
        if stored is not None:
            self.close()
            return key, _served(stored)
        if any(rel not in pages or pages[rel].digest != d for rel, d in self._added.items()):
            self.close()  # a page given to Pagefind is not among these: start again
        if self._process is None:
            self._start()
        for rel in sorted(pages.keys() - self._added.keys()):  # pages this build did not render
            self.add(rel, pages[rel])
        return key, _served(self.kept.put(key, self._collect()))

    def close(self) -> None:
        """Stop Pagefind (the index so far is dropped)."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()
            for stream in (self._process.stdin, self._process.stdout, self._stderr):
                with contextlib.suppress(OSError):  # a page still buffered for a stopped process
                    if stream is not None:
                        stream.close()
        self._process, self._stderr, self._added = None, None, {}

    def _start(self) -> None:
        node = shutil.which("node")
        if node is None:
            raise BuildError("package.json", None, "Node.js not found: Pagefind needs `node`")
        env = {**os.environ, "PAGEFIND_EXTENDED_BINARY_PATH": str(pagefind_binary())}
        # stderr to a file, not a pipe that a chatty Pagefind could fill while we write pages
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self._process = subprocess.Popen(
            [node, str(DRIVER), str(pagefind_package())],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
        )
        self._send(CONFIG)

    def _pipes(self) -> tuple[subprocess.Popen, IO[bytes], IO[bytes], IO[bytes]]:
        """The running Pagefind, its stdin and stdout, and the file its stderr goes to."""
        process, stderr = self._process, self._stderr
        assert process and process.stdin and process.stdout and stderr, "Pagefind not started"
        return process, process.stdin, process.stdout, stderr

    def _send(self, head: dict, body: bytes = b"") -> None:
        if body:
            head = {**head, "size": len(body)}
        _, stdin, _, _ = self._pipes()
        with contextlib.suppress(BrokenPipeError):  # Pagefind stopped: `_collect` says why
            stdin.write(json.dumps(head).encode() + b"\n" + body)
            stdin.flush()  # now, not when the buffer fills: Pagefind is waiting

    def _collect(self) -> dict[str, bytes]:
        process, stdin, stdout, stderr = self._pipes()
        with contextlib.suppress(BrokenPipeError):
            stdin.close()
        output = stdout.read()
        process.wait()
        stderr.seek(0)
        said = stderr.read().decode(errors="replace").strip().splitlines()
        self.close()
        files, error, position = {}, None, 0
        while position < len(output):
            newline = output.find(b"\n", position)
            if newline < 0:
                break
            head = json.loads(output[position:newline])
            position = newline + 1
            if "path" in head:
                files[head["path"]] = output[position : position + head["size"]]
                position += head["size"]
            elif head.get("done") and process.returncode == 0:
                return files
            else:
                error = head.get("error")
        message = said[-1] if said else error or f"exit status {process.returncode}"
        raise BuildError("pagefind", None, f"search index failed: {message}")


def build_index(kept: FileSets, documents: dict[str, Blob]) -> str:
    """Index the pages' search `documents` into `kept` unless it has their index already;
    returns its key. Other indexes are left alone."""
    with Indexer(kept) as indexer:
        return indexer.index(documents)[0]


def latest_outputs(kept: FileSets, documents: dict[str, Blob]) -> tuple[dict[str, Blob], bool]:
    """Never runs Pagefind: the index of these search documents if `kept` has it (others are
    pruned), else the newest index it has (or none). Returns (index files, whether they index
    these documents)."""
    key = index_key(documents_to_index(documents))
    current = kept.get(key)
    if current is None:
        return _served(kept.newest() or {}), False
    kept.keep_only(key)
    return _served(current), True


def _served(files: dict[str, Blob]) -> dict[str, Blob]:
    """An index's files where the site serves them."""
    return {f"{FOLDER}/{rel}": blob for rel, blob in files.items()}


def site_index(documents: dict[str, Blob], indexer: Indexer | None, cache_dir: Path) -> SearchIndex:
    """Search stage: the index of the pages' search `documents` (`indexer` has been fed those
    made in this build); without an `indexer`, the newest one kept in `cache_dir`, with the
    documents it lacks (serve indexes them in the background)."""
    if indexer is not None:
        return SearchIndex(indexer.finish(documents), None)
    index, current = latest_outputs(kept_indexes(cache_dir), documents)
    return SearchIndex(index, None if current else documents_to_index(documents))
