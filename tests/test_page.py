import gettext
import re
import sys
from pathlib import Path

from babel import Locale
from conftest import REPO, make_config
from pygments.styles import get_style_by_name
from pygments.token import STANDARD_TYPES, Token

from site_builder.highlight import emitted_classes, highlight_block, pygments_css
from site_builder.model import Module, RenderedModule, Section
from site_builder.page import (
    Crumb,
    PageContext,
    PageRenderer,
    relative_href,
    sitemap_xml,
    stylesheet,
)


def module() -> RenderedModule:
    section = Section("Net.forward", "docstring", "Net", "Run it.", 5, [(6, "pass")])
    page = Module(None, "net.py", "Net & Co", "A <small> net.", "Intro", 2, [section])
    docs, code = {section.id: "<p>Run it.</p>"}, {section.id: "<pre class='code'>pass</pre>"}
    return RenderedModule(page, "<p>Intro</p>", docs, code)


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


def test_head_blocks_first_paint_on_one_stylesheet_only(tmp_path):
    page = PageRenderer(make_config(tmp_path)).module_page(
        PageContext("a/net.html", "en", module(), [Crumb(None)])
    )
    head = page[: page.index("</head>")]
    assert re.findall(r'<link rel="stylesheet" href="([^"]+)">', head) == [
        "../static/site.css",  # the only blocking one; KaTeX's is preloaded, and in <noscript>
        "../static/katex/katex.min.css",
    ]
    assert (
        '<noscript><link rel="stylesheet" href="../static/katex/katex.min.css"></noscript>' in head
    )
    assert 'rel="preload" href="../static/katex/katex.min.css" as="style" onload=' in head
    scripts = re.findall(r"<script([^>]*)>", head)
    assert scripts == ["", ' src="../static/site.js" defer'], scripts  # inline theme, then deferred
    assert "twitter:title" not in head and "twitter:description" not in head  # og: tags serve
    assert head.count('content="A &lt;small&gt; net."') == 2  # description and og:description


def test_stylesheet_holds_the_site_rules_and_both_code_themes():
    css = stylesheet("default", "github-dark")
    assert "/*" not in css.split("\n", 1)[0] and ".section>.docs{" in css
    assert len(css.encode()) < 15_500  # render-blocking: a budget, raised only for features
    # Classes alike share one rule (their colours: the next test).
    assert ":root .code :is(." in css and "[data-theme=dark] .code :is(." in css
    dark_rules = css.count("[data-theme=dark] .code")
    assert dark_rules > 5 and css.count(":root:not([data-theme=light]) .code") == dark_rules


def test_code_colours_match_pygments_for_every_emitted_class():
    """Each class our highlighting emits gets exactly the Pygments style of its token type, in
    both themes; a property one theme sets is reset by the other."""
    classes = emitted_classes()
    shown = re.findall(r'class="(\w+)"', highlight_block(Path(__file__).read_text(), "python"))
    assert set(shown) - {"code"} <= classes and len(set(shown)) > 10  # real code's classes
    css = pygments_css("default", "monokai")
    for scope, style_name in ((":root ", "default"), ("[data-theme=dark] ", "monokai")):
        style = get_style_by_name(style_name)
        rules = dict(re.findall(rf"^{re.escape(scope)}\.code (\S+)\{{([^}}]*)\}}", css, re.M))
        for ttype, short in STANDARD_TYPES.items():
            if short not in classes:
                assert not any(re.search(rf"\.{short}(?=[,)]|$)", s) for s in rules), short
                continue
            selector = next((s for s in rules if re.search(rf"\.{short}(?=[,)]|$)", s)), None)
            got = dict(d.split(":", 1) for d in rules[selector].split(";")) if selector else {}
            want = style.style_for_token(ttype)
            # A colour that is the theme's text colour is plain text: it comes from .code.
            if want["color"] and want["color"] != style.style_for_token(Token)["color"]:
                assert got.get("color", "").lower() == f"#{want['color']}".lower(), (scope, short)
            else:
                assert got.get("color", "inherit") == "inherit", (scope, short)
            assert (got.get("font-weight") == "700") == want["bold"], (scope, short)
            assert (got.get("font-style") == "italic") == want["italic"], (scope, short)


def test_page_weight_splits_the_html(tmp_path):
    sys.path.insert(0, str(REPO / "benchmarks"))
    from page_weight import page_weight

    katex = '<span class="katex"><span class="katex-mathml">x²</span><span>x</span></span>'
    code = '<pre class="code"><code><span class="n">a</span></pre>'
    inline = '<code class="code">b</code>'
    html = (
        '<!doctype html><html><head><link rel="stylesheet" href="s.css">'
        '<link rel="preload" href="k.css" as="style"><noscript><link rel="stylesheet" '
        'href="k.css"></noscript><script src="j.js" defer></script></head>'
        f"<body><p>é {katex} and\n{inline}</p>\n{code}</body></html>"
    )
    (tmp_path / "p.html").write_text(html, encoding="utf-8")
    for name, size in (("s.css", 10), ("k.css", 20), ("j.js", 5)):
        (tmp_path / name).write_bytes(b"x" * size)
    weight = page_weight(tmp_path, "p.html")
    assert weight.html == len(html.encode())
    assert weight.katex == len(katex.encode())
    assert weight.code == len(code) + len(inline)
    assert weight.assets == {"s.css": 10, "k.css": 20, "j.js": 5}
    assert weight.total == weight.html + 35 and weight.without_katex == weight.total - weight.katex


def test_three_languages_each_named_in_its_own_language(tmp_path):
    config = make_config(tmp_path, languages=("en", "zh", "ja", "si"))
    ctx = PageContext("ja/a/net.html", "ja", module(), [Crumb(None, "../index.html")])
    page = PageRenderer(config).module_page(ctx)
    assert page.startswith('<!doctype html>\n<html lang="ja">')
    assert '<link rel="canonical" href="https://tiny.example.org/ja/a/net.html">' in page
    for lang, prefix in (("en", ""), ("zh", "zh/"), ("ja", "ja/"), ("si", "si/")):
        url = f"https://tiny.example.org/{prefix}a/net.html"
        assert f'<link rel="alternate" hreflang="{lang}" href="{url}">' in page
    own = {lang: Locale.parse(lang).get_display_name() for lang in ("zh", "si", "ja")}  # CLDR's
    assert f'<a href="../../zh/a/net.html" hreflang="zh" lang="zh">{own["zh"]}</a>' in page
    assert f'<a href="../../si/a/net.html" hreflang="si" lang="si">{own["si"]}</a>' in page
    assert f'<span aria-current="true" lang="ja">{own["ja"]}</span>' in page
    xml = sitemap_xml(config, ["a/x.html"])
    assert xml.count("<url>") == 4 and xml.count('hreflang="ja"') == 4


def test_the_page_heading_is_the_introductions_own_or_the_escaped_title(tmp_path):
    config = make_config(tmp_path)
    page = module()
    plain = PageRenderer(config).module_page(PageContext("a/net.html", "en", page, [Crumb(None)]))
    assert "<h1>Net &amp; Co</h1>" in plain
    headed = RenderedModule(page.module, page.intro_html, heading_html="Our <em>Net</em>")
    context = PageContext("a/net.html", "en", headed, [Crumb(None)])
    assert "<h1>Our <em>Net</em></h1>" in PageRenderer(config).module_page(context)
