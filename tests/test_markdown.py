from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_highlight import pygments_classes

from site_builder.highlight import plain_classes
from site_builder.markdown import (
    TexBuildError,
    parse_markdown,
    render_markdown,
    render_parsed,
    repeated_formulas,
)
from site_builder.model import BuildError
from site_builder.paths import source_link_to_page
from site_builder.tex import KatexRenderer

PATH = Path("labml_like/demo.py")
KATEX = KatexRenderer()  # shared by the tests: its memo only saves time


def render(text, first_line=1, **options):
    return render_markdown(text, PATH, first_line, KATEX, **options)


def test_math_is_tokenized_before_emphasis():
    html = render("Product $a*b*c$ and *emphasis*.", repeated_math=frozenset({"a*b*c"})).html
    assert 'data-tex-key="a*b*c"' in html
    assert html.count("<em>") == 1 and "<em>emphasis</em>" in html
    assert "<math" in html


def test_display_math_inline_and_block():
    html = render("Inline display $$x^2$$ here.\n\n$$\n\\sum_i x_i\n$$ (eq:sum)\n").html
    assert html.count('class="katex-display"') == 2
    assert '<div class="math" id="eq:sum">' in html


def test_dollars_around_digits_are_not_math():
    html = render("It costs $5 and $10 today.").html
    assert "katex" not in html and "$5 and $10" in html


def test_tex_error_reports_file_line_and_katex_message():
    with pytest.raises(BuildError) as e:
        render("Fine.\n\nStill fine,\nthen $\\frac{a}{$ breaks.", first_line=40)
    assert (e.value.path, e.value.line) == (str(PATH), 43)
    assert e.value.message.startswith("TeX error in '\\\\frac{a}{': KaTeX parse error:")
    assert str(e.value).startswith(f"{PATH}:43: TeX error")


@pytest.mark.parametrize(
    "tex, problem",
    [
        ("\\frac{" + "x" * 20_000, "the formula has 20,006 characters; at most 10,000"),
        ("x" * 5_000 + "\\frac{", "KaTeX parse error: Unexpected end of input"),
        ("\\frac{a}{\n" + "b" * 200 + "\n", "KaTeX parse error"),
    ],
)
def test_a_tex_error_is_one_line_that_shows_the_start_of_a_long_formula(tex, problem):
    with pytest.raises(TexBuildError) as e:
        render(f"Before\n\n$${tex}$$\n", first_line=10)
    assert e.value.line == 12 and isinstance(e.value, BuildError)
    assert "\n" not in str(e.value) and len(str(e.value)) < 300
    assert e.value.message.startswith(f"TeX error in {tex[:59] + '…'!r}: {problem}")


def test_block_tex_error_line():
    with pytest.raises(BuildError) as e:
        render("Intro.\n\n$$\n\\begin{x}\n$$\n", first_line=10)
    assert e.value.line == 12


def test_links_and_images_with_lines():
    text = (
        "See [the paper](https://arxiv.org/abs/2201.09792)\n"
        "and ![diagram](conv_mixer.svg).\n"
        "\n"
        '<a href="https://example.org/raw">raw</a>\n'
        "\n"
        "<div>\n"
        '<img src="raw.png">\n'
        "</div>\n"
        "\n"
        "| a | b |\n|---|---|\n| [cell](#anchor) | 2 |\n"
    )
    out = render(text, first_line=100)
    assert out.links == [
        ("https://arxiv.org/abs/2201.09792", 100),
        ("https://example.org/raw", 103),
        ("#anchor", 111),
    ]
    assert out.images == [("conv_mixer.svg", 101), ("raw.png", 106)]
    assert '<img src="conv_mixer.svg" alt="diagram"' in out.html
    assert '<table tabindex="0">' in out.html  # a Tab stop: it may scroll sideways


def test_inline_code_highlighted_as_python_and_fences_by_language():
    html = render("Call `len(x)`.\n\n```bash\necho $HOME\n```\n\n```\nplain <text>\n```\n").html
    builtin = pygments_classes("len(x)")["len"]
    assert f'<code class="code"><span class="{builtin}">len</span>' in html
    assert '<pre class="code"><code class="language-bash">' in html
    assert "plain &lt;text&gt;" in html


def test_unknown_fence_language_is_an_error():
    with pytest.raises(BuildError) as e:
        render("Text.\n\n```pythn\nx\n```\n", first_line=5)
    assert e.value.line == 7 and "unknown code language 'pythn'" in e.value.message


def test_raw_html_passes_through():
    assert '<span class="note">hi</span>' in render('<span class="note">hi</span>').html


@settings(max_examples=60, deadline=None)
@given(st.lists(st.sampled_from(["a", "*b*", "`c`", "$d$", "[e](f)", ""]), max_size=12))
def test_link_lines_match_their_source_line(parts):
    lines = [f"line {i} {p}" for i, p in enumerate(parts)]
    out = render("\n".join(lines), first_line=7)
    expected = [("f", 7 + i) for i, p in enumerate(parts) if p == "[e](f)"]
    assert out.links == expected


def test_a_batch_renders_the_math_of_many_texts_in_one_call():
    katex = KatexRenderer()
    texts = ["Inline $a_{batch1}$ and `x = 1`.", "$$c_{batch2}$$\n\nSee [it](p.html) $\\bad{$."]
    parsed = [parse_markdown(text, PATH, 3) for text in texts]
    assert [p.math for p in parsed] == [
        [("a_{batch1}", False)],
        [("c_{batch2}", True), ("\\bad{", False)],
    ]
    katex.render_many([m for p in parsed for m in p.math])
    assert katex.v8_calls == 1
    assert render_parsed(parsed[0], katex) == render(texts[0], first_line=3)
    with pytest.raises(BuildError, match="TeX error") as e:
        render_parsed(parsed[1], katex)  # invalid TeX is reported by the render, at its line
    assert e.value.line == 5
    assert katex.v8_calls == 1  # the renders found everything memoized
    again = render_parsed(parsed[0], katex)
    assert again == render_parsed(parsed[0], katex) and katex.v8_calls == 1  # parsed once
    katex.close()


def test_only_formulas_repeated_on_the_page_keep_their_tex_key():
    texts = [
        "$h$ and $1 \\times 1$ and $$ h $$.",
        "Again $h$, then $x^2$.",
        "Broken $x^2$ $\\bad{$.",
    ]
    parsed = [parse_markdown(text, PATH, 1) for text in texts]
    # x^2 twice, but once in a text that cannot show its math; h grouped inline and displayed.
    assert repeated_formulas(parsed, KATEX) == frozenset({"h"})
    html = [render_parsed(p, KATEX, repeated_math=frozenset({"h"})).html for p in parsed[:2]]
    assert [page.count('data-tex-key="h"') for page in html] == [2, 1]
    assert "data-tex-key" not in html[0].replace('data-tex-key="h"', "")
    assert html[1].count('<span class="katex">') == 1  # x^2, without its key
    assert 'data-tex-key="h"' not in render(texts[0]).html  # no repeated formulas by default


class Names:
    """Resolves the names in `targets` (a test double for a page's xref.PageLinker)."""

    def __init__(self, **targets):
        self.targets = targets

    def prose_href(self, name):
        return self.targets.get(name)

    def link_href(self, href):
        return source_link_to_page(href)


def test_inline_code_that_is_one_known_name_links_unless_already_in_a_link():
    names = Names(Mixer="nets/model.html#Mixer", other="#L3")
    html = render(
        "Use `Mixer` and `x + Mixer`, not `unknown`; [see `Mixer`](x.html);"
        ' <a href="y.html">`Mixer`</a> then `other`.',
        names=names,
    ).html
    link = '<a class="xref" href="nets/model.html#Mixer">'
    assert html.count(link) == 1
    n = pygments_classes("Mixer")["Mixer"]  # a plain name
    mixer = f'<span class="{n}">Mixer</span>'  # marked: site.js groups names by class and text
    assert f'{link}<code class="code">{mixer}</code></a>' in html
    assert f'<span class="{n}">x</span>' in html  # names marked in longer code
    assert html.count(mixer) == 4  # the link's, and three marked but not linked
    assert f'<span class="{n}">unknown</span>' in html
    assert '<a class="xref" href="#L3">' in html  # after the raw link closed
    unmarked = render("Use `Mixer`.").html  # no names given: plain highlighting
    assert (f'<span class="{n}">' in unmarked) == (n not in plain_classes())


def test_local_images_get_their_intrinsic_size(tmp_path):
    page = Path(__file__).parents[1] / "labml_like/conv_mixer/__init__.py"
    html = render_markdown("![ConvMixer](conv_mixer.svg)", page, 1, KATEX).html
    assert '<img src="conv_mixer.svg" alt="ConvMixer" width="880" height="580"' in html
    png = tmp_path / "my plot.png"  # a 3x2 PNG: signature, then the IHDR chunk's width and height
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0\0\0\0\0")
    html = render_markdown("![p](my%20plot.png)", tmp_path / "page.py", 1, KATEX).html
    assert 'width="3" height="2"' in html
    for src in ("missing.png", "https://example.org/x.png", "/abs.png", "page.py"):
        (tmp_path / "page.py").write_text("x = 1\n")
        html = render_markdown(f"![x]({src})", tmp_path / "page.py", 1, KATEX).html
        assert "width=" not in html, src


def test_lines_after_a_code_span_broken_over_lines():
    out = render("See `a very\nlong code span` and [broken](#nowhere)\n", first_line=100)
    assert out.links == [("#nowhere", 101)]


def test_tex_error_line_after_a_code_span_broken_over_lines():
    with pytest.raises(BuildError) as e:
        render("Intro.\n\nCall `f(a,\nb,\nc)` then $\\frac{a}{$.", first_line=20)
    assert e.value.line == 24


def test_lines_after_link_text_destination_or_title_broken_over_lines():
    text = (
        "A [link whose\ntext wraps](a.html) then ![img](i.png)\n"  # lines 10-11
        "and [title](b.html\n'on the next line') and [c](c.html)\n"  # 12-13
        "and [d](\nd.html) ![e](\ne.png)"  # 14-16: destinations on the next line
    )
    out = render(text, first_line=10)
    assert out.links == [("a.html", 10), ("b.html", 12), ("c.html", 13), ("d.html", 14)]
    assert out.images == [("i.png", 11), ("e.png", 15)]


def test_lines_not_moved_by_entities_that_decode_to_newlines():
    out = render("One&#10;two&#xA;three [x](x.html)\n[y](y.html)", first_line=1)
    assert out.links == [("x.html", 1), ("y.html", 2)]


def test_lines_in_headings_tables_quotes_and_lists():
    text = (
        "Setext `heading\nwraps` [h](h.html)\n"  # 1-2
        "===\n"  # 3
        "\n"
        "| a | b |\n|---|---|\n| `x` [c](c.html) | ![d](d.png) |\n"  # 5-7
        "\n"
        "> quoted `code\n> span` [q](q.html)\n"  # 9-10
        "\n"
        "- item `code\n  span` [l](l.html)\n"  # 12-13
    )
    out = render(text, first_line=1)
    assert out.links == [("h.html", 2), ("c.html", 7), ("q.html", 10), ("l.html", 13)]
    assert out.images == [("d.png", 7)]


# Inline constructs, most of them spanning lines in the source; none swallows what follows.
_WRAPPING = ["word", "plain\nbreak", "*em\nphasis*", "`code\nspan`", "``double `\n` ticks``"]
_WRAPPING += ["[text\nwraps](w)", "[t](w\n'title')", "![alt\ntext](\nw.png)", "<https://x.org>"]
_WRAPPING += ["$x\ny$", "<span\ntitle='x'>", "&amp;", "&#10;", "\\`not code\\`", "hard\\\nbreak"]


@settings(max_examples=80, deadline=None)
@given(st.lists(st.sampled_from([*_WRAPPING, "LINK", "IMAGE"]), max_size=14))
def test_link_and_image_lines_match_their_source_line_among_wrapped_inlines(parts):
    text, links, images = "", [], []
    for i, part in enumerate(parts):
        line = 50 + text.count("\n")
        if part == "LINK":
            text, links = text + f"[e](u{i}) ", [*links, (f"u{i}", line)]
        elif part == "IMAGE":
            text, images = text + f"![e](i{i}.png) ", [*images, (f"i{i}.png", line)]
        else:
            text += part + " "
    out = render(text, first_line=50)
    assert [link for link in out.links if link[0].startswith("u")] == links
    assert [image for image in out.images if image[0].startswith("i")] == images


def test_an_introduction_may_open_with_the_page_heading():
    parsed = parse_markdown("# My *T* $x$\n\nThe text.\n", Path("a.py"), 1)
    rendered = render_parsed(parsed, KATEX, lead_heading=True)
    assert rendered.heading.startswith('My <em>T</em> <span class="katex"')
    assert rendered.html == "<p>The text.</p>\n"
    assert render_parsed(parsed, KATEX).heading is None  # only where asked
    later = parse_markdown("Some text.\n\n# Not first\n", Path("a.py"), 1)
    assert render_parsed(later, KATEX, lead_heading=True).heading is None
