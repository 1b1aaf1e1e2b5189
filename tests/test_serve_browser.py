"""`serve`'s error banner in real headless Chromium: a failed rebuild shows on the open pages,
accessibly, and goes away with the next good rebuild."""

import pytest
from conftest import REPO, SCREENSHOTS

pytestmark = pytest.mark.browser

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
BANNER = "#site-builder-error"
RUN_AXE_ON_BANNER = """async () => {
  const result = await axe.run({include: ["#site-builder-error"]}, {resultTypes: ["violations"]});
  return result.violations.map(v => v.id + " (" + v.impact + ")");
}"""


def test_a_failed_rebuild_is_shown_on_open_pages_until_the_next_good_one(browser, server, tiny):
    context = browser.new_context(viewport={"width": 1000, "height": 700})
    other, edited = context.new_page(), context.new_page()
    try:
        other.goto(server.url + "models/notes.html", wait_until="load")
        edited.goto(server.url + "models/layer.html", wait_until="load")
        layer = tiny.source / "models/layer.py"
        good = layer.read_text()
        layer.write_text(good.replace("def forward(self, x):", "def forward(self, x:"))
        for page in (other, edited):
            banner = page.wait_for_selector(BANNER, state="visible", timeout=60_000)
            assert banner.get_attribute("role") == "alert"  # read out by screen readers
            text = banner.inner_text()
            assert "Rebuild failed" in text and "models/layer.py:" in text, text
            assert "syntax error" in text
            assert page.get_by_role("button", name="Dismiss").is_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        edited.screenshot(path=str(SCREENSHOTS / "serve-error-banner.png"))
        if not AXE.is_file():
            pytest.fail(f"{AXE} is missing: run `npm ci` in the project root")
        edited.add_script_tag(path=str(AXE))
        assert edited.evaluate(RUN_AXE_ON_BANNER) == []

        layer.write_text(good.replace("Keep the width", "Mind the width"))
        # The page that was rewritten reloads; the other one just drops the banner.
        edited.wait_for_function(
            "document.body?.innerText.includes('Mind the width')", timeout=60_000
        )
        for page in (other, edited):
            page.wait_for_selector(BANNER, state="detached", timeout=60_000)
    finally:
        context.close()


def test_the_banner_can_be_dismissed_from_the_keyboard(browser, server, tiny):
    page = browser.new_page()
    try:
        page.goto(server.url + "models/notes.html", wait_until="load")
        layer = tiny.source / "models/layer.py"
        layer.write_text(layer.read_text().replace("def forward(self, x):", "def forward(self, x:"))
        page.wait_for_selector(BANNER, state="visible", timeout=60_000)
        page.get_by_role("button", name="Dismiss").focus()
        page.keyboard.press("Enter")
        page.wait_for_selector(BANNER, state="detached", timeout=10_000)
    finally:
        page.close()
