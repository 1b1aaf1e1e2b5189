import gzip
import http.client
import json
import os
import re
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import make_config, snapshot, tiny_files, write_tree

from site_builder import build
from site_builder.cli import main
from site_builder.model import one_line
from site_builder.search import pagefind_binary
from site_builder.serve import RELOAD_SCRIPT, PreviewServer, accepts_gzip, site_file


def wait_until(condition, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def watching(server, tiny) -> None:
    """Returns once the watcher acts on edits (one made before it starts is never seen): the
    search index is in, so its own rebuild is done, and a file rewritten unchanged was rebuilt."""
    wait_until(lambda: index_of(tiny))
    rebuilt, rebuild = threading.Event(), server.rebuild

    def rebuild_and_tell():
        changed = rebuild()
        rebuilt.set()
        return changed

    server.rebuild = rebuild_and_tell
    probe = tiny.source / "__init__.py"
    wait_until(lambda: probe.write_bytes(probe.read_bytes()) and rebuilt.wait(0.5))


def fake_pagefind(folder, body: str):
    """An executable standing in for Pagefind (set with $SITE_BUILDER_PAGEFIND)."""
    script = folder / "pagefind"
    script.write_text(f"#!/bin/sh\n{body}\n")
    script.chmod(0o755)
    return script


def index_of(tiny) -> dict[str, str]:
    folder = tiny.out / "pagefind"
    return snapshot(folder) if folder.is_dir() else {}


def raw_get(server, target: str, host_header: str = "127.0.0.1") -> tuple[int, bytes]:
    """Send the request line as is (no client-side normalisation of `..`)."""
    host, port = server.httpd.server_address[:2]
    head = f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n"
    with socket.create_connection((host, port), timeout=10) as conn:
        conn.sendall(head.encode())
        data = b""
        while chunk := conn.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def test_site_file_stays_inside_the_site(tmp_path):
    site = tmp_path / "site"
    (site / "a").mkdir(parents=True)
    (site / "a/index.html").write_text("a")
    (tmp_path / "secret.txt").write_text("secret")
    os.symlink(tmp_path / "secret.txt", site / "leak.txt")
    os.symlink(tmp_path, site / "up")
    assert site_file(site, "/a/") == (site / "a/index.html").resolve()
    assert site_file(site, "/a/index.html?x=1#y") == (site / "a/index.html").resolve()
    for bad in ["/../secret.txt", "/a/../../secret.txt", "/%2e%2e/secret.txt",
                "/%2E%2E%2fsecret.txt", "/leak.txt", "/up/secret.txt", "//etc/passwd",
                "/etc/passwd", "/a%00.html", "/..%5csecret.txt"]:  # fmt: skip
        assert site_file(site, bad) is None, bad


@pytest.mark.parametrize(
    "target",
    [
        "/../../../../etc/passwd",
        "/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "http://x/../../etc/passwd",
    ],  # fmt: skip
)
def test_traversal_over_http_gets_the_404_page(server, target):
    status, body = raw_get(server, target)
    assert status == 404 and b"root:" not in body and b"Page not found" in body


def test_html_gets_the_reload_script_only_when_served(server, tiny):
    status, body = raw_get(server, "/models/layer.html")
    assert status == 200 and RELOAD_SCRIPT in body
    assert RELOAD_SCRIPT not in (tiny.out / "models/layer.html").read_bytes()
    status, css = raw_get(server, "/static/site.css")
    assert status == 200 and RELOAD_SCRIPT not in css
    assert server.httpd.server_address[0] == "127.0.0.1"


def test_an_edit_triggers_a_rebuild_event(server, tiny):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.request("GET", "/__site_builder/events")
    stream = conn.getresponse()
    assert stream.getheader("Content-Type") == "text/event-stream"
    assert stream.readline() == b": connected\n"
    # The watcher starts on a thread of its own and may miss an edit made before it watches: edit
    # again at each ping (one every 10 s) until a rebuild is announced, rather than sleep a while.
    layer = tiny.source / "models/layer.py"
    original, lines, edits = layer.read_text(), [b": ping\n"], 0
    while not any(b"models/layer.html" in x for x in lines):
        if lines[-1] == b": ping\n":
            assert edits < 10, f"no rebuild after {edits} edits: {lines}"
            edits += 1
            layer.write_text(original.replace("Keep the width", f"Store the width ({edits})"))
        lines.append(stream.readline())
    conn.close()
    assert b"event: rebuild\n" in lines
    assert any(line.startswith(b"data: ") and b'"models/layer.html"' in line for line in lines)
    assert "Store the width" in (tiny.out / "models/layer.html").read_text()


def test_pages_are_written_before_the_search_index_is_refreshed(
    server, tiny, tmp_path, monkeypatch
):
    wait_until(lambda: index_of(tiny))  # the first index, built in the background
    before = index_of(tiny)
    gate = tmp_path / "go"  # Pagefind waits for it (a minute at most): an order, not a time
    wait = f'for i in $(seq 1200); do [ -e "{gate}" ] && break; sleep 0.05; done'
    body = f'{wait}; exec "{pagefind_binary()}" "$@"'
    monkeypatch.setenv("SITE_BUILDER_PAGEFIND", str(fake_pagefind(tmp_path, body)))
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Hold the width"))
    server.rebuild()
    assert "Hold the width" in (tiny.out / "models/layer.html").read_text()
    assert index_of(tiny) == before  # Pagefind is still running: the old index serves meanwhile
    gate.touch()
    wait_until(lambda: index_of(tiny) != before)
    assert "pagefind.js" in index_of(tiny)
    assert "pagefind/" not in server.announcer.payload  # a new index reloads no page


def test_a_failed_index_keeps_the_previous_one_and_says_why(
    server, tiny, tmp_path, monkeypatch, capsys
):
    wait_until(lambda: index_of(tiny))
    before = index_of(tiny)
    broken = fake_pagefind(tmp_path, 'echo "Error: out of index space" >&2; exit 3')
    monkeypatch.setenv("SITE_BUILDER_PAGEFIND", str(broken))
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Hold the width"))
    server.rebuild()
    errors = []
    wait_until(lambda: errors.append(capsys.readouterr().err) or "index failed" in "".join(errors))
    assert "pagefind: search index failed: Error: out of index space\n" in "".join(errors)
    assert "Hold the width" in (tiny.out / "models/layer.html").read_text()
    assert index_of(tiny) == before


def get(server, path: str, accept_encoding: str | None) -> http.client.HTTPResponse:
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("GET", path, headers={"Accept-Encoding": accept_encoding or "identity"})
    return conn.getresponse()


@pytest.mark.parametrize("path", ["/models/layer.html", "/static/site.css", "/static/site.js"])
def test_text_is_gzipped_for_clients_that_accept_it(server, tiny, path):
    served = get(server, path, "gzip, deflate, br")
    body = served.read()
    assert served.getheader("Content-Encoding") == "gzip"
    assert served.getheader("Vary") == "Accept-Encoding"
    assert int(served.getheader("Content-Length")) == len(body)
    on_disk = (tiny.out / path.lstrip("/")).read_bytes()
    plain = gzip.decompress(body)
    assert plain.replace(RELOAD_SCRIPT, b"") == on_disk and len(body) < len(plain)
    identity = get(server, path, None)
    assert identity.getheader("Content-Encoding") is None
    assert identity.read() == plain


def test_fonts_and_refusals_are_sent_as_they_are(server, tiny):
    font = next((tiny.out / "static/katex/fonts").glob("*.woff2"))
    served = get(server, f"/static/katex/fonts/{font.name}", "gzip")
    assert served.getheader("Content-Encoding") is None and served.read() == font.read_bytes()
    refused = get(server, "/static/site.css", "gzip;q=0, *;q=1")
    assert refused.getheader("Content-Encoding") is None


@pytest.mark.parametrize(
    "header, expected",
    [
        ("gzip", True),
        ("GZIP;q=0.5", True),
        ("br, *", True),
        ("gzip;q=0", False),
        ("*;q=0", False),
        ("identity", False),
        ("", False),
        ("gzip;q=x", False),
        ("*;q=0, gzip", True),
    ],  # fmt: skip
)
def test_accept_encoding(header, expected):
    assert accepts_gzip(header) is expected


class EventStream:
    """The live-reload event stream, read event by event (bounded waits)."""

    def __init__(self, server):
        host, port = server.httpd.server_address[:2]
        self.conn = http.client.HTTPConnection(host, port, timeout=30)
        self.conn.request("GET", "/__site_builder/events")
        self.response = self.conn.getresponse()
        assert self.response.readline() == b": connected\n"

    def next(self, kind: str, seconds: float = 60) -> str:
        """The data of the next event of this kind."""
        deadline, current = time.monotonic() + seconds, None
        while time.monotonic() < deadline:
            line = self.response.readline().decode()
            if line.startswith("event: "):
                current = line[len("event: ") :].strip()
            elif line.startswith("data: ") and current == kind:
                return line[len("data: ") :].strip()
        raise AssertionError(f"no {kind!r} event in {seconds} s")

    def close(self):
        self.conn.close()


def served(server, path: str) -> str:
    status, body = raw_get(server, path)
    return body.decode() if status == 200 else ""


def test_the_watcher_survives_a_dangling_link_and_rebuilds_the_next_edit(server, tiny, capsys):
    """The issue's reproduction: a link to nowhere in docs, then removed, then an edit."""
    watching(server, tiny)
    link = tiny.docs / "pic.png"
    link.symlink_to("/nonexistent")
    errors = []
    wait_until(lambda: errors.append(capsys.readouterr().err) or "pic.png" in "".join(errors))
    link.unlink()
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Mind the width"))
    wait_until(lambda: "Mind the width" in served(server, "/models/layer.html"))
    errors.append(capsys.readouterr().err)
    assert "Traceback" not in "".join(errors)
    assert "pic.png: links outside the source tree (to /nonexistent)" in "".join(errors)


def test_any_rebuild_error_is_shown_and_the_next_edit_rebuilds(server, tiny, capsys, monkeypatch):
    """A bug in a stage (not a BuildError) and bad input alike: one line in the terminal, a
    `build-error` event for open pages (and for pages opened meanwhile), then a rebuild."""
    real_site_outputs, broken = build.site_outputs, []

    def site_outputs(*args):
        if broken:
            raise KeyError("boom")
        return real_site_outputs(*args)

    monkeypatch.setattr(build, "site_outputs", site_outputs)
    wait_until(lambda: index_of(tiny))  # the background index is in: no rebuild of its own
    stream = EventStream(server)
    assert stream.next("build-ok") == "{}"
    watching(server, tiny)
    capsys.readouterr()
    layer = tiny.source / "models/layer.py"
    broken.append(True)
    layer.write_text(layer.read_text().replace("Keep the width", "Mind the width"))
    message = json.loads(stream.next("build-error"))["message"]
    assert message == "internal error (KeyError: 'boom'); please report it"
    err = capsys.readouterr().err
    assert set(err.splitlines()) == {message}  # one line per failed rebuild
    late = EventStream(server)  # a page opened while the site is out of date is told too
    assert json.loads(late.next("build-error"))["message"] == message
    late.close()

    layer.write_text(layer.read_text().replace("def forward(self, x):", "def forward(self, x:"))
    syntax = r"\S*models/layer\.py:\d+: syntax error"
    for _ in range(3):  # an edit may come as two changes, each rebuilt
        message = json.loads(stream.next("build-error"))["message"]
        if re.match(syntax, message):
            break
    assert re.match(syntax, message), message

    broken.clear()
    layer.write_text(layer.read_text().replace("def forward(self, x:", "def forward(self, x):"))
    assert "models/layer.html" in json.loads(stream.next("rebuild"))
    stream.close()
    wait_until(lambda: "Mind the width" in served(server, "/models/layer.html"))
    assert server.announcer.error is None
    assert "Traceback" not in capsys.readouterr().err


def test_a_very_long_path_segment_gets_the_404_page(server):
    status, body = raw_get(server, "/" + "a" * 300 + "/index.html")
    assert status == 404 and b"Page not found" in body
    assert raw_get(server, "/models/layer.html")[0] == 200  # the server still answers


def test_two_hundred_concurrent_requests_are_all_served(server):
    host, port = server.httpd.server_address[:2]
    clients = 200
    ready = threading.Barrier(clients)

    def fetch(_) -> int | str:
        ready.wait(timeout=30)  # all at once
        try:
            conn = http.client.HTTPConnection(host, port, timeout=20)
            conn.request("GET", "/models/layer.html")
            response = conn.getresponse()
            response.read()
            conn.close()
            return response.status
        except OSError as error:
            return repr(error)

    with ThreadPoolExecutor(max_workers=clients) as pool:
        statuses = list(pool.map(fetch, range(clients)))
    assert statuses == [200] * clients, Counter(statuses)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LocalHost", "[::1]"])
def test_local_host_names_are_served_with_or_without_the_port(server, host):
    port = server.httpd.server_address[1]
    assert raw_get(server, "/models/layer.html", host)[0] == 200
    assert raw_get(server, "/models/layer.html", f"{host}:{port}")[0] == 200


@pytest.mark.parametrize(
    "host",
    ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example",
     "127.0.0.2", "evil.example:80@127.0.0.1", "127.0.0.1 evil.example", ""],
)  # fmt: skip
def test_other_host_names_are_refused_against_dns_rebinding(server, host):
    port = server.httpd.server_address[1]
    for path in ["/models/layer.html", "/__site_builder/events"]:
        status, body = raw_get(server, path, host.format(port=port))
        assert status == 403 and b"Host header must be 127.0.0.1, localhost or [::1]" in body


def head(server, target: str, method: str = "GET") -> tuple[int, str | None]:
    """The status and Location of a response (the request line sent as is)."""
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, target)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response.status, response.getheader("Location")


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_a_folder_without_its_slash_is_redirected_to_it(server, method):
    """As static hosts do, so that relative links on the folder's index page resolve from it."""
    assert head(server, "/models", method) == (301, "/models/")
    assert head(server, "/models?q=1", method) == (301, "/models/?q=1")
    assert head(server, "/models/deep/inner", method) == (404, None)  # no index page
    assert head(server, "/models/", method) == (200, None)
    assert head(server, "/models/layer.html", method) == (200, None)
    assert head(server, "/", method) == (200, None)
    assert head(server, "/nothing", method) == (404, None)
    assert head(server, "//models", method) == (301, "/models/")  # read as /models: this host
    assert head(server, "/models/..", method)[0] == 404


def test_a_removed_source_folder_keeps_the_site_until_it_is_back(server, tiny, capsys):
    """The site is not emptied; one line says why; the folder is rebuilt from when it returns,
    and so are later edits."""
    wait_until(lambda: index_of(tiny))  # the background index is in: the site is complete
    wait_until(server.watching.is_set)
    site, layer = snapshot(tiny.out), tiny.source / "models/layer.py"
    capsys.readouterr()
    kept = tiny.root / "pkg-kept"
    os.rename(tiny.source, kept)  # as `rm -r` or a branch switch would, for the watcher
    errors: list[str] = []
    wait_until(lambda: errors.append(capsys.readouterr().err) or "gone" in "".join(errors))
    gone = f"{tiny.source}: the folder is gone; serving the last good site until it is back\n"
    assert "".join(errors) == gone
    assert snapshot(tiny.out) == site and served(server, "/models/layer.html")
    assert server.announcer.error == gone.strip()  # open pages show it too

    edited = kept / "models/layer.py"
    edited.write_text(edited.read_text().replace("Keep the width", "Mind the width"))
    os.rename(kept, tiny.source)
    wait_until(lambda: "Mind the width" in served(server, "/models/layer.html"))
    wait_until(server.watching.is_set)
    layer.write_text(layer.read_text().replace("Mind the width", "Note the width"))
    wait_until(lambda: "Note the width" in served(server, "/models/layer.html"))
    assert server.announcer.error is None
    assert "Traceback" not in capsys.readouterr().err


@pytest.fixture
def unstarted(tiny):
    """A preview server whose threads are not started: only the test rebuilds."""
    preview = PreviewServer(tiny, port=0)
    yield preview
    preview.httpd.server_close()


def crash_in_page_stage(monkeypatch, error: Exception) -> None:
    def site_outputs(*args):
        raise error

    monkeypatch.setattr(build, "site_outputs", site_outputs)


def test_a_rebuild_bug_is_one_line_in_the_terminal_and_on_the_pages(unstarted, monkeypatch, capsys):
    monkeypatch.delenv("SITE_BUILDER_DEBUG", raising=False)
    crash_in_page_stage(monkeypatch, ValueError("two\nlines\t" + "x" * 400))
    assert unstarted.rebuild() is None
    cut = ("two\\nlines\\t" + "x" * 400)[:300]
    expected = f"internal error (ValueError: {cut}); please report it"
    assert capsys.readouterr().err == expected + "\n"
    assert unstarted.announcer.error == expected


def test_a_gone_folder_with_a_newline_in_its_name_is_one_line(tmp_path, capsys):
    write_tree(tmp_path, tiny_files())
    config = make_config(tmp_path, source=tmp_path / "new\nsource")
    server = PreviewServer(config, port=0)
    try:
        assert server.rebuild() is None
    finally:
        server.httpd.server_close()
    gone = f"{one_line(str(config.source))}: the folder is gone; serving the last good site"
    assert capsys.readouterr().err == f"{gone} until it is back\n"


PYPROJECT = '[tool.site_builder]\nsource = "pkg"\ndocs = "docs"\nout = "site"\n'


@pytest.mark.parametrize("debug", [[], ["--debug"]])
def test_serve_debug_prints_the_traceback_of_an_internal_error(
    tmp_path, monkeypatch, capsys, debug
):
    """`serve --debug`: the line, then the traceback; without it, the line alone."""
    write_tree(tmp_path, {**tiny_files(), "pyproject.toml": PYPROJECT})
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SITE_BUILDER_DEBUG", raising=False)
    crash_in_page_stage(monkeypatch, KeyError("boom"))
    start = PreviewServer.start

    def start_then_stop(server):  # the first build is done: stop at once
        start(server)
        server.stop_event.set()

    monkeypatch.setattr(PreviewServer, "start", start_then_stop)
    assert main(["serve", "--port", "0", *debug]) == 0
    line, *trace = capsys.readouterr().err.splitlines()
    assert line == "internal error (KeyError: 'boom'); please report it"
    if debug:
        assert trace[0] == "Traceback (most recent call last):" and trace[-1] == "KeyError: 'boom'"
        assert "in site_outputs" in "\n".join(trace)
    else:
        assert trace == []


def test_a_folder_deleted_file_by_file_during_a_rebuild_leaves_the_site(
    server, tiny, capsys, monkeypatch
):
    """`rm -r pkg` removes the files, then the folder: a rebuild started after the first
    deletions reads part of the tree, and the folder is gone before that build is done. That
    build writes nothing: the site keeps every page."""
    wait_until(lambda: index_of(tiny))
    watching(server, tiny)
    site = snapshot(tiny.out)
    real_checked, deleting = build.checked, threading.Event()

    def checked(*args, **kwargs):  # the rest of the tree goes while this build runs
        if deleting.is_set():
            deleting.clear()
            for path in sorted(tiny.source.rglob("*"), key=lambda p: -len(p.parts)):
                path.unlink() if path.is_file() else path.rmdir()
            tiny.source.rmdir()
        return real_checked(*args, **kwargs)

    monkeypatch.setattr(build, "checked", checked)
    capsys.readouterr()
    deleting.set()
    (tiny.source / "models/deep/inner/module.py").unlink()  # the first: the watcher rebuilds
    errors: list[str] = []
    wait_until(lambda: errors.append(capsys.readouterr().err) or "gone" in "".join(errors))
    assert not tiny.source.exists() and not deleting.is_set()
    assert snapshot(tiny.out) == site and served(server, "/models/deep/inner/module.html")
    assert server.announcer.error and "the folder is gone" in server.announcer.error
    assert "Traceback" not in "".join(errors)


def test_a_failed_first_build_shows_every_error_in_place_of_the_pages(unstarted, tiny, capsys):
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\n[a](nowhere.html) and [b](elsewhere.html)\n")
    assert unstarted.rebuild() is None  # nothing was built: no site at all
    assert not tiny.out.exists()
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all("broken link" in line for line in err), err
    assert unstarted.announcer.error == "\n".join(err)
    thread = threading.Thread(target=unstarted.httpd.serve_forever)
    thread.start()
    try:
        status, body = raw_get(unstarted, "/models/layer.html")
    finally:
        unstarted.httpd.shutdown()
        thread.join()
    page = body.decode()
    assert status == 503 and "The site could not be built" in page
    assert "broken link &#x27;nowhere.html&#x27;" in page and "elsewhere.html" in page
    assert RELOAD_SCRIPT.decode() in page  # reloads once a build succeeds
