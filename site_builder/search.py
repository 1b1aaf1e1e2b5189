"""Search stage: a Pagefind index of the site's pages, served from the site (`pagefind/`).

A page is indexed from its search document (`search_document`): its URL, and a small HTML
document of its title and words, one heading per section carrying the section's id, so that a
result names and links to the section that matches (Pagefind's sub-results; site.js picks the
best one). The words come from the render stage's tokens (commentary with its math as readable
text, and the code), not from the finished page, whose KaTeX markup would lose the math and which
Pagefind would have to parse at length (measured on the benchmark corpus: 3.1 CPU-s for the HTML
pages, 1.4 for their words). `Indexer` hands Pagefind each document as the build makes its page,
through the binary's service mode (`PagefindService`), so Pagefind indexes in its own process
while the build renders; `finish` returns the index files from memory. Pagefind splits the index
by language, so a page searches its own language. The binary is the extended one
(`pagefind_binary`; PyPI's wheel, no Node needed): it segments Chinese with ICU4X, as the
browser's `Intl.Segmenter` segments the query, so a search for 逐点卷积 finds the pages that use
the term; Japanese is segmented too (tests/test_reader.py searches for 残差接続 and パッチ埋め込み).

The index is kept in the cache folder, keyed by the digests of the documents: a build that
changed no page reuses it and never starts Pagefind. `serve` writes pages with the newest index it
has (`latest_outputs`) and refreshes it off the rebuild's path (`build_index`).
"""

import base64
import contextlib
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from html import escape
from pathlib import Path
from typing import NamedTuple

from .cache import FileSets
from .files import Blob
from .model import BuildError, Module, SearchIndex
from .paths import url_path

FOLDER = "pagefind"
PAGEFIND_ENV = "SITE_BUILDER_PAGEFIND"  # a pagefind_extended binary to run instead
NOT_INDEXED = {"404.html"}
CONFIG = {"keepIndexUrl": True}  # a result's URL is the page's site path, as given


def pagefind_binary() -> Path:
    """The extended Pagefind binary: $SITE_BUILDER_PAGEFIND, else one that npm installed in a
    `node_modules` of the current directory or above it (this repository pins Pagefind 1.6 in
    package-lock.json), else the one from PyPI's `pagefind_bin_extended` wheel (a dependency of
    site-builder: 1.4 or 1.6, as 1.5 breaks Chinese and Japanese queries; see pyproject.toml)."""
    override = os.environ.get(PAGEFIND_ENV)
    binary = Path(override) if override else _npm_binary() or _wheel_binary()
    if binary is None or not binary.is_file():
        where = f"${PAGEFIND_ENV}={override}" if override else "pagefind_bin_extended"
        raise BuildError(
            "pagefind", None, f"Pagefind's binary not found ({where}): reinstall site-builder"
        )
    return binary


def _wheel_binary() -> Path | None:
    try:
        import pagefind_bin_extended
    except ImportError:
        return None
    with contextlib.suppress(FileNotFoundError):
        return Path(pagefind_bin_extended.get_executable())
    return None


def _npm_binary() -> Path | None:
    machine = platform.machine().lower()  # npm's names: linux-x64, darwin-arm64, ...
    arch = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64"}.get(machine, machine)
    system = "windows" if sys.platform == "win32" else sys.platform.rstrip("0123456789")
    name = "pagefind_extended.exe" if system == "windows" else "pagefind_extended"
    start = Path.cwd().resolve()
    for folder in (start, *start.parents):
        binary = folder / "node_modules" / "@pagefind" / f"{system}-{arch}" / "bin" / name
        if binary.is_file():
            return binary
    return None


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
        self._service: PagefindService | None = None
        self._index_id = 0
        self._added: dict[str, str] = {}  # site path -> digest of the document given to Pagefind
        self._records: dict[int, str] = {}  # message id -> site path of the record it added
        self._failure: BuildError | None = None  # Pagefind did not start when a page came
        self._early: _EarlyFinish | None = None  # see `start_finishing`

    def __enter__(self) -> "Indexer":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
        if self._early is not None:  # stopped Pagefind ends its wait
            self._early.thread.join()
            self._early = None

    def add(self, rel: str, document: Blob) -> None:
        if not indexed(rel):
            return
        if self._service is None and self._failure is None:
            try:
                self._start()
            except BuildError as e:  # said by `finish` if it needs Pagefind: the cache may not
                self._failure = e
        if self._service is None:
            return
        self._added[rel] = document.digest
        record = json.loads(document.content())
        sent = self._service.send(
            {
                "type": "AddFile",
                "index_id": self._index_id,
                "url": record["url"],
                "file_contents": record["content"],
            }
        )
        self._records[sent] = rel

    def start_finishing(self, documents: dict[str, Blob]) -> None:
        """Begin `finish(documents)` on a thread of its own, and return: Pagefind indexes the
        last pages and makes the index files in its own process while the build checks its
        pages. `finish` given the same dict then waits for it."""
        self._early = _EarlyFinish(self, documents)
        self._early.thread.start()

    def finish(self, documents: dict[str, Blob]) -> dict[str, Blob]:
        """The index files of the pages' `documents` (site path -> search document), as
        `pagefind/...` blobs; the cache keeps them, and no other index."""
        early, self._early = self._early, None
        if early is not None:
            early.thread.join()
            if early.documents is documents:
                if early.error is not None:
                    raise early.error
                return early.files
        return self._finish_now(documents)

    def _finish_now(self, documents: dict[str, Blob]) -> dict[str, Blob]:
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
        if self._failure or any(
            rel not in pages or pages[rel].digest != d for rel, d in self._added.items()
        ):
            self.close()  # Pagefind failed, or has a page not among these: start again
        if self._service is None:
            self._start()
        for rel in sorted(pages.keys() - self._added.keys()):  # pages this build did not render
            self.add(rel, pages[rel])
        return key, _served(self.kept.put(key, self._collect()))

    def close(self) -> None:
        """Stop Pagefind (the index so far is dropped)."""
        if self._service is not None:
            self._service.close()
        self._service, self._added, self._records, self._failure = None, {}, {}, None

    def _start(self) -> None:
        self._service = PagefindService(pagefind_binary())
        config = {re.sub("[A-Z]", lambda c: "_" + c[0].lower(), k): v for k, v in CONFIG.items()}
        created = self._service.reply(self._service.send({"type": "NewIndex", "config": config}))
        self._index_id = created["index_id"]

    def _collect(self) -> dict[str, bytes]:
        """The index files, once Pagefind has indexed every record sent; then it stops."""
        assert self._service is not None, "Pagefind not started"
        service, records = self._service, self._records
        try:
            for sent, rel in records.items():
                service.reply(sent, about=rel)
            files = service.reply(service.send({"type": "GetFiles", "index_id": self._index_id}))
            return {f["path"]: base64.b64decode(f["content"]) for f in files["files"]}
        finally:
            self.close()


class _EarlyFinish:
    """`Indexer.finish(documents)` running on `thread`: its files, or the error it raised."""

    def __init__(self, indexer: Indexer, documents: dict[str, Blob]):
        self.indexer, self.documents = indexer, documents
        self.thread = threading.Thread(target=self.run, name="pagefind-index", daemon=True)
        self.files: dict[str, Blob] = {}
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.files = self.indexer._finish_now(self.documents)
        except BaseException as error:  # raised where `finish` takes the result
            self.error = error


class PagefindService:
    """A Pagefind binary in its service mode (`--service`, which Pagefind's Node and Python APIs
    drive): each message, both ways, is JSON with a `message_id` and a `payload`, base64-encoded
    and ended by a comma; a reply carries the id of the message it answers. A thread reads the
    replies as they come, so Pagefind never waits on a full pipe while we write to it."""

    def __init__(self, binary: Path):
        # stderr to a file, not a pipe that a chatty Pagefind could fill
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        try:
            self._process = subprocess.Popen(
                [str(binary), "--service"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
            )
        except OSError as e:
            self._stderr.close()
            raise BuildError("pagefind", None, f"Pagefind does not start: {e}") from None
        self._sent = 0
        self._replies: dict[int | None, dict] = {}
        self._ended = False  # Pagefind closed its output: no more replies
        self._arrived = threading.Condition()
        self._reader = threading.Thread(target=self._read, name="pagefind-replies", daemon=True)
        self._reader.start()

    def send(self, payload: dict) -> int:
        """Send a request; returns its message id."""
        self._sent += 1
        message = json.dumps({"message_id": self._sent, "payload": payload}).encode()
        stdin = self._process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):  # Pagefind stopped: `reply` says why
            stdin.write(base64.b64encode(message) + b",")
            stdin.flush()  # now, not when the buffer fills: Pagefind is waiting
        return self._sent

    def reply(self, message_id: int, about: str | None = None) -> dict:
        """The payload of Pagefind's reply to a message, waited for; an error it answered, or
        its stopping first, raises BuildError (naming `about` if given)."""
        with self._arrived:
            self._arrived.wait_for(lambda: message_id in self._replies or self._ended)
            payload = self._replies.pop(message_id, None)
        if payload is None:
            raise BuildError("pagefind", None, f"search index failed: {self._why_stopped()}")
        if payload.get("type") == "Error":
            message = f"{about}: {payload.get('message')}" if about else payload.get("message")
            raise BuildError("pagefind", None, f"search index failed: {message}")
        return payload

    def close(self) -> None:
        """Stop Pagefind."""
        self._process.kill()
        self._process.wait()
        self._reader.join()  # it reads to the end of Pagefind's output, which stopping closed
        for stream in (self._process.stdin, self._process.stdout):
            with contextlib.suppress(OSError):  # a message still buffered for a stopped process
                if stream is not None:
                    stream.close()
        self._stderr.close()

    def _read(self) -> None:
        stdout = self._process.stdout
        assert stdout is not None
        fd, parts = stdout.fileno(), list[bytes]()
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 1 << 16):
                start = 0
                while (comma := chunk.find(b",", start)) >= 0:
                    self._take(b"".join([*parts, chunk[start:comma]]))
                    parts, start = [], comma + 1
                parts.append(chunk[start:])
        with self._arrived:
            self._ended = True
            self._arrived.notify_all()

    def _take(self, encoded: bytes) -> None:
        """File a reply under the id of the message it answers (an error about a message that
        Pagefind could not read names it in `original_message`)."""
        try:
            reply = json.loads(base64.b64decode(encoded))
            message_id = reply.get("message_id")
            payload = reply["payload"]
            if message_id is None:
                message_id = json.loads(payload.get("original_message") or "{}").get("message_id")
        except (ValueError, KeyError, TypeError, AttributeError):
            return  # not a reply (Pagefind wrote something else): the request goes unanswered
        with self._arrived:
            self._replies[message_id] = payload
            self._arrived.notify_all()

    def _why_stopped(self) -> str:
        """What Pagefind said on stopping: the last line of its stderr, else its exit status."""
        status = self._process.wait()
        self._stderr.seek(0)
        said = self._stderr.read().decode(errors="replace").strip().splitlines()
        return said[-1] if said else f"exit status {status}"


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
