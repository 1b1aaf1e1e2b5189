import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.pofile import read_po, write_po
from conftest import PNG_1X1, make_config, snapshot, write_tree

from site_builder import i18n, search, tex
from site_builder.build import build_site
from site_builder.config import load_config
from site_builder.model import BuildError
from site_builder.paths import page_url

PROJECT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("rel", "url"),
    [
        ("__init__.py", "index.html"),
        ("a/__init__.py", "a/index.html"),
        ("a/x.py", "a/x.html"),
        ("a/readme.md", "a/readme.html"),
    ],
)
def test_page_urls(rel, url):
    assert page_url(rel) == url


def test_builds_nested_package_with_docs_images_and_assets(tiny):
    report = build_site(tiny)
    out = tiny.out
    pages = {
        "index.html",
        "guide.html",
        "models/index.html",
        "models/layer.html",
        "models/notes.html",
        "models/deep/inner/module.html",
    }
    assert set(report.pages_rendered) == pages and report.pages_total == 6
    for page in pages:
        assert (out / page).is_file()
    for asset in ("models/diagram.png", "figure.svg", "results.json", "404.html", "sitemap.xml"):
        assert (out / asset).is_file(), asset
    assert not any("locale" in p.parts for p in out.rglob("*"))
    assert (out / "static/katex/katex.min.css").is_file()
    fonts = {p.name for p in (out / "static/katex/fonts").iterdir()}
    assert "KaTeX_Main-Regular.woff2" in fonts
    css = (out / "static/katex/katex.min.css").read_text()
    named = set(re.findall(r"url\(fonts/([^)]+)\)", css))
    assert fonts == named and all(name.endswith(".woff2") for name in named)  # woff2 only
    assert len(named) == len(list((tex.katex_dist_dir() / "fonts").glob("*.woff2")))

    home = (out / "index.html").read_text()
    assert '<html lang="en">' in home
    assert 'href="models/layer.html">A Layer</a><p>One layer, explained.</p>' in home
    assert 'href="models/deep/inner/module.html">Deep Module</a>' in home
    assert 'href="guide.html">Guide</a>' in home
    assert "Welcome." in home

    layer = (out / "models/layer.html").read_text()
    assert '<section class="section section-docstring" id="Layer">' in layer
    assert 'href="#Layer.forward-1"' in layer and 'class="katex"' in layer
    assert 'href="https://example.org/repo/blob/main/pkg/models/layer.py"' in layer
    assert '<link rel="canonical" href="https://tiny.example.org/models/layer.html">' in layer
    assert 'class="languages"' not in layer and "hreflang" not in layer
    assert (
        '<a href="../index.html">Home</a>' in layer and '<a href="index.html">Models</a>' in layer
    )

    sitemap = (out / "sitemap.xml").read_text()
    for url in ("https://tiny.example.org/", "https://tiny.example.org/models/notes.html"):
        assert f"<loc>{url}</loc>" in sitemap
    assert "404" not in sitemap
    not_found = (out / "404.html").read_text()
    assert 'href="/static/site.css"' in not_found and "Page not found" in not_found


def test_rebuild_renders_only_the_changed_page_and_noop_writes_nothing(tiny):
    build_site(tiny)
    before = snapshot(tiny.out)
    noop = build_site(tiny)
    assert (noop.pages_rendered, noop.written, noop.removed) == ([], [], [])
    assert snapshot(tiny.out) == before

    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    report = build_site(tiny)
    assert report.pages_rendered == ["models/layer.html"]
    pages = [rel for rel in report.written if not rel.startswith("pagefind/")]
    assert pages == ["models/layer.html", "models/layer.ipynb"]  # and the search index
    assert any(rel.startswith("pagefind/") for rel in report.written)
    assert "Remember the width" in (tiny.out / "models/layer.html").read_text()
    # Seconds for each stage of the pipeline that ran (see build.py).
    stages = {"sources", "parse", "translate", "render", "page", "check", "search", "write"}
    assert set(report.seconds) >= stages


def test_a_rebuild_parses_only_what_it_must_and_each_source_once(tiny, monkeypatch):
    from site_builder import parse

    parsed, real_parse = [], parse.parse_source

    def counted(path, rel_path, data):
        parsed.append(rel_path)
        return real_parse(path, rel_path, data)

    monkeypatch.setattr(parse, "parse_source", counted)
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "1")  # parsed in this process, where it is counted
    build_site(tiny, index_search=False)
    everything = sorted(parsed)
    assert len(everything) == 6

    parsed.clear()
    assert build_site(tiny, index_search=False).pages_rendered == []
    assert parsed == []  # a no-op build parses nothing

    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    build_site(tiny, index_search=False)
    assert parsed == ["models/layer.py"]

    # A folder's new title is in every page's crumbs: every page is rendered again, so the pages
    # whose own source did not change are parsed too, each once.
    parsed.clear()
    models = tiny.source / "models/__init__.py"
    models.write_text(models.read_text().replace("title: Models", "title: The Models"))
    report = build_site(tiny, index_search=False)
    assert len(report.pages_rendered) == 6 and sorted(parsed) == everything
    assert ">The Models</a>" in (tiny.out / "models/layer.html").read_text()


PNG_3X2 = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x03\0\0\0\x02\x08\x02\0\0\0\0\0\0\0"


def test_a_page_gets_the_size_of_the_image_file_the_site_publishes(tiny):
    write_tree(
        tiny.root,
        {
            # One site path, a file in each tree: the site publishes the docs tree's.
            "pkg/models/pic.png": PNG_3X2,
            "docs/models/pic.png": PNG_1X1,
            # Reached through a folder that only the package tree has.
            "docs/charts/bar.png": PNG_3X2,
            "pkg/models/figure.py": "x = 1\n\n# ![a](pic.png) ![b](../charts/bar.png)\ny = 2\n",
        },
    )
    build_site(tiny)
    assert (tiny.out / "models/pic.png").read_bytes() == PNG_1X1
    assert (tiny.out / "charts/bar.png").read_bytes() == PNG_3X2
    page = (tiny.out / "models/figure.html").read_text()
    assert '<img src="pic.png" alt="a" width="1" height="1"' in page
    assert '<img src="../charts/bar.png" alt="b" width="3" height="2"' in page


def test_without_indexing_a_rebuild_keeps_the_newest_index_until_one_is_built(tiny):
    build_site(tiny)
    index_before = snapshot(tiny.out / "pagefind")
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    report = build_site(tiny, index_search=False)
    assert report.written == ["models/layer.html", "models/layer.ipynb"]
    assert snapshot(tiny.out / "pagefind") == index_before
    assert report.unindexed is not None and "models/layer.html" in report.unindexed
    assert "404.html" not in report.unindexed

    search.build_index(search.kept_indexes(tiny.cache_dir), report.unindexed)
    swap = build_site(tiny, index_search=False)
    assert swap.unindexed is None and swap.pages_rendered == []
    assert swap.written and all(rel.startswith("pagefind/") for rel in swap.written)
    assert snapshot(tiny.out / "pagefind") != index_before
    assert [p.name for p in (tiny.cache_dir / "search").iterdir()] == [
        search.index_key(report.unindexed)
    ]  # the index it replaced is pruned
    assert build_site(tiny).written == []  # the CLI's build finds the same index


def test_a_new_title_updates_the_listing_and_removing_a_page_removes_it(tiny):
    build_site(tiny)
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text().replace("title: Notes", "title: Field Notes"))
    build_site(tiny)
    assert "Field Notes</a>" in (tiny.out / "index.html").read_text()
    (tiny.source / "models/layer.py").write_text((tiny.source / "models/layer.py").read_text())
    (tiny.source / "models/deep/inner/module.py").unlink()
    report = build_site(tiny)
    assert "models/deep/inner/module.html" in report.removed
    assert not (tiny.out / "models/deep").exists()


def _translate_catalog(po: Path, leave_out: set[str] = frozenset()) -> None:
    """Fill every entry of a PO file but those whose English starts with one of `leave_out` with
    its English text."""
    with po.open("rb") as handle:
        catalog = read_po(handle)
    for message in catalog:
        if message.id and not message.id.startswith(tuple(leave_out)):
            message.string = message.id
    with po.open("wb") as handle:
        write_po(handle, catalog)


def test_two_languages_with_switcher_hreflang_and_fallback_notice(tiny):
    write_tree(tiny.root, {"docs/contributing.md": "---\ntitle: Contributing\n---\nHelp.\n"})
    config = make_config(tiny.root, languages=("en", "zh"))
    i18n.update(config, ["zh"], [])
    for po in (tiny.root / "docs/locale/zh/LC_MESSAGES").rglob("*.po"):
        _translate_catalog(po, leave_out={"The layer computes"} if po.name == "layer.po" else set())
    report = build_site(config)
    assert "zh/models/layer.html" in report.pages_rendered
    assert (config.out / "zh/models/diagram.png").is_file()
    zh = (config.out / "zh/models/layer.html").read_text()
    assert '<html lang="zh">' in zh
    assert 'hreflang="en" href="https://tiny.example.org/models/layer.html"' in zh
    assert '<a href="../../models/layer.html" hreflang="en" lang="en">English</a>' in zh
    assert 'class="notice"' in zh and 'href="../contributing.html"' in zh
    assert 'class="notice"' not in (config.out / "zh/models/notes.html").read_text()
    assert 'class="notice"' not in (config.out / "models/layer.html").read_text()
    sitemap = (config.out / "sitemap.xml").read_text()
    assert "<loc>https://tiny.example.org/zh/models/layer.html</loc>" in sitemap
    assert 'hreflang="zh" href="https://tiny.example.org/zh/models/layer.html"' in sitemap


def test_keep_going_writes_the_site_and_counts_warnings(tiny):
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nSee [nowhere](nowhere.html) and $\\frac{1}{$.\n")
    with pytest.raises(BuildError):
        build_site(tiny)
    assert not tiny.out.exists()
    report = build_site(tiny, keep_going=True)
    messages = sorted(w.message.split(":")[0] for w in report.warnings)
    assert len(report.warnings) == 2, messages
    assert any("TeX error" in w.message for w in report.warnings)
    assert any("nowhere.html" in w.message for w in report.warnings)
    assert all(w.path.endswith("notes.md") and w.line == 7 for w in report.warnings)
    assert (tiny.out / "models/notes.html").is_file()
    with pytest.raises(BuildError, match="nowhere.html|TeX error"):
        build_site(tiny)  # the cached page still carries its problems


def test_two_sources_for_one_page_is_an_error(tiny):
    write_tree(tiny.root, {"pkg/models/layer.md": "# twin\n"})
    with pytest.raises(BuildError, match="the same page as"):
        build_site(tiny)


def test_builds_the_real_project(tmp_path, monkeypatch):
    monkeypatch.chdir(PROJECT)
    config = load_config({"out": str(tmp_path / "site")})
    report = build_site(config)
    out = config.out
    assert (out / "index.html").is_file() and report.pages_total >= 1
    for source in config.source.rglob("*.py"):
        url = page_url(source.relative_to(config.source).as_posix())
        assert (out / url).is_file(), url


POOL_CHILD = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from conftest import make_config, snapshot
from site_builder.build import build_site
from site_builder.model import BuildError

root, result = Path(sys.argv[1]), {}
for name, workers in [("pool", "2"), ("serial", "1"), ("after_v8", "2")]:
    os.environ["SITE_BUILDER_WORKERS"] = workers  # each build has its own cache, and math memo
    config = make_config(root, out=root / name / "site", languages=("en", "zh"))
    report = build_site(config, index_search=False)  # Pagefind is tested elsewhere
    files = snapshot(config.out)
    files.pop(".site-builder.json")  # the manifest records write times
    result[name] = {"stages": sorted(report.seconds), "processes": report.processes, "files": files,
                    "rendered": sorted(report.pages_rendered)}
broken = {"error": '# Broken: $\\\\frac{1}{$.\\nx = 1\\n', "syntax": "x = 1\\ndef broken(:\\n"}
for kind, source in broken.items():
    (root / "pkg/models/layer.py").write_text(source)
    for mode, workers in [("pool", "2"), ("serial", "1")]:
        os.environ["SITE_BUILDER_WORKERS"] = workers
        try:
            build_site(make_config(root, out=root / f"{mode}_{kind}" / "site"), index_search=False)
        except BuildError as error:
            result[f"{mode}_{kind}"] = "|".join(str(e) for e in getattr(error, "errors", [error]))
print(json.dumps(result))
"""


def test_forked_workers_render_exactly_what_one_process_renders(tiny):
    tests = Path(__file__).resolve().parent
    done = subprocess.run(
        [sys.executable, "-c", POOL_CHILD, str(tiny.root), str(tests)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    pool, serial, after_v8 = result["pool"], result["serial"], result["after_v8"]
    assert (pool["processes"], serial["processes"]) == (2, 1)
    # V8 started in this process by the serial build: forking would be unsafe, so no workers.
    assert after_v8["processes"] == 1
    assert len(pool["rendered"]) == 12 and pool["rendered"] == serial["rendered"]
    assert pool["files"] == serial["files"] == after_v8["files"]
    assert "models/layer.py:1: TeX error" in result["pool_error"]  # with the links to `Layer`
    assert result["pool_error"] == result["serial_error"]
    assert "layer.py:2: " in result["pool_syntax"]
    assert result["pool_syntax"] == result["serial_syntax"]


def test_worker_count_setting_is_checked(tiny, monkeypatch):
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "two")
    with pytest.raises(BuildError, match="SITE_BUILDER_WORKERS: must be a whole number"):
        build_site(tiny)


REBUILD_CHILD = """
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from conftest import make_config
from site_builder import tex
from site_builder.build import build_site

report = build_site(make_config(Path(sys.argv[1])), index_search=False)
print(sorted(report.pages_rendered), tex.v8_started())
"""


def test_a_rebuild_in_a_new_process_takes_known_math_from_the_cache(tiny):
    def build() -> str:
        command = [sys.executable, "-c", REBUILD_CHILD, str(tiny.root), str(PROJECT / "tests")]
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        return done.stdout.strip()

    assert build().endswith("True")  # a cold build renders with KaTeX
    assert list(tiny.cache_dir.glob("math-*.pickle"))
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    assert build() == "['models/layer.html'] False"
    layer.write_text(layer.read_text().replace("$d$ features", "$d_{new}$ features"))
    assert build() == "['models/layer.html'] True"


def test_a_damaged_math_memo_is_rendered_again(tiny):
    build_site(tiny, index_search=False)
    page = (tiny.out / "models/layer.html").read_text()
    [memo] = tiny.cache_dir.glob("math-*.pickle")
    memo.write_bytes(b"not a pickle")
    layer = tiny.source / "models/layer.py"
    layer.write_text(layer.read_text().replace("Keep the width", "Remember the width"))
    build_site(tiny, index_search=False)
    again = (tiny.out / "models/layer.html").read_text()
    assert again == page.replace("Keep the width", "Remember the width")


def without_manifest(folder: Path) -> dict[str, str]:
    files = snapshot(folder)
    files.pop(".site-builder.json")  # it records write times
    return files


def test_the_cache_heals_when_its_blobs_are_deleted(tiny):
    build_site(tiny)
    site = without_manifest(tiny.out)
    shutil.rmtree(tiny.cache_dir / "blobs")
    assert build_site(tiny).written == []  # the site is intact: nothing to write
    shutil.rmtree(tiny.cache_dir / "blobs")
    shutil.rmtree(tiny.out)
    build_site(tiny)
    assert without_manifest(tiny.out) == site
    assert build_site(tiny).pages_rendered == []


def test_a_damaged_blob_is_made_again_and_never_published(tiny):
    build_site(tiny)
    site = without_manifest(tiny.out)
    notes = (tiny.out / "models/notes.html").read_bytes()
    (blob,) = [p for p in (tiny.cache_dir / "blobs").glob("*/*") if p.read_bytes() == notes]
    for remove in ["models/notes.html", None]:  # a page the site lacks; the whole site
        blob.write_bytes(notes.replace(b"Notes", b"EVIL!"))
        if remove:
            (tiny.out / remove).unlink()
        else:
            shutil.rmtree(tiny.out)
        report = build_site(tiny)
        assert without_manifest(tiny.out) == site
        assert report.pages_rendered == ["models/notes.html"]
        assert blob.read_bytes() == notes


def run_cli(root: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI in its own process, with a time limit: a hang fails the test."""
    env = {**os.environ, "PYTHONPATH": str(PROJECT)}
    command = [sys.executable, "-m", "site_builder", "build", *args]
    return subprocess.run(command, cwd=root, capture_output=True, text=True, timeout=90, env=env)


def test_a_fifo_among_the_sources_is_skipped_with_a_warning(tiny):
    write_tree(tiny.root, {"pyproject.toml": PYPROJECT})
    fifos = ["pkg/models/stuck.py", "pkg/models/blocked.md", "docs/stuck.md", "docs/stuck.png"]
    for name in fifos:
        os.mkfifo(tiny.root / name)  # opening one to read would wait for a writer forever
    done = run_cli(tiny.root)
    assert done.returncode == 0, done.stderr
    for name in fifos:
        message = f"warning: {name}: not a regular file (a FIFO, socket or device); skipped"
        assert message in done.stderr.splitlines()
    published = snapshot(tiny.root / "site")
    assert not any(Path(rel).stem in ("stuck", "blocked") for rel in published)
    assert "models/layer.html" in published


PYPROJECT = """[tool.site_builder]
source = "pkg"
docs = "docs"
out = "site"
"""


def test_links_out_of_the_source_tree_are_not_followed(tiny):
    write_tree(
        tiny.root,
        {
            "secret.png": b"SECRET-7f3a",
            "secret.py": "PASSWORD = 1\n",
            "pkg/models/figure.py": "x = 1\n\n# ![a figure](pic.png)\ny = 2\n",
        },
    )
    (tiny.source / "models/pic.png").symlink_to(tiny.root / "secret.png")
    (tiny.source / "models/secret.py").symlink_to(tiny.root / "secret.py")
    (tiny.docs / "leak.png").symlink_to(tiny.root / "secret.png")
    (tiny.docs / "alias.svg").symlink_to("figure.svg")  # inside the tree: followed
    (tiny.docs / "diagram.png").symlink_to(tiny.source / "models/diagram.png")  # other tree
    with pytest.raises(BuildError, match="figure.py:3: image 'pic.png' links outside"):
        build_site(tiny)
    report = build_site(tiny, keep_going=True)
    where = {w: Path(w.path).relative_to(tiny.root) for w in report.warnings}
    warnings = {f"{where[w]}:{w.line}: {w.message}" for w in report.warnings}
    secret = tiny.root / "secret"
    assert warnings == {
        f"pkg/models/figure.py:3: image 'pic.png' links outside the source tree (to {secret}.png)",
        f"pkg/models/secret.py:None: links outside the source tree (to {secret}.py); "
        "not followed, skipped",
        f"docs/leak.png:None: links outside the source tree (to {secret}.png); "
        "not followed, skipped",
    }
    published = snapshot(tiny.out)
    assert not any(rel.endswith(("pic.png", "leak.png", "secret.html")) for rel in published)
    assert not any(b"SECRET-7f3a" in p.read_bytes() for p in tiny.out.rglob("*") if p.is_file())
    assert (tiny.out / "alias.svg").read_text() == (tiny.docs / "figure.svg").read_text()
    diagram = (tiny.source / "models/diagram.png").read_bytes()
    assert (tiny.out / "diagram.png").read_bytes() == diagram


@pytest.mark.parametrize("existing", [False, True], ids=["new-out", "existing-empty-out"])
def test_the_site_is_readable_by_others_under_umask_022(tiny, existing):
    old = os.umask(0o022)
    try:
        if existing:
            tiny.out.mkdir()
        build_site(tiny)
    finally:
        os.umask(old)
    found = {("dir", stat.S_IMODE(tiny.out.stat().st_mode))}
    for path in tiny.out.rglob("*"):
        found.add(("dir" if path.is_dir() else "file", stat.S_IMODE(path.stat().st_mode)))
    assert found == {("dir", 0o755), ("file", 0o644)}


KEEP_GOING_CHILD = """
import json, os, sys
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from conftest import make_config
from site_builder.build import build_site

os.environ["SITE_BUILDER_WORKERS"] = sys.argv[3]
root = Path(sys.argv[1])
out = root / ("workers" + sys.argv[3]) / "site"  # its own cache folder, next to it
report = build_site(make_config(root, out=out), keep_going=True, index_search=False)
print(json.dumps({"processes": report.processes, "rendered": sorted(report.pages_rendered),
                  "skipped": [str(e) for e in report.skipped],
                  "warnings": [str(w) for w in report.warnings]}))
"""


def test_keep_going_skips_the_same_pages_in_worker_processes_and_in_one(tiny):
    broken = "x = 1\ndef broken(:\n"
    write_tree(
        tiny.root,
        {
            "pkg/models/layer.py": broken,  # fails to parse
            "pkg/fence.md": "Code:\n\n```nosuchlang\nx = 1\n```\n",  # fails to render
        },
    )

    def build(workers: str) -> dict:
        command = [sys.executable, "-c", KEEP_GOING_CHILD, str(tiny.root), str(PROJECT / "tests")]
        env = {**os.environ, "PYTHONPATH": str(PROJECT)}
        done = subprocess.run(
            [*command, workers], capture_output=True, text=True, timeout=300, env=env
        )
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    pool, serial = build("2"), build("1")
    assert (pool["processes"], serial["processes"]) == (2, 1)
    assert pool["skipped"] == serial["skipped"] and len(pool["skipped"]) == 2
    assert pool["skipped"][0].endswith("pkg/fence.md:3: unknown code language 'nosuchlang'")
    with pytest.raises(SyntaxError) as python:
        compile(broken, "layer.py", "exec")  # its message, in this Python
    assert pool["skipped"][1].endswith(f"pkg/models/layer.py:2: syntax error: {python.value.msg}")
    assert pool["rendered"] == serial["rendered"]
    assert "models/layer.html" not in pool["rendered"] and "fence.html" not in pool["rendered"]
    assert "models/notes.html" in pool["rendered"] and "index.html" in pool["rendered"]
    assert pool["warnings"] == serial["warnings"]
    # Links to the skipped pages are warnings: from commentary, and from the home page's list.
    assert any("broken link 'models/layer.html#Layer'" in w for w in pool["warnings"])
    assert any("broken link 'fence.html'" in w for w in pool["warnings"])


def test_a_translation_not_used_is_a_warning_on_every_build_also_from_the_cache(tiny):
    config = make_config(tiny.root, languages=("en", "zh"))
    i18n.update(config, ["zh"], [])
    po = tiny.root / "docs/locale/zh/LC_MESSAGES/models/layer.po"
    with po.open("rb") as handle:
        catalog = read_po(handle)
    layer = next(message for message in catalog if message.id.startswith("A layer with"))
    layer.string = "![x](data:image/png;base64,AAAA) 层"  # an unsafe URL: not used
    with po.open("wb") as handle:
        write_po(handle, catalog)
    builds = [build_site(config, index_search=False) for _ in range(2)]
    assert builds[1].pages_rendered == []  # the second build takes every page from the cache
    warnings = [[str(w) for w in report.warnings] for report in builds]
    assert warnings[0] == warnings[1]
    assert any(f"{po}:" in w and "translation not used: unsafe URL" in w for w in warnings[0])


def test_the_parse_stage_takes_the_bytes_the_sources_stage_read(tiny, monkeypatch):
    from site_builder import parse

    def read_again(path):
        raise AssertionError(f"{path} read a second time")

    monkeypatch.setattr(parse, "_read_bytes", read_again)
    monkeypatch.setenv("SITE_BUILDER_WORKERS", "1")
    report = build_site(tiny, index_search=False)
    assert report.pages_total == 6 and not report.skipped


def test_a_linked_file_the_site_does_not_render_is_published(tiny):
    notes = tiny.source / "models/notes.md"
    notes.write_text(notes.read_text() + "\nThe [paper](paper.pdf) and [slides](../slides.pdf).\n")
    write_tree(tiny.root, {"pkg/models/paper.pdf": b"%PDF-1.4 one", "docs/slides.pdf": b"%PDF two"})
    build_site(tiny)
    assert (tiny.out / "models/paper.pdf").read_bytes() == b"%PDF-1.4 one"
    assert (tiny.out / "slides.pdf").read_bytes() == b"%PDF two"
    notes.write_text(notes.read_text() + "\nA [missing](missing.pdf) file.\n")
    with pytest.raises(BuildError, match="broken link 'missing.pdf'"):
        build_site(tiny)


def test_exclude_patterns_and_the_root_gitignore_leave_files_out(tiny):
    write_tree(
        tiny.root,
        {
            ".gitignore": "venv/\n*_scratch.py\n",
            "pkg/venv/lib.py": "X = 1\n",
            "pkg/models/try_scratch.py": "X = 1\n",
            "pkg/setup.py": "X = 1\n",
            "docs/drafts/todo.md": "# todo\n",
        },
    )
    config = make_config(tiny.root, exclude=("pkg/setup.py", "drafts/"))
    report = build_site(config)
    assert "models/layer.html" in report.pages_rendered
    for left_out in ("venv/lib.html", "models/try_scratch.html", "setup.html", "drafts/todo.html"):
        assert left_out not in report.pages_rendered
        assert not (tiny.out / left_out).exists()
    assert "setup.html" in build_site(make_config(tiny.root)).pages_rendered


def test_every_top_level_class_and_function_has_an_anchor(tiny):
    plain = "import math\n\n\nclass Plain:\n    pass\n\n\ndef helper():\n    return math.pi\n"
    notes = "---\ntitle: Notes\n---\nSee [Plain](../plain.html#Plain) and `helper`.\n"
    write_tree(tiny.root, {"pkg/plain.py": plain, "pkg/models/notes.md": notes})
    build_site(tiny)
    page = (tiny.out / "plain.html").read_text()
    assert 'id="Plain"' in page and 'id="helper"' in page
    assert 'href="../plain.html#helper"' in (tiny.out / "models/notes.html").read_text()


def test_a_link_to_a_source_file_goes_to_its_page(tiny):
    notes = "---\ntitle: Notes\n---\n[The layer](layer.py#Layer), [the package](../__init__.py).\n"
    write_tree(tiny.root, {"pkg/models/notes.md": notes})
    build_site(tiny)
    page = (tiny.out / "models/notes.html").read_text()
    assert 'href="layer.html#Layer"' in page and 'href="../index.html"' in page
    write_tree(tiny.root, {"pkg/models/notes.md": notes.replace("layer.py", "gone.py")})
    with pytest.raises(BuildError, match="broken link 'gone.py#Layer': no page"):
        build_site(tiny)


def test_an_overrides_folder_a_logo_and_a_favicon_change_the_look(tiny):
    write_tree(
        tiny.root,
        {
            "look/404.html": "<!doctype html><title>{{ site_title }}</title><p>Lost here</p>",
            "look/extra.css": ".mine{color:teal}\n",
            "look/static/extra.js": "// mine\n",
            "brand/logo.png": PNG_1X1,
            "brand/icon.png": PNG_1X1,
        },
    )
    look = {"overrides": tiny.root / "look", "logo": tiny.root / "brand/logo.png"}
    config = make_config(tiny.root, **look, favicon=tiny.root / "brand/icon.png")
    build_site(config)
    out = tiny.out
    assert (
        out / "404.html"
    ).read_text() == "<!doctype html><title>Tiny Papers</title><p>Lost here</p>"
    assert (out / "static/site.css").read_text().endswith(".mine{color:teal}\n")
    assert (out / "static/extra.js").read_text() == "// mine\n"
    assert (out / "static/logo.png").read_bytes() == PNG_1X1
    page = (out / "models/layer.html").read_text()
    assert '<img src="../static/logo.png"' in page and 'href="../static/icon.png"' in page
    (tiny.root / "look/extra.css").write_text(".mine{color:red}\n")  # an edit rebuilds the look
    build_site(config)
    assert (out / "static/site.css").read_text().endswith(".mine{color:red}\n")
