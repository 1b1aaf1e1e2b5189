"""Preview server: build, serve the site on 127.0.0.1, rebuild on edits, live-reload open pages.

The reload script is added to HTML responses only (never written to disk); it listens on a
server-sent-events endpoint that announces each rebuild with the site paths it wrote, and each
failed rebuild with its message, which the page shows in a banner until a rebuild succeeds (the
terminal gets the same line). Any error in a rebuild leaves the previous site served and the
watcher running. Requests are confined to the site dir: `..`, encoded dots, absolute paths and
symlinks leading out are refused, and so is a Host header that is not a loopback name (a page
of another site whose DNS name is rebound to 127.0.0.1 sends its own name). Text responses are
gzipped for clients that accept it, and a folder asked for without its trailing slash is
redirected to it (so relative links on its index page work), as static hosts do.

A watched folder (the source, the docs) that disappears does not empty the site: the last good
site stays served, one line says so, and the folder is rebuilt from when it comes back. A rebuild
that read part of a folder being deleted (`rm -r` removes the files first) fails before it writes
anything (see `build`).
With --debug, an internal error's traceback follows its line in the terminal.

Search is off the rebuild's path: a rebuild writes its pages with the newest index at hand, then a
background thread runs Pagefind and swaps the fresh index in (only `pagefind/` changes, and that
is not announced: open pages need no reload for it).
"""

import gzip
import html
import json
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

from watchfiles import watch

from . import search
from .build import build_site, check_out
from .config import SiteConfig
from .files import Blob
from .model import BuildError, internal_error
from .report import location, print_problem, print_report
from .tex import KatexRenderer

HOST = "127.0.0.1"  # the preview is served on this machine only
EVENTS_PATH = "/__site_builder/events"
WATCH_TIMEOUT_MS = 500  # how often the watcher looks up, to notice a watched folder is gone
ERROR_BANNER_ID = "site-builder-error"
RELOAD_SCRIPT = b"""<script>
(function () {
  var here = location.pathname.replace(/^\\//, "").replace(/(^|\\/)$/, "$1index.html");
  var events = new EventSource("%s");
  function hide() {
    var old = document.getElementById("%s");
    if (old) old.remove();
  }
  function show(message) {
    hide();
    var banner = document.createElement("div"), title = document.createElement("p");
    var text = document.createElement("pre"), close = document.createElement("button");
    banner.id = "%s";
    banner.setAttribute("role", "alert");
    banner.style.cssText = "position:fixed;left:0;right:0;bottom:0;z-index:2147483647;" +
      "max-height:50vh;overflow:auto;margin:0;padding:.75rem 1rem;background:#fff8f7;" +
      "color:#1b1b1b;border-top:.3rem solid #b3261e;font:15px/1.4 system-ui,sans-serif;" +
      "box-shadow:0 -2px 8px rgba(0,0,0,.25)";
    title.style.cssText = "margin:0 0 .4rem;font-weight:700";
    title.textContent = document.getElementById("%s") ? "The site could not be built." :
      "Rebuild failed: this page is from the last good build.";
    text.style.cssText = "margin:0 0 .5rem;white-space:pre-wrap;color:#8c1d18;" +
      "font:14px/1.4 ui-monospace,monospace;background:none;border:0;padding:0";
    text.textContent = message;
    close.type = "button";
    close.textContent = "Dismiss";
    close.style.cssText = "font:inherit;padding:.2rem .8rem;color:#1b1b1b;background:#fff;" +
      "border:1px solid #5f5f5f;border-radius:.25rem;cursor:pointer";
    close.addEventListener("click", hide);
    banner.append(title, text, close);
    document.body.appendChild(banner);
  }
  events.addEventListener("build-error", function (event) {
    show(JSON.parse(event.data).message);
  });
  events.addEventListener("build-ok", hide);
  events.addEventListener("rebuild", function (event) {
    hide();
    var written = JSON.parse(event.data);
    var mine = written.some(function (path) { return path === here || !/\\.html$/.test(path); });
    if (mine) location.reload();
  });
})();
</script>
""" % (
    EVENTS_PATH.encode(),
    ERROR_BANNER_ID.encode(),
    ERROR_BANNER_ID.encode(),
    b"site-builder-failed",
)
# What a URL the site lacks shows while the build fails (a first build, say): the errors, in
# place of a 404 (`FAILED_TITLE` is its <title>, the id tells the banner script about it).
FAILED_TITLE = "The site could not be built"
# Host headers that name this machine: 127.0.0.1, localhost or [::1], with or without a port.
LOCAL_HOST = re.compile(r"(127\.0\.0\.1|localhost|\[::1\])(:[0-9]{1,5})?", re.IGNORECASE)
HOST_REFUSED = (
    b"Refused: the Host header must be 127.0.0.1, localhost or [::1]. This preview server "
    b"answers only to local names, so that no other site can reach it by DNS rebinding.\n"
)
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
    try:  # a name too long for the file system is an OSError, like any missing file
        if candidate.is_dir():
            candidate = candidate / "index.html"
        resolved = candidate.resolve()
        if not resolved.is_relative_to(root) or not resolved.is_file():
            return None
    except OSError:
        return None
    return resolved


def folder_redirect(site_dir: Path, request_path: str) -> str | None:
    """Where a request for a site folder without its trailing slash (`/models`) is sent: the
    same path with it (`/models/`, and the query); None for any other request."""
    split = urlsplit(request_path)
    if not split.path.startswith("/") or split.path.startswith("//") or split.path.endswith("/"):
        return None
    if site_file(site_dir, request_path) is None:  # nothing there, or outside the site
        return None
    parts = [part for part in unquote(split.path).split("/") if part]
    try:
        if not site_dir.resolve().joinpath(*parts).is_dir():
            return None
    except OSError:
        return None
    return split.path + "/" + (f"?{split.query}" if split.query else "")


class Announcer:
    """Tells every open event stream about each rebuild (`rebuild`, with the paths written) and
    each failed one (`build-error`, with its message). Events are numbered; a stream sends those
    it has not seen, of the latest few. `error` is the message while the site is out of date."""

    KEPT = 32

    def __init__(self) -> None:
        self.condition = threading.Condition()
        self.version = 0
        self.events: list[tuple[int, str, str]] = []  # (number, kind, data)
        self.payload = "[]"  # of the latest rebuild
        self.error: str | None = None
        self.closed = False

    def publish(self, written: list[str]) -> None:
        with self.condition:
            self.payload, self.error = json.dumps(written), None
            self._add("rebuild", self.payload)

    def fail(self, message: str) -> None:
        with self.condition:
            self.error = message
            self._add("build-error", json.dumps({"message": message}))

    def _add(self, kind: str, data: str) -> None:
        self.version += 1
        self.events = [*self.events[-(self.KEPT - 1) :], (self.version, kind, data)]
        self.condition.notify_all()

    def state(self) -> tuple[int, str, str]:
        """The latest event number, and what a new stream is told first: the current error, or
        that there is none."""
        with self.condition:
            if self.error is None:
                return self.version, "build-ok", "{}"
            return self.version, "build-error", json.dumps({"message": self.error})

    def wait(self, seen: int, timeout: float) -> tuple[int, list[tuple[str, str]]]:
        """Events after number `seen` (none when `timeout` passes first), and the newest number."""
        with self.condition:
            self.condition.wait_for(lambda: self.version != seen or self.closed, timeout)
            return self.version, [(kind, data) for n, kind, data in self.events if n > seen]

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


def make_handler(
    site_dir: Path, announcer: Announcer | None, compress: bool = True
) -> type[BaseHTTPRequestHandler]:
    """Serves the site; with an `announcer`, HTML gets the live-reload script and the events
    endpoint is open."""

    class Handler(BaseHTTPRequestHandler):
        server_version = "site-builder"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's)
            pass

        def do_GET(self) -> None:
            if not self._host_allowed(head_only=False):
                return
            if announcer and urlsplit(self.path).path == EVENTS_PATH:
                return self._events(announcer)
            self._send_file(head_only=False)

        def do_HEAD(self) -> None:
            if self._host_allowed(head_only=True):
                self._send_file(head_only=True)

        def _host_allowed(self, head_only: bool) -> bool:
            if LOCAL_HOST.fullmatch(self.headers.get("Host", "").strip()):
                return True
            self.send_response(HTTPStatus.FORBIDDEN)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(HOST_REFUSED)))
            self.end_headers()
            if not head_only:
                self.wfile.write(HOST_REFUSED)
            return False

        def _send_file(self, head_only: bool) -> None:
            if location := folder_redirect(site_dir, self.path):
                self.send_response(HTTPStatus.MOVED_PERMANENTLY)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                return
            path = site_file(site_dir, self.path)
            status = HTTPStatus.OK
            if path is None and announcer and announcer.error is not None:
                self._send_failure(announcer.error, head_only)
                return
            if path is None:
                status, path = HTTPStatus.NOT_FOUND, site_file(site_dir, "/404.html")
            try:
                body = path.read_bytes() if path else None
            except OSError:  # removed or swapped by a rebuild meanwhile
                status, path, body = HTTPStatus.NOT_FOUND, None, None
            body = body if body is not None else b"<!doctype html><title>Not found</title>"
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

        def _send_failure(self, message: str, head_only: bool) -> None:
            body = _inject(failure_page(message))
            self.send_response(HTTPStatus.SERVICE_UNAVAILABLE)
            self.send_header("Content-Type", CONTENT_TYPES[".html"])
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if not head_only:
                self.wfile.write(body)

        def _events(self, announcer: Announcer) -> None:
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen, kind, data = announcer.state()
            try:
                self.wfile.write(f": connected\n\nevent: {kind}\ndata: {data}\n\n".encode())
                self.wfile.flush()
                while not announcer.closed:
                    seen, events = announcer.wait(seen, timeout=10)
                    messages = [f"event: {kind}\ndata: {data}\n\n" for kind, data in events]
                    self.wfile.write("".join(messages or [": ping\n\n"]).encode())
                    self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                pass

    return Handler


def failure_page(message: str) -> bytes:
    """The page shown for a URL the site lacks while the build fails: what is wrong (each
    error on its line); it reloads once a build succeeds."""
    return (
        f'<!doctype html><html lang="en"><meta charset="utf-8"><title>{FAILED_TITLE}</title>'
        f'<body id="site-builder-failed" style="font:16px/1.5 system-ui,sans-serif;margin:2rem">'
        f"<h1>{FAILED_TITLE}</h1><p>Fix these, save, and this page reloads:</p>"
        f'<pre style="white-space:pre-wrap;color:#8c1d18">{html.escape(message)}</pre>'
        "</body></html>"
    ).encode()


def _inject(body: bytes) -> bytes:
    marker = body.rfind(b"</body>")
    return body[:marker] + RELOAD_SCRIPT + body[marker:] if marker >= 0 else body + RELOAD_SCRIPT


class LocalServer(ThreadingHTTPServer):
    """A thread per request, and a listen backlog for a burst of them (socketserver's is 5)."""

    daemon_threads = True
    request_queue_size = 1024


class PreviewServer:
    """The HTTP server and the rebuild-on-change watcher, on background threads."""

    def __init__(
        self, config: SiteConfig, port: int = 8000, keep_going: bool = False, debug: bool = False
    ):
        self.config, self.keep_going, self.debug = config, keep_going, debug
        self.announcer = Announcer()
        handler = make_handler(config.out, self.announcer)
        if not 0 <= port <= 65535:
            raise BuildError("<command line>", None, f"--port must be 0 to 65535, not {port}")
        try:
            self.httpd = LocalServer((HOST, port), handler)
        except OSError as error:
            message = f"cannot serve on {HOST}:{port}: {error.strerror or error}"
            raise BuildError("<command line>", None, message) from None
        self.stop_event = threading.Event()
        self.watching = threading.Event()  # the watched folders are watched (see `_watch`)
        self.threads: list[threading.Thread] = []
        self.build_lock = threading.Lock()  # one build at a time writes the site
        self.katex = KatexRenderer()  # one V8 for every rebuild, started by the first to need it
        self.index_wanted = threading.Condition()
        self.unindexed: dict[str, Blob] | None = None  # pages the index lacks, newest first

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.httpd.server_port}/"

    def rebuild(self) -> list[str] | None:
        """Build (incrementally); announce what changed, and return it. On any error, or while a
        watched folder is gone, print a line for each error, show them on the open pages (and in
        place of a page the site lacks: there is none before a first good build), keep serving
        the previous site, and return None."""
        if self._folder_gone():
            return None
        try:
            with self.build_lock:
                report = build_site(
                    self.config, self.keep_going, index_search=False, katex=self.katex
                )
        except BuildError as error:
            self._failed(error)
            return None
        except Exception as error:  # a bug; the watcher outlives it and the next edit rebuilds
            self._failed(internal_error(None, error))
            return None
        print_report(report, self.config.out, self.debug)
        changed = report.written + report.removed
        announced = [path for path in changed if not path.startswith(search.FOLDER + "/")]
        if announced or self.announcer.error is not None:
            self.announcer.publish(announced)
        if report.unindexed is not None:
            with self.index_wanted:
                self.unindexed = report.unindexed
                self.index_wanted.notify()
        return changed

    def _folder_gone(self) -> bool:
        """Whether a watched folder is missing; if so, says so (see `_failed`)."""
        if gone := self.missing_dirs():
            message = "the folder is gone; serving the last good site until it is back"
            self._failed(BuildError(gone[0], None, message))
        return bool(gone)

    def _failed(self, problem: BuildError) -> None:
        """One line per error in the terminal (with --debug, an internal error's traceback after
        it), and the same lines on the open pages."""
        errors = getattr(problem, "errors", [problem])
        for error in errors:
            print_problem(error, debug=self.debug)
        sys.stderr.flush()
        self.announcer.fail("\n".join(location(error) for error in errors))

    def _index(self) -> None:
        """Index the latest pages while rebuilds go on, then swap the index in with a rebuild
        (which renders only pages edited meanwhile). On failure the site keeps its old index."""
        stopped = self.stop_event.is_set
        while True:
            with self.index_wanted:
                self.index_wanted.wait_for(lambda: self.unindexed is not None or stopped())
                if stopped():
                    return
                pages, self.unindexed = self.unindexed, None
            if pages is None:  # not asked for (wait_for returned on stop, handled above)
                continue
            try:
                search.build_index(search.kept_indexes(self.config.cache_dir), pages)
            except Exception as error:
                with self.index_wanted:
                    superseded = self.unindexed is not None  # its pages changed meanwhile
                if not superseded:
                    if isinstance(error, BuildError):
                        problem = error
                    elif isinstance(error, OSError):
                        problem = BuildError("pagefind", None, f"search index failed: {error}")
                    else:
                        problem = internal_error(None, error)
                    print_problem(problem, debug=self.debug)
                    sys.stderr.flush()
                continue
            self.rebuild()

    def watched_dirs(self) -> list[Path]:
        dirs = [self.config.source]
        if self.config.docs:
            dirs.append(self.config.docs)  # holds locale/
        if self.config.overrides:
            dirs.append(self.config.overrides)  # templates and CSS
        return dirs

    def missing_dirs(self) -> list[Path]:
        return [folder for folder in self.watched_dirs() if not folder.is_dir()]

    def _watch(self) -> None:
        """Rebuild on each change. A watched folder that disappears takes its watch with it: then
        wait for it to come back (checking a few times a second), watch it again and rebuild.
        `watching` is set while the folders are watched."""
        ignored = (self.config.out, self.config.cache_dir)
        stale = False  # a change may have gone unseen: rebuild once the watch is on
        while not self.stop_event.is_set():
            if self.missing_dirs():
                self.watching.clear()
                self.rebuild()  # says which folder is gone
                while self.missing_dirs():
                    if self.stop_event.wait(0.25):
                        return
                stale = True
            try:
                for changes in watch(
                    *self.watched_dirs(),
                    stop_event=self.stop_event,
                    debounce=100,
                    rust_timeout=WATCH_TIMEOUT_MS,
                    yield_on_timeout=True,  # an empty set: the watch is on
                ):
                    self.watching.set()
                    if self.missing_dirs():
                        break
                    if stale or any(not _inside(Path(path), ignored) for _, path in changes):
                        stale = False
                        self.rebuild()  # reports its own errors, so the watcher lives on
            except OSError:  # a folder went away as its watch started
                continue

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


def serve(
    config: SiteConfig, port: int = 8000, keep_going: bool = False, debug: bool = False
) -> int:
    """Build, serve and rebuild on edits until Ctrl+C. With `debug`, the traceback of an internal
    error follows its line."""
    check_out(config)
    server = PreviewServer(config, port, keep_going, debug)
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
