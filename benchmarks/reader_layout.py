"""Where things sit on the reader's page, in headless Chromium, for the figures of issue 19.

    python benchmarks/reader_layout.py --site SITE [--pages a.html,b.html] [--screenshots DIR]

Serves a built site on 127.0.0.1 and prints, per page: its height at 400, 1280 and 1920 px wide;
the code blocks cut off at the right edge at 1280 px (code wider than its pane, shown neither
wrapped nor whole); the Tab stops (focusable elements in tab order, after site.js has run); and
on the ConvMixer page, the top of the first code line and of the first figure at 1280x900.
Screenshots of the first screen at each width go to `--screenshots` when given. Builds nothing.
"""

import argparse
import functools
import http.server
import threading
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
WIDTHS = (400, 1280, 1920)
PAGES = (
    "conv_mixer/index.html",
    "conv_mixer/experiment.html",
    "experiments/trainer.html",
    "experiments/cifar10.html",
    "results/conv_mixer/readme.html",
    "index.html",
)

# Code blocks whose content is wider than the pane that shows it.
CUT_OFF_JS = """() => {
  const blocks = [...document.querySelectorAll('.section > .code pre')];
  const cut = blocks.filter(pre => pre.scrollWidth > pre.clientWidth + 1);
  return [cut.length, blocks.length];
}"""

# Elements a Tab key reaches: focusable, shown, not taken out of the tab order.
TAB_STOPS_JS = """() => [...document.querySelectorAll(
  'a[href], button, input, select, textarea, summary, [tabindex]')].filter(e =>
  e.tabIndex >= 0 && !e.disabled && !e.closest('[hidden], dialog:not([open])')
  && e.getClientRects().length > 0 && getComputedStyle(e).visibility !== 'hidden').length"""

SCROLLERS_DONE_JS = """() => [...document.querySelectorAll(
    '.docs table, .docs pre, .section > .code > pre')].every(box =>
  box.scrollWidth <= box.clientWidth || box.tabIndex >= 0
  || box.querySelector('a, button, [tabindex]'))"""

FIRST_JS = """() => {
  const top = e => e ? Math.round(e.getBoundingClientRect().top + scrollY) : null;
  const line = [...document.querySelectorAll('.section > .code pre .line')]
    .find(l => l.textContent.trim() && l.getClientRects().length);
  return {code: top(line), figure: top(document.querySelector('.docs img, .docs svg'))};
}"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("site"))
    parser.add_argument("--pages", default=",".join(PAGES))
    parser.add_argument("--screenshots", type=Path)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(args.site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/"
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    print(f"{'page':34} {'h@400':>7} {'h@1280':>7} {'h@1920':>7} {'cut@1280':>9} {'tabs':>5}")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        for page_path in args.pages.split(","):
            heights, cut, tabs, first = {}, "", 0, {}
            for width in WIDTHS:
                context = browser.new_context(viewport={"width": width, "height": 900})
                page = context.new_page()
                page.goto(url + page_path, wait_until="networkidle")
                page.evaluate("document.fonts.ready.then(() => true)")
                page.wait_for_function(SCROLLERS_DONE_JS)
                heights[width] = page.evaluate("document.documentElement.scrollHeight")
                if width == 1280:
                    n, total = page.evaluate(CUT_OFF_JS)
                    cut, tabs = f"{n}/{total}", page.evaluate(TAB_STOPS_JS)
                    first = page.evaluate(FIRST_JS)
                if args.screenshots:
                    name = page_path.replace("/", "_").removesuffix(".html")
                    page.screenshot(path=str(args.screenshots / f"{name}-{width}.png"))
                context.close()
            print(
                f"{page_path:34} {heights[400]:7} {heights[1280]:7} {heights[1920]:7} "
                f"{cut:>9} {tabs:5}  first code y={first['code']}, figure y={first['figure']}"
            )
        browser.close()
    server.shutdown()


if __name__ == "__main__":
    main()
