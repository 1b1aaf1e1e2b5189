"""TeX -> HTML+MathML at build time: KaTeX runs in-process in V8 (py_mini_racer), no Node needed.

One V8 context is created lazily and reused; results are memoized by (tex, display). Crossing
into V8 costs far more than a small equation takes to render, so `render_tex_many` renders a
whole batch in one call (the build renders every equation of a page this way).

Rebuilds keep the memo on disk (`use_disk_cache`): it is read the first time an equation is not
in memory, before V8 would start, so editing prose around known math never starts V8. The file is
named by KaTeX's version and our options and keeps the `DISK_CACHE_ENTRIES` most recent results.

V8 does not survive a fork: its threads stay in the parent, and a child forked after V8 started
can hang on a lock one of them held. Fork only while `v8_started()` is false; a forked child
drops any inherited context and refuses to use V8 started by its parent.
"""

import atexit
import hashlib
import html
import json
import os
import pickle
import re
import threading
from pathlib import Path

KATEX_ENV = "SITE_BUILDER_KATEX"

# Output HTML for sighted readers and MathML for screen readers. Commands that need KaTeX's trust
# option (\href, \url, \includegraphics, \htmlClass, \htmlId, \htmlStyle, \htmlData) are errors:
# with trust off KaTeX does not throw but draws their name in `errorColor`, so that colour is one
# no TeX can ask for (\color takes names and hex codes only) and its presence fails the equation.
_JS_RENDER = """
var UNTRUSTED = "rgb(204,0,1)";
var UNTRUSTED_NAME = /mathcolor="rgb\\(204,0,1\\)"><mtext>([^<]*)<\\/mtext>/;
function siteBuilderRender(itemsJson) {
  return JSON.stringify(JSON.parse(itemsJson).map(([tex, display]) => {
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
  }));
}
"""


class TexError(Exception):
    """KaTeX rejected an equation; the message is KaTeX's own."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def katex_dist_dir() -> Path:
    """`node_modules/katex/dist`: found via $SITE_BUILDER_KATEX, else by walking up from the
    current directory and from this file's directory."""
    override = os.environ.get(KATEX_ENV)
    if override:
        candidates = [Path(override)]
    else:
        starts = [Path.cwd().resolve(), Path(__file__).resolve().parent]
        candidates = [d / "node_modules" / "katex" for s in starts for d in (s, *s.parents)]
    for katex_dir in candidates:
        dist = katex_dir / "dist" if (katex_dir / "dist").is_dir() else katex_dir
        if (dist / "katex.min.js").is_file():
            return dist
    where = f"${KATEX_ENV}={override}" if override else "node_modules/katex"
    raise FileNotFoundError(
        f"KaTeX not found ({where}): run `npm ci` in the project root "
        f"(or point ${KATEX_ENV} at an installed katex package)"
    )


def katex_version() -> str:
    package = katex_dist_dir().parent / "package.json"
    if package.is_file():
        return json.loads(package.read_text(encoding="utf-8"))["version"]
    return _context().eval("katex.version")


_lock = threading.Lock()
_cache: dict[tuple[str, bool], tuple[bool, str]] = {}
_ctx = None
_render_js = None
_v8_pid = None  # the process that started V8, which only it can use
DISK_CACHE_ENTRIES = 40_000
_disk_folder: Path | None = None
_disk_loaded = True  # nothing to read until a folder is set
_unsaved: dict[tuple[str, bool], tuple[bool, str]] = {}  # rendered since the last save


def v8_started() -> bool:
    """Whether V8 was started in this process or in one it was forked from."""
    return _v8_pid is not None


def _forget_after_fork() -> None:
    global _lock, _ctx, _render_js
    _lock, _ctx, _render_js = threading.Lock(), None, None
    _unsaved.clear()


os.register_at_fork(after_in_child=_forget_after_fork)


def _context():
    global _ctx, _render_js, _v8_pid
    if _ctx is None:
        if _v8_pid is not None and _v8_pid != os.getpid():
            raise RuntimeError("KaTeX's V8 was started before this process was forked")
        from py_mini_racer import MiniRacer

        script = (katex_dist_dir() / "katex.min.js").read_text(encoding="utf-8")
        _v8_pid = os.getpid()
        ctx = MiniRacer()
        ctx.eval(script)
        ctx.eval(_JS_RENDER)
        _render_js = ctx.eval("siteBuilderRender")
        _ctx = ctx
        atexit.register(_close)  # left to garbage collection, teardown can hang the process
    return _ctx


def _close() -> None:
    global _ctx, _render_js
    with _lock:
        if _ctx is not None:
            _render_js = None
            _ctx.close()
            _ctx = None


# HTML parses <math> into the MathML namespace by itself, so KaTeX's xmlns attribute is dead weight
# (about 40 bytes a formula).
MATHML_NAMESPACE = ' xmlns="http://www.w3.org/1998/Math/MathML"'
# KaTeX keeps the TeX source in a MathML <annotation>, which no reader sees or hears. It moves to
# the outer span's `data-tex-key` instead, where the cross-reference stage groups repeated formulas
# by it and drops it from the rest (10-15% of a formula's markup).
_TEX_ANNOTATION = re.compile(
    r'<span class="katex"><span class="katex-mathml"><math([^>]*)><semantics>(.*)'
    r'<annotation encoding="application/x-tex">(.*?)</annotation></semantics></math>',
    re.S,
)


def _compact(katex_html: str) -> str:
    """KaTeX's markup without the xmlns attribute, and with its TeX annotation as `data-tex-key`
    (escaped for an attribute, as KaTeX escapes it)."""

    def move(match: re.Match) -> str:
        attributes, mathml, tex = match.groups()
        key = html.escape(html.unescape(tex).strip(), quote=True)
        return (
            f'<span class="katex" data-tex-key="{key}"><span class="katex-mathml">'
            f"<math{attributes}>{mathml}</math>"
        )

    return _TEX_ANNOTATION.sub(move, katex_html.replace(MATHML_NAMESPACE, ""), count=1)


def render_tex_many(items) -> None:
    """Render every (tex, display) pair not yet memoized, in one call into V8."""
    with _lock:
        todo = list(dict.fromkeys(key for key in items if key not in _cache))
        if todo and not _disk_loaded:
            _load_disk_cache()
            todo = [key for key in todo if key not in _cache]
        if not todo:
            return
        _context()
        results = json.loads(_render_js(json.dumps(todo)))
        for key, (ok, text) in zip(todo, results, strict=True):
            text = _compact(text) if ok else text
            _cache[key] = _unsaved[key] = (ok, text)


def use_disk_cache(folder: Path) -> None:
    """Keep rendered math in `folder` across processes (see the module's notes)."""
    global _disk_folder, _disk_loaded
    with _lock:
        if folder != _disk_folder:
            _disk_folder, _disk_loaded = folder, False


def _disk_cache_file() -> Path:
    compacting = f"{MATHML_NAMESPACE}\0{_TEX_ANNOTATION.pattern}"
    options = f"{katex_version()}\0{_JS_RENDER}\0{compacting}".encode()
    return _disk_folder / f"math-{hashlib.blake2b(options, digest_size=8).hexdigest()}.pickle"


def _load_disk_cache() -> None:
    global _disk_loaded
    _disk_loaded = True
    try:
        saved = pickle.loads(_disk_cache_file().read_bytes())
    except Exception:  # missing or damaged: rendered again
        return
    for key, value in saved.items():
        _cache.setdefault(key, value)


def take_unsaved() -> dict[tuple[str, bool], tuple[bool, str]]:
    """Results rendered here since the last call (a worker hands them to its parent)."""
    with _lock:
        taken = dict(_unsaved)
        _unsaved.clear()
        return taken


def remember(results: dict[tuple[str, bool], tuple[bool, str]]) -> None:
    """Memoize results rendered elsewhere (by a worker process) and save them with ours."""
    with _lock:
        _cache.update(results)
        _unsaved.update(results)


def save_disk_cache() -> None:
    """Write the memo (the most recent entries) to the disk cache if it gained any; atomic."""
    with _lock:
        if _disk_folder is None or not _unsaved:
            return
        if not _disk_loaded:
            _load_disk_cache()
        keep = list(_cache.items())[-DISK_CACHE_ENTRIES:]
        path = _disk_cache_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        temp = path.with_suffix(f".tmp{os.getpid()}")
        temp.write_bytes(pickle.dumps(dict(keep), protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(temp, path)
        _unsaved.clear()


def render_tex(tex: str, display: bool) -> str:
    """KaTeX's HTML for `tex`; raises TexError with KaTeX's message if the TeX is invalid."""
    key = (tex, bool(display))
    if key not in _cache:
        render_tex_many([key])
    ok, text = _cache[key]
    if not ok:
        raise TexError(text)
    return text


def clear_cache() -> None:
    """Forget memoized results (the V8 context stays; the disk cache is read again when
    needed); for benchmarks and tests."""
    global _disk_loaded
    with _lock:
        _cache.clear()
        _unsaved.clear()
        _disk_loaded = _disk_folder is None
