"""The site's Markdown dialect, read the same way by the translate stage (to sanitize a
translation) and the render stage (to render it).

CommonMark, plus tables, raw HTML and dollarmath (`$...$`, `$$...$$`). dollarmath turns math
into tokens before emphasis runs, so `$a*b*c$` stays intact. No math across a digit
("$5 and $10") or with inner edge spaces; `$$...$$` works inline too.
"""

from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

# Math token types, and whether each is display math.
MATH_DISPLAY = {
    "math_inline": False,
    "math_inline_double": True,
    "math_block": True,
    "math_block_label": True,
}


def markdown_parser() -> MarkdownIt:
    """A new parser for the dialect (a renderer adds its render rules to its own)."""
    md = MarkdownIt("commonmark", {"html": True}).enable("table")
    md.use(dollarmath_plugin, allow_digits=False, allow_space=False, double_inline=True)
    return md


PARSER = markdown_parser()  # shared by readers that only parse
