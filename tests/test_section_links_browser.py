"""Small things of the reader's page in headless Chromium, at phone, laptop and wide widths: the
"Report a problem with this section" mark (one small plain link per section, clear of the
note's text), code blocks in notes with their padding, and Chinese and Japanese curly quotes
drawn by a CJK font."""

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from conftest import PAGE, REPO, PageVisit
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

# The text lines of a note's first blocks, and its report mark, as boxes (left, top, right, bottom).
GEOMETRY = """section => {
  const box = r => [r.left, r.top, r.right, r.bottom];
  const docs = section.querySelector('.docs');
  const lines = [...docs.querySelectorAll(':scope > :not(.permalink):not(.report)')].slice(0, 3)
    .flatMap(block => { const range = document.createRange(); range.selectNodeContents(block);
                        return [...range.getClientRects()].map(box); });
  return {docs: box(docs.getBoundingClientRect()), lines,
          mark: box(docs.querySelector('.report').getBoundingClientRect()),
          fontSize: parseFloat(getComputedStyle(docs).fontSize)};
}"""


def overlaps(a, b) -> bool:
    return a[0] < b[2] - 1 and b[0] < a[2] - 1 and a[1] < b[3] - 1 and b[1] < a[3] - 1


@pytest.mark.parametrize("width", [400, 1280, 1920])
def test_each_section_has_a_small_report_mark_clear_of_its_text(browser, site_url, width):
    visit = PageVisit(browser, site_url, width)
    try:
        page = visit.page
        # One Tab stop per section: with a pointer the mark shows only on the section under it or
        # linked to.
        hidden = page.locator("a.report").evaluate_all("m => m.filter(e => !e.offsetParent).length")
        assert hidden >= page.locator("a.report").count() - 1
        sections = page.locator("section.section")
        marks = page.locator("section.section > .docs > a.report")
        assert marks.count() == sections.count() > 10
        assert marks.first.get_attribute("title") == "Report a problem with this section"
        for section_id in ("ConvMixerLayer", "ConvMixerLayer.forward-1", "PatchEmbeddings"):
            section = page.locator(f'section[id="{section_id}"]')
            section.locator(".permalink").focus()
            page.keyboard.press("Enter")  # to the section: its mark shows, and Tab reaches it
            mark = section.locator(".report")
            assert mark.is_visible()
            # The mark is CSS content with an empty alternative text: the name is the title.
            expect(mark).to_have_accessible_name("Report a problem with this section")
            focused = []
            for _ in range(2):  # the section is where Tab starts now: its "#", then the mark
                page.keyboard.press("Tab")
                focused.append(mark.evaluate("e => e === document.activeElement"))
            assert True in focused
            shape = section.evaluate(GEOMETRY)
            mark, docs = shape["mark"], shape["docs"]
            assert docs[0] - 1 <= mark[0] and mark[2] <= docs[2] + 1, (section_id, shape)
            assert mark[2] - mark[0] < 2.5 * shape["fontSize"], shape  # small
            assert mark[3] - mark[1] < 2.5 * shape["fontSize"], shape
            assert not [line for line in shape["lines"] if overlaps(mark, line)], shape
        href = urlsplit(marks.first.get_attribute("href"))
        assert href.path.endswith("/issues/new")
        assert {"title", "body"} <= dict(parse_qsl(href.query)).keys()
        if width == 1280:
            visit.screenshot("section-report-mark-1280.png")
        assert not visit.errors and not visit.failed
    finally:
        visit.close()


def test_the_report_mark_is_a_plain_translated_link_without_javascript(browser, site_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(site_url + "zh/" + PAGE)
        page.hover('section[id="ConvMixerLayer"]')
        mark = page.locator('section[id="ConvMixerLayer"] a.report')
        # Its name is its title (the mark is CSS content with an empty alternative text).
        assert mark.is_visible() and mark.get_attribute("title") == "报告本节的问题"
        assert page.get_by_role("link", name="报告本节的问题").count() >= 1  # visible ones
        fields = dict(parse_qsl(urlsplit(mark.get_attribute("href")).query))
        assert re.fullmatch(r"labml_like/conv_mixer/__init__\.py:\d+-\d+ \[zh\]", fields["title"])
        body = fields["body"].splitlines()
        assert body[0].startswith("Page: ") and body[0].endswith("/zh/conv_mixer/#ConvMixerLayer")
        # The zh catalog line the section's text comes from.
        catalog, line = re.fullmatch(r"Translation: (\S+\.po):(\d+)", body[2]).groups()
        po = REPO / "docs_src/locale/zh/LC_MESSAGES" / catalog
        entry = po.read_text(encoding="utf-8").splitlines()[int(line) - 1]
        assert entry.startswith(("msgid", "msgstr")), entry
    finally:
        context.close()


@pytest.mark.parametrize("width", [400, 1280, 1920])
def test_a_code_block_in_a_note_keeps_its_padding(browser, site_url, width):
    visit = PageVisit(browser, site_url, width)
    try:
        gap = visit.page.locator(".docs pre.code").first.evaluate(
            """pre => { const range = document.createRange(); range.selectNodeContents(pre);
                        const text = range.getClientRects()[0];
                        return text.left - pre.getBoundingClientRect().left; }"""
        )
        font = visit.page.locator(".docs pre.code").first.evaluate(
            "pre => parseFloat(getComputedStyle(pre).fontSize)"
        )
        assert gap >= 0.5 * font, gap  # the code does not touch the block's left edge
    finally:
        visit.close()


@pytest.mark.parametrize(
    ("lang", "fonts"),
    [("zh", {"WenQuanYi Micro Hei"}), ("ja", {"IPAPGothic", "Noto Sans CJK JP"})],
)
def test_curly_quotes_in_chinese_and_japanese_come_from_a_cjk_font(browser, site_url, lang, fonts):
    """The Latin fonts come first in the font list (for Latin letters), and drew the quotes
    narrow; the quotes now come from the language's CJK font (the ones `make` installs)."""
    visit = PageVisit(browser, site_url, 1280, page=f"{lang}/{PAGE}")
    try:
        visit.page.evaluate(
            """() => { const probe = document.createElement('p'); probe.id = 'quote-probe';
                       probe.textContent = '\u201c\u201d\u2018\u2019';
                       document.querySelector('.intro').append(probe); }"""
        )
        used = visit.platform_fonts("#quote-probe")
        assert used and set(used) <= fonts, used
    finally:
        visit.close()
