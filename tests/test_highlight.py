import re

from site_builder.highlight import highlight_block, highlight_inline, highlight_module
from site_builder.model import Section

SOURCE = 'x = """first\n# still the string\n"""\n\ndef f(a):\n    return a  # done\n'


def section(lines):
    return Section("s", "comment", "", "", 1, [(n, SOURCE.split("\n")[n - 1]) for n in lines])


def text_of(html):
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">")


def test_multiline_string_split_across_sections_stays_a_string():
    first, second = section([1, 2]), section([3, 4, 5, 6])
    highlight_module(SOURCE, [first, second])
    # Line 2 starts with "#", but it is inside the string: a string span, not a comment.
    assert (
        '<span class="line" id="L2"><span class="ln" aria-hidden="true">2</span>' in first.code_html
    )
    assert '<span class="s2"># still the string</span>' in first.code_html
    assert '<span class="s2">&quot;&quot;&quot;</span>' in second.code_html or (
        '<span class="s2">"""</span>' in second.code_html
    )
    assert '<span class="k">def</span> <span class="nf">f</span>' in second.code_html
    assert '<span class="c1"># done</span>' in second.code_html


def test_line_numbers_and_text_preserved():
    s = section([5, 6])
    highlight_module(SOURCE, [s])
    assert s.code_html.startswith('<pre class="code"><code>')
    rows = re.findall(
        r'<span class="line" id="L(\d+)"><span class="ln"[^>]*>(\d+)</span>', s.code_html
    )
    assert rows == [("5", "5"), ("6", "6")]
    body = s.code_html.removeprefix('<pre class="code"><code>').removesuffix("</code></pre>")
    assert [text_of(line)[1:] for line in body.split("\n")] == ["def f(a):", "    return a  # done"]


def test_spans_never_cross_lines():
    s = section([1, 2, 3])
    highlight_module(SOURCE, [s])
    for line in s.code_html.split("\n"):
        assert line.count("<span") == line.count("</span>")


def test_empty_section_gets_no_markup():
    s = Section("s", "comment", "", "Only prose.", 1)
    highlight_module(SOURCE, [s])
    assert s.code_html == ""


def test_inline_and_block():
    assert highlight_inline("len(x) < 2") == (
        '<code class="code"><span class="nb">len</span><span class="p">(</span>'
        '<span class="n">x</span><span class="p">)</span> <span class="o">&lt;</span> '
        '<span class="mi">2</span></code>'
    )
    assert 'class="language-bash"' in highlight_block("echo hi\n", "bash")
    assert highlight_block("<b>\n", "") == '<pre class="code"><code>&lt;b&gt;</code></pre>\n'
