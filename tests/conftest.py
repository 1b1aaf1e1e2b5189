"""Shared helpers: small throwaway packages following the annotation conventions, and the
browser fixtures (this repository's site built once, served on 127.0.0.1, in headless Chromium)."""

import functools
import hashlib
import http.server
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from site_builder.config import SiteConfig
from site_builder.serve import PreviewServer

PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000100057ee2fd0000000049454e44ae426082"
)

ROOT_INIT = '''"""
---
title: Tiny Papers
summary: A tiny annotated package for tests.
---
Welcome. Read the [layer](models/layer.html#Layer) first.
"""
'''

MODELS_INIT = '''"""
---
title: Models
summary: Every model of the tiny package.
---
The models live here. ![diagram](diagram.png)
"""
'''

LAYER = '''"""
---
title: A Layer
summary: One layer, explained.
---
The layer computes $y = W x + b$. See [the notes](notes.html) and [home](../index.html).
"""

import math


class Layer:
    """
    A layer with a weight $W$ and a bias $b$.
    """

    def __init__(self, width: int):
        # Keep the width: $d$ features.
        self.width = width

    def forward(self, x):
        # Scale by $\\frac{1}{\\sqrt{d}}$.
        return x / math.sqrt(self.width)
'''

NOTES = """---
title: Notes
summary: Notes on the layer.
---
Back to the [layer](layer.html#Layer.forward-1).
"""

DEEP = '''"""
---
title: Deep Module
summary: Nested two folders down.
---
Up to [the layer](../../layer.html).
"""

X = 1
'''

GUIDE = """---
title: Guide
summary: How to read the pages.
---
Pages read side by side. ![figure](figure.svg)
"""

SVG = '<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect width="4"/></svg>'


def write_tree(root: Path, files: dict[str, str | bytes]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content) if content.startswith("\n") else content)


def tiny_files() -> dict[str, str | bytes]:
    return {
        "pkg/__init__.py": ROOT_INIT,
        "pkg/models/__init__.py": MODELS_INIT,
        "pkg/models/diagram.png": PNG_1X1,
        "pkg/models/layer.py": LAYER,
        "pkg/models/notes.md": NOTES,
        "pkg/models/deep/inner/module.py": DEEP,
        "docs/guide.md": GUIDE,
        "docs/figure.svg": SVG,
        "docs/results.json": '{"accuracy": 0.9}\n',
        "docs/locale/zh/LC_MESSAGES/ignored.json": "{}",
    }


def make_config(root: Path, **changes) -> SiteConfig:
    settings = dict(
        root=root,
        source=root / "pkg",
        out=root / "site",
        docs=root / "docs",
        title="Tiny Papers",
        base_url="https://tiny.example.org/",
        repo_url="https://example.org/repo/blob/main/",
        languages=("en",),
    )
    settings.update(changes)
    return SiteConfig(**settings)


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` (relative path -> content hash), to compare byte for byte."""
    return {
        p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def tiny(tmp_path: Path) -> SiteConfig:
    """A tiny package with nested folders, a markdown page, images and a docs tree."""
    write_tree(tmp_path, tiny_files())
    return make_config(tmp_path)


# ------------------------------------------------------------------------------ browser

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
PAGE = "conv_mixer/index.html"
# Layout positions are fractions of a pixel (font metrics decide them; 16px x 1.6 lines are
# 25.6px), while Chromium scrolls by whole pixels: a target scrolled to the top of the viewport
# sits up to half a pixel above or below it. Geometry checks allow this much.
PX = 1.0
# How long a browser step may wait (Playwright's default is 30 s): a bound, never a measurement.
# A loaded two-core machine took over 30 s to load a page and over 10 s to load Pagefind.
WAIT_MS = 120_000


def pytest_collection_modifyitems(items):
    """`make check` leaves out the `browser` mark, so every test that starts Chromium has it."""
    for item in items:
        uses = set(getattr(item, "fixturenames", ())) & {"browser", "chromium_path"}
        if uses and item.get_closest_marker("browser") is None:
            raise pytest.UsageError(f"{item.nodeid} uses {min(uses)}: mark it `browser`")


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    if not CHROMIUM.exists():
        if os.environ.get("SITE_BUILDER_SKIP_BROWSER") == "1":
            pytest.skip(f"{CHROMIUM} is missing and SITE_BUILDER_SKIP_BROWSER=1")
        pytest.fail(
            f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium), "
            "or set SITE_BUILDER_SKIP_BROWSER=1 to skip the browser tests"
        )
    return CHROMIUM


@pytest.fixture(scope="session")
def site_dir(tmp_path_factory) -> Path:
    """This repository's site, built by the CLI into a temporary folder."""
    out = tmp_path_factory.mktemp("browser") / "site"
    command = [sys.executable, "-m", "site_builder", "build", "--out", str(out)]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, f"site build failed:\n{result.stdout}\n{result.stderr}"
    assert (out / PAGE).is_file(), f"the build wrote no {PAGE}"
    return out


@pytest.fixture(scope="session")
def site_url(site_dir):
    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(QuietHandler, directory=str(site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageVisit:
    """One page load at a given width, with every request, failure and console error recorded."""

    def __init__(self, browser, site_url: str, width: int, page: str = PAGE, **options):
        self.origin, self.width = urlsplit(site_url).netloc, width
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.failed: list[str] = []
        self.errors: list[str] = []
        viewport = {"width": width, "height": 900}
        self.context = browser.new_context(viewport=viewport, **options)
        self.context.set_default_timeout(WAIT_MS)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url}: {r.failure}"))
        self.page.on("response", self._response)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"page error: {error}"))
        self.page.goto(site_url + page, wait_until="networkidle")
        self.page.evaluate("document.fonts.ready.then(() => true)")

    def _route(self, route):
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == self.origin:
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def _response(self, response):
        if response.status >= 400:
            self.failed.append(f"{response.url}: HTTP {response.status}")

    def _console(self, message):
        if message.type == "error":
            self.errors.append(f"console: {message.text} ({message.location})")

    def platform_fonts(self, selector: str) -> dict[str, int]:
        """The installed fonts Chromium draws the first `selector` match with: family -> glyphs."""
        cdp = self.context.new_cdp_session(self.page)
        try:
            root = cdp.send("DOM.getDocument")["root"]["nodeId"]
            cdp.send("CSS.enable")  # after DOM.getDocument, which enables the DOM agent
            node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
            fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
        finally:
            cdp.detach()
        found: dict[str, int] = {}
        for font in fonts:
            found[font["familyName"]] = found.get(font["familyName"], 0) + font["glyphCount"]
        return found

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)

    def close(self) -> None:
        self.context.close()


# site.js makes regions that scroll sideways focusable in idle time after the load; axe checks
# that they are, so it runs once they all are (a wait for a state, not for a time).
SCROLLERS_FOCUSABLE = """() => [...document.querySelectorAll(
    '.docs table, .docs pre, .section > .code > pre')].every(box =>
  box.scrollWidth <= box.clientWidth || box.tabIndex >= 0
  || box.querySelector('a, button, [tabindex]'))"""


@pytest.fixture
def server(tiny):
    preview = PreviewServer(tiny, port=0)
    preview.rebuild()
    preview.start()
    yield preview
    preview.stop()
