from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from site_builder.markdown import render_markdown
from site_builder.model import BuildError

PATH = Path("labml_like/demo.py")


def render(text, first_line=1):
    return render_markdown(text, PATH, first_line)


def test_math_is_tokenized_before_emphasis():
    html = render("Product $a*b*c$ and *emphasis*.").html
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
    assert "<table>" in out.html


def test_inline_code_highlighted_as_python_and_fences_by_language():
    html = render("Call `len(x)`.\n\n```bash\necho $HOME\n```\n\n```\nplain <text>\n```\n").html
    assert '<code class="code"><span class="nb">len</span>' in html
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


def test_prefetch_math_batches_then_render_hits_the_memo(monkeypatch):
    from site_builder import markdown, tex

    texts = ["One $q_{pre1}$.", "Two $$q_{pre2}$$ and $\\bad{$."]
    markdown.prefetch_math(texts)
    assert ("q_{pre1}", False) in tex._cache and ("q_{pre2}", True) in tex._cache

    def no_v8(items):
        assert all(key in tex._cache for key in items), "math was not prefetched"

    monkeypatch.setattr(markdown, "render_tex_many", no_v8)
    assert "katex" in render(texts[0]).html
    with pytest.raises(BuildError, match="TeX error"):
        render(texts[1])


def test_parsed_once_then_rendered_after_one_math_batch(monkeypatch):
    from site_builder import markdown, tex

    texts = ["Inline $a_{batch1}$ and `x = 1`.", "$$c_{batch2}$$\n\nSee [it](p.html)."]
    parsed = [markdown.parse_markdown(text, PATH, 3) for text in texts]
    assert [p.math for p in parsed] == [[("a_{batch1}", False)], [("c_{batch2}", True)]]
    tex.render_tex_many([m for p in parsed for m in p.math])

    def no_v8(items):
        assert all(key in tex._cache for key in items), "math was not batched"

    monkeypatch.setattr(markdown, "render_tex_many", no_v8)
    for text, one in zip(texts, parsed, strict=True):
        assert markdown.render_parsed(one) == render(text, first_line=3)


def test_local_images_get_their_intrinsic_size(tmp_path):
    page = Path(__file__).parents[1] / "labml_like/conv_mixer/__init__.py"
    html = render_markdown("![ConvMixer](conv_mixer.svg)", page, 1).html
    assert '<img src="conv_mixer.svg" alt="ConvMixer" width="880" height="580"' in html
    png = tmp_path / "my plot.png"  # a 3x2 PNG: signature, then the IHDR chunk's width and height
    png.write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0\0\0\0\0")
    html = render_markdown("![p](my%20plot.png)", tmp_path / "page.py", 1).html
    assert 'width="3" height="2"' in html
    for src in ("missing.png", "https://example.org/x.png", "/abs.png", "page.py"):
        (tmp_path / "page.py").write_text("x = 1\n")
        html = render_markdown(f"![x]({src})", tmp_path / "page.py", 1).html
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
