"""axe-core on every page of the built site, light and dark, every language: no serious or
critical violations. axe-core is the npm package pinned in package.json (`npm ci`)."""

import pytest
from conftest import REPO, SCROLLERS_FOCUSABLE, WAIT_MS

pytestmark = [pytest.mark.browser, pytest.mark.slow]

AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
RUN_AXE = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
    .map(v => v.id + " (" + v.impact + "): " + v.nodes.slice(0, 3).map(n => n.target).join(" | "));
}"""


@pytest.fixture(scope="module")
def axe_source() -> str:
    if not AXE.is_file():
        pytest.fail(f"{AXE} is missing: run `npm ci` in the project root")
    return AXE.read_text(encoding="utf-8")


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_no_serious_violations_on_any_page(browser, site_dir, site_url, axe_source, theme):
    pages = sorted(p.relative_to(site_dir).as_posix() for p in site_dir.rglob("*.html"))
    assert any(p.startswith("zh/") for p in pages) and "index.html" in pages
    context = browser.new_context(color_scheme=theme, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    found = {}
    try:
        for rel in pages:
            page.goto(site_url + rel, wait_until="load")
            page.wait_for_function(SCROLLERS_FOCUSABLE)
            assert page.evaluate("document.documentElement.dataset.theme || ''") in ("", theme)
            page.add_script_tag(content=axe_source)
            violations = page.evaluate(RUN_AXE)
            if violations:
                found[rel] = violations
    finally:
        context.close()
    assert not found, f"serious/critical axe violations ({theme}): {found}"
