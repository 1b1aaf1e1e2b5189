"""The lesson pages stay short enough to read in one sitting (issue 20).

Every module of `labml_like/conv_mixer` and `labml_like/experiments` has at most 500 lines, and
at most 250 lines of code: lines that are not blank, not comments and not docstrings. The
machinery goes to `labml_like/tools`, which has no such limit.
"""

import ast
import io
import tokenize
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1] / "labml_like"
LESSONS = sorted([*ROOT.glob("conv_mixer/*.py"), *ROOT.glob("experiments/*.py")])
MAX_LINES, MAX_CODE = 500, 250


def code_lines(source: str) -> int:
    """The lines holding a token that is not a comment, minus the lines of docstrings."""
    docstrings: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                docstrings.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    layout = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    layout |= {tokenize.ENCODING, tokenize.ENDMARKER}
    code: set[int] = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in layout:
            code.update(range(token.start[0], token.end[0] + 1))
    return len(code - docstrings)


def test_code_lines_leave_out_comments_docstrings_and_blank_lines():
    source = '''"""A module docstring
over two lines."""

# a comment
def f(x):
    """f's docstring."""
    y = (x +
         1)  # a trailing comment
    return """a string
that is code"""
'''
    # def, the two lines of `y = ...`, and the two of the returned string.
    assert code_lines(source) == 5


def lesson_id(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", LESSONS, ids=lesson_id)
def test_every_lesson_page_can_be_read_in_one_sitting(path: Path):
    source = path.read_text(encoding="utf-8")
    lines, code = len(source.splitlines()), code_lines(source)
    assert lines <= MAX_LINES and code <= MAX_CODE, (
        f"{lesson_id(path)}: {lines} lines ({MAX_LINES} at most), {code} of code "
        f"({MAX_CODE} at most); move machinery to labml_like/tools"
    )
