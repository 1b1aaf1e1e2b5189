import asyncio
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from site_builder.build import build_site
from site_builder.model import BuildError
from site_builder.tex import REINSTALL, KatexRenderer, TexError, katex_dist_dir, katex_version

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def katex():
    renderer = KatexRenderer()
    yield renderer
    renderer.close()


def run_python(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_renders_html_and_mathml(katex):
    html = katex.render(r"\frac{a}{b}", False)
    assert html.startswith('<span class="katex" data-tex-key="\\frac{a}{b}">')
    assert "<math>" in html and "<mfrac>" in html  # MathML for screen readers
    assert 'class="katex-html"' in html
    assert "annotation" not in html and "semantics" not in html and "xmlns" not in html


def test_the_tex_source_becomes_an_attribute_escaped_once(katex):
    html = katex.render(r"""a<b \text{"q" \& it's}""", False)
    key = html[: html.index(">")]
    escaped = "a&lt;b \\text{&quot;q&quot; \\&amp; it&#x27;s}"
    assert key == f'<span class="katex" data-tex-key="{escaped}"'
    assert "<mtext>&quot;q&quot;" in html  # the MathML keeps its own copy
    display = katex.render(" x ", True)
    assert display.startswith('<span class="katex-display"><span class="katex" data-tex-key="x">')
    assert '<math display="block">' in display and "<mi>x</mi>" in display


def test_display_mode_differs_from_inline(katex):
    assert 'class="katex-display"' in katex.render("x^2", True)
    assert 'class="katex-display"' not in katex.render("x^2", False)


def test_error_carries_katex_message(katex):
    with pytest.raises(TexError) as e:
        katex.render(r"\frac{", False)
    assert e.value.message.startswith("KaTeX parse error: Unexpected end of input")


@pytest.mark.parametrize(
    "source",
    [
        r"\href{https://example.org}{x}",
        r"\href{javascript:alert(1)}{x}",
        r"\url{https://example.org}",
        r"\url{1x:y}",  # a scheme KaTeX rejects before asking whether to trust it
        r"\includegraphics[height=1em]{plot.png}",
        r"\htmlClass{c}{x}",
        r"\htmlId{i}{x}",
        r"\htmlStyle{color: red}{x}",
        r"\htmlData{a=b}{x}",
        r"\def\link#1{\href{#1}{x}} \link{https://example.org}",
    ],
)
def test_commands_that_need_trust_are_errors(katex, source):
    """KaTeX draws them as red text instead of throwing: they must fail like any TeX error."""
    command = "\\href" if "link" in source else source.split("{")[0].split("[")[0]
    with pytest.raises(TexError) as e:
        katex.render(f"a + {source} + b", False)
    assert e.value.message.startswith(f"{command} is not allowed"), e.value.message
    assert "trust" in e.value.message


def test_colour_commands_still_render(katex):
    html = katex.render(r"\color{#cc0000}{x} + \textcolor{red}{y} + \colorbox{#cc0001}{z}", False)
    assert "color:#cc0000" in html and "red" in html


def test_memoized_and_batched():
    katex = KatexRenderer()
    key = r"\sum_{i=0}^{n} i_{memo}"
    katex.render_many([(key, False), (key, True), (r"\bad{", False), (key, False)])
    assert katex.v8_calls == 1  # one batch, one call into V8
    assert katex.render(key, False) is katex.render(key, False)
    assert 'class="katex-display"' in katex.render(key, True)
    with pytest.raises(TexError):
        katex.render(r"\bad{", False)
    katex.render_many([(key, True), (r"\bad{", False)])
    assert katex.v8_calls == 1  # all memoized, errors included
    katex.render(r"\nu_{one}", False)
    assert katex.v8_calls == 2
    katex.close()


def test_new_results_hand_over_what_was_rendered_once():
    katex = KatexRenderer()
    keys = [(r"\alpha_{new}", False), (r"\frac{new}{2}", True), (r"\bad{", False)]
    katex.render_many(keys)
    results = katex.new_results()
    assert list(results) == keys
    assert results[keys[0]] == (True, katex.render(*keys[0]))
    ok, message = results[keys[2]]
    assert not ok and "Undefined control sequence" in message
    assert katex.new_results() == {}  # taken: only what is rendered after this call comes next
    katex.render(r"\beta_{new}", False)
    assert list(katex.new_results()) == [(r"\beta_{new}", False)]
    katex.close()


def test_a_renderer_given_a_memo_renders_nothing_it_holds(katex):
    keys = [(r"\gamma_{memo}", False), (r"\frac{memo}{3}", True), (r"\bad{", False)]
    katex.render_many(keys)
    memo = {key: (True, katex.render(*key)) for key in keys[:2]}
    memo[keys[2]] = (False, "Undefined control sequence: \\bad")
    given = dict(memo)
    fresh = KatexRenderer(given)
    assert [fresh.render(*key) for key in keys[:2]] == [katex.render(*key) for key in keys[:2]]
    with pytest.raises(TexError, match="Undefined control sequence"):
        fresh.render(*keys[2])
    fresh.render_many(keys)
    assert fresh.v8_calls == 0 and fresh.new_results() == {}
    fresh.render(r"\delta_{not in the memo}", False)
    assert fresh.v8_calls == 1 and given == memo  # the caller's memo is not changed


FULL_MEMO = """
import json, sys
from site_builder import tex
memo = {(t, d): (ok, text) for t, d, ok, text in json.loads(sys.stdin.read())}
katex = tex.KatexRenderer(memo)
katex.render_many(list(memo))
html = [katex.render(t, d) for t, d in memo]
print(tex.v8_started(), katex.v8_calls, html == [text for _, text in memo.values()])
"""


def test_a_process_whose_math_is_all_in_the_memo_never_starts_v8(katex):
    keys = [(r"\epsilon_{process}", False), (r"\sum_{process}", True)]
    items = [[tex, display, True, katex.render(tex, display)] for tex, display in keys]
    done = subprocess.run(
        [sys.executable, "-c", FULL_MEMO],
        input=json.dumps(items),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "0", "True"]


def test_the_memo_key_follows_the_katex_version(tmp_path, monkeypatch):
    key = KatexRenderer.memo_key()
    assert key == KatexRenderer.memo_key() and len(key) == 16
    other = tmp_path / "katex"
    shutil.copytree(katex_dist_dir(), other / "dist", ignore=shutil.ignore_patterns("fonts"))
    (other / "package.json").write_text('{"version": "0.0.1"}')
    monkeypatch.setenv("SITE_BUILDER_KATEX", str(other))
    assert katex_version() == "0.0.1" and KatexRenderer.memo_key() != key
    (other / "package.json").unlink()  # then read from katex.min.js
    assert KatexRenderer.memo_key() == key


def test_a_closed_renderer_starts_v8_again_when_needed():
    katex = KatexRenderer()
    first = katex.render(r"\zeta_{close}", False)
    katex.close()
    katex.close()  # twice is harmless
    assert katex.render(r"\zeta_{close}", False) == first and katex.v8_calls == 1  # memoized
    assert "eta" in katex.render(r"\eta_{close}", False) and katex.v8_calls == 2
    katex.close()


def test_katex_located_and_versioned():
    dist = katex_dist_dir()
    assert (dist / "katex.min.css").is_file() and (dist / "fonts").is_dir()
    assert katex_version().count(".") == 2


def test_env_override_and_missing_katex(tmp_path, monkeypatch):
    found = katex_dist_dir()
    monkeypatch.setenv("SITE_BUILDER_KATEX", str(found.parent))
    assert katex_dist_dir() == found
    monkeypatch.setenv("SITE_BUILDER_KATEX", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="reinstall site-builder"):
        katex_dist_dir()


def test_process_exits_after_rendering():
    # V8 teardown left to the garbage collector could hang the interpreter at exit.
    code = "from site_builder.tex import KatexRenderer as K; k = K(); k.render('a', 0); "
    code += "K().render('b', 1); print('ok')"
    done = run_python(code)
    assert done.returncode == 0 and done.stdout.strip() == "ok"


FORK_BEFORE_V8 = """
import os
from site_builder import tex
katex = tex.KatexRenderer()
assert not tex.v8_started()
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(writer, katex.render("x^2", False).encode())
    os._exit(0)
os.close(writer)
child = b"".join(iter(lambda: os.read(reader, 65536), b"")).decode()
os.waitpid(pid, 0)
print(tex.v8_started(), child == katex.render("x^2", False), tex.v8_started(), katex.v8_calls)
"""


def test_a_child_forked_before_v8_starts_its_own():
    done = run_python(FORK_BEFORE_V8)
    assert done.returncode == 0, done.stderr[-2000:]
    # The child's V8 was not the parent's: the parent still had to start V8 and render.
    assert done.stdout.split() == ["False", "True", "True", "1"]


FORK_AFTER_V8 = """
import os
from site_builder import tex
katex = tex.KatexRenderer()
known = katex.render("x^2", False)
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    said = [tex.v8_started(), katex.render("x^2", False) == known, katex.v8_calls]
    for renderer in (katex, tex.KatexRenderer()):
        try:
            renderer.render("y^3", False)
            said.append("rendered")
        except RuntimeError as error:
            said.append(str(error))
    os.write(writer, repr(said).encode())
    os._exit(0)
os.close(writer)
child = b"".join(iter(lambda: os.read(reader, 65536), b"")).decode()
os.waitpid(pid, 0)
print(child)
print(katex.render("y^3", False) != known)
"""


def test_a_child_forked_after_v8_started_refuses_it():
    """The child can use what its renderer memoized, but starts no V8 (its parent's threads are
    gone); its parent goes on rendering."""
    done = run_python(FORK_AFTER_V8)
    assert done.returncode == 0, done.stderr[-2000:]
    child, parent = done.stdout.strip().splitlines()
    refused = "KaTeX's V8 was started before this process was forked"
    assert eval(child) == [True, True, 0, refused, refused]
    assert parent == "True"


def test_a_command_that_needs_trust_fails_the_build_at_its_line(tiny):
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nA link in math: $\\href{https://example.org}{x}$.\n")
    with pytest.raises(BuildError, match=r"notes\.md:7: TeX error .*\\href is not allowed"):
        build_site(tiny, index_search=False)
    assert not tiny.out.exists()
    report = build_site(tiny, keep_going=True, index_search=False)
    assert [(Path(w.path).name, w.line) for w in report.warnings] == [("notes.md", 7)]
    assert "\\href is not allowed" in (tiny.out / "models/notes.html").read_text()


# About 800 characters that expand to 80,000 symbols: KaTeX takes many seconds over it.
SLOW = "\\def\\a{" + "x" * 400 + "}" + "\\a" * 200


def test_a_formula_past_the_time_limit_is_an_error_and_katex_goes_on():
    katex = KatexRenderer(time_limit=0.5)
    try:
        katex.render_many([("a", False), (SLOW, False), ("b^2", False)])
        with pytest.raises(TexError, match="KaTeX took more than 0.5 s; simplify the formula"):
            katex.render(SLOW, False)
        assert "<mi>b</mi>" in katex.render("b^2", False)  # after the stopped one
        assert "<mi>c</mi>" in katex.render("c", False)  # V8 is still usable
        # A machine that is only slow today may render it another time: not kept in the memo
        assert (SLOW, False) not in katex.new_results()
    finally:
        katex.close()


def test_a_formula_past_the_size_limit_is_an_error_unread(katex):
    with pytest.raises(TexError, match="the formula has 20,000 characters; at most 10,000"):
        katex.render("x" * 20_000, True)


def test_a_damaged_katex_is_one_line_naming_its_file(tiny, tmp_path):
    broken = tmp_path / "katex"
    shutil.copytree(katex_dist_dir().parent, broken, ignore=shutil.ignore_patterns("fonts"))
    script = broken / "dist/katex.min.js"
    script.write_text(script.read_text()[:5000])  # cut short: a syntax error
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nMath no one rendered before: $\\xi_{broken}$.\n")
    command = [sys.executable, "-m", "site_builder", "build", "--keep-going"]
    command += ["--source", str(tiny.source), "--out", str(tiny.out), "--docs", str(tiny.docs)]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SITE_BUILDER_KATEX": str(broken)}
    done = subprocess.run(command, cwd=tiny.root, env=env, capture_output=True, text=True)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr
    # The installation, not a page: said once, even with --keep-going.
    [message] = [line for line in done.stderr.splitlines() if "KaTeX" in line]
    assert f"{script}: KaTeX does not load (SyntaxError" in message
    assert message.endswith(REINSTALL)


def test_katex_renders_with_its_limit_inside_a_running_event_loop():
    """Jupyter's kernel and Playwright's sync API run an asyncio loop in the calling thread."""

    async def render_in_a_loop() -> str:
        renderer = KatexRenderer()
        try:
            return renderer.render("x^2", False)
        finally:
            renderer.close()

    rendered: list[str] = []  # on a thread of its own: this one may run Playwright's loop
    thread = threading.Thread(target=lambda: rendered.append(asyncio.run(render_in_a_loop())))
    thread.start()
    thread.join()
    assert 'class="katex"' in rendered[0]
