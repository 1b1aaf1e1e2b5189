"""TeX -> HTML+MathML at build time: KaTeX runs in-process in V8 (py_mini_racer), no Node needed.

`KatexRenderer` renders equations and memoizes the results by (tex, display). Crossing into V8
costs far more than a small equation takes to render, so `render_many` renders a whole batch in
one call (the build renders every equation of a page this way). V8 starts lazily, at the first
equation the memo lacks: a renderer given a memo that holds all of a build's math never starts it.
The memo is the caller's to keep across processes: `new_results` hands over what was rendered
since the last call, and `memo_key` names what the results depend on (KaTeX's version, our script
and how we compact its output).

V8 does not survive a fork: its threads stay in the parent, and a child forked after V8 started
can hang on a lock one of them held. Fork only while `v8_started()` is false (a fact about the
process, not about one renderer); a forked child drops the V8 context its renderers inherited and
refuses to start V8 if its parent had started it.
"""

import atexit
import hashlib
import html
import json
import os
import re
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, cast

from .lazy import lazy_module

if TYPE_CHECKING:
    from py_mini_racer import JSFunction, MiniRacer

py_mini_racer = lazy_module("py_mini_racer")  # V8 starts only when math needs rendering

KATEX_ENV = "SITE_BUILDER_KATEX"
BUNDLED_KATEX = Path(__file__).with_name("katex")
REINSTALL = "reinstall site-builder (or point $SITE_BUILDER_KATEX at an installed katex package)"

# Output HTML for sighted readers and MathML for screen readers. Commands that need KaTeX's trust
# option (\href, \url, \includegraphics, \htmlClass, \htmlId, \htmlStyle, \htmlData) are errors:
# with trust off KaTeX does not throw but draws their name in `errorColor`, so that colour is one
# no TeX can ask for (\color takes names and hex codes only) and its presence fails the equation.
_JS_RENDER = """
var UNTRUSTED = "rgb(204,0,1)";
var UNTRUSTED_NAME = /mathcolor="rgb\\(204,0,1\\)"><mtext>([^<]*)<\\/mtext>/;
var siteBuilderDone = [];
function siteBuilderRender(itemsJson) {
  siteBuilderDone = [];
  JSON.parse(itemsJson).forEach(([tex, display]) => siteBuilderDone.push(renderOne(tex, display)));
  return JSON.stringify(siteBuilderDone);
}
function siteBuilderTaken() {
  return JSON.stringify(siteBuilderDone);
}
function renderOne(tex, display) {
    try {
      var html = katex.renderToString(tex, {
        displayMode: display, output: "htmlAndMathml", throwOnError: true, trust: false,
        errorColor: UNTRUSTED,
      });
      if (html.indexOf(UNTRUSTED) < 0) return [true, html];
      var name = (UNTRUSTED_NAME.exec(html) || [null, "this command"])[1];
      return [false, name + " is not allowed: it needs KaTeX's trust option, which is off " +
        "(math may not add links, images, ids, classes or styles)"];
    } catch (e) {
      return [false, e instanceof katex.ParseError ? e.message : String(e)];
    }
}
"""
# A formula longer than this is refused unread, and one that takes longer than this (in seconds)
# is stopped: both are TeX errors. This project's longest formula has about 200 characters and
# renders in milliseconds; an 800-character one can expand to 80,000 symbols (`\def` repeating a
# long macro) and take 15 s, a 20,000-character one far longer.
MAX_TEX_CHARS = 10_000
TIME_LIMIT_S = 10.0


class TexError(Exception):
    """KaTeX rejected an equation (the message is KaTeX's own), or the equation is past a limit."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class KatexUnavailable(OSError):
    """KaTeX's script did not load (a damaged install): a fault of the machine, not the input."""


def katex_dist_dir() -> Path:
    """KaTeX's `dist` folder: $SITE_BUILDER_KATEX (an installed katex package, or its dist), else
    the copy that ships inside site_builder (`make katex` refreshes it from node_modules)."""
    override = os.environ.get(KATEX_ENV)
    katex_dir = Path(override) if override else BUNDLED_KATEX
    dist = katex_dir / "dist" if (katex_dir / "dist").is_dir() else katex_dir
    if (dist / "katex.min.js").is_file():
        return dist
    where = f"${KATEX_ENV}={override}" if override else str(BUNDLED_KATEX)
    raise FileNotFoundError(f"KaTeX not found ({where}): {REINSTALL}")


def katex_version() -> str:
    """The installed KaTeX's version: from its package.json, else from katex.min.js."""
    dist = katex_dist_dir()
    package = dist.parent / "package.json"
    if package.is_file():
        return json.loads(package.read_text(encoding="utf-8"))["version"]
    found = re.search(r'version:"([^"]+)"', (dist / "katex.min.js").read_text(encoding="utf-8"))
    return found.group(1) if found else "unknown"


# HTML parses <math> into the MathML namespace by itself, so KaTeX's xmlns attribute is dead weight
# (about 40 bytes a formula).
MATHML_NAMESPACE = ' xmlns="http://www.w3.org/1998/Math/MathML"'
# KaTeX keeps the TeX source in a MathML <annotation>, which no reader sees or hears. It moves to
# the outer span's `data-tex-key` instead, where a page groups repeated formulas by it; the markdown
# stage drops it from formulas that occur once on their page (10-15% of a formula's markup).
_TEX_ANNOTATION = re.compile(
    r'<span class="katex"><span class="katex-mathml"><math([^>]*)><semantics>(.*)'
    r'<annotation encoding="application/x-tex">(.*?)</annotation></semantics></math>',
    re.S,
)


def tex_key(tex: str) -> str:
    """A formula's `data-tex-key`: its TeX, trimmed, escaped for an attribute."""
    return html.escape(tex.strip(), quote=True)


def _compact(katex_html: str) -> str:
    """KaTeX's markup without the xmlns attribute, and with its TeX annotation as `data-tex-key`
    (escaped for an attribute, as KaTeX escapes it)."""

    def move(match: re.Match) -> str:
        attributes, mathml, tex = match.groups()
        key = tex_key(html.unescape(tex))
        return (
            f'<span class="katex" data-tex-key="{key}"><span class="katex-mathml">'
            f"<math{attributes}>{mathml}</math>"
        )

    return _TEX_ANNOTATION.sub(move, katex_html.replace(MATHML_NAMESPACE, ""), count=1)


_v8_pid: int | None = None  # the process that started V8 (inherited by a fork)
# V8 contexts a forked child inherited: kept, as closing one could hang
_inherited: list[object] = []


def v8_started() -> bool:
    """Whether V8 was started in this process or in one it was forked from."""
    return _v8_pid is not None


def _new_racer() -> "MiniRacer":
    """A V8 context on an event loop of its own. mini-racer adopts the calling thread's running
    asyncio loop when there is one (Jupyter's kernel, Playwright's sync API), and then refuses
    the time limit; made on a thread with no loop, it runs its own."""
    made: list[MiniRacer] = []
    thread = threading.Thread(target=lambda: made.append(py_mini_racer.MiniRacer()))
    thread.start()
    thread.join()
    return made[0]


def _start_v8() -> "tuple[MiniRacer, JSFunction]":
    """A new V8 context with KaTeX and our render function loaded, and that function."""
    global _v8_pid
    if _v8_pid is not None and _v8_pid != os.getpid():
        raise RuntimeError("KaTeX's V8 was started before this process was forked")
    path = katex_dist_dir() / "katex.min.js"
    script = path.read_text(encoding="utf-8", errors="replace")
    _v8_pid = os.getpid()
    context = _new_racer()
    try:
        context.eval(script)
        loaded = context.eval("typeof katex === 'object' && typeof katex.renderToString")
    except py_mini_racer.JSEvalException as e:
        problem = str(e).strip().split("\n")[-1][:200]  # V8 ends with the exception's text
        context.close()
        raise KatexUnavailable(
            None, f"KaTeX does not load ({problem}); {REINSTALL}", str(path)
        ) from None
    if loaded != "function":
        context.close()
        raise KatexUnavailable(None, "KaTeX does not load (no katex.renderToString)", str(path))
    context.eval(_JS_RENDER)
    return context, cast("JSFunction", context.eval("siteBuilderRender"))


class Formula(NamedTuple):
    """An equation to render: its TeX, and whether it is displayed (a block) or inline."""

    tex: str
    display: bool


Results = dict[tuple[str, bool], tuple[bool, str]]  # (tex, display) -> (ok, html or message)


class KatexRenderer:
    """Renders TeX with KaTeX, memoizing (tex, display) -> (ok, HTML or KaTeX's message).

    `memo` holds results from earlier builds (see `memo_key`); it is copied, not changed.
    Thread-safe; usable in a forked child (see the module's notes). `v8_calls` counts the calls
    into V8 this renderer made in this process."""

    def __init__(self, memo: Results | None = None, time_limit: float = TIME_LIMIT_S):
        """`time_limit`: the seconds one formula may take (see `TIME_LIMIT_S`)."""
        self.time_limit = time_limit
        self._memo: Results = dict(memo) if memo else {}
        self._known: set[str] = set()  # memo keys of the results given to `know`
        self._new: Results = {}
        self._pid = os.getpid()
        self._lock = threading.Lock()
        self._context: MiniRacer | None = None
        self._render_js: JSFunction | None = None
        self._calls = 0

    @property
    def v8_calls(self) -> int:
        return self._calls if self._pid == os.getpid() else 0

    @staticmethod
    def memo_key() -> str:
        """What rendered results depend on: KaTeX's version, our script and our compaction. A
        memo saved under another key must not be given to a renderer."""
        compacting = f"{MATHML_NAMESPACE}\0{_TEX_ANNOTATION.pattern}"
        options = f"{katex_version()}\0{_JS_RENDER}\0{compacting}".encode()
        return hashlib.blake2b(options, digest_size=8).hexdigest()

    def _own(self) -> threading.Lock:
        """This process's lock; in a forked child, drop what the parent's process owned."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._lock = threading.Lock()  # a thread of the parent may have held it
            if self._context is not None:  # the parent's: never called, not even to close it
                _inherited.append(self._context)
            self._context = self._render_js = None
            self._new = {}
            self._calls = 0
        return self._lock

    def render_many(self, items: Iterable[Formula | tuple[str, bool]]) -> None:
        """Render every (tex, display) pair not yet memoized, in one call into V8 (or one more
        after each formula the time limit stops)."""
        with self._own():
            todo = list(dict.fromkeys((tex, bool(display)) for tex, display in items))
            todo = [key for key in todo if key not in self._memo]
            for key in [key for key in todo if len(key[0]) > MAX_TEX_CHARS]:
                message = f"the formula has {len(key[0]):,} characters; at most {MAX_TEX_CHARS:,}"
                self._memo[key] = self._new[key] = (False, message)
            todo = [key for key in todo if key not in self._memo]
            while todo:  # one call, unless the time limit stops it
                done = self._render_within_limit(todo)
                for key, (ok, text) in zip(todo, done, strict=False):
                    self._memo[key] = self._new[key] = (ok, _compact(text) if ok else text)
                if not done:  # the first formula took the whole time: an error, left out of
                    # `_new` (kept by the cache), as a quieter machine may render it in time
                    message = f"KaTeX took more than {self.time_limit:g} s; simplify the formula"
                    self._memo[todo[0]] = (False, message)
                    done = [None]
                todo = todo[len(done) :]

    def _render_within_limit(self, todo: list[tuple[str, bool]]) -> list:
        """KaTeX's results for `todo`, or for those of its first formulas that it rendered before
        the time limit stopped it (V8 stays usable); the next call starts at the one stopped."""
        if self._context is None or self._render_js is None:
            self._context, self._render_js = _start_v8()
            atexit.register(self.close)  # left to garbage collection, teardown can hang
        context, render_js = self._context, self._render_js
        self._calls += 1
        try:
            return json.loads(str(render_js(json.dumps(todo), timeout_sec=self.time_limit)))
        except py_mini_racer.JSTimeoutException:
            return json.loads(str(context.eval("siteBuilderTaken()")))

    def render(self, tex: str, display: bool) -> str:
        """KaTeX's HTML for `tex`; raises TexError with KaTeX's message if the TeX is invalid."""
        key = (tex, bool(display))
        if key not in self._memo:
            self.render_many([key])
        ok, text = self._memo[key]
        if not ok:
            raise TexError(text)
        return text

    def know(self, memo_key: str, results: Results) -> None:
        """Take results rendered before (by another renderer; the cache keeps them under
        `memo_key`): they are not rendered again."""
        with self._own():
            for key, value in results.items():
                self._memo.setdefault(key, value)
            self._known.add(memo_key)

    def knows(self, memo_key: str) -> bool:
        """Whether this renderer was given the results kept under `memo_key`."""
        return memo_key in self._known

    def new_results(self) -> Results:
        """The results rendered in this process since the last call, for the caller to keep."""
        with self._own():
            taken, self._new = self._new, {}
            return taken

    def close(self) -> None:
        """Stop this renderer's V8 (it starts again if more math comes)."""
        with self._own():
            if self._context is not None:
                self._render_js = None
                self._context.close()
                self._context = None
                atexit.unregister(self.close)
