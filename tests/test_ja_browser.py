"""The Japanese ConvMixer page in headless Chromium: Japanese text drawn with a Japanese font,
math rendered, the language switcher going through every published language on one section, and
no serious accessibility problem; and every page of the built site published in every language
that is not a draft (`progress.with_drafts`), which the switcher, hreflang and sitemap leave out."""

import re
from urllib.parse import urlsplit

import pytest
from babel import Locale
from conftest import PAGE, REPO, SCROLLERS_FOCUSABLE, PageVisit
from test_a11y import AXE, RUN_AXE

from site_builder import progress
from site_builder.config import load_config
from site_builder.i18n import load_glossary
from site_builder.paths import language_prefix

pytestmark = pytest.mark.browser
JA_PAGE = "ja/" + PAGE
SECTION = "ConvMixerLayer"
BASE_URL = "https://labml-like.example.org/"
# Fonts that draw kanji in their Japanese forms, in site.css's order for :lang(ja).
JAPANESE_FONTS = {"Hiragino Sans", "Yu Gothic UI", "Meiryo", "Noto Sans CJK JP", "IPAPGothic"}
KANA = re.compile(r"[\u3040-\u30ff]")
CONFIG = progress.with_drafts(
    load_config(start=REPO), progress.site_progress(load_config(start=REPO), [])
)
PUBLISHED = CONFIG.published_languages


def platform_fonts(page, selector: str) -> dict[str, int]:
    """The fonts Chromium drew the text of `selector`'s first match with: family -> glyphs."""
    cdp = page.context.new_cdp_session(page)
    try:
        cdp.send("DOM.enable")
        cdp.send("CSS.enable")
        root = cdp.send("DOM.getDocument")["root"]["nodeId"]
        node = cdp.send("DOM.querySelector", {"nodeId": root, "selector": selector})["nodeId"]
        fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
    finally:
        cdp.detach()
    return {font["familyName"]: font["glyphCount"] for font in fonts}


def test_japanese_text_is_visible_and_drawn_in_a_japanese_font(browser, site_url):
    visit = PageVisit(browser, site_url, 1280, page=JA_PAGE)
    try:
        page = visit.page
        assert page.evaluate("document.documentElement.lang") == "ja"
        heading = page.locator("h1")
        assert heading.is_visible() and KANA.search(heading.inner_text()), heading.inner_text()
        # textContent: sections off screen are not rendered (content-visibility), so innerText
        # would leave them out.
        prose = page.locator("main").evaluate("m => m.textContent")
        assert prose.count("パッチ") > 30 and prose.count("チャネル") > 10
        assert "深さ方向畳み込み" in prose and "点単位畳み込み" in prose and "残差接続" in prose
        glossary = load_glossary(REPO / "docs_src/locale/ja/glossary.toml")
        assert {"コンバージョンミキサー", "MLPミキサー", "チャンネル"} <= set(glossary.forbidden)
        assert [word for word in glossary.forbidden if word in prose] == []
        # The glyphs come from a Japanese font that is installed, not from a Chinese one.
        page.locator(f'section[id="{SECTION}"]').scroll_into_view_if_needed()  # rendered
        for selector in ("h1", f'section[id="{SECTION}"] .docs p'):
            fonts = platform_fonts(page, selector)
            japanese = sum(n for family, n in fonts.items() if family in JAPANESE_FONTS)
            assert japanese >= 10 and "WenQuanYi Micro Hei" not in fonts, (selector, fonts)
        assert not visit.blocked and not visit.failed and not visit.errors
        visit.screenshot("ja-conv_mixer-1280.png")
    finally:
        visit.close()


def test_the_chinese_page_keeps_its_chinese_font(browser, site_url):
    visit = PageVisit(browser, site_url, 1280, page="zh/" + PAGE)
    try:
        fonts = platform_fonts(visit.page, "h1")
        assert fonts.get("WenQuanYi Micro Hei", 0) >= 5 and not set(fonts) & JAPANESE_FONTS, fonts
    finally:
        visit.close()


# Math on the ja page: test_zh_browser.test_math_is_rendered_on_the_translated_page.


def test_switcher_goes_through_every_published_language_on_the_same_section(browser, site_url):
    assert {"en", "zh", "ja"} <= set(PUBLISHED)
    visit = PageVisit(browser, site_url, 1280, page=f"{PAGE}#{SECTION}")
    try:
        page = visit.page
        names = page.locator("nav.languages li").all_inner_texts()
        own = [Locale.parse(lang.replace("-", "_")).get_display_name() for lang in PUBLISHED]
        assert sorted(names) == sorted(own), names  # CLDR's names, drafts left out
        for lang in [*PUBLISHED[1:], PUBLISHED[0]]:
            path = language_prefix(CONFIG, lang) + PAGE
            page.locator(f'nav.languages a[hreflang="{lang}"]').click()
            page.wait_for_load_state()
            url = urlsplit(page.url)
            assert url.path == "/" + path and url.fragment == SECTION, page.url
            assert page.evaluate("document.documentElement.lang") == lang
            current = page.locator('nav.languages [aria-current="true"]')
            assert current.get_attribute("lang") == lang
            section = page.locator(f'[id="{SECTION}"]')
            top = section.evaluate("e => e.getBoundingClientRect().top")
            assert -5 <= top < 300, f"{lang}: the section is not scrolled into view ({top}px)"
        assert not visit.blocked and not visit.failed and not visit.errors
    finally:
        visit.close()


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_accessibility_violation_on_the_japanese_page(browser, site_url, theme):
    context = browser.new_context(color_scheme=theme, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        page.goto(site_url + JA_PAGE, wait_until="load")
        page.wait_for_function(SCROLLERS_FOCUSABLE)
        page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
        assert page.evaluate(RUN_AXE) == []
    finally:
        context.close()


def test_every_page_is_published_in_every_language_but_the_drafts(site_dir):
    others = set(CONFIG.languages[1:])
    english = sorted(
        p.relative_to(site_dir).as_posix()
        for p in site_dir.rglob("*.html")
        if p.relative_to(site_dir).parts[0] not in others and p.name != "404.html"
    )
    assert len(english) >= 9 and PAGE in english
    sitemap = (site_dir / "sitemap.xml").read_text(encoding="utf-8")
    prefixes = {lang: language_prefix(CONFIG, lang) for lang in CONFIG.languages}
    for rel in (page for page in english if page != "translations.html"):
        public = rel.removesuffix("index.html")
        for lang in CONFIG.languages:
            prefix = prefixes[lang]
            html = (site_dir / prefix / rel).read_text(encoding="utf-8")
            assert f'<html lang="{lang}">' in html, prefix + rel
            canonical = f'<link rel="canonical" href="{BASE_URL}{prefix}{public}">'
            assert canonical in html, prefix + rel
            if lang in CONFIG.drafts:
                assert '<meta name="robots" content="noindex">' in html, prefix + rel
                assert f"<loc>{BASE_URL}{prefix}{public}</loc>" not in sitemap, prefix + rel
                continue
            for other in PUBLISHED:
                alternate = f'hreflang="{other}" href="{BASE_URL}{prefixes[other]}{public}"'
                assert f'<link rel="alternate" {alternate}>' in html, (prefix + rel, other)
                assert f'<xhtml:link rel="alternate" {alternate}/>' in sitemap, (rel, other)
            assert f"<loc>{BASE_URL}{prefix}{public}</loc>" in sitemap, prefix + rel
