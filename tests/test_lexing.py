"""lexing.lex gives exactly the tokens of Pygments' own loop (`get_tokens_unprocessed`): on the
standard library, on this repository's files in each fence language (and in every other one),
on generated Python, and on short runs of the characters that change a lexer's state."""

import sysconfig
from pathlib import Path

import hypothesmith
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from pygments.lexer import RegexLexer, bygroups, default, include
from pygments.lexers import PythonLexer, get_lexer_by_name
from pygments.token import (
    Comment,
    Keyword,
    Name,
    Operator,
    Punctuation,
    String,
    Whitespace,
)

from site_builder.lexing import _states, lex

REPO = Path(__file__).resolve().parents[1]
STDLIB = Path(sysconfig.get_paths()["stdlib"])
# Every 12th module of the standard library's top level, and whole packages with f-strings,
# decorators, async code and odd literals.
STDLIB_FILES = sorted(STDLIB.glob("*.py"))[::12] + sorted((STDLIB / "json").glob("*.py"))
STDLIB_FILES += [
    STDLIB / "asyncio" / "base_events.py",
    STDLIB / "email" / "_header_value_parser.py",
]

# Languages of code fences, each with the files of this repository written in it (if any).
LANGUAGES = {
    "python": ["labml_like/conv_mixer/__init__.py"],
    "ipython3": [],
    "toml": ["pyproject.toml"],
    "bash": [".ci/run"],
    "make": ["Makefile"],
    "css": ["site_builder/static/site.css"],
    "javascript": ["site_builder/static/site.js"],
    "html": ["site_builder/templates/page.html"],
    "json": ["package.json"],
    "markdown": ["README.md"],
    **{language: [] for language in ("yaml", "ini", "diff", "rust", "perl", "rst", "latex", "sql")},
}
# Files every language is tried on: most are garbage to a lexer, which reaches error tokens and
# states its own language rarely enters.
EVERY_LANGUAGE_FILES = [
    "site_builder/lexing.py",
    "site_builder/static/site.css",
    "README.md",
    "package.json",
]


def pygments_tokens(lexer, text: str) -> list:
    return list(lexer.get_tokens_unprocessed(text))


def our_tokens(lexer, text: str) -> list:
    return list(lex(lexer, text))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace")


@pytest.mark.parametrize("path", STDLIB_FILES, ids=lambda p: p.relative_to(STDLIB).as_posix())
def test_the_standard_library_lexes_as_pygments_lexes_it(path):
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    text = read(path)
    assert our_tokens(lexer, text) == pygments_tokens(lexer, text)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_every_language_lexes_as_pygments_lexes_it(language):
    lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    paths = [REPO / rel for rel in dict.fromkeys(LANGUAGES[language] + EVERY_LANGUAGE_FILES)]
    for path in paths:
        text = read(path)
        assert our_tokens(lexer, text) == pygments_tokens(lexer, text), path


def test_both_paths_are_taken():
    """The lexers tested above join most states into one pattern, and keep a few rule by rule
    (Bash's root refers to a group by number): both loops are tested. Lexers that are not plain
    RegexLexers (JSON, YAML, Make) are Pygments' own."""
    joined, kept = set(), set()
    for language in LANGUAGES:
        lexer = get_lexer_by_name(language)
        if type(lexer).get_tokens_unprocessed is not RegexLexer.get_tokens_unprocessed:
            continue
        text = read(REPO / "README.md") + read(REPO / "site_builder" / "lexing.py")
        our_tokens(lexer, text)
        for name, state in _states(type(lexer)).items():
            (joined if state.joined is not None else kept).add((language, name))
    assert ("python", "root") in joined and ("bash", "root") in kept
    assert len(joined) > 20 and len(kept) >= 3


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(hypothesmith.from_grammar())
def test_generated_python_lexes_as_pygments_lexes_it(source):
    lexer = PythonLexer(stripnl=False, ensurenl=False)
    assert our_tokens(lexer, source) == pygments_tokens(lexer, source)


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("ab1_ \t\n#'\"\\{}()[]:.=+-*/@$<>`f'rbu")), max_size=80),
    st.sampled_from(["python", "bash", "toml", "rust", "perl", "css"]),
)
def test_fragments_lex_as_pygments_lexes_them(text, language):
    """Short runs of the characters that open and close strings, comments and brackets: where
    states are entered and left, and where no rule matches."""
    lexer = get_lexer_by_name(language, stripnl=False, ensurenl=False)
    assert our_tokens(lexer, text) == pygments_tokens(lexer, text)


class StateChanges(RegexLexer):
    """Not a language: every kind of state change and action a RegexLexer has, to check the
    loop on them (the root pops itself; tuples push, pop and push again; `#pop:n` pops past the
    root; `default` enters a state without a character; callbacks; a back reference)."""

    name = "state changes"
    tokens = {
        "root": [
            (r"\)", Punctuation, "#pop"),
            (r"\}", Punctuation, ("#pop", "#pop", "block")),
            (r"\(", Punctuation, "#push"),
            (r"\[", Punctuation, ("inner", "inner")),
            (r"(?i)begin\b", Keyword, "block"),
            (r"(\w+)(=)", bygroups(Name.Variable, Operator)),
            (r'"', String, "string"),
            (r"#.*$", Comment),
            (r"\s+", Whitespace),
            (r"\w+", Name),
        ],
        "inner": [
            (r"\]\]", Punctuation, "#pop:5"),
            (r"\]", Punctuation, "#pop:2"),
            include("root"),
        ],
        "block": [
            (r"(?i)end\b", Keyword, "#pop"),
            (r"\(", Punctuation, ("#push",)),
            (r"\{", Punctuation, ("#push", "#pop", "inner")),
            (r";", Punctuation),
            (r"[ \t]+", Whitespace),
            (r"\w+", Name.Other),
            default("inner"),
        ],
        "string": [
            (r"(\w)\1", String.Double),  # a back reference: this state goes rule by rule
            (r'"', String, "#pop"),
            (r'[^"\\\n]', String),
            (r"\\.", String.Escape),
        ],
    }


@settings(max_examples=300, deadline=None)
@example("}end x")  # the root stays when a tuple pops it: `x` is a name of the root state
@example("[]]] x")  # `#pop:5` past the root leaves the root: the third `]` is an error
@example("begin(end end x")  # ("#push",) in a block pushes a block: `end` twice to leave
@example("begin x (end")  # "#push" in the root pushes the root: `end` is a name there
@given(st.lists(st.sampled_from([*'()[]{};="\\#\n \t', "begin", "END", "aa", "x"])).map("".join))
def test_every_kind_of_state_change_goes_as_in_pygments(text):
    lexer = StateChanges(stripnl=False, ensurenl=False)
    assert our_tokens(lexer, text) == pygments_tokens(lexer, text)
    states = _states(StateChanges)
    assert "string" not in states or states["string"].joined is None
