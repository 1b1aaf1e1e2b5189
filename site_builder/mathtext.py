"""TeX as plain text a reader can follow, for search excerpts: `$d$-vector` stays "d-vector" and
`$\\mathbb{R}^{h \\times w}$` reads "ℝ^h × w", where the rendered page's visible text would be a
heap of KaTeX glyph boxes (and the index would lose the formula altogether).

Greek letters and common operators become their Unicode characters, layout and font commands are
dropped with their braces, and `\\frac{a}{b}` reads "a/b". Anything else keeps its name without
the backslash; this is for reading in a result list, never for rendering.
"""

import re

GREEK_NAMES = (
    "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi pi rho sigma tau "
    "upsilon phi chi psi omega Gamma Delta Theta Lambda Xi Pi Sigma Upsilon Phi Psi Omega"
)
GREEK = dict(zip(GREEK_NAMES.split(), "αβγδεζηθικλμνξπρστυφχψωΓΔΘΛΞΠΣΥΦΨΩ", strict=True))
SYMBOLS = {
    **GREEK,
    "varepsilon": "ε",
    "varphi": "φ",
    "vartheta": "θ",
    "times": "×",
    "cdot": "·",
    "le": "≤",
    "leq": "≤",
    "ge": "≥",
    "geq": "≥",
    "ne": "≠",
    "neq": "≠",
    "approx": "≈",
    "in": "∈",
    "pm": "±",
    "to": "→",
    "rightarrow": "→",
    "mapsto": "↦",
    "infty": "∞",
    "partial": "∂",
    "nabla": "∇",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "sqrt": "√",
    "dots": "…",
    "ldots": "…",
    "cdots": "⋯",
    "top": "ᵀ",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "lceil": "⌈",
    "rceil": "⌉",
}
# Commands that only choose a font, a size or a spacing: their argument (if any) is kept.
LAYOUT = {
    "mathrm", "mathbf", "mathit", "mathsf", "mathtt", "mathcal", "boldsymbol", "text", "textrm",
    "textbf", "textit", "operatorname", "left", "right", "big", "Big", "bigg", "Bigg",
    "displaystyle", "hat", "bar", "tilde", "vec", "limits",
}  # fmt: skip
BLACKBOARD = {"R": "ℝ", "N": "ℕ", "Z": "ℤ", "Q": "ℚ", "C": "ℂ"}

_FRAC = re.compile(r"\\[dt]?frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}")
_SQRT = re.compile(r"\\sqrt\s*\{([^{}]*)\}")
_SCRIPT = re.compile(r"([_^])\s*\{([^{}]*)\}")
_LAYOUT_ARGUMENT = re.compile(r"\\(?:" + "|".join(sorted(LAYOUT)) + r")\s*\{([^{}]*)\}")
_BLACKBOARD = re.compile(r"\\mathbb\s*\{\s*([A-Z])\s*\}")
_SPACE = re.compile(r"\\[,;:! ]|\\q?quad\b|~")
_COMMAND = re.compile(r"\\([A-Za-z]+)")
_ENVIRONMENT = re.compile(r"\\(?:begin|end)\s*\{[^{}]*\}")


def _grouped(text: str) -> str:
    """`text`, in parentheses unless it reads as one symbol."""
    text = text.strip()
    return text if re.fullmatch(r"[√]?[\w.']*", text) else f"({text})"


def _fraction(match: re.Match) -> str:
    return f"{_grouped(match[1])}/{_grouped(match[2])}"


def _command(match: re.Match) -> str:
    name = match.group(1)
    if name in LAYOUT:
        return ""
    return SYMBOLS.get(name, f" {name} ")


def tex_as_text(tex: str) -> str:
    """A readable plain-text form of the formula `tex` (see the module's notes)."""
    text = _BLACKBOARD.sub(lambda m: BLACKBOARD.get(m.group(1), m.group(1)), tex)
    text = _ENVIRONMENT.sub(" ", text).replace("\\\\", " ")  # and line breaks
    text = _SPACE.sub(" ", text)
    for _ in range(8):  # nested arguments, innermost first
        before = text
        text = _LAYOUT_ARGUMENT.sub(r"\1", text)
        text = _SQRT.sub(lambda m: "√" + _grouped(m[1]), text)
        text = _FRAC.sub(_fraction, text)
        text = _SCRIPT.sub(lambda m: m[1] + _grouped(_COMMAND.sub(_command, m[2])), text)
        if text == before:
            break
    text = _COMMAND.sub(_command, text)
    text = text.replace("&", " ").replace("{", "").replace("}", "")
    text = re.sub(r"\s*([×·≤≥≠≈∈±→↦=+<>])\s*", r" \1 ", text)
    return " ".join(text.split())
