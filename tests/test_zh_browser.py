"""The Chinese ConvMixer page in headless Chromium: CJK text shown, math rendered, and the language
switcher going to the English page and back, keeping the reader's section."""

import re
from urllib.parse import urlsplit

import pytest
from conftest import PAGE, PX, PageVisit

pytestmark = pytest.mark.browser
ZH_PAGE = "zh/" + PAGE
SECTION = "ConvMixerLayer"


def test_chinese_text_is_visible_and_drawn_in_a_cjk_font(browser, site_url):
    visit = PageVisit(browser, site_url, 1280, page=ZH_PAGE)
    try:
        page = visit.page
        assert page.evaluate("document.documentElement.lang") == "zh"
        heading = page.locator("h1")
        assert heading.is_visible()
        assert re.search(r"[\u4e00-\u9fff]", heading.inner_text()), heading.inner_text()
        prose = page.locator("main").evaluate("m => m.textContent")  # off screen too
        assert prose.count("图像块") > 10 and "逐点卷积" in prose
        assert "补丁" not in prose and "混音器" not in prose
        # The heading's Chinese is drawn with the CJK font `make` installs (fonts-wqy-microhei),
        # as Chromium reports it, not with tofu boxes from a font that lacks the glyphs.
        fonts = visit.platform_fonts("h1")
        cjk = sum(1 for c in heading.inner_text() if "\u4e00" <= c <= "\u9fff")
        assert fonts.get("WenQuanYi Micro Hei", 0) >= cjk, f"{cjk} CJK glyphs, drawn in {fonts}"
        assert not visit.blocked and not visit.failed and not visit.errors
        visit.screenshot("zh-conv_mixer-1280.png")
    finally:
        visit.close()


@pytest.mark.parametrize("lang", ["zh", "ja"])
def test_math_is_rendered_on_the_translated_page(browser, site_url, lang):
    visit = PageVisit(browser, site_url, 1280, page=f"{lang}/{PAGE}")
    try:
        page = visit.page
        assert page.locator(".katex-html").count() > 100
        assert page.locator("math").count() == page.locator(".katex").count()
        # The commentary's text, sections off screen included: no code, no MathML.
        prose = page.locator("main .docs").evaluate_all(
            """docs => docs.map(d => { const copy = d.cloneNode(true);
                copy.querySelectorAll("code, pre, .katex-mathml").forEach(e => e.remove());
                return copy.textContent; })"""
        )
        assert len(prose) > 10 and not any("$" in text for text in prose), "raw TeX left"
        # Sections off screen are laid out when they come near (content-visibility): bring the
        # first with display math in, and wait for the formula's height.
        page.locator("section:has(.katex-display)").first.scroll_into_view_if_needed()
        display = page.locator(".katex-display").first
        tall = "d => d.getBoundingClientRect().height > 10"
        page.wait_for_function(tall, arg=display.element_handle())
        assert display.is_visible()
    finally:
        visit.close()


def test_switcher_goes_to_english_and_back_on_the_same_section(browser, site_url):
    visit = PageVisit(browser, site_url, 1280, page=f"{ZH_PAGE}#{SECTION}")
    try:
        page = visit.page
        page.locator('nav.languages a[hreflang="en"]').click()
        page.wait_for_load_state()
        url = urlsplit(page.url)
        assert url.path == "/" + PAGE and url.fragment == SECTION, page.url
        assert page.evaluate("document.documentElement.lang") == "en"
        assert "Patches Are All You Need" in page.locator("h1").inner_text()

        page.locator('nav.languages a[hreflang="zh"]').click()
        page.wait_for_load_state()
        url = urlsplit(page.url)
        assert url.path == "/" + ZH_PAGE and url.fragment == SECTION, page.url
        assert page.evaluate("document.documentElement.lang") == "zh"
        top = page.locator(f'[id="{SECTION}"]').evaluate("e => e.getBoundingClientRect().top")
        assert -PX <= top < 300, f"the section is not scrolled into view after switching ({top}px)"
        assert not visit.blocked and not visit.failed and not visit.errors
    finally:
        visit.close()
