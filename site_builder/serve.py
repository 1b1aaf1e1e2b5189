"""Preview server: build, serve the site on 127.0.0.1, rebuild on edits, live-reload open pages.

The reload script is added to HTML responses only (never written to disk); it listens on a
server-sent-events endpoint that announces each rebuild with the site paths it wrote. Requests are
confined to the site dir: `..`, encoded dots, absolute paths and symlinks leading out are refused.
Text responses are gzipped for clients that accept it, as static hosts serve them.

Search is off the rebuild's path: a rebuild writes its pages with the newest index at hand, then a
background thread runs Pagefind and swaps the fresh index in (only `pagefind/` changes, and that
is not announced: open pages need no reload for it).
"""

import gzip
import json
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import search
from .config import SiteConfig
from .model import BuildError

EVENTS_PATH = "/__site_builder/events"
RELOAD_SCRIPT = b"""<script>
(function () {
  var here = location.pathname.replace(/^\\//, "").replace(/(^|\\/)$/, "$1index.html");
  var events = new EventSource("%s");
  events.addEventListener("rebuild", function (event) {
    var written = JSON.parse(event.data);
    var mine = written.some(function (path) { return path === here || !/\\.html$/.test(path); });
    if (mine) location.reload();
  });
})();
</script>
""" % EVENTS_PATH.encode()
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".jsonl": "application/jsonl",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".csv": "text/csv; charset=utf-8",
}
COMPRESSED_SUFFIXES = {".html", ".css", ".js", ".json", ".jsonl", ".xml", ".svg", ".csv"}


def site_file(site_dir: Path, request_path: str) -> Path | None:
    """The file a request path names inside the site, or None when it would leave the site."""
    path = unquote(urlsplit(request_path).path)
    if "\0" in path or "\\" in path:
        return None
    parts = [part for part in path.split("/") if part]
    if any(part in (".", "..") for part in parts):
        return None
    root = site_dir.resolve()
    candidate = root.joinpath(*parts) if parts else root
    if candidate.is_dir():
        candidate = candidate / "index.html"
    resolved = candidate.resolve()
    if not resolved.is_relative_to(root) or not resolved.is_file():
        return None
    return resolved


class Announcer:
    """Tells every open event stream about each rebuild (a counter plus the latest payload)."""

    def __init__(self):
        self.condition = threading.Condition()
        self.version = 0
        self.payload = "[]"
        self.closed = False

    def publish(self, written: list[str]) -> None:
        with self.condition:
            self.version += 1
            self.payload = json.dumps(written)
            self.condition.notify_all()

    def wait(self, seen: int, timeout: float) -> tuple[int, str | None]:
        with self.condition:
            self.condition.wait_for(lambda: self.version != seen or self.closed, timeout)
            if self.version == seen:
                return seen, None
            return self.version, self.payload

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding header allows gzip, by its own q-value or else `*`'s."""
    weights = {}
    for item in accept_encoding.lower().split(","):
        coding, _, params = item.partition(";")
        name, _, value = params.strip().partition("=")
        try:
            weights[coding.strip()] = float(value) if name.strip() == "q" else 1.0
        except ValueError:
            weights[coding.strip()] = 0.0
    return weights.get("gzip", weights.get("*", 0.0)) > 0


def make_handler(site_dir: Path, announcer: Announcer | None, compress: bool = True):
    """Serves the site; with an `announcer`, HTML gets the live-reload script and the events
    endpoint is open."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "site-builder"

        def log_message(self, format, *args):  # noqa: A002 (the base class's name)
            pass

        def do_GET(self):
            if announcer and urlsplit(self.path).path == EVENTS_PATH:
                return self._events()
            self._send_file(head_only=False)

        def do_HEAD(self):
            self._send_file(head_only=True)

        def _send_file(self, head_only: bool):
            path = site_file(site_dir, self.path)
            status = HTTPStatus.OK
            if path is None:
                status, path = HTTPStatus.NOT_FOUND, site_file(site_dir, "/404.html")
            body = path.read_bytes() if path else b"<!doctype html><title>Not found</title>"
            suffix = path.suffix if path else ".html"
            content_type = CONTENT_TYPES.get(suffix, "application/octet-stream")
            if suffix == ".html" and announcer:
                body = _inject(body)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            if compress and suffix in COMPRESSED_SUFFIXES:
                self.send_header("Vary", "Accept-Encoding")
                if accepts_gzip(self.headers.get("Accept-Encoding", "")):
                    body = gzip.compress(body, compresslevel=6, mtime=0)
                    self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def _events(self):
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = announcer.version
            try:
                self.wfile.write(b": connected\n\n")
                self.wfile.flush()
                while not announcer.closed:
                    seen, payload = announcer.wait(seen, timeout=10)
                    message = f"event: rebuild\ndata: {payload}\n\n" if payload else ": ping\n\n"
                    self.wfile.write(message.encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def _inject(body: bytes) -> bytes:
    marker = body.rfind(b"</body>")
    return body[:marker] + RELOAD_SCRIPT + body[marker:] if marker >= 0 else body + RELOAD_SCRIPT


class PreviewServer:
    """The HTTP server and the rebuild-on-change watcher, on background threads."""

    def __init__(self, config: SiteConfig, port: int = 8000, keep_going: bool = False):
        self.config, self.keep_going = config, keep_going
        self.announcer = Announcer()
        handler = make_handler(config.out, self.announcer)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.httpd.daemon_threads = True
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []
        self.build_lock = threading.Lock()  # one build at a time writes the site
        self.index_wanted = threading.Condition()
        self.unindexed: dict | None = None  # pages whose index the site lacks, newest first

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host}:{port}/"

    def rebuild(self) -> list[str] | None:
        """Build (incrementally); announce what changed; on bad input print the one-line error
        and keep serving the previous site."""
        from .build import build_site
        from .cli import location, print_report

        try:
            with self.build_lock:
                report = build_site(self.config, keep_going=self.keep_going, index_search=False)
        except BuildError as error:
            print(location(error), file=sys.stderr, flush=True)
            return None
        print_report(report, self.config.out)
        changed = report.written + report.removed
        announced = [path for path in changed if not path.startswith(search.FOLDER + "/")]
        if announced:
            self.announcer.publish(announced)
        if report.unindexed is not None:
            with self.index_wanted:
                self.unindexed = report.unindexed
                self.index_wanted.notify()
        return changed

    def _index(self) -> None:
        """Index the latest pages while rebuilds go on, then swap the index in with a rebuild
        (which renders only pages edited meanwhile). On failure the site keeps its old index."""
        from .cli import location

        stopped = self.stop_event.is_set
        while True:
            with self.index_wanted:
                self.index_wanted.wait_for(lambda: self.unindexed is not None or stopped())
                if stopped():
                    return
                pages, self.unindexed = self.unindexed, None
            try:
                search.build_index(self.config.cache_dir, pages)
            except (BuildError, OSError) as error:
                with self.index_wanted:
                    superseded = self.unindexed is not None  # its pages changed meanwhile
                if not superseded:
                    problem = (
                        error
                        if isinstance(error, BuildError)
                        else BuildError("pagefind", None, f"search index failed: {error}")
                    )
                    print(location(problem), file=sys.stderr, flush=True)
                continue
            self.rebuild()

    def watched_dirs(self) -> list[Path]:
        dirs = [self.config.source]
        if self.config.docs:
            dirs.append(self.config.docs)  # holds locale/
        return dirs

    def _watch(self) -> None:
        from watchfiles import watch

        ignored = (self.config.out, self.config.cache_dir)
        for changes in watch(*self.watched_dirs(), stop_event=self.stop_event, debounce=100):
            if any(not _inside(Path(path), ignored) for _, path in changes):
                self.rebuild()

    def start(self) -> None:
        for target in (self.httpd.serve_forever, self._watch, self._index):
            thread = threading.Thread(target=target, daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self) -> None:
        self.stop_event.set()
        with self.index_wanted:
            self.index_wanted.notify_all()
        self.announcer.close()
        self.httpd.shutdown()
        self.httpd.server_close()
        for thread in self.threads:
            thread.join(timeout=5)


def _inside(path: Path, folders) -> bool:
    return any(path == folder or path.is_relative_to(folder) for folder in folders)


def serve(config: SiteConfig, port: int = 8000, keep_going: bool = False) -> int:
    server = PreviewServer(config, port, keep_going)
    server.rebuild()
    server.start()
    print(f"serving {config.out} at {server.url} (Ctrl+C to stop)", flush=True)
    try:
        server.stop_event.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
