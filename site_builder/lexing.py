"""Pygments' regex lexers with one regex call per token: the highlight stage's tokenizer.

A Pygments `RegexLexer` tries the rules of its current state in order, one `re` call each, and
takes the first that matches. A plain name in Python code comes after about 30 rules of the
Python lexer's root state, so lexing spends most of its time in calls that fail. `lex(lexer,
text)` joins a state's rules into one alternation, `A(?P<r0>)|B(?P<r1>)|...`, which `re` tries
in the same order, in C. Matched at a position, with nothing after it, the join matches what
the first rule that matches would match alone, and the empty group after it (the last group to
close) names that rule. The rules' own groups are made non-capturing in the join, so that `re`
can skip an alternative whose first character cannot match; a rule with a callback (`bygroups`,
`using`) is matched again on its own, to give the callback the match object it expects. On the
benchmark corpus this lexes about 4 times as fast (benchmarks/lexing.py).

The tokens are the same as `lexer.get_tokens_unprocessed(text)` gives (tests/test_lexing.py
compares them). A state of few rules, or with a pattern that cannot be joined safely (one that
refers to a group, which the join would renumber; flags that cannot be scoped to it; a join that
does not compile), is lexed rule by rule, as Pygments does, and a lexer with a loop of its own
(not a plain `RegexLexer`) lexes itself.
"""

import functools
import re
from collections.abc import Callable, Iterator
from typing import Any

from pygments.lexer import Lexer, RegexLexer
from pygments.token import Error, Text, _TokenType

# A state of fewer rules is matched rule by rule: a few failed calls cost less than compiling a
# join (Python's `funcname` state has 3 rules, and a join of them takes 15 ms to compile).
JOIN_MIN_RULES = 6
Rule = tuple[Callable[..., Any], Any, Any]  # Pygments' (pattern.match, action, new state)


class _State:
    """One state's rules, and their join (None when the state is matched rule by rule)."""

    def __init__(self, rules: list[Rule]):
        self.rules = rules
        self.joined: re.Pattern | None = None
        if len(rules) < JOIN_MIN_RULES:
            return
        alternatives = [_alternative(rexmatch) for rexmatch, _, _ in rules]
        if None in alternatives:
            return
        # Each alternative is followed by an empty group that names its rule: the only groups
        # in the join, so rule n's is group n + 1, and the last one closed.
        parts = [f"{text}(?P<r{number}>)" for number, text in enumerate(alternatives)]
        try:
            self.joined = re.compile("|".join(parts))
        except (re.error, TypeError, ValueError, OverflowError):
            self.joined = None


# Flags a pattern can carry into the join as a scoped group, (?im:...); the others (verbose,
# whose comments would swallow what follows the pattern, and locale) keep the state unjoined.
_SCOPED_FLAGS = {re.IGNORECASE: "i", re.MULTILINE: "m", re.DOTALL: "s", re.ASCII: "a"}
_OTHER_FLAGS = ~(re.IGNORECASE | re.MULTILINE | re.DOTALL | re.ASCII | re.UNICODE)
_LEADING_FLAGS = re.compile(r"(?:\(\?[aiLmsux]+\))+")  # global flags open a pattern: (?i)
_GROUP_REFERENCE = re.compile(r"\(\?\(|\(\?P=")  # (?(1)yes|no), (?P=name)


def _alternative(rexmatch: Callable[..., Any]) -> str | None:
    """A rule's pattern as one alternative of a join: its flags scoped to it, its groups made
    non-capturing; None if it cannot be joined (see the module's notes)."""
    pattern = _pattern(rexmatch)
    if pattern is None or pattern.flags & _OTHER_FLAGS or _refers_to_groups(pattern.pattern):
        return None
    lead = _LEADING_FLAGS.match(pattern.pattern)
    text = _without_captures(pattern.pattern[lead.end() if lead else 0 :])
    letters = "".join(letter for flag, letter in _SCOPED_FLAGS.items() if pattern.flags & flag)
    return f"(?{letters}:{text})"


def _without_captures(pattern: str) -> str:
    """`pattern` with its groups, named or not, made non-capturing. The join needs no more than
    what a rule matched as a whole, and `re` skips an alternative at once when its first
    character cannot match there, unless a group opens it."""
    out: list[str] = []
    at, end, in_class = 0, len(pattern), False
    while at < end:
        char, step = pattern[at], 1
        if char == "\\":
            step = 2  # an escaped character, also inside a class
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            # a "]" right after "[" or "[^" is a character of the class
            step += pattern[at + 1 :].startswith("^")
            step += pattern[at + step :].startswith("]")
        elif char == "(" and pattern.startswith("(?P<", at):
            out.append("(?:")
            at = pattern.index(">", at) + 1
            continue
        elif char == "(" and not pattern.startswith("(?", at):
            out.append("(?:")
            at += 1
            continue
        out.append(pattern[at : at + step])
        at += step
    return "".join(out)


def _pattern(rexmatch: Callable[..., Any]) -> re.Pattern | None:
    """The compiled str pattern behind a rule's match function, or None if it is something
    else (a lexer may make its own)."""
    pattern = getattr(rexmatch, "__self__", None)
    is_match = getattr(rexmatch, "__name__", "") == "match"
    if is_match and isinstance(pattern, re.Pattern) and isinstance(pattern.pattern, str):
        return pattern
    return None


def _refers_to_groups(pattern: str) -> bool:
    """Whether `pattern` may refer to a group: a backslash and a digit (a back reference, or an
    octal escape, which is kept apart to be safe), a conditional or a named reference."""
    if _GROUP_REFERENCE.search(pattern):
        return True
    escaped = False
    for char in pattern:
        if escaped and char.isdigit():
            return True
        escaped = not escaped and char == "\\"
    return False


class _States(dict[str, _State]):
    """A lexer's states, each joined when the lexer first enters it: a join takes about as long
    to compile as its patterns did one by one, and most text reaches a few states only."""

    def __init__(self, lexer_class: type[RegexLexer]):
        super().__init__()
        # made by Pygments' metaclass when the class makes its first lexer (untyped)
        self.rules: dict[str, list[Rule]] = lexer_class._tokens  # type: ignore[attr-defined]

    def __missing__(self, name: str) -> _State:
        state = self[name] = _State(self.rules[name])
        return state


@functools.cache
def _states(lexer_class: type[RegexLexer]) -> _States:
    return _States(lexer_class)


def lex(lexer: Lexer, text: str) -> Iterator[tuple[int, _TokenType, str]]:
    """(position, token type, text) for each token of `text`, as
    `lexer.get_tokens_unprocessed(text)` gives them."""
    plain = type(lexer).get_tokens_unprocessed is RegexLexer.get_tokens_unprocessed
    if not (plain and isinstance(lexer, RegexLexer)):
        yield from lexer.get_tokens_unprocessed(text)
        return
    states = _states(type(lexer))
    stack = ["root"]
    state = states["root"]
    pos, end = 0, len(text)
    while True:
        found, rule = None, None
        if state.joined is not None:
            found = state.joined.match(text, pos)
            if found is not None:
                rule = state.rules[(found.lastindex or 1) - 1]
        else:
            for candidate in state.rules:
                found = candidate[0](text, pos)
                if found is not None:
                    rule = candidate
                    break
        if found is None or rule is None:
            # No rule matches: as in Pygments, a line end starts again at root, and any other
            # character is an error token of its own.
            if pos >= end:
                return
            if text[pos] == "\n":
                stack = ["root"]
                state = states["root"]
                yield pos, Text.Whitespace, "\n"
            else:
                yield pos, Error, text[pos]
            pos += 1
            continue
        rexmatch, action, new_state = rule
        if type(action) is _TokenType:
            yield pos, action, found.group()  # the joined match is the rule's own match
        elif action is not None:
            yield from action(lexer, rexmatch(text, pos) if state.joined else found)
        pos = found.end()
        if new_state is not None:
            _transition(stack, new_state)
            state = states[stack[-1]]


def _transition(stack: list[str], new_state: Any) -> None:
    """Apply a rule's state change as Pygments does: a tuple of state names, "#pop" and
    "#push"; a negative number of states to pop (the root always stays); or "#push"."""
    if isinstance(new_state, tuple):
        for name in new_state:
            if name == "#pop":
                if len(stack) > 1:
                    stack.pop()
            elif name == "#push":
                stack.append(stack[-1])
            else:
                stack.append(name)
    elif isinstance(new_state, int):
        if abs(new_state) >= len(stack):
            del stack[1:]
        else:
            del stack[new_state:]
    elif new_state == "#push":
        stack.append(stack[-1])
    else:
        raise ValueError(f"wrong state definition: {new_state!r}")
