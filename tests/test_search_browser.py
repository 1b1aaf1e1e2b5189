"""Search in headless Chromium, through the real built index: a result links to the section that
matches and lands on it, excerpts keep their math readable, a ja search for 残差 ranks the model
page first, and search and every link work on a site served under a subpath (a GitHub Pages
project site)."""

import functools
import http.server
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from conftest import PAGE, REPO, PageVisit, make_config, tiny_files, write_tree

from site_builder.build import build_site

pytestmark = pytest.mark.browser


def search(visit: PageVisit, query: str) -> list[dict]:
    """Type `query` into the search dialog; the results shown: href, link text and excerpt."""
    visit.page.keyboard.press("/")
    visit.page.locator("dialog.search input").fill(query)
    visit.page.locator(".search-results a").first.wait_for()
    return visit.page.locator(".search-results li").evaluate_all(
        """items => items.map(li => ({href: li.querySelector('a').href,
            title: li.querySelector('a').innerText, excerpt: li.querySelector('p').innerText}))"""
    )


class TextOf(HTMLParser):
    def __init__(self, html: str):
        super().__init__()
        self.parts: list[str] = []
        self.feed(html)

    def handle_data(self, data):
        self.parts.append(data)


def section_text(site_dir, href: str) -> str:
    """The text of the section a result links to, read from the built page."""
    path, fragment = urlsplit(href).path.lstrip("/"), urlsplit(href).fragment
    html = (site_dir / path).read_text(encoding="utf-8")
    start = html.rfind("<section", 0, html.index(f' id="{fragment}"'))
    end = html.find("<section", start + 1)
    return "".join(TextOf(html[start : end if end > 0 else None]).parts)


def test_ja_residual_finds_the_model_page_first_at_its_section(browser, site_url, site_dir):
    """残差 is two words to the segmenter (残, 差); the CIFAR-10 page has each of them apart and
    ranked first before pages holding the word as typed were put first."""
    visit = PageVisit(browser, site_url, 1280, page="ja/" + PAGE)
    try:
        results = search(visit, "残差")
        first = urlsplit(results[0]["href"])
        assert first.path == "/ja/" + PAGE, [r["href"] for r in results]
        assert first.fragment and "残差" in section_text(site_dir, results[0]["href"])
        assert "残差" in results[0]["excerpt"]
        assert not visit.errors and not visit.failed
    finally:
        visit.close()


@pytest.mark.parametrize("width", [400, 1280, 1920])
def test_a_result_names_its_section_shows_its_math_and_lands_on_it(
    browser, site_url, site_dir, width
):
    visit = PageVisit(browser, site_url, width, page="index.html")
    try:
        results = search(visit, "h-vector is multiplied")
        first = results[0]
        assert urlsplit(first["href"]).path == "/" + PAGE, results
        section = urlsplit(first["href"]).fragment
        assert "is multiplied by the same" in section_text(site_dir, first["href"])
        assert "›" in first["title"]  # page › section
        # The formula $h \times h$ reads as text, where KaTeX's HTML left "the -vector".
        assert "h-vector" in first["excerpt"] and "h × h" in first["excerpt"], first
        visit.page.locator(".search-results a").first.click()
        visit.page.wait_for_url(f"**/{PAGE}#{section}")
        top = visit.page.evaluate(
            "id => document.getElementById(id).getBoundingClientRect().top", section
        )
        height = visit.page.viewport_size["height"]
        assert -2 <= top < height / 3, (section, top)  # the section is at the top of the screen
        assert not visit.errors and not visit.failed
    finally:
        visit.close()


class SubpathServer:
    """A built site served under `mount` (as GitHub Pages serves a project site), and 404 for
    anything outside it."""

    def __init__(self, folder, mount: str):
        class Handler(http.server.SimpleHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def translate_path(self, path):
                inside = urlsplit(path).path.startswith(mount)
                return super().translate_path("/" + path[len(mount) :] if inside else "/\0")

        handler = functools.partial(Handler, directory=str(folder))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{mount}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


LINKS = """() => [...document.querySelectorAll('a[href], link[href], script[src], img[src]')]
  .map(e => e.href || e.src)"""


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("base_url", ["https://user.example.io/proj/", ""], ids=["base", "none"])
def test_search_and_every_link_work_under_a_subpath(browser, tmp_path, base_url):
    write_tree(tmp_path, tiny_files())
    config = make_config(tmp_path, base_url=base_url, languages=("en", "zh"))
    build_site(config)
    served = SubpathServer(config.out, "/proj/")
    try:
        pages = sorted(
            p.relative_to(config.out).as_posix()
            for p in config.out.rglob("*.html")
            if p.name != "404.html"
        )
        assert "models/layer.html" in pages and "zh/models/layer.html" in pages
        broken = []
        for page in pages:
            visit = PageVisit(browser, served.url, 1280, page=page)
            try:
                links = {
                    urlsplit(href)._replace(fragment="").geturl()
                    for href in visit.page.evaluate(LINKS)
                }
                local = sorted(link for link in links if link.startswith(served.url[:-5]))
                broken += [f"{page} -> {link}" for link in local if status(link) != 200]
                assert not visit.failed, visit.failed
            finally:
                visit.close()
        assert broken == []

        visit = PageVisit(browser, served.url, 1280, page="index.html")
        try:
            results = search(visit, "width")
            href = results[0]["href"]
            assert href.startswith(served.url + "models/layer.html#"), results
            visit.page.locator(".search-results a").first.click()
            visit.page.wait_for_url(href)
            assert visit.page.locator("h1").inner_text() == "A Layer"
            assert not visit.failed and not visit.errors
        finally:
            visit.close()
    finally:
        served.close()


def test_zh_and_ja_search_with_pypis_pagefind(browser, tmp_path):
    """An author without Node gets Pagefind from PyPI (a dependency of site-builder): Chinese
    and Japanese search must work with it too, not only with npm's Pagefind that `make` uses."""
    pagefind_bin_extended = pytest.importorskip("pagefind_bin_extended")
    out = tmp_path / "site"
    env = os.environ | {"SITE_BUILDER_PAGEFIND": pagefind_bin_extended.get_executable()}
    command = [sys.executable, "-m", "site_builder", "build", "--out", str(out)]
    built = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout + built.stderr
    served = SubpathServer(out, "/")
    try:
        for lang, query in (("ja", "残差"), ("zh", "逐点卷积")):
            visit = PageVisit(browser, served.url, 1280, page=f"{lang}/{PAGE}")
            try:
                results = search(visit, query)
                first = urlsplit(results[0]["href"])
                assert first.path == f"/{lang}/{PAGE}", [r["href"] for r in results]
                assert query in section_text(out, results[0]["href"])
                assert not visit.errors and not visit.failed
            finally:
                visit.close()
    finally:
        served.close()
