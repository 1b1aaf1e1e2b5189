import os
import subprocess
import sys
from pathlib import Path

import pytest

from site_builder import tex
from site_builder.build import build_site
from site_builder.model import BuildError
from site_builder.tex import TexError, katex_dist_dir, katex_version, render_tex


def test_renders_html_and_mathml():
    html = render_tex(r"\frac{a}{b}", False)
    assert html.startswith('<span class="katex" data-tex-key="\\frac{a}{b}">')
    assert "<math><mrow><mfrac>" in html  # MathML for screen readers
    assert 'class="katex-html"' in html
    assert "annotation" not in html and "semantics" not in html and "xmlns" not in html


def test_the_tex_source_becomes_an_attribute_escaped_once():
    html = render_tex(r"""a<b \text{"q" \& it's}""", False)
    key = html[: html.index(">")]
    escaped = "a&lt;b \\text{&quot;q&quot; \\&amp; it&#x27;s}"
    assert key == f'<span class="katex" data-tex-key="{escaped}"'
    assert "<mtext>&quot;q&quot;" in html  # the MathML keeps its own copy
    display = render_tex(" x ", True)
    assert display.startswith('<span class="katex-display"><span class="katex" data-tex-key="x">')
    assert '<math display="block"><mrow><mi>x</mi></mrow></math>' in display


def test_display_mode_differs_from_inline():
    assert 'class="katex-display"' in render_tex("x^2", True)
    assert 'class="katex-display"' not in render_tex("x^2", False)


def test_error_carries_katex_message():
    with pytest.raises(TexError) as e:
        render_tex(r"\frac{", False)
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
def test_commands_that_need_trust_are_errors(source):
    """KaTeX draws them as red text instead of throwing: they must fail like any TeX error."""
    command = "\\href" if "link" in source else source.split("{")[0].split("[")[0]
    with pytest.raises(TexError) as e:
        render_tex(f"a + {source} + b", False)
    assert e.value.message.startswith(f"{command} is not allowed"), e.value.message
    assert "trust" in e.value.message


def test_colour_commands_still_render():
    html = render_tex(r"\color{#cc0000}{x} + \textcolor{red}{y} + \colorbox{#cc0001}{z}", False)
    assert "color:#cc0000" in html and "red" in html


def test_memoized_and_batched():
    key = r"\sum_{i=0}^{n} i_{memo}"
    tex.render_tex_many([(key, False), (key, True), (r"\bad{", False)])
    assert (key, False) in tex._cache and (key, True) in tex._cache
    assert render_tex(key, False) is render_tex(key, False)
    with pytest.raises(TexError):
        render_tex(r"\bad{", False)


def test_katex_located_and_versioned():
    dist = katex_dist_dir()
    assert (dist / "katex.min.css").is_file() and (dist / "fonts").is_dir()
    assert katex_version().count(".") == 2


def test_env_override_and_missing_katex(tmp_path, monkeypatch):
    monkeypatch.setenv("SITE_BUILDER_KATEX", str(katex_dist_dir().parent))
    assert katex_dist_dir() == katex_dist_dir().resolve()
    monkeypatch.setenv("SITE_BUILDER_KATEX", str(tmp_path / "nowhere"))
    with pytest.raises(FileNotFoundError, match="npm ci"):
        katex_dist_dir()


def test_process_exits_after_rendering():
    # V8 teardown left to the garbage collector could hang the interpreter at exit.
    code = "from site_builder.tex import render_tex as r; r('a', 0); r('b', 1); print('ok')"
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok"


FORK_BEFORE_V8 = """
import os
from site_builder import tex
assert not tex.v8_started()
reader, writer = os.pipe()
pid = os.fork()
if pid == 0:
    os.write(writer, tex.render_tex("x^2", False).encode())
    os._exit(0)
os.close(writer)
child = b"".join(iter(lambda: os.read(reader, 65536), b"")).decode()
os.waitpid(pid, 0)
print(tex.v8_started(), child == tex.render_tex("x^2", False), tex.v8_started())
"""


def test_a_child_forked_before_v8_starts_its_own():
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run(
        [sys.executable, "-c", FORK_BEFORE_V8],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False", "True", "True"]  # the child's V8 was not the parent's


def test_v8_of_another_process_is_refused(monkeypatch):
    # What a child forked after V8 started would see (its context dropped at fork).
    monkeypatch.setattr(tex, "_ctx", None)
    monkeypatch.setattr(tex, "_v8_pid", os.getpid() + 1)
    with pytest.raises(RuntimeError, match="started before this process was forked"):
        tex.render_tex(r"\refused", False)


@pytest.fixture
def disk_cache(tmp_path, monkeypatch):
    """The module's memo and disk-cache settings, restored after the test."""
    for name in ("_disk_folder", "_disk_loaded", "_cache", "_unsaved"):
        value = getattr(tex, name)
        monkeypatch.setattr(tex, name, value.copy() if isinstance(value, dict) else value)
    tex.use_disk_cache(tmp_path / "cache")
    return tmp_path / "cache"


def test_disk_cache_serves_a_new_process_without_v8(disk_cache, monkeypatch):
    keys = [(r"\alpha_{disk}", False), (r"\frac{disk}{2}", True), (r"\bad{", False)]
    tex.render_tex_many(keys)
    rendered = {key: tex._cache[key] for key in keys}
    tex.save_disk_cache()
    [saved] = disk_cache.glob("math-*.pickle")
    assert katex_version()  # part of the file's name, with the options

    tex.clear_cache()  # as a new process: nothing in memory

    def no_v8():
        raise AssertionError("V8 started although every equation was on disk")

    monkeypatch.setattr(tex, "_context", no_v8)
    tex.render_tex_many(keys)
    assert {key: tex._cache[key] for key in keys} == rendered
    with pytest.raises(TexError, match="Undefined control sequence"):
        render_tex(r"\bad{", False)
    tex.save_disk_cache()  # nothing new: the file is not rewritten
    assert saved.stat().st_mtime_ns == next(disk_cache.glob("math-*.pickle")).stat().st_mtime_ns


def test_disk_cache_keeps_the_most_recent_entries(disk_cache, monkeypatch):
    monkeypatch.setattr(tex, "DISK_CACHE_ENTRIES", 2)
    tex.clear_cache()
    tex.render_tex_many([(f"x_{{{i}}}", False) for i in range(5)])
    tex.remember({("from a worker", False): (True, "<span>w</span>")})
    tex.save_disk_cache()
    tex.clear_cache()
    tex._load_disk_cache()
    assert list(tex._cache) == [("x_{4}", False), ("from a worker", False)]


def test_a_damaged_disk_cache_is_ignored(disk_cache):
    tex.render_tex_many([("y_{damaged}", False)])
    tex.save_disk_cache()
    [saved] = disk_cache.glob("math-*.pickle")
    saved.write_bytes(b"not a pickle")
    tex.clear_cache()
    assert "y" in render_tex("y_{damaged}", False)


def test_a_command_that_needs_trust_fails_the_build_at_its_line(tiny):
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nA link in math: $\\href{https://example.org}{x}$.\n")
    with pytest.raises(BuildError, match=r"notes\.md:7: TeX error .*\\href is not allowed"):
        build_site(tiny, index_search=False)
    assert not tiny.out.exists()
    report = build_site(tiny, keep_going=True, index_search=False)
    assert [(Path(w.path).name, w.line) for w in report.warnings] == [("notes.md", 7)]
    assert "\\href is not allowed" in (tiny.out / "models/notes.html").read_text()
