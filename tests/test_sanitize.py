"""Untrusted translations cannot put script into a page: checked on the rendered HTML."""

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from site_builder.markdown import render_markdown
from site_builder.model import BuildError
from site_builder.sanitize import sanitize_translation, url_is_safe
from site_builder.tex import KatexRenderer

ENGLISH = (
    'An <a id="anchor"></a> anchor, $a<b$, `x<y`, [a link](https://example.org/) and '
    "![a figure](figure.svg)."
)

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT>alert(1)</SCRIPT>",
    "<ScRiPt src=//evil.example/x.js></ScRiPt>",
    "<scr<script>ipt>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=x OnError='alert(1)'>",
    '<img src="x" onerror="alert(1)"',  # broken tag, no closing >
    "<img\nsrc=x\nonerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<a id="anchor" onclick="alert(1)"></a>',  # the English tag with one more attribute
    '<a id="anchor"></a><a href="javascript:alert(1)">x</a>',
    "<details open ontoggle=alert(1)>",
    "<body onload=alert(1)>",
    "<object data=javascript:alert(1)>",
    "<embed src=javascript:alert(1)>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    "<!--><script>alert(1)</script>-->",
    "<![CDATA[<script>alert(1)</script>]]>",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "&#60;script&#62;alert(1)&#60;/script&#62;",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java&#115;cript:alert(1))",
    "[x](&#106;avascript:alert(1))",
    "[x](java\\\nscript:alert(1))",
    "[x](vbscript:msgbox(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x]( javascript:alert(1) )",
    "[x](<javascript:alert(1)>)",
    '[x](javascript:alert(1) "title")',
    "![x](javascript:alert(1))",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    "![x](x.png)<img src=x onerror=alert(1)>",
    "<javascript:alert(1)>",
    "<vbscript:msgbox(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: data:image/png;base64,AAAA",
    "![x][r]\n\n[r]: data:image/png;base64,AAAA",
    '[x](https://ok.example/ "a" onmouseover="alert(1)")',
    "<div>\n`<img src=x onerror=alert(1)>`\n</div>",
    "<div>\n\n<script>alert(1)</script>\n\n</div>",
    "<pre>\n<script>alert(1)</script>\n</pre>",
    "$x$<img src=x onerror=alert(1)>$y$",
    "$x <img src=x onerror=alert(1)> $",
    "``<img src=x onerror=alert(1)>`",
    "\\`<img src=x onerror=alert(1)>`",
    "> <img src=x onerror=alert(1)>",
    "* <img src=x onerror=alert(1)>",
    "| a |\n|---|\n| <img src=x onerror=alert(1)> |",
    '```"><script>alert(1)</script>\ncode\n```',
    "    <script>alert(1)</script>",
    "$\\href{javascript:alert(1)}{x}$",
    "$\\url{javascript:alert(1)}$",
    "<a/href=javascript:alert(1)>x</a>",
    "<a href=jav&#x09;ascript:alert(1)>x</a>",
    "<<script>alert(1)//<</script>",
]

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "style", "base", "form", "meta", "link"}
URL_ATTRIBUTES = {"href", "src", "xlink:href", "action", "formaction", "data", "srcdoc"}


class DangerFinder(HTMLParser):
    """Collect what a browser would execute: dangerous tags, handlers, script URLs."""

    def __init__(self):
        super().__init__()
        self.found = []

    def handle_starttag(self, tag, attrs):
        if tag in DANGEROUS_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}= on <{tag}>")
            if name == "style" and value and re.search(r"url\(|expression\(", value, re.I):
                self.found.append(f"style={value!r}")
            if name in URL_ATTRIBUTES and value is not None and not url_is_safe(value):
                self.found.append(f"{name}={value!r}")

    handle_startendtag = handle_starttag


def dangers(html: str) -> list[str]:
    finder = DangerFinder()
    finder.feed(html)
    finder.close()
    return finder.found


KATEX = KatexRenderer()


def rendered(text: str) -> str:
    """The page HTML; a refused input (unknown code language, TeX error) renders nothing."""
    try:
        return render_markdown(text, Path("zh.po"), 1, KATEX).html
    except BuildError:
        return ""


def test_the_corpus_is_large_and_varied():
    assert len(XSS) >= 30
    assert len(set(XSS)) == len(XSS)


def test_the_corpus_is_dangerous_without_the_sanitizer():
    """Guard against a toothless corpus: rendered raw, most payloads do get through."""
    unsafe = [payload for payload in XSS if dangers(rendered(payload))]
    assert len(unsafe) >= 30


@pytest.mark.parametrize("payload", XSS)
def test_payload_is_neutralised(payload):
    for translation in (payload, f"译文 {payload} 结束", f"# 标题\n\n{payload}\n\n段落。"):
        result = sanitize_translation(translation, ENGLISH)
        if result.problems:
            continue  # rejected: the page keeps its English
        assert dangers(rendered(result.text)) == [], result.text


def test_english_tags_survive_and_others_are_escaped():
    result = sanitize_translation('锚点 <a id="anchor"></a> 和 <a id="other"></a>', ENGLISH)
    assert result.problems == []
    html = rendered(result.text)
    assert '<a id="anchor"></a>' in html
    assert "&lt;a id=&quot;other&quot;&gt;" in html
    assert '<a id="other">' not in html


def test_code_and_math_are_untouched():
    translation = "比较 $a<b$ 与 `x<y`：\n\n```python\nif a < b: pass\n```\n\n$$\nx<y\n$$"
    assert sanitize_translation(translation, ENGLISH).text == translation


def test_unsafe_urls_are_reported_even_when_rendering_would_allow_them():
    result = sanitize_translation("![x](data:image/png;base64,AAAA)", ENGLISH)
    assert result.problems == ["unsafe URL 'data:image/png;base64,AAAA'"]
    assert sanitize_translation("[链接](https://example.org/)", ENGLISH).problems == []


@pytest.mark.parametrize(
    ("url", "safe"),
    [
        ("https://example.org/", True),
        ("../a.html#x", True),
        ("mailto:a@b.c", True),
        ("javascript:alert(1)", False),
        ("JAVASCRIPT:alert(1)", False),
        ("java\tscript:alert(1)", False),
        (" \x01javascript:alert(1)", False),
        ("vbscript:x", False),
        ("data:image/png;base64,AA", False),
        ("file:///etc/passwd", False),
    ],
)
def test_url_is_safe(url, safe):
    assert url_is_safe(url) is safe
