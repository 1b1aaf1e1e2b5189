import ast
import inspect
import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from site_builder.model import BuildError
from site_builder.parse import parse_markdown_page, parse_module

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path, source, name="mod.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(source).lstrip("\n"), encoding="utf-8")
    return path


def parse(tmp_path, source, name="mod.py"):
    return parse_module(write(tmp_path, source, name), name)


def by_id(module):
    return {s.id: s for s in module.sections}


SAMPLE = '''
    #!/usr/bin/env python
    r"""
    ---
    title: ConvMixer
    summary: Patches are all you need?
    ---

    # ConvMixer

    Mixes with $\\frac{a}{b}$.
    """

    import torch  # a trailing comment stays in the code

    # ## Layer
    #
    # Second paragraph.
    s = "# not a comment"
    t = """
    # not a comment either
    """


    @register
    class ConvMixerLayer:
        """
        ## ConvMixer layer
        """

        def forward(self, x):
            """Forward pass."""
            # Depthwise
            y = x
            #
            return y
'''


def test_front_matter_intro_and_sections(tmp_path):
    m = parse(tmp_path, SAMPLE)
    assert (m.title, m.summary) == ("ConvMixer", "Patches are all you need?")
    assert m.intro == "# ConvMixer\n\nMixes with $\\frac{a}{b}$."
    assert m.intro_line == 8
    assert [s.id for s in m.sections] == [
        "section-1",
        "section-2",
        "ConvMixerLayer",
        "ConvMixerLayer.forward",
        "ConvMixerLayer.forward-1",
        "ConvMixerLayer.forward-2",
    ]
    s = by_id(m)
    # Shebang is code; the trailing comment stays with its code line.
    assert s["section-1"].code == [
        (1, "#!/usr/bin/env python"),
        (12, ""),
        (13, "import torch  # a trailing comment stays in the code"),
    ]
    assert s["section-2"].docs == "## Layer\n\nSecond paragraph."
    assert s["section-2"].docs_line == 15
    assert [n for n, _ in s["section-2"].code] == [18, 19, 20, 21]
    # A docstring section takes the decorator and class header with it.
    layer = s["ConvMixerLayer"]
    assert (layer.kind, layer.scope, layer.docs, layer.docs_line) == (
        "docstring",
        "ConvMixerLayer",
        "## ConvMixer layer",
        27,
    )
    assert [n for n, _ in layer.code] == [24, 25]
    forward = s["ConvMixerLayer.forward"]
    assert forward.code == [(30, "    def forward(self, x):")]
    assert s["ConvMixerLayer.forward-1"].docs == "Depthwise"
    # A run of bare `#` ends the section: the code after it has no commentary.
    bare = s["ConvMixerLayer.forward-2"]
    assert (bare.kind, bare.docs, bare.code) == ("comment", "", [(35, "        return y")])


def test_comment_run_keeps_indentation_and_paragraphs(tmp_path):
    m = parse(
        tmp_path,
        """
        x = 1
        # Text
        #
        #     indented code block

        # after a blank line
        y = 2
        """,
    )
    (_, section) = m.sections
    assert section.docs == "Text\n\n    indented code block\n\nafter a blank line"
    assert section.docs_line == 2
    assert section.code == [(7, "y = 2")]


def test_title_falls_back_to_file_name(tmp_path):
    assert parse(tmp_path, "x = 1\n", "conv.py").title == "conv"
    (tmp_path / "pkg").mkdir()
    assert parse(tmp_path, '"""Intro."""\n', "pkg/__init__.py").title == "pkg"


def test_docstring_sharing_a_line_stays_code(tmp_path):
    m = parse(tmp_path, 'def f(): """doc"""; return 1\n')
    assert [(s.kind, s.code) for s in m.sections] == [
        ("comment", [(1, 'def f(): """doc"""; return 1')])
    ]


def test_comments_inside_a_header_are_its_code(tmp_path):
    """An old-style `# type:` comment before a docstring, a comment between decorators and one
    among the parameters belong to the header: the docstring's section takes them as code."""
    module = parse(
        tmp_path,
        '''
        @first
        # between decorators
        @second
        def f(
            a,  # trailing
            # on its own line
            b,
        ):
            # type: (int, int) -> int
            """Doc."""
            # After the docstring.
            return a
        ''',
    )
    sections = by_id(module)
    assert list(sections) == ["f", "f-1"]
    assert [n for n, _ in sections["f"].code] == list(range(1, 10))
    assert sections["f"].docs == "Doc." and sections["f"].docs_line == 10
    assert sections["f-1"].docs == "After the docstring."
    assert sections["f-1"].code == [(12, "    return a")]


def test_an_expression_nested_deeper_than_the_recursion_limit(tmp_path):
    """Python parses a sum of 2,000 terms (a tree 2,000 deep); the parse stage walks it too."""
    source = 'def f(a):\n    """Doc."""\n    return ' + " + ".join(["a"] * 2000) + "\n"
    ast.parse(source)
    module = parse(tmp_path, source)
    assert [s.id for s in module.sections] == ["f"] and module.sections[0].docs == "Doc."


def test_hash_and_quotes_inside_strings(tmp_path):
    source = r'''
        a = "# no"
        b = """
        # still a string
        \"\"\" escaped quotes
        """
        c = f"{'#'} {a!r} # x"
        d = '"""'
        # real comment
        e = 1
    '''
    m = parse(tmp_path, source)
    first, second = m.sections
    assert [n for n, _ in first.code] == [1, 2, 3, 4, 5, 6, 7]
    assert (second.docs, second.code) == ("real comment", [(9, "e = 1")])


def test_ids_stable_when_unrelated_function_gains_a_comment(tmp_path):
    before = (
        "def f():\n    # f one\n    return 1\n\n\n"
        'def g():\n    """G."""\n    # g one\n    x = 1\n    # g two\n    return x\n'
    )
    after = before.replace("    return 1", "    y = 2\n    # f two\n    return 1")
    ids_before = by_id(parse(tmp_path, before))
    ids_after = by_id(parse(tmp_path, after))
    assert "f-2" in ids_after and "f-2" not in ids_before
    for section_id in ("g", "g-1", "g-2"):
        assert ids_before[section_id].docs == ids_after[section_id].docs
    assert ids_after["g-1"].code[0][0] == ids_before["g-1"].code[0][0] + 2


def test_redefined_names_get_unique_ids(tmp_path):
    m = parse(
        tmp_path,
        """
        class A:
            @property
            def x(self):
                \"\"\"Getter.\"\"\"
                return 1

            @x.setter
            def x(self, v):
                \"\"\"Setter.\"\"\"
                pass
        """,
    )
    assert [s.id for s in m.sections] == ["section-1", "A.x", "A.x~2"]


def test_syntax_error(tmp_path):
    path = write(tmp_path, "x = 1\ndef f(:\n    pass\n")
    with pytest.raises(BuildError) as e:
        parse_module(path, "mod.py")
    assert (e.value.path, e.value.line) == (str(path), 2)
    assert e.value.message.startswith("syntax error:")


def test_yaml_error_reports_file_line(tmp_path):
    path = write(tmp_path, '"""\n---\ntitle: ok\nsummary: a: b\n---\nIntro\n"""\n')
    with pytest.raises(BuildError) as e:
        parse_module(path, "mod.py")
    assert e.value.message.startswith("invalid YAML front matter")
    assert e.value.line == 4


def test_yaml_error_line_with_mapping_mistake(tmp_path):
    source = '#!/usr/bin/env python\nr"""\n---\ntitle: a\n  bad: indent\n---\n"""\n'
    path = tmp_path / "m.py"
    path.write_text(source)
    with pytest.raises(BuildError) as e:
        parse_module(path, "m.py")
    assert e.value.line == 5


@pytest.mark.parametrize("libyaml", [True, False])
@pytest.mark.parametrize(
    "value, line, problem",
    [("b\x07c", 4, "character U+0007: "), ("a: b", 4, ""), ("'open", 4, "")],
)
def test_yaml_errors_are_one_line_at_their_line(
    tmp_path, monkeypatch, libyaml, value, line, problem
):
    if not libyaml:
        monkeypatch.delattr("yaml.CSafeLoader", raising=False)
    path = write(tmp_path, f'"""\n---\ntitle: T\nsummary: {value}\n---\n"""\n')
    with pytest.raises(BuildError) as e:
        parse_module(path, "mod.py")
    assert e.value.line in (line, line + 1)  # libyaml and PyYAML may mark the next line
    assert e.value.message.startswith(f"invalid YAML front matter: {problem}")
    assert "\n" not in str(e.value)


def test_unknown_front_matter_key_is_a_warning(tmp_path):
    path = write(tmp_path, '"""\n---\ntitle: Kept\nredirect: /elsewhere\n---\nIntro.\n"""\n')
    m = parse_module(path, "mod.py")
    assert (m.title, m.intro) == ("Kept", "Intro.")
    [warning] = m.warnings
    assert (warning.path, warning.line) == (str(path), 4)
    assert "'redirect'" in warning.message and "title and summary" in warning.message
    page = tmp_path / "readme.md"
    page.write_text("---\ntitle: Read me\ntags: [a, b]\n---\n# Heading\n")
    m = parse_markdown_page(page, "readme.md")
    assert m.title == "Read me" and [(w.line, "'tags'" in w.message) for w in m.warnings] == [
        (3, True)
    ]


def test_front_matter_title_must_be_a_string(tmp_path):
    path = write(tmp_path, '"""\n---\nsummary: fine\ntitle: [a, b]\n---\n"""\n')
    with pytest.raises(BuildError, match="'title' must be a string") as e:
        parse_module(path, "mod.py")
    assert e.value.line == 4


TEX_AS_WRITTEN = r"""
\frac{\partial L}{\partial x}, \beta, \nabla f, a \times b, \big( x \big), \sum_i, \mathbf{c},
\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise} \end{cases}, \vec{v}, \alpha, \rho, \tau
"""


def test_tex_in_a_plain_docstring_reads_as_written(tmp_path):
    body = TEX_AS_WRITTEN.strip()
    indented = body.replace("\n", "\n    ")
    m = parse(tmp_path, f'x = 1\n\n\ndef f():\n    """\n    {indented}\n    """\n    return 1\n')
    section = by_id(m)["f"]
    assert section.docs == body
    assert section.docs_line == 6
    assert not any(c in section.docs for c in "\a\b\f\t\v\r")
    [warning] = m.warnings
    assert warning.line == 6 and warning.message.startswith("docstring read as written")
    assert "\\f of \\frac as a form feed" in warning.message


def test_docstring_escaped_for_python_reads_like_the_raw_one(tmp_path):
    raw = parse(tmp_path, 'def f():\n    r"""$\\frac{a}{b}$ and $a \\\\ b$"""\n', "raw.py")
    escaped = parse(tmp_path, 'def f():\n    """$\\\\frac{a}{b}$ and $a \\\\\\\\ b$"""\n', "esc.py")
    assert escaped.sections[0].docs == raw.sections[0].docs == "$\\frac{a}{b}$ and $a \\\\ b$"
    assert raw.warnings == []
    [warning] = escaped.warnings
    assert warning.line == 2 and "as Python reads it (\\\\frac as \\frac)" in warning.message


def test_a_line_join_in_a_docstring_is_named_on_one_line(tmp_path):
    """`\\` at the end of a docstring's line (as in the standard library's `socket.py`)."""
    m = parse(tmp_path, 'def f():\n    """This \\\n    joins."""\n')
    [warning] = m.warnings
    assert "\n" not in str(warning)
    assert "Python reads a backslash at the end of a line as a line join" in warning.message


def test_docstring_line_numbers_follow_the_file(tmp_path):
    source = 'def f():\n    """\n    Split at `\\n`.\n\n    Then $\\frac{1}{2}$.\n    """\n'
    m = parse(tmp_path, source)
    assert m.sections[0].docs == "Split at `\\n`.\n\nThen $\\frac{1}{2}$."
    assert m.sections[0].docs_line == 3
    assert [w.line for w in m.warnings] == [3]  # one warning per docstring, at its first escape


def test_escapes_both_readings_agree_on_give_no_warning(tmp_path):
    """Escapes Python keeps as written (`\\sum`), and those only Python can mean (quotes,
    `\\u00e9`, `\\N{...}`: TeX has no use for them), read the same both ways."""
    source = (
        '"""Uses $\\sum_i \\mathbf{x}_i$, \\_ and a \\"quote\\"."""\n\n\n'
        "def f():\n    '''It\\'s caf\\u00e9 at 20\\N{DEGREE SIGN}, $\\lambda$.'''\n"
    )
    m = parse(tmp_path, source)
    assert m.intro == 'Uses $\\sum_i \\mathbf{x}_i$, \\_ and a "quote".'
    assert m.sections[0].docs == "It's café at 20°, $\\lambda$."
    assert m.warnings == []


TEX_WORDS = [
    "\\frac{a}{b}",
    "\\beta",
    "\\nabla",
    "\\times",
    "\\big(",
    "\\vec{v}",
    "\\\\",
    "\\sum",
    "\\_",
    "\\n",
    "x",
    "$",
    " ",
    "\n",
    "é",
]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(TEX_WORDS), max_size=12).map("".join))
def test_raw_and_escaped_docstrings_read_the_same(tmp_path_factory, body):
    folder = tmp_path_factory.mktemp("doc")

    def docs_and_warnings(literal: str) -> tuple[str, list]:
        path = folder / "mod.py"
        path.write_text(f"def f():\n    {literal}\n", encoding="utf-8")
        module = parse_module(path, "mod.py")
        return module.sections[0].docs, module.warnings

    expected = inspect.cleandoc(body + ".")
    escaped = body.replace("\\", "\\\\")
    assert docs_and_warnings(f'r"""{body}."""') == (expected, [])
    assert docs_and_warnings(f'"""{escaped}."""')[0] == expected
    if "\\\\" not in body:  # a plain docstring without `\\` is read as written
        assert docs_and_warnings(f'"""{body}."""')[0] == expected


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path):
    path = write(tmp_path, "x = 1\n")
    path.chmod(0)
    with pytest.raises(BuildError) as e:
        parse_module(path, "mod.py")
    assert e.value.line is None and e.value.message.startswith("cannot read")


def test_missing_file_directory_and_bad_encoding(tmp_path):
    with pytest.raises(BuildError, match="cannot read: Is a directory"):
        parse_module(tmp_path, "dir.py")
    with pytest.raises(BuildError, match="cannot read"):
        parse_module(tmp_path / "absent.py", "absent.py")
    path = tmp_path / "latin.py"
    path.write_bytes(b"x = 1\ns = '\xe9'\n")
    with pytest.raises(BuildError) as e:
        parse_module(path, "latin.py")
    assert e.value.line == 2 and e.value.message == "cannot read: not valid utf-8 (byte 11)"


@pytest.mark.parametrize(
    "codec, message",
    [
        ("rot13", "cannot read: the declared encoding 'rot13' is not a text encoding"),
        ("hex", "cannot read: the declared encoding 'hex' is not a text encoding"),
        ("base64", "cannot read: the declared encoding 'base64' is not a text encoding"),
        ("zlib", "cannot read: the declared encoding 'zlib' is not a text encoding"),
        ("undefined", "cannot read: not valid undefined, the declared encoding"),
        ("punycode", "cannot read: not valid punycode, the declared encoding"),
        ("no-such-codec", "cannot read: unknown encoding: no-such-codec"),
    ],
)
def test_a_declared_codec_that_cannot_decode_text_is_one_error_at_its_line(
    tmp_path, codec, message
):
    path = write(tmp_path, f"#!/usr/bin/env python\n# -*- coding: {codec} -*-\nx = 1\n")
    with pytest.raises(BuildError) as e:
        parse_module(path, "mod.py")
    assert (e.value.line, e.value.message) == (2, message)


def test_coding_cookie_is_honoured(tmp_path):
    path = tmp_path / "latin.py"
    path.write_bytes(b"# -*- coding: latin-1 -*-\ns = '\xe9'\n")
    m = parse_module(path, "latin.py")
    assert m.sections[0].code == [(1, "# -*- coding: latin-1 -*-"), (2, "s = 'é'")]


def test_markdown_page(tmp_path):
    path = tmp_path / "readme.md"
    path.write_text("---\ntitle: Home\n---\n\n# Welcome\n\nText.\n")
    m = parse_markdown_page(path, "readme.md")
    assert (m.title, m.intro, m.intro_line, m.sections) == ("Home", "# Welcome\n\nText.", 5, [])
    path.write_text("# Guide\n\nBody.\n")
    assert parse_markdown_page(path, "readme.md").title == "Guide"
    path.write_text("---\ntitle: a\nsummary: b: c\n---\n")
    with pytest.raises(BuildError) as e:
        parse_markdown_page(path, "readme.md")
    assert e.value.line == 3


# ---- Losslessness, on generated sources and on the project's own files ----

NAMES = st.sampled_from(["a", "b", "f", "Model", "forward"])
STATEMENTS = [
    [("x = 1", "code")],
    [('s = "# not a comment"', "code")],
    [('q = \'"""\'', "code")],
    [('m = """', "code"), ("# inside a string", "code"), ('"""', "code")],
    [("v = f\"{x!r} # {'#'}\"", "code")],
    [("z = 1 + \\", "code"), ("    2", "code")],
    [("call(1,  # trailing", "code"), ("     2)", "code")],
    [("t = 1  # trailing comment", "code")],
    [('def g(): """same line"""; return 1', "code")],
    [("# commentary with `code` and $x$", "comment")],
    [("#", "comment")],
    [("#   ", "comment")],
    [("", "blank")],
]


@st.composite
def blocks(draw, indent="", depth=0):
    lines = []
    for _ in range(draw(st.integers(0, 5))):
        choice = draw(st.integers(0, len(STATEMENTS) + (2 if depth < 2 else -1)))
        if choice < len(STATEMENTS):
            lines += [(indent + t if t else t, role) for t, role in STATEMENTS[choice]]
            continue
        keyword = "class" if choice == len(STATEMENTS) else "def"
        header = f"{keyword} {draw(NAMES)}" + (":" if keyword == "class" else "():")
        lines.append((indent + header, "code"))
        inner = indent + "    "
        doc = draw(st.sampled_from(["none", "one", "multi"]))
        if doc == "one":
            lines.append((inner + '"""Doc with # and \\"\\"\\" inside."""', "doc"))
        elif doc == "multi":
            lines += [
                (inner + 'r"""', "doc"),
                (inner + "Doc $\\alpha$", "doc"),
                (inner + '"""', "doc"),
            ]
        lines += draw(blocks(inner, depth + 1))
        lines.append((inner + "pass", "code"))
    return lines


def check_lossless(module, source):
    lines = source.split("\n")
    code = [c for s in module.sections for c in s.code]
    numbers = [n for n, _ in code]
    assert numbers == sorted(set(numbers)), "code lines out of order or repeated"
    for n, text in code:
        assert text == lines[n - 1]
    return set(numbers)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(blocks())
def test_lossless_on_generated_sources(tmp_path_factory, lines):
    source = "\n".join(text for text, _ in lines) + "\n"
    path = tmp_path_factory.mktemp("gen") / "gen.py"
    path.write_text(source)
    module = parse_module(path, "gen.py")
    present = check_lossless(module, source)
    for n, (text, role) in enumerate(lines, start=1):
        if role == "code" and text.strip():
            assert n in present, f"code line {n} lost: {text!r}"
        if role in ("comment", "doc"):
            assert n not in present, f"commentary line {n} shown as code: {text!r}"
    # Every commentary text line sits at its own line in some section's docs.
    docs_at = {}
    for s in module.sections:
        for k, text in enumerate(s.docs.split("\n")):
            docs_at[s.docs_line + k] = text
    for n, (text, role) in enumerate(lines, start=1):
        if role == "comment" and text.strip("# "):
            assert docs_at.get(n) == text.strip()[2:]
        if role == "doc" and "Doc" in text:
            assert docs_at.get(n, "").startswith("Doc")
    ids = [s.id for s in module.sections]
    assert len(ids) == len(set(ids))


def project_python_files():
    return sorted(p for d in ("labml_like", "site_builder") for p in (ROOT / d).rglob("*.py")) or [
        Path(__file__)
    ]


@pytest.mark.parametrize("path", project_python_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_lossless_on_project_files(path):
    source = path.read_text(encoding="utf-8")
    module = parse_module(path, str(path.relative_to(ROOT)))
    present = check_lossless(module, source)
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            value = body[0].value
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                docstring_lines.update(range(body[0].lineno, body[0].end_lineno + 1))
    for n, text in enumerate(source.split("\n")[: source.count("\n")], start=1):
        if n not in present:
            assert not text.strip() or text.strip().startswith("#") or n in docstring_lines, (
                f"{path}:{n} lost: {text!r}"
            )
