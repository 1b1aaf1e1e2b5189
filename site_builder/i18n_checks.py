"""Checks of one translated entry against its English that catch what translators get wrong,
used by `i18n check` (`i18n.check_translation`):

- the glossary: an English term used needs its translation, standing for it: inside another
  term's translation it does not count ("channel" as 频道 is caught although 逐通道卷积,
  "depthwise convolution", contains 通道);
- numbers missing or changed, read as values so that a language may write them its own way
  (342 million as 3.42 亿 or 3億4200万, 1,638,400 as 163.84 万, full-width digits);
- list items merged or dropped;
- a character that may not start a line (`LINE_START`) at the start of one.
"""

import re
from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import NamedTuple, Protocol

from .commonmark import PARSER
from .sanitize import walk

# Closing punctuation that CJK typesetting keeps off the start of a line (kinsoku), as browsers
# do with `line-break: normal` (the long-vowel mark ー and small kana may start a line there): a
# line of a translation that starts with one shows it detached from its sentence. The
# contributing guide quotes this list; this is its one statement.
LINE_START = "。．，、；：！？）］｝」』》〉】〕”’・"

# A number standing alone (not inside a name like `conv2d`, `x1` or `v1.2b`), with a scale word
# or character after it: 342 million, 3.42 亿, 163.84 万.
_NUMBER = re.compile(
    r"(?<![A-Za-z0-9_.,])([0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(\.[0-9]+)?(?![A-Za-z0-9_]|[.,][0-9])"
    r"(?:\s*(thousand|million|billion|trillion)(?![A-Za-z])|\s*(千万|百万|万|萬|亿|億|兆))?",
    re.IGNORECASE,
)
_FULL_WIDTH = str.maketrans("０１２３４５６７８９．", "0123456789.")
_SCALE = {
    "thousand": Decimal(10) ** 3,
    "million": Decimal(10) ** 6,
    "billion": Decimal(10) ** 9,
    "trillion": Decimal(10) ** 12,
    "万": Decimal(10) ** 4,
    "萬": Decimal(10) ** 4,
    "百万": Decimal(10) ** 6,
    "千万": Decimal(10) ** 7,
    "亿": Decimal(10) ** 8,
    "億": Decimal(10) ** 8,
    "兆": Decimal(10) ** 12,
}


class GlossaryLike(Protocol):
    terms: dict[str, str]

    def term_pattern(self, term: str) -> re.Pattern: ...

    def uses_term(self, term: str, english: str) -> bool: ...

    exceptions: dict[str, list[str]]


def term_count(glossary: GlossaryLike, term: str, english: str) -> int:
    """How often `english` uses `term`, outside the term's exception phrases."""
    for phrase in glossary.exceptions.get(term, []):
        english = glossary.term_pattern(phrase).sub(lambda match: " " * len(match[0]), english)
    return len(glossary.term_pattern(term).findall(english))


def glossary_problems(glossary: GlossaryLike, english: str, translation: str) -> list[str]:
    """Each English term used n times needs its translation n times in `translation`, not
    counting those inside another term's translation whose English does not contain the term."""
    problems = []
    for term, target in glossary.terms.items():
        wanted = term_count(glossary, term, english)
        if not wanted or not target:
            continue
        text = translation
        for other, other_target in glossary.terms.items():
            inside = other_target != target and target in other_target
            if inside and not _joined(glossary, term, other, english):
                text = text.replace(other_target, "\0")
        if target not in text:
            problems.append(f"glossary: '{term}' should be translated as '{target}'")
    return problems


def _joined(glossary: GlossaryLike, term: str, other: str, english: str) -> bool:
    """Whether the other term's translation may stand for `term` too: its English contains the
    term ("channel mixing" for "channel"), or the English joins both ("convolution kernel",
    translated 卷积核, for "convolution" and "kernel")."""
    if glossary.term_pattern(term).search(other):
        return True
    first, second = glossary.term_pattern(term).pattern, glossary.term_pattern(other).pattern
    together = rf"(?:{first})[\s-]+(?:{second})|(?:{second})[\s-]+(?:{first})"
    return re.search(together, english, re.IGNORECASE) is not None


def in_english_notation(text: str, lang: str) -> str:
    """`text` with the numbers written in `lang`'s notation (CLDR's, through Babel: `3,14` and
    `1.638.400` in German, `1 638 400` in French) written as English writes them."""
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol, get_group_symbol

    try:
        locale = Locale.parse(lang.replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return text
    decimal, group = get_decimal_symbol(locale), get_group_symbol(locale)
    if (decimal, group) == (".", ","):
        return text
    groups = {group, "\u00a0", "\u202f"} if group.isspace() else {group}
    for symbol in groups:  # 1.638.400 -> 1638400
        text = re.sub(rf"(?<=[0-9]){re.escape(symbol)}(?=[0-9]{{3}}(?![0-9]))", "", text)
    return re.sub(rf"(?<=[0-9]){re.escape(decimal)}(?=[0-9])", ".", text)  # 3,14 -> 3.14


class Number(NamedTuple):
    value: Decimal  # with its scale word: 342 million -> 342000000
    written: Decimal  # the digits alone: 342 (a scale word Babel does not know, `Mio.`, follows)


def numbers(text: str, lang: str | None = None) -> list[Number]:
    """The numbers of a text: `1,638,400`, `163.84 万`, `3 億 4,200 万` (one number),
    `342 million`, full-width digits, and `lang`'s own notation; a number inside a word
    (`conv2d`) is not one."""
    text = text.translate(_FULL_WIDTH)
    if lang:
        text = in_english_notation(text, lang)
    found: list[Number] = []
    previous: tuple[int, Decimal] | None = None  # (end, scale) of the last one
    for match in _NUMBER.finditer(text):
        try:
            written = Decimal(match[1].replace(",", "") + (match[2] or ""))
        except InvalidOperation:
            continue
        scale = _SCALE.get((match[3] or match[4] or "").lower(), Decimal(1))
        value = written * scale
        after_previous = previous and not text[previous[0] : match.start()].strip()
        if previous and after_previous and previous[1] > scale:
            value += found.pop().value  # 3億 then 4200万: one number
            written = value
        found.append(Number(value, written))
        previous = (match.end(), scale)
    return found


def number_values(text: str, lang: str | None = None) -> Counter:
    return Counter(number.value for number in numbers(text, lang))


def number_problems(english: str, translation: str, lang: str | None = None) -> list[str]:
    """Numbers of the English that the translation (in `lang`) lacks (missing, or written with
    another value); numbers the translation adds (`第 1 步` for "the first step") are allowed.
    An English number with a scale word may be written with another one (3.42 million as
    `3,42 Mio.`): its digits alone then do."""
    values = Counter(number.value for number in numbers(translation, lang))
    digits = Counter(number.written for number in numbers(translation, lang))
    missing = []
    for number in numbers(english):
        if values[number.value] > 0:
            values[number.value] -= 1
        elif number.written != number.value and digits[number.written] > 0:
            digits[number.written] -= 1
        else:
            missing.append(number.value)
    if not missing:
        return []
    shown = ", ".join(_plain(value) for value in sorted(missing))
    return [f"numbers missing or changed: the English has {shown}"]


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text


def list_shapes(markdown: str) -> list[int]:
    """The number of items of each list, in order (nested lists too)."""
    shapes: list[int] = []
    open_lists: list[int] = []  # index into shapes of each list being read
    for token in walk(PARSER.parse(markdown)):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            open_lists.append(len(shapes))
            shapes.append(0)
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            open_lists.pop()
        elif token.type == "list_item_open" and open_lists:
            shapes[open_lists[-1]] += 1
    return shapes


def list_problems(english: str, translation: str) -> list[str]:
    """Lists with fewer or more items than the English's (a list missing or added altogether
    is the structure check's to report)."""
    source, target = list_shapes(english), list_shapes(translation)
    if source == target or len(source) != len(target):
        return []
    said = ", ".join(map(str, source))
    has = ", ".join(map(str, target))
    return [f"list items merged or dropped: the English's lists have {said} items; this has {has}"]


def line_start_problems(translation: str) -> list[str]:
    return [
        f"'{line.strip()[0]}' starts a line: join it to the sentence before"
        for line in translation.split("\n")
        if line.strip() and line.strip()[0] in LINE_START
    ]
