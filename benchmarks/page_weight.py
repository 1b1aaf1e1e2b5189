"""Page weight of the ConvMixer page, en, zh and ja: 40 KB gzipped (issue 11), 150 KB raw (issue 5).

    python benchmarks/page_weight.py [--site site] [--pages conv_mixer/index.html,...]
                                     [--no-browser]

Builds nothing: measure what `site-builder build` wrote. For each page it prints the bytes
(uncompressed, 1 KB = 1,000 bytes) of its HTML, split into KaTeX's math markup (HTML and MathML),
highlighted code (`pre.code` blocks and inline `code.code`) and the rest, then each CSS and JS file
the page references, the total against the target (PASS/MISS), the total without the math
markup, and the total as it travels (each file gzipped, as `site-builder serve` sends it) against
its own target. Then it opens each page in headless Chromium (Debian's /usr/bin/chromium, through
Playwright), scrolls to the end so every formula is rendered, and lists the font files the browser
fetched; fonts are outside the target. `tests/test_reader.py` asserts on the same figures.
"""

import argparse
import functools
import gzip
import http.server
import sys
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
PAGES = ("conv_mixer/index.html", "zh/conv_mixer/index.html", "ja/conv_mixer/index.html")
TARGET = 150_000  # bytes of HTML + CSS + JS, fonts excluded (uncompressed: a regression guard)
GZIP_TARGET = 40_000  # the same bytes as they travel, gzipped as `serve` and static hosts send them
CHROMIUM = "/usr/bin/chromium"
FONT_SUFFIXES = (".woff2", ".woff", ".ttf", ".otf")


@dataclass
class Weight:
    """A page's bytes: its HTML by part, and each CSS and JS file it references (site path)."""

    page: str
    html: int
    katex: int
    code: int
    assets: dict[str, int] = field(default_factory=dict)
    gzipped: int = (
        0  # HTML + CSS + JS, each file gzipped (level 6, as `site-builder serve` sends it)
    )

    @property
    def rest(self) -> int:
        return self.html - self.katex - self.code

    @property
    def total(self) -> int:
        return self.html + sum(self.assets.values())

    @property
    def without_katex(self) -> int:
        return self.total - self.katex


class _Parts(HTMLParser):
    """Character ranges of the outermost KaTeX elements and code elements, and the CSS and JS
    a page loads (stylesheets, preloaded styles, scripts; a <noscript> copy counts once)."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0]
        for i, char in enumerate(text):
            if char == "\n":
                self.line_starts.append(i + 1)
        self.ranges: dict[str, list[tuple[int, int]]] = {"katex": [], "code": []}
        self.assets: list[str] = []
        self.open: tuple[str, str, int, int] | None = None  # (part, tag, depth, start)

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        rel = (a.get("rel") or "").split()
        if tag == "link" and ("stylesheet" in rel or "preload" in rel and a.get("as") == "style"):
            self.assets.append(a["href"])
        elif tag == "script" and a.get("src"):
            self.assets.append(a["src"])
        if self.open:
            part, open_tag, depth, start = self.open
            if tag == open_tag:
                self.open = (part, open_tag, depth + 1, start)
            return
        classes = (a.get("class") or "").split()
        if tag == "span" and {"katex", "katex-display"} & set(classes):
            self.open = ("katex", tag, 1, self._offset())
        elif tag in ("pre", "code") and "code" in classes:
            self.open = ("code", tag, 1, self._offset())

    def handle_endtag(self, tag):
        if not self.open or tag != self.open[1]:
            return
        part, open_tag, depth, start = self.open
        if depth > 1:
            self.open = (part, open_tag, depth - 1, start)
            return
        end = self.text.index(">", self._offset()) + 1
        self.ranges[part].append((start, end))
        self.open = None


def page_weight(site: Path, page: str) -> Weight:
    """The weight of one built page (`page` is its site path)."""
    path = site / page
    text = path.read_text(encoding="utf-8")
    parts = _Parts(text)
    parts.feed(text)
    parts.close()

    def size(part: str) -> int:
        return sum(len(text[start:end].encode()) for start, end in parts.ranges[part])

    weight = Weight(page, len(text.encode()), size("katex"), size("code"))
    weight.gzipped = len(gzip.compress(text.encode(), compresslevel=6))
    for href in dict.fromkeys(parts.assets):
        asset = (path.parent / urlsplit(href).path).resolve()
        rel = asset.relative_to(site.resolve()).as_posix()
        weight.assets[rel] = asset.stat().st_size
        weight.gzipped += len(gzip.compress(asset.read_bytes(), compresslevel=6))
    return weight


def serve(folder: Path) -> tuple[http.server.ThreadingHTTPServer, str]:
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def scroll_through(page) -> None:
    """Scroll to the end a screen at a time, so every section is rendered, then wait for fonts."""
    page.evaluate("""async () => {
      for (let y = 0; y < document.documentElement.scrollHeight; y += innerHeight) {
        scrollTo(0, y);
        await new Promise(requestAnimationFrame);
      }
      await document.fonts.ready;
    }""")
    page.wait_for_load_state("networkidle")


def fonts_loaded(site: Path, pages, chromium: str = CHROMIUM) -> dict[str, dict[str, int]]:
    """For each page: the font files (site path -> bytes) headless Chromium fetched while the
    page loaded and was scrolled through to the end."""
    from playwright.sync_api import sync_playwright

    server, base = serve(site)
    found: dict[str, dict[str, int]] = {}
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            for page_path in pages:
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                page = context.new_page()
                fonts: dict[str, int] = {}

                def record(response, fonts=fonts):
                    path = urlsplit(response.url).path
                    if path.endswith(FONT_SUFFIXES) and response.ok:
                        fonts[path.lstrip("/")] = len(response.body())

                page.on("response", record)
                page.goto(base + page_path, wait_until="networkidle")
                scroll_through(page)
                found[page_path] = dict(sorted(fonts.items()))
                context.close()
            browser.close()
    finally:
        server.shutdown()
        server.server_close()
    return found


def kb(size: int) -> str:
    return f"{size / 1000:.1f} KB"


def report(weight: Weight, fonts: dict[str, int] | None) -> list[str]:
    status = "PASS" if weight.total <= TARGET else "MISS"
    lines = [
        f"{weight.page}",
        f"  HTML                        {kb(weight.html):>10}",
        f"    KaTeX math markup         {kb(weight.katex):>10}",
        f"    code                      {kb(weight.code):>10}",
        f"    rest                      {kb(weight.rest):>10}",
        *(f"  {rel:<28}{kb(size):>10}" for rel, size in weight.assets.items()),
        f"  total                       {kb(weight.total):>10}  target {kb(TARGET)}: {status}",
        f"  without KaTeX markup        {kb(weight.without_katex):>10}  "
        f"({'within' if weight.without_katex <= TARGET else 'over'} the target)",
        f"  gzipped, as it travels      {kb(weight.gzipped):>10}  target {kb(GZIP_TARGET)}: "
        + ("PASS" if weight.gzipped <= GZIP_TARGET else "MISS"),
    ]
    if fonts is not None:
        lines.append(f"  fonts loaded ({len(fonts)}, not counted)  {kb(sum(fonts.values()))}")
        lines += [f"    {rel.rsplit('/', 1)[-1]:<30}{kb(size):>10}" for rel, size in fonts.items()]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=REPO / "site")
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--no-browser", action="store_true", help="skip the font measurement")
    args = parser.parse_args()
    pages = args.pages.split(",")
    missing = [page for page in pages if not (args.site / page).is_file()]
    if missing:
        sys.exit(f"{args.site}: no {', '.join(missing)}; run `site-builder build` first")
    fonts = None if args.no_browser else fonts_loaded(args.site, pages)
    weights = [page_weight(args.site, page) for page in pages]
    for weight in weights:
        print("\n".join(report(weight, fonts[weight.page] if fonts is not None else None)))
    return 0 if all(w.total <= TARGET and w.gzipped <= GZIP_TARGET for w in weights) else 1


if __name__ == "__main__":
    sys.exit(main())
