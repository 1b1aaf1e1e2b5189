import html
import re

import pytest
from pygments.lexers import PythonLexer
from pygments.token import STANDARD_TYPES

from site_builder.highlight import (
    highlight_block,
    highlight_inline,
    highlight_module,
    plain_classes,
    pygments_css,
    reads_as_python,
    single_name,
)
from site_builder.model import Section

SOURCE = 'x = """first\n# still the string\n"""\n\ndef f(a):\n    return a  # done\n'


def text_of(html):
    return re.sub(r"<[^>]+>", "", html).replace("&lt;", "<").replace("&gt;", ">")


def pygments_classes(code: str) -> dict[str, str]:
    """Pygments' short CSS class of each piece of `code` (a token, cut at line ends), lexed
    whole: the classes the HTML must show, whichever release of Pygments is installed."""
    classes: dict[str, str] = {}
    for ttype, value in PythonLexer().get_tokens(code):
        while ttype not in STANDARD_TYPES:
            ttype = ttype.parent
        for piece in value.split("\n"):
            classes.setdefault(piece, STANDARD_TYPES[ttype])
    return classes


def token(css: str, text: str, name: bool = False) -> str:
    """A token as the HTML shows it: in a span of its class, unless the class looks like plain
    text in both themes and the token is not a marked name."""
    return text if css in plain_classes() and not name else f'<span class="{css}">{text}</span>'


def section(lines, section_id="s"):
    return Section(
        section_id, "comment", "", "", 1, [(n, SOURCE.split("\n")[n - 1]) for n in lines]
    )


def test_multiline_string_split_across_sections_stays_a_string():
    first, second = section([1, 2], "first"), section([3, 4, 5, 6], "second")
    html = highlight_module(SOURCE, [first, second])
    css = pygments_classes(SOURCE)
    # Line 2 starts with "#", but it is inside the string: a string span, not a comment.
    string = css["# still the string"]
    assert string == css['"""'] != pygments_classes("# still the string")["# still the string"]
    assert '<span class="line" id="L2" data-ln="2">' in html["first"]
    assert f'<span class="{string}"># still the string</span>' in html["first"]
    assert f'<span class="{string}">&quot;&quot;&quot;</span>' in html["second"] or (
        f'<span class="{string}">"""</span>' in html["second"]
    )
    assert f"{token(css['def'], 'def')} {token(css['f'], 'f')}" in html["second"]
    assert f'<span class="{css["# done"]}"># done</span>' in html["second"]
    assert first == section([1, 2], "first")  # the sections are not changed


def test_line_numbers_and_text_preserved():
    html = highlight_module(SOURCE, [section([5, 6])])["s"]
    assert html.startswith('<pre class="code" tabindex="0"><code>')  # a Tab stop where it scrolls
    rows = re.findall(r'<span class="line" id="L(\d+)" data-ln="(\d+)">', html)
    assert rows == [("5", "5"), ("6", "6")]
    body = html.removeprefix('<pre class="code" tabindex="0"><code>').removesuffix("</code></pre>")
    assert [text_of(line) for line in body.split("\n")] == ["def f(a):", "    return a  # done"]


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
    css = pygments_classes(source)
    n, nb = css["cfg"], css["print"]
    html = highlight_module(
        source, [Section("s", "comment", "", "", 1, [(2, ""), (3, "")])], linker
    )
    assert linker.asked == [
        (n, "cfg", 1, None),
        (n, "make", 1, None),
        (n, "x", 2, None),
        (n, "cfg", 2, None),
        (n, "lr", 2, "cfg"),  # owner: the plain name right before the dot
        (n, "cfg", 2, None),
        (n, "lr", 2, None),  # `cfg . lr`: spaces around the dot, no attribute access seen
        (n, "f", 2, None),
        (n, "a", 2, None),
        (n, "lr", 2, ""),  # after a dot, but not after a plain name
        (nb, "print", 3, None),
        (n, "x", 3, None),
    ]
    assert f'<a class="{n} xref" href="#L9">lr</a>' in html["s"]
    assert token(nb, "print", name=True) in html["s"]
    assert token(n, "x", name=True) == f'<span class="{n}">x</span>' in html["s"]  # marked
    assert "make" not in html["s"]  # line 1 is in no section
    assert f'<span class="{css["# x"]}"># x</span>' in html["s"]  # comments are not names


def test_inline_and_block():
    css = pygments_classes("len(x) < 2")
    assert highlight_inline("len(x) < 2") == (
        f'<code class="code">{token(css["len"], "len")}{token(css["("], "(")}'
        f"{token(css['x'], 'x')}{token(css[')'], ')')} "
        f"{token(css['<'], '&lt;')} {token(css['2'], '2')}</code>"
    )
    assert 'class="language-bash"' in highlight_block("echo hi\n", "bash")
    assert highlight_block("<b>\n", "") == '<pre class="code"><code>&lt;b&gt;</code></pre>\n'


def test_inline_code_names():
    css = pygments_classes("len(x)")
    assert highlight_inline("len(x)", mark_names=True) == (
        f'<code class="code">{token(css["len"], "len", name=True)}{token(css["("], "(")}'
        f"{token(css['x'], 'x', name=True)}{token(css[')'], ')')}</code>"
    )
    assert [single_name(code) for code in ("Mixer", "x.y", "len", "Mixer ", "1")] == [
        "Mixer",
        None,  # three tokens
        None,  # a builtin, not a plain name
        None,  # a name and a space
        None,
    ]


@pytest.mark.parametrize(
    "code",
    ["runs/<name>/metrics.jsonl", "~/.cache", "pyproject.toml", "--epochs", "make serve",
     "python -m labml_like.experiments.cifar10", "http://127.0.0.1:8000"],
)  # fmt: skip
def test_inline_code_that_is_no_python_is_shown_as_it_is(code):
    """A path or a command in prose is not coloured as Python (`data/cifar-10` parses as a
    division, `pyproject.toml` as an attribute, `--epochs` as two minus signs)."""
    assert not reads_as_python(code)
    assert highlight_inline(code) == f'<code class="code">{html.escape(code, quote=False)}</code>'


@pytest.mark.parametrize("code", ["nn.Conv2d", "k // 2", "[B, h, n/p, n/p]", "x = f(y)", "d"])
def test_inline_python_is_highlighted(code):
    assert reads_as_python(code) and "<span" in highlight_inline(code, mark_names=True)


def test_tokens_that_look_like_plain_text_get_no_span():
    """A class that both themes draw as plain text gets no rule in the stylesheet and no span
    in the HTML (names excepted: site.js finds them by their class)."""
    plain, css = plain_classes(), pygments_css()
    assert plain, "no class is plain: every token is wrapped in a span"
    for name in plain:
        assert not re.search(rf"\.{name}[,){{ ]", css), f".{name} has a rule"
    code = "f(a, b)"
    classes = pygments_classes(code)
    punctuation = classes["("]
    if punctuation in plain:  # Punctuation is plain in both of our themes today
        assert f'class="{punctuation}"' not in highlight_inline(code, mark_names=True)
