"""TeX as readable text for search excerpts (`mathtext.tex_as_text`)."""

import pytest

from site_builder.mathtext import tex_as_text


@pytest.mark.parametrize(
    ("tex", "text"),
    [
        ("d", "d"),
        (r"\mathbb{R}^{h \times n/p}", "ℝ^(h × n/p)"),
        (r"\frac{1}{\sqrt{d}}", "1/√d"),
        (r"\frac{a + b}{2}", "(a + b)/2"),
        (r"z_{l-1} = \mathrm{BN}\big(\sigma(x)\big)", "z_(l-1) = BN(σ(x))"),
        (r"\text{lr} \cdot \eta \le 1", "lr · η ≤ 1"),
        (r"\begin{aligned} a &= b \\ c &= d \end{aligned}", "a = b c = d"),
        (r"\lfloor n/p \rfloor", "⌊ n/p ⌋"),
    ],
)
def test_formulas_read_as_plain_text(tex, text):
    assert tex_as_text(tex) == text


def test_unknown_commands_keep_their_name_and_nothing_is_lost():
    assert tex_as_text(r"\operatorname{softmax}(x) + \mysterious{y}") == "softmax(x) + mysterious y"
