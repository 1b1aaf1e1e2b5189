import re

from site_builder.highlight import (
    highlight_block,
    highlight_inline,
    highlight_module,
    single_name,
)
from site_builder.model import Section

SOURCE = 'x = """first\n# still the string\n"""\n\ndef f(a):\n    return a  # done\n'


def text_of(html):
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">")


def section(lines, section_id="s"):
    return Section(
        section_id, "comment", "", "", 1, [(n, SOURCE.split("\n")[n - 1]) for n in lines]
    )


def test_multiline_string_split_across_sections_stays_a_string():
    first, second = section([1, 2], "first"), section([3, 4, 5, 6], "second")
    html = highlight_module(SOURCE, [first, second])
    # Line 2 starts with "#", but it is inside the string: a string span, not a comment.
    assert (
        '<span class="line" id="L2"><span class="ln" aria-hidden="true">2</span>' in html["first"]
    )
    assert '<span class="s2"># still the string</span>' in html["first"]
    assert '<span class="s2">&quot;&quot;&quot;</span>' in html["second"] or (
        '<span class="s2">"""</span>' in html["second"]
    )
    assert '<span class="k">def</span> <span class="nf">f</span>' in html["second"]
    assert '<span class="c1"># done</span>' in html["second"]
    assert first == section([1, 2], "first")  # the sections are not changed


def test_line_numbers_and_text_preserved():
    html = highlight_module(SOURCE, [section([5, 6])])["s"]
    assert html.startswith('<pre class="code"><code>')
    rows = re.findall(r'<span class="line" id="L(\d+)"><span class="ln"[^>]*>(\d+)</span>', html)
    assert rows == [("5", "5"), ("6", "6")]
    body = html.removeprefix('<pre class="code"><code>').removesuffix("</code></pre>")
    assert [text_of(line)[1:] for line in body.split("\n")] == ["def f(a):", "    return a  # done"]


def test_spans_never_cross_lines():
    html = highlight_module(SOURCE, [section([1, 2, 3])])["s"]
    for line in html.split("\n"):
        assert line.count("<span") == line.count("</span>")


def test_empty_section_gets_no_markup():
    assert highlight_module(SOURCE, [Section("s", "comment", "", "Only prose.", 1)]) == {"s": ""}


class Asked:
    """A linker that records what it is asked and links the names in `links`."""

    def __init__(self, **links):
        self.links, self.asked = links, []

    def code_href(self, css, name, line, owner):
        self.asked.append((css, name, line, owner))
        return self.links.get(name)


def test_a_linker_is_asked_about_every_name_with_its_line_and_owner():
    source = "cfg = make()\nx = cfg.lr + cfg . lr + f(a).lr\nprint(x)  # x\n"
    linker = Asked(make="other.html#make", lr="#L9")
    html = highlight_module(
        source, [Section("s", "comment", "", "", 1, [(2, ""), (3, "")])], linker
    )
    assert linker.asked == [
        ("n", "cfg", 1, None),
        ("n", "make", 1, None),
        ("n", "x", 2, None),
        ("n", "cfg", 2, None),
        ("n", "lr", 2, "cfg"),  # owner: the plain name right before the dot
        ("n", "cfg", 2, None),
        ("n", "lr", 2, None),  # `cfg . lr`: spaces around the dot, no attribute access seen
        ("n", "f", 2, None),
        ("n", "a", 2, None),
        ("n", "lr", 2, ""),  # after a dot, but not after a plain name
        ("nb", "print", 3, None),
        ("n", "x", 3, None),
    ]
    assert '<a class="n xref" data-name="lr" href="#L9">lr</a>' in html["s"]
    assert '<span class="nb" data-name="print">print</span>' in html["s"]
    assert "make" not in html["s"]  # line 1 is in no section
    assert '<span class="c1"># x</span>' in html["s"]  # comments are not names


def test_inline_and_block():
    assert highlight_inline("len(x) < 2") == (
        '<code class="code"><span class="nb">len</span><span class="p">(</span>'
        '<span class="n">x</span><span class="p">)</span> <span class="o">&lt;</span> '
        '<span class="mi">2</span></code>'
    )
    assert 'class="language-bash"' in highlight_block("echo hi\n", "bash")
    assert highlight_block("<b>\n", "") == '<pre class="code"><code>&lt;b&gt;</code></pre>\n'


def test_inline_code_names():
    assert highlight_inline("len(x)", mark_names=True) == (
        '<code class="code"><span class="nb" data-name="len">len</span><span class="p">(</span>'
        '<span class="n" data-name="x">x</span><span class="p">)</span></code>'
    )
    assert [single_name(code) for code in ("Mixer", "x.y", "len", "Mixer ", "1")] == [
        "Mixer",
        None,  # three tokens
        None,  # a builtin, not a plain name
        None,  # a name and a space
        None,
    ]
