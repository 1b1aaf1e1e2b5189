"""The reader's page (issue 19) in headless Chromium at 400, 1280 and 1920 px: code on the first
screen, no code cut off, short code kept in view beside a long note, the table of contents and
the lesson's previous/next links, the dark theme's code column and figures, tables and the
breadcrumb on phones, and Copy. Layout is checked with tolerances, never exact pixels or fonts.
"""

import code

import pytest
from conftest import PX, SCROLLERS_FOCUSABLE, PageVisit

pytestmark = pytest.mark.browser

WIDTHS = [400, 1280, 1920]
TRAINER = "experiments/trainer.html"

FIRST_CODE_TOP_JS = """() => {
  const line = [...document.querySelectorAll('.section > .code pre .line')]
    .find(l => l.textContent.trim() && l.getClientRects().length);
  return line.getBoundingClientRect().top;
}"""

CUT_OFF_JS = """() => [...document.querySelectorAll('.section > .code pre')]
  .filter(pre => pre.scrollWidth > pre.clientWidth + 1).map(pre => pre.parentNode.parentNode.id)"""

# For each code line that wraps: where its code starts and where its continuation starts.
HANGS_JS = """() => [...document.querySelectorAll('.section > .code pre .line')].flatMap(line => {
  const height = parseFloat(getComputedStyle(line).lineHeight);
  if (line.getBoundingClientRect().height < 1.5 * height) return [];
  const range = document.createRange();
  const texts = [];
  const walk = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
  while (walk.nextNode()) texts.push(walk.currentNode);  // the line number is CSS, not text
  const first = texts.find(t => t.data.trim());
  const at = first.data.search(/\\S/);
  range.setStart(first, at); range.setEnd(first, at + 1);
  const start = range.getBoundingClientRect();
  range.setStart(first, at); range.setEnd(texts[texts.length - 1], texts[texts.length - 1].length);
  const later = [...range.getClientRects()].filter(r => r.top > start.top + height / 2 && r.width);
  return [[line.id, start.left, Math.min(...later.map(r => r.left))]];
})"""


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"w{w}" for w in WIDTHS])
def visit(request, browser, site_url):
    permissions = ["clipboard-read", "clipboard-write"]
    visit = PageVisit(browser, site_url, request.param, permissions=permissions)
    visit.page.wait_for_function(SCROLLERS_FOCUSABLE)
    visit.screenshot(f"layout-conv_mixer-{request.param}.png")
    yield visit
    visit.close()


@pytest.fixture(scope="module", params=WIDTHS, ids=[f"w{w}" for w in WIDTHS])
def trainer(request, browser, site_url):
    visit = PageVisit(browser, site_url, request.param, page=TRAINER)
    yield visit
    visit.close()


def scroll_width(visit) -> int:
    return visit.page.evaluate("document.documentElement.scrollWidth")


def test_code_is_on_the_first_screen(visit):
    top = visit.page.evaluate(FIRST_CODE_TOP_JS)
    if visit.width >= 1280:
        assert top < 900 - 20, f"the first code line is at y={top:.0f}, below the first screen"
        intro = visit.page.locator(".section-lead > .intro").bounding_box()
        pane = visit.page.locator(".section-lead > .code").bounding_box()
        assert intro and pane and intro["x"] + intro["width"] <= pane["x"] + PX, "not side by side"
    else:  # stacked: the introduction first, then the code
        intro = visit.page.locator(".section-lead > .intro").bounding_box()
        assert intro and top >= intro["y"] + intro["height"] - PX
    assert scroll_width(visit) <= visit.width + PX, "the page scrolls sideways"


def test_no_code_is_cut_off_and_wrapped_lines_hang(trainer):
    if trainer.width == 400:  # a phone's code pane scrolls within itself, never the page
        assert scroll_width(trainer) <= trainer.width + PX, "the page scrolls sideways"
        return
    assert trainer.page.evaluate(CUT_OFF_JS) == [], "code cut off at the pane's edge"
    hangs = trainer.page.evaluate(HANGS_JS)
    if trainer.width == 1280:
        assert hangs, "no line wraps on the trainer page at 1280 px (the test needs one)"
    for line_id, start, continuation in hangs:
        assert continuation > start + 2 * PX, f"{line_id}: its wrapped part does not hang"


def test_short_code_stays_in_view_beside_a_long_note(visit):
    page = visit.page
    section = page.locator('section[id="ConvMixerLayer"]')
    # Sections off screen are laid out when they come near (content-visibility): bring it in,
    # and wait for its real height.
    section.scroll_into_view_if_needed()
    tall = "s => s.getBoundingClientRect().height > 900"
    page.wait_for_function(tall, arg=section.element_handle())  # the test needs a long note
    page.evaluate(
        "y => scrollTo(0, y)",
        page.evaluate(
            "s => s.getBoundingClientRect().top + scrollY + 600", section.element_handle()
        ),
    )
    page.wait_for_function("() => scrollY > 0")
    pre = page.locator('section[id="ConvMixerLayer"] > .code > pre').bounding_box()
    assert pre
    if visit.width >= 1280:
        assert -PX <= pre["y"] < 900, f"the code scrolled away from its note: y={pre['y']:.0f}"
    else:  # stacked below its note: it scrolls with the page
        position = page.locator('section[id="ConvMixerLayer"] > .code > pre').evaluate(
            "pre => getComputedStyle(pre).position"
        )
        assert position == "static"
    page.evaluate("scrollTo(0, 0)")


def test_table_of_contents_and_lesson_links(visit):
    page = visit.page
    toc = page.locator("details.toc")
    assert toc.count() == 1
    page.locator("details.toc > summary").click()
    page.wait_for_function("() => document.querySelector('details.toc').open")
    links = page.locator("details.toc a")
    assert links.count() >= 8, "too few entries in the table of contents"
    targets = page.evaluate(
        "() => [...document.querySelectorAll('details.toc a')].map(a => a.hash.slice(1))"
        ".filter(id => !document.getElementById(decodeURIComponent(id)))"
    )
    assert targets == [], f"contents entries lead nowhere: {targets}"
    assert links.first.is_visible()
    page.locator("details.toc > summary").click()
    lesson = page.locator("nav.lesson")
    previous, following = lesson.locator("a[rel=prev]"), lesson.locator("a[rel=next]")
    assert previous.get_attribute("href") == "readme.html"
    assert following.get_attribute("href") == "../experiments/cifar10.html"
    box = lesson.bounding_box()
    assert box and box["x"] + box["width"] <= visit.width + PX, "the lesson links overflow"


def test_dark_theme_keeps_the_code_column_and_inverts_figures(visit):
    page = visit.page
    page.locator(".theme-toggle").click()
    try:
        page.wait_for_function("() => document.documentElement.dataset.theme === 'dark'")
        colours = page.evaluate("""() => {
          const bg = e => getComputedStyle(e).backgroundColor;
          const row = document.querySelector('section.section-comment:not(.no-docs)');
          return [bg(row.querySelector('.code')), bg(row.querySelector('.code pre')),
                  bg(document.body),
                  getComputedStyle(document.querySelector('.docs img[src$=".svg"]')).filter];
        }""")
        code_bg, pre_bg, page_bg, figure_filter = colours
        assert code_bg != page_bg, "the code column has the page's colour in the dark theme"
        assert pre_bg in ("rgba(0, 0, 0, 0)", code_bg), "the code differs from its column"
        assert "invert" in figure_filter, f"the SVG figure is not adapted: {figure_filter}"
    finally:
        page.locator(".theme-toggle").click()
        page.wait_for_function("() => document.documentElement.dataset.theme === 'light'")


def test_tables_and_breadcrumb_fit(visit):
    page = visit.page
    tables = page.locator(".docs table")
    assert tables.count() >= 2
    for i in range(tables.count()):
        table = tables.nth(i)
        box = table.bounding_box()
        assert box and box["x"] + box["width"] <= visit.width + PX, f"table {i} overflows the page"
        first = table.locator("tr > :first-child").first
        table.evaluate("t => { t.scrollLeft = t.scrollWidth; }")
        page.wait_for_function(
            "t => t.scrollLeft >= t.scrollWidth - t.clientWidth - 1", arg=table.element_handle()
        )
        cell = first.bounding_box()
        assert cell and cell["x"] >= box["x"] - PX, f"table {i}: its first column scrolled away"
        table.evaluate("t => { t.scrollLeft = 0; }")
    crumbs = page.locator("nav.breadcrumbs ol").bounding_box()
    line = page.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    assert crumbs and crumbs["height"] < 1.6 * line, "the breadcrumb wraps"
    assert crumbs["x"] + crumbs["width"] <= visit.width + PX


class _Prompt(code.InteractiveConsole):
    """A Python prompt fed line by line: it records syntax errors and ignores runtime ones
    (the pasted code may name what the page imported)."""

    def __init__(self):
        super().__init__()
        self.syntax_errors: list[str] = []

    def showsyntaxerror(self, filename=None, **kwargs):
        self.syntax_errors.append(filename or "")

    def showtraceback(self):
        pass


def test_copy_gives_code_that_runs_at_a_prompt(visit):
    page = visit.page
    single = page.evaluate("""() => [...document.querySelectorAll('.section > .code')]
      .filter(c => c.querySelectorAll('.line').length === 1 && c.querySelector('button.copy'))
      .length""")
    assert single == 0, "a one-line block has a Copy button"
    tab_stops = page.evaluate(
        "() => [...document.querySelectorAll('.permalink')].filter(a => a.tabIndex >= 0).length"
    )
    assert tab_stops == 0, "permalinks are Tab stops"
    button = page.locator(
        'section[id="ConvMixerLayer.__init__-6"] button.copy, '
        'section[id="ConvMixerLayer.forward"] ~ section button.copy'
    ).first
    label = button.text_content()
    button.click()
    page.wait_for_function(
        "([b, label]) => b.textContent !== label", arg=[button.element_handle(), label]
    )
    text = page.evaluate("navigator.clipboard.readText()")
    assert text.strip() and not text[0].isspace(), f"copied code is not dedented: {text[:80]!r}"
    prompt = _Prompt()
    more = False
    for line in text.split("\n"):
        more = prompt.push(line)
    assert not prompt.syntax_errors and not more, f"the copied code fails at a prompt: {text!r}"
