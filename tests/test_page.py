import gettext

from conftest import make_config

from site_builder.model import Module, Section
from site_builder.page import Crumb, PageContext, PageRenderer, relative_href, sitemap_xml


def module():
    section = Section("Net.forward", "docstring", "Net", "Run it.", 5, [(6, "pass")])
    section.docs_html, section.code_html = "<p>Run it.</p>", "<pre class='code'>pass</pre>"
    page = Module(None, "net.py", "Net & Co", "A <small> net.", "Intro", 2, [section])
    page.intro_html = "<p>Intro</p>"
    return page


def test_relative_href():
    assert relative_href("a/b/x.html", "index.html") == "../../index.html"
    assert relative_href("zh/a/x.html", "a/x.html") == "../../a/x.html"
    assert relative_href("x.html", "static/site.css") == "static/site.css"


def test_page_has_meta_semantics_and_escaping(tmp_path):
    config = make_config(tmp_path, languages=("en", "zh"))
    ctx = PageContext("zh/a/net.html", "zh", module(), [Crumb(None, "../index.html"), Crumb("Net")])
    page = PageRenderer(config).module_page(ctx)
    assert page.startswith('<!doctype html>\n<html lang="zh">')
    assert "<title>Net &amp; Co · Tiny Papers</title>" in page
    assert '<meta name="description" content="A &lt;small&gt; net.">' in page
    assert '<meta property="og:title"' in page and '<meta name="twitter:card"' in page
    assert '<link rel="canonical" href="https://tiny.example.org/zh/a/net.html">' in page
    assert '<link rel="alternate" hreflang="en" href="https://tiny.example.org/a/net.html">' in page
    assert '<a href="../../a/net.html" hreflang="en" lang="en">English</a>' in page
    assert '<a class="skip-link" href="#content">' in page and '<main id="content"' in page
    assert '<section class="section section-docstring" id="Net.forward">' in page
    assert 'href="../../static/katex/katex.min.css"' in page
    assert "<nav" in page and "<footer" in page and 'class="notice"' not in page


def test_fallback_notice_links_the_contributing_guide(tmp_path):
    ctx = PageContext("a/net.html", "en", module(), [Crumb(None)], fallback=True,
                      contributing_href="../contributing.html")  # fmt: skip
    page = PageRenderer(make_config(tmp_path)).module_page(ctx)
    assert 'class="notice"' in page and 'href="../contributing.html">Help translate' in page


def test_ui_strings_come_from_the_translations(tmp_path):
    class Shout(gettext.NullTranslations):
        def gettext(self, message):
            return message.upper()

    renderer = PageRenderer(make_config(tmp_path), lambda lang: Shout())
    page = renderer.module_page(PageContext("x.html", "en", module(), [Crumb(None)]))
    assert "SKIP TO CONTENT" in page and ">HOME<" in page


def test_sitemap_lists_every_language_with_alternates(tmp_path):
    xml = sitemap_xml(make_config(tmp_path, languages=("en", "zh")), ["index.html", "a/x.html"])
    assert xml.count("<url>") == 4
    assert "<loc>https://tiny.example.org/zh/</loc>" in xml
    assert xml.count('hreflang="zh" href="https://tiny.example.org/zh/a/x.html"') == 2
