"""The real site in real headless Chromium: layout, math, and nothing fetched from outside.

Builds this repository's site with the CLI, serves it on 127.0.0.1, and opens the ConvMixer page
at desktop and phone widths. Needs Debian's /usr/bin/chromium (never `playwright install`); set
SITE_BUILDER_SKIP_BROWSER=1 to skip where it is missing.
"""

import pytest
from conftest import PX, PageVisit

pytestmark = pytest.mark.browser

# Rows whose commentary and code are both non-empty, as {docs, code, row} bounding boxes.
ROW_BOXES_JS = """() => Array.from(document.querySelectorAll("section.section")).flatMap(row => {
  const docs = row.querySelector(":scope > .docs"), code = row.querySelector(":scope > .code");
  if (!docs || !code || !code.querySelector("pre") || docs.textContent.trim().length < 2) return [];
  const box = e => {
    const r = e.getBoundingClientRect();
    return [r.left, r.top, r.width, r.height];
  };
  return [{docs: box(docs), code: box(code), row: box(row)}];
})"""

# Commentary text a reader sees: no code, no MathML (which carries the TeX source).
COMMENTARY_TEXT_JS = """() => Array.from(document.querySelectorAll(".docs")).map(docs => {
  const copy = docs.cloneNode(true);
  copy.querySelectorAll("code, pre, .katex-mathml").forEach(e => e.remove());
  return copy.textContent;
}).join("\\n")"""


@pytest.fixture(scope="module", params=[1280, 400], ids=["desktop-1280", "phone-400"])
def visit(request, browser, site_url):
    visit = PageVisit(browser, site_url, request.param)
    visit.screenshot(f"conv_mixer-{request.param}.png")
    yield visit
    visit.close()


def test_page_loads_cleanly_and_offline(visit):
    assert visit.requests, "no requests were recorded"
    assert not visit.blocked, f"requests left 127.0.0.1: {visit.blocked}"
    assert not visit.failed, f"failed requests: {visit.failed}"
    assert not visit.errors, f"console errors: {visit.errors}"


def test_columns_side_by_side_on_desktop_and_stacked_on_phone(visit):
    rows = visit.page.evaluate(ROW_BOXES_JS)
    assert len(rows) >= 5, f"only {len(rows)} rows with both commentary and code"
    for row in rows:
        (dx, dy, dw, dh), (cx, cy, cw, ch), (_, _, rw, _) = row["docs"], row["code"], row["row"]
        if visit.width == 1280:
            assert dx + dw <= cx + PX, f"commentary {row['docs']} is not left of code {row['code']}"
            assert dy < cy + ch and cy < dy + dh, f"columns do not share a band: {row}"
            assert 0.25 * rw <= dw <= 0.55 * rw, f"commentary is not ~40% of the row: {row}"
        else:
            assert cy >= dy + dh - PX, f"code {row['code']} is not below commentary {row['docs']}"
            assert dw >= 0.8 * rw and cw >= 0.8 * rw, f"stacked boxes should span the row: {row}"
    page_width = visit.page.evaluate("document.documentElement.scrollWidth")
    assert page_width <= visit.width + PX, f"the page scrolls sideways: {page_width}px"


def test_math_is_rendered_with_mathml(visit):
    page = visit.page
    katex = page.locator(".docs .katex")
    count = katex.count()
    assert count >= 10, f"only {count} KaTeX elements on the page"
    assert page.locator(".docs .katex math").count() == count, "every formula needs MathML"
    assert page.locator(".docs .katex-display").count() >= 1, "no display math rendered"
    for i in range(0, count, max(1, count // 8)):
        assert katex.nth(i).locator(".katex-html").is_visible(), f"formula {i} is not visible"
    text = page.evaluate(COMMENTARY_TEXT_JS)
    where = text.find("$")
    assert where < 0, f"raw TeX delimiter in the commentary: {text[max(0, where - 60) :][:120]!r}"
    assert "\\frac" not in text and "\\mathrm" not in text, "raw TeX commands in the commentary"
    loaded = page.evaluate(
        "() => Array.from(document.fonts).filter(f => f.status === 'loaded').map(f => f.family)"
    )
    assert any("KaTeX" in family for family in loaded), f"no KaTeX font loaded: {loaded}"


def test_code_is_single_spaced(visit):
    """Consecutive code lines touch (no blank line between them; a long line wraps, so it is
    measured from its bottom)."""
    gaps = visit.page.evaluate("""() => {
      const lines = Array.from(document.querySelectorAll(".code pre .line")).slice(0, 40);
      return lines.slice(1).flatMap((line, i) => line.parentElement !== lines[i].parentElement ? []
        : [[line.id, line.getBoundingClientRect().top - lines[i].getBoundingClientRect().bottom,
            parseFloat(getComputedStyle(line).lineHeight)]]);
    }""")
    assert gaps, "no consecutive code lines found"
    for line_id, gap, line_height in gaps:
        assert gap <= 0.25 * line_height, f"{line_id} is {gap:.0f}px below the line before it"
