"""Line breaking and fonts in the three scripts the site is translated into, on a narrow screen
in headless Chromium: Korean breaks only at spaces (`word-break: keep-all`), Chinese and
Japanese never start a line with closing punctuation, and each is drawn with a font that has its
glyphs. A tiny site in en, zh, ja and ko, built here."""

import functools
import http.server
import re
import threading

import polib
import pytest
from conftest import PageVisit, make_config, tiny_files, write_tree

from site_builder import i18n
from site_builder.build import build_site
from site_builder.i18n_checks import LINE_START

pytestmark = pytest.mark.browser
INTRO = "The layer computes $y = W x + b$. See [the notes](notes.html) and [home](../index.html)."
# The layer's introduction in each language, long enough to wrap on a phone.
SAMPLES = {
    "ko": "레이어는 $y = W x + b$ 를 계산합니다. "
    + "합성곱 신경망은 이미지를 작은 조각으로 나누고 각 조각을 독립적으로 구현하고 처리합니다. " * 4
    + "[노트](notes.html)와 [홈](../index.html)을 보세요.",
    "zh": "该层计算 $y = W x + b$。"
    + "卷积网络把图像切成小块，再逐块混合通道，最后汇总成一个预测；每一步都很简单。" * 4
    + "见[笔记](notes.html)和[首页](../index.html)。",
    "ja": "この層は $y = W x + b$ を計算する。"
    + "畳み込みネットワークは画像を小さなパッチに分け、チャネルを混ぜ、最後に予測をまとめる。" * 4
    + "[ノート](notes.html)と[ホーム](../index.html)を参照。",
}
HANGUL, HAN, KANA = (
    re.compile(r) for r in ("[\uac00-\ud7a3]", "[\u4e00-\u9fff]", "[\u3040-\u30ff]")
)
# Where each character of the paragraph is drawn: its top edge (null: not drawn, like a space
# at the end of a line); math left out.
CHARACTER_TOPS = """p => {
  const tops = [];
  const walker = document.createTreeWalker(p, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest(".katex")) continue;
    for (let i = 0; i < node.data.length; i++) {
      const range = document.createRange();
      range.setStart(node, i); range.setEnd(node, i + 1);
      const rect = range.getClientRects()[0];
      tops.push([node.data[i], rect && rect.width > 0 ? rect.top : null]);
    }
  }
  return tops;
}"""


@pytest.fixture(scope="module")
def sample_site(tmp_path_factory, request):
    root = tmp_path_factory.mktemp("cjk")
    write_tree(root, tiny_files())
    config = make_config(root, languages=("en", "zh", "ja", "ko"))
    i18n.update(config, ["zh", "ja", "ko"], [])
    for lang, sample in SAMPLES.items():
        path = config.locale_dir / lang / "LC_MESSAGES" / "models" / "layer.po"
        catalog = polib.pofile(str(path))
        (entry,) = [entry for entry in catalog if entry.msgid == INTRO]
        entry.msgstr = sample
        catalog.save(str(path))
    build_site(config, index_search=False)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(config.out))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def line_breaks(visit: PageVisit) -> list[tuple[str, str]]:
    """The introduction's line breaks as Chromium laid it out: for each, the text just before
    it (spaces included) and the character that starts the next line."""
    tops = visit.page.locator(".intro p").first.evaluate(CHARACTER_TOPS)
    text = "".join(character for character, _ in tops)
    breaks, last = [], None
    for index, (character, top) in enumerate(tops):
        if top is None:
            continue
        if last is not None and top > last + 8:  # well below the line before (tolerance)
            breaks.append((text[max(0, index - 10) : index], character))
        last = top if last is None or top > last + 8 else last
    return breaks


@pytest.mark.parametrize("lang, script", [("ko", HANGUL), ("zh", HAN), ("ja", KANA)])
def test_narrow_lines_break_where_the_language_allows_in_a_font_with_its_glyphs(
    browser, sample_site, lang, script
):
    visit = PageVisit(browser, sample_site, 360, page=f"{lang}/models/layer.html")
    try:
        assert visit.page.evaluate("document.documentElement.lang") == lang
        breaks = line_breaks(visit)
        assert len(breaks) >= 3, breaks  # it wraps
        width = visit.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 360 + 1, f"the page is wider than the screen: {width}px"
        for before, first in breaks:
            assert first not in LINE_START, (before, first)
            if lang == "ko":  # a break lies at a space, never inside a word
                assert before[-1:].isspace() or not HANGUL.match(first), (before, first)
        glyphs = len(script.findall(SAMPLES[lang]))
        fonts = visit.platform_fonts(".intro p")
        # Every glyph of the script is drawn by some installed font (none left as a tofu box),
        # and not by the generic fallback alone.
        assert sum(fonts.values()) >= glyphs and set(fonts) - {"DejaVu Sans"}, fonts
        assert not visit.failed and not visit.errors
    finally:
        visit.close()
