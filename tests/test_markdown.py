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
    assert 'encoding="application/x-tex">a*b*c</annotation>' in html
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
